/* SPDX-License-Identifier: MIT
 *
 * test_ingest.c -- the decoders of src/ingest/: strict base64, bounded
 * gunzip (gzip bomb, truncation, corruption), the Firehose HTTP endpoint
 * request (records of text lines, gzip'd and plain CloudWatch Logs
 * payloads, every envelope error with its exact message, limits) and
 * response bodies, CloudWatch Logs subscription payloads (DATA_MESSAGE
 * with numeric and string timestamps, CONTROL_MESSAGE, the Lambda awslogs
 * form, type errors, unknown messageType), the JSON fast path against the
 * jansson path (escapes, \u escapes and surrogate pairs, timestamps, the
 * fallback on odd shapes and limits), the Firehose request fast path
 * against the jansson path (canonical bodies, every decline, the limits to
 * the byte), and allocation failures.
 * Every test ends with fl_mem_used() == 0; LeakSanitizer checks the rest.
 */
#include "../../src/core/fl_config.h"

#include <stdint.h>
#include <time.h>
#include <zlib.h>

#include "harness.h"
#include "gzip_member.h"
#include "core/fl_base64.h"
#include "core/fl_error.h"
#include "core/fl_mem.h"
#include "ingest/base64.h"
#include "ingest/firehose.h"
#include "ingest/gunzip.h"
#include "ingest/ingest.h"
#include "ingest/ingest_int.h"      /* json_slow, the fast-path counters */

/* ==== fixtures ======================================================= */

/* gzip of `total` zero bytes, compressed in chunks (no big input buffer). */
static unsigned char *
gz_zeros(size_t total, size_t *out_len)
{
    static unsigned char zeros[1 << 20];
    z_stream z;
    memset(&z, 0, sizeof z);
    CHECK(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY)
          == Z_OK);
    size_t cap = total / 500 + 4096, done = 0;
    unsigned char *out = malloc(cap);
    CHECK(out != NULL);
    z.next_out = out;
    z.avail_out = (uInt)cap;
    while (done < total) {
        size_t n = total - done < sizeof zeros ? total - done : sizeof zeros;
        z.next_in = zeros;
        z.avail_in = (uInt)n;
        CHECK(deflate(&z, Z_NO_FLUSH) == Z_OK);
        CHECK(z.avail_in == 0);
        done += n;
    }
    CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}


/* base64 of src[0..len) as a new C string (free() it). */
static char *
b64(const void *src, size_t len)
{
    char *out = malloc(FL_BASE64_ENCODED_LEN(len) + 1);
    CHECK(out != NULL);
    out[fl_base64_encode(src, len, out)] = '\0';
    return out;
}


/* A growing string for building bodies. */
struct str {
    char  *p;
    size_t len, cap;
};

static void
str_add(struct str *s, const char *p, size_t n)
{
    if (s->len + n + 1 > s->cap) {
        s->cap = (s->len + n + 1) * 2;
        s->p = realloc(s->p, s->cap);
        CHECK(s->p != NULL);
    }
    memcpy(s->p + s->len, p, n);
    s->len += n;
    s->p[s->len] = '\0';
}

static void
str_cat(struct str *s, const char *p)
{
    str_add(s, p, strlen(p));
}


/* {"requestId":"<id>","timestamp":1578090901599,"records":[{"data":..}]}
 * with each payload base64-encoded. */
static char *
firehose_body(const char *id, const void *const *payloads,
              const size_t *lens, size_t n, size_t *out_len)
{
    struct str s = { 0 };
    str_cat(&s, "{\"requestId\": \"");
    str_cat(&s, id);
    str_cat(&s, "\", \"timestamp\": 1578090901599, \"records\": [");
    for (size_t i = 0; i < n; i++) {
        char *e = b64(payloads[i], lens[i]);
        str_cat(&s, i ? ", {\"data\": \"" : "{\"data\": \"");
        str_cat(&s, e);
        str_cat(&s, "\"}");
        free(e);
    }
    str_cat(&s, "]}");
    *out_len = s.len;
    return s.p;
}


/* What the callback saw, one line per call. */
struct sink {
    char   buf[16384];
    size_t len;
    int    calls;
    int    stop_at;      /* return stop_rc on this call (1-based); 0 = never */
    int    stop_rc;
};

static int
collect(void *ctx, const struct fl_ingest_line *l)
{
    struct sink *s = ctx;
    int n;

    s->calls++;
    if (s->stop_at != 0 && s->calls == s->stop_at)
        return s->stop_rc;
    CHECK(memchr(l->p, '\n', l->len) == NULL || l->cwl != NULL);
    if (l->cwl == NULL) {
        CHECK(l->id == NULL && l->timestamp_ms == -1);
        n = snprintf(s->buf + s->len, sizeof s->buf - s->len, "%llu: %.*s\n",
                     l->line_no, (int)l->len, l->p);
    } else {
        n = snprintf(s->buf + s->len, sizeof s->buf - s->len,
                     "%llu %s %lld %s %s %s: %.*s\n", l->line_no, l->id,
                     (long long)l->timestamp_ms, l->cwl->owner,
                     l->cwl->log_group, l->cwl->log_stream, (int)l->len,
                     l->p);
    }
    CHECK(n >= 0 && (size_t)n < sizeof s->buf - s->len);
    s->len += (size_t)n;
    return 0;
}


static struct fl_ingest *
decoder(const struct fl_ingest_limits *lim)
{
    struct fl_ingest *d = NULL;
    CHECK_EQ_INT(fl_ingest_create(lim, &d), 0);
    return d;
}


#define LINE1 "2 123456789012 eni-0a1b2c3d 10.0.27.226 10.42.96.199 3604" \
              " 17720 17 1 132 1502360020 1502360079 REJECT OK"
#define LINE2 "2 123456789012 eni-0a1b2c3d 10.0.0.1 10.0.0.2 443 49152 6" \
              " 10 840 1502360021 1502360080 ACCEPT OK"

/* A DATA_MESSAGE: one numeric and one string timestamp, a message with
 * the trailing newline some shippers keep, extractedFields. */
static const char CWL_DATA[] =
    "{\n"
    "  \"messageType\": \"DATA_MESSAGE\",\n"
    "  \"owner\": \"123456789012\",\n"
    "  \"logGroup\": \"vpc-flow-logs\",\n"
    "  \"logStream\": \"eni-0a1b2c3d-all\",\n"
    "  \"subscriptionFilters\": [\"to-flowlake\"],\n"
    "  \"logEvents\": [\n"
    "    {\"id\": \"33503748002479370955346306650196094071913271643270021120\","
    " \"timestamp\": 1502360020000, \"message\": \"" LINE1 "\"},\n"
    "    {\"id\": \"33503748002479370955346306650196094071913271643270021121\","
    " \"timestamp\": \"1502360021000\", \"message\": \"" LINE2 "\\n\","
    " \"extractedFields\": {\"version\": \"2\"}}\n"
    "  ]\n"
    "}\n";

static const char CWL_DATA_OUT[] =
    "1 33503748002479370955346306650196094071913271643270021120"
    " 1502360020000 123456789012 vpc-flow-logs eni-0a1b2c3d-all: " LINE1 "\n"
    "2 33503748002479370955346306650196094071913271643270021121"
    " 1502360021000 123456789012 vpc-flow-logs eni-0a1b2c3d-all: " LINE2 "\n";

/* Verbatim from AWS's CloudWatch Logs subscription example
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html). */
static const char CWL_CONTROL[] =
    "{\n"
    "    \"messageType\": \"CONTROL_MESSAGE\",\n"
    "    \"owner\": \"CloudwatchLogs\",\n"
    "    \"logGroup\": \"\",\n"
    "    \"logStream\": \"\",\n"
    "    \"subscriptionFilters\": [],\n"
    "    \"logEvents\": [\n"
    "        {\n"
    "            \"id\": \"\",\n"
    "            \"timestamp\": 1438485463442,\n"
    "            \"message\": \"CWL CONTROL MESSAGE: Checking health of"
    " destination Kinesis stream.\"\n"
    "        }\n"
    "    ]\n"
    "}\n";


/* Runs fl_ingest_decode (cwl: _decode_cwl) on a NUL-terminated payload and
 * checks the return code and error message (msg NULL: success). */
static void
expect_decode(int cwl, const char *payload, int want_rc, const char *msg)
{
    struct fl_ingest *d = decoder(NULL);
    struct fl_ingest_err err;
    struct sink s = { .len = 0 };
    int rc = cwl ? fl_ingest_decode_cwl(d, payload, strlen(payload), collect,
                                        &s, NULL, &err)
                 : fl_ingest_decode(d, payload, strlen(payload), collect, &s,
                                    NULL, &err);
    if (rc != want_rc)
        fprintf(stderr, "  payload: %s\n  msg: %s\n", payload, err.msg);
    CHECK_EQ_INT(rc, want_rc);
    if (msg != NULL) {
        CHECK_EQ_STR(err.msg, msg);
        CHECK_EQ_INT(s.calls, 0);       /* all or nothing */
    }
    fl_ingest_destroy(d);
}


/* ==== base64 ========================================================= */

/* RFC 4648 section 10's vectors (and one more): base64, then the bytes. */
static const char *const rfc4648[][2] = {
    { "", "" }, { "Zg==", "f" }, { "Zm8=", "fo" }, { "Zm9v", "foo" },
    { "Zm9vYg==", "foob" }, { "Zm9vYmE=", "fooba" },
    { "Zm9vYmFy", "foobar" }, { "aGVsbG8gd29ybGQ=", "hello world" },
};
#define N_RFC4648 (sizeof rfc4648 / sizeof rfc4648[0])

static void
test_base64_valid(void)
{
    char out[64];
    size_t n;
    for (size_t i = 0; i < N_RFC4648; i++) {
        size_t len = strlen(rfc4648[i][0]);
        CHECK_EQ_INT(fl_base64_decoded_len(rfc4648[i][0], len),
                     strlen(rfc4648[i][1]));
        CHECK_EQ_INT(fl_base64_decode(rfc4648[i][0], len, out, sizeof out,
                                      &n, NULL), 0);
        CHECK_EQ_MEM(out, n, rfc4648[i][1]);
    }
    /* Every byte value, every length mod 3, round trip. */
    unsigned char all[256], back[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    for (size_t len = 250; len <= 256; len++) {
        char *e = b64(all, len);
        CHECK_EQ_INT(fl_base64_decode(e, strlen(e), back, len, &n, NULL), 0);
        CHECK_EQ_INT(n, len);
        CHECK(memcmp(all, back, len) == 0);
        free(e);
    }
    /* Non-zero leftover bits are ignored ("Zh==" is "f" too). */
    CHECK_EQ_INT(fl_base64_decode("Zh==", 4, out, sizeof out, &n, NULL), 0);
    CHECK_EQ_MEM(out, n, "f");
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* The encoder (core/fl_base64.c) on RFC 4648's vectors: the decoder's
 * round trip above relies on it. */
static void
test_base64_encode(void)
{
    char out[64];
    for (size_t i = 0; i < N_RFC4648; i++) {
        size_t len = strlen(rfc4648[i][1]);
        size_t n = fl_base64_encode(rfc4648[i][1], len, out);
        CHECK_EQ_INT(n, FL_BASE64_ENCODED_LEN(len));
        CHECK_EQ_MEM(out, n, rfc4648[i][0]);
    }
}


static void
test_base64_invalid(void)
{
    static const struct { const char *in; const char *msg; } vec[] = {
        { "aGVsbG8gd29ybGQh!GVsbG8=", "invalid base64 at offset 16" },
        { "Zm9v\nYmFy", "invalid base64 at offset 4" },
        { "Zm9vYmF", "invalid base64: length 7 is not a multiple of 4" },
        { "Zm9vYmFy\n", "invalid base64 at offset 8" },
        { "Zg=a", "invalid base64 at offset 2" },
        { "Z===", "invalid base64 at offset 1" },
        { "====", "invalid base64 at offset 0" },
        { "Zg==Zg==", "invalid base64 at offset 2" },
        { "Zm9v-_==", "invalid base64 at offset 4" },     /* URL-safe */
        { "Zm9v YmFy", "invalid base64 at offset 4" },
        { "Zm9v\xc3\xa9", "invalid base64 at offset 4" },
    };
    char out[64];
    size_t n;
    struct fl_ingest_err err;
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        CHECK_EQ_INT(fl_base64_decode(vec[i].in, strlen(vec[i].in), out,
                                      sizeof out, &n, &err), FL_EPARSE);
        CHECK_EQ_STR(err.msg, vec[i].msg);
    }
    /* The output ceiling is checked before decoding. */
    CHECK_EQ_INT(fl_base64_decode("Zm9v", 4, out, 2, &n, &err), FL_ETOOBIG);
    CHECK_EQ_STR(err.msg, "base64 data decodes to 3 bytes, over the limit"
                 " of 2");
    CHECK_EQ_INT(fl_base64_decode("Zm8=", 4, out, 2, &n, &err), 0);
    CHECK_EQ_INT(n, 2);
}


/* ==== gunzip ========================================================= */

static void
test_gunzip_ok(void)
{
    const char *text = "hello\nworld\n";
    size_t zl, zl2, n = 0, cap = 0;
    char *buf = NULL;
    unsigned char *z = gz(text, strlen(text), &zl);

    CHECK_EQ_INT(fl_gunzip(z, zl, 1000, 0, &buf, &cap, &n, NULL), 0);
    CHECK_EQ_MEM(buf, n, text);
    /* Exactly at the ceiling is fine, one byte under is not. */
    CHECK_EQ_INT(fl_gunzip(z, zl, strlen(text), 0, &buf, &cap, &n, NULL), 0);
    CHECK_EQ_INT(n, strlen(text));
    struct fl_ingest_err err;
    CHECK_EQ_INT(fl_gunzip(z, zl, strlen(text) - 1, 0, &buf, &cap, &n, &err),
                 FL_ETOOBIG);
    CHECK_EQ_STR(err.msg, "gzip data inflates to more than 11 bytes (the"
                 " limit)");

    /* Two members read as one stream; NUL padding after them is fine. */
    unsigned char *z2 = gz("more\n", 5, &zl2);
    unsigned char *cat = malloc(zl + zl2 + 8);
    memcpy(cat, z, zl);
    memcpy(cat + zl, z2, zl2);
    memset(cat + zl + zl2, 0, 8);
    CHECK_EQ_INT(fl_gunzip(cat, zl + zl2 + 8, 1000, 0, &buf, &cap, &n, NULL),
                 0);
    CHECK_EQ_MEM(buf, n, "hello\nworld\nmore\n");

    /* An empty member. */
    unsigned char *ze = gz("", 0, &zl2);
    CHECK_EQ_INT(fl_gunzip(ze, zl2, 1000, 0, &buf, &cap, &n, NULL), 0);
    CHECK_EQ_INT(n, 0);

    fl_free(buf);
    free(z);
    free(z2);
    free(ze);
    free(cat);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_gunzip_errors(void)
{
    const char *text = "2 123456789012 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1 2"
                       " ACCEPT OK\n";
    size_t zl, n = 0, cap = 0;
    char *buf = NULL;
    struct fl_ingest_err err;
    unsigned char *z = gz(text, strlen(text), &zl);

    CHECK_EQ_INT(fl_gunzip("plain", 5, 100, 0, &buf, &cap, &n, &err),
                 FL_ECORRUPT);
    CHECK_EQ_STR(err.msg, "not gzip data (it does not start with 1f 8b)");

    /* Truncated: in the header, in the data, in the trailer. */
    CHECK_EQ_INT(fl_gunzip(z, 5, 100, 0, &buf, &cap, &n, &err), FL_ETRUNC);
    CHECK_EQ_STR(err.msg, "gzip stream truncated at compressed byte 5");
    CHECK_EQ_INT(fl_gunzip(z, zl / 2, 100, 0, &buf, &cap, &n, &err),
                 FL_ETRUNC);
    CHECK(strncmp(err.msg, "gzip stream truncated at compressed byte ", 41)
          == 0);
    CHECK_EQ_INT(fl_gunzip(z, zl - 1, 100, 0, &buf, &cap, &n, &err), FL_ETRUNC);

    /* A flipped CRC bit. */
    z[zl - 5] ^= 1;
    CHECK_EQ_INT(fl_gunzip(z, zl, 100, 0, &buf, &cap, &n, &err), FL_ECORRUPT);
    char want[128];
    snprintf(want, sizeof want, "corrupt gzip data (CRC or length check"
             " failed) at compressed byte %zu", zl);
    CHECK_EQ_STR(err.msg, want);
    z[zl - 5] ^= 1;

    /* Garbage after the member. */
    unsigned char *tail = malloc(zl + 4);
    memcpy(tail, z, zl);
    memcpy(tail + zl, "junk", 4);
    CHECK_EQ_INT(fl_gunzip(tail, zl + 4, 100, 0, &buf, &cap, &n, &err),
                 FL_ECORRUPT);
    snprintf(want, sizeof want, "trailing data after the last gzip member at"
             " compressed byte %zu", zl);
    CHECK_EQ_STR(err.msg, want);

    /* Damaged deflate data: a reserved block type. */
    z[10] = 0x07;
    CHECK_EQ_INT(fl_gunzip(z, zl, 100, 0, &buf, &cap, &n, &err), FL_ECORRUPT);
    CHECK(strncmp(err.msg, "corrupt gzip data (", 19) == 0);

    fl_free(buf);
    free(z);
    free(tail);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static int
starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}


static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


/* 100 MB of zeros in ~100 KB: refused after max_inflated bytes, without
 * the memory or the time to expand it all. */
static void
test_gzip_bomb(void)
{
    size_t zl, n = 0, cap = 0;
    char *buf = NULL;
    struct fl_ingest_err err;
    unsigned char *z = gz_zeros((size_t)100 * 1000 * 1000, &zl);
    CHECK(zl < 200 * 1000);

    size_t peak0 = fl_mem_peak();
    double t0 = now_s();
    CHECK_EQ_INT(fl_gunzip(z, zl, FL_INGEST_DEFAULT_MAX_INFLATED, 0, &buf,
                           &cap, &n, &err), FL_ETOOBIG);
    double dt = now_s() - t0;
    CHECK_EQ_STR(err.msg, "gzip data inflates to more than 16777216 bytes"
                 " (the limit)");
    CHECK(fl_mem_peak() - peak0 < FL_INGEST_DEFAULT_MAX_INFLATED + (1 << 20));
    CHECK(dt < 5.0);
    fl_free(buf);

    /* The same bomb as a Firehose record. */
    struct fl_ingest *d = decoder(NULL);
    const void *payloads[] = { z };
    size_t lens[] = { zl }, bl;
    char *body = firehose_body("bomb", payloads, lens, 1, &bl);
    struct fl_firehose_req *req = NULL;
    struct sink s = { .len = 0 };
    CHECK_EQ_INT(fl_firehose_parse(d, body, bl, &req, &err), 0);
    CHECK_EQ_INT(fl_firehose_record_decode(d, req, 0, collect, &s, NULL,
                                           &err), FL_ETOOBIG);
    /* A decoder's default ratio ceiling (100) stops it long before the
     * size ceiling. */
    CHECK(starts(err.msg, "records[0].data: gzip data inflates to more than"
                  " 100 times its compressed size ("));
    CHECK_EQ_INT(err.record, 0);
    CHECK_EQ_INT(s.calls, 0);
    fl_firehose_destroy(req);
    fl_ingest_destroy(d);
    free(body);
    free(z);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* The ratio ceiling: decided as the output is produced, past a 1 MiB
 * floor, so a bomb costs a few MiB and milliseconds whatever max_out is;
 * compressible real text and concatenated members still pass. */
static void
test_gunzip_ratio(void)
{
    size_t zl, n = 0, cap = 0;
    char *buf = NULL;
    struct fl_ingest_err err;
    unsigned char *z = gz_zeros((size_t)200 * 1000 * 1000, &zl);

    size_t peak0 = fl_mem_peak();
    double t0 = now_s();
    CHECK_EQ_INT(fl_gunzip(z, zl, (size_t)1 << 30, 100, &buf, &cap, &n,
                           &err), FL_ETOOBIG);
    double dt = now_s() - t0;
    CHECK(starts(err.msg, "gzip data inflates to more than 100 times its"
                  " compressed size ("));
    /* Stopped within one step of the floor: a 200 MB bomb, 1 GiB limit,
     * yet the buffer never passed a few MiB. */
    CHECK(fl_mem_peak() - peak0 < 4 * FL_GUNZIP_RATIO_FLOOR + 2 * zl);
    CHECK(dt < 2.0);
    fl_free(buf);
    buf = NULL;
    cap = 0;
    free(z);

    /* Up to the floor, any ratio is fine (1 MiB of zeros is ~1000:1). */
    z = gz_zeros(FL_GUNZIP_RATIO_FLOOR, &zl);
    CHECK_EQ_INT(fl_gunzip(z, zl, (size_t)1 << 30, 100, &buf, &cap, &n,
                           &err), 0);
    CHECK_EQ_INT(n, FL_GUNZIP_RATIO_FLOOR);
    free(z);

    /* Flow-log-like text (about 5:1 here) passes at 100 and is refused at
     * 2, in two members as in one. */
    size_t tl = 3 * 1024 * 1024, zl2;
    char *text = malloc(tl);
    CHECK(text != NULL);
    unsigned seed = 7;
    for (size_t i = 0; i < tl; i++) {
        seed = seed * 1103515245u + 12345u;
        text[i] = (i % 80 == 79) ? '\n' : (char)('0' + (seed >> 16) % 10);
    }
    z = gz(text, tl / 2, &zl);
    unsigned char *z2 = gz(text + tl / 2, tl - tl / 2, &zl2);
    unsigned char *cat = malloc(zl + zl2);
    CHECK(cat != NULL);
    memcpy(cat, z, zl);
    memcpy(cat + zl, z2, zl2);
    CHECK_EQ_INT(fl_gunzip(cat, zl + zl2, (size_t)1 << 30, 100, &buf, &cap,
                           &n, &err), 0);
    CHECK_EQ_INT(n, tl);
    CHECK(memcmp(buf, text, tl) == 0);
    CHECK_EQ_INT(fl_gunzip(cat, zl + zl2, (size_t)1 << 30, 2, &buf, &cap,
                           &n, &err), FL_ETOOBIG);
    CHECK(starts(err.msg, "gzip data inflates to more than 2 times its"
                  " compressed size ("));
    fl_free(buf);
    free(text);
    free(z);
    free(z2);
    free(cat);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* ==== Firehose requests ============================================== */

/* Decodes every record of body, appending "[i] kind gzip awslogs\n" and
 * the lines, or "[i] error: msg\n", to s. */
static void
decode_all(struct fl_ingest *d, const struct fl_firehose_req *req,
           struct sink *s)
{
    static const char *const kinds[] = { "?", "text", "cwl-data",
                                         "cwl-control" };
    for (size_t i = 0; i < fl_firehose_nrecords(req); i++) {
        struct fl_ingest_info info;
        struct fl_ingest_err err;
        size_t mark = s->len;
        int rc = fl_firehose_record_decode(d, req, i, collect, s, &info,
                                           &err);
        char head[600];
        if (rc == 0)
            snprintf(head, sizeof head, "[%zu] %s%s%s\n", i,
                     kinds[info.kind], info.gzip ? " gzip" : "",
                     info.awslogs ? " awslogs" : "");
        else
            snprintf(head, sizeof head, "[%zu] error: %s\n", i, err.msg);
        /* Put the head before the record's lines. */
        size_t hl = strlen(head);
        CHECK(s->len + hl < sizeof s->buf);
        memmove(s->buf + mark + hl, s->buf + mark, s->len - mark);
        memcpy(s->buf + mark, head, hl);
        s->len += hl;
        s->buf[s->len] = '\0';
    }
}


static void
test_firehose_valid(void)
{
    const char *text = LINE1 "\n" LINE2 "\n";
    const char *crlf = LINE1 "\r\n\r\n" LINE2;          /* no final newline */
    size_t zl, tzl;
    unsigned char *zcwl = gz(CWL_DATA, strlen(CWL_DATA), &zl);
    unsigned char *ztext = gz(text, strlen(text), &tzl);
    const void *payloads[] = { text, zcwl, "", crlf, CWL_DATA, ztext,
                               CWL_CONTROL };
    size_t lens[] = { strlen(text), zl, 0, strlen(crlf), strlen(CWL_DATA),
                      tzl, strlen(CWL_CONTROL) };
    size_t bl;
    char *body = firehose_body("ed4acda5-034f-9f42-bba1-f29aea6d7d8f",
                               payloads, lens, 7, &bl);

    struct fl_ingest *d = decoder(NULL);
    struct fl_firehose_req *req = NULL;
    struct fl_ingest_err err;
    CHECK_EQ_INT(fl_firehose_parse(d, body, bl, &req, &err), 0);
    free(body);                       /* the request keeps what it needs */
    CHECK_EQ_STR(fl_firehose_request_id(req),
                 "ed4acda5-034f-9f42-bba1-f29aea6d7d8f");
    CHECK_EQ_INT(fl_firehose_timestamp(req), 1578090901599LL);
    CHECK_EQ_INT(fl_firehose_nrecords(req), 7);

    const char *raw;
    size_t rawn;
    fl_firehose_record_b64(req, 2, &raw, &rawn);
    CHECK_EQ_MEM(raw, rawn, "");
    const void *data;
    size_t dn;
    CHECK_EQ_INT(fl_firehose_record_data(d, req, 0, &data, &dn, &err), 0);
    CHECK_EQ_MEM(data, dn, text);

    struct sink s = { .len = 0 };
    decode_all(d, req, &s);
    struct str want = { 0 };
    str_cat(&want, "[0] text\n1: " LINE1 "\n2: " LINE2 "\n[1] cwl-data gzip\n");
    str_cat(&want, CWL_DATA_OUT);
    str_cat(&want, "[2] text\n[3] text\n1: " LINE1 "\n3: " LINE2 "\n");
    str_cat(&want, "[4] cwl-data\n");
    str_cat(&want, CWL_DATA_OUT);
    str_cat(&want, "[5] text gzip\n1: " LINE1 "\n2: " LINE2 "\n");
    str_cat(&want, "[6] cwl-control\n");
    CHECK_EQ_STR(s.buf, want.p);
    free(want.p);

    fl_firehose_destroy(req);
    fl_ingest_destroy(d);
    free(zcwl);
    free(ztext);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* A bad record is reported with its index and does not affect the others. */
static void
test_firehose_bad_base64(void)
{
    const char *body =
        "{\"requestId\": \"r-1\", \"timestamp\": 1, \"records\": ["
        "{\"data\": \"" "MSBsaW5lIG9uZQo=" "\"}, "          /* "1 line one\n" */
        "{\"data\": \"\"}, "
        "{\"data\": \"Zm9vYmFy\"}, "
        "{\"data\": \"aGVsbG8gd29ybGQhZ*VsbG8=\"}, "
        "{\"data\": \"bGFzdA==\"}]}";
    struct fl_ingest *d = decoder(NULL);
    struct fl_firehose_req *req = NULL;
    struct fl_ingest_err err;
    struct sink s = { .len = 0 };

    CHECK_EQ_INT(fl_firehose_parse(d, body, strlen(body), &req, &err), 0);
    CHECK_EQ_INT(fl_firehose_record_decode(d, req, 3, collect, &s, NULL,
                                           &err), FL_EPARSE);
    CHECK_EQ_STR(err.msg, "records[3].data: invalid base64 at offset 17");
    CHECK_EQ_INT(err.record, 3);
    CHECK_EQ_INT(s.calls, 0);
    const void *data;
    size_t n;
    CHECK_EQ_INT(fl_firehose_record_data(d, req, 3, &data, &n, &err),
                 FL_EPARSE);
    CHECK_EQ_STR(err.msg, "records[3].data: invalid base64 at offset 17");

    decode_all(d, req, &s);
    CHECK_EQ_STR(s.buf,
                 "[0] text\n1: 1 line one\n"
                 "[1] text\n"
                 "[2] text\n1: foobar\n"
                 "[3] error: records[3].data: invalid base64 at offset 17\n"
                 "[4] text\n1: last\n");
    fl_firehose_destroy(req);
    fl_ingest_destroy(d);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
expect_parse(const char *body, int want_rc, const char *msg)
{
    struct fl_ingest_limits lim = { .max_records = 3,
                                    .max_record_bytes = 6 };
    struct fl_ingest *d = decoder(&lim);
    struct fl_firehose_req *req = NULL;
    struct fl_ingest_err err;
    int rc = fl_firehose_parse(d, body, strlen(body), &req, &err);
    if (rc != want_rc)
        fprintf(stderr, "  body: %s\n  msg: %s\n", body, err.msg);
    CHECK_EQ_INT(rc, want_rc);
    if (rc == 0)
        fl_firehose_destroy(req);
    else
        CHECK_EQ_STR(err.msg, msg);
    CHECK(req == NULL || rc == 0);
    fl_ingest_destroy(d);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_firehose_envelope_errors(void)
{
    expect_parse("{\"timestamp\": 1, \"records\": []}", FL_EPARSE,
                 "requestId: missing");
    expect_parse("{\"requestId\": 42, \"records\": []}", FL_EPARSE,
                 "requestId: expected a string, got an integer");
    expect_parse("{\"requestId\": \"\", \"records\": []}", FL_EPARSE,
                 "requestId: empty");
    expect_parse("{\"requestId\": \"a\"}", FL_EPARSE, "records: missing");
    expect_parse("{\"requestId\": \"a\", \"records\": {\"data\": \"\"}}",
                 FL_EPARSE, "records: expected an array, got an object");
    expect_parse("{\"requestId\": \"a\", \"records\": null}", FL_EPARSE,
                 "records: expected an array, got null");
    expect_parse("{\"requestId\": \"a\", \"records\": [{\"data\": \"\"},"
                 " \"Zm9v\"]}", FL_EPARSE,
                 "records[1]: expected an object, got a string");
    expect_parse("{\"requestId\": \"a\", \"records\": [{\"dat\": \"\"}]}",
                 FL_EPARSE, "records[0].data: missing");
    expect_parse("{\"requestId\": \"a\", \"records\": [{\"data\": \"\"},"
                 " {\"data\": 12}]}", FL_EPARSE,
                 "records[1].data: expected a string, got an integer");
    /* The "CWLog sourced request" example of the AWS page shows data as an
     * object; on the wire it is base64. */
    expect_parse("{\"requestId\": \"a\", \"records\": [{\"data\":"
                 " {\"messageType\": \"DATA_MESSAGE\"}}]}", FL_EPARSE,
                 "records[0].data: expected a string, got an object");
    expect_parse("{\"requestId\": \"a\", \"records\": [{\"data\": null}]}",
                 FL_EPARSE, "records[0].data: expected a string, got null");
    expect_parse("[{\"requestId\": \"a\"}]", FL_EPARSE,
                 "expected a JSON object at the top level, got an array");
    expect_parse("{\"requestId\": \"a\", \"timestamp\": true,"
                 " \"records\": []}", FL_EPARSE,
                 "timestamp: expected milliseconds since the epoch (an"
                 " integer or a string of digits), got true");
    expect_parse("{\"requestId\": \"a\", \"timestamp\": \"soon\","
                 " \"records\": []}", FL_EPARSE,
                 "timestamp: expected milliseconds since the epoch (an"
                 " integer or a string of digits), got a string \"soon\"");
    expect_parse("{\"requestId\": \"a\", \"timestamp\": -5, \"records\": []}",
                 FL_EPARSE,
                 "timestamp: expected milliseconds since the epoch (an"
                 " integer or a string of digits), got a negative integer");
    expect_parse("{\"requestId\": \"a\", \"timestamp\": 1.5e12,"
                 " \"records\": []}", FL_EPARSE,
                 "timestamp: expected milliseconds since the epoch (an"
                 " integer or a string of digits), got a real number");
    expect_parse("{\"requestId\": \"a\", \"records\": [], \"records\": []}",
                 FL_EPARSE, "invalid JSON at line 1, column 43: duplicate"
                 " object key near '\"records\"'");
    /* Accepted: a string timestamp, no timestamp, unknown keys, no
     * records at all. */
    expect_parse("{\"requestId\": \"a\", \"timestamp\": \"1578090901599\","
                 " \"records\": [{\"data\": \"\", \"x\": 1}], \"y\": {}}", 0,
                 NULL);
    expect_parse("{\"requestId\": \"a\", \"records\": []}", 0, NULL);

    /* The timestamp as sent, and absent. */
    struct fl_ingest *d = decoder(NULL);
    struct fl_firehose_req *req = NULL;
    const char *b = "{\"requestId\": \"a\", \"timestamp\": \"1578090901599\","
                    " \"records\": []}";
    CHECK_EQ_INT(fl_firehose_parse(d, b, strlen(b), &req, NULL), 0);
    CHECK_EQ_INT(fl_firehose_timestamp(req), 1578090901599LL);
    fl_firehose_destroy(req);
    b = "{\"requestId\": \"a\", \"records\": []}";
    CHECK_EQ_INT(fl_firehose_parse(d, b, strlen(b), &req, NULL), 0);
    CHECK_EQ_INT(fl_firehose_timestamp(req), -1);
    CHECK_EQ_INT(fl_firehose_nrecords(req), 0);
    fl_firehose_destroy(req);

    /* requestId over 1024 bytes. */
    struct str s = { 0 };
    str_cat(&s, "{\"requestId\": \"");
    for (int i = 0; i < 1025; i++)
        str_cat(&s, "x");
    str_cat(&s, "\", \"records\": []}");
    struct fl_ingest_err err;
    CHECK_EQ_INT(fl_firehose_parse(d, s.p, s.len, &req, &err), FL_EPARSE);
    CHECK_EQ_STR(err.msg, "requestId: 1025 bytes, over the limit of 1024");
    free(s.p);
    fl_ingest_destroy(d);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_firehose_broken_json(void)
{
    /* AWS's own example request, verbatim: the comma after "timestamp" is
     * missing. */
    const char *aws =
        "{\n"
        "  \"requestId\": \"ed4acda5-034f-9f42-bba1-f29aea6d7d8f\",\n"
        "  \"timestamp\": 1578090901599\n"
        "  \"records\": [\n"
        "    {\n"
        "      \"data\": \"aGVsbG8=\"\n"
        "    },\n"
        "    {\n"
        "      \"data\": \"aGVsbG8gd29ybGQ=\"\n"
        "    }\n"
        "  ]\n"
        "}\n";
    struct fl_ingest *d = decoder(NULL);
    struct fl_firehose_req *req = NULL;
    struct fl_ingest_err err;
    CHECK_EQ_INT(fl_firehose_parse(d, aws, strlen(aws), &req, &err),
                 FL_EPARSE);
    CHECK_EQ_STR(err.msg, "invalid JSON at line 4, column 11: '}' expected"
                 " near '\"records\"'");
    CHECK_EQ_INT(err.line, 4);
    CHECK_EQ_INT(err.column, 11);
    CHECK_EQ_INT(err.record, -1);
    CHECK(req == NULL);
    fl_ingest_destroy(d);

    expect_parse("{\"requestId\": \"a\", \"records\": [", FL_EPARSE,
                 "invalid JSON at line 1, column 31: ']' expected near end"
                 " of file");
    expect_parse("", FL_EPARSE,
                 "invalid JSON at line 1, column 0: '[' or '{' expected"
                 " near end of file");
    expect_parse("{\"requestId\": \"a\", \"records\": []} x", FL_EPARSE,
                 "invalid JSON at line 1, column 35: end of file expected"
                 " near 'x'");
    /* Raw input bytes that jansson quotes are made printable. */
    expect_parse("{\"requestId\": \"a\xff\"}", FL_EPARSE,
                 "invalid JSON at line 1, column 16: unable to decode byte"
                 " 0xff near '\"a'");
    expect_parse("{\"requestId\": 1\x01}", FL_EPARSE,
                 "invalid JSON at line 1, column 16: '}' expected near '?'");
    expect_parse("\xc3\xa9", FL_EPARSE,
                 "invalid JSON at line 1, column 1: '[' or '{' expected near"
                 " '?" "?'");
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_firehose_limits(void)
{
    /* max_records = 3 (expect_parse's limits). */
    expect_parse("{\"requestId\": \"a\", \"records\": [{\"data\": \"\"},"
                 " {\"data\": \"\"}, {\"data\": \"\"}]}", 0, NULL);
    expect_parse("{\"requestId\": \"a\", \"records\": [{\"data\": \"\"},"
                 " {\"data\": \"\"}, {\"data\": \"\"}, {\"data\": \"\"}]}",
                 FL_ETOOBIG, "records: 4 records, over the limit of 3");
    /* max_record_bytes = 6: 8 base64 characters at most. */
    expect_parse("{\"requestId\": \"a\", \"records\": [{\"data\":"
                 " \"Zm9vYmFy\"}]}", 0, NULL);
    expect_parse("{\"requestId\": \"a\", \"records\": [{\"data\": \"\"},"
                 " {\"data\": \"Zm9vYmFyYg==\"}]}", FL_ETOOBIG,
                 "records[1].data: 12 characters of base64, over the limit"
                 " of 8 (6 bytes decoded)");

    /* The default: 10,000 records (the Firehose schema's maxItems). */
    struct str s = { 0 };
    str_cat(&s, "{\"requestId\": \"a\", \"records\": [");
    for (int i = 0; i < 10001; i++)
        str_cat(&s, i ? ",{\"data\":\"\"}" : "{\"data\":\"\"}");
    str_cat(&s, "]}");
    struct fl_ingest *d = decoder(NULL);
    struct fl_firehose_req *req = NULL;
    struct fl_ingest_err err;
    CHECK_EQ_INT(fl_firehose_parse(d, s.p, s.len, &req, &err), FL_ETOOBIG);
    CHECK_EQ_STR(err.msg, "records: 10001 records, over the limit of 10000");
    free(s.p);

    /* The default record size: 1,024,000 bytes = 1,365,336 characters;
     * a decoded size over it (by the padding) is caught when decoding. */
    const struct fl_ingest_limits *lim = fl_ingest_limits(d);
    CHECK_EQ_INT(lim->max_record_bytes, 1024000);
    CHECK_EQ_INT(lim->max_records, 10000);
    CHECK_EQ_INT(lim->max_inflated, 16 * 1024 * 1024);
    CHECK_EQ_INT(lim->max_depth, 32);
    fl_ingest_destroy(d);

    struct fl_ingest_limits four = { .max_record_bytes = 4 };
    d = decoder(&four);
    const char *b = "{\"requestId\": \"a\", \"records\": [{\"data\":"
                    " \"Zm9vYmE=\"}]}";
    CHECK_EQ_INT(fl_firehose_parse(d, b, strlen(b), &req, &err), 0);
    const void *data;
    size_t n;
    CHECK_EQ_INT(fl_firehose_record_data(d, req, 0, &data, &n, &err),
                 FL_ETOOBIG);
    CHECK_EQ_STR(err.msg, "records[0].data: base64 data decodes to 5 bytes,"
                 " over the limit of 4");
    fl_firehose_destroy(req);
    fl_ingest_destroy(d);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_json_depth_and_size(void)
{
    struct str s = { 0 };
    str_cat(&s, "{\"requestId\": \"a\", \"records\": [],\n \"x\": ");
    for (int i = 0; i < 40; i++)
        str_cat(&s, "[");
    for (int i = 0; i < 40; i++)
        str_cat(&s, "]");
    str_cat(&s, "}");
    struct fl_ingest *d = decoder(NULL);
    struct fl_firehose_req *req = NULL;
    struct fl_ingest_err err;
    CHECK_EQ_INT(fl_firehose_parse(d, s.p, s.len, &req, &err), FL_ETOOBIG);
    CHECK_EQ_STR(err.msg, "JSON nested deeper than 32 levels at line 2,"
                 " column 38");
    CHECK_EQ_INT(err.line, 2);
    CHECK_EQ_INT(err.column, 38);
    /* Brackets inside strings do not count. */
    free(s.p);
    s = (struct str){ 0 };
    str_cat(&s, "{\"requestId\": \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[\",");
    str_cat(&s, " \"records\": []}");
    CHECK_EQ_INT(fl_firehose_parse(d, s.p, s.len, &req, &err), 0);
    fl_firehose_destroy(req);
    free(s.p);
    fl_ingest_destroy(d);

    /* A body that would make jansson allocate ~100 times its size. */
    struct fl_ingest_limits lim = { .max_json_mem = 64 * 1024 };
    d = decoder(&lim);
    s = (struct str){ 0 };
    str_cat(&s, "{\"requestId\": \"a\", \"records\": [], \"x\": [");
    for (int i = 0; i < 1000; i++)
        str_cat(&s, i ? ",{}" : "{}");
    str_cat(&s, "]}");
    CHECK(s.len < 4000);
    CHECK_EQ_INT(fl_firehose_parse(d, s.p, s.len, &req, &err), FL_ETOOBIG);
    CHECK_EQ_STR(err.msg, "JSON document too large to parse: its parse tree"
                 " would take more than 65536 bytes");
    free(s.p);
    fl_ingest_destroy(d);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_firehose_truncated_gzip_record(void)
{
    size_t zl;
    unsigned char *z = gz(CWL_DATA, strlen(CWL_DATA), &zl);
    const void *payloads[] = { "ok\n", z };
    size_t lens[] = { 3, 40 }, bl;
    char *body = firehose_body("t", payloads, lens, 2, &bl);
    struct fl_ingest *d = decoder(NULL);
    struct fl_firehose_req *req = NULL;
    struct sink s = { .len = 0 };
    CHECK_EQ_INT(fl_firehose_parse(d, body, bl, &req, NULL), 0);
    decode_all(d, req, &s);
    CHECK_EQ_STR(s.buf, "[0] text\n1: ok\n[1] error: records[1].data: gzip"
                 " stream truncated at compressed byte 40\n");
    struct fl_ingest_err err;
    CHECK_EQ_INT(fl_firehose_record_decode(d, req, 1, NULL, NULL, NULL,
                                           &err), FL_ETRUNC);
    CHECK_EQ_INT(err.record, 1);
    fl_firehose_destroy(req);
    fl_ingest_destroy(d);
    free(body);
    free(z);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* ==== CloudWatch Logs payloads ======================================= */

static void
test_cwl_data_message(void)
{
    size_t zl;
    unsigned char *z = gz(CWL_DATA, strlen(CWL_DATA), &zl);
    struct fl_ingest *d = decoder(NULL);
    struct fl_ingest_info info;
    struct sink s = { .len = 0 };

    /* gzip'd, as a subscription delivers it. */
    CHECK_EQ_INT(fl_ingest_decode_cwl(d, z, zl, collect, &s, &info, NULL), 0);
    CHECK_EQ_STR(s.buf, CWL_DATA_OUT);
    CHECK_EQ_INT(info.kind, FL_INGEST_CWL_DATA);
    CHECK_EQ_INT(info.gzip, 1);
    CHECK_EQ_INT(info.awslogs, 0);
    CHECK_EQ_INT(info.lines, 2);

    /* Plain JSON (Firehose with decompression enabled), through the
     * any-kind entry point. */
    s = (struct sink){ .len = 0 };
    CHECK_EQ_INT(fl_ingest_decode(d, CWL_DATA, strlen(CWL_DATA), collect, &s,
                                  &info, NULL), 0);
    CHECK_EQ_STR(s.buf, CWL_DATA_OUT);
    CHECK_EQ_INT(info.gzip, 0);

    /* The Graylog example: one event, numeric timestamp == start * 1000. */
    const char *graylog =
        "{\"messageType\": \"DATA_MESSAGE\", \"owner\": \"123456789\","
        " \"logGroup\": \"aws-plugin-test-flows\", \"logStream\":"
        " \"eni-aaaaaaaa-all\", \"subscriptionFilters\": [\"match-all\"],"
        " \"logEvents\": [{\"id\": \"3350374800247937095534630665019609407"
        "1913271643270021120\", \"timestamp\": 1502360020000, \"message\":"
        " \"2 123456789 eni-aaaaaaaa 10.0.27.226 10.42.96.199 3604 17720 17 1"
        " 132 1502360020 1502360079 REJECT OK\"}]}";
    s = (struct sink){ .len = 0 };
    CHECK_EQ_INT(fl_ingest_decode_cwl(d, graylog, strlen(graylog), collect,
                                      &s, &info, NULL), 0);
    CHECK_EQ_STR(s.buf, "1 33503748002479370955346306650196094071913271643270"
                 "021120 1502360020000 123456789 aws-plugin-test-flows"
                 " eni-aaaaaaaa-all: 2 123456789 eni-aaaaaaaa 10.0.27.226"
                 " 10.42.96.199 3604 17720 17 1 132 1502360020 1502360079"
                 " REJECT OK\n");

    /* No events, no subscriptionFilters: fine. */
    expect_decode(1, "{\"messageType\": \"DATA_MESSAGE\", \"owner\": \"1\","
                  " \"logGroup\": \"g\", \"logStream\": \"s\", \"logEvents\":"
                  " []}", 0, NULL);
    fl_ingest_destroy(d);
    free(z);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_cwl_control_message(void)
{
    size_t zl;
    unsigned char *z = gz(CWL_CONTROL, strlen(CWL_CONTROL), &zl);
    struct fl_ingest *d = decoder(NULL);
    struct fl_ingest_info info;
    struct sink s = { .len = 0 };
    CHECK_EQ_INT(fl_ingest_decode_cwl(d, z, zl, collect, &s, &info, NULL), 0);
    CHECK_EQ_INT(info.kind, FL_INGEST_CWL_CONTROL);
    CHECK_EQ_INT(info.lines, 0);
    CHECK_EQ_INT(s.calls, 0);
    CHECK_EQ_INT(fl_ingest_decode(d, CWL_CONTROL, strlen(CWL_CONTROL),
                                  collect, &s, &info, NULL), 0);
    CHECK_EQ_INT(info.kind, FL_INGEST_CWL_CONTROL);
    CHECK_EQ_INT(s.calls, 0);
    fl_ingest_destroy(d);
    free(z);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* {"awslogs": {"data": base64(gzip(payload))}} */
static char *
lambda_event(const char *payload, int gzip_it)
{
    size_t zl = strlen(payload);
    unsigned char *z = gzip_it ? gz(payload, zl, &zl) : NULL;
    char *e = b64(z != NULL ? (const void *)z : payload, zl);
    struct str s = { 0 };
    str_cat(&s, "{\"awslogs\": {\"data\": \"");
    str_cat(&s, e);
    str_cat(&s, "\"}}");
    free(e);
    free(z);
    return s.p;
}


static void
test_cwl_lambda_awslogs(void)
{
    struct fl_ingest *d = decoder(NULL);
    struct fl_ingest_info info;
    struct sink s = { .len = 0 };
    char *ev = lambda_event(CWL_DATA, 1);

    CHECK_EQ_INT(fl_ingest_decode_cwl(d, ev, strlen(ev), collect, &s, &info,
                                      NULL), 0);
    CHECK_EQ_STR(s.buf, CWL_DATA_OUT);
    CHECK_EQ_INT(info.kind, FL_INGEST_CWL_DATA);
    CHECK_EQ_INT(info.awslogs, 1);
    CHECK_EQ_INT(info.gzip, 1);
    free(ev);

    /* Not gzip'd inside: accepted too. A CONTROL_MESSAGE inside. */
    ev = lambda_event(CWL_DATA, 0);
    s = (struct sink){ .len = 0 };
    CHECK_EQ_INT(fl_ingest_decode(d, ev, strlen(ev), collect, &s, &info,
                                  NULL), 0);
    CHECK_EQ_STR(s.buf, CWL_DATA_OUT);
    CHECK_EQ_INT(info.gzip, 0);
    free(ev);
    ev = lambda_event(CWL_CONTROL, 1);
    CHECK_EQ_INT(fl_ingest_decode_cwl(d, ev, strlen(ev), collect, &s, &info,
                                      NULL), 0);
    CHECK_EQ_INT(info.kind, FL_INGEST_CWL_CONTROL);
    free(ev);

    /* A Lambda event inside a Firehose record (gzip'd, for good measure). */
    ev = lambda_event(CWL_DATA, 1);
    size_t zl, bl;
    unsigned char *z = gz(ev, strlen(ev), &zl);
    const void *payloads[] = { z };
    size_t lens[] = { zl };
    char *body = firehose_body("l", payloads, lens, 1, &bl);
    struct fl_firehose_req *req = NULL;
    CHECK_EQ_INT(fl_firehose_parse(d, body, bl, &req, NULL), 0);
    s = (struct sink){ .len = 0 };
    decode_all(d, req, &s);
    struct str want = { 0 };
    str_cat(&want, "[0] cwl-data gzip awslogs\n");
    str_cat(&want, CWL_DATA_OUT);
    CHECK_EQ_STR(s.buf, want.p);
    free(want.p);
    fl_firehose_destroy(req);
    free(body);
    free(z);
    free(ev);

    /* Errors, with their path. */
    expect_decode(1, "{\"awslogs\": \"H4sI\"}", FL_EPARSE,
                  "awslogs: expected an object, got a string");
    expect_decode(1, "{\"awslogs\": {}}", FL_EPARSE, "awslogs.data: missing");
    expect_decode(1, "{\"awslogs\": {\"data\": [\"H4sI\"]}}", FL_EPARSE,
                  "awslogs.data: expected a string, got an array");
    expect_decode(1, "{\"awslogs\": {\"data\": \"H4sI!AAA\"}}", FL_EPARSE,
                  "awslogs.data: invalid base64 at offset 4");
    /* "H4sIAAAA" is a gzip header cut short. */
    expect_decode(1, "{\"awslogs\": {\"data\": \"H4sIAAAA\"}}", FL_ETRUNC,
                  "awslogs.data: gzip stream truncated at compressed byte 6");
    /* "MiAxMjMK" is "2 123\n": text is not a CWL payload. */
    expect_decode(0, "{\"awslogs\": {\"data\": \"MiAxMjMK\"}}", FL_EPARSE,
                  "awslogs.data: not a CloudWatch Logs payload: expected"
                  " gzip data or a JSON object");
    ev = lambda_event("{\"awslogs\": {\"data\": \"\"}}", 1);
    expect_decode(1, ev, FL_EPARSE, "awslogs.data: not a CloudWatch Logs"
                  " subscription payload: the JSON object has no"
                  " \"messageType\"");
    free(ev);
    ev = lambda_event("{\"messageType\": \"DATA_MESSAGE\", \"owner\": \"1\","
                      " \"logGroup\": \"g\", \"logStream\": \"s\","
                      " \"logEvents\": [{\"id\": \"1\", \"timestamp\": 1,"
                      " \"message\": null}]}", 1);
    expect_decode(1, ev, FL_EPARSE, "awslogs.data: logEvents[0].message:"
                  " expected a string, got null");
    free(ev);
    fl_ingest_destroy(d);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_cwl_unknown_message_type(void)
{
    expect_decode(1, "{\"messageType\": \"FOO_MESSAGE\", \"logEvents\": []}",
                  FL_EPARSE, "messageType: unknown value \"FOO_MESSAGE\""
                  " (expected DATA_MESSAGE or CONTROL_MESSAGE)");
    expect_decode(0, "{\"messageType\": \"data_message\"}", FL_EPARSE,
                  "messageType: unknown value \"data_message\" (expected"
                  " DATA_MESSAGE or CONTROL_MESSAGE)");
    /* Quoted safely: escapes, non-ASCII, and cut at 64 characters. */
    expect_decode(1, "{\"messageType\": \"A\\\"B\\n\\u00e9\"}", FL_EPARSE,
                  "messageType: unknown value \"A\\\"B\\x0a\\xc3\\xa9\""
                  " (expected DATA_MESSAGE or CONTROL_MESSAGE)");
    expect_decode(1, "{\"messageType\": \"0123456789012345678901234567890123"
                  "4567890123456789012345678901234567890\"}", FL_EPARSE,
                  "messageType: unknown value \"012345678901234567890123456"
                  "7890123456789012345678901234567890123\"... (expected"
                  " DATA_MESSAGE or CONTROL_MESSAGE)");
}


static void
test_cwl_type_errors(void)
{
#define HEAD "{\"messageType\": \"DATA_MESSAGE\", \"owner\": \"1\"," \
             " \"logGroup\": \"g\", \"logStream\": \"s\", "
#define EV0  "{\"id\": \"1\", \"timestamp\": 1, \"message\": \"" LINE1 "\"}"
    static const struct { const char *in; const char *msg; } vec[] = {
        { "{\"messageType\": 5}",
          "messageType: expected a string, got an integer" },
        { "{\"messageType\": \"DATA_MESSAGE\", \"logGroup\": \"g\","
          " \"logStream\": \"s\", \"logEvents\": []}", "owner: missing" },
        { "{\"messageType\": \"DATA_MESSAGE\", \"owner\": 1}",
          "owner: expected a string, got an integer" },
        { HEAD "\"logGroup\": \"x\"}",
          "invalid JSON at line 1, column 91: duplicate object key near"
          " '\"logGroup\"'" },
        { HEAD "\"subscriptionFilters\": \"f\", \"logEvents\": []}",
          "subscriptionFilters: expected an array, got a string" },
        { HEAD "\"subscriptionFilters\": [\"f\", 2], \"logEvents\": []}",
          "subscriptionFilters[1]: expected a string, got an integer" },
        { HEAD "\"x\": 1}", "logEvents: missing" },
        { HEAD "\"logEvents\": {}}",
          "logEvents: expected an array, got an object" },
        { HEAD "\"logEvents\": [" EV0 ", \"" LINE2 "\"]}",
          "logEvents[1]: expected an object, got a string" },
        { HEAD "\"logEvents\": [" EV0 ", {\"id\": 7, \"timestamp\": 1,"
          " \"message\": \"m\"}]}",
          "logEvents[1].id: expected a string, got an integer" },
        { HEAD "\"logEvents\": [{\"timestamp\": 1, \"message\": \"m\"}]}",
          "logEvents[0].id: missing" },
        { HEAD "\"logEvents\": [{\"id\": \"1\", \"message\": \"m\"}]}",
          "logEvents[0].timestamp: missing" },
        { HEAD "\"logEvents\": [{\"id\": \"1\", \"timestamp\": 1}]}",
          "logEvents[0].message: missing" },
        { HEAD "\"logEvents\": [" EV0 ", {\"id\": \"1\", \"timestamp\":"
          " true, \"message\": \"m\"}]}",
          "logEvents[1].timestamp: expected milliseconds since the epoch (an"
          " integer or a string of digits), got true" },
        { HEAD "\"logEvents\": [{\"id\": \"1\", \"timestamp\": \"12a\","
          " \"message\": \"m\"}]}",
          "logEvents[0].timestamp: expected milliseconds since the epoch (an"
          " integer or a string of digits), got a string \"12a\"" },
        { HEAD "\"logEvents\": [{\"id\": \"1\", \"timestamp\": \"\","
          " \"message\": \"m\"}]}",
          "logEvents[0].timestamp: expected milliseconds since the epoch (an"
          " integer or a string of digits), got a string \"\"" },
        { HEAD "\"logEvents\": [{\"id\": \"1\", \"timestamp\":"
          " \"99999999999999999999\", \"message\": \"m\"}]}",
          "logEvents[0].timestamp: expected milliseconds since the epoch (an"
          " integer or a string of digits), got a string"
          " \"99999999999999999999\"" },
        { HEAD "\"logEvents\": [{\"id\": \"1\", \"timestamp\": -1,"
          " \"message\": \"m\"}]}",
          "logEvents[0].timestamp: expected milliseconds since the epoch (an"
          " integer or a string of digits), got a negative integer" },
        { HEAD "\"logEvents\": [{\"id\": \"1\", \"timestamp\": 1.0,"
          " \"message\": \"m\"}]}",
          "logEvents[0].timestamp: expected milliseconds since the epoch (an"
          " integer or a string of digits), got a real number" },
        { HEAD "\"logEvents\": [" EV0 ", " EV0 ", {\"id\": \"1\","
          " \"timestamp\": 1, \"message\": {\"text\": \"m\"}}]}",
          "logEvents[2].message: expected a string, got an object" },
        { "{\"foo\": 1}", "not a CloudWatch Logs payload: the JSON object has"
          " neither \"messageType\" nor \"awslogs\"" },
        { "  \n{\"messageType\": ", "invalid JSON at line 2, column 16:"
          " unexpected token near end of file" },
        { "{\"messageType\": \"DATA_MESSAGE\"} {}", "invalid JSON at line 1,"
          " column 33: end of file expected near '{'" },
    };
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++)
        expect_decode(1, vec[i].in, FL_EPARSE, vec[i].msg);
    /* The largest timestamp that fits. */
    expect_decode(1, HEAD "\"logEvents\": [{\"id\": \"1\", \"timestamp\":"
                  " \"9223372036854775807\", \"message\": \"m\"}]}", 0, NULL);
#undef HEAD
#undef EV0
}


/* ==== the JSON fast path (cwl_fast.c) ================================ */

struct both {
    int                   rc;
    struct sink           s;
    struct fl_ingest_err  err;
    struct fl_ingest_info info;
    int                   fast;       /* the fast path took the payload */
};


/* Decodes payload[0..len) twice, with the fast path allowed and forced
 * onto jansson (json_slow), checks that both give the same return code,
 * lines, error and info, and returns the first. stop_at as in struct
 * sink. */
static void
decode_both(const struct fl_ingest_limits *lim, int cwl, const void *payload,
            size_t len, int stop_at, struct both *out)
{
    static struct both slow;

    for (int k = 0; k < 2; k++) {
        struct both *b = k ? &slow : out;
        struct fl_ingest *d = decoder(lim);
        memset(b, 0, sizeof *b);
        b->s.stop_at = stop_at;
        b->s.stop_rc = -EIO;
        d->json_slow = k;
        b->rc = cwl ? fl_ingest_decode_cwl(d, payload, len, collect, &b->s,
                                           &b->info, &b->err)
                    : fl_ingest_decode(d, payload, len, collect, &b->s,
                                       &b->info, &b->err);
        b->fast = d->json_fast > 0;
        CHECK(d->json_fast == 0 || d->json_declined == 0 || k == 0);
        fl_ingest_destroy(d);
    }
    CHECK(!slow.fast);
    CHECK_EQ_INT(out->rc, slow.rc);
    CHECK_EQ_STR(out->s.buf, slow.s.buf);
    CHECK_EQ_INT(out->s.calls, slow.s.calls);
    if (out->rc < 0) {
        CHECK_EQ_STR(out->err.msg, slow.err.msg);
        CHECK_EQ_INT(out->err.record, slow.err.record);
        CHECK_EQ_INT(out->err.line, slow.err.line);
        CHECK_EQ_INT(out->err.column, slow.err.column);
    } else {
        CHECK_EQ_INT(out->info.kind, slow.info.kind);
        CHECK_EQ_INT(out->info.gzip, slow.info.gzip);
        CHECK_EQ_INT(out->info.awslogs, slow.info.awslogs);
        CHECK_EQ_INT(out->info.lines, slow.info.lines);
    }
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* decode_both() on a NUL-terminated payload, CWL only; checks which path
 * took it (want_fast) and, when want is not NULL, the lines (rc 0) or the
 * error message. */
static void
expect_both(const char *payload, int want_fast, int want_rc,
            const char *want)
{
    static struct both b;
    decode_both(NULL, 1, payload, strlen(payload), 0, &b);
    if (b.fast != want_fast || b.rc != want_rc)
        fprintf(stderr, "  payload: %s\n  msg: %s\n", payload, b.err.msg);
    CHECK_EQ_INT(b.fast, want_fast);
    CHECK_EQ_INT(b.rc, want_rc);
    if (want != NULL)
        CHECK_EQ_STR(b.rc == 0 ? b.s.buf : b.err.msg, want);
}


#define FHEAD "{\"messageType\": \"DATA_MESSAGE\", \"owner\": \"1\"," \
              " \"logGroup\": \"g\", \"logStream\": \"s\", \"logEvents\": ["
#define FEV(msg) "{\"id\": \"7\", \"timestamp\": 5, \"message\": \"" msg "\"}"

static void
test_fast_escapes(void)
{
    /* The short escapes; a message may keep a "\n" inside, loses its
     * trailing "\r\n"s; ids and metadata are decoded too. */
    expect_both(FHEAD FEV("q\\\"b\\\\s\\/ \\b\\f|\\n|\\r|\\t end\\r\\n\\n")
                ", " FEV("plain") "]}", 1, 0,
                "1 7 5 1 g s: q\"b\\s/ \b\f|\n|\r|\t end\n"
                "2 7 5 1 g s: plain\n");
    expect_both("{\"messageType\": \"DATA_MESSAGE\", \"owner\": \"\\u0031\\\"\","
                " \"logGroup\": \"g\\/h\", \"logStream\": \"\\t\","
                " \"logEvents\": [{\"id\": \"\\u0034\\u0032\", \"timestamp\":"
                " 1, \"message\": \"" LINE1 "\"}]}", 1, 0,
                "1 42 1 1\" g/h \t: " LINE1 "\n");
    /* Whitespace everywhere JSON allows it, members in any order,
     * unknown members (extractedFields) skipped. */
    expect_both(" \r\n\t{ \"logEvents\" :\n[ { \"message\" : \"m\" ,"
                " \"extractedFields\" : { \"a\" : [ 1 , -2 , true , false ,"
                " null , \"x\" , { } , [ ] ] } , \"timestamp\" : \"3\" ,"
                " \"id\" : \"i\" } ] , \"x\" : { \"y\" : \"z\" } ,"
                " \"logStream\" : \"s\" , \"logGroup\" : \"g\" ,"
                " \"owner\" : \"o\" , \"messageType\" : \"DATA_MESSAGE\" ,"
                " \"subscriptionFilters\" : [ \"f\" , \"\\u00e9\" ] }\n ", 1, 0,
                "1 i 3 o g s: m\n");
    /* Empty strings, an empty message. */
    expect_both("{\"messageType\": \"DATA_MESSAGE\", \"owner\": \"\","
                " \"logGroup\": \"\", \"logStream\": \"\", \"logEvents\":"
                " [{\"id\": \"\", \"timestamp\": 0, \"message\": \"\"},"
                " {\"id\": \"\", \"timestamp\": 0, \"message\": \"\\n\"}]}",
                1, 0, "1  0   : \n2  0   : \n");
    /* The fixtures of the other tests take the fast path. */
    expect_both(CWL_DATA, 1, 0, CWL_DATA_OUT);
    expect_both(CWL_CONTROL, 1, 0, "");
    /* Bad escapes are jansson's to report. */
    expect_both(FHEAD FEV("\\x") "]}", 0, FL_EPARSE,
                "invalid JSON at line 1, column 137: invalid escape near"
                " '\"\\x'");
    expect_both(FHEAD FEV("\\u12G4") "]}", 0, FL_EPARSE, NULL);
    expect_both(FHEAD FEV("tab\there") "]}", 0, FL_EPARSE,
                "invalid JSON at line 1, column 138: control character 0x9"
                " near '\"tab'");
    expect_both(FHEAD FEV("x") "]}  \n", 1, 0, "1 7 5 1 g s: x\n");
}


static void
test_fast_unicode(void)
{
    /* \u escapes to UTF-8 at every length boundary, upper and lower case
     * hex, surrogate pairs; raw UTF-8 passes through. */
    expect_both(FHEAD FEV("\\u0041\\u007f|\\u0080\\u00E9\\u07ff|\\u0800"
                          "\\u20ac\\uffff|\\ud83d\\ude00\\uD834\\uDD1E"
                          "\\udbff\\udfff|\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80")
                "]}", 1, 0,
                "1 7 5 1 g s: A\x7f|\xc2\x80\xc3\xa9\xdf\xbf|\xe0\xa0\x80"
                "\xe2\x82\xac\xef\xbf\xbf|\xf0\x9f\x98\x80\xf0\x9d\x84\x9e"
                "\xf4\x8f\xbf\xbf|\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\n");
    /* What jansson refuses, with its words: lone surrogates, a high one
     * followed by something else, NUL. */
    expect_both(FHEAD FEV("a\\ud800b") "]}", 0, FL_EPARSE,
                "invalid JSON at line 1, column 144: invalid Unicode"
                " '\\uD800' near '\"a\\ud800b\"'");
    expect_both(FHEAD FEV("\\udc00") "]}", 0, FL_EPARSE,
                "invalid JSON at line 1, column 142: invalid Unicode"
                " '\\uDC00' near '\"\\udc00\"'");
    expect_both(FHEAD FEV("\\ud800\\u0041") "]}", 0, FL_EPARSE,
                "invalid JSON at line 1, column 148: invalid Unicode"
                " '\\uD800\\u0041' near '\"\\ud800\\u0041\"'");
    expect_both(FHEAD FEV("\\ud83d") "]}", 0, FL_EPARSE, NULL);
    expect_both(FHEAD FEV("a\\u0000b") "]}", 0, FL_EPARSE,
                "invalid JSON at line 1, column 144: \\u0000 is not allowed"
                " without JSON_ALLOW_NUL near '\"a\\u0000b\"'");
    expect_both("{\"messageType\": \"DATA_MESSAGE\", \"x\": \"\\u0000\"}", 0,
                FL_EPARSE, NULL);
    /* Invalid raw UTF-8: an overlong form, an encoded surrogate, a stray
     * continuation byte, a sequence cut by the closing quote. */
    expect_both(FHEAD FEV("\xc0\xaf") "]}", 0, FL_EPARSE, NULL);
    expect_both(FHEAD FEV("\xed\xa0\x80") "]}", 0, FL_EPARSE, NULL);
    expect_both(FHEAD FEV("\x80") "]}", 0, FL_EPARSE, NULL);
    expect_both(FHEAD FEV("\xe2\x82") "]}", 0, FL_EPARSE, NULL);
    expect_both(FHEAD FEV("\xf4\x90\x80\x80") "]}", 0, FL_EPARSE, NULL);
}


static void
test_fast_timestamps(void)
{
#define TS(t) "{\"id\": \"1\", \"timestamp\": " t ", \"message\": \"m\"}"
    expect_both(FHEAD TS("0") ", " TS("1502360020000") ", "
                TS("9223372036854775807") ", " TS("\"1502360021000\"") ", "
                TS("\"0\"") ", " TS("\"9223372036854775807\"") ", "
                TS("\"0001\"") "]}", 1, 0,
                "1 1 0 1 g s: m\n2 1 1502360020000 1 g s: m\n"
                "3 1 9223372036854775807 1 g s: m\n"
                "4 1 1502360021000 1 g s: m\n5 1 0 1 g s: m\n"
                "6 1 9223372036854775807 1 g s: m\n7 1 1 1 g s: m\n");
    /* jansson's to decide: "-0" is 0 to it, "\u0031" is "1". */
    expect_both(FHEAD TS("-0") "]}", 0, 0, "1 1 0 1 g s: m\n");
    expect_both(FHEAD TS("\"\\u0031\"") "]}", 0, 0, "1 1 1 1 g s: m\n");
    /* ... and its errors. */
    static const char *const bad[] = {
        TS("-1"), TS("1.0"), TS("1e3"), TS("1E3"), TS("-0.0"),
        TS("9223372036854775808"), TS("01"), TS("\"\""), TS("\"-1\""),
        TS("\"12a\""), TS("\"9223372036854775808\""),
        TS("\"00000000000000000001\""), TS("\" 1\""), TS("null"),
        TS("true"), TS("[1]"), TS("{}"), TS("+1"), TS("1 2"),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct str p = { 0 };
        str_cat(&p, FHEAD);
        str_cat(&p, bad[i]);
        str_cat(&p, "]}");
        expect_both(p.p, 0, FL_EPARSE, NULL);
        free(p.p);
    }
    expect_both(FHEAD TS("-5") "]}", 0, FL_EPARSE,
                "logEvents[0].timestamp: expected milliseconds since the epoch"
                " (an integer or a string of digits), got a negative"
                " integer");
#undef TS
}


/* Whatever is not the canonical shape goes to jansson, which gives
 * today's result: the same errors word for word, and the same
 * acceptance where the fast path is merely cautious. */
static void
test_fast_fallback_shapes(void)
{
    /* Errors: every one also in test_cwl_type_errors, plus more. */
    static const char *const errors[] = {
        "{\"messageType\": 5}",
        "{\"messageType\": \"FOO_MESSAGE\", \"logEvents\": []}",
        "{\"messageType\": \"DATA_MESSAGE\", \"logGroup\": \"g\","
        " \"logStream\": \"s\", \"logEvents\": []}",
        FHEAD "], \"owner\": \"2\"}",
        FHEAD "], \"logEvents\": []}",
        FHEAD "], \"x\": 1, \"x\": 2}",
        FHEAD "], \"x\": {\"a\": 1, \"b\": {\"a\": 1}, \"a\": 2}}",
        FHEAD "{\"id\": \"1\", \"id\": \"1\", \"timestamp\": 1,"
        " \"message\": \"m\"}]}",
        FHEAD "{\"id\": \"1\", \"timestamp\": 1, \"message\": \"m\","
        " \"e\": [], \"e\": []}]}",
        FHEAD "\"" LINE2 "\"]}",
        FHEAD "{\"id\": 7, \"timestamp\": 1, \"message\": \"m\"}]}",
        FHEAD "{\"timestamp\": 1, \"message\": \"m\"}]}",
        FHEAD "{\"id\": \"1\", \"message\": \"m\"}]}",
        FHEAD "{\"id\": \"1\", \"timestamp\": 1}]}",
        FHEAD "{}]}",
        FHEAD "{\"id\": \"1\", \"timestamp\": 1, \"message\": null}]}",
        FHEAD "], \"subscriptionFilters\": \"f\"}",
        FHEAD "], \"subscriptionFilters\": [\"f\", 2]}",
        "{\"messageType\": \"DATA_MESSAGE\", \"owner\": \"1\","
        " \"logGroup\": \"g\", \"logStream\": \"s\", \"logEvents\": {}}",
        "{\"messageType\": \"DATA_MESSAGE\", \"owner\": \"1\","
        " \"logGroup\": \"g\", \"logStream\": \"s\"}",
        "{\"messageType\": \"DATA_MESSAGE\", \"owner\": null,"
        " \"logGroup\": \"g\", \"logStream\": \"s\", \"logEvents\": []}",
        "{\"foo\": 1}",
        "{}",
        "  \n{\"messageType\": ",
        "{\"messageType\": \"DATA_MESSAGE\"} {}",
        FHEAD "]} x",
        FHEAD "]}\x01",
        FHEAD "]",
        FHEAD "],}",
        FHEAD FEV("m") ",]}",
        FHEAD "], \"n\": [1,]}",
        FHEAD "], \"n\": tru}",
        FHEAD "], \"n\": truex}",
        FHEAD "], \"n\": 1x}",
        FHEAD "], \"n\": -}",
        FHEAD "], \"n\": 99999999999999999999}",
        FHEAD "], \"n\": -99999999999999999999}",
        FHEAD "], \"n\": 1.}",
        FHEAD "], \"n\": 1e}",
        FHEAD "], \"n\": .5}",
        FHEAD "], \"n\": 1e99999}",
        FHEAD "], 5: 1}",
        FHEAD "] \"x\": 1}",
        FHEAD "], \"x\" 1}",
        FHEAD "], \"x\": 'a'}",
        FHEAD "], \"k\\u0000\": 1}",
        "{\"awslogs\": \"H4sI\"}",
        "{\"awslogs\": {}}",
        "{\"awslogs\": {\"data\": [\"H4sI\"]}}",
        "{\"awslogs\": {\"data\": \"H4sI!AAA\"}}",
        "{\"awslogs\": {\"data\": \"H4sIAAAA\"}}",
        "{\"awslogs\": {\"data\": \"\", \"data\": \"\"}}",
        "{\"awslogs\": {\"data\": \"\"}, \"awslogs\": {}}",
        "{\"awslogs\": {\"data\": \"MiAxMjMK\"}}",
    };
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        static struct both b;
        decode_both(NULL, 1, errors[i], strlen(errors[i]), 0, &b);
        if (b.rc == 0)
            fprintf(stderr, "  payload: %s\n", errors[i]);
        CHECK(b.rc < 0);
        /* Only the Lambda envelope is the fast path's; its data's errors
         * come from the same code on both paths. */
        CHECK(!b.fast || strncmp(errors[i], "{\"awslogs\"", 10) == 0);
    }
    /* Messages kept word for word (as in test_cwl_type_errors). */
    expect_both(FHEAD "], \"x\": 1, \"x\": 2}", 0, FL_EPARSE,
                "invalid JSON at line 1, column 109: duplicate object key"
                " near '\"x\"'");
    expect_both(FHEAD "{\"id\": \"1\", \"timestamp\": 1, \"message\":"
                " null}]}", 0, FL_EPARSE,
                "logEvents[0].message: expected a string, got null");

    /* Accepted by jansson; the fast path declines, jansson takes it. */
    expect_both("{\"messageType\": \"DATA\\u005fMESSAGE\", \"owner\": \"1\","
                " \"logGroup\": \"g\", \"logStream\": \"s\", \"logEvents\":"
                " [" FEV("m") "]}", 0, 0, "1 7 5 1 g s: m\n");
    expect_both("{\"messageType\": \"DATA_MESSAGE\", \"owner\": \"1\","
                " \"log\\u0047roup\": \"g\", \"logStream\": \"s\","
                " \"logEvents\": [" FEV("m") "]}", 0, 0, "1 7 5 1 g s: m\n");
    expect_both(FHEAD FEV("m") "], \"r\": [1.5, -0.0, 1e300,"
                " -9223372036854775808]}", 0, 0, "1 7 5 1 g s: m\n");
    expect_both("{\"messageType\": \"CONTROL_MESSAGE\", \"logEvents\": 5,"
                " \"owner\": null}", 0, 0, "");
    expect_both("{\"messageType\": \"DATA_MESSAGE\", \"owner\": \"1\","
                " \"logGroup\": \"g\", \"logStream\": \"s\", \"awslogs\": 1,"
                " \"logEvents\": [" FEV("m") "]}", 0, 0, "1 7 5 1 g s: m\n");
    /* More unknown keys in one object than the fast path tracks. */
    struct str p = { 0 };
    str_cat(&p, FHEAD FEV("m") "], \"x\": {");
    for (int i = 0; i < 70; i++) {
        char k[32];
        snprintf(k, sizeof k, "%s\"k%d\": %d", i ? ", " : "", i, i);
        str_cat(&p, k);
    }
    str_cat(&p, "}}");
    expect_both(p.p, 0, 0, "1 7 5 1 g s: m\n");
    /* ... and a duplicate among them. */
    p.len -= 2;
    str_cat(&p, ", \"k3\": 0}}");
    expect_both(p.p, 0, FL_EPARSE, NULL);
    free(p.p);
}


static void
test_fast_limits(void)
{
    /* The fast path's parse-tree estimate is the pre-scan's to the byte:
     * every max_json_mem around it gives the same verdict. */
    const char *doc = CWL_DATA;
    size_t first_ok = 0;
    for (size_t mem = 4000; mem < 9000; mem++) {
        struct fl_ingest_limits lim = { .max_json_mem = mem };
        static struct both b;
        decode_both(&lim, 1, doc, strlen(doc), 0, &b);
        CHECK(b.rc == 0 || b.rc == FL_ETOOBIG);
        CHECK_EQ_INT(b.fast, b.rc == 0);
        if (b.rc == 0 && first_ok == 0)
            first_ok = mem;
        CHECK(b.rc == 0 || first_ok == 0);
    }
    CHECK(first_ok > 4000 && first_ok < 9000);
    /* Depth: the document is 4 deep (extractedFields). */
    for (int depth = 1; depth <= 6; depth++) {
        struct fl_ingest_limits lim = { .max_depth = depth };
        static struct both b;
        decode_both(&lim, 1, doc, strlen(doc), 0, &b);
        CHECK_EQ_INT(b.rc, depth >= 4 ? 0 : FL_ETOOBIG);
        CHECK_EQ_INT(b.fast, depth >= 4);
    }
    /* Deeper than the fast path recurses: jansson's (up to max_depth). */
    struct str p = { 0 };
    str_cat(&p, FHEAD FEV("m") "], \"x\": ");
    for (int i = 0; i < 20; i++)
        str_cat(&p, "[");
    for (int i = 0; i < 20; i++)
        str_cat(&p, "]");
    str_cat(&p, "}");
    expect_both(p.p, 0, 0, "1 7 5 1 g s: m\n");
    free(p.p);
}


static void
test_fast_lambda_and_firehose(void)
{
    /* A Lambda event whose base64 has JSON-escaped slashes ("\/"), with
     * an extra member. */
    char *ev = lambda_event(CWL_DATA, 1);
    struct str p = { 0 };
    for (const char *c = ev; *c != '\0'; c++)
        str_add(&p, *c == '/' ? "\\/" : c, *c == '/' ? 2 : 1);
    p.len -= 2;
    str_cat(&p, ", \"x\": [null]}}");
    CHECK(strstr(p.p, "\\/") != NULL);
    static struct both b;
    decode_both(NULL, 1, p.p, p.len, 0, &b);
    CHECK_EQ_INT(b.rc, 0);
    CHECK_EQ_INT(b.fast, 1);
    CHECK_EQ_STR(b.s.buf, CWL_DATA_OUT);
    CHECK_EQ_INT(b.info.awslogs, 1);
    free(p.p);
    free(ev);

    /* Inside a Firehose record, gzip'd: the fast path, same lines. */
    size_t zl, bl;
    unsigned char *z = gz(CWL_DATA, strlen(CWL_DATA), &zl);
    const void *payloads[] = { z, CWL_CONTROL, "{\"messageType\": 1}" };
    size_t lens[] = { zl, strlen(CWL_CONTROL), 18 };
    char *body = firehose_body("f", payloads, lens, 3, &bl);
    struct fl_ingest *d = decoder(NULL);
    struct fl_firehose_req *req = NULL;
    struct sink s = { .len = 0 };
    CHECK_EQ_INT(fl_firehose_parse(d, body, bl, &req, NULL), 0);
    decode_all(d, req, &s);
    CHECK_EQ_INT(d->json_fast, 2);
    CHECK_EQ_INT(d->json_declined, 1);
    struct str want = { 0 };
    str_cat(&want, "[0] cwl-data gzip\n");
    str_cat(&want, CWL_DATA_OUT);
    str_cat(&want, "[1] cwl-control\n[2] error: records[2].data: messageType:"
            " expected a string, got an integer\n");
    CHECK_EQ_STR(s.buf, want.p);
    free(want.p);
    fl_firehose_destroy(req);
    fl_ingest_destroy(d);
    free(body);
    free(z);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_fast_many_events_and_stop(void)
{
    /* More events than the event array's first size; the decoder reused
     * for a smaller payload after a bigger one. */
    struct str p = { 0 };
    str_cat(&p, "{\"messageType\": \"DATA_MESSAGE\", \"owner\": \"1\","
            " \"logGroup\": \"g\", \"logStream\": \"s\", \"logEvents\": [");
    for (int i = 0; i < 600; i++) {
        char e[96];
        snprintf(e, sizeof e, "%s{\"id\":\"%d\",\"timestamp\":%d,"
                 "\"message\":\"%s%d\"}", i ? "," : "", i, i,
                 i % 7 ? "" : "\\t", i);
        str_cat(&p, e);
    }
    str_cat(&p, "]}");
    static struct both b;
    decode_both(NULL, 1, p.p, p.len, 0, &b);
    CHECK_EQ_INT(b.rc, 0);
    CHECK_EQ_INT(b.fast, 1);
    CHECK_EQ_INT(b.info.lines, 600);
    CHECK(strstr(b.s.buf, "\n600 599 599 1 g s: 599\n") != NULL);

    struct fl_ingest *d = decoder(NULL);
    struct sink s = { .len = 0 };
    CHECK_EQ_INT(fl_ingest_decode_cwl(d, p.p, p.len, NULL, NULL, NULL, NULL),
                 0);
    CHECK_EQ_INT(fl_ingest_decode_cwl(d, CWL_DATA, strlen(CWL_DATA), collect,
                                      &s, NULL, NULL), 0);
    CHECK_EQ_STR(s.buf, CWL_DATA_OUT);
    CHECK_EQ_INT(d->json_fast, 2);
    fl_ingest_destroy(d);

    /* The callback stops the decode at the same line on both paths. */
    for (int stop = 1; stop <= 3; stop++) {
        decode_both(NULL, 1, p.p, p.len, stop, &b);
        CHECK_EQ_INT(b.rc, -EIO);
        CHECK_EQ_INT(b.s.calls, stop);
        CHECK_EQ_STR(b.err.msg, "stopped by the line callback: Input/output"
                     " error");
    }
    free(p.p);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* Out of memory for the fast path's buffers: jansson (which does not
 * allocate through fl_mem) takes the payload, with the same result. */
static void
test_fast_alloc_failure_falls_back(void)
{
    for (uint64_t nth = 1; nth <= 2; nth++) {
        struct fl_ingest *d = decoder(NULL);
        struct sink s = { .len = 0 };
        fl_mem_fail_after(nth);
        int rc = fl_ingest_decode(d, CWL_DATA, strlen(CWL_DATA), collect, &s,
                                  NULL, NULL);
        fl_mem_fail_after(0);
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_STR(s.buf, CWL_DATA_OUT);
        CHECK_EQ_INT(d->json_fast, 0);
        CHECK_EQ_INT(d->json_declined, 1);
        fl_ingest_destroy(d);
    }
    CHECK_EQ_INT(fl_mem_used(), 0);
}

#undef FHEAD
#undef FEV


/* ==== text payloads and the classifier =============================== */

/* ==== the Firehose request fast path ================================= */

/* Parses body[0..len) twice, with the fast path allowed and forced onto
 * jansson (firehose_slow), from a copy of the body freed right after
 * parsing (firehose.h: the request owns what it needs). Checks that both
 * give the same return code and error, or the same requestId, timestamp,
 * records (base64 bytes, NUL-terminated, and their decoding), and that
 * the first took the fast path iff want_fast. len ZLEN: strlen(body).
 * Returns the return code. */
#define ZLEN ((size_t)-1)

static int
parse_both(const struct fl_ingest_limits *lim, const char *body, size_t len,
           int want_fast, const char *want_msg)
{
    struct fl_firehose_req *req[2] = { NULL, NULL };
    struct fl_ingest_err err[2];
    struct fl_ingest *d[2];
    int rc[2];

    if (len == ZLEN)
        len = strlen(body);
    for (int k = 0; k < 2; k++) {
        char *copy = malloc(len + 1);
        CHECK(copy != NULL);
        memcpy(copy, body, len);
        d[k] = decoder(lim);
        d[k]->firehose_slow = k;
        memset(&err[k], 0, sizeof err[k]);
        rc[k] = fl_firehose_parse(d[k], copy, len, &req[k], &err[k]);
        free(copy);
    }
    if ((rc[0] == 0 && fl_firehose_req_is_fast(req[0])) != want_fast)
        fprintf(stderr, "  body: %.*s\n  msg: %s\n", (int)len, body,
                err[1].msg);
    CHECK_EQ_INT(rc[0] == 0 && fl_firehose_req_is_fast(req[0]), want_fast);
    CHECK_EQ_INT(rc[0], rc[1]);
    if (rc[0] < 0) {
        CHECK(req[0] == NULL && req[1] == NULL);
        CHECK_EQ_STR(err[0].msg, err[1].msg);
        CHECK_EQ_INT(err[0].record, err[1].record);
        CHECK_EQ_INT(err[0].line, err[1].line);
        CHECK_EQ_INT(err[0].column, err[1].column);
        if (want_msg != NULL)
            CHECK_EQ_STR(err[0].msg, want_msg);
    } else {
        CHECK(!fl_firehose_req_is_fast(req[1]));
        CHECK_EQ_STR(fl_firehose_request_id(req[0]),
                     fl_firehose_request_id(req[1]));
        CHECK_EQ_INT(fl_firehose_timestamp(req[0]),
                     fl_firehose_timestamp(req[1]));
        CHECK_EQ_INT(fl_firehose_nrecords(req[0]),
                     fl_firehose_nrecords(req[1]));
        for (size_t i = 0; i < fl_firehose_nrecords(req[0]); i++) {
            const char *b[2];
            size_t bn[2];
            const void *v[2];
            size_t vn[2];
            int vrc[2];
            for (int k = 0; k < 2; k++) {
                fl_firehose_record_b64(req[k], i, &b[k], &bn[k]);
                CHECK(b[k][bn[k]] == '\0');
            }
            CHECK_EQ_INT(bn[0], bn[1]);
            CHECK(memcmp(b[0], b[1], bn[0]) == 0);
            for (int k = 0; k < 2; k++) {
                vrc[k] = fl_firehose_record_data(d[k], req[k], i, &v[k],
                                                 &vn[k], &err[k]);
            }
            CHECK_EQ_INT(vrc[0], vrc[1]);
            if (vrc[0] == 0) {
                CHECK_EQ_INT(vn[0], vn[1]);
                CHECK(vn[0] == 0 || memcmp(v[0], v[1], vn[0]) == 0);
            } else {
                CHECK_EQ_STR(err[0].msg, err[1].msg);
            }
        }
    }
    for (int k = 0; k < 2; k++) {
        fl_firehose_destroy(req[k]);
        fl_ingest_destroy(d[k]);
    }
    CHECK_EQ_INT(fl_mem_used(), 0);
    return rc[0];
}


static int
parse_both_str(const char *body, int want_fast, const char *want_msg)
{
    return parse_both(NULL, body, strlen(body), want_fast, want_msg);
}


static void
test_firehose_fast_canonical(void)
{
    /* What Firehose sends, compact and pretty, keys in any order. */
    CHECK_EQ_INT(parse_both_str(
        "{\"requestId\":\"ed4acda5-034f-9f42-bba1-f29aea6d7d8f\","
        "\"timestamp\":1578090901599,\"records\":[{\"data\":\"aGVsbG8=\"},"
        "{\"data\":\"d29ybGQ=\"},{\"data\":\"\"}]}", 1, NULL), 0);
    CHECK_EQ_INT(parse_both_str(
        " {\n  \"records\" : [ { \"data\" : \"aGk=\" } ,\r\n\t{\"data\":"
        "\"!!not base64\"} ] ,\n  \"requestId\" : \"r\" ,"
        " \"timestamp\" : 0 }\n\n", 1, NULL), 0);
    /* No timestamp (-1), no records, the largest timestamp. */
    CHECK_EQ_INT(parse_both_str("{\"requestId\":\"r\",\"records\":[]}", 1,
                                NULL), 0);
    CHECK_EQ_INT(parse_both_str("{\"requestId\":\"r\",\"timestamp\":"
                                "9223372036854775807,\"records\":[]}", 1,
                                NULL), 0);

    /* Many records (the position array grows), and the body of an
     * existing test. */
    struct str s = { 0 };
    str_cat(&s, "{\"requestId\":\"many\",\"records\":[");
    for (int i = 0; i < 1000; i++) {
        char rec[64];
        snprintf(rec, sizeof rec, "%s{\"data\":\"%s\"}", i ? "," : "",
                 i % 3 ? "TElORQ==" : "");
        str_cat(&s, rec);
    }
    str_cat(&s, "]}");
    CHECK_EQ_INT(parse_both(NULL, s.p, s.len, 1, NULL), 0);
    free(s.p);
    const void *payloads[] = { LINE1 "\n" LINE2 "\n", LINE2 };
    size_t lens[] = { strlen(LINE1) + strlen(LINE2) + 2, strlen(LINE2) };
    size_t bl;
    char *body = firehose_body("f", payloads, lens, 2, &bl);
    CHECK_EQ_INT(parse_both(NULL, body, bl, 1, NULL), 0);
    free(body);
}


static void
test_firehose_fast_declines(void)
{
    /* Accepted by jansson, but not canonical: escapes, UTF-8, the string
     * form of the timestamp, unknown keys. */
    CHECK_EQ_INT(parse_both_str("{\"requestId\":\"a\\/b\",\"records\":[]}",
                                0, NULL), 0);
    CHECK_EQ_INT(parse_both_str("{\"requestId\":\"r\",\"records\":"
                                "[{\"data\":\"aGk\\u003d\"}]}", 0, NULL), 0);
    CHECK_EQ_INT(parse_both_str("{\"requestId\":\"\xc3\xa9t\xc3\xa9\","
                                "\"records\":[]}", 0, NULL), 0);
    CHECK_EQ_INT(parse_both_str("{\"requestId\":\"r\",\"timestamp\":"
                                "\"1578090901599\",\"records\":[]}", 0,
                                NULL), 0);
    CHECK_EQ_INT(parse_both_str("{\"requestId\":\"r\",\"x\":[1,{}],"
                                "\"records\":[]}", 0, NULL), 0);
    CHECK_EQ_INT(parse_both_str("{\"requestId\":\"r\",\"records\":"
                                "[{\"data\":\"aGk=\",\"x\":null}]}", 0,
                                NULL), 0);
    CHECK_EQ_INT(parse_both_str("{\"requestId\":\"r\",\"timestamp\":-0,"
                                "\"records\":[]}", 0, NULL), 0);
    CHECK_EQ_INT(parse_both_str("{\"requestId\":\"r\",\"records\":[],"
                                "\"re\\u0063ords\":1}", 0, NULL), FL_EPARSE);

    /* Errors: each declined and worded by the jansson path. */
    static const char *const bad[] = {
        "",
        "[]",
        "{}",
        "{\"requestId\":\"r\",\"records\":[]",
        "{\"requestId\":\"r\",\"records\":[]} x",
        "{\"requestId\":\"r\",\"records\":[]}\0",
        "{\"requestId\":\"r\" \"records\":[]}",
        "{\"requestId\":\"r\",\"records\":[],}",
        "{\"requestId\":\"r\",\"records\":[{\"data\":\"a\"},]}",
        "{\"requestId\":\"r\",\"requestId\":\"s\",\"records\":[]}",
        "{\"requestId\":\"r\",\"records\":[],\"records\":[]}",
        "{\"requestId\":\"r\",\"records\":[{\"data\":\"a\",\"data\":\"b\"}]}",
        "{\"records\":[]}",
        "{\"requestId\":\"r\"}",
        "{\"requestId\":\"\",\"records\":[]}",
        "{\"requestId\":7,\"records\":[]}",
        "{\"requestId\":\"r\",\"records\":{}}",
        "{\"requestId\":\"r\",\"records\":[7]}",
        "{\"requestId\":\"r\",\"records\":[{}]}",
        "{\"requestId\":\"r\",\"records\":[{\"data\":null}]}",
        "{\"requestId\":\"r\",\"records\":[{\"data\":\"a\tb\"}]}",
        "{\"requestId\":\"r\",\"records\":[{\"data\":\"\xff\"}]}",
        "{\"requestId\":\"r\",\"timestamp\":-1,\"records\":[]}",
        "{\"requestId\":\"r\",\"timestamp\":1.5,\"records\":[]}",
        "{\"requestId\":\"r\",\"timestamp\":1e3,\"records\":[]}",
        "{\"requestId\":\"r\",\"timestamp\":01,\"records\":[]}",
        "{\"requestId\":\"r\",\"timestamp\":9223372036854775808,"
        "\"records\":[]}",
        "{\"requestId\":\"r\",\"timestamp\":null,\"records\":[]}",
        "{\"requestId\":\"r\",\"timestamp\":12x,\"records\":[]}",
        "{\"requestId\":\"r\",\"records\":[{\"data\":\"a\\q\"}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = strlen(bad[i]);
        if (i == 5)
            n++;                /* the NUL after the body */
        CHECK(parse_both(NULL, bad[i], n, 0, NULL) < 0);
    }
    CHECK_EQ_INT(parse_both_str("{\"requestId\":\"r\",\"records\":"
                                "[{\"data\":7}]}", 0, "records[0].data:"
                                " expected a string, got an integer"),
                 FL_EPARSE);

    /* The longest requestId, and one byte more. */
    struct str s = { 0 };
    str_cat(&s, "{\"requestId\":\"");
    for (int i = 0; i < FL_FIREHOSE_MAX_REQUEST_ID; i++)
        str_cat(&s, "i");
    str_cat(&s, "\",\"records\":[]}");
    CHECK_EQ_INT(parse_both(NULL, s.p, s.len, 1, NULL), 0);
    s.len = 0;
    str_cat(&s, "{\"requestId\":\"");
    for (int i = 0; i <= FL_FIREHOSE_MAX_REQUEST_ID; i++)
        str_cat(&s, "i");
    str_cat(&s, "\",\"records\":[]}");
    CHECK_EQ_INT(parse_both(NULL, s.p, s.len, 0, NULL), FL_EPARSE);
    free(s.p);
}


static void
test_firehose_fast_limits(void)
{
    struct fl_ingest_limits lim = { .max_records = 3,
                                    .max_record_bytes = 6 };
    /* 6 bytes decoded: 8 characters of base64, no more. */
    CHECK_EQ_INT(parse_both(&lim, "{\"requestId\":\"r\",\"records\":["
                            "{\"data\":\"\"},{\"data\":\"QUJDREVG\"},"
                            "{\"data\":\"QQ==\"}]}", ZLEN, 1, NULL), 0);
    CHECK_EQ_INT(parse_both(&lim, "{\"requestId\":\"r\",\"records\":["
                            "{\"data\":\"QUJDREVGR\"}]}", ZLEN, 0,
                            "records[0].data: 9 characters of base64,"
                            " over the limit of 8 (6 bytes decoded)"),
                 FL_ETOOBIG);
    CHECK_EQ_INT(parse_both(&lim, "{\"requestId\":\"r\",\"records\":["
                            "{\"data\":\"\"},{\"data\":\"\"},{\"data\":\"\"},"
                            "{\"data\":\"\"}]}", ZLEN, 0,
                            "records: 4 records, over the limit of 3"),
                 FL_ETOOBIG);
    lim.max_record_bytes = 7;     /* not a multiple of 3: 12 characters */
    CHECK_EQ_INT(parse_both(&lim, "{\"requestId\":\"r\",\"records\":["
                            "{\"data\":\"QUJDREVGRw==\"}]}", ZLEN, 1, NULL),
                 0);

    /* Depth: the records' objects are at level 3. */
    static const char one[] =
        "{\"requestId\":\"r\",\"timestamp\":5,\"records\":[{\"data\":\"QQ==\"}]}";
    lim.max_depth = 2;
    CHECK_EQ_INT(parse_both(&lim, one, strlen(one), 0, NULL), FL_ETOOBIG);
    lim.max_depth = 3;
    CHECK_EQ_INT(parse_both(&lim, one, strlen(one), 1, NULL), 0);

    /* The parse-tree estimate, to the byte: object 256, 4 keys and 2
     * strings (112 + length + 1 each), a scalar 56, an array 160, a record
     * object 256. */
    size_t est = 256 + (112 + 10) + (112 + 2) + (112 + 10) + 56
                 + (112 + 8) + 160 + 256 + (112 + 5) + (112 + 5);
    lim.max_depth = 0;
    lim.max_json_mem = est;
    CHECK_EQ_INT(parse_both(&lim, one, strlen(one), 1, NULL), 0);
    lim.max_json_mem = est - 1;
    CHECK_EQ_INT(parse_both(&lim, one, strlen(one), 0,
                            "JSON document too large to parse: its parse"
                            " tree would take more than 1439 bytes"),
                 FL_ETOOBIG);
}


static void
test_text_payloads(void)
{
    struct fl_ingest *d = decoder(NULL);
    struct fl_ingest_info info;
    struct sink s = { .len = 0 };
    const char *text = "\n" LINE1 "\r\n\n  \n" LINE2;

    CHECK_EQ_INT(fl_ingest_decode(d, text, strlen(text), collect, &s, &info,
                                  NULL), 0);
    CHECK_EQ_STR(s.buf, "2: " LINE1 "\n4:   \n5: " LINE2 "\n");
    CHECK_EQ_INT(info.kind, FL_INGEST_TEXT);
    CHECK_EQ_INT(info.lines, 3);

    /* Empty payloads. */
    CHECK_EQ_INT(fl_ingest_decode(d, NULL, 0, collect, &s, &info, NULL), 0);
    CHECK_EQ_INT(info.kind, FL_INGEST_TEXT);
    CHECK_EQ_INT(info.lines, 0);
    size_t zl;
    unsigned char *z = gz("", 0, &zl);
    CHECK_EQ_INT(fl_ingest_decode(d, z, zl, collect, &s, &info, NULL), 0);
    CHECK_EQ_INT(info.lines, 0);
    CHECK_EQ_INT(info.gzip, 1);
    free(z);

    /* A NULL callback just validates and counts. */
    CHECK_EQ_INT(fl_ingest_decode(d, text, strlen(text), NULL, NULL, &info,
                                  NULL), 0);
    CHECK_EQ_INT(info.lines, 3);

    /* gzip inside gzip. */
    size_t zl2;
    unsigned char *z1 = gz(text, strlen(text), &zl);
    unsigned char *z2 = gz(z1, zl, &zl2);
    struct fl_ingest_err err;
    CHECK_EQ_INT(fl_ingest_decode(d, z2, zl2, collect, &s, &info, &err),
                 FL_EPARSE);
    CHECK_EQ_STR(err.msg, "gzip data inside gzip data is not accepted");
    free(z1);
    free(z2);

    /* Text where only CloudWatch Logs is accepted. */
    CHECK_EQ_INT(fl_ingest_decode_cwl(d, text, strlen(text), collect, &s,
                                      &info, &err), FL_EPARSE);
    CHECK_EQ_STR(err.msg, "not a CloudWatch Logs payload: expected gzip data"
                 " or a JSON object");
    fl_ingest_destroy(d);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_callback_stop(void)
{
    struct fl_ingest *d = decoder(NULL);
    struct fl_ingest_err err;
    struct sink s = { .len = 0, .stop_at = 2, .stop_rc = -EIO };
    const char *text = "a\nb\nc\n";

    CHECK_EQ_INT(fl_ingest_decode(d, text, strlen(text), collect, &s, NULL,
                                  &err), -EIO);
    CHECK_EQ_STR(s.buf, "1: a\n");
    CHECK_EQ_STR(err.msg, "stopped by the line callback: Input/output error");

    /* In a Firehose record: the record is named, the message unprefixed. */
    char *ev = lambda_event(CWL_DATA, 1);
    const void *payloads[] = { ev };
    size_t lens[] = { strlen(ev) }, bl;
    char *body = firehose_body("s", payloads, lens, 1, &bl);
    struct fl_firehose_req *req = NULL;
    CHECK_EQ_INT(fl_firehose_parse(d, body, bl, &req, NULL), 0);
    s = (struct sink){ .len = 0, .stop_at = 1, .stop_rc = FL_ETOOBIG };
    CHECK_EQ_INT(fl_firehose_record_decode(d, req, 0, collect, &s, NULL,
                                           &err), FL_ETOOBIG);
    CHECK_EQ_STR(err.msg, "stopped by the line callback: too big");
    CHECK_EQ_INT(err.record, 0);
    fl_firehose_destroy(req);
    free(body);
    free(ev);
    fl_ingest_destroy(d);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* ==== Firehose responses ============================================= */

static void
test_firehose_response(void)
{
    char buf[FL_FIREHOSE_RESPONSE_MAX];
    size_t n;

    CHECK_EQ_INT(fl_firehose_response("ed4acda5-034f-9f42-bba1-f29aea6d7d8f",
                                      1578090903599LL, NULL, buf, sizeof buf,
                                      &n), 0);
    CHECK_EQ_STR(buf, "{\"requestId\":\"ed4acda5-034f-9f42-bba1-f29aea6d7d8f\","
                 "\"timestamp\":1578090903599}");
    CHECK_EQ_INT(n, strlen(buf));

    CHECK_EQ_INT(fl_firehose_response("ed4acda5-034f-9f42-bba1-f29aea6d7d8f",
                                      1578090903599LL,
                                      "Unable to deliver records due to"
                                      " unknown error.", buf, sizeof buf,
                                      NULL), 0);
    CHECK_EQ_STR(buf, "{\"requestId\":\"ed4acda5-034f-9f42-bba1-f29aea6d7d8f\","
                 "\"timestamp\":1578090903599,\"errorMessage\":\"Unable to"
                 " deliver records due to unknown error.\"}");

    /* Escaping: quotes, backslashes, control characters, non-ASCII. */
    CHECK_EQ_INT(fl_firehose_response("a\"b", 0, "x\"y\\z\n\t\x01 \xc3\xa9"
                                      " /", buf, sizeof buf, NULL), 0);
    CHECK_EQ_STR(buf, "{\"requestId\":\"a\\\"b\",\"timestamp\":0,"
                 "\"errorMessage\":\"x\\\"y\\\\z\\n\\t\\u0001 \xc3\xa9 /\"}");

    /* Invalid UTF-8 (a stray byte, a truncated sequence, an overlong
     * form, a surrogate) becomes '?'. */
    CHECK_EQ_INT(fl_firehose_response("id\xff", 1, "a\x80z \xe2\x82 \xc0\xaf"
                                      " \xed\xa0\x80", buf, sizeof buf, NULL),
                 0);
    CHECK_EQ_STR(buf, "{\"requestId\":\"id?\",\"timestamp\":1,"
                 "\"errorMessage\":\"a?z ?? ?? ???\"}");

    /* errorMessage is cut at 8192 bytes, not inside a character. */
    char *big = malloc(10001);
    memset(big, 'a', 8191);
    memcpy(big + 8191, "\xc3\xa9", 2);
    memset(big + 8193, 'b', 10000 - 8193);
    big[10000] = '\0';
    CHECK_EQ_INT(fl_firehose_response("r", 2, big, buf, sizeof buf, &n), 0);
    CHECK_EQ_INT(n, strlen("{\"requestId\":\"r\",\"timestamp\":2,"
                           "\"errorMessage\":\"\"}") + 8191);
    CHECK(strstr(buf, "\xc3") == NULL);
    free(big);

    /* Limits: a requestId over 1024 bytes, a buffer too small (and one
     * exactly big enough). */
    char id[1026];
    memset(id, 'i', 1025);
    id[1025] = '\0';
    CHECK_EQ_INT(fl_firehose_response(id, 0, NULL, buf, sizeof buf, NULL),
                 FL_ETOOBIG);
    id[1024] = '\0';
    CHECK_EQ_INT(fl_firehose_response(id, 0, NULL, buf, sizeof buf, &n), 0);
    const char *small = "{\"requestId\":\"r\",\"timestamp\":2}";
    CHECK_EQ_INT(fl_firehose_response("r", 2, NULL, buf, strlen(small), NULL),
                 FL_ETOOBIG);
    CHECK_EQ_INT(fl_firehose_response("r", 2, NULL, buf, strlen(small) + 1,
                                      NULL), 0);
    CHECK_EQ_STR(buf, small);

    /* The worst case fits in FL_FIREHOSE_RESPONSE_MAX. */
    char ctl[FL_FIREHOSE_MAX_ERROR_MESSAGE + 100];
    memset(ctl, '\x01', sizeof ctl - 1);
    ctl[sizeof ctl - 1] = '\0';
    memset(id, '\x02', 1024);
    CHECK_EQ_INT(fl_firehose_response(id, INT64_MAX, ctl, buf, sizeof buf,
                                      &n), 0);
    CHECK(n > 6 * (1024 + 8192));
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* ==== allocation failures ============================================ */

static int
decode_everything(struct fl_ingest *d, const char *body, size_t bl)
{
    struct fl_firehose_req *req = NULL;
    struct sink s = { .len = 0 };
    int rc = fl_firehose_parse(d, body, bl, &req, NULL);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < fl_firehose_nrecords(req) && rc == 0; i++)
        rc = fl_firehose_record_decode(d, req, i, collect, &s, NULL, NULL);
    fl_firehose_destroy(req);
    return rc;
}


/* Fail the 1st, 2nd, ... allocation: every path returns -ENOMEM cleanly
 * and leaks nothing (curl's torture tests, ccan allocfail). */
static void
test_alloc_failures(void)
{
    size_t zl, bl;
    unsigned char *z = gz(CWL_DATA, strlen(CWL_DATA), &zl);
    char *ev = lambda_event(CWL_DATA, 1);
    const void *payloads[] = { LINE1 "\n", z, ev };
    size_t lens[] = { strlen(LINE1) + 1, zl, strlen(ev) };
    char *body = firehose_body("f", payloads, lens, 3, &bl);

    uint64_t nth;
    for (nth = 1; nth < 1000; nth++) {
        struct fl_ingest *d = NULL;
        fl_mem_fail_after(nth);
        int rc = fl_ingest_create(NULL, &d);
        if (rc == 0) {
            rc = decode_everything(d, body, bl);
            fl_ingest_destroy(d);
        }
        uint64_t attempts = fl_mem_fail_after(0);
        CHECK(rc == 0 || rc == FL_ENOMEM);
        CHECK_EQ_INT(fl_mem_used(), 0);
        if (rc == 0 && attempts < nth)
            break;
    }
    CHECK(nth > 3 && nth < 1000);
    free(body);
    free(ev);
    free(z);
}


/* X-Amz-Firehose-Source-Arn: the documented shape only. */
static void
test_firehose_source_arn(void)
{
    struct fl_firehose_source src;
    const char *ok = "arn:aws:firehose:us-east-1:123456789012:"
                     "deliverystream/vpc-flow_logs.1";
    CHECK_EQ_INT(fl_firehose_source_arn(ok, strlen(ok), &src), 0);
    CHECK_EQ_STR(src.region, "us-east-1");
    CHECK_EQ_STR(src.account, "123456789012");
    CHECK_EQ_STR(src.stream, "vpc-flow_logs.1");
    const char *cn = "arn:aws-cn:firehose:cn-north-1:210987654321:"
                     "deliverystream/s";
    CHECK_EQ_INT(fl_firehose_source_arn(cn, strlen(cn), &src), 0);
    CHECK_EQ_STR(src.region, "cn-north-1");
    CHECK_EQ_STR(src.stream, "s");
    /* The length given, not the NUL, ends it. */
    CHECK_EQ_INT(fl_firehose_source_arn(ok, strlen(ok) - 2, &src), 0);
    CHECK_EQ_STR(src.stream, "vpc-flow_logs");
    static const char *const bad[] = {
        "",
        "arn:aws:firehose:us-east-1:123456789012",
        "arn:aws:kinesis:us-east-1:123456789012:deliverystream/s",
        "arn:aws:firehose:us-east-1:12345678901:deliverystream/s",
        "arn:aws:firehose:us-east-1:1234567890123:deliverystream/s",
        "arn:aws:firehose:us-east-1:12345678901x:deliverystream/s",
        "arn:aws:firehose::123456789012:deliverystream/s",
        "arn:aws:firehose:US-EAST-1:123456789012:deliverystream/s",
        "arn:aws:firehose:us-east-1:123456789012:deliverystream/",
        "arn:aws:firehose:us-east-1:123456789012:stream/s",
        "arn:aws:firehose:us-east-1:123456789012:deliverystream/a/b",
        "arn:aws:firehose:us-east-1:123456789012:deliverystream/a:b",
        "arn::firehose:us-east-1:123456789012:deliverystream/s",
        "ARN:aws:firehose:us-east-1:123456789012:deliverystream/s",
        "arn:aws:firehose:us-east-1:123456789012:deliverystream/"
            "a23456789012345678901234567890123456789012345678901234567890"
            "12345",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        memset(&src, 'x', sizeof src);
        CHECK_EQ_INT(fl_firehose_source_arn(bad[i], strlen(bad[i]), &src),
                     FL_EPARSE);
        CHECK_EQ_STR(src.stream, "");
        CHECK_EQ_STR(src.account, "");
    }
}


/* X-Amz-Firehose-Common-Attributes: the inner object, keys sorted. */
static void
test_firehose_common_attributes(void)
{
    char out[128];
    size_t n = 0;
    const char *h = "{\"commonAttributes\":{\"team\":\"net\", "
                    "\"env\":\"prod\"}}";
    CHECK_EQ_INT(fl_firehose_common_attributes(h, strlen(h), out, sizeof out,
                                               &n), 0);
    CHECK_EQ_STR(out, "{\"env\":\"prod\",\"team\":\"net\"}");
    CHECK_EQ_INT(n, strlen(out));
    h = "{\"commonAttributes\":{}}";
    CHECK_EQ_INT(fl_firehose_common_attributes(h, strlen(h), out, sizeof out,
                                               NULL), 0);
    CHECK_EQ_STR(out, "{}");
    h = "{\"commonAttributes\":{\"k\":\"\\u00e9\\/x\"}}";
    CHECK_EQ_INT(fl_firehose_common_attributes(h, strlen(h), out, sizeof out,
                                               NULL), 0);
    CHECK_EQ_STR(out, "{\"k\":\"\xc3\xa9/x\"}");
    static const char *const bad[] = {
        "", "{", "[]", "{}", "{\"commonAttributes\":[]}",
        "{\"commonAttributes\":{\"k\":1}}",
        "{\"commonAttributes\":{\"k\":\"a\",\"k\":\"b\"}}",
        "{\"commonAttributes\":{\"k\":{\"x\":\"y\"}}}",
        "{\"commonattributes\":{}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_EQ_INT(fl_firehose_common_attributes(bad[i], strlen(bad[i]),
                                                   out, sizeof out, NULL),
                     FL_EPARSE);
    h = "{\"commonAttributes\":{\"team\":\"net\"}}";
    CHECK_EQ_INT(fl_firehose_common_attributes(h, strlen(h), out, 10, NULL),
                 FL_ETOOBIG);
    char big[FL_FIREHOSE_MAX_ATTRIBUTES + 64];
    int m = snprintf(big, sizeof big, "{\"commonAttributes\":{\"k\":\"");
    memset(big + m, 'a', FL_FIREHOSE_MAX_ATTRIBUTES);
    memcpy(big + m + FL_FIREHOSE_MAX_ATTRIBUTES, "\"}}", 4);
    CHECK_EQ_INT(fl_firehose_common_attributes(big, strlen(big), out,
                                               sizeof out, NULL), FL_EPARSE);
}


FL_TEST_MAIN(
    FL_TEST(test_base64_valid),
    FL_TEST(test_base64_encode),
    FL_TEST(test_base64_invalid),
    FL_TEST(test_gunzip_ok),
    FL_TEST(test_gunzip_errors),
    FL_TEST(test_gunzip_ratio),
    FL_TEST(test_gzip_bomb),
    FL_TEST(test_firehose_valid),
    FL_TEST(test_firehose_bad_base64),
    FL_TEST(test_firehose_envelope_errors),
    FL_TEST(test_firehose_broken_json),
    FL_TEST(test_firehose_limits),
    FL_TEST(test_json_depth_and_size),
    FL_TEST(test_firehose_truncated_gzip_record),
    FL_TEST(test_cwl_data_message),
    FL_TEST(test_cwl_control_message),
    FL_TEST(test_cwl_lambda_awslogs),
    FL_TEST(test_cwl_unknown_message_type),
    FL_TEST(test_cwl_type_errors),
    FL_TEST(test_fast_escapes),
    FL_TEST(test_fast_unicode),
    FL_TEST(test_fast_timestamps),
    FL_TEST(test_fast_fallback_shapes),
    FL_TEST(test_fast_limits),
    FL_TEST(test_fast_lambda_and_firehose),
    FL_TEST(test_fast_many_events_and_stop),
    FL_TEST(test_fast_alloc_failure_falls_back),
    FL_TEST(test_firehose_fast_canonical),
    FL_TEST(test_firehose_fast_declines),
    FL_TEST(test_firehose_fast_limits),
    FL_TEST(test_text_payloads),
    FL_TEST(test_callback_stop),
    FL_TEST(test_firehose_response),
    FL_TEST(test_firehose_source_arn),
    FL_TEST(test_firehose_common_attributes),
    FL_TEST(test_alloc_failures)
)
