/* SPDX-License-Identifier: MIT
 *
 * json_scan.h -- the lexical core shared by the two single-pass JSON
 * scanners of the ingest fast paths, cwl_fast.c (CloudWatch Logs payloads)
 * and firehose_fast.c (Firehose request bodies): the cursor with the
 * pre-scan's parse-tree estimate, whitespace, separators, integer digits,
 * and the 8-bytes-at-a-time search for the end of a run of plain string content.
 *
 * Each scanner embeds struct fl_jscan in its own state and adds what only
 * it needs (what strings it accepts, where it stores what it found). The
 * helpers are static inline: they run once per token or per 8 bytes of
 * every string of every request, and a call per byte run would show in the
 * ingest profile.
 *
 * Whitespace is RFC 8259's four bytes, as jansson reads it; a helper never
 * decides more than the scanners did each on its own before, so both stay
 * byte-for-byte in step with the jansson path they stand in for.
 *
 * Thread: any; the scanned text is only read.
 */
#ifndef FL_INGEST_JSON_SCAN_H
#define FL_INGEST_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../core/fl_error.h"

/* The scanners' internal verdict "let the jansson path decide"; each
 * entry point turns it into FL_INGEST_FAST_DECLINE. */
#define FL_JSCAN_DECLINE (-1)

struct fl_jscan {
    const unsigned char *p;      /* cursor */
    const unsigned char *end;
    size_t               est;    /* the pre-scan's parse-tree estimate
                                    (ingest_json.c), summed as it sums */
};


static inline void
fl_jscan_ws(struct fl_jscan *s)
{
    const unsigned char *p = s->p, *end = s->end;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    s->p = p;
}


/* The next byte, or -1 at the end. */
static inline int
fl_jscan_peek(const struct fl_jscan *s)
{
    return s->p < s->end ? *s->p : -1;
}


/* Skips whitespace, then requires byte c. */
static inline int
fl_jscan_expect(struct fl_jscan *s, int c)
{
    fl_jscan_ws(s);
    if (fl_jscan_peek(s) != c)
        return FL_JSCAN_DECLINE;
    s->p++;
    return FL_OK;
}


/* Skips whitespace and a ',' (returns 1) or the closing byte (returns 0);
 * anything else declines. */
static inline int
fl_jscan_next_member(struct fl_jscan *s, int close)
{
    fl_jscan_ws(s);
    int c = fl_jscan_peek(s);
    if (c == ',' || c == close) {
        s->p++;
        return c == ',';
    }
    return FL_JSCAN_DECLINE;
}


/* The digits of a JSON integer at *pp (after any sign), as both scanners
 * take them: "0", or digits without a leading zero that fit in int64_t.
 * Declines on overflow, and when a '.', 'e', 'E' or another digit follows
 * (a real number or a leading zero: jansson's to judge). On success *pp is
 * past the digits. */
static inline int
fl_jscan_digits(const unsigned char **pp, const unsigned char *end,
                int64_t *out)
{
    const unsigned char *p = *pp;
    int64_t v = 0;

    if (p >= end || *p < '0' || *p > '9')
        return FL_JSCAN_DECLINE;
    if (*p == '0') {
        p++;
    } else {
        while (p < end && *p >= '0' && *p <= '9') {
            int dig = *p - '0';
            if (v > (INT64_MAX - dig) / 10)
                return FL_JSCAN_DECLINE;
            v = v * 10 + dig;
            p++;
        }
    }
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E'
                    || (*p >= '0' && *p <= '9')))
        return FL_JSCAN_DECLINE;
    *out = v;
    *pp = p;
    return FL_OK;
}


/* Non-zero when one of the 8 bytes in x ends a run of plain string
 * content: '"', '\\', a control character (below 0x20) or a byte >= 0x80
 * (the start of a UTF-8 sequence, or any non-ASCII byte). */
#define FL_JSCAN_ONES  0x0101010101010101ull
#define FL_JSCAN_HIGHS 0x8080808080808080ull

static inline int
fl_jscan_special8(uint64_t x)
{
    const uint64_t ones = FL_JSCAN_ONES;
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    /* (v - ONES) & ~v & HIGHS is non-zero iff some byte of v is zero;
     * with ONES * 0x20 in place of ONES, iff some byte is below 0x20. */
    return (((q - ones) & ~q) | ((b - ones) & ~b)
            | ((x - ones * 0x20) & ~x) | x) & FL_JSCAN_HIGHS ? 1 : 0;
}


/* The first byte at or after q (before end) that ends a run of plain
 * string content as fl_jscan_special8() defines it, or end. 16 bytes per
 * step while the run is long (base64 strings are hundreds of KB), then 8,
 * then one by one; memcpy is the aligned-or-not load. */
static inline const unsigned char *
fl_jscan_plain_run(const unsigned char *q, const unsigned char *end)
{
    for (;;) {
        while (end - q >= 16) {
            uint64_t x, y;
            memcpy(&x, q, 8);
            memcpy(&y, q + 8, 8);
            if (fl_jscan_special8(x) | fl_jscan_special8(y))
                break;
            q += 16;
        }
        if (end - q >= 8) {
            uint64_t x;
            memcpy(&x, q, 8);
            if (!fl_jscan_special8(x)) {
                q += 8;
                continue;
            }
        }
        break;
    }
    while (q < end && *q != '"' && *q != '\\' && *q >= 0x20 && *q < 0x80)
        q++;
    return q;
}

#endif
