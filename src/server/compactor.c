/* SPDX-License-Identifier: MIT
 *
 * compactor.c -- the server's compaction thread: every
 * archive.compact_interval, one pass of archive/compact.h over the archive
 * (merge the small files of hours past archive.compact_after, retire hours
 * past archive.retention), logged when it did anything, its figures in
 * GET /api/status.
 *
 * Its swaps are made safe for the server's own readers by the hooks: the
 * snapshot lock is taken exclusively (no query lists the archive, no
 * publish makes files appear) and the swap waits until no running query
 * still holds a list of files it may not have opened yet -- at most
 * query.timeout, after which such a query has been stopped anyway.
 */
#include "../core/fl_config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../archive/compact.h"
#include "../core/fl_error.h"
#include "../core/fl_log.h"
#include "../core/fl_time.h"
#include "server_int.h"


static void
before_swap(void *ctx)
{
    struct fl_server *s = ctx;
    pthread_rwlock_wrlock(fl_pipeline_snapshot_lock(s->pipeline));
    if (fl_http_queries_wait_snapshots(s, (s->cfg->query_timeout + 5) * 1000)
        < 0)
        fl_log(FL_LOG_WARN, "compact", "a query still held the archive's "
               "file list after query.timeout; swapping anyway");
}


static void
after_swap(void *ctx)
{
    struct fl_server *s = ctx;
    pthread_rwlock_unlock(fl_pipeline_snapshot_lock(s->pipeline));
}


static int
cancelled(void *ctx)
{
    struct fl_server *s = ctx;
    return atomic_load(&s->compact_stop);
}


static void
one_pass(struct fl_server *s)
{
    const struct fl_config *cfg = s->cfg;
    struct fl_compact_opts o = {
        .archive_dir = cfg->archive_dir, .target_size = cfg->target_file_size,
        .min_age = cfg->compact_after, .retention = cfg->retention,
        .grace = FL_SERVER_RETIRED_GRACE, .before_swap = before_swap,
        .after_swap = after_swap, .cancelled = cancelled, .ctx = s,
    };
    struct fl_compact_stats st;
    struct fl_err err = FL_ERR_INIT;
    int rc = fl_compact(&o, &st, &err);

    pthread_mutex_lock(&s->compact_mu);
    s->compact.passes++;
    s->compact.hours_compacted += st.hours_compacted;
    s->compact.files_before += st.files_before;
    s->compact.files_after += st.files_after;
    s->compact.hours_expired += st.hours_expired;
    s->compact.last_pass = fl_time_now();
    s->compact.last_seconds = st.seconds;
    if (rc < 0) {
        s->compact.failures++;
        snprintf(s->compact.last_error, sizeof s->compact.last_error, "%s",
                 fl_err_msg(&err));
    } else {
        s->compact.last_error[0] = '\0';
    }
    pthread_mutex_unlock(&s->compact_mu);

    if (rc < 0)
        fl_log(FL_LOG_ERROR, "compact", "%s", fl_err_msg(&err));
    else if (st.hours_compacted + st.hours_expired > 0)
        fl_log(FL_LOG_INFO, "compact", "%llu hour%s compacted (%llu files "
               "-> %llu, %.1f MB -> %.1f MB), %llu hour%s expired, in "
               "%.2f s", (unsigned long long)st.hours_compacted,
               st.hours_compacted == 1 ? "" : "s",
               (unsigned long long)st.files_before,
               (unsigned long long)st.files_after, st.bytes_before / 1e6,
               st.bytes_after / 1e6, (unsigned long long)st.hours_expired,
               st.hours_expired == 1 ? "" : "s", st.seconds);
}


static void *
compactor_main(void *arg)
{
    struct fl_server *s = arg;
    pthread_mutex_lock(&s->compact_mu);
    while (!atomic_load(&s->compact_stop)) {
        struct timespec until = fl_time_deadline(
            CLOCK_REALTIME, s->cfg->compact_interval * 1000);
        int rc = 0;
        while (!atomic_load(&s->compact_stop) && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&s->compact_cv, &s->compact_mu,
                                        &until);
        if (atomic_load(&s->compact_stop))
            break;
        pthread_mutex_unlock(&s->compact_mu);
        one_pass(s);
        pthread_mutex_lock(&s->compact_mu);
    }
    pthread_mutex_unlock(&s->compact_mu);
    return NULL;
}


int
fl_server_compactor_start(struct fl_server *s, struct fl_err *err)
{
    if (s->cfg->compact_interval == 0)
        return FL_OK;
    int rc = pthread_create(&s->compactor, NULL, compactor_main, s);
    if (rc != 0)
        return fl_err_set(err, -rc, "cannot start the compaction thread: %s",
                          fl_strerror(-rc));
    s->compactor_started = 1;
    return FL_OK;
}


void
fl_server_compactor_stop(struct fl_server *s)
{
    if (!s->compactor_started)
        return;
    pthread_mutex_lock(&s->compact_mu);
    atomic_store(&s->compact_stop, 1);
    pthread_cond_broadcast(&s->compact_cv);
    pthread_mutex_unlock(&s->compact_mu);
    pthread_join(s->compactor, NULL);
    s->compactor_started = 0;
}
