/* SPDX-License-Identifier: MIT
 *
 * fl_httpreq.h -- checks on the raw fields of an HTTP request that the
 * server makes before it routes or reads a body: is the request target a
 * canonical path, what bearer token does an Authorization header carry,
 * and does a presented key match a configured one (in constant time).
 *
 * Kept apart from the server (and free of libmicrohttpd) so that the unit
 * tests and the fuzz target can call it directly.
 *
 * Thread: any (no state).
 */
#ifndef FL_HTTPREQ_H
#define FL_HTTPREQ_H

#include <stddef.h>

#include "fl_sha256.h"

/* Whether the raw request target (as sent, before any unescaping, with
 * its query string) names a path the server can route exactly: it starts
 * with '/', and its path part (up to '?') has only printable ASCII, no
 * '%' (no route needs percent-encoding, and decoding is how %00 or %2e%2e
 * would slip past the routing), no '\\', no empty segment ("//"), no "."
 * or ".." segment, no '#'. The query string may hold any printable ASCII
 * (libmicrohttpd decodes its arguments). Returns 1 or 0. */
int fl_httpreq_target_ok(const char *target);

/* Parses an Authorization header value "Bearer TOKEN" (scheme in any case,
 * RFC 6750 section 2.1; blanks around). Returns 1 and points *tok and *len at
 * the token, or 0 when the value is not a bearer credential. */
int fl_httpreq_bearer(const char *value, const char **tok, size_t *len);

/* Whether the len bytes at key hash to want (a SHA-256 digest of the
 * configured key). The digests are compared in full, so the time taken
 * tells nothing of either key's length or content. Returns 1 or 0. */
int fl_httpreq_key_matches(const char *key, size_t len,
                           const unsigned char want[FL_SHA256_LEN]);

#endif /* FL_HTTPREQ_H */
