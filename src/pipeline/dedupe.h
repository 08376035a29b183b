/* SPDX-License-Identifier: MIT
 *
 * dedupe.h -- "have we already taken this?" for at-least-once senders:
 * Firehose retries a request with the same X-Amz-Firehose-Request-Id (for
 * up to its retry duration, 24 hours at most), CloudWatch Logs events carry
 * ids, and the folder source names each piece of a file it reads.
 *
 * Keys are 64-bit hashes (XXH3) of an id, seeded with the id's key space
 * (fl_dedupe_source_key), so an id of one source never matches the same
 * text coming from another. The set remembers a key with the time it was
 * taken; it forgets keys older than the horizon, and the oldest keys
 * beyond the cap (both counted in fl_dedupe_stats), so memory is bounded
 * (about 32 bytes a key) whatever the load.
 *
 * Exactly once under concurrent retries: a request claims its keys
 * (fl_dedupe_claim) before it writes anything. A key claimed by a request
 * still in flight makes a second claim wait -- bounded -- for the first's
 * outcome: fl_dedupe_commit (the records are durable: the key is taken)
 * or fl_dedupe_abort (the request failed: the key is free to claim again).
 *
 * Across restarts: keys travel in the write-ahead-log records with their
 * lines; before the log is checkpointed, fl_dedupe_save writes the keys
 * still within the horizon to a file, which the next start loads
 * (fl_dedupe_load_file) before the log replays the rest. File format in
 * dedupe.c.
 *
 * Thread: any; one mutex and one condition variable.
 */
#ifndef FL_DEDUPE_H
#define FL_DEDUPE_H

#include <stddef.h>
#include <stdint.h>

struct fl_dedupe;

/* Key spaces: the seed of a key's hash. Values are part of the on-disk
 * format (WAL records and the dedupe file hold the hashes): never
 * renumber. */
enum fl_dedupe_space {
    FL_DEDUPE_FILE = 0,        /* folder-source pieces (fl_dedupe_key) */
    FL_DEDUPE_FIREHOSE = 1,    /* X-Amz-Firehose-Request-Id */
    FL_DEDUPE_CWL = 2,         /* CloudWatch Logs event ids */
    FL_DEDUPE_KAFKA = 3        /* Kafka messages (sources/kafka.c) */
};

struct fl_dedupe_stats {
    size_t   keys;             /* remembered now */
    size_t   claimed;          /* claimed by requests in flight */
    size_t   max_keys;
    uint64_t evicted;          /* forgotten early because of max_keys */
    uint64_t expired;          /* forgotten after the horizon */
    uint64_t waits;            /* claims that waited for another request */
    uint64_t wait_timeouts;    /* ... and gave up (the sender got a 503) */
};

/* Creates an empty set of at most max_keys keys that forgets a key
 * horizon_ms after it was taken (0 = never). Returns 0, FL_ECONFIG
 * (max_keys 0) or FL_ENOMEM; *out untouched on failure. */
int  fl_dedupe_create(size_t max_keys, uint64_t horizon_ms,
                      struct fl_dedupe **out);
void fl_dedupe_destroy(struct fl_dedupe *d);

/* Tests: the clock (epoch milliseconds) used for "now"; NULL = the real
 * time. */
void fl_dedupe_set_clock(struct fl_dedupe *d, uint64_t (*now_ms)(void *),
                         void *ctx);

/* The key of an id in a key space; never 0. */
uint64_t fl_dedupe_source_key(enum fl_dedupe_space space, const char *id,
                              size_t len);
/* fl_dedupe_source_key(FL_DEDUPE_FILE, id, len). */
uint64_t fl_dedupe_key(const char *id, size_t len);

/* 1 when key is remembered (taken, within the horizon). */
int  fl_dedupe_contains(struct fl_dedupe *d, uint64_t key);
/* Remembers key as taken now / at time_ms (replay gives the record's
 * arrival time); a no-op when present. Evicts the oldest key when full.
 * A claim of the key, if any, ends as by fl_dedupe_commit. */
void fl_dedupe_add(struct fl_dedupe *d, uint64_t key);
void fl_dedupe_add_at(struct fl_dedupe *d, uint64_t key, uint64_t time_ms);
size_t fl_dedupe_size(struct fl_dedupe *d);
void fl_dedupe_stats(struct fl_dedupe *d, struct fl_dedupe_stats *out);

/* Claims keys[0..n) for one request, all or none: while any of them is
 * claimed by another request, waits (at most wait_ms) and looks again.
 * On success taken[i] = 1 for a key already remembered or equal to an
 * earlier keys[j] (skip it), 0 for a key now claimed by the caller, who
 * must end the claim with fl_dedupe_commit or fl_dedupe_abort of exactly
 * those keys. Returns 0, FL_EAGAIN (still in flight elsewhere after
 * wait_ms; nothing claimed) or FL_ENOMEM (nothing claimed). */
int  fl_dedupe_claim(struct fl_dedupe *d, const uint64_t *keys, size_t n,
                     uint64_t wait_ms, unsigned char *taken);
/* The claimed keys' records are in the write-ahead log (not yet durable):
 * from now on fl_dedupe_save writes them, because a checkpoint may drop
 * those records from the log before the request commits. Keys not
 * claimed are ignored. */
void fl_dedupe_appended(struct fl_dedupe *d, const uint64_t *keys, size_t n,
                        uint64_t time_ms);
/* Ends claims: the records are durable (commit: remembered as taken now)
 * or the request failed (abort: forgotten). Wakes waiting claims. */
void fl_dedupe_commit(struct fl_dedupe *d, const uint64_t *keys, size_t n);
void fl_dedupe_abort(struct fl_dedupe *d, const uint64_t *keys, size_t n);

/* The dedupe file: the remembered keys within the horizon and the
 * appended claims, oldest first. encode returns a new buffer (fl_free);
 * save writes it to path atomically (fl_fs_write_atomic: a crash leaves
 * the old file or the new one). Return 0 or <0. */
int  fl_dedupe_encode(struct fl_dedupe *d, unsigned char **out,
                      size_t *out_len);
int  fl_dedupe_save(struct fl_dedupe *d, const char *path);

/* Adds the keys of a dedupe file's bytes that are still within the
 * horizon (in file order, so the cap evicts the oldest). Returns 0, or
 * FL_ECORRUPT with reason filled (nothing added then), or FL_ENOMEM. */
int  fl_dedupe_load(struct fl_dedupe *d, const void *buf, size_t len,
                    char *reason, size_t reason_len);
/* The same from path; a missing file is an empty one (first start). */
int  fl_dedupe_load_file(struct fl_dedupe *d, const char *path,
                         char *reason, size_t reason_len);

/* 1 when keys were added or claims appended since the last successful
 * fl_dedupe_save (the file is stale). */
int  fl_dedupe_dirty(struct fl_dedupe *d);

#endif /* FL_DEDUPE_H */
