/* SPDX-License-Identifier: MIT
 *
 * firehose_fast.c -- a single-pass scanner for the canonical Firehose HTTP
 * endpoint request body, the fast path of fl_firehose_parse() (see
 * ingest_int.h and firehose.h):
 *
 *   {"requestId":"<id>","timestamp":<ms>,"records":[{"data":"<b64>"},...]}
 *
 * A body is some 300 KB of base64 strings; jansson copies each of them
 * into a tree of one allocation per record, object and key, after the
 * pre-scan of ingest_json.c has already walked the text once. This scanner
 * walks it once, 8 bytes at a time inside strings, and only records where
 * the requestId, the timestamp and each record's data are.
 *
 * As in cwl_fast.c, it ACCEPTS a body only when the jansson path would
 * accept it with the same result, and otherwise declines
 * (FL_INGEST_FAST_DECLINE) so that the jansson path decides and words the
 * error exactly as before. It declines on:
 *   - any JSON syntax error, and anything but whitespace after the body;
 *   - a string with a backslash, a control character or a byte >= 0x80
 *     (base64 and Firehose's GUIDs are printable ASCII; UTF-8 and escapes
 *     are left to jansson);
 *   - a top-level key other than requestId, timestamp and records, a
 *     record key other than data, any duplicate key;
 *   - a missing requestId or records, a record without data, any value of
 *     another type than the canonical one: requestId and data strings,
 *     timestamp a non-negative integer without a sign, a fraction or an
 *     exponent that fits in int64_t (the string form is left to jansson),
 *     records an array of objects;
 *   - a requestId that is empty or longer than FL_FIREHOSE_MAX_REQUEST_ID;
 *   - more than max_records records, a data string longer than
 *     max_record_bytes allows, max_depth under 3, or a parse-tree estimate
 *     over max_json_mem -- computed as ingest_json.c's pre-scan computes
 *     it, so that the limits and their messages stay the jansson path's;
 *   - running out of memory for the records' positions.
 *
 * Thread: any; d is only read.
 */
#include "../core/fl_config.h"

#include <string.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "firehose.h"
#include "ingest_int.h"
#include "json_scan.h"

/* Internal verdict; the entry point returns FL_INGEST_FAST_DECLINE. */
#define DECLINE FL_JSCAN_DECLINE

struct scan {
    struct fl_jscan      js;     /* cursor and estimate (json_scan.h) */
    const unsigned char *base;   /* the body */
    size_t               max_records;
    size_t               max_b64;/* longest data string */
    size_t               cap;    /* entries of out->rec */
    struct fl_firehose_fast *out;
};


/* A string of printable ASCII without escapes, after whitespace: its
 * content's offset and length in *off / *len, the cursor moved past it. */
static int
plain_string(struct scan *s, size_t *off, size_t *len)
{
    fl_jscan_ws(&s->js);
    if (s->js.p >= s->js.end || *s->js.p != '"')
        return DECLINE;

    const unsigned char *start = s->js.p + 1;
    const unsigned char *end = s->js.end;
    const unsigned char *q = fl_jscan_plain_run(start, end);
    if (q >= end || *q != '"')
        return DECLINE;
    *off = (size_t)(start - s->base);
    *len = (size_t)(q - start);
    /* The pre-scan counts from the opening quote to the closing one. */
    s->js.est += FL_INGEST_COST_STRING + *len + 1;
    s->js.p = q + 1;
    return FL_OK;
}


/* An object key (printable ASCII, no escapes), then its ':'. */
static int
key(struct scan *s, const char **k, size_t *n)
{
    size_t off;
    if (plain_string(s, &off, n) < 0)
        return DECLINE;
    *k = (const char *)s->base + off;
    return fl_jscan_expect(&s->js, ':');
}


static int
key_is(const char *k, size_t n, const char *name, size_t nn)
{
    return n == nn && memcmp(k, name, n) == 0;
}

#define KEY_IS(k, n, lit) key_is((k), (n), (lit), sizeof(lit) - 1)


/* A non-negative integer without a sign that fits in int64_t: what
 * jansson reads with strtoll and fl_ingest_json_ms() takes. */
static int
timestamp(struct scan *s, int64_t *out)
{
    fl_jscan_ws(&s->js);
    const unsigned char *p = s->js.p;

    if (fl_jscan_digits(&p, s->js.end, out) < 0)
        return DECLINE;
    s->js.est += FL_INGEST_COST_SCALAR;
    s->js.p = p;
    return FL_OK;
}


static int
store(struct scan *s, size_t off, size_t len)
{
    struct fl_firehose_fast *out = s->out;

    if (out->n == s->max_records)
        return DECLINE;
    if (out->n == s->cap) {
        size_t ncap = s->cap != 0 ? s->cap * 2 : 64;
        if (ncap > s->max_records)
            ncap = s->max_records;
        if (ncap > SIZE_MAX / sizeof *out->rec)
            return DECLINE;
        void *p = fl_realloc(out->rec, ncap * sizeof *out->rec);
        if (p == NULL)
            return DECLINE;
        out->rec = p;
        s->cap = ncap;
    }
    out->rec[out->n].off = off;
    out->rec[out->n].len = len;
    out->n++;
    out->bytes += len + 1;
    return FL_OK;
}


/* {"data": "<string>"}, and nothing else. */
static int
record(struct scan *s)
{
    const char *k;
    size_t kn, off, len;

    if (fl_jscan_expect(&s->js, '{') < 0)
        return DECLINE;
    s->js.est += FL_INGEST_COST_OBJECT;
    if (key(s, &k, &kn) < 0 || !KEY_IS(k, kn, "data")
        || plain_string(s, &off, &len) < 0 || len > s->max_b64
        || fl_jscan_expect(&s->js, '}') < 0)
        return DECLINE;
    return store(s, off, len);
}


static int
records(struct scan *s)
{
    int more;

    if (fl_jscan_expect(&s->js, '[') < 0)
        return DECLINE;
    s->js.est += FL_INGEST_COST_ARRAY;
    fl_jscan_ws(&s->js);
    if (s->js.p < s->js.end && *s->js.p == ']') {
        s->js.p++;
        return FL_OK;
    }
    do {
        if (record(s) < 0)
            return DECLINE;
    } while ((more = fl_jscan_next_member(&s->js, ']')) == 1);
    return more;
}


static int
root(struct scan *s)
{
    enum { ID = 1, TS = 2, RECS = 4 };
    struct fl_firehose_fast *out = s->out;
    unsigned seen = 0;
    const char *k;
    size_t kn;
    int more;

    if (fl_jscan_expect(&s->js, '{') < 0)
        return DECLINE;
    s->js.est += FL_INGEST_COST_OBJECT;
    do {
        unsigned bit;
        if (key(s, &k, &kn) < 0)
            return DECLINE;
        if (KEY_IS(k, kn, "requestId")) {
            bit = ID;
            if ((seen & bit)
                || plain_string(s, &out->id_off, &out->id_len) < 0
                || out->id_len == 0
                || out->id_len > FL_FIREHOSE_MAX_REQUEST_ID)
                return DECLINE;
        } else if (KEY_IS(k, kn, "timestamp")) {
            bit = TS;
            if ((seen & bit) || timestamp(s, &out->timestamp) < 0)
                return DECLINE;
        } else if (KEY_IS(k, kn, "records")) {
            bit = RECS;
            if ((seen & bit) || records(s) < 0)
                return DECLINE;
        } else {
            return DECLINE;
        }
        seen |= bit;
    } while ((more = fl_jscan_next_member(&s->js, '}')) == 1);
    if (more < 0 || (seen & (ID | RECS)) != (ID | RECS))
        return DECLINE;
    fl_jscan_ws(&s->js);
    return s->js.p == s->js.end ? FL_OK : DECLINE;
}


int
fl_firehose_fast_scan(const struct fl_ingest *d, const char *p, size_t len,
                      struct fl_firehose_fast *out)
{
    const struct fl_ingest_limits *lim = &d->lim;
    struct scan s = {
        .js = { .p = (const unsigned char *)p,
                .end = (const unsigned char *)p + len },
        .base = (const unsigned char *)p,
        .max_records = lim->max_records,
        .out = out,
    };

    memset(out, 0, sizeof *out);
    out->timestamp = -1;
    /* check_record()'s limit in firehose.c. */
    s.max_b64 = (lim->max_record_bytes / 3 + 1) * 4;
    if (lim->max_record_bytes % 3 == 0)
        s.max_b64 -= 4;
    /* Records are objects in an array in the top object: 3 levels. */
    if (lim->max_depth < 3 || root(&s) < 0
        || s.js.est > lim->max_json_mem) {
        /* The estimate only grows, so the pre-scan trips exactly when
         * the total is over. */
        fl_free(out->rec);
        memset(out, 0, sizeof *out);
        return FL_INGEST_FAST_DECLINE;
    }
    out->bytes += out->id_len + 1;
    return FL_OK;
}
