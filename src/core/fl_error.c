/* SPDX-License-Identifier: MIT
 *
 * fl_error.c -- text for flowlake's return codes (see fl_error.h).
 */
#include "fl_config.h"

#include <string.h>

#include "fl_error.h"

const char *
fl_strerror(int rc)
{
    switch (rc) {
    case FL_OK:       return "ok";
    case FL_EPARSE:   return "parse error";
    case FL_ETOOBIG:  return "too big";
    case FL_ECORRUPT: return "corrupt input";
    case FL_ECONFIG:  return "bad configuration";
    case FL_EDB:      return "SQL engine error";
    case FL_EDUP:     return "already ingested";
    case FL_ETRUNC:   return "truncated input";
    default:
        break;
    }
    if (rc < 0 && rc > -4096)
        return strerror(-rc);
    return "unknown error";
}
