/* SPDX-License-Identifier: MIT
 *
 * test_metrics.c -- the server's metrics (src/metrics/metrics.h) on their
 * own, without a server: created from struct fl_metrics_options alone,
 * they fold WAL records, save their state at stop and then call the
 * saved callback (which the server uses to checkpoint its WAL), restore
 * the saved sequence number at the next start, and still give a handle
 * when no metric is defined. Each test uses a fresh archive folder under
 * /dev/shm (or /tmp) and ends with fl_mem_used() back where it started.
 */
#include "../../src/core/fl_config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "config/config.h"
#include "core/fl_error.h"
#include "core/fl_fs.h"
#include "core/fl_mem.h"
#include "core/fl_time.h"
#include "metrics/metrics.h"

static char root[128];
static size_t mem_base;
static struct fl_config cfg;
static pthread_rwlock_t snap_lock = PTHREAD_RWLOCK_INITIALIZER;

/* What the callbacks saw: how often each was called, and the sequence
 * number the state covered when saved was. */
struct seen {
    struct fl_metrics *m;
    int                saved, queried;
    uint64_t           seq_at_saved;
};


static void
on_saved(void *ctx)
{
    struct seen *s = ctx;
    s->saved++;
    s->seq_at_saved = fl_metrics_persisted_seq(s->m);
}


static uint64_t
on_queries_running(void *ctx)
{
    struct seen *s = ctx;
    s->queried++;
    return 0;
}


static void
setup(int defaults)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    char err[256];
    mem_base = fl_mem_used();
    snprintf(root, sizeof root, "%s/fl-test-metrics-XXXXXX", base);
    CHECK(mkdtemp(root) != NULL);
    CHECK_EQ_INT(fl_config_init(&cfg), 0);
    CHECK_EQ_INT(fl_config_set(&cfg, "archive.dir", root, err, sizeof err),
                 0);
    CHECK_EQ_INT(fl_config_set(&cfg, "metrics.defaults",
                               defaults ? "true" : "false", err, sizeof err),
                 0);
}


static void
teardown(void)
{
    fl_config_free(&cfg);
    CHECK_EQ_INT(fl_fs_remove_tree(root), 0);
    CHECK_EQ_INT(fl_mem_used(), mem_base);
}


static struct fl_metrics *
create(struct seen *seen)
{
    struct fl_metrics_options o = {
        .cfg = &cfg, .snap_lock = &snap_lock, .ctx = seen,
        .saved = on_saved, .queries_running = on_queries_running,
    };
    struct fl_metrics *m = NULL;
    struct fl_err err = FL_ERR_INIT;
    int rc = fl_metrics_create(&o, &m, &err);
    if (rc != 0)
        fprintf(stderr, "  fl_metrics_create: %s\n", fl_err_msg(&err));
    CHECK_EQ_INT(rc, 0);
    CHECK(m != NULL);
    seen->m = m;
    return m;
}


/* A flow-log line in the default format that ended a minute ago. */
static size_t
line(char *buf, size_t cap)
{
    int64_t now = fl_time_now();
    int n = snprintf(buf, cap, "2 123456789012 eni-1 10.0.0.1 10.9.9.9 "
                     "40000 443 6 10 840 %lld %lld ACCEPT OK\n",
                     (long long)(now - 120), (long long)(now - 60));
    CHECK(n > 0 && (size_t)n < cap);
    return (size_t)n;
}


/* Folded, saved at stop, the saved callback called after the state is
 * durable; the next start covers the same sequence number. */
static void
test_save_calls_back(void)
{
    struct seen seen = { 0 };
    char text[256];
    size_t len = line(text, sizeof text);
    setup(1);

    struct fl_metrics *m = create(&seen);
    CHECK(fl_metrics_plans(m) != NULL);
    CHECK_EQ_INT(fl_metrics_persisted_seq(m), 0);
    CHECK_EQ_INT(fl_metrics_replay(m, text, len, NULL, 7, 0), 0);
    struct fl_metric_row *rows = NULL;
    size_t n = 0;
    CHECK_EQ_INT(fl_metrics_rows(m, NULL, 0, &rows, &n), 0);
    CHECK(n > 0);
    fl_metrics_rows_free(rows, n);
    CHECK_EQ_INT(fl_metrics_start(m), 0);
    fl_metrics_stop(m);
    CHECK(seen.saved >= 1);
    CHECK_EQ_INT(seen.seq_at_saved, 7);
    CHECK_EQ_INT(fl_metrics_persisted_seq(m), 7);
    fl_metrics_destroy(m);

    /* The state on disk says 7: a record at or below it is not folded
     * again (nothing new to save), one above it is. */
    struct seen again = { 0 };
    m = create(&again);
    CHECK_EQ_INT(fl_metrics_persisted_seq(m), 7);
    CHECK_EQ_INT(fl_metrics_replay(m, text, len, NULL, 7, 0), 0);
    CHECK_EQ_INT(fl_metrics_replay(m, text, len, NULL, 9, 0), 0);
    CHECK_EQ_INT(fl_metrics_start(m), 0);
    fl_metrics_destroy(m);             /* stops (saves) first */
    CHECK(again.saved >= 1);
    CHECK_EQ_INT(again.seq_at_saved, 9);
    teardown();
}


/* No metric and no alarm: a handle all the same (the reads answer from
 * the store), no engine, no thread, nothing saved, no limit on the WAL. */
static void
test_switched_off(void)
{
    struct seen seen = { 0 };
    char text[256], json[64];
    size_t len = line(text, sizeof text);
    setup(0);

    struct fl_metrics *m = create(&seen);
    CHECK(fl_metrics_plans(m) == NULL);
    CHECK(fl_metrics_alarms(m) == NULL);
    CHECK_EQ_INT(fl_metrics_persisted_seq(m), UINT64_MAX);
    CHECK_EQ_INT(fl_metrics_replay(m, text, len, NULL, 1, 0), 0);
    struct fl_metric_row *rows = NULL;
    size_t n = 1;
    CHECK_EQ_INT(fl_metrics_rows(m, NULL, 0, &rows, &n), 0);
    CHECK_EQ_INT(n, 0);
    CHECK(rows == NULL);
    size_t jl = fl_metrics_status_json(m, json, sizeof json);
    CHECK_EQ_MEM(json, jl, "null");
    CHECK_EQ_INT(fl_metrics_start(m), 0);
    fl_metrics_stop(m);
    fl_metrics_destroy(m);
    CHECK_EQ_INT(seen.saved, 0);
    fl_metrics_destroy(NULL);
    teardown();
}


FL_TEST_MAIN(
    FL_TEST(test_save_calls_back),
    FL_TEST(test_switched_off)
)
