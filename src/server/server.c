/* SPDX-License-Identifier: MIT
 *
 * server.c -- `flowlake serve` put together (see server.h): the sources
 * (the HTTP endpoints, the watched folder, the demo) hand bodies to the
 * pipeline (pipeline/pipeline.h: validate, write-ahead log, buffer,
 * publish to the sink), which tells the metrics (metrics/metrics.h) of
 * every record; the HTTP front (http/) answers queries and shows the
 * figures of all of them. This file only creates, wires, starts and stops
 * them, in an order that keeps every record:
 *
 *   create: counters, the uploader (s3/uploader.h; the archive's outbox
 *           exists before anything is published), pipeline, metrics (they
 *           load their saved state), then the pipeline opens its WAL
 *           (replaying into both);
 *   start:  metrics thread, publisher, HTTP, folder watcher, demo,
 *           Kafka consumer, compaction (compactor.c), uploads;
 *   stop:   no new input, queries and HTTP finished, sources and
 *           compaction stopped, the buffer published, uploads stopped
 *           (what is left waits in the outbox), metrics saved, the WAL
 *           closed.
 */
#include "../core/fl_config.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "../core/fl_error.h"
#include "../core/fl_log.h"
#include "../core/fl_mem.h"
#include "../core/fl_sync.h"
#include "../core/fl_time.h"
#include "../metrics/metrics.h"
#include "../s3/uploader.h"
#include "../sources/counters.h"
#include "server.h"
#include "server_int.h"


/* The metrics' saved callback: their state is durable up to a newer
 * sequence number, so the WAL may be cut further (metrics/metrics.h). */
static void
metrics_saved(void *ctx)
{
    struct fl_server *s = ctx;
    fl_pipeline_checkpoint(s->pipeline);
}


/* The metrics' queries_running callback: queries over HTTP may list
 * metric files a merge removed (api_query.c). */
static uint64_t
metrics_queries_running(void *ctx)
{
    return fl_http_queries_running(ctx);
}


/* The pipeline's tap: the metrics see every block appended or replayed,
 * and hold the WAL back to what their saved state covers. */
static void
tap_appended(void *ctx, struct fl_buffer_block *list, uint64_t arrival_ms)
{
    fl_metrics_enqueue(ctx, list, arrival_ms);
}


static int
tap_replayed(void *ctx, const struct fl_buffer_block *b, uint64_t arrival_ms)
{
    return fl_metrics_replay(ctx, b->text, b->len, b->format, b->wal_seq,
                             arrival_ms);
}


static uint64_t
tap_persisted_seq(void *ctx)
{
    return fl_metrics_persisted_seq(ctx);
}


/* What every source is given (sources/source.h). */
static void
source_ingest(void *ctx, enum fl_source_kind kind, const char *source,
              const char *body, size_t len, const char *format_spec,
              const uint64_t *keys, size_t n_keys,
              const struct fl_prov_seg *segs, size_t n_segs,
              struct fl_ingest_result *res)
{
    struct fl_server *s = ctx;
    fl_pipeline_ingest(s->pipeline, kind, source, body, len, format_spec,
                       keys, n_keys, segs, n_segs, res);
}


static int
source_running(void *ctx)
{
    struct fl_server *s = ctx;
    return atomic_load(&s->accepting);
}


/* The server's own mutexes and conditions, every result checked: all made
 * (0), or none (-errno, those made destroyed). */
static int
init_locks(struct fl_server *s)
{
    pthread_mutex_t *const mus[] = { &s->query_mu, &s->compact_mu };
    pthread_cond_t *const cvs[] = { &s->query_cv, &s->compact_cv };
    return fl_sync_init(mus, 2, cvs, 2);
}


int
fl_server_create(const struct fl_config *cfg, struct fl_server **out,
                 struct fl_err *err)
{
    struct fl_server *s = fl_calloc(1, sizeof *s);
    int rc;

    if (s == NULL)
        return fl_err_oom(err);
    s->cfg = cfg;
    if ((rc = init_locks(s)) < 0) {
        /* fl_server_destroy would destroy locks never made. */
        fl_free(s);
        return fl_err_set(err, rc, "cannot initialise the server's "
                          "locks: %s", fl_strerror(rc));
    }
    if ((rc = fl_source_counters_create(&s->counters)) < 0) {
        fl_err_set(err, rc, "%s", fl_strerror(rc));
        goto fail;
    }
    /* The object store first: from the moment the archive has an outbox
     * every publish is recorded in it, the ones recovery finishes too. */
    if (cfg->s3_url[0] != '\0') {
        struct fl_s3_config s3cfg;
        fl_s3_config_from(&s3cfg, cfg);
        if ((rc = fl_uploader_create(&s3cfg, cfg->archive_dir, &s->uploader,
                                     err)) < 0)
            goto fail;
    }
    if ((rc = fl_pipeline_create(cfg, s->counters, &s->pipeline, err)) < 0)
        goto fail;
    struct fl_metrics_options mo = {
        .cfg = cfg, .snap_lock = fl_pipeline_snapshot_lock(s->pipeline),
        .ctx = s, .saved = metrics_saved,
        .queries_running = metrics_queries_running,
    };
    if ((rc = fl_metrics_create(&mo, &s->metrics, err)) < 0)
        goto fail;
    struct fl_pipeline_tap tap = {
        .appended = tap_appended, .replayed = tap_replayed,
        .persisted_seq = tap_persisted_seq, .ctx = s->metrics,
    };
    if ((rc = fl_pipeline_open(s->pipeline, &tap, err)) < 0)
        goto fail;
    s->source_env = (struct fl_source_env) {
        .cfg = cfg, .dedupe = fl_pipeline_dedupe(s->pipeline),
        .rejects = fl_pipeline_rejects(s->pipeline),
        .counters = s->counters, .ingest = source_ingest,
        .running = source_running, .ctx = s,
    };
    *out = s;
    return FL_OK;

fail:
    fl_server_destroy(s);
    return rc;
}


/* fl_pipeline_each_held's callback without a Kafka source. */
static void
keep_unasked(void *ctx, uint64_t id, const char *hold, uint64_t records)
{
    (void)hold;
    struct fl_err err = FL_ERR_INIT;
    fl_log(FL_LOG_WARN, "kafka", "a Kafka batch of %llu record(s) was "
           "stored before the last stop, its commit unsettled, and "
           "kafka.brokers is not set: kept without asking the group (if "
           "another instance stored it too, it is there twice)",
           (unsigned long long)records);
    if (fl_pipeline_settle(ctx, id, 1, &err) < 0)
        fl_log(FL_LOG_ERROR, "kafka", "%s", fl_err_msg(&err));
}


int
fl_server_start(struct fl_server *s, struct fl_err *err)
{
    int rc;
    s->started = fl_time_mono();
    atomic_store(&s->accepting, 1);
    if ((rc = fl_metrics_start(s->metrics)) < 0) {
        fl_err_set(err, rc, "cannot start the metrics thread: %s",
                   fl_strerror(rc));
        goto fail;
    }
    if ((rc = fl_pipeline_start(s->pipeline, err)) < 0
        || (rc = fl_http_start(s, err)) < 0)
        goto fail;
    if (s->cfg->watch_dir[0] != '\0'
        && (rc = fl_watch_start(&s->source_env, &s->watch)) < 0) {
        fl_err_set(err, rc, "cannot start the folder source: %s",
                   fl_strerror(rc));
        goto fail;
    }
    if (s->demo_rate > 0
        && (rc = fl_demo_start(&s->source_env, s->demo_rate, &s->demo)) < 0) {
        fl_err_set(err, rc, "cannot start the demo feeder: %s",
                   fl_strerror(rc));
        goto fail;
    }
    if (s->cfg->kafka_brokers[0] != '\0') {
        struct fl_source_env kenv = s->source_env;
        kenv.dedupe = fl_pipeline_dedupe_for(s->pipeline, FL_SOURCE_KAFKA);
        kenv.pipeline = s->pipeline;
        if ((rc = fl_kafka_start(&kenv, &s->kafka, err)) < 0)
            goto fail;
    } else {
        /* Kafka batches a crash left held, and no Kafka to ask whether
         * their commits went through: kept rather than lost. */
        fl_pipeline_each_held(s->pipeline, keep_unasked, s->pipeline);
    }
    if ((rc = fl_server_compactor_start(s, err)) < 0)
        goto fail;
    if (s->uploader != NULL && (rc = fl_uploader_start(s->uploader, err)) < 0)
        goto fail;
    return FL_OK;
fail:
    atomic_store(&s->accepting, 0);
    return rc;
}


void
fl_server_set_demo(struct fl_server *s, uint64_t records_per_second)
{
    s->demo_rate = records_per_second;
}


uint16_t
fl_server_port(const struct fl_server *s)
{
    return s->port;
}


/* No new input: queries answered, HTTP stopped, the threaded sources
 * ended. (Also what a start that failed half-way needs undone.) */
static void
stop_input(struct fl_server *s)
{
    atomic_store(&s->accepting, 0);
    /* Queries' connections are suspended: they must be answered before
     * libmicrohttpd stops. */
    fl_http_queries_stop(s);
    /* libmicrohttpd finishes the requests in flight before it returns. */
    fl_http_stop(s);
    fl_demo_stop(s->demo);
    s->demo = NULL;
    fl_watch_stop(s->watch);
    s->watch = NULL;
    fl_kafka_stop(s->kafka);
    s->kafka = NULL;
    fl_server_compactor_stop(s);
}


int
fl_server_stop(struct fl_server *s)
{
    stop_input(s);
    fl_pipeline_stop_publisher(s->pipeline);
    /* What is not uploaded yet waits in the outbox for the next start. */
    fl_uploader_stop(s->uploader);
    /* Folds what is queued and saves the metric state (then the WAL can
     * be checkpointed as far as the archive allows). */
    fl_metrics_stop(s->metrics);
    return fl_pipeline_close(s->pipeline);
}


void
fl_server_destroy(struct fl_server *s)
{
    if (s == NULL)
        return;
    stop_input(s);
    if (s->pipeline != NULL)
        fl_pipeline_stop_publisher(s->pipeline);
    fl_metrics_destroy(s->metrics);     /* no request uses it any more */
    s->metrics = NULL;
    fl_pipeline_destroy(s->pipeline);
    fl_uploader_destroy(s->uploader);
    fl_source_counters_destroy(s->counters);
    pthread_mutex_destroy(&s->query_mu);
    pthread_cond_destroy(&s->query_cv);
    pthread_mutex_destroy(&s->compact_mu);
    pthread_cond_destroy(&s->compact_cv);
    fl_free(s);
}
