/* SPDX-License-Identifier: MIT
 *
 * held.c -- requests made durable but held back until their source says
 * whether to keep them (see fl_pipeline_ingest_held in pipeline.h).
 *
 * Why: a Kafka consumer cannot know, when its records are durable,
 * whether they will be its to keep -- that is decided by the offset
 * commit that follows, which the group refuses once the partitions have
 * gone to another consumer (who then reads the same messages again). So
 * the records wait in the WAL, unseen by the buffer, queries and metrics,
 * and the source settles them: kept (the commit went through) or dropped
 * (it did not; whoever owns the partitions now stores them).
 *
 * Ordering: the buffer is in WAL order, and a publish marks the archive
 * as holding the log up to its last block. A kept request's blocks join
 * the buffer under the sequence number of its settle record -- the newest
 * in the log at that moment -- so the order holds. The request's own
 * records stay below the archive's mark meanwhile; the checkpoint never
 * cuts the log at or past the oldest held request (held_low), and the
 * replay finds held requests by their settle records, not by the mark:
 *
 *   held request, no settle record   held again, for the source to settle
 *   settle "kept" above the mark     buffered under the settle's number
 *   settle "kept" at or below it     in the archive already
 *   settle "dropped"                 forgotten
 *
 * A drop is made durable before the source reads the messages again, so
 * that a crash can never bring back a request that was stored again
 * meanwhile. A keep need not be: until it is durable the request is
 * simply held again after a crash, and its source settles it the same
 * way a second time.
 */
#include "../core/fl_config.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "../core/fl_error.h"
#include "../core/fl_log.h"
#include "../core/fl_mem.h"
#include "pipeline_int.h"
#include "walrec.h"


/* The lowest id held, for the checkpoint; with held_mu held. */
static void
update_low(struct fl_pipeline *pl)
{
    uint64_t low = UINT64_MAX;
    for (const struct fl_held *h = pl->held; h != NULL; h = h->next)
        if (h->id < low)
            low = h->id;
    atomic_store(&pl->held_low, low);
}


void
fl_held_free(struct fl_held *h)
{
    if (h == NULL)
        return;
    fl_buffer_block_free_list(h->blocks);
    fl_free(h->hold);
    fl_free(h);
}


int
fl_held_add(struct fl_pipeline *pl, uint64_t id, const char *hold,
            struct fl_buffer_block *blocks, uint64_t records)
{
    struct fl_held *h = fl_calloc(1, sizeof *h);
    if (h == NULL || (h->hold = fl_strdup(hold)) == NULL) {
        fl_free(h);
        fl_buffer_block_free_list(blocks);
        return FL_ENOMEM;
    }
    h->id = id;
    h->blocks = blocks;
    h->records = records;
    pthread_mutex_lock(&pl->held_mu);
    /* Oldest first, as they were appended. */
    struct fl_held **at = &pl->held;
    while (*at != NULL)
        at = &(*at)->next;
    *at = h;
    update_low(pl);
    pthread_mutex_unlock(&pl->held_mu);
    return FL_OK;
}


struct fl_held *
fl_held_take(struct fl_pipeline *pl, uint64_t id)
{
    pthread_mutex_lock(&pl->held_mu);
    struct fl_held **at = &pl->held;
    while (*at != NULL && (*at)->id != id)
        at = &(*at)->next;
    struct fl_held *h = *at;
    if (h != NULL) {
        *at = h->next;
        h->next = NULL;
        update_low(pl);
    }
    pthread_mutex_unlock(&pl->held_mu);
    return h;
}


/* The blocks of h now belong to the log position seq. */
static void
renumber(struct fl_held *h, uint64_t seq)
{
    for (struct fl_buffer_block *b = h->blocks; b != NULL; b = b->next)
        b->wal_seq = seq;
}


int
fl_held_replay_settle(struct fl_pipeline *pl, uint64_t seq,
                      uint64_t published, const void *payload, size_t len)
{
    struct fl_walrec_settle st;
    if (fl_walrec_settle_decode(payload, len, &st) < 0) {
        fl_log(FL_LOG_WARN, "wal", "WAL record %llu is not a settle "
               "record; skipped", (unsigned long long)seq);
        return FL_OK;
    }
    /* Not held: settled and published before the log was last cut, or a
     * request that never became whole. */
    struct fl_held *h = fl_held_take(pl, st.id);
    if (h == NULL || !st.keep) {
        fl_held_free(h);
        return FL_OK;
    }
    renumber(h, seq);
    int rc = FL_OK;
    for (struct fl_buffer_block *b = h->blocks; b != NULL && rc == 0;
         b = b->next) {
        if (pl->tap.replayed != NULL)
            rc = pl->tap.replayed(pl->tap.ctx, b, st.arrival_ms);
    }
    if (rc == 0 && seq > published) {
        pl->replayed += h->records;
        fl_buffer_add_list(pl->buffer, h->blocks);
        h->blocks = NULL;
    }
    fl_held_free(h);
    return rc;
}


int
fl_pipeline_settle(struct fl_pipeline *pl, uint64_t id, int keep,
                   struct fl_err *err)
{
    struct fl_held *h = fl_held_take(pl, id);
    if (h == NULL)
        return fl_err_set(err, -EINVAL, "no held request %llu",
                          (unsigned long long)id);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct fl_walrec_settle st = {
        .id = id, .keep = keep,
        .arrival_ms = (uint64_t)now.tv_sec * 1000
                    + (uint64_t)now.tv_nsec / 1000000,
    };
    unsigned char rec[FL_WALREC_SETTLE_SIZE];
    fl_walrec_settle_encode(&st, rec);
    uint64_t seq = 0;

    /* Under the append lock, as any request: the blocks then join the
     * buffer in the log's order, and the metrics see arrival times grow. */
    pthread_mutex_lock(&pl->append_mu);
    int rc = fl_wal_append(pl->wal, FL_WALREC_SETTLE, rec, sizeof rec, &seq);
    if (rc == 0 && keep) {
        renumber(h, seq);
        if (pl->tap.appended != NULL)
            pl->tap.appended(pl->tap.ctx, h->blocks, st.arrival_ms);
        fl_buffer_add_list(pl->buffer, h->blocks);
        h->blocks = NULL;
    }
    pthread_mutex_unlock(&pl->append_mu);
    if (rc == 0 && !keep)
        rc = fl_wal_commit(pl->wal, seq);   /* before anything is re-read */
    if (rc < 0) {
        fl_err_set(err, rc, "the write-ahead log failed: %s",
                   fl_strerror(rc));
        if (h->blocks != NULL) {              /* still held, as it was */
            struct fl_buffer_block *blocks = h->blocks;
            h->blocks = NULL;
            (void)fl_held_add(pl, id, h->hold, blocks, h->records);
        }
        fl_held_free(h);
        return rc;
    }
    fl_held_free(h);
    return FL_OK;
}


size_t
fl_pipeline_each_held(struct fl_pipeline *pl,
                      void (*fn)(void *ctx, uint64_t id, const char *hold,
                                 uint64_t records),
                      void *ctx)
{
    /* A copy of the list's ids and descriptions: fn may settle them. */
    size_t n = 0;
    pthread_mutex_lock(&pl->held_mu);
    for (const struct fl_held *h = pl->held; h != NULL; h = h->next)
        n++;
    struct fl_held *copy = n > 0 ? fl_calloc(n, sizeof *copy) : NULL;
    size_t i = 0;
    for (const struct fl_held *h = pl->held; h != NULL && copy != NULL;
         h = h->next, i++) {
        copy[i].id = h->id;
        copy[i].records = h->records;
        copy[i].hold = fl_strdup(h->hold);
    }
    pthread_mutex_unlock(&pl->held_mu);
    if (n > 0 && copy == NULL)
        return 0;
    for (i = 0; i < n; i++) {
        if (copy[i].hold != NULL)
            fn(ctx, copy[i].id, copy[i].hold, copy[i].records);
        fl_free(copy[i].hold);
    }
    fl_free(copy);
    return n;
}
