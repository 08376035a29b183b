/* SPDX-License-Identifier: MIT
 *
 * bench_ingest.c -- load generator for `flowlake serve` (docs/serve.md's targets):
 * concurrent clients POST /firehose requests shaped like a CloudWatch Logs
 * subscription delivered by Kinesis Data Firehose (each record's data is a
 * gzip'd CloudWatch Logs payload of flow-log events, base64-encoded), with
 * keep-alive connections, and wait for each acknowledgement (which the
 * server sends only once the records are durable). Meanwhile a probe
 * measures freshness: it sends one marked record through /ingest and polls
 * POST /api/query until the record is visible.
 *
 * Prints records/s, acknowledgement latency p50/p99, freshness p50/p99.
 * Requests are built before the clock starts (generator records, unique
 * event ids, so that deduplication never drops any).
 *
 * usage: bench_ingest URL RECORDS [CLIENTS] [EVENTS_PER_RECORD]
 *                     [RECORDS_PER_REQUEST] [PROBE]
 * PROBE 0 turns the freshness probe off (its queries re-parse the whole
 * buffer, which costs the server CPU: run both ways to see how much).
 */
#include "../src/core/fl_config.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "../src/core/fl_base64.h"
#include "../src/core/fl_time.h"
#include "../src/gen/generate.h"

struct text { char *p; size_t len, cap; };

/* Room for n more bytes and a NUL in t. */
static void
reserve(struct text *t, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->cap + n + 1) * 2;
        t->p = realloc(t->p, t->cap);
        if (t->p == NULL) { perror("realloc"); exit(1); }
    }
}

static void
put(struct text *t, const void *p, size_t n)
{
    reserve(t, n);
    memcpy(t->p + t->len, p, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static int
collect(void *ctx, const char *buf, size_t len)
{
    put(ctx, buf, len);
    return 0;
}

/* Appends the base64 of p[0..n) to out. */
static void
b64(struct text *out, const unsigned char *p, size_t n)
{
    reserve(out, FL_BASE64_ENCODED_LEN(n));
    out->len += fl_base64_encode(p, n, out->p + out->len);
    out->p[out->len] = '\0';
}

static void
gz(struct text *out, const char *p, size_t n)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    size_t cap = deflateBound(&z, (uLong)n) + 64;
    unsigned char *buf = malloc(cap);
    z.next_in = (unsigned char *)(uintptr_t)p;
    z.avail_in = (uInt)n;
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    size_t len = cap - z.avail_out;
    deflateEnd(&z);
    out->len = 0;
    put(out, buf, len);
    free(buf);
}

/* ---- the run -------------------------------------------------------- */

static const char *url_base;
static struct text *bodies;
static size_t n_requests, records_per_request;
static _Atomic size_t next_request;
static double *latency;
static _Atomic int failures;
static _Atomic int done_sending;

static size_t
sink(char *p, size_t s, size_t n, void *ctx)
{
    (void)p; (void)ctx;
    return s * n;
}

static void *
client(void *arg)
{
    (void)arg;
    CURL *c = curl_easy_init();
    char url[512], id[64];
    snprintf(url, sizeof url, "%s/firehose", url_base);
    for (;;) {
        size_t i = atomic_fetch_add(&next_request, 1);
        if (i >= n_requests)
            break;
        struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
        snprintf(id, sizeof id, "X-Amz-Firehose-Request-Id: bench-%zu", i);
        h = curl_slist_append(h, id);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, bodies[i].p);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)bodies[i].len);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
        double t0 = fl_time_mono();
        CURLcode rc;
        long status = 0;
        /* 503 (WAL full, publishing behind) means "retry later", as
         * Firehose does. */
        for (;;) {
            rc = curl_easy_perform(c);
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
            if (rc == CURLE_OK && status == 503) {
                struct timespec nap = { 0, 50 * 1000 * 1000 };
                nanosleep(&nap, NULL);
                continue;
            }
            break;
        }
        latency[i] = fl_time_mono() - t0;
        if (rc != CURLE_OK || status != 200)
            atomic_fetch_add(&failures, 1);
        curl_slist_free_all(h);
    }
    curl_easy_cleanup(c);
    return NULL;
}

static double fresh[10000];
static size_t n_fresh;

static size_t
grab(char *p, size_t s, size_t n, void *ctx)
{
    put(ctx, p, s * n);
    return s * n;
}

static void *
probe(void *arg)
{
    (void)arg;
    CURL *c = curl_easy_init();
    char url[512], qurl[512], line[256], sql[256];
    snprintf(url, sizeof url, "%s/ingest", url_base);
    snprintf(qurl, sizeof qurl, "%s/api/query?format=csv", url_base);
    for (int k = 0; !atomic_load(&done_sending) && n_fresh < 10000; k++) {
        snprintf(line, sizeof line, "2 123456789012 eni-probe%07d 10.9.9.9 10.9.9.8 1 2 6 1 100 %lld %lld ACCEPT OK\n",
                 k, (long long)time(NULL), (long long)time(NULL));
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, line);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
        if (curl_easy_perform(c) != CURLE_OK)
            break;
        double acked = fl_time_mono();
        snprintf(sql, sizeof sql, "SELECT count(*) FROM flow_logs WHERE interface_id = 'eni-probe%07d'", k);
        for (;;) {
            struct text out = { 0 };
            curl_easy_setopt(c, CURLOPT_URL, qurl);
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, sql);
            curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, grab);
            curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
            CURLcode rc = curl_easy_perform(c);
            int seen = rc == CURLE_OK && out.p && strstr(out.p, "\n1\n") != NULL;
            free(out.p);
            curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);
            if (seen) {
                fresh[n_fresh++] = fl_time_mono() - acked;
                break;
            }
            if (rc != CURLE_OK || fl_time_mono() - acked > 30)
                break;
        }
        struct timespec nap = { 0, 250 * 1000 * 1000 };
        nanosleep(&nap, NULL);
    }
    curl_easy_cleanup(c);
    return NULL;
}

static int
cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double
pct(double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

int
main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_ingest URL RECORDS [CLIENTS] [EVENTS_PER_RECORD] [RECORDS_PER_REQUEST] [PROBE]\n");
        return 2;
    }
    url_base = argv[1];
    size_t total = strtoull(argv[2], NULL, 10);
    int clients = argc > 3 ? atoi(argv[3]) : 8;
    size_t events = argc > 4 ? strtoull(argv[4], NULL, 10) : 500;
    records_per_request = argc > 5 ? strtoull(argv[5], NULL, 10) : 10;
    int with_probe = argc > 6 ? atoi(argv[6]) : 1;
    size_t per_request = events * records_per_request;
    n_requests = (total + per_request - 1) / per_request;
    curl_global_init(CURL_GLOBAL_DEFAULT);

    /* Flow-log lines from the project's generator, over the last hour. */
    struct text lines = { 0 };
    struct fl_gen_opts o;
    fl_gen_opts_init(&o);
    o.records = n_requests * per_request;
    o.start = (int64_t)time(NULL) - 3600;
    o.span = 3600;
    double tb = fl_time_mono();
    if (fl_gen_write(&o, collect, &lines) != 0)
        return 1;
    bodies = calloc(n_requests, sizeof *bodies);
    latency = calloc(n_requests, sizeof *latency);
    const char *p = lines.p;
    unsigned long long event_id = 1;
    struct text cwl = { 0 }, zipped = { 0 };
    size_t raw_bytes = 0;
    for (size_t r = 0; r < n_requests; r++) {
        struct text *b = &bodies[r];
        char head[128];
        int n = snprintf(head, sizeof head, "{\"requestId\":\"bench-%zu\",\"timestamp\":%lld,\"records\":[",
                         r, (long long)time(NULL) * 1000);
        put(b, head, (size_t)n);
        for (size_t k = 0; k < records_per_request; k++) {
            cwl.len = 0;
            const char *h = "{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"123456789012\",\"logGroup\":\"vpc-flow-logs\",\"logStream\":\"eni-bench-all\",\"subscriptionFilters\":[\"bench\"],\"logEvents\":[";
            put(&cwl, h, strlen(h));
            for (size_t e = 0; e < events; e++) {
                const char *nl = strchr(p, '\n');
                char ev[256];
                int m = snprintf(ev, sizeof ev, "%s{\"id\":\"%056llu\",\"timestamp\":%lld000,\"message\":\"",
                                 e ? "," : "", event_id++, (long long)time(NULL));
                put(&cwl, ev, (size_t)m);
                put(&cwl, p, (size_t)(nl - p));
                put(&cwl, "\"}", 2);
                p = nl + 1;
            }
            put(&cwl, "]}", 2);
            raw_bytes += cwl.len;
            gz(&zipped, cwl.p, cwl.len);
            put(b, k ? ",{\"data\":\"" : "{\"data\":\"", k ? 10 : 9);
            b64(b, (const unsigned char *)zipped.p, zipped.len);
            put(b, "\"}", 2);
        }
        put(b, "]}", 2);
    }
    free(lines.p);
    free(cwl.p);
    free(zipped.p);
    size_t body_bytes = 0;
    for (size_t r = 0; r < n_requests; r++)
        body_bytes += bodies[r].len;
    printf("ingest: %zu requests x %zu records x %zu CloudWatch Logs events = %zu flow-log records, "
           "%.0f MB of request bodies (built in %.1f s)\n",
           n_requests, records_per_request, events, n_requests * per_request,
           (double)body_bytes / 1e6, fl_time_mono() - tb);

    pthread_t *th = calloc((size_t)clients, sizeof *th), pr;
    if (with_probe)
        pthread_create(&pr, NULL, probe, NULL);
    double t0 = fl_time_mono();
    for (int i = 0; i < clients; i++)
        pthread_create(&th[i], NULL, client, NULL);
    for (int i = 0; i < clients; i++)
        pthread_join(th[i], NULL);
    double secs = fl_time_mono() - t0;
    atomic_store(&done_sending, 1);
    if (with_probe)
        pthread_join(pr, NULL);

    qsort(latency, n_requests, sizeof *latency, cmp);
    qsort(fresh, n_fresh, sizeof *fresh, cmp);
    printf("ingest: %d clients, %.2f s, %.0f records/s, %.1f requests/s, %.1f MB/s of bodies, %d failed\n",
           clients, secs, (double)(n_requests * per_request) / secs,
           (double)n_requests / secs, (double)body_bytes / 1e6 / secs,
           atomic_load(&failures));
    printf("ack latency per request (%zu records): p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
           per_request, pct(latency, n_requests, 0.5) * 1e3,
           pct(latency, n_requests, 0.99) * 1e3, latency[n_requests - 1] * 1e3);
    printf("freshness (ack -> visible in POST /api/query), %zu probes: p50 %.3f s, p99 %.3f s, max %.3f s\n",
           n_fresh, pct(fresh, n_fresh, 0.5), pct(fresh, n_fresh, 0.99),
           n_fresh ? fresh[n_fresh - 1] : 0.0);
    for (size_t r = 0; r < n_requests; r++)
        free(bodies[r].p);
    free(bodies);
    free(latency);
    free(th);
    curl_global_cleanup();
    return atomic_load(&failures) ? 1 : 0;
}
