/* SPDX-License-Identifier: MIT
 *
 * test_metric_reads.c -- metric reads answered in C: the store's rows held
 * in memory (src/metrics/metric_cache.c) and the JSON documents written
 * from them and from the values still in memory (src/metrics/metric_reads.c).
 *
 * Doubles are checked against DuckDB's own to_json, the reference the SQL
 * path uses; documents against exact expected text worked out by hand from
 * the rows (tests/integration/test_metrics_reads.sh compares whole
 * answers with the SQL path's on a running server). Every test ends with
 * fl_mem_used() back where it began.
 */
#include "../../src/core/fl_config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <duckdb.h>

#include "harness.h"
#include "metrics/metric_cache.h"
#include "metrics/metric_store.h"
#include "core/fl_error.h"
#include "core/fl_fs.h"
#include "core/fl_mem.h"
#include "metrics/metric_reads.h"

/* 2026-01-01T00:00:00Z */
#define T0 1767225600

static void
setup(void)
{
    fl_test_dir_setup("mreads");
}


/* --- doubles ------------------------------------------------------------ */

/* Every value's text from fl_metric_json_double equals DuckDB's to_json of
 * the same double: hand-picked edges, then 20,000 values of every size. */
static void
test_json_double_matches_duckdb(void)
{
    static const double picked[] = {
        0.0, 1.0, 2.0, -3.25, 0.1, 0.2 + 0.1, 1e15, 1e16, 1e17, 1e20, 1e21,
        3e21, 1.5e300, 1e-6, 1e-7, 2.5e-7, 123456789.125, 12345678901234567.0,
        9007199254740993.0, 4.9e-324, 1.7976931348623157e308, 500000.0,
        331744.0, 18446744073709551615.0, 0.000123, 1234.5678,
    };
    enum { N_RANDOM = 20000 };
    size_t n = sizeof picked / sizeof picked[0] + N_RANDOM;
    double *v = malloc(n * sizeof *v);
    CHECK(v != NULL);
    memcpy(v, picked, sizeof picked);
    srand(7);
    for (size_t i = sizeof picked / sizeof picked[0]; i < n; i++) {
        double m = (double)rand() / RAND_MAX;
        switch (i % 4) {
        case 0:     /* counts and sums: whole numbers up to 2^53 */
            v[i] = floor(m * 9007199254740992.0 / pow(10, rand() % 15));
            break;
        case 1:     /* any size, either sign */
            v[i] = (rand() % 2 ? -1 : 1) * m * pow(10, rand() % 60 - 30);
            break;
        case 2:     /* binary fractions: exact, short */
            v[i] = (double)(rand() % 100000) / (1 << (rand() % 20));
            break;
        default:    /* averages */
            v[i] = (double)(rand() % 1000000) / (rand() % 999 + 1);
        }
    }

    duckdb_database db;
    duckdb_connection con;
    CHECK(duckdb_open(NULL, &db) == DuckDBSuccess);
    CHECK(duckdb_connect(db, &con) == DuckDBSuccess);
    CHECK(duckdb_query(con, "CREATE TABLE d (i INTEGER, v DOUBLE)", NULL)
          == DuckDBSuccess);
    duckdb_appender app;
    CHECK(duckdb_appender_create(con, NULL, "d", &app) == DuckDBSuccess);
    for (size_t i = 0; i < n; i++) {
        CHECK(duckdb_append_int32(app, (int32_t)i) == DuckDBSuccess);
        CHECK(duckdb_append_double(app, v[i]) == DuckDBSuccess);
        CHECK(duckdb_appender_end_row(app) == DuckDBSuccess);
    }
    CHECK(duckdb_appender_destroy(&app) == DuckDBSuccess);
    duckdb_result res;
    CHECK(duckdb_query(con, "SELECT to_json(v)::VARCHAR FROM d ORDER BY i",
                       &res) == DuckDBSuccess);
    CHECK_EQ_INT(duckdb_row_count(&res), n);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        char mine[48];
        char *ref = duckdb_value_varchar(&res, 0, i);
        fl_metric_json_double(mine, sizeof mine, v[i]);
        if (strcmp(mine, ref) != 0 && bad++ < 10)
            fprintf(stderr, "  %.17g: mine %s, DuckDB %s\n", v[i], mine, ref);
        duckdb_free(ref);
    }
    CHECK_EQ_INT(bad, 0);
    duckdb_destroy_result(&res);
    duckdb_disconnect(&con);
    duckdb_close(&db);
    free(v);
}


/* --- the store in memory ------------------------------------------------ */

static const char *const proto[] = { "proto" };
static const char *const v6[] = { "6" }, *const v17[] = { "17" },
                  *const vnull[] = { NULL }, *const vother[] = { "other" };

#define ROW(m, vals, ws, val, fin) { .metric = m, .n_dims = 1, \
    .dim_names = proto, .dim_values = vals, .window_start = ws, \
    .window_end = (ws) + 900, .value = val, .has_value = 1, .final = fin, \
    .exact = 1, .records = 1 }

/* The store's file 1: metric m by protocol over two windows (with a NULL
 * and an 'other' group), its with metric m_bytes, and n without
 * dimensions. */
static const struct fl_metric_value stored[] = {
    ROW("m", v6, T0, 10, 1),
    ROW("m", v17, T0, 5, 1),
    ROW("m", v6, T0 + 900, 3, 1),
    ROW("m", vnull, T0 + 900, 7, 1),
    ROW("m", vother, T0 + 900, 2, 1),
    ROW("m_bytes", v6, T0, 1000, 1),
    ROW("m_bytes", v17, T0 + 900, 50, 1),
    { .metric = "n", .window_start = T0, .window_end = T0 + 900,
      .value = 1, .has_value = 1, .final = 1, .exact = 1, .records = 1 },
};
/* Still in memory: the open third window. */
static const struct fl_metric_value open_values[] = {
    ROW("m", v6, T0 + 1800, 4, 0),
    ROW("m", v17, T0 + 1800, 20, 0),
};

static struct fl_metric_row *
rows_of(const struct fl_metric_value *v, size_t n)
{
    struct fl_metric_row *r = fl_calloc(n, sizeof *r);
    CHECK(r != NULL);
    for (size_t i = 0; i < n; i++)
        CHECK_EQ_INT(fl_metric_row_copy(&v[i], &r[i]), 0);
    return r;
}

static void
rows_free(struct fl_metric_row *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fl_metric_row_free(&r[i]);
    fl_free(r);
}

/* An archive with `stored` as final-1 and a DuckDB to read it with. */
static void
store(duckdb_database *db, duckdb_connection *con)
{
    struct fl_metric_row *r = rows_of(stored, 8);
    char *err = NULL;
    CHECK_EQ_INT(fl_fs_mkdirs(fl_test_at("a")), 0);
    CHECK_EQ_INT(fl_metric_store_write(fl_test_at("a"), 1, r, 8, NULL, 0, &err), 0);
    CHECK(err == NULL);
    rows_free(r, 8);
    CHECK(duckdb_open(NULL, db) == DuckDBSuccess);
    CHECK(duckdb_connect(*db, con) == DuckDBSuccess);
    CHECK(duckdb_query(*con, "SET threads = 1", NULL) == DuckDBSuccess);
}

static char *
read_json(const struct fl_metric_cache *c, const struct fl_metric_row *live,
          size_t n_live, const struct fl_mread *r)
{
    char *out = NULL;
    CHECK_EQ_INT(fl_metric_read_json(c, live, n_live, r, &out), 0);
    CHECK(out != NULL);
    return out;
}

static const char *const with_bytes[] = { "m_bytes" };

#define P(ws, we, v, fin) "{\"window_start\":\"" ws "\",\"window_end\":\"" \
    we "\",\"value\":" v ",\"final\":" fin ",\"exact\":true,\"records\":1}"

static const char want_series[] =
    "{\"metric\":\"m\",\"series\":["
    "{\"dimensions\":{\"proto\":\"17\"},\"points\":["
    P("2026-01-01T00:00:00Z", "2026-01-01T00:15:00Z", "5.0", "true") ","
    P("2026-01-01T00:30:00Z", "2026-01-01T00:45:00Z", "20.0", "false") "]},"
    "{\"dimensions\":{\"proto\":\"6\"},\"points\":["
    P("2026-01-01T00:00:00Z", "2026-01-01T00:15:00Z", "10.0", "true") ","
    P("2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z", "3.0", "true") ","
    P("2026-01-01T00:30:00Z", "2026-01-01T00:45:00Z", "4.0", "false") "]},"
    "{\"dimensions\":{\"proto\":null},\"points\":["
    P("2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z", "7.0", "true") "]},"
    "{\"dimensions\":{\"proto\":\"other\"},\"points\":["
    P("2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z", "2.0", "true") "]}]}";

/* Ranked 17 (25), 6 (17), NULL (7); top 1 keeps 17, and "other" sums 6,
 * NULL and the 'other' group: 26 over 5 records, m_bytes 1000 from 6. */
static const char want_top1[] =
    "{\"metric\":\"m\",\"aggregate\":\"sum\",\"series\":["
    "{\"dimensions\":{\"proto\":\"17\"},\"value\":25.0,\"records\":2,"
    "\"final\":false,\"with\":{\"m_bytes\":50.0}},"
    "{\"dimensions\":{\"proto\":\"other\"},\"value\":26.0,\"records\":5,"
    "\"final\":false,\"with\":{\"m_bytes\":1000.0}}]}";

/* Without top every series, ranked, and the 'other' group last; from the
 * second window on, no open values: 6 is final again. */
static const char want_all_stored[] =
    "{\"metric\":\"m\",\"aggregate\":\"sum\",\"series\":["
    "{\"dimensions\":{\"proto\":null},\"value\":7.0,\"records\":1,"
    "\"final\":true},"
    "{\"dimensions\":{\"proto\":\"6\"},\"value\":3.0,\"records\":1,"
    "\"final\":true},"
    "{\"dimensions\":{\"proto\":\"other\"},\"value\":2.0,\"records\":1,"
    "\"final\":true}]}";


static void
test_cache_reads(void)
{
    setup();
    duckdb_database db;
    duckdb_connection con;
    store(&db, &con);
    char *files[1] = { (char *)fl_test_at("a/_metrics/final-1.parquet") };
    struct fl_metric_cache *c = fl_metric_cache_create();
    char *err = NULL, *out;
    CHECK(c != NULL);
    CHECK_EQ_INT(fl_metric_cache_from(c), INT64_MIN);
    CHECK_EQ_INT(fl_metric_cache_sync(c, con, files, 1, T0 - 86400, &err), 0);
    CHECK(err == NULL);
    CHECK_EQ_INT(c->n_files, 1);
    CHECK_EQ_INT(c->rows, 8);
    CHECK(c->bytes > 8 * sizeof(struct fl_mcache_row));
    CHECK_EQ_INT(fl_metric_cache_from(c), T0 - 86400);
    /* Three runs, one per metric, each by window. */
    CHECK_EQ_INT(c->files[0].n_runs, 3);
    CHECK_EQ_INT(c->files[0].n_series, 5);

    struct fl_metric_row *live = rows_of(open_values, 2);
    struct fl_mread r = { .metric = "m", .from = T0, .to = T0 + 2700,
                          .top = -1 };
    out = read_json(c, live, 2, &r);
    CHECK_EQ_STR(out, want_series);
    fl_free(out);

    /* [from, to): the first window's start is in, the end is out. */
    r.from = T0 + 900;
    r.to = T0 + 1800;
    out = read_json(c, live, 2, &r);
    CHECK(strstr(out, "00:00:00Z") == NULL && strstr(out, "00:30:00Z\",\"w")
          == NULL);
    CHECK(strstr(out, "\"window_start\":\"2026-01-01T00:15:00Z\"") != NULL);
    fl_free(out);

    struct fl_mread agg = { .metric = "m", .with = with_bytes, .n_with = 1,
                            .from = T0, .to = INT64_MAX, .aggregate = 1,
                            .top = 1 };
    out = read_json(c, live, 2, &agg);
    CHECK_EQ_STR(out, want_top1);
    fl_free(out);
    struct fl_mread all = { .metric = "m", .from = T0 + 900, .to = T0 + 1800,
                            .aggregate = 1, .top = -1 };
    out = read_json(c, live, 2, &all);
    CHECK_EQ_STR(out, want_all_stored);
    fl_free(out);

    /* No dimensions, and a metric with no rows at all. */
    struct fl_mread nd = { .metric = "n", .from = 0, .to = INT64_MAX,
                           .top = -1 };
    out = read_json(c, NULL, 0, &nd);
    CHECK_EQ_STR(out, "{\"metric\":\"n\",\"series\":[{\"dimensions\":{},"
                 "\"points\":[" P("2026-01-01T00:00:00Z",
                 "2026-01-01T00:15:00Z", "1.0", "true") "]}]}");
    fl_free(out);
    nd.metric = "none";
    out = read_json(c, NULL, 0, &nd);
    CHECK_EQ_STR(out, "{\"metric\":\"none\",\"series\":[]}");
    fl_free(out);
    nd.aggregate = 1;
    out = read_json(c, NULL, 0, &nd);
    CHECK_EQ_STR(out, "{\"metric\":\"none\",\"aggregate\":\"sum\","
                 "\"series\":[]}");
    fl_free(out);

    /* Every allocation failing in turn: an error, nothing leaked. */
    int done = 0;
    for (uint64_t nth = 1; nth < 500 && !done; nth++) {
        size_t used = fl_mem_used();
        fl_mem_fail_after(nth);
        int rc = fl_metric_read_json(c, live, 2, &agg, &out);
        fl_mem_fail_after(0);
        if (rc == 0) {
            CHECK_EQ_STR(out, want_top1);
            fl_free(out);
            done = 1;
        } else {
            CHECK_EQ_INT(rc, FL_ENOMEM);
            CHECK(out == NULL);
        }
        CHECK_EQ_INT(fl_mem_used(), used);
    }
    CHECK(done);

    rows_free(live, 2);
    fl_metric_cache_destroy(c);
    duckdb_disconnect(&con);
    duckdb_close(&db);
    fl_test_dir_teardown();
}


/* sync keeps the files it holds, loads the new, drops the gone; the
 * horizon leaves older rows out and bounds what the cache is complete
 * for; a file in another order is put in order. */
static void
test_cache_sync(void)
{
    setup();
    duckdb_database db;
    duckdb_connection con;
    store(&db, &con);
    char sql[1024];
    /* The same rows, newest window first and metrics interleaved: not how
     * the store writes them. */
    snprintf(sql, sizeof sql, "COPY (SELECT * FROM read_parquet('%s') "
             "ORDER BY window_start DESC, metric DESC) TO '%s' "
             "(FORMAT parquet)", fl_test_at("a/_metrics/final-1.parquet"),
             fl_test_at("a/_metrics/final-2.parquet"));
    CHECK(duckdb_query(con, sql, NULL) == DuckDBSuccess);

    struct fl_metric_cache *c = fl_metric_cache_create();
    char *err = NULL, *out;
    char *one[1] = { (char *)fl_test_at("a/_metrics/final-1.parquet") };
    char *two[1] = { (char *)fl_test_at("a/_metrics/final-2.parquet") };
    char *both[2] = { one[0], two[0] };
    CHECK(c != NULL);

    /* Horizon at the second window: the first's rows are left out. */
    CHECK_EQ_INT(fl_metric_cache_sync(c, con, one, 1, T0 + 900, &err), 0);
    CHECK_EQ_INT(c->rows, 4);
    CHECK_EQ_INT(fl_metric_cache_from(c), T0 + 900);
    struct fl_mcache_row *first = c->files[0].rows;

    /* The unsorted copy, loaded later with an earlier horizon: the older
     * file's horizon still bounds what is complete. */
    CHECK_EQ_INT(fl_metric_cache_sync(c, con, both, 2, T0, &err), 0);
    CHECK_EQ_INT(c->n_files, 2);
    CHECK(c->files[0].rows == first);       /* held, not reloaded */
    CHECK_EQ_INT(c->rows, 4 + 8);
    CHECK_EQ_INT(fl_metric_cache_from(c), T0 + 900);
    const struct fl_mcache_file *f = &c->files[1];
    CHECK_EQ_INT(f->n_runs, 3);
    for (size_t k = 0; k < f->n_runs; k++) {
        const struct fl_mcache_run *run = &f->runs[k];
        for (size_t i = run->first + 1; i < run->first + run->n; i++)
            CHECK(f->rows[i - 1].window_start <= f->rows[i].window_start);
    }
    size_t b, e;
    fl_mcache_file_rows(f, "m", T0 + 900, &b, &e);
    CHECK_EQ_INT(e - b, 3);
    fl_mcache_file_rows(f, "m_bytes", 0, &b, &e);
    CHECK_EQ_INT(e - b, 2);
    fl_mcache_file_rows(f, "nope", 0, &b, &e);
    CHECK_EQ_INT(e - b, 0);

    /* Only the copy: it alone answers, as the sorted file did. */
    CHECK_EQ_INT(fl_metric_cache_sync(c, con, two, 1, T0, &err), 0);
    CHECK_EQ_INT(c->n_files, 1);
    CHECK_EQ_INT(c->rows, 8);
    struct fl_metric_row *live = rows_of(open_values, 2);
    struct fl_mread r = { .metric = "m", .from = T0, .to = T0 + 2700,
                          .top = -1 };
    out = read_json(c, live, 2, &r);
    CHECK_EQ_STR(out, want_series);
    fl_free(out);
    rows_free(live, 2);

    /* A file that is not there: an error naming it, the cache empty. */
    char *gone[1] = { (char *)fl_test_at("a/_metrics/final-9.parquet") };
    CHECK(fl_metric_cache_sync(c, con, gone, 1, T0, &err) == FL_EDB);
    CHECK(err != NULL && strstr(err, "final-9.parquet") != NULL);
    fl_free(err);
    err = NULL;
    CHECK_EQ_INT(c->n_files, 0);
    CHECK_EQ_INT(c->rows, 0);

    /* Allocation failures while loading: an error, nothing leaked. */
    int done = 0;
    for (uint64_t nth = 1; nth < 2000 && !done; nth++) {
        fl_mem_fail_after(nth);
        int rc = fl_metric_cache_sync(c, con, both, 2, T0, &err);
        fl_mem_fail_after(0);
        if (rc == 0) {
            CHECK_EQ_INT(c->rows, 16);
            done = 1;
        } else {
            CHECK(rc == FL_ENOMEM || rc == FL_EDB);
            CHECK_EQ_INT(c->n_files, 0);
            fl_free(err);
            err = NULL;
        }
    }
    CHECK(done);
    fl_metric_cache_destroy(c);
    duckdb_disconnect(&con);
    duckdb_close(&db);
    fl_test_dir_teardown();
}


/* Window times are written as strftime's %Y-%m-%dT%H:%M:%SZ in UTC would
 * write them (the SQL path's strftime): leap days, century years, the
 * epoch, the last second of a year, 2,000 random times up to 9999. */
static void
test_window_times(void)
{
    size_t base = fl_mem_used();
    enum { N = 2008 };
    static const int64_t picked[] = {
        0, 59, 951782400 /* 2000-02-29 */, 4107542400LL /* 2100-02-28 */,
        4107628800LL /* 2100-03-01 */, 1709251199 /* 2024-02-29 23:59:59 */,
        1735689599 /* 2024-12-31 23:59:59 */, 253402300799LL /* 9999 */,
    };
    struct fl_metric_value v[N];
    int64_t t[N];
    srand(11);
    for (int i = 0; i < N; i++) {
        t[i] = i < 8 ? picked[i]
             : ((int64_t)rand() * RAND_MAX + rand()) % 253402300800LL;
        /* No dimensions: one series holding every point. */
        v[i] = (struct fl_metric_value){ .metric = "t", .window_start = t[i],
            .window_end = t[i], .has_value = 1, .value = i, .final = 1,
            .exact = 1, .records = 1 };
    }
    struct fl_metric_row *live = rows_of(v, N);
    struct fl_metric_cache *c = fl_metric_cache_create();
    struct fl_mread r = { .metric = "t", .from = INT64_MIN,
                          .to = INT64_MAX, .top = -1 };
    char *out = read_json(c, live, N, &r);
    for (int i = 0; i < N; i++) {
        char want[64];
        struct tm tm;
        time_t tt = (time_t)t[i];
        CHECK(gmtime_r(&tt, &tm) != NULL);
        strftime(want, sizeof want,
                 "\"window_start\":\"%Y-%m-%dT%H:%M:%SZ\"", &tm);
        if (strstr(out, want) == NULL) {
            fprintf(stderr, "  %lld: %s not in the answer\n",
                    (long long)t[i], want);
            CHECK(0);
        }
    }
    fl_free(out);
    fl_metric_cache_destroy(c);
    rows_free(live, N);
    CHECK_EQ_INT(fl_mem_used(), base);
}


/* Series are in the order the SQL path gives them: by their dimensions'
 * MAP cast to VARCHAR, which quotes a value that could be read as
 * structure. Checked against DuckDB's own ORDER BY on values that are
 * quoted and values that are not. */
static void
test_series_order_matches_duckdb(void)
{
    static const char *const vals[] = {
        "b", "(a)", "a b", " x", "null", "NULL", "", "=", "it's", "A", "a,b",
        "a\\b", "{", "z", "10.0.0.1", "other",
    };
    enum { N = sizeof vals / sizeof vals[0] };
    static const char *const k[] = { "k" };
    size_t base = fl_mem_used();
    struct fl_metric_value v[N];
    for (size_t i = 0; i < N; i++)
        v[i] = (struct fl_metric_value){ .metric = "q", .n_dims = 1,
            .dim_names = k, .dim_values = &vals[i], .window_start = T0,
            .window_end = T0 + 900, .value = 1, .has_value = 1, .final = 1,
            .exact = 1, .records = 1 };
    struct fl_metric_row *live = rows_of(v, N);
    struct fl_metric_cache *c = fl_metric_cache_create();
    struct fl_mread r = { .metric = "q", .from = T0, .to = T0 + 900,
                          .top = -1 };
    char *out = read_json(c, live, N, &r);

    duckdb_database db;
    duckdb_connection con;
    duckdb_result res;
    CHECK(duckdb_open(NULL, &db) == DuckDBSuccess);
    CHECK(duckdb_connect(db, &con) == DuckDBSuccess);
    CHECK(duckdb_query(con, "CREATE TABLE t (v VARCHAR)", NULL)
          == DuckDBSuccess);
    duckdb_appender app;
    CHECK(duckdb_appender_create(con, NULL, "t", &app) == DuckDBSuccess);
    for (size_t i = 0; i < N; i++) {
        CHECK(duckdb_append_varchar(app, vals[i]) == DuckDBSuccess);
        CHECK(duckdb_appender_end_row(app) == DuckDBSuccess);
    }
    CHECK(duckdb_appender_destroy(&app) == DuckDBSuccess);
    CHECK(duckdb_query(con, "SELECT to_json(MAP(['k'], [v]))::VARCHAR "
                       "FROM t ORDER BY MAP(['k'], [v])::VARCHAR", &res)
          == DuckDBSuccess);
    /* The answer's dimensions objects, in the answer's order. */
    const char *at = out;
    for (idx_t i = 0; i < duckdb_row_count(&res); i++) {
        char *want = duckdb_value_varchar(&res, 0, i), key[96];
        snprintf(key, sizeof key, "\"dimensions\":%s,", want);
        const char *hit = strstr(at, key);
        if (hit == NULL)
            fprintf(stderr, "  %s not next in the answer\n", want);
        CHECK(hit != NULL);
        at = hit + strlen(key);
        duckdb_free(want);
    }
    duckdb_destroy_result(&res);
    duckdb_disconnect(&con);
    duckdb_close(&db);
    fl_free(out);
    fl_metric_cache_destroy(c);
    rows_free(live, N);
    CHECK_EQ_INT(fl_mem_used(), base);
}


/* Keys tell apart what plain joining would not. */
static void
test_cache_keys(void)
{
    size_t base = fl_mem_used();
    char *ab[] = { "a", "bc" }, *abx[] = { "ab", "c" };
    char *n1[] = { "x" }, *nul[] = { NULL }, *dash[] = { "-" },
         *empty[] = { "" };
    char *k[6] = {
        fl_metric_cache_key(1, ab, ab + 1),
        fl_metric_cache_key(1, abx, abx + 1),
        fl_metric_cache_key(1, n1, nul),
        fl_metric_cache_key(1, n1, dash),
        fl_metric_cache_key(1, n1, empty),
        fl_metric_cache_key(0, NULL, NULL),
    };
    for (int i = 0; i < 6; i++)
        CHECK(k[i] != NULL);
    for (int i = 0; i < 6; i++)
        for (int j = i + 1; j < 6; j++)
            CHECK(strcmp(k[i], k[j]) != 0);
    CHECK_EQ_STR(k[5], "");
    for (int i = 0; i < 6; i++)
        fl_free(k[i]);
    CHECK_EQ_INT(fl_mem_used(), base);
}


FL_TEST_MAIN(
    FL_TEST(test_json_double_matches_duckdb),
    FL_TEST(test_cache_reads),
    FL_TEST(test_cache_sync),
    FL_TEST(test_cache_keys),
    FL_TEST(test_window_times),
    FL_TEST(test_series_order_matches_duckdb),
)
