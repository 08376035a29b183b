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
#include "utf8.h"

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
            p->max[i] = fl_field_max(f);
        } else {
            int x = extra_index ? extra_index(ctx, fmt->name[i]) : -1;
            p->col[i] = x >= 0 ? FL_FIELD_COUNT + x : -1;
            p->type[i] = FL_TYPE_STRING;
            p->max[i] = INT32_MAX;
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


/* First separator (space or tab) at or after s, or end. Eight bytes at a
 * time (SWAR): a byte equal to ' ' or '\t' becomes zero after the XOR,
 * and (v - 0x01..) & ~v & 0x80.. flags zero bytes; the lowest flagged
 * byte is always a true match, which is the one we take. */
static inline const char *
token_end(const char *s, const char *end)
{
    const uint64_t ones = UINT64_C(0x0101010101010101);
    const uint64_t highs = UINT64_C(0x8080808080808080);
    while (end - s >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        uint64_t x = w ^ UINT64_C(0x2020202020202020);
        uint64_t y = w ^ UINT64_C(0x0909090909090909);
        uint64_t hit = (((x - ones) & ~x) | ((y - ones) & ~y)) & highs;
        if (hit != 0)
            return s + (__builtin_ctzll(hit) >> 3);
        s += 8;
    }
    while (s < end && !is_sep(*s))
        s++;
    return s;
}


/* token_end for a text field, also telling whether the words it loaded
 * held a byte outside printable ASCII other than a tab (*suspect): only
 * then does the field need the exact UTF-8 and control-byte check, so
 * plain ASCII costs a few more operations per word, not a second pass.
 * High bits are masked off first so that each per-byte sum stays inside
 * its byte: b + 0x60 has its high bit iff b >= 0x20, b + 0x01 iff b is
 * 0x7f, (b ^ 0x09) + 0x7f iff b is not a tab. Bytes past the token in
 * the last word may raise a false suspicion, never hide a real one. */
static inline const char *
token_end_text(const char *s, const char *end, int *suspect)
{
    const uint64_t ones = UINT64_C(0x0101010101010101);
    const uint64_t highs = UINT64_C(0x8080808080808080);
    const uint64_t low7 = UINT64_C(0x7f7f7f7f7f7f7f7f);
    uint64_t bad = 0;
    while (end - s >= 8) {
        uint64_t w, w7, z;
        memcpy(&w, s, 8);
        w7 = w & low7;
        z = w7 ^ UINT64_C(0x0909090909090909);
        bad |= w | (w7 + ones) | (~(w7 + UINT64_C(0x6060606060606060))
                                  & (z + low7));
        uint64_t x = w ^ UINT64_C(0x2020202020202020);
        uint64_t y = w ^ UINT64_C(0x0909090909090909);
        uint64_t hit = (((x - ones) & ~x) | ((y - ones) & ~y)) & highs;
        if (hit != 0) {
            *suspect = (bad & highs) != 0;
            return s + (__builtin_ctzll(hit) >> 3);
        }
        s += 8;
    }
    int sus = (bad & highs) != 0;
    for (; s < end && !is_sep(*s); s++) {
        unsigned char c = (unsigned char)*s;
        sus |= c < 0x20 || c >= 0x7f;
    }
    *suspect = sus;
    return s;
}


/* Value of 8 decimal digits already reduced to 0..9 per byte, the first
 * digit in the lowest byte (little-endian load): pairwise combination,
 * the classic SWAR conversion used by simdjson and fast_float. */
static inline uint64_t
swar_8digits(uint64_t d)
{
    d = d * 10 + (d >> 8);
    return (((d & UINT64_C(0x000000FF000000FF)) * (100 + (UINT64_C(1000000) << 32)))
          + (((d >> 16) & UINT64_C(0x000000FF000000FF)) * (1 + (UINT64_C(10000) << 32))))
          >> 32;
}


/* Converts the leading digits at s (at most up to end): returns the
 * number of digits consumed and their value in *out (wrapped if more than
 * 19 digits; the caller checks the length). */
static inline size_t
scan_digits(const char *s, const char *end, uint64_t *out)
{
    const char *p = s;
    uint64_t v = 0;
    unsigned d;

    if (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        uint64_t dd = w - UINT64_C(0x3030303030303030);
        /* A byte is a non-digit when c - '0' underflows or exceeds 9; the
         * borrows and carries of the word arithmetic only move upwards, so
         * the lowest flagged byte is exactly the first non-digit. */
        uint64_t nd = (dd | (dd + UINT64_C(0x7676767676767676)))
                    & UINT64_C(0x8080808080808080);
        size_t n = nd ? (size_t)(__builtin_ctzll(nd) >> 3) : 8;
        if (n == 0) {
            *out = 0;
            return 0;
        }
        v = swar_8digits(n == 8 ? dd : dd << (8 * (8 - n)));
        p += n;
        if (n < 8) {
            *out = v;
            return n;
        }
    }
    while (p < end && (d = (unsigned)(unsigned char)*p - '0') <= 9) {
        v = v * 10 + d;
        p++;
    }
    *out = v;
    return (size_t)(p - s);
}


/* Slow path for integers of 20 or more characters, or with a non-digit:
 * exact error message, or the value when it still fits. */
static int
parse_long_int(const char *tok, size_t tlen, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t k = 0; k < tlen; k++) {
        unsigned d = (unsigned)(unsigned char)tok[k] - '0';
        if (d > 9)
            return -1;                      /* not a number */
    }
    for (size_t k = 0; k < tlen; k++) {
        unsigned d = (unsigned)(unsigned char)tok[k] - '0';
        if (v > (UINT64_MAX - d) / 10)
            return -2;                      /* overflow */
        v = v * 10 + d;
    }
    *out = v;
    return 0;
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
        int c = p->col[i];

        if (p->type[i] == FL_TYPE_STRING) {
            int suspect;
            s = token_end_text(s, end, &suspect);
            size_t tlen = (size_t)(s - tok);
            if (c >= 0 && !(tlen == 1 && tok[0] == '-')) {
                if (tlen > UINT32_MAX) {
                    set_err(err, p, i, "is too long", tok, tlen);
                    goto fail;
                }
                size_t off;
                enum fl_text_problem tp = !suspect ? FL_TEXT_OK
                                        : fl_text_check(tok, tlen, &off);
                if (tp != FL_TEXT_OK) {
                    /* The byte is named, not quoted: quoting it would put
                     * the same bad byte into the message. */
                    err->field = (int)(i + 1);
                    snprintf(err->reason, sizeof err->reason,
                             "field %zu (%s): %s byte 0x%02x at byte offset "
                             "%zu of the line", i + 1, p->fmt->name[i],
                             tp == FL_TEXT_CONTROL ? "control"
                                                   : "invalid UTF-8",
                             (unsigned)(unsigned char)tok[off],
                             (size_t)(tok - line) + off);
                    goto fail;
                }
                b->col[c].v.str[row].p = tok;
                b->col[c].v.str[row].len = (uint32_t)tlen;
                b->col[c].valid[word] |= bit;
            }
        } else {
            /* Digits are converted while scanning: one pass per field. */
            uint64_t v;
            s += scan_digits(s, end, &v);
            size_t tlen = (size_t)(s - tok);
            if (s < end && !is_sep(*s)) {
                s = token_end(s, end);
                tlen = (size_t)(s - tok);
                if (tlen == 1 && tok[0] == '-')
                    goto next;              /* "-" is NULL */
                set_err(err, p, i, "is not a number", tok, tlen);
                goto fail;
            }
            if (tlen > 19) {
                /* 19 digits always fit in uint64; longer ones may not
                 * (and the loop above may have wrapped). */
                int lrc = parse_long_int(tok, tlen, &v);
                if (lrc < 0) {
                    set_err(err, p, i, "overflows a 64-bit integer", tok, tlen);
                    goto fail;
                }
            }
            if (p->type[i] == FL_TYPE_INT32) {
                if (v > INT32_MAX) {
                    set_err(err, p, i, "overflows a 32-bit integer", tok, tlen);
                    goto fail;
                }
                if (v > (uint64_t)p->max[i]) {
                    char what[48];
                    snprintf(what, sizeof what, "is out of range (0 to %ld)",
                             (long)p->max[i]);
                    set_err(err, p, i, what, tok, tlen);
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
            if (c >= 0)
                b->col[c].valid[word] |= bit;
        }
next:
        /* AWS writes one space; runs of blanks are tolerated. */
        if (s < end && *s == ' ')
            s++;
        while (s < end && is_sep(*s))
            s++;
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
