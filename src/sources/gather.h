/* SPDX-License-Identifier: MIT
 *
 * gather.h -- a delivery's lines gathered into one body for the pipeline,
 * with what a source knows of them: the dedupe key of each piece (a
 * CloudWatch Logs event, a Kafka message) with the span of text it
 * covers, and the provenance runs (log group, log stream and owner of
 * CloudWatch Logs lines; the delivery stream and its attributes of the
 * whole delivery). The Firehose and CloudWatch Logs endpoints (http/aws.c)
 * and the Kafka source (kafka.c) gather this way.
 *
 * Once gathered, fl_gather_claim claims every key at once in the source's
 * dedupe memory and drops the text of the pieces already taken (or
 * repeated within the delivery); after the pipeline has the body,
 * fl_gather_end_claims commits the claims (or aborts them on failure, so
 * that a retry may try again).
 *
 * Thread: one gather, one thread.
 */
#ifndef FL_GATHER_H
#define FL_GATHER_H

#include <stddef.h>
#include <stdint.h>

#include "../core/fl_buf.h"
#include "../ingest/ingest.h"
#include "source.h"

struct fl_dedupe;

struct fl_gather {
    struct fl_dedupe *dedupe;      /* where the keys are claimed */
    uint64_t          wait_ms;     /* how long a claim waits (dedupe_wait) */
    struct fl_buf     text;        /* the lines, each ending in '\n' */
    uint64_t         *keys;        /* claimed: exactly these, once claimed */
    size_t           *key_start;   /* the text each key covers: */
    size_t           *key_end;     /* [key_start, key_end) */
    size_t            n_keys, cap_keys;
    int               claimed;     /* keys[0..n_keys) are claimed by us */
    uint64_t          duplicates;  /* pieces dropped by the claim */
    /* Provenance runs (offsets into text) and the strings each owns: its
     * log group, log stream and owner (NULL for text lines). */
    struct fl_prov_seg *segs;
    char            **own;         /* 3 per run */
    size_t            n_segs, cap_segs;
    /* Of the whole delivery (borrowed; NULL = none). */
    const char       *delivery_stream, *attributes, *stream_account,
                     *stream_region;
};

/* An empty gather claiming in dedupe, waiting up to wait_ms. */
void fl_gather_init(struct fl_gather *g, struct fl_dedupe *dedupe,
                    uint64_t wait_ms);

/* fl_ingest_line_fn for the decoders: appends the line with its
 * provenance run; a line with a CloudWatch Logs event id gets the event's
 * key (FL_DEDUPE_CWL), covering the line. ctx: the gather. */
int  fl_gather_on_line(void *ctx, const struct fl_ingest_line *line);

/* Appends text lines (a final line without its newline gets one), in a
 * provenance run of no CloudWatch Logs origin. Returns 0 or FL_ENOMEM. */
int  fl_gather_add_text(struct fl_gather *g, const char *p, size_t n);

/* Adds key covering the text from byte start to the end of the text now
 * (start == text.len: nothing, as for a request id). Returns 0 or
 * FL_ENOMEM. */
int  fl_gather_add_key(struct fl_gather *g, uint64_t key, size_t start);

/* Forgets what was gathered from text byte `len` and key `n_keys` on (a
 * record that turned out undecodable). */
void fl_gather_truncate(struct fl_gather *g, size_t len, size_t n_keys);

/* Claims every key (see the file comment). Keys added afterwards (a
 * request id the caller claimed itself) are ended with them by
 * fl_gather_end_claims. Returns 0, FL_EAGAIN (keys still in flight in
 * another delivery; nothing claimed) or FL_ENOMEM. */
int  fl_gather_claim(struct fl_gather *g);

/* Commits (ok) or aborts the claims, if any. */
void fl_gather_end_claims(struct fl_gather *g, int ok);

/* Aborts the claims still held and frees everything; g can be reused
 * after fl_gather_init. */
void fl_gather_free(struct fl_gather *g);

#endif /* FL_GATHER_H */
