/* SPDX-License-Identifier: MIT
 *
 * pipeline.c -- the pipeline's life, its WAL checkpoint and its figures
 * (see pipeline.h). Validation and appending are in ingest.c, the
 * publisher thread in publisher.c, the replay at open in recover.c.
 */
#define _GNU_SOURCE 1   /* pthread_rwlockattr_setkind_np: a writer-first lock */
#include "../core/fl_config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../core/fl_error.h"
#include "../core/fl_fs.h"
#include "../core/fl_log.h"
#include "../core/fl_mem.h"
#include "../core/fl_sync.h"
#include "../core/fl_time.h"
#include "../config/config.h"
#include "../sinks/sink.h"
#include "pipeline_int.h"


/* The pipeline's mutexes and snapshot lock, every result checked: all
 * made (0), or none (-errno, those made destroyed). */
static int
init_locks(struct fl_pipeline *pl)
{
    pthread_mutex_t *const mus[] = {
        &pl->err_mu, &pl->pub_mu, &pl->append_mu, &pl->ckpt_mu,
        &pl->held_mu,
    };
    int rc = fl_sync_init(mus, 5, NULL, 0);
    if (rc < 0)
        return rc;
    /* Writer first: the publisher must not wait behind a stream of
     * queries taking their snapshots. */
    pthread_rwlockattr_t ra;
    if ((rc = pthread_rwlockattr_init(&ra)) == 0) {
        rc = pthread_rwlockattr_setkind_np(&ra,
            PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
        if (rc == 0)
            rc = pthread_rwlock_init(&pl->snap_lock, &ra);
        pthread_rwlockattr_destroy(&ra);
    }
    if (rc != 0)
        fl_sync_destroy(mus, 5, NULL, 0);
    return -rc;
}


/* A new errors file, named after the start time and the process:
 * ARCHIVE/_errors/serve-YYYYMMDDTHHMMSSZ-PID.jsonl. */
static int
open_rejects(struct fl_pipeline *pl, struct fl_err *err)
{
    struct fl_civil c;
    fl_time_to_civil(fl_time_now(), &c);
    snprintf(pl->rejects_name, sizeof pl->rejects_name,
             "_errors/serve-%04d%02d%02dT%02d%02d%02dZ-%d.jsonl", c.year,
             c.month, c.day, c.hour, c.minute, c.second, (int)getpid());
    char *path = fl_fs_join(pl->cfg->archive_dir, pl->rejects_name);
    if (path == NULL)
        return fl_err_oom(err);
    int rc = fl_rejects_create(path, &pl->rejects);
    if (rc < 0)
        fl_err_set(err, rc, "cannot create %s: %s", path, fl_strerror(rc));
    fl_free(path);
    return rc;
}



int
fl_pipeline_create(const struct fl_config *cfg,
                   struct fl_source_counters *counters,
                   struct fl_pipeline **out, struct fl_err *err)
{
    struct fl_pipeline *pl = fl_calloc(1, sizeof *pl);
    int rc;

    if (pl == NULL)
        return fl_err_oom(err);
    pl->cfg = cfg;
    pl->counters = counters;
    atomic_store(&pl->held_low, UINT64_MAX);
    if ((rc = init_locks(pl)) < 0) {
        /* fl_pipeline_destroy would destroy locks never made. */
        fl_free(pl);
        return fl_err_set(err, rc, "cannot initialise the pipeline's "
                          "locks: %s", fl_strerror(rc));
    }
    if ((rc = fl_fs_mkdirs(cfg->archive_dir)) < 0) {
        fl_err_set(err, rc, "cannot create %s: %s", cfg->archive_dir,
                   fl_strerror(rc));
        goto fail;
    }
    if ((rc = fl_sink_local_create(cfg->archive_dir, &pl->sink)) < 0
        || (rc = fl_buffer_create((size_t)cfg->buffer_size,
                                  cfg->buffer_interval, &pl->buffer)) < 0
        || (rc = fl_dedupe_create((size_t)cfg->dedupe_max_keys,
                                  cfg->dedupe_horizon * 1000,
                                  &pl->dedupe)) < 0
        || (rc = fl_dedupe_create((size_t)cfg->kafka_dedupe_max_keys,
                                  cfg->dedupe_horizon * 1000,
                                  &pl->kafka_dedupe)) < 0) {
        fl_err_set(err, rc, "%s", fl_strerror(rc));
        goto fail;
    }
    if ((rc = open_rejects(pl, err)) < 0)
        goto fail;
    *out = pl;
    return FL_OK;
fail:
    fl_pipeline_destroy(pl);
    return rc;
}


int
fl_pipeline_open(struct fl_pipeline *pl, const struct fl_pipeline_tap *tap,
                 struct fl_err *err)
{
    if (tap != NULL)
        pl->tap = *tap;
    return fl_pipeline_recover(pl, err);
}


int
fl_pipeline_start(struct fl_pipeline *pl, struct fl_err *err)
{
    int rc = pthread_create(&pl->publisher, NULL, fl_pipeline_publisher_main,
                            pl);
    if (rc != 0)
        return fl_err_set(err, -rc, "cannot start the publisher: %s",
                          fl_strerror(-rc));
    pl->publisher_started = 1;
    return FL_OK;
}


struct fl_dedupe *
fl_pipeline_dedupe(struct fl_pipeline *pl)
{
    return pl->dedupe;
}


struct fl_dedupe *
fl_pipeline_dedupe_for(struct fl_pipeline *pl, enum fl_source_kind kind)
{
    return fl_pipeline_dedupe_of(pl, kind);
}


struct fl_rejects *
fl_pipeline_rejects(struct fl_pipeline *pl)
{
    return pl->rejects;
}


pthread_rwlock_t *
fl_pipeline_snapshot_lock(struct fl_pipeline *pl)
{
    return &pl->snap_lock;
}


void
fl_pipeline_each_unpublished(struct fl_pipeline *pl,
                             void (*fn)(void *ctx,
                                        const struct fl_buffer_block *b),
                             void *ctx)
{
    for (const struct fl_buffer_block *b = pl->inflight; b; b = b->next)
        fn(ctx, b);
    fl_buffer_each(pl->buffer, fn, ctx);
}


void
fl_pipeline_checkpoint(struct fl_pipeline *pl)
{
    uint64_t mark = atomic_load(&pl->published_seq);
    struct fl_wal_stats ws;
    if (pl->tap.persisted_seq != NULL) {
        uint64_t tap = pl->tap.persisted_seq(pl->tap.ctx);
        if (tap < mark)
            mark = tap;
    }
    /* A held request stays in the log until it is settled and, if kept,
     * published (the archive's mark may pass it: its blocks joined the
     * buffer later, under the settle record's sequence). */
    uint64_t held = fl_held_prune(pl, mark);
    if (held <= mark)
        mark = held - 1;
    pthread_mutex_lock(&pl->ckpt_mu);
    if (pl->wal == NULL) {                /* not open, or closed */
        pthread_mutex_unlock(&pl->ckpt_mu);
        return;
    }
    fl_wal_stats(pl->wal, &ws);
    if (mark > ws.checkpoint && mark < ws.next_seq) {
        /* The dedupe keys of the records about to leave the log go to the
         * dedupe files first; without them, no checkpoint (disk is cheaper
         * than a retry stored twice). */
        struct fl_dedupe *sets[] = { pl->dedupe, pl->kafka_dedupe };
        const char *paths[] = { pl->dedupe_path, pl->kafka_dedupe_path };
        int rc = FL_OK;
        for (size_t i = 0; i < 2 && rc == 0; i++) {
            rc = fl_dedupe_dirty(sets[i]) ? fl_dedupe_save(sets[i], paths[i])
                                          : FL_OK;
            if (rc < 0)
                fl_log(FL_LOG_ERROR, "wal", "cannot save %s: %s; the "
                       "write-ahead log is not checkpointed", paths[i],
                       fl_strerror(rc));
        }
        if (rc < 0) {
            pthread_mutex_unlock(&pl->ckpt_mu);
            return;
        }
        rc = fl_wal_checkpoint(pl->wal, mark);
        if (rc < 0)
            fl_log(FL_LOG_ERROR, "wal", "WAL checkpoint to %llu failed: "
                    "%s", (unsigned long long)mark, fl_strerror(rc));
    }
    pthread_mutex_unlock(&pl->ckpt_mu);
}


void
fl_pipeline_stats(struct fl_pipeline *pl, struct fl_pipeline_stats *out)
{
    memset(out, 0, sizeof *out);
    fl_wal_stats(pl->wal, &out->wal);
    fl_dedupe_stats(pl->dedupe, &out->dedupe);
    fl_buffer_info(pl->buffer, &out->buffer);
    fl_rejects_stats(pl->rejects, &out->rejects);
    out->replayed = pl->replayed;
    fl_held_stats(pl, &out->held_requests, &out->held_records);
    out->held_kept = atomic_load(&pl->held_kept);
    out->held_dropped = atomic_load(&pl->held_dropped);
    out->published_seq = atomic_load(&pl->published_seq);
    out->inflight_records = atomic_load(&pl->inflight_records);
    out->files_published = atomic_load(&pl->files_published);
    out->records_published = atomic_load(&pl->records_published);
    out->bytes_published = atomic_load(&pl->bytes_published);
    out->publish_failures = atomic_load(&pl->publish_failures);
    out->last_publish = atomic_load(&pl->last_publish);
    pthread_mutex_lock(&pl->err_mu);
    snprintf(out->last_error, sizeof out->last_error, "%s", pl->last_error);
    pthread_mutex_unlock(&pl->err_mu);
}


void
fl_pipeline_stop_publisher(struct fl_pipeline *pl)
{
    atomic_store(&pl->stopping, 1);
    if (pl->publisher_started) {
        fl_buffer_wake(pl->buffer);
        pthread_join(pl->publisher, NULL);
        pl->publisher_started = 0;
    }
}


int
fl_pipeline_close(struct fl_pipeline *pl)
{
    size_t bytes;
    uint64_t records;

    fl_pipeline_checkpoint(pl);
    fl_buffer_stats(pl->buffer, &bytes, &records);
    if (fl_pipeline_each_held(pl, NULL, NULL) > 0)
        records++;               /* a held request waits for the next start */
    (void)fl_rejects_close(pl->rejects);
    /* What is still buffered stays in the WAL for the next start. */
    pthread_mutex_lock(&pl->ckpt_mu);
    int rc = fl_wal_close(pl->wal);
    pl->wal = NULL;
    pthread_mutex_unlock(&pl->ckpt_mu);
    if (rc < 0)
        fl_log(FL_LOG_ERROR, "wal", "closing the write-ahead log: %s",
                fl_strerror(rc));
    return records == 0 && rc == 0 ? FL_OK : FL_EAGAIN;
}


void
fl_pipeline_destroy(struct fl_pipeline *pl)
{
    if (pl == NULL)
        return;
    /* A start that failed half-way: the publisher must be gone before the
     * buffer it waits on is destroyed. */
    fl_pipeline_stop_publisher(pl);
    (void)fl_wal_close(pl->wal);
    fl_buffer_destroy(pl->buffer);
    fl_sink_destroy(pl->sink);
    fl_dedupe_destroy(pl->dedupe);
    fl_free(pl->dedupe_path);
    fl_dedupe_destroy(pl->kafka_dedupe);
    fl_free(pl->kafka_dedupe_path);
    fl_rejects_destroy(pl->rejects);
    while (pl->held != NULL) {
        struct fl_held *h = pl->held;
        pl->held = h->next;
        fl_held_free(h);
    }
    pthread_mutex_destroy(&pl->held_mu);
    pthread_mutex_destroy(&pl->append_mu);
    pthread_mutex_destroy(&pl->ckpt_mu);
    pthread_rwlock_destroy(&pl->snap_lock);
    pthread_mutex_destroy(&pl->err_mu);
    pthread_mutex_destroy(&pl->pub_mu);
    fl_free(pl);
}
