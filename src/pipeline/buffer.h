/* SPDX-License-Identifier: MIT
 *
 * buffer.h -- the live server's buffer of accepted flow-log text, waiting
 * to be published as Parquet (Firehose's buffering hints: publish when
 * archive.buffer_size bytes are buffered or the oldest record has waited
 * archive.buffer_interval, whichever comes first).
 *
 * A block is what one request (or one watched file) contributed: whole,
 * already validated lines, their format, and the write-ahead-log sequence
 * number that holds them, so that once a block is published the WAL can be
 * checkpointed past it.
 *
 * Thread: any; every function takes the buffer's lock.
 */
#ifndef FL_BUFFER_H
#define FL_BUFFER_H

#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>

#include "../archive/convert.h"
#include "../core/fl_shm.h"

struct fl_buffer_block {
    struct fl_buffer_block *next;
    /* '\n'-terminated lines, in a segment of the buffer's shared arena
     * (core/fl_shm.h), held by the block: a query's worker process maps
     * the segment and reads them there, without a copy. */
    const char *text;
    size_t      len;
    struct fl_shm_seg *seg;
    size_t      seg_off;       /* text = the segment's bytes from here */
    /* The hours (since the epoch) the lines' start falls in, found when
     * the block is made (archive/live.h fl_live_text_hours), so that a
     * query leaves out, unread, the blocks it cannot need. */
    int         hours_known;
    int64_t     hour_lo, hour_hi;
    char       *format;        /* "${...}" or NULL for the default (owned) */
    char       *source;        /* named in rejected-record entries (owned) */
    uint64_t    records;
    uint64_t    wal_seq;       /* WAL frame holding the block, 0 = none */
    char       *prov[FL_PROV_N]; /* where the lines came from (owned;
                                    NULL = none): the archive's
                                    provenance columns and fills */
    /* Holders: the buffer's list, and the metrics queue while it has not
     * folded the block in (metrics/metrics.c). Text, format and wal_seq do
     * not change once the block is queued, so both may read them. */
    _Atomic unsigned refs;
};

struct fl_buffer;

/* Creates an empty buffer publishing at max_bytes or after interval_s. */
int  fl_buffer_create(size_t max_bytes, uint64_t interval_s,
                      struct fl_buffer **out);
void fl_buffer_destroy(struct fl_buffer *b);

/* Creates a block holding copies of text (in b's shared arena), format
 * and source, and finds its hours. The block is not added to b. Returns
 * 0, FL_ENOMEM, or -errno when the shared memory cannot be made. */
int  fl_buffer_block_create(struct fl_buffer *b, const char *text, size_t len,
                            const char *format, const char *source,
                            uint64_t records, uint64_t wal_seq,
                            struct fl_buffer_block **out);
/* Copies p's values into blk->prov (p NULL: none). Returns 0 or -ENOMEM
 * (blk->prov then all NULL). Before the block is shared only. */
int  fl_buffer_block_set_provenance(struct fl_buffer_block *blk,
                                    const struct fl_provenance *p);
/* blk as the archive's input (convert.h): text, format, source, hours,
 * and its provenance in *prov (pointers borrowed from blk). */
void fl_buffer_block_archive(const struct fl_buffer_block *blk,
                             struct fl_provenance *prov,
                             struct fl_archive_block *out);
/* Drops the list's hold on each block linked by next, freeing those no
 * one else holds. */
void fl_buffer_block_free_list(struct fl_buffer_block *list);

/* Takes / drops one more hold on a single block (next is not followed). */
void fl_buffer_block_hold(struct fl_buffer_block *blk);
void fl_buffer_block_release(struct fl_buffer_block *blk);

/* Appends a block (takes ownership); wakes the publisher when the size
 * threshold is reached. */
void fl_buffer_add(struct fl_buffer *b, struct fl_buffer_block *blk);

/* Appends a list of blocks (linked by next; takes ownership) in one step:
 * a publish takes all of them or none. */
void fl_buffer_add_list(struct fl_buffer *b, struct fl_buffer_block *list);

/* Waits until the buffer should be published: size reached, the oldest
 * block older than the interval, or fl_buffer_wake(). */
void fl_buffer_wait_due(struct fl_buffer *b);

/* Takes every block (oldest first) out of the buffer; NULL when empty. */
struct fl_buffer_block *fl_buffer_take(struct fl_buffer *b);

/* Calls fn for each buffered block, oldest first, under the buffer's lock
 * (fn must not call back into the buffer). */
void fl_buffer_each(struct fl_buffer *b,
                    void (*fn)(void *ctx, const struct fl_buffer_block *blk),
                    void *ctx);

/* Puts blocks back at the front (a publish that failed; retried later). */
void fl_buffer_put_back(struct fl_buffer *b, struct fl_buffer_block *list);

/* Makes fl_buffer_wait_take return now (shutdown, or a flush request). */
void fl_buffer_wake(struct fl_buffer *b);

/* Bytes and records currently buffered. */
void fl_buffer_stats(struct fl_buffer *b, size_t *bytes, uint64_t *records);

/* What the status page shows of the buffer: the above plus the number of
 * blocks, and the seconds the oldest block has waited and until the
 * interval makes the publish due (both -1 when empty; due may be
 * negative when the publisher is late or retrying). */
struct fl_buffer_info {
    size_t   bytes, max_bytes;
    uint64_t records, blocks;
    double   oldest_age, due_in;
};
void fl_buffer_info(struct fl_buffer *b, struct fl_buffer_info *out);

#endif /* FL_BUFFER_H */
