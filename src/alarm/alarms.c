/* SPDX-License-Identifier: MIT
 *
 * alarms.c -- the alarm runtime: datapoints from the stream engine's final
 * values, evaluation when a metric's clock passes window ends, state,
 * history, persistence, and the JSON the HTTP API shows.
 *
 * Datapoints. Each alarm keeps the values of its series sorted by window
 * start: after an evaluation at E only those that a later evaluation (or
 * the API's view of the range at E) can use; in between, up to
 * evaluation_range + FL_ALARM_MAX_RANGE of them, so that a watermark jump
 * that finalises many windows before the next advance loses none (beyond
 * that the oldest are dropped). A final value without a value (SQL NULL)
 * is a missing point.
 *
 * Evaluation. fl_alarms_advance(metric, clock) evaluates each alarm on the
 * metric at every window end E = k * period with last_evaluated < E <=
 * clock, oldest first, over the windows ending at E - (R-1)P .. E. The
 * very first evaluation of an alarm (nothing restored) is at the latest
 * boundary only: nothing is replayed from the epoch. An evaluation over a
 * range without any datapoint gives the same state whatever it started
 * from, once done: so after one, the following all-missing boundaries are
 * skipped up to the next datapoint (a clock that jumps by a year costs a
 * few evaluations, not half a million).
 *
 * A state change appends a line to STATE_DIR/history.jsonl (fdatasync'd;
 * format in alarm.h) and queues the actions (actions.c). The first
 * evaluation that gives OK is a change from INSUFFICIENT_DATA, and fires
 * OK actions as CloudWatch does.
 *
 * Persistence. After every call that evaluated something, STATE_DIR/
 * state.json is rewritten atomically (tmp file, fsync, rename, fsync of the
 * directory):
 *
 *   {"version":1,"alarms":[{"name":"N","metric":"M","period":60,
 *     "dimensions":{"protocol":"6"},"state":"OK","reason":"...",
 *     "state_updated":1764441605,"last_evaluated":1764441600,
 *     "datapoints":[[1764441300,12.0],[1764441360,15.0]]}]}
 *
 * (times in epoch seconds; last_evaluated null before the first
 * evaluation). On create, an alarm whose name, metric, period and
 * dimension values are unchanged gets its state, reason, last evaluated
 * window and datapoints back; others start at INSUFFICIENT_DATA. A
 * damaged file is reported on stderr and ignored.
 *
 * Thread: every entry point takes a->mu; the action worker's completion
 * callback takes it too (never while the worker's own lock is held).
 */
#include "../core/fl_config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/fl_error.h"
#include "../core/fl_log.h"
#include "../core/fl_fs.h"
#include "../core/fl_mem.h"
#include "alarm_int.h"

#define STATE_VERSION 1
#define DAY 86400
/* Human-facing JSON: 15 significant digits ("0.1", not
 * "0.10000000000000001"); state.json keeps all 17. */
#define JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))

struct point {
    int64_t start;              /* window start, epoch seconds */
    double  value;
};

struct alarm {
    struct fl_alarm_def *def;
    int64_t              period;
    enum fl_alarm_state  state;
    char                 reason[FL_ALARM_REASON_MAX];
    int64_t              state_updated;     /* wall clock; 0 = never */
    int64_t              last_eval;         /* window end; INT64_MIN = none */
    int                  last_all_missing;  /* the last evaluation had no data */
    struct point        *pts;               /* sorted by start */
    size_t               cap;               /* range + FL_ALARM_MAX_RANGE */
    size_t               n_pts;
    uint64_t             actions_failed;
};

struct fl_alarms {
    pthread_mutex_t         mu;
    struct fl_alarm_def    *defs;
    size_t                  n;
    struct alarm           *al;
    char                   *state_path, *tmp_path, *history_path, *dir;
    struct fl_alarm_worker *worker;
    uint64_t                transitions, actions_ok, actions_failed;
};


/* ------------------------------------------------------------------ */
/* Small helpers. */

static int64_t
floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}


static json_t *
json_num(double v)
{
    json_t *j = isfinite(v) ? json_real(v) : NULL;
    return j != NULL ? j : json_null();
}


static json_t *
json_iso(int64_t t)
{
    char buf[32];
    fl_alarm_fmt_iso(t, buf, sizeof buf);
    return json_string(buf);
}


static json_t *
dims_json(const struct fl_alarm_def *d)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    for (size_t i = 0; i < d->n_dims; i++)
        if (json_object_set_new(o, d->dim_names[i],
                                json_string(d->dim_values[i])) < 0) {
            json_decref(o);
            return NULL;
        }
    return o;
}


/* Dumps j into a new fl_malloc'd string (jansson's own buffers come from
 * the C library; ours must come from fl_mem). Steals j. */
static char *
dump(json_t *j, size_t flags, size_t *out_len)
{
    char *s = NULL;
    if (j == NULL)
        return NULL;
    size_t n = json_dumpb(j, NULL, 0, flags);
    if (n > 0 && (s = fl_malloc(n + 1)) != NULL) {
        json_dumpb(j, s, n, flags);
        s[n] = '\0';
        if (out_len != NULL)
            *out_len = n;
    }
    json_decref(j);
    return s;
}


/* The points of the range ending at e: classification, values, starts. */
static size_t
fill_range(const struct alarm *al, int64_t e, enum fl_alarm_point *pts,
           double *vals, int64_t *starts)
{
    const struct fl_alarm_def *d = al->def;
    size_t r = d->evaluation_range, real = 0, j = 0;
    for (size_t i = 0; i < r; i++) {
        int64_t ws = e - (int64_t)(r - i) * al->period;
        starts[i] = ws;
        vals[i] = 0;
        pts[i] = FL_POINT_MISSING;
        while (j < al->n_pts && al->pts[j].start < ws)
            j++;
        if (j < al->n_pts && al->pts[j].start == ws) {
            vals[i] = al->pts[j].value;
            pts[i] = fl_alarm_breaches(d->cmp, vals[i], d->threshold)
                     ? FL_POINT_BREACHING : FL_POINT_OK;
            real++;
        }
    }
    return real;
}


static json_t *
values_json(const enum fl_alarm_point *pts, const double *vals, size_t r)
{
    json_t *a = json_array();
    if (a == NULL)
        return NULL;
    for (size_t i = 0; i < r; i++)
        if (json_array_append_new(a, pts[i] == FL_POINT_MISSING
                                  ? json_null() : json_num(vals[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}


/* ------------------------------------------------------------------ */
/* Datapoints. */

static void
point_put(struct alarm *al, int64_t start, double value, int has_value)
{
    size_t cap = al->cap, i = 0;
    while (i < al->n_pts && al->pts[i].start < start)
        i++;
    if (i < al->n_pts && al->pts[i].start == start) {
        if (has_value) {
            al->pts[i].value = value;
        } else {
            memmove(&al->pts[i], &al->pts[i + 1],
                    (al->n_pts - i - 1) * sizeof *al->pts);
            al->n_pts--;
        }
        return;
    }
    if (!has_value)
        return;
    if (al->n_pts == cap) {
        if (i == 0)
            return;                 /* older than everything kept */
        memmove(&al->pts[0], &al->pts[1], (i - 1) * sizeof *al->pts);
        al->n_pts--;
        i--;
    } else {
        memmove(&al->pts[i + 1], &al->pts[i],
                (al->n_pts - i) * sizeof *al->pts);
    }
    al->pts[i].start = start;
    al->pts[i].value = value;
    al->n_pts++;
}


static int
series_matches(const struct fl_alarm_def *d, const struct fl_metric_value *v)
{
    if (strcmp(d->metric, v->metric) != 0 || d->n_dims != v->n_dims)
        return 0;
    for (size_t i = 0; i < d->n_dims; i++) {
        size_t j;
        for (j = 0; j < v->n_dims; j++)
            if (strcmp(v->dim_names[j], d->dim_names[i]) == 0)
                break;
        if (j == v->n_dims || v->dim_values[j] == NULL
            || strcmp(v->dim_values[j], d->dim_values[i]) != 0)
            return 0;
    }
    return 1;
}


void
fl_alarms_on_final(struct fl_alarms *a, const struct fl_metric_value *v)
{
    if (a == NULL || v == NULL || v->metric == NULL)
        return;
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->n; i++) {
        struct alarm *al = &a->al[i];
        if (series_matches(al->def, v))
            point_put(al, v->window_start, v->value,
                      v->has_value && isfinite(v->value));
    }
    pthread_mutex_unlock(&a->mu);
}


/* ------------------------------------------------------------------ */
/* History and actions. */

static void
history_append(struct fl_alarms *a, const char *line, size_t len)
{
    struct stat st;
    int existed = stat(a->history_path, &st) == 0;
    int fd = open(a->history_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                  0644);
    int rc = fd < 0 ? -errno : 0;
    if (rc == 0)
        rc = fl_fs_write_all(fd, line, len);
    if (rc == 0 && fdatasync(fd) < 0)
        rc = -errno;
    if (fd >= 0)
        close(fd);
    if (rc == 0 && !existed)
        rc = fl_fs_fsync_path(a->dir);
    if (rc < 0)
        fl_log(FL_LOG_ERROR, "alarm", "cannot append to %s: %s",
                a->history_path, strerror(-rc));
}


static struct fl_alarm_job *
job_new(enum fl_alarm_job_kind kind, size_t idx, const struct alarm *al,
        const char *target, const char *body, enum fl_alarm_state old)
{
    const struct fl_alarm_def *d = al->def;
    struct fl_alarm_job *j = fl_calloc(1, sizeof *j);
    if (j == NULL)
        return NULL;
    j->kind = kind;
    j->alarm = idx;
    j->timeout_ms = d->webhook_timeout_ms;
    j->retries = d->webhook_retries;
    j->backoff_ms = d->webhook_backoff_ms;
    j->target = fl_strdup(target);
    j->body = fl_strdup(body);
    j->env_alarm = fl_strdup(d->name);
    j->env_old = fl_strdup(fl_alarm_state_name(old));
    j->env_new = fl_strdup(fl_alarm_state_name(al->state));
    j->env_reason = fl_strdup(al->reason);
    j->env_metric = fl_strdup(d->metric);
    if (j->target == NULL || j->body == NULL || j->env_alarm == NULL
        || j->env_old == NULL || j->env_new == NULL || j->env_reason == NULL
        || j->env_metric == NULL) {
        fl_alarm_job_free(j);
        return NULL;
    }
    return j;
}


static void
push(struct fl_alarms *a, struct fl_alarm_job *j)
{
    size_t dropped;
    if (j == NULL) {
        fl_log(FL_LOG_ERROR, "alarm", "out of memory, an action is lost");
        return;
    }
    if (fl_alarm_worker_push(a->worker, j, &dropped)) {
        a->actions_failed++;
        a->al[dropped].actions_failed++;
    }
}


/* The state of al changed from old at window end e (now: wall clock). */
static void
transition(struct fl_alarms *a, size_t idx, enum fl_alarm_state old,
           int64_t e, int64_t now, const enum fl_alarm_point *pts,
           const double *vals)
{
    struct alarm *al = &a->al[idx];
    const struct fl_alarm_def *d = al->def;
    size_t r = d->evaluation_range;
    int64_t ws = e - (int64_t)r * al->period;
    char *hist = NULL, *body = NULL;
    size_t hlen = 0;

    a->transitions++;
    json_t *h = json_pack("{s:o, s:s, s:s, s:o, s:s, s:s, s:s, s:o, s:o, "
                          "s:o, s:o}",
                          "time", json_iso(now), "alarm", d->name,
                          "metric", d->metric, "dimensions", dims_json(d),
                          "old_state", fl_alarm_state_name(old),
                          "new_state", fl_alarm_state_name(al->state),
                          "reason", al->reason,
                          "window_start", json_iso(ws),
                          "window_end", json_iso(e),
                          "threshold", json_num(d->threshold),
                          "values", values_json(pts, vals, r));
    hist = dump(h, JSON_FLAGS, &hlen);
    json_t *b = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:o, s:o, "
                          "s:o, s:o, s:s, s:o}",
                          "alarm", d->name, "description", d->description,
                          "metric", d->metric, "dimensions", dims_json(d),
                          "old_state", fl_alarm_state_name(old),
                          "new_state", fl_alarm_state_name(al->state),
                          "reason", al->reason, "time", json_iso(now),
                          "window_start", json_iso(ws),
                          "window_end", json_iso(e),
                          "threshold", json_num(d->threshold),
                          "comparison", fl_alarm_cmp_name(d->cmp),
                          "values", values_json(pts, vals, r));
    body = dump(b, JSON_FLAGS, NULL);
    if (hist == NULL || body == NULL) {
        fl_log(FL_LOG_ERROR, "alarm", "%s: out of memory, the history line "
                "and actions of a state change are lost", d->name);
        goto out;
    }
    hist[hlen] = '\n';          /* dump left room: n + 1 bytes */
    history_append(a, hist, hlen + 1);

    if (d->log) {
        size_t n = strlen(d->name) + strlen(al->reason) + 64;
        char *line = fl_malloc(n);
        if (line != NULL) {
            snprintf(line, n, "%s: %s -> %s: %s", d->name,
                     fl_alarm_state_name(old), fl_alarm_state_name(al->state),
                     al->reason);
            push(a, job_new(FL_JOB_LOG, idx, al, line, "", old));
            fl_free(line);
        }
    }
    for (size_t i = 0; i < d->n_commands; i++)
        push(a, job_new(FL_JOB_COMMAND, idx, al, d->commands[i], body, old));
    for (size_t i = 0; i < d->n_webhooks; i++)
        push(a, job_new(FL_JOB_WEBHOOK, idx, al, d->webhooks[i], body, old));
out:
    fl_free(hist);
    fl_free(body);
}


/* ------------------------------------------------------------------ */
/* Persistence. */

static json_t *
state_json(const struct fl_alarms *a)
{
    json_t *arr = json_array();
    json_t *root = json_pack("{s:i, s:o}", "version", STATE_VERSION,
                             "alarms", arr);
    if (root == NULL)
        return NULL;
    for (size_t i = 0; i < a->n; i++) {
        const struct alarm *al = &a->al[i];
        json_t *pts = json_array();
        for (size_t k = 0; pts != NULL && k < al->n_pts; k++)
            json_array_append_new(pts, json_pack("[I, o]",
                                  (json_int_t)al->pts[k].start,
                                  json_num(al->pts[k].value)));
        json_t *o = json_pack("{s:s, s:s, s:I, s:o, s:s, s:s, s:I, s:o, "
                              "s:o}",
                              "name", al->def->name,
                              "metric", al->def->metric,
                              "period", (json_int_t)al->period,
                              "dimensions", dims_json(al->def),
                              "state", fl_alarm_state_name(al->state),
                              "reason", al->reason,
                              "state_updated", (json_int_t)al->state_updated,
                              "last_evaluated", al->last_eval == INT64_MIN
                                  ? json_null()
                                  : json_integer(al->last_eval),
                              "datapoints", pts);
        if (o == NULL || json_array_append_new(arr, o) < 0) {
            json_decref(root);
            return NULL;
        }
    }
    return root;
}


static void
save_state(struct fl_alarms *a)
{
    size_t len = 0;
    char *s = dump(state_json(a), JSON_COMPACT | JSON_PRESERVE_ORDER, &len);
    int fd = -1, rc;
    if (s == NULL) {
        rc = FL_ENOMEM;
        goto out;
    }
    fd = open(a->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    s[len] = '\n';
    rc = fl_fs_write_all(fd, s, len + 1);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    fd = -1;
    if (rc == 0 && rename(a->tmp_path, a->state_path) < 0)
        rc = -errno;
    if (rc == 0)
        rc = fl_fs_fsync_path(a->dir);
out:
    if (rc < 0)
        fl_log(FL_LOG_ERROR, "alarm", "cannot write %s: %s",
                a->state_path, fl_strerror(rc));
    fl_free(s);
}


static int
state_parse(const char *s, enum fl_alarm_state *out)
{
    for (int i = FL_ALARM_INSUFFICIENT_DATA; i <= FL_ALARM_ALARM; i++)
        if (strcmp(s, fl_alarm_state_name((enum fl_alarm_state)i)) == 0) {
            *out = (enum fl_alarm_state)i;
            return 0;
        }
    return -1;
}


/* Whether the saved entry o is the same alarm over the same series. */
static int
same_series(const struct alarm *al, json_t *o)
{
    const struct fl_alarm_def *d = al->def;
    json_t *dims = json_object_get(o, "dimensions");
    json_t *period = json_object_get(o, "period");
    const char *metric = json_string_value(json_object_get(o, "metric"));
    if (metric == NULL || strcmp(metric, d->metric) != 0
        || !json_is_integer(period)
        || json_integer_value(period) != al->period
        || !json_is_object(dims) || json_object_size(dims) != d->n_dims)
        return 0;
    for (size_t i = 0; i < d->n_dims; i++) {
        const char *v = json_string_value(json_object_get(dims,
                                                          d->dim_names[i]));
        if (v == NULL || strcmp(v, d->dim_values[i]) != 0)
            return 0;
    }
    return 1;
}


/* Checks one saved entry completely before anything of it is used. */
static int
restore_one(struct alarm *al, json_t *o)
{
    enum fl_alarm_state st;
    const char *state = json_string_value(json_object_get(o, "state"));
    const char *reason = json_string_value(json_object_get(o, "reason"));
    json_t *upd = json_object_get(o, "state_updated");
    json_t *last = json_object_get(o, "last_evaluated");
    json_t *pts = json_object_get(o, "datapoints");
    if (state == NULL || state_parse(state, &st) < 0 || reason == NULL
        || !json_is_integer(upd) || !(json_is_null(last)
                                      || json_is_integer(last))
        || !json_is_array(pts))
        return -1;
    for (size_t k = 0; k < json_array_size(pts); k++) {
        json_t *p = json_array_get(pts, k);
        if (!json_is_array(p) || json_array_size(p) != 2
            || !json_is_integer(json_array_get(p, 0))
            || !json_is_number(json_array_get(p, 1)))
            return -1;
    }
    al->state = st;
    snprintf(al->reason, sizeof al->reason, "%s", reason);
    al->state_updated = json_integer_value(upd);
    al->last_eval = json_is_null(last) ? INT64_MIN : json_integer_value(last);
    if (al->last_eval != INT64_MIN && al->last_eval % al->period != 0)
        al->last_eval = floor_div(al->last_eval, al->period) * al->period;
    for (size_t k = 0; k < json_array_size(pts); k++) {
        json_t *p = json_array_get(pts, k);
        point_put(al, json_integer_value(json_array_get(p, 0)),
                  json_number_value(json_array_get(p, 1)), 1);
    }
    return 0;
}


static void
load_state(struct fl_alarms *a)
{
    json_error_t je;
    json_t *root = json_load_file(a->state_path, 0, &je);
    if (root == NULL) {
        if (access(a->state_path, F_OK) == 0)
            fl_log(FL_LOG_WARN, "alarm", "%s is damaged (%s, line %d); "
                    "every alarm starts at INSUFFICIENT_DATA",
                    a->state_path, je.text, je.line);
        return;
    }
    json_t *arr = json_object_get(root, "alarms");
    json_t *ver = json_object_get(root, "version");
    if (!json_is_integer(ver) || json_integer_value(ver) != STATE_VERSION
        || !json_is_array(arr)) {
        fl_log(FL_LOG_WARN, "alarm", "%s is damaged (not a version %d "
                "state file); every alarm starts at INSUFFICIENT_DATA",
                a->state_path, STATE_VERSION);
        goto out;
    }
    for (size_t k = 0; k < json_array_size(arr); k++) {
        json_t *o = json_array_get(arr, k);
        const char *name = json_string_value(json_object_get(o, "name"));
        if (name == NULL)
            continue;
        for (size_t i = 0; i < a->n; i++) {
            struct alarm *al = &a->al[i];
            if (strcmp(al->def->name, name) != 0 || !same_series(al, o))
                continue;
            if (restore_one(al, o) < 0)
                fl_log(FL_LOG_WARN, "alarm", "%s: the entry of alarm %s "
                        "is damaged; it starts at INSUFFICIENT_DATA",
                        a->state_path, name);
        }
    }
out:
    json_decref(root);
}


/* ------------------------------------------------------------------ */
/* Evaluation. */

/* The smallest datapoint start >= t, or INT64_MAX. */
static int64_t
next_start(const struct alarm *al, int64_t t)
{
    for (size_t i = 0; i < al->n_pts; i++)
        if (al->pts[i].start >= t)
            return al->pts[i].start;
    return INT64_MAX;
}


/* Evaluates al at every due window end up to clock; returns 1 when it
 * evaluated at least once. */
static int
advance_one(struct fl_alarms *a, size_t idx, int64_t clock, int64_t now)
{
    struct alarm *al = &a->al[idx];
    const struct fl_alarm_def *d = al->def;
    size_t r = d->evaluation_range;
    enum fl_alarm_point pts[FL_ALARM_MAX_RANGE];
    double vals[FL_ALARM_MAX_RANGE];
    int64_t starts[FL_ALARM_MAX_RANGE];
    char reason[FL_ALARM_REASON_MAX];
    int64_t p = al->period, last = floor_div(clock, p) * p, e;
    int evaluated = 0;

    e = al->last_eval == INT64_MIN ? last : al->last_eval + p;
    while (e <= last) {
        size_t real = fill_range(al, e, pts, vals, starts);
        if (real == 0 && al->last_all_missing && e < last) {
            /* Same result as the last evaluation: jump to the first
             * window end whose range holds a datapoint again. */
            int64_t ns = next_start(al, e);
            int64_t ne = ns == INT64_MAX ? last
                         : floor_div(ns, p) * p + p;
            if (ne > last)
                ne = last;
            if (ne > e) {
                e = ne;
                continue;
            }
        }
        enum fl_alarm_state old = al->state;
        enum fl_alarm_state st = fl_alarm_evaluate_detail(
            pts, vals, starts, r, d->evaluation_periods,
            d->datapoints_to_alarm, d->treat_missing, old, &d->cmp,
            d->threshold, reason, sizeof reason);
        al->last_eval = e;
        al->last_all_missing = real == 0;
        evaluated = 1;
        if (st != old) {
            al->state = st;
            al->state_updated = now;
            memcpy(al->reason, reason, sizeof reason);
            transition(a, idx, old, e, now, pts, vals);
        }
        e += p;
    }
    if (evaluated) {
        /* Keep what the range at last_eval (for the API) and later ones
         * can use: window starts >= last_eval - R * P. */
        int64_t keep = al->last_eval - (int64_t)r * p;
        size_t k = 0;
        while (k < al->n_pts && al->pts[k].start < keep)
            k++;
        memmove(al->pts, al->pts + k, (al->n_pts - k) * sizeof *al->pts);
        al->n_pts -= k;
    }
    return evaluated;
}


void
fl_alarms_advance(struct fl_alarms *a, const char *metric, int64_t clock,
                  int64_t now)
{
    int evaluated = 0;
    if (a == NULL || metric == NULL || clock == INT64_MIN)
        return;
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->al[i].def->metric, metric) == 0)
            evaluated |= advance_one(a, i, clock, now);
    if (evaluated)
        save_state(a);
    pthread_mutex_unlock(&a->mu);
}


/* ------------------------------------------------------------------ */
/* Create and destroy. */

static void
action_done(void *ctx, size_t idx, int ok)
{
    struct fl_alarms *a = ctx;
    pthread_mutex_lock(&a->mu);
    if (ok) {
        a->actions_ok++;
    } else {
        a->actions_failed++;
        a->al[idx].actions_failed++;
    }
    pthread_mutex_unlock(&a->mu);
}


/* The checks against the metric (alarm.h). */
static int
check_def(const struct fl_alarm_def *d, fl_alarm_lookup_fn *lookup,
          void *ctx, int64_t *period, struct fl_err *err)
{
    const char *names[FL_ALARM_MAX_DIMS + 1];
    size_t nd = 0;
    int64_t w = 0;
    if (lookup(ctx, d->metric, &w, &nd, names, FL_ALARM_MAX_DIMS + 1) < 0) {
        return fl_err_set(err, FL_ECONFIG, "alarm %s: no metric is named "
                          "'%s'", d->name, d->metric);
    }
    if (w < 1) {
        return fl_err_set(err, FL_ECONFIG, "alarm %s: metric '%s' has no "
                          "window length", d->name, d->metric);
    }
    int ok = nd == d->n_dims && nd <= FL_ALARM_MAX_DIMS;
    for (size_t i = 0; ok && i < nd; i++) {
        int found = 0;
        for (size_t k = 0; k < d->n_dims; k++)
            found |= strcmp(names[i], d->dim_names[k]) == 0;
        ok = found;
    }
    if (!ok) {
        char list[512];
        size_t off = 0;
        list[0] = '\0';
        for (size_t i = 0; i < nd && i < FL_ALARM_MAX_DIMS + 1; i++) {
            int wr = snprintf(list + off, sizeof list - off, "%s%s",
                              i ? ", " : "", names[i]);
            if (wr < 0 || (size_t)wr >= sizeof list - off)
                break;
            off += (size_t)wr;
        }
        if (nd == 0)
            return fl_err_set(err, FL_ECONFIG, "alarm %s: metric '%s' has no "
                              "dimensions; remove the dimensions key",
                              d->name, d->metric);
        return fl_err_set(err, FL_ECONFIG, "alarm %s: metric '%s' has the "
                          "dimensions (%s); give a value for each of them and "
                          "no other", d->name, d->metric, list);
    }
    if ((int64_t)d->evaluation_periods > DAY / w) {
        return fl_err_set(err, FL_ECONFIG, "alarm %s: evaluation_periods x "
                          "period = %u x %llds is more than one day", d->name,
                          d->evaluation_periods, (long long)w);
    }
    *period = w;
    return FL_OK;
}


int
fl_alarm_defs_check_lookup(const struct fl_alarm_def *defs, size_t n,
                           fl_alarm_lookup_fn *lookup, void *ctx,
                           struct fl_err *err)
{
    for (size_t i = 0; i < n; i++) {
        int64_t period;
        int rc = check_def(&defs[i], lookup, ctx, &period, err);
        if (rc < 0)
            return rc;
    }
    return FL_OK;
}


static void
alarms_free(struct fl_alarms *a)
{
    if (a->al != NULL)
        for (size_t i = 0; i < a->n; i++)
            fl_free(a->al[i].pts);
    fl_free(a->al);
    fl_free(a->dir);
    fl_free(a->state_path);
    fl_free(a->tmp_path);
    fl_free(a->history_path);
    fl_free(a);
}


int
fl_alarms_create_with_lookup(struct fl_alarm_def *defs, size_t n,
                             fl_alarm_lookup_fn *lookup, void *ctx,
                             const char *state_dir, struct fl_alarms **out,
                             struct fl_err *err)
{
    struct fl_alarms *a = NULL;
    int rc = FL_ENOMEM, mu_ready = 0;

    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < i; k++)
            if (strcmp(defs[i].name, defs[k].name) == 0) {
                return fl_err_set(err, FL_ECONFIG, "alarm %s is defined "
                                  "twice", defs[i].name);
            }
    if ((a = fl_calloc(1, sizeof *a)) == NULL)
        return FL_ENOMEM;
    if (n > 0 && (a->al = fl_calloc(n, sizeof *a->al)) == NULL)
        goto fail;
    a->n = n;
    for (size_t i = 0; i < n; i++) {
        struct alarm *al = &a->al[i];
        al->def = &defs[i];
        al->state = FL_ALARM_INSUFFICIENT_DATA;
        al->last_eval = INT64_MIN;
        snprintf(al->reason, sizeof al->reason,
                 "Unchecked: Initial alarm creation");
        if ((rc = check_def(&defs[i], lookup, ctx, &al->period, err)) < 0)
            goto fail;
        if (defs[i].evaluation_range > FL_ALARM_MAX_RANGE
            || defs[i].evaluation_range < defs[i].evaluation_periods) {
            rc = fl_err_set(err, FL_ECONFIG, "alarm %s: evaluation_range "
                            "out of range", defs[i].name);
            goto fail;
        }
        rc = FL_ENOMEM;
        al->cap = defs[i].evaluation_range + FL_ALARM_MAX_RANGE;
        al->pts = fl_calloc(al->cap, sizeof *al->pts);
        if (al->pts == NULL)
            goto fail;
    }
    rc = FL_ENOMEM;
    a->dir = fl_strdup(state_dir);
    a->state_path = fl_fs_join(state_dir, "state.json");
    a->tmp_path = fl_fs_join(state_dir, "state.json.tmp");
    a->history_path = fl_fs_join(state_dir, "history.jsonl");
    if (a->dir == NULL || a->state_path == NULL || a->tmp_path == NULL
        || a->history_path == NULL)
        goto fail;
    if ((rc = fl_fs_mkdirs(state_dir)) < 0) {
        fl_err_set(err, rc, "alarm state directory %s: %s", state_dir,
                   fl_strerror(rc));
        goto fail;
    }
    load_state(a);
    if ((rc = -pthread_mutex_init(&a->mu, NULL)) < 0)
        goto fail;
    mu_ready = 1;
    if ((rc = fl_alarm_worker_create(action_done, a, &a->worker)) < 0) {
        fl_err_set(err, rc, "alarm action thread: %s", fl_strerror(rc));
        goto fail;
    }
    a->defs = defs;
    *out = a;
    return FL_OK;
fail:
    if (mu_ready)
        pthread_mutex_destroy(&a->mu);
    alarms_free(a);
    return rc;
}


void
fl_alarms_destroy(struct fl_alarms *a, uint64_t drain_ms)
{
    if (a == NULL)
        return;
    /* The worker's callback takes a->mu: it must not be held here. */
    fl_alarm_worker_destroy(a->worker, drain_ms);
    pthread_mutex_destroy(&a->mu);
    fl_alarm_defs_free(a->defs, a->n);
    alarms_free(a);
}


/* ------------------------------------------------------------------ */
/* Reporting. */

int
fl_alarms_json(struct fl_alarms *a, char **out, size_t *out_len)
{
    enum fl_alarm_point pts[FL_ALARM_MAX_RANGE];
    double vals[FL_ALARM_MAX_RANGE];
    int64_t starts[FL_ALARM_MAX_RANGE];
    json_t *arr = json_array();
    char *s;
    int rc = FL_ENOMEM;
    if (arr == NULL)
        return FL_ENOMEM;
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->n; i++) {
        const struct alarm *al = &a->al[i];
        const struct fl_alarm_def *d = al->def;
        json_t *dp;
        if (al->last_eval == INT64_MIN) {
            dp = json_array();
        } else {
            fill_range(al, al->last_eval, pts, vals, starts);
            dp = values_json(pts, vals, d->evaluation_range);
        }
        json_t *o = json_pack(
            "{s:s, s:s, s:s, s:o, s:s, s:o, s:I, s:I, s:I, s:I, s:s, s:s, "
            "s:s, s:o, s:o, s:o, s:I}",
            "name", d->name, "description", d->description,
            "metric", d->metric, "dimensions", dims_json(d),
            "comparison", fl_alarm_cmp_name(d->cmp),
            "threshold", json_num(d->threshold),
            "period", (json_int_t)al->period,
            "evaluation_periods", (json_int_t)d->evaluation_periods,
            "datapoints_to_alarm", (json_int_t)d->datapoints_to_alarm,
            "evaluation_range", (json_int_t)d->evaluation_range,
            "treat_missing_data", fl_alarm_missing_name(d->treat_missing),
            "state", fl_alarm_state_name(al->state),
            "state_reason", al->reason,
            "state_updated", al->state_updated == 0 ? json_null()
                             : json_iso(al->state_updated),
            "last_window_end", al->last_eval == INT64_MIN ? json_null()
                               : json_iso(al->last_eval),
            "datapoints", dp,
            "actions_failed", (json_int_t)al->actions_failed);
        if (o == NULL || json_array_append_new(arr, o) < 0)
            goto out;
    }
    pthread_mutex_unlock(&a->mu);
    s = dump(arr, JSON_FLAGS, out_len);
    if (s == NULL)
        return FL_ENOMEM;
    *out = s;
    return FL_OK;
out:
    pthread_mutex_unlock(&a->mu);
    json_decref(arr);
    return rc;
}


void
fl_alarms_stats(struct fl_alarms *a, struct fl_alarms_stats *out)
{
    memset(out, 0, sizeof *out);
    if (a == NULL)
        return;
    pthread_mutex_lock(&a->mu);
    out->alarms = a->n;
    for (size_t i = 0; i < a->n; i++) {
        switch (a->al[i].state) {
        case FL_ALARM_ALARM:             out->in_alarm++; break;
        case FL_ALARM_OK:                out->in_ok++; break;
        case FL_ALARM_INSUFFICIENT_DATA: out->in_insufficient++; break;
        }
    }
    out->transitions = a->transitions;
    out->actions_ok = a->actions_ok;
    out->actions_failed = a->actions_failed;
    pthread_mutex_unlock(&a->mu);
}
