/* SPDX-License-Identifier: MIT
 *
 * fl_time.c -- UTC calendar arithmetic (see fl_time.h). The day-to-date
 * conversion is Howard Hinnant's civil_from_days algorithm
 * (http://howardhinnant.github.io/date_algorithms.html), exact for every
 * day of the proleptic Gregorian calendar; its inverse days_from_civil
 * serves the ISO 8601 parser, the Athena date functions and TIMESTAMP
 * literals of the metric language.
 */
#include "fl_config.h"

#include <time.h>

#include "fl_time.h"


void
fl_time_to_civil(int64_t epoch, struct fl_civil *out)
{
    int64_t days = epoch / 86400;
    int64_t secs = epoch % 86400;
    if (secs < 0) {
        secs += 86400;
        days -= 1;
    }
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;

    out->year = (int)(y + (m <= 2));
    out->month = (int)m;
    out->day = (int)d;
    out->hour = (int)(secs / 3600);
    out->minute = (int)(secs / 60 % 60);
    out->second = (int)(secs % 60);
}


int64_t
fl_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}


uint64_t
fl_time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}


double
fl_time_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


int64_t
fl_time_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}


/* Reads exactly n digits at *p (before e) into *out and advances *p. */
static int
digits(const char **p, const char *e, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (*p >= e || **p < '0' || **p > '9')
            return -1;
        v = v * 10 + (*(*p)++ - '0');
    }
    *out = v;
    return 0;
}


int
fl_time_parse_iso8601(const char *s, size_t len, int flags, int64_t *out)
{
    static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30,
                                 31 };
    const char *p = s, *e = s + len;
    int zone = (flags & FL_TIME_ISO_ZONE) != 0;
    int y, mo, d, h = 0, mi = 0, sec = 0, off = 0;

    if (digits(&p, e, 4, &y) < 0 || p >= e || *p++ != '-'
        || digits(&p, e, 2, &mo) < 0 || p >= e || *p++ != '-'
        || digits(&p, e, 2, &d) < 0)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
        return -1;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return -1;
    if (p < e && (*p == 'T' || *p == ' ' || (zone && *p == 't'))) {
        p++;
        if (digits(&p, e, 2, &h) < 0 || p >= e || *p++ != ':'
            || digits(&p, e, 2, &mi) < 0)
            return -1;
        if (p < e && *p == ':') {
            p++;
            if (digits(&p, e, 2, &sec) < 0)
                return -1;
        }
        if (h > 23 || mi > 59 || sec > 59)
            return -1;
        if (zone && p < e && (*p == 'Z' || *p == 'z')) {
            p++;
        } else if (zone && p < e && (*p == '+' || *p == '-')) {
            int sign = *p++ == '-' ? -1 : 1, oh, om;
            if (digits(&p, e, 2, &oh) < 0)
                return -1;
            if (p < e && *p == ':')
                p++;
            if (digits(&p, e, 2, &om) < 0 || oh > 23 || om > 59)
                return -1;
            off = sign * (oh * 3600 + om * 60);
        }
    }
    if (p != e)
        return -1;
    *out = fl_time_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60
           + sec - off;
    return 0;
}


struct timespec
fl_time_deadline(clockid_t clock, uint64_t ms)
{
    struct timespec t;
    clock_gettime(clock, &t);
    t.tv_sec += (time_t)(ms / 1000);
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}
