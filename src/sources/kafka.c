/* SPDX-License-Identifier: MIT
 *
 * kafka.c -- the Kafka source (see kafka.h): one consumer thread, two
 * storer threads.
 *
 * It polls messages into a batch -- one gather (gather.h) for all its
 * partitions, so that a batch is made durable with one write-ahead-log
 * commit however many partitions it spans -- each message decoded as
 * kafka.format says (flow-log lines, or a CloudWatch Logs subscription
 * payload, whose undecodable messages go to the errors file with their
 * reason). A batch ends at kafka.batch_records messages, when the topic
 * has had nothing for 100 ms, and before the group takes partitions away
 * (the rebalance callback). Then, on a storer thread (two batches are
 * stored at once; each is committed after every batch read before it):
 *
 *   1. the batch goes to the pipeline as one body, held
 *      (pipeline/held.c): durable in the write-ahead log, with a line per
 *      partition saying its offsets and this consumer's tenure of it
 *      (tenure.h), but neither buffered nor counted yet;
 *   2. the offset after the batch's last message in each partition is
 *      committed, synchronously, with the partition's tenure history as
 *      the commit's metadata;
 *   3. the batch is settled: kept when the commit went through; when it
 *      did not, the group is asked what became of it (tenure.h: a commit
 *      refused because the partitions went to another consumer did not),
 *      and a batch whose commit did not go through is dropped and read
 *      again -- by this consumer if it still has the partitions, else by
 *      the one that has them now. A failed ingest (the log full, say)
 *      commits nothing: every partition is sought back to the batch's
 *      first offset in it and read again a second later.
 *
 * Offsets are committed only after the records are durable, never before
 * (a commit-then-buffer consumer loses what it had buffered when it
 * dies), and the records count only once the commit is known to have
 * gone through: of two consumers that read the same messages -- one died
 * between steps 1 and 3, its partitions went to the other -- only the
 * one whose commit covered them keeps them. A batch a crash left held is
 * settled the same way at the next start, before anything is read.
 */
#include "../core/fl_config.h"

#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../archive/rejects.h"
#include "../config/config.h"
#include "../core/fl_error.h"
#include "../core/fl_log.h"
#include "../core/fl_mem.h"
#include "../core/fl_sync.h"
#include "../core/fl_time.h"
#include "../ingest/gunzip.h"
#include "../ingest/ingest.h"
#include "../pipeline/dedupe.h"
#include "../pipeline/pipeline.h"
#include "../wal/wal.h"
#include "counters.h"
#include "gather.h"
#include "kafka.h"
#include "tenure.h"

/* A batch also ends when a poll has waited this long for a message. */
#define POLL_MS 100
/* Messages taken from librdkafka's queue per call. */
#define POLL_BATCH 1024
/* After a failed ingest, the partition is read again this much later. */
#define RETRY_SECONDS 1
/* A batch's partitions, offsets and tenures ride in its first
 * write-ahead-log record (its hold: at most 64 KiB with the record's
 * provenance); a batch ends before their description passes this. */
#define MAX_HOLD_BYTES (48 * 1024)
/* How long a request for committed offsets may take. */
#define COMMITTED_TIMEOUT_MS 10000

enum kafka_format { FORMAT_AUTO, FORMAT_LINES, FORMAT_CWL };

/* This consumer's tenure of one assigned partition (tenure.h): its id,
 * the one before it, and the history its commits carry. */
struct slot {
    char            *topic;
    int32_t          partition;
    char             id[FL_TENURE_ID_LEN + 1];
    char             pred[FL_TENURE_ID_LEN + 1];   /* "" = none */
    char             meta[FL_TENURE_TEXT_MAX + 1];
};

/* The offsets of one partition in the batch being gathered. */
struct part {
    char            *topic;
    int32_t          partition;
    int64_t          first, last;
    const struct slot *slot;         /* its tenure (valid until revoked) */
};

/* A batch: every message's lines in one gather (one body, made durable
 * with one write-ahead-log commit whatever the number of partitions), and
 * the offsets it covers per partition. */
struct batch {
    struct fl_gather g;
    struct part     *parts;
    size_t           n_parts, cap_parts;
    size_t           last_part;      /* parts[] of the last message */
    size_t           hold_bytes;     /* its hold's size, at most */
    uint64_t         messages, bytes;
    /* Once handed over: its place in the commit order, and what the
     * store phase left for the commit phase (see storer_main). */
    uint64_t         seq;
    int              stored;         /* durable (or nothing to store) */
    uint64_t         held_id;        /* 0 = nothing held */
    struct fl_buf    hold;
    struct fl_ingest_result res;
    double           store_ms;
};

/* Batches stored at once, and gathered meanwhile. */
#define STORERS 2
#define BATCHES (STORERS + 1)

struct fl_kafka {
    struct fl_source_env env;
    rd_kafka_queue_t    *queue;      /* the consumer's messages */
    uint64_t             batch_max;  /* messages per batch */
    /* Test hook (FLOWLAKE_KAFKA_DIE_BEFORE_COMMIT=N, docs/development.md):
     * the process dies at once after its Nth durable batch, before that
     * batch's commit -- the window a crash leaves messages stored and not
     * committed, made certain. 0 = off. */
    long                 die_before_commit;
    long                 durable_batches;
    /* Test hook (FLOWLAKE_KAFKA_DIE_AFTER_COMMIT=N): dies at once after
     * its Nth commit went through, before the batch is settled -- the
     * outcome a restart must find out from the group's history. */
    long                 die_after_commit;
    long                 committed_batches;
    struct fl_pipeline  *pl;
    /* The tenures of the partitions assigned (consumer thread; the
     * storer reads those of its batch, which a revocation waits for). */
    struct slot        **slots;
    size_t               n_slots, cap_slots;
    enum kafka_format    format;
    rd_kafka_t          *rk;
    struct fl_ingest    *dec;        /* CloudWatch Logs payloads */
    pthread_t            thread;     /* the consumer: gathers batches */
    /* The consumer gathers one batch while STORERS threads make the
     * ones handed before durable -- parsing and the write-ahead log run
     * beside librdkafka's decoding, and on both cores -- and commit them,
     * in the order they were handed (storer_main). */
    struct batch         bufs[BATCHES];
    struct batch        *cur;        /* being gathered (consumer) */
    pthread_t            storers[STORERS];
    int                  n_storers;  /* started */
    pthread_mutex_t      mu;
    pthread_cond_t       cv;
    struct batch        *handed[BATCHES]; /* handed, not yet taken */
    size_t               queued;
    size_t               in_flight;  /* handed, not yet committed */
    uint64_t             next_seq;   /* consumer: the next batch handed */
    uint64_t             turn;       /* the batch whose commit is next */
    /* The first batch that was not stored, or dropped: it and every batch
     * handed after it are read again (UINT64_MAX: none). */
    uint64_t             poison;
    int                  stop;       /* the storers end when idle */
    /* Where to read again: the first offsets of the batches not stored or
     * dropped (the consumer seeks there once none is in flight). */
    rd_kafka_topic_partition_list_t *seek_back;
    int                  failing;    /* in commit order: logged once */
};


/* Forgets what batch b holds (its claims, if any, aborted). */
static void
batch_clear(struct fl_kafka *k, struct batch *b)
{
    for (size_t i = 0; i < b->n_parts; i++)
        fl_free(b->parts[i].topic);
    b->n_parts = 0;
    b->hold_bytes = 0;
    fl_buf_reset(&b->hold);
    b->held_id = 0;
    b->stored = 0;
    b->store_ms = 0;
    b->messages = b->bytes = 0;
    fl_gather_free(&b->g);
    fl_gather_init(&b->g, k->env.dedupe, k->env.cfg->dedupe_wait * 1000);
}


/* The tenure of (topic, partition); NULL if not assigned. */
static const struct slot *
find_slot(const struct fl_kafka *k, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < k->n_slots; i++)
        if (k->slots[i]->partition == partition
            && strcmp(k->slots[i]->topic, topic) == 0)
            return k->slots[i];
    return NULL;
}


/* A new tenure of (topic, partition) after history h, starting at
 * offset start. Returns it, or NULL (out of memory). */
static struct slot *
add_slot(struct fl_kafka *k, const char *topic, int32_t partition,
         struct fl_tenure_history *h, int64_t start)
{
    struct slot **ns = fl_grow(k->slots, &k->cap_slots, k->n_slots + 1,
                               sizeof *ns, 16);
    if (ns == NULL)
        return NULL;
    k->slots = ns;
    struct slot *sl = fl_calloc(1, sizeof *sl);
    if (sl == NULL || (sl->topic = fl_strdup(topic)) == NULL) {
        fl_free(sl);
        return NULL;
    }
    sl->partition = partition;
    snprintf(sl->pred, sizeof sl->pred, "%s",
             h->n > 0 ? h->e[h->n - 1].id : "");
    fl_tenure_new_id(sl->id);
    fl_tenure_begin(h, sl->id, start, sl->meta, sizeof sl->meta);
    k->slots[k->n_slots++] = sl;
    return sl;
}


/* The tenure of a partition messages came from, begun now if the
 * assignment did not (it always does; without its history, the tenure
 * knows nothing of those before it). */
static const struct slot *
slot_for(struct fl_kafka *k, const char *topic, int32_t partition)
{
    const struct slot *sl = find_slot(k, topic, partition);
    if (sl == NULL) {
        struct fl_tenure_history h = { .truncated = 1 };
        sl = add_slot(k, topic, partition, &h, 0);
    }
    return sl;
}


/* Forgets every tenure (the partitions were revoked; the storer is
 * idle). */
static void
clear_slots(struct fl_kafka *k)
{
    for (size_t i = 0; i < k->n_slots; i++) {
        fl_free(k->slots[i]->topic);
        fl_free(k->slots[i]);
    }
    k->n_slots = 0;
}


/* Tenures begin for the partitions assigned: each one's committed offset
 * and history are asked of the group, so that reading starts where the
 * history says the new tenure starts. */
static void
begin_tenures(struct fl_kafka *k, rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_resp_err_t e = rd_kafka_committed(k->rk, parts,
                                               COMMITTED_TIMEOUT_MS);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        fl_log(FL_LOG_WARN, "kafka", "the group's committed offsets could "
               "not be read (%s): the tenures begin without the history "
               "before them", rd_kafka_err2str(e));
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        struct fl_tenure_history h;
        int64_t start = 0;
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR && tp->err == 0) {
            (void)fl_tenure_parse(tp->metadata, tp->metadata_size, &h);
            start = tp->offset >= 0 ? tp->offset : 0;
        } else {
            memset(&h, 0, sizeof h);
            h.truncated = 1;
            tp->offset = RD_KAFKA_OFFSET_INVALID;    /* the group's own */
        }
        if (find_slot(k, tp->topic, tp->partition) == NULL
            && add_slot(k, tp->topic, tp->partition, &h, start) == NULL)
            fl_log(FL_LOG_ERROR, "kafka", "%s", FL_OOM_TEXT);
    }
}


static struct part *
part_of(struct fl_kafka *k, struct batch *b, const char *topic,
        int32_t partition)
{
    /* Messages come in runs of one partition (a fetch's): the last one's
     * first. */
    if (b->last_part < b->n_parts
        && b->parts[b->last_part].partition == partition
        && strcmp(b->parts[b->last_part].topic, topic) == 0)
        return &b->parts[b->last_part];
    for (size_t i = 0; i < b->n_parts; i++)
        if (b->parts[i].partition == partition
            && strcmp(b->parts[i].topic, topic) == 0) {
            b->last_part = i;
            return &b->parts[i];
        }
    struct part *np = fl_grow(b->parts, &b->cap_parts, b->n_parts + 1,
                              sizeof *np, 8);
    if (np == NULL)
        return NULL;
    b->parts = np;
    struct part *p = &b->parts[b->n_parts];
    memset(p, 0, sizeof *p);
    if ((p->topic = fl_strdup(topic)) == NULL
        || (p->slot = slot_for(k, topic, partition)) == NULL) {
        fl_free(p->topic);
        return NULL;
    }
    p->partition = partition;
    p->first = -1;
    b->hold_bytes += strlen(topic) + 2 * FL_TENURE_ID_LEN + 3 * 21;
    b->last_part = b->n_parts++;
    return p;
}


/* "TOPIC/PARTITION@OFFSET", for the errors file. */
static void
message_name(char *out, size_t cap, const char *topic, int32_t partition,
             int64_t offset)
{
    snprintf(out, cap, "%s/%" PRId32 "@%" PRId64, topic, partition, offset);
}


static int
is_cwl(enum kafka_format f, const char *p, size_t n)
{
    if (f != FORMAT_AUTO)
        return f == FORMAT_CWL;
    while (n > 0 && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) {
        p++;
        n--;
    }
    return fl_gunzip_is_gzip(p, n) || (n > 0 && *p == '{');
}


/* Adds one message to its partition's gather. Returns 0 or FL_ENOMEM. */
static int
add_message(struct fl_kafka *k, const rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    const char *payload = m->payload ? m->payload : "";
    struct batch *b = k->cur;
    struct part *p = part_of(k, b, topic, m->partition);
    if (p == NULL)
        return FL_ENOMEM;
    if (p->first < 0)
        p->first = m->offset;
    p->last = m->offset;
    b->messages++;
    b->bytes += m->len;

    struct fl_gather *g = &b->g;
    size_t start = g->text.len, keys = g->n_keys;
    int rc;
    if (is_cwl(k->format, payload, m->len)) {
        struct fl_ingest_info info;
        struct fl_ingest_err err;
        rc = fl_ingest_decode_cwl(k->dec, payload, m->len, fl_gather_on_line,
                                  g, &info, &err);
        if (rc < 0 && rc != FL_ENOMEM) {
            /* Not a payload: to the errors file; the batch goes on. */
            char name[320];
            message_name(name, sizeof name, topic, m->partition, m->offset);
            fl_gather_truncate(g, start, keys);
            (void)fl_rejects_add(k->env.rejects, name, 1, err.msg, payload,
                                 m->len);
            fl_source_counters_records(k->env.counters, FL_SOURCE_KAFKA, 0,
                                       1);
            return FL_OK;
        }
        /* The event ids' keys are dropped: the offset names the message,
         * and the batch's hold (held.c) decides whether it is kept. */
        fl_gather_truncate(g, g->text.len, keys);
    } else {
        rc = fl_gather_add_text(g, payload, m->len);
    }
    return rc;
}


/* The batch's source, for the errors file and the log: "kafka TOPIC/P
 * offsets A-B" for one partition, "kafka N partitions of TOPIC" else. */
static void
batch_source(const struct batch *b, char *out, size_t cap)
{
    const struct part *p = &b->parts[0];
    int one_topic = 1;
    for (size_t i = 1; i < b->n_parts && one_topic; i++)
        one_topic = strcmp(b->parts[i].topic, p->topic) == 0;
    if (b->n_parts == 1)
        snprintf(out, cap, "kafka %s/%" PRId32 " offsets %" PRId64 "-%"
                 PRId64, p->topic, p->partition, p->first, p->last);
    else
        snprintf(out, cap, "kafka %zu partitions of %s%s", b->n_parts,
                 p->topic, one_topic ? "" : " and other topics");
}


/* The batch's description in the write-ahead log (its hold): a line per
 * partition, "TOPIC PARTITION FIRST LAST TENURE PRED" (PRED "-" for
 * none) -- what settling it after a crash asks the group about. */
static int
hold_text(const struct batch *b, struct fl_buf *out)
{
    for (size_t i = 0; i < b->n_parts; i++) {
        const struct part *p = &b->parts[i];
        (void)fl_buf_addf(out, "%s %" PRId32 " %" PRId64 " %" PRId64
                          " %s %s\n", p->topic, p->partition, p->first,
                          p->last, p->slot->id,
                          p->slot->pred[0] ? p->slot->pred : "-");
    }
    return fl_buf_addc(out, '\0');
}


/* The store phase of batch b (a storer, beside the other): durable,
 * held, its outcome left in b for the commit phase. */
static void
store_batch(struct fl_kafka *k, struct batch *b)
{
    const struct fl_source_env *env = &k->env;
    struct fl_gather *g = &b->g;
    char source[400];
    double t0 = fl_time_mono();
    batch_source(b, source, sizeof source);
    fl_source_counters_request(env->counters, FL_SOURCE_KAFKA, b->bytes);
    memset(&b->res, 0, sizeof b->res);
    b->held_id = 0;
    if (hold_text(b, &b->hold) < 0)
        fl_err_oom(&b->res.err);
    else if (g->text.len > 0)
        fl_pipeline_ingest_held(k->pl, FL_SOURCE_KAFKA, source, g->text.p,
                                g->text.len, g->segs, g->n_segs, b->hold.p,
                                &b->held_id, &b->res);
    b->stored = b->res.err.code == 0;
    b->store_ms = (fl_time_mono() - t0) * 1e3;
}


/* The offsets of b's partitions: after its last message, with each
 * tenure's history as metadata (to commit), or at its first (to read
 * again). The metadata is borrowed: commit_batch clears it. */
static rd_kafka_topic_partition_list_t *
offsets(const struct batch *b, int after)
{
    rd_kafka_topic_partition_list_t *list =
        rd_kafka_topic_partition_list_new((int)b->n_parts);
    for (size_t i = 0; i < b->n_parts; i++) {
        const struct part *p = &b->parts[i];
        rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(
            list, p->topic, p->partition);
        tp->offset = after ? p->last + 1 : p->first;
        if (after) {
            tp->metadata = (void *)(uintptr_t)p->slot->meta;
            tp->metadata_size = strlen(p->slot->meta);
        }
    }
    return list;
}


/* Commits b's offsets with their tenures' histories. */
static rd_kafka_resp_err_t
commit_batch(struct fl_kafka *k, const struct batch *b)
{
    rd_kafka_topic_partition_list_t *list = offsets(b, 1);
    rd_kafka_resp_err_t e = rd_kafka_commit(k->rk, list, 0);
    for (int i = 0; i < list->cnt; i++) {
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR && list->elems[i].err != 0)
            e = list->elems[i].err;
        list->elems[i].metadata = NULL;     /* borrowed from the slot */
        list->elems[i].metadata_size = 0;
    }
    rd_kafka_topic_partition_list_destroy(list);
    return e;
}


/* A commit that was neither applied nor refused, as far as this consumer
 * knows: the coordinator could not be reached or did not answer. */
static int
commit_unanswered(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
        return 1;
    default:
        return 0;
    }
}


/* One line of a hold (see hold_text), parsed in place: p is cut into the
 * fields. Returns 0 or FL_EPARSE. */
struct hold_part {
    const char *topic, *tenure, *pred;
    int32_t     partition;
    int64_t     last;
};
static int
parse_hold_line(char *p, struct hold_part *out)
{
    char *f[6];
    for (int i = 0; i < 6; i++) {
        f[i] = p;
        p += strcspn(p, " ");
        if (i < 5) {
            if (*p != ' ')
                return FL_EPARSE;
            *p++ = '\0';
        }
    }
    if (*p != '\0')
        return FL_EPARSE;
    char *end;
    long long part = strtoll(f[1], &end, 10);
    if (*end != '\0' || part < 0 || part > INT32_MAX)
        return FL_EPARSE;
    long long last = strtoll(f[3], &end, 10);
    if (*end != '\0' || last < 0)
        return FL_EPARSE;
    out->topic = f[0];
    out->partition = (int32_t)part;
    out->last = last;
    out->tenure = f[4];
    out->pred = strcmp(f[5], "-") == 0 ? "" : f[5];
    return FL_OK;
}


/* Asks the group what became of the batch described by hold: the verdict
 * of every partition's committed offset and history (tenure.h), one for
 * all -- they were one commit. Returns 0 with *v set, or <0 when the
 * group could not be asked (try again later). */
static int
judge_hold(struct fl_kafka *k, const char *hold, enum fl_tenure_verdict *v)
{
    char *text = fl_strdup(hold);
    struct hold_part *hp = NULL;
    size_t n = 0, cap = 0;
    rd_kafka_topic_partition_list_t *list = NULL;
    int rc = text != NULL ? FL_OK : FL_ENOMEM;
    for (char *line = text; rc == 0 && line != NULL && *line != '\0';) {
        char *nl = strchr(line, '\n');
        if (nl != NULL)
            *nl = '\0';
        struct hold_part *nh = fl_grow(hp, &cap, n + 1, sizeof *nh, 8);
        if (nh == NULL)
            rc = FL_ENOMEM;
        else if ((rc = parse_hold_line(line, &(hp = nh)[n])) == 0)
            n++;
        line = nl != NULL ? nl + 1 : NULL;
    }
    if (rc == FL_EPARSE) {
        /* Not this version's: nothing to ask. Kept, as any unknown. */
        fl_log(FL_LOG_WARN, "kafka", "a held batch's description is not "
               "understood");
        *v = FL_TENURE_UNKNOWN;
        rc = FL_OK;
        n = 0;
    }
    if (rc == 0 && n > 0) {
        list = rd_kafka_topic_partition_list_new((int)n);
        for (size_t i = 0; i < n; i++)
            rd_kafka_topic_partition_list_add(list, hp[i].topic,
                                              hp[i].partition);
        rd_kafka_resp_err_t e = rd_kafka_committed(k->rk, list,
                                                   COMMITTED_TIMEOUT_MS);
        for (int i = 0; e == 0 && i < list->cnt; i++)
            e = list->elems[i].err;
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fl_log(FL_LOG_WARN, "kafka", "asking the group for committed "
                   "offsets: %s", rd_kafka_err2str(e));
            rc = FL_EAGAIN;
        }
    }
    if (rc == 0 && n > 0) {
        size_t keep = 0, drop = 0;
        for (size_t i = 0; i < n; i++) {
            rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(
                list, hp[i].topic, hp[i].partition);
            struct fl_tenure_history h;
            (void)fl_tenure_parse(tp->metadata, tp->metadata_size, &h);
            enum fl_tenure_verdict pv = fl_tenure_judge(
                &h, tp->offset, hp[i].tenure, hp[i].pred, hp[i].last);
            keep += pv == FL_TENURE_KEEP;
            drop += pv == FL_TENURE_DROP;
        }
        if (keep > 0 && drop > 0)
            fl_log(FL_LOG_WARN, "kafka", "a batch's partitions disagree on "
                   "whether its commit went through (%zu yes, %zu no)",
                   keep, drop);
        *v = keep > 0 ? FL_TENURE_KEEP
           : drop > 0 ? FL_TENURE_DROP : FL_TENURE_UNKNOWN;
    }
    if (list != NULL)
        rd_kafka_topic_partition_list_destroy(list);
    fl_free(hp);
    fl_free(text);
    return rc;
}


/* Says what the group's answer means for the batch `what`. */
static void
log_verdict(const char *what, enum fl_tenure_verdict v)
{
    if (v == FL_TENURE_UNKNOWN)
        fl_log(FL_LOG_WARN, "kafka", "%s: whether its commit went through "
               "is no longer in the group's history; kept (if another "
               "instance stored it too, it is there twice)", what);
    else if (v == FL_TENURE_DROP)
        fl_log(FL_LOG_INFO, "kafka", "%s: its commit did not go through; "
               "dropped, Kafka delivers it again", what);
    else
        fl_log(FL_LOG_INFO, "kafka", "%s: its commit went through; kept",
               what);
}


/* Settles held request id as verdict v says, retrying while the log
 * fails. Returns 0, or <0 if the server stopped first (it stays held for
 * the next start). */
static int
settle(struct fl_kafka *k, uint64_t id, enum fl_tenure_verdict v,
       const char *what)
{
    int logged = 0;
    for (;;) {
        struct fl_err err = FL_ERR_INIT;
        if (fl_pipeline_settle(k->pl, id, v != FL_TENURE_DROP, &err) == 0)
            return FL_OK;
        if (!logged)
            fl_log(FL_LOG_ERROR, "kafka", "%s: cannot settle it: %s; "
                   "trying again every %d s", what, fl_err_msg(&err),
                   RETRY_SECONDS);
        logged = 1;
        if (!k->env.running(k->env.ctx))
            return FL_EAGAIN;
        sleep(RETRY_SECONDS);
    }
}


/* After a commit that failed: the group is asked what became of it until
 * it answers. Returns 0 with *v, or <0 if the server stopped first. */
static int
judge_until_known(struct fl_kafka *k, const char *hold,
                  enum fl_tenure_verdict *v)
{
    while (judge_hold(k, hold, v) < 0) {
        if (!k->env.running(k->env.ctx))
            return FL_EAGAIN;
        sleep(RETRY_SECONDS);
    }
    return FL_OK;
}


/* Adds b's partitions, at their first offsets, to where the consumer
 * reads again (those already there from an earlier batch stay as they
 * are: that batch's first offsets come before b's). With mu held. */
static void
read_again(struct fl_kafka *k, const struct batch *b)
{
    if (k->seek_back == NULL)
        k->seek_back = rd_kafka_topic_partition_list_new((int)b->n_parts);
    for (size_t i = 0; i < b->n_parts; i++)
        if (rd_kafka_topic_partition_list_find(k->seek_back, b->parts[i].topic,
                                               b->parts[i].partition) == NULL)
            rd_kafka_topic_partition_list_add(
                k->seek_back, b->parts[i].topic, b->parts[i].partition)
                ->offset = b->parts[i].first;
}


/* The commit phase of batch b, in the order batches were handed (its
 * turn): committed and settled -- or, when it was not stored, was
 * dropped, or follows one that was, settled as dropped and left to be
 * read again. Returns 1 when b must be read again. */
static int
commit_batch_turn(struct fl_kafka *k, struct batch *b, int poisoned)
{
    char what[400];
    batch_source(b, what, sizeof what);
    if (poisoned) {
        /* An earlier batch is read again from before this one's messages:
         * committing this one would commit past them. */
        if (b->held_id != 0) {
            fl_log(FL_LOG_INFO, "kafka", "%s: read again with the batch "
                   "before it; dropped", what);
            (void)settle(k, b->held_id, FL_TENURE_DROP, what);
        }
        return 1;
    }
    if (!b->stored) {
        if (!k->failing)
            fl_log(FL_LOG_ERROR, "kafka", "%s: %s; reading it again every "
                   "%d s", what, fl_err_msg(&b->res.err), RETRY_SECONDS);
        k->failing = 1;
        return 1;
    }
    if (k->failing)
        fl_log(FL_LOG_INFO, "kafka", "storing works again");
    k->failing = 0;
    if (k->die_before_commit > 0
        && ++k->durable_batches >= k->die_before_commit)
        _exit(137);
    rd_kafka_resp_err_t e = commit_batch(k, b);
    for (int logged = 0; b->held_id != 0 && commit_unanswered(e);
         logged = 1) {
        /* Not refused, not known to be applied: committed again until it
         * is one or the other. (Had the partitions gone to another
         * consumer meanwhile, the group would refuse it: a stale
         * generation.) */
        if (!logged)
            fl_log(FL_LOG_WARN, "kafka", "committing offsets: %s; trying "
                   "again every %d s", rd_kafka_err2str(e), RETRY_SECONDS);
        if (!k->env.running(k->env.ctx))
            return 0;                   /* held: the next start settles */
        sleep(RETRY_SECONDS);
        e = commit_batch(k, b);
    }
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR && k->die_after_commit > 0
        && ++k->committed_batches >= k->die_after_commit)
        _exit(137);
    if (b->held_id == 0) {              /* nothing stored, nothing held */
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
            fl_log(FL_LOG_WARN, "kafka", "committing offsets: %s",
                   rd_kafka_err2str(e));
        return 0;
    }
    enum fl_tenure_verdict v = FL_TENURE_KEEP;
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fl_log(FL_LOG_WARN, "kafka", "%s: committing offsets: %s; asking "
               "the group whether it went through", what,
               rd_kafka_err2str(e));
        if (judge_until_known(k, b->hold.p, &v) < 0)
            return 0;                   /* stopping: the next start */
        log_verdict(what, v);
    }
    return settle(k, b->held_id, v, what) == 0 && v == FL_TENURE_DROP;
}


/* A storer thread: takes the oldest batch handed over, makes it durable
 * beside the other storer, then waits for its turn -- every batch before
 * it committed -- to commit and settle it. A batch not stored or dropped
 * makes every later one be dropped too, and the consumer read them all
 * again from the first one's offsets. */
static void *
storer_main(void *arg)
{
    struct fl_kafka *k = arg;
    pthread_mutex_lock(&k->mu);
    for (;;) {
        while (k->queued == 0 && !k->stop)
            pthread_cond_wait(&k->cv, &k->mu);
        if (k->queued == 0)
            break;
        struct batch *b = k->handed[0];
        memmove(&k->handed[0], &k->handed[1],
                --k->queued * sizeof k->handed[0]);
        int skip = k->poison <= b->seq;
        pthread_mutex_unlock(&k->mu);

        if (!skip)
            store_batch(k, b);          /* beside the other storer */

        pthread_mutex_lock(&k->mu);
        while (k->turn != b->seq)
            pthread_cond_wait(&k->cv, &k->mu);
        int poisoned = k->poison <= b->seq;
        pthread_mutex_unlock(&k->mu);

        double t1 = fl_time_mono();
        int again = commit_batch_turn(k, b, poisoned);
        fl_log(FL_LOG_DEBUG, "kafka", "batch of %llu message(s) in %zu "
               "partition(s): %s in %.1f ms, settled in %.1f ms",
               (unsigned long long)b->messages, b->n_parts,
               skip ? "skipped" : b->stored ? "stored" : "not stored",
               b->store_ms, (fl_time_mono() - t1) * 1e3);

        pthread_mutex_lock(&k->mu);
        if (again) {
            read_again(k, b);
            if (k->poison > b->seq)
                k->poison = b->seq;
        }
        batch_clear(k, b);
        k->turn++;
        k->in_flight--;
        pthread_cond_broadcast(&k->cv);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}


/* Consumer: waits until no batch is in flight; returns where to read
 * again, if some batch was not stored or was dropped (NULL: none). */
static rd_kafka_topic_partition_list_t *
wait_storers(struct fl_kafka *k)
{
    pthread_mutex_lock(&k->mu);
    while (k->in_flight > 0)
        pthread_cond_wait(&k->cv, &k->mu);
    rd_kafka_topic_partition_list_t *again = k->seek_back;
    k->seek_back = NULL;
    k->poison = UINT64_MAX;
    pthread_mutex_unlock(&k->mu);
    return again;
}


/* A batch not in use: neither gathered nor in flight. With mu held, when
 * fewer than STORERS are in flight. */
static struct batch *
free_batch(struct fl_kafka *k)
{
    for (size_t i = 0; i < BATCHES; i++) {
        struct batch *b = &k->bufs[i];
        int busy = b == k->cur;
        for (size_t q = 0; q < k->queued && !busy; q++)
            busy = k->handed[q] == b;
        if (!busy && b->messages == 0)
            return b;
    }
    return NULL;
}


/* Consumer: the batch gathered so far goes to the storers, which store
 * and commit it while the next one is gathered. If one handed before
 * could not be stored or was dropped, this one holds messages after it:
 * once none is in flight, this one is dropped too, and every partition is
 * read again from the earliest first offset. Returns 1 then. */
static int
hand_over(struct fl_kafka *k)
{
    struct batch *b = k->cur;
    pthread_mutex_lock(&k->mu);
    /* Nothing gathered: nothing to hand over, but where to read again
     * may be due (the topic had nothing more after the failed batch). */
    if (b->messages == 0 && (k->seek_back == NULL || k->in_flight > 0)) {
        pthread_mutex_unlock(&k->mu);
        return 0;
    }
    while (k->in_flight == STORERS
           || (k->seek_back != NULL && k->in_flight > 0))
        pthread_cond_wait(&k->cv, &k->mu);
    if (k->seek_back != NULL) {
        read_again(k, b);
        rd_kafka_topic_partition_list_t *again = k->seek_back;
        k->seek_back = NULL;
        k->poison = UINT64_MAX;
        pthread_mutex_unlock(&k->mu);
        batch_clear(k, b);
        rd_kafka_error_t *e = rd_kafka_seek_partitions(k->rk, again, 10000);
        if (e != NULL) {
            fl_log(FL_LOG_WARN, "kafka", "seeking back: %s",
                   rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
        rd_kafka_topic_partition_list_destroy(again);
        sleep(RETRY_SECONDS);
        return 1;
    }
    b->seq = k->next_seq++;
    k->handed[k->queued++] = b;
    k->in_flight++;
    k->cur = free_batch(k);
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
    return 0;
}


/* Consumer: everything read so far stored (or left uncommitted). */
static void
drain(struct fl_kafka *k)
{
    (void)hand_over(k);
    rd_kafka_topic_partition_list_t *again = wait_storers(k);
    if (again != NULL)
        rd_kafka_topic_partition_list_destroy(again);   /* left to Kafka */
}


/* Partitions are about to go to another instance: what was read of them
 * is stored and committed first, while this instance still owns them. */
static void
on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
             rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct fl_kafka *k = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        begin_tenures(k, parts);
        fl_log(FL_LOG_INFO, "kafka", "assigned %d partition(s)", parts->cnt);
        rd_kafka_assign(rk, parts);
    } else {
        drain(k);
        clear_slots(k);
        fl_log(FL_LOG_INFO, "kafka", "revoked %d partition(s)", parts->cnt);
        rd_kafka_assign(rk, NULL);
    }
}


/* A batch held from before the last stop (fl_pipeline_each_held): the
 * group's history says whether its commit went through. */
struct leftovers {
    struct fl_kafka *k;
    int              unanswered;     /* the group could not be asked */
};
static void
settle_leftover(void *ctx, uint64_t id, const char *hold, uint64_t records)
{
    struct leftovers *lo = ctx;
    enum fl_tenure_verdict v;
    if (judge_hold(lo->k, hold, &v) < 0) {
        lo->unanswered = 1;
        return;
    }
    char what[96];
    snprintf(what, sizeof what, "a batch of %llu record(s) stored before "
             "the last stop", (unsigned long long)records);
    log_verdict(what, v);
    (void)settle(lo->k, id, v, what);
}


static void *
kafka_main(void *arg)
{
    struct fl_kafka *k = arg;
    const struct fl_source_env *env = &k->env;
    rd_kafka_message_t *msgs[POLL_BATCH];
    /* First the batches a crash left held: settled before this instance
     * reads anything, each as the group's history says. */
    for (;;) {
        struct leftovers lo = { .k = k };
        fl_pipeline_each_held(k->pl, settle_leftover, &lo);
        if (!lo.unanswered || !env->running(env->ctx))
            break;
        sleep(RETRY_SECONDS);
    }
    while (env->running(env->ctx)) {
        /* Up to the batch's room, so that a batch never passes
         * kafka.batch_records. */
        size_t room = k->batch_max - k->cur->messages;
        ssize_t n = rd_kafka_consume_batch_queue(
            k->queue, POLL_MS, msgs, room < POLL_BATCH ? room : POLL_BATCH);
        if (n <= 0) {
            (void)hand_over(k);
            continue;
        }
        for (ssize_t i = 0; i < n; i++) {
            rd_kafka_message_t *m = msgs[i];
            if (k->cur->hold_bytes >= MAX_HOLD_BYTES && hand_over(k)) {
                /* The batch was dropped and its partitions sought back:
                 * the rest of these are read again too. */
                for (; i < n; i++)
                    rd_kafka_message_destroy(msgs[i]);
                break;
            }
            if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                if (add_message(k, m) < 0)
                    fl_log(FL_LOG_ERROR, "kafka", "%s: a message is read "
                           "again later", FL_OOM_TEXT);
            } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                fl_log(FL_LOG_WARN, "kafka", "%s",
                       rd_kafka_message_errstr(m));
            }
            rd_kafka_message_destroy(m);
        }
        if (k->cur->messages >= k->batch_max)
            (void)hand_over(k);
    }
    drain(k);
    return NULL;
}


static int
conf_set(rd_kafka_conf_t *conf, const char *key, const char *value,
         struct fl_err *err)
{
    char why[512];
    if (rd_kafka_conf_set(conf, key, value, why, sizeof why)
        == RD_KAFKA_CONF_OK)
        return FL_OK;
    return fl_err_set(err, FL_ECONFIG, "kafka: %s", why);
}


/* The consumer's settings: ours, then kafka.options (KEY=VALUE;...). */
static int
make_conf(const struct fl_config *cfg, rd_kafka_conf_t *conf,
          struct fl_err *err)
{
    char timeout[32];
    snprintf(timeout, sizeof timeout, "%llu",
             (unsigned long long)cfg->kafka_session_timeout * 1000);
    int rc;
    if ((rc = conf_set(conf, "bootstrap.servers", cfg->kafka_brokers,
                       err)) < 0
        || (rc = conf_set(conf, "group.id", cfg->kafka_group, err)) < 0
        || (rc = conf_set(conf, "enable.auto.commit", "false", err)) < 0
        || (rc = conf_set(conf, "auto.offset.reset", "earliest", err)) < 0
        || (rc = conf_set(conf, "session.timeout.ms", timeout, err)) < 0
        || (rc = conf_set(conf, "client.id", "flowlake", err)) < 0
        /* Prefetch deeper than librdkafka's defaults (100,000 messages,
         * 1 MiB per partition and fetch): with them the consumer waited
         * on fetches between batches and consumed 220,000 messages/s;
         * with these, 355,000-370,000 (bench/run_kafka.sh, 64 partitions).
         * The queue stays bounded by queued.max.messages.kbytes (64 MiB
         * by default). kafka.options can set them back. */
        || (rc = conf_set(conf, "queued.min.messages", "1000000", err)) < 0
        || (rc = conf_set(conf, "fetch.message.max.bytes", "4194304",
                          err)) < 0)
        return rc;
    /* KEY=VALUE;KEY=VALUE: a copy cut at each ';' and '='. */
    char *opts = fl_strdup(cfg->kafka_options);
    if (opts == NULL)
        return fl_err_oom(err);
    for (char *kv = opts; *kv != '\0' && rc == 0; ) {
        size_t n = strcspn(kv, ";");
        char *next = kv[n] != '\0' ? kv + n + 1 : kv + n;
        kv[n] = '\0';
        char *eq = strchr(kv, '=');
        if (n == 0) {
            /* an empty entry (";;", a trailing ';'): nothing to set */
        } else if (eq == NULL) {
            rc = fl_err_set(err, FL_ECONFIG, "kafka.options: '%s' is not "
                            "KEY=VALUE", kv);
        } else {
            *eq = '\0';
            rc = conf_set(conf, kv, eq + 1, err);
        }
        kv = next;
    }
    fl_free(opts);
    return rc;
}


static int
subscribe(rd_kafka_t *rk, const char *topics, struct fl_err *err)
{
    rd_kafka_topic_partition_list_t *list =
        rd_kafka_topic_partition_list_new(4);
    char *copy = fl_strdup(topics);
    if (copy == NULL) {
        rd_kafka_topic_partition_list_destroy(list);
        return fl_err_oom(err);
    }
    /* Names separated by commas and blanks. */
    for (char *t = copy + strspn(copy, ", "); *t != '\0';
         t += strspn(t, ", ")) {
        size_t n = strcspn(t, ", ");
        char *next = t[n] != '\0' ? t + n + 1 : t + n;
        t[n] = '\0';
        rd_kafka_topic_partition_list_add(list, t, RD_KAFKA_PARTITION_UA);
        t = next;
    }
    int rc = FL_OK;
    if (list->cnt == 0)
        rc = fl_err_set(err, FL_ECONFIG, "kafka.topics names no topic");
    else {
        rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, list);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
            rc = fl_err_set(err, FL_ECONFIG, "kafka: cannot subscribe to "
                            "%s: %s", topics, rd_kafka_err2str(e));
    }
    fl_free(copy);
    rd_kafka_topic_partition_list_destroy(list);
    return rc;
}


/* Ends the storers once they are idle (the consumer has drained). */
static void
stop_storers(struct fl_kafka *k)
{
    pthread_mutex_lock(&k->mu);
    k->stop = 1;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
    for (int i = 0; i < k->n_storers; i++)
        pthread_join(k->storers[i], NULL);
    k->n_storers = 0;
}


static void
free_kafka(struct fl_kafka *k)
{
    for (int i = 0; i < BATCHES; i++) {
        batch_clear(k, &k->bufs[i]);
        fl_gather_free(&k->bufs[i].g);
        fl_buf_free(&k->bufs[i].hold);
        fl_free(k->bufs[i].parts);
    }
    if (k->seek_back != NULL)
        rd_kafka_topic_partition_list_destroy(k->seek_back);
    clear_slots(k);
    fl_free(k->slots);
    pthread_mutex_destroy(&k->mu);
    pthread_cond_destroy(&k->cv);
    fl_ingest_destroy(k->dec);
    fl_free(k);
}


/* A test hook's count from the environment (docs/development.md); 0 =
 * off. */
static long
hook_count(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL)
        return 0;
    char *end;
    long n = strtol(v, &end, 10);
    return *v != '\0' && *end == '\0' && n > 0 ? n : 0;
}


int
fl_kafka_start(const struct fl_source_env *env, struct fl_kafka **out,
               struct fl_err *err)
{
    const struct fl_config *cfg = env->cfg;
    struct fl_kafka *k = fl_calloc(1, sizeof *k);
    char why[512];
    int rc;

    if (k == NULL)
        return fl_err_oom(err);
    if (env->pipeline == NULL) {
        fl_free(k);
        return fl_err_set(err, -EINVAL, "the Kafka source needs the pipeline");
    }
    k->env = *env;
    k->poison = UINT64_MAX;
    for (int i = 0; i < BATCHES; i++)
        fl_gather_init(&k->bufs[i].g, env->dedupe,
                       env->cfg->dedupe_wait * 1000);
    k->cur = &k->bufs[0];
    pthread_mutex_t *const mus[] = { &k->mu };
    pthread_cond_t *const cvs[] = { &k->cv };
    if ((rc = fl_sync_init(mus, 1, cvs, 1)) < 0) {
        fl_free(k);
        return fl_err_set(err, rc, "cannot initialise the Kafka source's "
                          "lock: %s", fl_strerror(rc));
    }
    k->die_before_commit = hook_count("FLOWLAKE_KAFKA_DIE_BEFORE_COMMIT");
    k->die_after_commit = hook_count("FLOWLAKE_KAFKA_DIE_AFTER_COMMIT");
    k->pl = env->pipeline;
    k->batch_max = cfg->kafka_batch_records;
    k->format = strcmp(cfg->kafka_format, "lines") == 0 ? FORMAT_LINES
              : strcmp(cfg->kafka_format, "cwl") == 0 ? FORMAT_CWL
              : FORMAT_AUTO;
    struct fl_ingest_limits lim = {
        .max_inflated = (size_t)cfg->max_decompressed,
        .max_ratio = (unsigned)cfg->max_compression_ratio,
    };
    if ((rc = fl_ingest_create(&lim, &k->dec)) < 0) {
        rc = fl_err_oom(err);
        goto fail;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if ((rc = make_conf(cfg, conf, err)) < 0) {
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_opaque(conf, k);
    k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why);
    if (k->rk == NULL) {
        rd_kafka_conf_destroy(conf);
        rc = fl_err_set(err, FL_ECONFIG, "kafka: %s", why);
        goto fail;
    }
    rd_kafka_poll_set_consumer(k->rk);
    k->queue = rd_kafka_queue_get_consumer(k->rk);
    if ((rc = subscribe(k->rk, cfg->kafka_topics, err)) < 0)
        goto fail;
    for (int i = 0; i < STORERS; i++) {
        if ((rc = pthread_create(&k->storers[i], NULL, storer_main, k))
            != 0) {
            rc = fl_err_set(err, -rc, "cannot start the Kafka thread: %s",
                            fl_strerror(-rc));
            goto fail;
        }
        k->n_storers++;
    }
    if ((rc = pthread_create(&k->thread, NULL, kafka_main, k)) != 0) {
        rc = fl_err_set(err, -rc, "cannot start the Kafka thread: %s",
                        fl_strerror(-rc));
        goto fail;
    }
    fl_log(FL_LOG_INFO, "kafka", "consuming %s from %s as group %s",
           cfg->kafka_topics, cfg->kafka_brokers, cfg->kafka_group);
    *out = k;
    return FL_OK;
fail:
    stop_storers(k);
    if (k->queue != NULL)
        rd_kafka_queue_destroy(k->queue);
    if (k->rk != NULL)
        rd_kafka_destroy(k->rk);
    free_kafka(k);
    return rc;
}


void
fl_kafka_stop(struct fl_kafka *k)
{
    if (k == NULL)
        return;
    pthread_join(k->thread, NULL);
    /* Leaves the group (its partitions go to the others at once) with
     * every batch flushed by the thread. */
    rd_kafka_queue_destroy(k->queue);
    rd_kafka_consumer_close(k->rk);
    stop_storers(k);
    rd_kafka_destroy(k->rk);
    free_kafka(k);
}
