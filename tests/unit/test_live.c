/* SPDX-License-Identifier: MIT
 *
 * test_live.c -- the live source (src/archive/live.c) and the query
 * session over the archive plus the live buffer (fl_query_open_live in
 * src/query/query.c): freshness, SQL sees records the server has not
 * published yet.
 *
 * The archives here are written by fl_archive_write_blocks, the server's
 * own publish path, from the same blocks the live source is made of, so
 * the tests can compare live rows with archived ones: same values, same
 * columns, same year/month/day/hour partitions. They also pin that the
 * table function is re-runnable (a query run twice, a self-join that scans
 * it twice at once, an early stop by LIMIT, two sessions on two threads),
 * that bad lines are skipped, that a custom format's unknown field shows
 * as an extra column, and that everything is freed (fl_mem_used()).
 */
#include "core/fl_config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive_int.h"
#include "archive/convert.h"
#include "archive/live.h"
#include "core/fl_error.h"
#include "core/fl_fs.h"
#include "core/fl_mem.h"
#include "core/fl_time.h"
#include "query/query.h"

#include "harness.h"
#include "query_check.h"


/* ---------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------- */

static struct fl_live *
live_ok(const struct fl_archive_block *blocks, size_t n)
{
    struct fl_live *live = NULL;
    char *err = NULL;
    int rc = fl_live_create(blocks, n, &live, &err);
    if (rc != 0) {
        fprintf(stderr, "  fl_live_create = %d: %s\n", rc, err ? err : "?");
        exit(1);
    }
    CHECK(err == NULL);
    CHECK(live != NULL);
    return live;
}


static struct fl_query *
open_live_ok(struct fl_live *live)
{
    struct fl_query *q = NULL;
    char *err = NULL;
    int rc = fl_query_open_live(fl_test_root, live, &q, &err);
    if (rc != 0) {
        fprintf(stderr, "  fl_query_open_live = %d: %s\n", rc,
                err ? err : "?");
        exit(1);
    }
    CHECK(err == NULL);
    return q;
}


static void
archive_ok(const struct fl_archive_block *blocks, size_t n)
{
    struct fl_convert_stats st;
    struct fl_err err = FL_ERR_INIT;
    int rc = fl_archive_write_blocks(fl_test_root, blocks, n, 0, NULL, &st,
                                     &err);
    if (rc != 0) {
        fprintf(stderr, "  fl_archive_write_blocks = %d: %s\n", rc,
                fl_err_msg(&err));
        exit(1);
    }
}


/* The schema of the view of an archive-only session over fl_test_root. */
static char *
plain_schema(void)
{
    struct fl_query *q = NULL;
    char *err = NULL;
    CHECK_EQ_INT(fl_query_open(fl_test_root, &q, &err), 0);
    char *s = run(q, "SELECT column_name, column_type FROM "
                  "(DESCRIBE flow_logs)", FL_OUTPUT_CSV);
    fl_query_close(q);
    return s;
}


/* n default-format lines, srcaddr 10.<i/65536>.<i/256%256>.<i%256>,
 * packets i, start 1714521600 + i (2024-05-01T00:00:00Z + i s); fl_free. */
static char *
make_lines(size_t n)
{
    size_t cap = n * 128 + 1, o = 0;
    char *text = fl_malloc(cap);
    CHECK(text != NULL);
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(text + o, cap - o,
            "2 123456789012 eni-1 10.%zu.%zu.%zu 10.9.9.9 40000 443 6 %zu "
            "%zu %zu %zu ACCEPT OK\n", i / 65536, i / 256 % 256, i % 256, i,
            i * 100, (size_t)1714521600 + i, (size_t)1714521660 + i);
    text[o] = '\0';
    return text;
}


/* Two good default-format lines around a bad one (the server validates,
 * but the live source must not choke anyway). */
static const char text_a[] =
    "2 123456789012 eni-a 10.0.0.1 10.0.1.1 40000 443 6 5 500 "
    "1714521600 1714521660 ACCEPT OK\n"
    "2 123456789012 eni-a 10.0.0.1 10.0.1.1 40000 443 6 x 500 "
    "1714521600 1714521660 ACCEPT OK\n"
    "2 123456789012 eni-b 10.0.0.2 10.0.1.2 40001 22 6 7 700 "
    "1714525200 1714525230 REJECT OK\n";


/* ---------------------------------------------------------------------
 * The live source alone
 * ------------------------------------------------------------------- */

/* An empty archive plus live blocks: exactly the live rows, typed and
 * partitioned like archived ones, in the archive-only view's columns. */
static void
test_live_alone_exact_rows(void)
{
    fl_test_dir_setup("live");
    char *want_schema = plain_schema();
    struct fl_archive_block blk = { .text = text_a, .len = strlen(text_a),
                                    .source = "ingest#1" };
    struct fl_live *live = live_ok(&blk, 1);
    struct fl_query *q = open_live_ok(live);

    check_csv(q, "SELECT * FROM flow_logs ORDER BY srcaddr",
        "version,account_id,interface_id,srcaddr,dstaddr,srcport,dstport,"
        "protocol,packets,bytes,start,end,action,log_status,vpc_id,"
        "subnet_id,instance_id,tcp_flags,type,pkt_srcaddr,pkt_dstaddr,"
        "region,az_id,sublocation_type,sublocation_id,pkt_src_aws_service,"
        "pkt_dst_aws_service,flow_direction,traffic_path,ecs_cluster_arn,"
        "ecs_cluster_name,ecs_container_instance_arn,"
        "ecs_container_instance_id,ecs_container_id,"
        "ecs_second_container_id,ecs_service_name,ecs_task_definition_arn,"
        "ecs_task_arn,ecs_task_id,reject_reason,year,month,day,hour,date,"
        "source_file,log_group,log_stream,delivery_stream,"
        "delivery_attributes\n"
        "2,123456789012,eni-a,10.0.0.1,10.0.1.1,40000,443,6,5,500,"
        "2024-05-01 00:00:00,2024-05-01 00:01:00,ACCEPT,OK,"
        ",,,,,,,,,,,,,,,,,,,,,,,,,,2024,05,01,00,2024-05-01,,,,,\n"
        "2,123456789012,eni-b,10.0.0.2,10.0.1.2,40001,22,6,7,700,"
        "2024-05-01 01:00:00,2024-05-01 01:00:30,REJECT,OK,"
        ",,,,,,,,,,,,,,,,,,,,,,,,,,2024,05,01,01,2024-05-01,,,,,\n");
    /* Same columns, order and types as a session without live rows. */
    char *got_schema = run(q, "SELECT column_name, column_type FROM "
                           "(DESCRIBE flow_logs)", FL_OUTPUT_CSV);
    CHECK_EQ_STR(got_schema, want_schema);
    free(got_schema);
    free(want_schema);
    /* The bad line was skipped, not an error. */
    CHECK_EQ_INT(fl_live_skipped(live), 1);
    CHECK_EQ_INT(fl_live_records_read(live), 3);
    /* The blog's queries work on live rows as on archived ones. */
    check_value(q, "SELECT count(*) FROM flow_logs WHERE dstport = '443'",
                "1");
    check_value(q, "SELECT count(*) FROM flow_logs WHERE \"end\" - start = "
                "INTERVAL 60 SECOND", "1");
    fl_query_close(q);
    fl_live_destroy(live);
    fl_test_dir_teardown();
}


/* flowlake_live() itself: the columns an archive file holds (present
 * fields, extras) plus fl_hour; no blocks = no rows. */
static void
test_live_function_columns(void)
{
    fl_test_dir_setup("live");
    const char *t = "3 vpc-1 10.0.0.9 1714525200 on\n";
    struct fl_archive_block blk = {
        .text = t, .len = strlen(t),
        .format_spec = "${version} ${vpc-id} ${srcaddr} ${start} ${x-tag}",
        .source = "ingest#1"
    };
    struct fl_live *live = live_ok(&blk, 1);
    struct fl_query *q = open_live_ok(live);
    check_csv(q, "SELECT column_name, column_type FROM "
              "(DESCRIBE SELECT * FROM flowlake_live())",
              "column_name,column_type\n"
              "version,INTEGER\nsrcaddr,VARCHAR\nstart,BIGINT\n"
              "vpc_id,VARCHAR\nx_tag,VARCHAR\nfl_hour,BIGINT\n");
    check_csv(q, "SELECT * FROM flowlake_live()",
              "version,srcaddr,start,vpc_id,x_tag,fl_hour\n"
              "3,10.0.0.9,1714525200,vpc-1,on,476257\n");
    fl_query_close(q);
    fl_live_destroy(live);

    live = live_ok(NULL, 0);
    q = open_live_ok(live);
    check_value(q, "SELECT count(*) FROM flow_logs", "0");
    check_value(q, "SELECT count(*) FROM flowlake_live()", "0");
    fl_query_close(q);
    fl_live_destroy(live);
    fl_test_dir_teardown();
}


/* ---------------------------------------------------------------------
 * Archive plus live
 * ------------------------------------------------------------------- */

static void
test_archive_union_live(void)
{
    fl_test_dir_setup("live");
    const char *old =
        "2 123456789012 eni-a 10.0.0.1 10.0.1.1 40000 443 6 10 1000 "
        "1714521600 1714521660 ACCEPT OK\n"
        "2 123456789012 eni-a 10.0.0.3 10.0.1.1 40000 443 6 20 2000 "
        "1714528800 1714528860 REJECT OK\n"
        "2 123456789012 eni-a 10.0.0.4 10.0.1.1 40000 53 17 30 3000 "
        "1714532400 1714532460 ACCEPT OK\n";
    struct fl_archive_block pub = { .text = old, .len = strlen(old),
                                    .source = "ingest#0" };
    archive_ok(&pub, 1);
    char *want_schema = plain_schema();

    struct fl_archive_block blk = { .text = text_a, .len = strlen(text_a),
                                    .source = "ingest#1" };
    struct fl_live *live = live_ok(&blk, 1);
    struct fl_query *q = open_live_ok(live);
    check_value(q, "SELECT count(*) FROM flow_logs", "5");
    check_value(q, "SELECT sum(packets) FROM flow_logs", "72");
    check_csv(q, "SELECT hour, count(*) AS n, sum(packets) AS p "
              "FROM flow_logs GROUP BY hour ORDER BY hour",
              "hour,n,p\n00,2,15\n01,1,7\n02,1,20\n03,1,30\n");
    check_csv(q, "SELECT srcaddr, packets, start, action FROM flow_logs "
              "ORDER BY start, srcaddr, packets DESC",
              "srcaddr,packets,start,action\n"
              "10.0.0.1,10,2024-05-01 00:00:00,ACCEPT\n"
              "10.0.0.1,5,2024-05-01 00:00:00,ACCEPT\n"
              "10.0.0.2,7,2024-05-01 01:00:00,REJECT\n"
              "10.0.0.3,20,2024-05-01 02:00:00,REJECT\n"
              "10.0.0.4,30,2024-05-01 03:00:00,ACCEPT\n");
    /* A partition filter applies to both sides, and still prunes the
     * archive's files (the live rows have none). */
    check_value(q, "SELECT count(*) FROM flow_logs WHERE year = '2024' AND "
                "month = '05' AND day = '01' AND hour = '00'", "2");
    long files = -1;
    char *err = NULL;
    CHECK_EQ_INT(fl_query_files_scanned(q, "SELECT count(*) FROM flow_logs "
                                        "WHERE hour = '00'", &files, &err),
                 0);
    CHECK_EQ_INT(files, 1);
    /* The blog's "rejected by protocol" query. */
    check_csv(q, "select protocol, sum(packets) as rejected_packets from "
              "flow_logs where action = 'REJECT' group by protocol "
              "order by rejected_packets desc;",
              "protocol,rejected_packets\n6,27\n");
    char *got_schema = run(q, "SELECT column_name, column_type FROM "
                           "(DESCRIBE flow_logs)", FL_OUTPUT_CSV);
    CHECK_EQ_STR(got_schema, want_schema);
    free(got_schema);
    free(want_schema);
    fl_query_close(q);
    fl_live_destroy(live);
    fl_test_dir_teardown();
}


/* Unknown fields of a custom format: an extra VARCHAR column after the
 * partitions, after the archive's own extras; NULL on the other rows. */
static void
test_custom_format_extra_column(void)
{
    fl_test_dir_setup("live");
    const char *old = "2 10.0.0.1 1714521600 aaa\n";
    struct fl_archive_block pub = {
        .text = old, .len = strlen(old),
        .format_spec = "${version} ${srcaddr} ${start} ${foo}",
        .source = "ingest#0"
    };
    archive_ok(&pub, 1);
    const char *t = "5 10.0.0.7 1714525200 2\n"
                    "5 10.0.0.8 1714525260 -\n";
    const char *d = "2 123456789012 eni-a 10.0.0.9 10.0.1.1 40000 443 6 1 "
                    "60 1714528800 1714528860 ACCEPT OK\n";
    struct fl_archive_block blk[] = {
        { .text = t, .len = strlen(t),
          .format_spec = "${version} ${srcaddr} ${start} ${encryption-status}",
          .source = "ingest#1" },
        { .text = d, .len = strlen(d), .source = "ingest#2" },
    };
    struct fl_live *live = live_ok(blk, 2);
    struct fl_query *q = open_live_ok(live);
    check_value(q, "SELECT count(*) FROM (DESCRIBE flow_logs)", "52");
    check_csv(q, "SELECT column_name, column_type FROM (DESCRIBE flow_logs) "
              "WHERE column_name IN ('reject_reason', 'hour', 'date', 'foo', "
              "'encryption_status')",
              "column_name,column_type\n"
              "reject_reason,VARCHAR\nhour,VARCHAR\ndate,DATE\nfoo,VARCHAR\n"
              "encryption_status,VARCHAR\n");
    check_csv(q, "SELECT srcaddr, version, hour, foo, encryption_status "
              "FROM flow_logs ORDER BY srcaddr",
              "srcaddr,version,hour,foo,encryption_status\n"
              "10.0.0.1,2,00,aaa,\n"
              "10.0.0.7,5,01,,2\n"
              "10.0.0.8,5,01,,\n"
              "10.0.0.9,2,02,,\n");
    fl_query_close(q);
    fl_live_destroy(live);
    fl_test_dir_teardown();
}


/* A live block without a format whose first line is an S3 header is read
 * with that header, as fl_archive_write_blocks reads it. */
static void
test_header_block(void)
{
    fl_test_dir_setup("live");
    const char *t = "version srcaddr start packets\n"
                    "2 10.0.0.7 1714528800 9\n";
    struct fl_archive_block blk = { .text = t, .len = strlen(t),
                                    .source = "ingest#1" };
    struct fl_live *live = live_ok(&blk, 1);
    struct fl_query *q = open_live_ok(live);
    check_csv(q, "SELECT srcaddr, packets, start, hour FROM flow_logs",
              "srcaddr,packets,start,hour\n"
              "10.0.0.7,9,2024-05-01 02:00:00,02\n");
    CHECK_EQ_INT(fl_live_skipped(live), 0);
    fl_query_close(q);
    fl_live_destroy(live);
    fl_test_dir_teardown();
}


/* ---------------------------------------------------------------------
 * Re-running
 * ------------------------------------------------------------------- */

#define BIG 20000      /* ~10 blocks of 2048 lines: more than the queue */

/* A self-join scans flowlake_live() twice at once; scalar subqueries and
 * a UNION ALL do too. Each scan must see every row exactly once. */
static void
test_self_join_two_scans(void)
{
    fl_test_dir_setup("live");
    char *text = make_lines(BIG);
    struct fl_archive_block blk = { .text = text, .len = strlen(text),
                                    .source = "ingest#1" };
    struct fl_live *live = live_ok(&blk, 1);
    struct fl_query *q = open_live_ok(live);
    char want[64];

    snprintf(want, sizeof want, "%d", BIG);
    check_value(q, "SELECT count(*) FROM flow_logs a JOIN flow_logs b "
                "ON a.srcaddr = b.srcaddr AND a.packets = b.packets", want);
    snprintf(want, sizeof want, "%d,%d", BIG, 2 * BIG);
    check_value(q, "SELECT (SELECT count(*) FROM flow_logs), "
                "(SELECT count(*) FROM (SELECT srcaddr FROM flow_logs "
                "UNION ALL SELECT srcaddr FROM flow_logs))", want);
    snprintf(want, sizeof want, "%lld",
             (long long)BIG * (BIG - 1) / 2 * 2);
    check_value(q, "SELECT sum(a.packets + b.packets) FROM flow_logs a, "
                "flow_logs b WHERE a.srcaddr = b.srcaddr", want);
    /* Seven scans (2 + 3 + 2), each of every line. */
    CHECK_EQ_INT(fl_live_records_read(live), (uint64_t)BIG * 7);
    fl_query_close(q);
    fl_live_destroy(live);
    fl_free(text);
    fl_test_dir_teardown();
}


/* The same fl_query runs the same statement twice (the view is re-created
 * in between), and a LIMIT that stops a scan early leaves nothing behind
 * that spoils the next run. */
static void
test_run_twice_and_early_stop(void)
{
    fl_test_dir_setup("live");
    char *text = make_lines(BIG);
    struct fl_archive_block blk = { .text = text, .len = strlen(text),
                                    .source = "ingest#1" };
    struct fl_live *live = live_ok(&blk, 1);
    struct fl_query *q = open_live_ok(live);
    const char *sql = "SELECT count(*) AS n, sum(packets) AS p, "
                      "count(DISTINCT hour) AS h FROM flow_logs";
    char *first = run(q, sql, FL_OUTPUT_CSV);
    char *second = run(q, sql, FL_OUTPUT_CSV);
    CHECK_EQ_STR(first, "n,p,h\n20000,199990000,6\n");
    CHECK_EQ_STR(second, first);
    free(first);
    free(second);
    check_csv(q, "SELECT srcaddr FROM flow_logs LIMIT 1", "srcaddr\n"
              "10.0.0.0\n");
    check_value(q, "SELECT count(*) FROM flow_logs", "20000");
    /* A second session on the same live source. */
    struct fl_query *q2 = open_live_ok(live);
    check_value(q2, "SELECT count(*) FROM flow_logs", "20000");
    fl_query_close(q2);
    fl_query_close(q);
    fl_live_destroy(live);
    fl_free(text);
    fl_test_dir_teardown();
}


struct counter_arg {
    struct fl_live *live;
    int             ok;
};

static void *
count_thread(void *p)
{
    struct counter_arg *a = p;
    struct fl_query *q = NULL;
    char *err = NULL;
    if (fl_query_open_live(fl_test_root, a->live, &q, &err) != 0)
        return NULL;
    int ok = 1;
    for (int i = 0; i < 3; i++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (f == NULL || fl_query_run(q, "SELECT count(*) FROM flow_logs",
                                      FL_OUTPUT_CSV, f, &err) != 0)
            ok = 0;
        if (f != NULL)
            fclose(f);
        if (buf == NULL || strcmp(buf, "count_star()\n20000\n") != 0)
            ok = 0;
        free(buf);
    }
    fl_query_close(q);
    a->ok = ok;
    return NULL;
}


/* One live source, two sessions on two threads at once. */
static void
test_two_threads(void)
{
    fl_test_dir_setup("live");
    char *text = make_lines(BIG);
    struct fl_archive_block blk = { .text = text, .len = strlen(text),
                                    .source = "ingest#1" };
    struct fl_live *live = live_ok(&blk, 1);
    struct counter_arg a[2] = { { live, 0 }, { live, 0 } };
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&t[i], NULL, count_thread, &a[i]) == 0);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    CHECK(a[0].ok);
    CHECK(a[1].ok);
    CHECK_EQ_INT(fl_live_records_read(live), (uint64_t)BIG * 6);
    fl_live_destroy(live);
    fl_free(text);
    fl_test_dir_teardown();
}


/* ---------------------------------------------------------------------
 * Partitions
 * ------------------------------------------------------------------- */

/* The same lines archived and live: each (year, month, day, hour) the
 * archive's folders say, the live rows say too -- including the first
 * hour of the epoch, a leap day, a year end and the last second a
 * partition can hold. */
static void
test_live_partitions_match_archive(void)
{
    fl_test_dir_setup("live");
    const char *t =
        "2 1 eni-a 10.0.0.1 10.0.0.2 1 443 6 1 1 0 1 ACCEPT OK\n"
        "2 1 eni-a 10.0.0.2 10.0.0.2 1 443 6 1 1 3599 3600 ACCEPT OK\n"
        "2 1 eni-a 10.0.0.3 10.0.0.2 1 443 6 1 1 951868799 951868800 "
        "ACCEPT OK\n"                                /* 2000-02-29 23:59:59 */
        "2 1 eni-a 10.0.0.4 10.0.0.2 1 443 6 1 1 1709251199 1709251200 "
        "ACCEPT OK\n"                                /* 2024-02-29 23:59:59 */
        "2 1 eni-a 10.0.0.5 10.0.0.2 1 443 6 1 1 1735689600 1735689601 "
        "ACCEPT OK\n"                                /* 2025-01-01 00:00:00 */
        "2 1 eni-a 10.0.0.6 10.0.0.2 1 443 6 1 1 253402300799 253402300799 "
        "ACCEPT OK\n";                               /* 9999-12-31 23:59:59 */
    struct fl_archive_block blk = { .text = t, .len = strlen(t),
                                    .source = "ingest#1" };
    archive_ok(&blk, 1);
    struct fl_live *live = live_ok(&blk, 1);
    struct fl_query *q = open_live_ok(live);
    /* Every partition holds one archived and one live copy of each row. */
    check_value(q, "SELECT count(*) FROM flow_logs", "12");
    check_value(q, "SELECT count(*) FROM (SELECT srcaddr, year, month, day, "
                "hour FROM flow_logs GROUP BY ALL HAVING count(*) = 2)", "6");
    check_csv(q, "SELECT DISTINCT srcaddr, year, month, day, hour "
              "FROM flow_logs ORDER BY srcaddr",
              "srcaddr,year,month,day,hour\n"
              "10.0.0.1,1970,01,01,00\n"
              "10.0.0.2,1970,01,01,00\n"
              "10.0.0.3,2000,02,29,23\n"
              "10.0.0.4,2024,02,29,23\n"
              "10.0.0.5,2025,01,01,00\n"
              "10.0.0.6,9999,12,31,23\n");
    /* The live rows alone say the same. */
    check_csv(q, "SELECT srcaddr, strftime(make_timestamp(fl_hour * "
              "3600000000), '%Y/%m/%d/%H') AS p FROM flowlake_live() "
              "ORDER BY srcaddr",
              "srcaddr,p\n10.0.0.1,1970/01/01/00\n10.0.0.2,1970/01/01/00\n"
              "10.0.0.3,2000/02/29/23\n10.0.0.4,2024/02/29/23\n"
              "10.0.0.5,2025/01/01/00\n10.0.0.6,9999/12/31/23\n");
    fl_query_close(q);
    fl_live_destroy(live);
    fl_test_dir_teardown();
}


/* A record without start: NULL start, partitioned by the hour the live
 * source was made (as a publish at that moment would place it). */
static void
test_null_start_partition(void)
{
    fl_test_dir_setup("live");
    const char *t = "2 1 eni-a 10.0.0.1 10.0.0.2 1 443 6 1 1 - - - NODATA\n";
    struct fl_archive_block blk = { .text = t, .len = strlen(t),
                                    .source = NULL };
    int64_t before = fl_time_now() / 3600;
    struct fl_live *live = live_ok(&blk, 1);
    int64_t after = fl_time_now() / 3600;
    struct fl_query *q = open_live_ok(live);
    check_value(q, "SELECT count(*) FROM flow_logs WHERE start IS NULL AND "
                "log_status = 'NODATA'", "1");
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT fl_hour BETWEEN %lld AND %lld "
             "FROM flowlake_live()", (long long)before, (long long)after);
    check_value(q, sql, "true");
    check_value(q, "SELECT year || month || day || hour = strftime("
                "make_timestamp((SELECT fl_hour FROM flowlake_live()) * "
                "3600000000), '%Y%m%d%H') FROM flow_logs", "true");
    fl_query_close(q);
    fl_live_destroy(live);
    fl_test_dir_teardown();
}


/* ---------------------------------------------------------------------
 * Pruning of the buffered blocks
 * ------------------------------------------------------------------- */

/* Records parsed by one run of sql: the blocks a run's filters rule out
 * are not parsed at all, and the rows are those of a run over all. */
static uint64_t
parsed_by(struct fl_query *q, struct fl_live *live, const char *sql,
          const char *want)
{
    uint64_t before = fl_live_records_read(live);
    check_csv(q, sql, want);
    return fl_live_records_read(live) - before;
}


static void
test_prune_buffered_blocks(void)
{
    fl_test_dir_setup("live");
    /* Block 0: hour 2024-05-01 00 (two lines, a blank one between);
     * block 1: hours 05 and 06, with a header line and a double space;
     * block 2: a NODATA record without start (hour unknown: always read);
     * block 3: 2024-05-02 00. */
    static const char b0[] =
        "2 1 eni-a 10.0.0.1 10.0.1.1 1 443 6 1 10 1714521600 1714521660 "
        "ACCEPT OK\n\n"
        "2 1 eni-a 10.0.0.2 10.0.1.1 1 443 6 2 20 1714525199 1714525260 "
        "ACCEPT OK\n";
    static const char b1[] =
        "version account-id interface-id srcaddr dstaddr srcport dstport "
        "protocol packets bytes start end action log-status\n"
        "2 1 eni-b 10.0.0.3 10.0.1.1 1 443 6 3 30  1714539600 1714539660 "
        "ACCEPT OK\r\n"
        "2 1 eni-b 10.0.0.4 10.0.1.1 1 443 6 4 40 1714543200 1714543260 "
        "REJECT OK\n";
    static const char b2[] =
        "2 1 eni-c - - - - - - - - - - NODATA\n";
    static const char b3[] =
        "2 1 eni-d 10.0.0.5 10.0.1.1 1 443 6 5 50 1714608000 1714608060 "
        "ACCEPT OK\n";
    struct fl_archive_block blk[] = {
        { .text = b0, .len = strlen(b0), .source = "ingest#1" },
        { .text = b1, .len = strlen(b1), .source = "ingest#2" },
        { .text = b2, .len = strlen(b2), .source = "ingest#3" },
        { .text = b3, .len = strlen(b3), .source = "ingest#4" },
    };
    struct fl_live *live = live_ok(blk, 4);
    struct fl_query *q = open_live_ok(live);
    int64_t lo = -1, hi = -1;

    CHECK_EQ_INT(fl_live_blocks(live), 4);
    CHECK_EQ_INT(fl_live_hours(live, 0, &lo, &hi), 1);
    CHECK_EQ_INT(lo, 476256);              /* 1714521600 / 3600 */
    CHECK_EQ_INT(hi, 476256);
    CHECK_EQ_INT(fl_live_hours(live, 1, &lo, &hi), 1);
    CHECK_EQ_INT(lo, 476261);
    CHECK_EQ_INT(hi, 476262);
    CHECK_EQ_INT(fl_live_hours(live, 2, &lo, &hi), 0);
    CHECK_EQ_INT(fl_live_hours(live, 3, &lo, &hi), 1);
    CHECK_EQ_INT(lo, 476280);
    CHECK_EQ_INT(fl_live_hours(live, 4, &lo, &hi), 0);
    /* The server finds the same hours from a block's text alone, when it
     * makes the block (fl_live_text_hours). */
    const char *const texts[] = { b0, b1, b2, b3 };
    for (size_t i = 0; i < 4; i++) {
        int64_t l2 = -1, h2 = -1;
        int known = fl_live_hours(live, i, &lo, &hi);
        CHECK_EQ_INT(fl_live_text_hours(texts[i], strlen(texts[i]), NULL,
                                        &l2, &h2), known);
        if (known) {
            CHECK_EQ_INT(l2, lo);
            CHECK_EQ_INT(h2, hi);
        }
    }

    /* Everything: all six records parsed. */
    CHECK_EQ_INT(parsed_by(q, live, "SELECT count(*) AS n FROM flow_logs",
                           "n\n6\n"), 6);
    /* One hour by start: block 0, and the unknown block 2. */
    CHECK_EQ_INT(parsed_by(q, live, "SELECT srcaddr FROM flow_logs WHERE "
                           "start >= TIMESTAMP '2024-05-01 00:00:00' AND "
                           "start < TIMESTAMP '2024-05-01 01:00:00' "
                           "ORDER BY srcaddr",
                           "srcaddr\n10.0.0.1\n10.0.0.2\n"), 3);
    /* Partition columns: hour '06' of the day is in block 1 only. */
    CHECK_EQ_INT(parsed_by(q, live, "SELECT srcaddr, hour FROM flow_logs "
                           "WHERE day = '01' AND hour = '06'",
                           "srcaddr,hour\n10.0.0.4,06\n"), 3);
    /* A date only block 3 has. */
    CHECK_EQ_INT(parsed_by(q, live, "SELECT srcaddr, date FROM flow_logs "
                           "WHERE date = DATE '2024-05-02'",
                           "srcaddr,date\n10.0.0.5,2024-05-02\n"), 2);
    /* The NULL start is found by a filter that keeps unknown blocks. */
    CHECK_EQ_INT(parsed_by(q, live, "SELECT count(*) AS n FROM flow_logs "
                           "WHERE start IS NULL AND date IS NULL",
                           "n\n1\n"), 6);
    /* No pruning: every block, same rows. */
    fl_query_set_prune(q, 0);
    CHECK_EQ_INT(parsed_by(q, live, "SELECT srcaddr, hour FROM flow_logs "
                           "WHERE day = '01' AND hour = '06'",
                           "srcaddr,hour\n10.0.0.4,06\n"), 6);
    fl_query_close(q);
    fl_live_destroy(live);
    fl_test_dir_teardown();
}


/* Hours given with a block are taken as they are: the block is not read
 * to find them, and a query that cannot need those hours leaves it out
 * (here they are deliberately not the text's, to see which is used). */
static void
test_given_hours(void)
{
    fl_test_dir_setup("live");
    static const char t[] =
        "2 1 eni-a 10.0.0.1 10.0.1.1 1 443 6 1 10 1714521600 1714521660 "
        "ACCEPT OK\n";
    struct fl_archive_block blk[] = {
        { .text = t, .len = strlen(t), .source = "ingest#1",
          .hours_known = 1, .hour_lo = 1, .hour_hi = 2 },
        { .text = t, .len = strlen(t), .source = "ingest#2" },
    };
    struct fl_live *live = live_ok(blk, 2);
    struct fl_query *q = open_live_ok(live);
    int64_t lo = -1, hi = -1;
    CHECK_EQ_INT(fl_live_hours(live, 0, &lo, &hi), 1);
    CHECK_EQ_INT(lo, 1);
    CHECK_EQ_INT(hi, 2);
    CHECK_EQ_INT(fl_live_hours(live, 1, &lo, &hi), 1);
    CHECK_EQ_INT(lo, 476256);
    CHECK_EQ_INT(parsed_by(q, live, "SELECT count(*) AS n FROM flow_logs "
                           "WHERE date = DATE '2024-05-01'", "n\n1\n"), 1);
    CHECK_EQ_INT(parsed_by(q, live, "SELECT count(*) AS n FROM flow_logs "
                           "WHERE date = DATE '1970-01-01'", "n\n0\n"), 1);
    fl_query_close(q);
    fl_live_destroy(live);
    fl_test_dir_teardown();
}


/* ---------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------- */

static void
test_create_errors(void)
{
    fl_test_dir_setup("live");
    const char *t = "2 10.0.0.1\n";
    struct fl_archive_block bad_fmt = { .text = t, .len = strlen(t),
                                        .format_spec = "${version ${srcaddr}",
                                        .source = "ingest#7" };
    struct fl_live *live = NULL;
    char *err = NULL;
    CHECK_EQ_INT(fl_live_create(&bad_fmt, 1, &live, &err), FL_ECONFIG);
    CHECK(live == NULL);
    CHECK(err != NULL);
    CHECK(strncmp(err, "ingest#7: format: ", 18) == 0);
    fl_free(err);
    err = NULL;

    /* Out of memory at every allocation of create: an error, no leak. */
    struct fl_archive_block blk = { .text = text_a, .len = strlen(text_a),
                                    .source = "x" };
    int failed = 0;
    for (uint64_t nth = 1; nth < 64; nth++) {
        fl_mem_fail_after(nth);
        int rc = fl_live_create(&blk, 1, &live, &err);
        fl_mem_fail_after(0);
        fl_free(err);
        err = NULL;
        if (rc == 0) {
            fl_live_destroy(live);
            live = NULL;
            break;
        }
        CHECK(live == NULL);
        failed++;
        CHECK_EQ_INT(fl_mem_used(), fl_test_mem_base);
    }
    CHECK(failed > 0);
    CHECK_EQ_STR(FL_LIVE_HOUR_COLUMN, FL_SCAN_HOUR_COLUMN);
    fl_test_dir_teardown();
}


FL_TEST_MAIN(
    FL_TEST(test_live_alone_exact_rows),
    FL_TEST(test_live_function_columns),
    FL_TEST(test_archive_union_live),
    FL_TEST(test_custom_format_extra_column),
    FL_TEST(test_header_block),
    FL_TEST(test_self_join_two_scans),
    FL_TEST(test_run_twice_and_early_stop),
    FL_TEST(test_two_threads),
    FL_TEST(test_live_partitions_match_archive),
    FL_TEST(test_null_start_partition),
    FL_TEST(test_prune_buffered_blocks),
    FL_TEST(test_given_hours),
    FL_TEST(test_create_errors)
)
