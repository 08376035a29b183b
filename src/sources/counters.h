/* SPDX-License-Identifier: MIT
 *
 * counters.h -- what each source has brought in: requests, records,
 * bytes, rejected lines and retries skipped, since start, and the records
 * of the last minute and the last hour (GET /api/status, GET /metrics,
 * the status page).
 *
 * A source counts its requests, bytes and duplicates itself; the pipeline
 * counts the records it accepted and the lines it rejected. Every function
 * may be called from any thread: the totals are atomic, the rate slots are
 * under one mutex (taken once per request, never per line).
 */
#ifndef FL_SOURCE_COUNTERS_H
#define FL_SOURCE_COUNTERS_H

#include <stdint.h>

#include "source.h"

struct fl_source_counters;

/* The totals of one source, as read at one moment. */
struct fl_source_totals {
    uint64_t requests;
    uint64_t records;
    uint64_t bytes;              /* request bytes as received */
    uint64_t rejected;
    uint64_t duplicates;         /* retried requests / events skipped */
    int64_t  last_request;       /* epoch seconds, 0 = none yet */
};

/* The rates of one source at second now: the records and rejected lines
 * of the 60 seconds up to and including now, and per minute for the last
 * hour, minute k being (now / 60 - 59 + k), the last one still filling. */
#define FL_SOURCE_RATE_MINUTES 60
struct fl_source_rates {
    uint64_t last_minute_records, last_minute_rejected;
    int64_t  first_minute;       /* epoch minute of minute_records[0] */
    uint64_t minute_records[FL_SOURCE_RATE_MINUTES];
    uint64_t minute_rejected[FL_SOURCE_RATE_MINUTES];
};

/* Returns 0 or <0 (-errno of the mutex, FL_ENOMEM). */
int  fl_source_counters_create(struct fl_source_counters **out);
void fl_source_counters_destroy(struct fl_source_counters *c);

/* One request of bytes bytes arrived (its time is kept). */
void fl_source_counters_request(struct fl_source_counters *c,
                                enum fl_source_kind kind, uint64_t bytes);
/* Lines accepted and rejected, counted in the totals and the rates. */
void fl_source_counters_records(struct fl_source_counters *c,
                                enum fl_source_kind kind, uint64_t accepted,
                                uint64_t rejected);
/* Retried requests or events a source recognised and skipped. */
void fl_source_counters_duplicates(struct fl_source_counters *c,
                                   enum fl_source_kind kind, uint64_t n);

void fl_source_counters_totals(struct fl_source_counters *c,
                               enum fl_source_kind kind,
                               struct fl_source_totals *out);
void fl_source_counters_rates(struct fl_source_counters *c,
                              enum fl_source_kind kind, int64_t now,
                              struct fl_source_rates *out);

#endif /* FL_SOURCE_COUNTERS_H */
