/* SPDX-License-Identifier: MIT
 *
 * test_archive.c -- the archive's crash safety and bookkeeping: publish
 * moves staged files into hour partitions, recovery rolls a committed
 * journal forward exactly once and throws away runs that never committed,
 * the manifest remembers inputs across loads, rejects are valid JSON and
 * recording them resumes after a failure.
 */
#include "../../src/core/fl_config.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "harness.h"
#include "archive/archive_int.h"
#include "archive/convert.h"
#include "query/query.h"
#include "core/fl_error.h"
#include "core/fl_fs.h"
#include "core/fl_mem.h"

static void
setup(void)
{
    fl_test_dir_setup("archive");
}

static void
put(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", fl_test_root, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    CHECK(fl_fs_mkdirs(path) == 0);
    *slash = '/';
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(fl_fs_write_all(fd, text, strlen(text)) == 0);
    close(fd);
}

static int
exists(const char *rel)
{
    return access(fl_test_at(rel), F_OK) == 0;
}

static char *
slurp(const char *rel)
{
    static char buf[8192];
    FILE *f = fopen(fl_test_at(rel), "r");
    if (f == NULL)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

#define D1 "00000000000000010000000000000002"
#define D2 "00000000000000030000000000000004"

/* 1714521600 = 2024-05-01T00:00:00Z = hour 476256 since the epoch. */
static void
test_publish_maps_hours(void)
{
    setup();
    put("_flowlake/staging-r1/fl_hour=476256/part-r1-0.parquet", "A");
    put("_flowlake/staging-r1/fl_hour=476279/part-r1-0.parquet", "BB");
    char meta[160], staging[192], err[256] = "";
    snprintf(meta, sizeof meta, "%s/_flowlake", fl_test_root);
    snprintf(staging, sizeof staging, "%s/staging-r1", meta);
    struct fl_manifest *m = NULL;
    struct fl_publish_result res;
    CHECK_EQ_INT(fl_manifest_load(meta, &m), 0);
    CHECK_EQ_INT(fl_publish(fl_test_root, meta, "r1", staging, m,
                            D1 "\t10\tr1\t2026-01-01T00:00:00Z\ta.log\n", &res,
                            err, sizeof err), 0);
    CHECK_EQ_INT(res.files, 2);
    CHECK_EQ_INT(res.bytes, 3);
    CHECK(exists("year=2024/month=05/day=01/hour=00/part-r1-0.parquet"));
    CHECK(exists("year=2024/month=05/day=01/hour=23/part-r1-0.parquet"));
    CHECK(!exists("_flowlake/staging-r1"));
    CHECK(!exists("_flowlake/journal-r1.files"));
    CHECK(!exists("_flowlake/journal-r1.manifest"));
    CHECK_EQ_STR(slurp("_flowlake/inputs.tsv"),
                 D1 "\t10\tr1\t2026-01-01T00:00:00Z\ta.log\n");
    fl_manifest_destroy(m);

    /* Reloaded, the manifest knows the input. */
    struct fl_digest d;
    CHECK_EQ_INT(fl_digest_from_hex(D1, &d), 0);
    CHECK_EQ_INT(fl_manifest_load(meta, &m), 0);
    CHECK_EQ_STR(fl_manifest_find(m, &d), "r1");
    CHECK(fl_manifest_on_disk(m, &d));
    fl_manifest_destroy(m);
    fl_fs_remove_tree(fl_test_root);
}


/* A crash after the commit point, with one file already moved: recovery
 * moves the rest and records the inputs once. */
static void
test_recover_committed_journal(void)
{
    setup();
    put("_flowlake/staging-r2/fl_hour=476256/part-r2-1.parquet", "two");
    put("year=2024/month=05/day=01/hour=00/part-r2-0.parquet", "one");
    put("_flowlake/journal-r2.files",
        "fl_hour=476256/part-r2-0.parquet\nfl_hour=476256/part-r2-1.parquet\nEND\n");
    put("_flowlake/journal-r2.manifest",
        D1 "\t1\tr2\tT\ta.log\n" D2 "\t2\tr2\tT\tb.log\n");
    put("_flowlake/inputs.tsv", D1 "\t1\tr2\tT\ta.log\n");   /* one made it */
    char meta[160], err[256] = "";
    snprintf(meta, sizeof meta, "%s/_flowlake", fl_test_root);
    struct fl_manifest *m = NULL;
    CHECK_EQ_INT(fl_manifest_load(meta, &m), 0);
    CHECK_EQ_INT(fl_publish_recover(fl_test_root, meta, m, err, sizeof err), 0);
    CHECK(exists("year=2024/month=05/day=01/hour=00/part-r2-0.parquet"));
    CHECK(exists("year=2024/month=05/day=01/hour=00/part-r2-1.parquet"));
    CHECK_EQ_STR(slurp("year=2024/month=05/day=01/hour=00/part-r2-1.parquet"), "two");
    CHECK(!exists("_flowlake/journal-r2.files"));
    CHECK(!exists("_flowlake/staging-r2"));
    CHECK_EQ_STR(slurp("_flowlake/inputs.tsv"),
                 D1 "\t1\tr2\tT\ta.log\n" D2 "\t2\tr2\tT\tb.log\n");
    /* Recovering again changes nothing. */
    CHECK_EQ_INT(fl_publish_recover(fl_test_root, meta, m, err, sizeof err), 0);
    CHECK_EQ_STR(slurp("_flowlake/inputs.tsv"),
                 D1 "\t1\tr2\tT\ta.log\n" D2 "\t2\tr2\tT\tb.log\n");
    fl_manifest_destroy(m);
    fl_fs_remove_tree(fl_test_root);
}


/* A crash before the commit point (torn journal, or none at all): the
 * run's files are deleted, nothing is published or recorded. */
static void
test_recover_uncommitted(void)
{
    setup();
    put("_flowlake/staging-r3/fl_hour=476256/part-r3-0.parquet", "x");
    put("_flowlake/journal-r3.files", "fl_hour=476256/part-r3-0.parquet\n");  /* no END */
    put("_flowlake/journal-r3.manifest", D1 "\t1\tr3\tT\ta.log\n");
    put("_flowlake/staging-r4/fl_hour=476256/part-r4-0.parquet", "y");       /* no journal */
    char meta[160], err[256] = "";
    snprintf(meta, sizeof meta, "%s/_flowlake", fl_test_root);
    struct fl_manifest *m = NULL;
    CHECK_EQ_INT(fl_manifest_load(meta, &m), 0);
    CHECK_EQ_INT(fl_publish_recover(fl_test_root, meta, m, err, sizeof err), 0);
    CHECK(!exists("_flowlake/staging-r3"));
    CHECK(!exists("_flowlake/staging-r4"));
    CHECK(!exists("_flowlake/journal-r3.files"));
    CHECK(!exists("_flowlake/journal-r3.manifest"));
    CHECK(!exists("year=2024"));
    CHECK(!exists("_flowlake/inputs.tsv"));
    fl_manifest_destroy(m);
    fl_fs_remove_tree(fl_test_root);
}


static void
test_manifest_ignores_torn_lines(void)
{
    setup();
    put("_flowlake/inputs.tsv", D1 "\t1\tr1\tT\ta.log\n" "0000000000000000000");
    char meta[160];
    snprintf(meta, sizeof meta, "%s/_flowlake", fl_test_root);
    struct fl_manifest *m = NULL;
    struct fl_digest d1, d2;
    CHECK_EQ_INT(fl_manifest_load(meta, &m), 0);
    CHECK_EQ_INT(fl_digest_from_hex(D1, &d1), 0);
    CHECK_EQ_INT(fl_digest_from_hex(D2, &d2), 0);
    CHECK_EQ_STR(fl_manifest_find(m, &d1), "r1");
    CHECK(fl_manifest_find(m, &d2) == NULL);
    /* Many entries: the hash set grows and still finds each. */
    for (uint64_t i = 0; i < 5000; i++) {
        struct fl_digest d = { i * 7919, ~i };
        CHECK_EQ_INT(fl_manifest_remember(m, &d, "rx", 0), 0);
    }
    for (uint64_t i = 0; i < 5000; i++) {
        struct fl_digest d = { i * 7919, ~i };
        CHECK_EQ_STR(fl_manifest_find(m, &d), "rx");
        CHECK(!fl_manifest_on_disk(m, &d));
    }
    CHECK_EQ_STR(fl_manifest_find(m, &d1), "r1");
    fl_manifest_destroy(m);
    fl_fs_remove_tree(fl_test_root);
}


/* Blocks of text in memory (the server's buffer) go through the same
 * pipeline as files: default format, a given format, a header line, a bad
 * line rejected into _errors. */
static void
test_write_blocks(void)
{
    setup();
    const char *a = "2 1 eni-a 10.0.0.1 10.0.0.2 1 443 6 5 500 1714521600 1714521660 ACCEPT OK\n"
                    "2 1 eni-a 10.0.0.1 10.0.0.2 1 443 6 x 500 1714521600 1714521660 ACCEPT OK\n";
    const char *b = "3 vpc-1 10.0.0.9 1714525200\n";
    const char *c = "version srcaddr start\n2 10.0.0.7 1714528800\n";
    struct fl_archive_block blocks[] = {
        { .text = a, .len = strlen(a), .source = "ingest#1" },
        { .text = b, .len = strlen(b),
          .format_spec = "${version} ${vpc-id} ${srcaddr} ${start}",
          .source = "ingest#2" },
        { .text = c, .len = strlen(c), .source = "ingest#3" },
    };
    struct fl_convert_stats st;
    char *err = NULL;
    struct fl_err werr = FL_ERR_INIT;
    CHECK_EQ_INT(fl_archive_write_blocks(fl_test_root, blocks, 3, 0, NULL, &st, &werr), 0);
    CHECK_EQ_INT(werr.code, 0);
    CHECK_EQ_STR(werr.msg, "");
    CHECK_EQ_INT(st.records_read, 4);
    CHECK_EQ_INT(st.records_written, 3);
    CHECK_EQ_INT(st.rejected, 1);
    CHECK_EQ_INT(st.files_written, 3);
    CHECK(exists("year=2024/month=05/day=01/hour=00"));
    CHECK(exists("year=2024/month=05/day=01/hour=01"));
    CHECK(exists("year=2024/month=05/day=01/hour=02"));
    CHECK(!exists("_flowlake/inputs.tsv"));     /* blocks are not recorded */

    struct fl_query *q = NULL;
    CHECK_EQ_INT(fl_query_open(fl_test_root, &q, &err), 0);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    CHECK_EQ_INT(fl_query_run(q, "SELECT srcaddr, vpc_id, packets FROM flow_logs ORDER BY start",
                              FL_OUTPUT_CSV, f, &err), 0);
    fclose(f);
    CHECK_EQ_STR(out, "srcaddr,vpc_id,packets\n10.0.0.1,,5\n10.0.0.9,vpc-1,\n10.0.0.7,,\n");
    free(out);
    fl_query_close(q);
    fl_fs_remove_tree(fl_test_root);
}


/* The WAL mark is published with the files and survives a crash between
 * the renames and the manifest update (recovery rolls it forward). */
static void
test_wal_mark(void)
{
    setup();
    const char *a = "2 1 eni-a 10.0.0.1 10.0.0.2 1 443 6 5 500 1714521600 1714521660 ACCEPT OK\n";
    struct fl_archive_block blk = { .text = a, .len = strlen(a),
                                    .source = "wal#1" };
    struct fl_convert_stats st;
    struct fl_err err = FL_ERR_INIT;
    uint64_t seq = 99;
    CHECK_EQ_INT(fl_archive_wal_seq(fl_test_root, &seq, &err), 0);
    CHECK_EQ_INT(seq, 0);
    CHECK_EQ_INT(fl_archive_write_blocks(fl_test_root, &blk, 1, 41, NULL, &st, &err), 0);
    CHECK_EQ_INT(fl_archive_write_blocks(fl_test_root, &blk, 1, 42, NULL, &st, &err), 0);
    CHECK_EQ_INT(fl_archive_wal_seq(fl_test_root, &seq, &err), 0);
    CHECK_EQ_INT(seq, 42);
    /* A committed journal whose manifest step never ran. */
    put("_flowlake/staging-r9/fl_hour=476256/part-r9-0.parquet", "x");
    put("_flowlake/journal-r9.files", "fl_hour=476256/part-r9-0.parquet\nEND\n");
    put("_flowlake/journal-r9.manifest", "wal\t57\tr9\tT\n");
    CHECK_EQ_INT(fl_archive_wal_seq(fl_test_root, &seq, &err), 0);
    CHECK_EQ_INT(seq, 57);
    CHECK(exists("year=2024/month=05/day=01/hour=00/part-r9-0.parquet"));
    fl_fs_remove_tree(fl_test_root);
}


/* A failed write is not sticky: with _errors unusable (a file where the
 * folder should be, as a stand-in for a full disk or a wrong permission:
 * tests run as root, for whom permissions do not fail), the line is
 * counted as lost; once the cause is gone the next line is recorded, and
 * close reports the loss. */
static void
test_rejects_recover(void)
{
    char dir[160], path[192];
    struct fl_rejects *r = NULL;
    struct fl_rejects_stats st;

    setup();
    snprintf(dir, sizeof dir, "%s/_errors", fl_test_root);
    snprintf(path, sizeof path, "%s/r.jsonl", dir);
    int fd = open(dir, O_WRONLY | O_CREAT, 0644);       /* in the way */
    CHECK(fd >= 0);
    close(fd);
    CHECK_EQ_INT(fl_rejects_create(path, &r), 0);
    CHECK(fl_rejects_add(r, "s", 1, "bad", "one", 3) < 0);
    CHECK(fl_rejects_add(r, "s", 2, "bad", "two", 3) < 0);
    fl_rejects_stats(r, &st);
    CHECK_EQ_INT(st.lines, 2);
    CHECK_EQ_INT(st.written, 0);
    CHECK_EQ_INT(st.lost, 2);
    CHECK_EQ_INT(st.failures, 1);
    CHECK_EQ_INT(st.failing, 1);
    char want[300];
    snprintf(want, sizeof want, "%s: Not a directory", path);
    CHECK_EQ_STR(st.last_error, want);

    CHECK_EQ_INT(unlink(dir), 0);                        /* cause gone */
    CHECK_EQ_INT(fl_rejects_add(r, "s", 3, "bad", "three", 5), 0);
    CHECK_EQ_INT(fl_rejects_add(r, "s", 4, "bad", "four", 4), 0);
    fl_rejects_stats(r, &st);
    CHECK_EQ_INT(st.written, 2);
    CHECK_EQ_INT(st.lost, 2);
    CHECK_EQ_INT(st.failures, 1);
    CHECK_EQ_INT(st.failing, 0);
    CHECK_EQ_INT(fl_rejects_close(r), -ENOTDIR);         /* lines were lost */
    fl_rejects_destroy(r);

    char *text = NULL;
    size_t len = 0;
    CHECK_EQ_INT(fl_fs_read_file(path, 1 << 20, &text, &len), 0);
    CHECK_EQ_STR(text,
        "{\"source\":\"s\",\"line\":3,\"reason\":\"bad\",\"raw\":\"three\"}\n"
        "{\"source\":\"s\",\"line\":4,\"reason\":\"bad\",\"raw\":\"four\"}\n");
    fl_free(text);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fl_test_root);
    CHECK_EQ_INT(system(cmd), 0);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* The raw line comes back exactly: UTF-8 as JSON text ("é" stays "é"),
 * anything else as raw_base64 (base64 padding checked for 1 and 2 left
 * over bytes). */
static void
test_rejects_raw(void)
{
    char path[160];
    struct fl_rejects *r = NULL;

    setup();
    snprintf(path, sizeof path, "%s/_errors/raw.jsonl", fl_test_root);
    CHECK_EQ_INT(fl_rejects_create(path, &r), 0);
    CHECK_EQ_INT(fl_rejects_add(r, "s", 1, "bad", "caf\xc3\xa9 \"x\"\t", 10), 0);
    CHECK_EQ_INT(fl_rejects_add(r, "s", 2, "bad", "caf\xe9", 4), 0);
    CHECK_EQ_INT(fl_rejects_add(r, "s", 3, "bad", "\xff\x00", 2), 0);
    CHECK_EQ_INT(fl_rejects_add(r, "s", 4, "bad", "ab\xc3", 3), 0);
    CHECK_EQ_INT(fl_rejects_close(r), 0);
    fl_rejects_destroy(r);
    CHECK_EQ_STR(slurp("_errors/raw.jsonl"),
        "{\"source\":\"s\",\"line\":1,\"reason\":\"bad\",\"raw\":\"caf\xc3\xa9 \\\"x\\\"\\t\"}\n"
        "{\"source\":\"s\",\"line\":2,\"reason\":\"bad\",\"raw_base64\":\"Y2Fm6Q==\"}\n"
        "{\"source\":\"s\",\"line\":3,\"reason\":\"bad\",\"raw_base64\":\"/wA=\"}\n"
        "{\"source\":\"s\",\"line\":4,\"reason\":\"bad\",\"raw_base64\":\"YWLD\"}\n");
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fl_test_root);
    CHECK_EQ_INT(system(cmd), 0);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* fl_fs_read_file with a small ceiling: at most max bytes, exactly max
 * still fits, one more is FL_ETOOBIG (a ceiling below 4 KiB used to
 * refuse every file). */
static void
test_read_file_small_max(void)
{
    char path[] = "/tmp/fl-readmax-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK_EQ_INT(write(fd, "0123456789", 10), 10);
    close(fd);
    char *text = NULL;
    size_t len = 0;
    CHECK_EQ_INT(fl_fs_read_file(path, 100, &text, &len), 0);
    CHECK_EQ_INT(len, 10);
    CHECK_EQ_STR(text, "0123456789");
    fl_free(text);
    text = NULL;
    CHECK_EQ_INT(fl_fs_read_file(path, 10, &text, &len), 0);
    CHECK_EQ_STR(text, "0123456789");
    fl_free(text);
    text = NULL;
    CHECK_EQ_INT(fl_fs_read_file(path, 9, &text, &len), FL_ETOOBIG);
    CHECK(text == NULL);
    CHECK_EQ_INT(unlink(path), 0);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


FL_TEST_MAIN(
    FL_TEST(test_read_file_small_max),
    FL_TEST(test_write_blocks),
    FL_TEST(test_wal_mark),
    FL_TEST(test_publish_maps_hours),
    FL_TEST(test_recover_committed_journal),
    FL_TEST(test_recover_uncommitted),
    FL_TEST(test_manifest_ignores_torn_lines),
    FL_TEST(test_rejects_recover),
    FL_TEST(test_rejects_raw)
)
