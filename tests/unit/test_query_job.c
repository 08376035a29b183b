/* SPDX-License-Identifier: MIT
 *
 * test_query_job.c -- the query message a server hands its query worker
 * (src/query/job.h): every field round-trips exactly, NULLs stay NULL,
 * "nothing pinned" differs from "an empty list", and every damaged or cut
 * message is refused with the field and byte named.
 */
#include "../../src/core/fl_config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/core/fl_error.h"
#include "../../src/core/fl_fs.h"
#include "../../src/core/fl_mem.h"
#include "../../src/core/fl_shm.h"
#include "../../src/query/job.h"
#include "harness.h"

/* Encodes job into a new buffer. */
static char *
encode(const struct fl_query_job *job, size_t *len)
{
    char *p = NULL;
    FILE *f = open_memstream(&p, len);
    CHECK(f != NULL);
    CHECK_EQ_INT(fl_query_job_write(f, job), 0);
    CHECK(fclose(f) == 0);
    return p;
}


static void
test_round_trip(void)
{
    const char *files[] = { "/a/year=2024/month=01/day=02/hour=03/x.parquet",
                            "/a/y.parquet" };
    const char *mfiles[] = { "/a/_metrics/final-1.parquet" };
    struct fl_provenance prov = { { NULL } };
    prov.v[FL_PROV_LOG_STREAM] = "eni-1-all";
    prov.v[FL_PROV_REGION] = "eu-west-1";
    /* The texts in two shared segments, as the server's buffer has them:
     * the second block in a segment of its own (larger than a segment). */
    static const char line[] =
        "2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK\n";
    char big[3 * 4096];
    memset(big, 'x', sizeof big);
    big[1] = '\0';                               /* a NUL inside is data */
    struct fl_shm_arena *arena = NULL;
    struct fl_shm_seg *seg[3] = { NULL };
    size_t off[3];
    char *at;
    CHECK_EQ_INT(fl_shm_arena_create(4096, &arena), 0);
    CHECK_EQ_INT(fl_shm_copy(arena, "pad", 3, &seg[0], &off[0], &at), 0);
    CHECK_EQ_INT(fl_shm_copy(arena, line, 52, &seg[1], &off[1], &at), 0);
    CHECK_EQ_INT(fl_shm_copy(arena, big, sizeof big, &seg[2], &off[2], &at),
                 0);
    CHECK(seg[0] == seg[1] && seg[2] != seg[1]);
    CHECK_EQ_INT(off[1], 3);
    struct fl_archive_block blocks[] = {
        { .len = 52, .format_spec = NULL, .source = "POST /ingest",
          .prov = &prov, .hours_known = 1, .hour_lo = -2, .hour_hi = 7 },
        { .len = sizeof big, .format_spec = "${version}", .source = NULL },
    };
    const struct fl_query_text_ref where[] = { { 0, 3 }, { 1, 0 } };
    const uint64_t sizes[] = { 55, sizeof big };
    char *names[] = { "protocol", "az" };
    char *values[] = { "6", NULL };
    struct fl_metric_row rows[] = {
        { .metric = "rejected_packets_by_protocol", .n_dims = 2,
          .dim_names = names, .dim_values = values,
          .window_start = -900, .window_end = 1700000000, .value = 12.5,
          .has_value = 1, .final = 0, .exact = 1, .records = 42 },
        { .metric = "records_in", .n_dims = 0, .value = 0, .has_value = 0,
          .final = 1, .records = UINT64_MAX },
    };
    struct fl_query_job in = {
        .archive_dir = "/a", .memory_limit = "1GB", .max_memory = 3ull << 30,
        .timeout_s = 30, .format = FL_OUTPUT_CSV,
        .sql = "SELECT 'it''s' AS x",
        .files = files, .n_files = 2, .metric_files = mfiles,
        .n_metric_files = 1, .alarm_history = "/a/_alarms/history.jsonl",
        .has_files = 1,
        .blocks = blocks, .n_blocks = 2, .block_text = where,
        .segment_sizes = sizes, .n_segments = 2,
        .rows = rows, .n_rows = 2, .has_rows = 1,
    };
    size_t len;
    char *msg = encode(&in, &len);
    struct fl_query_job out;
    char err[128] = "";
    CHECK_EQ_INT(fl_query_job_read(msg, len, &out, err, sizeof err), 0);
    /* The worker's descriptors: the segments from a first one on. */
    CHECK(dup2(fl_shm_seg_fd(seg[1]), 200) == 200);
    CHECK(dup2(fl_shm_seg_fd(seg[2]), 201) == 201);
    for (size_t i = 0; i < 3; i++)
        fl_shm_seg_release(seg[i]);
    fl_shm_arena_destroy(arena);         /* the descriptors keep the files */
    CHECK_EQ_INT(fl_query_job_map(&out, 200, err, sizeof err), 0);
    CHECK(fcntl(200, F_GETFD) < 0 && fcntl(201, F_GETFD) < 0);  /* closed */
    CHECK_EQ_STR(out.archive_dir, "/a");
    CHECK_EQ_STR(out.memory_limit, "1GB");
    CHECK_EQ_INT(out.max_memory, 3ull << 30);
    CHECK_EQ_INT(out.timeout_s, 30);
    CHECK_EQ_INT(out.format, FL_OUTPUT_CSV);
    CHECK_EQ_STR(out.sql, "SELECT 'it''s' AS x");
    CHECK_EQ_INT(out.has_files, 1);
    CHECK_EQ_INT(out.n_files, 2);
    CHECK_EQ_STR(out.files[0], files[0]);
    CHECK_EQ_STR(out.files[1], files[1]);
    CHECK_EQ_INT(out.n_metric_files, 1);
    CHECK_EQ_STR(out.metric_files[0], mfiles[0]);
    CHECK_EQ_STR(out.alarm_history, "/a/_alarms/history.jsonl");
    CHECK_EQ_INT(out.n_blocks, 2);
    CHECK_EQ_INT(out.n_segments, 2);
    CHECK_EQ_INT(out.blocks[0].len, 52);
    CHECK(memcmp(out.blocks[0].text, line, 52) == 0);
    CHECK(out.blocks[0].format_spec == NULL);
    CHECK_EQ_STR(out.blocks[0].source, "POST /ingest");
    CHECK_EQ_INT(out.blocks[0].hours_known, 1);
    CHECK_EQ_INT(out.blocks[0].hour_lo, -2);
    CHECK_EQ_INT(out.blocks[0].hour_hi, 7);
    CHECK_EQ_INT(out.blocks[1].hours_known, 0);
    CHECK_EQ_INT(out.blocks[1].len, sizeof big);
    CHECK(memcmp(out.blocks[1].text, big, sizeof big) == 0);
    CHECK_EQ_STR(out.blocks[1].format_spec, "${version}");
    CHECK(out.blocks[1].source == NULL);
    for (size_t k = 0; k < FL_PROV_N; k++) {
        if (k == FL_PROV_LOG_STREAM)
            CHECK_EQ_STR(out.blocks[0].prov->v[k], "eni-1-all");
        else if (k == FL_PROV_REGION)
            CHECK_EQ_STR(out.blocks[0].prov->v[k], "eu-west-1");
        else
            CHECK(out.blocks[0].prov->v[k] == NULL);
        CHECK(out.blocks[1].prov->v[k] == NULL);   /* none: all NULL */
    }
    CHECK_EQ_INT(out.has_rows, 1);
    CHECK_EQ_INT(out.n_rows, 2);
    CHECK_EQ_STR(out.rows[0].metric, "rejected_packets_by_protocol");
    CHECK_EQ_INT(out.rows[0].n_dims, 2);
    CHECK_EQ_STR(out.rows[0].dim_names[1], "az");
    CHECK_EQ_STR(out.rows[0].dim_values[0], "6");
    CHECK(out.rows[0].dim_values[1] == NULL);
    CHECK_EQ_INT(out.rows[0].window_start, -900);
    CHECK_EQ_INT(out.rows[0].window_end, 1700000000);
    CHECK(out.rows[0].value == 12.5);
    CHECK_EQ_INT(out.rows[0].has_value, 1);
    CHECK_EQ_INT(out.rows[0].final, 0);
    CHECK_EQ_INT(out.rows[0].exact, 1);
    CHECK_EQ_INT(out.rows[0].records, 42);
    CHECK_EQ_INT(out.rows[1].n_dims, 0);
    CHECK_EQ_INT(out.rows[1].final, 1);
    CHECK(out.rows[1].records == UINT64_MAX);
    fl_query_job_clear(&out);
    free(msg);
}


static void
test_nothing_pinned_is_not_empty(void)
{
    struct fl_query_job in = { .archive_dir = "/a", .memory_limit = "",
                               .sql = "SELECT 1" };
    struct fl_query_job out;
    char err[128];
    size_t len;
    char *msg = encode(&in, &len);
    CHECK_EQ_INT(fl_query_job_read(msg, len, &out, err, sizeof err), 0);
    CHECK_EQ_INT(out.has_files, 0);
    CHECK_EQ_INT(out.has_rows, 0);
    CHECK_EQ_INT(out.n_blocks, 0);
    fl_query_job_clear(&out);
    free(msg);

    in.has_files = in.has_rows = 1;              /* pinned, but empty */
    msg = encode(&in, &len);
    CHECK_EQ_INT(fl_query_job_read(msg, len, &out, err, sizeof err), 0);
    CHECK_EQ_INT(out.has_files, 1);
    CHECK_EQ_INT(out.n_files, 0);
    CHECK(out.alarm_history == NULL);
    CHECK_EQ_INT(out.has_rows, 1);
    CHECK_EQ_INT(out.n_rows, 0);
    fl_query_job_clear(&out);
    free(msg);
}


static void
test_damaged_messages(void)
{
    const char *files[] = { "/a/f.parquet" };
    struct fl_archive_block b = { .len = 5 };
    const struct fl_query_text_ref where = { 0, 2 };
    const uint64_t size = 7;
    struct fl_query_job in = { .archive_dir = "/a", .memory_limit = "1GB",
                               .sql = "SELECT 1", .files = files,
                               .n_files = 1, .has_files = 1,
                               .blocks = &b, .n_blocks = 1,
                               .block_text = &where, .segment_sizes = &size,
                               .n_segments = 1 };
    struct fl_query_job out;
    char err[128];
    size_t len;
    char *msg = encode(&in, &len);

    /* Every cut is refused, never read past. */
    for (size_t cut = 0; cut < len; cut++) {
        char *p = malloc(cut ? cut : 1);
        CHECK(p != NULL);
        memcpy(p, msg, cut);
        CHECK_EQ_INT(fl_query_job_read(p, cut, &out, err, sizeof err),
                     FL_ECORRUPT);
        free(p);
    }
    CHECK_EQ_INT(fl_query_job_read(msg, 3, &out, err, sizeof err), FL_ECORRUPT);
    CHECK_EQ_STR(err, "query message: not a flowlake query (bad magic)");

    /* A string whose NUL is missing. */
    msg[6 + 8 + 2] = 'x';               /* "/a" then its NUL */
    CHECK_EQ_INT(fl_query_job_read(msg, len, &out, err, sizeof err), FL_ECORRUPT);
    CHECK_EQ_STR(err, "query message: bad archive folder at byte 6");
    free(msg);

    /* A count larger than the message could hold. */
    msg = encode(&in, &len);
    size_t count_at = 6 + (8 + 3) + (8 + 4) + 8 + 4 + 4 + (8 + 9);
    memset(msg + count_at, 0x7f, 8);
    CHECK_EQ_INT(fl_query_job_read(msg, len, &out, err, sizeof err), FL_ECORRUPT);
    CHECK_EQ_STR(err, "query message: bad file count at byte 62");

    /* Trailing bytes. */
    free(msg);
    msg = encode(&in, &len);
    char *longer = malloc(len + 1);
    CHECK(longer != NULL);
    memcpy(longer, msg, len);
    longer[len] = 0;
    CHECK_EQ_INT(fl_query_job_read(longer, len + 1, &out, err, sizeof err),
                 FL_ECORRUPT);
    CHECK_EQ_STR(err, "query message: bad end of message at byte 182");
    free(longer);
    free(msg);

    /* A block's text outside its segment, or in a segment that is not
     * there: refused where the block begins. */
    size_t block_at = 6 + (8 + 3) + (8 + 4) + 8 + 4 + 4 + (8 + 9)
                    + 8 + (8 + 13) + 8 + 1 + 8 + 8 + 8;
    for (int k = 0; k < 3; k++) {
        b.len = k == 0 ? 6 : 5;                  /* 2 + 6 > 7 */
        struct fl_query_text_ref bad = { k == 1 ? 1 : 0, k == 2 ? 8 : 2 };
        in.block_text = &bad;
        msg = encode(&in, &len);
        CHECK_EQ_INT(fl_query_job_read(msg, len, &out, err, sizeof err),
                     FL_ECORRUPT);
        char want[80];
        snprintf(want, sizeof want, "query message: bad block text place at "
                 "byte %zu", block_at);
        CHECK_EQ_STR(err, want);
        free(msg);
    }
}


/* A segment shorter than the message says (or no segment at all) is
 * refused when the worker maps it, never read past. */
static void
test_segment_too_short(void)
{
    struct fl_shm_arena *arena = NULL;
    struct fl_shm_seg *seg = NULL;
    size_t off;
    char *at, err[160] = "";
    CHECK_EQ_INT(fl_shm_arena_create(4096, &arena), 0);
    CHECK_EQ_INT(fl_shm_copy(arena, "abc\n", 4, &seg, &off, &at), 0);
    struct fl_archive_block b = { .len = 4 };
    const struct fl_query_text_ref where = { 0, 4096 };
    const uint64_t size = 4100;
    struct fl_query_job in = { .archive_dir = "/a", .memory_limit = "",
                               .sql = "SELECT 1", .blocks = &b,
                               .n_blocks = 1, .block_text = &where,
                               .segment_sizes = &size, .n_segments = 1 };
    struct fl_query_job out;
    size_t len;
    char *msg = encode(&in, &len);
    CHECK_EQ_INT(fl_query_job_read(msg, len, &out, err, sizeof err), 0);
    CHECK(dup2(fl_shm_seg_fd(seg), 200) == 200);
    CHECK_EQ_INT(fl_query_job_map(&out, 200, err, sizeof err), FL_ECORRUPT);
    CHECK_EQ_STR(err, "query message: shared segment 0 holds 4096 bytes, not "
                      "the 4100 its blocks need");
    fl_query_job_clear(&out);
    close(200);
    CHECK_EQ_INT(fl_query_job_read(msg, len, &out, err, sizeof err), 0);
    CHECK(fl_query_job_map(&out, 200, err, sizeof err) == -EBADF);
    CHECK_EQ_STR(err, "query message: shared segment 0: Bad file descriptor");
    fl_query_job_clear(&out);
    free(msg);
    fl_shm_seg_release(seg);
    fl_shm_arena_destroy(arena);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


FL_TEST_MAIN(
    FL_TEST(test_round_trip),
    FL_TEST(test_nothing_pinned_is_not_empty),
    FL_TEST(test_damaged_messages),
    FL_TEST(test_segment_too_short)
)
