/* SPDX-License-Identifier: MIT
 *
 * test_server.c -- the server's small pieces on their own: the WAL record
 * encoding, the bounded dedupe set, the publish buffer.
 */
#include "../../src/core/fl_config.h"

#include "harness.h"
#include "core/fl_error.h"
#include "core/fl_mem.h"
#include "server/buffer.h"
#include "server/dedupe.h"
#include "server/walrec.h"


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
    unsigned char hdr[FL_WALREC_HDR_SIZE], keybuf[24], flat[256];
    struct iovec iov[5];
    int n = fl_walrec_encode(&in, hdr, keybuf, iov);
    CHECK_EQ_INT(n, 5);
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
    /* Damage is refused, never read past. */
    for (size_t cut = 0; cut < FL_WALREC_HDR_SIZE + 21 + 19 + 24; cut++)
        CHECK_EQ_INT(fl_walrec_decode(flat, cut, &out), FL_ECORRUPT);
    flat[10] = 9;                     /* piece 9 of 4 */
    CHECK_EQ_INT(fl_walrec_decode(flat, len, &out), FL_ECORRUPT);
}


static void
test_dedupe_bounded(void)
{
    struct fl_dedupe *d = NULL;
    CHECK_EQ_INT(fl_dedupe_create(1000, &d), 0);
    for (uint64_t k = 1; k <= 1000; k++)
        fl_dedupe_add(d, k * 7919);
    CHECK_EQ_INT(fl_dedupe_size(d), 1000);
    for (uint64_t k = 1; k <= 1000; k++)
        CHECK(fl_dedupe_contains(d, k * 7919));
    /* Over capacity: the oldest keys go, the newest stay findable (the
     * backward-shift deletion keeps probe chains intact). */
    for (uint64_t k = 1001; k <= 3000; k++)
        fl_dedupe_add(d, k * 7919);
    CHECK_EQ_INT(fl_dedupe_size(d), 1000);
    for (uint64_t k = 1; k <= 2000; k++)
        CHECK(!fl_dedupe_contains(d, k * 7919));
    for (uint64_t k = 2001; k <= 3000; k++)
        CHECK(fl_dedupe_contains(d, k * 7919));
    fl_dedupe_add(d, 3000 * 7919);    /* present: no-op */
    uint64_t some[4] = { 2999 * 7919, 5, 3000 * 7919, 6 };
    unsigned char found[4];
    CHECK_EQ_INT(fl_dedupe_contains_many(d, some, 4, found), 2);
    CHECK(found[0] && !found[1] && found[2] && !found[3]);
    fl_dedupe_add_many(d, some, 4);
    CHECK_EQ_INT(fl_dedupe_contains_many(d, some, 4, found), 4);
    CHECK_EQ_INT(fl_dedupe_size(d), 1000);
    CHECK(fl_dedupe_key("abc", 3) == fl_dedupe_key("abc", 3));
    CHECK(fl_dedupe_key("abc", 3) != fl_dedupe_key("abd", 3));
    fl_dedupe_destroy(d);
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
    CHECK_EQ_INT(fl_buffer_block_create("1\n", 2, NULL, "s", 1, 10, &x), 0);
    CHECK_EQ_INT(fl_buffer_block_create("2\n3\n", 4, "${version}", "s", 2, 11, &y), 0);
    CHECK_EQ_INT(fl_buffer_block_create("4\n", 2, NULL, "s", 1, 12, &z), 0);
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


FL_TEST_MAIN(
    FL_TEST(test_walrec_round_trip),
    FL_TEST(test_dedupe_bounded),
    FL_TEST(test_buffer_lists)
)
