/* SPDX-License-Identifier: MIT
 *
 * sandbox.c -- running SQL that comes from the network (POST /api/query of
 * `flowlake serve`): read-only, no file access outside the archive, no
 * COPY / ATTACH / INSTALL / LOAD / SET, bounded in time and memory.
 *
 * Three layers, each enough on its own for some attacks, together for all:
 *   1. fl_query_sandbox() sets DuckDB's memory_limit, allows file access
 *      only under the archive folder (allowed_directories +
 *      enable_external_access = false, so read_csv('/etc/passwd') fails),
 *      and locks the configuration so a query cannot SET it back;
 *   2. every statement of a script is prepared and must be a SELECT or an
 *      EXPLAIN -- anything else (COPY, which could write inside the
 *      archive; ATTACH; INSTALL; PRAGMA; CREATE ...) is refused by name
 *      before anything runs;
 *   3. a watchdog interrupts the connection when the time limit passes.
 */
#include "../core/fl_config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <duckdb.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "query_int.h"


int
fl_query_sandbox(struct fl_query *q, const char *memory_limit, char **out_err)
{
    struct buf sql = { 0 };
    int rc;

    fl_query_buf_puts(&sql, "SET memory_limit = '");
    for (const char *p = memory_limit; *p; p++) {
        if (*p == '\'')
            fl_query_buf_putc(&sql, '\'');
        fl_query_buf_putc(&sql, *p);
    }
    fl_query_buf_puts(&sql, "'; SET allowed_directories = ['");
    for (const char *p = q->archive_dir; *p; p++) {
        if (*p == '\'')
            fl_query_buf_putc(&sql, '\'');
        fl_query_buf_putc(&sql, *p);
    }
    fl_query_buf_puts(&sql, "']; SET enable_external_access = false; "
                      "SET lock_configuration = true");
    if (sql.oom) {
        fl_query_buf_free(&sql);
        return FL_ENOMEM;
    }
    rc = fl_query_exec(q, sql.p, out_err);
    fl_query_buf_free(&sql);
    return rc;
}


static const char *
statement_name(duckdb_statement_type t)
{
    switch (t) {
    case DUCKDB_STATEMENT_TYPE_INSERT:      return "INSERT";
    case DUCKDB_STATEMENT_TYPE_UPDATE:      return "UPDATE";
    case DUCKDB_STATEMENT_TYPE_DELETE:      return "DELETE";
    case DUCKDB_STATEMENT_TYPE_CREATE:      return "CREATE";
    case DUCKDB_STATEMENT_TYPE_DROP:        return "DROP";
    case DUCKDB_STATEMENT_TYPE_COPY:        return "COPY";
    case DUCKDB_STATEMENT_TYPE_ATTACH:      return "ATTACH";
    case DUCKDB_STATEMENT_TYPE_DETACH:      return "DETACH";
    case DUCKDB_STATEMENT_TYPE_PRAGMA:      return "PRAGMA";
    case DUCKDB_STATEMENT_TYPE_SET:         return "SET";
    case DUCKDB_STATEMENT_TYPE_LOAD:        return "INSTALL/LOAD";
    case DUCKDB_STATEMENT_TYPE_EXPORT:      return "EXPORT";
    default:                                break;
    }
    return "a statement that is not a query";
}


/* Every statement must be a SELECT or an EXPLAIN. */
static int
check_read_only(struct fl_query *q, const char *sql, char **out_err)
{
    duckdb_extracted_statements ext = NULL;
    idx_t n = duckdb_extract_statements(q->con, sql, &ext);
    int rc = FL_OK;

    if (n == 0) {
        fl_query_set_err(out_err, ext ? duckdb_extract_statements_error(ext)
                                      : "no SQL statement given");
        duckdb_destroy_extracted(&ext);
        return FL_EDB;
    }
    for (idx_t i = 0; i < n && rc == 0; i++) {
        duckdb_prepared_statement st = NULL;
        if (duckdb_prepare_extracted_statement(q->con, ext, i, &st)
            == DuckDBError) {
            fl_query_set_err(out_err, duckdb_prepare_error(st));
            rc = FL_EDB;
        } else {
            duckdb_statement_type t = duckdb_prepared_statement_type(st);
            if (t != DUCKDB_STATEMENT_TYPE_SELECT
                && t != DUCKDB_STATEMENT_TYPE_EXPLAIN) {
                char msg[160];
                snprintf(msg, sizeof msg, "only SELECT and EXPLAIN are "
                         "allowed here; statement %llu is %s",
                         (unsigned long long)i + 1, statement_name(t));
                fl_query_set_err(out_err, msg);
                rc = FL_EPARSE;
            }
        }
        duckdb_destroy_prepare(&st);
    }
    duckdb_destroy_extracted(&ext);
    return rc;
}


struct watchdog {
    pthread_mutex_t   mu;
    pthread_cond_t    cv;
    int               done;
    int               fired;
    unsigned          seconds;
    duckdb_connection con;
};


static void *
watchdog_main(void *arg)
{
    struct watchdog *w = arg;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)w->seconds;
    pthread_mutex_lock(&w->mu);
    while (!w->done) {
        if (pthread_cond_timedwait(&w->cv, &w->mu, &until) == ETIMEDOUT) {
            if (!w->done) {
                w->fired = 1;
                duckdb_interrupt(w->con);
            }
            break;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}


int
fl_query_run_untrusted(struct fl_query *q, const char *sql,
                       enum fl_output fmt, FILE *out, unsigned timeout_s,
                       char **out_err)
{
    struct watchdog w = { .seconds = timeout_s, .con = q->con };
    pthread_condattr_t ca;
    pthread_t thread;
    int rc = check_read_only(q, sql, out_err);
    if (rc < 0)
        return rc;

    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, &ca);
    pthread_condattr_destroy(&ca);
    int started = timeout_s > 0
               && pthread_create(&thread, NULL, watchdog_main, &w) == 0;

    rc = fl_query_run(q, sql, fmt, out, out_err);

    if (started) {
        pthread_mutex_lock(&w.mu);
        w.done = 1;
        pthread_cond_signal(&w.cv);
        pthread_mutex_unlock(&w.mu);
        pthread_join(thread, NULL);
    }
    if (rc < 0 && w.fired) {
        char msg[96];
        if (out_err != NULL) {
            fl_free(*out_err);
            *out_err = NULL;
        }
        snprintf(msg, sizeof msg, "query interrupted after %u s "
                 "(query.timeout)", timeout_s);
        fl_query_set_err(out_err, msg);
        rc = -ETIMEDOUT;
    }
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return rc;
}
