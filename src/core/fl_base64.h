/* SPDX-License-Identifier: MIT
 *
 * fl_base64.h -- standard base64 encoding (RFC 4648 section 4, the
 * standard alphabet, padded), for bytes that must travel in JSON text:
 * the exact bytes of a rejected line that is not UTF-8 (archive/rejects.c),
 * and the awslogs and Firehose documents the tests, fuzzers and benches
 * build. Decoding, strict as AWS data needs it, is ingest/base64.h's.
 *
 * Pure, no allocation. Thread: any.
 */
#ifndef FL_CORE_BASE64_H
#define FL_CORE_BASE64_H

#include <stddef.h>

/* Characters fl_base64_encode writes for len bytes: 4 per 3 bytes or
 * part of 3. */
#define FL_BASE64_ENCODED_LEN(len) (((len) + 2) / 3 * 4)

/* Writes the base64 of src[0..len) to dst, which holds at least
 * FL_BASE64_ENCODED_LEN(len) bytes (no NUL is added); returns the number
 * of characters written. */
size_t fl_base64_encode(const void *src, size_t len, char *dst);

#endif /* FL_CORE_BASE64_H */
