/* SPDX-License-Identifier: MIT
 *
 * fuzz_firehose.c -- libFuzzer target for the Firehose HTTP endpoint
 * request decoder: the input is a request body. Every record is decoded
 * all the way (base64, gzip, CloudWatch Logs JSON or text lines) and the
 * response body is built for the outcome. Checks the module's promises:
 * no crash or leak; every error message non-empty printable ASCII, with
 * the record's path in front; no line emitted by a record that fails (all
 * or nothing); text lines without newlines; the response is valid JSON
 * that gives the requestId back.
 */
#include "../src/core/fl_config.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/fl_error.h"
#include "../src/ingest/firehose.h"
#include "../src/ingest/ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
    size_t             lines;
    unsigned long long last_no;
    unsigned           sum;
};


static int
on_line(void *ctx, const struct fl_ingest_line *l)
{
    struct seen *s = ctx;
    if (l->len > 0 && l->p == NULL)
        abort();
    if (l->line_no <= s->last_no)
        abort();
    s->last_no = l->line_no;
    if (l->cwl == NULL) {
        if (l->id != NULL || l->timestamp_ms != -1 || l->len == 0)
            abort();
        if (memchr(l->p, '\n', l->len) != NULL)
            abort();
    } else {
        if (l->id == NULL || l->timestamp_ms < 0 || l->cwl->owner == NULL
            || l->cwl->log_group == NULL || l->cwl->log_stream == NULL)
            abort();
    }
    for (size_t i = 0; i < l->len; i++)
        s->sum += (unsigned char)l->p[i];
    s->lines++;
    return 0;
}


static void
check_msg(const struct fl_ingest_err *err)
{
    if (err->msg[0] == '\0')
        abort();
    for (const char *p = err->msg; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            abort();
}


/* The response must parse back and carry the same requestId. */
static void
check_response(const char *id, const char *msg)
{
    static char buf[FL_FIREHOSE_RESPONSE_MAX];
    size_t n;
    if (fl_firehose_response(id, 1578090903599LL, msg, buf, sizeof buf, &n)
        != 0)
        abort();
    json_error_t je;
    json_t *o = json_loadb(buf, n, 0, &je);
    if (o == NULL)
        abort();
    const char *back = json_string_value(json_object_get(o, "requestId"));
    if (back == NULL || strcmp(back, id) != 0)
        abort();
    json_decref(o);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Small limits, so that the fuzzer reaches them. */
    struct fl_ingest_limits lim = {
        .max_records = 64, .max_record_bytes = 64 * 1024,
        .max_inflated = 256 * 1024, .max_json_mem = 4 * 1024 * 1024,
        .max_depth = 8,
    };
    struct fl_ingest *d = NULL;
    struct fl_firehose_req *req = NULL;
    struct fl_ingest_err err;

    if (fl_ingest_create(&lim, &d) < 0)
        return 0;
    int rc = fl_firehose_parse(d, (const char *)data, size, &req, &err);
    if (rc < 0) {
        if (req != NULL)
            abort();
        check_msg(&err);
        check_response("x", err.msg);
        fl_ingest_destroy(d);
        return 0;
    }
    const char *id = fl_firehose_request_id(req);
    if (id[0] == '\0' || strlen(id) > FL_FIREHOSE_MAX_REQUEST_ID)
        abort();
    for (size_t i = 0; i < fl_firehose_nrecords(req); i++) {
        struct seen s = { 0 };
        struct fl_ingest_info info;
        char prefix[64];
        rc = fl_firehose_record_decode(d, req, i, on_line, &s, &info, &err);
        if (rc < 0) {
            check_msg(&err);
            snprintf(prefix, sizeof prefix, "records[%zu].data: ", i);
            if (s.lines != 0 || err.record != (long)i
                || strncmp(err.msg, prefix, strlen(prefix)) != 0)
                abort();
            if (rc != FL_EPARSE && rc != FL_ETOOBIG && rc != FL_ETRUNC
                && rc != FL_ECORRUPT && rc != FL_ENOMEM)
                abort();
            continue;
        }
        if (info.lines != s.lines)
            abort();
        if (info.kind == FL_INGEST_CWL_CONTROL && s.lines != 0)
            abort();
    }
    check_response(id, NULL);
    fl_firehose_destroy(req);
    fl_ingest_destroy(d);
    return 0;
}
