/* SPDX-License-Identifier: MIT
 *
 * test_tail_db.c -- the folder source's state file (src/ingest/tail_db.c):
 * round trip through the journal and its compacted form, deletions, the
 * last line wins, torn last lines ignored, and damaged files refused with
 * the line and reason -- never a crash; the governing header offsets of
 * version 2, and journals of version 1 still read.
 */
#include "../../src/core/fl_config.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "harness.h"
#include "core/fl_error.h"
#include "core/fl_mem.h"
#include "ingest/tail_db.h"

static struct fl_tail_entry
entry(uint64_t dev, uint64_t ino, uint64_t off, const char *path)
{
    struct fl_tail_entry e;
    memset(&e, 0, sizeof e);
    e.dev = dev;
    e.ino = ino;
    e.offset = off;
    e.fp_len = off < 1024 ? off : 1024;
    e.fp = UINT64_C(0xfedcba9876543210) ^ ino;
    e.path = (char *)(uintptr_t)path;
    return e;
}


/* Journal text: the header, then the given lines. */
static char *
journal_of(const struct fl_tail_entry *es, const int *deleted, size_t n,
           size_t *out_len)
{
    size_t cap = 64, len = 0;
    char *s = malloc(cap);
    CHECK(s != NULL);
    len = (size_t)snprintf(s, cap, "%s\n", FL_TAIL_DB_HEADER);
    for (size_t i = 0; i < n; i++) {
        char *line = NULL;
        size_t ll = 0;
        CHECK_EQ_INT(fl_tail_db_line(&es[i], deleted[i], &line, &ll), 0);
        s = realloc(s, len + ll + 1);
        CHECK(s != NULL);
        memcpy(s + len, line, ll);
        len += ll;
        s[len] = '\0';
        fl_free(line);
    }
    *out_len = len;
    return s;
}


static void
test_round_trip(void)
{
    struct fl_tail_entry es[5] = {
        entry(2049, 17, 300, "/var/log/flow/a.log"),
        entry(2049, 5, 0, "/w/with space\\and\nnewline.log"),
        entry(7, 99, 4096, "/w/b.log"),
        entry(2049, 17, 900, "/w/a-renamed.log"),  /* later line wins */
        entry(7, 99, 0, ""),                       /* deleted */
    };
    es[2].pend_end = 5000;
    es[2].pend_key = UINT64_C(0x0123456789abcdef);
    int del[5] = { 0, 0, 0, 0, 1 };
    size_t len;
    char *text = journal_of(es, del, 5, &len);

    struct fl_tail_db db;
    struct fl_tail_db_err err;
    memset(&db, 0, sizeof db);
    CHECK_EQ_INT(fl_tail_db_parse(text, len, &db, &err), 0);
    CHECK_EQ_INT(db.n, 2);
    CHECK_EQ_INT(db.lines, 5);
    CHECK_EQ_INT(db.torn, 0);
    /* Sorted by (dev, ino). */
    CHECK_EQ_INT(db.v[0].ino, 5);
    CHECK_EQ_STR(db.v[0].path, "/w/with space\\and\nnewline.log");
    struct fl_tail_entry *a = fl_tail_db_find(&db, 2049, 17);
    CHECK(a != NULL);
    CHECK_EQ_INT(a->offset, 900);
    CHECK_EQ_INT(a->fp_len, 900);
    CHECK(a->fp == (UINT64_C(0xfedcba9876543210) ^ 17));
    CHECK_EQ_STR(a->path, "/w/a-renamed.log");
    CHECK(fl_tail_db_find(&db, 7, 99) == NULL);
    CHECK(fl_tail_db_find(&db, 2049, 18) == NULL);

    /* The compacted form reads back to the same entries. */
    char *dump = NULL;
    size_t dl = 0;
    CHECK_EQ_INT(fl_tail_db_dump(&db, &dump, &dl), 0);
    struct fl_tail_db db2;
    memset(&db2, 0, sizeof db2);
    CHECK_EQ_INT(fl_tail_db_parse(dump, dl, &db2, &err), 0);
    CHECK_EQ_INT(db2.n, 2);
    CHECK_EQ_INT(db2.lines, 2);
    for (size_t i = 0; i < 2; i++) {
        CHECK_EQ_INT(db2.v[i].dev, db.v[i].dev);
        CHECK_EQ_INT(db2.v[i].ino, db.v[i].ino);
        CHECK_EQ_INT(db2.v[i].offset, db.v[i].offset);
        CHECK(db2.v[i].fp == db.v[i].fp);
        CHECK_EQ_STR(db2.v[i].path, db.v[i].path);
    }

    /* A pending piece survives the round trip. */
    struct fl_tail_entry p = entry(1, 1, 10, "/p.log");
    p.pend_end = 20;
    p.pend_key = UINT64_C(0xffffffffffffffff);
    p.hdr_off = 4;          /* a file that switched formats at byte 4 */
    p.pend_hdr = 12;        /* ... and again inside the pending piece */
    CHECK_EQ_INT(fl_tail_db_put(&db2, &p, NULL), 0);
    fl_free(dump);
    CHECK_EQ_INT(fl_tail_db_dump(&db2, &dump, &dl), 0);
    fl_tail_db_free(&db);
    memset(&db, 0, sizeof db);
    CHECK_EQ_INT(fl_tail_db_parse(dump, dl, &db, &err), 0);
    a = fl_tail_db_find(&db, 1, 1);
    CHECK(a != NULL && a->pend_end == 20
          && a->pend_key == UINT64_C(0xffffffffffffffff));
    CHECK_EQ_INT(a->hdr_off, 4);
    CHECK_EQ_INT(a->pend_hdr, 12);

    /* Empty input is an empty db. */
    fl_tail_db_free(&db2);
    CHECK_EQ_INT(fl_tail_db_parse("", 0, &db2, &err), 0);
    CHECK_EQ_INT(db2.n, 0);

    fl_tail_db_free(&db);
    fl_tail_db_free(&db2);
    fl_free(dump);
    free(text);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* A crash in the middle of an append leaves a last line cut short or with
 * a wrong checksum: ignored and counted, the lines before it kept. */
static void
test_torn_last_line(void)
{
    struct fl_tail_entry es[2] = { entry(1, 2, 100, "/a.log"),
                                   entry(1, 2, 200, "/a.log") };
    int del[2] = { 0, 0 };
    size_t len;
    char *text = journal_of(es, del, 2, &len);
    struct fl_tail_db_err err;
    for (size_t cut = len - 1; cut > len - 40; cut--) {
        struct fl_tail_db db;
        memset(&db, 0, sizeof db);
        CHECK_EQ_INT(fl_tail_db_parse(text, cut, &db, &err), 0);
        CHECK_EQ_INT(db.torn, 1);
        CHECK_EQ_INT(db.n, 1);
        CHECK_EQ_INT(db.v[0].offset, 100);
        fl_tail_db_free(&db);
    }
    /* A flipped byte in the last (complete) line: also a torn write. */
    text[len - 5] ^= 1;
    struct fl_tail_db db;
    memset(&db, 0, sizeof db);
    CHECK_EQ_INT(fl_tail_db_parse(text, len, &db, &err), 0);
    CHECK_EQ_INT(db.torn, 1);
    CHECK_EQ_INT(db.v[0].offset, 100);
    fl_tail_db_free(&db);
    free(text);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* Builds "header\n" (of version 1, or 2 with v2) + a line with a correct
 * checksum for body + "\n" + a valid trailing line, so the bad line is
 * not the last one. */
static int
parse_body_v(int v2, const char *body, struct fl_tail_db_err *err)
{
    char text[512];
    snprintf(text, sizeof text, "%s\n%08x %s\n%08x D 1 1\n",
             v2 ? FL_TAIL_DB_HEADER : FL_TAIL_DB_HEADER_V1,
             (unsigned)XXH32(body, strlen(body), 0), body,
             (unsigned)XXH32("D 1 1", 5, 0));
    struct fl_tail_db db;
    memset(&db, 0, sizeof db);
    int rc = fl_tail_db_parse(text, strlen(text), &db, err);
    fl_tail_db_free(&db);
    return rc;
}


static int
parse_body(const char *body, struct fl_tail_db_err *err)
{
    return parse_body_v(0, body, err);
}


static void
test_corrupt(void)
{
    struct fl_tail_db db;
    struct fl_tail_db_err err;
    memset(&db, 0, sizeof db);

    const char *wrong = "flowlake-tail 3\n";
    CHECK_EQ_INT(fl_tail_db_parse(wrong, strlen(wrong), &db, &err),
                 FL_ECORRUPT);
    CHECK_EQ_INT(err.line, 1);
    CHECK_EQ_STR(err.reason, "not a flowlake tail state file (expected"
                 " \"flowlake-tail 2\")");
    fl_tail_db_free(&db);
    CHECK_EQ_INT(fl_tail_db_parse("garbage", 7, &db, &err), FL_ECORRUPT);
    CHECK_EQ_INT(err.line, 1);
    fl_tail_db_free(&db);

    /* A bad checksum before the last line is damage, not a torn write. */
    const char *mid = "flowlake-tail 1\n00000000 D 1 2\n00000000 D 1 3\n";
    CHECK_EQ_INT(fl_tail_db_parse(mid, strlen(mid), &db, &err), FL_ECORRUPT);
    CHECK_EQ_INT(err.line, 2);
    CHECK_EQ_STR(err.reason, "checksum mismatch (the file is damaged)");
    fl_tail_db_free(&db);

    /* Well-checksummed lines that do not follow the format. */
    CHECK_EQ_INT(parse_body("X 1 2", &err), FL_ECORRUPT);
    CHECK_EQ_INT(err.line, 2);
    CHECK_EQ_STR(err.reason, "expected 'T ' or 'D ' after the checksum");
    CHECK_EQ_INT(parse_body("D 1", &err), FL_ECORRUPT);
    CHECK_EQ_STR(err.reason, "bad device or inode number");
    CHECK_EQ_INT(parse_body("D 1 2 3", &err), FL_ECORRUPT);
    CHECK_EQ_STR(err.reason, "unexpected text after a D line's inode");
    CHECK_EQ_INT(parse_body("D 99999999999999999999 2", &err), FL_ECORRUPT);
    CHECK_EQ_STR(err.reason, "bad device or inode number");
    CHECK_EQ_INT(parse_body("T 1 2 3 00000000000000zz 4 0 0000000000000000"
                            " /a", &err), FL_ECORRUPT);
    CHECK_EQ_STR(err.reason, "bad fingerprint, offset or pending piece"
                 " field");
    CHECK_EQ_INT(parse_body("T 1 2 30 0000000000000000 4 0 0000000000000000"
                            " /a", &err), FL_ECORRUPT);
    CHECK_EQ_STR(err.reason, "fingerprint past the offset, or a pending"
                 " piece that ends before it starts");
    CHECK_EQ_INT(parse_body("T 1 2 3 0000000000000000 4 4 0000000000000000"
                            " /a", &err), FL_ECORRUPT);
    CHECK_EQ_INT(parse_body("T 1 2 3 0000000000000000 4 0 0000000000000000"
                            " /a\\x", &err), FL_ECORRUPT);
    CHECK_EQ_STR(err.reason, "bad escape in the path");
    CHECK_EQ_INT(parse_body("T 1 2 3 0000000000000000 4 0 0000000000000000"
                            " /a\\", &err), FL_ECORRUPT);
    /* And a good one, for contrast. */
    CHECK_EQ_INT(parse_body("T 1 2 3 0000000000000000 4 0 0000000000000000"
                            " /a\\nb", &err), 0);
    /* Version 2: the header offsets, which stay within what they govern. */
    CHECK_EQ_INT(parse_body_v(1, "T 1 2 3 0000000000000000 40 50"
                              " 0000000000000000 10 45 /a", &err), 0);
    CHECK_EQ_INT(parse_body_v(1, "T 1 2 3 0000000000000000 40 0"
                              " 0000000000000000 10 /a", &err), FL_ECORRUPT);
    CHECK_EQ_STR(err.reason, "bad header offset field");
    CHECK_EQ_INT(parse_body_v(1, "T 1 2 3 0000000000000000 40 0"
                              " 0000000000000000 41 0 /a", &err),
                 FL_ECORRUPT);
    CHECK_EQ_STR(err.reason, "header offset past the offset it governs");
    CHECK_EQ_INT(parse_body_v(1, "T 1 2 3 0000000000000000 40 50"
                              " 0000000000000000 10 50 /a", &err),
                 FL_ECORRUPT);
    CHECK_EQ_STR(err.reason, "header offset past the offset it governs");
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* Out of memory anywhere: -ENOMEM, nothing leaked. */
static void
test_alloc_failures(void)
{
    struct fl_tail_entry es[3] = { entry(1, 2, 100, "/a.log"),
                                   entry(1, 3, 100, "/b.log"),
                                   entry(1, 4, 100, "/c.log") };
    int del[3] = { 0, 0, 0 };
    size_t len;
    char *text = journal_of(es, del, 3, &len);
    for (uint64_t nth = 1; nth < 40; nth++) {
        struct fl_tail_db db;
        struct fl_tail_db_err err;
        memset(&db, 0, sizeof db);
        fl_mem_fail_after(nth);
        int rc = fl_tail_db_parse(text, len, &db, &err);
        char *dump = NULL;
        size_t dl = 0;
        if (rc == 0)
            rc = fl_tail_db_dump(&db, &dump, &dl);
        fl_mem_fail_after(0);
        CHECK(rc == 0 || rc == FL_ENOMEM);
        fl_free(dump);
        fl_tail_db_free(&db);
        CHECK_EQ_INT(fl_mem_used(), 0);
    }
    free(text);
}


FL_TEST_MAIN(
    FL_TEST(test_round_trip),
    FL_TEST(test_torn_last_line),
    FL_TEST(test_corrupt),
    FL_TEST(test_alloc_failures)
)
