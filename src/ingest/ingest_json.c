/* SPDX-License-Identifier: MIT
 *
 * ingest_json.c -- bounded JSON loading on jansson (see ingest_int.h).
 *
 * jansson has a fixed nesting limit (2048) and no memory limit, and its
 * parse tree can take 100 times the text ("{}" costs about 250 bytes, "1"
 * about 50): a 64 MiB body of "[{},{},...]" would need 5 GB. So before
 * jansson sees a document, one pass over the bytes tracks the nesting
 * depth and adds up the tree's estimated size, and refuses the document
 * when either goes over the decoder's limit. The pass only needs to know
 * where strings start and end; everything else about the syntax is left to
 * jansson, which reports errors with a line and a column.
 *
 * The costs (ingest_int.h) were measured with jansson 2.14 on x86-64
 * glibc (counting allocator, malloc overhead included) and rounded up.
 * cwl_fast.c and firehose_fast.c add up the same estimate (in
 * struct fl_jscan, json_scan.h), so keep them in step.
 */
#include "../core/fl_config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../core/fl_error.h"
#include "ingest_int.h"

#define COST_OBJECT FL_INGEST_COST_OBJECT
#define COST_ARRAY  FL_INGEST_COST_ARRAY
#define COST_STRING FL_INGEST_COST_STRING
#define COST_SCALAR FL_INGEST_COST_SCALAR


/* 1-based line and column of byte off in p. */
static void
position(const unsigned char *p, size_t off, unsigned *line, unsigned *col)
{
    size_t l = 1, bol = 0;
    for (size_t i = 0; i < off; i++) {
        if (p[i] == '\n') {
            l++;
            bol = i + 1;
        }
    }
    *line = l > 0xffffffffu ? 0xffffffffu : (unsigned)l;
    *col = off - bol + 1 > 0xffffffffu ? 0xffffffffu
                                       : (unsigned)(off - bol + 1);
}


static int
is_scalar_char(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z') || c == '.' || c == '+' || c == '-';
}


static int
prescan(const struct fl_ingest_limits *lim, const unsigned char *p,
        size_t len, struct fl_ingest_err *err)
{
    size_t i = 0, est = 0;
    int depth = 0;

    while (i < len) {
        unsigned char c = p[i];
        if (c == '"') {
            size_t start = i++;
            while (i < len && p[i] != '"')
                i += p[i] == '\\' ? 2 : 1;
            est += COST_STRING + (i - start);
        } else if (c == '{' || c == '[') {
            if (++depth > lim->max_depth) {
                unsigned line, col;
                position(p, i, &line, &col);
                fl_ingest_errf(err, "JSON nested deeper than %d levels at"
                               " line %u, column %u", lim->max_depth,
                               line, col);
                err->line = line;
                err->column = col;
                return FL_ETOOBIG;
            }
            est += c == '{' ? COST_OBJECT : COST_ARRAY;
        } else if (c == '}' || c == ']') {
            if (depth > 0)
                depth--;
        } else if (is_scalar_char(c)) {
            est += COST_SCALAR;
            while (i + 1 < len && is_scalar_char(p[i + 1]))
                i++;
        }
        if (est > lim->max_json_mem) {
            fl_ingest_errf(err, "JSON document too large to parse: its"
                           " parse tree would take more than %zu bytes",
                           lim->max_json_mem);
            return FL_ETOOBIG;
        }
        i++;
    }
    return FL_OK;
}


int
fl_ingest_json_load(const struct fl_ingest_limits *lim, const char *p,
                    size_t len, json_t **out, struct fl_ingest_err *err)
{
    json_error_t je;
    int rc = prescan(lim, (const unsigned char *)p, len, err);
    if (rc < 0)
        return rc;

    json_t *root = json_loadb(p, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        if (json_error_code(&je) == json_error_out_of_memory) {
            fl_ingest_errf(err, "out of memory while parsing JSON");
            return FL_ENOMEM;
        }
        fl_ingest_errf(err, "invalid JSON at line %d, column %d: %s",
                       je.line, je.column, je.text);
        err->line = je.line > 0 ? (unsigned)je.line : 0;
        err->column = je.column > 0 ? (unsigned)je.column : 0;
        return FL_EPARSE;
    }
    *out = root;
    return FL_OK;
}


static const char *
type_word(json_type t)
{
    switch (t) {
    case JSON_OBJECT:  return "an object";
    case JSON_ARRAY:   return "an array";
    case JSON_STRING:  return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL:    return "a real number";
    case JSON_TRUE:    return "true";
    case JSON_FALSE:   return "false";
    case JSON_NULL:    return "null";
    }
    return "an unknown value";
}


const char *
fl_ingest_json_type(const json_t *v)
{
    return type_word(json_typeof(v));
}


int
fl_ingest_json_want(struct fl_ingest_err *err, const json_t *v,
                    json_type want, const char *path_fmt, ...)
{
    char path[160];
    va_list ap;

    if (v != NULL && json_typeof(v) == want)
        return FL_OK;
    va_start(ap, path_fmt);
    (void)vsnprintf(path, sizeof path, path_fmt, ap);
    va_end(ap);
    if (v == NULL)
        fl_ingest_errf(err, "%s: missing", path);
    else
        fl_ingest_errf(err, "%s: expected %s, got %s", path, type_word(want),
                       fl_ingest_json_type(v));
    return FL_EPARSE;
}


int
fl_ingest_json_ms(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        if (x < 0)
            return -1;
        *out = (int64_t)x;
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0 || n > 19)
        return -1;
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        int d = s[i] - '0';
        if (x > (INT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    *out = x;
    return 0;
}


int
fl_ingest_ms_error(struct fl_ingest_err *err, const char *path,
                   const json_t *v)
{
    char what[FL_INGEST_QUOTE_MAX + 16];

    if (json_is_string(v)) {
        char q[FL_INGEST_QUOTE_MAX];
        fl_ingest_quote(q, json_string_value(v), json_string_length(v));
        (void)snprintf(what, sizeof what, "a string %s", q);
    } else if (json_is_integer(v)) {
        (void)snprintf(what, sizeof what, "a negative integer");
    } else {
        (void)snprintf(what, sizeof what, "%s", fl_ingest_json_type(v));
    }
    fl_ingest_errf(err, "%s: expected milliseconds since the epoch (an"
                   " integer or a string of digits), got %s", path, what);
    return FL_EPARSE;
}


/* Length of the valid UTF-8 sequence at s[0..n) (1 for ASCII), 0 if
 * invalid: jansson's utf8_check_first/_full -- no overlong forms, no
 * surrogates, nothing above U+10FFFF. Shared by the fast scanners and the
 * response writer so that all three agree with jansson. */
size_t
fl_ingest_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k < len; k++)
        if (s[k] < 0x80 || s[k] > 0xbf)
            return 0;
    return len;
}
