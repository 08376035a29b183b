/* SPDX-License-Identifier: MIT
 *
 * dedupe.c -- the dedupe set of dedupe.h.
 *
 * Remembered keys: an open-addressing table (linear probing, load <= 1/2,
 * key 0 reserved for "empty") plus a ring of {key, time} in the order
 * they were taken. The cap evicts the ring's head; so does the horizon,
 * checked at the head on every call (times grow along the ring, up to the
 * few milliseconds between concurrent commits and the order replay finds
 * them in; a key behind a younger one lives that much longer). Removing
 * from the table uses backward-shift deletion, so no tombstones
 * accumulate.
 *
 * Claims: a second open-addressing table of keys claimed by requests in
 * flight, with a value per key (the time the records were appended to the
 * log, bit 63 = appended). It grows as needed; it holds only what
 * concurrent requests carry.
 *
 * The dedupe file (ARCHIVE/_flowlake/dedupe), little-endian:
 *   offset 0   8 bytes  magic "FLDEDUPE"
 *   offset 8   u32      version (1)
 *   offset 12  u32      key space seeds version (0; reserved)
 *   offset 16  u64      saved: epoch milliseconds of the save
 *   offset 24  u64      N: number of entries
 *   offset 32  N * { u64 key (non-zero), u64 time (epoch ms it was taken) }
 *   then       u64      XXH3-64 of every byte before it
 * Entries are oldest first. The length must be exactly 40 + 16 * N.
 */
#include "../core/fl_config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "../core/fl_endian.h"
#include "../core/fl_error.h"
#include "../core/fl_fs.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "dedupe.h"

#define FILE_MAGIC   "FLDEDUPE"
#define FILE_VERSION 1
#define FILE_HDR     32
#define APPENDED     (UINT64_C(1) << 63)

/* Seeds of the key spaces: arbitrary, distinct, and part of the format. */
static const uint64_t space_seed[] = {
    0,                                 /* FL_DEDUPE_FILE: plain XXH3 */
    UINT64_C(0x9e3779b97f4a7c15),      /* FL_DEDUPE_FIREHOSE */
    UINT64_C(0xc2b2ae3d27d4eb4f),      /* FL_DEDUPE_CWL */
    UINT64_C(0x165667b19e3779f9),      /* FL_DEDUPE_KAFKA */
};

struct entry {
    uint64_t key;
    uint64_t time_ms;
};

/* An open-addressing set of non-zero keys with an optional value each. */
struct table {
    uint64_t *keys;            /* 0 = empty */
    uint64_t *vals;            /* NULL = no values */
    size_t    mask, count;
};

struct fl_dedupe {
    pthread_mutex_t mu;
    pthread_cond_t  changed;   /* a claim ended */
    struct table    seen;      /* remembered keys */
    struct entry   *ring;      /* remembered keys, oldest first */
    size_t          max_keys, head;
    uint64_t        horizon_ms;
    struct table    claims;    /* keys of requests in flight */
    uint64_t        evicted, expired, waits, wait_timeouts;
    uint64_t        gen, saved_gen;  /* changes; those in the file */
    uint64_t      (*now_fn)(void *);
    void           *now_ctx;
};


/* ---- keys ------------------------------------------------------------ */

uint64_t
fl_dedupe_source_key(enum fl_dedupe_space space, const char *id, size_t len)
{
    size_t i = (size_t)space;
    uint64_t seed = i < sizeof space_seed / sizeof space_seed[0]
                  ? space_seed[i] : (uint64_t)i;
    uint64_t k = seed ? XXH3_64bits_withSeed(id, len, seed)
                      : XXH3_64bits(id, len);
    return k != 0 ? k : 1;
}


uint64_t
fl_dedupe_key(const char *id, size_t len)
{
    return fl_dedupe_source_key(FL_DEDUPE_FILE, id, len);
}


/* ---- open-addressing table ------------------------------------------- */

static int
table_init(struct table *t, size_t want, int with_vals)
{
    size_t size = 16;
    while (size < want * 2)
        size *= 2;
    t->keys = fl_calloc(size, sizeof *t->keys);
    t->vals = with_vals ? fl_calloc(size, sizeof *t->vals) : NULL;
    if (t->keys == NULL || (with_vals && t->vals == NULL)) {
        fl_free(t->keys);
        fl_free(t->vals);
        return FL_ENOMEM;
    }
    t->mask = size - 1;
    t->count = 0;
    return FL_OK;
}


static void
table_free(struct table *t)
{
    fl_free(t->keys);
    fl_free(t->vals);
}


/* The slot of key, or of the empty slot where it would go. */
static size_t
table_find(const struct table *t, uint64_t key)
{
    size_t i = (size_t)key & t->mask;
    while (t->keys[i] != 0 && t->keys[i] != key)
        i = (i + 1) & t->mask;
    return i;
}


static int
table_has(const struct table *t, uint64_t key)
{
    return t->keys[table_find(t, key)] == key;
}


/* Inserts (room assured by the caller); an existing key keeps its value. */
static void
table_put(struct table *t, uint64_t key, uint64_t val)
{
    size_t i = table_find(t, key);
    if (t->keys[i] == key)
        return;
    t->keys[i] = key;
    if (t->vals != NULL)
        t->vals[i] = val;
    t->count++;
}


/* Backward-shift deletion keeps every probe chain unbroken. */
static int
table_remove(struct table *t, uint64_t key)
{
    size_t i = table_find(t, key);
    if (t->keys[i] == 0)
        return 0;
    t->keys[i] = 0;
    t->count--;
    for (size_t j = (i + 1) & t->mask; t->keys[j] != 0;
         j = (j + 1) & t->mask) {
        size_t home = (size_t)t->keys[j] & t->mask;
        /* Move j back into the hole i if its home is not in (i, j]. */
        int between = i <= j ? (home > i && home <= j)
                             : (home > i || home <= j);
        if (!between) {
            t->keys[i] = t->keys[j];
            if (t->vals != NULL)
                t->vals[i] = t->vals[j];
            t->keys[j] = 0;
            i = j;
        }
    }
    return 1;
}


/* Makes room for `more` keys at load <= 1/2 (claims only: the table of
 * remembered keys is sized for max_keys at creation). */
static int
table_reserve(struct table *t, size_t more)
{
    if ((t->count + more) * 2 <= t->mask + 1)
        return FL_OK;
    struct table n;
    if (table_init(&n, t->count + more, t->vals != NULL) < 0)
        return FL_ENOMEM;
    for (size_t i = 0; i <= t->mask; i++)
        if (t->keys[i] != 0)
            table_put(&n, t->keys[i], t->vals ? t->vals[i] : 0);
    table_free(t);
    *t = n;
    return FL_OK;
}


/* ---- the set --------------------------------------------------------- */

static uint64_t
real_now_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}


int
fl_dedupe_create(size_t max_keys, uint64_t horizon_ms,
                 struct fl_dedupe **out)
{
    if (max_keys == 0 || max_keys > SIZE_MAX / 64)
        return FL_ECONFIG;
    struct fl_dedupe *d = fl_calloc(1, sizeof *d);
    pthread_condattr_t ca;
    if (d == NULL)
        return FL_ENOMEM;
    d->ring = fl_calloc(max_keys, sizeof *d->ring);
    if (d->ring == NULL || table_init(&d->seen, max_keys, 0) < 0)
        goto fail;
    if (table_init(&d->claims, 64, 1) < 0) {
        table_free(&d->seen);
        goto fail;
    }
    d->max_keys = max_keys;
    d->horizon_ms = horizon_ms;
    d->now_fn = real_now_ms;
    pthread_mutex_init(&d->mu, NULL);
    /* Waits are timed on the monotonic clock: a wall-clock step must not
     * stretch or cut them. */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->changed, &ca);
    pthread_condattr_destroy(&ca);
    *out = d;
    return FL_OK;
fail:
    fl_free(d->ring);
    fl_free(d);
    return FL_ENOMEM;
}


void
fl_dedupe_destroy(struct fl_dedupe *d)
{
    if (d == NULL)
        return;
    pthread_cond_destroy(&d->changed);
    pthread_mutex_destroy(&d->mu);
    table_free(&d->seen);
    table_free(&d->claims);
    fl_free(d->ring);
    fl_free(d);
}


void
fl_dedupe_set_clock(struct fl_dedupe *d, uint64_t (*now_ms)(void *),
                    void *ctx)
{
    pthread_mutex_lock(&d->mu);
    d->now_fn = now_ms ? now_ms : real_now_ms;
    d->now_ctx = ctx;
    pthread_mutex_unlock(&d->mu);
}


static int
expired(const struct fl_dedupe *d, uint64_t time_ms, uint64_t now)
{
    return d->horizon_ms > 0 && time_ms <= now
        && now - time_ms >= d->horizon_ms;
}


/* Under d->mu: forgets keys past the horizon at the ring's head. */
static void
expire_locked(struct fl_dedupe *d)
{
    if (d->horizon_ms == 0 || d->seen.count == 0)
        return;
    uint64_t now = d->now_fn(d->now_ctx);
    while (d->seen.count > 0 && expired(d, d->ring[d->head].time_ms, now)) {
        table_remove(&d->seen, d->ring[d->head].key);
        d->head = (d->head + 1) % d->max_keys;
        d->expired++;
    }
}


/* Under d->mu: remembers key (taken at time_ms), evicting the oldest when
 * full. */
static void
add_locked(struct fl_dedupe *d, uint64_t key, uint64_t time_ms)
{
    if (table_has(&d->seen, key))
        return;
    if (d->seen.count == d->max_keys) {
        table_remove(&d->seen, d->ring[d->head].key);
        d->head = (d->head + 1) % d->max_keys;
        d->evicted++;
    }
    table_put(&d->seen, key, 0);
    struct entry *e = &d->ring[(d->head + d->seen.count - 1) % d->max_keys];
    e->key = key;
    e->time_ms = time_ms;
    d->gen++;
}


int
fl_dedupe_contains(struct fl_dedupe *d, uint64_t key)
{
    pthread_mutex_lock(&d->mu);
    expire_locked(d);
    int found = table_has(&d->seen, key);
    pthread_mutex_unlock(&d->mu);
    return found;
}


void
fl_dedupe_add_at(struct fl_dedupe *d, uint64_t key, uint64_t time_ms)
{
    pthread_mutex_lock(&d->mu);
    expire_locked(d);
    if (!expired(d, time_ms, d->now_fn(d->now_ctx)))
        add_locked(d, key, time_ms);
    if (table_remove(&d->claims, key))
        pthread_cond_broadcast(&d->changed);
    pthread_mutex_unlock(&d->mu);
}


void
fl_dedupe_add(struct fl_dedupe *d, uint64_t key)
{
    pthread_mutex_lock(&d->mu);
    uint64_t now = d->now_fn(d->now_ctx);
    pthread_mutex_unlock(&d->mu);
    fl_dedupe_add_at(d, key, now);
}


size_t
fl_dedupe_size(struct fl_dedupe *d)
{
    pthread_mutex_lock(&d->mu);
    expire_locked(d);
    size_t n = d->seen.count;
    pthread_mutex_unlock(&d->mu);
    return n;
}


void
fl_dedupe_stats(struct fl_dedupe *d, struct fl_dedupe_stats *out)
{
    pthread_mutex_lock(&d->mu);
    expire_locked(d);
    out->keys = d->seen.count;
    out->claimed = d->claims.count;
    out->max_keys = d->max_keys;
    out->evicted = d->evicted;
    out->expired = d->expired;
    out->waits = d->waits;
    out->wait_timeouts = d->wait_timeouts;
    pthread_mutex_unlock(&d->mu);
}


/* ---- claims ---------------------------------------------------------- */

int
fl_dedupe_claim(struct fl_dedupe *d, const uint64_t *keys, size_t n,
                uint64_t wait_ms, unsigned char *taken)
{
    struct timespec deadline = fl_time_deadline(CLOCK_MONOTONIC, wait_ms);
    int waited = 0, timed_out = wait_ms == 0;

    pthread_mutex_lock(&d->mu);
    for (;;) {
        expire_locked(d);
        /* All or none: a request never holds some keys while it waits for
         * others, so two requests cannot wait for each other. */
        size_t busy = 0;
        for (size_t i = 0; i < n && busy == 0; i++)
            if (!table_has(&d->seen, keys[i])
                && table_has(&d->claims, keys[i]))
                busy = 1;
        if (!busy)
            break;
        if (timed_out) {
            d->wait_timeouts++;
            pthread_mutex_unlock(&d->mu);
            return FL_EAGAIN;
        }
        if (!waited) {
            waited = 1;
            d->waits++;
        }
        if (pthread_cond_timedwait(&d->changed, &d->mu, &deadline)
            == ETIMEDOUT)
            timed_out = 1;             /* one last look */
    }
    if (table_reserve(&d->claims, n) < 0) {
        pthread_mutex_unlock(&d->mu);
        return FL_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (table_has(&d->seen, keys[i]) || table_has(&d->claims, keys[i])) {
            taken[i] = 1;              /* stored, or earlier in this list */
        } else {
            taken[i] = 0;
            table_put(&d->claims, keys[i], 0);
        }
    }
    pthread_mutex_unlock(&d->mu);
    return FL_OK;
}


void
fl_dedupe_appended(struct fl_dedupe *d, const uint64_t *keys, size_t n,
                   uint64_t time_ms)
{
    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < n; i++) {
        size_t j = table_find(&d->claims, keys[i]);
        if (d->claims.keys[j] == keys[i]) {
            d->claims.vals[j] = APPENDED | (time_ms & ~APPENDED);
            d->gen++;
        }
    }
    pthread_mutex_unlock(&d->mu);
}


void
fl_dedupe_commit(struct fl_dedupe *d, const uint64_t *keys, size_t n)
{
    pthread_mutex_lock(&d->mu);
    expire_locked(d);
    uint64_t now = d->now_fn(d->now_ctx);
    for (size_t i = 0; i < n; i++) {
        table_remove(&d->claims, keys[i]);
        add_locked(d, keys[i], now);
    }
    pthread_cond_broadcast(&d->changed);
    pthread_mutex_unlock(&d->mu);
}


void
fl_dedupe_abort(struct fl_dedupe *d, const uint64_t *keys, size_t n)
{
    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < n; i++)
        table_remove(&d->claims, keys[i]);
    pthread_cond_broadcast(&d->changed);
    pthread_mutex_unlock(&d->mu);
}


/* ---- the dedupe file ------------------------------------------------- */

/* Under d->mu: encodes the file; *gen = the changes it holds. */
static int
encode_locked(struct fl_dedupe *d, unsigned char **out, size_t *out_len,
              uint64_t *gen)
{
    expire_locked(d);
    uint64_t now = d->now_fn(d->now_ctx);
    size_t cap = d->seen.count + d->claims.count;
    size_t len = FILE_HDR + 16 * cap + 8, n = 0;
    unsigned char *buf = fl_malloc(len);
    if (buf == NULL)
        return FL_ENOMEM;
    unsigned char *p = buf + FILE_HDR;
    for (size_t i = 0; i < d->seen.count; i++) {
        const struct entry *e = &d->ring[(d->head + i) % d->max_keys];
        if (expired(d, e->time_ms, now))
            continue;
        fl_put_le64(p, e->key);
        fl_put_le64(p + 8, e->time_ms);
        p += 16;
        n++;
    }
    /* Appended claims: their records may leave the log (a checkpoint)
     * before their requests commit. */
    for (size_t i = 0; i <= d->claims.mask; i++) {
        uint64_t v = d->claims.vals[i];
        if (d->claims.keys[i] == 0 || !(v & APPENDED))
            continue;
        fl_put_le64(p, d->claims.keys[i]);
        fl_put_le64(p + 8, v & ~APPENDED);
        p += 16;
        n++;
    }
    memcpy(buf, FILE_MAGIC, 8);
    fl_put_le32(buf + 8, FILE_VERSION);
    fl_put_le32(buf + 12, 0);
    fl_put_le64(buf + 16, now);
    fl_put_le64(buf + 24, n);
    len = FILE_HDR + 16 * n;
    fl_put_le64(buf + len, XXH3_64bits(buf, len));
    *out = buf;
    *out_len = len + 8;
    *gen = d->gen;
    return FL_OK;
}


int
fl_dedupe_encode(struct fl_dedupe *d, unsigned char **out, size_t *out_len)
{
    uint64_t gen;
    pthread_mutex_lock(&d->mu);
    int rc = encode_locked(d, out, out_len, &gen);
    pthread_mutex_unlock(&d->mu);
    return rc;
}


int
fl_dedupe_save(struct fl_dedupe *d, const char *path)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    uint64_t gen = 0;
    pthread_mutex_lock(&d->mu);
    int rc = encode_locked(d, &buf, &len, &gen);
    pthread_mutex_unlock(&d->mu);
    if (rc < 0)
        return rc;
    /* Written outside the lock: requests go on meanwhile. */
    rc = fl_fs_write_atomic(path, buf, len);
    fl_free(buf);
    if (rc == 0) {
        pthread_mutex_lock(&d->mu);
        if (gen > d->saved_gen)
            d->saved_gen = gen;
        pthread_mutex_unlock(&d->mu);
    }
    return rc;
}


int
fl_dedupe_dirty(struct fl_dedupe *d)
{
    pthread_mutex_lock(&d->mu);
    int dirty = d->gen != d->saved_gen;
    pthread_mutex_unlock(&d->mu);
    return dirty;
}


int
fl_dedupe_load(struct fl_dedupe *d, const void *data, size_t len,
               char *reason, size_t reason_len)
{
    const unsigned char *buf = data;
    uint64_t n;

    if (len < FILE_HDR + 8) {
        snprintf(reason, reason_len, "%zu bytes: shorter than a header", len);
        return FL_ECORRUPT;
    }
    if (memcmp(buf, FILE_MAGIC, 8) != 0) {
        snprintf(reason, reason_len, "not a dedupe file (no FLDEDUPE magic)");
        return FL_ECORRUPT;
    }
    if (fl_get_le32(buf + 8) != FILE_VERSION || fl_get_le32(buf + 12) != 0) {
        snprintf(reason, reason_len, "version %u.%u is not supported",
                 (unsigned)fl_get_le32(buf + 8), (unsigned)fl_get_le32(buf + 12));
        return FL_ECORRUPT;
    }
    n = fl_get_le64(buf + 24);
    if (n > (len - FILE_HDR - 8) / 16 || FILE_HDR + 16 * n + 8 != len) {
        snprintf(reason, reason_len, "%zu bytes do not hold the %llu keys "
                 "the header announces (truncated?)", len,
                 (unsigned long long)n);
        return FL_ECORRUPT;
    }
    if (XXH3_64bits(buf, len - 8) != fl_get_le64(buf + len - 8)) {
        snprintf(reason, reason_len, "checksum mismatch");
        return FL_ECORRUPT;
    }
    for (uint64_t i = 0; i < n; i++) {
        if (fl_get_le64(buf + FILE_HDR + 16 * i) == 0) {
            snprintf(reason, reason_len, "key %llu is 0",
                     (unsigned long long)i);
            return FL_ECORRUPT;
        }
    }
    pthread_mutex_lock(&d->mu);
    int was_saved = d->gen == d->saved_gen;
    uint64_t now = d->now_fn(d->now_ctx);
    for (uint64_t i = 0; i < n; i++) {
        const unsigned char *e = buf + FILE_HDR + 16 * i;
        uint64_t t = fl_get_le64(e + 8);
        if (expired(d, t, now))
            d->expired++;
        else
            add_locked(d, fl_get_le64(e), t);
    }
    /* What was just read is what the file holds. */
    if (was_saved)
        d->saved_gen = d->gen;
    pthread_mutex_unlock(&d->mu);
    return FL_OK;
}


int
fl_dedupe_load_file(struct fl_dedupe *d, const char *path, char *reason,
                    size_t reason_len)
{
    char *buf = NULL;
    size_t len = 0;
    /* No cap from max_keys: a file written under a larger one is still
     * read (the oldest keys beyond the cap go first). */
    size_t max = SIZE_MAX / 2;
    int rc = fl_fs_read_file(path, max, &buf, &len);
    if (rc == -ENOENT)
        return FL_OK;
    if (rc == FL_ETOOBIG) {
        snprintf(reason, reason_len, "larger than %zu bytes", max);
        return FL_ECORRUPT;
    }
    if (rc < 0) {
        snprintf(reason, reason_len, "%s", fl_strerror(rc));
        return rc;
    }
    rc = fl_dedupe_load(d, buf, len, reason, reason_len);
    fl_free(buf);
    return rc;
}
