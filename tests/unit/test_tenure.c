/* SPDX-License-Identifier: MIT
 *
 * test_tenure.c -- the tenure history in Kafka commit metadata
 * (src/sources/tenure.h): what is parsed and written, exactly; the oldest
 * entries dropped past the limits; and the verdict on a batch whose
 * commit's outcome is unknown, in each case the rule distinguishes.
 */
#include "../../src/core/fl_config.h"

#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "core/fl_error.h"
#include "sources/tenure.h"

#define A "aaaaaaaaaaaa"
#define B "bbbbbbbbbbbb"
#define C "cccccccccccc"


static void
parse(const char *meta, struct fl_tenure_history *h, int want)
{
    CHECK_EQ_INT(fl_tenure_parse(meta, meta ? strlen(meta) : 0, h), want);
}


static void
test_parse_and_write(void)
{
    struct fl_tenure_history h;
    char out[FL_TENURE_TEXT_MAX + 1];
    parse("fl1 " A "@0 " B "@100", &h, 0);
    CHECK_EQ_INT(h.n, 2);
    CHECK_EQ_INT(h.truncated, 0);
    CHECK_EQ_STR(h.e[1].id, B);
    CHECK_EQ_INT(h.e[1].start, 100);
    fl_tenure_begin(&h, C, 250, out, sizeof out);
    CHECK_EQ_STR(out, "fl1 " A "@0 " B "@100 " C "@250");
    CHECK_EQ_INT(h.n, 3);

    /* No history yet: one entry; a negative start (no commit) is 0. */
    parse("fl1", &h, 0);
    CHECK_EQ_INT(h.n, 0);
    fl_tenure_begin(&h, A, -1001, out, sizeof out);
    CHECK_EQ_STR(out, "fl1 " A "@0");

    /* Another consumer's metadata, or none: nothing known before. */
    parse(NULL, &h, FL_EPARSE);
    CHECK_EQ_INT(h.truncated, 1);
    parse("", &h, FL_EPARSE);
    parse("checkpoint=42", &h, FL_EPARSE);
    CHECK_EQ_INT(h.n, 0);
    CHECK_EQ_INT(h.truncated, 1);
    fl_tenure_begin(&h, B, 7, out, sizeof out);
    CHECK_EQ_STR(out, "fl1+ " B "@7");

    /* Damaged entries: the whole history is unknown. */
    parse("fl1 " A "@", &h, FL_EPARSE);
    parse("fl1 " A "@12x", &h, FL_EPARSE);
    parse("fl1 aaaaaaaaaaaZ@1", &h, FL_EPARSE);
    parse("fl1  " A "@1", &h, FL_EPARSE);
    parse("fl1 " A "@99999999999999999999", &h, FL_EPARSE);
    CHECK_EQ_INT(h.n, 0);
    parse("fl1+ " A "@5", &h, 0);
    CHECK_EQ_INT(h.truncated, 1);
    CHECK_EQ_INT(h.n, 1);
}


static void
test_oldest_dropped(void)
{
    struct fl_tenure_history h;
    char out[FL_TENURE_TEXT_MAX + 1], id[FL_TENURE_ID_LEN + 1];
    parse("fl1", &h, 0);
    for (int i = 0; i < FL_TENURE_MAX + 3; i++) {
        snprintf(id, sizeof id, "%012d", i);
        fl_tenure_begin(&h, id, 1000000000000LL + i, out, sizeof out);
    }
    CHECK_EQ_INT(h.n, FL_TENURE_MAX);
    CHECK_EQ_INT(h.truncated, 1);
    CHECK_EQ_STR(h.e[0].id, "000000000003");
    CHECK(strlen(out) <= FL_TENURE_TEXT_MAX);
    CHECK(strncmp(out, "fl1+ 000000000003@1000000000003 ", 32) == 0);
    /* What was written is read back as it was. */
    struct fl_tenure_history back;
    parse(out, &back, 0);
    CHECK_EQ_INT(back.n, h.n);
    CHECK_EQ_INT(back.truncated, 1);
    CHECK_EQ_STR(back.e[FL_TENURE_MAX - 1].id, id);

    /* Two ids are never the same (48 random bits). */
    char a[FL_TENURE_ID_LEN + 1], b[FL_TENURE_ID_LEN + 1];
    fl_tenure_new_id(a);
    fl_tenure_new_id(b);
    CHECK_EQ_INT(strlen(a), FL_TENURE_ID_LEN);
    CHECK(strcmp(a, b) != 0);
}


/* A batch of tenure B ending at offset 199. */
static void
test_verdicts(void)
{
    struct fl_tenure_history h;
    /* The committed offset never passed the batch: not committed. */
    parse("fl1 " A "@0 " B "@150", &h, 0);
    CHECK_EQ_INT(fl_tenure_judge(&h, 150, B, A, 199), FL_TENURE_DROP);
    CHECK_EQ_INT(fl_tenure_judge(&h, 199, B, A, 199), FL_TENURE_DROP);
    CHECK_EQ_INT(fl_tenure_judge(&h, -1001, B, A, 199), FL_TENURE_DROP);
    /* B is the last tenure that committed, and the offset is past the
     * batch: B's commit of it went through. */
    CHECK_EQ_INT(fl_tenure_judge(&h, 200, B, A, 199), FL_TENURE_KEEP);
    /* C took over after B: where C started says. */
    parse("fl1 " A "@0 " B "@150 " C "@200", &h, 0);
    CHECK_EQ_INT(fl_tenure_judge(&h, 900, B, A, 199), FL_TENURE_KEEP);
    parse("fl1 " A "@0 " B "@150 " C "@150", &h, 0);
    CHECK_EQ_INT(fl_tenure_judge(&h, 900, B, A, 199), FL_TENURE_DROP);
    /* B never committed (no entry): C, after B's predecessor A, started
     * where A's commits ended -- before the batch. */
    parse("fl1 " A "@0 " C "@150", &h, 0);
    CHECK_EQ_INT(fl_tenure_judge(&h, 900, B, A, 199), FL_TENURE_DROP);
    /* B was the first tenure ever and never committed. */
    parse("fl1 " C "@0", &h, 0);
    CHECK_EQ_INT(fl_tenure_judge(&h, 900, B, "", 199), FL_TENURE_DROP);
    /* The history no longer reaches B, nor its predecessor. */
    parse("fl1+ " C "@500", &h, 0);
    CHECK_EQ_INT(fl_tenure_judge(&h, 900, B, A, 199), FL_TENURE_UNKNOWN);
    CHECK_EQ_INT(fl_tenure_judge(&h, 900, B, "", 199), FL_TENURE_UNKNOWN);
    parse("something else", &h, FL_EPARSE);
    CHECK_EQ_INT(fl_tenure_judge(&h, 900, B, A, 199), FL_TENURE_UNKNOWN);
    /* Only A's entry, which is not B's: cannot be (the offset passed the
     * batch with no commit of B or after it), so not known. */
    parse("fl1 " A "@0", &h, 0);
    CHECK_EQ_INT(fl_tenure_judge(&h, 900, B, A, 199), FL_TENURE_UNKNOWN);
}


FL_TEST_MAIN(
    FL_TEST(test_parse_and_write),
    FL_TEST(test_oldest_dropped),
    FL_TEST(test_verdicts)
)
