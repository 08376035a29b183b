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
 *   POST /firehose, /cwl  AWS deliveries (aws.c)
 *   GET  /metrics, /api/metrics, /api/alarms  (api_metrics.c)
 *
 * A body larger than server.max_body is answered 413 as soon as the
 * Content-Length (or the data received) says so; it is never buffered.
 */
#include "../core/fl_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../core/fl_error.h"
#include "../core/fl_fs.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "metrics.h"
#include "server_int.h"

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


static enum MHD_Result
reply_error_json(struct MHD_Connection *c, unsigned int status,
                 const char *msg, unsigned retry_s)
{
    /* Worst case every byte becomes \u00XX. */
    size_t cap = 6 * strlen(msg) + 32;
    char *body = fl_malloc(cap);
    if (body == NULL)
        return MHD_NO;
    size_t o = (size_t)snprintf(body, cap, "{\"error\":");
    o += fl_json_escape(body + o, cap - o, msg, strlen(msg));
    o += (size_t)snprintf(body + o, cap - o, "}\n");
    enum MHD_Result r = reply_with(c, status, "application/json", body, o,
                                   retry_s);
    fl_free(body);
    return r;
}


enum MHD_Result
fl_http_reply_error(struct MHD_Connection *c, unsigned int status,
                    const char *msg)
{
    return reply_error_json(c, status, msg, status == 503 ? 5 : 0);
}


enum MHD_Result
fl_http_reply_retry(struct MHD_Connection *c, unsigned int status,
                    unsigned retry_s, const char *msg)
{
    return reply_error_json(c, status, msg, retry_s);
}


#define reply_error fl_http_reply_error


static enum MHD_Result
handle_status(struct fl_server *s, struct MHD_Connection *c)
{
    char out[4096];
    size_t o = 0, buf_bytes = 0;
    uint64_t buf_records = 0;
    fl_buffer_stats(s->buffer, &buf_bytes, &buf_records);

    o += (size_t)snprintf(out + o, sizeof out - o,
                          "{\"uptime_seconds\":%.0f,\"accepting\":%s,\"sources\":{",
                          fl_time_mono() - s->started,
                          atomic_load(&s->accepting) ? "true" : "false");
    for (int k = 0; k < FL_SOURCE_COUNT; k++) {
        struct fl_source_stats *st = &s->sources[k];
        o += (size_t)snprintf(out + o, sizeof out - o,
            "%s\"%s\":{\"requests\":%llu,\"records\":%llu,\"bytes\":%llu,"
            "\"rejected\":%llu,\"duplicates\":%llu}", k ? "," : "",
            fl_source_name(k),
            (unsigned long long)atomic_load(&st->requests),
            (unsigned long long)atomic_load(&st->records),
            (unsigned long long)atomic_load(&st->bytes),
            (unsigned long long)atomic_load(&st->rejected),
            (unsigned long long)atomic_load(&st->duplicates));
    }
    pthread_mutex_lock(&s->err_mu);
    char err[560] = "null";
    if (s->last_error[0] != '\0') {
        size_t n = fl_json_escape(err, sizeof err, s->last_error,
                                  strlen(s->last_error));
        err[n] = '\0';
    }
    pthread_mutex_unlock(&s->err_mu);
    struct fl_wal_stats ws;
    fl_wal_stats(s->wal, &ws);
    o += (size_t)snprintf(out + o, sizeof out - o,
        "},\"wal\":{\"bytes\":%llu,\"max_bytes\":%llu,\"segments\":%llu,"
        "\"appends\":%llu,\"commits\":%llu,\"syncs\":%llu,"
        "\"durable_seq\":%llu,\"checkpoint\":%llu,\"full\":%llu,"
        "\"recovered_records\":%llu",
        (unsigned long long)ws.bytes, (unsigned long long)ws.max_bytes,
        (unsigned long long)ws.segments, (unsigned long long)ws.appends,
        (unsigned long long)ws.commits, (unsigned long long)ws.syncs,
        (unsigned long long)ws.durable_seq, (unsigned long long)ws.checkpoint,
        (unsigned long long)ws.full, (unsigned long long)s->replayed);
    struct fl_dedupe_stats ds;
    fl_dedupe_stats(s->dedupe, &ds);
    o += (size_t)snprintf(out + o, sizeof out - o,
        "},\"dedupe\":{\"keys\":%zu,\"max_keys\":%zu,\"claimed\":%zu,"
        "\"evicted\":%llu,\"expired\":%llu,\"waits\":%llu,"
        "\"wait_timeouts\":%llu",
        ds.keys, ds.max_keys, ds.claimed, (unsigned long long)ds.evicted,
        (unsigned long long)ds.expired, (unsigned long long)ds.waits,
        (unsigned long long)ds.wait_timeouts);
    o += (size_t)snprintf(out + o, sizeof out - o,
        "},\"buffer\":{\"bytes\":%zu,\"records\":%llu},"
        "\"published\":{\"files\":%llu,\"records\":%llu,\"last_publish\":%lld,"
        "\"failures\":%llu,\"last_error\":%s},",
        buf_bytes, (unsigned long long)buf_records,
        (unsigned long long)atomic_load(&s->files_published),
        (unsigned long long)atomic_load(&s->records_published),
        (long long)atomic_load(&s->last_publish),
        (unsigned long long)atomic_load(&s->publish_failures), err);
    uint64_t running = fl_api_query_running(s);
    o += (size_t)snprintf(out + o, sizeof out - o,
        "\"queries\":{\"running\":%llu,\"max_concurrent\":%llu,"
        "\"started\":%llu,\"refused\":%llu},",
        (unsigned long long)running,
        (unsigned long long)s->cfg->query_max_concurrent,
        (unsigned long long)atomic_load(&s->queries_started),
        (unsigned long long)atomic_load(&s->queries_refused));
    /* The errors folder: lines it could not record are counted, not
     * hidden (rejects.c retries them as they come). */
    struct fl_rejects_stats rs;
    fl_rejects_stats(s->rejects, &rs);
    char rerr[560] = "null";
    if (rs.last_error[0] != '\0')
        rerr[fl_json_escape(rerr, sizeof rerr, rs.last_error,
                            strlen(rs.last_error))] = '\0';
    if (o < sizeof out)
        o += (size_t)snprintf(out + o, sizeof out - o,
            "\"rejects\":{\"written\":%llu,\"lost\":%llu,\"failures\":%llu,"
            "\"failing\":%s,\"last_error\":%s},\"metrics\":",
            (unsigned long long)rs.written, (unsigned long long)rs.lost,
            (unsigned long long)rs.failures, rs.failing ? "true" : "false",
            rerr);
    if (o < sizeof out)
        o += fl_metrics_status_json(s, out + o, sizeof out - o);
    if (o + 3 < sizeof out)
        o += (size_t)snprintf(out + o, sizeof out - o, "}\n");
    return reply(c, 200, "application/json", out, o);
}


static enum MHD_Result
handle_ingest(struct fl_server *s, struct MHD_Connection *c,
              struct request *req)
{
    struct fl_ingest_result res;
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
    atomic_fetch_add(&s->sources[FL_SOURCE_INGEST].requests, 1);
    atomic_fetch_add(&s->sources[FL_SOURCE_INGEST].bytes, req->len);
    fl_server_ingest(s, FL_SOURCE_INGEST, source, req->body ? req->body : "",
                     req->len, format, NULL, 0, &res);
    if (res.http_status != 200)
        return reply_error(c, (unsigned)res.http_status, res.error);
    char out[128];
    int n = snprintf(out, sizeof out, "{\"accepted\":%llu,\"rejected\":%llu}\n",
                     (unsigned long long)res.accepted,
                     (unsigned long long)res.rejected);
    return reply(c, 200, "application/json", out, (size_t)n);
}


static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
           const char *method, const char *version, const char *upload_data,
           size_t *upload_size, void **req_cls)
{
    struct fl_server *s = cls;
    struct request *req = *req_cls;
    int is_post = strcmp(method, "POST") == 0;
    (void)version;

    if (req == NULL) {
        req = fl_calloc(1, sizeof *req);
        if (req == NULL)
            return MHD_NO;
        *req_cls = req;
        if (is_post) {
            const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                         "Content-Length");
            if (cl != NULL && strtoull(cl, NULL, 10) > s->cfg->max_body)
                req->too_big = 1;
        }
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!req->too_big) {
            size_t n = *upload_size;
            if (req->len + n > s->cfg->max_body) {
                req->too_big = 1;
                fl_free(req->body);
                req->body = NULL;
                req->len = req->cap = 0;
            } else {
                if (req->len + n > req->cap) {
                    size_t ncap = req->cap ? req->cap : 65536;
                    while (ncap < req->len + n)
                        ncap *= 2;
                    if (ncap > s->cfg->max_body)
                        ncap = (size_t)s->cfg->max_body;
                    char *p = fl_realloc(req->body, ncap);
                    if (p == NULL)
                        return MHD_NO;
                    req->body = p;
                    req->cap = ncap;
                }
                memcpy(req->body + req->len, upload_data, n);
                req->len += n;
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }

    /* The whole request is in. */
    if (strcmp(url, "/healthz") == 0) {
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
            return reply_error(c, 405, "use GET");
        if (!atomic_load(&s->accepting))
            return reply(c, 503, "text/plain", "stopping\n", 9);
        return reply(c, 200, "text/plain", "ok\n", 3);
    }
    if (strcmp(url, "/api/status") == 0) {
        if (strcmp(method, "GET") != 0)
            return reply_error(c, 405, "use GET");
        return handle_status(s, c);
    }
    if (strcmp(url, "/metrics") == 0 || strcmp(url, "/api/metrics") == 0
        || strcmp(url, "/api/alarms") == 0) {
        if (strcmp(method, "GET") != 0)
            return reply_error(c, 405, "use GET");
        return url[1] == 'm' ? fl_api_prometheus(s, c)
             : url[5] == 'm' ? fl_api_metrics(s, c) : fl_api_alarms(s, c);
    }
    if (strcmp(url, "/api/query") == 0) {
        if (!is_post)
            return reply_error(c, 405, "use POST with the SQL as the body");
        if (req->too_big)
            return reply_error(c, 413, "query too long");
        return fl_api_query(s, c, req);
    }
    if (strcmp(url, "/firehose") == 0 || strcmp(url, "/cwl") == 0) {
        int firehose = url[1] == 'f';
        if (!is_post)
            return reply_error(c, 405, "use POST");
        if (req->too_big) {
            char msg[96];
            snprintf(msg, sizeof msg, "request body exceeds %llu bytes",
                     (unsigned long long)s->cfg->max_body);
            return firehose ? fl_aws_firehose_error(s, c, 413, msg)
                            : reply_error(c, 413, msg);
        }
        if (!atomic_load(&s->accepting))
            return firehose
                ? fl_aws_firehose_error(s, c, 503, "the server is stopping")
                : reply_error(c, 503, "the server is stopping");
        return firehose ? fl_aws_firehose(s, c, req) : fl_aws_cwl(s, c, req);
    }
    if (strcmp(url, "/ingest") == 0) {
        if (!is_post)
            return reply_error(c, 405, "use POST");
        if (req->too_big) {
            char msg[96];
            snprintf(msg, sizeof msg, "request body exceeds %llu bytes",
                     (unsigned long long)s->cfg->max_body);
            return reply_error(c, 413, msg);
        }
        if (!atomic_load(&s->accepting))
            return reply_error(c, 503, "the server is stopping");
        return handle_ingest(s, c, req);
    }
    return reply_error(c, 404, "no such endpoint");
}


static void
on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
             enum MHD_RequestTerminationCode toe)
{
    struct request *req = *req_cls;
    (void)cls;
    (void)c;
    (void)toe;
    if (req != NULL) {
        fl_api_query_free(req->query);
        fl_free(req->body);
        fl_free(req);
        *req_cls = NULL;
    }
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


int
fl_http_start(struct fl_server *s, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t slen = 0;
    if (parse_listen(s->cfg->listen, &ss, &slen) < 0) {
        snprintf(err, errlen, "server.listen: cannot use '%s' (HOST:PORT with "
                 "a numeric IPv4 or [IPv6] address)", s->cfg->listen);
        return FL_ECONFIG;
    }
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
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120,
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
