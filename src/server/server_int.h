/* SPDX-License-Identifier: MIT
 *
 * server_int.h -- the running server's state and the functions its parts
 * call across src/server/ and src/http/ (the HTTP front reads the server's
 * pipeline, counters and metrics through it).
 */
#ifndef FL_SERVER_INT_H
#define FL_SERVER_INT_H

#include <pthread.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../config/config.h"
#include "../core/fl_error.h"
#include "../core/fl_sha256.h"
#include "../http/http_reply.h"
#include "../pipeline/pipeline.h"
#include "../sources/counters.h"
#include "../sources/demo.h"
#include "../sources/kafka.h"
#include "../sources/source.h"
#include "../sources/watch.h"

struct fl_query_task;

/* How long a folder compaction replaced or retention expired is kept under
 * ARCHIVE/_flowlake/retired/ (seconds): for readers outside the server --
 * `flowlake query`, DuckDB, a copy job -- that listed it just before. */
#define FL_SERVER_RETIRED_GRACE 600

/* The compaction thread's figures (compactor.c), under compact_mu. */
struct fl_compact_totals {
    uint64_t passes, failures;
    uint64_t hours_compacted, files_before, files_after, hours_expired;
    int64_t  last_pass;           /* epoch seconds, 0 = none yet */
    double   last_seconds;
    char     last_error[256];     /* "" = the last pass went through */
};

/* The SHA-256 digests of the keys that guard the endpoints (http.c);
 * has_* = 0: that key is not set. */
struct fl_http_keys {
    unsigned char ingest[FL_SHA256_LEN];      /* server.ingest_key */
    unsigned char firehose[FL_SHA256_LEN];    /* firehose.access_key */
    unsigned char read[FL_SHA256_LEN];        /* server.read_key */
    unsigned char admin[FL_SHA256_LEN];       /* server.admin_key */
    int           has_ingest, has_firehose, has_read, has_admin;
};

struct fl_server {
    const struct fl_config    *cfg;
    struct MHD_Daemon         *daemon;
    uint16_t                   port;
    char                      *tls_cert_pem;   /* loaded for libmicrohttpd */
    char                      *tls_key_pem;
    /* What every source has brought in (sources/counters.h). */
    struct fl_source_counters *counters;
    /* Validate, WAL, buffer, publish (pipeline/pipeline.h). */
    struct fl_pipeline        *pipeline;
    /* The metrics (metrics/metrics.h): their state is their own; set by
     * fl_server_create, NULL only before that. */
    struct fl_metrics         *metrics;
    /* What every source is given (sources/source.h): the HTTP endpoints
     * use it as the watched folder and the demo do. */
    struct fl_source_env       source_env;
    struct fl_watch           *watch;          /* watch.dir; NULL = none */
    struct fl_demo            *demo;           /* serve --demo; NULL = none */
    struct fl_kafka           *kafka;          /* kafka.brokers; NULL = none */
    struct fl_uploader        *uploader;       /* s3.url; NULL = none */
    uint64_t                   demo_rate;      /* records/s, 0 = no demo */
    _Atomic int                accepting;      /* 0 while stopping */
    /* Compaction and retention (compactor.c), every
     * archive.compact_interval. */
    pthread_t                  compactor;
    int                        compactor_started;
    _Atomic int                compact_stop;
    pthread_mutex_t            compact_mu;
    pthread_cond_t             compact_cv;
    struct fl_compact_totals   compact;
    double                     started;        /* monotonic */

    /* Queries over HTTP (api_query.c): those running, at most
     * query.max_concurrent; query_cv is signalled as each ends. */
    pthread_mutex_t            query_mu;
    pthread_cond_t             query_cv;
    struct fl_query_task      *queries;
    uint64_t                   n_queries;
    /* Of them, those holding a list of the archive's files they have not
     * finished reading: a compaction swaps an hour only when none does
     * (fl_http_queries_wait_snapshots). */
    uint64_t                   n_snapshots;
    _Atomic int                queries_closed; /* stopping: no new ones */
    _Atomic uint64_t           queries_started;
    _Atomic uint64_t           queries_refused; /* answered 429 */
    struct fl_http_keys        keys;           /* http.c, set at start */
    /* Bytes reserved by request bodies being received (http.c), at most
     * server.max_inflight_bytes. */
    _Atomic uint64_t           inflight_bytes;
};

/* ---- api_query.c ---------------------------------------------------- */

struct request;

/* POST /api/query: SQL over the archive plus the not-yet-published
 * records, sandboxed, in a worker process; the connection is suspended
 * while it runs and answered when libmicrohttpd calls again. */
enum MHD_Result fl_http_query(struct fl_server *s, struct MHD_Connection *c,
                              struct request *req);
/* POST /api/query/cancel?id=ID: kills the running queries whose request
 * carried X-Flowlake-Query-Id: ID; 404 when none runs. */
enum MHD_Result fl_http_query_cancel(struct fl_server *s,
                                     struct MHD_Connection *c);
/* The longest X-Flowlake-Query-Id taken. */
#define FL_QUERY_ID_MAX 64
/* How many queries run now. */
uint64_t fl_http_queries_running(struct fl_server *s);
/* Frees a request's query (on_completed). */
void fl_http_query_free(struct fl_query_task *t);
/* Waits, up to ms milliseconds, until no query holds a snapshot of the
 * archive's files; the caller holds the snapshot lock exclusively, so no
 * new one is taken meanwhile. Returns 0, or -ETIMEDOUT. */
int fl_http_queries_wait_snapshots(struct fl_server *s, uint64_t ms);
/* Refuses new queries, kills the running ones' workers and waits until
 * every suspended connection is resumed: before libmicrohttpd stops. */
void fl_http_queries_stop(struct fl_server *s);

/* ---- compactor.c ---------------------------------------------------- */

/* Starts the compaction thread when archive.compact_interval is set;
 * stops it (a pass under way ends before its next hour). */
int  fl_server_compactor_start(struct fl_server *s, struct fl_err *err);
void fl_server_compactor_stop(struct fl_server *s);

/* ---- status.c -------------------------------------------------------- */

/* One source's members of source_rates in GET /api/status
 * ("\"last_request\":...", no braces); returns the bytes written, at
 * most cap - 1. */
size_t fl_http_source_rates_json(struct fl_server *s, enum fl_source_kind kind,
                                 int64_t now, char *out, size_t cap);

/* GET /api/publishes, GET /api/rejects, GET /api/alarms/history. */
enum MHD_Result fl_http_publishes(struct fl_server *s,
                                  struct MHD_Connection *c);
enum MHD_Result fl_http_rejects(struct fl_server *s, struct MHD_Connection *c);
enum MHD_Result fl_http_alarm_history(struct fl_server *s,
                                      struct MHD_Connection *c);

/* The metrics' endpoints (GET /metrics, /api/metrics, /api/alarms, POST
 * /api/metrics/batch) are in metrics/api_metrics.h. */

/* dashboards.c: GET /api/dashboards (the list), and GET, PUT, DELETE
 * /api/dashboards/NAME (name = the path after the prefix). */
enum MHD_Result fl_http_dashboards(struct fl_server *s,
                                   struct MHD_Connection *c,
                                   const char *method, const char *name,
                                   const char *body, size_t len);

/* ---- http.c / aws.c ------------------------------------------------- */

/* Per-request state, created on the first callback of a request. */
struct request {
    char    *body;
    size_t   len, cap;
    int      too_big;
    int      over_budget;  /* server.max_inflight_bytes reached: 503 */
    uint64_t expected;     /* Content-Length, 0 = none (chunked) */
    uint64_t limit;        /* the largest body the route takes */
    uint64_t reserved;     /* bytes counted in s->inflight_bytes */
    struct fl_query_task *query;  /* POST /api/query, once started */
};

/* fl_http_reply and the other answers: http_reply.h. */

/* POST /firehose and POST /cwl: http/aws.h. */

/* ---- ui.c ----------------------------------------------------------- */

/* GET/HEAD of one of the web UI's embedded files (ui.h): gzip when
 * accepted, ETag, 304 on If-None-Match. */
struct fl_ui_asset;
enum MHD_Result fl_ui_serve(struct MHD_Connection *c,
                            const struct fl_ui_asset *a);

/* ---- http.c --------------------------------------------------------- */

/* Starts libmicrohttpd on cfg->listen. Returns 0 or <0 with err set. */
int  fl_http_start(struct fl_server *s, struct fl_err *err);
void fl_http_stop(struct fl_server *s);

#endif /* FL_SERVER_INT_H */
