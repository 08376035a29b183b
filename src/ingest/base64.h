/* SPDX-License-Identifier: MIT
 *
 * base64.h -- strict base64 decoding (RFC 4648 section 4, the standard
 * alphabet), as AWS produces it for Firehose records and awslogs.data.
 *
 * Strict means: the length is a multiple of 4 (padding is required), "="
 * appears only as the last one or two characters, and nothing outside
 * A-Z a-z 0-9 + / is accepted -- no whitespace, no line breaks, no
 * URL-safe "-" or "_". Non-zero bits left over in the last group are
 * ignored (RFC 4648 allows either choice; every AWS encoder writes zeros).
 *
 * Pure, no allocation. Thread: any.
 */
#ifndef FL_BASE64_H
#define FL_BASE64_H

#include <stddef.h>

#include "ingest.h"

/* Bytes that len characters of valid base64 decode to, at most (exact
 * when src is valid). Looks at the padding only; validates nothing. */
size_t fl_base64_decoded_len(const char *src, size_t len);

/* Decodes src[0..len) into dst, which holds cap bytes (dst may be NULL
 * when cap is 0). On success *out_len is the decoded size.
 *
 * Returns 0; FL_ETOOBIG when the decoded size exceeds cap (checked before
 * decoding: "base64 data decodes to N bytes, over the limit of M");
 * FL_EPARSE for a character that is not allowed where it stands
 * ("invalid base64 at offset 17", 0-based offset in src) or a length that
 * is not a multiple of 4 ("invalid base64: length 7 is not a multiple of
 * 4"). err (may be NULL) gets the message without any field prefix; dst
 * may have been partly written on error. */
int fl_base64_decode(const char *src, size_t len, void *dst, size_t cap,
                     size_t *out_len, struct fl_ingest_err *err);

#endif /* FL_BASE64_H */
