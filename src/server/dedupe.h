/* SPDX-License-Identifier: MIT
 *
 * dedupe.h -- "have we already taken this?" for at-least-once senders:
 * Firehose retries a request with the same X-Amz-Firehose-Request-Id, and
 * CloudWatch Logs events carry ids. Keys are 64-bit hashes (XXH3) of those
 * ids; the set holds the most recent `capacity` keys and forgets the oldest
 * beyond that, so memory is bounded (16 bytes a key) whatever the load.
 *
 * Thread: any; one mutex.
 */
#ifndef FL_DEDUPE_H
#define FL_DEDUPE_H

#include <stddef.h>
#include <stdint.h>

struct fl_dedupe;

int  fl_dedupe_create(size_t capacity, struct fl_dedupe **out);
void fl_dedupe_destroy(struct fl_dedupe *d);

/* The key of an id string. */
uint64_t fl_dedupe_key(const char *id, size_t len);

int  fl_dedupe_contains(struct fl_dedupe *d, uint64_t key);
/* Adds key (no-op when present), evicting the oldest key when full. */
void fl_dedupe_add(struct fl_dedupe *d, uint64_t key);
size_t fl_dedupe_size(struct fl_dedupe *d);

/* The same for many keys under one lock (a request's thousand event ids
 * would otherwise take the lock a thousand times). contains_many sets
 * found[i] and returns how many were found. */
size_t fl_dedupe_contains_many(struct fl_dedupe *d, const uint64_t *keys,
                               size_t n, unsigned char *found);
void   fl_dedupe_add_many(struct fl_dedupe *d, const uint64_t *keys, size_t n);

#endif /* FL_DEDUPE_H */
