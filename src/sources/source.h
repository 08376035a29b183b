/* SPDX-License-Identifier: MIT
 *
 * source.h -- what a source of flow-log text is given by the server, and
 * what it gives back. A source is anything that brings lines in: the HTTP
 * endpoints (POST /ingest, /firehose, /cwl, in http/), and the sources
 * that run a thread of their own -- the watched folder (watch.h), the demo
 * generator (demo.h), and a Kafka consumer next. Each sees only a struct
 * fl_source_env: a way to hand a body to the pipeline (validate,
 * write-ahead log, buffer; durable when it returns), the dedupe memory,
 * the errors file, the counters and whether the server still runs --
 * never the server's or the pipeline's own state.
 *
 * Thread: the env's functions may be called from any thread.
 */
#ifndef FL_SOURCE_H
#define FL_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "../archive/convert.h"
#include "../core/fl_error.h"

struct fl_config;
struct fl_dedupe;
struct fl_rejects;
struct fl_source_counters;

enum fl_source_kind {
    FL_SOURCE_INGEST,             /* POST /ingest */
    FL_SOURCE_FIREHOSE,           /* POST /firehose */
    FL_SOURCE_CWL,                /* POST /cwl */
    FL_SOURCE_WATCH,              /* files appearing in watch.dir */
    FL_SOURCE_DEMO,               /* serve --demo's generator */
    FL_SOURCE_KAFKA,              /* the Kafka consumer (kafka.brokers) */
    FL_SOURCE_COUNT
};

/* "ingest", "firehose", "cwl", "watch", "demo", "kafka": the names
 * /api/status and /metrics give the sources. */
const char *fl_source_name(enum fl_source_kind kind);

/* Where a run of a body's lines came from: the lines from byte off of the
 * body up to the next run's off (or the end) have provenance prov
 * (archive/convert.h; strings borrowed for the call). */
struct fl_prov_seg {
    size_t off;
    struct fl_provenance prov;
};

/* What became of a body: lines accepted and rejected, and err.code 0 or
 * why it was not taken (err.msg for the sender). The code says what the
 * sender can do -- FL_ETOOBIG, FL_EPARSE, FL_ECONFIG, FL_ECORRUPT: fix the
 * request; FL_EAGAIN, FL_ENOMEM: retry later -- and an HTTP source
 * answers fl_http_status(err.code); the folder watcher and the demo,
 * which have no one to answer, log it. */
struct fl_ingest_result {
    uint64_t      accepted;
    uint64_t      rejected;
    struct fl_err err;
};

/* A body handed to the pipeline: lines (plain or gzip) with a header line
 * or format_spec (NULL = the default), the dedupe keys that ride with it
 * and its provenance runs (segs may be NULL / 0). On return the accepted
 * lines are durable and buffered, and res says what happened (see
 * fl_pipeline_ingest in pipeline/pipeline.h for the whole contract). */
typedef void fl_source_ingest_fn(void *ctx, enum fl_source_kind kind,
                                 const char *source, const char *body,
                                 size_t len, const char *format_spec,
                                 const uint64_t *keys, size_t n_keys,
                                 const struct fl_prov_seg *segs,
                                 size_t n_segs,
                                 struct fl_ingest_result *res);

struct fl_pipeline;

struct fl_source_env {
    const struct fl_config *cfg;
    /* The server's memory of what was taken (dedupe.h): a source that
     * can deliver the same piece twice (a restart) asks it first. */
    struct fl_dedupe       *dedupe;
    /* The errors folder's file: input a source cannot even decode into
     * lines (a Firehose record that is not base64) is recorded there. */
    struct fl_rejects      *rejects;
    /* Each request (an HTTP body, a file piece, a generated batch) is
     * counted here by its source (counters.h); the pipeline counts the
     * records. */
    struct fl_source_counters *counters;
    fl_source_ingest_fn    *ingest;
    /* The pipeline itself, for a source whose records wait for its word
     * before they count (Kafka: fl_pipeline_ingest_held); NULL for the
     * others. */
    struct fl_pipeline     *pipeline;
    /* 1 while the server takes input; 0 once it stops (the source's
     * thread then ends). */
    int  (*running)(void *ctx);
    void *ctx;
};

#endif /* FL_SOURCE_H */
