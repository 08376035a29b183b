/* SPDX-License-Identifier: MIT
 *
 * fuzz_line.c -- libFuzzer target for the flow log line parser.
 * Input: the first line is a format (a header line, or "${...}" format
 * string; anything else means the default format), the rest are records.
 * Checks that parsing never crashes, never reads outside its line, that
 * a rejected line leaves the batch unchanged, and that every string an
 * accepted line stores is UTF-8 without control bytes (what a Parquet
 * reader needs); header detection among data lines runs on every line.
 */
#include "../src/core/fl_config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/fl_mem.h"
#include "../src/parse/batch.h"
#include "../src/parse/format.h"
#include "../src/parse/line.h"
#include "../src/parse/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
any_extra(void *ctx, const char *name)
{
    (void)ctx;
    return name[0] == 'x' ? 0 : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    const char *nl = memchr(p, '\n', size);
    struct fl_format *fmt = NULL;
    struct fl_parse_err err;
    struct fl_batch *b = NULL;
    struct fl_parser parser;

    if (nl != NULL) {
        size_t len = (size_t)(nl - p);
        if (fl_format_is_header(p, len)) {
            (void)fl_format_from_header(p, len, &fmt, &err);
        } else if (len > 1 && p[0] == '$') {
            char *spec = fl_strndup(p, len);
            if (spec != NULL) {
                (void)fl_format_parse(spec, &fmt, &err);
                fl_free(spec);
            }
        }
        p = nl + 1;
    }
    if (fmt == NULL && fl_format_default(&fmt) < 0)
        return 0;
    if (fl_batch_create(8, 1, &b) < 0) {
        fl_format_destroy(fmt);
        return 0;
    }
    fl_batch_reset(b);
    fl_parser_init(&parser, fmt, any_extra, NULL);
    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        size_t before = b->n;
        int rc = fl_parse_line(&parser, b, p, (size_t)(eol - p), &err);
        if (rc == 0 && b->n != before + 1)
            abort();
        for (size_t c = 0; rc == 0 && c < b->ncols; c++) {
            size_t off;
            if (b->col[c].type == FL_TYPE_STRING
                && fl_batch_is_valid(b, c, before)
                && fl_text_check(b->col[c].v.str[before].p,
                                 b->col[c].v.str[before].len, &off)
                   != FL_TEXT_OK)
                abort();
        }
        char reason[160];
        int h = fl_format_header_line(fmt, p, (size_t)(eol - p), reason,
                                      sizeof reason);
        if (h < 0 || h > 2)
            abort();
        if (rc != 0 && b->n != before)
            abort();
        if (rc < 0 && rc != -4096 && rc != -4097)   /* EPARSE, ETOOBIG */
            abort();
        if (b->n == b->cap)
            fl_batch_reset(b);
        p = nl ? nl + 1 : end;
    }
    fl_batch_destroy(b);
    fl_format_destroy(fmt);
    return 0;
}
