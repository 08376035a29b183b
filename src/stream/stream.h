/* SPDX-License-Identifier: MIT
 *
 * stream.h -- the stream engine: event-time tumbling windows over record
 * batches, evaluated incrementally in C (docs/metrics.md).
 *
 * An engine holds compiled metric plans (plan.h) and, per metric, the
 * open windows with one state per group (the metric's dimension values).
 * fl_stream_process() folds a batch into that state: state is O(groups),
 * never O(records).
 *
 * Time. Each record has a window per metric, chosen by the metric's time
 * basis: start, end, or arrival (the `arrival` argument of process).
 * There is one clock per basis:
 *   - start / end: the watermark = highest event time seen - allowed
 *     lateness. The highest event time is updated after each batch (so the
 *     rows of one batch are judged against the same watermark and the
 *     result does not depend on their order inside the batch);
 *   - arrival: the `now` of fl_stream_advance() (wall clock), and the
 *     arrival times of processed batches.
 * A window [ws, ws + len) is open while its clock is < ws + len; then it
 * becomes final: its values are emitted once through the final callback
 * and its state is freed. A record whose window is already final is late:
 * it is counted (fl_stream_stats.late_records, per metric too) and not
 * added. Final values therefore do not depend on arrival order as long as
 * no record is late.
 *
 * Values. A window's value per (metric, group) is the aggregate over the
 * group's rows with SQL semantics (NULLs ignored; SUM/MIN/MAX/AVG of only
 * NULLs is NULL: has_value = 0). COUNT(DISTINCT x) is exact (64-bit
 * hashes of the values) up to distinct_exact_limit values, then a
 * HyperLogLog (precision 12, ~1.6% standard error); exact = 0 says so.
 *
 * Persistence. fl_stream_save() serialises everything (clocks, open
 * windows, counters) with the WAL sequence number it covers;
 * fl_stream_load() restores it into an engine with the same plans. A
 * metric whose statement text changed, or that is gone, has its saved
 * state dropped (reported in fl_stream_load's message).
 *
 * Thread: one owner. The server serialises calls with its own lock.
 */
#ifndef FL_STREAM_H
#define FL_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "../parse/batch.h"
#include "plan.h"

struct fl_stream;

struct fl_stream_options {
    int64_t  allowed_lateness;      /* seconds, default 900 */
    uint32_t distinct_exact_limit;  /* default 1024 */
    uint64_t max_groups;            /* open groups per metric, default
                                     * 2,000,000; beyond, rows of new groups
                                     * are counted in dropped_records */
    int64_t  max_future;            /* seconds; an event time more than
                                     * this after its batch's arrival does
                                     * not move the watermark (a record
                                     * stamped in 2100 would otherwise make
                                     * every later record late); it is still
                                     * counted in its window. 0 = no cap
                                     * (default) */
    int64_t  retain_final;          /* seconds a final window's state is
                                     * kept after its end, for
                                     * fl_stream_save_partials; 0 = freed
                                     * at once (default) */
};

/* One value of one metric for one group in one window. Strings point
 * into the engine and are valid until the next call into it. */
struct fl_metric_value {
    const char         *metric;
    size_t              n_dims;
    const char *const  *dim_names;  /* SQL column names, GROUP BY order */
    const char *const  *dim_values; /* text; NULL for a SQL NULL */
    int64_t             window_start;   /* epoch seconds */
    int64_t             window_end;     /* window_start + length */
    double              value;
    int                 has_value;  /* 0: SQL NULL (SUM of only NULLs) */
    int                 final;
    int                 exact;      /* 0: COUNT(DISTINCT) past the limit */
    uint64_t            records;    /* rows folded into this group */
};

typedef void fl_stream_value_fn(void *ctx, const struct fl_metric_value *v);

struct fl_stream_metric_stats {
    const char *metric;             /* per aggregate metric name */
    uint64_t    records;            /* rows that passed WHERE and counted */
    uint64_t    late_records;
    uint64_t    dropped_records;    /* max_groups reached */
    uint64_t    untimed_records;    /* passed WHERE, NULL time column: no
                                     * window, skipped */
    uint64_t    open_windows;
    uint64_t    open_groups;
    int64_t     clock;              /* its basis's clock; INT64_MIN = none */
};

struct fl_stream_stats {
    uint64_t batches, records;      /* everything processed */
    uint64_t future_records;        /* times beyond max_future: counted,
                                     * but the watermark ignored them */
    uint64_t late_records;          /* sum over metrics */
    uint64_t dropped_records;
    uint64_t untimed_records;       /* sum over metrics */
    uint64_t open_groups;
    uint64_t memory_bytes;          /* state held, estimated from sizes */
    int64_t  max_start, max_end;    /* INT64_MIN = none seen */
    int64_t  watermark_start, watermark_end;
    int64_t  arrival_clock;
};

/* Sets the defaults above. */
void fl_stream_options_init(struct fl_stream_options *o);

/* Creates an engine over plans (taken: *plans is left empty). Every
 * aggregate metric name must be unique across plans (fl_plan_merge
 * checks). final_fn (may be NULL) receives each value once, when its
 * window becomes final. Returns 0, -ENOMEM; *out untouched on failure. */
int  fl_stream_create(const struct fl_stream_options *opt,
                      struct fl_metric_plans *plans,
                      fl_stream_value_fn *final_fn, void *final_ctx,
                      struct fl_stream **out);
void fl_stream_destroy(struct fl_stream *s);

/* Folds the rows of b into every metric; arrival = epoch seconds when they
 * were accepted. Then updates the event-time clocks from b and finalises
 * what they passed. Returns 0 or -ENOMEM (state stays consistent: the
 * batch is either fully counted or not at all for each metric). */
int  fl_stream_process(struct fl_stream *s, const struct fl_batch *b,
                       int64_t arrival);

/* Moves the arrival clock to now (never backwards) and finalises the
 * arrival-time windows that ended at or before it. */
void fl_stream_advance(struct fl_stream *s, int64_t now);

/* Finalises every open window whatever the clocks (tests, benchmarks, and
 * `flowlake metrics --replay`-style batch runs). */
void fl_stream_flush(struct fl_stream *s);

/* Calls fn for every open window's current (provisional, final = 0)
 * value, metric by metric in plan order, windows oldest first. */
void fl_stream_each_open(struct fl_stream *s, fl_stream_value_fn *fn,
                         void *ctx);

/* The same values, windows newest first within each metric: the first
 * value of a series seen is its newest open window's (the Prometheus
 * export wants only that one). */
void fl_stream_each_open_newest(struct fl_stream *s, fl_stream_value_fn *fn,
                                void *ctx);

/* The plans the engine runs (read-only). */
const struct fl_metric_plans *fl_stream_plans(const struct fl_stream *s);

/* Window length and basis of an aggregate metric name; returns 0, or
 * -ENOENT when no plan produces it. */
int  fl_stream_metric_info(const struct fl_stream *s, const char *metric,
                           int64_t *window, enum fl_time_basis *time,
                           const struct fl_metric_plan **plan);

void fl_stream_stats(const struct fl_stream *s, struct fl_stream_stats *out);

/* Per-metric figures: fills up to cap entries, returns how many metrics
 * there are. */
size_t fl_stream_metric_stats(const struct fl_stream *s,
                              struct fl_stream_metric_stats *out, size_t cap);

/* Serialises the whole state and seq (the last WAL sequence number folded
 * in) into a new buffer (*out, *out_len; fl_free it). Returns 0, -ENOMEM. */
int  fl_stream_save(const struct fl_stream *s, uint64_t seq,
                    unsigned char **out, size_t *out_len);

/* Restores a saved state into a fresh engine (same or changed plans).
 * Returns 0 and *seq; FL_ECORRUPT with err (the file is damaged: the
 * engine is left empty); -ENOMEM. State of metrics whose text changed is
 * dropped and named in note (may be empty). */
int  fl_stream_load(struct fl_stream *s, const unsigned char *buf,
                    size_t len, uint64_t *seq, char *note, size_t notelen,
                    struct fl_err *err);

/* ---- several instances -------------------------------------------------
 *
 * Instances that each see part of the records (the partitions of a Kafka
 * topic) give together the values one instance seeing everything would,
 * by merging their partial state: COUNT and SUM add, MIN and MAX take the
 * extreme, AVG keeps its sum and count (never its value), COUNT(DISTINCT)
 * takes the union of the exact sets or the register-wise maximum of the
 * HyperLogLog registers (a set past distinct_exact_limit becomes
 * registers just as it would have in one instance). A merged window is
 * final once the lowest of the instances' watermarks has passed it. */

/* The state to merge: every open window, and the final ones still
 * retained (opt.retain_final), in fl_stream_save's format (seq 0). */
int  fl_stream_save_partials(const struct fl_stream *s, unsigned char **out,
                             size_t *out_len);

/* Folds a fl_stream_save_partials (or fl_stream_save) snapshot into s: its
 * groups added to those s holds, its clocks lowering s's to the lowest
 * seen (the first snapshot sets them). Sections whose plan differs from
 * s's are skipped and named in note. FL_ECORRUPT with err for a damaged
 * snapshot (what was folded before it stays). */
int  fl_stream_merge(struct fl_stream *s, const unsigned char *buf,
                     size_t len, char *note, size_t notelen,
                     struct fl_err *err);

/* Finalises what the clocks have passed (final_fn), as fl_stream_process
 * does after a batch: after the merges, the windows final for every
 * instance. */
void fl_stream_settle(struct fl_stream *s);

#endif /* FL_STREAM_H */
