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

#include "../core/fl_error.h"
#include "../core/fl_log.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "pipeline_int.h"
#include "walrec.h"


/* The lowest id in the list, for the checkpoint; with held_mu held. */
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


/* Where request id, waiting, is linked in the list; NULL if it is not.
 * With held_mu held. */
static struct fl_held **
find_waiting(struct fl_pipeline *pl, uint64_t id)
{
    struct fl_held **at = &pl->held;
    while (*at != NULL && ((*at)->id != id || (*at)->kept_seq != 0))
        at = &(*at)->next;
    return *at != NULL ? at : NULL;
}


struct fl_held *
fl_held_take(struct fl_pipeline *pl, uint64_t id)
{
    pthread_mutex_lock(&pl->held_mu);
    struct fl_held **at = find_waiting(pl, id), *h = NULL;
    if (at != NULL) {
        h = *at;
        *at = h->next;
        h->next = NULL;
        update_low(pl);
    }
    pthread_mutex_unlock(&pl->held_mu);
    return h;
}


uint64_t
fl_held_prune(struct fl_pipeline *pl, uint64_t mark)
{
    pthread_mutex_lock(&pl->held_mu);
    for (struct fl_held **at = &pl->held; *at != NULL;) {
        struct fl_held *h = *at;
        if (h->kept_seq != 0 && h->kept_seq <= mark) {
            *at = h->next;
            fl_held_free(h);
        } else {
            at = &h->next;
        }
    }
    update_low(pl);
    uint64_t low = atomic_load(&pl->held_low);
    pthread_mutex_unlock(&pl->held_mu);
    return low;
}


void
fl_held_stats(struct fl_pipeline *pl, uint64_t *requests, uint64_t *records)
{
    *requests = *records = 0;
    pthread_mutex_lock(&pl->held_mu);
    for (const struct fl_held *h = pl->held; h != NULL; h = h->next) {
        if (h->kept_seq == 0) {
            (*requests)++;
            *records += h->records;
        }
    }
    pthread_mutex_unlock(&pl->held_mu);
}


/* Request h was kept under settle record seq: its blocks, renumbered,
 * are returned for the buffer; h stays listed, keeping its records in the
 * log, until fl_held_prune finds seq published. With held_mu held. */
static struct fl_buffer_block *
mark_kept(struct fl_held *h, uint64_t seq)
{
    struct fl_buffer_block *blocks = h->blocks;
    for (struct fl_buffer_block *b = blocks; b != NULL; b = b->next)
        b->wal_seq = seq;
    h->blocks = NULL;
    h->kept_seq = seq;
    return blocks;
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
    /* Not held: settled and published before the log was last cut (or a
     * request that never became whole). */
    if (!st.keep) {
        fl_held_free(fl_held_take(pl, st.id));
        return FL_OK;
    }
    pthread_mutex_lock(&pl->held_mu);
    struct fl_held **at = find_waiting(pl, st.id);
    struct fl_buffer_block *blocks = NULL;
    uint64_t records = 0;
    if (at != NULL) {
        records = (*at)->records;
        blocks = mark_kept(*at, seq);
    }
    pthread_mutex_unlock(&pl->held_mu);
    int rc = FL_OK;
    for (struct fl_buffer_block *b = blocks; b != NULL && rc == 0;
         b = b->next) {
        if (pl->tap.replayed != NULL)
            rc = pl->tap.replayed(pl->tap.ctx, b, st.arrival_ms);
    }
    if (rc == 0 && blocks != NULL && seq > published) {
        pl->replayed += records;
        fl_buffer_add_list(pl->buffer, blocks);
        blocks = NULL;
    }
    fl_buffer_block_free_list(blocks);
    return rc;
}


/* The settle record of id now; returns 0 with *seq, or <0. */
static int
append_settle(struct fl_pipeline *pl, uint64_t id, int keep,
              uint64_t *arrival_ms, uint64_t *seq)
{
    struct fl_walrec_settle st = {
        .id = id, .keep = keep, .arrival_ms = fl_time_now_ms(),
    };
    unsigned char rec[FL_WALREC_SETTLE_SIZE];
    fl_walrec_settle_encode(&st, rec);
    *arrival_ms = st.arrival_ms;
    return fl_wal_append(pl->wal, FL_WALREC_SETTLE, rec, sizeof rec, seq);
}


void
fl_held_forget(struct fl_pipeline *pl, uint64_t id)
{
    uint64_t seq = 0, arrival_ms;
    fl_held_free(fl_held_take(pl, id));
    pthread_mutex_lock(&pl->append_mu);
    int rc = append_settle(pl, id, 0, &arrival_ms, &seq);
    pthread_mutex_unlock(&pl->append_mu);
    if (rc == 0)
        (void)fl_wal_commit(pl->wal, seq);
}


int
fl_pipeline_settle(struct fl_pipeline *pl, uint64_t id, int keep,
                   struct fl_err *err)
{
    uint64_t seq = 0, arrival_ms = 0;
    int rc;

    /* Under the append lock, as any request: kept blocks then join the
     * buffer in the log's order, and the metrics see arrival times grow.
     * (One source settles its own requests, one at a time: an entry found
     * waiting stays so until this call changes it.) */
    pthread_mutex_lock(&pl->append_mu);
    pthread_mutex_lock(&pl->held_mu);
    int waiting = find_waiting(pl, id) != NULL;
    pthread_mutex_unlock(&pl->held_mu);
    if (!waiting) {
        pthread_mutex_unlock(&pl->append_mu);
        return fl_err_set(err, -EINVAL, "no held request %llu",
                          (unsigned long long)id);
    }
    rc = append_settle(pl, id, keep, &arrival_ms, &seq);
    if (rc == 0 && keep) {
        pthread_mutex_lock(&pl->held_mu);
        struct fl_buffer_block *blocks = mark_kept(*find_waiting(pl, id),
                                                   seq);
        pthread_mutex_unlock(&pl->held_mu);
        if (pl->tap.appended != NULL)
            pl->tap.appended(pl->tap.ctx, blocks, arrival_ms);
        fl_buffer_add_list(pl->buffer, blocks);
        atomic_fetch_add(&pl->held_kept, 1);
    }
    pthread_mutex_unlock(&pl->append_mu);
    /* A drop is durable before anything is read again; only then is the
     * request forgotten (a failure leaves it waiting: settle it again). */
    if (rc == 0 && !keep && (rc = fl_wal_commit(pl->wal, seq)) == 0) {
        fl_held_free(fl_held_take(pl, id));
        atomic_fetch_add(&pl->held_dropped, 1);
    }
    if (rc < 0)
        return fl_err_set(err, rc, "the write-ahead log failed: %s",
                          fl_strerror(rc));
    return FL_OK;
}


size_t
fl_pipeline_each_held(struct fl_pipeline *pl,
                      void (*fn)(void *ctx, uint64_t id, const char *hold,
                                 uint64_t records),
                      void *ctx)
{
    /* A copy of the waiting requests' ids and descriptions: fn may settle
     * them. */
    size_t n = 0;
    pthread_mutex_lock(&pl->held_mu);
    for (const struct fl_held *h = pl->held; h != NULL; h = h->next)
        n += h->kept_seq == 0;
    struct fl_held *copy = n > 0 && fn != NULL
                         ? fl_calloc(n, sizeof *copy) : NULL;
    size_t i = 0;
    for (const struct fl_held *h = pl->held; h != NULL && copy != NULL;
         h = h->next) {
        if (h->kept_seq != 0)
            continue;
        copy[i].id = h->id;
        copy[i].records = h->records;
        copy[i++].hold = fl_strdup(h->hold);
    }
    pthread_mutex_unlock(&pl->held_mu);
    if (copy == NULL)
        return n;
    for (i = 0; i < n; i++) {
        if (copy[i].hold != NULL)
            fn(ctx, copy[i].id, copy[i].hold, copy[i].records);
        fl_free(copy[i].hold);
    }
    fl_free(copy);
    return n;
}
