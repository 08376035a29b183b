/* SPDX-License-Identifier: MIT
 *
 * payload.c -- the decoder object and the payload classifier: gzip or not,
 * CloudWatch Logs JSON, Lambda {"awslogs"} event, or text lines (see
 * ingest.h for the grammar and the contracts).
 *
 * Classification looks at bytes, never at headers or names: gzip by its
 * magic (1f 8b), JSON by a first non-blank '{' (a flow-log line starts
 * with a version number or a field name, never a brace), text otherwise.
 * A JSON object is a CloudWatch Logs payload when it has "messageType"
 * (what AWS's own consumer keys on) and a Lambda event when it has
 * "awslogs"; any other JSON object is an error rather than text, so that
 * a sender that wraps lines in some other JSON gets told so.
 *
 * CloudWatch Logs payloads are checked in two passes: the first validates
 * every field of every event, the second hands the lines out, so that a
 * bad event 900 does not leave events 0..899 half-delivered.
 *
 * JSON documents first go to the fast path, json_fast(): cwl_fast.c's
 * single-pass scanner finds the events without jansson, and the lines are
 * handed out from the text itself (decoded into d->js when they contain
 * escapes). The scanner only accepts what the jansson path below would
 * accept with the same result; for anything else it declines before any
 * line is emitted and the jansson path decides, so the errors are worded
 * by the same code as before. d->json_slow turns the fast path off.
 */
#include "../core/fl_config.h"

#include <stdio.h>
#include <string.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "base64.h"
#include "gunzip.h"
#include "ingest_int.h"

/* One decode call. */
struct run {
    struct fl_ingest      *d;
    fl_ingest_line_fn     *fn;
    void                  *ctx;
    struct fl_ingest_info  info;
    struct fl_ingest_err  *err;
    int                    stopped;   /* the callback returned < 0 */
};


/* ==== the decoder ==================================================== */

int
fl_ingest_create(const struct fl_ingest_limits *lim, struct fl_ingest **out)
{
    struct fl_ingest *d = fl_calloc(1, sizeof *d);
    if (d == NULL)
        return FL_ENOMEM;
    if (lim != NULL)
        d->lim = *lim;
    if (d->lim.max_records == 0)
        d->lim.max_records = FL_INGEST_DEFAULT_MAX_RECORDS;
    if (d->lim.max_record_bytes == 0)
        d->lim.max_record_bytes = FL_INGEST_DEFAULT_MAX_RECORD_BYTES;
    if (d->lim.max_inflated == 0)
        d->lim.max_inflated = FL_INGEST_DEFAULT_MAX_INFLATED;
    if (d->lim.max_ratio == 0)
        d->lim.max_ratio = FL_INGEST_DEFAULT_MAX_RATIO;
    if (d->lim.max_json_mem == 0)
        d->lim.max_json_mem = FL_INGEST_DEFAULT_MAX_JSON_MEM;
    if (d->lim.max_depth <= 0)
        d->lim.max_depth = FL_INGEST_DEFAULT_MAX_DEPTH;
    *out = d;
    return FL_OK;
}


void
fl_ingest_destroy(struct fl_ingest *d)
{
    if (d == NULL)
        return;
    fl_free(d->rec);
    fl_free(d->gz);
    fl_free(d->b64);
    fl_free(d->ev);
    fl_free(d->js);
    fl_free(d);
}


const struct fl_ingest_limits *
fl_ingest_limits(const struct fl_ingest *d)
{
    return &d->lim;
}


/* ==== lines out ====================================================== */

static int
emit(struct run *r, const struct fl_ingest_line *line)
{
    if (r->fn != NULL) {
        int rc = r->fn(r->ctx, line);
        if (rc < 0) {
            r->stopped = 1;
            fl_ingest_errf(r->err, "stopped by the line callback: %s",
                           fl_strerror(rc));
            return rc;
        }
    }
    r->info.lines++;
    return FL_OK;
}


/* A CloudWatch Logs event's message, as one line (both the jansson and
 * the fast path): one event is one line, so the newline some shippers
 * keep at its end is dropped. */
static int
emit_event(struct run *r, struct fl_ingest_line *line)
{
    while (line->len > 0 && (line->p[line->len - 1] == '\n'
                             || line->p[line->len - 1] == '\r'))
        line->len--;
    return emit(r, line);
}


static int
text(struct run *r, const char *p, size_t len)
{
    const char *end = p + len;
    unsigned long long no = 0;

    r->info.kind = FL_INGEST_TEXT;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl != NULL ? nl : end;
        size_t n = (size_t)(eol - p);
        no++;
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (n > 0) {
            struct fl_ingest_line line = {
                .p = p, .len = n, .line_no = no,
                .id = NULL, .timestamp_ms = -1, .cwl = NULL,
            };
            int rc = emit(r, &line);
            if (rc < 0)
                return rc;
        }
        p = nl != NULL ? nl + 1 : end;
    }
    return FL_OK;
}


/* ==== CloudWatch Logs ================================================ */

/* A required string member of obj. */
static int
get_string(struct run *r, const json_t *obj, const char *key,
           const char **out)
{
    json_t *v = json_object_get(obj, key);
    int rc = fl_ingest_json_want(r->err, v, JSON_STRING, "%s", key);
    if (rc < 0)
        return rc;
    *out = json_string_value(v);
    return FL_OK;
}


static int
check_event(struct run *r, const json_t *ev, size_t i)
{
    const char *keys[] = { "id", "message" };
    int64_t ts;
    int rc;

    if ((rc = fl_ingest_json_want(r->err, ev, JSON_OBJECT, "logEvents[%zu]",
                                  i)) < 0)
        return rc;
    for (size_t k = 0; k < 2; k++)
        if ((rc = fl_ingest_json_want(r->err, json_object_get(ev, keys[k]),
                                      JSON_STRING, "logEvents[%zu].%s", i,
                                      keys[k])) < 0)
            return rc;
    json_t *t = json_object_get(ev, "timestamp");
    if (t == NULL) {
        fl_ingest_errf(r->err, "logEvents[%zu].timestamp: missing", i);
        return FL_EPARSE;
    }
    if (fl_ingest_json_ms(t, &ts) < 0) {
        char path[64];
        (void)snprintf(path, sizeof path, "logEvents[%zu].timestamp", i);
        return fl_ingest_ms_error(r->err, path, t);
    }
    return FL_OK;
}


static int
cwl(struct run *r, const json_t *root)
{
    struct fl_cwl_meta meta;
    json_t *mt = json_object_get(root, "messageType");
    int rc;

    if ((rc = fl_ingest_json_want(r->err, mt, JSON_STRING,
                                  "messageType")) < 0)
        return rc;
    const char *type = json_string_value(mt);
    if (strcmp(type, "CONTROL_MESSAGE") == 0) {
        /* A reachability check from CloudWatch Logs: its one event is a
         * text for humans, not a flow log. */
        r->info.kind = FL_INGEST_CWL_CONTROL;
        return FL_OK;
    }
    if (strcmp(type, "DATA_MESSAGE") != 0) {
        char q[FL_INGEST_QUOTE_MAX];
        fl_ingest_quote(q, type, json_string_length(mt));
        fl_ingest_errf(r->err, "messageType: unknown value %s (expected"
                       " DATA_MESSAGE or CONTROL_MESSAGE)", q);
        return FL_EPARSE;
    }
    if ((rc = get_string(r, root, "owner", &meta.owner)) < 0
        || (rc = get_string(r, root, "logGroup", &meta.log_group)) < 0
        || (rc = get_string(r, root, "logStream", &meta.log_stream)) < 0)
        return rc;

    json_t *sf = json_object_get(root, "subscriptionFilters");
    if (sf != NULL) {
        if ((rc = fl_ingest_json_want(r->err, sf, JSON_ARRAY,
                                      "subscriptionFilters")) < 0)
            return rc;
        for (size_t i = 0; i < json_array_size(sf); i++)
            if ((rc = fl_ingest_json_want(r->err, json_array_get(sf, i),
                                          JSON_STRING,
                                          "subscriptionFilters[%zu]",
                                          i)) < 0)
                return rc;
    }

    json_t *evs = json_object_get(root, "logEvents");
    if ((rc = fl_ingest_json_want(r->err, evs, JSON_ARRAY, "logEvents")) < 0)
        return rc;
    size_t n = json_array_size(evs);
    for (size_t i = 0; i < n; i++)
        if ((rc = check_event(r, json_array_get(evs, i), i)) < 0)
            return rc;

    r->info.kind = FL_INGEST_CWL_DATA;
    for (size_t i = 0; i < n; i++) {
        const json_t *ev = json_array_get(evs, i);
        const json_t *msg = json_object_get(ev, "message");
        struct fl_ingest_line line = {
            .p = json_string_value(msg),
            .len = json_string_length(msg),
            .line_no = (unsigned long long)i + 1,
            .id = json_string_value(json_object_get(ev, "id")),
            .timestamp_ms = -1,
            .cwl = &meta,
        };
        (void)fl_ingest_json_ms(json_object_get(ev, "timestamp"),
                                &line.timestamp_ms);
        if ((rc = emit_event(r, &line)) < 0)
            return rc;
    }
    return FL_OK;
}


/* ==== the classifier ================================================= */

static int decode(struct run *r, const char *p, size_t len, int cwl_only,
                  int in_awslogs);


static int awslogs_b64(struct run *r, const char *s, size_t n,
                       size_t *out_len);


/* {"awslogs": {"data": "<base64>"}}: decodes data into d->b64. */
static int
awslogs_data(struct run *r, const json_t *aw, size_t *out_len)
{
    int rc = fl_ingest_json_want(r->err, aw, JSON_OBJECT, "awslogs");
    if (rc < 0)
        return rc;
    json_t *data = json_object_get(aw, "data");
    if ((rc = fl_ingest_json_want(r->err, data, JSON_STRING,
                                  "awslogs.data")) < 0)
        return rc;
    return awslogs_b64(r, json_string_value(data), json_string_length(data),
                       out_len);
}


/* Decodes awslogs.data's base64 s[0..n) into d->b64 (both paths). */
static int
awslogs_b64(struct run *r, const char *s, size_t n, size_t *out_len)
{
    struct fl_ingest *d = r->d;
    size_t need = fl_base64_decoded_len(s, n);
    size_t cap = need < d->lim.max_inflated ? need : d->lim.max_inflated;
    int rc = fl_ingest_reserve(&d->b64, &d->b64_cap, cap);
    if (rc < 0) {
        fl_ingest_errf(r->err, FL_OOM_TEXT);
        return rc;
    }
    rc = fl_base64_decode(s, n, d->b64, cap, out_len, r->err);
    if (rc < 0)
        fl_ingest_err_prefix(r->err, "awslogs.data");
    return rc;
}


/* The payload inside a Lambda event, decoded into d->b64 (n bytes). */
static int
awslogs_inner(struct run *r, size_t n)
{
    r->info.awslogs = 1;
    int rc = decode(r, r->d->b64, n, 1, 1);
    if (rc < 0 && !r->stopped)
        fl_ingest_err_prefix(r->err, "awslogs.data");
    return rc;
}


/* Copies or decodes a string the fast scanner found to o, adds a NUL, and
 * returns the byte after it. */
static char *
put_str(char *o, const struct fl_json_str *s)
{
    size_t n = s->len;
    if (s->esc)
        n = fl_ingest_json_unescape(s->p, s->len, o);
    else
        memcpy(o, s->p, n);
    o[n] = '\0';
    return o + n + 1;
}


/* The fast path of json_payload() (cwl_fast.c): the same result without
 * jansson, or FL_INGEST_FAST_DECLINE before anything is emitted or
 * reported, when jansson must decide. */
static int
json_fast(struct run *r, const char *p, size_t len, int in_awslogs)
{
    struct fl_ingest *d = r->d;
    struct fl_cwl_fast doc;
    int rc;

    if (fl_ingest_cwl_fast_scan(d, p, len, in_awslogs, &doc) != FL_OK
        || fl_ingest_reserve(&d->js, &d->js_cap, doc.scratch_need) < 0) {
        d->json_declined++;
        return FL_INGEST_FAST_DECLINE;
    }
    d->json_fast++;

    if (doc.kind == FL_CWL_FAST_CONTROL) {
        r->info.kind = FL_INGEST_CWL_CONTROL;     /* as cwl() */
        return FL_OK;
    }
    if (doc.kind == FL_CWL_FAST_AWSLOGS) {
        const char *s = doc.data.p;
        size_t n = doc.data.len, out_n = 0;
        if (doc.data.esc) {
            n = fl_ingest_json_unescape(s, n, d->js);
            s = d->js;
        }
        if ((rc = awslogs_b64(r, s, n, &out_n)) < 0)
            return rc;
        return awslogs_inner(r, out_n);
    }

    /* DATA_MESSAGE: every event is valid, so emit as cwl() does. */
    struct fl_cwl_meta meta;
    char *o = d->js;
    meta.owner = o;
    o = put_str(o, &doc.owner);
    meta.log_group = o;
    o = put_str(o, &doc.log_group);
    meta.log_stream = o;
    char *ev_buf = put_str(o, &doc.log_stream);

    r->info.kind = FL_INGEST_CWL_DATA;
    for (size_t i = 0; i < doc.nevents; i++) {
        const struct fl_cwl_fast_event *e = &d->ev[i];
        struct fl_json_str id = { e->id, e->id_len, e->id_esc };
        struct fl_ingest_line line = {
            .p = e->msg,
            .len = e->msg_len,
            .line_no = (unsigned long long)i + 1,
            .id = ev_buf,
            .timestamp_ms = e->ts,
            .cwl = &meta,
        };
        o = put_str(ev_buf, &id);
        if (e->msg_esc) {
            line.len = fl_ingest_json_unescape(e->msg, e->msg_len, o);
            line.p = o;
        }
        /* On this path only an escaped newline can be at the end. */
        if ((rc = emit_event(r, &line)) < 0)
            return rc;
    }
    return FL_OK;
}


static int
json_payload(struct run *r, const char *p, size_t len, int in_awslogs)
{
    json_t *root = NULL;
    int rc;

    if (!r->d->json_slow) {
        rc = json_fast(r, p, len, in_awslogs);
        if (rc != FL_INGEST_FAST_DECLINE)
            return rc;
    }
    rc = fl_ingest_json_load(&r->d->lim, p, len, &root, r->err);
    if (rc < 0)
        return rc;
    if (!json_is_object(root)) {
        /* Only a '{' gets here, but "{} []" style input might still. */
        fl_ingest_errf(r->err, "expected a JSON object, got %s",
                       fl_ingest_json_type(root));
        rc = FL_EPARSE;
    } else if (json_object_get(root, "messageType") != NULL) {
        rc = cwl(r, root);
    } else if (!in_awslogs && json_object_get(root, "awslogs") != NULL) {
        size_t n = 0;
        rc = awslogs_data(r, json_object_get(root, "awslogs"), &n);
        /* The tree is no longer needed: free it before the inner payload
         * builds its own. */
        json_decref(root);
        root = NULL;
        if (rc < 0)
            return rc;
        return awslogs_inner(r, n);
    } else if (in_awslogs) {
        fl_ingest_errf(r->err, "not a CloudWatch Logs subscription"
                       " payload: the JSON object has no \"messageType\"");
        rc = FL_EPARSE;
    } else {
        fl_ingest_errf(r->err, "not a CloudWatch Logs payload: the JSON"
                       " object has neither \"messageType\" nor"
                       " \"awslogs\"");
        rc = FL_EPARSE;
    }
    json_decref(root);
    return rc;
}


static int
decode(struct run *r, const char *p, size_t len, int cwl_only,
       int in_awslogs)
{
    if (fl_gunzip_is_gzip(p, len)) {
        struct fl_ingest *d = r->d;
        size_t n = 0;
        int rc = fl_gunzip(p, len, d->lim.max_inflated, d->lim.max_ratio,
                           &d->gz, &d->gz_cap, &n, r->err);
        if (rc < 0)
            return rc;
        if (fl_gunzip_is_gzip(d->gz, n)) {
            fl_ingest_errf(r->err, "gzip data inside gzip data is not"
                           " accepted");
            return FL_EPARSE;
        }
        r->info.gzip = 1;
        p = d->gz;
        len = n;
    }
    size_t i = 0;
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n'
                       || p[i] == '\r'))
        i++;
    if (i < len && p[i] == '{')
        return json_payload(r, p, len, in_awslogs);
    if (cwl_only) {
        fl_ingest_errf(r->err, "not a CloudWatch Logs payload: expected"
                       " gzip data or a JSON object");
        return FL_EPARSE;
    }
    return text(r, p, len);
}


int
fl_ingest_decode_payload(struct fl_ingest *d, const void *data, size_t len,
                         int cwl_only, fl_ingest_line_fn *fn, void *ctx,
                         struct fl_ingest_info *out_info,
                         struct fl_ingest_err *err, int *out_stopped)
{
    struct fl_ingest_err dummy;
    struct run r = {
        .d = d, .fn = fn, .ctx = ctx, .err = err != NULL ? err : &dummy,
    };
    int rc = decode(&r, data, len, cwl_only, 0);
    if (out_stopped != NULL)
        *out_stopped = r.stopped;
    if (rc < 0)
        return rc;
    if (out_info != NULL)
        *out_info = r.info;
    return FL_OK;
}


int
fl_ingest_decode(struct fl_ingest *d, const void *data, size_t len,
                 fl_ingest_line_fn *fn, void *ctx,
                 struct fl_ingest_info *out_info, struct fl_ingest_err *err)
{
    return fl_ingest_decode_payload(d, data, len, 0, fn, ctx, out_info, err,
                                    NULL);
}


int
fl_ingest_decode_cwl(struct fl_ingest *d, const void *data, size_t len,
                     fl_ingest_line_fn *fn, void *ctx,
                     struct fl_ingest_info *out_info,
                     struct fl_ingest_err *err)
{
    return fl_ingest_decode_payload(d, data, len, 1, fn, ctx, out_info, err,
                                    NULL);
}
