/* SPDX-License-Identifier: MIT
 *
 * harness.h -- the tiny unit-test harness of flowlake.
 *
 * A test file defines functions `static void test_x(void)` and lists them in
 * a TESTS table; FL_TEST_MAIN runs each in a forked child with a timeout
 * (libuv runner style), so a crash or a hang fails one test, not the file.
 * Each child's result is printed as "ok"/"FAIL"; the file ends with the line
 * "N passed, N failed" that tests/run.sh adds up.
 *
 *   CHECK(cond)              fail the test when cond is false
 *   CHECK_EQ_INT(a, b)       compare integers, print both on failure
 *   CHECK_EQ_STR(a, b)       compare NUL-terminated strings
 *   CHECK_EQ_MEM(a, alen, b) compare a byte range with a string
 *
 * Tests that work on files share one temporary folder helper (below the
 * CHECK macros): fl_test_dir_setup, fl_test_dir_teardown, fl_test_at.
 */
#ifndef FL_HARNESS_H
#define FL_HARNESS_H

/* The feature macros for the POSIX calls below (mkdtemp). They work only
 * before the first system header, so every test includes fl_config.h
 * first, as every file of the project does. */
#include "core/fl_config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fl_fs.h"
#include "core/fl_mem.h"

#define CHECK(cond) do { \
    if (!(cond)) { \
        fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
        exit(1); \
    } } while (0)

#define CHECK_EQ_INT(a, b) do { \
    long long a_ = (long long)(a), b_ = (long long)(b); \
    if (a_ != b_) { \
        fprintf(stderr, "  %s:%d: %s == %s failed: %lld != %lld\n", \
                __FILE__, __LINE__, #a, #b, a_, b_); \
        exit(1); \
    } } while (0)

#define CHECK_EQ_STR(a, b) do { \
    const char *a_ = (a), *b_ = (b); \
    if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) { \
        fprintf(stderr, "  %s:%d: %s == %s failed:\n    got:  '%s'\n    want: '%s'\n", \
                __FILE__, __LINE__, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
        exit(1); \
    } } while (0)

#define CHECK_EQ_MEM(a, alen, b) do { \
    const char *a_ = (a), *b_ = (b); size_t al_ = (alen); \
    if (al_ != strlen(b_) || memcmp(a_, b_, al_) != 0) { \
        fprintf(stderr, "  %s:%d: %s == %s failed:\n    got:  '%.*s'\n    want: '%s'\n", \
                __FILE__, __LINE__, #a, #b, (int)al_, a_, b_); \
        exit(1); \
    } } while (0)

/* ---- a temporary folder per test ----------------------------------
 *
 *   fl_test_dir_setup("wal")  makes fl_test_root, a new folder
 *                             /dev/shm/fl-test-wal-XXXXXX (/tmp when
 *                             /dev/shm is not writable: tmpfs keeps the
 *                             tests off the disk), and notes fl_mem_used()
 *                             in fl_test_mem_base
 *   fl_test_dir_teardown()    removes the folder and checks that every
 *                             byte allocated since setup was freed
 *   fl_test_at("a/b")         "fl_test_root/a/b", in one of four static
 *                             buffers (so a few can be used at once)
 *
 * Each test runs in its own child process, so this one folder per process
 * is all a test needs. Not every test file uses it: unused. */
#if defined(__GNUC__)
#define FL_TEST_MAYBE_UNUSED __attribute__((unused))
#else
#define FL_TEST_MAYBE_UNUSED
#endif

static char fl_test_root[128] FL_TEST_MAYBE_UNUSED;
static size_t fl_test_mem_base FL_TEST_MAYBE_UNUSED;

static inline void
fl_test_dir_setup(const char *tag)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    fl_test_mem_base = fl_mem_used();
    snprintf(fl_test_root, sizeof fl_test_root, "%s/fl-test-%s-XXXXXX",
             base, tag);
    CHECK(mkdtemp(fl_test_root) != NULL);
}

static inline void
fl_test_dir_teardown(void)
{
    CHECK_EQ_INT(fl_fs_remove_tree(fl_test_root), 0);
    CHECK_EQ_INT(fl_mem_used(), fl_test_mem_base);
}

static inline const char *
fl_test_at(const char *rel)
{
    static char bufs[4][512];
    static int next;
    char *b = bufs[next++ & 3];
    snprintf(b, sizeof bufs[0], "%s/%s", fl_test_root, rel);
    return b;
}

struct fl_test {
    const char *name;
    void (*fn)(void);
};

#define FL_TEST(fn) { #fn, fn }

static int
fl_test_run_all(const char *file, const struct fl_test *tests, size_t n)
{
    int passed = 0, failed = 0;
    const char *only = getenv("FL_TEST_ONLY");
    unsigned timeout = 60;
    const char *mult = getenv("FL_TEST_TIMEOUT_MULTIPLIER");
    if (mult != NULL && atoi(mult) > 0)
        timeout *= (unsigned)atoi(mult);

    for (size_t i = 0; i < n; i++) {
        if (only != NULL && strstr(tests[i].name, only) == NULL)
            continue;
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            alarm(timeout);
            tests[i].fn();
            /* exit, not _exit: LeakSanitizer checks at exit. */
            exit(0);
        }
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) < 0) {
            status = -1;
        }
        if (status == 0) {
            passed++;
            printf("ok   %s %s\n", file, tests[i].name);
        } else {
            failed++;
            if (status > 0 && WIFSIGNALED(status))
                printf("FAIL %s %s (signal %d%s)\n", file, tests[i].name,
                       WTERMSIG(status),
                       WTERMSIG(status) == SIGALRM ? ": timeout" : "");
            else
                printf("FAIL %s %s\n", file, tests[i].name);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

#define FL_TEST_MAIN(...) \
    int main(void) { \
        static const struct fl_test tests_[] = { __VA_ARGS__ }; \
        return fl_test_run_all(__FILE__, tests_, sizeof tests_ / sizeof tests_[0]); \
    }

#endif /* FL_HARNESS_H */
