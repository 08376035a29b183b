/* SPDX-License-Identifier: MIT
 *
 * aws.c -- the two endpoints AWS delivers to:
 *
 *   POST /firehose   the Kinesis Data Firehose HTTP endpoint delivery
 *                    protocol (see firehose.h): JSON {requestId, timestamp,
 *                    records[].data (base64)}, optional Content-Encoding:
 *                    gzip, X-Amz-Firehose-Access-Key (checked by http.c
 *                    before the body is read), answered
 *                    {"requestId","timestamp"} (ms) with 200 only once
 *                    the records are durable, or with an errorMessage
 *                    and 400/401/413/5xx.
 *   POST /cwl        a CloudWatch Logs subscription payload (gzip JSON, or
 *                    the Lambda form {"awslogs":{"data":...}}).
 *
 * Each Firehose record is a gzip'd CloudWatch Logs payload or plain
 * flow-log lines (src/ingest decides). A record that cannot be decoded is
 * written to the errors folder with its reason and base64 text, and the
 * rest of the request goes on -- returning an error would make Firehose
 * retry the whole request forever.
 *
 * At-least-once senders: a retried request (same X-Amz-Firehose-Request-Id)
 * and a CloudWatch Logs event whose id was already taken are skipped. The
 * ids are claimed (dedupe.h) before anything is written: a retry that
 * arrives while the first delivery is still in flight waits for its
 * outcome -- a 200 if it succeeded, a try of its own if it failed -- or
 * answers 503 after server.dedupe_wait. Request ids and event ids have
 * key spaces of their own. The keys ride in the WAL record with the lines
 * and in the dedupe file (pipeline/recover.c), so a restart remembers them
 * for server.dedupe_horizon.
 *
 * Provenance (docs/archive.md): a CloudWatch Logs payload names its
 * owner (the account), log group and log stream; a Firehose request names
 * its delivery stream (X-Amz-Firehose-Source-Arn, which also gives the
 * stream's account and region) and its common attributes
 * (X-Amz-Firehose-Common-Attributes). Both go with the lines they came
 * with: each run of lines of one origin is a run of struct fl_prov_seg,
 * and account / region fill records whose format lacks them (a CWL
 * owner before the stream's account). A header that is not of the
 * documented shape is logged and ignored: failing the request would
 * make Firehose retry it forever.
 *
 * Like every source, these see only their struct fl_source_env
 * (sources/source.h): the pipeline's ingest, the dedupe memory, the
 * errors file and the counters.
 */
#include "../core/fl_config.h"

#include <stdio.h>
#include <string.h>

#include "../core/fl_error.h"
#include "../core/fl_log.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "../ingest/firehose.h"
#include "../ingest/gunzip.h"
#include "../ingest/ingest.h"
#include "../archive/rejects.h"
#include "../config/config.h"
#include "../core/fl_buf.h"
#include "../pipeline/dedupe.h"
#include "../sources/counters.h"
#include "../sources/gather.h"
#include "aws.h"
#include "http_reply.h"

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/* The Firehose response body for request_id (NULL -> ""), with msg as the
 * errorMessage (NULL = success). */
static enum MHD_Result
firehose_reply(struct MHD_Connection *c, unsigned int status,
               const char *request_id, const char *msg)
{
    char *buf = fl_malloc(FL_FIREHOSE_RESPONSE_MAX);
    size_t n = 0;
    if (buf == NULL)
        return MHD_NO;
    if (fl_firehose_response(request_id ? request_id : "", now_ms(), msg, buf,
                             FL_FIREHOSE_RESPONSE_MAX, &n) < 0) {
        /* An over-long request id: answer without echoing it. */
        (void)fl_firehose_response("", now_ms(), msg ? msg : "bad request id",
                                   buf, FL_FIREHOSE_RESPONSE_MAX, &n);
    }
    /* Firehose's endpoint specification asks endpoints to log the request
     * id: it is what AWS support and the stream's error logs refer to. */
    fl_log(status == 200 ? FL_LOG_INFO : FL_LOG_WARN, "firehose",
           "request %.100s: %u%s%s", request_id ? request_id : "(none)",
           status, msg ? ": " : "", msg ? msg : "");
    enum MHD_Result r = fl_http_reply(c, status, "application/json", buf, n);
    fl_free(buf);
    return r;
}


enum MHD_Result
fl_aws_firehose_error(struct MHD_Connection *c, unsigned int status,
                      const char *msg)
{
    const char *rid = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                  "X-Amz-Firehose-Request-Id");
    return firehose_reply(c, status, rid, msg);
}


/* A request's start: its body counted, Content-Encoding: gzip undone
 * within server.max_decompressed and server.max_compression_ratio (*plain
 * holds the inflated bytes, to fl_free), and a decoder with the same
 * limits (*dec). Returns 0 or <0 with err set (but for FL_ENOMEM). */
static int
start_request(const struct fl_source_env *env, enum fl_source_kind kind,
              struct MHD_Connection *c, const char *raw, size_t raw_len,
              char **plain, const char **body, size_t *len,
              struct fl_ingest **dec, struct fl_ingest_err *err)
{
    const char *enc = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                  "Content-Encoding");
    struct fl_ingest_limits lim = {
        .max_inflated = (size_t)env->cfg->max_decompressed,
        .max_ratio = (unsigned)env->cfg->max_compression_ratio,
    };
    memset(err, 0, sizeof *err);
    fl_source_counters_request(env->counters, kind, raw_len);
    *body = raw;
    *len = raw_len;
    if (enc != NULL && strcmp(enc, "gzip") == 0) {
        size_t cap = 0, n = 0;
        int rc = fl_gunzip(raw, raw_len, lim.max_inflated, lim.max_ratio,
                           plain, &cap, &n, err);
        if (rc < 0)
            return rc;
        *body = *plain;
        *len = n;
    }
    return fl_ingest_create(&lim, dec);
}


/* The request's delivery stream (from X-Amz-Firehose-Source-Arn; *src
 * zeroed when absent or not an ARN of that shape) and common attributes
 * (*attrs: compact JSON to fl_free, or NULL). A header of the wrong shape
 * is logged and left out. Returns 0 or FL_ENOMEM. */
static int
delivery_provenance(struct MHD_Connection *c, const char *rid,
                    struct fl_firehose_source *src, char **attrs)
{
    const char *arn = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                  "X-Amz-Firehose-Source-Arn");
    const char *ca = MHD_lookup_connection_value(
        c, MHD_HEADER_KIND, "X-Amz-Firehose-Common-Attributes");
    memset(src, 0, sizeof *src);
    *attrs = NULL;
    if (arn != NULL && fl_firehose_source_arn(arn, strlen(arn), src) < 0)
        fl_log(FL_LOG_WARN, "firehose", "request %.100s: "
               "X-Amz-Firehose-Source-Arn is not a delivery stream ARN; "
               "ignored", rid ? rid : "(none)");
    if (ca == NULL)
        return FL_OK;
    size_t cap = strlen(ca) + 1;
    if ((*attrs = fl_malloc(cap)) == NULL)
        return FL_ENOMEM;
    /* Compact JSON of a subset of the header: never longer than it. */
    int rc = fl_firehose_common_attributes(ca, strlen(ca), *attrs, cap, NULL);
    if (rc == FL_ENOMEM) {
        fl_free(*attrs);
        *attrs = NULL;
        return rc;
    }
    if (rc < 0) {
        fl_free(*attrs);
        *attrs = NULL;
        fl_log(FL_LOG_WARN, "firehose", "request %.100s: "
               "X-Amz-Firehose-Common-Attributes is not {\"commonAttributes\": "
               "{...}} with string values; ignored", rid ? rid : "(none)");
    }
    return FL_OK;
}


/* Decodes every record of a Firehose request into g. A record that
 * cannot be decoded leaves nothing in g and goes to the errors folder with
 * its reason and base64 text; the others go on. Returns 0 or FL_ENOMEM. */
static int
gather_records(const struct fl_source_env *env, struct fl_gather *g,
               struct fl_ingest *dec, struct fl_firehose_req *fr,
               const char *source)
{
    struct fl_ingest_err err;
    for (size_t i = 0; i < fl_firehose_nrecords(fr); i++) {
        size_t before = g->text.len, keys_before = g->n_keys;
        int rc = fl_firehose_record_decode(dec, fr, i, fl_gather_on_line, g,
                                           NULL, &err);
        if (rc == FL_ENOMEM)
            return rc;
        if (rc < 0) {
            const char *b64;
            size_t b64_len;
            fl_gather_truncate(g, before, keys_before);
            fl_firehose_record_b64(fr, i, &b64, &b64_len);
            (void)fl_rejects_add(env->rejects, source,
                                 (unsigned long long)i + 1, err.msg, b64,
                                 b64_len);
            fl_source_counters_records(env->counters, FL_SOURCE_FIREHOSE, 0,
                                       1);
        }
    }
    return FL_OK;
}


enum MHD_Result
fl_aws_firehose(const struct fl_source_env *env, struct MHD_Connection *c,
                const char *raw, size_t raw_len)
{
    const char *rid = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                  "X-Amz-Firehose-Request-Id");
    const char *format = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                     "format");
    struct fl_ingest *dec = NULL;
    struct fl_firehose_req *fr = NULL;
    struct fl_ingest_err err;
    struct fl_gather g;
    char *plain = NULL, source[160];
    const char *body;
    size_t len;
    enum MHD_Result ret;
    uint64_t rkey = 0;
    unsigned char taken = 0;
    int rc, rkey_claimed = 0;
    struct fl_firehose_source src;
    char *attrs = NULL;

    fl_gather_init(&g, env->dedupe, env->cfg->dedupe_wait * 1000);
    if ((rc = delivery_provenance(c, rid, &src, &attrs)) < 0) {
        ret = firehose_reply(c, 503, rid, FL_OOM_TEXT);
        goto out;
    }
    g.delivery_stream = src.stream[0] ? src.stream : NULL;
    g.stream_account = src.account[0] ? src.account : NULL;
    g.stream_region = src.region[0] ? src.region : NULL;
    g.attributes = attrs;
    /* X-Amz-Firehose-Access-Key was checked by http.c from the headers,
     * before any of the body was read. */
    if ((rc = start_request(env, FL_SOURCE_FIREHOSE, c, raw, raw_len, &plain,
                            &body, &len, &dec, &err)) < 0
        || (rc = fl_firehose_parse(dec, body, len, &fr, &err)) < 0) {
        ret = firehose_reply(c, fl_http_status(rc), rid,
                             rc == FL_ENOMEM ? FL_OOM_TEXT : err.msg);
        goto out;
    }
    if (rid == NULL)
        rid = fl_firehose_request_id(fr);
    /* Claimed before anything is written; a retry of a delivery still in
     * flight waits here for its outcome. */
    rkey = fl_dedupe_source_key(FL_DEDUPE_FIREHOSE, rid, strlen(rid));
    rc = fl_dedupe_claim(env->dedupe, &rkey, 1, env->cfg->dedupe_wait * 1000,
                         &taken);
    if (rc < 0) {
        ret = firehose_reply(c, 503, rid, rc == FL_EAGAIN
                             ? "a delivery with this request id is still in "
                               "progress; retry later" : FL_OOM_TEXT);
        goto out;
    }
    if (taken) {
        /* A retry of a request already taken: acknowledge, add nothing. */
        fl_source_counters_duplicates(env->counters, FL_SOURCE_FIREHOSE, 1);
        ret = firehose_reply(c, 200, rid, NULL);
        goto out;
    }
    rkey_claimed = 1;
    snprintf(source, sizeof source, "firehose request %.100s", rid);
    if ((rc = gather_records(env, &g, dec, fr, source)) < 0) {
        ret = firehose_reply(c, 503, rid, FL_OOM_TEXT);
        goto out;
    }
    if ((rc = fl_gather_claim(&g)) < 0) {
        ret = firehose_reply(c, 503, rid, rc == FL_EAGAIN
                             ? "events of this delivery are still in progress "
                               "in another; retry later" : FL_OOM_TEXT);
        goto out;
    }
    fl_source_counters_duplicates(env->counters, FL_SOURCE_FIREHOSE,
                                  g.duplicates);
    if ((rc = fl_gather_add_key(&g, rkey, g.text.len)) < 0) {
        ret = firehose_reply(c, 503, rid, FL_OOM_TEXT);
        goto out;
    }
    rkey_claimed = 0;          /* g.keys holds it now */
    struct fl_ingest_result res;
    env->ingest(env->ctx, FL_SOURCE_FIREHOSE, source,
                g.text.p ? g.text.p : "", g.text.len, format, g.keys,
                g.n_keys, g.segs, g.n_segs, &res);
    if (res.err.code != 0) {
        ret = firehose_reply(c, fl_http_status(res.err.code), rid,
                             fl_err_msg(&res.err));
        goto out;
    }
    fl_gather_end_claims(&g, 1);
    ret = firehose_reply(c, 200, rid, NULL);
out:
    if (rkey_claimed)
        fl_dedupe_abort(env->dedupe, &rkey, 1);
    fl_gather_free(&g);
    fl_firehose_destroy(fr);
    fl_ingest_destroy(dec);
    fl_free(plain);
    fl_free(attrs);
    return ret;
}


enum MHD_Result
fl_aws_cwl(const struct fl_source_env *env, struct MHD_Connection *c,
           const char *raw, size_t raw_len)
{
    const char *format = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                     "format");
    struct fl_ingest *dec = NULL;
    struct fl_ingest_err err;
    struct fl_ingest_info info;
    struct fl_gather g;
    char *plain = NULL, out[256];
    const char *body;
    size_t len;
    enum MHD_Result ret;
    int rc;

    fl_gather_init(&g, env->dedupe, env->cfg->dedupe_wait * 1000);
    if ((rc = start_request(env, FL_SOURCE_CWL, c, raw, raw_len, &plain,
                            &body, &len, &dec, &err)) < 0
        || (rc = fl_ingest_decode_cwl(dec, body, len, fl_gather_on_line, &g,
                                      &info, &err)) < 0) {
        ret = fl_http_reply_error(c, fl_http_status(rc),
                                  rc == FL_ENOMEM ? FL_OOM_TEXT : err.msg);
        goto done;
    }
    struct fl_ingest_result res;
    memset(&res, 0, sizeof res);
    if ((rc = fl_gather_claim(&g)) < 0) {
        ret = fl_http_reply_error(c, 503, rc == FL_EAGAIN
                                  ? "events of this payload are still in "
                                    "progress in another request; retry later"
                                  : FL_OOM_TEXT);
        goto done;
    }
    if (info.kind != FL_INGEST_CWL_CONTROL && g.text.len > 0) {
        /* (A CONTROL_MESSAGE, or only events already taken, is simply
         * acknowledged.) */
        env->ingest(env->ctx, FL_SOURCE_CWL, "cwl subscription", g.text.p,
                    g.text.len, format, g.keys, g.n_keys, g.segs, g.n_segs,
                    &res);
    }
    fl_source_counters_duplicates(env->counters, FL_SOURCE_CWL, g.duplicates);
    if (res.err.code != 0) {
        ret = fl_http_reply_error(c, fl_http_status(res.err.code),
                                  fl_err_msg(&res.err));
        goto done;
    }
    fl_gather_end_claims(&g, 1);
    int m = snprintf(out, sizeof out,
                     "{\"accepted\":%llu,\"rejected\":%llu,\"duplicates\":%llu}\n",
                     (unsigned long long)res.accepted,
                     (unsigned long long)res.rejected,
                     (unsigned long long)g.duplicates);
    ret = fl_http_reply(c, 200, "application/json", out, (size_t)m);
done:
    fl_gather_free(&g);
    fl_ingest_destroy(dec);
    fl_free(plain);
    return ret;
}
