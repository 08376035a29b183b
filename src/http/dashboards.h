/* SPDX-License-Identifier: MIT
 *
 * dashboards.h -- the web UI's dashboards as data (docs/ui.md): the rules a
 * dashboard's name and JSON document must follow before it is saved, kept
 * free of libmicrohttpd so that the unit tests can check them
 * (tests/unit/test_dashboards.c). dashboards.c implements them and the
 * endpoints /api/dashboards and /api/dashboards/NAME.
 */
#ifndef FL_DASHBOARDS_H
#define FL_DASHBOARDS_H

#include <stddef.h>

#include "../core/fl_error.h"

/* The largest dashboard document accepted, and the most widgets. */
#define FL_DASHBOARD_MAX_BYTES   (256u << 10)
#define FL_DASHBOARD_MAX_WIDGETS 100

/* The embedded default dashboard's name; "default" names it too. */
#define FL_DASHBOARD_DEFAULT "VPC-Flow-Log-Analysis"

/* Whether name is a dashboard name: 1 to 64 of [A-Za-z0-9._-], not
 * starting with a dot (so never "..", never a hidden file). */
int fl_dashboard_name_ok(const char *name);

/* Whether body[0..len) is a dashboard document: a JSON object with a
 * "widgets" array of at most FL_DASHBOARD_MAX_WIDGETS objects, each with a
 * known "type" and numeric "w", "h", "x", "y" (and the optional fields of
 * the right JSON types). 0, or FL_EPARSE with what is wrong in err. Size
 * is the caller's check (413, not 400). */
int fl_dashboard_validate(const char *body, size_t len, struct fl_err *err);

#endif /* FL_DASHBOARDS_H */
