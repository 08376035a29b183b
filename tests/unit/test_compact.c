/* SPDX-License-Identifier: MIT
 *
 * test_compact.c -- compaction and retention (src/archive/compact.h) on
 * archives written by fl_archive_write_blocks, the server's publish, one
 * call per publish: an hour of several publishes becomes one file sorted by
 * start, with every record once and the same rows a query returned before;
 * an hour too young, or already one file, is left alone; the replaced
 * folder is kept under _flowlake/retired/ until its grace period ends; a
 * file published between the merge and the swap leaves the hour for the
 * next pass; retention drops whole hours and the folders they leave empty;
 * a dry run changes nothing; a second compactor is refused; the staging
 * folder of a crashed pass is retired.
 */
#include "../../src/core/fl_config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "archive/compact.h"
#include "archive/convert.h"
#include "core/fl_error.h"
#include "core/fl_fs.h"
#include "core/fl_mem.h"
#include "query/query.h"
#include "query_check.h"

/* 2024-05-01T00:00Z and the hours after it. */
#define T0 1714521600LL

/* Hour 0 of 2024-05-01 ends at T0 + 3600: "now" an hour and a half later
 * is past a one-hour compact_after for hour 0 only. */
#define HOUR_DIR(h) "year=2024/month=05/day=01/hour=0" #h


/* One publish: n records in hour h, starts descending within the publish
 * (so that a merge has sorting to do), ports numbered from port. */
static void
publish(int h, int n, int port)
{
    char text[16384];
    size_t o = 0;
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(text + o, sizeof text - o,
                              "2 123456789012 eni-a 10.0.0.1 10.0.0.2 %d 443 "
                              "6 1 100 %lld %lld ACCEPT OK\n", port + i,
                              T0 + h * 3600 + 3000 - port - i,
                              T0 + h * 3600 + 3060 - port - i);
    struct fl_archive_block b = { .text = text, .len = o,
                                  .source = "test" };
    struct fl_convert_stats st;
    struct fl_err err = FL_ERR_INIT;
    CHECK_EQ_INT(fl_archive_write_blocks(fl_test_root, &b, 1, 0, NULL, &st,
                                         &err), 0);
    CHECK_EQ_INT(st.files_written, 1);
}


/* .parquet files in ARCHIVE/rel (-1: no such folder). */
static int
files_in(const char *rel)
{
    DIR *d = opendir(fl_test_at(rel));
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        n += l > 8 && strcmp(e->d_name + l - 8, ".parquet") == 0;
    }
    closedir(d);
    return n;
}


/* Entries (not . or ..) in ARCHIVE/rel. */
static int
entries_in(const char *rel)
{
    DIR *d = opendir(fl_test_at(rel));
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}


static struct fl_compact_opts
opts(int64_t now)
{
    struct fl_compact_opts o = {
        .archive_dir = fl_test_root, .target_size = 128u << 20,
        .min_age = 3600, .grace = 600, .now = now,
    };
    return o;
}


/* Every row, in a fixed order, as CSV: what compaction must keep. */
static char *
all_rows(void)
{
    struct fl_query *q = NULL;
    char *err = NULL;
    CHECK_EQ_INT(fl_query_open(fl_test_root, &q, &err), 0);
    char *out = run_csv(q, "SELECT srcport, start, \"end\", hour FROM "
                        "flow_logs ORDER BY srcport");
    fl_query_close(q);
    return out;
}


static void
test_merges_an_hour(void)
{
    struct fl_compact_stats st;
    struct fl_err err = FL_ERR_INIT;
    fl_test_dir_setup("compact");
    for (int p = 0; p < 4; p++)
        publish(0, 25, 100 * (p + 1));
    publish(1, 10, 1000);
    publish(1, 10, 2000);
    char *before = all_rows();
    CHECK_EQ_INT(files_in(HOUR_DIR(0)), 4);

    /* Hour 0 ended 1.5 h ago, hour 1 half an hour ago. */
    struct fl_compact_opts o = opts(T0 + 3600 + 5400);
    CHECK_EQ_INT(fl_compact(&o, &st, &err), 0);
    CHECK_EQ_INT(st.hours_compacted, 1);
    CHECK_EQ_INT(st.files_before, 4);
    CHECK_EQ_INT(st.files_after, 1);
    CHECK_EQ_INT(st.records, 100);
    CHECK_EQ_INT(st.hours_skipped, 0);
    CHECK_EQ_INT(files_in(HOUR_DIR(0)), 1);
    CHECK_EQ_INT(files_in(HOUR_DIR(1)), 2);        /* too young */

    char *after = all_rows();
    CHECK_EQ_STR(after, before);
    free(after);
    free(before);
    /* Sorted by start within the merged file. */
    struct fl_query *q = NULL;
    char *qerr = NULL;
    CHECK_EQ_INT(fl_query_open(fl_test_root, &q, &qerr), 0);
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM (SELECT start, "
             "lag(start) OVER () AS prev FROM read_parquet('%s/*.parquet')) "
             "WHERE start < prev", fl_test_at(HOUR_DIR(0)));
    check_value(q, sql, "0");
    fl_query_close(q);

    /* The old folder waits out its grace period, then goes. */
    CHECK_EQ_INT(entries_in("_flowlake/retired"), 1);
    o.now += 599;
    CHECK_EQ_INT(fl_compact(&o, &st, &err), 0);
    CHECK_EQ_INT(st.retired_removed, 0);
    CHECK_EQ_INT(st.hours_compacted, 0);   /* hour 0 is one file now */
    CHECK_EQ_INT(entries_in("_flowlake/retired"), 1);
    o.now += 1;
    CHECK_EQ_INT(fl_compact(&o, &st, &err), 0);
    CHECK_EQ_INT(st.retired_removed, 1);
    CHECK_EQ_INT(entries_in("_flowlake/retired"), 0);
    /* Once hour 1 is old enough, its turn. */
    o.now = T0 + 7200 + 3600;
    CHECK_EQ_INT(fl_compact(&o, &st, &err), 0);
    CHECK_EQ_INT(st.hours_compacted, 1);
    CHECK_EQ_INT(st.records, 20);
    CHECK_EQ_INT(files_in(HOUR_DIR(1)), 1);
    fl_test_dir_teardown();
}


/* What a publish between the merge and the swap leaves: a new file in
 * the hour (a copy of one there: the publish itself would wait for the
 * archive's lock, which the swap holds). */
static void
publish_meanwhile(void *ctx)
{
    int *calls = ctx;
    if ((*calls)++ != 0)
        return;
    DIR *d = opendir(fl_test_at(HOUR_DIR(0)));
    CHECK(d != NULL);
    struct dirent *e;
    char from[600] = "";
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".parquet") != NULL)
            snprintf(from, sizeof from, "%s/%s", fl_test_at(HOUR_DIR(0)),
                     e->d_name);
    closedir(d);
    char *data = NULL;
    size_t len = 0;
    CHECK_EQ_INT(fl_fs_read_file(from, 1u << 20, &data, &len), 0);
    CHECK_EQ_INT(fl_fs_write_atomic(fl_test_at(HOUR_DIR(0) "/part-late.parquet"),
                                    data, len), 0);
    fl_free(data);
}


static void
test_changed_meanwhile(void)
{
    struct fl_compact_stats st;
    struct fl_err err = FL_ERR_INIT;
    int calls = 0;
    fl_test_dir_setup("compact");
    publish(0, 5, 100);
    publish(0, 5, 200);
    struct fl_compact_opts o = opts(T0 + 3 * 3600);
    o.before_swap = publish_meanwhile;
    o.ctx = &calls;
    CHECK_EQ_INT(fl_compact(&o, &st, &err), 0);
    CHECK_EQ_INT(st.hours_compacted, 0);
    CHECK_EQ_INT(st.hours_skipped, 1);
    CHECK_EQ_INT(files_in(HOUR_DIR(0)), 3);         /* all still there */
    CHECK_EQ_INT(entries_in("_flowlake/retired"), -1);
    /* The next pass takes the hour with its new file. */
    CHECK_EQ_INT(fl_compact(&o, &st, &err), 0);
    CHECK_EQ_INT(st.hours_compacted, 1);
    CHECK_EQ_INT(st.records, 15);
    CHECK_EQ_INT(files_in(HOUR_DIR(0)), 1);
    fl_test_dir_teardown();
}


static void
test_retention(void)
{
    struct fl_compact_stats st;
    struct fl_err err = FL_ERR_INIT;
    fl_test_dir_setup("compact");
    publish(0, 5, 100);
    publish(1, 5, 200);
    /* 3 h after hour 0's end: hour 0 is past a 2.5 h retention, hour 1
     * (ended 2 h ago) is not. */
    struct fl_compact_opts o = opts(T0 + 4 * 3600);
    o.retention = 9000;
    CHECK_EQ_INT(fl_compact(&o, &st, &err), 0);
    CHECK_EQ_INT(st.hours_expired, 1);
    CHECK_EQ_INT(st.files_expired, 1);
    CHECK_EQ_INT(files_in(HOUR_DIR(0)), -1);
    CHECK_EQ_INT(files_in(HOUR_DIR(1)), 1);
    CHECK_EQ_INT(entries_in("_flowlake/retired"), 1);
    /* Everything past: the day, month and year folders go too. */
    o.now += 7200;
    CHECK_EQ_INT(fl_compact(&o, &st, &err), 0);
    CHECK_EQ_INT(st.hours_expired, 1);
    CHECK_EQ_INT(entries_in("year=2024"), -1);
    struct fl_query *q = NULL;
    char *qerr = NULL;
    CHECK_EQ_INT(fl_query_open(fl_test_root, &q, &qerr), 0);
    check_value(q, "SELECT count(*) FROM flow_logs", "0");
    fl_query_close(q);
    fl_test_dir_teardown();
}


static void
test_dry_run_and_refusals(void)
{
    struct fl_compact_stats st;
    struct fl_err err = FL_ERR_INIT;
    fl_test_dir_setup("compact");
    publish(0, 5, 100);
    publish(0, 5, 200);
    struct fl_compact_opts o = opts(T0 + 5 * 3600);
    o.retention = 3600;
    o.dry_run = 1;
    CHECK_EQ_INT(fl_compact(&o, &st, &err), 0);
    CHECK_EQ_INT(st.hours_expired, 1);
    CHECK_EQ_INT(st.files_expired, 2);
    CHECK_EQ_INT(files_in(HOUR_DIR(0)), 2);         /* untouched */
    CHECK_EQ_INT(entries_in("_flowlake/retired"), -1);

    o.dry_run = 0;
    o.target_size = 0;
    CHECK_EQ_INT(fl_compact(&o, &st, &err), FL_ECONFIG);
    CHECK(strstr(err.msg, "target file size") != NULL);

    /* A second compactor at the same time is refused. */
    o.target_size = 1u << 20;
    int fd = open(fl_test_at("_flowlake/compact.lock"), O_RDWR | O_CREAT,
                  0644);
    CHECK(fd >= 0 && flock(fd, LOCK_EX) == 0);
    err = (struct fl_err)FL_ERR_INIT;
    CHECK_EQ_INT(fl_compact(&o, &st, &err), -EWOULDBLOCK);
    CHECK(strstr(err.msg, "another compaction") != NULL);
    close(fd);
    CHECK_EQ_INT(files_in(HOUR_DIR(0)), 2);
    fl_test_dir_teardown();
}


static void
test_crashed_pass_is_retired(void)
{
    struct fl_compact_stats st;
    struct fl_err err = FL_ERR_INIT;
    fl_test_dir_setup("compact");
    publish(0, 5, 100);
    /* What a pass that died after its exchange leaves: the old files in
     * its staging folder. */
    CHECK_EQ_INT(fl_fs_mkdirs(fl_test_at("_flowlake/compact-x-1")), 0);
    FILE *f = fopen(fl_test_at("_flowlake/compact-x-1/part-old.parquet"),
                    "w");
    CHECK(f != NULL);
    fclose(f);
    struct fl_compact_opts o = opts(T0 + 5 * 3600);
    CHECK_EQ_INT(fl_compact(&o, &st, &err), 0);
    CHECK_EQ_INT(entries_in("_flowlake/compact-x-1"), -1);
    CHECK_EQ_INT(entries_in("_flowlake/retired"), 1);
    CHECK_EQ_INT(files_in(HOUR_DIR(0)), 1);         /* the live hour */
    fl_test_dir_teardown();
}


FL_TEST_MAIN(
    FL_TEST(test_merges_an_hour),
    FL_TEST(test_changed_meanwhile),
    FL_TEST(test_retention),
    FL_TEST(test_dry_run_and_refusals),
    FL_TEST(test_crashed_pass_is_retired)
)
