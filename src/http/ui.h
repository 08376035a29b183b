/* SPDX-License-Identifier: MIT
 *
 * ui.h -- the web UI's static files: lookup and the HTTP negotiation rules
 * (gzip or not, ETag revalidation), kept free of libmicrohttpd so that the
 * unit tests can check them (tests/unit/test_ui.c). ui.c implements them
 * and serves the files; docs/ui.md describes the UI.
 */
#ifndef FL_UI_H
#define FL_UI_H

#include "ui_assets.h"

/* The embedded file served at URL path (no query), or NULL. */
const struct fl_ui_asset *fl_ui_find(const char *path);

/* Whether an Accept-Encoding value admits gzip: a "gzip" (or "x-gzip",
 * or "*") element whose q is not 0. NULL (no header) = no. */
int fl_ui_accepts_gzip(const char *accept_encoding);

/* Whether an If-None-Match value names etag (a quoted strong ETag): "*",
 * or a list element equal to it, weak (W/) or not -- RFC 9110 13.1.2
 * compares weakly for If-None-Match. Also true for the element etag with
 * "-gz" before its closing quote, the ETag of the gzip form. */
int fl_ui_etag_matches(const char *if_none_match, const char *etag);

#endif /* FL_UI_H */
