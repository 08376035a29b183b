/* SPDX-License-Identifier: MIT
 *
 * fl_sha256.h -- SHA-256 (FIPS 180-4), one-shot. Used where a fixed-length
 * digest of a secret is wanted: the server compares the digests of the
 * presented and the configured key, so neither the key's length nor the
 * position of the first differing byte shows in the time taken.
 *
 * Thread: any (no state).
 */
#ifndef FL_SHA256_H
#define FL_SHA256_H

#include <stddef.h>

#define FL_SHA256_LEN 32

void fl_sha256(const void *data, size_t len,
               unsigned char out[FL_SHA256_LEN]);

#endif /* FL_SHA256_H */
