/* SPDX-License-Identifier: MIT
 *
 * pipeline.h -- the way every record takes between a source and a sink:
 * validate the lines (bad ones to the errors folder), append the good ones
 * to the write-ahead log, wait until durable, buffer them, and publish the
 * buffer to the sink (the local archive) when it is full enough or old
 * enough. Exactly once across crashes: a publish records the WAL sequence
 * it covers atomically with its files (sinks/sink.h), and a start replays
 * what the WAL holds above that mark.
 *
 * The pipeline owns the buffer, the WAL, the dedupe memory, the errors
 * file and the publisher thread; nothing outside src/pipeline/ sees them
 * except through the functions below. Its one observer, the metrics, is a
 * struct fl_pipeline_tap: told of every block appended and every block
 * replayed, and asked how far its own saved state reaches (the WAL is never
 * cut below it).
 *
 * Life: fl_pipeline_create, fl_pipeline_open (loads the dedupe memory,
 * opens and replays the WAL), fl_pipeline_start (the publisher), then
 * fl_pipeline_ingest from any thread; fl_pipeline_stop_publisher publishes
 * what is left, fl_pipeline_close closes the WAL, fl_pipeline_destroy.
 */
#ifndef FL_PIPELINE_H
#define FL_PIPELINE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "../archive/rejects.h"
#include "../core/fl_error.h"
#include "../sources/source.h"
#include "../wal/wal.h"
#include "buffer.h"
#include "dedupe.h"

struct fl_config;
struct fl_pipeline;
struct fl_source_counters;

/* The metrics' view of the pipeline; any member may be NULL. */
struct fl_pipeline_tap {
    /* A request's blocks, in WAL order, at the moment they are appended
     * (under the append lock: arrival_ms grows with the sequence). */
    void     (*appended)(void *ctx, struct fl_buffer_block *list,
                         uint64_t arrival_ms);
    /* A block of a complete request found in the WAL at open. */
    int      (*replayed)(void *ctx, const struct fl_buffer_block *b,
                         uint64_t arrival_ms);
    /* The WAL sequence the tap's saved state reaches: the WAL is cut at
     * the lower of it and what the sink holds. */
    uint64_t (*persisted_seq)(void *ctx);
    void     *ctx;
};

/* One publish attempt, kept for GET /api/publishes. */
#define FL_PUBLISH_RING 32
struct fl_publish_entry {
    int64_t  time;                /* epoch seconds at its end */
    double   seconds;             /* how long it took */
    uint64_t records, files, bytes, blocks;
    uint64_t wal_seq;             /* the WAL position it covers */
    int      ok;
    char     error[256];          /* when !ok */
};

/* What GET /api/status and GET /metrics show of the pipeline. */
struct fl_pipeline_stats {
    struct fl_wal_stats     wal;
    struct fl_dedupe_stats  dedupe;
    struct fl_buffer_info   buffer;
    struct fl_rejects_stats rejects;
    uint64_t replayed;            /* records recovered at open */
    uint64_t held_requests;       /* held, waiting to be settled */
    uint64_t held_records;
    uint64_t held_kept, held_dropped; /* settled since start */
    uint64_t published_seq;       /* the WAL mark the archive holds */
    uint64_t inflight_records;    /* taken by the publish running now */
    uint64_t files_published, records_published, bytes_published;
    uint64_t publish_failures;
    int64_t  last_publish;        /* epoch seconds, 0 = never */
    char     last_error[512];     /* last publish failure, "" = none */
};

/* cfg (archive.*, wal.*, server.* limits) and counters (where accepted
 * and rejected lines are counted) are borrowed. Creates the archive
 * folder, the sink, the buffer, the dedupe memory and a new errors file.
 * Returns 0, or <0 with err set. */
int  fl_pipeline_create(const struct fl_config *cfg,
                        struct fl_source_counters *counters,
                        struct fl_pipeline **out, struct fl_err *err);

/* Loads the dedupe file and opens the WAL, putting back into the buffer
 * (and telling tap of) every complete request the sink does not hold yet.
 * tap is copied. Returns 0, or <0 with err set (a damaged dedupe file or
 * WAL stops the start: see docs/serve.md). */
int  fl_pipeline_open(struct fl_pipeline *pl,
                      const struct fl_pipeline_tap *tap,
                      struct fl_err *err);

/* Starts the publisher thread. Returns 0, or <0 with err set. */
int  fl_pipeline_start(struct fl_pipeline *pl, struct fl_err *err);

/* Takes a body of flow-log lines from a source: fl_source_ingest_fn's
 * contract (sources/source.h). Plain or gzip (detected by
 * its magic bytes; with more than one provenance run the body is taken as
 * plain text, the runs' offsets being offsets into it), with a header
 * line or format_spec (NULL = default); a header line further down that
 * names other fields switches the format for the lines after it. Every
 * line is validated (bad ones go to the errors folder), the good ones are
 * written to the WAL -- with the dedupe keys, if any, and each run's
 * provenance -- and buffered once durable. Counts the records and rejected
 * lines; the caller counts the request. */
void fl_pipeline_ingest(struct fl_pipeline *pl, enum fl_source_kind kind,
                        const char *source, const char *body, size_t len,
                        const char *format_spec, const uint64_t *keys,
                        size_t n_keys, const struct fl_prov_seg *segs,
                        size_t n_segs, struct fl_ingest_result *res);

/* fl_pipeline_ingest for a source that learns only afterwards whether
 * the records are its to keep (Kafka: the offset commit decides, see
 * held.c). The accepted lines are durable on return -- with hold, the
 * source's description of the request (at most 60,000 bytes), in their
 * first WAL record -- but neither buffered nor shown to the metrics: *id
 * (0 when nothing was accepted) is held until fl_pipeline_settle. A
 * request still held when the server stops is held again at the next
 * start (fl_pipeline_each_held). No format spec nor dedupe keys. */
void fl_pipeline_ingest_held(struct fl_pipeline *pl, enum fl_source_kind kind,
                             const char *source, const char *body, size_t len,
                             const struct fl_prov_seg *segs, size_t n_segs,
                             const char *hold, uint64_t *id,
                             struct fl_ingest_result *res);

/* Settles a held request: kept (buffered, shown to the metrics, published
 * as any other) or dropped (forgotten; durably so before this returns, so
 * that the source may read its input again). Returns 0, or <0 with err
 * set: the request is still held then (the log failed; try again). */
int  fl_pipeline_settle(struct fl_pipeline *pl, uint64_t id, int keep,
                        struct fl_err *err);

/* Calls fn for each held request waiting to be settled, oldest first (fn
 * may settle it; NULL only counts). Returns how many there were. */
size_t fl_pipeline_each_held(struct fl_pipeline *pl,
                             void (*fn)(void *ctx, uint64_t id,
                                        const char *hold, uint64_t records),
                             void *ctx);

/* The dedupe memory (sources that can deliver a piece twice ask it
 * first) and the errors file (sources record undecodable input there).
 * The Kafka source's keys have a memory of their own
 * (kafka.dedupe_max_keys): fl_pipeline_dedupe_for(pl, FL_SOURCE_KAFKA). */
struct fl_dedupe  *fl_pipeline_dedupe(struct fl_pipeline *pl);
struct fl_dedupe  *fl_pipeline_dedupe_for(struct fl_pipeline *pl,
                                          enum fl_source_kind kind);
struct fl_rejects *fl_pipeline_rejects(struct fl_pipeline *pl);

/* The snapshot lock: readers hold it shared while they list the archive
 * and the unpublished blocks; the publisher holds it exclusively while it
 * takes blocks from the buffer, and while its files appear in the archive
 * and the published blocks stop being unpublished -- so a reader sees
 * every record once. The metrics take it too, for the same reason. */
pthread_rwlock_t *fl_pipeline_snapshot_lock(struct fl_pipeline *pl);

/* Calls fn for every block not yet in the archive: the one being
 * published, then the buffered ones, oldest first. Only with the snapshot
 * lock held (shared or exclusive). */
void fl_pipeline_each_unpublished(struct fl_pipeline *pl,
                                  void (*fn)(void *ctx,
                                             const struct fl_buffer_block *b),
                                  void *ctx);

/* Cuts the WAL up to what both the sink and the tap hold. */
void fl_pipeline_checkpoint(struct fl_pipeline *pl);

void fl_pipeline_stats(struct fl_pipeline *pl, struct fl_pipeline_stats *out);

/* Copies up to max of the last publish attempts, newest first; returns
 * how many, and sets *attempts to the number made since start. */
size_t fl_pipeline_publishes(struct fl_pipeline *pl,
                             struct fl_publish_entry *out, size_t max,
                             uint64_t *attempts);

/* Publishes what is buffered and stops the publisher (a failing publish
 * is not retried: what is left stays in the WAL). */
void fl_pipeline_stop_publisher(struct fl_pipeline *pl);

/* After the publisher and the tap have stopped: a last checkpoint, then
 * the errors file and the WAL are closed. Returns 0, or FL_EAGAIN when
 * records are left for the next start (or the WAL failed to close). */
int  fl_pipeline_close(struct fl_pipeline *pl);

void fl_pipeline_destroy(struct fl_pipeline *pl);

#endif /* FL_PIPELINE_H */
