/* SPDX-License-Identifier: MIT
 *
 * fl_error.c -- text and HTTP status of flowlake's return codes, both
 * generated from the tables of fl_error.h.
 */
#include "fl_config.h"

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
