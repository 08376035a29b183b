/* SPDX-License-Identifier: MIT
 *
 * fl_keyindex.h -- an index from text keys to positions in the caller's
 * array: open addressing over 32-bit positions, the keys read back from
 * the array itself, so nothing is stored twice. For tables built once and
 * only added to (series of a metric file, groups of an answer); positions
 * 0..n-1 are all indexed, in the order they were put.
 */
#ifndef FL_KEYINDEX_H
#define FL_KEYINDEX_H

#include <stddef.h>
#include <stdint.h>

struct fl_keyindex {
    uint32_t *slots;            /* position + 1; 0 = empty */
    size_t    n_slots;          /* a power of two, or 0 */
    size_t    n;                /* positions indexed */
};

/* The key of position i, read from the caller's array. */
typedef const char *fl_keyindex_key_fn(const void *ctx, uint32_t i);

/* The position of key, or -1 when it is not indexed, with *slot where
 * fl_keyindex_put puts it (room is made first: *slot stays valid until
 * then); FL_ENOMEM (< -1) when the room cannot be made. */
long fl_keyindex_find(struct fl_keyindex *ix, const char *key,
                      fl_keyindex_key_fn *key_of, const void *ctx,
                      size_t *slot);

/* Indexes position pos at the slot fl_keyindex_find gave for its key. */
void fl_keyindex_put(struct fl_keyindex *ix, size_t slot, uint32_t pos);

void fl_keyindex_free(struct fl_keyindex *ix);

#endif /* FL_KEYINDEX_H */
