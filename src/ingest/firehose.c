/* SPDX-License-Identifier: MIT
 *
 * firehose.c -- Firehose HTTP endpoint request parsing and response
 * bodies (see firehose.h for the specification it follows).
 *
 * The request is validated as a whole up front (types, counts, lengths),
 * and the records' base64 is decoded lazily, one record at a time, into
 * the decoder's scratch buffer: a 64 MiB request does not need another
 * 48 MiB of decoded data at once, and a bad record does not hide the good
 * ones. The parsed request keeps jansson's tree, which owns copies of the
 * strings, so the body can be freed after parsing.
 *
 * A canonical body (firehose_fast.c) skips jansson: the fast scan finds
 * the requestId, the timestamp and the records' data in one pass, and the
 * request keeps a copy of those strings only, each NUL-terminated as
 * jansson's are, in the same allocation as itself. d->firehose_slow turns
 * the fast path off.
 */
#include "../core/fl_config.h"

#include <stdio.h>
#include <string.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "base64.h"
#include "firehose.h"
#include "ingest_int.h"

struct fl_firehose_req {
    json_t     *root;          /* owns every string below; NULL when the
                                  fast path parsed the body */
    json_t     *records;       /* borrowed from root */
    const char *request_id;
    int64_t     timestamp;     /* -1 when absent */
    size_t      n;
    struct fl_firehose_fast_rec *rec; /* fast path: record i's data is
                                  bytes[rec[i].off ..], rec[i].len bytes
                                  and a NUL; owned */
    char       *bytes;         /* fast path: the strings, right after this
                                  struct in its allocation */
};


/* The fast path: 0 and *out, or FL_INGEST_FAST_DECLINE (nothing to free,
 * err untouched) when jansson must decide. */
static int
parse_fast(const struct fl_ingest *d, const char *body, size_t len,
           struct fl_firehose_req **out)
{
    struct fl_firehose_fast f;

    if (fl_firehose_fast_scan(d, body, len, &f) != FL_OK)
        return FL_INGEST_FAST_DECLINE;
    if (f.bytes > SIZE_MAX - sizeof(struct fl_firehose_req)) {
        fl_free(f.rec);
        return FL_INGEST_FAST_DECLINE;
    }
    struct fl_firehose_req *req = fl_malloc(sizeof *req + f.bytes);
    if (req == NULL) {
        fl_free(f.rec);
        return FL_INGEST_FAST_DECLINE;
    }
    char *b = (char *)(req + 1);
    memcpy(b, body + f.id_off, f.id_len);
    b[f.id_len] = '\0';
    size_t o = f.id_len + 1;
    for (size_t i = 0; i < f.n; i++) {
        struct fl_firehose_fast_rec *r = &f.rec[i];
        memcpy(b + o, body + r->off, r->len);
        b[o + r->len] = '\0';
        r->off = o;
        o += r->len + 1;
    }
    req->root = NULL;
    req->records = NULL;
    req->request_id = b;
    req->timestamp = f.timestamp;
    req->n = f.n;
    req->rec = f.rec;
    req->bytes = b;
    *out = req;
    return FL_OK;
}


static int
fail_record(struct fl_ingest_err *err, size_t i, int rc)
{
    err->record = (long)i;
    return rc;
}


/* Checks records[i] and its data's type and length. */
static int
check_record(const struct fl_ingest_limits *lim, const json_t *rec,
             size_t i, struct fl_ingest_err *err)
{
    if (fl_ingest_json_want(err, rec, JSON_OBJECT, "records[%zu]", i) < 0)
        return fail_record(err, i, FL_EPARSE);
    json_t *data = json_object_get(rec, "data");
    if (fl_ingest_json_want(err, data, JSON_STRING, "records[%zu].data",
                            i) < 0)
        return fail_record(err, i, FL_EPARSE);
    size_t max_b64 = (lim->max_record_bytes / 3 + 1) * 4;
    if (lim->max_record_bytes % 3 == 0)
        max_b64 -= 4;
    size_t n = json_string_length(data);
    if (n > max_b64) {
        fl_ingest_errf(err, "records[%zu].data: %zu characters of base64,"
                       " over the limit of %zu (%zu bytes decoded)", i, n,
                       max_b64, lim->max_record_bytes);
        return fail_record(err, i, FL_ETOOBIG);
    }
    return FL_OK;
}


int
fl_firehose_parse(const struct fl_ingest *d, const char *body, size_t len,
                  struct fl_firehose_req **out, struct fl_ingest_err *err)
{
    const struct fl_ingest_limits *lim = &d->lim;
    struct fl_ingest_err dummy;
    struct fl_firehose_req *req = NULL;
    json_t *root = NULL;
    int64_t ts = -1;
    int rc;

    if (err == NULL)
        err = &dummy;
    if (!d->firehose_slow && parse_fast(d, body, len, out) == FL_OK)
        return FL_OK;
    rc = fl_ingest_json_load(lim, body, len, &root, err);
    if (rc < 0)
        return rc;
    rc = FL_EPARSE;
    if (!json_is_object(root)) {
        fl_ingest_errf(err, "expected a JSON object at the top level, got"
                       " %s", fl_ingest_json_type(root));
        goto fail;
    }

    json_t *id = json_object_get(root, "requestId");
    if (fl_ingest_json_want(err, id, JSON_STRING, "requestId") < 0)
        goto fail;
    if (json_string_length(id) == 0) {
        fl_ingest_errf(err, "requestId: empty");
        goto fail;
    }
    if (json_string_length(id) > FL_FIREHOSE_MAX_REQUEST_ID) {
        fl_ingest_errf(err, "requestId: %zu bytes, over the limit of %d",
                       json_string_length(id), FL_FIREHOSE_MAX_REQUEST_ID);
        goto fail;
    }

    json_t *t = json_object_get(root, "timestamp");
    if (t != NULL && fl_ingest_json_ms(t, &ts) < 0) {
        rc = fl_ingest_ms_error(err, "timestamp", t);
        goto fail;
    }

    json_t *recs = json_object_get(root, "records");
    if (fl_ingest_json_want(err, recs, JSON_ARRAY, "records") < 0)
        goto fail;
    size_t n = json_array_size(recs);
    if (n > lim->max_records) {
        fl_ingest_errf(err, "records: %zu records, over the limit of %zu",
                       n, lim->max_records);
        rc = FL_ETOOBIG;
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        if ((rc = check_record(lim, json_array_get(recs, i), i, err)) < 0)
            goto fail;

    req = fl_calloc(1, sizeof *req);
    if (req == NULL) {
        fl_ingest_errf(err, FL_OOM_TEXT);
        rc = FL_ENOMEM;
        goto fail;
    }
    req->root = root;
    req->records = recs;
    req->request_id = json_string_value(id);
    req->timestamp = ts;
    req->n = n;
    *out = req;
    return FL_OK;

fail:
    json_decref(root);
    return rc;
}


void
fl_firehose_destroy(struct fl_firehose_req *req)
{
    if (req == NULL)
        return;
    json_decref(req->root);
    fl_free(req->rec);
    fl_free(req);
}


int
fl_firehose_req_is_fast(const struct fl_firehose_req *req)
{
    return req->root == NULL;
}


const char *
fl_firehose_request_id(const struct fl_firehose_req *req)
{
    return req->request_id;
}


int64_t
fl_firehose_timestamp(const struct fl_firehose_req *req)
{
    return req->timestamp;
}


size_t
fl_firehose_nrecords(const struct fl_firehose_req *req)
{
    return req->n;
}


void
fl_firehose_record_b64(const struct fl_firehose_req *req, size_t i,
                       const char **out, size_t *out_len)
{
    if (req->root == NULL) {
        *out = req->bytes + req->rec[i].off;
        *out_len = req->rec[i].len;
        return;
    }
    const json_t *data = json_object_get(json_array_get(req->records, i),
                                         "data");
    *out = json_string_value(data);
    *out_len = json_string_length(data);
}


int
fl_firehose_record_data(struct fl_ingest *d,
                        const struct fl_firehose_req *req, size_t i,
                        const void **out, size_t *out_len,
                        struct fl_ingest_err *err)
{
    struct fl_ingest_err dummy;
    const char *s;
    size_t n, dn = 0;

    if (err == NULL)
        err = &dummy;
    fl_firehose_record_b64(req, i, &s, &n);
    size_t need = fl_base64_decoded_len(s, n);
    size_t cap = need < d->lim.max_record_bytes ? need
                                                : d->lim.max_record_bytes;
    int rc = fl_ingest_reserve(&d->rec, &d->rec_cap, cap);
    if (rc < 0) {
        fl_ingest_errf(err, FL_OOM_TEXT);
    } else {
        rc = fl_base64_decode(s, n, d->rec, cap, &dn, err);
    }
    if (rc < 0) {
        fl_ingest_err_prefix(err, "records[%zu].data", i);
        err->record = (long)i;
        return rc;
    }
    *out = d->rec != NULL ? d->rec : "";
    *out_len = dn;
    return FL_OK;
}


int
fl_firehose_record_decode(struct fl_ingest *d,
                          const struct fl_firehose_req *req, size_t i,
                          fl_ingest_line_fn *fn, void *ctx,
                          struct fl_ingest_info *out_info,
                          struct fl_ingest_err *err)
{
    struct fl_ingest_err dummy;
    const void *data;
    size_t n;
    int stopped = 0;

    if (err == NULL)
        err = &dummy;
    int rc = fl_firehose_record_data(d, req, i, &data, &n, err);
    if (rc < 0)
        return rc;
    rc = fl_ingest_decode_payload(d, data, n, 0, fn, ctx, out_info, err,
                                  &stopped);
    if (rc < 0) {
        if (!stopped)
            fl_ingest_err_prefix(err, "records[%zu].data", i);
        err->record = (long)i;
    }
    return rc;
}


/* ==== responses ====================================================== */

/* Copies s into out (cap bytes, NUL-terminated), replacing each byte that
 * does not start a valid UTF-8 sequence with '?' and stopping before a
 * character that would not fit. Returns the length written. */
static size_t
utf8_clean(const char *s, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0, o = 0;

    while (i < n) {
        size_t k = fl_ingest_utf8_seq(p + i, n - i);
        if (k == 0) {
            if (o + 1 >= cap)
                break;
            out[o++] = '?';
            i++;
            continue;
        }
        if (o + k >= cap)
            break;
        memcpy(out + o, p + i, k);
        o += k;
        i += k;
    }
    out[o] = '\0';
    return o;
}


/* o as JSON text in buf (cap bytes, NUL-terminated), its length in
 * *out_len (when not NULL): the response body and the common attributes
 * are both written this way. FL_ETOOBIG when it does not fit, FL_ENOMEM
 * when jansson fails. */
static int
dump_json(const json_t *o, size_t flags, char *buf, size_t cap,
          size_t *out_len)
{
    size_t w = json_dumpb(o, buf, cap, flags);
    if (w == 0)
        return FL_ENOMEM;
    if (w >= cap)
        return FL_ETOOBIG;
    buf[w] = '\0';
    if (out_len != NULL)
        *out_len = w;
    return FL_OK;
}


int
fl_firehose_response(const char *request_id, int64_t timestamp_ms,
                     const char *error_message, char *buf, size_t cap,
                     size_t *out_len)
{
    char id[FL_FIREHOSE_MAX_REQUEST_ID + 1];
    char msg[FL_FIREHOSE_MAX_ERROR_MESSAGE + 1];
    int rc = FL_ENOMEM;

    if (strlen(request_id) > FL_FIREHOSE_MAX_REQUEST_ID)
        return FL_ETOOBIG;
    size_t idn = utf8_clean(request_id, id, sizeof id);

    json_t *o = json_object();
    if (o == NULL)
        return FL_ENOMEM;
    if (json_object_set_new(o, "requestId", json_stringn(id, idn)) < 0
        || json_object_set_new(o, "timestamp",
                               json_integer((json_int_t)timestamp_ms)) < 0)
        goto out;
    if (error_message != NULL) {
        size_t mn = utf8_clean(error_message, msg, sizeof msg);
        if (json_object_set_new(o, "errorMessage",
                                json_stringn(msg, mn)) < 0)
            goto out;
    }
    rc = dump_json(o, JSON_COMPACT | JSON_PRESERVE_ORDER, buf, cap, out_len);
out:
    json_decref(o);
    return rc;
}


/* ---- request headers ------------------------------------------------ */

/* Copies the field p[0..n) into out (cap bytes) when it is 1..max bytes
 * of characters ok() accepts. */
static int
arn_field(const char *p, size_t n, size_t max, int (*ok)(int c), char *out,
          size_t cap)
{
    if (n == 0 || n > max || n >= cap)
        return FL_EPARSE;
    for (size_t i = 0; i < n; i++) {
        if (!ok((unsigned char)p[i]))
            return FL_EPARSE;
    }
    memcpy(out, p, n);
    out[n] = '\0';
    return FL_OK;
}


static int
region_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}


static int
digit_char(int c)
{
    return c >= '0' && c <= '9';
}


static int
stream_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}


int
fl_firehose_source_arn(const char *arn, size_t len,
                       struct fl_firehose_source *out)
{
    /* arn : partition : firehose : region : account : deliverystream/name */
    const char *f[6];
    size_t n[6], k = 0;
    const char *p = arn, *end = arn + len;
    memset(out, 0, sizeof *out);
    while (k < 5) {
        const char *c = memchr(p, ':', (size_t)(end - p));
        if (c == NULL)
            return FL_EPARSE;
        f[k] = p;
        n[k++] = (size_t)(c - p);
        p = c + 1;
    }
    f[5] = p;
    n[5] = (size_t)(end - p);
    static const char ds[] = "deliverystream/";
    if (n[0] != 3 || memcmp(f[0], "arn", 3) != 0
        || n[1] == 0 || n[1] > 32
        || n[2] != 8 || memcmp(f[2], "firehose", 8) != 0
        || n[5] < sizeof ds || memcmp(f[5], ds, sizeof ds - 1) != 0
        || arn_field(f[3], n[3], 32, region_char, out->region,
                     sizeof out->region) < 0
        || n[4] != 12
        || arn_field(f[4], n[4], 12, digit_char, out->account,
                     sizeof out->account) < 0
        || arn_field(f[5] + sizeof ds - 1, n[5] - (sizeof ds - 1), 64,
                     stream_char, out->stream, sizeof out->stream) < 0) {
        memset(out, 0, sizeof *out);
        return FL_EPARSE;
    }
    for (size_t i = 0; i < n[1]; i++) {
        if (!region_char((unsigned char)f[1][i])) {
            memset(out, 0, sizeof *out);
            return FL_EPARSE;
        }
    }
    return FL_OK;
}


int
fl_firehose_common_attributes(const char *hdr, size_t len, char *out,
                              size_t cap, size_t *out_len)
{
    json_error_t je;
    int rc = FL_EPARSE;
    if (len > FL_FIREHOSE_MAX_ATTRIBUTES || cap == 0)
        return cap == 0 ? FL_ETOOBIG : FL_EPARSE;
    /* A header this short holds at most a few thousand values: no depth
     * or memory check beyond the length is needed. */
    json_t *root = json_loadb(hdr, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return FL_EPARSE;
    json_t *attrs = json_object_get(root, "commonAttributes");
    const char *key;
    json_t *v;
    if (!json_is_object(root) || !json_is_object(attrs))
        goto out;
    json_object_foreach(attrs, key, v) {
        if (!json_is_string(v))
            goto out;
    }
    rc = dump_json(attrs, JSON_COMPACT | JSON_SORT_KEYS, out, cap, out_len);
out:
    json_decref(root);
    return rc;
}
