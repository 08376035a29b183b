/* SPDX-License-Identifier: MIT
 *
 * fl_awspath.c -- account and region from an AWS flow-log S3 path (see
 * fl_awspath.h for the layouts).
 */
#include "fl_config.h"

#include <string.h>

#include "fl_awspath.h"

/* A path component: [p, p + len). */
struct comp {
    const char *p;
    size_t      len;
};


static int
is_account(const char *p, size_t len)
{
    if (len != 12)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
    }
    return 1;
}


static int
is_region(const char *p, size_t len)
{
    if (len == 0 || len > 31)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
    }
    return 1;
}


static int
comp_is(const struct comp *c, const char *s)
{
    size_t n = strlen(s);
    return c->len == n && memcmp(c->p, s, n) == 0;
}


/* c = "key=value": value into *v. */
static int
comp_kv(const struct comp *c, const char *key, struct comp *v)
{
    size_t n = strlen(key);
    if (c->len < n + 1 || memcmp(c->p, key, n) != 0 || c->p[n] != '=')
        return 0;
    v->p = c->p + n + 1;
    v->len = c->len - n - 1;
    return 1;
}


static void
put(char *dst, size_t cap, const char *p, size_t len)
{
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, p, len);
    dst[len] = '\0';
}


/* The three components after AWSLogs/, in either layout. */
static void
from_folders(const struct comp c[3], struct fl_awspath *out)
{
    struct comp acc, svc, reg;
    if (comp_kv(&c[0], "aws-account-id", &acc)
        && comp_kv(&c[1], "aws-service", &svc)
        && comp_kv(&c[2], "aws-region", &reg)) {
        if (!comp_is(&svc, "vpcflowlogs"))
            return;
    } else {
        acc = c[0];
        reg = c[2];
        if (!comp_is(&c[1], "vpcflowlogs"))
            return;
    }
    if (!is_account(acc.p, acc.len) || !is_region(reg.p, reg.len))
        return;
    put(out->account, sizeof out->account, acc.p, acc.len);
    put(out->region, sizeof out->region, reg.p, reg.len);
}


/* <account>_vpcflowlogs_<region>_<flow-log-id>_<time>_<hash>... */
static void
from_name(const char *p, size_t len, struct fl_awspath *out)
{
    struct comp f[4];
    size_t n = 0;
    const char *end = p + len;
    while (n < 4 && p < end) {
        const char *us = memchr(p, '_', (size_t)(end - p));
        if (us == NULL)
            return;
        f[n].p = p;
        f[n].len = (size_t)(us - p);
        n++;
        p = us + 1;
    }
    if (n < 4 || !is_account(f[0].p, f[0].len)
        || !comp_is(&f[1], "vpcflowlogs") || !is_region(f[2].p, f[2].len)
        || f[3].len == 0)
        return;
    if (out->account[0] == '\0')
        put(out->account, sizeof out->account, f[0].p, f[0].len);
    if (out->region[0] == '\0')
        put(out->region, sizeof out->region, f[2].p, f[2].len);
}


int
fl_awspath_parse(const char *path, size_t len, struct fl_awspath *out)
{
    const char *end = path + len, *p = path;
    memset(out, 0, sizeof *out);
    out->awslogs_at = -1;

    /* The last AWSLogs folder: a bucket prefix may itself hold the word. */
    const char *base = path;
    while (p < end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        if (slash == NULL)
            break;
        struct comp c = { p, (size_t)(slash - p) };
        if (comp_is(&c, "AWSLogs"))
            out->awslogs_at = (long)(p - path);
        p = slash + 1;
        base = p;
    }
    if (out->awslogs_at >= 0) {
        struct comp c[3];
        size_t n = 0;
        p = path + out->awslogs_at + sizeof "AWSLogs";
        while (n < 3 && p < base) {
            const char *slash = memchr(p, '/', (size_t)(base - p));
            if (slash == NULL)
                break;
            c[n].p = p;
            c[n].len = (size_t)(slash - p);
            n++;
            p = slash + 1;
        }
        if (n == 3)
            from_folders(c, out);
    }
    from_name(base, (size_t)(end - base), out);
    return out->account[0] != '\0' || out->region[0] != '\0';
}
