/* SPDX-License-Identifier: MIT
 *
 * server_int.h -- declarations shared by the files of src/server/ only.
 */
#ifndef FL_SERVER_INT_H
#define FL_SERVER_INT_H

#include <pthread.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../archive/rejects.h"
#include "../config/config.h"
#include "../core/fl_error.h"
#include "../core/fl_sha256.h"
#include "../sources/demo.h"
#include "../sources/source.h"
#include "../sources/watch.h"
#include "../wal/wal.h"
#include "../pipeline/buffer.h"
#include "../pipeline/dedupe.h"
#include "../http/http_reply.h"

/* Counters of one ingestion source, reported by GET /api/status. */
struct fl_source_stats {
    _Atomic uint64_t requests;
    _Atomic uint64_t records;
    _Atomic uint64_t bytes;       /* request bytes as received */
    _Atomic uint64_t rejected;
    _Atomic uint64_t duplicates;  /* retried requests / events skipped */
    _Atomic int64_t  last_request; /* epoch seconds, 0 = none yet */
};

/* Records per second and per minute of one source (status.c): slots of
 * one second for the last minute's rate, and of one minute for the last
 * hour, each stamped with the second or minute it counts, so that a slot
 * left from an earlier lap counts as 0. */
#define FL_RATE_SECONDS 64
#define FL_RATE_MINUTES 60
struct fl_source_rate {
    int64_t  sec_t[FL_RATE_SECONDS];
    uint64_t sec_records[FL_RATE_SECONDS], sec_rejected[FL_RATE_SECONDS];
    int64_t  min_t[FL_RATE_MINUTES];
    uint64_t min_records[FL_RATE_MINUTES], min_rejected[FL_RATE_MINUTES];
};

/* One publish attempt, kept for GET /api/publishes (status.c). */
#define FL_PUBLISH_RING 32
struct fl_publish_entry {
    int64_t  time;                /* epoch seconds at its end */
    double   seconds;             /* how long it took */
    uint64_t records, files, bytes, blocks;
    uint64_t wal_seq;             /* the WAL position it covers */
    int      ok;
    char     error[256];          /* when !ok */
};

struct fl_query_task;
struct fl_sink;

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
    const struct fl_config *cfg;
    struct MHD_Daemon      *daemon;
    uint16_t                port;
    char                   *tls_cert_pem;     /* loaded for libmicrohttpd */
    char                   *tls_key_pem;
    struct fl_buffer       *buffer;
    struct fl_sink         *sink;             /* where publishes go */
    struct fl_rejects      *rejects;
    struct fl_wal          *wal;
    struct fl_dedupe       *dedupe;
    char                   *dedupe_path;      /* ARCHIVE/_flowlake/dedupe */
    /* The metrics (metrics/metrics.h): their state is their own; set
     * by fl_server_create, NULL only before that. */
    struct fl_metrics      *metrics;
    /* WAL sequence the archive holds up to (the last publish's mark);
     * the WAL is checkpointed to the lower of it and what the saved
     * metric state covers (fl_server_checkpoint). */
    _Atomic uint64_t        published_seq;
    pthread_mutex_t         ckpt_mu;
    /* Orders "append to the WAL, add to the buffer" so that the buffer is
     * in sequence order: a publish of everything taken from the buffer
     * then covers every sequence number up to its last block. */
    pthread_mutex_t         append_mu;
    /* Readers (live queries) hold it shared while they snapshot the buffer
     * and run; the publisher holds it exclusively while it takes blocks
     * from the buffer, and while its files appear in the archive and the
     * in-flight blocks are dropped: a query sees every record once. */
    pthread_rwlock_t        snap_lock;
    struct fl_buffer_block *inflight;         /* being published */
    uint64_t                replayed;         /* records recovered at start */
    size_t                  wal_max_record;   /* largest WAL payload */

    pthread_t               publisher;
    int                     publisher_started;
    /* The sources with a thread of their own (sources/), and what they
     * are given of the server. */
    struct fl_source_env    source_env;
    struct fl_watch        *watch;            /* watch.dir; NULL = none */
    struct fl_demo         *demo;             /* serve --demo; NULL = none */
    uint64_t                demo_rate;        /* records/s, 0 = no demo */
    _Atomic int             accepting;        /* 0 while stopping */
    _Atomic int             stopping;

    double                  started;          /* monotonic */
    struct fl_source_stats  sources[FL_SOURCE_COUNT];
    _Atomic uint64_t        files_published;
    _Atomic uint64_t        records_published;
    _Atomic uint64_t        publish_failures;
    int                     publish_failing;  /* publisher thread only */
    uint64_t                rejects_logged;   /* publisher thread only: rejected
                                               * lines summed up in the log */
    char                    rejects_name[96]; /* "_errors/serve-....jsonl" */
    _Atomic int64_t         last_publish;     /* epoch seconds, 0 = never */
    pthread_mutex_t         err_mu;
    char                    last_error[512];  /* last publish failure */
    /* The status page's figures (status.c): per-source rates and the last
     * publishes, each under its own lock (ingest threads and the
     * publisher write them, HTTP threads read them). */
    pthread_mutex_t         rate_mu;
    struct fl_source_rate   rates[FL_SOURCE_COUNT];
    pthread_mutex_t         pub_mu;
    struct fl_publish_entry pubs[FL_PUBLISH_RING];
    uint64_t                n_pubs;           /* attempts recorded */
    _Atomic uint64_t        bytes_published;
    _Atomic uint64_t        inflight_records; /* taken by the publish
                                               * running now */

    /* Queries over HTTP (api_query.c): those running, at most
     * query.max_concurrent; query_cv is signalled as each ends. */
    pthread_mutex_t         query_mu;
    pthread_cond_t          query_cv;
    struct fl_query_task   *queries;
    uint64_t                n_queries;
    _Atomic int             queries_closed;   /* stopping: no new ones */
    _Atomic uint64_t        queries_started;
    _Atomic uint64_t        queries_refused;  /* answered 429 */
    struct fl_http_keys     keys;             /* http.c, set at start */
    /* Bytes reserved by request bodies being received (http.c), at most
     * server.max_inflight_bytes. */
    _Atomic uint64_t        inflight_bytes;
};

/* Checkpoints the WAL up to what both the archive and the saved metric
 * state hold (server.c). */
void fl_server_checkpoint(struct fl_server *s);

/* ---- ingest.c ------------------------------------------------------- */

/* Appends n bytes at p and a newline to a growing text (*text, *len,
 * *cap). Returns 0 or FL_ENOMEM (the text is unchanged then). */
int  fl_server_append_line(char **text, size_t *len, size_t *cap,
                           const char *p, size_t n);

/* Takes a request body of flow-log lines (plain or gzip, detected by its
 * magic bytes; with more than one provenance run the body is taken as
 * plain text, the runs' offsets being offsets into it), with a header
 * line or format_spec (NULL = default); a header line further down that
 * names other fields switches the format for the lines after it (each
 * run stored in its own format). segs[0..n_segs) (may be NULL /
 * 0: no provenance) are in order, segs[0].off = 0. The caller counts the
 * request and its bytes; this counts records and rejected lines. It
 * validates every line (bad ones go to the errors folder), writes the good
 * ones to the WAL -- with the dedupe keys of the request, if any, and each
 * run's provenance in the records of its lines -- waits until durable,
 * buffers them and fills res. */
void fl_server_ingest(struct fl_server *s, enum fl_source_kind kind,
                      const char *source, const char *body, size_t len,
                      const char *format_spec, const uint64_t *keys,
                      size_t n_keys, const struct fl_prov_seg *segs,
                      size_t n_segs, struct fl_ingest_result *res);

/* ---- api_query.c ---------------------------------------------------- */

struct request;

/* POST /api/query: SQL over the archive plus the not-yet-published
 * records, sandboxed, in a worker process; the connection is suspended
 * while it runs and answered when libmicrohttpd calls again. */
enum MHD_Result fl_api_query(struct fl_server *s, struct MHD_Connection *c,
                             struct request *req);
/* POST /api/query/cancel?id=ID: kills the running queries whose request
 * carried X-Flowlake-Query-Id: ID; 404 when none runs. */
enum MHD_Result fl_api_query_cancel(struct fl_server *s,
                                    struct MHD_Connection *c);
/* The longest X-Flowlake-Query-Id taken. */
#define FL_QUERY_ID_MAX 64
/* How many queries run now. */
uint64_t fl_api_query_running(struct fl_server *s);
/* Frees a request's query (on_completed). */
void fl_api_query_free(struct fl_query_task *t);
/* Refuses new queries, kills the running ones' workers and waits until
 * every suspended connection is resumed: before libmicrohttpd stops. */
void fl_api_query_stop(struct fl_server *s);

/* ---- status.c -------------------------------------------------------- */

/* A request of a source arrived: counted, and its time kept. */
void fl_server_count_request(struct fl_server *s, enum fl_source_kind kind);
/* Records accepted and rejected by a source, for its rates. */
void fl_server_rate_add(struct fl_server *s, enum fl_source_kind kind,
                        uint64_t records, uint64_t rejected);
/* Keeps one publish attempt in the ring GET /api/publishes shows. */
void fl_server_note_publish(struct fl_server *s,
                            const struct fl_publish_entry *e);
/* One source's members of source_rates in GET /api/status
 * ("\"last_request\":...", no braces); returns the bytes written, at
 * most cap - 1. */
size_t fl_status_source_json(struct fl_server *s, enum fl_source_kind kind,
                             int64_t now, char *out, size_t cap);

/* GET /api/publishes, GET /api/rejects, GET /api/alarms/history. */
enum MHD_Result fl_api_publishes(struct fl_server *s,
                                 struct MHD_Connection *c);
enum MHD_Result fl_api_rejects(struct fl_server *s, struct MHD_Connection *c);
enum MHD_Result fl_api_alarm_history(struct fl_server *s,
                                     struct MHD_Connection *c);

/* The metrics' endpoints (GET /metrics, /api/metrics, /api/alarms, POST
 * /api/metrics/batch) are in metrics/api_metrics.h. */

/* dashboards.c: GET /api/dashboards (the list), and GET, PUT, DELETE
 * /api/dashboards/NAME (name = the path after the prefix). */
enum MHD_Result fl_api_dashboards(struct fl_server *s,
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

/* POST /firehose (Kinesis Data Firehose HTTP endpoint delivery) and
 * POST /cwl (CloudWatch Logs subscription payloads), in aws.c. */
enum MHD_Result fl_aws_firehose(struct fl_server *s, struct MHD_Connection *c,
                                struct request *req);
enum MHD_Result fl_aws_firehose_error(struct fl_server *s,
                                      struct MHD_Connection *c,
                                      unsigned int status, const char *msg);
enum MHD_Result fl_aws_cwl(struct fl_server *s, struct MHD_Connection *c,
                           struct request *req);

/* ---- ui.c ----------------------------------------------------------- */

/* GET/HEAD of one of the web UI's embedded files (ui.h): gzip when
 * accepted, ETag, 304 on If-None-Match. */
struct fl_ui_asset;
enum MHD_Result fl_ui_serve(struct MHD_Connection *c,
                            const struct fl_ui_asset *a);

/* ---- http.c --------------------------------------------------------- */

/* Starts libmicrohttpd on cfg->listen. Returns 0 or <0 with err set. */
int  fl_http_start(struct fl_server *s, char *err, size_t errlen);
void fl_http_stop(struct fl_server *s);

#endif /* FL_SERVER_INT_H */
