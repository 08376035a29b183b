/* SPDX-License-Identifier: MIT
 *
 * server.h -- `flowlake serve`: the long-running server that takes flow
 * logs over HTTP, buffers them and publishes them into the Parquet archive
 * (docs/serve.md).
 *
 * Lifecycle: create (validates the configuration, opens the archive's
 * error log, replays the write-ahead log), start (binds, starts the HTTP
 * threads, the publisher, the metrics and the threaded sources), stop
 * (stops accepting, publishes what is buffered, joins every thread),
 * destroy.
 *
 * Thread: create/start/stop/destroy from one thread (main); the server's
 * own threads are the HTTP pool, the publisher, the metrics thread and
 * those of the folder watcher and the demo.
 */
#ifndef FL_SERVER_H
#define FL_SERVER_H

#include <stdint.h>

#include "../core/fl_error.h"

struct fl_config;
struct fl_config_errors;
struct fl_server;

/* What the HTTP front checks at start, without starting anything (http.c),
 * for `config check` and serve's own check: server.listen parses; each key
 * and key file is usable; no role is left unguarded on an address beyond
 * loopback unless server.allow_unauthenticated; the file-descriptor limit
 * can be raised to what server.max_connections needs; a body of
 * server.max_body fits server.max_inflight_bytes; TLS is available when
 * asked for. Adds every problem to errs with its key's line. Returns 0 or
 * FL_ENOMEM (problems are in errs, not in the return). */
int  fl_http_check_config(const struct fl_config *cfg,
                          struct fl_config_errors *errs);

/* cfg is borrowed and must outlive the server. Each returns 0, or <0
 * with err set. */
int  fl_server_create(const struct fl_config *cfg, struct fl_server **out,
                      struct fl_err *err);
int  fl_server_start(struct fl_server *s, struct fl_err *err);

/* Before start: feed the server generated traffic at this many records
 * per second (serve --demo); 0 = off. */
void fl_server_set_demo(struct fl_server *s, uint64_t records_per_second);

/* The port actually bound (useful with server.listen = HOST:0). */
uint16_t fl_server_port(const struct fl_server *s);

/* Stops accepting (new requests get 503), publishes the buffer, stops the
 * threads. Returns 0 when everything buffered was published. */
int  fl_server_stop(struct fl_server *s);
void fl_server_destroy(struct fl_server *s);

#endif /* FL_SERVER_H */
