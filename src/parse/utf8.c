/* SPDX-License-Identifier: MIT
 *
 * utf8.c -- text checks for string fields (see utf8.h).
 *
 * Most flow-log fields are short ASCII, so the common case is eight bytes
 * at a time with no high bit, no byte below 0x20 and no 0x7f; only a word
 * that fails that test is decoded byte by byte.
 */
#include "../core/fl_config.h"

#include <stdint.h>
#include <string.h>

#include "utf8.h"

#define ONES  UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)


/* True when the eight bytes of w are all printable ASCII (0x20-0x7e):
 * no high bit, and no zero byte in w - 0x20.. (a byte < 0x20 borrows) or
 * in w ^ 0x7f.. (DEL). */
static inline int
word_plain(uint64_t w)
{
    if (w & HIGHS)
        return 0;
    uint64_t lo = w - UINT64_C(0x2020202020202020);
    uint64_t del = w ^ UINT64_C(0x7f7f7f7f7f7f7f7f);
    return ((lo & HIGHS) | ((del - ONES) & ~del & HIGHS)) == 0;
}


/* Length of the well-formed UTF-8 sequence starting at s[0] (a byte
 * >= 0x80), or 0 when it is not one (Unicode table 3-7). */
static size_t
seq_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;               /* overlong */
        else if (c == 0xed)
            hi = 0x9f;               /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;               /* overlong */
        else if (c == 0xf4)
            hi = 0x8f;               /* past U+10FFFF */
    } else {
        return 0;
    }
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k < n; k++) {
        if (s[k] < 0x80 || s[k] > 0xbf)
            return 0;
    }
    return n;
}


static enum fl_text_problem
check(const char *s, size_t len, size_t *off, int controls)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        if (len - i >= 8) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (word_plain(w)) {
                i += 8;
                continue;
            }
        }
        unsigned char c = p[i];
        if (c < 0x80) {
            if (controls && (c < 0x20 || c == 0x7f)) {
                *off = i;
                return FL_TEXT_CONTROL;
            }
            i++;
            continue;
        }
        size_t n = seq_len(p + i, len - i);
        if (n == 0) {
            *off = i;
            return FL_TEXT_BAD_UTF8;
        }
        i += n;
    }
    *off = len;
    return FL_TEXT_OK;
}


enum fl_text_problem
fl_text_check(const char *s, size_t len, size_t *off)
{
    return check(s, len, off, 1);
}


size_t
fl_utf8_valid_prefix(const char *s, size_t len)
{
    size_t off;
    (void)check(s, len, &off, 0);
    return off;
}
