/* SPDX-License-Identifier: MIT
 *
 * api_metrics.c -- the read side of streaming metrics and alarms:
 *
 *   GET /metrics       Prometheus text format: every metric's newest final
 *                      and provisional values, and flowlake's own counters
 *                      (the server's handed in: struct fl_prom_server)
 *   GET /api/metrics   without ?metric: the metrics defined; with
 *                      ?metric=NAME[&from=T][&to=T]: its series as JSON
 *   GET /api/alarms    the alarms, their state and recent datapoints
 *
 * /api/metrics reads through SQL (vpc_flow_logs.metrics: the committed
 * files plus what only memory holds) under the snapshot lock shared, like
 * POST /api/query, so a value is never seen twice or not at all while the
 * metric store commits.
 */
#include "../core/fl_config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <duckdb.h>
#include <jansson.h>

#include "../alarm/alarm.h"
#include "../config/config.h"
#include "metric_cache.h"
#include "metric_store.h"
#include "../core/fl_buf.h"
#include "../core/fl_error.h"
#include "../core/fl_json.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "../query/query.h"
#include "../parse/fields.h"
#include "../stream/plan.h"
#include "metric_reads.h"
#include "api_metrics.h"
#include "metrics.h"
#include "metrics_int.h"
#include "../http/http_reply.h"

/* Default range of /api/metrics: the last day. */
#define DEFAULT_RANGE 86400


static void
put_counter(FILE *out, const char *name, const char *help, const char *type)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}


enum MHD_Result
fl_metrics_api_prometheus(struct fl_metrics *m, struct MHD_Connection *c,
                          const struct fl_prom_server *srv)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (out == NULL)
        return fl_http_reply_error(c, 503, FL_OOM_TEXT);

    static const struct {
        const char *name, *help;
        size_t      offset;
    } per_source[] = {
        { "flowlake_records_in_total", "flow-log records accepted",
          offsetof(struct fl_prom_source, records) },
        { "flowlake_records_rejected_total",
          "lines rejected (kept in the errors folder with their reason)",
          offsetof(struct fl_prom_source, rejected) },
        { "flowlake_requests_total", "requests or files received",
          offsetof(struct fl_prom_source, requests) },
        { "flowlake_received_bytes_total", "bytes received as sent",
          offsetof(struct fl_prom_source, bytes) },
        { "flowlake_duplicates_total",
          "retried requests and event ids skipped as duplicates",
          offsetof(struct fl_prom_source, duplicates) },
    };
    for (size_t k = 0; k < sizeof per_source / sizeof per_source[0]; k++) {
        put_counter(out, per_source[k].name, per_source[k].help, "counter");
        for (size_t src = 0; src < srv->n_sources; src++) {
            const uint64_t *v = (const uint64_t *)
                ((const char *)&srv->sources[src] + per_source[k].offset);
            fprintf(out, "%s{source=\"%s\"} %" PRIu64 "\n", per_source[k].name,
                    srv->sources[src].name, *v);
        }
    }
    put_counter(out, "flowlake_wal_bytes", "bytes in the write-ahead log",
                "gauge");
    fprintf(out, "flowlake_wal_bytes %" PRIu64 "\n", srv->wal_bytes);
    put_counter(out, "flowlake_wal_max_bytes", "wal.max_size", "gauge");
    fprintf(out, "flowlake_wal_max_bytes %" PRIu64 "\n", srv->wal_max_bytes);
    put_counter(out, "flowlake_held_records", "durable records waiting "
                "for their source to settle them (Kafka: the offset commit)",
                "gauge");
    fprintf(out, "flowlake_held_records %" PRIu64 "\n", srv->held_records);
    put_counter(out, "flowlake_held_settled_total", "held requests "
                "settled, by outcome", "counter");
    fprintf(out, "flowlake_held_settled_total{outcome=\"kept\"} %" PRIu64
            "\n", srv->held_kept);
    fprintf(out, "flowlake_held_settled_total{outcome=\"dropped\"} %"
            PRIu64 "\n", srv->held_dropped);
    put_counter(out, "flowlake_buffered_records",
                "accepted records not yet published as Parquet", "gauge");
    fprintf(out, "flowlake_buffered_records %" PRIu64 "\n",
            srv->buffered_records);
    put_counter(out, "flowlake_files_published_total",
                "Parquet files published to the archive", "counter");
    fprintf(out, "flowlake_files_published_total %" PRIu64 "\n",
            srv->files_published);
    put_counter(out, "flowlake_records_published_total",
                "records published to the archive", "counter");
    fprintf(out, "flowlake_records_published_total %" PRIu64 "\n",
            srv->records_published);
    put_counter(out, "flowlake_publish_failures_total",
                "publishes that failed (retried)", "counter");
    fprintf(out, "flowlake_publish_failures_total %" PRIu64 "\n",
            srv->publish_failures);
    if (srv->upload) {
        static const struct { const char *name, *help, *type; } up[] = {
            { "flowlake_upload_pending_changes", "changes of the archive "
              "waiting in its outbox for the object store", "gauge" },
            { "flowlake_upload_files_total", "files uploaded to the object "
              "store", "counter" },
            { "flowlake_upload_bytes_total", "bytes uploaded to the object "
              "store", "counter" },
            { "flowlake_upload_deleted_objects_total", "objects deleted from "
              "the object store (compaction, retention)", "counter" },
            { "flowlake_upload_failures_total", "attempts at a change that "
              "failed (retried)", "counter" },
            { "flowlake_upload_last_success_seconds", "when the last change "
              "reached the object store, Unix seconds (0: none yet)",
              "gauge" },
        };
        const int64_t v[] = {
            (int64_t)srv->upload_pending, (int64_t)srv->upload_files,
            (int64_t)srv->upload_bytes, (int64_t)srv->upload_deleted,
            (int64_t)srv->upload_failures, srv->upload_last_done,
        };
        for (size_t i = 0; i < sizeof up / sizeof up[0]; i++) {
            put_counter(out, up[i].name, up[i].help, up[i].type);
            fprintf(out, "%s %" PRId64 "\n", up[i].name, v[i]);
        }
    }
    put_counter(out, "flowlake_metric_reads_total", "metric reads "
                "(/api/metrics, /api/metrics/batch) by how they were "
                "answered: from the in-memory copy of the metric store's "
                "recent values, or through SQL", "counter");
    fprintf(out, "flowlake_metric_reads_total{path=\"memory\"} %" PRIu64
            "\nflowlake_metric_reads_total{path=\"sql\"} %" PRIu64 "\n",
            atomic_load(&m->reads_memory), atomic_load(&m->reads_sql));
    put_counter(out, "flowlake_metric_cache_bytes", "memory held by the "
                "copy of the metric store's recent values", "gauge");
    fprintf(out, "flowlake_metric_cache_bytes %" PRIu64 "\n",
            atomic_load(&m->cache_bytes));
    double up = srv->uptime;
    put_counter(out, "flowlake_uptime_seconds", "seconds since start",
                "gauge");
    fprintf(out, "flowlake_uptime_seconds %.0f\n", up);
    /* The two every Prometheus exporter has: which build is running (a
     * join target for alerts across a fleet) and since when (restarts). */
    put_counter(out, "flowlake_build_info", "the running build: always 1",
                "gauge");
    fprintf(out, "flowlake_build_info{version=\"%s\",duckdb=\"%s\"} 1\n",
            FL_VERSION, duckdb_library_version());
    put_counter(out, "process_start_time_seconds",
                "start time of the process since the Unix epoch in seconds",
                "gauge");
    fprintf(out, "process_start_time_seconds %.3f\n",
            (double)fl_time_now() - up);
    fl_metrics_write_prometheus(m, out);
    if (fclose(out) != 0) {
        fl_free_libc(text);
        return fl_http_reply_error(c, 503, FL_OOM_TEXT);
    }
    enum MHD_Result r = fl_http_reply(c, 200,
                                      "text/plain; version=0.0.4; charset=utf-8",
                                      text, len);
    fl_free_libc(text);
    return r;
}


/* Appends s as a JSON string. */
static void
put_json_str(FILE *out, const char *s)
{
    struct fl_buf b = FL_BUF_INIT(0);   /* as long as s makes it */
    if (fl_json_add_str(&b, s, strlen(s), FL_JSON_STRICT) < 0)
        fputs("\"\"", out);
    else
        fwrite(b.p, 1, b.len, out);
    fl_buf_free(&b);
}


/* GET /api/metrics without ?metric: what is defined. */
static enum MHD_Result
list_metrics(struct fl_metrics *m, struct MHD_Connection *c)
{
    const struct fl_metric_plans *plans = fl_metrics_plans(m);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (out == NULL)
        return fl_http_reply_error(c, 503, FL_OOM_TEXT);
    fputs("{\"metrics\":[", out);
    int first = 1;
    for (size_t p = 0; plans != NULL && p < plans->n; p++) {
        const struct fl_metric_plan *pl = &plans->plan[p];
        for (size_t a = 0; a < pl->n_aggs; a++) {
            fprintf(out, "%s{\"name\":", first ? "" : ",");
            first = 0;
            put_json_str(out, pl->aggs[a].metric);
            fprintf(out, ",\"window_seconds\":%" PRId64 ",\"time\":\"%s\","
                    "\"dimensions\":[", pl->window,
                    fl_time_basis_name(pl->time));
            for (size_t d = 0; d < pl->n_dims; d++) {
                fputs(d ? "," : "", out);
                put_json_str(out, fl_field_get(pl->dims[d])->sql_name);
            }
            fputs("],\"statement\":", out);
            put_json_str(out, pl->text);
            fputc('}', out);
        }
    }
    fputs("]}\n", out);
    if (fclose(out) != 0) {
        fl_free_libc(text);
        return fl_http_reply_error(c, 503, FL_OOM_TEXT);
    }
    enum MHD_Result r = fl_http_reply(c, 200, "application/json", text, len);
    fl_free_libc(text);
    return r;
}


/* A time argument as SQL: epoch seconds, or an ISO 8601 time
 * (2026-11-29, 2026-11-29T18:00:00Z, with an optional zone; none = UTC).
 * Returns 0, the SQL expression in out and the time in *epoch, or
 * FL_ECONFIG. */
static int
time_arg(const char *v, char *out, size_t outlen, int64_t *epoch)
{
    int64_t t;
    char *end = NULL;
    size_t n = strlen(v);
    errno = 0;
    long long e = strtoll(v, &end, 10);
    if (n > 0 && n <= 12 && *end == '\0' && errno == 0
        && (isdigit((unsigned char)v[0]) || v[0] == '-'))
        t = e;
    else if (fl_time_parse_iso8601(v, n, FL_TIME_ISO_ZONE, &t) < 0)
        return FL_ECONFIG;
    snprintf(out, outlen, "make_timestamp(CAST(%lld AS BIGINT) * 1000000)",
             (long long)t);
    *epoch = t;
    return FL_OK;
}


/* The aggregate that produces metric name (and its statement's plan in
 * *plan when plan is not NULL), or NULL. */
static const struct fl_plan_agg *
find_metric(struct fl_metrics *m, const char *name,
            const struct fl_metric_plan **plan)
{
    const struct fl_metric_plans *plans = fl_metrics_plans(m);
    for (size_t p = 0; plans != NULL && p < plans->n; p++)
        for (size_t a = 0; a < plans->plan[p].n_aggs; a++)
            if (strcmp(plans->plan[p].aggs[a].metric, name) == 0) {
                if (plan != NULL)
                    *plan = &plans->plan[p];
                return &plans->plan[p].aggs[a];
            }
    return NULL;
}


static int
summable(const struct fl_plan_agg *a)
{
    return a->kind == FL_AGG_COUNT_STAR || a->kind == FL_AGG_COUNT
           || a->kind == FL_AGG_SUM;
}


/* Most reads one POST /api/metrics/batch may carry. */
#define MAX_BATCH 32

/* ?with=M1,M2: other aggregates of the same statement, summed for the
 * same series (a table's other columns). Splits arg into names (which
 * point into buf), checking each. Returns the count, or -1 with msg. */
static int
parse_with(struct fl_metrics *m, const struct fl_metric_plan *plan,
           const char *metric, const char *arg, char *buf, size_t buflen,
           const char **names, char *msg, size_t msglen)
{
    int n = 0;
    if (strlen(arg) >= buflen) {
        snprintf(msg, msglen, "with: too long");
        return -1;
    }
    memcpy(buf, arg, strlen(arg) + 1);
    for (char *t = buf, *next; t != NULL; t = next) {
        const struct fl_metric_plan *p = NULL;
        if ((next = strchr(t, ',')) != NULL)
            *next++ = '\0';
        if (*t == '\0')
            continue;                       /* "a,,b", a trailing comma */
        const struct fl_plan_agg *a = find_metric(m, t, &p);
        if (a == NULL || p != plan || strcmp(t, metric) == 0) {
            snprintf(msg, msglen, "with: %.200s is not another aggregate of "
                     "the statement of %.200s", t, metric);
            return -1;
        }
        if (!summable(a)) {
            snprintf(msg, msglen, "with: %.200s is not a COUNT or SUM "
                     "metric", t);
            return -1;
        }
        if (n == FL_MREAD_MAX_WITH) {
            snprintf(msg, msglen, "with: at most %d metrics",
                     FL_MREAD_MAX_WITH);
            return -1;
        }
        names[n++] = t;
    }
    if (n == 0)
        snprintf(msg, msglen, "with: name one metric or more, separated "
                 "by commas");
    return n > 0 ? n : -1;
}


/* Most series ?top= may ask for. */
#define MAX_TOP 1000

/* ?aggregate=sum[&top=N][&with=M,...]: one value per series over the
 * range instead of one per window -- what a top-N table shows. A series'
 * value is the sum of its windows' values, largest first; with top, the N
 * largest and one series "other" (every dimension 'other') holding the
 * rest, including the "other" groups of a metric with LIMIT
 * (docs/metrics.md). The with metrics (names[0..n_with), the same
 * statement's other aggregates) are summed for the same series. Sums are
 * only meaningful for COUNT and SUM metrics, so only those are accepted.
 * range is the condition on window_start. */
static char *
aggregate_sql(const char *metric, const char *const *with, size_t n_with,
              const char *range, long top)
{
    /* A group whose every dimension reads 'other' is an "other" group. */
    static const char is_other[] =
        "(len(dim_values) > 0 AND list_bool_and(list_transform(dim_values, "
        "lambda v: coalesce(v = 'other', false))))";
    char *text = NULL, *sql;
    size_t len = 0;
    FILE *b = open_memstream(&text, &len);
    if (b == NULL)
        return NULL;
    /* Names are known metrics: [a-z0-9_] only, safe in quotes and as
     * struct keys. */
    fprintf(b, "WITH g AS (SELECT dim_values, "
        "any_value(dim_names) AS dim_names, "
        "SUM(value) FILTER (WHERE metric = '%s') AS value, "
        "SUM(records) FILTER (WHERE metric = '%s') AS records, "
        "bool_and(final) AS final",
        metric, metric);
    for (size_t i = 0; i < n_with; i++)
        fprintf(b, ", SUM(value) FILTER (WHERE metric = '%s') "
                            "AS w%zu", with[i], i);
    fprintf(b, " FROM vpc_flow_logs.metric_values "
        "WHERE metric IN ('%s'", metric);
    for (size_t i = 0; i < n_with; i++)
        fprintf(b, ", '%s'", with[i]);
    /* Grouped by the list of dimension values (metric_values), the MAP
     * built only for the rows answered. */
    fprintf(b, ") AND %s GROUP BY dim_values), "
        "t AS (SELECT *, %s AS is_other FROM g), "
        "r AS (SELECT *, CASE WHEN is_other THEN NULL ELSE row_number() OVER "
        "(PARTITION BY is_other ORDER BY value DESC NULLS LAST, dim_values) "
        "END AS n FROM t), "
        "s AS (SELECT MAP(dim_names, dim_values) AS dimensions, value, "
        "records, final, n", range, is_other);
    for (size_t i = 0; i < n_with; i++)
        fprintf(b, ", w%zu", i);
    fprintf(b, " FROM r WHERE n <= %ld "
        "UNION ALL SELECT any_value(MAP(dim_names, list_transform(dim_names, "
        "lambda x: 'other'))), SUM(value), SUM(records), bool_and(final), "
        "%ld + 1", top, top);
    for (size_t i = 0; i < n_with; i++)
        fprintf(b, ", SUM(w%zu)", i);
    fprintf(b, " FROM r WHERE n IS NULL OR n > %ld "
        "HAVING COUNT(*) > 0) "
        "SELECT '{\"metric\":' || to_json('%s'::VARCHAR)::VARCHAR || "
        "',\"aggregate\":\"sum\",\"series\":' || "
        "COALESCE(to_json(list({'dimensions': dimensions, 'value': value, "
        "'records': records, 'final': final", top, metric);
    if (n_with > 0) {
        fputs(", 'with': {", b);
        for (size_t i = 0; i < n_with; i++)
            fprintf(b, "%s'%s': w%zu", i ? ", " : "", with[i], i);
        fputc('}', b);
    }
    fputs("} ORDER BY n))::VARCHAR, '[]') || '}' FROM s", b);
    if (fclose(b) != 0) {
        fl_free_libc(text);
        return NULL;
    }
    sql = fl_strdup(text);
    fl_free_libc(text);
    return sql;
}


/* One read of /api/metrics: the GET parameters, or one object of a
 * POST /api/metrics/batch body, as text. */
struct metric_read {
    const char *metric, *from, *to, *aggregate, *top, *with;
};

/* What one read runs: its SQL, the same read for metric_reads.c, and the
 * metrics whose in-memory values it needs (names point into the read or
 * into with_buf). */
struct metric_plan {
    char           *sql;
    struct fl_mread read;
    const char     *names[FL_MREAD_MAX_WITH + 1];
    size_t          n_names;
    char            with_buf[1024];
};


/* Checks a read and builds its SQL. Returns 0, or the HTTP status of the
 * refusal with msg. */
static unsigned
plan_read(struct fl_metrics *m, const struct metric_read *r,
          struct metric_plan *p, char *msg, size_t msglen)
{
    const struct fl_plan_agg *agg;
    const struct fl_metric_plan *plan = NULL;
    char from_sql[96], to_sql[96], now_s[32], range[256];
    long top = -1;
    int n_with = 0;

    p->sql = NULL;
    p->n_names = 0;
    memset(&p->read, 0, sizeof p->read);
    if (r->metric == NULL || r->metric[0] == '\0') {
        snprintf(msg, msglen, "metric is missing");
        return 400;
    }
    if ((agg = find_metric(m, r->metric, &plan)) == NULL) {
        snprintf(msg, msglen, "no metric named '%.200s' (GET /api/metrics "
                 "lists them)", r->metric);
        return 404;
    }
    snprintf(now_s, sizeof now_s, "%" PRId64, fl_time_now() - DEFAULT_RANGE);
    p->read.to = INT64_MAX;
    if (time_arg(r->from ? r->from : now_s, from_sql, sizeof from_sql,
                 &p->read.from) < 0) {
        snprintf(msg, msglen, "from must be epoch seconds or an ISO 8601 "
                 "UTC time such as 2026-11-29T18:00:00Z");
        return 400;
    }
    if (r->to != NULL
        && time_arg(r->to, to_sql, sizeof to_sql, &p->read.to) < 0) {
        snprintf(msg, msglen, "to must be epoch seconds or an ISO 8601 UTC "
                 "time such as 2026-11-29T18:00:00Z");
        return 400;
    }
    if (r->aggregate != NULL && strcmp(r->aggregate, "sum") != 0) {
        snprintf(msg, msglen, "aggregate must be sum (one value per series "
                 "over the range)");
        return 400;
    }
    if (r->aggregate != NULL && !summable(agg)) {
        snprintf(msg, msglen, "aggregate=sum needs a COUNT or SUM metric: "
                 "the sum of MIN, MAX, AVG or COUNT(DISTINCT) values over "
                 "windows means nothing");
        return 400;
    }
    if (r->top != NULL) {
        char *end = NULL;
        if (r->aggregate == NULL) {
            snprintf(msg, msglen, "top needs aggregate=sum");
            return 400;
        }
        errno = 0;
        top = strtol(r->top, &end, 10);
        if (r->top[0] < '0' || r->top[0] > '9' || *end != '\0'
            || errno != 0 || top < 1 || top > MAX_TOP) {
            snprintf(msg, msglen, "top must be a number of series from 1 "
                     "to %d", MAX_TOP);
            return 400;
        }
    }
    p->names[0] = r->metric;
    if (r->with != NULL) {
        if (r->aggregate == NULL) {
            snprintf(msg, msglen, "with needs aggregate=sum");
            return 400;
        }
        n_with = parse_with(m, plan, r->metric, r->with, p->with_buf,
                            sizeof p->with_buf, p->names + 1, msg, msglen);
        if (n_with < 0)
            return 400;
    }
    p->n_names = (size_t)n_with + 1;
    p->read.metric = r->metric;
    p->read.with = p->names + 1;
    p->read.n_with = (size_t)n_with;
    p->read.aggregate = r->aggregate != NULL;
    p->read.top = top > 0 ? top : -1;

    /* The names are known metrics, [a-z0-9_] only: safe in quotes. */
    snprintf(range, sizeof range, "window_start >= %s%s%s", from_sql,
             r->to ? " AND window_start < " : "", r->to ? to_sql : "");
    if (r->aggregate != NULL) {
        /* Without top: every series (the "other" groups still as one). */
        p->sql = aggregate_sql(r->metric, p->names + 1, (size_t)n_with,
                               range, top > 0 ? top : LONG_MAX - 1);
    } else {
        /* One JSON document from DuckDB: series by dimensions, points by
         * window. */
        size_t cap = 2048 + 2 * strlen(r->metric);
        if ((p->sql = fl_malloc(cap)) != NULL)
            snprintf(p->sql, cap,
                "SELECT '{\"metric\":' || to_json('%s'::VARCHAR)::VARCHAR || "
                "',\"series\":' || COALESCE(to_json(list(series ORDER BY k))::VARCHAR, '[]') "
                "|| '}' FROM (SELECT dimensions::VARCHAR AS k, "
                "{'dimensions': dimensions, 'points': list({"
                "'window_start': strftime(window_start, '%%Y-%%m-%%dT%%H:%%M:%%SZ'), "
                "'window_end': strftime(window_end, '%%Y-%%m-%%dT%%H:%%M:%%SZ'), "
                "'value': value, 'final': final, 'exact': exact, 'records': records} "
                "ORDER BY window_start)} AS series "
                "FROM vpc_flow_logs.metrics WHERE metric = '%s' AND %s "
                "GROUP BY dimensions)",
                r->metric, r->metric, range);
    }
    if (p->sql == NULL) {
        snprintf(msg, msglen, FL_OOM_TEXT);
        return 503;
    }
    return 0;
}


/* Brings the server's metric cache in line with the store's files,
 * loading new files through q's connection. Under metrics_q_mu. */
static int
sync_cache(struct fl_metrics *m, struct fl_query *q, char **err)
{
    char **files = NULL;
    size_t n = 0;
    int rc;

    if (m->cache == NULL
        && (m->cache = fl_metric_cache_create()) == NULL)
        return FL_ENOMEM;
    if ((rc = fl_metric_store_files(m->cfg->archive_dir, &files, &n)) < 0)
        return rc;
    /* From a day boundary: files loaded the same day share a horizon. */
    int64_t since = fl_time_now() - (int64_t)FL_METRIC_CACHE_DAYS * 86400;
    since -= since % 86400;
    rc = fl_metric_cache_sync(m->cache, fl_query_connection(q),
                              files, n, since, err);
    atomic_store(&m->cache_files, m->cache->n_files);
    atomic_store(&m->cache_rows, m->cache->rows);
    atomic_store(&m->cache_bytes, m->cache->bytes);
    for (size_t i = 0; i < n; i++)
        fl_free(files[i]);
    fl_free(files);
    return rc;
}


/* Runs the planned reads (those with a sql) against one view of the
 * values: under the snapshot lock shared, the in-memory values of every
 * metric they name copied once. A read whose range the metric cache holds
 * is answered from it in C (metric_reads.c); any other through SQL on the
 * server's metrics session. json[i] gets read i's document (fl_free).
 * Returns 0, or an error with *err for all of them. */
static int
run_reads(struct fl_metrics *m, struct metric_plan *plans, size_t n,
          char **json, char **err)
{
    const char *names[(FL_MREAD_MAX_WITH + 1) * MAX_BATCH];
    size_t n_names = 0;
    struct fl_metric_row *rows = NULL;
    size_t n_rows = 0;
    struct fl_query *q;
    int rc, need_sql = 0;
    unsigned char by_sql[MAX_BATCH] = { 0 };

    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; plans[i].sql != NULL && k < plans[i].n_names; k++)
            names[n_names++] = plans[i].names[k];
    pthread_rwlock_rdlock(m->snap_lock);
    rc = fl_metrics_rows(m, names, n_names, &rows, &n_rows);
    pthread_mutex_lock(&m->q_mu);
    if (rc == 0 && m->q == NULL
        && (rc = fl_query_open(m->cfg->archive_dir, &m->q, err)) == 0)
        fl_query_metrics_only(m->q);
    q = m->q;
    if (rc == 0 && !m->read_sql)
        rc = sync_cache(m, q, err);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (plans[i].sql == NULL)
            continue;
        if (m->read_sql
            || plans[i].read.from < fl_metric_cache_from(m->cache)) {
            by_sql[i] = 1;
            need_sql = 1;
            continue;
        }
        rc = fl_metric_read_json(m->cache, rows, n_rows,
                                 &plans[i].read, &json[i]);
        atomic_fetch_add(&m->reads_memory, 1);
    }
    if (rc == 0 && need_sql)
        rc = fl_query_set_metrics(q, rows, n_rows, err);
    for (size_t i = 0; i < n && rc == 0; i++)
        if (by_sql[i]) {
            rc = fl_query_text(q, plans[i].sql, &json[i], err);
            atomic_fetch_add(&m->reads_sql, 1);
        }
    if (rc < 0 && q != NULL) {
        /* Whatever went wrong, the next request starts afresh. */
        fl_query_close(q);
        m->q = NULL;
        fl_metric_cache_destroy(m->cache);
        m->cache = NULL;
    }
    pthread_mutex_unlock(&m->q_mu);
    pthread_rwlock_unlock(m->snap_lock);
    fl_metrics_rows_free(rows, n_rows);
    return rc;
}


enum MHD_Result
fl_metrics_api_read(struct fl_metrics *m, struct MHD_Connection *c)
{
    struct metric_read r = {
        .metric = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                              "metric"),
        .from = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "from"),
        .to = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "to"),
        .aggregate = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                 "aggregate"),
        .top = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "top"),
        .with = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "with"),
    };
    struct metric_plan p;
    char msg[512], *json = NULL, *err = NULL;
    enum MHD_Result ret;
    unsigned status;
    int rc;

    if (r.metric == NULL || r.metric[0] == '\0')
        return list_metrics(m, c);
    if ((status = plan_read(m, &r, &p, msg, sizeof msg)) != 0)
        return fl_http_reply_error(c, status, msg);
    rc = run_reads(m, &p, 1, &json, &err);
    if (rc == 0 && json != NULL) {
        size_t jl = strlen(json);
        json[jl] = '\n';            /* the NUL's place: sent by length */
        ret = fl_http_reply(c, 200, "application/json", json, jl + 1);
    } else {
        ret = fl_http_reply_error(c, fl_server_fault_status(rc),
                                  err ? err : fl_strerror(rc));
    }
    fl_free(json);
    fl_free(err);
    fl_free(p.sql);
    return ret;
}


/* A member of a batch read as text: a string as it is, an integer
 * printed into buf (from, to, top); with also as an array of names joined
 * by commas into buf. NULL when absent; -1 with msg when of a wrong type. */
static int
batch_member(json_t *o, const char *key, char *buf, size_t buflen,
             const char **out, char *msg, size_t msglen)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        *out = json_string_value(v);
        return 0;
    }
    if (json_is_integer(v) && strcmp(key, "metric") != 0
        && strcmp(key, "aggregate") != 0 && strcmp(key, "with") != 0) {
        snprintf(buf, buflen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        *out = buf;
        return 0;
    }
    if (json_is_array(v) && strcmp(key, "with") == 0) {
        size_t i, o_len = 0;
        json_t *e;
        buf[0] = '\0';
        json_array_foreach(v, i, e) {
            const char *name = json_string_value(e);
            size_t l = name ? strlen(name) : 0;
            if (name == NULL || o_len + l + 2 > buflen) {
                snprintf(msg, msglen, "with: an array of metric names");
                return -1;
            }
            if (i > 0)
                buf[o_len++] = ',';
            memcpy(buf + o_len, name, l + 1);
            o_len += l;
        }
        *out = buf;
        return 0;
    }
    snprintf(msg, msglen, "%s: %s", key,
             strcmp(key, "with") == 0 ? "a metric name or an array of them"
             : strcmp(key, "top") == 0 ? "a number"
             : strcmp(key, "from") == 0 || strcmp(key, "to") == 0
               ? "epoch seconds or an ISO 8601 UTC time" : "a string");
    return -1;
}


/* Checks one object of a batch and plans it: 0, or the status of its
 * refusal with msg. */
static unsigned
plan_batch_read(struct fl_metrics *m, json_t *o, struct metric_plan *p,
                char bufs[][64], char *msg, size_t msglen)
{
    static const char *const keys[] = {
        "metric", "from", "to", "aggregate", "top", "with",
    };
    const char *v[6];
    char with[1024];
    const char *key;
    json_t *value;

    p->sql = NULL;
    if (!json_is_object(o)) {
        snprintf(msg, msglen, "each read is an object such as "
                 "{\"metric\": \"records_in\", \"from\": 1714521600}");
        return 400;
    }
    json_object_foreach(o, key, value) {
        size_t k = 0;
        while (k < 6 && strcmp(key, keys[k]) != 0)
            k++;
        if (k == 6) {
            snprintf(msg, msglen, "unknown member '%.100s' (a read takes "
                     "metric, from, to, aggregate, top, with)", key);
            return 400;
        }
    }
    for (size_t k = 0; k < 6; k++)
        if (batch_member(o, keys[k], k == 5 ? with : bufs[k],
                         k == 5 ? sizeof with : sizeof bufs[k], &v[k],
                         msg, msglen) < 0)
            return 400;
    struct metric_read r = { v[0], v[1], v[2], v[3], v[4], v[5] };
    /* plan_read copies with into p->with_buf before it is gone. */
    return plan_read(m, &r, p, msg, msglen);
}


/* POST /api/metrics/batch: several reads against one view of the values,
 * for one price: a dashboard's refresh is one request, one copy of the
 * in-memory values and one refresh of the views, instead of one of each
 * per widget. The body is a JSON array of reads (the GET parameters as
 * members); the answer is the array of their answers, in order, a read
 * that is refused answered {"error": ..., "status": N} in its place. */
enum MHD_Result
fl_metrics_api_batch(struct fl_metrics *m, struct MHD_Connection *c,
                     const char *body, size_t len)
{
    struct metric_plan plans[MAX_BATCH];
    char *json[MAX_BATCH] = { NULL }, *err = NULL;
    char *refusal[MAX_BATCH] = { NULL };
    unsigned status[MAX_BATCH] = { 0 };
    char bufs[MAX_BATCH][6][64];
    json_error_t jerr;
    json_t *arr = body != NULL && len > 0
                  ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    enum MHD_Result ret;
    size_t n = 0;
    int rc = 0;

    if (arr == NULL || !json_is_array(arr)) {
        char msg[300];
        if (arr == NULL && len > 0)
            snprintf(msg, sizeof msg, "the body is not JSON: %s at line %d "
                     "column %d", jerr.text, jerr.line, jerr.column);
        else
            snprintf(msg, sizeof msg, "the body is a JSON array of reads");
        json_decref(arr);
        return fl_http_reply_error(c, 400, msg);
    }
    n = json_array_size(arr);
    if (n == 0 || n > MAX_BATCH) {
        json_decref(arr);
        return fl_http_reply_error(c, 400, "a batch holds from 1 to 32 "
                                   "reads");
    }
    for (size_t i = 0; i < n; i++) {
        char msg[512];
        status[i] = plan_batch_read(m, json_array_get(arr, i), &plans[i],
                                    bufs[i], msg, sizeof msg);
        if (status[i] != 0 && (refusal[i] = fl_strdup(msg)) == NULL)
            rc = FL_ENOMEM;
    }
    /* plan_read keeps pointers to the metric names: arr lives until the
     * reads ran. */
    if (rc == 0)
        rc = run_reads(m, plans, n, json, &err);

    char *text = NULL;
    size_t tlen = 0;
    FILE *out = rc == 0 ? open_memstream(&text, &tlen) : NULL;
    if (out != NULL) {
        fputc('[', out);
        for (size_t i = 0; i < n; i++) {
            fputs(i ? ",\n" : "", out);
            if (status[i] != 0) {
                fputs("{\"error\":", out);
                put_json_str(out, refusal[i]);
                fprintf(out, ",\"status\":%u}", status[i]);
            } else {
                fputs(json[i] ? json[i] : "null", out);
            }
        }
        fputs("]\n", out);
    }
    if (out != NULL && fclose(out) == 0) {
        ret = fl_http_reply(c, 200, "application/json", text, tlen);
    } else if (rc < 0 && rc != FL_ENOMEM) {
        ret = fl_http_reply_error(c, 500, err ? err : fl_strerror(rc));
    } else {
        ret = fl_http_reply_error(c, 503, FL_OOM_TEXT);
    }
    fl_free_libc(text);
    for (size_t i = 0; i < n; i++) {
        fl_free(json[i]);
        fl_free(refusal[i]);
        fl_free(plans[i].sql);
    }
    fl_free(err);
    json_decref(arr);
    return ret;
}


enum MHD_Result
fl_metrics_api_alarms(struct fl_metrics *m, struct MHD_Connection *c)
{
    struct fl_alarms *a = fl_metrics_alarms(m);
    char *json = NULL;
    size_t len = 0;
    if (a == NULL)
        return fl_http_reply(c, 200, "application/json", "[]\n", 3);
    if (fl_alarms_json(a, &json, &len) < 0)
        return fl_http_reply_error(c, 503, FL_OOM_TEXT);
    enum MHD_Result r = fl_http_reply(c, 200, "application/json", json, len);
    fl_free(json);
    return r;
}


enum MHD_Result
fl_metrics_api_partials(struct fl_metrics *m, struct MHD_Connection *c)
{
    unsigned char *snap = NULL;
    size_t len = 0;
    int rc = fl_metrics_partials(m, &snap, &len);
    if (rc == -ENOENT)
        return fl_http_reply_error(c, 404, "no metric runs on this server");
    if (rc < 0)
        return fl_http_reply_error(c, 503, FL_OOM_TEXT);
    enum MHD_Result r = fl_http_reply(c, 200, "application/octet-stream",
                                      (const char *)snap, len);
    fl_free(snap);
    return r;
}
