/* SPDX-License-Identifier: MIT
 *
 * fuzz_firehose_fast.c -- differential libFuzzer target for the Firehose
 * request fast path (src/ingest/firehose_fast.c): every input is parsed
 * twice by fl_firehose_parse(), by a decoder that may take the fast path
 * and by one forced onto the jansson path (struct fl_ingest's
 * firehose_slow), each from its own copy of the body that is freed right
 * after parsing (firehose.h: the request owns what it needs). The process
 * aborts on any difference in the return code, the error (message, record,
 * line, column), the requestId, the timestamp, the number of records, each
 * record's base64 bytes (and its NUL), or each record's decoding by
 * fl_firehose_record_data().
 *
 * The first input byte picks how the rest is presented and which limits
 * apply; with bits 0-3 the second byte is a parameter:
 *   bit 0:    max_records = 1 + param % 8
 *   bit 1:    max_record_bytes = 1 + param % 16
 *   bit 2:    max_json_mem = 256 + 24 * param (the pre-scan estimate must
 *             agree with the fast path's to the byte)
 *   bit 3:    max_depth = 1 + param % 5
 *   bits 6-7: 0 the rest is the body
 *             1 the rest is the inside of a valid body's records array
 *             2 the rest is one record's data, inside a valid body
 *             3 the rest is more members of a valid body's top object
 *             so that mutations mostly stay in the shape the fast path
 *             accepts.
 */
#include "../src/core/fl_config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/fl_error.h"
#include "../src/ingest/firehose.h"
#include "../src/ingest/ingest.h"
#include "../src/ingest/ingest_int.h"
#include "fuzz_ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


struct result {
    struct fl_ingest       *d;
    struct fl_firehose_req *req;
    struct fl_ingest_err    err;
    int                     rc;
};


static void
run(const struct fl_ingest_limits *lim, int slow, const void *p, size_t n,
    struct result *res)
{
    memset(res, 0, sizeof *res);
    if (fl_ingest_create(lim, &res->d) < 0)
        abort();
    res->d->firehose_slow = slow;
    /* A copy of its own, so that ASan sees any use after it is freed. */
    char *copy = malloc(n + 1);
    if (copy == NULL)
        abort();
    if (n > 0)
        memcpy(copy, p, n);
    res->rc = fl_firehose_parse(res->d, copy, n, &res->req, &res->err);
    free(copy);
}


static void
compare(struct result *a, struct result *b)
{
    if (a->rc != b->rc)
        abort();
    if (a->rc < 0) {
        if (a->req != NULL || b->req != NULL
            || !fuzz_same_err(&a->err, &b->err))
            abort();
        return;
    }
    if (fl_firehose_req_is_fast(b->req))
        abort();
    if (strcmp(fl_firehose_request_id(a->req),
               fl_firehose_request_id(b->req)) != 0
        || fl_firehose_timestamp(a->req) != fl_firehose_timestamp(b->req)
        || fl_firehose_nrecords(a->req) != fl_firehose_nrecords(b->req))
        abort();
    for (size_t i = 0; i < fl_firehose_nrecords(a->req); i++) {
        const char *s[2];
        size_t sn[2];
        fl_firehose_record_b64(a->req, i, &s[0], &sn[0]);
        fl_firehose_record_b64(b->req, i, &s[1], &sn[1]);
        if (sn[0] != sn[1] || memcmp(s[0], s[1], sn[0]) != 0
            || s[0][sn[0]] != '\0' || s[1][sn[1]] != '\0')
            abort();

        const void *v[2];
        size_t vn[2];
        int rc0 = fl_firehose_record_data(a->d, a->req, i, &v[0], &vn[0],
                                          &a->err);
        int rc1 = fl_firehose_record_data(b->d, b->req, i, &v[1], &vn[1],
                                          &b->err);
        if (rc0 != rc1)
            abort();
        if (rc0 < 0 ? strcmp(a->err.msg, b->err.msg) != 0
                      || a->err.record != b->err.record
                    : vn[0] != vn[1]
                      || (vn[0] > 0 && memcmp(v[0], v[1], vn[0]) != 0))
            abort();
    }
}


#define HEAD "{\"requestId\":\"ed4acda5-034f-9f42-bba1-f29aea6d7d8f\"," \
             "\"timestamp\":1578090901599,\"records\":["

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fl_ingest_limits lim = FUZZ_FIREHOSE_LIMITS;
    struct result fast, slow;
    char *doc = NULL;
    unsigned mode, param;
    const uint8_t *p;
    size_t n;

    if (!fuzz_split(data, size, 0x0f, &mode, &param, &p, &n))
        return 0;
    if (mode & 0x0f) {
        if (mode & 1)
            lim.max_records = 1 + param % 8;
        if (mode & 2)
            lim.max_record_bytes = 1 + param % 16;
        if (mode & 4)
            lim.max_json_mem = 256 + 24 * (size_t)param;
        if (mode & 8)
            lim.max_depth = 1 + (int)(param % 5);
    }

    if (mode & 0xc0) {
        static const char *const pre[] = {
            NULL,
            HEAD,
            HEAD "{\"data\":\"QQ==\"},{\"data\":\"",
            HEAD "{\"data\":\"QUJD\"}],",
        };
        static const char *const post[] = { NULL, "]}", "\"}]}", "}" };
        unsigned t = mode >> 6;
        if ((doc = fuzz_wrap(pre[t], p, n, post[t], &n)) == NULL)
            return 0;
        p = (const uint8_t *)doc;
    }

    run(&lim, 0, p, n, &fast);
    run(&lim, 1, p, n, &slow);
    compare(&fast, &slow);
    fl_firehose_destroy(fast.req);
    fl_firehose_destroy(slow.req);
    fl_ingest_destroy(fast.d);
    fl_ingest_destroy(slow.d);
    free(doc);
    return 0;
}
