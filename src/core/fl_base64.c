/* SPDX-License-Identifier: MIT
 *
 * fl_base64.c -- standard base64 encoding (see fl_base64.h): one group of
 * four characters per three bytes, '=' for the bytes a last group lacks.
 */
#include "fl_config.h"

#include <stdint.h>

#include "fl_base64.h"


size_t
fl_base64_encode(const void *src, size_t len, char *dst)
{
    static const char al[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = src;
    size_t o = 0, i = 0;

    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        dst[o++] = al[v >> 18];
        dst[o++] = al[(v >> 12) & 63];
        dst[o++] = al[(v >> 6) & 63];
        dst[o++] = al[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        dst[o++] = al[v >> 18];
        dst[o++] = al[(v >> 12) & 63];
        dst[o++] = i + 1 < len ? al[(v >> 6) & 63] : '=';
        dst[o++] = '=';
    }
    return o;
}
