/* SPDX-License-Identifier: MIT
 *
 * fl_error.c -- text and HTTP status of flowlake's return codes, both
 * generated from the tables of fl_error.h.
 */
#include "fl_config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fl_error.h"

const char *
fl_strerror(int rc)
{
#define TEXT_(name, value, text, status) case name: return text;
    switch (rc) {
    case FL_OK:       return "ok";
    FL_ERROR_CODES(TEXT_)
    default:
        break;
    }
#undef TEXT_
    if (rc < 0 && rc > -4096)
        return strerror(-rc);
    return "unknown error";
}


unsigned
fl_http_status(int rc)
{
#define STATUS_(name, value, text, status) case name: return status;
#define ERRNO_STATUS_(name, status) case name: return status;
    if (rc >= 0)
        return 200;
    switch (rc) {
    FL_ERROR_CODES(STATUS_)
    FL_ERRNO_STATUSES(ERRNO_STATUS_)
    default:
        return 500;
    }
#undef STATUS_
#undef ERRNO_STATUS_
}


int
fl_err_set(struct fl_err *e, int code, const char *fmt, ...)
{
    if (e == NULL)
        return code;
    va_list ap;
    va_start(ap, fmt);
    /* Truncation is fine: the message is for a person. */
    if (vsnprintf(e->msg, sizeof e->msg, fmt, ap) < 0)
        e->msg[0] = '\0';
    va_end(ap);
    e->code = code;
    return code;
}


int
fl_err_oom(struct fl_err *e)
{
    return fl_err_set(e, FL_ENOMEM, FL_OOM_TEXT);
}


const char *
fl_err_msg(const struct fl_err *e)
{
    return e->msg[0] != '\0' ? e->msg : fl_strerror(e->code);
}
