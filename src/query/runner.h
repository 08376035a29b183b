/* SPDX-License-Identifier: MIT
 *
 * runner.h -- SQL from the network runs in a process of its own: the
 * server writes the query and its snapshot as one message (job.h) into an
 * anonymous file, starts `flowlake query-worker` on it, reads the result
 * from a pipe and waits -- at most the time limit plus a second, after
 * which the process is killed, whatever DuckDB is doing.
 *
 * What this buys, and why a thread could not:
 *   - a time limit that holds: a thread can only ask DuckDB to stop
 *     (duckdb_interrupt), and DuckDB checks between vectors, so one huge
 *     expression runs on; a process is killed;
 *   - a memory ceiling that holds: DuckDB's memory_limit covers its buffer
 *     manager, not strings built by functions such as repeat() or
 *     string_agg(); the worker sets RLIMIT_DATA on itself, so an
 *     allocation beyond query.max_memory fails inside the worker and the
 *     server's own memory never grows with a query;
 *   - nothing a query does (a crash in DuckDB included) can stop ingest;
 *     the worker also runs at a lower CPU priority, so ingest and /healthz
 *     keep answering while queries use every core.
 *
 * The worker (fl_query_worker_main) is the same binary: fork+exec of
 * /proc/self/exe, so it is always the code the server runs.
 */
#ifndef FL_QUERY_RUNNER_H
#define FL_QUERY_RUNNER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "job.h"

/* The worker's exit status says how the query ended. */
enum fl_query_exit {
    FL_QUERY_EXIT_OK       = 0,
    FL_QUERY_EXIT_REFUSED  = 10,   /* not allowed over HTTP (403) */
    FL_QUERY_EXIT_TIMEOUT  = 11,   /* interrupted at the time limit (408) */
    FL_QUERY_EXIT_MEMORY   = 12,   /* out of its memory ceiling */
    FL_QUERY_EXIT_ERROR    = 13,   /* DuckDB's error: bad SQL, missing column ... */
    FL_QUERY_EXIT_INTERNAL = 14    /* a message it could not read, no memory */
};

/* The outcome of a query run by fl_query_runner_run. */
struct fl_query_result {
    unsigned  http_status;         /* 200, 400, 403, 408, 413, 500, 503 */
    char     *body;                /* the result (200) or NULL; fl_free */
    size_t    len;
    char     *error;               /* the message otherwise; fl_free */
    /* The worker's account of the run, one JSON object (worker.c): "rows",
     * "files" (archive files in its view), "blocks" (buffered blocks it
     * parsed), "columns" ([{"name","type"}]) and, for an error DuckDB
     * placed, "line" and "column". NULL when the worker wrote none (killed,
     * or failed before it had a session); fl_free. */
    char     *info;
};

/* What the server enforces from outside the worker. */
struct fl_query_limits {
    unsigned  timeout_s;           /* 0 = none */
    uint64_t  max_result_bytes;    /* larger results fail; 0 = no cap */
    /* Set by another thread to stop the query (may be NULL): the worker
     * is killed, even when that thread's fl_query_runner_cancel came
     * before the worker's pid was known. */
    _Atomic int *cancel;
    /* The client's socket, watched while the worker runs (watch_client
     * set): when the peer closes it (POLLRDHUP, POLLHUP) nobody waits for
     * the answer any more, and the worker is killed (res says 499). */
    int          client_fd;
    int          watch_client;
};

/* Writes job into an anonymous in-memory file (memfd) and sets *out_fd
 * to it, positioned at its start: once this returns, whatever the job
 * points to may be freed. Returns 0 or -errno. */
int  fl_query_job_file(const struct fl_query_job *job, int *out_fd);

/* Runs job in a worker process started from exe (NULL = /proc/self/exe)
 * and fills res. *pid_slot (may be NULL) holds the worker's pid while it
 * runs (another thread may kill it: fl_query_runner_cancel). Returns 0 when
 * res is filled (whatever the query's outcome), FL_ENOMEM, or -errno when
 * the worker could not be started (res->error says why).
 * seg_fds[i] is the descriptor of the job's shared segment i (job.h), of
 * job->n_segments; the worker gets its own copies, read-only as given. */
int  fl_query_runner_run(const char *exe, const struct fl_query_job *job,
                         const int *seg_fds, const struct fl_query_limits *lim,
                         _Atomic pid_t *pid_slot, struct fl_query_result *res);
/* The same with the job already in job_fd (fl_query_job_file), which it
 * closes, and its n_seg segments' descriptors in seg_fds. */
int  fl_query_runner_run_fd(const char *exe, int job_fd, const int *seg_fds,
                            size_t n_seg, const struct fl_query_limits *lim,
                            _Atomic pid_t *pid_slot,
                            struct fl_query_result *res);
void fl_query_result_free(struct fl_query_result *res);

/* Kills the worker whose pid is in *pid_slot, if one runs. */
void fl_query_runner_cancel(_Atomic pid_t *pid_slot);

/* `flowlake query-worker`: reads a job from in_fd, writes the result to
 * out_fd, an error message to err_fd and its account of the run (the
 * result's info) to info_fd, returns an enum fl_query_exit. */
int  fl_query_worker_main(int in_fd, int out_fd, int err_fd, int info_fd);

#endif /* FL_QUERY_RUNNER_H */
