/* SPDX-License-Identifier: MIT
 *
 * metric_reads.h -- a metric read (GET /api/metrics, one read of POST
 * /api/metrics/batch) answered in C from the metric cache and the values
 * still in memory, with the same JSON document the SQL path gives
 * (docs/metrics.md). api_metrics.c decides which path a read takes.
 */
#ifndef FL_METRIC_READS_H
#define FL_METRIC_READS_H

#include <stddef.h>
#include <stdint.h>

#include "metric_cache.h"
#include "metric_store.h"

/* Most other metrics of its statement a read may sum with it (?with=). */
#define FL_MREAD_MAX_WITH 8

struct fl_mread {
    const char        *metric;
    const char *const *with;        /* the same statement's other metrics */
    size_t             n_with;
    int64_t            from, to;    /* window_start in [from, to) */
    int                aggregate;   /* sum over the range, per series */
    long               top;         /* with aggregate: how many series, then
                                     * "other"; < 0: every series */
};

/* Read r's JSON document over the cache's files and live[0..n_live) (the
 * values only memory holds) in *out (fl_free). Returns 0 or FL_ENOMEM. */
int fl_metric_read_json(const struct fl_metric_cache *c,
                        const struct fl_metric_row *live, size_t n_live,
                        const struct fl_mread *r, char **out);

/* A double as DuckDB's to_json writes it (shortest text that reads back
 * the same; "2.0", "1e-7", "3e21") into buf (32 bytes or more). */
void fl_metric_json_double(char *buf, size_t cap, double v);

#endif /* FL_METRIC_READS_H */
