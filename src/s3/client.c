/* SPDX-License-Identifier: MIT
 *
 * client.c -- the S3 client of s3.h: URLs and keys, one signed request
 * with its retries, and on top of it PUT, multipart upload, HEAD, DELETE
 * and ListObjectsV2.
 *
 * The request signature (AWS Signature Version 4) is libcurl's
 * (CURLOPT_AWS_SIGV4, "aws:amz:REGION:s3"); the parts of the canonical
 * request libcurl 7.88 takes as written -- the path, the query, the
 * payload hash -- are written here the way the signature specification
 * wants them (see s3.h and docs/s3.md).
 */
#include "../core/fl_config.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../config/config.h"
#include "../core/fl_buf.h"
#include "../core/fl_curl.h"
#include "../core/fl_mem.h"
#include "../core/fl_sha256.h"
#include "../core/fl_time.h"
#include "s3.h"
#include "xml.h"

#define S3_MIN_PART      (5u << 20)   /* S3's smallest part but the last */
#define S3_MAX_PARTS     10000        /* S3's most parts of an upload */
#define S3_FIRST_BACKOFF 200          /* ms */
#define S3_MAX_ERROR_BODY (64u << 10) /* what is kept of an answer body */

struct fl_s3 {
    char    *bucket, *prefix;          /* prefix "" or ending in '/' */
    char    *base;                     /* scheme://host[:port][/bucket] */
    char    *region, *access_key, *secret_key, *token;
    char    *sigv4;                    /* "aws:amz:REGION:s3" */
    uint64_t part_size, retries, max_backoff_ms, timeout_ms;
    int      path_style;
    CURL    *curl;
    unsigned seed;                     /* rand_r, for the jitter */
    const _Atomic int *cancel;         /* NULL: never */
    struct fl_s3_stats stats;
};

/* One answer: status, the headers we read, the body (bounded). */
struct answer {
    long          status;
    struct fl_buf body;
    char          etag[128];
    uint64_t      length;
    int           has_length;
};

/* A request's body, read by curl's read callback. */
struct upload {
    const unsigned char *p;
    size_t               len, off;
};


/* ---- strings -------------------------------------------------------- */

static char *
env_or(const char *value, const char *env)
{
    if (value != NULL && value[0] != '\0')
        return fl_strdup(value);
    const char *e = getenv(env);
    return fl_strdup(e != NULL ? e : "");
}


/* Percent-encodes s as SigV4's canonical URI and query want it: every
 * byte but A-Z a-z 0-9 - . _ ~ (and '/' when keep_slash). */
static int
add_encoded(struct fl_buf *b, const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')
            || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'
            || *p == '_' || *p == '~' || (keep_slash && *p == '/'))
            fl_buf_addc(b, (char)*p);
        else {
            fl_buf_addc(b, '%');
            fl_buf_addc(b, hex[*p >> 4]);
            fl_buf_addc(b, hex[*p & 15]);
        }
    }
    return b->err;
}


/* ---- create ----------------------------------------------------------- */

void
fl_s3_config_from(struct fl_s3_config *out, const struct fl_config *cfg)
{
    *out = (struct fl_s3_config){
        .url = cfg->s3_url, .endpoint = cfg->s3_endpoint,
        .region = cfg->s3_region, .access_key = cfg->s3_access_key,
        .secret_key = cfg->s3_secret_key,
        .session_token = cfg->s3_session_token,
        .path_style = cfg->s3_path_style != 0,
        .part_size = cfg->s3_part_size, .retries = cfg->s3_retries,
        .max_backoff_ms = cfg->s3_max_backoff * 1000,
        .timeout_ms = cfg->s3_timeout * 1000,
        .manifest_retention = cfg->s3_manifest_retention,
    };
}


int
fl_s3_create(const struct fl_s3_config *cfg, struct fl_s3 **out,
             struct fl_err *err)
{
    *out = NULL;
    if (strncmp(cfg->url, "s3://", 5) != 0 || cfg->url[5] == '\0'
        || cfg->url[5] == '/')
        return fl_err_set(err, FL_ECONFIG, "s3.url \"%s\" is not "
                          "s3://BUCKET/PREFIX/", cfg->url);
    if (cfg->region == NULL || cfg->region[0] == '\0')
        return fl_err_set(err, FL_ECONFIG, "s3.region is empty");
    if (cfg->part_size < S3_MIN_PART)
        return fl_err_set(err, FL_ECONFIG, "s3.part_size %" PRIu64 " is "
                          "below S3's smallest part (5 MiB)", cfg->part_size);
    if (fl_curl_init() < 0)
        return fl_err_set(err, FL_ENOMEM, "libcurl did not initialise");

    struct fl_s3 *s3 = fl_calloc(1, sizeof *s3);
    if (s3 == NULL)
        return fl_err_oom(err);
    const char *b = cfg->url + 5, *slash = strchr(b, '/');
    const char *pfx = slash != NULL ? slash + 1 : "";
    size_t plen = strlen(pfx);
    struct fl_buf pb, base;
    fl_buf_init(&pb, 0);
    fl_buf_init(&base, 0);
    fl_buf_adds(&pb, pfx);
    if (plen > 0 && pfx[plen - 1] != '/')
        fl_buf_addc(&pb, '/');
    s3->bucket = slash != NULL ? fl_strndup(b, (size_t)(slash - b))
                               : fl_strdup(b);
    s3->prefix = fl_buf_take(&pb, NULL);
    s3->region = fl_strdup(cfg->region);
    s3->access_key = env_or(cfg->access_key, "AWS_ACCESS_KEY_ID");
    s3->secret_key = env_or(cfg->secret_key, "AWS_SECRET_ACCESS_KEY");
    s3->token = env_or(cfg->session_token, "AWS_SESSION_TOKEN");
    s3->curl = curl_easy_init();
    int rc = FL_OK;
    if (s3->bucket == NULL || s3->prefix == NULL || s3->region == NULL
        || s3->access_key == NULL || s3->secret_key == NULL
        || s3->token == NULL || s3->curl == NULL) {
        rc = fl_err_oom(err);
        goto fail;
    }
    if (s3->access_key[0] == '\0' || s3->secret_key[0] == '\0') {
        rc = fl_err_set(err, FL_ECONFIG, "no S3 credentials: set "
                        "s3.access_key_id and s3.secret_access_key, or "
                        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
        goto fail;
    }
    /* Path style puts the bucket in the path (any endpoint, names with
     * dots); virtual-hosted style in the host name, as AWS prefers. */
    const char *ep = cfg->endpoint != NULL ? cfg->endpoint : "";
    if (ep[0] == '\0') {
        if (cfg->path_style)
            fl_buf_addf(&base, "https://s3.%s.amazonaws.com/%s",
                        s3->region, s3->bucket);
        else
            fl_buf_addf(&base, "https://%s.s3.%s.amazonaws.com",
                        s3->bucket, s3->region);
    } else {
        const char *host = strstr(ep, "://");
        if (host == NULL || (strncmp(ep, "http://", 7) != 0
                             && strncmp(ep, "https://", 8) != 0)) {
            rc = fl_err_set(err, FL_ECONFIG, "s3.endpoint \"%s\" is not "
                            "http(s)://HOST[:PORT]", ep);
            goto fail;
        }
        size_t elen = strlen(ep);
        while (elen > 0 && ep[elen - 1] == '/')
            elen--;
        if (cfg->path_style)
            fl_buf_addf(&base, "%.*s/%s", (int)elen, ep, s3->bucket);
        else
            fl_buf_addf(&base, "%.*s%s.%.*s", (int)(host + 3 - ep), ep,
                        s3->bucket, (int)(elen - (size_t)(host + 3 - ep)),
                        host + 3);
    }
    fl_buf_init(&pb, 0);
    fl_buf_addf(&pb, "aws:amz:%s:s3", s3->region);
    s3->base = fl_buf_take(&base, NULL);
    s3->sigv4 = fl_buf_take(&pb, NULL);
    if (s3->base == NULL || s3->sigv4 == NULL) {
        rc = fl_err_oom(err);
        goto fail;
    }
    s3->part_size = cfg->part_size;
    s3->path_style = cfg->path_style;
    s3->retries = cfg->retries;
    s3->max_backoff_ms = cfg->max_backoff_ms ? cfg->max_backoff_ms : 1;
    s3->timeout_ms = cfg->timeout_ms;
    s3->seed = (unsigned)fl_time_now() ^ (unsigned)getpid();
    *out = s3;
    return FL_OK;
fail:
    fl_buf_free(&base);
    fl_s3_destroy(s3);
    return rc;
}


void
fl_s3_destroy(struct fl_s3 *s3)
{
    if (s3 == NULL)
        return;
    if (s3->curl != NULL)
        curl_easy_cleanup(s3->curl);
    fl_free(s3->bucket);
    fl_free(s3->prefix);
    fl_free(s3->base);
    fl_free(s3->region);
    fl_free(s3->access_key);
    if (s3->secret_key != NULL)
        memset(s3->secret_key, 0, strlen(s3->secret_key));
    fl_free(s3->secret_key);
    fl_free(s3->token);
    fl_free(s3->sigv4);
    fl_free(s3);
}


const char *
fl_s3_bucket(const struct fl_s3 *s3)
{
    return s3->bucket;
}


const char *
fl_s3_prefix(const struct fl_s3 *s3)
{
    return s3->prefix;
}


void
fl_s3_get_stats(const struct fl_s3 *s3, struct fl_s3_stats *out)
{
    *out = s3->stats;
}


void
fl_s3_set_cancel(struct fl_s3 *s3, const _Atomic int *flag)
{
    s3->cancel = flag;
}


static int
cancelled(const struct fl_s3 *s3)
{
    return s3->cancel != NULL && atomic_load(s3->cancel);
}


/* ---- one request -------------------------------------------------------- */

/* libcurl's progress callback: non-zero aborts the transfer. */
static int
progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
         curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return cancelled(ctx);
}

static size_t
read_body(char *dst, size_t size, size_t n, void *ctx)
{
    struct upload *u = ctx;
    size_t want = size * n, left = u->len - u->off;
    if (want > left)
        want = left;
    memcpy(dst, u->p + u->off, want);
    u->off += want;
    return want;
}


static size_t
write_body(char *src, size_t size, size_t n, void *ctx)
{
    struct answer *a = ctx;
    size_t len = size * n;
    if (a->body.len + len <= S3_MAX_ERROR_BODY)
        fl_buf_add(&a->body, src, len);
    return len;
}


static size_t
read_header(char *src, size_t size, size_t n, void *ctx)
{
    struct answer *a = ctx;
    size_t len = size * n;
    if (len > 5 && strncasecmp(src, "ETag:", 5) == 0) {
        const char *v = src + 5;
        size_t vl = len - 5;
        while (vl > 0 && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n'
                          || v[vl - 1] == ' '))
            vl--;
        snprintf(a->etag, sizeof a->etag, "%.*s", (int)vl, v);
    } else if (len > 15 && strncasecmp(src, "Content-Length:", 15) == 0) {
        char *end;
        a->length = strtoull(src + 15, &end, 10);
        a->has_length = end != src + 15;
    }
    return len;
}


static int
retriable(CURLcode cc, const struct answer *a)
{
    if (cc != CURLE_OK)
        return cc != CURLE_URL_MALFORMAT && cc != CURLE_UNSUPPORTED_PROTOCOL
               && cc != CURLE_OUT_OF_MEMORY;
    switch (a->status) {
    case 429: case 500: case 502: case 503: case 504:
        return 1;
    case 400:
        return a->body.p != NULL
               && strstr(a->body.p, "<Code>RequestTimeout</Code>") != NULL;
    default:
        return 0;
    }
}


/* Sleeps the backoff of attempt n (0-based): 200 ms doubling, capped,
 * times 0.85..1.15. */
static void
backoff(struct fl_s3 *s3, unsigned n)
{
    uint64_t ms = S3_FIRST_BACKOFF;
    for (unsigned i = 0; i < n && ms < s3->max_backoff_ms; i++)
        ms *= 2;
    if (ms > s3->max_backoff_ms)
        ms = s3->max_backoff_ms;
    double f = 0.85 + 0.30 * ((double)rand_r(&s3->seed) / RAND_MAX);
    ms = (uint64_t)((double)ms * f);
    /* In slices, so that a stop is not kept waiting. */
    for (uint64_t slept = 0; slept < ms && !cancelled(s3); slept += 100) {
        uint64_t step = ms - slept < 100 ? ms - slept : 100;
        struct timespec ts = { 0, (long)step * 1000000 };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
}


/* The error of a failed answer: the store's <Code> and <Message> when the
 * body has them. */
static int
answer_error(struct fl_s3 *s3, const char *method, const char *rel,
             CURLcode cc, const struct answer *a, struct fl_err *err)
{
    if (cc != CURLE_OK)
        return fl_err_set(err, -EIO, "S3 %s s3://%s/%s%s: %s", method,
                          s3->bucket, s3->prefix, rel, curl_easy_strerror(cc));
    char code[128] = "", msg[512] = "";
    if (a->body.p != NULL) {
        (void)fl_s3_xml_value(a->body.p, NULL, "Code", code, sizeof code);
        (void)fl_s3_xml_value(a->body.p, NULL, "Message", msg, sizeof msg);
    }
    int rc = a->status == 404 ? -ENOENT
           : a->status == 403 ? -EACCES : -EIO;
    return fl_err_set(err, rc, "S3 %s s3://%s/%s%s: HTTP %ld%s%s%s%s",
                      method, s3->bucket, s3->prefix, rel, a->status,
                      code[0] ? " " : "", code, msg[0] ? ": " : "", msg);
}


/* One request, retried: method on PREFIX + rel (NULL: the bucket itself),
 * query already sorted and encoded ("" for none). The answer's body is
 * kept in a (caller frees a->body). Returns 0 on 2xx. */
static int
request(struct fl_s3 *s3, const char *method, const char *rel,
        const char *query, const void *body, size_t len,
        const char *content_type, struct answer *a, struct fl_err *err)
{
    unsigned char sum[FL_SHA256_LEN];
    char hash_hdr[40 + 2 * FL_SHA256_LEN];
    struct fl_buf url;
    struct curl_slist *hdr = NULL;
    int rc = FL_OK;

    /* The payload's hash, hex: signed by curl, checked by the store. */
    fl_sha256(body != NULL ? body : "", body != NULL ? len : 0, sum);
    int o = snprintf(hash_hdr, sizeof hash_hdr, "x-amz-content-sha256: ");
    for (size_t i = 0; i < FL_SHA256_LEN; i++)
        o += snprintf(hash_hdr + o, sizeof hash_hdr - (size_t)o, "%02x",
                      sum[i]);

    fl_buf_init(&url, 0);
    fl_buf_adds(&url, s3->base);
    if (rel != NULL) {
        fl_buf_addc(&url, '/');
        add_encoded(&url, s3->prefix, 1);
        add_encoded(&url, rel, 1);
    } else if (!s3->path_style) {
        fl_buf_addc(&url, '/');          /* virtual host: the root */
    }
    if (query[0] != '\0') {
        fl_buf_addc(&url, '?');
        fl_buf_adds(&url, query);
    }
    /* No "Expect:" line to turn 100-continue off: curl would sign it, and
     * an empty header is not sent; a short wait for the 100 instead. */
    struct curl_slist *h = curl_slist_append(NULL, hash_hdr);
    if (h != NULL && s3->token[0] != '\0') {
        struct fl_buf t;
        fl_buf_init(&t, 0);
        fl_buf_addf(&t, "x-amz-security-token: %s", s3->token);
        h = t.err ? NULL : curl_slist_append(hdr = h, t.p);
        fl_buf_free(&t);
    }
    if (h != NULL && content_type != NULL) {
        char ct[160];
        snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
        h = curl_slist_append(hdr = h, ct);
    }
    if (h == NULL || url.err) {
        curl_slist_free_all(hdr);
        fl_buf_free(&url);
        return fl_err_oom(err);
    }
    hdr = h;

    for (unsigned attempt = 0;; attempt++) {
        struct upload up = { body, body != NULL ? len : 0, 0 };
        CURL *c = s3->curl;
        fl_buf_free(&a->body);
        fl_buf_init(&a->body, 0);
        a->status = 0;
        a->etag[0] = '\0';
        a->has_length = 0;
        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, url.p);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s3->sigv4);
        curl_easy_setopt(c, CURLOPT_USERNAME, s3->access_key);
        curl_easy_setopt(c, CURLOPT_PASSWORD, s3->secret_key);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_USERAGENT, "flowlake/" FL_VERSION);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
        curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, 50L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)s3->timeout_ms);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, read_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, s3);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        if (strcmp(method, "PUT") == 0) {
            curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(c, CURLOPT_READFUNCTION, read_body);
            curl_easy_setopt(c, CURLOPT_READDATA, &up);
            curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
                             (curl_off_t)up.len);
        } else if (strcmp(method, "POST") == 0) {
            curl_easy_setopt(c, CURLOPT_POST, 1L);
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body != NULL ? body : "");
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                             (curl_off_t)up.len);
        } else if (strcmp(method, "HEAD") == 0) {
            curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        } else if (strcmp(method, "GET") != 0) {
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        }
        s3->stats.requests++;
        CURLcode cc = curl_easy_perform(c);
        if (cc == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
        if (a->body.err) {
            rc = fl_err_oom(err);
            break;
        }
        fl_buf_addc(&a->body, '\0');     /* a string, for the XML scans */
        a->body.len--;
        if (cc == CURLE_OK && a->status >= 200 && a->status < 300) {
            s3->stats.bytes_sent += up.len;
            rc = FL_OK;
            break;
        }
        if (cancelled(s3)) {
            rc = fl_err_set(err, -ECANCELED, "S3 %s s3://%s/%s%s: stopped",
                            method, s3->bucket, s3->prefix,
                            rel != NULL ? rel : "");
            break;
        }
        if (attempt >= s3->retries || !retriable(cc, a)) {
            rc = answer_error(s3, method, rel != NULL ? rel : "", cc, a, err);
            break;
        }
        s3->stats.retries++;
        backoff(s3, attempt);
    }
    curl_slist_free_all(hdr);
    fl_buf_free(&url);
    return rc;
}


/* ---- the calls -------------------------------------------------------- */

int
fl_s3_put(struct fl_s3 *s3, const char *rel, const void *data, size_t len,
          const char *content_type, struct fl_err *err)
{
    struct answer a = { 0 };
    int rc = request(s3, "PUT", rel, "", data, len,
                     content_type != NULL ? content_type
                                          : "application/octet-stream",
                     &a, err);
    fl_buf_free(&a.body);
    return rc;
}


int
fl_s3_head(struct fl_s3 *s3, const char *rel, uint64_t *size,
           struct fl_err *err)
{
    struct answer a = { 0 };
    int rc = request(s3, "HEAD", rel, "", NULL, 0, NULL, &a, err);
    if (rc == 0 && !a.has_length)
        rc = fl_err_set(err, -EIO, "S3 HEAD s3://%s/%s%s: no Content-Length "
                        "in the answer", s3->bucket, s3->prefix, rel);
    if (rc == 0)
        *size = a.length;
    fl_buf_free(&a.body);
    return rc;
}


int
fl_s3_delete(struct fl_s3 *s3, const char *rel, struct fl_err *err)
{
    struct answer a = { 0 };
    int rc = request(s3, "DELETE", rel, "", NULL, 0, NULL, &a, err);
    fl_buf_free(&a.body);
    return rc;
}


/* Reads len bytes at off of fd into buf, whole. */
static int
read_at(int fd, unsigned char *buf, size_t len, off_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, buf + got, len - got, off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return FL_ETRUNC;            /* the file shrank */
        got += (size_t)r;
    }
    return FL_OK;
}


/* A multipart upload of fd's size bytes, parts of part_size. */
static int
put_multipart(struct fl_s3 *s3, const char *rel, int fd, uint64_t size,
              unsigned char *buf, struct fl_err *err)
{
    struct answer a = { 0 };
    struct fl_buf q, done;
    char upload_id[1024];
    int rc = request(s3, "POST", rel, "uploads=", NULL, 0,
                     "application/octet-stream", &a, err);
    if (rc == 0 && fl_s3_xml_value(a.body.p, NULL, "UploadId", upload_id,
                             sizeof upload_id) < 0)
        rc = fl_err_set(err, -EIO, "S3 POST s3://%s/%s%s?uploads: no "
                        "UploadId in the answer", s3->bucket, s3->prefix,
                        rel);
    if (rc < 0) {
        fl_buf_free(&a.body);
        return rc;
    }
    fl_buf_init(&q, 0);
    fl_buf_init(&done, 0);
    fl_buf_adds(&done, "<CompleteMultipartUpload>");
    uint64_t parts = (size + s3->part_size - 1) / s3->part_size;
    for (uint64_t n = 1; n <= parts && rc == 0; n++) {
        uint64_t off = (n - 1) * s3->part_size;
        size_t len = (size_t)(size - off < s3->part_size ? size - off
                                                         : s3->part_size);
        if ((rc = read_at(fd, buf, len, (off_t)off)) < 0) {
            fl_err_set(err, rc, "cannot read part %" PRIu64 " of %s: %s",
                       n, rel, fl_strerror(rc));
            break;
        }
        fl_buf_reset(&q);
        fl_buf_addf(&q, "partNumber=%" PRIu64 "&uploadId=", n);
        add_encoded(&q, upload_id, 0);
        if (q.err) {
            rc = fl_err_oom(err);
            break;
        }
        if ((rc = request(s3, "PUT", rel, q.p, buf, len, NULL, &a, err)) < 0)
            break;
        if (a.etag[0] == '\0') {
            rc = fl_err_set(err, -EIO, "S3 PUT part %" PRIu64 " of "
                            "s3://%s/%s%s: no ETag in the answer", n,
                            s3->bucket, s3->prefix, rel);
            break;
        }
        fl_buf_addf(&done, "<Part><PartNumber>%" PRIu64 "</PartNumber>"
                    "<ETag>", n);
        for (const char *e = a.etag; *e; e++) {
            if (*e == '"')
                fl_buf_adds(&done, "&quot;");
            else
                fl_buf_addc(&done, *e);
        }
        fl_buf_adds(&done, "</ETag></Part>");
    }
    fl_buf_reset(&q);
    fl_buf_adds(&q, "uploadId=");
    add_encoded(&q, upload_id, 0);
    if (rc == 0) {
        fl_buf_adds(&done, "</CompleteMultipartUpload>");
        if (done.err || q.err)
            rc = fl_err_oom(err);
        else
            rc = request(s3, "POST", rel, q.p, done.p, done.len,
                         "application/xml", &a, err);
        /* S3 may answer 200 and still have failed: the error is in the
         * body, sent while it assembled the parts. */
        if (rc == 0 && a.body.p != NULL && strstr(a.body.p, "<Error>") != NULL)
            rc = answer_error(s3, "POST", rel, CURLE_OK,
                              &(struct answer){ .status = 200,
                                                .body = a.body }, err);
    }
    if (rc < 0 && !q.err) {
        struct fl_err ignored = FL_ERR_INIT;
        (void)request(s3, "DELETE", rel, q.p, NULL, 0, NULL, &a, &ignored);
    }
    fl_buf_free(&a.body);
    fl_buf_free(&q);
    fl_buf_free(&done);
    return rc;
}


int
fl_s3_put_file(struct fl_s3 *s3, const char *rel, const char *path,
               uint64_t *bytes, struct fl_err *err)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        int rc = -errno;
        if (fd >= 0)
            close(fd);
        return fl_err_set(err, rc, "cannot open %s: %s", path,
                          fl_strerror(rc));
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size > s3->part_size * S3_MAX_PARTS) {
        close(fd);
        return fl_err_set(err, FL_ETOOBIG, "%s: %" PRIu64 " bytes need more "
                          "than S3's 10,000 parts of s3.part_size", path,
                          size);
    }
    size_t cap = (size_t)(size < s3->part_size ? size : s3->part_size);
    unsigned char *buf = fl_malloc(cap ? cap : 1);
    int rc;
    if (buf == NULL) {
        rc = fl_err_oom(err);
    } else if (size <= s3->part_size) {
        rc = read_at(fd, buf, (size_t)size, 0);
        if (rc < 0)
            fl_err_set(err, rc, "cannot read %s: %s", path, fl_strerror(rc));
        else
            rc = fl_s3_put(s3, rel, buf, (size_t)size, NULL, err);
    } else {
        rc = put_multipart(s3, rel, fd, size, buf, err);
    }
    fl_free(buf);
    close(fd);
    /* Verified: the store answers for the object with the file's size
     * (its bytes were checked on arrival against the signed SHA-256). */
    uint64_t have = 0;
    if (rc == 0 && (rc = fl_s3_head(s3, rel, &have, err)) == 0
        && have != size)
        rc = fl_err_set(err, -EIO, "S3 holds %" PRIu64 " bytes of "
                        "s3://%s/%s%s, uploaded %" PRIu64, have, s3->bucket,
                        s3->prefix, rel, size);
    if (rc == 0)
        *bytes = size;
    return rc;
}


/* A listing's keys are relative to the prefix for fl_s3_list's caller. */
struct listing {
    const char    *prefix;
    size_t         plen;
    fl_s3_list_fn *fn;
    void          *ctx;
};


static int
list_object(void *ctx, const char *key, uint64_t size)
{
    struct listing *l = ctx;
    if (strncmp(key, l->prefix, l->plen) != 0)
        return 0;
    return l->fn(l->ctx, key + l->plen, size);
}


int
fl_s3_list(struct fl_s3 *s3, const char *rel_prefix, fl_s3_list_fn *fn,
           void *ctx, struct fl_err *err)
{
    struct answer a = { 0 };
    struct fl_buf q, full;
    char token[1024] = "";
    struct listing l = { s3->prefix, strlen(s3->prefix), fn, ctx };
    int rc = FL_OK, truncated;

    fl_buf_init(&q, 0);
    fl_buf_init(&full, 0);
    fl_buf_adds(&full, s3->prefix);
    fl_buf_adds(&full, rel_prefix);
    for (;;) {
        fl_buf_reset(&q);
        if (token[0] != '\0') {
            fl_buf_adds(&q, "continuation-token=");
            add_encoded(&q, token, 0);
            fl_buf_addc(&q, '&');
        }
        fl_buf_adds(&q, "list-type=2&prefix=");
        add_encoded(&q, full.err ? "" : full.p, 0);
        if (q.err || full.err) {
            rc = fl_err_oom(err);
            break;
        }
        if ((rc = request(s3, "GET", NULL, q.p, NULL, 0, NULL, &a, err)) < 0
            || (rc = fl_s3_xml_list_page(a.body.p, list_object, &l,
                                         &truncated, token,
                                         sizeof token)) != 0
            || !truncated)
            break;
    }
    fl_buf_free(&a.body);
    fl_buf_free(&q);
    fl_buf_free(&full);
    return rc;
}
