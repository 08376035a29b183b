/* SPDX-License-Identifier: MIT
 *
 * test_shm.c -- the shared text segments the server's buffer keeps its
 * lines in (src/core/fl_shm.h): pieces share a segment until it is full,
 * a large piece gets its own, a reader's descriptor cannot write, a
 * segment nobody holds is filled again from its start with its old bytes
 * gone, and every segment lives exactly as long as its last hold.
 */
#include "../../src/core/fl_config.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../src/core/fl_mem.h"
#include "../../src/core/fl_shm.h"
#include "harness.h"

#define SEG 4096


/* Reads n bytes at off of seg through its reader's descriptor. */
static void
read_back(const struct fl_shm_seg *seg, size_t off, char *out, size_t n)
{
    CHECK_EQ_INT(pread(fl_shm_seg_fd(seg), out, n, (off_t)off), (long)n);
}


static void
test_pieces_share_a_segment(void)
{
    struct fl_shm_arena *a = NULL;
    struct fl_shm_seg *s1 = NULL, *s2 = NULL, *s3 = NULL;
    size_t o1, o2, o3;
    char *p1, *p2, *p3, got[8];
    CHECK_EQ_INT(fl_shm_arena_create(SEG, &a), 0);
    CHECK_EQ_INT(fl_shm_copy(a, "abc", 3, &s1, &o1, &p1), 0);
    CHECK_EQ_INT(fl_shm_copy(a, "de\n", 3, &s2, &o2, &p2), 0);
    CHECK_EQ_INT(fl_shm_copy(a, "", 0, &s3, &o3, &p3), 0);
    CHECK(s1 == s2 && s2 == s3);
    CHECK_EQ_INT(o1, 0);
    CHECK_EQ_INT(o2, 3);
    CHECK_EQ_INT(o3, 6);
    CHECK_EQ_MEM(p2, 3, "de\n");
    read_back(s1, 0, got, 6);
    CHECK_EQ_MEM(got, 6, "abcde\n");
    fl_shm_seg_release(s1);
    fl_shm_seg_release(s2);
    fl_shm_seg_release(s3);
    fl_shm_arena_destroy(a);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* What a query worker is given cannot change the server's text. */
static void
test_reader_cannot_write(void)
{
    struct fl_shm_arena *a = NULL;
    struct fl_shm_seg *s = NULL;
    size_t off;
    char *p;
    CHECK_EQ_INT(fl_shm_arena_create(SEG, &a), 0);
    CHECK_EQ_INT(fl_shm_copy(a, "keep", 4, &s, &off, &p), 0);
    int fd = fl_shm_seg_fd(s);
    CHECK(write(fd, "XXXX", 4) < 0 && errno == EBADF);
    CHECK(pwrite(fd, "XXXX", 4, 0) < 0 && errno == EBADF);
    CHECK(mmap(NULL, SEG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
          == MAP_FAILED && errno == EACCES);
    void *m = mmap(NULL, SEG, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(m != MAP_FAILED);
    CHECK(mprotect(m, SEG, PROT_READ | PROT_WRITE) != 0 && errno == EACCES);
    CHECK_EQ_MEM((const char *)m, 4, "keep");
    munmap(m, SEG);
    fl_shm_seg_release(s);
    fl_shm_arena_destroy(a);
}


static void
test_full_and_large(void)
{
    static char big[SEG * 2 + 10], fill[SEG - 10];
    struct fl_shm_arena *a = NULL;
    struct fl_shm_seg *s1 = NULL, *s2 = NULL, *s3 = NULL;
    size_t o1, o2, o3;
    char *p1, *p2, *p3;
    memset(big, 'b', sizeof big);
    memset(fill, 'f', sizeof fill);
    CHECK_EQ_INT(fl_shm_arena_create(SEG, &a), 0);
    CHECK_EQ_INT(fl_shm_copy(a, fill, sizeof fill, &s1, &o1, &p1), 0);
    /* Larger than a segment: one of its own, the one being filled stays. */
    CHECK_EQ_INT(fl_shm_copy(a, big, sizeof big, &s2, &o2, &p2), 0);
    CHECK(s2 != s1);
    CHECK_EQ_INT(o2, 0);
    CHECK(memcmp(p2, big, sizeof big) == 0);
    /* 11 bytes do not fit in the 10 left: a new segment. */
    CHECK_EQ_INT(fl_shm_copy(a, "0123456789\n", 11, &s3, &o3, &p3), 0);
    CHECK(s3 != s1 && s3 != s2);
    CHECK_EQ_INT(o3, 0);
    /* Each lives until its own last hold, the arena's included. */
    size_t with_all = fl_mem_used();
    fl_shm_seg_release(s1);
    CHECK(fl_mem_used() < with_all);            /* full: freed now */
    size_t now = fl_mem_used();
    fl_shm_seg_release(s3);
    CHECK_EQ_INT(fl_mem_used(), now);           /* the arena holds it */
    fl_shm_arena_destroy(a);
    CHECK(fl_mem_used() < now);
    CHECK(memcmp(p2, big, sizeof big) == 0);    /* a piece outlives it */
    fl_shm_seg_release(s2);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* The segment being filled is filled again from its start once nobody
 * holds a piece of it, its old bytes given back (read as zeros); while
 * one piece is held, nothing is overwritten. */
static void
test_reuse_when_unheld(void)
{
    struct fl_shm_arena *a = NULL;
    struct fl_shm_seg *s1 = NULL, *s2 = NULL, *s3 = NULL, *s4 = NULL;
    size_t o1, o2, o3, o4;
    char *p1, *p2, *p3, *p4, got[4];
    CHECK_EQ_INT(fl_shm_arena_create(SEG, &a), 0);
    CHECK_EQ_INT(fl_shm_copy(a, "old1", 4, &s1, &o1, &p1), 0);
    CHECK_EQ_INT(fl_shm_copy(a, "old2", 4, &s2, &o2, &p2), 0);
    fl_shm_seg_release(s1);
    CHECK_EQ_INT(fl_shm_copy(a, "new3", 4, &s3, &o3, &p3), 0);
    CHECK_EQ_INT(o3, 8);                        /* old2 still held */
    CHECK_EQ_MEM(p2, 4, "old2");
    fl_shm_seg_release(s2);
    fl_shm_seg_release(s3);
    CHECK_EQ_INT(fl_shm_copy(a, "n4", 2, &s4, &o4, &p4), 0);
    CHECK(s4 == s1);
    CHECK_EQ_INT(o4, 0);
    read_back(s4, 0, got, 4);
    CHECK(memcmp(got, "n4\0\0", 4) == 0);
    read_back(s4, 8, got, 4);
    CHECK(memcmp(got, "\0\0\0\0", 4) == 0);
    fl_shm_seg_release(s4);
    fl_shm_arena_destroy(a);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_alloc_failures(void)
{
    int done = 0;
    for (uint64_t nth = 1; nth < 10 && !done; nth++) {
        struct fl_shm_arena *a = NULL;
        struct fl_shm_seg *s = NULL;
        size_t off;
        char *p;
        fl_mem_fail_after(nth);
        int rc = fl_shm_arena_create(SEG, &a);
        if (rc == 0) {
            rc = fl_shm_copy(a, "x", 1, &s, &off, &p);
            CHECK(rc == 0 || s == NULL);
        }
        fl_mem_fail_after(0);
        if (rc == 0) {
            CHECK_EQ_INT(nth, 3);               /* arena, segment */
            fl_shm_seg_release(s);
            done = 1;
        }
        fl_shm_arena_destroy(a);
        CHECK_EQ_INT(fl_mem_used(), 0);
    }
    CHECK(done);
}


FL_TEST_MAIN(
    FL_TEST(test_pieces_share_a_segment),
    FL_TEST(test_reader_cannot_write),
    FL_TEST(test_full_and_large),
    FL_TEST(test_reuse_when_unheld),
    FL_TEST(test_alloc_failures)
)
