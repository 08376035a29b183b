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


/* The number of n digits at p, or -1. */
static long
digits(const char *p, size_t len, size_t n)
{
    long v = 0;
    if (len != n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}


/* YYYYMMDD of a plausible date, else 0. */
static unsigned
make_day(long y, long m, long d)
{
    if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
        return 0;
    return (unsigned)(y * 10000 + m * 100 + d);
}


/* The day folders after the region: YYYY/MM/DD, or year=/month=/day=. */
static unsigned
day_of_folders(const struct comp c[3], int hive)
{
    struct comp y = c[0], m = c[1], d = c[2];
    if (hive && !(comp_kv(&c[0], "year", &y) && comp_kv(&c[1], "month", &m)
                  && comp_kv(&c[2], "day", &d)))
        return 0;
    return make_day(digits(y.p, y.len, 4), digits(m.p, m.len, 2),
                    digits(d.p, d.len, 2));
}


/* The components after AWSLogs/ (n of them, at least 3), in either
 * layout. */
static void
from_folders(const struct comp *c, size_t n, struct fl_awspath *out)
{
    struct comp acc, svc, reg;
    int hive = 0;
    if (comp_kv(&c[0], "aws-account-id", &acc)
        && comp_kv(&c[1], "aws-service", &svc)
        && comp_kv(&c[2], "aws-region", &reg)) {
        if (!comp_is(&svc, "vpcflowlogs"))
            return;
        hive = 1;
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
    if (n >= 6)
        out->day = day_of_folders(c + 3, hive);
}


/* <account>_vpcflowlogs_<region>_<flow-log-id>_<time>_<hash>..., the
 * time YYYYMMDDTHHmmZ. */
static void
from_name(const char *p, size_t len, struct fl_awspath *out)
{
    struct comp f[5];
    size_t n = 0;
    const char *end = p + len;
    while (n < 5 && p < end) {
        const char *us = memchr(p, '_', (size_t)(end - p));
        if (us == NULL)
            break;               /* no time field: 4 fields will do */
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
    if (out->day == 0 && n == 5 && f[4].len == 14 && f[4].p[8] == 'T'
        && f[4].p[13] == 'Z')
        out->day = make_day(digits(f[4].p, 4, 4), digits(f[4].p + 4, 2, 2),
                            digits(f[4].p + 6, 2, 2));
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
        struct comp c[6];
        size_t n = 0;
        p = path + out->awslogs_at + sizeof "AWSLogs";
        while (n < 6 && p < base) {
            const char *slash = memchr(p, '/', (size_t)(base - p));
            if (slash == NULL)
                break;
            c[n].p = p;
            c[n].len = (size_t)(slash - p);
            n++;
            p = slash + 1;
        }
        if (n >= 3)
            from_folders(c, n, out);
    }
    from_name(base, (size_t)(end - base), out);
    return out->account[0] != '\0' || out->region[0] != '\0';
}
