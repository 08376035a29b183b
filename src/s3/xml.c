/* SPDX-License-Identifier: MIT
 *
 * xml.c -- element text and listing pages out of S3's XML answers
 * (xml.h).
 */
#include "../core/fl_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/fl_error.h"
#include "xml.h"

#define MAX_KEY 2048          /* S3's longest key is 1,024 bytes */


int
fl_s3_xml_value(const char *xml, const char **from, const char *tag,
                char *out, size_t cap)
{
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = strstr(from != NULL ? *from : xml, open);
    if (a == NULL)
        return -ENOENT;
    a += strlen(open);
    const char *z = strstr(a, close);
    if (z == NULL)
        return -ENOENT;
    static const struct { const char *ent; size_t len; char c; } ents[] = {
        { "&amp;", 5, '&' }, { "&lt;", 4, '<' }, { "&gt;", 4, '>' },
        { "&quot;", 6, '"' }, { "&apos;", 6, '\'' },
    };
    size_t o = 0;
    for (const char *p = a; p < z && o + 1 < cap; ) {
        char c = *p;
        size_t adv = 1;
        for (size_t i = 0; c == '&' && i < sizeof ents / sizeof ents[0]; i++)
            if ((size_t)(z - p) >= ents[i].len
                && strncmp(p, ents[i].ent, ents[i].len) == 0) {
                c = ents[i].c;
                adv = ents[i].len;
                break;
            }
        out[o++] = c;
        p += adv;
    }
    if (cap > 0)
        out[o] = '\0';
    if (from != NULL)
        *from = z + strlen(close);
    return FL_OK;
}


int
fl_s3_xml_list_page(const char *xml, fl_s3_xml_object_fn *fn, void *ctx,
                    int *truncated, char *token, size_t token_cap)
{
    char key[MAX_KEY], size[32], flag[16];
    const char *at = xml, *next;
    *truncated = 0;
    while ((next = strstr(at, "<Contents>")) != NULL) {
        const char *end = strstr(next, "</Contents>");
        if (end == NULL)
            break;
        at = next;
        /* Key and Size of this Contents only, not of the next one. */
        const char *k = at, *s = at;
        int rc;
        if (fl_s3_xml_value(xml, &k, "Key", key, sizeof key) == 0
            && k <= end
            && fl_s3_xml_value(xml, &s, "Size", size, sizeof size) == 0
            && s <= end
            && (rc = fn(ctx, key, strtoull(size, NULL, 10))) != 0)
            return rc;
        at = end + 1;
    }
    if (fl_s3_xml_value(xml, NULL, "IsTruncated", flag, sizeof flag) == 0
        && strcmp(flag, "true") == 0
        && fl_s3_xml_value(xml, NULL, "NextContinuationToken", token,
                           token_cap) == 0)
        *truncated = 1;
    return 0;
}
