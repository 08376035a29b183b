/* SPDX-License-Identifier: MIT
 *
 * metrics_int.h -- what the files of src/metrics/ share, and nothing
 * outside it sees: the metrics' state (struct fl_metrics: the engine, its
 * queue and store, and the read side's DuckDB session and cache) and the
 * series identity of a value. The rest of the server holds a struct
 * fl_metrics * and calls metrics.h.
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
#include "../pipeline/buffer.h"

struct fl_alarms;
struct fl_config;
struct fl_metric_cache;
struct fl_query;

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
    /* What fl_metrics_create was given (struct fl_metrics_options). */
    const struct fl_config *cfg;
    pthread_rwlock_t   *snap_lock;
    void               *ctx;
    void              (*saved)(void *ctx);
    uint64_t          (*queries_running)(void *ctx);
    int                 sync_made;    /* the locks below were initialised */

    struct fl_stream   *stream;       /* under mu; NULL: metrics off */
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

    /* GET /api/metrics (api_metrics.c): one DuckDB kept between requests
     * (opening one cost more than the query it answers), used by one
     * request at a time under q_mu; NULL until the first. */
    pthread_mutex_t     q_mu;
    struct fl_query    *q;
    /* The store's recent rows in memory, under q_mu (metric_reads.c
     * answers most reads from it); NULL until the first read. read_sql:
     * FLOWLAKE_METRICS_READ=sql, every read through SQL (docs/metrics.md). */
    struct fl_metric_cache *cache;
    int                 read_sql;
    /* Reads answered from memory or through SQL, and the cache's size as
     * of the last read (/api/status, /metrics). */
    _Atomic uint64_t    reads_memory, reads_sql;
    _Atomic uint64_t    cache_files, cache_rows, cache_bytes;
};


/* A hash of a value's series: its metric and dimension values. */
uint64_t fl_metrics_series_hash(const char *metric, size_t n,
                                const char *const *names,
                                const char *const *values);

/* Whether row r and value v are the same series. */
int  fl_metrics_same_series(const struct fl_metric_row *r,
                            const struct fl_metric_value *v);

#endif /* FL_SERVER_METRICS_INT_H */
