/* SPDX-License-Identifier: MIT
 *
 * test_wal.c -- the write-ahead log (src/wal/): round trips, sequence
 * numbers across reopen, group commit sharing fsyncs, crash simulation
 * (the last segment truncated at every byte offset, every bit of a frame
 * flipped), checkpoints and exactly-once replay, the size ceiling,
 * segment roll-over, write and sync failures, the directory lock, option
 * checks, allocation failures, and `flowlake wal-check`.
 *
 * WALs live under /dev/shm when it is writable (fsync is free there, so
 * the every-offset loops stay fast under ASan) and /tmp otherwise. Every
 * test ends with fl_mem_used() == 0.
 */
#include "../../src/core/fl_config.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "harness.h"
#include "core/fl_error.h"
#include "core/fl_fs.h"
#include "core/fl_mem.h"
#include "wal/wal.h"
#include "wal/wal_int.h"

int fl_cmd_wal_check(int argc, char **argv);

static char wal[160];   /* fl_test_root/wal: the WAL folder of most tests */

static void
setup(void)
{
    fl_test_dir_setup("wal");
    snprintf(wal, sizeof wal, "%s/wal", fl_test_root);
}

static const char *
seg_path(const char *dir, uint64_t first)
{
    static char bufs[2][512];
    static int next;
    char name[FL_WAL_NAME_SIZE];
    char *b = bufs[next++ & 1];
    fl_wal_seg_name(name, first);
    snprintf(b, 512, "%s/%s", dir, name);
    return b;
}

static unsigned char *
slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    CHECK(fd >= 0);
    CHECK(fstat(fd, &st) == 0);
    unsigned char *p = malloc((size_t)st.st_size + 1);
    CHECK(p != NULL);
    CHECK(read(fd, p, (size_t)st.st_size) == st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return p;
}

static void
spit(const char *path, const void *p, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK_EQ_INT(fl_fs_write_all(fd, p, len), 0);
    close(fd);
}

static long long
file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* The payload of record i: "rec-<i>:" then filler, 8 to 30 bytes. */
static size_t
payload(uint64_t i, char *buf)
{
    int n = snprintf(buf, 64, "rec-%llu:", (unsigned long long)i);
    size_t len = (size_t)n + (size_t)(i * 7 % 23);
    for (size_t k = (size_t)n; k < len; k++)
        buf[k] = (char)('a' + (i + k) % 26);
    return len;
}

/* Collects replayed records. */
struct got {
    uint64_t n;
    uint64_t seq[1024];
    unsigned kind[1024];
    size_t   len[1024];
    char     text[1024][64];
    int      bad;       /* a record out of order or too long */
};

static int
collect(void *ctx, uint64_t seq, unsigned kind, const void *p, size_t len)
{
    struct got *g = ctx;
    if (g->n >= 1024 || len > 64 || (g->n > 0 && seq != g->seq[g->n - 1] + 1)) {
        g->bad = 1;
        return 0;
    }
    g->seq[g->n] = seq;
    g->kind[g->n] = kind;
    g->len[g->n] = len;
    memcpy(g->text[g->n], p, len);
    g->n++;
    return 0;
}

/* Checks that g holds exactly the records first..last, as payload() made
 * them, with kind = seq % 3. */
static void
check_records(const struct got *g, uint64_t first, uint64_t last)
{
    char buf[64];
    CHECK(!g->bad);
    CHECK_EQ_INT(g->n, last >= first ? last - first + 1 : 0);
    for (uint64_t i = 0; i < g->n; i++) {
        uint64_t s = first + i;
        size_t len = payload(s, buf);
        CHECK_EQ_INT(g->seq[i], s);
        CHECK_EQ_INT(g->kind[i], s % 3);
        CHECK_EQ_INT(g->len[i], len);
        CHECK(memcmp(g->text[i], buf, len) == 0);
    }
}

/* Appends the records for seqs first..last (checking the numbers). */
static void
append_range(struct fl_wal *w, uint64_t first, uint64_t last)
{
    char buf[64];
    for (uint64_t s = first; s <= last; s++) {
        uint64_t seq = 0;
        size_t len = payload(s, buf);
        CHECK_EQ_INT(fl_wal_append(w, (unsigned)(s % 3), buf, len, &seq), 0);
        CHECK_EQ_INT(seq, s);
    }
}

/* Opens dir, replaying into *g (zeroed first). */
static int
open_collect(const char *dir, const struct fl_wal_options *o, struct got *g,
             struct fl_wal_recovery *rec, struct fl_wal **w)
{
    memset(g, 0, sizeof *g);
    memset(rec, 0, sizeof *rec);
    return fl_wal_open(dir, o, collect, g, rec, w);
}

/* Opens dir again and checks that it replays records 1..last with no
 * damage, then closes it: how a test shows the log is whole again. */
static void
check_whole(const char *dir, const struct fl_wal_options *o, uint64_t last)
{
    static struct got g;        /* 90 KB: not on the stack */
    struct fl_wal_recovery rec;
    struct fl_wal *w = NULL;
    CHECK_EQ_INT(open_collect(dir, o, &g, &rec, &w), 0);
    check_records(&g, 1, last);
    CHECK_EQ_INT(rec.damage, FL_WAL_DAMAGE_NONE);
    CHECK_EQ_INT(fl_wal_close(w), 0);
}

/* The crash loops test recovery logic, not the disk: skipping the syncs
 * keeps them fast where /dev/shm is missing and /tmp is a real disk. */
static int
no_sync(int fd)
{
    (void)fd;
    return 0;
}

static const struct fl_wal_options fast = { .sync_fn = no_sync };
static const struct fl_wal_options fast_repair = {
    .sync_fn = no_sync, .flags = FL_WAL_REPAIR
};

/* Frame sizes of a segment built by append_range(first..last). */
static size_t
frame_size(uint64_t s)
{
    char buf[64];
    return FL_WAL_FRAME_HDR_SIZE + payload(s, buf);
}


/* ---------------------------------------------------------------------
 * Basics
 * ------------------------------------------------------------------- */

static void
test_round_trip(void)
{
    setup();
    const char *dir = wal;
    struct fl_wal *w = NULL;
    struct fl_wal_recovery rec;
    static struct got g;

    CHECK_EQ_INT(open_collect(dir, NULL, &g, &rec, &w), 0);
    CHECK_EQ_INT(g.n, 0);
    CHECK_EQ_INT(rec.next_seq, 1);
    CHECK_EQ_INT(rec.damage, FL_WAL_DAMAGE_NONE);
    append_range(w, 1, 40);
    CHECK_EQ_INT(fl_wal_commit(w, 40), 0);
    CHECK_EQ_INT(fl_wal_commit(w, 41), -EINVAL);
    CHECK_EQ_INT(fl_wal_commit(w, 0), 0);
    struct fl_wal_stats st;
    fl_wal_stats(w, &st);
    CHECK_EQ_INT(st.appends, 40);
    CHECK_EQ_INT(st.next_seq, 41);
    CHECK_EQ_INT(st.durable_seq, 40);
    CHECK_EQ_INT(st.segments, 1);
    CHECK_EQ_INT(st.bytes, file_size(seg_path(dir, 1)));
    CHECK_EQ_INT(fl_wal_close(w), 0);

    CHECK_EQ_INT(open_collect(dir, NULL, &g, &rec, &w), 0);
    check_records(&g, 1, 40);
    CHECK_EQ_INT(rec.records, 40);
    CHECK_EQ_INT(rec.replayed, 40);
    CHECK_EQ_INT(rec.first_seq, 1);
    CHECK_EQ_INT(rec.last_seq, 40);
    CHECK_EQ_INT(rec.damage, FL_WAL_DAMAGE_NONE);
    CHECK_EQ_INT(rec.dropped_bytes, 0);
    CHECK_EQ_INT(fl_wal_close(w), 0);
    fl_test_dir_teardown();
}


static void
test_empty_and_gathered_payloads(void)
{
    setup();
    const char *dir = wal;
    struct fl_wal *w = NULL;
    struct fl_wal_recovery rec;
    static struct got g;
    uint64_t seq = 0;

    CHECK_EQ_INT(fl_wal_open(dir, NULL, NULL, NULL, NULL, &w), 0);
    CHECK_EQ_INT(fl_wal_append(w, 7, "", 0, &seq), 0);
    CHECK_EQ_INT(seq, 1);
    struct iovec v[3] = {
        { .iov_base = "src=http ", .iov_len = 9 },
        { .iov_base = "", .iov_len = 0 },
        { .iov_base = "2 123 eni-1", .iov_len = 11 },
    };
    CHECK_EQ_INT(fl_wal_appendv(w, 65535, v, 3, &seq), 0);
    CHECK_EQ_INT(seq, 2);
    CHECK_EQ_INT(fl_wal_appendv(w, 1, v, 0, &seq), -EINVAL);
    CHECK_EQ_INT(fl_wal_appendv(w, 1, v, FL_WAL_MAX_IOV + 1, &seq), -EINVAL);
    CHECK_EQ_INT(fl_wal_append(w, 65536, "x", 1, &seq), -EINVAL);
    CHECK_EQ_INT(fl_wal_close(w), 0);

    CHECK_EQ_INT(open_collect(dir, NULL, &g, &rec, &w), 0);
    CHECK_EQ_INT(g.n, 2);
    CHECK_EQ_INT(g.kind[0], 7);
    CHECK_EQ_INT(g.len[0], 0);
    CHECK_EQ_INT(g.kind[1], 65535);
    CHECK_EQ_MEM(g.text[1], g.len[1], "src=http 2 123 eni-1");
    CHECK_EQ_INT(fl_wal_close(w), 0);
    fl_test_dir_teardown();
}


static void
test_seq_continues_across_reopen(void)
{
    setup();
    const char *dir = wal;
    struct fl_wal *w = NULL;
    struct fl_wal_recovery rec;
    static struct got g;

    for (uint64_t round = 0; round < 4; round++) {
        CHECK_EQ_INT(open_collect(dir, NULL, &g, &rec, &w), 0);
        check_records(&g, 1, round * 5);
        CHECK_EQ_INT(rec.next_seq, round * 5 + 1);
        append_range(w, round * 5 + 1, round * 5 + 5);
        CHECK_EQ_INT(fl_wal_commit(w, round * 5 + 5), 0);
        CHECK_EQ_INT(fl_wal_close(w), 0);
    }
    CHECK_EQ_INT(open_collect(dir, NULL, &g, &rec, &w), 0);
    check_records(&g, 1, 20);
    /* Still one segment: appends continued in the last one. */
    CHECK_EQ_INT(rec.segments, 1);
    CHECK_EQ_INT(fl_wal_close(w), 0);
    fl_test_dir_teardown();
}


static void
test_segment_rollover(void)
{
    setup();
    const char *dir = wal;
    struct fl_wal *w = NULL;
    struct fl_wal_recovery rec;
    static struct got g;
    struct fl_wal_options o = { 0 };
    /* Two frames of at most 24 + 30 bytes fit, a third does not. */
    o.segment_size = FL_WAL_SEGMENT_HDR_SIZE + 2 * (FL_WAL_FRAME_HDR_SIZE + 30);
    o.max_record = 30;

    CHECK_EQ_INT(fl_wal_open(dir, &o, NULL, NULL, NULL, &w), 0);
    append_range(w, 1, 9);
    struct fl_wal_stats st;
    fl_wal_stats(w, &st);
    /* Each closed segment was synced before the next one was made. */
    CHECK_EQ_INT(st.syncs, st.segments_created - 1);
    CHECK_EQ_INT(fl_wal_commit(w, 9), 0);
    fl_wal_stats(w, &st);
    CHECK(st.segments >= 4);
    CHECK_EQ_INT(st.segments, st.segments_created);
    CHECK_EQ_INT(fl_wal_close(w), 0);

    /* Every segment is within the size, starts where the previous ended,
     * and the files add up to the stats. */
    uint64_t first = 1, total = 0, nseg = 0;
    while (first <= 9) {
        long long sz = file_size(seg_path(dir, first));
        CHECK(sz > FL_WAL_SEGMENT_HDR_SIZE);
        CHECK(sz <= (long long)o.segment_size);
        uint64_t off = FL_WAL_SEGMENT_HDR_SIZE;
        while (off < (uint64_t)sz)
            off += frame_size(first++);
        CHECK_EQ_INT(off, sz);
        total += (uint64_t)sz;
        nseg++;
    }
    CHECK_EQ_INT(nseg, st.segments);
    CHECK_EQ_INT(total, st.bytes);

    CHECK_EQ_INT(open_collect(dir, &o, &g, &rec, &w), 0);
    check_records(&g, 1, 9);
    CHECK_EQ_INT(rec.segments, nseg);
    CHECK_EQ_INT(fl_wal_close(w), 0);
    fl_test_dir_teardown();
}


/* ---------------------------------------------------------------------
 * Group commit
 * ------------------------------------------------------------------- */

#define NTHREADS 8

struct gc_ctx {
    struct fl_wal     *w;
    pthread_barrier_t *barrier;    /* NULL: free-running */
    int                rounds;
    int                id;
    uint64_t           seqs[64];
    int                failed;
};

static void *
gc_thread(void *arg)
{
    struct gc_ctx *c = arg;
    char buf[64];
    for (int r = 0; r < c->rounds; r++) {
        int n = snprintf(buf, sizeof buf, "t%d-r%d", c->id, r);
        if (fl_wal_append(c->w, (unsigned)c->id, buf, (size_t)n,
                          &c->seqs[r]) != 0)
            c->failed = 1;
        if (c->barrier != NULL)
            pthread_barrier_wait(c->barrier);
        if (fl_wal_commit(c->w, c->seqs[r]) != 0)
            c->failed = 1;
        if (c->barrier != NULL)
            pthread_barrier_wait(c->barrier);
    }
    return NULL;
}

/* Every thread appends, then all commit: the first committer syncs for
 * everybody, so each round costs exactly one fsync. */
static void
test_group_commit_shares_fsyncs(void)
{
    setup();
    const char *dir = wal;
    struct fl_wal *w = NULL;
    struct fl_wal_stats before, after;
    pthread_barrier_t barrier;
    static struct gc_ctx ctx[NTHREADS];
    pthread_t th[NTHREADS];
    const int rounds = 10;

    CHECK_EQ_INT(fl_wal_open(dir, NULL, NULL, NULL, NULL, &w), 0);
    fl_wal_stats(w, &before);
    CHECK_EQ_INT(pthread_barrier_init(&barrier, NULL, NTHREADS), 0);
    for (int i = 0; i < NTHREADS; i++) {
        ctx[i] = (struct gc_ctx){ .w = w, .barrier = &barrier,
                                  .rounds = rounds, .id = i };
        CHECK_EQ_INT(pthread_create(&th[i], NULL, gc_thread, &ctx[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        CHECK_EQ_INT(pthread_join(th[i], NULL), 0);
        CHECK(!ctx[i].failed);
    }
    pthread_barrier_destroy(&barrier);
    fl_wal_stats(w, &after);
    CHECK_EQ_INT(after.appends - before.appends, NTHREADS * rounds);
    CHECK_EQ_INT(after.commits - before.commits, NTHREADS * rounds);
    CHECK_EQ_INT(after.syncs - before.syncs, rounds);
    CHECK_EQ_INT(after.durable_seq, NTHREADS * rounds);
    CHECK_EQ_INT(fl_wal_close(w), 0);
    fl_test_dir_teardown();
}


/* A sync that takes a millisecond, like a real disk. */
static int
slow_sync(int fd)
{
    struct timespec ts = { 0, 1000000 };
    nanosleep(&ts, NULL);
    return fdatasync(fd) < 0 ? -errno : 0;
}

struct seen {
    uint64_t n;
    int      next_round[NTHREADS];
    int      bad;
};

static int
check_thread_order(void *ctx, uint64_t seq, unsigned kind, const void *p,
                   size_t len)
{
    struct seen *s = ctx;
    char want[64];
    (void)seq;
    if (kind >= NTHREADS) {
        s->bad = 1;
        return 0;
    }
    int n = snprintf(want, sizeof want, "t%u-r%d", kind,
                     s->next_round[kind]++);
    if ((size_t)n != len || memcmp(want, p, len) != 0)
        s->bad = 1;
    s->n++;
    return 0;
}

/* Free-running: each thread appends and commits at its own pace; with a
 * sync that takes time, waiters pile up behind it and share the next. */
static void
test_group_commit_free_running(void)
{
    setup();
    const char *dir = wal;
    struct fl_wal *w = NULL;
    struct fl_wal_stats st;
    struct fl_wal_options o = { 0 };
    static struct gc_ctx ctx[NTHREADS];
    pthread_t th[NTHREADS];
    const int rounds = 40;

    o.sync_fn = slow_sync;
    CHECK_EQ_INT(fl_wal_open(dir, &o, NULL, NULL, NULL, &w), 0);
    for (int i = 0; i < NTHREADS; i++) {
        ctx[i] = (struct gc_ctx){ .w = w, .rounds = rounds, .id = i };
        CHECK_EQ_INT(pthread_create(&th[i], NULL, gc_thread, &ctx[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        CHECK_EQ_INT(pthread_join(th[i], NULL), 0);
        CHECK(!ctx[i].failed);
        for (int r = 1; r < rounds; r++)
            CHECK(ctx[i].seqs[r] > ctx[i].seqs[r - 1]);
    }
    fl_wal_stats(w, &st);
    CHECK_EQ_INT(st.appends, NTHREADS * rounds);
    CHECK_EQ_INT(st.durable_seq, NTHREADS * rounds);
    CHECK(st.syncs >= 1);
    CHECK(st.syncs < st.appends / 2);
    CHECK_EQ_INT(fl_wal_close(w), 0);

    struct seen s = { 0 };
    CHECK_EQ_INT(fl_wal_open(dir, NULL, check_thread_order, &s, NULL, &w), 0);
    CHECK(!s.bad);
    CHECK_EQ_INT(s.n, NTHREADS * rounds);
    for (int i = 0; i < NTHREADS; i++)
        CHECK_EQ_INT(s.next_round[i], rounds);
    CHECK_EQ_INT(fl_wal_close(w), 0);
    fl_test_dir_teardown();
}


/* ---------------------------------------------------------------------
 * Crash simulation
 * ------------------------------------------------------------------- */

/* A fresh dir holding seg1 as the segment of seqs 1..3 and last (len
 * bytes of it) as the segment starting at seq 4. */
static void
make_case(const char *dir, const unsigned char *seg1, size_t len1,
          const unsigned char *last, size_t len)
{
    CHECK_EQ_INT(fl_fs_remove_tree(dir), 0);
    CHECK_EQ_INT(fl_fs_mkdirs(dir), 0);
    spit(seg_path(dir, 1), seg1, len1);
    spit(seg_path(dir, 4), last, len);
}

/* Writes records first..last as one segment file image into *out. */
static unsigned char *
segment_image(uint64_t first, uint64_t last, size_t *out_len,
              size_t *frame_off)
{
    size_t cap = 4096, len = FL_WAL_SEGMENT_HDR_SIZE;
    unsigned char *p = malloc(cap);
    char buf[64];
    CHECK(p != NULL);
    fl_wal_put_seg_hdr(p, 0x5a17u + (uint32_t)first, first);
    for (uint64_t s = first; s <= last; s++) {
        size_t n = payload(s, buf);
        if (frame_off != NULL)
            frame_off[s - first] = len;
        CHECK(len + FL_WAL_FRAME_HDR_SIZE + n <= cap);
        uint32_t c = fl_wal_crc_update(FL_WAL_CRC_INIT, buf, n);
        fl_wal_put_frame_hdr(p + len, (uint32_t)n, (unsigned)(s % 3), s,
                             0x5a17u + (uint32_t)first, c);
        memcpy(p + len + FL_WAL_FRAME_HDR_SIZE, buf, n);
        len += FL_WAL_FRAME_HDR_SIZE + n;
    }
    if (frame_off != NULL)
        frame_off[last - first + 1] = len;
    *out_len = len;
    return p;
}

/* The images written by segment_image are what the WAL itself writes:
 * the same bytes, apart from the random salt. */
static void
test_segment_image_matches_writer(void)
{
    setup();
    const char *dir = wal;
    struct fl_wal *w = NULL;
    size_t len = 0, ilen = 0;

    CHECK_EQ_INT(fl_wal_open(dir, NULL, NULL, NULL, NULL, &w), 0);
    append_range(w, 1, 5);
    CHECK_EQ_INT(fl_wal_close(w), 0);
    unsigned char *disk = slurp(seg_path(dir, 1), &len);
    unsigned char *img = segment_image(1, 5, &ilen, NULL);
    CHECK_EQ_INT(len, ilen);
    /* Re-salt the image with the disk's salt, then compare. */
    uint32_t salt;
    struct fl_wal_seg_hdr sh;
    const char *why = NULL;
    CHECK_EQ_INT(fl_wal_get_seg_hdr(disk, &sh, &why), 0);
    salt = sh.salt;
    CHECK(salt != 0);
    free(img);
    {
        char buf[64];
        size_t off = FL_WAL_SEGMENT_HDR_SIZE;
        img = malloc(len);
        CHECK(img != NULL);
        fl_wal_put_seg_hdr(img, salt, 1);
        for (uint64_t s = 1; s <= 5; s++) {
            size_t n = payload(s, buf);
            fl_wal_put_frame_hdr(img + off, (uint32_t)n, (unsigned)(s % 3), s,
                                 salt, fl_wal_crc_update(FL_WAL_CRC_INIT,
                                                         buf, n));
            memcpy(img + off + FL_WAL_FRAME_HDR_SIZE, buf, n);
            off += FL_WAL_FRAME_HDR_SIZE + n;
        }
        CHECK_EQ_INT(off, len);
    }
    CHECK(memcmp(disk, img, len) == 0);
    free(disk);
    free(img);
    fl_test_dir_teardown();
}


/* Truncates the last segment at every byte offset: replay returns exactly
 * the records wholly before the cut, reports the partial frame's bytes as
 * a torn tail, truncates it, and later appends follow the last whole
 * record. */
static void
test_torn_tail_every_offset(void)
{
    setup();
    const char *dir = wal;
    size_t len1, len;
    size_t off[8];
    unsigned char *seg1 = segment_image(1, 3, &len1, NULL);
    unsigned char *last = segment_image(4, 8, &len, off);
    static struct got g;

    for (size_t cut = 0; cut <= len; cut++) {
        struct fl_wal *w = NULL;
        struct fl_wal_recovery rec;
        uint64_t whole = 0;          /* frames of the last segment kept */
        size_t keep = cut < FL_WAL_SEGMENT_HDR_SIZE ? 0
                                                    : FL_WAL_SEGMENT_HDR_SIZE;
        while (whole < 5 && off[whole + 1] <= cut)
            keep = off[++whole];

        make_case(dir, seg1, len1, last, cut);
        CHECK_EQ_INT(open_collect(dir, &fast, &g, &rec, &w), 0);
        check_records(&g, 1, 3 + whole);
        CHECK_EQ_INT(rec.records, 3 + whole);
        CHECK_EQ_INT(rec.dropped_bytes, cut - keep);
        CHECK_EQ_INT(rec.dropped_segments, 0);
        CHECK_EQ_INT(rec.valid_after, 0);
        if (cut == keep && cut >= FL_WAL_SEGMENT_HDR_SIZE) {
            /* A cut on a frame boundary is simply a shorter log. */
            CHECK_EQ_INT(rec.damage, FL_WAL_DAMAGE_NONE);
            CHECK_EQ_INT(rec.repaired, 0);
        } else {
            CHECK_EQ_INT(rec.damage, FL_WAL_DAMAGE_TORN);
            CHECK_EQ_STR(rec.damage_segment, "wal-00000000000000000004.log");
            CHECK_EQ_INT(rec.damage_offset, keep);
            CHECK_EQ_INT(rec.damage_seq, 4 + whole);
            CHECK_EQ_INT(rec.repaired, 1);
        }
        /* The torn bytes are gone from the disk (a segment without a
         * whole header is gone altogether). */
        CHECK_EQ_INT(file_size(seg_path(dir, 4)), keep ? (long long)keep : -1);
        CHECK_EQ_INT(rec.next_seq, 4 + whole);

        /* Appends continue right after the last whole record. */
        char buf[64];
        uint64_t seq = 0;
        size_t n = payload(4 + whole, buf);
        CHECK_EQ_INT(fl_wal_append(w, (unsigned)((4 + whole) % 3), buf, n,
                                   &seq), 0);
        CHECK_EQ_INT(seq, 4 + whole);
        CHECK_EQ_INT(fl_wal_commit(w, seq), 0);
        CHECK_EQ_INT(fl_wal_close(w), 0);
        check_whole(dir, &fast, 4 + whole);
    }
    free(seg1);
    free(last);
    fl_test_dir_teardown();
}


/* Flips every bit of a middle frame: that frame and everything after it
 * are never returned; the damage is corruption at the frame's offset with
 * valid data after it; open refuses without FL_WAL_REPAIR and changes
 * nothing; with it, the log is cut there and continues. */
static void
test_bitflip_middle_frame(void)
{
    setup();
    const char *dir = wal;
    size_t len1, len;
    size_t off[8];
    unsigned char *seg1 = segment_image(1, 3, &len1, NULL);
    unsigned char *last = segment_image(4, 8, &len, off);
    unsigned char *copy = malloc(len);
    static struct got g;
    const size_t victim = 2;                /* frame of seq 6 */
    CHECK(copy != NULL);

    for (size_t bit = off[victim] * 8; bit < off[victim + 1] * 8; bit++) {
        struct fl_wal *w = NULL;
        struct fl_wal_recovery rec;
        memcpy(copy, last, len);
        copy[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        make_case(dir, seg1, len1, copy, len);

        CHECK_EQ_INT(open_collect(dir, &fast, &g, &rec, &w), FL_ECORRUPT);
        CHECK_EQ_INT(g.n, 0);               /* refused: nothing replayed */
        CHECK_EQ_INT(rec.damage, FL_WAL_DAMAGE_CORRUPT);
        CHECK_EQ_INT(rec.records, 3 + victim);
        CHECK_EQ_INT(rec.last_seq, 3 + victim);
        CHECK_EQ_INT(rec.damage_offset, off[victim]);
        CHECK_EQ_INT(rec.damage_seq, 4 + victim);
        CHECK_EQ_INT(rec.dropped_bytes, len - off[victim]);
        CHECK_EQ_INT(rec.valid_after, 1);
        CHECK(rec.reason != NULL);
        CHECK_EQ_INT(file_size(seg_path(dir, 4)), len);   /* untouched */

        CHECK_EQ_INT(open_collect(dir, &fast_repair, &g, &rec, &w), 0);
        check_records(&g, 1, 3 + victim);
        CHECK_EQ_INT(rec.damage, FL_WAL_DAMAGE_CORRUPT);
        CHECK_EQ_INT(rec.repaired, 1);
        CHECK_EQ_INT(rec.next_seq, 4 + victim);
        CHECK_EQ_INT(file_size(seg_path(dir, 4)), off[victim]);
        CHECK_EQ_INT(fl_wal_close(w), 0);
        /* Never resurrected: a plain reopen sees a clean, shorter log. */
        check_whole(dir, &fast, 3 + victim);
    }
    free(copy);
    free(seg1);
    free(last);
    fl_test_dir_teardown();
}


/* Flips every bit of the last frame: it is never returned; the damage is
 * corruption, except when a flipped length bit makes the frame reach past
 * the end of the file (within the format's limit), which looks exactly
 * like a torn write and is reported as one. */
static void
test_bitflip_last_frame(void)
{
    setup();
    const char *dir = wal;
    size_t len1, len;
    size_t off[8];
    unsigned char *seg1 = segment_image(1, 3, &len1, NULL);
    unsigned char *last = segment_image(4, 8, &len, off);
    unsigned char *copy = malloc(len);
    static struct got g;
    const size_t victim = 4;                /* frame of seq 8, the last */
    CHECK(copy != NULL);
    CHECK_EQ_INT(off[victim + 1], len);

    for (size_t bit = off[victim] * 8; bit < len * 8; bit++) {
        struct fl_wal *w = NULL;
        struct fl_wal_recovery rec;
        memcpy(copy, last, len);
        copy[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        make_case(dir, seg1, len1, copy, len);

        size_t in_frame = bit / 8 - off[victim];
        int torn = 0;
        if (in_frame < 4) {
            struct fl_wal_frame_hdr fh;
            fl_wal_get_frame_hdr(copy + off[victim], &fh);
            torn = fh.len <= FL_WAL_RECORD_LIMIT
                   && fh.len > len - off[victim] - FL_WAL_FRAME_HDR_SIZE;
        }
        int rc = open_collect(dir, &fast, &g, &rec, &w);
        CHECK_EQ_INT(rec.damage, torn ? FL_WAL_DAMAGE_TORN
                                      : FL_WAL_DAMAGE_CORRUPT);
        CHECK_EQ_INT(rec.records, 3 + victim);
        CHECK_EQ_INT(rec.damage_offset, off[victim]);
        CHECK_EQ_INT(rec.dropped_bytes, len - off[victim]);
        CHECK_EQ_INT(rec.valid_after, 0);
        if (torn) {
            CHECK_EQ_INT(rc, 0);
            check_records(&g, 1, 3 + victim);
            CHECK_EQ_INT(fl_wal_close(w), 0);
        } else {
            CHECK_EQ_INT(rc, FL_ECORRUPT);
            CHECK_EQ_INT(g.n, 0);
        }
    }
    free(copy);
    free(seg1);
    free(last);
    fl_test_dir_teardown();
}


/* Damage in a segment that is not the last: the later segment is not
 * silently kept after the gap, nor silently dropped. */
static void
test_corruption_in_earlier_segment(void)
{
    setup();
    const char *dir = wal;
    size_t len1, len, off1[4];
    unsigned char *seg1 = segment_image(1, 3, &len1, off1);
    unsigned char *last = segment_image(4, 8, &len, NULL);
    static struct got g;
    struct fl_wal *w = NULL;
    struct fl_wal_recovery rec;
    struct fl_wal_options repair = { .flags = FL_WAL_REPAIR };

    seg1[off1[1] + FL_WAL_FRAME_HDR_SIZE] ^= 0x20;   /* payload of seq 2 */
    make_case(dir, seg1, len1, last, len);

    CHECK_EQ_INT(open_collect(dir, NULL, &g, &rec, &w), FL_ECORRUPT);
    CHECK_EQ_INT(rec.damage, FL_WAL_DAMAGE_CORRUPT);
    CHECK_EQ_STR(rec.damage_segment, "wal-00000000000000000001.log");
    CHECK_EQ_INT(rec.damage_offset, off1[1]);
    CHECK_EQ_INT(rec.records, 1);
    CHECK_EQ_INT(rec.dropped_segments, 1);
    CHECK_EQ_INT(rec.dropped_bytes, (len1 - off1[1]) + len);
    CHECK_EQ_INT(rec.valid_after, 1);
    CHECK_EQ_STR(rec.reason, "frame checksum mismatch");

    /* wal-check sees the same without changing anything. */
    struct fl_wal_recovery scan;
    CHECK_EQ_INT(fl_wal_scan(dir, NULL, NULL, &scan), 0);
    CHECK_EQ_INT(scan.damage, FL_WAL_DAMAGE_CORRUPT);
    CHECK_EQ_INT(scan.dropped_bytes, rec.dropped_bytes);
    CHECK_EQ_INT(file_size(seg_path(dir, 4)), len);

    CHECK_EQ_INT(open_collect(dir, &repair, &g, &rec, &w), 0);
    check_records(&g, 1, 1);
    CHECK_EQ_INT(rec.repaired, 1);
    CHECK_EQ_INT(rec.next_seq, 2);
    CHECK_EQ_INT(file_size(seg_path(dir, 4)), -1);
    CHECK_EQ_INT(file_size(seg_path(dir, 1)), off1[1]);
    append_range(w, 2, 2);
    CHECK_EQ_INT(fl_wal_close(w), 0);
    check_whole(dir, NULL, 2);
    free(seg1);
    free(last);
    fl_test_dir_teardown();
}


/* Frames with good CRCs in the wrong place: a duplicated frame (wrong
 * sequence number) and a frame spliced in from another segment (wrong
 * salt) are corruption, not records. Zeros after the last frame (a file
 * system that extended the file but lost the data) are a torn tail. */
static void
test_misplaced_frames_and_zero_tail(void)
{
    setup();
    const char *dir = wal;
    size_t l1, len, off[8], other_len, ooff[4];
    unsigned char *seg1 = segment_image(1, 3, &l1, NULL);
    unsigned char *last = segment_image(4, 8, &len, off);
    unsigned char *other = segment_image(6, 6, &other_len, ooff);
    unsigned char *buf = malloc(len + 200);
    static struct got g;
    struct fl_wal *w = NULL;
    struct fl_wal_recovery rec;
    CHECK(buf != NULL);

    /* 4 5 5 6 ...: the second 5 is out of order. */
    size_t f5 = off[2] - off[1];
    memcpy(buf, last, off[2]);
    memcpy(buf + off[2], last + off[1], f5);
    memcpy(buf + off[2] + f5, last + off[2], len - off[2]);
    make_case(dir, seg1, l1, buf, len + f5);
    CHECK_EQ_INT(open_collect(dir, NULL, &g, &rec, &w), FL_ECORRUPT);
    CHECK_EQ_STR(rec.reason, "frame sequence number out of order");
    CHECK_EQ_INT(rec.damage_offset, off[2]);
    CHECK_EQ_INT(rec.records, 5);
    CHECK_EQ_INT(rec.valid_after, 1);

    /* 4 5 then seq 6 from another segment (other salt). */
    memcpy(buf, last, off[2]);
    memcpy(buf + off[2], other + ooff[0], other_len - ooff[0]);
    make_case(dir, seg1, l1, buf, off[2] + other_len - ooff[0]);
    CHECK_EQ_INT(open_collect(dir, NULL, &g, &rec, &w), FL_ECORRUPT);
    CHECK_EQ_STR(rec.reason, "frame salt does not match the segment");
    CHECK_EQ_INT(rec.damage_offset, off[2]);
    CHECK_EQ_INT(rec.valid_after, 0);

    /* All five frames, then zeros. */
    memcpy(buf, last, len);
    memset(buf + len, 0, 200);
    make_case(dir, seg1, l1, buf, len + 200);
    CHECK_EQ_INT(open_collect(dir, NULL, &g, &rec, &w), 0);
    check_records(&g, 1, 8);
    CHECK_EQ_INT(rec.damage, FL_WAL_DAMAGE_TORN);
    CHECK_EQ_INT(rec.damage_offset, len);
    CHECK_EQ_INT(rec.dropped_bytes, 200);
    CHECK_EQ_INT(file_size(seg_path(dir, 4)), len);
    CHECK_EQ_INT(fl_wal_close(w), 0);

    /* The same zeros in a segment that is not the last: corruption. */
    size_t l9;
    unsigned char *seg9 = segment_image(9, 9, &l9, NULL);
    make_case(dir, seg1, l1, buf, len + 200);
    spit(seg_path(dir, 9), seg9, l9);
    CHECK_EQ_INT(open_collect(dir, NULL, &g, &rec, &w), FL_ECORRUPT);
    CHECK_EQ_INT(rec.damage, FL_WAL_DAMAGE_CORRUPT);
    CHECK_EQ_INT(rec.dropped_bytes, 200 + l9);
    CHECK_EQ_INT(rec.dropped_segments, 1);
    CHECK_EQ_INT(rec.valid_after, 1);
    free(seg9);
    free(buf);
    free(other);
    free(seg1);
    free(last);
    fl_test_dir_teardown();
}


/* A segment removed from the middle leaves a gap in the sequence. */
static void
test_gap_between_segments(void)
{
    setup();
    const char *dir = wal;
    size_t l1, l2, l3;
    unsigned char *a = segment_image(1, 3, &l1, NULL);
    unsigned char *b = segment_image(4, 6, &l2, NULL);
    unsigned char *c = segment_image(7, 9, &l3, NULL);
    static struct got g;
    struct fl_wal *w = NULL;
    struct fl_wal_recovery rec;
    struct fl_wal_options repair = { .flags = FL_WAL_REPAIR };

    CHECK_EQ_INT(fl_fs_mkdirs(dir), 0);
    spit(seg_path(dir, 1), a, l1);
    spit(seg_path(dir, 7), c, l3);
    CHECK_EQ_INT(open_collect(dir, NULL, &g, &rec, &w), FL_ECORRUPT);
    CHECK_EQ_INT(rec.damage, FL_WAL_DAMAGE_CORRUPT);
    CHECK_EQ_STR(rec.reason, "sequence gap before this segment");
    CHECK_EQ_STR(rec.damage_segment, "wal-00000000000000000007.log");
    CHECK_EQ_INT(rec.damage_offset, 0);
    CHECK_EQ_INT(rec.damage_seq, 4);
    CHECK_EQ_INT(rec.dropped_bytes, l3);
    CHECK_EQ_INT(rec.valid_after, 1);
    CHECK_EQ_INT(rec.records, 3);

    /* With the missing segment back, all is well. */
    spit(seg_path(dir, 4), b, l2);
    CHECK_EQ_INT(open_collect(dir, NULL, &g, &rec, &w), 0);
    check_records(&g, 1, 9);
    CHECK_EQ_INT(fl_wal_close(w), 0);

    /* Without it, repair keeps 1..3 and drops segment 7. */
    CHECK_EQ_INT(unlink(seg_path(dir, 4)), 0);
    CHECK_EQ_INT(open_collect(dir, &repair, &g, &rec, &w), 0);
    check_records(&g, 1, 3);
    CHECK_EQ_INT(file_size(seg_path(dir, 7)), -1);
    CHECK_EQ_INT(rec.next_seq, 4);
    CHECK_EQ_INT(fl_wal_close(w), 0);
    free(a);
    free(b);
    free(c);
    fl_test_dir_teardown();
}


/* Garbage header on the last segment: all zeros is a torn creation, other
 * bytes are corruption. */
static void
test_bad_segment_header(void)
{
    setup();
    const char *dir = wal;
    size_t l1, l2;
    unsigned char *a = segment_image(1, 3, &l1, NULL);
    unsigned char *b = segment_image(4, 6, &l2, NULL);
    static struct got g;
    struct fl_wal *w = NULL;
    struct fl_wal_recovery rec;

    memset(b, 0, l2);
    make_case(dir, a, l1, b, 100);
    CHECK_EQ_INT(open_collect(dir, NULL, &g, &rec, &w), 0);
    CHECK_EQ_INT(rec.damage, FL_WAL_DAMAGE_TORN);
    CHECK_EQ_INT(rec.dropped_bytes, 100);
    check_records(&g, 1, 3);
    CHECK_EQ_INT(file_size(seg_path(dir, 4)), -1);
    CHECK_EQ_INT(fl_wal_close(w), 0);

    free(b);
    b = segment_image(4, 6, &l2, NULL);
    b[3] ^= 1;                                      /* magic */
    make_case(dir, a, l1, b, l2);
    CHECK_EQ_INT(open_collect(dir, NULL, &g, &rec, &w), FL_ECORRUPT);
    CHECK_EQ_STR(rec.reason, "bad segment magic");
    b[3] ^= 1;
    b[17] ^= 1;                                     /* first seq */
    make_case(dir, a, l1, b, l2);
    CHECK_EQ_INT(open_collect(dir, NULL, &g, &rec, &w), FL_ECORRUPT);
    CHECK_EQ_STR(rec.reason, "segment header checksum mismatch");
    free(a);
    free(b);
    fl_test_dir_teardown();
}


/* ---------------------------------------------------------------------
 * Checkpoints
 * ------------------------------------------------------------------- */

static int
exists_seg(const char *dir, uint64_t first)
{
    return file_size(seg_path(dir, first)) >= 0;
}

static void
test_checkpoint_skips_and_deletes(void)
{
    setup();
    const char *dir = wal;
    static struct got g;
    struct fl_wal *w = NULL;
    struct fl_wal_recovery rec;
    struct fl_wal_stats st;
    struct fl_wal_options o = { 0 };
    o.segment_size = FL_WAL_SEGMENT_HDR_SIZE + 2 * (FL_WAL_FRAME_HDR_SIZE + 30);
    o.max_record = 30;

    CHECK_EQ_INT(fl_wal_open(dir, &o, NULL, NULL, NULL, &w), 0);
    append_range(w, 1, 20);
    CHECK_EQ_INT(fl_wal_commit(w, 20), 0);
    fl_wal_stats(w, &st);
    uint64_t segs_before = st.segments, bytes_before = st.bytes;

    /* Record which segments hold what, from the files themselves. */
    uint64_t firsts[32], n = 0;
    for (uint64_t s = 1; s <= 20; s++)
        if (exists_seg(dir, s))
            firsts[n++] = s;
    CHECK_EQ_INT(n, segs_before);
    firsts[n] = 21;

    CHECK_EQ_INT(fl_wal_checkpoint(w, 21), -EINVAL);
    CHECK_EQ_INT(fl_wal_checkpoint(w, 12), 0);
    fl_wal_stats(w, &st);
    CHECK_EQ_INT(st.checkpoint, 12);
    uint64_t deleted = 0;
    for (uint64_t i = 0; i < n; i++) {
        /* Gone exactly when every record in it is <= 12. */
        int gone = firsts[i + 1] - 1 <= 12;
        CHECK_EQ_INT(!exists_seg(dir, firsts[i]), gone);
        deleted += (uint64_t)gone;
    }
    CHECK(deleted >= 1);
    CHECK_EQ_INT(st.segments, segs_before - deleted);
    CHECK_EQ_INT(st.segments_deleted, deleted);
    CHECK(st.bytes < bytes_before);
    /* Lower or equal checkpoints are no-ops. */
    CHECK_EQ_INT(fl_wal_checkpoint(w, 5), 0);
    CHECK_EQ_INT(fl_wal_checkpoint(w, 12), 0);
    fl_wal_stats(w, &st);
    CHECK_EQ_INT(st.checkpoint, 12);
    CHECK_EQ_INT(fl_wal_close(w), 0);

    /* Exactly once: a reopen replays only what is not published. */
    CHECK_EQ_INT(open_collect(dir, &o, &g, &rec, &w), 0);
    check_records(&g, 13, 20);
    CHECK_EQ_INT(rec.checkpoint, 12);
    CHECK_EQ_INT(rec.replayed, 8);
    CHECK_EQ_INT(rec.next_seq, 21);

    /* Publishing everything deletes every segment, the active one too;
     * sequence numbers go on from there. */
    CHECK_EQ_INT(fl_wal_checkpoint(w, 20), 0);
    fl_wal_stats(w, &st);
    CHECK_EQ_INT(st.segments, 0);
    CHECK_EQ_INT(st.bytes, 0);
    CHECK_EQ_INT(st.durable_seq, 20);
    for (uint64_t i = 0; i < n; i++)
        CHECK(!exists_seg(dir, firsts[i]));
    append_range(w, 21, 22);
    CHECK_EQ_INT(fl_wal_commit(w, 22), 0);
    CHECK(exists_seg(dir, 21));
    CHECK_EQ_INT(fl_wal_close(w), 0);

    CHECK_EQ_INT(open_collect(dir, &o, &g, &rec, &w), 0);
    check_records(&g, 21, 22);
    CHECK_EQ_INT(fl_wal_checkpoint(w, 22), 0);
    CHECK_EQ_INT(fl_wal_close(w), 0);
    /* Nothing left but the checkpoint: the numbers still do not restart. */
    CHECK_EQ_INT(open_collect(dir, &o, &g, &rec, &w), 0);
    CHECK_EQ_INT(g.n, 0);
    CHECK_EQ_INT(rec.next_seq, 23);
    CHECK_EQ_INT(rec.segments, 0);
    CHECK_EQ_INT(fl_wal_close(w), 0);
    fl_test_dir_teardown();
}


/* A crash between the checkpoint's rename and the segment deletions: the
 * next open deletes the published segments and does not replay them. */
static void
test_checkpoint_crash_before_delete(void)
{
    setup();
    const char *dir = wal;
    size_t l1, l2, l3;
    unsigned char *a = segment_image(1, 3, &l1, NULL);
    unsigned char *b = segment_image(4, 6, &l2, NULL);
    unsigned char *c = segment_image(7, 9, &l3, NULL);
    unsigned char ck[FL_WAL_CKPT_SIZE];
    static struct got g;
    struct fl_wal *w = NULL;
    struct fl_wal_recovery rec;

    CHECK_EQ_INT(fl_fs_mkdirs(dir), 0);
    spit(seg_path(dir, 1), a, l1);
    spit(seg_path(dir, 4), b, l2);
    spit(seg_path(dir, 7), c, l3);
    fl_wal_put_ckpt(ck, 5);
    spit(fl_test_at("wal/checkpoint"), ck, sizeof ck);

    struct fl_wal_recovery scan;
    CHECK_EQ_INT(fl_wal_scan(dir, NULL, NULL, &scan), 0);
    CHECK_EQ_INT(scan.published_segments, 1);
    CHECK_EQ_INT(scan.checkpoint, 5);
    CHECK_EQ_INT(scan.records, 6);          /* 4..9 read, 1..3 not */

    CHECK_EQ_INT(open_collect(dir, NULL, &g, &rec, &w), 0);
    check_records(&g, 6, 9);
    CHECK_EQ_INT(rec.published_segments, 1);
    CHECK(!exists_seg(dir, 1));
    CHECK(exists_seg(dir, 4));
    CHECK(exists_seg(dir, 7));
    CHECK_EQ_INT(fl_wal_close(w), 0);
    free(a);
    free(b);
    free(c);
    fl_test_dir_teardown();
}


/* A torn checkpoint.tmp (crash while writing it) is ignored and removed;
 * a damaged checkpoint file is corruption (replay everything on repair). */
static void
test_torn_checkpoint_files(void)
{
    setup();
    const char *dir = wal;
    static struct got g;
    struct fl_wal *w = NULL;
    struct fl_wal_recovery rec;
    unsigned char ck[FL_WAL_CKPT_SIZE];
    struct fl_wal_options repair = { .flags = FL_WAL_REPAIR };

    CHECK_EQ_INT(fl_wal_open(dir, NULL, NULL, NULL, NULL, &w), 0);
    append_range(w, 1, 6);
    CHECK_EQ_INT(fl_wal_checkpoint(w, 2), 0);
    CHECK_EQ_INT(fl_wal_close(w), 0);

    /* Every proper prefix of a newer checkpoint, as checkpoint.tmp. */
    fl_wal_put_ckpt(ck, 5);
    for (size_t cut = 0; cut < sizeof ck; cut++) {
        spit(fl_test_at("wal/checkpoint.tmp"), ck, cut);
        CHECK_EQ_INT(open_collect(dir, NULL, &g, &rec, &w), 0);
        check_records(&g, 3, 6);
        CHECK_EQ_INT(rec.checkpoint, 2);
        CHECK_EQ_INT(file_size(fl_test_at("wal/checkpoint.tmp")), -1);
        CHECK_EQ_INT(fl_wal_close(w), 0);
    }

    /* The checkpoint itself damaged. */
    size_t len;
    unsigned char *real = slurp(fl_test_at("wal/checkpoint"), &len);
    CHECK_EQ_INT(len, FL_WAL_CKPT_SIZE);
    real[17] ^= 4;
    spit(fl_test_at("wal/checkpoint"), real, len);
    CHECK_EQ_INT(open_collect(dir, NULL, &g, &rec, &w), FL_ECORRUPT);
    CHECK_EQ_INT(rec.checkpoint_damaged, 1);
    CHECK_EQ_INT(g.n, 0);
    CHECK_EQ_INT(open_collect(dir, &repair, &g, &rec, &w), 0);
    check_records(&g, 1, 6);                 /* at least once */
    CHECK_EQ_INT(rec.checkpoint, 0);
    CHECK_EQ_INT(fl_wal_close(w), 0);
    CHECK_EQ_INT(open_collect(dir, NULL, &g, &rec, &w), 0);
    CHECK_EQ_INT(rec.checkpoint_damaged, 0);
    check_records(&g, 1, 6);
    CHECK_EQ_INT(fl_wal_close(w), 0);
    free(real);
    fl_test_dir_teardown();
}


/* ---------------------------------------------------------------------
 * Limits and failures
 * ------------------------------------------------------------------- */

static void
test_ceiling(void)
{
    setup();
    const char *dir = wal;
    struct fl_wal *w = NULL;
    struct fl_wal_stats st;
    struct fl_wal_options o = { 0 };
    char big[101];
    uint64_t seq = 0;

    memset(big, 'x', sizeof big);
    o.max_record = 100;
    o.max_bytes = FL_WAL_SEGMENT_HDR_SIZE + 3 * (FL_WAL_FRAME_HDR_SIZE + 100);
    CHECK_EQ_INT(fl_wal_open(dir, &o, NULL, NULL, NULL, &w), 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(fl_wal_append(w, 1, big, 100, &seq), 0);
    CHECK_EQ_INT(seq, 3);
    long long size = file_size(seg_path(dir, 1));
    CHECK_EQ_INT(size, o.max_bytes);

    /* Full: a distinct code, and nothing written. */
    seq = 99;
    CHECK_EQ_INT(fl_wal_append(w, 1, big, 1, &seq), FL_EAGAIN);
    CHECK_EQ_INT(seq, 99);
    CHECK_EQ_INT(file_size(seg_path(dir, 1)), size);
    /* Too big for any WAL of this configuration: another code. */
    CHECK_EQ_INT(fl_wal_append(w, 1, big, 101, &seq), FL_ETOOBIG);
    fl_wal_stats(w, &st);
    CHECK_EQ_INT(st.full, 1);
    CHECK_EQ_INT(st.next_seq, 4);
    CHECK_EQ_INT(st.bytes, size);
    CHECK(FL_EAGAIN != FL_ETOOBIG);

    /* A checkpoint frees the room. */
    CHECK_EQ_INT(fl_wal_commit(w, 3), 0);
    CHECK_EQ_INT(fl_wal_checkpoint(w, 3), 0);
    CHECK_EQ_INT(fl_wal_append(w, 1, big, 100, &seq), 0);
    CHECK_EQ_INT(seq, 4);
    CHECK_EQ_INT(fl_wal_close(w), 0);
    fl_test_dir_teardown();
}


static void
test_bad_options(void)
{
    setup();
    const char *dir = wal;
    struct fl_wal *w = (struct fl_wal *)&w;     /* must stay untouched */
    struct fl_wal *orig = w;
    struct fl_wal_options o;

    memset(&o, 0, sizeof o);
    o.segment_size = 63;
    CHECK_EQ_INT(fl_wal_open(dir, &o, NULL, NULL, NULL, &w), FL_ECONFIG);
    memset(&o, 0, sizeof o);
    o.segment_size = 1000;
    o.max_record = 1000 - 56 + 1;
    CHECK_EQ_INT(fl_wal_open(dir, &o, NULL, NULL, NULL, &w), FL_ECONFIG);
    memset(&o, 0, sizeof o);
    o.max_bytes = 1000;
    o.max_record = 2000;
    CHECK_EQ_INT(fl_wal_open(dir, &o, NULL, NULL, NULL, &w), FL_ECONFIG);
    memset(&o, 0, sizeof o);
    o.max_record = FL_WAL_RECORD_LIMIT + 1;
    o.segment_size = (uint64_t)1 << 40;
    o.max_bytes = (uint64_t)1 << 40;
    CHECK_EQ_INT(fl_wal_open(dir, &o, NULL, NULL, NULL, &w), FL_ECONFIG);
    memset(&o, 0, sizeof o);
    o.flags = 0x80;
    CHECK_EQ_INT(fl_wal_open(dir, &o, NULL, NULL, NULL, &w), FL_ECONFIG);
    CHECK(w == orig);

    /* A zero max_record shrinks to what fits. */
    memset(&o, 0, sizeof o);
    o.segment_size = 200;
    CHECK_EQ_INT(fl_wal_open(dir, &o, NULL, NULL, NULL, &w), 0);
    char buf[200] = { 0 };
    CHECK_EQ_INT(fl_wal_append(w, 0, buf, 200 - 56, NULL), 0);
    CHECK_EQ_INT(fl_wal_append(w, 0, buf, 200 - 55, NULL), FL_ETOOBIG);
    CHECK_EQ_INT(fl_wal_close(w), 0);
    fl_test_dir_teardown();
}


/* A write that fails half-way (here: the file size limit) leaves no
 * partial frame behind, and the next append succeeds. */
static void
test_failed_write_is_cut_off(void)
{
    setup();
    const char *dir = wal;
    struct fl_wal *w = NULL;
    struct rlimit rl, old;
    char big[300];
    uint64_t seq = 0;

    memset(big, 'y', sizeof big);
    signal(SIGXFSZ, SIG_IGN);
    CHECK_EQ_INT(fl_wal_open(dir, NULL, NULL, NULL, NULL, &w), 0);
    append_range(w, 1, 2);
    long long size = file_size(seg_path(dir, 1));
    CHECK_EQ_INT(getrlimit(RLIMIT_FSIZE, &old), 0);
    rl = old;
    rl.rlim_cur = (rlim_t)size + 100;        /* header and part of it fit */
    CHECK_EQ_INT(setrlimit(RLIMIT_FSIZE, &rl), 0);
    CHECK_EQ_INT(fl_wal_append(w, 0, big, sizeof big, &seq), -EFBIG);
    CHECK_EQ_INT(file_size(seg_path(dir, 1)), size);
    CHECK_EQ_INT(setrlimit(RLIMIT_FSIZE, &old), 0);
    struct fl_wal_stats st;
    fl_wal_stats(w, &st);
    CHECK_EQ_INT(st.error, 0);
    CHECK_EQ_INT(st.next_seq, 3);
    append_range(w, 3, 4);
    CHECK_EQ_INT(fl_wal_commit(w, 4), 0);
    CHECK_EQ_INT(fl_wal_close(w), 0);

    check_whole(dir, NULL, 4);
    fl_test_dir_teardown();
}


/* Segment data cannot be synced; directories can. */
static int
failing_sync(int fd)
{
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
        return fsync(fd) < 0 ? -errno : 0;
    return -EIO;
}

/* A failed fsync fails the WAL for good (fsyncgate); a reopen recovers
 * what is really in the files. */
static void
test_failed_sync_is_sticky(void)
{
    setup();
    const char *dir = wal;
    static struct got g;
    struct fl_wal *w = NULL;
    struct fl_wal_recovery rec;
    struct fl_wal_options o = { 0 };
    struct fl_wal_stats st;
    uint64_t seq;

    CHECK_EQ_INT(fl_wal_open(dir, NULL, NULL, NULL, NULL, &w), 0);
    append_range(w, 1, 2);
    CHECK_EQ_INT(fl_wal_close(w), 0);
    o.sync_fn = failing_sync;
    CHECK_EQ_INT(fl_wal_open(dir, &o, NULL, NULL, NULL, &w), -EIO);
    /* Without a segment to sync at open, the failure comes at commit. */
    CHECK_EQ_INT(fl_fs_remove_tree(dir), 0);
    CHECK_EQ_INT(fl_wal_open(dir, &o, NULL, NULL, NULL, &w), 0);
    append_range(w, 1, 2);
    CHECK_EQ_INT(fl_wal_commit(w, 2), -EIO);
    CHECK_EQ_INT(fl_wal_commit(w, 1), -EIO);
    CHECK_EQ_INT(fl_wal_append(w, 0, "x", 1, &seq), -EIO);
    CHECK_EQ_INT(fl_wal_checkpoint(w, 1), -EIO);
    fl_wal_stats(w, &st);
    CHECK_EQ_INT(st.error, -EIO);
    CHECK_EQ_INT(fl_wal_close(w), -EIO);
    CHECK_EQ_INT(open_collect(dir, NULL, &g, &rec, &w), 0);
    check_records(&g, 1, 2);
    CHECK_EQ_INT(fl_wal_close(w), 0);
    fl_test_dir_teardown();
}


static void
test_directory_lock(void)
{
    setup();
    const char *dir = wal;
    struct fl_wal *w = NULL, *w2 = NULL;
    struct fl_wal_recovery rec;

    CHECK_EQ_INT(fl_wal_open(dir, NULL, NULL, NULL, NULL, &w), 0);
    CHECK_EQ_INT(fl_wal_open(dir, NULL, NULL, NULL, NULL, &w2), -EBUSY);
    CHECK(w2 == NULL);
    CHECK_EQ_INT(fl_wal_scan(dir, NULL, NULL, &rec), 0);
    CHECK_EQ_INT(rec.in_use, 1);
    CHECK_EQ_INT(fl_wal_close(w), 0);
    CHECK_EQ_INT(fl_wal_scan(dir, NULL, NULL, &rec), 0);
    CHECK_EQ_INT(rec.in_use, 0);
    CHECK_EQ_INT(fl_wal_open(dir, NULL, NULL, NULL, NULL, &w2), 0);
    CHECK_EQ_INT(fl_wal_close(w2), 0);
    CHECK_EQ_INT(fl_wal_close(NULL), 0);
    CHECK_EQ_INT(fl_wal_scan(fl_test_at("nope"), NULL, NULL, &rec), -ENOENT);
    fl_test_dir_teardown();
}


static int
stop_at_3(void *ctx, uint64_t seq, unsigned kind, const void *p, size_t len)
{
    (void)ctx;
    (void)kind;
    (void)p;
    (void)len;
    return seq == 3 ? -ECANCELED : 0;
}

/* Every allocation failure in open (scan, replay, settle) and in append
 * returns -ENOMEM and leaks nothing; a callback's error is returned. */
static void
test_alloc_failures(void)
{
    setup();
    const char *dir = wal;
    struct fl_wal *w = NULL;
    struct fl_wal_options o = { 0 };
    o.segment_size = FL_WAL_SEGMENT_HDR_SIZE + 2 * (FL_WAL_FRAME_HDR_SIZE + 30);
    o.max_record = 30;

    CHECK_EQ_INT(fl_wal_open(dir, &o, NULL, NULL, NULL, &w), 0);
    append_range(w, 1, 9);
    CHECK_EQ_INT(fl_wal_close(w), 0);
    CHECK_EQ_INT(fl_wal_open(dir, &o, stop_at_3, NULL, NULL, &w),
                 -ECANCELED);
    CHECK_EQ_INT(fl_mem_used(), 0);

    for (uint64_t n = 1; ; n++) {
        static struct got g;
        struct fl_wal_recovery rec;
        fl_mem_fail_after(n);
        int rc = open_collect(dir, &o, &g, &rec, &w);
        uint64_t attempts = fl_mem_fail_after(0);
        if (rc == 0) {
            check_records(&g, 1, 9);
            CHECK(attempts < n);
            CHECK_EQ_INT(fl_wal_close(w), 0);
            break;
        }
        CHECK_EQ_INT(rc, FL_ENOMEM);
        CHECK_EQ_INT(fl_mem_used(), 0);
        CHECK(n < 100);
    }
    /* Appending through segment rolls under allocation failure. */
    CHECK_EQ_INT(fl_wal_open(dir, &o, NULL, NULL, NULL, &w), 0);
    fl_mem_fail_after(1);
    int failures = 0;
    char buf[64];
    uint64_t next = 10;
    for (int i = 0; i < 30; i++) {
        size_t n = payload(next, buf);
        uint64_t seq;
        int rc = fl_wal_append(w, (unsigned)(next % 3), buf, n, &seq);
        if (rc == FL_ENOMEM) {
            failures++;
            continue;
        }
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_INT(seq, next);
        next++;
    }
    fl_mem_fail_after(0);
    CHECK(failures > 0);
    CHECK_EQ_INT(fl_wal_close(w), 0);
    static struct got g;
    struct fl_wal_recovery rec;
    CHECK_EQ_INT(open_collect(dir, &o, &g, &rec, &w), 0);
    check_records(&g, 1, next - 1);
    CHECK_EQ_INT(fl_wal_close(w), 0);
    fl_test_dir_teardown();
}


/* ---------------------------------------------------------------------
 * flowlake wal-check
 * ------------------------------------------------------------------- */

static int
run_check(const char *a1, const char *a2, const char *a3)
{
    char *argv[5] = { "wal-check", NULL, NULL, NULL, NULL };
    int argc = 1;
    const char *args[3] = { a1, a2, a3 };
    for (int i = 0; i < 3; i++)
        if (args[i] != NULL)
            argv[argc++] = (char *)(uintptr_t)args[i];
    fflush(stdout);
    fflush(stderr);
    int out = dup(1), err = dup(2);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    int rc = fl_cmd_wal_check(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(out, 1);
    dup2(err, 2);
    close(out);
    close(err);
    close(null);
    return rc;
}

static void
test_wal_check_cli(void)
{
    setup();
    const char *dir = wal;
    size_t len1, len, off[8];
    unsigned char *seg1 = segment_image(1, 3, &len1, NULL);
    unsigned char *last = segment_image(4, 8, &len, off);

    CHECK_EQ_INT(run_check(NULL, NULL, NULL), 2);
    CHECK_EQ_INT(run_check("--bogus", dir, NULL), 2);
    CHECK_EQ_INT(run_check(dir, dir, NULL), 2);
    CHECK_EQ_INT(run_check("--force", dir, NULL), 2);
    CHECK_EQ_INT(run_check("--help", NULL, NULL), 0);
    CHECK_EQ_INT(run_check(fl_test_at("missing"), NULL, NULL), 1);

    make_case(dir, seg1, len1, last, len);
    CHECK_EQ_INT(run_check(dir, NULL, NULL), 0);

    /* Torn: reported (1) and left alone; --fix cuts it (0). */
    make_case(dir, seg1, len1, last, len - 5);
    CHECK_EQ_INT(run_check(dir, NULL, NULL), 1);
    CHECK_EQ_INT(file_size(seg_path(dir, 4)), len - 5);
    CHECK_EQ_INT(run_check("--fix", dir, NULL), 0);
    CHECK_EQ_INT(file_size(seg_path(dir, 4)), off[4]);
    CHECK_EQ_INT(run_check("-q", dir, NULL), 0);

    /* Corrupt: --fix alone refuses, --fix --force cuts. */
    last[off[2] + 30] ^= 1;
    make_case(dir, seg1, len1, last, len);
    CHECK_EQ_INT(run_check(dir, NULL, NULL), 1);
    CHECK_EQ_INT(run_check("--fix", dir, NULL), 1);
    CHECK_EQ_INT(file_size(seg_path(dir, 4)), len);
    CHECK_EQ_INT(run_check("--fix", "--force", dir), 0);
    CHECK_EQ_INT(file_size(seg_path(dir, 4)), off[2]);
    CHECK_EQ_INT(run_check(dir, NULL, NULL), 0);

    /* In use by a server: --fix refuses and changes nothing. */
    struct fl_wal *w = NULL;
    struct fl_wal_options repair = { .flags = FL_WAL_REPAIR };
    make_case(dir, seg1, len1, last, len);
    CHECK_EQ_INT(fl_wal_open(dir, &repair, NULL, NULL, NULL, &w), 0);
    CHECK_EQ_INT(run_check("--fix", dir, NULL), 0);   /* nothing to fix */
    spit(seg_path(dir, 4), last, len);      /* damaged under the server */
    CHECK_EQ_INT(run_check("--fix", "--force", dir), 1);
    CHECK_EQ_INT(file_size(seg_path(dir, 4)), len);
    CHECK_EQ_INT(fl_wal_close(w), 0);

    free(seg1);
    free(last);
    fl_test_dir_teardown();
}


FL_TEST_MAIN(
    FL_TEST(test_round_trip),
    FL_TEST(test_empty_and_gathered_payloads),
    FL_TEST(test_seq_continues_across_reopen),
    FL_TEST(test_segment_rollover),
    FL_TEST(test_group_commit_shares_fsyncs),
    FL_TEST(test_group_commit_free_running),
    FL_TEST(test_segment_image_matches_writer),
    FL_TEST(test_torn_tail_every_offset),
    FL_TEST(test_bitflip_middle_frame),
    FL_TEST(test_bitflip_last_frame),
    FL_TEST(test_corruption_in_earlier_segment),
    FL_TEST(test_misplaced_frames_and_zero_tail),
    FL_TEST(test_gap_between_segments),
    FL_TEST(test_bad_segment_header),
    FL_TEST(test_checkpoint_skips_and_deletes),
    FL_TEST(test_checkpoint_crash_before_delete),
    FL_TEST(test_torn_checkpoint_files),
    FL_TEST(test_ceiling),
    FL_TEST(test_bad_options),
    FL_TEST(test_failed_write_is_cut_off),
    FL_TEST(test_failed_sync_is_sticky),
    FL_TEST(test_directory_lock),
    FL_TEST(test_alloc_failures),
    FL_TEST(test_wal_check_cli)
)
