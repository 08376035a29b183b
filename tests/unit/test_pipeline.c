/* SPDX-License-Identifier: MIT
 *
 * test_pipeline.c -- the pipeline (src/pipeline/pipeline.h) on its own,
 * with no server and no HTTP: bodies handed to fl_pipeline_ingest are
 * validated (bad lines counted and written to the errors file), told to
 * the tap, published by the publisher at stop, and counted in the stats
 * and the publish ring; what was never published comes back from the WAL
 * at the next open, with its dedupe keys, and is published then, once;
 * the WAL is not cut below what the tap holds; held requests wait for
 * their settling across a restart; bad bodies get the error
 * code their sender can act on. Each test uses a fresh archive folder and
 * ends with every byte freed.
 */
#include "../../src/core/fl_config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "config/config.h"
#include "core/fl_error.h"
#include "core/fl_fs.h"
#include "core/fl_mem.h"
#include "pipeline/pipeline.h"
#include "sources/counters.h"

static struct fl_config cfg;

/* What the tap saw, and the WAL mark it claims to hold. */
struct seen {
    uint64_t appended_blocks, appended_records;
    uint64_t replayed_blocks, replayed_records;
    uint64_t persisted;
};


static void
on_appended(void *ctx, struct fl_buffer_block *list, uint64_t arrival_ms)
{
    struct seen *s = ctx;
    CHECK(arrival_ms > 0);
    for (; list != NULL; list = list->next) {
        s->appended_blocks++;
        s->appended_records += list->records;
    }
}


static int
on_replayed(void *ctx, const struct fl_buffer_block *b, uint64_t arrival_ms)
{
    struct seen *s = ctx;
    CHECK(arrival_ms > 0);
    s->replayed_blocks++;
    s->replayed_records += b->records;
    return FL_OK;
}


static uint64_t
on_persisted(void *ctx)
{
    return ((struct seen *)ctx)->persisted;
}


/* The test's pipeline: counters, pipeline, opened with a tap on seen. */
struct rig {
    struct fl_source_counters *counters;
    struct fl_pipeline        *pl;
};


static void
rig_open(struct rig *r, struct seen *seen)
{
    struct fl_err err = FL_ERR_INIT;
    struct fl_pipeline_tap tap = {
        .appended = on_appended, .replayed = on_replayed,
        .persisted_seq = on_persisted, .ctx = seen,
    };
    CHECK_EQ_INT(fl_source_counters_create(&r->counters), 0);
    CHECK_EQ_INT(fl_pipeline_create(&cfg, r->counters, &r->pl, &err), 0);
    CHECK_EQ_INT(fl_pipeline_open(r->pl, &tap, &err), 0);
    CHECK_EQ_STR(err.msg, "");
}


static void
rig_close(struct rig *r, int want)
{
    CHECK_EQ_INT(fl_pipeline_close(r->pl), want);
    fl_pipeline_destroy(r->pl);
    fl_source_counters_destroy(r->counters);
}


static void
setup(void)
{
    char err[256];
    fl_test_dir_setup("pipeline");
    CHECK_EQ_INT(fl_config_init(&cfg), 0);
    CHECK_EQ_INT(fl_config_set(&cfg, "archive.dir", fl_test_root, err,
                               sizeof err), 0);
    /* Nothing is published before the test stops the publisher. */
    CHECK_EQ_INT(fl_config_set(&cfg, "archive.buffer_interval", "1h", err,
                               sizeof err), 0);
}


static void
teardown(void)
{
    fl_config_free(&cfg);
    fl_test_dir_teardown();
}


#define LINE(port) "2 123456789012 eni-0a1b2c3d 10.0.0.1 10.0.0.2 " \
    #port " 443 6 10 840 1700000000 1700000060 ACCEPT OK\n"

static const char body3[] = LINE(40001) LINE(40002)
    "2 123456789012 eni-0a1b2c3d 10.0.0.1 10.0.0.2 1 2 6 1 1\n"
    LINE(40003);


/* Counts the Parquet files under the archive's partitions. */
static int
count_parquet(void *ctx, const char *path)
{
    size_t n = strlen(path);
    if (n > 8 && strcmp(path + n - 8, ".parquet") == 0
        && strstr(path, "/_flowlake/") == NULL)
        (*(int *)ctx)++;
    return 0;
}


static int
parquet_files(void)
{
    int n = 0;
    CHECK_EQ_INT(fl_fs_walk(fl_test_root, count_parquet, &n), 0);
    return n;
}


static void
ingest(struct rig *r, const char *body, const uint64_t *keys, size_t n_keys,
       struct fl_ingest_result *res)
{
    fl_pipeline_ingest(r->pl, FL_SOURCE_INGEST, "test", body, strlen(body),
                       NULL, keys, n_keys, NULL, 0, res);
}


static void
test_ingest_publish(void)
{
    struct seen seen = { .persisted = UINT64_MAX };
    struct rig r;
    struct fl_ingest_result res;
    struct fl_err err = FL_ERR_INIT;
    setup();
    rig_open(&r, &seen);
    CHECK_EQ_INT(fl_pipeline_start(r.pl, &err), 0);

    ingest(&r, body3, NULL, 0, &res);
    CHECK_EQ_INT(res.err.code, 0);
    CHECK_EQ_INT(res.accepted, 3);
    CHECK_EQ_INT(res.rejected, 1);
    CHECK_EQ_INT(seen.appended_records, 3);
    struct fl_source_totals t;
    fl_source_counters_totals(r.counters, FL_SOURCE_INGEST, &t);
    CHECK_EQ_INT(t.records, 3);
    CHECK_EQ_INT(t.rejected, 1);
    CHECK_EQ_INT(t.requests, 0);         /* the source counts those */

    struct fl_pipeline_stats st;
    fl_pipeline_stats(r.pl, &st);
    CHECK_EQ_INT(st.buffer.records, 3);
    CHECK_EQ_INT(st.records_published, 0);
    CHECK_EQ_INT(st.rejects.written, 1);
    CHECK_EQ_INT(parquet_files(), 0);

    fl_pipeline_stop_publisher(r.pl);
    fl_pipeline_stats(r.pl, &st);
    CHECK_EQ_INT(st.buffer.records, 0);
    CHECK_EQ_INT(st.records_published, 3);
    CHECK_EQ_INT(st.files_published, 1);
    CHECK_EQ_INT(st.publish_failures, 0);
    CHECK_EQ_STR(st.last_error, "");
    CHECK(st.published_seq > 0);
    CHECK_EQ_INT(st.wal.checkpoint, st.published_seq);
    CHECK_EQ_INT(parquet_files(), 1);

    struct fl_publish_entry pubs[4];
    uint64_t attempts = 0;
    CHECK_EQ_INT(fl_pipeline_publishes(r.pl, pubs, 4, &attempts), 1);
    CHECK_EQ_INT(attempts, 1);
    CHECK_EQ_INT(pubs[0].ok, 1);
    CHECK_EQ_INT(pubs[0].records, 3);
    CHECK_EQ_INT(pubs[0].wal_seq, st.published_seq);
    rig_close(&r, 0);

    /* Published: a new open replays nothing. */
    struct seen again = { .persisted = UINT64_MAX };
    rig_open(&r, &again);
    fl_pipeline_stats(r.pl, &st);
    CHECK_EQ_INT(st.replayed, 0);
    CHECK_EQ_INT(again.replayed_blocks, 0);
    rig_close(&r, 0);
    teardown();
}


static void
test_replay_unpublished(void)
{
    struct seen seen = { .persisted = UINT64_MAX };
    struct rig r;
    struct fl_ingest_result res;
    struct fl_err err = FL_ERR_INIT;
    const uint64_t key = 0x0123456789abcdefull;
    setup();

    /* Taken but never published (no publisher): as after a crash. */
    rig_open(&r, &seen);
    unsigned char taken = 9;
    CHECK_EQ_INT(fl_dedupe_claim(fl_pipeline_dedupe(r.pl), &key, 1, 0,
                                 &taken), 0);
    CHECK_EQ_INT(taken, 0);
    ingest(&r, LINE(1) LINE(2), &key, 1, &res);
    CHECK_EQ_INT(res.accepted, 2);
    fl_dedupe_commit(fl_pipeline_dedupe(r.pl), &key, 1);
    rig_close(&r, FL_EAGAIN);            /* records left for next start */
    CHECK_EQ_INT(parquet_files(), 0);

    struct seen back = { .persisted = UINT64_MAX };
    rig_open(&r, &back);
    CHECK_EQ_INT(back.replayed_blocks, 1);
    CHECK_EQ_INT(back.replayed_records, 2);
    struct fl_pipeline_stats st;
    fl_pipeline_stats(r.pl, &st);
    CHECK_EQ_INT(st.replayed, 2);
    CHECK_EQ_INT(st.buffer.records, 2);
    /* The request's id came back with it: a retry is recognised. */
    taken = 0;
    CHECK_EQ_INT(fl_dedupe_claim(fl_pipeline_dedupe(r.pl), &key, 1, 0,
                                 &taken), 0);
    CHECK_EQ_INT(taken, 1);
    CHECK_EQ_INT(fl_pipeline_start(r.pl, &err), 0);
    fl_pipeline_stop_publisher(r.pl);
    fl_pipeline_stats(r.pl, &st);
    CHECK_EQ_INT(st.records_published, 2);
    rig_close(&r, 0);
    CHECK_EQ_INT(parquet_files(), 1);

    /* Once published, never again. */
    struct seen last = { .persisted = UINT64_MAX };
    rig_open(&r, &last);
    CHECK_EQ_INT(last.replayed_blocks, 0);
    rig_close(&r, 0);
    CHECK_EQ_INT(parquet_files(), 1);
    teardown();
}


static void
test_checkpoint_waits_for_tap(void)
{
    struct seen seen = { .persisted = 0 };
    struct rig r;
    struct fl_ingest_result res;
    struct fl_err err = FL_ERR_INIT;
    struct fl_pipeline_stats st;
    setup();
    rig_open(&r, &seen);
    CHECK_EQ_INT(fl_pipeline_start(r.pl, &err), 0);
    ingest(&r, LINE(7), NULL, 0, &res);
    CHECK_EQ_INT(res.accepted, 1);
    fl_pipeline_stop_publisher(r.pl);
    fl_pipeline_stats(r.pl, &st);
    CHECK_EQ_INT(st.records_published, 1);
    /* The archive has it; the tap's state does not: the WAL keeps it. */
    CHECK_EQ_INT(st.wal.checkpoint, 0);
    seen.persisted = st.published_seq;
    fl_pipeline_checkpoint(r.pl);
    fl_pipeline_stats(r.pl, &st);
    CHECK_EQ_INT(st.wal.checkpoint, st.published_seq);
    rig_close(&r, 0);
    teardown();
}


/* What fl_pipeline_each_held showed. */
struct held_seen {
    size_t   n;
    uint64_t first_id, records;
    char     hold[64];
};


static void
on_held(void *ctx, uint64_t id, const char *hold, uint64_t records)
{
    struct held_seen *h = ctx;
    if (h->n++ == 0) {
        h->first_id = id;
        h->records = records;
        snprintf(h->hold, sizeof h->hold, "%s", hold);
    }
}


static void
ingest_held(struct rig *r, const char *body, uint64_t *id)
{
    struct fl_ingest_result res;
    fl_pipeline_ingest_held(r->pl, FL_SOURCE_KAFKA, "kafka test", body,
                            strlen(body), NULL, 0, "flows 0 5 6 a1 -\n", id,
                            &res);
    CHECK_EQ_INT(res.err.code, 0);
    CHECK(*id > 0);
}


/* Held requests: durable, but neither buffered nor told to the tap until
 * settled; the WAL keeps them meanwhile (the archive's mark passes them);
 * after a restart a held one is held again, a kept one is buffered (and
 * replayed to the tap), a dropped one is gone. */
static void
test_held_requests(void)
{
    struct seen seen = { .persisted = UINT64_MAX };
    struct rig r;
    struct fl_ingest_result res;
    struct fl_err err = FL_ERR_INIT;
    struct fl_pipeline_stats st;
    uint64_t id1, id2;
    setup();
    rig_open(&r, &seen);
    CHECK_EQ_INT(fl_pipeline_start(r.pl, &err), 0);
    ingest_held(&r, LINE(1) LINE(2), &id1);
    ingest_held(&r, LINE(3), &id2);
    ingest(&r, LINE(4), NULL, 0, &res);
    CHECK_EQ_INT(res.accepted, 1);
    CHECK_EQ_INT(seen.appended_records, 1);
    fl_pipeline_stats(r.pl, &st);
    CHECK_EQ_INT(st.buffer.records, 1);

    struct held_seen h = { 0 };
    CHECK_EQ_INT(fl_pipeline_each_held(r.pl, on_held, &h), 2);
    CHECK_EQ_INT(h.n, 2);
    CHECK_EQ_INT(h.first_id, id1);
    CHECK_EQ_INT(h.records, 2);
    CHECK_EQ_STR(h.hold, "flows 0 5 6 a1 -\n");

    /* Publishing the ordinary request marks the archive past both held
     * ones; the log is not cut there. */
    fl_pipeline_stop_publisher(r.pl);
    fl_pipeline_stats(r.pl, &st);
    CHECK_EQ_INT(st.records_published, 1);
    CHECK(st.published_seq > id2);
    CHECK(st.wal.checkpoint < id1);

    CHECK_EQ_INT(fl_pipeline_settle(r.pl, id1, 1, &err), 0);
    CHECK_EQ_INT(seen.appended_records, 3);
    fl_pipeline_stats(r.pl, &st);
    CHECK_EQ_INT(st.buffer.records, 2);
    CHECK(fl_pipeline_settle(r.pl, id1, 1, &err) < 0);    /* not held now */
    rig_close(&r, FL_EAGAIN);

    /* id1 kept (buffered, not published), id2 still held. */
    struct seen back = { .persisted = UINT64_MAX };
    rig_open(&r, &back);
    CHECK_EQ_INT(back.replayed_records, 3);   /* 4 (published) and 1, 2 */
    fl_pipeline_stats(r.pl, &st);
    CHECK_EQ_INT(st.buffer.records, 2);
    struct held_seen h2 = { 0 };
    CHECK_EQ_INT(fl_pipeline_each_held(r.pl, on_held, &h2), 1);
    CHECK_EQ_INT(h2.first_id, id2);
    CHECK_EQ_INT(h2.records, 1);
    CHECK_EQ_INT(fl_pipeline_settle(r.pl, id2, 0, &err), 0);
    CHECK_EQ_INT(back.appended_records, 0);
    CHECK_EQ_INT(fl_pipeline_start(r.pl, &err), 0);
    fl_pipeline_stop_publisher(r.pl);
    fl_pipeline_stats(r.pl, &st);
    CHECK_EQ_INT(st.records_published, 2);
    rig_close(&r, 0);

    /* Nothing held, nothing to replay: lines 1, 2 and 4 are published,
     * 3 was dropped. */
    struct seen last = { .persisted = UINT64_MAX };
    rig_open(&r, &last);
    CHECK_EQ_INT(last.replayed_blocks, 0);
    struct held_seen h3 = { 0 };
    CHECK_EQ_INT(fl_pipeline_each_held(r.pl, on_held, &h3), 0);
    rig_close(&r, 0);
    CHECK_EQ_INT(parquet_files(), 2);
    teardown();
}


/* A held ingest that fails -- out of memory at each allocation in turn --
 * is never held, and never comes back held or buffered after a restart:
 * its source reads it again, and a copy would be stored beside that. */
static void
test_held_failure_not_held(void)
{
    struct seen seen = { .persisted = UINT64_MAX };
    struct rig r;
    setup();
    rig_open(&r, &seen);
    size_t failed = 0;
    for (uint64_t nth = 1;; nth++) {
        struct fl_ingest_result res;
        uint64_t id = 7;
        fl_mem_fail_after(nth);
        fl_pipeline_ingest_held(r.pl, FL_SOURCE_KAFKA, "kafka test",
                                LINE(1) LINE(2), strlen(LINE(1) LINE(2)),
                                NULL, 0, "flows 0 5 6 a1 -\n", &id, &res);
        uint64_t attempts = fl_mem_fail_after(0);
        if (res.err.code == 0) {
            CHECK(id > 0);
            CHECK_EQ_INT(fl_pipeline_each_held(r.pl, NULL, NULL), 1);
            CHECK(nth > attempts);           /* no allocation failed */
            struct fl_err err = FL_ERR_INIT;
            CHECK_EQ_INT(fl_pipeline_settle(r.pl, id, 0, &err), 0);
            break;
        }
        failed++;
        CHECK_EQ_INT(id, 0);
        CHECK_EQ_INT(fl_pipeline_each_held(r.pl, NULL, NULL), 0);
    }
    CHECK(failed > 0);
    rig_close(&r, 0);
    struct seen back = { .persisted = UINT64_MAX };
    rig_open(&r, &back);
    CHECK_EQ_INT(fl_pipeline_each_held(r.pl, NULL, NULL), 0);
    CHECK_EQ_INT(back.replayed_records, 0);
    struct fl_pipeline_stats st;
    fl_pipeline_stats(r.pl, &st);
    CHECK_EQ_INT(st.buffer.records, 0);
    rig_close(&r, 0);
    teardown();
}


static void
test_bad_bodies(void)
{
    struct seen seen = { .persisted = UINT64_MAX };
    struct rig r;
    struct fl_ingest_result res;
    setup();
    rig_open(&r, &seen);

    /* gzip magic, then garbage: the sender's data is damaged. */
    static const char bad_gzip[] = "\x1f\x8b\x08\x00garbage";
    fl_pipeline_ingest(r.pl, FL_SOURCE_INGEST, "test", bad_gzip,
                       sizeof bad_gzip - 1, NULL, NULL, 0, NULL, 0, &res);
    CHECK(res.err.code == FL_ECORRUPT || res.err.code == FL_ETRUNC);
    CHECK(res.err.msg[0] != '\0');
    CHECK_EQ_INT(fl_http_status(res.err.code), 400);

    /* A format with an empty field name. */
    fl_pipeline_ingest(r.pl, FL_SOURCE_INGEST, "test", LINE(1),
                       strlen(LINE(1)), "${version} ${}", NULL, 0, NULL, 0,
                       &res);
    CHECK_EQ_INT(res.err.code, FL_ECONFIG);
    CHECK(strncmp(res.err.msg, "format: ", 8) == 0);

    /* Only bad lines: counted, nothing appended. */
    ingest(&r, "hello\nworld\n", NULL, 0, &res);
    CHECK_EQ_INT(res.err.code, 0);
    CHECK_EQ_INT(res.accepted, 0);
    CHECK_EQ_INT(res.rejected, 2);
    CHECK_EQ_INT(seen.appended_blocks, 0);
    rig_close(&r, 0);
    teardown();
}


static void
test_create_fails_with_message(void)
{
    char err[256];
    struct fl_err e = FL_ERR_INIT;
    struct fl_source_counters *counters;
    struct fl_pipeline *pl = NULL;
    setup();
    /* The archive folder cannot be made: a file stands in its way. */
    FILE *f = fopen(fl_test_at("file"), "w");
    CHECK(f != NULL);
    fclose(f);
    CHECK_EQ_INT(fl_config_set(&cfg, "archive.dir", fl_test_at("file/sub"),
                               err, sizeof err), 0);
    CHECK_EQ_INT(fl_source_counters_create(&counters), 0);
    CHECK(fl_pipeline_create(&cfg, counters, &pl, &e) < 0);
    CHECK(pl == NULL);
    CHECK(e.code < 0);
    CHECK(strstr(e.msg, "cannot create ") != NULL);
    fl_source_counters_destroy(counters);
    teardown();
}


FL_TEST_MAIN(
    FL_TEST(test_ingest_publish),
    FL_TEST(test_replay_unpublished),
    FL_TEST(test_checkpoint_waits_for_tap),
    FL_TEST(test_held_requests),
    FL_TEST(test_held_failure_not_held),
    FL_TEST(test_bad_bodies),
    FL_TEST(test_create_fails_with_message)
)
