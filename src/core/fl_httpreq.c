/* SPDX-License-Identifier: MIT
 *
 * fl_httpreq.c -- request-target, Authorization and key checks (see
 * fl_httpreq.h).
 */
#include "fl_config.h"

#include <string.h>
#include <strings.h>

#include "fl_httpreq.h"

int
fl_httpreq_target_ok(const char *target)
{
    const char *p = target;
    if (p == NULL || *p != '/')
        return 0;
    while (*p != '\0' && *p != '?') {
        unsigned char ch = (unsigned char)*p;
        if (ch <= 0x20 || ch >= 0x7f || ch == '%' || ch == '\\' || ch == '#')
            return 0;
        if (ch == '/') {
            /* A segment starts here: refuse "", "." and "..". */
            const char *seg = p + 1;
            size_t n = strcspn(seg, "/?");
            if (n == 0 && seg[0] == '/')
                return 0;
            if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.'
                                              && seg[1] == '.'))
                return 0;
        }
        p++;
    }
    if (*p == '?') {
        for (p++; *p != '\0'; p++) {
            unsigned char ch = (unsigned char)*p;
            if (ch <= 0x20 || ch >= 0x7f || ch == '#')
                return 0;
        }
    }
    return 1;
}


int
fl_httpreq_bearer(const char *value, const char **tok, size_t *len)
{
    const char *p = value;
    if (p == NULL)
        return 0;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
        return 0;
    p += 6;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = 0;
    while (p[n] != '\0' && p[n] != ' ' && p[n] != '\t') {
        unsigned char ch = (unsigned char)p[n];
        if (ch < 0x20 || ch == 0x7f)
            return 0;
        n++;
    }
    for (const char *q = p + n; *q != '\0'; q++)
        if (*q != ' ' && *q != '\t')
            return 0;       /* a second word: not one token */
    if (n == 0)
        return 0;
    *tok = p;
    *len = n;
    return 1;
}


int
fl_httpreq_key_matches(const char *key, size_t len,
                       const unsigned char want[FL_SHA256_LEN])
{
    unsigned char got[FL_SHA256_LEN];
    unsigned diff = 0;
    fl_sha256(key, len, got);
    /* Every byte is looked at whatever the earlier ones were. */
    for (size_t i = 0; i < FL_SHA256_LEN; i++)
        diff |= (unsigned)(got[i] ^ want[i]);
    return diff == 0;
}
