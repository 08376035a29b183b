/* SPDX-License-Identifier: MIT
 *
 * test_query.c -- unit tests of the SQL layer (src/query/query.c) and of
 * the `flowlake query` command (src/cli/cmd_query.c).
 *
 * Fixture archives are written by DuckDB itself, the way `flowlake convert`
 * writes them: COPY ... TO dir (FORMAT parquet, PARTITION_BY (year, month,
 * day, hour)) with zero-padded VARCHAR partition values and all 40 columns
 * of parse/fields.h (start/end as BIGINT epoch seconds). The tests pin the
 * three queries of the AWS blog (exact output, with rows older than 14 days
 * and ports other than 443), the TABLE / CSV / JSON writers byte for byte
 * (NULLs, escaping, numbers, nested values), the empty archive, errors, the
 * Athena functions, union_by_name extras, and partition pruning: a query on
 * one hour reads only that hour's files.
 */
#include "core/fl_config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <duckdb.h>

#include "cli/commands.h"
#include "core/fl_error.h"
#include "core/fl_fs.h"
#include "core/fl_mem.h"
#include "parse/fields.h"
#include "query/query.h"
#include "query/query_int.h"

#include "harness.h"
#include "query_check.h"


/* ---------------------------------------------------------------------
 * Helpers: fixture archives, captured output (temp dirs: harness.h,
 * SQL output checks: query_check.h)
 * ------------------------------------------------------------------- */

static void
duck_exec(duckdb_connection con, const char *sql)
{
    duckdb_result res;
    if (duckdb_query(con, sql, &res) == DuckDBError) {
        fprintf(stderr, "  fixture SQL failed: %s\n  %s\n",
                duckdb_result_error(&res), sql);
        duckdb_destroy_result(&res);
        exit(1);
    }
    duckdb_destroy_result(&res);
}


/* Appends `rows` (a SELECT yielding any subset of the 40 columns, plus
 * extras; start in epoch seconds; "end" defaults to start + 60) to the
 * archive at dir, partitioned by start hour as `flowlake convert` does. */
static void
write_archive(const char *dir, const char *rows)
{
    duckdb_database db;
    duckdb_connection con;
    size_t cap = 16384 + strlen(rows);
    char *sql = malloc(cap);
    size_t n = 0;

    CHECK(sql != NULL);
    CHECK(duckdb_open(NULL, &db) == DuckDBSuccess);
    CHECK(duckdb_connect(db, &con) == DuckDBSuccess);
    n += (size_t)snprintf(sql + n, cap - n,
        "COPY (SELECT * EXCLUDE (\"end\"), coalesce(\"end\", start + 60) "
        "AS \"end\", strftime(make_timestamp(start * 1000000), '%%Y') AS year,"
        " strftime(make_timestamp(start * 1000000), '%%m') AS month,"
        " strftime(make_timestamp(start * 1000000), '%%d') AS day,"
        " strftime(make_timestamp(start * 1000000), '%%H') AS hour "
        "FROM (SELECT ");
    for (int i = 0; i < FL_FIELD_COUNT; i++) {
        const struct fl_field_def *f = fl_field_get(i);
        n += (size_t)snprintf(sql + n, cap - n, "%sCAST(NULL AS %s) AS \"%s\"",
                              i ? ", " : "", fl_type_sql(f->type),
                              f->sql_name);
    }
    n += (size_t)snprintf(sql + n, cap - n,
        " WHERE false UNION ALL BY NAME %s)) TO '%s' (FORMAT parquet, "
        "COMPRESSION zstd, PARTITION_BY (year, month, day, hour), APPEND)",
        rows, dir);
    CHECK(n < cap);
    /* The files get "end" after the other columns; the view reads them
     * by name (union_by_name), so the order in a file does not matter. */
    duck_exec(con, sql);
    duckdb_disconnect(&con);
    duckdb_close(&db);
    free(sql);
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
    CHECK(err == NULL);
    return q;
}


/* Runs sql that must fail; returns the error message (fl_free it). */
static char *
run_err(struct fl_query *q, const char *sql, int *out_rc)
{
    char *buf = NULL;
    size_t len = 0;
    char *err = NULL;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f != NULL);
    int rc = fl_query_run(q, sql, FL_OUTPUT_TABLE, f, &err);
    CHECK(fclose(f) == 0);
    free(buf);
    CHECK(rc < 0);
    CHECK(err != NULL);
    if (out_rc != NULL)
        *out_rc = rc;
    return err;
}


/* The blog fixture: times relative to now, so that "the last 14 days"
 * holds rows 1 hour to 5 days old and leaves out rows 20 and 30 days old.
 *
 *   src       dst       port proto packets action  age
 *   10.0.0.1  10.0.1.1   443   6     100   REJECT  1 day
 *   10.0.0.2  10.0.1.2   443   6      50   ACCEPT  2 days
 *   10.0.0.1  10.0.1.1    22   6       7   REJECT  3 days
 *   10.0.0.3  10.0.1.1    53  17      20   REJECT  1 hour
 *   10.0.0.2  10.0.1.3   443   6      30   ACCEPT  5 days
 *   10.0.0.9  10.0.1.1   443   6    1000   REJECT  20 days
 *   10.0.0.3  10.0.1.2   443   1       5   REJECT  30 days
 *   NULL      NULL      NULL NULL   NULL   NULL    2 days  (NODATA)
 */
static void
write_blog_archive(const char *dir)
{
    write_archive(dir,
        "SELECT 2 AS version, '123456789012' AS account_id, "
        "'eni-0a1b2c3d' AS interface_id, srcaddr, dstaddr, 40000 AS srcport, "
        "dstport, protocol, packets, packets * 60 AS bytes, "
        "CAST(epoch(current_timestamp) AS BIGINT) - age AS start, "
        "action, log_status "
        "FROM (VALUES "
        "('10.0.0.1', '10.0.1.1', 443, 6, 100, 'REJECT', 'OK', 86400),"
        "('10.0.0.2', '10.0.1.2', 443, 6, 50, 'ACCEPT', 'OK', 172800),"
        "('10.0.0.1', '10.0.1.1', 22, 6, 7, 'REJECT', 'OK', 259200),"
        "('10.0.0.3', '10.0.1.1', 53, 17, 20, 'REJECT', 'OK', 3600),"
        "('10.0.0.2', '10.0.1.3', 443, 6, 30, 'ACCEPT', 'OK', 432000),"
        "('10.0.0.9', '10.0.1.1', 443, 6, 1000, 'REJECT', 'OK', 1728000),"
        "('10.0.0.3', '10.0.1.2', 443, 1, 5, 'REJECT', 'OK', 2592000),"
        "(NULL, NULL, NULL, NULL, NULL, NULL, 'NODATA', 172800)"
        ") t(srcaddr, dstaddr, dstport, protocol, packets, action, "
        "log_status, age)");
}


/* The pruning fixture: 2024-03-01, hours 00, 01 (two files) and 02, and
 * 2024-03-02 hour 00: five files in four hour partitions. */
static void
write_hours_archive(const char *dir)
{
    static const char *const batches[] = {
        /* 2024-03-01 00:00 .. 02:59 UTC, 3 rows per hour */
        "SELECT 1709251200 + h * 3600 + k * 60 AS start, "
        "'10.1.0.' || h AS srcaddr, CAST(k + 1 AS BIGINT) AS packets, "
        "'ACCEPT' AS action FROM range(3) a(h), range(3) b(k)",
        /* a second file in hour 01 */
        "SELECT 1709254800 + 1800 AS start, '10.1.0.9' AS srcaddr, "
        "CAST(100 AS BIGINT) AS packets, 'REJECT' AS action",
        /* 2024-03-02 00:xx */
        "SELECT 1709337600 + 30 AS start, '10.2.0.1' AS srcaddr, "
        "CAST(7 AS BIGINT) AS packets, 'ACCEPT' AS action",
    };
    for (size_t i = 0; i < sizeof batches / sizeof batches[0]; i++)
        write_archive(dir, batches[i]);
}


/* ---------------------------------------------------------------------
 * The three AWS blog queries, run exactly as written
 * ------------------------------------------------------------------- */

static void
test_blog_rejected_by_protocol(void)
{
    fl_test_dir_setup("query");
    write_blog_archive(fl_test_at("a"));
    struct fl_query *q = open_ok(fl_test_at("a"));
    check_run(q,
        "select protocol, sum(packets) as rejected_packets from flow_logs "
        "where action = 'REJECT' group by protocol order by rejected_packets "
        "desc;",
        FL_OUTPUT_TABLE,
        "protocol | rejected_packets\n"
        "---------+-----------------\n"
        "       6 |             1107\n"
        "      17 |               20\n"
        "       1 |                5\n"
        "(3 rows)\n");
    fl_query_close(q);
    fl_test_dir_teardown();
}


static void
test_blog_last_14_days_by_srcaddr(void)
{
    fl_test_dir_setup("query");
    write_blog_archive(fl_test_at("a"));
    struct fl_query *q = open_ok(fl_test_at("a"));
    /* 10.0.0.9 (20 days) and the 30-day row of 10.0.0.3 are out; the
     * NODATA record has no address and no packets: NULL, sorted last. */
    check_run(q,
        "SELECT srcaddr, SUM(packets) AS rejected_packets FROM flow_logs "
        "WHERE start >= current_timestamp - interval '14' day GROUP BY "
        "srcaddr ORDER BY rejected_packets DESC LIMIT 10;",
        FL_OUTPUT_TABLE,
        "srcaddr  | rejected_packets\n"
        "---------+-----------------\n"
        "10.0.0.1 |              107\n"
        "10.0.0.2 |               80\n"
        "10.0.0.3 |               20\n"
        "NULL     |             NULL\n"
        "(4 rows)\n");
    fl_query_close(q);
    fl_test_dir_teardown();
}


static void
test_blog_dstport_443(void)
{
    fl_test_dir_setup("query");
    write_blog_archive(fl_test_at("a"));
    struct fl_query *q = open_ok(fl_test_at("a"));
    /* dstport is INTEGER; the blog compares it with the string '443'. */
    check_run(q,
        "SELECT dstaddr, SUM(packets) AS packet_count FROM flow_logs WHERE "
        "dstport = '443' GROUP BY dstaddr ORDER BY packet_count DESC "
        "LIMIT 10;",
        FL_OUTPUT_CSV,
        "dstaddr,packet_count\n"
        "10.0.1.1,1100\n"
        "10.0.1.2,55\n"
        "10.0.1.3,30\n");
    /* Qualified name, as in the blog's Glue database. */
    check_value(q, "SELECT count(*) FROM vpc_flow_logs.flow_logs", "8");
    fl_query_close(q);
    fl_test_dir_teardown();
}


/* ---------------------------------------------------------------------
 * The view's schema
 * ------------------------------------------------------------------- */

/* DESCRIBE as CSV "name,type" lines for the 40 fields + 4 partitions +
 * the 5 provenance columns. */
static char *
expected_schema_csv(void)
{
    static char want[4096];
    size_t n = 0;
    n += (size_t)snprintf(want + n, sizeof want - n,
                          "column_name,column_type\n");
    for (int i = 0; i < FL_FIELD_COUNT; i++) {
        const struct fl_field_def *f = fl_field_get(i);
        const char *type = i == FL_F_START || i == FL_F_END
                           ? "TIMESTAMP" : fl_type_sql(f->type);
        n += (size_t)snprintf(want + n, sizeof want - n, "%s,%s\n",
                              f->sql_name, type);
    }
    n += (size_t)snprintf(want + n, sizeof want - n,
                          "year,VARCHAR\nmonth,VARCHAR\nday,VARCHAR\n"
                          "hour,VARCHAR\n"
                          "date,DATE\n"
                          "source_file,VARCHAR\nlog_group,VARCHAR\n"
                          "log_stream,VARCHAR\ndelivery_stream,VARCHAR\n"
                          "delivery_attributes,VARCHAR\n");
    CHECK(n < sizeof want);
    return want;
}


static void
test_schema_full_and_typed(void)
{
    fl_test_dir_setup("query");
    write_blog_archive(fl_test_at("a"));
    struct fl_query *q = open_ok(fl_test_at("a"));
    check_run(q, "SELECT column_name, column_type FROM (DESCRIBE flow_logs)",
              FL_OUTPUT_CSV, expected_schema_csv());
    /* start/end are UTC timestamps of the epoch seconds in the files. */
    check_value(q, "SELECT count(*) FROM flow_logs WHERE \"end\" - start = "
                "INTERVAL 60 SECOND", "8");
    fl_query_close(q);
    fl_test_dir_teardown();
}


static void
test_empty_archive(void)
{
    fl_test_dir_setup("query");
    struct fl_query *q = open_ok(fl_test_root);
    check_run(q, "SELECT column_name, column_type FROM (DESCRIBE flow_logs)",
              FL_OUTPUT_CSV, expected_schema_csv());
    check_run(q, "SELECT srcaddr, packets, start FROM flow_logs",
              FL_OUTPUT_TABLE,
              "srcaddr | packets | start\n"
              "--------+---------+------\n"
              "(0 rows)\n");
    check_run(q, "SELECT srcaddr, packets FROM flow_logs", FL_OUTPUT_CSV,
              "srcaddr,packets\n");
    check_run(q, "SELECT srcaddr, packets FROM flow_logs", FL_OUTPUT_JSON,
              "[]\n");
    check_run(q,
        "SELECT srcaddr, SUM(packets) AS rejected_packets FROM flow_logs "
        "WHERE start >= current_timestamp - interval '14' day GROUP BY "
        "srcaddr ORDER BY rejected_packets DESC LIMIT 10;",
        FL_OUTPUT_CSV, "srcaddr,rejected_packets\n");
    /* Bookkeeping folders and stray files are not part of the table. */
    CHECK(mkdir(fl_test_at("_flowlake"), 0755) == 0);
    CHECK(mkdir(fl_test_at("year=2024"), 0755) == 0);
    check_value(q, "SELECT count(*) FROM flow_logs", "0");
    fl_query_close(q);
    fl_test_dir_teardown();
}


static void
test_extra_columns_union_by_name(void)
{
    fl_test_dir_setup("query");
    const char *dir = fl_test_at("a");
    write_archive(dir, "SELECT 1709251200 AS start, 'x' AS foo");
    write_archive(dir, "SELECT 1709254800 AS start");
    struct fl_query *q = open_ok(dir);
    check_run(q, "SELECT hour, foo FROM flow_logs ORDER BY hour",
              FL_OUTPUT_CSV, "hour,foo\n00,x\n01,\n");
    check_value(q, "SELECT count(*) FROM (DESCRIBE flow_logs)", "51");
    /* A file published after open, with yet another extra column: the
     * next run re-binds the view instead of failing. */
    write_archive(dir, "SELECT 1709258400 AS start, 'y' AS bar");
    check_run(q, "SELECT hour, foo, bar FROM flow_logs ORDER BY hour",
              FL_OUTPUT_CSV, "hour,foo,bar\n00,x,\n01,,\n02,,y\n");
    fl_query_close(q);
    fl_test_dir_teardown();
}


/* ---------------------------------------------------------------------
 * Partition pruning
 * ------------------------------------------------------------------- */

static void
test_pruning_one_hour_reads_only_its_files(void)
{
    fl_test_dir_setup("query");
    const char *dir = fl_test_at("a");
    write_hours_archive(dir);
    struct fl_query *q = open_ok(dir);
    char *err = NULL;
    long files = -1;

    /* Everything: all five files. */
    CHECK_EQ_INT(fl_query_files_scanned(q, "SELECT count(*) FROM flow_logs",
                                        &files, &err), 0);
    CHECK_EQ_INT(files, 5);
    /* Hour 01 of 2024-03-01: its two files, out of five. */
    CHECK_EQ_INT(fl_query_files_scanned(q,
        "SELECT sum(packets) FROM flow_logs WHERE year = '2024' AND "
        "month = '03' AND day = '01' AND hour = '01'", &files, &err), 0);
    CHECK_EQ_INT(files, 2);
    /* Hour 02: one file. One day: four files. A day with no data: none. */
    CHECK_EQ_INT(fl_query_files_scanned(q,
        "SELECT * FROM flow_logs WHERE day = '01' AND hour = '02'",
        &files, &err), 0);
    CHECK_EQ_INT(files, 1);
    CHECK_EQ_INT(fl_query_files_scanned(q,
        "SELECT * FROM flow_logs WHERE day = '01'", &files, &err), 0);
    CHECK_EQ_INT(files, 4);
    CHECK_EQ_INT(fl_query_files_scanned(q,
        "SELECT * FROM flow_logs WHERE day = '09'", &files, &err), 0);
    CHECK_EQ_INT(files, 0);
    CHECK(err == NULL);

    /* The pruned query still gives the right answer... */
    check_value(q, "SELECT sum(packets) FROM flow_logs WHERE year = '2024' "
                "AND month = '03' AND day = '01' AND hour = '01'", "106");
    /* ...and EXPLAIN ANALYZE through fl_query_run shows the same count. */
    char *plan = run(q, "EXPLAIN ANALYZE SELECT sum(packets) FROM flow_logs "
                     "WHERE year = '2024' AND month = '03' AND day = '01' "
                     "AND hour = '01'", FL_OUTPUT_TABLE);
    CHECK(strstr(plan, "READ_PARQUET") != NULL);
    CHECK(strstr(plan, "Total Files Read: 2") != NULL);
    /* The view itself holds only that hour's files (prune.c): DuckDB is
     * given a list of two files, not a glob over five. */
    CHECK_EQ_INT(fl_query_view_files(q), 2);
    CHECK(strstr(plan, "Scanning Files") == NULL);
    free(plan);
    fl_query_close(q);
    fl_test_dir_teardown();
}


/* ---------------------------------------------------------------------
 * Output formats
 * ------------------------------------------------------------------- */

static struct fl_query *
open_empty(void)
{
    fl_test_dir_setup("query");
    return open_ok(fl_test_root);
}


static void
test_table_format_exact(void)
{
    struct fl_query *q = open_empty();
    check_run(q,
        "SELECT * FROM (VALUES (1, 'ten', 1.5), (22, NULL, NULL), "
        "(-333, 'ünï', 0.25)) t(n, word, x) ORDER BY n",
        FL_OUTPUT_TABLE,
        "   n | word |    x\n"
        "-----+------+-----\n"
        "-333 | ünï  | 0.25\n"
        "   1 | ten  | 1.50\n"
        "  22 | NULL | NULL\n"
        "(3 rows)\n");
    check_run(q, "SELECT 'a\tb\nc' AS s, 42 AS answer", FL_OUTPUT_TABLE,
              "s       | answer\n"
              "--------+-------\n"
              "a\\tb\\nc |     42\n"
              "(1 row)\n");
    /* A script: every statement runs, the last one prints. */
    check_run(q,
        "CREATE TABLE t AS SELECT 1 AS a; INSERT INTO t VALUES (2), (3); "
        "SELECT sum(a) AS total FROM t",
        FL_OUTPUT_TABLE,
        "total\n"
        "-----\n"
        "    6\n"
        "(1 row)\n");
    /* A script ending in DDL prints nothing. */
    check_run(q, "SELECT 1; CREATE VIEW v AS SELECT 1", FL_OUTPUT_TABLE, "");
    fl_query_close(q);
    fl_test_dir_teardown();
}


static void
test_table_caps_rows(void)
{
    struct fl_query *q = open_empty();
    char *got = run(q, "SELECT range AS i FROM range(10005)",
                    FL_OUTPUT_TABLE);
    size_t lines = 0;
    for (const char *p = got; *p != '\0'; p++)
        lines += *p == '\n';
    CHECK_EQ_INT(lines, 2 + FL_QUERY_TABLE_MAX_ROWS + 1);
    CHECK(strstr(got, "\n9999\n(10005 rows, first 10000 shown)\n") != NULL);
    free(got);
    fl_query_close(q);
    fl_test_dir_teardown();
}


static void
test_csv_format_exact(void)
{
    struct fl_query *q = open_empty();
    check_run(q,
        "SELECT * FROM (VALUES "
        "(1, 'plain', TIMESTAMP '2024-03-01 10:20:30', true),"
        "(2, 'a,b', NULL, false),"
        "(3, 'say \"hi\"', TIMESTAMP '2024-03-01 10:20:30.5', NULL),"
        "(4, 'two\nlines', NULL, NULL),"
        "(5, '', NULL, NULL),"
        "(6, NULL, NULL, NULL)"
        ") t(id, \"text, with comma\", ts, ok) ORDER BY id",
        FL_OUTPUT_CSV,
        "id,\"text, with comma\",ts,ok\n"
        "1,plain,2024-03-01 10:20:30,true\n"
        "2,\"a,b\",,false\n"
        "3,\"say \"\"hi\"\"\",2024-03-01 10:20:30.5,\n"
        "4,\"two\nlines\",,\n"
        "5,\"\",,\n"
        "6,,,\n");
    fl_query_close(q);
    fl_test_dir_teardown();
}


static void
test_json_format_exact(void)
{
    struct fl_query *q = open_empty();
    check_run(q,
        "SELECT 1 AS i, 'x\"y\\z' AS s, chr(1) || chr(10) || 'é' AS c, "
        "NULL AS n, true AS b, 2.5::DOUBLE AS d, 'nan'::DOUBLE AS nan, "
        "CAST(123 AS HUGEINT) AS h, 1.50 AS dec, "
        "TIMESTAMP '2024-03-01 10:20:30' AS ts, DATE '2024-03-01' AS dt, "
        "[1, NULL] AS l, {'k': 'v', 'm': 2} AS st, MAP {'a': 1} AS mp",
        FL_OUTPUT_JSON,
        "[\n"
        "{\"i\":1,\"s\":\"x\\\"y\\\\z\",\"c\":\"\\u0001\\u000aé\","
        "\"n\":null,\"b\":true,\"d\":2.5,\"nan\":null,\"h\":123,"
        "\"dec\":1.50,\"ts\":\"2024-03-01 10:20:30\",\"dt\":\"2024-03-01\","
        "\"l\":[1,null],\"st\":{\"k\":\"v\",\"m\":2},\"mp\":{\"a\":1}}\n"
        "]\n");
    check_run(q, "SELECT i AS \"we\"\"ird\" FROM range(3) t(i)",
              FL_OUTPUT_JSON,
              "[\n{\"we\\\"ird\":0},\n{\"we\\\"ird\":1},\n{\"we\\\"ird\":2}\n"
              "]\n");
    fl_query_close(q);
    fl_test_dir_teardown();
}


static void
test_value_rendering(void)
{
    struct fl_query *q = open_empty();
    /* Doubles print like DuckDB's own cast: shortest round trip. */
    check_value(q, "SELECT 0.1::DOUBLE, 1700000000::DOUBLE, 1e20::DOUBLE, "
                "1.5e-7::DOUBLE, -0.0::DOUBLE, 'inf'::DOUBLE, "
                "12.0::FLOAT, 1/3",
                "0.1,1700000000.0,1e+20,1.5e-07,-0.0,inf,12.0,"
                "0.3333333333333333");
    check_value(q, "SELECT 170141183460469231731687303715884105727::HUGEINT,"
                " -170141183460469231731687303715884105727::HUGEINT - 1,"
                " 340282366920938463463374607431768211455::UHUGEINT,"
                " -12345678901234567890::HUGEINT, -0.05::DECIMAL(5,2),"
                " 18446744073709551615::UBIGINT",
                "170141183460469231731687303715884105727,"
                "-170141183460469231731687303715884105728,"
                "340282366920938463463374607431768211455,"
                "-12345678901234567890,-0.05,18446744073709551615");
    check_value(q, "SELECT INTERVAL '1 year 2 months 3 days 04:05:06.5', "
                "INTERVAL '-1 day', INTERVAL '0 second', "
                "TIME '01:02:03.25', DATE '-0044-03-15', "
                "'infinity'::TIMESTAMP, "
                "TIMESTAMPTZ '2024-01-01 10:00:00+02', "
                "UUID '123e4567-e89b-12d3-a456-426614174000', "
                "'\\x00ab\\xff'::BLOB, '101'::BIT",
                "1 year 2 months 3 days 04:05:06.5,-1 day,00:00:00,"
                "01:02:03.25,0045-03-15 (BC),infinity,"
                "2024-01-01 08:00:00+00,"
                "123e4567-e89b-12d3-a456-426614174000,\\x00ab\\xFF,101");
    check_value(q, "SELECT ['a', NULL]::VARCHAR[], {'a': 1, 'b': 'x'}, "
                "MAP {'k': 1}, [1, 2]::INTEGER[2], "
                "'sad'::ENUM ('happy', 'sad')",
                "\"[a, NULL]\",\"{'a': 1, 'b': x}\",{k=1},\"[1, 2]\",sad");
    fl_query_close(q);
    fl_test_dir_teardown();
}


/* CSV and JSON stream chunk by chunk: a large result does not grow our
 * heap (DuckDB's own memory is not counted by fl_mem). */
static void
test_streaming_bounded_memory(void)
{
    struct fl_query *q = open_empty();
    char *err = NULL;
    FILE *f = tmpfile();
    CHECK(f != NULL);
    size_t before = fl_mem_used();
    CHECK_EQ_INT(fl_query_run(q, "SELECT i, 'row ' || i AS s FROM "
                              "range(300000) t(i)", FL_OUTPUT_JSON, f, &err),
                 0);
    CHECK_EQ_INT(fl_query_run(q, "SELECT i, 'row ' || i AS s FROM "
                              "range(300000) t(i)", FL_OUTPUT_CSV, f, &err),
                 0);
    CHECK(fl_mem_peak() < before + (1u << 20));
    CHECK(ftell(f) > 300000L * 20);
    fclose(f);
    fl_query_close(q);
    fl_test_dir_teardown();
}


/* ---------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------- */

static void
test_sql_errors(void)
{
    struct fl_query *q = open_empty();
    int rc = 0;
    char *err = run_err(q, "selec 1", &rc);
    CHECK_EQ_INT(rc, FL_EDB);
    CHECK(strstr(err, "Parser Error: syntax error at or near \"selec\"")
          != NULL);
    fl_free(err);
    err = run_err(q, "SELECT no_such_column FROM flow_logs", &rc);
    CHECK(strstr(err, "Binder Error") != NULL);
    CHECK(strstr(err, "no_such_column") != NULL);
    fl_free(err);
    /* An error in the middle of a script stops it. */
    err = run_err(q, "SELECT 1; SELECT * FROM nowhere; SELECT 2", &rc);
    CHECK(strstr(err, "nowhere") != NULL);
    fl_free(err);
    /* A runtime error while streaming. */
    err = run_err(q, "SELECT CAST(CASE WHEN i < 5000 THEN i::VARCHAR ELSE "
                  "'x' END AS INTEGER) FROM range(10000) t(i)", &rc);
    CHECK(strstr(err, "Conversion Error") != NULL);
    fl_free(err);
    err = run_err(q, "  ", &rc);
    CHECK(strstr(err, "no SQL statement") != NULL);
    fl_free(err);
    /* The session still works after errors. */
    check_value(q, "SELECT 40 + 2", "42");
    fl_query_close(q);
    fl_test_dir_teardown();
}


static void
test_open_missing_dir(void)
{
    struct fl_query *q = (struct fl_query *)&q;   /* must stay untouched */
    char *err = NULL;
    fl_test_dir_setup("query");
    CHECK_EQ_INT(fl_query_open(fl_test_at("nope"), &q, &err), -ENOENT);
    CHECK(q == (struct fl_query *)&q);
    CHECK(err != NULL);
    CHECK(strstr(err, "nope") != NULL);
    fl_free(err);
    err = NULL;
    FILE *f = fopen(fl_test_at("file"), "w");
    CHECK(f != NULL);
    fclose(f);
    CHECK_EQ_INT(fl_query_open(fl_test_at("file"), &q, &err), -ENOTDIR);
    fl_free(err);
    fl_query_close(NULL);
    fl_test_dir_teardown();
}


/* Every allocation of open + run + close failing in turn: an error comes
 * back, nothing crashes, nothing leaks (curl torture / ccan allocfail). */
static void
test_alloc_failures(void)
{
    fl_test_dir_setup("query");
    const char *dir = fl_test_at("a");
    write_hours_archive(dir);
    static const char sql[] =
        "SELECT hour, count(*) AS n, date_format(min(start), '%Y %H:%i') AS f,"
        " [1, 2] AS l, {'a': 'b'} AS s FROM flow_logs GROUP BY hour "
        "ORDER BY hour";
    static const enum fl_output fmts[] = {
        FL_OUTPUT_TABLE, FL_OUTPUT_CSV, FL_OUTPUT_JSON
    };
    for (size_t k = 0; k < 3; k++) {
        int done = 0;
        for (uint64_t n = 1; n < 5000 && !done; n++) {
            struct fl_query *q = NULL;
            char *err = NULL;
            FILE *f = tmpfile();
            CHECK(f != NULL);
            fl_mem_fail_after(n);
            int rc = fl_query_open(dir, &q, &err);
            if (rc == 0) {
                rc = fl_query_run(q, sql, fmts[k], f, &err);
                fl_query_close(q);
            }
            fl_mem_fail_after(0);
            CHECK(rc == 0 || rc == FL_ENOMEM || rc == FL_EDB);
            done = rc == 0;
            fl_free(err);
            fclose(f);
            CHECK_EQ_INT(fl_mem_used(), fl_test_mem_base);
        }
        CHECK(done);
    }
    fl_test_dir_teardown();
}


static void
test_output_parse(void)
{
    enum fl_output o = FL_OUTPUT_CSV;
    CHECK_EQ_INT(fl_query_output_parse("table", &o), 0);
    CHECK_EQ_INT(o, FL_OUTPUT_TABLE);
    CHECK_EQ_INT(fl_query_output_parse("json", &o), 0);
    CHECK_EQ_INT(o, FL_OUTPUT_JSON);
    CHECK_EQ_INT(fl_query_output_parse("csv", &o), 0);
    CHECK_EQ_INT(o, FL_OUTPUT_CSV);
    CHECK_EQ_INT(fl_query_output_parse("xml", &o), FL_ECONFIG);
}


/* ---------------------------------------------------------------------
 * Athena compatibility
 * ------------------------------------------------------------------- */

static void
test_athena_time_functions(void)
{
    struct fl_query *q = open_empty();
    /* from_unixtime / to_unixtime; a TIMESTAMP passes through. */
    check_value(q, "SELECT from_unixtime(1700000000), "
                "from_unixtime(1700000000.5), "
                "from_unixtime(TIMESTAMP '2024-01-01 00:00:00'), "
                "to_unixtime(TIMESTAMP '2024-01-01 00:00:00.25'), "
                "to_unixtime(from_unixtime(1700000000)), "
                "typeof(to_unixtime(TIMESTAMP '2024-01-01'))",
                "2023-11-14 22:13:20,2023-11-14 22:13:20.5,"
                "2024-01-01 00:00:00,1704067200.25,1700000000.0,DOUBLE");
    /* 2024-03-10 is a Sunday, 2024-03-11 a Monday: ISO 7 and 1. */
    check_value(q, "SELECT day_of_week(DATE '2024-03-10'), "
                "day_of_week(TIMESTAMP '2024-03-11 23:00:00'), "
                "dow(DATE '2024-03-10'), day_of_year(DATE '2024-03-01'), "
                "week_of_year(DATE '2024-12-30'), "
                "year_of_week(DATE '2024-12-30'), "
                "day_of_month(DATE '2024-03-07')",
                "7,1,7,61,1,2025,7");
    /* date_format with MySQL specifiers. */
    check_value(q, "SELECT date_format(TIMESTAMP '2024-03-05 07:08:09.123456',"
                " '%Y-%m-%d %H:%i:%s|%c/%e %k %l %h %I %p|%M %b %W %a|"
                "%j %y %f|%T|%r|%S|%v %x|%w %U|100%%|%Q')",
                "2024-03-05 07:08:09|3/5 7 7 07 07 AM|March Mar Tuesday Tue|"
                "065 24 123456|07:08:09|07:08:09 AM|09|10 2024|2 09|100%|Q");
    check_value(q, "SELECT date_format(TIMESTAMP '2024-03-05 19:00:00', "
                "'%h%p %l:%i')", "07PM 7:00");
    /* date_parse, the inverse. */
    check_value(q, "SELECT date_parse('2024-03-05 19:08:09', "
                "'%Y-%m-%d %H:%i:%s'), date_parse('Mar 5 2024 7:08:09 PM', "
                "'%b %e %Y %r'), date_parse('20240305', '%Y%m%d'), "
                "date_parse('2024-065', '%Y-%j'), "
                "date_parse('12:00:01.5 am', '%h:%i:%s.%f %p')",
                "2024-03-05 19:08:09,2024-03-05 19:08:09,"
                "2024-03-05 00:00:00,2024-03-05 00:00:00,"
                "1970-01-01 00:00:01.5");
    /* ISO 8601 and the rest. */
    check_value(q, "SELECT from_iso8601_timestamp('2024-01-01T10:00:00+02:00'),"
                " from_iso8601_timestamp('2024-01-01T10:00:00Z'), "
                "from_iso8601_date('2024-02-29'), "
                "to_iso8601(from_unixtime(1700000000)), "
                "to_iso8601(DATE '2024-03-01'), "
                "date_trunc('hour', TIMESTAMP '2024-03-01 10:59:59'), "
                "date_add('day', 7, TIMESTAMP '2024-03-01 00:00:00'), "
                "date_add(DATE '2024-03-01', INTERVAL 1 DAY), "
                "last_day_of_month(DATE '2024-02-03')",
                "2024-01-01 08:00:00,2024-01-01 10:00:00,2024-02-29,"
                "2023-11-14T22:13:20.000Z,2024-03-01,2024-03-01 10:00:00,"
                "2024-03-08 00:00:00,2024-03-02 00:00:00,2024-02-29");
    check_value(q, "SELECT approx_distinct(i % 7), regexp_like('10.1.2.3', "
                "'^10\\.'), json_extract_scalar('{\"a\": {\"b\": 5}}', "
                "'$.a.b') FROM range(1000) t(i)", "7,true,5");
    fl_query_close(q);
    fl_test_dir_teardown();
}


static void
test_athena_function_errors(void)
{
    struct fl_query *q = open_empty();
    char *err = run_err(q, "SELECT date_format(TIMESTAMP '2024-01-01', "
                        "'%D')", NULL);
    CHECK(strstr(err, "%D is not supported") != NULL);
    fl_free(err);
    err = run_err(q, "SELECT date_parse('2024-02-30', '%Y-%m-%d')", NULL);
    CHECK(strstr(err, "does not match") != NULL);
    fl_free(err);
    err = run_err(q, "SELECT date_parse('2024-03-01x', '%Y-%m-%d')", NULL);
    CHECK(strstr(err, "does not match") != NULL);
    fl_free(err);
    check_value(q, "SELECT date_parse(NULL, '%Y'), "
                "date_format(NULL::TIMESTAMP, '%Y')", ",");
    fl_query_close(q);
    fl_test_dir_teardown();
}


static void
test_athena_on_archive(void)
{
    fl_test_dir_setup("query");
    const char *dir = fl_test_at("a");
    write_hours_archive(dir);
    struct fl_query *q = open_ok(dir);
    check_run(q,
        "SELECT date_format(start, '%Y-%m-%d %H:00') AS h, count(*) AS n, "
        "min(to_unixtime(start)) AS first FROM flow_logs GROUP BY 1 "
        "ORDER BY 1",
        FL_OUTPUT_CSV,
        "h,n,first\n"
        "2024-03-01 00:00,3,1709251200.0\n"
        "2024-03-01 01:00,4,1709254800.0\n"
        "2024-03-01 02:00,3,1709258400.0\n"
        "2024-03-02 00:00,1,1709337630.0\n");
    /* The AWS examples written for BIGINT start still run. */
    check_value(q, "SELECT to_iso8601(from_unixtime(start)) AS start_time "
                "FROM flow_logs WHERE hour = '02' ORDER BY start LIMIT 1",
                "2024-03-01T02:00:00.000Z");
    check_value(q, "SELECT count(*) FROM flow_logs WHERE "
                "date_trunc('hour', start) = TIMESTAMP '2024-03-01 01:00:00'",
                "4");
    fl_query_close(q);
    fl_test_dir_teardown();
}


/* ---------------------------------------------------------------------
 * The command
 * ------------------------------------------------------------------- */

/* Runs fl_cmd_query with stdout/stderr sent to files; returns its status
 * and, when out/errtext are not NULL, what it printed (free() them). */
static int
cmd(char **argv, const char *stdin_text, char **out, char **errtext)
{
    int argc = 0;
    while (argv[argc] != NULL)
        argc++;
    fflush(NULL);
    int saved_out = dup(1), saved_err = dup(2), saved_in = dup(0);
    FILE *fo = tmpfile(), *fe = tmpfile(), *fi = tmpfile();
    CHECK(fo != NULL && fe != NULL && fi != NULL);
    if (stdin_text != NULL)
        fputs(stdin_text, fi);
    fflush(fi);
    rewind(fi);
    dup2(fileno(fo), 1);
    dup2(fileno(fe), 2);
    dup2(fileno(fi), 0);
    clearerr(stdin);
    int status = fl_cmd_query(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    dup2(saved_in, 0);
    close(saved_out);
    close(saved_err);
    close(saved_in);
    FILE *files[2] = { fo, fe };
    char **dst[2] = { out, errtext };
    for (int i = 0; i < 2; i++) {
        long n = ftell(files[i]);
        rewind(files[i]);
        char *p = calloc(1, (size_t)n + 1);
        CHECK(p != NULL);
        CHECK(fread(p, 1, (size_t)n, files[i]) == (size_t)n);
        if (dst[i] != NULL)
            *dst[i] = p;
        else
            free(p);
        fclose(files[i]);
    }
    fclose(fi);
    return status;
}


static void
test_cmd_query(void)
{
    fl_test_dir_setup("query");
    char dir[512];
    snprintf(dir, sizeof dir, "%s", fl_test_at("a"));
    write_hours_archive(dir);
    char *out = NULL, *err = NULL;

    char *a1[] = { "query", "--archive", dir, "-o", "csv",
                   "SELECT hour, count(*) AS n FROM flow_logs "
                   "WHERE day = '01' GROUP BY hour ORDER BY hour", NULL };
    CHECK_EQ_INT(cmd(a1, NULL, &out, &err), 0);
    CHECK_EQ_STR(out, "hour,n\n00,3\n01,4\n02,3\n");
    CHECK_EQ_STR(err, "");
    free(out);
    free(err);

    /* -f - reads the script from stdin; --output=json. */
    char *a2[] = { "query", "--archive", dir, "--output=json", "-f", "-",
                   NULL };
    CHECK_EQ_INT(cmd(a2, "SELECT 1 AS a;\nSELECT 2 AS b;\n", &out, &err), 0);
    CHECK_EQ_STR(out, "[\n{\"b\":2}\n]\n");
    free(out);
    free(err);

    /* -f FILE */
    FILE *f = fopen(fl_test_at("q.sql"), "w");
    CHECK(f != NULL);
    fputs("SELECT count(*) AS n FROM vpc_flow_logs.flow_logs", f);
    fclose(f);
    char fpath[512];
    snprintf(fpath, sizeof fpath, "%s", fl_test_at("q.sql"));
    char *a3[] = { "query", "--archive", dir, "-f", fpath, NULL };
    CHECK_EQ_INT(cmd(a3, NULL, &out, &err), 0);
    CHECK_EQ_STR(out, " n\n--\n11\n(1 row)\n");
    free(out);
    free(err);

    /* SQL error: DuckDB's message on stderr, status 1. */
    char *a4[] = { "query", "--archive", dir, "SELEC 1", NULL };
    CHECK_EQ_INT(cmd(a4, NULL, &out, &err), 1);
    CHECK(strncmp(err, "flowlake query: Parser Error: syntax error", 42)
          == 0);
    free(out);
    free(err);

    /* Missing archive: status 1 and a clear message. */
    char missing[512];
    snprintf(missing, sizeof missing, "%s", fl_test_at("missing"));
    char *a5[] = { "query", "--archive", missing, "SELECT 1", NULL };
    CHECK_EQ_INT(cmd(a5, NULL, &out, &err), 1);
    CHECK(strstr(err, "flowlake query: archive directory") != NULL);
    CHECK(strstr(err, "No such file or directory") != NULL);
    free(out);
    free(err);

    /* Usage errors: status 2. */
    char *u1[] = { "query", "--archive", dir, NULL };
    CHECK_EQ_INT(cmd(u1, NULL, NULL, NULL), 2);
    char *u2[] = { "query", "-o", "xml", "SELECT 1", NULL };
    CHECK_EQ_INT(cmd(u2, NULL, NULL, NULL), 2);
    char *u3[] = { "query", "--bogus", "SELECT 1", NULL };
    CHECK_EQ_INT(cmd(u3, NULL, NULL, NULL), 2);
    char *u4[] = { "query", "-f", fpath, "SELECT 1", NULL };
    CHECK_EQ_INT(cmd(u4, NULL, NULL, NULL), 2);
    char *u5[] = { "query", "SELECT 1", "SELECT 2", NULL };
    CHECK_EQ_INT(cmd(u5, NULL, NULL, NULL), 2);
    char *u6[] = { "query", "--archive", NULL };
    CHECK_EQ_INT(cmd(u6, NULL, NULL, NULL), 2);

    /* --help: status 0, lists the options, tables and functions. */
    char *h[] = { "query", "--help", NULL };
    CHECK_EQ_INT(cmd(h, NULL, &out, &err), 0);
    CHECK(strstr(out, "--archive DIR") != NULL);
    CHECK(strstr(out, "--output FORMAT") != NULL);
    CHECK(strstr(out, "vpc_flow_logs.flow_logs") != NULL);
    CHECK(strstr(out, "from_unixtime") != NULL);
    CHECK(strstr(out, "%Y-%m-%d") != NULL);
    CHECK(strstr(out, "examples:") != NULL);
    free(out);
    free(err);
    fl_test_dir_teardown();
}

/* ---------------------------------------------------------------------
 * The sandbox (src/query/sandbox.c, sqllex.c)
 * ------------------------------------------------------------------- */

static struct fl_query *
open_sandboxed(const char *dir)
{
    struct fl_query *q = open_ok(dir);
    char *err = NULL;
    int rc = fl_query_sandbox(q, "512MB", &err);
    if (rc != 0)
        fprintf(stderr, "  fl_query_sandbox = %d: %s\n", rc, err ? err : "?");
    CHECK_EQ_INT(rc, 0);
    CHECK(err == NULL);
    return q;
}


/* fl_query_check_sql: what passes, and what is refused with which
 * message -- decided before anything is bound, so a refused EXPORT
 * creates no folder. */
static void
test_sandbox_allow_list(void)
{
    static const char *const allowed[] = {
        "SELECT 1",
        "select count(*) from flow_logs where year = '2024'",
        "FROM flow_logs SELECT count(*)",
        "VALUES (1), (2)",
        "WITH a AS (SELECT 1 AS x) SELECT x FROM a",
        "SELECT 1 UNION ALL SELECT 2 EXCEPT SELECT 3",
        "DESCRIBE flow_logs",
        "SHOW TABLES",
        "SUMMARIZE SELECT 1",
        "SELECT 1; SELECT 2;",
        "EXPLAIN SELECT 1",
        "explain analyze select count(*) from flow_logs",
        "/* x; */ EXPLAIN -- y;\n ANALYSE SELECT ';'",
        "SELECT * FROM range(3) JOIN generate_series(1, 2) ON true",
        "SELECT * FROM duckdb_settings() WHERE name = 'memory_limit'",
        "SELECT current_setting('lock_configuration')",
        "SELECT cidr_contains('10.0.0.0/8', '10.1.2.3')",
        "SELECT from_unixtime(0), date_format(now(), '%Y')",
        "SELECT * FROM read_csv('x.csv')",     /* allowed here, fails later */
        "SELECT list_transform([1, 2], x -> x + 1)",
        "SELECT 'COPY (SELECT 1) TO ''x''; ATTACH' AS text",
        "SELECT $$; COPY$$ AS dollar",
    };
    static const struct { const char *sql, *msg; } refused[] = {
        { "COPY (SELECT 1) TO 'x.csv'",
          "only SELECT and EXPLAIN are allowed here; statement 1 is COPY" },
        { "EXPLAIN ANALYZE COPY (SELECT 1) TO 'x.csv'",
          "statement 1 is EXPLAIN ANALYZE COPY" },
        { "explain copy (select 1) to 'x.csv'",
          "statement 1 is EXPLAIN COPY" },
        { "SELECT 1; COPY (SELECT 1) TO 'x.csv'", "statement 2 is COPY" },
        { "SELECT ';'; /* ; */ -- ;\n export database 'x'",
          "statement 2 is EXPORT" },
        { "SET lock_configuration = false", "statement 1 is SET" },
        { "RESET memory_limit", "statement 1 is RESET" },
        { "ATTACH ':memory:' AS m", "statement 1 is ATTACH" },
        { "INSTALL httpfs", "statement 1 is INSTALL" },
        { "LOAD httpfs", "statement 1 is LOAD" },
        { "PRAGMA database_list", "statement 1 is PRAGMA" },
        { "IMPORT DATABASE 'x'", "statement 1 is IMPORT" },
        { "CREATE TABLE t (a INT)", "statement 1 is CREATE" },
        { "DROP VIEW flow_logs", "statement 1 is DROP" },
        { "CHECKPOINT", "statement 1 is CHECKPOINT" },
        { "CALL checkpoint()", "statement 1 is CALL" },
        { "PIVOT flow_logs ON action USING count(*)",
          "statement 1 is PIVOT" },
        { "SELECT 1; EXPLAIN SELECT 1",
          "EXPLAIN must be the only statement of a request" },
        { "EXPLAIN (FORMAT json) SELECT 1",
          "only EXPLAIN and EXPLAIN ANALYZE are allowed here" },
        { "EXPLAIN VERBOSE SELECT 1",
          "only EXPLAIN and EXPLAIN ANALYZE are allowed here" },
        { "SELECT * FROM checkpoint()",
          "table function checkpoint() is not allowed here" },
        { "SELECT * FROM QUERY('SELECT 1')",
          "table function query() is not allowed here" },
        { "SELECT * FROM glob('*')", "table function glob() is not allowed" },
        { "SELECT (SELECT 1 FROM force_checkpoint())",
          "table function force_checkpoint() is not allowed" },
        { "EXPLAIN SELECT * FROM enable_logging()",
          "table function enable_logging() is not allowed" },
        { "SELECT setseed(0.1)", "function setseed() is not allowed here" },
        { "WITH a AS (SELECT nextval('s')) SELECT 1",
          "function nextval() is not allowed here" },
        { "SELECT write_log('x')", "function write_log() is not allowed" },
    };
    char *err = NULL;
    fl_test_dir_setup("query");
    struct fl_query *q = open_sandboxed(fl_test_root);
    char export_dir[600];
    snprintf(export_dir, sizeof export_dir, "EXPORT DATABASE '%s'",
             fl_test_at("exported"));

    for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++) {
        int rc = fl_query_check_sql(q, allowed[i], &err);
        if (rc != 0)
            fprintf(stderr, "  refused: %s\n  %s\n", allowed[i],
                    err ? err : "?");
        CHECK_EQ_INT(rc, 0);
        CHECK(err == NULL);
    }
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        int rc = fl_query_check_sql(q, refused[i].sql, &err);
        if (rc != FL_EPARSE || err == NULL
            || strstr(err, refused[i].msg) == NULL)
            fprintf(stderr, "  %s\n  rc %d: %s\n  want: %s\n",
                    refused[i].sql, rc, err ? err : "(none)",
                    refused[i].msg);
        CHECK_EQ_INT(rc, FL_EPARSE);
        CHECK(strstr(err, refused[i].msg) != NULL);
        fl_free(err);
        err = NULL;
    }

    /* Refusing has no effect: no folder, as preparing would have made. */
    CHECK_EQ_INT(fl_query_check_sql(q, export_dir, &err), FL_EPARSE);
    CHECK(strstr(err, "statement 1 is EXPORT") != NULL);
    fl_free(err);
    err = NULL;
    struct stat st;
    CHECK(stat(fl_test_at("exported"), &st) < 0 && errno == ENOENT);

    /* A syntax error is DuckDB's message, not a refusal. */
    CHECK_EQ_INT(fl_query_check_sql(q, "SELEC 1", &err), FL_EDB);
    CHECK(strstr(err, "syntax error") != NULL);
    fl_free(err);
    fl_query_close(q);
    fl_test_dir_teardown();
}


/* Runs sql untrusted; returns the output (free) or, when err_out is
 * given, the error (fl_free) and the rc. */
static char *
run_untrusted(struct fl_query *q, const char *sql, char **err_out,
              int *rc_out)
{
    char *buf = NULL;
    size_t len = 0;
    char *err = NULL;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f != NULL);
    int rc = fl_query_run_untrusted(q, sql, FL_OUTPUT_CSV, f, 10, &err);
    CHECK(fclose(f) == 0);
    if (err_out != NULL) {
        *err_out = err;
        *rc_out = rc;
        free(buf);
        return NULL;
    }
    if (rc != 0)
        fprintf(stderr, "  %s: %d %s\n", sql, rc, err ? err : "?");
    CHECK_EQ_INT(rc, 0);
    return buf;
}


/* The session's files come from a walk that does not follow symlinks:
 * planted links (to /etc/passwd, to a Parquet file and a folder outside
 * the archive) are neither in the views nor readable. */
static void
test_sandbox_lists_archive_without_symlinks(void)
{
    struct fl_query_files files = { 0 };
    struct fl_query *q = NULL;
    char outside[600], link[600], sql[1400], *out, *err = NULL;
    int rc;

    fl_test_dir_setup("query");
    CHECK(mkdir(fl_test_at("a"), 0755) == 0);
    write_archive(fl_test_at("a"),
        "SELECT * FROM (VALUES (1700000000, 10), (1700003600, 20), "
        "(1700007200, 30)) v(start, bytes)");
    /* A copy of the real files outside, then links to it. */
    write_archive(fl_test_at("out"), "SELECT 1700000000 AS start, 99 AS bytes");
    snprintf(outside, sizeof outside, "%s", fl_test_at("out/year=2023"));
    snprintf(link, sizeof link, "%s", fl_test_at("a/year=2099"));
    CHECK(symlink(outside, link) == 0);
    snprintf(link, sizeof link, "%s",
             fl_test_at("a/year=2023/month=11/day=14/hour=22/passwd.parquet"));
    CHECK(symlink("/etc/passwd", link) == 0);
    CHECK(symlink("/etc", fl_test_at("a/etc")) == 0);
    CHECK(mkdir(fl_test_at("a/year=2023/month=11/day=14/hour=22/d.parquet"),
                0755) == 0);

    CHECK_EQ_INT(fl_query_list_archive(fl_test_at("a/"), &files, &err), 0);
    CHECK(err == NULL);
    CHECK_EQ_INT(files.n_flow, 3);
    for (size_t i = 0; i < files.n_flow; i++) {
        CHECK(strncmp(files.flow[i], fl_test_at("a/year=2023/"),
                      strlen(fl_test_at("a/year=2023/"))) == 0);
        CHECK(strstr(files.flow[i], "passwd") == NULL);
        CHECK(i == 0 || strcmp(files.flow[i - 1], files.flow[i]) < 0);
    }
    CHECK_EQ_INT(files.n_metrics, 0);
    CHECK(files.alarm_history == NULL);

    CHECK_EQ_INT(fl_query_open_files(fl_test_at("a"), &files, NULL, &q, &err),
                 0);
    CHECK_EQ_INT(fl_query_sandbox(q, "512MB", &err), 0);
    out = run_untrusted(q, "SELECT count(*) AS n, sum(bytes) AS b "
                        "FROM flow_logs", NULL, NULL);
    CHECK_EQ_STR(out, "n,b\n3,60\n");
    free(out);
    out = run_untrusted(q, "/* c */ EXPLAIN /* d */ SELECT 42", NULL, NULL);
    CHECK(strstr(out, "physical_plan") != NULL);
    free(out);

    /* Readable: the listed files. Not: the links, their targets. */
    snprintf(sql, sizeof sql, "SELECT count(*) AS n FROM read_parquet('%s')",
             files.flow[0]);
    out = run_untrusted(q, sql, NULL, NULL);
    CHECK_EQ_STR(out, "n\n1\n");
    free(out);
    static const char *const paths[] = {
        "a/year=2023/month=11/day=14/hour=22/passwd.parquet",
        "a/etc/passwd", "a/year=2099/month=11/day=14/hour=22",
        "a/../out/year=2023", "a/year=*/*/*/*/*.parquet",
    };
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        snprintf(sql, sizeof sql, "SELECT * FROM read_text('%s')",
                 fl_test_at(paths[i]));
        run_untrusted(q, sql, &err, &rc);
        CHECK_EQ_INT(rc, FL_EDB);
        CHECK(strstr(err, "file system operations are disabled") != NULL);
        fl_free(err);
        err = NULL;
    }
    run_untrusted(q, "SELECT * FROM read_csv('/etc/passwd')", &err, &rc);
    CHECK(strstr(err, "file system operations are disabled") != NULL);
    fl_free(err);
    err = NULL;
    /* Settings cannot move. */
    run_untrusted(q, "SET enable_external_access = true", &err, &rc);
    CHECK_EQ_INT(rc, FL_EPARSE);
    fl_free(err);
    err = NULL;
    out = run_untrusted(q, "SELECT current_setting('lock_configuration') AS l,"
                        " current_setting('temp_directory') AS t", NULL, NULL);
    CHECK_EQ_STR(out, "l,t\ntrue,\"\"\n");
    free(out);

    fl_query_close(q);
    fl_query_files_free(&files);
    fl_query_files_free(&files);            /* twice: a no-op */
    fl_query_files_free(NULL);
    CHECK_EQ_INT(fl_query_list_archive(fl_test_at("missing"), &files, &err),
                 -ENOENT);
    CHECK(strstr(err, "cannot list the archive") != NULL);
    CHECK_EQ_INT(files.n_flow, 0);
    fl_free(err);
    fl_test_dir_teardown();
}


/* sqllex.c: statement boundaries past strings, identifiers, dollar
 * quotes and comments; the EXPLAIN prefixes; the names in messages. */
static void
test_sandbox_lexer(void)
{
    static const char script[] =
        "SELECT 'a;''b' ; ;\n-- c;\nSELECT \"x;\"\"\" /* d; /* e; */ */;"
        "SELECT E'\\';' ; SELECT $t$;$t$, $1;  -- tail";
    static const char *const want[] = {
        "SELECT 'a;''b' ", "SELECT \"x;\"\"\" /* d; /* e; */ */",
        "SELECT E'\\';' ", "SELECT $t$;$t$, $1",
    };
    size_t pos = 0, start, len, i = 0;
    char name[64];
    const char *rest = NULL;

    while (fl_query_sql_next(script, &pos, &start, &len)) {
        CHECK(i < 4);
        CHECK_EQ_MEM(script + start, len, want[i]);
        i++;
    }
    CHECK_EQ_INT(i, 4);
    pos = 0;
    CHECK_EQ_INT(fl_query_sql_next(" ; -- x\n /* y */ ", &pos, &start, &len),
                 0);

    CHECK_EQ_INT(fl_query_sql_explain("SELECT 1", &rest), 0);
    CHECK_EQ_INT(fl_query_sql_explain("EXPLAINX SELECT 1", &rest), 0);
    CHECK_EQ_INT(fl_query_sql_explain(" /* a */ explain -- b\n SELECT 1",
                                      &rest), FL_QUERY_EXPLAIN);
    CHECK_EQ_STR(rest, "SELECT 1");
    CHECK_EQ_INT(fl_query_sql_explain("EXPLAIN analyse SELECT 2", &rest),
                 FL_QUERY_EXPLAIN_ANALYZE);
    CHECK_EQ_STR(rest, "SELECT 2");
    CHECK_EQ_INT(fl_query_sql_explain("EXPLAIN ANALYZE VERBOSE SELECT 3",
                                      &rest), FL_QUERY_EXPLAIN_OTHER);
    CHECK_EQ_INT(fl_query_sql_explain("EXPLAIN (FORMAT 'j)') COPY x", &rest),
                 FL_QUERY_EXPLAIN_OTHER);
    CHECK_EQ_STR(rest, "COPY x");
    CHECK_EQ_INT(fl_query_sql_explain("EXPLAIN (FORMAT json", &rest), 0);

    fl_query_sql_describe("  copy x", name, sizeof name);
    CHECK_EQ_STR(name, "COPY");
    fl_query_sql_describe("EXPLAIN ANALYZE /**/ attach 'x'", name,
                          sizeof name);
    CHECK_EQ_STR(name, "EXPLAIN ANALYZE ATTACH");
    fl_query_sql_describe("(SELECT 1)", name, sizeof name);
    CHECK_EQ_STR(name, "a statement that is not a query");
    fl_query_sql_describe("EXPLAIN ANALYZE COPY", name, 8);
    CHECK_EQ_STR(name, "EXPLAIN");
}


/* fl_query_error_position: where DuckDB's error points, from its excerpt
 * (also cut with "..." on a long line) or from a character offset. */
static void
test_error_position(void)
{
    unsigned l = 0, c = 0;
    CHECK_EQ_INT(fl_query_error_position("SELECT srcaddr FORM flow_logs",
        "Parser Error: syntax error at or near \"flow_logs\"\n\n"
        "LINE 1: SELECT srcaddr FORM flow_logs\n"
        "                            ^", -1, &l, &c), 1);
    CHECK_EQ_INT(l, 1);
    CHECK_EQ_INT(c, 21);
    /* The offset form (the sandbox's parse), and CR LF counted as DuckDB
     * does: the CR and the LF each end a line. */
    CHECK_EQ_INT(fl_query_error_position("SELECT 1\nFROM t WHERE = 2",
                                         "syntax error", 22, &l, &c), 1);
    CHECK_EQ_INT(l, 2);
    CHECK_EQ_INT(c, 14);
    CHECK_EQ_INT(fl_query_error_position("SELECT 1\r\nx", "e", 10, &l, &c), 1);
    CHECK_EQ_INT(l, 3);
    CHECK_EQ_INT(c, 1);
    /* Characters, not bytes. */
    CHECK_EQ_INT(fl_query_error_position("SELECT 'é', x FORM t", "e", 19,
                                         &l, &c), 1);
    CHECK_EQ_INT(c, 20);
    /* A long line: the excerpt starts with "..." and ends with "...". */
    const char *sql = "SELECT aaaaaaaaaa, bbbbbbbbbb, cccccccccc, dddddddddd, "
                      "eeeeeeeeee, nosuch, ffffffffff, gggggggggg FROM t";
    CHECK_EQ_INT(fl_query_error_position(sql,
        "Binder Error: Referenced column \"nosuch\" not found\n\n"
        "LINE 1: ...cccccccccc, dddddddddd, eeeeeeeeee, nosuch, ffffffffff...\n"
        "                                               ^", -1, &l, &c), 1);
    CHECK_EQ_INT(l, 1);
    CHECK_EQ_INT(c, (long long)(strstr(sql, "nosuch") - sql) + 1);
    /* An excerpt that is not in the text (a rewrite), no excerpt, no
     * offset, an offset past the end: no position. */
    CHECK_EQ_INT(fl_query_error_position("SELECT x",
        "E\n\nLINE 1: EXPLAIN SELECT x\n                       ^", -1, &l, &c), 0);
    CHECK_EQ_INT(fl_query_error_position("SELECT x", "no place", -1, &l, &c), 0);
    CHECK_EQ_INT(fl_query_error_position("SELECT x", NULL, 9, &l, &c), 0);
    CHECK_EQ_INT(fl_query_error_position("SELECT x",
        "E\n\nLINE 3: SELECT x\n        ^", -1, &l, &c), 0);
}


FL_TEST_MAIN(
    FL_TEST(test_blog_rejected_by_protocol),
    FL_TEST(test_blog_last_14_days_by_srcaddr),
    FL_TEST(test_blog_dstport_443),
    FL_TEST(test_schema_full_and_typed),
    FL_TEST(test_empty_archive),
    FL_TEST(test_extra_columns_union_by_name),
    FL_TEST(test_pruning_one_hour_reads_only_its_files),
    FL_TEST(test_table_format_exact),
    FL_TEST(test_table_caps_rows),
    FL_TEST(test_csv_format_exact),
    FL_TEST(test_json_format_exact),
    FL_TEST(test_value_rendering),
    FL_TEST(test_streaming_bounded_memory),
    FL_TEST(test_sql_errors),
    FL_TEST(test_open_missing_dir),
    FL_TEST(test_alloc_failures),
    FL_TEST(test_output_parse),
    FL_TEST(test_athena_time_functions),
    FL_TEST(test_athena_function_errors),
    FL_TEST(test_athena_on_archive),
    FL_TEST(test_cmd_query),
    FL_TEST(test_sandbox_allow_list),
    FL_TEST(test_sandbox_lists_archive_without_symlinks),
    FL_TEST(test_sandbox_lexer),
    FL_TEST(test_error_position)
)
