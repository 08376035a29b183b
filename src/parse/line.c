/* SPDX-License-Identifier: MIT
 *
 * line.c -- the flow log line parser (see line.h).
 *
 * Written for speed: one pass over the bytes, no strtok/sscanf, no
 * per-field allocation, integers converted inline. Validity bits are set
 * as fields are stored and cleared again if a later field of the same line
 * fails, so a rejected line leaves no trace in the batch.
 */
#include "../core/fl_config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../core/fl_error.h"
#include "line.h"

/* How much of a bad value an error message quotes. */
#define QUOTE_MAX 40


void
fl_parser_init(struct fl_parser *p, const struct fl_format *fmt,
               fl_extra_index_fn *extra_index, void *ctx)
{
    p->fmt = fmt;
    p->n = fmt->n;
    for (size_t i = 0; i < fmt->n; i++) {
        int f = fmt->field[i];
        if (f >= 0) {
            p->col[i] = f;
            p->type[i] = fl_field_get(f)->type;
        } else {
            int x = extra_index ? extra_index(ctx, fmt->name[i]) : -1;
            p->col[i] = x >= 0 ? FL_FIELD_COUNT + x : -1;
            p->type[i] = FL_TYPE_STRING;
        }
    }
}


static inline int
is_sep(char c)
{
    return c == ' ' || c == '\t';
}


static int
count_fields(const char *p, const char *end)
{
    int n = 0;
    while (p < end) {
        while (p < end && is_sep(*p))
            p++;
        if (p == end)
            break;
        n++;
        while (p < end && !is_sep(*p))
            p++;
    }
    return n;
}


static void
set_err(struct fl_parse_err *err, const struct fl_parser *p, size_t i,
        const char *what, const char *tok, size_t len)
{
    err->field = (int)(i + 1);
    snprintf(err->reason, sizeof err->reason, "field %zu (%s): '%.*s%s' %s",
             i + 1, p->fmt->name[i], (int)(len > QUOTE_MAX ? QUOTE_MAX : len),
             tok, len > QUOTE_MAX ? "..." : "", what);
}


/* Clears the validity bits of `row` set by the fields before position i. */
static void
undo_row(const struct fl_parser *p, struct fl_batch *b, size_t upto,
         size_t row)
{
    uint64_t mask = ~(UINT64_C(1) << (row & 63));
    for (size_t i = 0; i < upto; i++) {
        if (p->col[i] >= 0)
            b->col[p->col[i]].valid[row >> 6] &= mask;
    }
}


int
fl_parse_line(const struct fl_parser *p, struct fl_batch *b,
              const char *line, size_t len, struct fl_parse_err *err)
{
    const char *s = line, *end = line + len;
    size_t row = b->n;
    uint64_t bit = UINT64_C(1) << (row & 63);
    size_t word = row >> 6;
    size_t i;

    /* Trailing CR (CRLF files) and blanks are not part of the last field. */
    while (end > s && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    while (s < end && is_sep(*s))
        s++;
    if (s == end)
        return 1;
    if (row >= b->cap)
        return FL_ETOOBIG;

    for (i = 0; i < p->n; i++) {
        if (s == end) {
            err->field = 0;
            snprintf(err->reason, sizeof err->reason,
                     "expected %zu fields, found %zu", p->n, i);
            goto fail;
        }
        const char *tok = s;
        while (s < end && !is_sep(*s))
            s++;
        size_t tlen = (size_t)(s - tok);
        while (s < end && is_sep(*s))
            s++;

        int c = p->col[i];
        if (tlen == 1 && tok[0] == '-')
            continue;                   /* "-" is NULL: validity bit stays 0 */

        switch (p->type[i]) {
        case FL_TYPE_STRING:
            if (c >= 0) {
                if (tlen > UINT32_MAX) {
                    set_err(err, p, i, "is too long", tok, tlen);
                    goto fail;
                }
                b->col[c].v.str[row].p = tok;
                b->col[c].v.str[row].len = (uint32_t)tlen;
            }
            break;

        case FL_TYPE_INT32:
        case FL_TYPE_INT64: {
            uint64_t v = 0;
            /* 19 digits always fit in uint64; a 20th needs the check. */
            if (tlen > 20) {
                set_err(err, p, i, "overflows a 64-bit integer", tok, tlen);
                goto fail;
            }
            for (size_t k = 0; k < tlen; k++) {
                unsigned d = (unsigned)(unsigned char)tok[k] - '0';
                if (d > 9) {
                    set_err(err, p, i, "is not a number", tok, tlen);
                    goto fail;
                }
                if (k == 19 && v > (UINT64_MAX - d) / 10) {
                    set_err(err, p, i, "overflows a 64-bit integer", tok, tlen);
                    goto fail;
                }
                v = v * 10 + d;
            }
            if (p->type[i] == FL_TYPE_INT32) {
                if (v > INT32_MAX) {
                    set_err(err, p, i, "overflows a 32-bit integer", tok, tlen);
                    goto fail;
                }
                if (c >= 0)
                    b->col[c].v.i32[row] = (int32_t)v;
            } else {
                if (v > INT64_MAX) {
                    set_err(err, p, i, "overflows a 64-bit integer", tok, tlen);
                    goto fail;
                }
                if ((c == FL_F_START || c == FL_F_END) && v > FL_MAX_EPOCH) {
                    set_err(err, p, i, "is past year 9999 (epoch seconds)",
                            tok, tlen);
                    goto fail;
                }
                if (c >= 0)
                    b->col[c].v.i64[row] = (int64_t)v;
            }
            break;
        }
        }
        if (c >= 0)
            b->col[c].valid[word] |= bit;
    }
    if (s != end) {
        err->field = 0;
        snprintf(err->reason, sizeof err->reason,
                 "expected %zu fields, found %zu", p->n,
                 p->n + (size_t)count_fields(s, end));
        goto fail;
    }
    b->n = row + 1;
    return FL_OK;

fail:
    undo_row(p, b, i, row);
    return FL_EPARSE;
}
