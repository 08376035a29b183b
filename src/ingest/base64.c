/* SPDX-License-Identifier: MIT
 *
 * base64.c -- strict base64 decoding (see base64.h).
 *
 * A 256-entry table maps each byte to its 6-bit value or -1; a group of
 * four is decoded with one OR of the four values to catch any invalid
 * character, so the common all-valid case costs four loads and no branch
 * per character. The first bad character is then located for the message.
 */
#include "../core/fl_config.h"

#include <stdint.h>

#include "../core/fl_error.h"
#include "base64.h"
#include "ingest_int.h"

static const signed char b64_val[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1, -1, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
    -1,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, -1,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};


size_t
fl_base64_decoded_len(const char *src, size_t len)
{
    if (len % 4 != 0)
        return (len + 3) / 4 * 3;
    size_t n = len / 4 * 3;
    if (len >= 4 && src[len - 1] == '=') {
        n--;
        if (src[len - 2] == '=')
            n--;
    }
    return n;
}


static int
bad_char(struct fl_ingest_err *err, size_t off)
{
    fl_ingest_errf(err, "invalid base64 at offset %zu", off);
    return FL_EPARSE;
}


/* The first of s[i..i+n) that is not in the alphabet. */
static size_t
first_bad(const unsigned char *s, size_t i, size_t n)
{
    for (size_t j = i; j < i + n; j++)
        if (b64_val[s[j]] < 0)
            return j;
    return i + n;       /* not reached when the caller saw a bad value */
}


int
fl_base64_decode(const char *src, size_t len, void *dst, size_t cap,
                 size_t *out_len, struct fl_ingest_err *err)
{
    const unsigned char *s = (const unsigned char *)src;
    unsigned char *o = dst;
    struct fl_ingest_err dummy;

    if (err == NULL)
        err = &dummy;
    if (len % 4 != 0) {
        /* Name a bad character first: it is the likelier mistake. */
        for (size_t i = 0; i < len; i++)
            if (b64_val[s[i]] < 0 && s[i] != '=')
                return bad_char(err, i);
        fl_ingest_errf(err, "invalid base64: length %zu is not a multiple"
                       " of 4", len);
        return FL_EPARSE;
    }
    size_t n = fl_base64_decoded_len(src, len);
    if (n > cap) {
        fl_ingest_errf(err, "base64 data decodes to %zu bytes, over the"
                       " limit of %zu", n, cap);
        return FL_ETOOBIG;
    }
    if (len == 0) {
        *out_len = 0;
        return FL_OK;
    }

    size_t i = 0;
    for (; i + 4 < len; i += 4) {
        int a = b64_val[s[i]], b = b64_val[s[i + 1]];
        int c = b64_val[s[i + 2]], d = b64_val[s[i + 3]];
        if ((a | b | c | d) < 0)
            return bad_char(err, first_bad(s, i, 4));
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12
                   | (uint32_t)c << 6 | (uint32_t)d;
        *o++ = (unsigned char)(v >> 16);
        *o++ = (unsigned char)(v >> 8);
        *o++ = (unsigned char)v;
    }

    /* The last group: "xx==", "xxx=" or "xxxx". A "=" anywhere else is
     * simply not in the alphabet. */
    size_t pad = len / 4 * 3 - n;
    int a = b64_val[s[i]], b = b64_val[s[i + 1]];
    int c = pad >= 2 ? 0 : b64_val[s[i + 2]];
    int d = pad >= 1 ? 0 : b64_val[s[i + 3]];
    if ((a | b | c | d) < 0)
        return bad_char(err, first_bad(s, i, 4 - pad));
    uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12
               | (uint32_t)c << 6 | (uint32_t)d;
    *o++ = (unsigned char)(v >> 16);
    if (pad < 2)
        *o++ = (unsigned char)(v >> 8);
    if (pad < 1)
        *o = (unsigned char)v;
    *out_len = n;
    return FL_OK;
}
