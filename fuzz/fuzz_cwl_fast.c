/* SPDX-License-Identifier: MIT
 *
 * fuzz_cwl_fast.c -- differential libFuzzer target for the CloudWatch
 * Logs JSON fast path (src/ingest/cwl_fast.c): every input is decoded
 * twice, by a decoder that may take the fast path and by one forced onto
 * the jansson path (struct fl_ingest's json_slow), and the process aborts
 * on any difference in the return code, the error (message, record, line,
 * column), the info, or the lines handed to the callback (bytes, line
 * numbers, ids, timestamps, metadata).
 *
 * The first input byte picks how the rest is presented and which limits
 * apply; with bits 3-5 the second byte is a parameter:
 *   bits 0-1: 0 rest as is, any kind (fl_ingest_decode)
 *             1 rest as is, CloudWatch Logs only (fl_ingest_decode_cwl)
 *             2 rest gzip'd here first, CloudWatch Logs only
 *             3 rest wrapped here as {"awslogs":{"data":base64(gzip(rest))}}
 *   bit 3:    max_json_mem = 256 + 24 * param (the pre-scan estimate must
 *             agree with the fast path's to the byte)
 *   bit 4:    max_depth = 1 + param % 6
 *   bit 5:    the callback stops the decode at line 1 + param % 4 (-EIO)
 *   bits 6-7: 0 the rest is the payload
 *             1 the rest is one event's message, inside a valid payload
 *             2 the rest is the inside of a valid payload's logEvents array
 *             3 the rest is more members of a valid payload's top object
 *             so that mutations mostly stay in the shape the fast path
 *             accepts and its decoding of strings, events and unknown
 *             members is compared, not only its refusals.
 */
#include "../src/core/fl_config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/fl_error.h"
#include "../src/ingest/ingest.h"
#include "../src/ingest/ingest_int.h"
#include "fuzz_ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Everything the callback saw, serialized. */
struct seen {
    unsigned char *p;
    size_t         len, cap;
    size_t         calls;
    size_t         stop_at;     /* 1-based; 0 = never */
};


static void
put(struct seen *s, const void *p, size_t n)
{
    if (s->len + n > s->cap) {
        size_t ncap = (s->len + n) * 2 + 256;
        unsigned char *q = realloc(s->p, ncap);
        if (q == NULL)
            abort();
        s->p = q;
        s->cap = ncap;
    }
    if (n > 0)
        memcpy(s->p + s->len, p, n);
    s->len += n;
}


static void
put_cstr(struct seen *s, const char *str)
{
    if (str == NULL) {
        put(s, "\xff(null)", 7);
        return;
    }
    put(s, str, strlen(str) + 1);
}


static int
on_line(void *ctx, const struct fl_ingest_line *l)
{
    struct seen *s = ctx;
    uint64_t v;

    s->calls++;
    if (s->stop_at != 0 && s->calls == s->stop_at)
        return -EIO;
    if (l->len > 0 && l->p == NULL)
        abort();
    v = l->line_no;
    put(s, &v, sizeof v);
    v = (uint64_t)l->timestamp_ms;
    put(s, &v, sizeof v);
    put_cstr(s, l->id);
    if (l->cwl != NULL) {
        put(s, "M", 1);
        put_cstr(s, l->cwl->owner);
        put_cstr(s, l->cwl->log_group);
        put_cstr(s, l->cwl->log_stream);
    } else {
        put(s, "T", 1);
    }
    v = l->len;
    put(s, &v, sizeof v);
    put(s, l->p, l->len);
    return 0;
}


#define HEAD "{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"123456789012\"," \
             "\"logGroup\":\"vpc-flow-logs\",\"logStream\":\"eni-1-all\"," \
             "\"subscriptionFilters\":[\"f\"],\"logEvents\":"

struct result {
    int                  rc;
    struct fl_ingest_err err;
    struct fl_ingest_info info;
    struct seen          seen;
};


static void
run(const struct fl_ingest_limits *lim, int slow, int cwl_only,
    const void *p, size_t n, size_t stop_at, struct result *res)
{
    struct fl_ingest *d = NULL;

    memset(res, 0, sizeof *res);
    res->seen.stop_at = stop_at;
    if (fl_ingest_create(lim, &d) < 0)
        abort();
    d->json_slow = slow;
    res->rc = cwl_only
        ? fl_ingest_decode_cwl(d, p, n, on_line, &res->seen, &res->info,
                               &res->err)
        : fl_ingest_decode(d, p, n, on_line, &res->seen, &res->info,
                           &res->err);
    fl_ingest_destroy(d);
}


static void
compare(const struct result *a, const struct result *b)
{
    if (a->rc != b->rc)
        abort();
    if (a->seen.len != b->seen.len || a->seen.calls != b->seen.calls
        || (a->seen.len > 0 && memcmp(a->seen.p, b->seen.p, a->seen.len)))
        abort();
    if (a->rc < 0) {
        if (!fuzz_same_err(&a->err, &b->err))
            abort();
        /* All or nothing, unless the callback stopped it. */
        if (a->rc != -EIO && a->seen.calls != 0)
            abort();
    } else if (a->info.kind != b->info.kind || a->info.gzip != b->info.gzip
               || a->info.awslogs != b->info.awslogs
               || a->info.lines != b->info.lines) {
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fl_ingest_limits lim = {
        .max_inflated = 256 * 1024, .max_json_mem = 4 * 1024 * 1024,
        .max_depth = 8,
    };
    struct result fast, slow;
    unsigned char *z = NULL;
    char *wrapped = NULL, *doc = NULL;
    const void *in;
    size_t in_len, stop_at = 0;

    unsigned mode, param;
    const uint8_t *p;
    size_t n;

    if (!fuzz_split(data, size, 0x38, &mode, &param, &p, &n))
        return 0;
    if (mode & 0x38) {
        if (mode & 8)
            lim.max_json_mem = 256 + 24 * (size_t)param;
        if (mode & 16)
            lim.max_depth = 1 + (int)(param % 6);
        if (mode & 32)
            stop_at = 1 + param % 4;
    }

    if (mode & 0xc0) {
        static const char *const pre[] = {
            NULL,
            HEAD "[{\"id\":\"1\",\"timestamp\":1,\"message\":\"",
            HEAD "[",
            HEAD "[{\"id\":\"1\",\"timestamp\":1,\"message\":\"m\"}],",
        };
        static const char *const post[] = { NULL, "\"}]}", "]}", "}" };
        unsigned t = mode >> 6;
        if ((doc = fuzz_wrap(pre[t], p, n, post[t], &n)) == NULL)
            return 0;
        p = (const uint8_t *)doc;
    }

    switch (mode & 3) {
    case 0:
    case 1:
        in = p;
        in_len = n;
        break;
    case 2:
        if ((z = fuzz_gzip(p, n, &in_len)) == NULL)
            goto out;
        in = z;
        break;
    default: {
        size_t zl = 0;
        if ((z = fuzz_gzip(p, n, &zl)) == NULL
            || (wrapped = fuzz_awslogs(z, zl, &in_len)) == NULL)
            goto out;
        in = wrapped;
        break;
    }
    }
    int cwl_only = (mode & 3) != 0;
    run(&lim, 0, cwl_only, in, in_len, stop_at, &fast);
    run(&lim, 1, cwl_only, in, in_len, stop_at, &slow);
    compare(&fast, &slow);

    free(fast.seen.p);
    free(slow.seen.p);
out:
    free(doc);
    free(z);
    free(wrapped);
    return 0;
}
