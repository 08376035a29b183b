/* SPDX-License-Identifier: MIT
 *
 * test_server.c -- the server's small pieces on their own: the WAL record
 * encoding (version 3 with provenance, and versions 2 and 1 as older
 * servers wrote them), the
 * publish buffer and its blocks' reference counts. (The dedupe set has
 * test_dedupe.c.)
 */
#include "../../src/core/fl_config.h"

#include "harness.h"
#include "core/fl_error.h"
#include "core/fl_mem.h"
#include "pipeline/buffer.h"
#include "pipeline/walrec.h"


static void
test_walrec_round_trip(void)
{
    uint64_t keys[3] = { 1, UINT64_MAX, 0x0123456789abcdefu };
    struct fl_walrec in = {
        .source_kind = 2, .format = "${version} ${srcaddr}", .format_len = 21,
        .source = "firehose request r1", .source_len = 19, .records = 3,
        .key_list = keys, .n_keys = 3, .piece = 1, .pieces = 4,
        .text = "a\nb\nc\n", .text_len = 6,
    };
    in.prov.v[FL_PROV_LOG_GROUP] = "/vpc/flow";
    in.prov.v[FL_PROV_ACCOUNT] = "123456789012";
    CHECK_EQ_INT(fl_walrec_prov_size(&in), 3 + 10 + 3 + 13);
    unsigned char hdr[FL_WALREC_HDR_SIZE], keybuf[24], provbuf[29];
    unsigned char flat[256];
    struct iovec iov[6];
    int n = fl_walrec_encode(&in, hdr, keybuf, provbuf, iov);
    CHECK_EQ_INT(n, 6);
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        memcpy(flat + len, iov[i].iov_base, iov[i].iov_len);
        len += iov[i].iov_len;
    }
    struct fl_walrec out;
    CHECK_EQ_INT(fl_walrec_decode(flat, len, &out), 0);
    CHECK_EQ_INT(out.source_kind, 2);
    CHECK_EQ_MEM(out.format, out.format_len, "${version} ${srcaddr}");
    CHECK_EQ_MEM(out.source, out.source_len, "firehose request r1");
    CHECK_EQ_INT(out.records, 3);
    CHECK_EQ_INT(out.n_keys, 3);
    CHECK(fl_walrec_key(&out, 1) == UINT64_MAX);
    CHECK(fl_walrec_key(&out, 2) == 0x0123456789abcdefu);
    CHECK_EQ_INT(out.piece, 1);
    CHECK_EQ_INT(out.pieces, 4);
    CHECK_EQ_MEM(out.text, out.text_len, "a\nb\nc\n");
    for (size_t k = 0; k < FL_PROV_N; k++) {
        if (k == FL_PROV_LOG_GROUP)
            CHECK_EQ_STR(out.prov.v[k], "/vpc/flow");
        else if (k == FL_PROV_ACCOUNT)
            CHECK_EQ_STR(out.prov.v[k], "123456789012");
        else
            CHECK(out.prov.v[k] == NULL);
    }
    /* Damage is refused, never read past. */
    for (size_t cut = 0; cut < FL_WALREC_HDR_SIZE + 21 + 19 + 29 + 24; cut++)
        CHECK_EQ_INT(fl_walrec_decode(flat, cut, &out), FL_ECORRUPT);
    /* Provenance entries: a value without its NUL, with a NUL inside,
     * longer than the section, or of length 0 is damage; an unknown tag
     * is skipped. */
    size_t po = FL_WALREC_HDR_SIZE + 21 + 19;
    unsigned char copy[256];
    memcpy(copy, flat, len);
    copy[po + 3 + 9] = 'x';                    /* "/vpc/flow" loses NUL */
    CHECK_EQ_INT(fl_walrec_decode(copy, len, &out), FL_ECORRUPT);
    memcpy(copy, flat, len);
    copy[po + 3 + 4] = '\0';                   /* "/vpc\0flow\0" */
    CHECK_EQ_INT(fl_walrec_decode(copy, len, &out), FL_ECORRUPT);
    memcpy(copy, flat, len);
    copy[po + 1] = 30;                         /* past the section */
    CHECK_EQ_INT(fl_walrec_decode(copy, len, &out), FL_ECORRUPT);
    memcpy(copy, flat, len);
    copy[po + 1] = 0;                          /* length 0 */
    CHECK_EQ_INT(fl_walrec_decode(copy, len, &out), FL_ECORRUPT);
    memcpy(copy, flat, len);
    copy[po] = 200;                            /* a later version's tag */
    CHECK_EQ_INT(fl_walrec_decode(copy, len, &out), 0);
    CHECK(out.prov.v[FL_PROV_LOG_GROUP] == NULL);
    CHECK_EQ_STR(out.prov.v[FL_PROV_ACCOUNT], "123456789012");
    CHECK_EQ_MEM(out.text, out.text_len, "a\nb\nc\n");
    flat[10] = 9;                     /* piece 9 of 4 */
    CHECK_EQ_INT(fl_walrec_decode(flat, len, &out), FL_ECORRUPT);
}


/* A version-2 record (36-byte header, no provenance), as the server
 * before provenance wrote it, byte by byte: still read, no provenance. */
static void
test_walrec_version2(void)
{
    unsigned char p[128];
    memset(p, 0, sizeof p);
    p[0] = 2;                                  /* version */
    p[4] = 1;                                  /* source kind */
    p[8] = 3;                                  /* source length */
    p[20] = 1;                                 /* 1 key */
    p[24] = 1;                                 /* 1 piece */
    p[12] = 2;                                 /* 2 records */
    p[28] = 0x7b;                              /* arrival 123 */
    memcpy(p + 36, "cwl", 3);
    p[39] = 0x11;                              /* key 0x11 */
    memcpy(p + 47, "l1\nl2\n", 6);
    struct fl_walrec out;
    CHECK_EQ_INT(fl_walrec_decode(p, 53, &out), 0);
    CHECK_EQ_INT(out.source_kind, 1);
    CHECK_EQ_MEM(out.source, out.source_len, "cwl");
    CHECK_EQ_INT(out.records, 2);
    CHECK_EQ_INT(out.arrival_ms, 123);
    CHECK_EQ_INT(out.n_keys, 1);
    CHECK_EQ_INT(fl_walrec_key(&out, 0), 0x11);
    CHECK_EQ_MEM(out.text, out.text_len, "l1\nl2\n");
    for (size_t k = 0; k < FL_PROV_N; k++)
        CHECK(out.prov.v[k] == NULL);
}


static void
put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}


/* A version-1 record (28-byte header, no arrival time), as a server
 * before version 2 wrote it, byte by byte. */
static size_t
v1_payload(unsigned char *p)
{
    memset(p, 0, 28);
    put_le(p + 0, 1, 4);                       /* version */
    put_le(p + 4, 3, 2);                       /* source kind */
    put_le(p + 6, 4, 2);                       /* format length */
    put_le(p + 8, 5, 2);                       /* source length */
    put_le(p + 10, 1, 2);                      /* piece */
    put_le(p + 12, 0x0102030405060708u, 8);    /* records */
    put_le(p + 20, 2, 4);                      /* keys */
    put_le(p + 24, 2, 4);                      /* pieces */
    memcpy(p + 28, "${x}", 4);
    memcpy(p + 32, "src 1", 5);
    put_le(p + 37, 0xfedcba9876543210u, 8);
    put_le(p + 45, 42, 8);
    memcpy(p + 53, "line1\nline2\n", 12);
    return 65;
}


static void
test_walrec_version1(void)
{
    unsigned char p[128];
    size_t len = v1_payload(p);
    struct fl_walrec out;
    memset(&out, 0x5a, sizeof out);
    CHECK_EQ_INT(fl_walrec_decode(p, len, &out), 0);
    CHECK_EQ_INT(out.source_kind, 3);
    CHECK(out.format == (const char *)p + 28);
    CHECK_EQ_MEM(out.format, out.format_len, "${x}");
    CHECK(out.source == (const char *)p + 32);
    CHECK_EQ_MEM(out.source, out.source_len, "src 1");
    CHECK(out.records == 0x0102030405060708u);
    CHECK_EQ_INT(out.n_keys, 2);
    CHECK(out.keys == p + 37);
    CHECK(fl_walrec_key(&out, 0) == 0xfedcba9876543210u);
    CHECK_EQ_INT(fl_walrec_key(&out, 1), 42);
    CHECK_EQ_INT(out.piece, 1);
    CHECK_EQ_INT(out.pieces, 2);
    CHECK_EQ_INT(out.arrival_ms, 0);           /* unknown */
    CHECK_EQ_MEM(out.text, out.text_len, "line1\nline2\n");

    /* The smallest version-1 record: a header and nothing else. */
    unsigned char h[28];
    memcpy(h, p, 28);
    put_le(h + 6, 0, 2);
    put_le(h + 8, 0, 2);
    put_le(h + 20, 0, 4);
    CHECK_EQ_INT(fl_walrec_decode(h, 28, &out), 0);
    CHECK(out.format == NULL);
    CHECK_EQ_INT(out.format_len, 0);
    CHECK_EQ_INT(out.source_len, 0);
    CHECK_EQ_INT(out.n_keys, 0);
    CHECK_EQ_INT(out.text_len, 0);
    CHECK_EQ_INT(out.arrival_ms, 0);

    /* Truncated anywhere before the text: refused. */
    for (size_t cut = 0; cut < 53; cut++)
        CHECK_EQ_INT(fl_walrec_decode(p, cut, &out), FL_ECORRUPT);
    /* Truncated in the text: a shorter text (the WAL frame's checksum,
     * not the record, guards the length). */
    CHECK_EQ_INT(fl_walrec_decode(p, 59, &out), 0);
    CHECK_EQ_MEM(out.text, out.text_len, "line1\n");
}


static void
test_walrec_arrival_and_versions(void)
{
    static const uint64_t arrivals[] = { 0, 1767225600123u, UINT64_MAX };
    for (size_t i = 0; i < 3; i++) {
        struct fl_walrec in = {
            .source_kind = 1, .source = "s", .source_len = 1, .records = 1,
            .piece = 0, .pieces = 1, .arrival_ms = arrivals[i],
            .text = "t\n", .text_len = 2,
        };
        unsigned char hdr[FL_WALREC_HDR_SIZE], flat[64];
        struct iovec iov[6];
        CHECK_EQ_INT(fl_walrec_encode(&in, hdr, NULL, NULL, iov), 6);
        size_t len = 0;
        for (int k = 0; k < 6; k++) {
            if (iov[k].iov_len > 0)
                memcpy(flat + len, iov[k].iov_base, iov[k].iov_len);
            len += iov[k].iov_len;
        }
        CHECK_EQ_INT(len, FL_WALREC_HDR_SIZE + 1 + 2);
        /* Version 3, arrival little-endian at offset 28. */
        static const unsigned char v3[4] = { 3, 0, 0, 0 };
        CHECK(memcmp(flat, v3, 4) == 0);
        for (int b = 0; b < 8; b++)
            CHECK_EQ_INT(flat[28 + b], (arrivals[i] >> (8 * b)) & 0xff);
        struct fl_walrec out;
        CHECK_EQ_INT(fl_walrec_decode(flat, len, &out), 0);
        CHECK(out.arrival_ms == arrivals[i]);
        CHECK(out.format == NULL);
        CHECK_EQ_MEM(out.source, out.source_len, "s");
        CHECK_EQ_INT(out.n_keys, 0);
        CHECK_EQ_MEM(out.text, out.text_len, "t\n");
        /* A version-3 header cut anywhere (also in the arrival field,
         * where a version-1 header would already be whole). */
        for (size_t cut = 0; cut < FL_WALREC_HDR_SIZE + 1; cut++)
            CHECK_EQ_INT(fl_walrec_decode(flat, cut, &out), FL_ECORRUPT);
        /* Other versions. */
        static const uint32_t bad_versions[] = {
            0, 4, 255, 0x101, 0x10003, 0x1000003, UINT32_MAX
        };
        for (size_t v = 0; v < sizeof bad_versions / sizeof bad_versions[0];
             v++) {
            unsigned char copy[64];
            memcpy(copy, flat, len);
            put_le(copy, bad_versions[v], 4);
            CHECK_EQ_INT(fl_walrec_decode(copy, len, &out), FL_ECORRUPT);
        }
    }
    /* A version-1 record that claims more than it holds. */
    unsigned char p[128];
    size_t len = v1_payload(p);
    put_le(p + 20, 7, 4);                       /* 7 keys: 56 bytes */
    struct fl_walrec out;
    CHECK_EQ_INT(fl_walrec_decode(p, len, &out), FL_ECORRUPT);
    put_le(p + 20, 2, 4);
    put_le(p + 24, 1, 4);                       /* piece 1 of 1 */
    CHECK_EQ_INT(fl_walrec_decode(p, len, &out), FL_ECORRUPT);
    put_le(p + 24, 0, 4);                       /* of 0 */
    CHECK_EQ_INT(fl_walrec_decode(p, len, &out), FL_ECORRUPT);
    put_le(p, 4, 4);                            /* version 4 */
    put_le(p + 24, 2, 4);
    CHECK_EQ_INT(fl_walrec_decode(p, len, &out), FL_ECORRUPT);
}


/* The metrics queue holds a block the buffer has already published and
 * freed: it lives until the last release (ASan: no use after free, no
 * leak). */
static void
test_buffer_block_refs(void)
{
    struct fl_buffer_block *x = NULL, *y = NULL;
    struct fl_buffer *b = NULL;
    CHECK_EQ_INT(fl_buffer_create(1 << 20, 60, &b), 0);
    CHECK_EQ_INT(fl_buffer_block_create(b, "1\n", 2, "${version}", "src x", 1,
                                        10, &x), 0);
    CHECK_EQ_INT(fl_buffer_block_create(b, "2\n", 2, NULL, "src y", 1, 11,
                                        &y), 0);
    CHECK_EQ_INT(x->refs, 1);
    size_t one_block = 0;
    x->next = y;
    fl_buffer_block_hold(x);
    CHECK_EQ_INT(x->refs, 2);
    size_t before = fl_mem_used();
    fl_buffer_block_free_list(x);           /* frees y, x stays */
    one_block = before - fl_mem_used();
    CHECK(one_block > 0);
    CHECK_EQ_INT(x->refs, 1);
    CHECK_EQ_MEM(x->text, x->len, "1\n");
    CHECK_EQ_STR(x->format, "${version}");
    CHECK_EQ_STR(x->source, "src x");
    CHECK_EQ_INT(x->wal_seq, 10);
    x->next = NULL;
    fl_buffer_block_release(x);

    /* Held twice more, through a buffer: destroy drops the buffer's
     * hold only, and the text outlives the buffer's arena. */
    CHECK_EQ_INT(fl_buffer_block_create(b, "3\n4\n", 4, NULL, "s", 2, 12,
                                        &x), 0);
    fl_buffer_block_hold(x);
    fl_buffer_block_hold(x);
    fl_buffer_add(b, x);
    fl_buffer_destroy(b);
    CHECK_EQ_INT(x->refs, 2);
    CHECK_EQ_MEM(x->text, x->len, "3\n4\n");
    fl_buffer_block_release(x);
    CHECK_EQ_INT(x->refs, 1);
    CHECK(fl_mem_used() > 0);
    fl_buffer_block_release(x);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_buffer_block_create_alloc_failures(void)
{
    int done = 0;
    struct fl_buffer *b = NULL;
    CHECK_EQ_INT(fl_buffer_create(1 << 20, 60, &b), 0);
    for (uint64_t nth = 1; nth < 20 && !done; nth++) {
        struct fl_buffer_block *x = (struct fl_buffer_block *)&done;
        fl_mem_fail_after(nth);
        int rc = fl_buffer_block_create(b, "1\n", 2, "${version}", "s", 1, 1,
                                        &x);
        fl_mem_fail_after(0);
        if (rc == 0) {
            /* block, format, source, the first segment, and the format
             * parsed to find the hours (which may fail: then unknown) */
            CHECK(nth >= 5);
            fl_buffer_block_free_list(x);
            done = 1;
        } else {
            CHECK_EQ_INT(rc, FL_ENOMEM);
            CHECK(x == (struct fl_buffer_block *)&done);    /* untouched */
        }
    }
    CHECK(done);
    fl_buffer_destroy(b);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_buffer_lists(void)
{
    struct fl_buffer *b = NULL;
    struct fl_buffer_block *x = NULL, *y = NULL, *z = NULL;
    size_t bytes;
    uint64_t records;
    CHECK_EQ_INT(fl_buffer_create(1 << 20, 60, &b), 0);
    CHECK_EQ_INT(fl_buffer_block_create(b, "1\n", 2, NULL, "s", 1, 10, &x), 0);
    CHECK_EQ_INT(fl_buffer_block_create(b, "2\n3\n", 4, "${version}", "s", 2,
                                        11, &y), 0);
    CHECK_EQ_INT(fl_buffer_block_create(b, "4\n", 2, NULL, "s", 1, 12, &z), 0);
    fl_buffer_add(b, x);
    y->next = z;
    fl_buffer_add_list(b, y);
    fl_buffer_stats(b, &bytes, &records);
    CHECK_EQ_INT(bytes, 8);
    CHECK_EQ_INT(records, 4);
    struct fl_buffer_block *list = fl_buffer_take(b);
    CHECK(list == x && x->next == y && y->next == z && z->next == NULL);
    fl_buffer_stats(b, &bytes, &records);
    CHECK_EQ_INT(records, 0);
    CHECK(fl_buffer_take(b) == NULL);
    fl_buffer_put_back(b, list);
    fl_buffer_stats(b, &bytes, &records);
    CHECK_EQ_INT(records, 4);
    fl_buffer_wake(b);
    fl_buffer_wait_due(b);            /* woken: returns at once */
    fl_buffer_block_free_list(fl_buffer_take(b));
    fl_buffer_destroy(b);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* A block's provenance: copied, read back, replaced, freed with it. */
static void
test_buffer_block_provenance(void)
{
    struct fl_buffer_block *x = NULL;
    struct fl_buffer *b = NULL;
    struct fl_provenance p = { { NULL } }, got;
    struct fl_archive_block ab;
    char group[] = "/vpc/a";
    p.v[FL_PROV_LOG_GROUP] = group;
    p.v[FL_PROV_REGION] = "eu-west-1";
    CHECK_EQ_INT(fl_buffer_create(1 << 20, 60, &b), 0);
    CHECK_EQ_INT(fl_buffer_block_create(b, "1\n", 2, NULL, "s", 1, 1, &x), 0);
    CHECK_EQ_INT(fl_buffer_block_set_provenance(x, &p), 0);
    group[1] = 'X';                            /* a copy was taken */
    fl_buffer_block_archive(x, &got, &ab);
    CHECK(ab.prov == &got);
    CHECK_EQ_MEM(ab.text, ab.len, "1\n");
    CHECK_EQ_STR(ab.source, "s");
    CHECK_EQ_STR(got.v[FL_PROV_LOG_GROUP], "/vpc/a");
    CHECK_EQ_STR(got.v[FL_PROV_REGION], "eu-west-1");
    CHECK(got.v[FL_PROV_SOURCE_FILE] == NULL);
    CHECK_EQ_INT(fl_buffer_block_set_provenance(x, NULL), 0);
    fl_buffer_block_archive(x, &got, &ab);
    for (size_t k = 0; k < FL_PROV_N; k++)
        CHECK(got.v[k] == NULL);
    CHECK_EQ_INT(fl_buffer_block_set_provenance(x, &p), 0);
    fl_buffer_block_free_list(x);
    fl_buffer_destroy(b);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* A block's hours are found when it is made, from its lines' start field
 * in its own format; a line whose start is not plain digits makes them
 * unknown (the block is then always read by a query). */
static void
test_buffer_block_hours(void)
{
    static const struct {
        const char *text, *format;
        int known;
        int64_t lo, hi;
    } cases[] = {
        /* default format: start is the 11th field; 3600 s = hour 1 */
        { "2 1 eni-a 10.0.0.1 10.0.0.2 1 2 6 1 1 3600 3660 ACCEPT OK\n"
          "2 1 eni-a 10.0.0.1 10.0.0.2 1 2 6 1 1 10799 10860 ACCEPT OK\n"
          "\n"
          "2 1 eni-a 10.0.0.1 10.0.0.2 1 2 6 1 1 7200 7260 ACCEPT OK\r\n",
          NULL, 1, 1, 2 },
        { "start version\n7201 5\n", NULL, 1, 2, 2 },   /* S3 header */
        { "9 7200\n9 3599\n", "${version} ${start}", 1, 0, 2 },
        { "2 1 eni-a 10.0.0.1 10.0.0.2 1 2 6 1 1 - - NODATA NODATA\n",
          NULL, 0, 0, 0 },
        { "5\n", "${version}", 0, 0, 0 },        /* no start field */
        { "", "${start}", 0, 0, 0 },             /* no record */
        { "12x\n", "${start}", 0, 0, 0 },
    };
    struct fl_buffer *b = NULL;
    CHECK_EQ_INT(fl_buffer_create(1 << 20, 60, &b), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fl_buffer_block *x = NULL;
        CHECK_EQ_INT(fl_buffer_block_create(b, cases[i].text,
                                            strlen(cases[i].text),
                                            cases[i].format, "s", 1, 1, &x),
                     0);
        CHECK_EQ_MEM(x->text, x->len, cases[i].text);
        if (x->hours_known != cases[i].known)
            fprintf(stderr, "  case %zu\n", i);
        CHECK_EQ_INT(x->hours_known, cases[i].known);
        if (cases[i].known) {
            CHECK_EQ_INT(x->hour_lo, cases[i].lo);
            CHECK_EQ_INT(x->hour_hi, cases[i].hi);
        }
        fl_buffer_block_free_list(x);
    }
    fl_buffer_destroy(b);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


FL_TEST_MAIN(
    FL_TEST(test_walrec_round_trip),
    FL_TEST(test_walrec_version1),
    FL_TEST(test_walrec_version2),
    FL_TEST(test_buffer_block_provenance),
    FL_TEST(test_walrec_arrival_and_versions),
    FL_TEST(test_buffer_lists),
    FL_TEST(test_buffer_block_refs),
    FL_TEST(test_buffer_block_create_alloc_failures),
    FL_TEST(test_buffer_block_hours)
)
