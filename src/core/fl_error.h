/* SPDX-License-Identifier: MIT
 *
 * fl_error.h -- the one return-code vocabulary of flowlake.
 *
 * Functions return int: 0 (FL_OK) on success, <0 on error. System call
 * failures are returned as -errno (libuv convention); FL_EAGAIN == -EAGAIN
 * means "incomplete input, call again with more" (nginx NGX_AGAIN). Project
 * codes sit below -4095, outside the errno range, so both can share an int.
 *
 * FL_ERROR_CODES is the one table of the project codes: each one's value,
 * text (fl_strerror) and HTTP status (fl_http_status) come from it, so a
 * new code cannot be added without both.
 */
#ifndef FL_ERROR_H
#define FL_ERROR_H

#include <errno.h>

#include "fl_compiler.h"

#define FL_OK        0
#define FL_EAGAIN    (-EAGAIN)
#define FL_ENOMEM    (-ENOMEM)

/* X(name, value, text, HTTP status when it is a request's outcome).
 * The 4xx ones are the sender's input; the rest the server's own. */
#define FL_ERROR_CODES(X) \
    /* input does not follow its format */ \
    X(FL_EPARSE,   -4096, "parse error",       400) \
    /* a configured ceiling would be exceeded */ \
    X(FL_ETOOBIG,  -4097, "too big",           413) \
    /* compressed or framed data is damaged */ \
    X(FL_ECORRUPT, -4098, "corrupt input",     400) \
    /* bad option, flag or format string */ \
    X(FL_ECONFIG,  -4099, "bad configuration", 400) \
    /* the SQL engine reported an error */ \
    X(FL_EDB,      -4100, "SQL engine error",  500) \
    /* input already ingested (idempotence) */ \
    X(FL_EDUP,     -4101, "already ingested",  409) \
    /* input ended in the middle of a unit */ \
    X(FL_ETRUNC,   -4102, "truncated input",   400)

/* HTTP statuses of the errno codes that are not 500: both mean "retry
 * later" (the server has sent 503 with Retry-After for them). Their
 * text stays strerror's. */
#define FL_ERRNO_STATUSES(X) \
    X(FL_ENOMEM, 503) \
    X(FL_EAGAIN, 503)

#define FL_ERROR_ENUM_(name, value, text, status) name = (value),
enum { FL_ERROR_CODES(FL_ERROR_ENUM_) };
#undef FL_ERROR_ENUM_

/* Human-readable text for a return code; never NULL, never freed. */
const char *fl_strerror(int rc);

/* The HTTP status a request ending with rc gets: 200 for FL_OK (and any
 * rc >= 0), the table's status for a project code, 503 for FL_ENOMEM and
 * FL_EAGAIN, 500 for any other errno or an unknown code. */
unsigned fl_http_status(int rc);

/* The error carrier: a return code and the message that explains it to a
 * person, passed down by the caller (on its stack: no allocation, so an
 * out-of-memory failure can still be described; 1024 bytes: the longest
 * messages, a long file path with its reason or a config line, fit). msg
 * is "" until set. */
#define FL_ERR_MSG_MAX 1024
struct fl_err {
    int  code;
    char msg[FL_ERR_MSG_MAX];
};

#define FL_ERR_INIT { 0, "" }

/* Sets e (when not NULL) to code and the formatted message, truncated to
 * fit. Returns code, so that "return fl_err_set(e, FL_EPARSE, ...)" works. */
int fl_err_set(struct fl_err *e, int code, const char *fmt, ...)
    FL_PRINTF(3, 4);

/* The one spelling of the message of an allocation failure, for every
 * answer, log line and error carrier. */
#define FL_OOM_TEXT "out of memory"

/* fl_err_set(e, FL_ENOMEM, FL_OOM_TEXT). */
int fl_err_oom(struct fl_err *e);

/* e's message, else the code's text (fl_strerror). */
const char *fl_err_msg(const struct fl_err *e);

#endif /* FL_ERROR_H */
