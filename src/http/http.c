/* SPDX-License-Identifier: MIT
 *
 * http.c -- the HTTP face of `flowlake serve`, on libmicrohttpd: a thread
 * pool with keep-alive, request bodies collected within server.max_body,
 * and the routes:
 *
 *   GET  /healthz       200 "ok" while accepting, 503 while stopping
 *   GET  /api/status    JSON: per-source counters, buffer, publishing
 *   POST /ingest        flow-log lines (plain or gzip; header line or
 *                       ?format=...) -> {"accepted":N,"rejected":N}
 *   POST /api/query     SQL (api_query.c)
 *   POST /api/query/cancel?id=ID  stop a running query (api_query.c)
 *   POST /firehose, /cwl  AWS deliveries (aws.c)
 *   GET  /metrics, /api/metrics, /api/alarms  (api_metrics.c)
 *   POST /api/metrics/batch                   (api_metrics.c)
 *   GET  /api/metrics/partials                (api_metrics.c)
 *   GET  /api/publishes, /api/rejects, /api/alarms/history  (status.c)
 *   GET  /api/dashboards, GET|PUT|DELETE /api/dashboards/NAME
 *                       the web UI's dashboards (dashboards.c); PUT and
 *                       DELETE take the admin key
 *   GET  /, /ui/...     the web UI's embedded files (ui.c), no key
 *
 * Every request is judged from its headers first, before a byte of its
 * body is read (docs/security.md): a request target that is not a plain
 * path is 400, then unknown path 404, wrong method 405, missing or wrong
 * key 401 (Bearer for /cwl, /ingest and the read endpoints, Firehose's
 * own header for /firehose), a Content-Length over server.max_body 413,
 * and a body that would take the bodies in flight past
 * server.max_inflight_bytes 503. A chunked body that grows past either
 * limit is dropped as it comes and answered the same way at its end.
 * Connections are capped overall and per client address, and closed
 * after server.idle_timeout without traffic.
 */
#include "../core/fl_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "../core/fl_compiler.h"
#include "../core/fl_error.h"
#include "../core/fl_fs.h"
#include "../core/fl_httpreq.h"
#include "../core/fl_instance.h"
#include "../core/fl_json.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "../parse/utf8.h"
#include "dashboards.h"
#include "../metrics/api_metrics.h"
#include "../metrics/metrics.h"
#include "../s3/uploader.h"
#include "../server/server.h"
#include "../server/server_int.h"
#include "aws.h"
#include "ui.h"

static enum MHD_Result
reply_with(struct MHD_Connection *c, unsigned int status, const char *type,
           const char *text, size_t len, unsigned retry_s)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, (void *)(uintptr_t)text, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    if (retry_s > 0) {
        char secs[16];
        snprintf(secs, sizeof secs, "%u", retry_s);
        MHD_add_response_header(r, "Retry-After", secs);
    }
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}


enum MHD_Result
fl_http_reply(struct MHD_Connection *c, unsigned int status, const char *type,
              const char *text, size_t len)
{
    return reply_with(c, status, type, text, len, status == 503 ? 5 : 0);
}


#define reply fl_http_reply


int
fl_http_error_open(struct fl_buf *b, const char *msg)
{
    fl_buf_adds(b, "{\"error\":");
    return fl_json_add_str(b, msg, strlen(msg), FL_JSON_STRICT);
}


static enum MHD_Result
reply_error_json(struct MHD_Connection *c, unsigned int status,
                 const char *msg, unsigned retry_s)
{
    struct fl_buf b = { 0 };
    fl_http_error_open(&b, msg);
    if (fl_buf_adds(&b, "}\n") < 0) {
        fl_buf_free(&b);
        return MHD_NO;
    }
    enum MHD_Result r = reply_with(c, status, "application/json", b.p,
                                   b.len, retry_s);
    fl_buf_free(&b);
    return r;
}


enum MHD_Result
fl_http_reply_error(struct MHD_Connection *c, unsigned int status,
                    const char *msg)
{
    return reply_error_json(c, status, msg, status == 503 ? 5 : 0);
}


enum MHD_Result
fl_http_reply_json(struct MHD_Connection *c, json_t *j)
{
    if (j == NULL)
        return fl_http_reply_error(c, 503, FL_OOM_TEXT);
    size_t n = json_dumpb(j, NULL, 0, JSON_COMPACT);
    char *text = n > 0 ? fl_malloc(n + 1) : NULL;
    if (text == NULL) {
        json_decref(j);
        return fl_http_reply_error(c, 503, FL_OOM_TEXT);
    }
    json_dumpb(j, text, n, JSON_COMPACT);
    json_decref(j);
    text[n] = '\n';
    enum MHD_Result r = fl_http_reply(c, 200, "application/json", text,
                                      n + 1);
    fl_free(text);
    return r;
}


enum MHD_Result
fl_http_reply_retry(struct MHD_Connection *c, unsigned int status,
                    unsigned retry_s, const char *msg)
{
    return reply_error_json(c, status, msg, retry_s);
}


#define reply_error fl_http_reply_error


/* The answer's size: the counters, plus each source's per-minute rates
 * (two arrays of 60 counts). */
#define STATUS_CAP 65536

/* The answer being written: o may pass cap (a truncated write), after
 * which nothing more is written. */
struct status_out {
    char  *p;
    size_t cap, o;
};

static void status_put(struct status_out *so, const char *fmt, ...)
    FL_PRINTF(2, 3);

static void
status_put(struct status_out *so, const char *fmt, ...)
{
    va_list ap;
    if (so->o >= so->cap)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(so->p + so->o, so->cap - so->o, fmt, ap);
    va_end(ap);
    if (n > 0)
        so->o += (size_t)n;
}


/* "sources" (the counters of each source) and "source_rates". */
static void
put_sources(struct status_out *so, struct fl_server *s, int64_t now)
{
    /* The instance id is 1-32 of [A-Za-z0-9-]: nothing to escape. */
    status_put(so, "{\"instance\":\"%s\",\"uptime_seconds\":%.0f,"
               "\"accepting\":%s,\"sources\":{", fl_instance_id(),
               fl_time_mono() - s->started,
               atomic_load(&s->accepting) ? "true" : "false");
    for (int k = 0; k < FL_SOURCE_COUNT; k++) {
        struct fl_source_totals t;
        fl_source_counters_totals(s->counters, k, &t);
        status_put(so,
            "%s\"%s\":{\"requests\":%llu,\"records\":%llu,\"bytes\":%llu,"
            "\"rejected\":%llu,\"duplicates\":%llu}", k ? "," : "",
            fl_source_name(k), (unsigned long long)t.requests,
            (unsigned long long)t.records, (unsigned long long)t.bytes,
            (unsigned long long)t.rejected,
            (unsigned long long)t.duplicates);
    }
    /* The status page's view of each source, in an object of its own: the
     * source objects above end as they always did, for scripts that match
     * their text. */
    status_put(so, "},\"source_rates\":{");
    for (int k = 0; k < FL_SOURCE_COUNT && so->o < so->cap; k++) {
        status_put(so, "%s\"%s\":{", k ? "," : "", fl_source_name(k));
        if (so->o < so->cap)
            so->o += fl_http_source_rates_json(s, k, now, so->p + so->o,
                                               so->cap - so->o);
        status_put(so, "}");
    }
}


/* "wal" and "dedupe". */
static void
put_wal_dedupe(struct status_out *so, const struct fl_pipeline_stats *ps)
{
    const struct fl_wal_stats *ws = &ps->wal;
    status_put(so,
        "},\"wal\":{\"bytes\":%llu,\"max_bytes\":%llu,\"segments\":%llu,"
        "\"appends\":%llu,\"commits\":%llu,\"syncs\":%llu,"
        "\"durable_seq\":%llu,\"checkpoint\":%llu,\"full\":%llu,"
        "\"recovered_records\":%llu,\"published_seq\":%llu,"
        "\"unpublished_records\":%llu,\"held_requests\":%llu,"
        "\"held_records\":%llu,\"held_kept\":%llu,\"held_dropped\":%llu",
        (unsigned long long)ws->bytes, (unsigned long long)ws->max_bytes,
        (unsigned long long)ws->segments, (unsigned long long)ws->appends,
        (unsigned long long)ws->commits, (unsigned long long)ws->syncs,
        (unsigned long long)ws->durable_seq,
        (unsigned long long)ws->checkpoint, (unsigned long long)ws->full,
        (unsigned long long)ps->replayed,
        (unsigned long long)ps->published_seq,
        (unsigned long long)(ps->buffer.records + ps->inflight_records),
        (unsigned long long)ps->held_requests,
        (unsigned long long)ps->held_records,
        (unsigned long long)ps->held_kept,
        (unsigned long long)ps->held_dropped);
    const struct fl_dedupe_stats *ds = &ps->dedupe;
    status_put(so,
        "},\"dedupe\":{\"keys\":%zu,\"max_keys\":%zu,\"claimed\":%zu,"
        "\"evicted\":%llu,\"expired\":%llu,\"waits\":%llu,"
        "\"wait_timeouts\":%llu",
        ds->keys, ds->max_keys, ds->claimed, (unsigned long long)ds->evicted,
        (unsigned long long)ds->expired, (unsigned long long)ds->waits,
        (unsigned long long)ds->wait_timeouts);
}


/* A string as a JSON value: null when empty. */
static void
json_or_null(char *out, size_t cap, const char *text)
{
    snprintf(out, cap, "null");
    if (text[0] != '\0')
        out[fl_json_escape(out, cap, text, strlen(text))] = '\0';
}


/* "buffer" and "published". */
static void
put_buffer_published(struct status_out *so, struct fl_server *s,
                     const struct fl_pipeline_stats *ps)
{
    const struct fl_buffer_info *bi = &ps->buffer;
    char err[560];
    json_or_null(err, sizeof err, ps->last_error);
    /* The buffer's clock: how long its oldest block has waited, and when
     * archive.buffer_interval makes the publish due (null when empty). */
    char age[32] = "null", due[32] = "null";
    if (bi->oldest_age >= 0) {
        snprintf(age, sizeof age, "%.3f", bi->oldest_age);
        snprintf(due, sizeof due, "%.3f", bi->due_in);
    }
    status_put(so,
        "},\"buffer\":{\"bytes\":%zu,\"records\":%llu,\"blocks\":%llu,"
        "\"max_bytes\":%zu,\"interval_seconds\":%llu,"
        "\"oldest_age_seconds\":%s,\"next_publish_in_seconds\":%s,"
        "\"publishing_records\":%llu},"
        "\"published\":{\"files\":%llu,\"records\":%llu,\"last_publish\":%lld,"
        "\"failures\":%llu,\"last_error\":%s,\"bytes\":%llu},",
        bi->bytes, (unsigned long long)bi->records,
        (unsigned long long)bi->blocks, bi->max_bytes,
        (unsigned long long)s->cfg->buffer_interval, age, due,
        (unsigned long long)ps->inflight_records,
        (unsigned long long)ps->files_published,
        (unsigned long long)ps->records_published,
        (long long)ps->last_publish,
        (unsigned long long)ps->publish_failures, err,
        (unsigned long long)ps->bytes_published);
}


/* "queries", "compaction", "upload" and "rejects". */
static void
put_queries_rejects(struct status_out *so, struct fl_server *s,
                    const struct fl_pipeline_stats *ps)
{
    uint64_t running = fl_http_queries_running(s);
    status_put(so,
        "\"queries\":{\"running\":%llu,\"max_concurrent\":%llu,"
        "\"started\":%llu,\"refused\":%llu},",
        (unsigned long long)running,
        (unsigned long long)s->cfg->query_max_concurrent,
        (unsigned long long)atomic_load(&s->queries_started),
        (unsigned long long)atomic_load(&s->queries_refused));
    /* Compaction and retention (server/compactor.c). */
    pthread_mutex_lock(&s->compact_mu);
    struct fl_compact_totals ct = s->compact;
    pthread_mutex_unlock(&s->compact_mu);
    char cerr[560];
    json_or_null(cerr, sizeof cerr, ct.last_error);
    status_put(so,
        "\"compaction\":{\"interval_seconds\":%llu,\"passes\":%llu,"
        "\"failures\":%llu,\"hours_compacted\":%llu,\"files_before\":%llu,"
        "\"files_after\":%llu,\"hours_expired\":%llu,\"last_pass\":%lld,"
        "\"last_seconds\":%.3f,\"last_error\":%s},",
        (unsigned long long)s->cfg->compact_interval,
        (unsigned long long)ct.passes, (unsigned long long)ct.failures,
        (unsigned long long)ct.hours_compacted,
        (unsigned long long)ct.files_before,
        (unsigned long long)ct.files_after,
        (unsigned long long)ct.hours_expired, (long long)ct.last_pass,
        ct.last_seconds, cerr);
    /* The object store (s3/uploader.h): null without s3.url. */
    if (s->uploader == NULL) {
        status_put(so, "\"upload\":null,");
    } else {
        struct fl_upload_stats us;
        char uerr[1100], url[600];
        fl_uploader_get_stats(s->uploader, &us);
        json_or_null(uerr, sizeof uerr, us.last_error);
        json_or_null(url, sizeof url, fl_uploader_url(s->uploader));
        status_put(so,
            "\"upload\":{\"url\":%s,\"pending_changes\":%llu,"
            "\"changes_done\":%llu,\"files_uploaded\":%llu,"
            "\"bytes_uploaded\":%llu,\"objects_deleted\":%llu,"
            "\"manifests_deleted\":%llu,"
            "\"requests\":%llu,\"retries\":%llu,\"failures\":%llu,"
            "\"last_done\":%lld,\"last_error\":%s},",
            url, (unsigned long long)us.pending,
            (unsigned long long)us.changes_done,
            (unsigned long long)us.files_uploaded,
            (unsigned long long)us.bytes_uploaded,
            (unsigned long long)us.objects_deleted,
            (unsigned long long)us.manifests_deleted,
            (unsigned long long)us.s3.requests,
            (unsigned long long)us.s3.retries,
            (unsigned long long)us.failures, (long long)us.last_done, uerr);
    }
    /* The errors folder: lines it could not record are counted, not
     * hidden (rejects.c retries them as they come). */
    const struct fl_rejects_stats *rs = &ps->rejects;
    char rerr[560];
    json_or_null(rerr, sizeof rerr, rs->last_error);
    status_put(so,
        "\"rejects\":{\"written\":%llu,\"lost\":%llu,\"failures\":%llu,"
        "\"failing\":%s,\"last_error\":%s},\"metrics\":",
        (unsigned long long)rs->written, (unsigned long long)rs->lost,
        (unsigned long long)rs->failures, rs->failing ? "true" : "false",
        rerr);
}


static enum MHD_Result
handle_status(struct fl_server *s, struct MHD_Connection *c)
{
    struct status_out so = { .cap = STATUS_CAP };
    int64_t now = fl_time_now();

    struct fl_pipeline_stats *ps = fl_malloc(sizeof *ps);
    so.p = fl_malloc(so.cap);
    if (so.p == NULL || ps == NULL) {
        fl_free(ps);
        fl_free(so.p);
        return reply_error(c, 503, FL_OOM_TEXT);
    }
    fl_pipeline_stats(s->pipeline, ps);

    put_sources(&so, s, now);
    put_wal_dedupe(&so, ps);
    put_buffer_published(&so, s, ps);
    put_queries_rejects(&so, s, ps);
    fl_free(ps);
    /* Room is kept for the closing brace. */
    if (so.o + 8 < so.cap)
        so.o += fl_metrics_status_json(s->metrics, so.p + so.o,
                                       so.cap - so.o - 8);
    if (so.o + 3 < so.cap)
        so.o += (size_t)snprintf(so.p + so.o, so.cap - so.o, "}\n");
    enum MHD_Result r = reply(c, 200, "application/json", so.p,
                              so.o < so.cap ? so.o : so.cap - 1);
    fl_free(so.p);
    return r;
}


/* GET /metrics: the server's figures, taken now, and the metrics' own
 * (metrics/api_metrics.c writes them all). */
static enum MHD_Result
handle_prometheus(struct fl_server *s, struct MHD_Connection *c)
{
    struct fl_prom_source src[FL_SOURCE_COUNT];
    struct fl_prom_server ps = { .sources = src,
                                 .n_sources = FL_SOURCE_COUNT };
    struct fl_pipeline_stats *st = fl_malloc(sizeof *st);
    if (st == NULL)
        return reply_error(c, 503, FL_OOM_TEXT);

    for (int k = 0; k < FL_SOURCE_COUNT; k++) {
        struct fl_source_totals t;
        fl_source_counters_totals(s->counters, k, &t);
        src[k] = (struct fl_prom_source) {
            .name = fl_source_name(k), .records = t.records,
            .rejected = t.rejected, .requests = t.requests,
            .bytes = t.bytes, .duplicates = t.duplicates,
        };
    }
    fl_pipeline_stats(s->pipeline, st);
    ps.wal_bytes = st->wal.bytes;
    ps.wal_max_bytes = st->wal.max_bytes;
    ps.held_records = st->held_records;
    ps.held_kept = st->held_kept;
    ps.held_dropped = st->held_dropped;
    ps.buffered_records = st->buffer.records;
    ps.files_published = st->files_published;
    ps.records_published = st->records_published;
    ps.publish_failures = st->publish_failures;
    if (s->uploader != NULL) {
        struct fl_upload_stats us;
        fl_uploader_get_stats(s->uploader, &us);
        ps.upload = 1;
        ps.upload_pending = us.pending;
        ps.upload_files = us.files_uploaded;
        ps.upload_bytes = us.bytes_uploaded;
        ps.upload_deleted = us.objects_deleted;
        ps.upload_failures = us.failures;
        ps.upload_last_done = us.last_done;
    }
    ps.uptime = fl_time_mono() - s->started;
    fl_free(st);
    return fl_metrics_api_prometheus(s->metrics, c, &ps);
}


/* Longest X-Flowlake-Source accepted. */
#define SOURCE_NAME_MAX 256


/* An AWS region name: two letters, one or more words, a number
 * (us-east-1, us-gov-west-1, ap-southeast-2), at most 31 bytes as the
 * path reader takes them (core/fl_awspath.h). */
static int
is_region(const char *r)
{
    size_t n = strlen(r), i = 0;
    if (n < 4 || n > 31)
        return 0;
    while (i < n && r[i] >= 'a' && r[i] <= 'z')
        i++;
    if (i != 2)
        return 0;
    int words = 0;
    while (i < n && r[i] == '-') {
        size_t w = ++i;
        while (i < n && r[i] >= 'a' && r[i] <= 'z')
            i++;
        if (i == w)
            break;              /* the number, after its dash */
        words++;
    }
    size_t d = i;
    if (words == 0 || d == 0 || r[d - 1] != '-')
        return 0;
    while (i < n && r[i] >= '0' && r[i] <= '9')
        i++;
    return i == n && i > d && i - d <= 2;
}


/* The provenance a POST /ingest sender may give (X-Flowlake-Source,
 * -Account-Id, -Region), used as the path-derived values of a watched
 * file are: a name in source_file, account_id / region filled when a
 * record's format lacks them. Sets *have when any is given; on a bad
 * value, fills err (naming the header) and returns -1. */
static int
ingest_provenance(struct MHD_Connection *c, struct fl_provenance *prov,
                  int *have, char *err, size_t errlen)
{
    const char *src = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                  "X-Flowlake-Source");
    const char *acc = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                  "X-Flowlake-Account-Id");
    const char *reg = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                  "X-Flowlake-Region");
    memset(prov, 0, sizeof *prov);
    *have = 0;
    if (src != NULL) {
        size_t n = strlen(src), off = 0;
        /* Stored as a column value: text SQL can show, as a record's. */
        if (n == 0 || n > SOURCE_NAME_MAX
            || fl_text_check(src, n, &off) != FL_TEXT_OK) {
            snprintf(err, errlen, "X-Flowlake-Source: expected 1 to %d "
                     "bytes of UTF-8 text without control characters",
                     SOURCE_NAME_MAX);
            return -1;
        }
        prov->v[FL_PROV_SOURCE_FILE] = src;
    }
    if (acc != NULL) {
        size_t n = strlen(acc);
        int ok = n == 12;
        for (size_t i = 0; ok && i < n; i++)
            ok = acc[i] >= '0' && acc[i] <= '9';
        if (!ok) {
            snprintf(err, errlen, "X-Flowlake-Account-Id: expected an AWS "
                     "account id (12 digits)");
            return -1;
        }
        prov->v[FL_PROV_ACCOUNT] = acc;
    }
    if (reg != NULL) {
        if (!is_region(reg)) {
            snprintf(err, errlen, "X-Flowlake-Region: expected an AWS "
                     "region name (such as us-east-1)");
            return -1;
        }
        prov->v[FL_PROV_REGION] = reg;
    }
    *have = src != NULL || acc != NULL || reg != NULL;
    return 0;
}


static enum MHD_Result
handle_ingest(struct fl_server *s, struct MHD_Connection *c,
              struct request *req)
{
    struct fl_ingest_result res;
    struct fl_prov_seg seg = { .off = 0 };
    int have_prov = 0;
    char perr[160];
    const char *format = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                     "format");
    char source[96];
    const struct sockaddr *sa = NULL;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char addr[64] = "?";
    if (ci != NULL && (sa = ci->client_addr) != NULL) {
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                      addr, sizeof addr);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                      addr, sizeof addr);
    }
    snprintf(source, sizeof source, "POST /ingest from %s", addr);
    fl_source_counters_request(s->counters, FL_SOURCE_INGEST, req->len);
    if (ingest_provenance(c, &seg.prov, &have_prov, perr, sizeof perr) < 0)
        return reply_error(c, 400, perr);
    const struct fl_source_env *env = &s->source_env;
    env->ingest(env->ctx, FL_SOURCE_INGEST, source,
                req->body ? req->body : "", req->len, format, NULL, 0,
                have_prov ? &seg : NULL, have_prov ? 1 : 0, &res);
    if (res.err.code != 0)
        return reply_error(c, fl_http_status(res.err.code),
                           fl_err_msg(&res.err));
    char out[128];
    int n = snprintf(out, sizeof out, "{\"accepted\":%llu,\"rejected\":%llu}\n",
                     (unsigned long long)res.accepted,
                     (unsigned long long)res.rejected);
    return reply(c, 200, "application/json", out, (size_t)n);
}


/* Who may call an endpoint (docs/security.md). */
enum role {
    ROLE_OPEN,          /* anyone: /healthz */
    ROLE_FIREHOSE,      /* X-Amz-Firehose-Access-Key */
    ROLE_INGEST,        /* Authorization: Bearer server.ingest_key */
    ROLE_READ,          /* Authorization: Bearer server.read_key */
    ROLE_ADMIN          /* Authorization: Bearer server.admin_key, or the
                         * read key's rule when no admin key is set */
};

struct route {
    const char *path;
    const char *method;          /* the one method taken (GET also HEAD
                                  * for /healthz) */
    enum role   role;
    const char *wrong_method;    /* the 405 message */
};

static const struct route routes[] = {
    { "/healthz",     "GET",  ROLE_OPEN,     "use GET" },
    { "/api/status",  "GET",  ROLE_READ,     "use GET" },
    { "/metrics",     "GET",  ROLE_READ,     "use GET" },
    { "/api/metrics", "GET",  ROLE_READ,     "use GET" },
    { "/api/metrics/batch", "POST", ROLE_READ,
      "use POST with a JSON array of reads" },
    { "/api/metrics/partials", "GET", ROLE_READ, "use GET" },
    { "/api/alarms",  "GET",  ROLE_READ,     "use GET" },
    { "/api/alarms/history", "GET", ROLE_READ, "use GET" },
    { "/api/publishes", "GET", ROLE_READ,    "use GET" },
    { "/api/rejects", "GET",  ROLE_READ,     "use GET" },
    { "/api/query",   "POST", ROLE_READ,
      "use POST with the SQL as the body" },
    { "/api/query/cancel", "POST", ROLE_READ, "use POST with ?id=" },
    { "/firehose",    "POST", ROLE_FIREHOSE, "use POST" },
    { "/cwl",         "POST", ROLE_INGEST,   "use POST" },
    { "/ingest",      "POST", ROLE_INGEST,   "use POST" },
};


/* Every file of the web UI (ui.c): open like /healthz, because the page
 * and its scripts carry no data; the APIs they call take the read key. */
static const struct route ui_route =
    { "/", "GET", ROLE_OPEN, "use GET" };

/* /api/dashboards/NAME: one path, three methods, two roles -- reading a
 * dashboard is reading, changing one is the admin's (docs/security.md). */
#define DASH_PREFIX "/api/dashboards/"
static const struct route dash_routes[] = {
    { DASH_PREFIX, "GET",    ROLE_READ,  "use GET, PUT or DELETE" },
    { DASH_PREFIX, "PUT",    ROLE_ADMIN, "use GET, PUT or DELETE" },
    { DASH_PREFIX, "DELETE", ROLE_ADMIN, "use GET, PUT or DELETE" },
    { "/api/dashboards", "GET", ROLE_READ, "use GET" },
};


static const struct route *
find_route(const char *url, const char *method)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(routes[i].path, url) == 0)
            return &routes[i];
    if (strcmp(url, "/api/dashboards") == 0)
        return &dash_routes[3];
    /* The name is checked by dashboards.c (400 naming the rule); an empty
     * one is no dashboard. */
    if (strncmp(url, DASH_PREFIX, strlen(DASH_PREFIX)) == 0
        && url[strlen(DASH_PREFIX)] != '\0') {
        for (size_t i = 0; i < 3; i++)
            if (strcmp(method, dash_routes[i].method) == 0)
                return &dash_routes[i];
        return &dash_routes[0];     /* 405 */
    }
    return fl_ui_find(url) != NULL ? &ui_route : NULL;
}


/* The address libmicrohttpd hands the URI log callback's result to as the
 * request's first *req_cls: "the raw request target was not canonical".
 * Never written; only its address is used. */
static char bad_target;


/* libmicrohttpd's URI log callback: it sees the request target as sent,
 * before percent-decoding -- the only place where "/ingest%00/x" is still
 * distinguishable from "/ingest". */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)c;
    return fl_httpreq_target_ok(uri) ? NULL : &bad_target;
}


/* {"error": msg} with an extra response header (hname NULL = none). */
static enum MHD_Result
reply_error_hdr(struct MHD_Connection *c, unsigned int status,
                const char *msg, const char *hname, const char *hvalue)
{
    size_t cap = 6 * strlen(msg) + 32;
    char *body = fl_malloc(cap);
    if (body == NULL)
        return MHD_NO;
    size_t o = (size_t)snprintf(body, cap, "{\"error\":");
    o += fl_json_escape(body + o, cap - o, msg, strlen(msg));
    o += (size_t)snprintf(body + o, cap - o, "}\n");
    struct MHD_Response *r = MHD_create_response_from_buffer(
        o, body, MHD_RESPMEM_MUST_COPY);
    fl_free(body);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (hname != NULL)
        MHD_add_response_header(r, hname, hvalue);
    if (status == 503)
        MHD_add_response_header(r, "Retry-After", "5");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}


/* Whether the request carries the key its route wants. A role whose key
 * is not set is open (fl_http_start refused that off loopback). */
static int
authorized(struct fl_server *s, struct MHD_Connection *c,
           enum role role)
{
    const struct fl_http_keys *k = &s->keys;
    const unsigned char *want;
    const char *tok;
    size_t len;

    switch (role) {
    case ROLE_OPEN:
        return 1;
    case ROLE_FIREHOSE:
        /* Firehose can send only its own header; firehose.access_key, or
         * server.ingest_key when that is the only ingest key set. */
        if (!k->has_firehose && !k->has_ingest)
            return 1;
        tok = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                          "X-Amz-Firehose-Access-Key");
        if (tok == NULL)
            return 0;
        return fl_httpreq_key_matches(tok, strlen(tok), k->has_firehose
                                      ? k->firehose : k->ingest);
    case ROLE_INGEST:
    case ROLE_READ:
    case ROLE_ADMIN:
        /* Without an admin key, changing a dashboard takes the read key:
         * whoever may see the dashboards may arrange them. */
        if (role == ROLE_ADMIN && k->has_admin)
            want = k->admin;
        else if (role == ROLE_INGEST)
            want = k->has_ingest ? k->ingest : NULL;
        else
            want = k->has_read ? k->read : NULL;
        if (want == NULL)
            return 1;
        if (!fl_httpreq_bearer(MHD_lookup_connection_value(
                c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
                &tok, &len))
            return 0;
        return fl_httpreq_key_matches(tok, len, want);
    }
    return 0;
}


/* Counts n more bytes against server.max_inflight_bytes for req; 0 when
 * that would pass the limit (nothing counted then). */
static int
reserve(struct fl_server *s, struct request *req, uint64_t n)
{
    uint64_t cur = atomic_load(&s->inflight_bytes);
    do {
        if (n > s->cfg->max_inflight_bytes
            || cur > s->cfg->max_inflight_bytes - n)
            return 0;
    } while (!atomic_compare_exchange_weak(&s->inflight_bytes, &cur,
                                           cur + n));
    req->reserved += n;
    return 1;
}


static void
release(struct fl_server *s, struct request *req)
{
    if (req->reserved > 0) {
        atomic_fetch_sub(&s->inflight_bytes, req->reserved);
        req->reserved = 0;
    }
}


/* The largest body a route takes: a dashboard is small, whatever
 * server.max_body allows the deliveries. */
static uint64_t
body_limit(const struct fl_server *s, const struct route *rt)
{
    if (strcmp(rt->method, "PUT") == 0
        && strcmp(rt->path, DASH_PREFIX) == 0
        && FL_DASHBOARD_MAX_BYTES < s->cfg->max_body)
        return FL_DASHBOARD_MAX_BYTES;
    return s->cfg->max_body;
}


static enum MHD_Result
too_big(struct fl_server *s, struct MHD_Connection *c,
        const struct route *rt)
{
    char msg[96];
    if (body_limit(s, rt) < s->cfg->max_body) {
        snprintf(msg, sizeof msg, "a dashboard is at most %u bytes",
                 FL_DASHBOARD_MAX_BYTES);
        return reply_error(c, 413, msg);
    }
    snprintf(msg, sizeof msg, "request body exceeds %llu bytes",
             (unsigned long long)s->cfg->max_body);
    if (rt->role == ROLE_FIREHOSE)
        return fl_aws_firehose_error(c, 413, msg);
    return reply_error(c, 413, strcmp(rt->path, "/api/query") == 0
                       ? "query too long" : msg);
}


static enum MHD_Result
busy(struct MHD_Connection *c, const struct route *rt, const char *msg)
{
    if (rt->role == ROLE_FIREHOSE)
        return fl_aws_firehose_error(c, 503, msg);
    return reply_error(c, 503, msg);
}


/* The first call of a request: only its headers are in. Everything that
 * can be decided from them is decided here, and an answer queued now
 * makes libmicrohttpd skip the body (no "100 Continue" is sent, and the
 * connection is closed after the answer): 400 for a non-canonical target,
 * 404, 405, 401, 413 by Content-Length, 503 when the bodies being
 * received would pass server.max_inflight_bytes. */
static enum MHD_Result
on_headers(struct fl_server *s, struct MHD_Connection *c, const char *url,
           const char *method, void **req_cls)
{
    const struct route *rt;
    const char *cl;
    uint64_t expected = 0;

    if (*req_cls == &bad_target) {
        *req_cls = NULL;
        return reply_error(c, 400, "the request path must be plain: no "
                           "percent-encoding, control bytes, '//', '.' or "
                           "'..' segments");
    }
    if ((rt = find_route(url, method)) == NULL)
        return reply_error(c, 404, "no such endpoint");
    if (strcmp(method, rt->method) != 0
        && !(rt->role == ROLE_OPEN && strcmp(method, "HEAD") == 0))
        return reply_error(c, 405, rt->wrong_method);
    if (!authorized(s, c, rt->role)) {
        if (rt->role == ROLE_FIREHOSE)
            return fl_aws_firehose_error(c, 401, "invalid or missing "
                                         "X-Amz-Firehose-Access-Key");
        return reply_error_hdr(c, 401, "invalid or missing "
                               "Authorization: Bearer key",
                               MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                               "Bearer realm=\"flowlake\"");
    }
    cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl != NULL) {
        /* libmicrohttpd has already refused a malformed length. */
        expected = strtoull(cl, NULL, 10);
        if (expected > body_limit(s, rt))
            return too_big(s, c, rt);
    }
    if ((rt->role == ROLE_FIREHOSE || rt->role == ROLE_INGEST)
        && !atomic_load(&s->accepting))
        return busy(c, rt, "the server is stopping");

    struct request *req = fl_calloc(1, sizeof *req);
    if (req == NULL)
        return MHD_NO;
    req->expected = expected;
    req->limit = body_limit(s, rt);
    if (expected > 0 && !reserve(s, req, expected)) {
        fl_free(req);
        return busy(c, rt, "too many request bodies in flight; retry");
    }
    *req_cls = req;
    return MHD_YES;
}


/* Appends a piece of the body within server.max_body and
 * server.max_inflight_bytes; past either, the body is dropped and the
 * rest of it discarded (the answer comes when it is all in). */
static int
take_body(struct fl_server *s, struct request *req, const char *data,
          size_t n)
{
    if (req->too_big || req->over_budget)
        return FL_OK;
    if (req->len + n > req->limit) {
        req->too_big = 1;
    } else if (req->len + n > req->cap) {
        size_t ncap = req->cap ? req->cap : 65536;
        while (ncap < req->len + n)
            ncap *= 2;
        if (ncap > req->limit)
            ncap = (size_t)req->limit;
        if (req->expected > 0 && ncap > req->expected)
            ncap = (size_t)req->expected;
        if (ncap > req->reserved && !reserve(s, req, ncap - req->reserved)) {
            req->over_budget = 1;
        } else {
            char *p = fl_realloc(req->body, ncap);
            if (p == NULL)
                return FL_ENOMEM;
            req->body = p;
            req->cap = ncap;
        }
    }
    if (req->too_big || req->over_budget) {
        fl_free(req->body);
        req->body = NULL;
        req->len = req->cap = 0;
        release(s, req);
        return FL_OK;
    }
    memcpy(req->body + req->len, data, n);
    req->len += n;
    return FL_OK;
}


/* The whole request is in; on_headers checked route, method, key. */
static enum MHD_Result
dispatch(struct fl_server *s, struct MHD_Connection *c, const char *url,
         const char *method, struct request *req)
{
    const struct route *rt = find_route(url, method);
    if (rt == NULL)
        return reply_error(c, 404, "no such endpoint");
    if (req->too_big)
        return too_big(s, c, rt);
    if (req->over_budget)
        return busy(c, rt, "too many request bodies in flight; retry");
    if (rt == &ui_route)
        return fl_ui_serve(c, fl_ui_find(url));
    if (strcmp(url, "/healthz") == 0) {
        if (!atomic_load(&s->accepting))
            return reply(c, 503, "text/plain", "stopping\n", 9);
        return reply(c, 200, "text/plain", "ok\n", 3);
    }
    if (strcmp(url, "/api/status") == 0)
        return handle_status(s, c);
    if (strcmp(url, "/metrics") == 0)
        return handle_prometheus(s, c);
    if (strcmp(url, "/api/metrics") == 0)
        return fl_metrics_api_read(s->metrics, c);
    if (strcmp(url, "/api/metrics/batch") == 0)
        return fl_metrics_api_batch(s->metrics, c, req->body, req->len);
    if (strcmp(url, "/api/metrics/partials") == 0)
        return fl_metrics_api_partials(s->metrics, c);
    if (strcmp(url, "/api/alarms") == 0)
        return fl_metrics_api_alarms(s->metrics, c);
    if (strcmp(url, "/api/alarms/history") == 0)
        return fl_http_alarm_history(s, c);
    if (strcmp(url, "/api/publishes") == 0)
        return fl_http_publishes(s, c);
    if (strcmp(url, "/api/rejects") == 0)
        return fl_http_rejects(s, c);
    if (rt >= &dash_routes[0] && rt <= &dash_routes[3])
        return fl_http_dashboards(s, c, method,
                                  rt == &dash_routes[3] ? NULL
                                  : url + strlen(DASH_PREFIX),
                                  req->body, req->len);
    if (strcmp(url, "/api/query") == 0)
        return fl_http_query(s, c, req);
    if (strcmp(url, "/api/query/cancel") == 0)
        return fl_http_query_cancel(s, c);
    if (!atomic_load(&s->accepting))
        return busy(c, rt, "the server is stopping");
    if (strcmp(url, "/firehose") == 0)
        return fl_aws_firehose(&s->source_env, c, req->body ? req->body : "",
                               req->len);
    if (strcmp(url, "/cwl") == 0)
        return fl_aws_cwl(&s->source_env, c, req->body ? req->body : "",
                          req->len);
    return handle_ingest(s, c, req);
}


static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
           const char *method, const char *version, const char *upload_data,
           size_t *upload_size, void **req_cls)
{
    struct fl_server *s = cls;
    struct request *req = *req_cls;
    (void)version;

    if (req == NULL || *req_cls == &bad_target)
        return on_headers(s, c, url, method, req_cls);
    if (*upload_size > 0) {
        if (take_body(s, req, upload_data, *upload_size) < 0)
            return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }

    enum MHD_Result ret = dispatch(s, c, url, method, req);
    /* The body's work is done once its answer is queued (a query still
     * running keeps it until it ends): its bytes are given back now, not
     * when libmicrohttpd has sent the answer, so that a sender that sends
     * its next body as soon as it reads the answer finds them free. */
    if (req->query == NULL)
        release(s, req);
    return ret;
}


static void
on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
             enum MHD_RequestTerminationCode toe)
{
    struct fl_server *s = cls;
    struct request *req = *req_cls;
    (void)c;
    (void)toe;
    if (req != NULL && *req_cls != &bad_target) {
        release(s, req);
        fl_http_query_free(req->query);
        fl_free(req->body);
        fl_free(req);
    }
    *req_cls = NULL;
}


/* Parses "HOST:PORT" / "[V6]:PORT" into a socket address. */
static int
parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || (size_t)(colon - listen) >= sizeof host)
        return FL_ECONFIG;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    unsigned long port = strtoul(colon + 1, NULL, 10);
    memset(ss, 0, sizeof *ss);
    if (host[0] == '[') {
        size_t hl = strlen(host);
        if (hl < 2 || host[hl - 1] != ']')
            return FL_ECONFIG;
        host[hl - 1] = '\0';
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)(void *)ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
            return FL_ECONFIG;
        *len = sizeof *a6;
        return FL_OK;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)(void *)ss;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
        return FL_ECONFIG;
    *len = sizeof *a4;
    return FL_OK;
}


/* Reads a whole (small) PEM file into a NUL-terminated string. */
static int
read_pem(const char *path, char **out, char *err, size_t errlen)
{
    int rc = fl_fs_read_file(path, 1u << 20, out, NULL);
    if (rc == FL_ETOOBIG) {
        snprintf(err, errlen, "%s: larger than 1 MiB, not a PEM certificate "
                 "or key", path);
        return FL_ECONFIG;
    }
    if (rc < 0 && rc != FL_ENOMEM)
        snprintf(err, errlen, "cannot read %s: %s", path, fl_strerror(rc));
    return rc;
}


/* Whether a key can be presented as it is: no control byte; for a bearer
 * key no blank either (RFC 6750's token has none). Returns NULL or what
 * is wrong. */
static const char *
bad_key(const char *key, size_t len, int bearer)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)key[i];
        if (ch < 0x20 || ch == 0x7f)
            return "a control byte";
        if (ch == ' ' && (bearer || i == 0 || i + 1 == len))
            return bearer ? "a blank (a bearer token has none)"
                          : "a leading or trailing blank";
    }
    return NULL;
}


/* One key: the value, or the content of its _key_file (read now, the
 * trailing newline stripped). Both set, an empty or unreadable file, or a
 * key that could not be sent in its header are configuration errors
 * naming the key or the file. */
static int
load_key(const char *name, const char *value, const char *file, int bearer,
         unsigned char digest[FL_SHA256_LEN], int *has, char *err,
         size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    const char *why;
    int rc;

    *has = 0;
    if (value[0] != '\0' && file[0] != '\0') {
        snprintf(err, errlen, "%s and %s_file both set: give the key one "
                 "way only", name, name);
        return FL_ECONFIG;
    }
    if (file[0] == '\0') {
        if (value[0] == '\0')
            return FL_OK;
        if ((why = bad_key(value, strlen(value), bearer)) != NULL) {
            snprintf(err, errlen, "%s holds %s", name, why);
            return FL_ECONFIG;
        }
        fl_sha256(value, strlen(value), digest);
        *has = 1;
        return FL_OK;
    }
    if ((rc = fl_fs_read_file(file, 65536, &text, &len)) < 0) {
        if (rc == FL_ENOMEM)
            return rc;
        snprintf(err, errlen, "%s_file: cannot read %s: %s", name, file,
                 rc == FL_ETOOBIG ? "larger than 64 KiB, not a key"
                                  : fl_strerror(rc));
        return FL_ECONFIG;
    }
    if (len > 0 && text[len - 1] == '\n')
        len--;
    if (len > 0 && text[len - 1] == '\r')
        len--;
    rc = FL_OK;
    if (len == 0) {
        snprintf(err, errlen, "%s_file: %s is empty", name, file);
        rc = FL_ECONFIG;
    } else if ((why = bad_key(text, len, bearer)) != NULL) {
        snprintf(err, errlen, "%s_file: the key in %s holds %s (one line "
                 "with the key only)", name, file, why);
        rc = FL_ECONFIG;
    } else {
        fl_sha256(text, len, digest);
        *has = 1;
    }
    /* Only the digest is kept. */
    memset(text, 0, len);
    fl_free(text);
    return rc;
}


/* 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104 ("localhost" was mapped to
 * 127.0.0.1 by parse_listen). */
static int
is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a4 = (const void *)ss;
        return (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
    }
    const struct sockaddr_in6 *a6 = (const void *)ss;
    static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                              0xff, 0xff };
    if (IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr))
        return 1;
    return memcmp(a6->sin6_addr.s6_addr, mapped, 12) == 0
        && a6->sin6_addr.s6_addr[12] == 127;
}


/* Loads the four keys into k. Stops at the first problem (its message
 * in err); fl_http_check_config() loads them one by one to list each. */
static int
load_keys(const struct fl_config *cfg, struct fl_http_keys *k, char *err,
          size_t errlen)
{
    int rc;
    if ((rc = load_key("server.ingest_key", cfg->ingest_key,
                       cfg->ingest_key_file, 1, k->ingest, &k->has_ingest, err,
                       errlen)) < 0
        || (rc = load_key("firehose.access_key", cfg->access_key,
                          cfg->access_key_file, 0, k->firehose,
                          &k->has_firehose, err, errlen)) < 0
        || (rc = load_key("server.read_key", cfg->read_key,
                          cfg->read_key_file, 1, k->read, &k->has_read, err,
                          errlen)) < 0
        || (rc = load_key("server.admin_key", cfg->admin_key,
                          cfg->admin_key_file, 1, k->admin, &k->has_admin,
                          err, errlen)) < 0)
        return rc;
    return FL_OK;
}


/* Refuses to serve an unguarded role on an address other hosts can
 * reach. */
static int
check_guarded(const struct fl_config *cfg, const struct sockaddr_storage *ss,
              const struct fl_http_keys *k, char *err, size_t errlen)
{
    if (is_loopback(ss) || cfg->allow_unauthenticated)
        return FL_OK;
    char open[256] = "";
    size_t o = 0;
    if (!k->has_ingest && !k->has_firehose)
        o += (size_t)snprintf(open + o, sizeof open - o, "%sPOST /firehose "
                              "(set firehose.access_key or server.ingest_key)",
                              o ? "; " : "");
    if (!k->has_ingest)
        o += (size_t)snprintf(open + o, sizeof open - o, "%sPOST /cwl and "
                              "/ingest (set server.ingest_key)",
                              o ? "; " : "");
    if (!k->has_read && o < sizeof open)
        o += (size_t)snprintf(open + o, sizeof open - o, "%s/api/* and "
                              "/metrics (set server.read_key)",
                              o ? "; " : "");
    if (o == 0)
        return FL_OK;
    snprintf(err, errlen, "server.listen = %s is not a loopback address, "
             "and these endpoints would answer anyone: %s. Set the keys "
             "(or their _file forms), or server.allow_unauthenticated = "
             "true if something in front of flowlake checks the callers",
             cfg->listen, open);
    return FL_ECONFIG;
}


/* File descriptors kept free for what is not a connection: the WAL,
 * archive files, DuckDB, the watched folder, epoll, logs. */
#define FD_RESERVE 256


/* Makes room for server.max_connections descriptors: raises the soft
 * RLIMIT_NOFILE up to the hard one when needed, and refuses to start when
 * even that is too low (accept() failing with EMFILE stalls every
 * connection, not only the newest). raise = 0 only checks. */
static int
check_fd_limit(const struct fl_config *cfg, int raise, char *err,
               size_t errlen)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)cfg->max_connections + FD_RESERVE;

    if (cfg->max_connections < cfg->threads) {
        snprintf(err, errlen, "server.max_connections = %llu is below "
                 "server.threads = %llu: each thread needs a share",
                 (unsigned long long)cfg->max_connections,
                 (unsigned long long)cfg->threads);
        return FL_ECONFIG;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        snprintf(err, errlen, "getrlimit(RLIMIT_NOFILE): %s",
                 fl_strerror(-errno));
        return -errno;
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
            snprintf(err, errlen, "server.max_connections = %llu needs %llu "
                     "file descriptors, and the limit is %llu (ulimit -n): "
                     "lower server.max_connections or raise the limit",
                     (unsigned long long)cfg->max_connections,
                     (unsigned long long)need,
                     (unsigned long long)rl.rlim_max);
            return FL_ECONFIG;
        }
        if (!raise)
            return FL_OK;
        rl.rlim_cur = need;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            snprintf(err, errlen, "cannot raise the file-descriptor limit "
                     "to %llu for server.max_connections: %s",
                     (unsigned long long)need, fl_strerror(-errno));
            return FL_ECONFIG;
        }
    }
    return FL_OK;
}


/* A body of server.max_body must fit in the in-flight budget. */
static int
check_inflight(const struct fl_config *cfg, char *err, size_t errlen)
{
    if (cfg->max_inflight_bytes >= cfg->max_body)
        return FL_OK;
    snprintf(err, errlen, "server.max_inflight_bytes (%llu) is below "
             "server.max_body (%llu): no body that size could be taken",
             (unsigned long long)cfg->max_inflight_bytes,
             (unsigned long long)cfg->max_body);
    return FL_ECONFIG;
}


/* Adds err to errs under key unless rc is 0; FL_ENOMEM passes through. */
static int
note_problem(struct fl_config_errors *errs, const struct fl_config *cfg,
             const char *key, int rc, const char *err)
{
    if (rc == FL_ENOMEM)
        return rc;
    if (rc < 0 && fl_config_errors_add(errs, cfg, key, "%s", err) < 0)
        return FL_ENOMEM;
    return FL_OK;
}


int
fl_http_check_config(const struct fl_config *cfg,
                     struct fl_config_errors *errs)
{
    struct sockaddr_storage ss;
    socklen_t slen = 0;
    struct fl_http_keys k;
    char err[1024];
    int rc, bad_key = 0;

    memset(&k, 0, sizeof k);
    /* Each key on its own, so that every bad one is listed. */
    const struct {
        const char    *name, *value, *file;
        unsigned char *digest;
        int           *has, bearer;
    } key[] = {
        { "server.ingest_key", cfg->ingest_key, cfg->ingest_key_file,
          k.ingest, &k.has_ingest, 1 },
        { "firehose.access_key", cfg->access_key, cfg->access_key_file,
          k.firehose, &k.has_firehose, 0 },
        { "server.read_key", cfg->read_key, cfg->read_key_file,
          k.read, &k.has_read, 1 },
        { "server.admin_key", cfg->admin_key, cfg->admin_key_file,
          k.admin, &k.has_admin, 1 },
    };
    for (size_t i = 0; i < sizeof key / sizeof key[0]; i++) {
        rc = load_key(key[i].name, key[i].value, key[i].file, key[i].bearer,
                      key[i].digest, key[i].has, err, sizeof err);
        bad_key |= rc < 0;
        /* The line to point at: the _file key's when that one is set. */
        char which[64];
        snprintf(which, sizeof which, "%s%s", key[i].name,
                 key[i].file[0] != '\0' && key[i].value[0] == '\0'
                 ? "_file" : "");
        if (note_problem(errs, cfg, which, rc, err) < 0)
            goto oom;
    }
    if (parse_listen(cfg->listen, &ss, &slen) < 0) {
        if (fl_config_errors_add(errs, cfg, "server.listen", "cannot use "
                "'%s' (HOST:PORT with a numeric IPv4 or [IPv6] address)",
                cfg->listen) < 0)
            goto oom;
    } else if (!bad_key) {
        rc = check_guarded(cfg, &ss, &k, err, sizeof err);
        if (note_problem(errs, cfg, "server.listen", rc, err) < 0)
            goto oom;
    }
    rc = check_fd_limit(cfg, 0, err, sizeof err);
    if (note_problem(errs, cfg, "server.max_connections", rc, err) < 0)
        goto oom;
    rc = check_inflight(cfg, err, sizeof err);
    if (note_problem(errs, cfg, "server.max_inflight_bytes", rc, err) < 0)
        goto oom;
    if ((cfg->tls_cert[0] != '\0' || cfg->tls_key[0] != '\0')
        && !MHD_is_feature_supported(MHD_FEATURE_TLS)
        && fl_config_errors_add(errs, cfg, "server.tls_cert", "this "
               "libmicrohttpd was built without TLS") < 0)
        goto oom;
    memset(&k, 0, sizeof k);
    return FL_OK;
oom:
    memset(&k, 0, sizeof k);
    return FL_ENOMEM;
}


/* fl_http_start's work, with the message written to err[0..errlen). */
static int
start_daemon(struct fl_server *s, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t slen = 0;
    if (parse_listen(s->cfg->listen, &ss, &slen) < 0) {
        snprintf(err, errlen, "server.listen: cannot use '%s' (HOST:PORT with "
                 "a numeric IPv4 or [IPv6] address)", s->cfg->listen);
        return FL_ECONFIG;
    }
    int rc0;
    if ((rc0 = load_keys(s->cfg, &s->keys, err, errlen)) < 0
        || (rc0 = check_guarded(s->cfg, &ss, &s->keys, err, errlen)) < 0
        || (rc0 = check_fd_limit(s->cfg, 1, err, errlen)) < 0
        || (rc0 = check_inflight(s->cfg, err, errlen)) < 0)
        return rc0;
    /* Suspend/resume: a query's connection waits off the worker threads
     * (api_query.c). */
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL
                       | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    int tls = s->cfg->tls_cert[0] != '\0' || s->cfg->tls_key[0] != '\0';
    if (tls) {
        int rc;
        if (s->cfg->tls_cert[0] == '\0' || s->cfg->tls_key[0] == '\0') {
            snprintf(err, errlen, "server.tls_cert and server.tls_key go "
                     "together: set both, or neither");
            return FL_ECONFIG;
        }
        if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
            snprintf(err, errlen, "this libmicrohttpd was built without TLS");
            return FL_ECONFIG;
        }
        if ((rc = read_pem(s->cfg->tls_cert, &s->tls_cert_pem, err,
                           errlen)) < 0
            || (rc = read_pem(s->cfg->tls_key, &s->tls_key_pem, err,
                              errlen)) < 0)
            return rc;
        flags |= MHD_USE_TLS;
    }
    /* The TLS options go last: with no TLS they are not passed at all
     * (MHD_OPTION_END cuts the list short). */
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)s->cfg->threads,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)s->cfg->idle_timeout,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)s->cfg->max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned int)s->cfg->max_connections_per_ip,
        tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, s->tls_cert_pem,
        MHD_OPTION_HTTPS_MEM_KEY, s->tls_key_pem,
        MHD_OPTION_END);
    if (s->daemon == NULL && tls) {
        snprintf(err, errlen, "cannot start HTTPS on %s: check that %s and %s "
                 "are a matching PEM certificate and key (or the address is "
                 "in use)", s->cfg->listen, s->cfg->tls_cert,
                 s->cfg->tls_key);
        return FL_ECONFIG;
    }
    if (s->daemon == NULL) {
        snprintf(err, errlen, "cannot listen on %s (address in use, or not "
                 "permitted?)", s->cfg->listen);
        return -EADDRINUSE;
    }
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di != NULL ? di->port : 0;
    return FL_OK;
}


int
fl_http_start(struct fl_server *s, struct fl_err *err)
{
    err->msg[0] = '\0';
    int rc = start_daemon(s, err->msg, sizeof err->msg);
    if (rc < 0)
        err->code = rc;
    return rc;
}


void
fl_http_stop(struct fl_server *s)
{
    if (s->daemon != NULL) {
        MHD_stop_daemon(s->daemon);
        s->daemon = NULL;
    }
    fl_free(s->tls_cert_pem);
    fl_free(s->tls_key_pem);
    s->tls_cert_pem = s->tls_key_pem = NULL;
}
