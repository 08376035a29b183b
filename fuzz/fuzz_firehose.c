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
#include "fuzz_ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    struct fl_ingest_limits lim = FUZZ_FIREHOSE_LIMITS;
    struct fl_ingest *d = NULL;
    struct fl_firehose_req *req = NULL;
    struct fl_ingest_err err;

    if (fl_ingest_create(&lim, &d) < 0)
        return 0;
    int rc = fl_firehose_parse(d, (const char *)data, size, &req, &err);
    if (rc < 0) {
        if (req != NULL)
            abort();
        fuzz_check_msg(&err);
        check_response("x", err.msg);
        fl_ingest_destroy(d);
        return 0;
    }
    const char *id = fl_firehose_request_id(req);
    if (id[0] == '\0' || strlen(id) > FL_FIREHOSE_MAX_REQUEST_ID)
        abort();
    for (size_t i = 0; i < fl_firehose_nrecords(req); i++) {
        struct fuzz_lines s = { 0 };
        struct fl_ingest_info info;
        char prefix[64];
        rc = fl_firehose_record_decode(d, req, i, fuzz_check_line, &s, &info, &err);
        if (rc < 0) {
            fuzz_check_msg(&err);
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
