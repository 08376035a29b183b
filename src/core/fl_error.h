/* SPDX-License-Identifier: MIT
 *
 * fl_error.h -- the one return-code vocabulary of flowlake.
 *
 * Functions return int: 0 (FL_OK) on success, <0 on error. System call
 * failures are returned as -errno (libuv convention); FL_EAGAIN == -EAGAIN
 * means "incomplete input, call again with more" (nginx NGX_AGAIN). Project
 * codes sit below -4095, outside the errno range, so both can share an int.
 */
#ifndef FL_ERROR_H
#define FL_ERROR_H

#include <errno.h>

#define FL_OK        0
#define FL_EAGAIN    (-EAGAIN)
#define FL_ENOMEM    (-ENOMEM)
#define FL_EPARSE    (-4096)     /* input does not follow its format */
#define FL_ETOOBIG   (-4097)     /* a configured ceiling would be exceeded */
#define FL_ECORRUPT  (-4098)     /* compressed or framed data is damaged */
#define FL_ECONFIG   (-4099)     /* bad option, flag or format string */
#define FL_EDB       (-4100)     /* the SQL engine reported an error */
#define FL_EDUP      (-4101)     /* input already ingested (idempotence) */
#define FL_ETRUNC    (-4102)     /* input ended in the middle of a unit */

/* Human-readable text for a return code; never NULL, never freed. */
const char *fl_strerror(int rc);

#endif /* FL_ERROR_H */
