/* SPDX-License-Identifier: MIT
 *
 * fl_json.c -- JSON string literals in the styles of fl_json.h.
 *
 * One function decides how a byte is written (escape_at); the fixed
 * buffer writer and the fl_buf writer only differ in where bytes go.
 */
#include "fl_config.h"

#include <string.h>

#include "../parse/utf8.h"
#include "fl_buf.h"
#include "fl_json.h"

/* The longest escape: \u00XX. */
#define ESC_MAX 6


/* Length of the well-formed UTF-8 sequence at s[0..avail), or 0 when
 * the bytes there are not one. */
static size_t
utf8_seq(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    if (n > avail)
        return 0;
    return fl_utf8_valid_prefix((const char *)s, n) == n ? n : 0;
}


/* How s[i] is written in style: returns the length of its escape in esc,
 * or 0 with *keep set to the bytes from s[i] on that are written as they
 * are (a well-formed UTF-8 sequence counts as one). */
static size_t
escape_at(const unsigned char *s, size_t len, size_t i,
          enum fl_json_style style, char esc[ESC_MAX], size_t *keep)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char c = s[i];
    char short_esc = 0;

    *keep = 1;
    if (c == '"' || c == '\\')
        short_esc = (char)c;
    else if (style != FL_JSON_MINIMAL && c == '\n')
        short_esc = 'n';
    else if (style != FL_JSON_MINIMAL && c == '\r')
        short_esc = 'r';
    else if (style != FL_JSON_MINIMAL && c == '\t')
        short_esc = 't';
    else if (style == FL_JSON_DUCKDB && c == '\b')
        short_esc = 'b';
    else if (style == FL_JSON_DUCKDB && c == '\f')
        short_esc = 'f';
    if (short_esc != 0) {
        esc[0] = '\\';
        esc[1] = short_esc;
        return 2;
    }
    if (c >= 0x20 && c < 0x7f)
        return 0;
    if (style == FL_JSON_STRICT && c >= 0x80) {
        /* Well-formed UTF-8 is JSON text as it is: "é" stays "é". */
        size_t n = utf8_seq(s + i, len - i);
        if (n > 0) {
            *keep = n;
            return 0;
        }
    } else if (style != FL_JSON_STRICT && c >= 0x20) {
        return 0;               /* DEL and high bytes, outside STRICT */
    }
    /* Control bytes, and in STRICT bytes that are not UTF-8, one by one,
     * so the text stays valid JSON whatever the input. */
    esc[0] = '\\'; esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
    esc[4] = hex[c >> 4];
    esc[5] = hex[c & 15];
    return ESC_MAX;
}


size_t
fl_json_escape(char *buf, size_t cap, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    char esc[ESC_MAX];
    size_t o = 0, keep;

    if (cap < 2)
        return 0;
    buf[o++] = '"';
    for (size_t i = 0; i < len; i += keep) {
        if (o + 7 >= cap)
            return 0;
        size_t n = escape_at(u, len, i, FL_JSON_STRICT, esc, &keep);
        if (n > 0) {
            memcpy(buf + o, esc, n);
            o += n;
        } else {
            memcpy(buf + o, s + i, keep);
            o += keep;
        }
    }
    if (o + 1 >= cap)
        return 0;
    buf[o++] = '"';
    return o;
}


int
fl_json_add_escaped(struct fl_buf *b, const char *s, size_t len,
                    enum fl_json_style style)
{
    const unsigned char *u = (const unsigned char *)s;
    char esc[ESC_MAX];
    size_t run = 0, keep;

    /* Bytes written as they are go out in runs, not one by one. An error
     * is sticky in b, so the last append returns the first failure. */
    for (size_t i = 0; i < len; i += keep) {
        size_t n = escape_at(u, len, i, style, esc, &keep);
        if (n == 0)
            continue;
        fl_buf_add(b, s + run, i - run);
        fl_buf_add(b, esc, n);
        run = i + 1;
    }
    return fl_buf_add(b, s + run, len - run);
}


int
fl_json_add_str(struct fl_buf *b, const char *s, size_t len,
                enum fl_json_style style)
{
    fl_buf_addc(b, '"');
    fl_json_add_escaped(b, s, len, style);
    return fl_buf_addc(b, '"');
}
