/* SPDX-License-Identifier: MIT
 *
 * metrics.h -- the server's streaming metrics and alarms (metrics.c, with
 * the Prometheus and status read-outs in prometheus.c): the interface
 * src/server and src/http use.
 *
 * Life cycle: fl_metrics_create (in fl_server_create, before the pipeline
 * opens its WAL: it loads the saved state, so that replay knows from which
 * sequence number to fold), fl_metrics_replay for every complete WAL
 * request during that open, fl_metrics_start, then fl_metrics_enqueue for
 * every accepted request (under the pipeline's append lock), fl_metrics_stop
 * at shutdown (folds what is queued, saves), fl_metrics_destroy. The server
 * calls the three feeding functions as the pipeline's tap (pipeline.h).
 */
#ifndef FL_SERVER_METRICS_H
#define FL_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <pthread.h>

#include "../core/fl_error.h"

struct fl_buffer_block;
struct fl_metric_row;
struct fl_metrics;
struct fl_alarms;
struct fl_metric_plans;
struct fl_config;

/* The stream engine's options from metrics.* (lateness, distinct limit,
 * max groups, max future, partials retention). */
struct fl_stream_options;
void fl_metrics_stream_options(const struct fl_config *cfg,
                               struct fl_stream_options *opt);

/* GET /api/metrics/partials: the engine's partial state (open windows and
 * the final ones metrics.partials_retention keeps), as
 * fl_stream_save_partials writes it, into *out (fl_free). -ENOENT when no
 * metric runs, -ENOMEM. */
int  fl_metrics_partials(struct fl_metrics *m, unsigned char **out,
                         size_t *len);

/* Compiles the built-in metrics (metrics.defaults) and metrics.file into
 * *out (fl_plan_free). Returns 0 or <0 with err naming file and line. */
int  fl_metrics_compile(const struct fl_config *cfg,
                        struct fl_metric_plans *out, struct fl_err *err);

/* What the metrics need from the server that runs them, given explicitly
 * so that src/metrics/ does not see struct fl_server. */
struct fl_metrics_options {
    /* archive_dir, metrics.* and the [alarm.NAME] sections; it must
     * outlive the metrics. */
    const struct fl_config *cfg;
    /* The pipeline's snapshot lock (pipeline/pipeline.h): the store's
     * commit takes it exclusively (no query lists the files while they
     * change), the reads shared. */
    pthread_rwlock_t       *snap_lock;
    /* Passed to the callbacks below. */
    void                   *ctx;
    /* Called on the metrics thread after a save made the metric state
     * durable (fl_metrics_persisted_seq has moved): the WAL may now be
     * checkpointed up to it. It may call fl_metrics_persisted_seq, not
     * the other functions. NULL: nothing to do. */
    void                  (*saved)(void *ctx);
    /* How many queries over the archive run now: the files merged away
     * are removed only when none does (one may still list them). NULL:
     * queries never read the store's files. */
    uint64_t              (*queries_running)(void *ctx);
};

/* Compiles the built-in metrics and metrics.file, creates the engine,
 * restores the saved state, removes uncommitted final files, creates the
 * alarms of the [alarm.NAME] sections, and the read side of the metric
 * store. *out is set even when no metric and no alarm is defined (the
 * engine is off then: no thread, and the reads answer from the store).
 * FLOWLAKE_METRICS_READ=sql sends every read through SQL. Returns 0 or <0
 * with err (a metric or alarm definition error names file and line). */
int  fl_metrics_create(const struct fl_metrics_options *opt,
                       struct fl_metrics **out, struct fl_err *err);

/* Folds a WAL record found at start, unless the saved state covers it. */
int  fl_metrics_replay(struct fl_metrics *m, const char *text, size_t len,
                       const char *format, uint64_t seq, uint64_t arrival_ms);

int  fl_metrics_start(struct fl_metrics *m);

/* Queues the blocks of one accepted request (holds them: see
 * fl_buffer_block_hold). */
void fl_metrics_enqueue(struct fl_metrics *m, struct fl_buffer_block *list,
                        uint64_t arrival_ms);

/* The WAL sequence number the saved state covers (UINT64_MAX without
 * metrics): the WAL may be checkpointed up to it. */
uint64_t fl_metrics_persisted_seq(const struct fl_metrics *m);

void fl_metrics_stop(struct fl_metrics *m);
/* Stops the thread (saving), frees everything; m may be NULL. */
void fl_metrics_destroy(struct fl_metrics *m);

/* The values only memory has -- finals not yet committed to a file and
 * the open windows' provisional values -- of the n_metrics metrics named
 * (n_metrics 0: every metric). Free with fl_metrics_rows_free. Returns 0
 * or -ENOMEM. */
int  fl_metrics_rows(struct fl_metrics *m, const char *const *metrics,
                     size_t n_metrics, struct fl_metric_row **out, size_t *n);
void fl_metrics_rows_free(struct fl_metric_row *rows, size_t n);

/* Writes every metric's newest final and newest provisional value per
 * series, and the stream's and alarms' own figures, in the Prometheus
 * text format (GET /metrics; docs/metrics.md lists them). */
void fl_metrics_write_prometheus(struct fl_metrics *m, FILE *out);

/* The metrics part of GET /api/status as a JSON object ("null" without
 * metrics) in out; returns its length. */
size_t fl_metrics_status_json(struct fl_metrics *m, char *out, size_t cap);

/* The alarms (NULL without any) and the metric plans (NULL without
 * metrics); both live as long as the server. */
struct fl_alarms *fl_metrics_alarms(struct fl_metrics *m);
const struct fl_metric_plans *fl_metrics_plans(struct fl_metrics *m);

#endif /* FL_SERVER_METRICS_H */
