/* SPDX-License-Identifier: MIT
 *
 * dedupe.c -- a bounded set of 64-bit keys with FIFO eviction (see
 * dedupe.h): an open-addressing table (linear probing, load <= 1/2, key 0
 * reserved for "empty") plus a ring of keys in insertion order. Evicting
 * deletes from the table with backward-shift deletion, so no tombstones
 * accumulate.
 */
#include "../core/fl_config.h"

#include <pthread.h>
#include <xxhash.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "dedupe.h"

struct fl_dedupe {
    pthread_mutex_t mu;
    uint64_t       *table;      /* 0 = empty */
    size_t          mask;       /* table size - 1 (power of two) */
    uint64_t       *ring;       /* keys in insertion order */
    size_t          capacity, head, count;
};


uint64_t
fl_dedupe_key(const char *id, size_t len)
{
    uint64_t k = XXH3_64bits(id, len);
    return k != 0 ? k : 1;
}


int
fl_dedupe_create(size_t capacity, struct fl_dedupe **out)
{
    struct fl_dedupe *d = fl_calloc(1, sizeof *d);
    size_t size = 16;
    if (d == NULL || capacity == 0)
        goto fail;
    while (size < capacity * 2)
        size *= 2;
    d->table = fl_calloc(size, sizeof *d->table);
    d->ring = fl_calloc(capacity, sizeof *d->ring);
    if (d->table == NULL || d->ring == NULL)
        goto fail;
    d->mask = size - 1;
    d->capacity = capacity;
    pthread_mutex_init(&d->mu, NULL);
    *out = d;
    return FL_OK;
fail:
    if (d != NULL) {
        fl_free(d->table);
        fl_free(d->ring);
        fl_free(d);
    }
    return capacity == 0 ? FL_ECONFIG : FL_ENOMEM;
}


void
fl_dedupe_destroy(struct fl_dedupe *d)
{
    if (d == NULL)
        return;
    pthread_mutex_destroy(&d->mu);
    fl_free(d->table);
    fl_free(d->ring);
    fl_free(d);
}


static size_t
find(const struct fl_dedupe *d, uint64_t key)
{
    size_t i = (size_t)key & d->mask;
    while (d->table[i] != 0 && d->table[i] != key)
        i = (i + 1) & d->mask;
    return i;
}


/* Backward-shift deletion keeps every probe chain unbroken. */
static void
remove_key(struct fl_dedupe *d, uint64_t key)
{
    size_t i = find(d, key);
    if (d->table[i] == 0)
        return;
    d->table[i] = 0;
    for (size_t j = (i + 1) & d->mask; d->table[j] != 0;
         j = (j + 1) & d->mask) {
        size_t home = (size_t)d->table[j] & d->mask;
        /* Move j back into the hole i if its home is not in (i, j]. */
        int between = i <= j ? (home > i && home <= j)
                             : (home > i || home <= j);
        if (!between) {
            d->table[i] = d->table[j];
            d->table[j] = 0;
            i = j;
        }
    }
}


int
fl_dedupe_contains(struct fl_dedupe *d, uint64_t key)
{
    pthread_mutex_lock(&d->mu);
    int found = d->table[find(d, key)] == key;
    pthread_mutex_unlock(&d->mu);
    return found;
}


/* Under d->mu. */
static void
add_locked(struct fl_dedupe *d, uint64_t key)
{
    size_t i = find(d, key);
    if (d->table[i] != key) {
        if (d->count == d->capacity) {
            remove_key(d, d->ring[d->head]);
            d->head = (d->head + 1) % d->capacity;
            d->count--;
            i = find(d, key);
        }
        d->table[i] = key;
        d->ring[(d->head + d->count) % d->capacity] = key;
        d->count++;
    }
}


void
fl_dedupe_add(struct fl_dedupe *d, uint64_t key)
{
    pthread_mutex_lock(&d->mu);
    add_locked(d, key);
    pthread_mutex_unlock(&d->mu);
}


void
fl_dedupe_add_many(struct fl_dedupe *d, const uint64_t *keys, size_t n)
{
    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < n; i++)
        add_locked(d, keys[i]);
    pthread_mutex_unlock(&d->mu);
}


size_t
fl_dedupe_contains_many(struct fl_dedupe *d, const uint64_t *keys, size_t n,
                        unsigned char *found)
{
    size_t hits = 0;
    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < n; i++) {
        found[i] = d->table[find(d, keys[i])] == keys[i];
        hits += found[i];
    }
    pthread_mutex_unlock(&d->mu);
    return hits;
}


size_t
fl_dedupe_size(struct fl_dedupe *d)
{
    pthread_mutex_lock(&d->mu);
    size_t n = d->count;
    pthread_mutex_unlock(&d->mu);
    return n;
}
