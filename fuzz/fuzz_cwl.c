/* SPDX-License-Identifier: MIT
 *
 * fuzz_cwl.c -- libFuzzer target for the payload decoders: CloudWatch
 * Logs subscription JSON (DATA_MESSAGE / CONTROL_MESSAGE), the Lambda
 * {"awslogs"} form, gzip, base64 and text lines.
 *
 * The first input byte picks how the rest is presented, so that mutations
 * of plain JSON still reach the code behind gzip and base64 (a mutated
 * gzip stream mostly just fails its CRC):
 *   bits 0-1: 0 rest as is, any kind (fl_ingest_decode)
 *             1 rest as is, CloudWatch Logs only (fl_ingest_decode_cwl)
 *             2 rest gzip'd here first, CloudWatch Logs only
 *             3 rest wrapped here as {"awslogs":{"data":base64(gzip(rest))}}
 *   bit 2:    also run fl_base64_decode and fl_gunzip on the rest directly
 * Checks: no crash or leak; on error a printable message and no line
 * emitted; line invariants as in fuzz_firehose.c.
 */
#include "../src/core/fl_config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../src/core/fl_error.h"
#include "../src/core/fl_mem.h"
#include "../src/ingest/base64.h"
#include "../src/ingest/gunzip.h"
#include "../src/ingest/ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INFLATED (256 * 1024)

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
    } else if (l->id == NULL || l->timestamp_ms < 0) {
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


static unsigned char *
gzip_it(const uint8_t *p, size_t n, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY)
        != Z_OK)
        return NULL;
    size_t cap = deflateBound(&z, (uLong)n) + 64;
    unsigned char *out = malloc(cap);
    if (out == NULL) {
        deflateEnd(&z);
        return NULL;
    }
    z.next_in = (unsigned char *)(uintptr_t)p;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
        free(out);
        deflateEnd(&z);
        return NULL;
    }
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}


/* {"awslogs":{"data":"<base64 of p>"}} */
static char *
awslogs(const unsigned char *p, size_t n, size_t *out_len)
{
    static const char a[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char head[] = "{\"awslogs\":{\"data\":\"", tail[] = "\"}}";
    char *out = malloc(sizeof head + (n + 2) / 3 * 4 + sizeof tail);
    if (out == NULL)
        return NULL;
    char *o = out;
    memcpy(o, head, sizeof head - 1);
    o += sizeof head - 1;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        *o++ = a[v >> 18];
        *o++ = a[(v >> 12) & 63];
        *o++ = i + 1 < n ? a[(v >> 6) & 63] : '=';
        *o++ = i + 2 < n ? a[v & 63] : '=';
    }
    memcpy(o, tail, sizeof tail - 1);
    o += sizeof tail - 1;
    *out_len = (size_t)(o - out);
    return out;
}


static void
direct(const uint8_t *p, size_t n)
{
    struct fl_ingest_err err;
    unsigned char out[512];
    size_t on = 0, cap = 0;
    char *buf = NULL;

    int rc = fl_base64_decode((const char *)p, n, out, sizeof out, &on, &err);
    if (rc < 0)
        check_msg(&err);
    else if (on > sizeof out || on != fl_base64_decoded_len((const char *)p,
                                                            n))
        abort();
    rc = fl_gunzip(p, n, 4096, 100, &buf, &cap, &on, &err);
    if (rc < 0)
        check_msg(&err);
    else if (on > 4096)
        abort();
    fl_free(buf);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fl_ingest_limits lim = {
        .max_inflated = MAX_INFLATED, .max_json_mem = 4 * 1024 * 1024,
        .max_depth = 8,
    };
    struct fl_ingest *d = NULL;
    struct fl_ingest_err err;
    struct fl_ingest_info info;
    struct seen s = { 0 };
    unsigned char *z = NULL;
    char *wrapped = NULL;

    if (size == 0)
        return 0;
    unsigned mode = data[0];
    const uint8_t *p = data + 1;
    size_t n = size - 1;

    if (mode & 4)
        direct(p, n);
    if (fl_ingest_create(&lim, &d) < 0)
        return 0;
    int rc;
    switch (mode & 3) {
    case 0:
        rc = fl_ingest_decode(d, p, n, on_line, &s, &info, &err);
        break;
    case 1:
        rc = fl_ingest_decode_cwl(d, p, n, on_line, &s, &info, &err);
        break;
    case 2: {
        size_t zl = 0;
        if ((z = gzip_it(p, n, &zl)) == NULL)
            goto out;
        rc = fl_ingest_decode_cwl(d, z, zl, on_line, &s, &info, &err);
        break;
    }
    default: {
        size_t zl = 0, wl = 0;
        if ((z = gzip_it(p, n, &zl)) == NULL
            || (wrapped = awslogs(z, zl, &wl)) == NULL)
            goto out;
        rc = fl_ingest_decode_cwl(d, wrapped, wl, on_line, &s, &info, &err);
        break;
    }
    }
    if (rc < 0) {
        check_msg(&err);
        if (s.lines != 0)
            abort();
    } else if (info.lines != s.lines
               || (info.kind == FL_INGEST_CWL_CONTROL && s.lines != 0)
               || ((mode & 3) != 0 && info.kind == FL_INGEST_TEXT)) {
        abort();
    }
out:
    free(z);
    free(wrapped);
    fl_ingest_destroy(d);
    return 0;
}
