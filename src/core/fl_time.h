/* SPDX-License-Identifier: MIT
 *
 * fl_time.h -- UTC calendar arithmetic without the C library's time zone
 * state (gmtime_r is correct but slow and takes a lock on some libcs; the
 * partitioner calls this once per record).
 */
#ifndef FL_TIME_H
#define FL_TIME_H

#include <stdint.h>

struct fl_civil {
    int year, month, day, hour, minute, second;
};

/* Epoch seconds (>= 0) to a UTC calendar time. */
void fl_time_to_civil(int64_t epoch, struct fl_civil *out);

/* Wall-clock seconds since the epoch, and a monotonic clock in seconds. */
int64_t fl_time_now(void);
double  fl_time_mono(void);

#endif /* FL_TIME_H */
