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
 * emitted; the line invariants of fuzz_ingest.h.
 */
#include "../src/core/fl_config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/fl_error.h"
#include "../src/core/fl_mem.h"
#include "../src/ingest/base64.h"
#include "../src/ingest/gunzip.h"
#include "../src/ingest/ingest.h"
#include "fuzz_ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INFLATED (256 * 1024)

static void
direct(const uint8_t *p, size_t n)
{
    struct fl_ingest_err err;
    unsigned char out[512];
    size_t on = 0, cap = 0;
    char *buf = NULL;

    int rc = fl_base64_decode((const char *)p, n, out, sizeof out, &on, &err);
    if (rc < 0)
        fuzz_check_msg(&err);
    else if (on > sizeof out || on != fl_base64_decoded_len((const char *)p,
                                                            n))
        abort();
    rc = fl_gunzip(p, n, 4096, 100, &buf, &cap, &on, &err);
    if (rc < 0)
        fuzz_check_msg(&err);
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
    struct fuzz_lines s = { 0 };
    unsigned char *z = NULL;
    char *wrapped = NULL;
    unsigned mode, param;
    const uint8_t *p;
    size_t n;

    if (!fuzz_split(data, size, 0, &mode, &param, &p, &n))
        return 0;

    if (mode & 4)
        direct(p, n);
    if (fl_ingest_create(&lim, &d) < 0)
        return 0;
    int rc;
    switch (mode & 3) {
    case 0:
        rc = fl_ingest_decode(d, p, n, fuzz_check_line, &s, &info, &err);
        break;
    case 1:
        rc = fl_ingest_decode_cwl(d, p, n, fuzz_check_line, &s, &info, &err);
        break;
    case 2: {
        size_t zl = 0;
        if ((z = fuzz_gzip(p, n, &zl)) == NULL)
            goto out;
        rc = fl_ingest_decode_cwl(d, z, zl, fuzz_check_line, &s, &info, &err);
        break;
    }
    default: {
        size_t zl = 0, wl = 0;
        if ((z = fuzz_gzip(p, n, &zl)) == NULL
            || (wrapped = fuzz_awslogs(z, zl, &wl)) == NULL)
            goto out;
        rc = fl_ingest_decode_cwl(d, wrapped, wl, fuzz_check_line, &s, &info, &err);
        break;
    }
    }
    if (rc < 0) {
        fuzz_check_msg(&err);
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
