/* SPDX-License-Identifier: MIT
 *
 * prometheus.c -- the metrics' read-outs that are not SQL: GET /metrics in
 * the Prometheus text format (every metric's newest final and newest
 * provisional value per series, and the stream's and alarms' own figures)
 * and the metrics part of GET /api/status.
 */
#include "../core/fl_config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../alarm/alarm.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "../stream/plan.h"
#include "metrics.h"
#include "metrics_int.h"
#include "server_int.h"

/* ---- Prometheus --------------------------------------------------------- */

/* A label value with \, " and newline escaped (the text format's rule). */
static void
put_label_value(FILE *out, const char *v)
{
    for (; v != NULL && *v; v++) {
        if (*v == '\\' || *v == '"')
            fprintf(out, "\\%c", *v);
        else if (*v == '\n')
            fputs("\\n", out);
        else
            fputc(*v, out);
    }
}


/* One sample of a user metric: flowlake_window_<metric>{dims,final}. A
 * final value carries its window's end as the sample's timestamp (ms), so
 * that a chart puts it where it belongs instead of at the scrape 15-30
 * minutes later; a provisional value has none (it is "now", and a fixed
 * timestamp with a changing value would be a duplicate sample). */
static void
put_sample(FILE *out, const char *name, const struct fl_metric_row *r)
{
    fprintf(out, "flowlake_window_%s{", name);
    for (size_t i = 0; i < r->n_dims; i++) {
        fprintf(out, "%s=\"", r->dim_names[i]);
        put_label_value(out, r->dim_values[i]);
        fputs("\",", out);
    }
    if (r->final)
        fprintf(out, "final=\"true\"} %.17g %" PRId64 "000\n", r->value,
                r->window_end);
    else
        fprintf(out, "final=\"false\"} %.17g\n", r->value);
}


/* Newest open window per series: index into rows, by series hash. */
struct newest {
    uint64_t hash;
    size_t   idx;            /* + 1; 0 = empty slot */
};


/* Larger values first: with a quota, the series a top-N chart shows. */
static int
by_value_desc(const void *a, const void *b)
{
    const struct fl_metric_row *x = *(const struct fl_metric_row *const *)a;
    const struct fl_metric_row *y = *(const struct fl_metric_row *const *)b;
    return (x->value < y->value) - (x->value > y->value);
}


/* The samples of one metric -- the newest final value of each series,
 * then the newest provisional one -- at most quota of them, the largest
 * values first when there are more. Returns how many were left out. */
static size_t
put_series(FILE *out, const struct fl_metrics *m,
           const struct fl_metric_row *open, const struct newest *nw,
           size_t cap, const char *name, size_t quota,
           const struct fl_metric_row **pick, size_t pick_cap)
{
    size_t n = 0, total = 0;
    for (size_t i = 0; i < m->last_cap; i++) {
        const struct fl_metric_row *r = &m->last[i].row;
        if (r->metric != NULL && r->has_value && strcmp(r->metric, name) == 0) {
            total++;
            if (n < pick_cap)
                pick[n++] = r;
        }
    }
    for (size_t j = 0; j < cap; j++) {
        if (nw[j].idx == 0)
            continue;
        const struct fl_metric_row *r = &open[nw[j].idx - 1];
        if (strcmp(r->metric, name) == 0) {
            total++;
            if (n < pick_cap)
                pick[n++] = r;
        }
    }
    if (n > quota)
        qsort(pick, n, sizeof *pick, by_value_desc);
    size_t shown = n < quota ? n : quota;
    for (size_t k = 0; k < shown; k++)
        put_sample(out, name, pick[k]);
    return total - shown;
}


void
fl_metrics_write_prometheus(struct fl_server *s, FILE *out)
{
    struct fl_metrics *m = s->metrics;
    struct fl_metric_row *open = NULL;
    size_t n_open = 0;
    struct newest *nw = NULL;
    const struct fl_metric_row **pick = NULL;
    size_t *omitted = NULL;
    size_t cap = 16;

    if (m == NULL)
        return;
    if (fl_metrics_rows(s, NULL, &open, &n_open) < 0)
        return;
    while (cap < n_open * 2)
        cap *= 2;
    if ((nw = fl_calloc(cap, sizeof *nw)) == NULL)
        goto out;
    for (size_t i = 0; i < n_open; i++) {
        const struct fl_metric_row *r = &open[i];
        if (r->final || !r->has_value)
            continue;
        uint64_t h = fl_metrics_series_hash(r->metric, r->n_dims,
                                 (const char *const *)r->dim_names,
                                 (const char *const *)r->dim_values);
        size_t j = (size_t)h & (cap - 1);
        while (nw[j].idx != 0) {
            const struct fl_metric_row *o = &open[nw[j].idx - 1];
            struct fl_metric_value v = {
                .metric = r->metric, .n_dims = r->n_dims,
                .dim_values = (const char *const *)r->dim_values,
            };
            if (nw[j].hash == h && fl_metrics_same_series(o, &v))
                break;
            j = (j + 1) & (cap - 1);
        }
        if (nw[j].idx == 0 || open[nw[j].idx - 1].window_start < r->window_start) {
            nw[j].hash = h;
            nw[j].idx = i + 1;
        }
    }

    pthread_mutex_lock(&m->mu);
    const struct fl_metric_plans *plans = fl_stream_plans(m->stream);
    size_t n_metrics = 0;
    for (size_t p = 0; p < plans->n; p++)
        n_metrics += plans->plan[p].n_aggs;
    /* metrics.prometheus_max_series, shared evenly by the metrics: a
     * metric with a million source addresses cannot crowd out the others,
     * nor make a scrape take longer than Prometheus waits. */
    size_t max_series = (size_t)s->cfg->metrics_prometheus_max_series;
    size_t quota = n_metrics ? max_series / n_metrics : 0;
    if (quota == 0)
        quota = 1;
    size_t pick_cap = m->last_cap + cap;
    pick = fl_calloc(pick_cap ? pick_cap : 1, sizeof *pick);
    omitted = fl_calloc(n_metrics ? n_metrics : 1, sizeof *omitted);
    if (pick == NULL || omitted == NULL) {
        pthread_mutex_unlock(&m->mu);
        goto out;
    }
    size_t k = 0;
    for (size_t p = 0; p < plans->n; p++) {
        const struct fl_metric_plan *pl = &plans->plan[p];
        for (size_t a = 0; a < pl->n_aggs; a++, k++) {
            const char *name = pl->aggs[a].metric;
            fprintf(out, "# HELP flowlake_window_%s metric %s: the value of "
                    "a %" PRId64 " s window on %s; final=\"true\": the newest "
                    "final window, stamped at its end; final=\"false\": the "
                    "newest open window (provisional)\n", name, name,
                    pl->window, fl_time_basis_name(pl->time));
            fprintf(out, "# TYPE flowlake_window_%s gauge\n", name);
            omitted[k] = put_series(out, m, open, nw, cap, name, quota, pick,
                                    pick_cap);
        }
    }
    fputs("# HELP flowlake_prometheus_omitted_series series of a metric "
          "left out of this scrape by metrics.prometheus_max_series (the "
          "smallest values go first; /api/metrics and SQL have them all)\n"
          "# TYPE flowlake_prometheus_omitted_series gauge\n", out);
    k = 0;
    for (size_t p = 0; p < plans->n; p++)
        for (size_t a = 0; a < plans->plan[p].n_aggs; a++, k++)
            fprintf(out, "flowlake_prometheus_omitted_series{metric=\"%s\"} "
                    "%zu\n", plans->plan[p].aggs[a].metric, omitted[k]);

    struct fl_stream_stats st;
    fl_stream_stats(m->stream, &st);
    size_t n_ms = fl_stream_metric_stats(m->stream, NULL, 0);
    struct fl_stream_metric_stats *ms = fl_calloc(n_ms ? n_ms : 1, sizeof *ms);
    if (ms != NULL)
        n_ms = fl_stream_metric_stats(m->stream, ms, n_ms);
    pthread_mutex_unlock(&m->mu);

    int64_t now = fl_time_now();
    fputs("# HELP flowlake_late_records_total records that arrived after "
          "their window was final (still archived)\n"
          "# TYPE flowlake_late_records_total counter\n", out);
    for (size_t i = 0; ms != NULL && i < n_ms; i++)
        fprintf(out, "flowlake_late_records_total{metric=\"%s\"} %" PRIu64
                "\n", ms[i].metric, ms[i].late_records);
    fputs("# HELP flowlake_stream_dropped_records_total records not counted "
          "because metrics.max_groups was reached\n"
          "# TYPE flowlake_stream_dropped_records_total counter\n", out);
    for (size_t i = 0; ms != NULL && i < n_ms; i++)
        fprintf(out, "flowlake_stream_dropped_records_total{metric=\"%s\"} %"
                PRIu64 "\n", ms[i].metric, ms[i].dropped_records);
    fputs("# HELP flowlake_stream_open_groups groups held in open windows\n"
          "# TYPE flowlake_stream_open_groups gauge\n", out);
    for (size_t i = 0; ms != NULL && i < n_ms; i++)
        fprintf(out, "flowlake_stream_open_groups{metric=\"%s\"} %" PRIu64
                "\n", ms[i].metric, ms[i].open_groups);
    fl_free(ms);
    fprintf(out, "# HELP flowlake_future_records_total records whose time "
            "was further than metrics.max_future after their arrival: "
            "counted, but they did not move the watermark\n"
            "# TYPE flowlake_future_records_total counter\n"
            "flowlake_future_records_total %" PRIu64 "\n", st.future_records);
    fprintf(out, "# HELP flowlake_stream_records_total records folded into "
            "the metrics\n# TYPE flowlake_stream_records_total counter\n"
            "flowlake_stream_records_total %" PRIu64 "\n", st.records);
    fprintf(out, "# HELP flowlake_stream_memory_bytes memory held by window "
            "state\n# TYPE flowlake_stream_memory_bytes gauge\n"
            "flowlake_stream_memory_bytes %" PRIu64 "\n", st.memory_bytes);
    fputs("# HELP flowlake_watermark_seconds highest event time seen minus "
          "metrics.allowed_lateness\n"
          "# TYPE flowlake_watermark_seconds gauge\n", out);
    if (st.max_start != INT64_MIN)
        fprintf(out, "flowlake_watermark_seconds{time=\"start\"} %" PRId64
                "\n", st.watermark_start);
    if (st.max_end != INT64_MIN)
        fprintf(out, "flowlake_watermark_seconds{time=\"end\"} %" PRId64
                "\n", st.watermark_end);
    fputs("# HELP flowlake_ingest_lag_seconds now minus the newest flow end "
          "time seen: how far behind real time the data is\n"
          "# TYPE flowlake_ingest_lag_seconds gauge\n", out);
    if (st.max_end != INT64_MIN)
        fprintf(out, "flowlake_ingest_lag_seconds %" PRId64 "\n",
                now - st.max_end);
    int64_t oldest = atomic_load(&m->oldest_queued_ms);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double lag = oldest > 0 ? (double)ts.tv_sec + ts.tv_nsec / 1e9
                              - (double)oldest / 1000.0 : 0.0;
    fprintf(out, "# HELP flowlake_stream_lag_seconds age of the oldest "
            "accepted request not yet folded into the metrics\n"
            "# TYPE flowlake_stream_lag_seconds gauge\n"
            "flowlake_stream_lag_seconds %.3f\n", lag < 0 ? 0.0 : lag);
    fprintf(out, "# HELP flowlake_metric_persist_failures_total failed "
            "saves of the metric state\n"
            "# TYPE flowlake_metric_persist_failures_total counter\n"
            "flowlake_metric_persist_failures_total %" PRIu64 "\n",
            atomic_load(&m->persist_failures));
    if (m->alarms != NULL) {
        struct fl_alarms_stats as;
        fl_alarms_stats(m->alarms, &as);
        fprintf(out, "# HELP flowlake_alarms alarms by state\n"
                "# TYPE flowlake_alarms gauge\n"
                "flowlake_alarms{state=\"OK\"} %" PRIu64 "\n"
                "flowlake_alarms{state=\"ALARM\"} %" PRIu64 "\n"
                "flowlake_alarms{state=\"INSUFFICIENT_DATA\"} %" PRIu64 "\n"
                "# HELP flowlake_alarm_transitions_total alarm state changes\n"
                "# TYPE flowlake_alarm_transitions_total counter\n"
                "flowlake_alarm_transitions_total %" PRIu64 "\n"
                "# HELP flowlake_alarm_actions_total alarm actions run\n"
                "# TYPE flowlake_alarm_actions_total counter\n"
                "flowlake_alarm_actions_total{result=\"ok\"} %" PRIu64 "\n"
                "flowlake_alarm_actions_total{result=\"failed\"} %" PRIu64
                "\n", as.in_ok, as.in_alarm, as.in_insufficient,
                as.transitions, as.actions_ok, as.actions_failed);
    }
out:
    fl_free(omitted);
    fl_free(pick);
    fl_free(nw);
    fl_metrics_rows_free(open, n_open);
}


size_t
fl_metrics_status_json(struct fl_server *s, char *out, size_t cap)
{
    struct fl_metrics *m = s->metrics;
    struct fl_stream_stats st;
    if (m == NULL)
        return (size_t)snprintf(out, cap, "null");
    pthread_mutex_lock(&m->mu);
    fl_stream_stats(m->stream, &st);
    size_t n_metrics = fl_stream_metric_stats(m->stream, NULL, 0);
    pthread_mutex_unlock(&m->mu);
    /* The clocks the web UI's ingest panel shows, as on /metrics
     * (flowlake_watermark_seconds, flowlake_ingest_lag_seconds,
     * flowlake_stream_lag_seconds); null before the first record. */
    char wm_start[24] = "null", wm_end[24] = "null", ilag[24] = "null";
    if (st.max_start != INT64_MIN)
        snprintf(wm_start, sizeof wm_start, "%" PRId64, st.watermark_start);
    if (st.max_end != INT64_MIN) {
        snprintf(wm_end, sizeof wm_end, "%" PRId64, st.watermark_end);
        snprintf(ilag, sizeof ilag, "%" PRId64, fl_time_now() - st.max_end);
    }
    int64_t oldest = atomic_load(&m->oldest_queued_ms);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double slag = oldest > 0 ? (double)ts.tv_sec + ts.tv_nsec / 1e9
                               - (double)oldest / 1000.0 : 0.0;
    int n = snprintf(out, cap, "{\"metrics\":%zu,\"records\":%" PRIu64
                     ",\"late_records\":%" PRIu64 ",\"future_records\":%"
                     PRIu64 ",\"dropped_records\":%" PRIu64 ",\"open_groups\":%" PRIu64 ",\"memory_bytes\":%"
                     PRIu64 ",\"persisted_seq\":%" PRIu64 ",\"metric_files\":%zu,\"next_file\":%"
                     PRIu64 ",\"persist_failures\":%" PRIu64
                     ",\"store_failures\":%" PRIu64 ",\"watermark_start\":%s,"
                     "\"watermark_end\":%s,\"ingest_lag_seconds\":%s,"
                     "\"stream_lag_seconds\":%.3f}",
                     n_metrics, st.records, st.late_records,
                     st.future_records, st.dropped_records, st.open_groups, st.memory_bytes,
                     atomic_load(&m->persisted_seq), m->n_live, m->next_no,
                     atomic_load(&m->persist_failures),
                     atomic_load(&m->persist_failures), wm_start, wm_end, ilag,
                     slag < 0 ? 0.0 : slag);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}
