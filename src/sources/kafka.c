/* SPDX-License-Identifier: MIT
 *
 * kafka.c -- the Kafka source (see kafka.h): one consumer thread.
 *
 * It polls messages into a batch, one gather (gather.h) per partition,
 * each message under the dedupe key of its "TOPIC/PARTITION/OFFSET" and
 * decoded as kafka.format says (flow-log lines, or a CloudWatch Logs
 * subscription payload, whose undecodable messages go to the errors file
 * with their reason). A batch ends at kafka.batch_records messages, when
 * the topic has had nothing for 100 ms, and before the group takes
 * partitions away (the rebalance callback). Then, per partition:
 *
 *   1. the keys are claimed in the source's own dedupe memory: messages
 *      already stored -- delivered again after a crash or a rebalance,
 *      since their offsets were never committed -- are dropped;
 *   2. the rest goes to the pipeline as one body; its keys ride in the
 *      write-ahead-log record with the lines, so the memory survives a
 *      crash exactly as long as the records it protects;
 *   3. once durable, the offset after the batch's last message is
 *      committed, synchronously. A failed ingest (the log full, say)
 *      commits nothing: the partition is sought back to the batch's first
 *      offset and read again a second later.
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
#include "../ingest/gunzip.h"
#include "../ingest/ingest.h"
#include "../pipeline/dedupe.h"
#include "counters.h"
#include "gather.h"
#include "kafka.h"

/* A batch also ends when a poll has waited this long for a message. */
#define POLL_MS 100
/* After a failed ingest, the partition is read again this much later. */
#define RETRY_SECONDS 1

enum kafka_format { FORMAT_AUTO, FORMAT_LINES, FORMAT_CWL };

/* The messages of one partition in the batch being gathered. */
struct part {
    char            *topic;
    int32_t          partition;
    int64_t          first, last;    /* offsets */
    uint64_t         messages, bytes;
    struct fl_gather g;
};

struct fl_kafka {
    struct fl_source_env env;
    /* Test hook (FLOWLAKE_KAFKA_DIE_BEFORE_COMMIT=N, docs/development.md):
     * the process dies at once after its Nth durable batch, before that
     * batch's commit -- the window a crash leaves messages stored and not
     * committed, made certain. 0 = off. */
    long                 die_before_commit;
    long                 durable_batches;
    enum kafka_format    format;
    rd_kafka_t          *rk;
    struct fl_ingest    *dec;        /* CloudWatch Logs payloads */
    pthread_t            thread;
    struct part         *parts;
    size_t               n_parts, cap_parts;
    uint64_t             batched;    /* messages in parts */
    int                  failing;    /* ingest failing: logged once */
};


static void
part_free(struct part *p)
{
    fl_gather_free(&p->g);
    fl_free(p->topic);
}


static struct part *
part_of(struct fl_kafka *k, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < k->n_parts; i++)
        if (k->parts[i].partition == partition
            && strcmp(k->parts[i].topic, topic) == 0)
            return &k->parts[i];
    struct part *np = fl_grow(k->parts, &k->cap_parts, k->n_parts + 1,
                              sizeof *np, 8);
    if (np == NULL)
        return NULL;
    k->parts = np;
    struct part *p = &k->parts[k->n_parts];
    memset(p, 0, sizeof *p);
    if ((p->topic = fl_strdup(topic)) == NULL)
        return NULL;
    p->partition = partition;
    p->first = -1;
    fl_gather_init(&p->g, k->env.dedupe, k->env.cfg->dedupe_wait * 1000);
    k->n_parts++;
    return p;
}


/* "TOPIC/PARTITION@OFFSET", for keys and the errors file. */
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
    char name[320];
    struct part *p = part_of(k, topic, m->partition);
    if (p == NULL)
        return FL_ENOMEM;
    message_name(name, sizeof name, topic, m->partition, m->offset);
    if (p->first < 0)
        p->first = m->offset;
    p->last = m->offset;
    p->messages++;
    p->bytes += m->len;
    k->batched++;

    size_t start = p->g.text.len, keys = p->g.n_keys;
    int rc;
    if (is_cwl(k->format, payload, m->len)) {
        struct fl_ingest_info info;
        struct fl_ingest_err err;
        rc = fl_ingest_decode_cwl(k->dec, payload, m->len, fl_gather_on_line,
                                  &p->g, &info, &err);
        if (rc < 0 && rc != FL_ENOMEM) {
            /* Not a payload: to the errors file; the batch goes on. */
            fl_gather_truncate(&p->g, start, keys);
            (void)fl_rejects_add(k->env.rejects, name, 1, err.msg, payload,
                                 m->len);
            fl_source_counters_records(k->env.counters, FL_SOURCE_KAFKA, 0,
                                       1);
            return FL_OK;
        }
        /* The message's key covers its lines; the event ids' keys (in the
         * same memory) are dropped: the offset names the message. */
        fl_gather_truncate(&p->g, p->g.text.len, keys);
    } else {
        rc = fl_gather_add_text(&p->g, payload, m->len);
    }
    if (rc < 0)
        return rc;
    return fl_gather_add_key(&p->g, fl_dedupe_source_key(FL_DEDUPE_KAFKA,
                                                         name, strlen(name)),
                             start);
}


/* Makes partition p's batch durable. Returns 1 when its offsets may be
 * committed, 0 when it must be read again. */
static int
ingest_part(struct fl_kafka *k, struct part *p)
{
    const struct fl_source_env *env = &k->env;
    struct fl_ingest_result res = { 0 };
    char source[400];
    snprintf(source, sizeof source, "kafka %s/%" PRId32 " offsets %" PRId64
             "-%" PRId64, p->topic, p->partition, p->first, p->last);
    fl_source_counters_request(env->counters, FL_SOURCE_KAFKA, p->bytes);

    int rc = fl_gather_claim(&p->g);
    if (rc < 0) {
        fl_err_set(&res.err, rc, "%s", rc == FL_EAGAIN
                   ? "messages of this batch are still being stored by "
                     "another batch" : FL_OOM_TEXT);
    } else {
        fl_source_counters_duplicates(env->counters, FL_SOURCE_KAFKA,
                                      p->g.duplicates);
        if (p->g.text.len > 0)
            env->ingest(env->ctx, FL_SOURCE_KAFKA, source, p->g.text.p,
                        p->g.text.len, NULL, p->g.keys, p->g.n_keys,
                        p->g.segs, p->g.n_segs, &res);
    }
    fl_gather_end_claims(&p->g, res.err.code == 0);
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


/* Ends the batch: every partition made durable, the offsets of those that
 * were committed, the others sought back. */
static void
flush(struct fl_kafka *k)
{
    if (k->batched == 0)
        return;
    rd_kafka_topic_partition_list_t *commit =
        rd_kafka_topic_partition_list_new((int)k->n_parts);
    rd_kafka_topic_partition_list_t *again =
        rd_kafka_topic_partition_list_new((int)k->n_parts);
    for (size_t i = 0; i < k->n_parts; i++) {
        struct part *p = &k->parts[i];
        int ok = ingest_part(k, p);
        rd_kafka_topic_partition_t *t = rd_kafka_topic_partition_list_add(
            ok ? commit : again, p->topic, p->partition);
        t->offset = ok ? p->last + 1 : p->first;
        part_free(p);
    }
    k->n_parts = 0;
    k->batched = 0;
    if (commit->cnt > 0 && k->die_before_commit > 0
        && ++k->durable_batches >= k->die_before_commit)
        _exit(137);
    if (commit->cnt > 0) {
        rd_kafka_resp_err_t e = rd_kafka_commit(k->rk, commit, 0);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
            fl_log(FL_LOG_WARN, "kafka", "committing offsets: %s (the "
                   "records are stored; Kafka will deliver them again, and "
                   "this instance skips them)", rd_kafka_err2str(e));
    }
    if (again->cnt > 0) {
        rd_kafka_error_t *e = rd_kafka_seek_partitions(k->rk, again, 10000);
        if (e != NULL) {
            fl_log(FL_LOG_WARN, "kafka", "seeking back: %s",
                   rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
        sleep(RETRY_SECONDS);
    }
    rd_kafka_topic_partition_list_destroy(commit);
    rd_kafka_topic_partition_list_destroy(again);
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
        flush(k);
        fl_log(FL_LOG_INFO, "kafka", "revoked %d partition(s)", parts->cnt);
        rd_kafka_assign(rk, NULL);
    }
}


static void *
kafka_main(void *arg)
{
    struct fl_kafka *k = arg;
    const struct fl_source_env *env = &k->env;
    while (env->running(env->ctx)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(k->rk, POLL_MS);
        if (m == NULL) {
            flush(k);
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (add_message(k, m) < 0)
                fl_log(FL_LOG_ERROR, "kafka", "%s: a message is read "
                       "again later", FL_OOM_TEXT);
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            fl_log(FL_LOG_WARN, "kafka", "%s", rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
        if (k->batched >= env->cfg->kafka_batch_records)
            flush(k);
    }
    flush(k);
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
        || (rc = conf_set(conf, "client.id", "flowlake", err)) < 0)
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
    const char *die = getenv("FLOWLAKE_KAFKA_DIE_BEFORE_COMMIT");
    if (die != NULL) {
        char *end;
        long n = strtol(die, &end, 10);
        k->die_before_commit = *die != '\0' && *end == '\0' && n > 0 ? n : 0;
    }
    k->format = strcmp(cfg->kafka_format, "lines") == 0 ? FORMAT_LINES
              : strcmp(cfg->kafka_format, "cwl") == 0 ? FORMAT_CWL
              : FORMAT_AUTO;
    struct fl_ingest_limits lim = {
        .max_inflated = (size_t)cfg->max_decompressed,
        .max_ratio = (unsigned)cfg->max_compression_ratio,
    };
    if ((rc = fl_ingest_create(&lim, &k->dec)) < 0) {
        fl_free(k);
        return fl_err_oom(err);
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
    if ((rc = subscribe(k->rk, cfg->kafka_topics, err)) < 0)
        goto fail;
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
    if (k->rk != NULL)
        rd_kafka_destroy(k->rk);
    fl_ingest_destroy(k->dec);
    fl_free(k);
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
    rd_kafka_consumer_close(k->rk);
    rd_kafka_destroy(k->rk);
    for (size_t i = 0; i < k->n_parts; i++)
        part_free(&k->parts[i]);
    fl_free(k->parts);
    fl_ingest_destroy(k->dec);
    fl_free(k);
}
