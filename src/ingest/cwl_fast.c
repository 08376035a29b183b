/* SPDX-License-Identifier: MIT
 *
 * cwl_fast.c -- a single-pass JSON scanner for the shape of a CloudWatch
 * Logs subscription payload (and of its Lambda {"awslogs"} envelope), the
 * fast path of payload.c's json_payload() (see ingest_int.h).
 *
 * jansson builds a tree with one allocation per object and per string and
 * copies every string; for a payload of 500 flow-log events that is about
 * 2,000 allocations and most of the decode time. This scanner walks the
 * text once, validates it as jansson would (RFC 8259 syntax, UTF-8, escapes
 * including surrogate pairs), and records where each event's id, message
 * and timestamp are in the text, in the decoder's reusable event array.
 * Nothing is allocated per event; strings are decoded later, by payload.c,
 * only when they contain escapes (fl_ingest_json_unescape()).
 *
 * The invariant that makes it safe: the scanner ACCEPTS a document only
 * when the jansson path would accept it too, with the same lines, ids,
 * timestamps and metadata. Everything else -- any syntax error, any type or
 * shape error, anything whose exact treatment by jansson is costly to
 * reproduce -- makes it decline (return FL_INGEST_FAST_DECLINE), and the
 * jansson path then decides and words the error exactly as before. So the
 * scanner never produces an error message of its own. It declines on:
 *   - any JSON syntax error, invalid UTF-8, a control character in a string;
 *   - \u0000 in any string (jansson refuses it without JSON_ALLOW_NUL) and
 *     lone or mismatched surrogate escapes (jansson refuses those too);
 *   - an object key with an escape in it (duplicate detection compares
 *     raw bytes), a duplicate key, or an object with more than
 *     FAST_MAX_KEYS unknown keys;
 *   - real numbers (jansson calls strtod: overflow is an error) and
 *     integers of more than 18 digits (strtoll range), anywhere;
 *   - nesting deeper than the decoder's max_depth or FAST_MAX_DEPTH, or an
 *     estimated parse tree over max_json_mem -- computed exactly as
 *     ingest_json.c's pre-scan computes it, so the limits and their
 *     messages stay those of the jansson path;
 *   - a known field of the wrong type (messageType not "DATA_MESSAGE" or
 *     "CONTROL_MESSAGE" spelled without escapes, owner not a string,
 *     logEvents not an array of objects, a timestamp that is negative, real,
 *     "-0", or a string with escapes, ...), even where the jansson path
 *     would not look at it (a CONTROL_MESSAGE with odd events);
 *   - a missing required field, and any document that is neither a
 *     DATA_MESSAGE / CONTROL_MESSAGE nor (outside awslogs) a Lambda event;
 *   - running out of memory for the event array.
 *
 * Thread: the decoder's.
 */
#include "../core/fl_config.h"

#include <string.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "ingest_int.h"
#include "json_scan.h"

/* Recursion bound for values the scanner only validates (extractedFields
 * and other unknown keys); CloudWatch Logs payloads are 3 or 4 deep. */
#define FAST_MAX_DEPTH 16

/* Unknown keys remembered per object for duplicate detection. */
#define FAST_MAX_KEYS  64

/* Internal verdict; the entry point returns FL_INGEST_FAST_DECLINE. */
#define DECLINE FL_JSCAN_DECLINE

struct scan {
    struct fl_jscan      js;     /* cursor and estimate (json_scan.h) */
    int                  max_depth;
    struct fl_ingest    *d;
    size_t               nev;    /* events stored in d->ev */
    size_t               ev_need;/* scratch for the biggest event */
};

/* Raw object keys seen so far in one object, for duplicate detection. */
struct keyset {
    uint64_t             bloom;  /* bit (hash & 63) per key */
    unsigned             n;
    const unsigned char *k[FAST_MAX_KEYS];
    size_t               len[FAST_MAX_KEYS];
};


/* ==== lexical helpers ================================================ */

/* Value of 4 hex digits at p (end bounds the read); -1 if not hex. */
static long
hex4(const unsigned char *p, const unsigned char *end)
{
    long v = 0;
    if (end - p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v += (long)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v += (long)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v += (long)(c - 'A' + 10);
        else
            return -1;
    }
    return v;
}


/* Validates the escape at *qp (a backslash) as jansson decodes it and
 * moves past it; a surrogate pair is one escape. Declines on \u0000 (a
 * NUL jansson refuses), a lone low surrogate, and a high surrogate not
 * followed by a low one. */
static int
escape(const unsigned char **qp, const unsigned char *end)
{
    const unsigned char *q = *qp;

    if (end - q < 2)
        return DECLINE;
    switch (q[1]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r':
    case 't':
        *qp = q + 2;
        return FL_OK;
    case 'u':
        break;
    default:
        return DECLINE;
    }
    long v = hex4(q + 2, end);
    if (v <= 0 || (v >= 0xdc00 && v <= 0xdfff))
        return DECLINE;
    q += 6;
    if (v >= 0xd800 && v <= 0xdbff) {
        if (end - q < 6 || q[0] != '\\' || q[1] != 'u')
            return DECLINE;
        long w = hex4(q + 2, end);
        if (w < 0xdc00 || w > 0xdfff)
            return DECLINE;
        q += 6;
    }
    *qp = q;
    return FL_OK;
}


/* A string at s->js.p (its opening quote): validated, its raw content (what
 * is between the quotes) in *out, the cursor moved past it. */
static int
string(struct scan *s, struct fl_json_str *out)
{
    const unsigned char *q = s->js.p + 1, *end = s->js.end, *start = q;
    int esc = 0;

    for (;;) {
        q = fl_jscan_plain_run(q, end);
        if (q >= end)
            return DECLINE;
        if (*q == '"')
            break;
        if (*q == '\\') {
            esc = 1;
            if (escape(&q, end) < 0)
                return DECLINE;
        } else if (*q < 0x20) {
            return DECLINE;
        } else {
            size_t n = fl_ingest_utf8_seq(q, (size_t)(end - q));
            if (n == 0)
                return DECLINE;
            q += n;
        }
    }
    out->p = (const char *)start;
    out->len = (size_t)(q - start);
    out->esc = esc;
    /* The pre-scan counts from the opening quote to the closing one. */
    s->js.est += FL_INGEST_COST_STRING + out->len + 1;
    s->js.p = q + 1;
    return FL_OK;
}


/* A number at s->js.p. Only integers that strtoll takes without ERANGE are
 * accepted (at most 18 digits, or 19 that fit), and no real numbers.
 * *out_ms: the value if it is a non-negative integer without a '-' sign,
 * else -1. */
static int
number(struct scan *s, int64_t *out_ms)
{
    const unsigned char *p = s->js.p, *end = s->js.end;
    int neg = 0;
    int64_t v;

    if (*p == '-') {
        neg = 1;
        p++;
    }
    const unsigned char *d0 = p;
    if (fl_jscan_digits(&p, end, &v) < 0)
        return DECLINE;
    /* 19 digits that fit are fine unsigned; keep negatives simple. */
    if (neg && p - d0 > 18)
        return DECLINE;
    *out_ms = neg ? -1 : v;
    s->js.est += FL_INGEST_COST_SCALAR;
    s->js.p = p;
    return FL_OK;
}


static int
literal(struct scan *s, const char *word, size_t n)
{
    if ((size_t)(s->js.end - s->js.p) < n || memcmp(s->js.p, word, n) != 0)
        return DECLINE;
    s->js.p += n;
    s->js.est += FL_INGEST_COST_SCALAR;
    return FL_OK;
}


/* Adds a raw key (no escapes) to ks; declines on a duplicate or when
 * full. */
static int
keyset_add(struct keyset *ks, const struct fl_json_str *k)
{
    const unsigned char *p = (const unsigned char *)k->p;
    unsigned h = (unsigned)k->len * 7u;
    if (k->len > 0)
        h += p[0] * 31u + p[k->len - 1] + p[k->len / 2] * 3u;
    uint64_t bit = (uint64_t)1 << (h & 63);
    if (ks->bloom & bit) {
        for (unsigned i = 0; i < ks->n; i++)
            if (ks->len[i] == k->len && memcmp(ks->k[i], p, k->len) == 0)
                return DECLINE;
    }
    if (ks->n == FAST_MAX_KEYS)
        return DECLINE;
    ks->bloom |= bit;
    ks->k[ks->n] = p;
    ks->len[ks->n] = k->len;
    ks->n++;
    return FL_OK;
}


/* An object key at s->js.p, then its ':'. Keys with escapes decline. */
static int
key(struct scan *s, struct fl_json_str *k)
{
    fl_jscan_ws(&s->js);
    if (fl_jscan_peek(&s->js) != '"' || string(s, k) < 0 || k->esc)
        return DECLINE;
    return fl_jscan_expect(&s->js, ':');
}


static int
key_is(const struct fl_json_str *k, const char *name, size_t n)
{
    return k->len == n && memcmp(k->p, name, n) == 0;
}

#define KEY_IS(k, lit) key_is((k), (lit), sizeof(lit) - 1)


/* ==== values that are only validated ================================= */

static int value(struct scan *s, int depth);


/* An object or array opening at s->js.p; depth is its nesting level. */
static int
open_container(struct scan *s, int depth, size_t cost)
{
    if (depth > s->max_depth || depth > FAST_MAX_DEPTH)
        return DECLINE;
    s->js.est += cost;
    s->js.p++;
    fl_jscan_ws(&s->js);
    return FL_OK;
}


static int
object(struct scan *s, int depth)
{
    struct keyset ks;
    struct fl_json_str k;
    int more;

    ks.bloom = 0;
    ks.n = 0;
    if (open_container(s, depth, FL_INGEST_COST_OBJECT) < 0)
        return DECLINE;
    if (fl_jscan_peek(&s->js) == '}') {
        s->js.p++;
        return FL_OK;
    }
    do {
        if (key(s, &k) < 0 || keyset_add(&ks, &k) < 0
            || value(s, depth + 1) < 0)
            return DECLINE;
    } while ((more = fl_jscan_next_member(&s->js, '}')) == 1);
    return more;
}


/* The elements of an array at s->js.p (its '['), each read by element at
 * depth + 1: every array of the shape (any value, events, filters) is read
 * by this one loop. */
static int
elements(struct scan *s, int depth, int (*element)(struct scan *, int))
{
    int more;

    if (open_container(s, depth, FL_INGEST_COST_ARRAY) < 0)
        return DECLINE;
    if (fl_jscan_peek(&s->js) == ']') {
        s->js.p++;
        return FL_OK;
    }
    do {
        if (element(s, depth + 1) < 0)
            return DECLINE;
    } while ((more = fl_jscan_next_member(&s->js, ']')) == 1);
    return more;
}


static int
array(struct scan *s, int depth)
{
    return elements(s, depth, value);
}


/* Any value; depth is the level an object or array here would have. */
static int
value(struct scan *s, int depth)
{
    struct fl_json_str str;
    int64_t ms;

    fl_jscan_ws(&s->js);
    switch (fl_jscan_peek(&s->js)) {
    case '"':
        return string(s, &str);
    case '{':
        return object(s, depth);
    case '[':
        return array(s, depth);
    case 't':
        return literal(s, "true", 4);
    case 'f':
        return literal(s, "false", 5);
    case 'n':
        return literal(s, "null", 4);
    case '-': case '0': case '1': case '2': case '3': case '4': case '5':
    case '6': case '7': case '8': case '9':
        return number(s, &ms);
    default:
        return DECLINE;
    }
}


/* A string value, skipping whitespace first. */
static int
string_value(struct scan *s, struct fl_json_str *out)
{
    fl_jscan_ws(&s->js);
    if (fl_jscan_peek(&s->js) != '"')
        return DECLINE;
    return string(s, out);
}


/* ==== the CloudWatch Logs shape ====================================== */

/* A timestamp as fl_ingest_json_ms() takes it: a non-negative integer, or
 * a string of 1 to 19 digits (without escapes) that fits in int64_t. */
static int
timestamp(struct scan *s, int64_t *out)
{
    fl_jscan_ws(&s->js);
    if (fl_jscan_peek(&s->js) == '"') {
        struct fl_json_str t;
        if (string(s, &t) < 0 || t.esc || t.len == 0 || t.len > 19)
            return DECLINE;
        int64_t x = 0;
        for (size_t i = 0; i < t.len; i++) {
            if (t.p[i] < '0' || t.p[i] > '9')
                return DECLINE;
            int dig = t.p[i] - '0';
            if (x > (INT64_MAX - dig) / 10)
                return DECLINE;
            x = x * 10 + dig;
        }
        *out = x;
        return FL_OK;
    }
    if (fl_jscan_peek(&s->js) != '-' && (fl_jscan_peek(&s->js) < '0' || fl_jscan_peek(&s->js) > '9'))
        return DECLINE;
    if (number(s, out) < 0 || *out < 0)
        return DECLINE;
    return FL_OK;
}


static int
store_event(struct scan *s, const struct fl_cwl_fast_event *ev)
{
    struct fl_ingest *d = s->d;

    if (s->nev == d->ev_cap) {
        void *p = fl_grow(d->ev, &d->ev_cap, s->nev + 1, sizeof *d->ev, 256);
        if (p == NULL)
            return DECLINE;         /* too many, or out of memory */
        d->ev = p;
    }
    d->ev[s->nev++] = *ev;
    /* Scratch for decoding it: the id and its NUL, the message when it
     * has escapes (decoded text is never longer than its JSON). */
    size_t need = ev->id_len + 1 + (ev->msg_esc ? ev->msg_len : 0);
    if (need > s->ev_need)
        s->ev_need = need;
    return FL_OK;
}


/* The start of an object of the shape (an event, the awslogs envelope, the
 * root), after whitespace: '{' within the depth limit and not empty (each
 * needs keys); ks, for its unknown keys, starts empty. */
static int
open_shape_object(struct scan *s, int depth, struct keyset *ks)
{
    fl_jscan_ws(&s->js);
    if (fl_jscan_peek(&s->js) != '{'
        || open_container(s, depth, FL_INGEST_COST_OBJECT) < 0
        || fl_jscan_peek(&s->js) == '}')
        return DECLINE;
    ks->bloom = 0;
    ks->n = 0;
    return FL_OK;
}


/* {"id": "...", "timestamp": ..., "message": "...", <anything else>} */
static int
event(struct scan *s, int depth)
{
    enum { ID = 1, TS = 2, MSG = 4 };
    struct fl_cwl_fast_event ev = { .id = NULL };
    struct fl_json_str k, v;
    struct keyset ks;
    unsigned seen = 0;
    int more;

    if (open_shape_object(s, depth, &ks) < 0)
        return DECLINE;
    do {
        if (key(s, &k) < 0)
            return DECLINE;
        if (KEY_IS(&k, "id")) {
            if ((seen & ID) || string_value(s, &v) < 0)
                return DECLINE;
            ev.id = v.p;
            ev.id_len = v.len;
            ev.id_esc = (unsigned char)v.esc;
            seen |= ID;
        } else if (KEY_IS(&k, "message")) {
            if ((seen & MSG) || string_value(s, &v) < 0)
                return DECLINE;
            ev.msg = v.p;
            ev.msg_len = v.len;
            ev.msg_esc = (unsigned char)v.esc;
            seen |= MSG;
        } else if (KEY_IS(&k, "timestamp")) {
            if ((seen & TS) || timestamp(s, &ev.ts) < 0)
                return DECLINE;
            seen |= TS;
        } else if (keyset_add(&ks, &k) < 0 || value(s, depth + 1) < 0) {
            return DECLINE;
        }
    } while ((more = fl_jscan_next_member(&s->js, '}')) == 1);
    if (more < 0 || seen != (ID | TS | MSG))
        return DECLINE;
    return store_event(s, &ev);
}


/* A value that must be an array (after whitespace), each element read by
 * element: logEvents and subscriptionFilters. */
static int
array_of(struct scan *s, int depth, int (*element)(struct scan *, int))
{
    fl_jscan_ws(&s->js);
    if (fl_jscan_peek(&s->js) != '[')
        return DECLINE;
    return elements(s, depth, element);
}


/* One name of subscriptionFilters ["name", ...]: a string, only
 * validated. */
static int
filter_name(struct scan *s, int depth)
{
    struct fl_json_str v;
    (void)depth;
    return string_value(s, &v);
}


/* {"data": "<base64>", <anything else>} */
static int
awslogs(struct scan *s, int depth, struct fl_json_str *data)
{
    struct fl_json_str k;
    struct keyset ks;
    int seen = 0, more;

    if (open_shape_object(s, depth, &ks) < 0)
        return DECLINE;
    do {
        if (key(s, &k) < 0)
            return DECLINE;
        if (KEY_IS(&k, "data")) {
            if (seen || string_value(s, data) < 0)
                return DECLINE;
            seen = 1;
        } else if (keyset_add(&ks, &k) < 0 || value(s, depth + 1) < 0) {
            return DECLINE;
        }
    } while ((more = fl_jscan_next_member(&s->js, '}')) == 1);
    return more < 0 || !seen ? DECLINE : FL_OK;
}


static int
root(struct scan *s, int in_awslogs, struct fl_cwl_fast *out)
{
    enum {
        TYPE = 1, OWNER = 2, GROUP = 4, STREAM = 8, FILTERS = 16,
        EVENTS = 32, AWSLOGS = 64
    };
    struct fl_json_str k, v;
    struct keyset ks;
    unsigned seen = 0;
    int more, control = 0;

    if (open_shape_object(s, 1, &ks) < 0)
        return DECLINE;
    do {
        unsigned bit = 0;
        if (key(s, &k) < 0)
            return DECLINE;
        if (KEY_IS(&k, "messageType")) {
            bit = TYPE;
            if ((seen & bit) || string_value(s, &v) < 0 || v.esc)
                return DECLINE;
            if (key_is(&v, "CONTROL_MESSAGE", 15))
                control = 1;
            else if (!key_is(&v, "DATA_MESSAGE", 12))
                return DECLINE;
        } else if (KEY_IS(&k, "owner")) {
            bit = OWNER;
            if ((seen & bit) || string_value(s, &out->owner) < 0)
                return DECLINE;
        } else if (KEY_IS(&k, "logGroup")) {
            bit = GROUP;
            if ((seen & bit) || string_value(s, &out->log_group) < 0)
                return DECLINE;
        } else if (KEY_IS(&k, "logStream")) {
            bit = STREAM;
            if ((seen & bit) || string_value(s, &out->log_stream) < 0)
                return DECLINE;
        } else if (KEY_IS(&k, "subscriptionFilters")) {
            bit = FILTERS;
            if ((seen & bit) || array_of(s, 2, filter_name) < 0)
                return DECLINE;
        } else if (KEY_IS(&k, "logEvents")) {
            bit = EVENTS;
            if ((seen & bit) || array_of(s, 2, event) < 0)
                return DECLINE;
        } else if (KEY_IS(&k, "awslogs")) {
            bit = AWSLOGS;
            if ((seen & bit) || awslogs(s, 2, &out->data) < 0)
                return DECLINE;
        } else if (keyset_add(&ks, &k) < 0 || value(s, 2) < 0) {
            return DECLINE;
        }
        seen |= bit;
    } while ((more = fl_jscan_next_member(&s->js, '}')) == 1);
    if (more < 0)
        return DECLINE;
    fl_jscan_ws(&s->js);
    if (s->js.p != s->js.end)
        return DECLINE;

    /* What json_payload() and cwl() in payload.c decide, in their order. */
    if (seen & TYPE) {
        if (control) {
            out->kind = FL_CWL_FAST_CONTROL;
            return FL_OK;
        }
        if ((seen & (OWNER | GROUP | STREAM | EVENTS))
            != (OWNER | GROUP | STREAM | EVENTS))
            return DECLINE;
        out->kind = FL_CWL_FAST_DATA;
        out->nevents = s->nev;
        out->scratch_need = out->owner.len + out->log_group.len
                            + out->log_stream.len + 3 + s->ev_need;
        return FL_OK;
    }
    if ((seen & AWSLOGS) && !in_awslogs) {
        out->kind = FL_CWL_FAST_AWSLOGS;
        out->scratch_need = out->data.esc ? out->data.len : 0;
        return FL_OK;
    }
    return DECLINE;
}


int
fl_ingest_cwl_fast_scan(struct fl_ingest *d, const char *p, size_t len,
                        int in_awslogs, struct fl_cwl_fast *out)
{
    struct scan s = {
        .js = { .p = (const unsigned char *)p,
                .end = (const unsigned char *)p + len },
        .max_depth = d->lim.max_depth,
        .d = d,
    };

    memset(out, 0, sizeof *out);
    if (root(&s, in_awslogs, out) < 0)
        return FL_INGEST_FAST_DECLINE;
    /* Over the pre-scan's limit: let it say so. The estimate only grows,
     * so the pre-scan trips exactly when the total is over. */
    if (s.js.est > d->lim.max_json_mem)
        return FL_INGEST_FAST_DECLINE;
    return FL_OK;
}


/* ==== decoding strings =============================================== */

size_t
fl_ingest_json_unescape(const char *raw, size_t len, char *out)
{
    const char *p = raw, *end = raw + len;
    char *o = out;

    while (p < end) {
        const char *bs = memchr(p, '\\', (size_t)(end - p));
        size_t n = (size_t)((bs != NULL ? bs : end) - p);
        memcpy(o, p, n);
        o += n;
        if (bs == NULL)
            break;
        p = bs + 2;
        switch (bs[1]) {
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            const unsigned char *h = (const unsigned char *)p;
            const unsigned char *e = (const unsigned char *)end;
            long v = hex4(h, e);
            p += 4;
            if (v >= 0xd800 && v <= 0xdbff) {
                long w = hex4(h + 6, e);
                v = ((v - 0xd800) << 10) + (w - 0xdc00) + 0x10000;
                p += 6;
            }
            if (v < 0x80) {
                *o++ = (char)v;
            } else if (v < 0x800) {
                *o++ = (char)(0xc0 | (v >> 6));
                *o++ = (char)(0x80 | (v & 0x3f));
            } else if (v < 0x10000) {
                *o++ = (char)(0xe0 | (v >> 12));
                *o++ = (char)(0x80 | ((v >> 6) & 0x3f));
                *o++ = (char)(0x80 | (v & 0x3f));
            } else {
                *o++ = (char)(0xf0 | (v >> 18));
                *o++ = (char)(0x80 | ((v >> 12) & 0x3f));
                *o++ = (char)(0x80 | ((v >> 6) & 0x3f));
                *o++ = (char)(0x80 | (v & 0x3f));
            }
            break;
        }
        default:              /* '"', '\\', '/' */
            *o++ = bs[1];
            break;
        }
    }
    return (size_t)(o - out);
}
