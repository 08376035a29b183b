/* SPDX-License-Identifier: MIT
 *
 * remote_query.h -- `flowlake query --server URL`: sends SQL to a running
 * `flowlake serve` (POST URL/api/query, libcurl) and streams the answer.
 * Thread: the caller's.
 */
#ifndef FL_REMOTE_QUERY_H
#define FL_REMOTE_QUERY_H

#include <stdio.h>

/* Runs sql on the server at base_url ("http://127.0.0.1:8080", with or
 * without a trailing '/'); format is "table", "csv" or "json"; bearer
 * (NULL or "" = none) is sent as "Authorization: Bearer ..." (the
 * server's read key). A 200 answer is written to out as it arrives; a 429
 * is retried after its Retry-After, up to 30 tries. Returns 0; FL_EDB with
 * *out_err = the server's error message; or -errno / FL_ECONFIG with
 * *out_err describing a connection problem. *out_err is fl_free'd by the
 * caller. */
int fl_remote_query(const char *base_url, const char *sql, const char *format,
                    const char *bearer, FILE *out, char **out_err);

/* GET base_url + path ("/api/metrics/partials"), with the same bearer,
 * retries and errors as fl_remote_query; the 200 answer's body to out. */
int fl_remote_get(const char *base_url, const char *path, const char *bearer,
                  FILE *out, char **out_err);

#endif /* FL_REMOTE_QUERY_H */
