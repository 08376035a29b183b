/* SPDX-License-Identifier: MIT
 *
 * fl_time.c -- UTC calendar arithmetic (see fl_time.h). The day-to-date
 * conversion is Howard Hinnant's civil_from_days algorithm
 * (http://howardhinnant.github.io/date_algorithms.html), exact for every
 * day of the proleptic Gregorian calendar.
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


double
fl_time_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
