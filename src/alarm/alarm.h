/* SPDX-License-Identifier: MIT
 *
 * alarm.h -- alarms with CloudWatch semantics over flowlake's metrics
 * (docs/alarms.md; CloudWatch's rules as the CloudWatch User Guide's "Using
 * Amazon CloudWatch alarms" documents them, https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html).
 *
 * An alarm watches one series: a metric (stream/stream.h) and, when the
 * metric has dimensions, a value for every one of them. Its period is the
 * metric's window length. Each final window value is a datapoint,
 * breaching when `value <op> threshold` holds; a window without a value is
 * missing. When the metric's clock passes the end of a window, the alarm
 * is evaluated over the last `evaluation_range` windows ending there
 * (default N + 2, the range of the documented examples: 5 for N = 3):
 *
 *   - at least N real datapoints: the most recent N real ones decide, ALARM
 *     when M or more of them breach, else OK (missing-data treatment not
 *     used);
 *   - fewer than N but some: missing points are filled as treat_missing
 *     says -- breaching, notBreaching; `missing` evaluates the real points
 *     alone with M' = min(M, real points) (CloudWatch's "premature alarm"
 *     rule); `ignore` does the same but keeps the current state where that
 *     would be ALARM;
 *   - none: missing -> INSUFFICIENT_DATA, ignore -> current state,
 *     breaching -> ALARM, notBreaching -> OK.
 *
 * This reproduces both truth tables of that AWS page exactly (the unit
 * tests hold every cell). Actions run only when the state changes: log
 * lines, commands and webhooks (JSON POST through libcurl with a timeout
 * and retries with exponential backoff), on a worker thread so that
 * evaluation never waits for the network.
 *
 * State, the recent datapoints of every alarm and the last evaluated
 * window survive restarts (STATE_DIR/state.json, written atomically); every
 * state change is appended to STATE_DIR/history.jsonl (fsync'd), which SQL
 * reads as vpc_flow_logs.alarm_history. One JSON object per line:
 *
 *   {"time":"2026-11-29T19:00:05Z","alarm":"NAME","metric":"METRIC",
 *    "dimensions":{"protocol":"6"},"old_state":"OK","new_state":"ALARM",
 *    "reason":"Threshold Crossed: 3 out of the last 3 datapoints ...",
 *    "window_start":"2026-11-29T18:30:00Z",
 *    "window_end":"2026-11-29T18:45:00Z","threshold":1000.0,
 *    "values":[1200.0,null,1500.0]}
 *
 * ("values": the datapoints evaluated, oldest first, null = missing.) A
 * replay that finalises a window again (after a crash, the stream engine
 * rebuilds windows from the WAL) is recognised by the last evaluated
 * window and not evaluated twice.
 *
 * Thread: fl_alarms_* may be called from any thread; one lock inside.
 */
#ifndef FL_ALARM_H
#define FL_ALARM_H

#include <stddef.h>
#include <stdint.h>

#include "../core/fl_error.h"
#include "../stream/stream.h"

enum fl_alarm_state {
    FL_ALARM_INSUFFICIENT_DATA = 0,
    FL_ALARM_OK,
    FL_ALARM_ALARM
};

/* ComparisonOperator, CloudWatch's names. */
enum fl_alarm_cmp {
    FL_ALARM_GE,           /* GreaterThanOrEqualToThreshold */
    FL_ALARM_GT,           /* GreaterThanThreshold */
    FL_ALARM_LT,           /* LessThanThreshold */
    FL_ALARM_LE            /* LessThanOrEqualToThreshold */
};

/* TreatMissingData. */
enum fl_alarm_missing {
    FL_MISSING_MISSING,    /* "missing" (default) */
    FL_MISSING_IGNORE,     /* "ignore" */
    FL_MISSING_BREACHING,  /* "breaching" */
    FL_MISSING_NOT_BREACHING /* "notBreaching" */
};

enum fl_alarm_point {
    FL_POINT_MISSING,
    FL_POINT_OK,
    FL_POINT_BREACHING
};

/* One alarm as the config file defines it ([alarm.NAME] sections; see
 * docs/alarms.md). */
struct fl_alarm_def {
    char                 *name;
    char                 *description;       /* may be "" */
    char                 *metric;
    size_t                n_dims;
    char                **dim_names;
    char                **dim_values;
    enum fl_alarm_cmp     cmp;
    double                threshold;
    unsigned              evaluation_periods;   /* N >= 1 */
    unsigned              datapoints_to_alarm;  /* M, 1..N */
    unsigned              evaluation_range;     /* >= N; default N + 2 */
    enum fl_alarm_missing treat_missing;
    char                **webhooks;          /* URLs */
    size_t                n_webhooks;
    char                **commands;          /* run with /bin/sh -c */
    size_t                n_commands;
    int                   log;               /* a line on stderr (default 1) */
    uint64_t              webhook_timeout_ms;   /* default 5000 */
    unsigned              webhook_retries;      /* default 5 */
    uint64_t              webhook_backoff_ms;   /* first retry; doubles; default 1000 */
};

/* The pure evaluation rule above. points[0..range-1] oldest first; reason
 * gets CloudWatch-style text ("Threshold Crossed: 2 out of the last 3
 * datapoints [...] were greater than the threshold (10.0)"). */
enum fl_alarm_state fl_alarm_evaluate(const enum fl_alarm_point *points,
                                      size_t range, unsigned n, unsigned m,
                                      enum fl_alarm_missing treat,
                                      enum fl_alarm_state current,
                                      char *reason, size_t reasonlen);

/* Parsers/printers of the CloudWatch names. Return 0 or FL_ECONFIG. */
int  fl_alarm_cmp_parse(const char *s, enum fl_alarm_cmp *out);
int  fl_alarm_missing_parse(const char *s, enum fl_alarm_missing *out);
const char *fl_alarm_cmp_name(enum fl_alarm_cmp c);
const char *fl_alarm_missing_name(enum fl_alarm_missing m);
const char *fl_alarm_state_name(enum fl_alarm_state s);

/* Builds alarm definitions from the [alarm.NAME] sections the config file
 * had (config/config.h struct fl_config_section). Every problem is
 * reported as "FILE:LINE: [alarm.NAME] message" in err (the first one);
 * returns 0 or FL_ECONFIG. */
struct fl_config_section;
int  fl_alarm_defs_from_config(const struct fl_config_section *sections,
                               size_t n, struct fl_alarm_def **out,
                               size_t *out_n, struct fl_err *err);
void fl_alarm_defs_free(struct fl_alarm_def *defs, size_t n);

/* Every problem of every [alarm.NAME] section of cfg that the sections
 * show by themselves (unknown keys, keys given twice, bad values, missing
 * keys, datapoints_to_alarm and evaluation_range against
 * evaluation_periods), each added to errs as fl_alarm_defs_from_config
 * words it, and all of them, not just the first: for `config check`.
 * Whether the metrics fit is fl_alarm_defs_check's. Returns 0,
 * FL_ECONFIG or FL_ENOMEM. */
struct fl_config;
struct fl_config_errors;
int  fl_alarm_config_check(const struct fl_config *cfg,
                           struct fl_config_errors *errs);

/* The key table of an [alarm.NAME] section (defs.c), *n entries: what
 * `config defaults` prints and the docs test reads. */
struct fl_config_map;
const struct fl_config_map *fl_alarm_config_map(size_t *n);

struct fl_alarms;

/* Checks every definition against the engine's metrics (the metric exists;
 * the dimension names are exactly the metric's; N * period <= 1 day) and
 * takes the defs (freed by destroy). state_dir is created if needed;
 * saved state of alarms with the same name and series is restored.
 * Starts the action worker. Returns 0; FL_ECONFIG with err; -errno;
 * -ENOMEM. *out untouched on failure (the defs are still the caller's). */
int  fl_alarms_create(struct fl_alarm_def *defs, size_t n,
                      const struct fl_stream *stream, const char *state_dir,
                      struct fl_alarms **out, struct fl_err *err);

/* How fl_alarms_create_with_lookup learns a metric's window and
 * dimensions: returns 0 and sets *window (seconds, >= 1), *n_dims and up to
 * cap dimension names in names[] (borrowed; valid while the alarms exist),
 * or -ENOENT when there is no such metric. */
typedef int fl_alarm_lookup_fn(void *ctx, const char *metric,
                               int64_t *window, size_t *n_dims,
                               const char **names, size_t cap);

/* fl_alarms_create without a stream engine (tests, tools): the metrics are
 * described by lookup. fl_alarms_create is this with a lookup over
 * fl_stream_metric_info (alarm_stream.c). */
int  fl_alarms_create_with_lookup(struct fl_alarm_def *defs, size_t n,
                                  fl_alarm_lookup_fn *lookup, void *ctx,
                                  const char *state_dir,
                                  struct fl_alarms **out, struct fl_err *err);

/* The checks fl_alarms_create makes against the metrics (the metric
 * exists; the dimension names are exactly the metric's; N x period <= 1
 * day), without creating anything: for `flowlake config check`. Returns 0
 * or FL_ECONFIG with err ("alarm NAME: ..."). */
int  fl_alarm_defs_check_lookup(const struct fl_alarm_def *defs, size_t n,
                                fl_alarm_lookup_fn *lookup, void *ctx,
                                struct fl_err *err);
struct fl_metric_plans;
int  fl_alarm_defs_check(const struct fl_alarm_def *defs, size_t n,
                         const struct fl_metric_plans *plans,
                         struct fl_err *err);

/* Stops the worker (after delivering queued actions for at most
 * drain_ms) and frees everything. NULL is a no-op. */
void fl_alarms_destroy(struct fl_alarms *a, uint64_t drain_ms);

/* A final metric value (the stream engine's final callback): kept as a
 * datapoint of every alarm watching its series. */
void fl_alarms_on_final(struct fl_alarms *a, const struct fl_metric_value *v);

/* The metric's clock reached `clock` (fl_stream_metric_stats): evaluates
 * every alarm on it at each window end in (last evaluated, clock], oldest
 * first, firing actions on state changes; now = wall-clock epoch seconds
 * for the history. Persists state when anything changed. */
void fl_alarms_advance(struct fl_alarms *a, const char *metric,
                       int64_t clock, int64_t now);

/* The alarms as a JSON array (GET /api/alarms): name, description,
 * metric, dimensions, comparison, threshold, period, evaluation_periods,
 * datapoints_to_alarm, treat_missing_data, state, state_reason,
 * state_updated (ISO 8601), last_window_end, datapoints (recent window
 * values, oldest first, null = missing), actions_failed (count).
 * *out is fl_free'd by the caller. Returns 0 or -ENOMEM. */
int  fl_alarms_json(struct fl_alarms *a, char **out, size_t *out_len);

/* Counters for /metrics. */
struct fl_alarms_stats {
    uint64_t alarms, in_alarm, in_ok, in_insufficient;
    uint64_t transitions, actions_ok, actions_failed;
};
void fl_alarms_stats(struct fl_alarms *a, struct fl_alarms_stats *out);

#endif /* FL_ALARM_H */
