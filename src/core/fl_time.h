/* SPDX-License-Identifier: MIT
 *
 * fl_time.h -- UTC calendar arithmetic without the C library's time zone
 * state (gmtime_r is correct but slow and takes a lock on some libcs; the
 * partitioner calls this once per record).
 */
#ifndef FL_TIME_H
#define FL_TIME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct fl_civil {
    int year, month, day, hour, minute, second;
};

/* Epoch seconds (>= 0) to a UTC calendar time. */
void fl_time_to_civil(int64_t epoch, struct fl_civil *out);

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar (no
 * range check: the caller validates the date). */
int64_t fl_time_days_from_civil(int64_t y, int m, int d);

/* Accept a zone designator after the time (Z, z, +HH:MM, -HHMM) and a
 * lower-case t between date and time. */
#define FL_TIME_ISO_ZONE 1

/* Parses s[0..len): YYYY-MM-DD, optionally followed by (T| )HH:MM[:SS]
 * (and, with FL_TIME_ISO_ZONE, a zone; without one the time is UTC), into
 * epoch seconds. Validates the calendar (February 29 only in leap years).
 * Returns 0, or -1 when s is not such a time. */
int fl_time_parse_iso8601(const char *s, size_t len, int flags,
                          int64_t *out);

/* Wall-clock seconds since the epoch, and a monotonic clock in seconds. */
int64_t fl_time_now(void);
double  fl_time_mono(void);
/* Wall-clock milliseconds since the epoch. */
uint64_t fl_time_now_ms(void);

/* The time ms milliseconds from now on clock (CLOCK_REALTIME for a
 * default condition variable, CLOCK_MONOTONIC for one set to it), as
 * pthread_cond_timedwait wants it. */
struct timespec fl_time_deadline(clockid_t clock, uint64_t ms);

#endif /* FL_TIME_H */
