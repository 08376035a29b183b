/* SPDX-License-Identifier: MIT
 *
 * fl_digest.h -- content digests of inputs, for "never convert the same
 * file twice". XXH3-128 (libxxhash): not cryptographic, but collisions
 * between distinct log files are vanishingly unlikely (2^-64 birthday bound
 * at 4 billion files) and it hashes at memory speed.
 */
#ifndef FL_DIGEST_H
#define FL_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define FL_DIGEST_HEX 33   /* 32 hex digits and a NUL */

struct fl_digest {
    uint64_t hi, lo;
};

struct fl_digest_state;

int  fl_digest_begin(struct fl_digest_state **out);
void fl_digest_update(struct fl_digest_state *s, const void *p, size_t len);
void fl_digest_end(struct fl_digest_state *s, struct fl_digest *out);
void fl_digest_free(struct fl_digest_state *s);

/* Digest of a whole file's bytes. Returns 0 or -errno. */
int  fl_digest_file(const char *path, struct fl_digest *out);

void fl_digest_hex(const struct fl_digest *d, char out[FL_DIGEST_HEX]);
/* Parses 32 hex digits; returns 0 or FL_EPARSE. */
int  fl_digest_from_hex(const char *hex, struct fl_digest *out);

#endif /* FL_DIGEST_H */
