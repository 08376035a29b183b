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

#include <xxhash.h>

#include "../alarm/alarm.h"
#include "../config/config.h"
#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "../stream/plan.h"
#include "metrics.h"
#include "metrics_int.h"

/* ---- Prometheus --------------------------------------------------------- */

/* A label value with \, " and newline escaped (the text format's rule),
 * written a run of plain bytes at a time: a scrape writes tens of
 * thousands of them. */
static void
put_label_value(FILE *out, const char *v)
{
    if (v == NULL)
        return;
    for (;;) {
        size_t n = strcspn(v, "\\\"\n");
        fwrite(v, 1, n, out);
        v += n;
        if (*v == '\0')
            return;
        fputs(*v == '\n' ? "\\n" : *v == '"' ? "\\\"" : "\\\\", out);
        v++;
    }
}


/* A sample value: whole numbers (counts, sums of bytes) as integers, which
 * is shorter and several times cheaper than %.17g; others exactly. */
static void
put_value(FILE *out, double v)
{
    if (v >= -9007199254740992.0 && v <= 9007199254740992.0
        && v == (double)(int64_t)v)
        fprintf(out, "%" PRId64, (int64_t)v);
    else
        fprintf(out, "%.17g", v);
}


/* One sample of a user metric: flowlake_window_<metric>{dims,final}. A
 * final value carries its window's end as the sample's timestamp (ms), so
 * that a chart puts it where it belongs instead of at the scrape 15-30
 * minutes later; a provisional value has none (it is "now", and a fixed
 * timestamp with a changing value would be a duplicate sample). */
static void
put_sample(FILE *out, const char *name, const struct fl_metric_row *r)
{
    fputs("flowlake_window_", out);
    fputs(name, out);
    fputc('{', out);
    for (size_t i = 0; i < r->n_dims; i++) {
        fputs(r->dim_names[i], out);
        fputs("=\"", out);
        put_label_value(out, r->dim_values[i]);
        fputs("\",", out);
    }
    fputs(r->final ? "final=\"true\"} " : "final=\"false\"} ", out);
    put_value(out, r->value);
    if (r->final)
        fprintf(out, " %" PRId64 "000", r->window_end);
    fputc('\n', out);
}


/* Newest open window per series: index into rows, by series hash. */
struct newest {
    uint64_t hash;
    size_t   idx;            /* row + 1 once copied; 0 = not yet */
    int      used;
};

/* One walk over the open windows, newest first (fl_stream_each_open_newest):
 * the first value of a series is its newest open window's, copied; older
 * windows of a series already seen are passed over. (Copying every open
 * window's row cost more than the rest of a scrape; finding the newest by
 * a first walk and copying it in a second walked and hashed everything
 * twice.) A series is known by its 64-bit hash alone here: a collision
 * among even millions of series is far less likely than a lost scrape. */
struct newest_scan {
    struct newest        *tab;
    size_t                cap, used;
    struct fl_metric_row *rows;
    size_t                n_rows, rows_cap;
    int                   failed;     /* out of memory */
};


static struct newest *
newest_slot(struct newest *tab, size_t cap, uint64_t h)
{
    size_t j = (size_t)h & (cap - 1);
    while (tab[j].used && tab[j].hash != h)
        j = (j + 1) & (cap - 1);
    return &tab[j];
}


static int
newest_grow(struct newest_scan *ns)
{
    size_t cap = ns->cap ? ns->cap * 2 : 1024;
    struct newest *tab = fl_calloc(cap, sizeof *tab);
    if (tab == NULL)
        return -1;
    for (size_t i = 0; i < ns->cap; i++) {
        if (ns->tab[i].used)
            *newest_slot(tab, cap, ns->tab[i].hash) = ns->tab[i];
    }
    fl_free(ns->tab);
    ns->tab = tab;
    ns->cap = cap;
    return 0;
}


static void
newest_find(void *ctx, const struct fl_metric_value *v)
{
    struct newest_scan *ns = ctx;
    if (ns->failed || !v->has_value)
        return;
    uint64_t h = fl_metrics_series_hash(v->metric, v->n_dims, v->dim_names,
                                        v->dim_values);
    if ((ns->used + 1) * 2 > ns->cap && newest_grow(ns) < 0) {
        ns->failed = 1;
        return;
    }
    struct newest *e = newest_slot(ns->tab, ns->cap, h);
    if (e->used)
        return;                 /* an older window of a series seen */
    if (ns->n_rows == ns->rows_cap) {
        struct fl_metric_row *p = fl_grow(ns->rows, &ns->rows_cap,
                                          ns->n_rows + 1, sizeof *p, 256);
        if (p == NULL) {
            ns->failed = 1;
            return;
        }
        ns->rows = p;
    }
    if (fl_metric_row_copy(v, &ns->rows[ns->n_rows]) < 0) {
        ns->failed = 1;
        return;
    }
    e->used = 1;
    e->hash = h;
    e->idx = ++ns->n_rows;
    ns->used++;
}


/* Larger values first: with a quota, the series a top-N chart shows. */
static int
by_value_desc(const void *a, const void *b)
{
    const struct fl_metric_row *x = *(const struct fl_metric_row *const *)a;
    const struct fl_metric_row *y = *(const struct fl_metric_row *const *)b;
    return (x->value < y->value) - (x->value > y->value);
}


/* Moves the k largest values to pick[0..k), in no order (quickselect):
 * a metric with 60,000 series and a quota of 200 need not sort them all. */
static void
select_largest(const struct fl_metric_row **pick, size_t n, size_t k)
{
    size_t lo = 0, hi = n;             /* the k-th largest is in [lo, hi) */
    while (hi - lo > 1) {
        /* Median of three as the pivot, then a three-way partition so
         * that many equal values (counts of 1) cannot make it quadratic. */
        double a = pick[lo]->value, b = pick[lo + (hi - lo) / 2]->value,
               c = pick[hi - 1]->value;
        double piv = a < b ? (b < c ? b : a < c ? c : a)
                           : (a < c ? a : b < c ? c : b);
        size_t gt = lo, i = lo, lt = hi;   /* [lo,gt) >, [gt,i) ==, [lt,hi) < */
        while (i < lt) {
            const struct fl_metric_row *t = pick[i];
            if (t->value > piv) {
                pick[i++] = pick[gt];
                pick[gt++] = t;
            } else if (t->value < piv) {
                pick[i] = pick[--lt];
                pick[lt] = t;
            } else {
                i++;
            }
        }
        if (k <= gt)
            hi = gt;
        else if (k <= lt)
            return;                    /* the k-th falls among the equal */
        else
            lo = lt;
    }
}


/* Metric name -> its index in the plans' order: every row is looked up
 * once, instead of each metric scanning every row (with 60,000 series a
 * scrape spent a quarter of its time in strcmp). */
struct name_index {
    const char **name;        /* by index */
    uint32_t    *slot;        /* index + 1, 0 = empty */
    size_t       mask;
};


static size_t
name_slot(const struct name_index *ix, const char *name)
{
    size_t j = (size_t)XXH3_64bits(name, strlen(name)) & ix->mask;
    while (ix->slot[j] != 0 && strcmp(ix->name[ix->slot[j] - 1], name) != 0)
        j = (j + 1) & ix->mask;
    return j;
}


/* Index of name, or -1 (a row of a metric no longer planned). */
static long
name_lookup(const struct name_index *ix, const char *name)
{
    size_t j = name_slot(ix, name);
    return ix->slot[j] ? (long)ix->slot[j] - 1 : -1;
}


/* Puts the rows of a metric into its slice of pick: the newest final value
 * of each series, then the newest provisional one, at pick[fill[k]++].
 * With pick == NULL it only counts the rows of each metric into fill. */
static void
bucket_rows(const struct fl_metrics *m, const struct fl_metric_row *open,
            const struct newest *nw, size_t cap, const struct name_index *ix,
            size_t *fill, const struct fl_metric_row **pick)
{
    const char *prev = NULL;
    long prev_k = -1;
    for (size_t i = 0; i < m->last_cap + cap; i++) {
        const struct fl_metric_row *r;
        if (i < m->last_cap) {
            r = &m->last[i].row;
            if (r->metric == NULL || !r->has_value)
                continue;
        } else {
            if (nw[i - m->last_cap].idx == 0)
                continue;
            r = &open[nw[i - m->last_cap].idx - 1];
        }
        /* Open rows come metric by metric: most lookups are the last
         * one's again. */
        long k = prev != NULL && (r->metric == prev
                                  || strcmp(r->metric, prev) == 0)
               ? prev_k : name_lookup(ix, r->metric);
        prev = r->metric;
        prev_k = k;
        if (k < 0)
            continue;
        if (pick != NULL)
            pick[fill[k]] = r;
        fill[k]++;
    }
}


/* The samples of one metric's rows, at most quota of them, the largest
 * values first when there are more. Returns how many were left out. */
static size_t
put_series(FILE *out, const char *name, const struct fl_metric_row **pick,
           size_t n, size_t quota)
{
    if (n > quota) {
        select_largest(pick, n, quota);
        qsort(pick, quota, sizeof *pick, by_value_desc);
    }
    size_t shown = n < quota ? n : quota;
    for (size_t k = 0; k < shown; k++)
        put_sample(out, name, pick[k]);
    return n - shown;
}


/* The rows of one scrape, in one slice per metric (pick[first[k] ..
 * first[k + 1]) for metric k), and the metric names' index. */
struct scrape {
    const struct fl_metric_row **pick;
    size_t            *omitted, *first, *fill;
    struct name_index  ix;
    size_t             n_metrics, quota;
};

static void
scrape_free(struct scrape *sc)
{
    fl_free(sc->ix.slot);
    fl_free((void *)sc->ix.name);
    fl_free(sc->fill);
    fl_free(sc->first);
    fl_free(sc->omitted);
    fl_free(sc->pick);
}

/* Room for n_rows rows and every metric of plans, and the name index
 * filled: 0, or FL_ENOMEM (scrape_free frees what was allocated). */
static int
scrape_init(struct scrape *sc, const struct fl_metric_plans *plans,
            size_t n_rows, size_t max_series)
{
    size_t n_metrics = 0;
    for (size_t p = 0; p < plans->n; p++)
        n_metrics += plans->plan[p].n_aggs;
    sc->n_metrics = n_metrics;
    /* metrics.prometheus_max_series, shared evenly by the metrics: a
     * metric with a million source addresses cannot crowd out the others,
     * nor make a scrape take longer than Prometheus waits. */
    sc->quota = n_metrics ? max_series / n_metrics : 0;
    if (sc->quota == 0)
        sc->quota = 1;
    size_t ix_cap = 4;
    while (ix_cap < n_metrics * 2)
        ix_cap *= 2;
    sc->pick = fl_calloc(n_rows ? n_rows : 1, sizeof *sc->pick);
    sc->omitted = fl_calloc(n_metrics ? n_metrics : 1, sizeof *sc->omitted);
    sc->first = fl_calloc(n_metrics + 1, sizeof *sc->first);
    sc->fill = fl_calloc(n_metrics + 1, sizeof *sc->fill);
    sc->ix.name = fl_calloc(n_metrics ? n_metrics : 1, sizeof *sc->ix.name);
    sc->ix.slot = fl_calloc(ix_cap, sizeof *sc->ix.slot);
    sc->ix.mask = ix_cap - 1;
    if (sc->pick == NULL || sc->omitted == NULL || sc->first == NULL
        || sc->fill == NULL || sc->ix.name == NULL || sc->ix.slot == NULL)
        return FL_ENOMEM;
    size_t k = 0;
    for (size_t p = 0; p < plans->n; p++) {
        for (size_t a = 0; a < plans->plan[p].n_aggs; a++, k++) {
            sc->ix.name[k] = plans->plan[p].aggs[a].metric;
            size_t j = name_slot(&sc->ix, sc->ix.name[k]);
            if (sc->ix.slot[j] == 0)          /* names are unique; be safe */
                sc->ix.slot[j] = (uint32_t)k + 1;
        }
    }
    return 0;
}

/* Count the rows of each metric, give each its slice, fill them. */
static void
scrape_bucket(struct scrape *sc, const struct fl_metrics *m,
              const struct newest_scan *ns)
{
    bucket_rows(m, ns->rows, ns->tab, ns->cap, &sc->ix, sc->fill, NULL);
    for (size_t k = 0; k < sc->n_metrics; k++)
        sc->first[k + 1] = sc->first[k] + sc->fill[k];
    memcpy(sc->fill, sc->first, sc->n_metrics * sizeof *sc->fill);
    bucket_rows(m, ns->rows, ns->tab, ns->cap, &sc->ix, sc->fill, sc->pick);
}

/* flowlake_window_*: each metric's newest final and open windows, and
 * how many series of each the quota left out. */
static void
put_windows(FILE *out, const struct fl_metric_plans *plans,
            struct scrape *sc)
{
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
            sc->omitted[k] = put_series(out, name, sc->pick + sc->first[k],
                                        sc->first[k + 1] - sc->first[k],
                                        sc->quota);
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
                    "%zu\n", plans->plan[p].aggs[a].metric, sc->omitted[k]);
}

/* The per-metric counters (ms == NULL: none, out of memory) and the
 * engine's own. */
static void
put_stream_stats(FILE *out, const struct fl_stream_stats *st,
                 const struct fl_stream_metric_stats *ms, size_t n_ms)
{
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
    fprintf(out, "# HELP flowlake_future_records_total records whose time "
            "was further than metrics.max_future after their arrival: "
            "counted, but they did not move the watermark\n"
            "# TYPE flowlake_future_records_total counter\n"
            "flowlake_future_records_total %" PRIu64 "\n", st->future_records);
    fprintf(out, "# HELP flowlake_stream_records_total records folded into "
            "the metrics\n# TYPE flowlake_stream_records_total counter\n"
            "flowlake_stream_records_total %" PRIu64 "\n", st->records);
    fprintf(out, "# HELP flowlake_stream_memory_bytes memory held by window "
            "state\n# TYPE flowlake_stream_memory_bytes gauge\n"
            "flowlake_stream_memory_bytes %" PRIu64 "\n", st->memory_bytes);
}

/* Watermarks, the two lags (data behind real time, requests not yet
 * folded in), persist failures. */
static void
put_progress(FILE *out, const struct fl_metrics *m,
             const struct fl_stream_stats *st)
{
    int64_t now = fl_time_now();
    fputs("# HELP flowlake_watermark_seconds highest event time seen minus "
          "metrics.allowed_lateness\n"
          "# TYPE flowlake_watermark_seconds gauge\n", out);
    if (st->max_start != INT64_MIN)
        fprintf(out, "flowlake_watermark_seconds{time=\"start\"} %" PRId64
                "\n", st->watermark_start);
    if (st->max_end != INT64_MIN)
        fprintf(out, "flowlake_watermark_seconds{time=\"end\"} %" PRId64
                "\n", st->watermark_end);
    fputs("# HELP flowlake_ingest_lag_seconds now minus the newest flow end "
          "time seen: how far behind real time the data is\n"
          "# TYPE flowlake_ingest_lag_seconds gauge\n", out);
    if (st->max_end != INT64_MIN)
        fprintf(out, "flowlake_ingest_lag_seconds %" PRId64 "\n",
                now - st->max_end);
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
}

static void
put_alarms(FILE *out, struct fl_alarms *alarms)
{
    struct fl_alarms_stats as;
    fl_alarms_stats(alarms, &as);
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

void
fl_metrics_write_prometheus(struct fl_metrics *m, FILE *out)
{
    struct newest_scan ns = { 0 };
    struct scrape sc = { 0 };

    if (m == NULL || m->stream == NULL)
        return;
    /* The engine's state does not change while this runs: the series'
     * strings are compared and copied as the engine holds them. */
    pthread_mutex_lock(&m->mu);
    fl_stream_each_open_newest(m->stream, newest_find, &ns);
    if (ns.failed) {
        pthread_mutex_unlock(&m->mu);
        goto out;
    }
    const struct fl_metric_plans *plans = fl_stream_plans(m->stream);
    if (scrape_init(&sc, plans, m->last_cap + ns.cap,
                    (size_t)m->cfg->metrics_prometheus_max_series) < 0) {
        pthread_mutex_unlock(&m->mu);
        goto out;
    }
    scrape_bucket(&sc, m, &ns);
    put_windows(out, plans, &sc);

    struct fl_stream_stats st;
    fl_stream_stats(m->stream, &st);
    size_t n_ms = fl_stream_metric_stats(m->stream, NULL, 0);
    struct fl_stream_metric_stats *ms = fl_calloc(n_ms ? n_ms : 1, sizeof *ms);
    if (ms != NULL)
        n_ms = fl_stream_metric_stats(m->stream, ms, n_ms);
    pthread_mutex_unlock(&m->mu);

    put_stream_stats(out, &st, ms, n_ms);
    fl_free(ms);
    put_progress(out, m, &st);
    if (m->alarms != NULL)
        put_alarms(out, m->alarms);
out:
    scrape_free(&sc);
    fl_free(ns.tab);
    fl_metrics_rows_free(ns.rows, ns.n_rows);
}


size_t
fl_metrics_status_json(struct fl_metrics *m, char *out, size_t cap)
{
    struct fl_stream_stats st;
    if (m == NULL || m->stream == NULL)
        return (size_t)snprintf(out, cap, "null");
    pthread_mutex_lock(&m->mu);
    fl_stream_stats(m->stream, &st);
    size_t n_metrics = fl_stream_metric_stats(m->stream, NULL, 0);
    struct fl_stream_metric_stats *ms = fl_calloc(n_metrics ? n_metrics : 1,
                                                  sizeof *ms);
    size_t n_ms = ms != NULL ? fl_stream_metric_stats(m->stream, ms,
                                                      n_metrics) : 0;
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
                     "\"stream_lag_seconds\":%.3f,\"reads\":{\"memory\":%"
                     PRIu64 ",\"sql\":%" PRIu64 ",\"cache_files\":%" PRIu64
                     ",\"cache_rows\":%" PRIu64 ",\"cache_bytes\":%" PRIu64
                     "}}",
                     n_metrics, st.records, st.late_records,
                     st.future_records, st.dropped_records, st.open_groups, st.memory_bytes,
                     atomic_load(&m->persisted_seq), m->n_live, m->next_no,
                     atomic_load(&m->persist_failures),
                     atomic_load(&m->persist_failures), wm_start, wm_end, ilag,
                     slag < 0 ? 0.0 : slag,
                     atomic_load(&m->reads_memory),
                     atomic_load(&m->reads_sql),
                     atomic_load(&m->cache_files),
                     atomic_load(&m->cache_rows),
                     atomic_load(&m->cache_bytes));
    size_t o = n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
    /* Each metric's own clock, for the status page's lag table: its
     * watermark (the clock of its time basis), the end of its newest final
     * window (windows are aligned to the epoch and final once their end is
     * at or before the watermark), and how far the watermark is behind
     * now. The object is closed again after the last one that fits (the
     * rest are counted in per_metric_omitted). */
    if (o > 0 && out[o - 1] == '}' && o + 64 < cap) {
        o--;
        o += (size_t)snprintf(out + o, cap - o, ",\"per_metric\":[");
        const struct fl_metric_plans *plans = fl_stream_plans(m->stream);
        int64_t now = fl_time_now();
        size_t shown = 0, omitted = 0;
        for (size_t i = 0; i < n_ms; i++) {
            const struct fl_metric_plan *pl = NULL;
            for (size_t p = 0; p < plans->n && pl == NULL; p++)
                for (size_t a = 0; a < plans->plan[p].n_aggs; a++)
                    if (strcmp(plans->plan[p].aggs[a].metric,
                               ms[i].metric) == 0)
                        pl = &plans->plan[p];
            if (pl == NULL)
                continue;
            char wm[24] = "null", fin[24] = "null", lag[24] = "null";
            if (ms[i].clock != INT64_MIN) {
                int64_t c = ms[i].clock, w = pl->window;
                int64_t q = c / w - ((c % w != 0) && (c < 0));
                snprintf(wm, sizeof wm, "%" PRId64, c);
                snprintf(fin, sizeof fin, "%" PRId64, q * w);
                snprintf(lag, sizeof lag, "%" PRId64, now - c);
            }
            char one[512];
            int k = snprintf(one, sizeof one, "%s{\"metric\":\"%s\",\"window\":%"
                             PRId64 ",\"time\":\"%s\",\"watermark\":%s,"
                             "\"final_through\":%s,\"lag_seconds\":%s,"
                             "\"records\":%" PRIu64 ",\"late_records\":%" PRIu64
                             ",\"dropped_records\":%" PRIu64
                             ",\"open_windows\":%" PRIu64 "}",
                             shown ? "," : "", ms[i].metric, pl->window,
                             fl_time_basis_name(pl->time), wm, fin, lag,
                             ms[i].records, ms[i].late_records,
                             ms[i].dropped_records, ms[i].open_windows);
            /* A metric name is an SQL identifier: no quote or backslash
             * to escape. Room is kept for the end of the object. */
            if (k < 0 || (size_t)k >= sizeof one || o + (size_t)k + 48 >= cap) {
                omitted = n_ms - i;
                break;
            }
            memcpy(out + o, one, (size_t)k);
            o += (size_t)k;
            shown++;
        }
        o += (size_t)snprintf(out + o, cap - o, "],\"per_metric_omitted\":%zu}",
                              omitted);
    }
    fl_free(ms);
    return o;
}
