/* SPDX-License-Identifier: MIT
 *
 * pipeline_int.h -- the pipeline's state, shared by the files of
 * src/pipeline/ only: pipeline.c (life, checkpoint, figures), ingest.c
 * (validate and append), publisher.c (the publisher thread) and recover.c
 * (the dedupe file and the WAL replay at open).
 */
#ifndef FL_PIPELINE_INT_H
#define FL_PIPELINE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline.h"

struct fl_sink;

struct fl_pipeline {
    const struct fl_config    *cfg;
    struct fl_source_counters *counters;        /* borrowed */
    struct fl_pipeline_tap     tap;
    struct fl_buffer          *buffer;
    struct fl_sink            *sink;            /* where publishes go */
    struct fl_rejects         *rejects;
    char                       rejects_name[96]; /* "_errors/serve-....jsonl" */
    struct fl_wal             *wal;
    size_t                     wal_max_record;  /* largest WAL payload */
    /* The dedupe memories: of deliveries (Firehose request ids, CloudWatch
     * Logs event ids, file pieces), and apart, so that their volume never
     * pushes those out, of Kafka messages. */
    struct fl_dedupe          *dedupe;
    char                      *dedupe_path;     /* ARCHIVE/_flowlake/dedupe */
    struct fl_dedupe          *kafka_dedupe;
    char                      *kafka_dedupe_path; /* .../dedupe-kafka */
    uint64_t                   replayed;        /* records recovered at open */

    /* WAL sequence the archive holds up to (the last publish's mark); the
     * WAL is checkpointed to the lower of it and the tap's. */
    _Atomic uint64_t           published_seq;
    pthread_mutex_t            ckpt_mu;
    /* Orders "append to the WAL, add to the buffer" so that the buffer is
     * in sequence order: a publish of everything taken from the buffer
     * then covers every sequence number up to its last block. */
    pthread_mutex_t            append_mu;
    /* See fl_pipeline_snapshot_lock. */
    pthread_rwlock_t           snap_lock;
    struct fl_buffer_block    *inflight;        /* being published */

    /* Held requests (held.c): durable, neither buffered nor shown to the
     * metrics until their source settles them. held_low is the first
     * record of the oldest (UINT64_MAX: none): the WAL is never cut at
     * or past it. */
    pthread_mutex_t            held_mu;
    struct fl_held            *held;
    _Atomic uint64_t           held_low;
    _Atomic uint64_t           held_kept, held_dropped;  /* settled */

    pthread_t                  publisher;
    int                        publisher_started;
    _Atomic int                stopping;
    /* The publisher's figures: counters, the last failure (err_mu) and
     * the ring of the last attempts (pub_mu). */
    _Atomic uint64_t           inflight_records;
    _Atomic uint64_t           files_published;
    _Atomic uint64_t           records_published;
    _Atomic uint64_t           bytes_published;
    _Atomic uint64_t           publish_failures;
    _Atomic int64_t            last_publish;    /* epoch seconds, 0 = never */
    int                        publish_failing; /* publisher thread only */
    uint64_t                   rejects_logged;  /* publisher thread only:
                                                 * rejected lines summed up
                                                 * in the log */
    pthread_mutex_t            err_mu;
    char                       last_error[512];
    pthread_mutex_t            pub_mu;
    struct fl_publish_entry    pubs[FL_PUBLISH_RING];
    uint64_t                   n_pubs;          /* attempts recorded */
};

/* The dedupe memory of a source kind's keys. */
static inline struct fl_dedupe *
fl_pipeline_dedupe_of(struct fl_pipeline *pl, unsigned kind)
{
    return kind == FL_SOURCE_KAFKA ? pl->kafka_dedupe : pl->dedupe;
}

/* A held request (see fl_pipeline_ingest_held): its blocks, waiting. */
struct fl_held {
    struct fl_held         *next;
    uint64_t                id;        /* WAL sequence of its first record */
    char                   *hold;      /* the source's description */
    struct fl_buffer_block *blocks;
    uint64_t                records;
    /* Kept: the settle record's sequence, under which the blocks went to
     * the buffer. Until the archive and the tap hold that far, the log
     * must keep the request's own records (its text is there only). */
    uint64_t                kept_seq;  /* 0 = waiting to be settled */
};

/* held.c: adds a request whose records were just appended (under the
 * append lock, before any later record: the WAL must not be cut past it
 * from that moment). Takes blocks. Returns 0 or FL_ENOMEM (blocks then
 * freed). */
int  fl_held_add(struct fl_pipeline *pl, uint64_t id, const char *hold,
                 struct fl_buffer_block *blocks, uint64_t records);
/* held.c: takes the request id, waiting, out of the list (NULL: not
 * held). */
struct fl_held *fl_held_take(struct fl_pipeline *pl, uint64_t id);
void fl_held_free(struct fl_held *h);
/* held.c: request id failed after its first record reached the log:
 * forgotten, and a durable settle record says it was dropped (best
 * effort: when the log itself failed, nothing is stored after it). */
void fl_held_forget(struct fl_pipeline *pl, uint64_t id);
/* held.c: the requests waiting to be settled, and their records. */
void fl_held_stats(struct fl_pipeline *pl, uint64_t *requests,
                   uint64_t *records);
/* held.c: forgets the kept requests both the archive and the tap hold
 * (their settle record at or below mark), and returns the lowest
 * sequence the log must keep for those left (UINT64_MAX: none). */
uint64_t fl_held_prune(struct fl_pipeline *pl, uint64_t mark);
/* held.c: the replay's settle record seq (what became of a held request):
 * a kept one is buffered under seq, when the archive's mark is below it,
 * and shown to the tap. Returns 0 or <0 (the tap's error). */
int  fl_held_replay_settle(struct fl_pipeline *pl, uint64_t seq,
                           uint64_t published, const void *payload,
                           size_t len);

/* publisher.c: the publisher thread's body (arg: the pipeline). */
void *fl_pipeline_publisher_main(void *arg);

/* recover.c: loads the dedupe file, then opens the WAL and replays it
 * (see fl_pipeline_open). Returns 0 or <0 with err set. */
int  fl_pipeline_recover(struct fl_pipeline *pl, struct fl_err *err);

/* ingest.c: appends n bytes at p and a newline to a growing text (*text,
 * *len, *cap). Returns 0 or FL_ENOMEM (the text is unchanged then). */

#endif /* FL_PIPELINE_INT_H */
