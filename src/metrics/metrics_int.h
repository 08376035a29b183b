/* SPDX-License-Identifier: MIT
 *
 * metrics_int.h -- what metrics.c and prometheus.c share: the server's
 * metrics state (struct fl_metrics) and the series identity of a value.
 */
#ifndef FL_SERVER_METRICS_INT_H
#define FL_SERVER_METRICS_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "metric_store.h"
#include "../parse/format.h"
#include "../parse/line.h"
#include "../stream/stream.h"
#include "../server/buffer.h"

struct fl_server;
struct fl_alarms;

/* A queued block: the buffer's own (held, not copied -- copying the
 * text per request doubled the server's peak memory). */
struct item {
    struct item            *next;
    struct fl_buffer_block *blk;
    int64_t                 arrival;  /* epoch seconds */
};

/* Final values kept for Prometheus: the newest final per series. */
struct last_final {
    uint64_t              hash;
    struct fl_metric_row  row;    /* row.metric == NULL: empty slot */
};

struct rows {
    struct fl_metric_row *v;
    size_t                n, cap;
};

struct fl_metrics {
    struct fl_server   *s;
    struct fl_stream   *stream;       /* under mu */
    struct fl_alarms   *alarms;       /* own lock; NULL without alarms */
    pthread_mutex_t     mu;
    struct rows         pending;      /* finals not in a file (under mu) */
    struct rows         committing;   /* being written (under mu) */
    struct last_final  *last;         /* open addressing (under mu) */
    size_t              last_cap, last_n;
    uint64_t            processed_seq;/* under mu */
    uint64_t            loaded_seq;   /* what the state on disk covered */
    struct fl_metric_file *live;      /* the state's final files */
    size_t              n_live;
    /* Files merged away but maybe still listed by a running query (its
     * snapshot was taken before the merge): removed once none runs. */
    int                 cleanup_due;
    uint64_t            next_no;      /* number of the next final file */
    _Atomic uint64_t    persisted_seq;
    _Atomic int64_t     oldest_queued_ms;   /* 0 = queue empty */
    _Atomic uint64_t    persist_failures;
    int                 store_failing;/* stream thread: last save failed */
    int                 saved_once;   /* under mu */

    /* The queue. */
    pthread_mutex_t     qmu;
    pthread_cond_t      qcond, qroom;
    struct item        *head, **tail;
    size_t              qbytes;
    int                 stop;
    pthread_t           thread;
    int                 started;

    /* Parsing, only on the stream thread (or replay before it starts). */
    struct fl_batch    *batch;
    char               *fmt_spec;     /* spec of fmt, NULL = default */
    struct fl_format   *fmt;
    struct fl_parser    parser;
};


/* A hash of a value's series: its metric and dimension values. */
uint64_t fl_metrics_series_hash(const char *metric, size_t n,
                                const char *const *names,
                                const char *const *values);

/* Whether row r and value v are the same series. */
int  fl_metrics_same_series(const struct fl_metric_row *r,
                            const struct fl_metric_value *v);

#endif /* FL_SERVER_METRICS_INT_H */
