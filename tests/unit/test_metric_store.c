/* SPDX-License-Identifier: MIT
 *
 * test_metric_store.c -- the metric store (src/metrics/metric_store.c)
 * and the SQL that reads it (src/query/query.c, src/query/athena.c):
 * owned row copies (with allocation failures), final Parquet files read
 * back column by column, the state file's round trip and its damaged
 * first lines, cleanup after a crash, the committed file list, the views
 * vpc_flow_logs.metrics and vpc_flow_logs.alarm_history, the SQL
 * function cidr_contains, and the durable-write helpers of
 * src/core/fl_fs.c the store is built on.
 *
 * Archives live under /dev/shm when it is writable (fsync is free there)
 * and /tmp otherwise. Every test ends with fl_mem_used() back where it
 * began.
 */
#include "../../src/core/fl_config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "query_check.h"
#include "metrics/metric_store.h"
#include "core/fl_error.h"
#include "core/fl_fs.h"
#include "core/fl_mem.h"
#include "query/query.h"
#include "stream/stream.h"


/* ---------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------- */

static void
setup(void)
{
    fl_test_dir_setup("mstore");
}


static void
write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, data, len) == (ssize_t)len);
    CHECK(close(fd) == 0);
}


/* The whole file at path (free() it); *len its size. */
static char *
read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    char *buf = malloc(65536);
    CHECK(buf != NULL);
    *len = fread(buf, 1, 65535, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}


static int
exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}


/* The names in dir, sorted, joined by spaces (free() it). */
static char *
list_dir(const char *dir)
{
    char names[64][128];
    size_t n = 0;
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        CHECK(n < 64);
        CHECK(strlen(e->d_name) < sizeof names[0]);
        memcpy(names[n++], e->d_name, strlen(e->d_name) + 1);
    }
    closedir(d);
    qsort(names, n, sizeof names[0],
          (int (*)(const void *, const void *))strcmp);
    char *out = malloc(64 * 130 + 1);
    CHECK(out != NULL);
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(out + o, 64 * 130 + 1 - o, "%s%s",
                              i ? " " : "", names[i]);
    return out;
}


static struct fl_query *
open_ok(const char *dir)
{
    struct fl_query *q = NULL;
    char *err = NULL;
    int rc = fl_query_open(dir, &q, &err);
    if (rc != 0) {
        fprintf(stderr, "  fl_query_open(%s) = %d: %s\n", dir, rc,
                err ? err : "?");
        exit(1);
    }
    CHECK(q != NULL);
    return q;
}


/* A new test folder holding an empty archive "a", open for queries: the
 * start of the tests of the SQL views. */
static struct fl_query *
open_empty(void)
{
    setup();
    CHECK_EQ_INT(fl_fs_mkdirs(fl_test_at("a")), 0);
    return open_ok(fl_test_at("a"));
}


/* Runs sql, its CSV output in *out (free() it) and its error in *err
 * (fl_free it, NULL when none); returns fl_query_run's code. */
static int
run_sql(struct fl_query *q, const char *sql, char **out, char **err)
{
    size_t len = 0;
    *out = NULL;
    *err = NULL;
    FILE *f = open_memstream(out, &len);
    CHECK(f != NULL);
    int rc = fl_query_run(q, sql, FL_OUTPUT_CSV, f, err);
    CHECK(fclose(f) == 0);
    return rc;
}


/* Runs sql that must fail with FL_EDB; returns its message (fl_free). */
static char *
run_err(struct fl_query *q, const char *sql)
{
    char *buf, *err;
    int rc = run_sql(q, sql, &buf, &err);
    free(buf);
    CHECK_EQ_INT(rc, FL_EDB);
    CHECK(err != NULL);
    return err;
}


/* The rows every test writes: two dimensions (one NULL), none, and a
 * provisional value without a value. 1767225600 = 2026-01-01 00:00 UTC. */
static const char *const dims2_names[] = { "protocol", "action" };
static const char *const dims2_values[] = { "6", NULL };
static const char *const dims1_names[] = { "protocol" };
static const char *const dims1_values_17[] = { "17" };

static const struct fl_metric_value sample_values[] = {
    { "rejected_packets_by_protocol", 2, dims2_names, dims2_values,
      1767225600, 1767226500, 42.5, 1, 1, 1, 7 },
    { "records_in", 0, NULL, NULL,
      1767226500, 1767227400, 0.0, 0, 1, 0, UINT64_MAX },
    { "rejected_packets_by_protocol", 1, dims1_names, dims1_values_17,
      1767227400, 1767228300, -3.25, 1, 0, 1, 0 },
};
#define N_SAMPLES (sizeof sample_values / sizeof sample_values[0])


static void
copy_rows(const struct fl_metric_value *v, size_t n, struct fl_metric_row *out)
{
    for (size_t i = 0; i < n; i++)
        CHECK_EQ_INT(fl_metric_row_copy(&v[i], &out[i]), 0);
}


static void
free_rows(struct fl_metric_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fl_metric_row_free(&rows[i]);
}


/* Writes final-<k>.parquet with one row: metric name, protocol, value. */
static void
write_one(uint64_t k, const char *metric, const char *protocol, double value)
{
    const char *const names[] = { "protocol" };
    const char *const values[] = { protocol };
    struct fl_metric_value v = { metric, 1, names, values, 1767225600,
                                 1767226500, value, 1, 1, 1, 1 };
    struct fl_metric_row r;
    char *err = NULL;
    CHECK_EQ_INT(fl_metric_row_copy(&v, &r), 0);
    int rc = fl_metric_store_write(fl_test_at("a"), k, &r, 1, NULL, 0, &err);
    if (rc != 0)
        fprintf(stderr, "  fl_metric_store_write = %d: %s\n", rc,
                err ? err : "?");
    CHECK_EQ_INT(rc, 0);
    CHECK(err == NULL);
    fl_metric_row_free(&r);
}


/* ---------------------------------------------------------------------
 * Row copies
 * ------------------------------------------------------------------- */

static void
test_row_copy(void)
{
    fl_test_mem_base = fl_mem_used();
    struct fl_metric_row r;

    CHECK_EQ_INT(fl_metric_row_copy(&sample_values[0], &r), 0);
    CHECK_EQ_STR(r.metric, "rejected_packets_by_protocol");
    CHECK(r.metric != sample_values[0].metric);
    CHECK_EQ_INT(r.n_dims, 2);
    CHECK_EQ_STR(r.dim_names[0], "protocol");
    CHECK_EQ_STR(r.dim_names[1], "action");
    CHECK(r.dim_names[0] != dims2_names[0]);
    CHECK_EQ_STR(r.dim_values[0], "6");
    CHECK(r.dim_values[0] != dims2_values[0]);
    CHECK(r.dim_values[1] == NULL);
    CHECK_EQ_INT(r.window_start, 1767225600);
    CHECK_EQ_INT(r.window_end, 1767226500);
    CHECK(r.value == 42.5);
    CHECK_EQ_INT(r.has_value, 1);
    CHECK_EQ_INT(r.final, 1);
    CHECK_EQ_INT(r.exact, 1);
    CHECK_EQ_INT(r.records, 7);
    fl_metric_row_free(&r);
    CHECK(r.metric == NULL && r.dim_names == NULL && r.dim_values == NULL);
    CHECK_EQ_INT(r.n_dims, 0);
    fl_metric_row_free(&r);           /* freed rows are empty: again is fine */
    fl_metric_row_free(NULL);

    CHECK_EQ_INT(fl_metric_row_copy(&sample_values[1], &r), 0);
    CHECK_EQ_STR(r.metric, "records_in");
    CHECK_EQ_INT(r.n_dims, 0);
    CHECK(r.dim_names == NULL && r.dim_values == NULL);
    CHECK_EQ_INT(r.has_value, 0);
    CHECK_EQ_INT(r.final, 1);
    CHECK_EQ_INT(r.exact, 0);
    CHECK(r.records == UINT64_MAX);
    fl_metric_row_free(&r);
    CHECK_EQ_INT(fl_mem_used(), fl_test_mem_base);
}


/* Every allocation of a copy fails in turn: -ENOMEM, an empty row, no
 * leak; then the copy succeeds. */
static void
test_row_copy_alloc_failures(void)
{
    fl_test_mem_base = fl_mem_used();
    for (size_t s = 0; s < 2; s++) {
        const struct fl_metric_value *v = &sample_values[s];
        /* 2 dims, one NULL: metric + 2 arrays + 2 names + 1 value = 6;
         * no dims: the metric only. */
        uint64_t want_allocs = s == 0 ? 6 : 1;
        int done = 0;
        for (uint64_t nth = 1; !done; nth++) {
            CHECK(nth <= want_allocs + 1);
            struct fl_metric_row r;
            memset(&r, 0x5a, sizeof r);
            fl_mem_fail_after(nth);
            int rc = fl_metric_row_copy(v, &r);
            uint64_t attempts = fl_mem_fail_after(0);
            if (rc == 0) {
                CHECK_EQ_INT(nth, want_allocs + 1);
                CHECK_EQ_INT(attempts, want_allocs);
                CHECK_EQ_STR(r.metric, v->metric);
                CHECK_EQ_INT(r.n_dims, v->n_dims);
                fl_metric_row_free(&r);
                done = 1;
            } else {
                CHECK_EQ_INT(rc, FL_ENOMEM);
                CHECK(attempts >= nth);
                CHECK(r.metric == NULL && r.dim_names == NULL
                      && r.dim_values == NULL);
                CHECK_EQ_INT(r.n_dims, 0);
            }
            CHECK_EQ_INT(fl_mem_used(), fl_test_mem_base);
        }
    }
}


/* ---------------------------------------------------------------------
 * Final files
 * ------------------------------------------------------------------- */

static void
test_write_and_read_back(void)
{
    setup();
    struct fl_metric_row rows[N_SAMPLES];
    char *err = NULL;
    copy_rows(sample_values, N_SAMPLES, rows);
    CHECK_EQ_INT(fl_fs_mkdirs(fl_test_at("a")), 0);
    CHECK_EQ_INT(fl_metric_store_write(fl_test_at("a"), 3, rows, N_SAMPLES, NULL, 0, &err), 0);
    CHECK(err == NULL);
    char *names = list_dir(fl_test_at("a/_metrics"));
    CHECK_EQ_STR(names, "final-3.parquet");
    free(names);
    CHECK_EQ_INT(fl_metric_store_last(fl_test_at("a")), 3);

    struct fl_query *q = open_ok(fl_test_at("a"));
    char sql[1024];
    snprintf(sql, sizeof sql, "DESCRIBE SELECT * FROM read_parquet('%s')",
             fl_test_at("a/_metrics/final-3.parquet"));
    check_csv(q, sql,
        "column_name,column_type,null,key,default,extra\n"
        "metric,VARCHAR,YES,,,\n"
        "dim_names,VARCHAR[],YES,,,\n"
        "dim_values,VARCHAR[],YES,,,\n"
        "window_start,TIMESTAMP,YES,,,\n"
        "window_end,TIMESTAMP,YES,,,\n"
        "value,DOUBLE,YES,,,\n"
        "final,BOOLEAN,YES,,,\n"
        "exact,BOOLEAN,YES,,,\n"
        "records,UBIGINT,YES,,,\n");
    snprintf(sql, sizeof sql,
             "SELECT metric, len(dim_names) AS nn, dim_names[1] AS n1,"
             " dim_names[2] AS n2, dim_values[1] AS v1,"
             " dim_values[2] IS NULL AS v2_null, len(dim_values) AS nv,"
             " strftime(window_start, '%%Y-%%m-%%d %%H:%%M:%%S') AS ws,"
             " epoch(window_end)::BIGINT AS we,"
             " coalesce(value::VARCHAR, 'NULL') AS value, final, exact,"
             " records::VARCHAR AS records"
             " FROM read_parquet('%s') ORDER BY window_start",
             fl_test_at("a/_metrics/final-3.parquet"));
    check_csv(q, sql,
        "metric,nn,n1,n2,v1,v2_null,nv,ws,we,value,final,exact,records\n"
        "rejected_packets_by_protocol,2,protocol,action,6,true,2,"
        "2026-01-01 00:00:00,1767226500,42.5,true,true,7\n"
        "records_in,0,,,,true,0,2026-01-01 00:15:00,1767227400,NULL,true,"
        "false,18446744073709551615\n"
        "rejected_packets_by_protocol,1,protocol,,17,true,1,"
        "2026-01-01 00:30:00,1767228300,-3.25,false,true,0\n");
    fl_query_close(q);
    free_rows(rows, N_SAMPLES);

    /* No rows is a valid (empty) file. */
    CHECK_EQ_INT(fl_metric_store_write(fl_test_at("a"), 4, NULL, 0, NULL, 0, &err), 0);
    CHECK(err == NULL);
    names = list_dir(fl_test_at("a/_metrics"));
    CHECK_EQ_STR(names, "final-3.parquet final-4.parquet");
    free(names);
    q = open_ok(fl_test_at("a"));
    snprintf(sql, sizeof sql, "SELECT count(*) AS n FROM read_parquet('%s')",
             fl_test_at("a/_metrics/final-4.parquet"));
    check_csv(q, sql, "n\n0\n");
    fl_query_close(q);
    fl_test_dir_teardown();
}


static void
test_write_errors(void)
{
    setup();
    struct fl_metric_row r;
    char *err = NULL;
    copy_rows(sample_values, 1, &r);
    /* The archive is a file: _metrics cannot be made. */
    write_file(fl_test_at("file"), "x", 1);
    CHECK_EQ_INT(fl_metric_store_write(fl_test_at("file"), 1, &r, 1, NULL, 0, &err), -ENOTDIR);
    CHECK(err != NULL);
    CHECK_EQ_STR(err, fl_test_at("file/_metrics"));
    fl_free(err);
    err = NULL;
    /* The final name is taken by a directory: the rename fails, the
     * temporary file is removed, the message names the file. */
    CHECK_EQ_INT(fl_fs_mkdirs(fl_test_at("b/_metrics/final-1.parquet/x")), 0);
    int rc = fl_metric_store_write(fl_test_at("b"), 1, &r, 1, NULL, 0, &err);
    CHECK(rc == -EISDIR || rc == -ENOTEMPTY || rc == -EEXIST);
    CHECK_EQ_STR(err, fl_test_at("b/_metrics/final-1.parquet"));
    fl_free(err);
    CHECK(!exists(fl_test_at("b/_metrics/final-1.parquet.tmp")));
    fl_metric_row_free(&r);
    fl_test_dir_teardown();
}


/* ---------------------------------------------------------------------
 * The state file
 * ------------------------------------------------------------------- */

/* save_state with the live files given as "no.level" pairs. */
static void
save_live(const char *dir, uint64_t seq, const char *const *spec, size_t n)
{
    struct fl_metric_file live[32];
    CHECK(n <= 32);
    for (size_t i = 0; i < n; i++) {
        unsigned long long no;
        unsigned level;
        CHECK_EQ_INT(sscanf(spec[i], "%llu.%u", &no, &level), 2);
        live[i].no = no;
        live[i].level = level;
    }
    CHECK_EQ_INT(fl_metric_store_save_state(dir, live, n, seq, NULL, 0), 0);
}


static void
test_state_round_trip(void)
{
    setup();
    uint64_t seq = 99;
    unsigned char *blob = (unsigned char *)"untouched";
    struct fl_metric_file *live = (struct fl_metric_file *)1;
    size_t len = 99, n_live = 99;
    static const unsigned char bytes[] = { 'a', 0, 0xff, '\n', 'z', '\r' };
    static const struct fl_metric_file two[] = { { 5, 0 }, { 9, 2 } };

    /* No state yet (not even the archive's folder). */
    CHECK_EQ_INT(fl_metric_store_load_state(fl_test_at("a"), &seq, &live, &n_live,
                                            &blob, &len), -ENOENT);
    CHECK(blob == NULL);
    CHECK(live == NULL);
    CHECK_EQ_INT(len, 0);
    CHECK_EQ_INT(n_live, 0);

    CHECK_EQ_INT(fl_metric_store_save_state(fl_test_at("a"), two, 2, 77, bytes,
                                            sizeof bytes), 0);
    size_t flen;
    char *raw = read_whole(fl_test_at("a/_metrics/state"), &flen);
    static const char head[] = "flowlake-metrics-state 1 77 2 5.0 9.2\n";
    CHECK_EQ_INT(flen, strlen(head) + sizeof bytes);
    CHECK(memcmp(raw, head, strlen(head)) == 0);
    CHECK(memcmp(raw + strlen(head), bytes, sizeof bytes) == 0);
    free(raw);
    CHECK_EQ_INT(fl_metric_store_load_state(fl_test_at("a"), &seq, &live, &n_live,
                                            &blob, &len), 0);
    CHECK_EQ_INT(seq, 77);
    CHECK_EQ_INT(n_live, 2);
    CHECK_EQ_INT(live[0].no, 5);
    CHECK_EQ_INT(live[0].level, 0);
    CHECK_EQ_INT(live[1].no, 9);
    CHECK_EQ_INT(live[1].level, 2);
    CHECK_EQ_INT(len, sizeof bytes);
    CHECK(memcmp(blob, bytes, sizeof bytes) == 0);
    fl_free(blob);
    fl_free(live);

    /* Replaced whole; no files, an empty blob, the largest numbers. */
    static const struct fl_metric_file big_no[] = { { UINT64_MAX, 63 } };
    CHECK_EQ_INT(fl_metric_store_save_state(fl_test_at("a"), NULL, 0, UINT64_MAX,
                                            NULL, 0), 0);
    CHECK_EQ_INT(fl_metric_store_load_state(fl_test_at("a"), &seq, &live, &n_live,
                                            &blob, &len), 0);
    CHECK(seq == UINT64_MAX);
    CHECK_EQ_INT(n_live, 0);
    CHECK(live == NULL);
    CHECK_EQ_INT(len, 0);
    fl_free(blob);
    CHECK_EQ_INT(fl_metric_store_save_state(fl_test_at("a"), big_no, 1, 0, NULL, 0),
                 0);
    CHECK_EQ_INT(fl_metric_store_load_state(fl_test_at("a"), &seq, &live, &n_live,
                                            &blob, &len), 0);
    CHECK_EQ_INT(n_live, 1);
    CHECK(live[0].no == UINT64_MAX);
    CHECK_EQ_INT(live[0].level, 63);
    fl_free(live);
    fl_free(blob);
    char *names = list_dir(fl_test_at("a/_metrics"));
    CHECK_EQ_STR(names, "state");
    free(names);

    /* A blob bigger than the reader's first buffer. */
    size_t big = 200000;
    unsigned char *b = malloc(big);
    CHECK(b != NULL);
    for (size_t i = 0; i < big; i++)
        b[i] = (unsigned char)(i * 131 + 7);
    CHECK_EQ_INT(fl_metric_store_save_state(fl_test_at("a"), two, 2, 3, b, big), 0);
    CHECK_EQ_INT(fl_metric_store_load_state(fl_test_at("a"), &seq, &live, &n_live,
                                            &blob, &len), 0);
    CHECK_EQ_INT(seq, 3);
    CHECK_EQ_INT(n_live, 2);
    CHECK_EQ_INT(len, big);
    CHECK(memcmp(blob, b, big) == 0);
    fl_free(blob);
    fl_free(live);
    free(b);
    fl_test_dir_teardown();
}


static void
test_state_corrupt(void)
{
    static const char *const bad[] = {
        "",                                          /* empty file */
        "flowlake-metrics-state 1 77 0",             /* no newline */
        "flowlake-metrics-state 2 77 0\n",           /* another version */
        "flowlake-metrix-state 1 77 0\n",            /* wrong magic */
        "flowlake-metrics-state 1 x 0\n",
        "flowlake-metrics-state 1 77 y\n",
        "flowlake-metrics-state 1 77\n",             /* count missing */
        "flowlake-metrics-state 1 77 \n",            /* count empty */
        "flowlake-metrics-state 1  0\n",             /* seq empty */
        "flowlake-metrics-state 1 -1 0\n",           /* a sign is no digit */
        "flowlake-metrics-state 1 77 +0\n",
        "flowlake-metrics-state 1 77 1\n",           /* a file missing */
        "flowlake-metrics-state 1 77 1 3\n",         /* no level */
        "flowlake-metrics-state 1 77 1 3.\n",
        "flowlake-metrics-state 1 77 1 .0\n",
        "flowlake-metrics-state 1 77 1 0.0\n",       /* file 0 */
        "flowlake-metrics-state 1 77 1 3.64\n",      /* level too high */
        "flowlake-metrics-state 1 77 1 3.0 4.0\n",   /* one too many */
        "flowlake-metrics-state 1 77 2 3.0  4.0\n",
        "flowlake-metrics-state 1 77 1 3.0 \n",
        "flowlake-metrics-state 1 77 9999999 3.0\n", /* count > line */
        "flowlake-metrics-state 1 99999999999999999999 0\n",  /* > 2^64 */
        "flowlake-metrics-state 1 77 0\r\n",
        "\nflowlake-metrics-state 1 77 0\n",
    };
    setup();
    CHECK_EQ_INT(fl_fs_mkdirs(fl_test_at("a/_metrics")), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t seq = 12;
        unsigned char *blob = NULL;
        struct fl_metric_file *live = NULL;
        size_t len = 13, n_live = 14;
        write_file(fl_test_at("a/_metrics/state"), bad[i], strlen(bad[i]));
        int rc = fl_metric_store_load_state(fl_test_at("a"), &seq, &live, &n_live,
                                            &blob, &len);
        if (rc != FL_ECORRUPT)
            fprintf(stderr, "  state '%s': %d\n", bad[i], rc);
        CHECK_EQ_INT(rc, FL_ECORRUPT);
        CHECK(blob == NULL);
        CHECK(live == NULL);
        CHECK_EQ_INT(len, 0);
        CHECK_EQ_INT(n_live, 0);
        CHECK_EQ_INT(seq, 12);
        /* A damaged state counts no file. */
        char **files = NULL;
        size_t n = 9;
        write_file(fl_test_at("a/_metrics/final-3.parquet"), "x", 1);
        CHECK_EQ_INT(fl_metric_store_files(fl_test_at("a"), &files, &n), 0);
        CHECK_EQ_INT(n, 0);
        fl_free(files);
    }
    /* A good line with a blob after it still loads. */
    static const char good[] = "flowlake-metrics-state 1 1 1 3.0\nxyz";
    write_file(fl_test_at("a/_metrics/state"), good, strlen(good));
    uint64_t seq;
    unsigned char *blob = NULL;
    struct fl_metric_file *live = NULL;
    size_t len, n_live;
    CHECK_EQ_INT(fl_metric_store_load_state(fl_test_at("a"), &seq, &live, &n_live,
                                            &blob, &len), 0);
    CHECK_EQ_INT(seq, 1);
    CHECK_EQ_INT(n_live, 1);
    CHECK_EQ_INT(live[0].no, 3);
    CHECK_EQ_MEM((char *)blob, len, "xyz");
    fl_free(blob);
    fl_free(live);
    fl_test_dir_teardown();
}


/* ---------------------------------------------------------------------
 * Cleanup, last, the live files, merging
 * ------------------------------------------------------------------- */

static void
test_cleanup_and_last(void)
{
    static const char *const names[] = {
        "final-1.parquet", "final-2.parquet", "final-3.parquet",
        "final-10.parquet", "final-1.parquet.tmp", "final-12.parquet.tmp",
        "final-0.parquet", "final-x.parquet", "other.txt",
    };
    static const struct fl_metric_file live[] = { { 1, 0 }, { 10, 1 } };
    setup();
    /* No folder at all: nothing to do. */
    CHECK_EQ_INT(fl_metric_store_cleanup(fl_test_at("a"), NULL, 0), 0);
    CHECK_EQ_INT(fl_metric_store_last(fl_test_at("a")), 0);
    CHECK_EQ_INT(fl_fs_mkdirs(fl_test_at("a/_metrics")), 0);
    CHECK_EQ_INT(fl_metric_store_last(fl_test_at("a")), 0);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "a/_metrics/%s", names[i]);
        write_file(fl_test_at(rel), "x", 1);
    }
    /* The highest whole file, not the temporary one. */
    CHECK_EQ_INT(fl_metric_store_last(fl_test_at("a")), 10);
    /* Not live: final-2, final-3; temporaries: both. */
    CHECK_EQ_INT(fl_metric_store_cleanup(fl_test_at("a"), live, 2), 4);
    char *got = list_dir(fl_test_at("a/_metrics"));
    CHECK_EQ_STR(got, "final-0.parquet final-1.parquet final-10.parquet "
                 "final-x.parquet other.txt");
    free(got);
    CHECK_EQ_INT(fl_metric_store_last(fl_test_at("a")), 10);
    CHECK_EQ_INT(fl_metric_store_cleanup(fl_test_at("a"), live, 2), 0);
    CHECK_EQ_INT(fl_metric_store_cleanup(fl_test_at("a"), NULL, 0), 2);
    CHECK_EQ_INT(fl_metric_store_last(fl_test_at("a")), 0);
    fl_test_dir_teardown();
}


static void
test_live_files(void)
{
    static const char *const scattered[] = {
        "10.0", "2.1", "33.0", "7.2", "1.3", "19.0", "4.0", "25.1", "8.0",
        "3.0", "12.0", "5.0", "6.0", "9.0", "11.0", "13.0", "14.0", "15.0",
        "16.0", "17.0",
    };
    setup();
    char **files = (char **)1;
    size_t n = 9;
    /* No folder, then files without a state: none counts. */
    CHECK_EQ_INT(fl_metric_store_files(fl_test_at("a"), &files, &n), 0);
    CHECK(files == NULL);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(fl_fs_mkdirs(fl_test_at("a/_metrics")), 0);
    write_file(fl_test_at("a/_metrics/final-5.parquet"), "x", 1);
    CHECK_EQ_INT(fl_metric_store_files(fl_test_at("a"), &files, &n), 0);
    CHECK_EQ_INT(n, 0);
    fl_free(files);

    /* Whatever the state's order, ascending by number (2 before 10). */
    save_live(fl_test_at("a"), 0, scattered, 20);
    CHECK_EQ_INT(fl_metric_store_files(fl_test_at("a"), &files, &n), 0);
    CHECK_EQ_INT(n, 20);
    static const int want[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
                                14, 15, 16, 17, 19, 25, 33 };
    for (size_t i = 0; i < n; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "a/_metrics/final-%d.parquet", want[i]);
        CHECK_EQ_STR(files[i], fl_test_at(rel));
        fl_free(files[i]);
    }
    fl_free(files);

    /* No live file: none. */
    save_live(fl_test_at("a"), 0, NULL, 0);
    CHECK_EQ_INT(fl_metric_store_files(fl_test_at("a"), &files, &n), 0);
    CHECK_EQ_INT(n, 0);
    fl_free(files);
    fl_test_dir_teardown();
}


/* Every allocation failure gives -ENOMEM and no list, never a shorter
 * list that would hide saved values from SQL. */
static void
test_live_files_alloc_failures(void)
{
    static const char *const twenty[] = {
        "1.0", "2.0", "3.0", "4.0", "5.0", "6.0", "7.0", "8.0", "9.0",
        "10.0", "11.0", "12.0", "13.0", "14.0", "15.0", "16.0", "17.0",
        "18.0", "19.0", "20.0",
    };
    setup();
    save_live(fl_test_at("a"), 0, twenty, 20);
    int done = 0;
    for (uint64_t nth = 1; nth < 200 && !done; nth++) {
        char **files = NULL;
        size_t n = 0;
        fl_mem_fail_after(nth);
        int rc = fl_metric_store_files(fl_test_at("a"), &files, &n);
        fl_mem_fail_after(0);
        if (rc == 0) {
            CHECK_EQ_INT(n, 20);
            for (size_t i = 0; i < n; i++)
                fl_free(files[i]);
            done = 1;
        } else {
            CHECK_EQ_INT(rc, FL_ENOMEM);
            CHECK(files == NULL);
            CHECK_EQ_INT(n, 0);
        }
        fl_free(files);
        CHECK_EQ_INT(fl_mem_used(), fl_test_mem_base);
    }
    CHECK(done);
    fl_test_dir_teardown();
}


/* The merge policy: levels of FANOUT files. */
static void
test_merge_plan(void)
{
    struct fl_metric_file live[40] = { { 0, 0 } };
    size_t merge[40], n = 0;
    unsigned level = 99;
    CHECK_EQ_INT(FL_METRIC_STORE_FANOUT, 10);
    /* Nothing live, no rows: nothing due. */
    CHECK_EQ_INT(fl_metric_store_plan(live, 0, 0, &level, merge), 0);
    CHECK_EQ_INT(level, 0);
    /* Rows with 8 level-0 files: a ninth, alone. */
    for (; n < 8; n++)
        live[n] = (struct fl_metric_file) { n + 1, 0 };
    CHECK_EQ_INT(fl_metric_store_plan(live, n, 1, &level, merge), 0);
    CHECK_EQ_INT(level, 0);
    /* With 9, the tenth takes them in: one level-1 file. */
    live[n] = (struct fl_metric_file) { n + 1, 0 };
    n++;
    CHECK_EQ_INT(fl_metric_store_plan(live, n, 1, &level, merge), 9);
    CHECK_EQ_INT(level, 1);
    for (size_t i = 0; i < 9; i++)
        CHECK_EQ_INT(merge[i], i);
    /* Without rows, level 0 never merges. */
    CHECK_EQ_INT(fl_metric_store_plan(live, n, 0, &level, merge), 0);
    /* Ten level-1 files among others: merged into a level-2 one, and only
     * those (indexes ascending). */
    n = 0;
    live[n++] = (struct fl_metric_file) { 1, 2 };
    for (int i = 0; i < 10; i++) {
        live[n++] = (struct fl_metric_file) { 10 + (uint64_t)i, 1 };
        if (i % 3 == 0)
            live[n++] = (struct fl_metric_file) { 100 + (uint64_t)i, 0 };
    }
    CHECK_EQ_INT(fl_metric_store_plan(live, n, 0, &level, merge), 10);
    CHECK_EQ_INT(level, 2);
    for (size_t i = 0; i < 10; i++) {
        CHECK_EQ_INT(live[merge[i]].level, 1);
        CHECK(i == 0 || merge[i] > merge[i - 1]);
    }
    /* With rows it is level 0's turn first (4 there: no merge). */
    CHECK_EQ_INT(fl_metric_store_plan(live, n, 1, &level, merge), 0);
    CHECK_EQ_INT(level, 0);
}


/* A merged file holds the merged files' rows and the new ones, sorted by
 * metric (then window and dimensions), as the file is read in that order. */
static void
test_write_merges(void)
{
    setup();
    CHECK_EQ_INT(fl_fs_mkdirs(fl_test_at("a")), 0);
    write_one(1, "m_one", "6", 1.5);
    write_one(2, "m_two", "17", 2.5);
    const char *const names[] = { "protocol" };
    const char *const values[] = { "1" };
    struct fl_metric_value v = { "m_three", 1, names, values, 1767225600,
                                 1767226500, 3.5, 1, 1, 1, 1 };
    struct fl_metric_row r;
    char *err = NULL;
    static const uint64_t merge[] = { 1, 2 };
    CHECK_EQ_INT(fl_metric_row_copy(&v, &r), 0);
    CHECK_EQ_INT(fl_metric_store_write(fl_test_at("a"), 3, &r, 1, merge, 2, &err), 0);
    CHECK(err == NULL);
    fl_metric_row_free(&r);
    save_live(fl_test_at("a"), 5, (const char *const[]) { "3.1" }, 1);
    static const struct fl_metric_file live[] = { { 3, 1 } };
    CHECK_EQ_INT(fl_metric_store_cleanup(fl_test_at("a"), live, 1), 2);
    struct fl_query *q = open_ok(fl_test_at("a"));
    check_csv(q, "SELECT metric, dimensions['protocol'] AS p, value "
              "FROM vpc_flow_logs.metrics",
              "metric,p,value\n"
              "m_one,6,1.5\n"
              "m_three,1,3.5\n"
              "m_two,17,2.5\n");
    fl_query_close(q);
    /* A merged file that is missing is an error naming it. */
    static const uint64_t gone[] = { 1 };
    CHECK_EQ_INT(fl_metric_row_copy(&v, &r), 0);
    CHECK_EQ_INT(fl_metric_store_write(fl_test_at("a"), 4, &r, 1, gone, 1, &err),
                 FL_EDB);
    CHECK(err != NULL && strstr(err, "final-1.parquet") != NULL);
    fl_free(err);
    fl_metric_row_free(&r);
    char *got = list_dir(fl_test_at("a/_metrics"));
    CHECK_EQ_STR(got, "final-3.parquet state");
    free(got);
    fl_test_dir_teardown();
}


/* ---------------------------------------------------------------------
 * SQL: vpc_flow_logs.metrics
 * ------------------------------------------------------------------- */

static void
test_metrics_view(void)
{
    setup();
    CHECK_EQ_INT(fl_fs_mkdirs(fl_test_at("a")), 0);
    write_one(1, "m_one", "6", 1.5);
    write_one(2, "m_two", "17", 2.5);
    write_one(3, "m_uncommitted", "1", 3.5);
    save_live(fl_test_at("a"), 40, (const char *const[]) { "1.0", "2.0" }, 2);

    struct fl_query *q = open_ok(fl_test_at("a"));
    static const char sql[] =
        "SELECT metric, dimensions['protocol'] AS protocol, value, final "
        "FROM vpc_flow_logs.metrics ORDER BY metric, value";
    check_csv(q, sql,
              "metric,protocol,value,final\n"
              "m_one,6,1.5,true\n"
              "m_two,17,2.5,true\n");

    /* In-memory rows join the view... */
    struct fl_metric_row rows[N_SAMPLES];
    char *err = NULL;
    copy_rows(sample_values, N_SAMPLES, rows);
    CHECK_EQ_INT(fl_query_set_metrics(q, rows, N_SAMPLES, &err), 0);
    CHECK(err == NULL);
    check_csv(q, sql,
              "metric,protocol,value,final\n"
              "m_one,6,1.5,true\n"
              "m_two,17,2.5,true\n"
              "records_in,,,true\n"
              "rejected_packets_by_protocol,17,-3.25,false\n"
              "rejected_packets_by_protocol,6,42.5,true\n");
    check_csv(q, "SELECT cardinality(dimensions) AS n, "
              "dimensions['action'] IS NULL AS action_null, "
              "strftime(window_start, '%H:%M') AS ws, "
              "strftime(window_end, '%H:%M') AS we, exact, "
              "records::VARCHAR AS records FROM vpc_flow_logs.metrics "
              "WHERE NOT starts_with(metric, 'm_') ORDER BY window_start",
              "n,action_null,ws,we,exact,records\n"
              "2,true,00:00,00:15,true,7\n"
              "0,true,00:15,00:30,false,18446744073709551615\n"
              "1,true,00:30,00:45,true,0\n");
    /* ... and a second call replaces them (here: with one row). */
    CHECK_EQ_INT(fl_query_set_metrics(q, &rows[2], 1, &err), 0);
    check_csv(q, sql,
              "metric,protocol,value,final\n"
              "m_one,6,1.5,true\n"
              "m_two,17,2.5,true\n"
              "rejected_packets_by_protocol,17,-3.25,false\n");
    /* ... or with none. */
    CHECK_EQ_INT(fl_query_set_metrics(q, NULL, 0, &err), 0);
    check_csv(q, "SELECT count(*) AS n FROM vpc_flow_logs.metrics", "n\n2\n");

    /* A file committed later is seen by the next statement. */
    save_live(fl_test_at("a"), 41, (const char *const[]) { "1.0", "2.0", "3.0" }, 3);
    check_csv(q, "SELECT string_agg(metric, ' ' ORDER BY metric) AS m "
              "FROM metrics", "m\nm_one m_two m_uncommitted\n");
    fl_query_close(q);
    free_rows(rows, N_SAMPLES);
    fl_test_dir_teardown();
}


static void
test_metrics_view_empty(void)
{
    struct fl_query *q = open_empty();
    static const char want_columns[] =
        "column_name,column_type\n"
        "metric,VARCHAR\n"
        "dimensions,\"MAP(VARCHAR, VARCHAR)\"\n"
        "window_start,TIMESTAMP\n"
        "window_end,TIMESTAMP\n"
        "value,DOUBLE\n"
        "final,BOOLEAN\n"
        "exact,BOOLEAN\n"
        "records,UBIGINT\n";
    static const char describe[] =
        "SELECT column_name, column_type FROM (DESCRIBE vpc_flow_logs.metrics)";
    check_csv(q, describe, want_columns);
    check_csv(q, "SELECT count(*) AS n FROM vpc_flow_logs.metrics", "n\n0\n");
    /* Uncommitted files only: still empty, same columns. */
    write_one(1, "m_one", "6", 1.5);
    check_csv(q, describe, want_columns);
    check_csv(q, "SELECT count(*) AS n FROM vpc_flow_logs.metrics", "n\n0\n");
    fl_query_close(q);
    fl_test_dir_teardown();
}


/* ---------------------------------------------------------------------
 * SQL: vpc_flow_logs.alarm_history
 * ------------------------------------------------------------------- */

static void
test_alarm_history_view(void)
{
    struct fl_query *q = open_empty();
    static const char describe[] =
        "SELECT column_name, column_type FROM "
        "(DESCRIBE vpc_flow_logs.alarm_history)";
    static const char want_columns[] =
        "column_name,column_type\n"
        "time,TIMESTAMP\n"
        "alarm,VARCHAR\n"
        "metric,VARCHAR\n"
        "dimensions,\"MAP(VARCHAR, VARCHAR)\"\n"
        "old_state,VARCHAR\n"
        "new_state,VARCHAR\n"
        "reason,VARCHAR\n"
        "window_start,TIMESTAMP\n"
        "window_end,TIMESTAMP\n"
        "threshold,DOUBLE\n"
        "values,DOUBLE[]\n";
    check_csv(q, describe, want_columns);
    check_csv(q, "SELECT count(*) AS n FROM vpc_flow_logs.alarm_history",
              "n\n0\n");

    /* The history appears: the next statement reads it. */
    static const char history[] =
        "{\"time\":\"2026-11-29T19:00:05Z\",\"alarm\":\"tcp_rejects\","
        "\"metric\":\"rejected_packets_by_protocol\","
        "\"dimensions\":{\"protocol\":\"6\"},\"old_state\":\"OK\","
        "\"new_state\":\"ALARM\",\"reason\":\"Threshold Crossed: 2 out of "
        "the last 3 datapoints\",\"window_start\":\"2026-11-29T18:30:00Z\","
        "\"window_end\":\"2026-11-29T18:45:00Z\",\"threshold\":1000.0,"
        "\"values\":[1200.0,null,1500.0]}\n"
        "{\"time\":\"2026-11-29T19:15:07Z\",\"alarm\":\"tcp_rejects\","
        "\"metric\":\"rejected_packets_by_protocol\","
        "\"dimensions\":{},\"old_state\":\"ALARM\","
        "\"new_state\":\"OK\",\"reason\":\"Threshold not crossed\","
        "\"window_start\":\"2026-11-29T18:45:00Z\","
        "\"window_end\":\"2026-11-29T19:00:00Z\",\"threshold\":1000.5,"
        "\"values\":[]}\n";
    CHECK_EQ_INT(fl_fs_mkdirs(fl_test_at("a/_flowlake/alarms")), 0);
    write_file(fl_test_at("a/" FL_QUERY_ALARM_HISTORY), history, strlen(history));
    check_csv(q, describe, want_columns);
    check_csv(q,
        "SELECT strftime(time, '%Y-%m-%d %H:%M:%S') AS t, alarm, metric, "
        "dimensions['protocol'] AS protocol, cardinality(dimensions) AS nd, "
        "old_state, new_state, reason, "
        "strftime(window_start, '%H:%M') AS ws, "
        "strftime(window_end, '%H:%M') AS we, threshold, "
        "len(\"values\") AS nv, \"values\"[1] AS v1, "
        "\"values\"[2] IS NULL AS v2_null, \"values\"[3] AS v3 "
        "FROM vpc_flow_logs.alarm_history ORDER BY time",
        "t,alarm,metric,protocol,nd,old_state,new_state,reason,ws,we,"
        "threshold,nv,v1,v2_null,v3\n"
        "2026-11-29 19:00:05,tcp_rejects,rejected_packets_by_protocol,6,1,"
        "OK,ALARM,Threshold Crossed: 2 out of the last 3 datapoints,18:30,"
        "18:45,1000.0,3,1200.0,true,1500.0\n"
        "2026-11-29 19:15:07,tcp_rejects,rejected_packets_by_protocol,,0,"
        "ALARM,OK,Threshold not crossed,18:45,19:00,1000.5,0,,true,\n");
    fl_query_close(q);
    fl_test_dir_teardown();
}


/* ---------------------------------------------------------------------
 * SQL: cidr_contains
 * ------------------------------------------------------------------- */

static void
test_cidr_contains(void)
{
    struct fl_query *q = open_empty();
    check_csv(q,
        "SELECT cidr_contains('10.0.0.0/8', '10.255.0.1') AS a,"
        " cidr_contains('10.0.0.0/8', '11.0.0.1') AS b,"
        " cidr_contains('10.0.0.0/8', NULL) AS c,"
        " cidr_contains(NULL, '10.0.0.1') AS d,"
        " cidr_contains('192.168.1.7', '192.168.1.7') AS e,"
        " cidr_contains('192.168.1.7', '192.168.1.8') AS f,"
        " cidr_contains('10.1.2.3/8', '10.9.9.9') AS g,"
        " cidr_contains('10.0.0.0/8', 'not an address') AS h,"
        " cidr_contains('10.0.0.0/8', '::ffff:10.0.0.1') AS i",
        "a,b,c,d,e,f,g,h,i\n"
        "true,false,,,true,false,true,false,false\n");
    check_csv(q,
        "SELECT cidr_contains('2001:db8::/32', '2001:db8:ffff::1') AS a,"
        " cidr_contains('2001:db8::/32', '2001:db9::1') AS b,"
        " cidr_contains('2001:db8::/32', '10.0.0.1') AS c,"
        " cidr_contains('10.0.0.0/8', '::1') AS d,"
        " cidr_contains('::/0', '::1') AS e,"
        " cidr_contains('0.0.0.0/0', '1.2.3.4') AS f,"
        " cidr_contains('2001:db8::/32', NULL) AS g",
        "a,b,c,d,e,f,g\n"
        "true,false,false,false,true,true,\n");
    /* A different network on each row (the parsed network is cached
     * only while it repeats). */
    check_csv(q,
        "SELECT cidr_contains(n, a) AS r FROM (VALUES "
        "(1, '10.0.0.0/8', '10.1.1.1'), (2, '192.168.0.0/16', '10.1.1.1'), "
        "(3, '192.168.0.0/16', '192.168.3.4'), (4, NULL, '192.168.3.4'), "
        "(5, 'fe80::/10', 'fe80::1'), (6, '10.0.0.0/8', '10.1.1.1')) "
        "t(i, n, a) ORDER BY i",
        "r\ntrue\nfalse\ntrue\n\ntrue\ntrue\n");
    static const char *const bad[][2] = {
        { "10.0.0.0/33", "'10.0.0.0/33'" },
        { "not-a-network", "'not-a-network'" },
        { "2001:db8::/129", "'2001:db8::/129'" },
        { "", "''" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char sql[256], want[256];
        snprintf(sql, sizeof sql, "SELECT cidr_contains('%s', '10.0.0.1')",
                 bad[i][0]);
        snprintf(want, sizeof want, "cidr_contains: %s is not an IPv4 or "
                 "IPv6 network such as 10.0.0.0/8", bad[i][1]);
        char *err = run_err(q, sql);
        if (strstr(err, want) == NULL) {
            fprintf(stderr, "  got '%s'\n  want '%s'\n", err, want);
            exit(1);
        }
        fl_free(err);
    }
    fl_query_close(q);
    fl_test_dir_teardown();
}


/* ---------------------------------------------------------------------
 * fl_fs: durable replacement
 * ------------------------------------------------------------------- */

static void
test_fs_write_atomic(void)
{
    setup();
    size_t len;
    char *got;
    CHECK_EQ_INT(fl_fs_write_atomic(fl_test_at("f"), "first", 5), 0);
    got = read_whole(fl_test_at("f"), &len);
    CHECK_EQ_MEM(got, len, "first");
    free(got);
    /* Replaced, shorter: no tail of the old content. */
    CHECK_EQ_INT(fl_fs_write_atomic(fl_test_at("f"), "2nd", 3), 0);
    got = read_whole(fl_test_at("f"), &len);
    CHECK_EQ_MEM(got, len, "2nd");
    free(got);
    CHECK_EQ_INT(fl_fs_write_atomic(fl_test_at("f"), "", 0), 0);
    got = read_whole(fl_test_at("f"), &len);
    CHECK_EQ_INT(len, 0);
    free(got);
    char *names = list_dir(fl_test_root);
    CHECK_EQ_STR(names, "f");
    free(names);
    /* A missing folder: -ENOENT, nothing made. */
    CHECK_EQ_INT(fl_fs_write_atomic(fl_test_at("no/f"), "x", 1), -ENOENT);
    CHECK(!exists(fl_test_at("no")));
    /* A directory in the way: the rename fails, the .tmp goes. */
    CHECK_EQ_INT(fl_fs_mkdirs(fl_test_at("d/x")), 0);
    int rc = fl_fs_write_atomic(fl_test_at("d"), "x", 1);
    CHECK(rc == -EISDIR || rc == -ENOTEMPTY || rc == -EEXIST);
    CHECK(!exists(fl_test_at("d.tmp")));
    fl_test_dir_teardown();
}


static void
test_fs_rename_durable(void)
{
    setup();
    size_t len;
    write_file(fl_test_at("t"), "new", 3);
    write_file(fl_test_at("p"), "old content", 11);
    CHECK_EQ_INT(fl_fs_rename_durable(fl_test_at("t"), fl_test_at("p")), 0);
    char *got = read_whole(fl_test_at("p"), &len);
    CHECK_EQ_MEM(got, len, "new");
    free(got);
    CHECK(!exists(fl_test_at("t")));
    CHECK_EQ_INT(fl_fs_rename_durable(fl_test_at("t"), fl_test_at("p")), -ENOENT);
    write_file(fl_test_at("t"), "x", 1);
    CHECK_EQ_INT(fl_fs_rename_durable(fl_test_at("t"), fl_test_at("no/p")), -ENOENT);
    CHECK(exists(fl_test_at("t")));
    /* A path without a folder: the current directory's entry. */
    char cwd[512];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK_EQ_INT(chdir(fl_test_root), 0);
    CHECK_EQ_INT(fl_fs_rename_durable("t", "u"), 0);
    CHECK_EQ_INT(chdir(cwd), 0);
    CHECK(exists(fl_test_at("u")) && !exists(fl_test_at("t")));
    fl_test_dir_teardown();
}


FL_TEST_MAIN(
    FL_TEST(test_row_copy),
    FL_TEST(test_row_copy_alloc_failures),
    FL_TEST(test_write_and_read_back),
    FL_TEST(test_write_errors),
    FL_TEST(test_state_round_trip),
    FL_TEST(test_state_corrupt),
    FL_TEST(test_cleanup_and_last),
    FL_TEST(test_live_files),
    FL_TEST(test_merge_plan),
    FL_TEST(test_write_merges),
    FL_TEST(test_live_files_alloc_failures),
    FL_TEST(test_metrics_view),
    FL_TEST(test_metrics_view_empty),
    FL_TEST(test_alarm_history_view),
    FL_TEST(test_cidr_contains),
    FL_TEST(test_fs_write_atomic),
    FL_TEST(test_fs_rename_durable)
)
