/* SPDX-License-Identifier: MIT
 *
 * test_gather.c -- a delivery gathered for the pipeline (src/sources/
 * gather.h): the claim drops exactly the text of the pieces already taken
 * -- a one-line CloudWatch Logs event, a Kafka message of several lines --
 * keeps text lines without a key, moves the kept keys' spans and the
 * provenance runs with their text, and a truncation forgets an
 * undecodable record; claims end committed or aborted. Every byte freed.
 */
#include "../../src/core/fl_config.h"

#include <string.h>

#include "harness.h"
#include "core/fl_error.h"
#include "core/fl_mem.h"
#include "pipeline/dedupe.h"
#include "sources/gather.h"


static uint64_t
key(const char *s)
{
    return fl_dedupe_source_key(FL_DEDUPE_KAFKA, s, strlen(s));
}


/* A CloudWatch Logs line of group/stream with event id. */
static int
cwl_line(struct fl_gather *g, const char *text, const char *group,
         const char *id)
{
    struct fl_cwl_meta meta = { .owner = "123456789012", .log_group = group,
                                .log_stream = "s" };
    struct fl_ingest_line line = { .p = text, .len = strlen(text),
                                   .id = id, .cwl = &meta };
    return fl_gather_on_line(g, &line);
}


static void
test_claim_drops_taken_pieces(void)
{
    size_t base = fl_mem_used();
    struct fl_dedupe *d;
    struct fl_gather g;
    CHECK_EQ_INT(fl_dedupe_create(1000, 0, &d), 0);

    /* Taken before: message m2 and event e2. */
    uint64_t old[2] = { key("t/0@2"),
                        fl_dedupe_source_key(FL_DEDUPE_CWL, "e2", 2) };
    unsigned char taken[2];
    CHECK_EQ_INT(fl_dedupe_claim(d, old, 2, 0, taken), 0);
    fl_dedupe_commit(d, old, 2);

    fl_gather_init(&g, d, 0);
    size_t s = g.text.len;                   /* message 1: two lines */
    CHECK_EQ_INT(fl_gather_add_text(&g, "a1\na2", 5), 0);
    CHECK_EQ_INT(fl_gather_add_key(&g, key("t/0@1"), s), 0);
    s = g.text.len;                          /* message 2 (taken) */
    CHECK_EQ_INT(fl_gather_add_text(&g, "b1\nb2\n", 6), 0);
    CHECK_EQ_INT(fl_gather_add_key(&g, key("t/0@2"), s), 0);
    CHECK_EQ_INT(fl_gather_add_text(&g, "plain", 5), 0);   /* no key */
    CHECK_EQ_INT(cwl_line(&g, "e-one", "G1", "e1"), 0);
    CHECK_EQ_INT(cwl_line(&g, "e-two", "G2", "e2"), 0);  /* taken */
    CHECK_EQ_INT(cwl_line(&g, "e-three", "G3", "e3"), 0);
    CHECK_EQ_MEM(g.text.p, g.text.len,
                 "a1\na2\nb1\nb2\nplain\ne-one\ne-two\ne-three\n");
    CHECK_EQ_INT(g.n_keys, 5);
    CHECK_EQ_INT(g.n_segs, 4);     /* text, G1, G2, G3 */

    CHECK_EQ_INT(fl_gather_claim(&g), 0);
    CHECK_EQ_MEM(g.text.p, g.text.len, "a1\na2\nplain\ne-one\ne-three\n");
    CHECK_EQ_INT(g.duplicates, 2);
    CHECK_EQ_INT(g.n_keys, 3);
    CHECK(g.keys[0] == key("t/0@1"));
    CHECK_EQ_INT(g.key_start[0], 0);
    CHECK_EQ_INT(g.key_end[0], 6);
    CHECK_EQ_INT(g.key_start[1], 12);      /* e-one */
    CHECK_EQ_INT(g.key_end[1], 18);
    CHECK_EQ_INT(g.key_start[2], 18);      /* e-three */
    CHECK_EQ_INT(g.key_end[2], 26);
    /* The runs moved with their text; G2's run is empty now. */
    CHECK_EQ_INT(g.segs[0].off, 0);
    CHECK_EQ_INT(g.segs[1].off, 12);
    CHECK_EQ_STR(g.segs[1].prov.v[FL_PROV_LOG_GROUP], "G1");
    CHECK_EQ_INT(g.segs[2].off, 18);
    CHECK_EQ_INT(g.segs[3].off, 18);
    CHECK_EQ_STR(g.segs[3].prov.v[FL_PROV_LOG_GROUP], "G3");
    fl_gather_end_claims(&g, 1);
    fl_gather_free(&g);

    /* Committed: the same pieces again are all duplicates. */
    fl_gather_init(&g, d, 0);
    CHECK_EQ_INT(fl_gather_add_text(&g, "a1\na2\n", 6), 0);
    CHECK_EQ_INT(fl_gather_add_key(&g, key("t/0@1"), 0), 0);
    CHECK_EQ_INT(fl_gather_claim(&g), 0);
    CHECK_EQ_INT(g.text.len, 0);
    CHECK_EQ_INT(g.duplicates, 1);
    fl_gather_free(&g);
    fl_dedupe_destroy(d);
    CHECK_EQ_INT(fl_mem_used(), base);
}


static void
test_abort_and_truncate(void)
{
    size_t base = fl_mem_used();
    struct fl_dedupe *d;
    struct fl_gather g;
    CHECK_EQ_INT(fl_dedupe_create(1000, 0, &d), 0);
    fl_gather_init(&g, d, 0);
    CHECK_EQ_INT(fl_gather_add_text(&g, "x\n", 2), 0);
    CHECK_EQ_INT(fl_gather_add_key(&g, key("t/1@7"), 0), 0);
    /* A record that turns out undecodable after some lines: forgotten. */
    size_t len = g.text.len, keys = g.n_keys;
    CHECK_EQ_INT(cwl_line(&g, "half", "G", "h1"), 0);
    fl_gather_truncate(&g, len, keys);
    CHECK_EQ_MEM(g.text.p, g.text.len, "x\n");
    CHECK_EQ_INT(g.n_keys, 1);
    CHECK_EQ_INT(g.n_segs, 1);
    CHECK_EQ_INT(fl_gather_claim(&g), 0);
    fl_gather_end_claims(&g, 0);           /* aborted: not taken */
    fl_gather_free(&g);

    fl_gather_init(&g, d, 0);
    CHECK_EQ_INT(fl_gather_add_text(&g, "x\n", 2), 0);
    CHECK_EQ_INT(fl_gather_add_key(&g, key("t/1@7"), 0), 0);
    CHECK_EQ_INT(fl_gather_claim(&g), 0);
    CHECK_EQ_INT(g.duplicates, 0);         /* a retry may try again */
    CHECK_EQ_MEM(g.text.p, g.text.len, "x\n");
    fl_gather_free(&g);                    /* aborts the claim held */
    fl_dedupe_destroy(d);
    CHECK_EQ_INT(fl_mem_used(), base);
}


FL_TEST_MAIN(
    FL_TEST(test_claim_drops_taken_pieces),
    FL_TEST(test_abort_and_truncate)
)
