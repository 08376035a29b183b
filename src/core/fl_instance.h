/* SPDX-License-Identifier: MIT
 *
 * fl_instance.h -- this process's instance id: the name every file it
 * writes into an archive carries (part-<time>Z-<instance>-<random>-N.parquet),
 * so that the archives of several instances can share one bucket without
 * two of them ever writing the same key. server.instance_id sets it; by
 * default it is the host name.
 *
 * An id is 1 to 32 of A-Z a-z 0-9 and '-'; a host name is made into one
 * (each other character becomes '-', cut at 32).
 *
 * Thread: set once, in main, before any other thread starts; read from
 * any thread after that.
 */
#ifndef FL_INSTANCE_H
#define FL_INSTANCE_H

#include <stddef.h>

#define FL_INSTANCE_MAX 32

/* Whether id is a valid instance id ("" is not). */
int fl_instance_valid(const char *id);

/* Sets the process's id: id, or the host name when id is "" or NULL.
 * Returns 0, or FL_ECONFIG when id is not valid. */
int fl_instance_set(const char *id);

/* The process's id (the host name's when never set). */
const char *fl_instance_id(void);

#endif /* FL_INSTANCE_H */
