/* SPDX-License-Identifier: MIT
 *
 * http_reply.h -- how an endpoint answers (http.c): a response queued on
 * a libmicrohttpd connection. Its own header so that an endpoint outside
 * src/server/ (metrics/api_metrics.c) can answer without seeing the
 * server's private state (server_int.h).
 */
#ifndef FL_SERVER_HTTP_REPLY_H
#define FL_SERVER_HTTP_REPLY_H

#include <stddef.h>

#include <microhttpd.h>

#include "../core/fl_buf.h"

#include "../core/fl_error.h"

/* The status of a request that failed in the server's own work (the
 * request itself was valid, e.g. SQL the server wrote, a file it saves):
 * fl_http_status's 503 where retrying may help, else 500 -- never the
 * table's 4xx, which would blame the sender for a code that, here, only
 * a fault of the server can produce. */
static inline unsigned
fl_server_fault_status(int rc)
{
    return fl_http_status(rc) == 503 ? 503 : 500;
}

/* Queues a response (copied). Returns libmicrohttpd's MHD_Result. */
enum MHD_Result fl_http_reply(struct MHD_Connection *c, unsigned int status,
                              const char *type, const char *text, size_t len);

/* Serialises j (jansson's json_t; its reference is taken) and answers 200
 * with it, one line; 503 when j is NULL or out of memory. */
struct json_t;
enum MHD_Result fl_http_reply_json(struct MHD_Connection *c,
                                   struct json_t *j);

/* Appends {"error":MSG to b, not closed: the caller adds its own members
 * (",\"line\":3") and then "}\n". Every error answer starts so. Returns 0
 * or b's error. */
int fl_http_error_open(struct fl_buf *b, const char *msg);

/* Queues {"error": msg} with the status. */
enum MHD_Result fl_http_reply_error(struct MHD_Connection *c,
                                    unsigned int status, const char *msg);
/* The same with Retry-After: retry_s (429, 503). */
enum MHD_Result fl_http_reply_retry(struct MHD_Connection *c,
                                    unsigned int status, unsigned retry_s,
                                    const char *msg);

#endif /* FL_SERVER_HTTP_REPLY_H */
