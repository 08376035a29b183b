/* SPDX-License-Identifier: MIT
 *
 * kafka.c -- the Kafka source (see kafka.h): one consumer thread.
 *
 * It polls messages into a batch -- one gather (gather.h) for all its
 * partitions, so that a batch is made durable with one write-ahead-log
 * commit however many partitions it spans -- each message under the
 * dedupe key of its topic, partition and offset and decoded as
 * kafka.format says (flow-log lines, or a CloudWatch Logs subscription
 * payload, whose undecodable messages go to the errors file with their
 * reason). A batch ends at kafka.batch_records messages, when the topic
 * has had nothing for 100 ms, and before the group takes partitions away
 * (the rebalance callback). Then:
 *
 *   1. the keys are claimed in the source's own dedupe memory: messages
 *      already stored -- delivered again after a crash or a rebalance,
 *      since their offsets were never committed -- are dropped;
 *   2. the rest goes to the pipeline as one body; its keys ride in the
 *      write-ahead-log record with the lines, so the memory survives a
 *      crash exactly as long as the records it protects;
 *   3. once durable, the offset after the batch's last message in each
 *      partition is committed, synchronously. A failed ingest (the log
 *      full, say) commits nothing: every partition is sought back to the
 *      batch's first offset in it and read again a second later.
 *
 * Offsets are committed only after the records are durable, never before
 * (a commit-then-buffer consumer loses what it had buffered when it
 * dies). Between durable and committed a crash leaves messages Kafka will
 * deliver again: to this instance they are recognised by step 1; to
 * another instance of the group they are not (its memory is its own) --
 * docs/kafka.md says what that means and docs/scale-out.md how the shared
 * archive is to close it.
 */
#include "../core/fl_config.h"

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
#include "../wal/wal.h"
#include "counters.h"
#include "gather.h"
#include "kafka.h"

/* A batch also ends when a poll has waited this long for a message. */
#define POLL_MS 100
/* Messages taken from librdkafka's queue per call. */
#define POLL_BATCH 1024
/* After a failed ingest, the partition is read again this much later. */
#define RETRY_SECONDS 1

enum kafka_format { FORMAT_AUTO, FORMAT_LINES, FORMAT_CWL };

/* The offsets of one partition in the batch being gathered. */
struct part {
    char            *topic;
    int32_t          partition;
    int64_t          first, last;
};

/* A batch: every message's lines in one gather (one body, made durable
 * with one write-ahead-log commit whatever the number of partitions), and
 * the offsets it covers per partition. */
struct batch {
    struct fl_gather g;
    struct part     *parts;
    size_t           n_parts, cap_parts;
    size_t           last_part;      /* parts[] of the last message */
    uint64_t         messages, bytes;
};

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
    enum kafka_format    format;
    rd_kafka_t          *rk;
    struct fl_ingest    *dec;        /* CloudWatch Logs payloads */
    pthread_t            thread;     /* the consumer: gathers batches */
    /* Two batches: the consumer gathers one while the storer thread makes
     * the other durable and commits it -- parsing and the write-ahead log
     * then run beside librdkafka's decoding instead of after it. One
     * batch in the storer at a time, so offsets are committed in order. */
    struct batch         bufs[2];
    struct batch        *cur;        /* being gathered (consumer) */
    pthread_t            storer;
    int                  storer_started;
    pthread_mutex_t      mu;
    pthread_cond_t       cv;
    struct batch        *handed;     /* being stored; NULL = storer idle */
    int                  stop;       /* the storer ends when idle */
    /* Where to read again after a batch that could not be stored: its
     * first offsets (the consumer seeks there before going on). */
    rd_kafka_topic_partition_list_t *seek_back;
    int                  failing;    /* storer only: logged once */
};


/* Forgets what batch b holds (its claims, if any, aborted). */
static void
batch_clear(struct fl_kafka *k, struct batch *b)
{
    for (size_t i = 0; i < b->n_parts; i++)
        fl_free(b->parts[i].topic);
    b->n_parts = 0;
    b->messages = b->bytes = 0;
    fl_gather_free(&b->g);
    fl_gather_init(&b->g, k->env.dedupe, k->env.cfg->dedupe_wait * 1000);
}


static struct part *
part_of(struct batch *b, const char *topic, int32_t partition)
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
    if ((p->topic = fl_strdup(topic)) == NULL)
        return NULL;
    p->partition = partition;
    p->first = -1;
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


/* A message's dedupe key: of its topic, partition and offset (the bytes
 * of the topic's name, then of the two numbers, little-endian as this
 * machine stores them; part of the dedupe file's and the WAL's content). */
static uint64_t
message_key(const char *topic, int32_t partition, int64_t offset)
{
    char buf[256 + 12];
    size_t n = strlen(topic);
    if (n > 256)
        n = 256;                 /* Kafka's names are at most 249 bytes */
    memcpy(buf, topic, n);
    memcpy(buf + n, &partition, 4);
    memcpy(buf + n + 4, &offset, 8);
    return fl_dedupe_source_key(FL_DEDUPE_KAFKA, buf, n + 12);
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
    struct part *p = part_of(b, topic, m->partition);
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
        /* The message's key covers its lines; the event ids' keys (in the
         * same memory) are dropped: the offset names the message. */
        fl_gather_truncate(g, g->text.len, keys);
    } else {
        rc = fl_gather_add_text(g, payload, m->len);
    }
    if (rc < 0)
        return rc;
    return fl_gather_add_key(g, message_key(topic, m->partition, m->offset),
                             start);
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


/* Makes batch b durable (storer thread). Returns 1 when its offsets may
 * be committed, 0 when it must be read again. */
static int
store_batch(struct fl_kafka *k, struct batch *b)
{
    const struct fl_source_env *env = &k->env;
    struct fl_gather *g = &b->g;
    struct fl_ingest_result res = { 0 };
    char source[400];
    batch_source(b, source, sizeof source);
    fl_source_counters_request(env->counters, FL_SOURCE_KAFKA, b->bytes);

    int rc = fl_gather_claim(g);
    if (rc < 0) {
        fl_err_set(&res.err, rc, "%s", rc == FL_EAGAIN
                   ? "messages of this batch are still being stored by "
                     "another batch" : FL_OOM_TEXT);
    } else {
        fl_source_counters_duplicates(env->counters, FL_SOURCE_KAFKA,
                                      g->duplicates);
        if (g->text.len > 0)
            env->ingest(env->ctx, FL_SOURCE_KAFKA, source, g->text.p,
                        g->text.len, NULL, g->keys, g->n_keys, g->segs,
                        g->n_segs, &res);
    }
    fl_gather_end_claims(g, res.err.code == 0);
    if (res.err.code == 0) {
        if (k->failing)
            fl_log(FL_LOG_INFO, "kafka", "storing works again");
        k->failing = 0;
        return 1;
    }
    if (!k->failing)
        fl_log(FL_LOG_ERROR, "kafka", "%s: %s; reading it again every %d s",
               source, fl_err_msg(&res.err), RETRY_SECONDS);
    k->failing = 1;
    return 0;
}


/* The offsets of b's partitions: after its last message (to commit) or at
 * its first (to read again). */
static rd_kafka_topic_partition_list_t *
offsets(const struct batch *b, int after)
{
    rd_kafka_topic_partition_list_t *list =
        rd_kafka_topic_partition_list_new((int)b->n_parts);
    for (size_t i = 0; i < b->n_parts; i++) {
        const struct part *p = &b->parts[i];
        rd_kafka_topic_partition_list_add(list, p->topic, p->partition)
            ->offset = after ? p->last + 1 : p->first;
    }
    return list;
}


/* The storer thread: each handed batch made durable, then its offsets
 * committed -- or, when it could not be stored, where to read it again
 * left for the consumer. */
static void *
storer_main(void *arg)
{
    struct fl_kafka *k = arg;
    pthread_mutex_lock(&k->mu);
    for (;;) {
        while (k->handed == NULL && !k->stop)
            pthread_cond_wait(&k->cv, &k->mu);
        if (k->handed == NULL)
            break;
        struct batch *b = k->handed;
        pthread_mutex_unlock(&k->mu);

        double t0 = fl_time_mono();
        int ok = store_batch(k, b);
        double t1 = fl_time_mono();
        rd_kafka_topic_partition_list_t *list = offsets(b, ok);
        if (ok && k->die_before_commit > 0
            && ++k->durable_batches >= k->die_before_commit)
            _exit(137);
        if (ok) {
            rd_kafka_resp_err_t e = rd_kafka_commit(k->rk, list, 0);
            if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
                fl_log(FL_LOG_WARN, "kafka", "committing offsets: %s (the "
                       "records are stored; Kafka will deliver them again, "
                       "and this instance skips them)", rd_kafka_err2str(e));
            rd_kafka_topic_partition_list_destroy(list);
            list = NULL;
        }
        fl_log(FL_LOG_DEBUG, "kafka", "batch of %llu message(s) in %zu "
               "partition(s): %s in %.1f ms, committed in %.1f ms",
               (unsigned long long)b->messages, b->n_parts,
               ok ? "stored" : "not stored", (t1 - t0) * 1e3,
               (fl_time_mono() - t1) * 1e3);
        batch_clear(k, b);

        pthread_mutex_lock(&k->mu);
        k->handed = NULL;
        if (list != NULL) {
            if (k->seek_back != NULL)
                rd_kafka_topic_partition_list_destroy(k->seek_back);
            k->seek_back = list;
        }
        pthread_cond_broadcast(&k->cv);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}


/* Consumer: waits until the storer is idle; returns where to read again
 * if the last batch could not be stored (NULL: it was). */
static rd_kafka_topic_partition_list_t *
wait_storer(struct fl_kafka *k)
{
    pthread_mutex_lock(&k->mu);
    while (k->handed != NULL)
        pthread_cond_wait(&k->cv, &k->mu);
    rd_kafka_topic_partition_list_t *again = k->seek_back;
    k->seek_back = NULL;
    pthread_mutex_unlock(&k->mu);
    return again;
}


/* Consumer: the batch gathered so far goes to the storer, which stores
 * and commits it while the next one is gathered. If the one before could
 * not be stored, this one holds messages after it: it is dropped, and
 * every partition of both is read again from the earlier first offset. */
static void
hand_over(struct fl_kafka *k)
{
    struct batch *b = k->cur;
    if (b->messages == 0)
        return;
    rd_kafka_topic_partition_list_t *again = wait_storer(k);
    if (again != NULL) {
        for (size_t i = 0; i < b->n_parts; i++)
            if (rd_kafka_topic_partition_list_find(again, b->parts[i].topic,
                                                   b->parts[i].partition)
                == NULL)
                rd_kafka_topic_partition_list_add(
                    again, b->parts[i].topic, b->parts[i].partition)
                    ->offset = b->parts[i].first;
        batch_clear(k, b);
        rd_kafka_error_t *e = rd_kafka_seek_partitions(k->rk, again, 10000);
        if (e != NULL) {
            fl_log(FL_LOG_WARN, "kafka", "seeking back: %s",
                   rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
        rd_kafka_topic_partition_list_destroy(again);
        sleep(RETRY_SECONDS);
        return;
    }
    pthread_mutex_lock(&k->mu);
    k->handed = b;
    k->cur = b == &k->bufs[0] ? &k->bufs[1] : &k->bufs[0];
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
}


/* Consumer: everything read so far stored (or left uncommitted). */
static void
drain(struct fl_kafka *k)
{
    hand_over(k);
    rd_kafka_topic_partition_list_t *again = wait_storer(k);
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
        fl_log(FL_LOG_INFO, "kafka", "assigned %d partition(s)", parts->cnt);
        rd_kafka_assign(rk, parts);
    } else {
        drain(k);
        fl_log(FL_LOG_INFO, "kafka", "revoked %d partition(s)", parts->cnt);
        rd_kafka_assign(rk, NULL);
    }
}


static void *
kafka_main(void *arg)
{
    struct fl_kafka *k = arg;
    const struct fl_source_env *env = &k->env;
    rd_kafka_message_t *msgs[POLL_BATCH];
    while (env->running(env->ctx)) {
        /* Up to the batch's room, so that a batch never passes
         * kafka.batch_records. */
        size_t room = k->batch_max - k->cur->messages;
        ssize_t n = rd_kafka_consume_batch_queue(
            k->queue, POLL_MS, msgs, room < POLL_BATCH ? room : POLL_BATCH);
        if (n <= 0) {
            hand_over(k);
            continue;
        }
        for (ssize_t i = 0; i < n; i++) {
            rd_kafka_message_t *m = msgs[i];
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
            hand_over(k);
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


/* Ends the storer once it is idle (the consumer has drained). */
static void
stop_storer(struct fl_kafka *k)
{
    if (!k->storer_started)
        return;
    pthread_mutex_lock(&k->mu);
    k->stop = 1;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->storer, NULL);
    k->storer_started = 0;
}


static void
free_kafka(struct fl_kafka *k)
{
    for (int i = 0; i < 2; i++) {
        batch_clear(k, &k->bufs[i]);
        fl_gather_free(&k->bufs[i].g);
        fl_free(k->bufs[i].parts);
    }
    if (k->seek_back != NULL)
        rd_kafka_topic_partition_list_destroy(k->seek_back);
    pthread_mutex_destroy(&k->mu);
    pthread_cond_destroy(&k->cv);
    fl_ingest_destroy(k->dec);
    fl_free(k);
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
    k->env = *env;
    for (int i = 0; i < 2; i++)
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
    const char *die = getenv("FLOWLAKE_KAFKA_DIE_BEFORE_COMMIT");
    if (die != NULL) {
        char *end;
        long n = strtol(die, &end, 10);
        k->die_before_commit = *die != '\0' && *end == '\0' && n > 0 ? n : 0;
    }
    /* A batch's keys (8 bytes a message) ride in its first write-ahead-log
     * record, which must also hold a line: at most half a record. */
    uint64_t max_record = cfg->wal_segment_size / 2;
    if (max_record > FL_WAL_DEFAULT_MAX_RECORD)
        max_record = FL_WAL_DEFAULT_MAX_RECORD;
    k->batch_max = cfg->kafka_batch_records;
    if (k->batch_max > max_record / 2 / 8) {
        k->batch_max = max_record / 2 / 8;
        fl_log(FL_LOG_WARN, "kafka", "kafka.batch_records %llu is more than "
               "a write-ahead-log record holds the keys of (wal.segment_size "
               "%llu): batches of %llu", (unsigned long long)
               cfg->kafka_batch_records,
               (unsigned long long)cfg->wal_segment_size,
               (unsigned long long)k->batch_max);
    }
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
    if ((rc = pthread_create(&k->storer, NULL, storer_main, k)) != 0) {
        rc = fl_err_set(err, -rc, "cannot start the Kafka thread: %s",
                        fl_strerror(-rc));
        goto fail;
    }
    k->storer_started = 1;
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
    stop_storer(k);
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
    stop_storer(k);
    rd_kafka_destroy(k->rk);
    free_kafka(k);
}
