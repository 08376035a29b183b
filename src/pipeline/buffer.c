/* SPDX-License-Identifier: MIT
 *
 * buffer.c -- the live server's buffer of accepted text (see buffer.h): a
 * FIFO list of blocks under one mutex, with a condition variable the
 * publisher waits on. The blocks' text lives in the buffer's shared arena
 * (core/fl_shm.h), which query workers map instead of being sent a copy.
 */
#include "../core/fl_config.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "../archive/live.h"
#include "buffer.h"

struct fl_buffer {
    struct fl_shm_arena    *arena;    /* the blocks' text (own lock) */
    pthread_mutex_t         mu;
    pthread_cond_t          cv;       /* signalled on size/wake */
    struct fl_buffer_block *head, *tail;
    size_t                  bytes;
    uint64_t                records;
    double                  oldest;   /* monotonic time of head's arrival */
    size_t                  max_bytes;
    uint64_t                interval;
    int                     woken;
};


int
fl_buffer_create(size_t max_bytes, uint64_t interval_s, struct fl_buffer **out)
{
    struct fl_buffer *b = fl_calloc(1, sizeof *b);
    pthread_condattr_t ca;
    if (b == NULL)
        return FL_ENOMEM;
    if (fl_shm_arena_create(0, &b->arena) < 0) {
        fl_free(b);
        return FL_ENOMEM;
    }
    /* Waits are timed on the monotonic clock: wall-clock jumps must not
     * delay or hasten a publish. */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_mutex_init(&b->mu, NULL) != 0
        || pthread_cond_init(&b->cv, &ca) != 0) {
        pthread_condattr_destroy(&ca);
        fl_shm_arena_destroy(b->arena);
        fl_free(b);
        return FL_ENOMEM;
    }
    pthread_condattr_destroy(&ca);
    b->max_bytes = max_bytes;
    b->interval = interval_s;
    *out = b;
    return FL_OK;
}


void
fl_buffer_destroy(struct fl_buffer *b)
{
    if (b == NULL)
        return;
    fl_buffer_block_free_list(b->head);
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    /* Blocks held elsewhere (a query, the metrics) hold their segments:
     * they stay valid after the arena. */
    fl_shm_arena_destroy(b->arena);
    fl_free(b);
}


int
fl_buffer_block_create(struct fl_buffer *b, const char *text, size_t len,
                       const char *format, const char *source,
                       uint64_t records, uint64_t wal_seq,
                       struct fl_buffer_block **out)
{
    struct fl_buffer_block *blk = fl_calloc(1, sizeof *blk);
    char *p = NULL;
    int rc;

    if (blk == NULL)
        return FL_ENOMEM;
    atomic_init(&blk->refs, 1);
    blk->format = format ? fl_strdup(format) : NULL;
    blk->source = fl_strdup(source);
    rc = (format && blk->format == NULL) || blk->source == NULL
       ? FL_ENOMEM
       : fl_shm_copy(b->arena, text, len, &blk->seg, &blk->seg_off, &p);
    if (rc == FL_OK) {
        blk->text = p;
        blk->len = len;
        rc = fl_live_text_hours(p, len, format, &blk->hour_lo,
                                &blk->hour_hi);
        blk->hours_known = rc == 1;
    }
    if (rc < 0) {
        fl_buffer_block_free_list(blk);
        return rc;
    }
    blk->records = records;
    blk->wal_seq = wal_seq;
    *out = blk;
    return FL_OK;
}


static void
free_provenance(struct fl_buffer_block *blk)
{
    for (size_t k = 0; k < FL_PROV_N; k++) {
        fl_free(blk->prov[k]);
        blk->prov[k] = NULL;
    }
}


int
fl_buffer_block_set_provenance(struct fl_buffer_block *blk,
                               const struct fl_provenance *p)
{
    free_provenance(blk);
    for (size_t k = 0; p != NULL && k < FL_PROV_N; k++) {
        if (p->v[k] != NULL && (blk->prov[k] = fl_strdup(p->v[k])) == NULL) {
            free_provenance(blk);
            return FL_ENOMEM;
        }
    }
    return FL_OK;
}


static void
block_provenance(const struct fl_buffer_block *blk, struct fl_provenance *out)
{
    for (size_t k = 0; k < FL_PROV_N; k++)
        out->v[k] = blk->prov[k];
}


void
fl_buffer_block_archive(const struct fl_buffer_block *blk,
                        struct fl_provenance *prov,
                        struct fl_archive_block *out)
{
    block_provenance(blk, prov);
    *out = (struct fl_archive_block) {
        .text = blk->text, .len = blk->len, .format_spec = blk->format,
        .source = blk->source, .prov = prov,
        .hours_known = blk->hours_known, .hour_lo = blk->hour_lo,
        .hour_hi = blk->hour_hi,
    };
}


void
fl_buffer_block_hold(struct fl_buffer_block *blk)
{
    atomic_fetch_add(&blk->refs, 1);
}


void
fl_buffer_block_release(struct fl_buffer_block *blk)
{
    if (atomic_fetch_sub(&blk->refs, 1) != 1)
        return;
    fl_shm_seg_release(blk->seg);
    fl_free(blk->format);
    fl_free(blk->source);
    free_provenance(blk);
    fl_free(blk);
}


void
fl_buffer_block_free_list(struct fl_buffer_block *list)
{
    while (list != NULL) {
        struct fl_buffer_block *next = list->next;
        fl_buffer_block_release(list);
        list = next;
    }
}


void
fl_buffer_add(struct fl_buffer *b, struct fl_buffer_block *blk)
{
    blk->next = NULL;
    fl_buffer_add_list(b, blk);
}


void
fl_buffer_add_list(struct fl_buffer *b, struct fl_buffer_block *list)
{
    if (list == NULL)
        return;
    struct fl_buffer_block *last = list;
    size_t bytes = list->len;
    uint64_t records = list->records;
    while (last->next != NULL) {
        last = last->next;
        bytes += last->len;
        records += last->records;
    }
    pthread_mutex_lock(&b->mu);
    int was_empty = b->tail == NULL;
    if (b->tail != NULL)
        b->tail->next = list;
    else {
        b->head = list;
        b->oldest = fl_time_mono();
    }
    b->tail = last;
    b->bytes += bytes;
    b->records += records;
    /* Wake the publisher when its deadline changes (the first block starts
     * the interval) or the size threshold is reached. */
    if (was_empty || b->bytes >= b->max_bytes)
        pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
}


static struct fl_buffer_block *
take_locked(struct fl_buffer *b)
{
    struct fl_buffer_block *list = b->head;
    b->head = b->tail = NULL;
    b->bytes = 0;
    b->records = 0;
    return list;
}


void
fl_buffer_wait_due(struct fl_buffer *b)
{
    pthread_mutex_lock(&b->mu);
    for (;;) {
        if (b->woken || b->bytes >= b->max_bytes)
            break;
        struct timespec until;
        if (b->head != NULL) {
            double due = b->oldest + (double)b->interval;
            if (fl_time_mono() >= due)
                break;
            until.tv_sec = (time_t)due;
            until.tv_nsec = (long)((due - (double)until.tv_sec) * 1e9);
        } else {
            /* Nothing buffered: sleep until something arrives (the
             * interval counts from the first record, as Firehose does). */
            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_sec += 3600;
        }
        pthread_cond_timedwait(&b->cv, &b->mu, &until);
    }
    b->woken = 0;
    pthread_mutex_unlock(&b->mu);
}


struct fl_buffer_block *
fl_buffer_take(struct fl_buffer *b)
{
    pthread_mutex_lock(&b->mu);
    struct fl_buffer_block *list = take_locked(b);
    pthread_mutex_unlock(&b->mu);
    return list;
}


void
fl_buffer_each(struct fl_buffer *b,
               void (*fn)(void *ctx, const struct fl_buffer_block *blk),
               void *ctx)
{
    pthread_mutex_lock(&b->mu);
    for (const struct fl_buffer_block *blk = b->head; blk != NULL;
         blk = blk->next)
        fn(ctx, blk);
    pthread_mutex_unlock(&b->mu);
}


void
fl_buffer_put_back(struct fl_buffer *b, struct fl_buffer_block *list)
{
    if (list == NULL)
        return;
    struct fl_buffer_block *last = list;
    size_t bytes = last->len;
    uint64_t records = last->records;
    while (last->next != NULL) {
        last = last->next;
        bytes += last->len;
        records += last->records;
    }
    pthread_mutex_lock(&b->mu);
    last->next = b->head;
    if (b->tail == NULL)
        b->tail = last;
    b->head = list;
    b->bytes += bytes;
    b->records += records;
    b->oldest = fl_time_mono();
    pthread_mutex_unlock(&b->mu);
}


void
fl_buffer_wake(struct fl_buffer *b)
{
    pthread_mutex_lock(&b->mu);
    b->woken = 1;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}


void
fl_buffer_stats(struct fl_buffer *b, size_t *bytes, uint64_t *records)
{
    pthread_mutex_lock(&b->mu);
    *bytes = b->bytes;
    *records = b->records;
    pthread_mutex_unlock(&b->mu);
}


void
fl_buffer_info(struct fl_buffer *b, struct fl_buffer_info *out)
{
    memset(out, 0, sizeof *out);
    out->oldest_age = out->due_in = -1;
    pthread_mutex_lock(&b->mu);
    out->bytes = b->bytes;
    out->max_bytes = b->max_bytes;
    out->records = b->records;
    for (const struct fl_buffer_block *blk = b->head; blk != NULL;
         blk = blk->next)
        out->blocks++;
    if (b->head != NULL) {
        double now = fl_time_mono();
        out->oldest_age = now - b->oldest;
        out->due_in = b->oldest + (double)b->interval - now;
    }
    pthread_mutex_unlock(&b->mu);
}
