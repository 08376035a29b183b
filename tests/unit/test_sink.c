/* SPDX-License-Identifier: MIT
 *
 * test_sink.c -- the publisher's sink interface (src/sinks/sink.h) over
 * the local archive: a run published through it is in the archive's hour
 * folder with its records, its write-ahead-log mark is what wal_seq
 * reports (also to a sink made anew, as after a restart), the hook is
 * called around the instant the files appear, and a failed run says why.
 */
#include "../../src/core/fl_config.h"

#include <string.h>
#include <sys/stat.h>

#include "../../src/core/fl_error.h"
#include "../../src/core/fl_fs.h"
#include "../../src/core/fl_mem.h"
#include "../../src/sinks/sink.h"
#include "harness.h"

static int hook_calls[2];


static void
before(void *ctx)
{
    (void)ctx;
    hook_calls[0]++;
}


static void
after(void *ctx, int ok)
{
    (void)ctx;
    hook_calls[1] += ok ? 1 : 100;
}


static void
test_local_sink(void)
{
    fl_test_dir_setup("sink");
    static const char text[] =
        "2 1 eni-a 10.0.0.1 10.0.0.2 1 443 6 5 500 1714521600 1714521660 "
        "ACCEPT OK\n"
        "2 1 eni-a 10.0.0.1 10.0.0.2 1 443 6 5 500 1714525200 1714525260 "
        "ACCEPT OK\n";
    struct fl_archive_block blk = { .text = text, .len = strlen(text),
                                    .source = "test" };
    struct fl_publish_hook hook = { before, after, NULL };
    struct fl_convert_stats st;
    struct fl_sink *sk = NULL;
    struct fl_err err = FL_ERR_INIT;
    uint64_t seq = 99;
    struct stat sb;

    CHECK_EQ_INT(fl_sink_local_create(fl_test_root, &sk), 0);
    CHECK_EQ_STR(sk->ops->name, "local");
    CHECK_EQ_INT(sk->ops->wal_seq(sk, &seq, &err), 0);
    CHECK_EQ_INT(seq, 0);
    CHECK_EQ_INT(sk->ops->publish(sk, &blk, 1, 17, &hook, &st, &err), 0);
    CHECK_EQ_INT(st.records_written, 2);
    CHECK_EQ_INT(st.files_written, 2);             /* two hours */
    CHECK_EQ_INT(hook_calls[0], 1);
    CHECK_EQ_INT(hook_calls[1], 1);
    CHECK(stat(fl_test_at("year=2024/month=05/day=01/hour=00"), &sb) == 0);
    CHECK(stat(fl_test_at("year=2024/month=05/day=01/hour=01"), &sb) == 0);
    CHECK_EQ_INT(sk->ops->wal_seq(sk, &seq, &err), 0);
    CHECK_EQ_INT(seq, 17);
    fl_sink_destroy(sk);

    /* A new sink over the same archive (a restart) knows the mark. */
    CHECK_EQ_INT(fl_sink_local_create(fl_test_root, &sk), 0);
    CHECK_EQ_INT(sk->ops->wal_seq(sk, &seq, &err), 0);
    CHECK_EQ_INT(seq, 17);
    /* A run that cannot be written (a bad format) fails with a reason and
     * moves no mark. */
    blk.format_spec = "${version";
    CHECK(sk->ops->publish(sk, &blk, 1, 18, &hook, &st, &err) < 0);
    CHECK(err.code < 0);
    CHECK(strstr(err.msg, "format") != NULL);
    err = (struct fl_err)FL_ERR_INIT;
    CHECK_EQ_INT(sk->ops->wal_seq(sk, &seq, &err), 0);
    CHECK_EQ_INT(seq, 17);
    fl_sink_destroy(sk);
    fl_sink_destroy(NULL);
    fl_test_dir_teardown();
}


static void
test_create_alloc_failures(void)
{
    struct fl_sink *sk = NULL;
    for (uint64_t nth = 1; nth <= 2; nth++) {
        fl_mem_fail_after(nth);
        CHECK_EQ_INT(fl_sink_local_create("/nowhere", &sk), FL_ENOMEM);
        fl_mem_fail_after(0);
        CHECK_EQ_INT(fl_mem_used(), 0);
    }
    CHECK_EQ_INT(fl_sink_local_create("/nowhere", &sk), 0);
    fl_sink_destroy(sk);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


FL_TEST_MAIN(
    FL_TEST(test_local_sink),
    FL_TEST(test_create_alloc_failures)
)
