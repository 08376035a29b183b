/* SPDX-License-Identifier: MIT
 *
 * publisher.c -- the pipeline's publisher thread (see pipeline.h).
 *
 * It waits on the buffer (buffer.c) until archive.buffer_size bytes are
 * buffered or the oldest block has waited archive.buffer_interval, takes
 * every block and hands them to the sink (sinks/sink.h; the local archive:
 * the same code as `flowlake convert`, Parquet, hourly partitions, atomic
 * publish). A publish that fails (disk full, say) is reported in
 * /api/status and retried with the blocks put back -- buffered records
 * are never dropped. After a publish the WAL is checkpointed to the mark
 * the sink now holds (and the tap allows).
 */
#include "../core/fl_config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../archive/convert.h"
#include "../config/config.h"
#include "../core/fl_error.h"
#include "../core/fl_log.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "../sinks/sink.h"
#include "pipeline_int.h"

/* Wait after a failed publish before trying again. */
#define RETRY_SECONDS 5


/* Keeps one attempt in the ring GET /api/publishes shows. */
static void
note_publish(struct fl_pipeline *pl, const struct fl_publish_entry *e)
{
    pthread_mutex_lock(&pl->pub_mu);
    pl->pubs[pl->n_pubs % FL_PUBLISH_RING] = *e;
    pl->n_pubs++;
    pthread_mutex_unlock(&pl->pub_mu);
}


size_t
fl_pipeline_publishes(struct fl_pipeline *pl, struct fl_publish_entry *out,
                      size_t max, uint64_t *attempts)
{
    pthread_mutex_lock(&pl->pub_mu);
    uint64_t total = pl->n_pubs;
    *attempts = total;
    size_t n = total < max ? (size_t)total : max;
    for (size_t i = 0; i < n; i++)          /* newest first */
        out[i] = pl->pubs[(total - 1 - i) % FL_PUBLISH_RING];
    pthread_mutex_unlock(&pl->pub_mu);
    return n;
}



static void
hook_before(void *ctx)
{
    struct fl_pipeline *pl = ctx;
    pthread_rwlock_wrlock(&pl->snap_lock);
}


/* The files are in the archive: the in-flight blocks stop being "live" in
 * the same exclusive section, so no query sees them twice or not at all. */
static void
hook_after(void *ctx, int ok)
{
    struct fl_pipeline *pl = ctx;
    if (ok)
        pl->inflight = NULL;
    pthread_rwlock_unlock(&pl->snap_lock);
}


/* Writes one list of blocks; returns 0 or <0 (blocks untouched). */
static int
publish(struct fl_pipeline *pl, struct fl_buffer_block *list)
{
    struct fl_publish_hook hook = { hook_before, hook_after, pl };
    size_t n = 0, i = 0;
    uint64_t mark = 0;
    for (struct fl_buffer_block *b = list; b != NULL; b = b->next) {
        n++;
        if (b->wal_seq > mark)
            mark = b->wal_seq;
    }
    struct fl_archive_block *blocks = fl_calloc(n, sizeof *blocks);
    struct fl_provenance *prov = fl_calloc(n, sizeof *prov);
    if (blocks == NULL || prov == NULL) {
        fl_free(blocks);
        fl_free(prov);
        return FL_ENOMEM;
    }
    for (struct fl_buffer_block *b = list; b != NULL; b = b->next, i++)
        fl_buffer_block_archive(b, &prov[i], &blocks[i]);
    struct fl_convert_stats st;
    struct fl_err err = FL_ERR_INIT;
    double t0 = fl_time_mono();
    int rc = pl->sink->ops->publish(pl->sink, blocks, n, mark, &hook, &st,
                                    &err);
    fl_free(blocks);
    fl_free(prov);
    /* The attempt, for the status page's list of publishes. */
    struct fl_publish_entry pe = {
        .time = fl_time_now(), .seconds = fl_time_mono() - t0,
        .blocks = n, .wal_seq = mark, .ok = rc == 0,
    };
    if (rc < 0) {
        snprintf(pe.error, sizeof pe.error, "%s", fl_err_msg(&err));
        note_publish(pl, &pe);
        pthread_mutex_lock(&pl->err_mu);
        snprintf(pl->last_error, sizeof pl->last_error, "publish failed: %s",
                 fl_err_msg(&err));
        pthread_mutex_unlock(&pl->err_mu);
        /* Logged when publishing stops working, not at every retry; the
         * failures are counted in /api/status. */
        if (!pl->publish_failing)
            fl_log(FL_LOG_ERROR, "publish", "publish failed: %s (retrying "
                    "every %d s)", fl_err_msg(&err), RETRY_SECONDS);
        pl->publish_failing = 1;
        atomic_fetch_add(&pl->publish_failures, 1);
        return rc;
    }
    if (pl->publish_failing) {
        pl->publish_failing = 0;
        fl_log(FL_LOG_INFO, "publish", "publishing works again (%llu failed "
                "attempts so far)",
                (unsigned long long)atomic_load(&pl->publish_failures));
    }
    fl_log(FL_LOG_INFO, "publish", "%llu record%s in %llu file%s (%.1f MB) "
           "in %.2f s, up to WAL record %llu",
           (unsigned long long)st.records_written,
           st.records_written == 1 ? "" : "s",
           (unsigned long long)st.files_written,
           st.files_written == 1 ? "" : "s", st.bytes_written / 1e6,
           st.seconds, (unsigned long long)mark);
    /* The rejects file prints only the first lines of a run itself; a
     * server runs for months, so each publish sums up what came since. */
    uint64_t rejected = fl_rejects_count(pl->rejects);
    if (rejected > pl->rejects_logged) {
        fl_log(FL_LOG_WARN, "rejects", "%llu line%s rejected since the last "
               "publish (%llu since start); they are in %s/%s",
               (unsigned long long)(rejected - pl->rejects_logged),
               rejected - pl->rejects_logged == 1 ? "" : "s",
               (unsigned long long)rejected, pl->cfg->archive_dir,
               pl->rejects_name);
        pl->rejects_logged = rejected;
    }
    pe.records = st.records_written;
    pe.files = st.files_written;
    pe.bytes = st.bytes_written;
    note_publish(pl, &pe);
    atomic_fetch_add(&pl->files_published, st.files_written);
    atomic_fetch_add(&pl->records_published, st.records_written);
    atomic_fetch_add(&pl->bytes_published, st.bytes_written);
    atomic_store(&pl->last_publish, fl_time_now());
    /* The archive already says the records are in; the WAL checkpoint only
     * frees space (a failure here costs disk, never correctness). */
    if (mark > atomic_load(&pl->published_seq))
        atomic_store(&pl->published_seq, mark);
    fl_pipeline_checkpoint(pl);
    return FL_OK;
}


void *
fl_pipeline_publisher_main(void *arg)
{
    struct fl_pipeline *pl = arg;
    for (;;) {
        fl_buffer_wait_due(pl->buffer);
        /* Taken and marked in flight in one step for the live view. */
        pthread_rwlock_wrlock(&pl->snap_lock);
        struct fl_buffer_block *list = fl_buffer_take(pl->buffer);
        pl->inflight = list;
        uint64_t taken = 0;
        for (const struct fl_buffer_block *b = list; b != NULL; b = b->next)
            taken += b->records;
        atomic_store(&pl->inflight_records, taken);
        pthread_rwlock_unlock(&pl->snap_lock);
        if (list != NULL) {
            int prc = publish(pl, list);
            atomic_store(&pl->inflight_records, 0);
            if (prc == 0) {
                fl_buffer_block_free_list(list);
            } else {
                pthread_rwlock_wrlock(&pl->snap_lock);
                pl->inflight = NULL;
                fl_buffer_put_back(pl->buffer, list);
                pthread_rwlock_unlock(&pl->snap_lock);
                if (!atomic_load(&pl->stopping))
                    sleep(RETRY_SECONDS);
                else
                    break;         /* stopping: report, do not loop */
            }
        }
        if (atomic_load(&pl->stopping)) {
            /* One last pass for whatever arrived meanwhile. */
            size_t bytes;
            uint64_t records;
            fl_buffer_stats(pl->buffer, &bytes, &records);
            if (records == 0)
                break;
            fl_buffer_wake(pl->buffer);
        }
    }
    return NULL;
}
