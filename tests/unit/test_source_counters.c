/* SPDX-License-Identifier: MIT
 *
 * test_source_counters.c -- the sources' counters (src/sources/
 * counters.h): totals per source, kept apart; the last minute's records
 * and the per-minute chart of the last hour, read at a later second as
 * the slots age out; zero counts leave the rates untouched.
 */
#include "../../src/core/fl_config.h"

#include <stdint.h>

#include "harness.h"
#include "core/fl_error.h"
#include "core/fl_mem.h"
#include "core/fl_time.h"
#include "sources/counters.h"


/* New counters with records counted within one clock second; returns
 * that second. (A second boundary passing during the call would leave
 * unknown which second took the counts: then again, with new counters.) */
static int64_t
counted_in_one_second(struct fl_source_counters **c, enum fl_source_kind k,
                      uint64_t accepted, uint64_t rejected)
{
    for (;;) {
        CHECK_EQ_INT(fl_source_counters_create(c), 0);
        int64_t t0 = fl_time_now();
        fl_source_counters_records(*c, k, accepted, rejected);
        if (fl_time_now() == t0)
            return t0;
        fl_source_counters_destroy(*c);
    }
}


static void
test_totals_per_source(void)
{
    size_t base = fl_mem_used();
    struct fl_source_counters *c;
    struct fl_source_totals t;
    CHECK_EQ_INT(fl_source_counters_create(&c), 0);
    fl_source_counters_request(c, FL_SOURCE_FIREHOSE, 1000);
    fl_source_counters_request(c, FL_SOURCE_FIREHOSE, 24);
    fl_source_counters_records(c, FL_SOURCE_FIREHOSE, 7, 2);
    fl_source_counters_duplicates(c, FL_SOURCE_FIREHOSE, 3);
    fl_source_counters_request(c, FL_SOURCE_WATCH, 5);

    fl_source_counters_totals(c, FL_SOURCE_FIREHOSE, &t);
    CHECK_EQ_INT(t.requests, 2);
    CHECK_EQ_INT(t.bytes, 1024);
    CHECK_EQ_INT(t.records, 7);
    CHECK_EQ_INT(t.rejected, 2);
    CHECK_EQ_INT(t.duplicates, 3);
    CHECK(t.last_request >= fl_time_now() - 1
          && t.last_request <= fl_time_now());
    fl_source_counters_totals(c, FL_SOURCE_WATCH, &t);
    CHECK_EQ_INT(t.requests, 1);
    CHECK_EQ_INT(t.bytes, 5);
    CHECK_EQ_INT(t.records, 0);
    fl_source_counters_totals(c, FL_SOURCE_CWL, &t);
    CHECK_EQ_INT(t.requests, 0);
    CHECK_EQ_INT(t.last_request, 0);
    fl_source_counters_destroy(c);
    fl_source_counters_destroy(NULL);
    CHECK_EQ_INT(fl_mem_used(), base);
}


static void
test_rates_age_out(void)
{
    struct fl_source_counters *c;
    struct fl_source_rates r;
    int64_t now = counted_in_one_second(&c, FL_SOURCE_CWL, 50, 5);
    fl_source_counters_records(c, FL_SOURCE_CWL, 0, 0);   /* no-op */

    fl_source_counters_rates(c, FL_SOURCE_CWL, now, &r);
    CHECK_EQ_INT(r.last_minute_records, 50);
    CHECK_EQ_INT(r.last_minute_rejected, 5);
    CHECK_EQ_INT(r.first_minute, now / 60 - 59);
    CHECK_EQ_INT(r.minute_records[59], 50);
    CHECK_EQ_INT(r.minute_rejected[59], 5);
    CHECK_EQ_INT(r.minute_records[58], 0);

    /* 59 seconds later: still in the last minute. */
    fl_source_counters_rates(c, FL_SOURCE_CWL, now + 59, &r);
    CHECK_EQ_INT(r.last_minute_records, 50);
    /* 60 seconds later: out of it, still in the chart. */
    fl_source_counters_rates(c, FL_SOURCE_CWL, now + 60, &r);
    CHECK_EQ_INT(r.last_minute_records, 0);
    CHECK_EQ_INT(r.minute_records[58], 50);
    /* Two hours later: out of the chart too. */
    fl_source_counters_rates(c, FL_SOURCE_CWL, now + 7200, &r);
    for (size_t k = 0; k < FL_SOURCE_RATE_MINUTES; k++)
        CHECK_EQ_INT(r.minute_records[k], 0);
    /* Other sources saw nothing. */
    fl_source_counters_rates(c, FL_SOURCE_INGEST, now, &r);
    CHECK_EQ_INT(r.last_minute_records, 0);
    fl_source_counters_destroy(c);
}


FL_TEST_MAIN(
    FL_TEST(test_totals_per_source),
    FL_TEST(test_rates_age_out)
)
