/* SPDX-License-Identifier: MIT
 *
 * test_dedupe.c -- the dedupe set (src/pipeline/dedupe.c): the cap and its
 * eviction, key spaces, claims with commit and abort (single-threaded and
 * with threads racing for the same keys), the horizon on a fake clock,
 * the dedupe file's round trip, and every truncation and bit flip of a
 * file refused with a reason.
 */
#include "../../src/core/fl_config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <xxhash.h>

#include "harness.h"
#include "core/fl_error.h"
#include "core/fl_mem.h"
#include "pipeline/dedupe.h"

static uint64_t fake_now;

static uint64_t
fake_clock(void *ctx)
{
    (void)ctx;
    return fake_now;
}


static double
mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


static void
test_dedupe_bounded(void)
{
    struct fl_dedupe *d = NULL;
    struct fl_dedupe_stats st;
    CHECK_EQ_INT(fl_dedupe_create(0, 0, &d), FL_ECONFIG);
    CHECK(d == NULL);
    CHECK_EQ_INT(fl_dedupe_create(1000, 0, &d), 0);
    for (uint64_t k = 1; k <= 1000; k++)
        fl_dedupe_add(d, k * 7919);
    CHECK_EQ_INT(fl_dedupe_size(d), 1000);
    for (uint64_t k = 1; k <= 1000; k++)
        CHECK(fl_dedupe_contains(d, k * 7919));
    /* Over the cap: the oldest keys go (counted), the newest stay
     * findable (backward-shift deletion keeps probe chains intact). */
    for (uint64_t k = 1001; k <= 3000; k++)
        fl_dedupe_add(d, k * 7919);
    CHECK_EQ_INT(fl_dedupe_size(d), 1000);
    for (uint64_t k = 1; k <= 2000; k++)
        CHECK(!fl_dedupe_contains(d, k * 7919));
    for (uint64_t k = 2001; k <= 3000; k++)
        CHECK(fl_dedupe_contains(d, k * 7919));
    fl_dedupe_add(d, 3000 * 7919);    /* present: no-op */
    fl_dedupe_stats(d, &st);
    CHECK_EQ_INT(st.keys, 1000);
    CHECK_EQ_INT(st.max_keys, 1000);
    CHECK_EQ_INT(st.evicted, 2000);
    CHECK_EQ_INT(st.expired, 0);
    fl_dedupe_destroy(d);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_dedupe_key_spaces(void)
{
    const char *id = "49546986683135544286507457936321625675700192471156785154";
    size_t n = strlen(id);
    uint64_t f = fl_dedupe_source_key(FL_DEDUPE_FIREHOSE, id, n);
    uint64_t c = fl_dedupe_source_key(FL_DEDUPE_CWL, id, n);
    uint64_t w = fl_dedupe_source_key(FL_DEDUPE_FILE, id, n);
    CHECK(f != c && f != w && c != w);
    CHECK(f != 0 && c != 0 && w != 0);
    /* The folder source's keys are what they were (plain XXH3), so the
     * keys already in a write-ahead log keep matching. */
    CHECK(fl_dedupe_key(id, n) == w);
    CHECK(w == XXH3_64bits(id, n));
    CHECK(fl_dedupe_source_key(FL_DEDUPE_CWL, id, n) == c);
    CHECK(fl_dedupe_source_key(FL_DEDUPE_CWL, "abd", 3)
          != fl_dedupe_source_key(FL_DEDUPE_CWL, "abc", 3));

    /* A CloudWatch Logs event id taken does not make a Firehose request
     * with the same text a duplicate. */
    struct fl_dedupe *d = NULL;
    unsigned char taken = 9;
    CHECK_EQ_INT(fl_dedupe_create(64, 0, &d), 0);
    fl_dedupe_add(d, c);
    CHECK_EQ_INT(fl_dedupe_claim(d, &f, 1, 0, &taken), 0);
    CHECK_EQ_INT(taken, 0);
    fl_dedupe_commit(d, &f, 1);
    CHECK(fl_dedupe_contains(d, f) && fl_dedupe_contains(d, c));
    CHECK(!fl_dedupe_contains(d, w));
    fl_dedupe_destroy(d);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_dedupe_claim_commit_abort(void)
{
    struct fl_dedupe *d = NULL;
    struct fl_dedupe_stats st;
    unsigned char t[4];
    CHECK_EQ_INT(fl_dedupe_create(64, 0, &d), 0);
    uint64_t a[3] = { 11, 12, 11 };       /* 11 twice in one request */
    CHECK_EQ_INT(fl_dedupe_claim(d, a, 3, 0, t), 0);
    CHECK(t[0] == 0 && t[1] == 0 && t[2] == 1);
    fl_dedupe_stats(d, &st);
    CHECK_EQ_INT(st.claimed, 2);
    CHECK_EQ_INT(st.keys, 0);
    CHECK(!fl_dedupe_contains(d, 11));    /* claimed is not taken */

    /* Another request with 12 cannot claim while it is in flight; all
     * or none: 13 stays free. */
    uint64_t b[2] = { 13, 12 };
    double t0 = mono();
    CHECK_EQ_INT(fl_dedupe_claim(d, b, 2, 0, t), FL_EAGAIN);
    CHECK_EQ_INT(fl_dedupe_claim(d, b, 2, 150, t), FL_EAGAIN);
    CHECK(mono() - t0 >= 0.1);            /* it waited */
    CHECK(mono() - t0 < 5);
    uint64_t c13 = 13;
    CHECK_EQ_INT(fl_dedupe_claim(d, &c13, 1, 0, t), 0);
    CHECK_EQ_INT(t[0], 0);
    fl_dedupe_abort(d, &c13, 1);

    /* Commit: now taken. */
    fl_dedupe_commit(d, a, 2);
    CHECK(fl_dedupe_contains(d, 11) && fl_dedupe_contains(d, 12));
    CHECK_EQ_INT(fl_dedupe_claim(d, b, 2, 0, t), 0);
    CHECK(t[0] == 0 && t[1] == 1);
    /* Abort: 13 is free again, 12 stays taken. */
    fl_dedupe_abort(d, b, 1);
    CHECK(!fl_dedupe_contains(d, 13));
    CHECK_EQ_INT(fl_dedupe_claim(d, b, 2, 0, t), 0);
    CHECK(t[0] == 0 && t[1] == 1);
    fl_dedupe_commit(d, b, 1);
    fl_dedupe_stats(d, &st);
    CHECK_EQ_INT(st.keys, 3);
    CHECK_EQ_INT(st.claimed, 0);
    CHECK_EQ_INT(st.waits, 1);
    CHECK_EQ_INT(st.wait_timeouts, 2);
    fl_dedupe_destroy(d);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* ---- threads waiting for each other ------------------------------------ */

struct waiter {
    struct fl_dedupe *d;
    uint64_t          key;
    int               rc;
    unsigned char     taken;
    double            waited;
};


static void *
wait_claim(void *arg)
{
    struct waiter *w = arg;
    double t0 = mono();
    w->rc = fl_dedupe_claim(w->d, &w->key, 1, 10000, &w->taken);
    w->waited = mono() - t0;
    return NULL;
}


/* A retry arriving while the first is in flight waits for its outcome:
 * after a commit it sees the key taken, after an abort it claims it. */
static void
test_dedupe_wait_for_outcome(void)
{
    struct fl_dedupe *d = NULL;
    unsigned char t;
    CHECK_EQ_INT(fl_dedupe_create(64, 0, &d), 0);
    for (int ok = 0; ok <= 1; ok++) {
        uint64_t key = 100 + (uint64_t)ok;
        struct waiter w[3];
        pthread_t th[3];
        CHECK_EQ_INT(fl_dedupe_claim(d, &key, 1, 0, &t), 0);
        CHECK_EQ_INT(t, 0);
        for (int i = 0; i < 3; i++) {
            w[i] = (struct waiter){ .d = d, .key = key, .rc = 99 };
            CHECK_EQ_INT(pthread_create(&th[i], NULL, wait_claim, &w[i]), 0);
        }
        struct timespec ts = { 0, 300 * 1000000L };
        nanosleep(&ts, NULL);
        if (ok) {
            fl_dedupe_commit(d, &key, 1);
        } else {
            /* One retry claims it and the others wait for that one;
             * here it "stores" and commits. */
            struct fl_dedupe_stats st;
            fl_dedupe_abort(d, &key, 1);
            for (int i = 0; i < 1000; i++) {
                fl_dedupe_stats(d, &st);
                if (st.claimed == 1)
                    break;
                nanosleep(&(struct timespec){ 0, 1000000L }, NULL);
            }
            CHECK_EQ_INT(st.claimed, 1);
            nanosleep(&ts, NULL);
            fl_dedupe_commit(d, &key, 1);
        }
        int claimed = 0;
        for (int i = 0; i < 3; i++) {
            CHECK_EQ_INT(pthread_join(th[i], NULL), 0);
            CHECK_EQ_INT(w[i].rc, 0);
            CHECK(w[i].waited >= 0.2 && w[i].waited < 9);
            claimed += w[i].taken == 0;
        }
        /* After a commit every retry sees it taken; after an abort
         * exactly one goes on and the others see its outcome. */
        CHECK_EQ_INT(claimed, ok ? 0 : 1);
        CHECK(fl_dedupe_contains(d, key));
    }
    fl_dedupe_destroy(d);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


#define RACERS 8
#define ROUNDS 200
#define KEYS_PER_ROUND 16

struct race {
    struct fl_dedupe *d;
    _Atomic int       stored[ROUNDS * KEYS_PER_ROUND];
    _Atomic int       failures[ROUNDS];
    _Atomic int       errors;
};


/* Every racer sends the same rounds of keys (overlapping windows, like
 * CloudWatch Logs payloads retried with some events in common); the first
 * attempt of each round fails once (aborts), later ones store. */
static void *
racer(void *arg)
{
    struct race *r = arg;
    uint64_t keys[KEYS_PER_ROUND];
    unsigned char t[KEYS_PER_ROUND];
    for (int round = 0; round < ROUNDS; round++) {
        int base = round * (KEYS_PER_ROUND - 4);   /* 4 in common */
        for (int i = 0; i < KEYS_PER_ROUND; i++)
            keys[i] = (uint64_t)(base + i) + 1;
        if (fl_dedupe_claim(r->d, keys, KEYS_PER_ROUND, 10000, t) != 0) {
            atomic_fetch_add(&r->errors, 1);
            continue;
        }
        uint64_t mine[KEYS_PER_ROUND];
        size_t n = 0;
        for (int i = 0; i < KEYS_PER_ROUND; i++)
            if (!t[i])
                mine[n++] = keys[i];
        if (n > 0 && atomic_fetch_add(&r->failures[round], 1) == 0) {
            fl_dedupe_abort(r->d, mine, n);    /* "the disk was full" */
            round--;                           /* the sender retries */
            continue;
        }
        for (size_t i = 0; i < n; i++)
            atomic_fetch_add(&r->stored[mine[i] - 1], 1);
        fl_dedupe_commit(r->d, mine, n);
    }
    return NULL;
}


static void
test_dedupe_race_exactly_once(void)
{
    static struct race r;
    pthread_t th[RACERS];
    memset(&r, 0, sizeof r);
    CHECK_EQ_INT(fl_dedupe_create(1 << 16, 0, &r.d), 0);
    for (int i = 0; i < RACERS; i++)
        CHECK_EQ_INT(pthread_create(&th[i], NULL, racer, &r), 0);
    for (int i = 0; i < RACERS; i++)
        CHECK_EQ_INT(pthread_join(th[i], NULL), 0);
    CHECK_EQ_INT(atomic_load(&r.errors), 0);
    int last = (ROUNDS - 1) * (KEYS_PER_ROUND - 4) + KEYS_PER_ROUND;
    for (int k = 0; k < last; k++)
        CHECK_EQ_INT(atomic_load(&r.stored[k]), 1);
    struct fl_dedupe_stats st;
    fl_dedupe_stats(r.d, &st);
    CHECK_EQ_INT(st.keys, last);
    CHECK_EQ_INT(st.claimed, 0);
    fl_dedupe_destroy(r.d);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* ---- horizon ------------------------------------------------------------ */

static void
test_dedupe_horizon(void)
{
    struct fl_dedupe *d = NULL;
    struct fl_dedupe_stats st;
    CHECK_EQ_INT(fl_dedupe_create(100, 1000, &d), 0);
    fake_now = 1700000000000;
    fl_dedupe_set_clock(d, fake_clock, NULL);
    fl_dedupe_add(d, 1);                          /* at t */
    fake_now += 400;
    fl_dedupe_add(d, 2);                          /* at t + 400 */
    fl_dedupe_add_at(d, 3, fake_now - 2000);      /* replayed, too old */
    CHECK(!fl_dedupe_contains(d, 3));
    fake_now += 599;                              /* t + 999 */
    CHECK(fl_dedupe_contains(d, 1) && fl_dedupe_contains(d, 2));
    fake_now += 1;                                /* t + 1000 */
    CHECK(!fl_dedupe_contains(d, 1));
    CHECK(fl_dedupe_contains(d, 2));
    fake_now += 400;
    CHECK(!fl_dedupe_contains(d, 2));
    fl_dedupe_stats(d, &st);
    CHECK_EQ_INT(st.keys, 0);
    CHECK_EQ_INT(st.expired, 2);
    CHECK_EQ_INT(st.evicted, 0);
    /* An expired key can be claimed and stored again. */
    uint64_t k = 1;
    unsigned char t;
    CHECK_EQ_INT(fl_dedupe_claim(d, &k, 1, 0, &t), 0);
    CHECK_EQ_INT(t, 0);
    fl_dedupe_commit(d, &k, 1);
    CHECK(fl_dedupe_contains(d, 1));
    fl_dedupe_destroy(d);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* ---- the dedupe file ---------------------------------------------------- */

static void
test_dedupe_file_round_trip(void)
{
    struct fl_dedupe *d = NULL, *e = NULL;
    unsigned char *buf = NULL, t[2];
    size_t len = 0;
    char reason[256];
    CHECK_EQ_INT(fl_dedupe_create(1000, 3600 * 1000, &d), 0);
    fake_now = 1700000000000;
    fl_dedupe_set_clock(d, fake_clock, NULL);
    CHECK(!fl_dedupe_dirty(d));
    for (uint64_t k = 1; k <= 300; k++) {
        fl_dedupe_add(d, k * 104729);
        fake_now += 1000;
    }
    /* Claims: one whose records are in the log (saved: a checkpoint
     * may drop them before it commits), one not yet (not saved). */
    uint64_t c[2] = { 777777, 888888 };
    CHECK_EQ_INT(fl_dedupe_claim(d, c, 2, 0, t), 0);
    fl_dedupe_appended(d, c, 1, fake_now);
    CHECK(fl_dedupe_dirty(d));
    CHECK_EQ_INT(fl_dedupe_encode(d, &buf, &len), 0);
    CHECK_EQ_INT(len, 32 + 16 * 301 + 8);
    CHECK_EQ_MEM((const char *)buf, 8, "FLDEDUPE");

    /* 301 keys back; the horizon (1 h) has passed for the first 100 when
     * the reader's clock is 1 h + 100 s later. */
    CHECK_EQ_INT(fl_dedupe_create(1000, 3600 * 1000, &e), 0);
    fl_dedupe_set_clock(e, fake_clock, NULL);
    fake_now = 1700000000000 + 3600 * 1000 + 99 * 1000;
    CHECK_EQ_INT(fl_dedupe_load(e, buf, len, reason, sizeof reason), 0);
    CHECK(!fl_dedupe_dirty(e));
    for (uint64_t k = 1; k <= 300; k++)
        CHECK_EQ_INT(fl_dedupe_contains(e, k * 104729), k > 100);
    CHECK(fl_dedupe_contains(e, 777777));
    CHECK(!fl_dedupe_contains(e, 888888));
    struct fl_dedupe_stats st;
    fl_dedupe_stats(e, &st);
    CHECK_EQ_INT(st.keys, 201);
    CHECK_EQ_INT(st.expired, 100);
    fl_dedupe_destroy(e);

    /* A smaller cap keeps the newest keys. */
    CHECK_EQ_INT(fl_dedupe_create(50, 0, &e), 0);
    CHECK_EQ_INT(fl_dedupe_load(e, buf, len, reason, sizeof reason), 0);
    fl_dedupe_stats(e, &st);
    CHECK_EQ_INT(st.keys, 50);
    CHECK_EQ_INT(st.evicted, 251);
    CHECK(fl_dedupe_contains(e, 777777));
    CHECK(fl_dedupe_contains(e, 300 * 104729));
    CHECK(!fl_dedupe_contains(e, 250 * 104729));
    fl_dedupe_destroy(e);

    /* Through a file; a missing one is an empty memory. */
    char dir[] = "/tmp/fl-dedupe-XXXXXX", path[64];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/dedupe", dir);
    CHECK_EQ_INT(fl_dedupe_create(1000, 0, &e), 0);
    CHECK_EQ_INT(fl_dedupe_load_file(e, path, reason, sizeof reason), 0);
    CHECK_EQ_INT(fl_dedupe_size(e), 0);
    fake_now = 1700000000000 + 300 * 1000;
    fl_dedupe_commit(d, c, 2);
    CHECK_EQ_INT(fl_dedupe_save(d, path), 0);
    CHECK(!fl_dedupe_dirty(d));
    CHECK_EQ_INT(fl_dedupe_load_file(e, path, reason, sizeof reason), 0);
    CHECK_EQ_INT(fl_dedupe_size(e), 302);
    CHECK(fl_dedupe_contains(e, 888888));
    fl_dedupe_destroy(e);
    CHECK_EQ_INT(unlink(path), 0);
    CHECK_EQ_INT(rmdir(dir), 0);

    fl_free(buf);
    fl_dedupe_destroy(d);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_dedupe_file_corrupt(void)
{
    struct fl_dedupe *d = NULL, *e = NULL;
    unsigned char *buf = NULL;
    size_t len = 0;
    char reason[256];
    CHECK_EQ_INT(fl_dedupe_create(100, 0, &d), 0);
    for (uint64_t k = 1; k <= 5; k++)
        fl_dedupe_add(d, k);
    CHECK_EQ_INT(fl_dedupe_encode(d, &buf, &len), 0);
    CHECK_EQ_INT(len, 32 + 5 * 16 + 8);
    CHECK_EQ_INT(fl_dedupe_create(100, 0, &e), 0);

    /* Every truncation (and one byte too many) is refused. */
    for (size_t n = 0; n < len; n++) {
        reason[0] = '\0';
        CHECK_EQ_INT(fl_dedupe_load(e, buf, n, reason, sizeof reason),
                     FL_ECORRUPT);
        CHECK(reason[0] != '\0');
    }
    unsigned char *longer = fl_malloc(len + 1);
    CHECK(longer != NULL);
    memcpy(longer, buf, len);
    longer[len] = 0;
    CHECK_EQ_INT(fl_dedupe_load(e, longer, len + 1, reason, sizeof reason),
                 FL_ECORRUPT);
    CHECK(strstr(reason, "truncated") != NULL);
    fl_free(longer);

    /* Every single bit flipped is refused. */
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            buf[i] ^= (unsigned char)(1u << bit);
            CHECK_EQ_INT(fl_dedupe_load(e, buf, len, reason, sizeof reason),
                         FL_ECORRUPT);
            buf[i] ^= (unsigned char)(1u << bit);
        }
    }
    CHECK_EQ_INT(fl_dedupe_size(e), 0);       /* nothing half-loaded */
    buf[0] = 'X';
    CHECK_EQ_INT(fl_dedupe_load(e, buf, len, reason, sizeof reason),
                 FL_ECORRUPT);
    CHECK_EQ_STR(reason, "not a dedupe file (no FLDEDUPE magic)");
    buf[0] = 'F';
    buf[len - 1] ^= 0xff;
    CHECK_EQ_INT(fl_dedupe_load(e, buf, len, reason, sizeof reason),
                 FL_ECORRUPT);
    CHECK_EQ_STR(reason, "checksum mismatch");
    buf[len - 1] ^= 0xff;
    CHECK_EQ_INT(fl_dedupe_load(e, buf, len, reason, sizeof reason), 0);
    CHECK_EQ_INT(fl_dedupe_size(e), 5);

    /* Not a regular readable file: an error, with the reason. */
    CHECK(fl_dedupe_load_file(e, "/", reason, sizeof reason) < 0);

    fl_free(buf);
    fl_dedupe_destroy(e);
    fl_dedupe_destroy(d);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_dedupe_alloc_failures(void)
{
    /* Every allocation of create, claim and encode may fail: the call
     * reports it and leaks nothing. */
    for (uint64_t nth = 1; nth < 20; nth++) {
        struct fl_dedupe *d = NULL;
        unsigned char *buf = NULL, t[200];
        uint64_t keys[200];
        size_t len;
        for (int i = 0; i < 200; i++)
            keys[i] = (uint64_t)i + 1;
        fl_mem_fail_after(nth);
        int rc = fl_dedupe_create(10, 0, &d);
        if (rc == 0) {
            rc = fl_dedupe_claim(d, keys, 200, 0, t);
            CHECK(rc == 0 || rc == FL_ENOMEM);
            if (rc == 0) {
                fl_dedupe_appended(d, keys, 200, 5);
                rc = fl_dedupe_encode(d, &buf, &len);
                CHECK(rc == 0 || rc == FL_ENOMEM);
                fl_free(buf);
                fl_dedupe_commit(d, keys, 200);
            }
        } else {
            CHECK_EQ_INT(rc, FL_ENOMEM);
            CHECK(d == NULL);
        }
        fl_mem_fail_after(0);
        fl_dedupe_destroy(d);
        CHECK_EQ_INT(fl_mem_used(), 0);
    }
}


FL_TEST_MAIN(
    FL_TEST(test_dedupe_bounded),
    FL_TEST(test_dedupe_key_spaces),
    FL_TEST(test_dedupe_claim_commit_abort),
    FL_TEST(test_dedupe_wait_for_outcome),
    FL_TEST(test_dedupe_race_exactly_once),
    FL_TEST(test_dedupe_horizon),
    FL_TEST(test_dedupe_file_round_trip),
    FL_TEST(test_dedupe_file_corrupt),
    FL_TEST(test_dedupe_alloc_failures)
)
