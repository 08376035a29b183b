/* SPDX-License-Identifier: MIT
 *
 * sandbox.c -- running SQL that comes from the network (POST /api/query of
 * `flowlake serve`): it may read the archive and nothing else, and it may
 * not create, change or delete any file or setting. The server opens one
 * session per request and throws it away afterwards.
 *
 * Four layers; the first two decide, the others are defence in depth:
 *
 *   1. fl_query_check_sql() decides from DuckDB's own parse, by
 *      allow-list, before anything is prepared: preparing a statement
 *      binds it, and binding can already act (a refused EXPORT DATABASE
 *      created its folder while being prepared to learn its type). The
 *      parse comes from json_serialize_sql(), DuckDB's parser-only
 *      function that serializes query statements and refuses every other
 *      kind; duckdb_extract_statements() (also parse only) counts the
 *      statements, and both counts must agree. An EXPLAIN [ANALYZE] is
 *      allowed when it is the request's only statement and what it wraps
 *      is itself a query by the same test (the prefix is skipped with a
 *      tokenizer for whitespace, comments and the EXPLAIN options; when
 *      it and DuckDB disagree, the rest is not one query and the request
 *      is refused). In the parse tree, every table function must be on a
 *      list of read-only ones (checkpoint(), query(), enable_logging(),
 *      json_execute_serialized_sql() ... are not) and a few scalar
 *      functions with effects are refused (setseed, nextval, write_log).
 *   2. The session reads exactly the files fl_query_list_archive() found
 *      by walking the archive with lstat (no symlink, nothing under a
 *      symlinked folder, regular files only), and DuckDB may open those
 *      files and no other (enable_external_access = false, allowed_paths
 *      = that list). allowed_directories = the archive folder would
 *      not do: DuckDB checks the path's text, so a symlink inside the
 *      archive would lead to /etc/passwd.
 *   3. The DuckDB settings of fl_query_sandbox(), then lock_configuration
 *      so that they stay: no temp directory, no extension auto-loading.
 *   4. A watchdog interrupts the connection when the time limit passes.
 *
 * DuckDB settings: https://duckdb.org/docs/stable/configuration/overview
 * Securing DuckDB: https://duckdb.org/docs/stable/operations_manual/securing_duckdb/overview
 * json_serialize_sql: https://duckdb.org/docs/stable/data/json/sql_to_and_from_json
 */
#include "../core/fl_config.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <duckdb.h>
#include <jansson.h>

#include "../archive/live.h"
#include "../metrics/metric_store.h"
#include "../core/fl_error.h"
#include "../core/fl_fs.h"
#include "../core/fl_mem.h"
#include "query_int.h"


/* ------------------------------------------------------------------------
 * The files a sandboxed session may read
 * --------------------------------------------------------------------- */

struct strv {
    char   **v;
    size_t   n, cap;
};


/* Appends s (taken: freed on failure). Returns 0 or FL_ENOMEM. */
static int
strv_push(struct strv *sv, char *s)
{
    if (s == NULL)
        return FL_ENOMEM;
    if (sv->n == sv->cap) {
        char **p = fl_grow(sv->v, &sv->cap, sv->n + 1, sizeof *p, 64);
        if (p == NULL) {
            fl_free(s);
            return FL_ENOMEM;
        }
        sv->v = p;
    }
    sv->v[sv->n++] = s;
    return FL_OK;
}


static void
strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fl_free(v[i]);
    fl_free(v);
}


/* Whether path (under root, as root "/" rel) is a regular file reached
 * through real folders only: every component after root is lstat'ed.
 * With out_size, also its size. */
static int
plain_file(const char *root, const char *path, off_t *out_size)
{
    size_t rlen = strlen(root);
    struct stat st;
    char *p;
    int ok = 1;

    if (strncmp(path, root, rlen) != 0 || path[rlen] != '/')
        return 0;
    if ((p = fl_strdup(path)) == NULL)
        return 0;
    for (char *slash = strchr(p + rlen + 1, '/'); slash != NULL && ok;
         slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        ok = lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
        *slash = '/';
    }
    if (ok)
        ok = lstat(p, &st) == 0 && S_ISREG(st.st_mode);
    if (ok && out_size != NULL)
        *out_size = st.st_size;
    fl_free(p);
    return ok;
}


void
fl_query_files_free(struct fl_query_files *f)
{
    if (f == NULL)
        return;
    strv_free(f->flow, f->n_flow);
    strv_free(f->metrics, f->n_metrics);
    fl_free(f->alarm_history);
    memset(f, 0, sizeof *f);
}


int
fl_query_list_archive(const char *archive_dir, struct fl_query_files *out,
                      char **out_err)
{
    struct strv flow = { 0 }, metrics = { 0 };
    char **mfiles = NULL;
    size_t n_mfiles = 0;
    char *root = NULL, *alarms = NULL;
    off_t size = 0;
    int rc;

    memset(out, 0, sizeof *out);
    size_t n = strlen(archive_dir);
    while (n > 1 && archive_dir[n - 1] == '/')
        n--;
    if ((root = fl_strndup(archive_dir, n)) == NULL)
        return FL_ENOMEM;

    rc = fl_query_partition_files(root, NULL, 1, &flow.v, &flow.n);
    flow.cap = flow.n;
    if (rc < 0 && rc != FL_ENOMEM) {
        struct fl_buf m = { 0 };
        fl_buf_addf(&m, "cannot list the archive '%s': %s", root,
                            strerror(-rc));
        fl_query_set_err(out_err, m.err ? NULL : m.p);
        fl_buf_free(&m);
    }
    if (rc < 0)
        goto fail;

    /* The metric store names its files in its state file; keep those that
     * are plain files (a symlink planted there is not read). */
    if ((rc = fl_metric_store_files(root, &mfiles, &n_mfiles)) < 0)
        goto fail;
    for (size_t i = 0; i < n_mfiles; i++) {
        if (plain_file(root, mfiles[i], NULL)) {
            rc = strv_push(&metrics, mfiles[i]);
            mfiles[i] = NULL;
            if (rc < 0)
                goto fail;
        }
    }

    if ((alarms = fl_fs_join(root, FL_QUERY_ALARM_HISTORY)) == NULL) {
        rc = FL_ENOMEM;
        goto fail;
    }
    if (!plain_file(root, alarms, &size) || size == 0) {
        fl_free(alarms);
        alarms = NULL;
    }

    out->flow = flow.v;
    out->n_flow = flow.n;
    out->metrics = metrics.v;
    out->n_metrics = metrics.n;
    out->alarm_history = alarms;
    strv_free(mfiles, n_mfiles);
    fl_free(root);
    return FL_OK;

fail:
    strv_free(flow.v, flow.n);
    strv_free(metrics.v, metrics.n);
    strv_free(mfiles, n_mfiles);
    fl_free(alarms);
    fl_free(root);
    return rc;
}


static int
copy_strv(char ***dst, char *const *src, size_t n)
{
    *dst = NULL;
    if (n == 0)
        return FL_OK;
    if ((*dst = fl_calloc(n, sizeof **dst)) == NULL)
        return FL_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (((*dst)[i] = fl_strdup(src[i])) == NULL)
            return FL_ENOMEM;
    return FL_OK;
}


int
fl_query_files_copy(struct fl_query_files *dst,
                    const struct fl_query_files *src)
{
    memset(dst, 0, sizeof *dst);
    int rc = copy_strv(&dst->flow, src->flow, src->n_flow);
    dst->n_flow = dst->flow != NULL ? src->n_flow : 0;
    if (rc == FL_OK) {
        rc = copy_strv(&dst->metrics, src->metrics, src->n_metrics);
        dst->n_metrics = dst->metrics != NULL ? src->n_metrics : 0;
    }
    if (rc == FL_OK && src->alarm_history != NULL
        && (dst->alarm_history = fl_strdup(src->alarm_history)) == NULL)
        rc = FL_ENOMEM;
    if (rc < 0)
        fl_query_files_free(dst);   /* NULL slots of a partial copy: fine */
    return rc;
}


/* ------------------------------------------------------------------------
 * DuckDB settings
 * --------------------------------------------------------------------- */

int
fl_query_sandbox(struct fl_query *q, const char *memory_limit,
                 char **out_err)
{
    struct fl_buf sql = { 0 };
    const struct fl_query_files *f = &q->files;
    size_t k = 0;
    int rc;

    if (!q->listed) {
        /* Opened by glob: list now and let the views read the list. */
        rc = fl_query_list_archive(q->archive_dir, &q->files, out_err);
        if (rc < 0)
            return rc;
        q->listed = 1;
        q->stale = 1;
    }

    fl_buf_adds(&sql, "SET memory_limit = ");
    fl_query_put_sql_str(&sql, memory_limit);
    /* Nothing spills to disk: a query over the memory limit fails. */
    fl_buf_adds(&sql, "; SET temp_directory = ''"
                      "; SET autoinstall_known_extensions = false"
                      "; SET autoload_known_extensions = false"
                      "; SET allow_community_extensions = false"
                      "; SET allow_persistent_secrets = false"
                      "; SET allowed_directories = []"
                      "; SET allowed_paths = [");
    for (size_t i = 0; i < f->n_flow; i++, k++) {
        fl_buf_adds(&sql, k ? ", " : "");
        fl_query_put_sql_str(&sql, f->flow[i]);
    }
    for (size_t i = 0; i < f->n_metrics; i++, k++) {
        fl_buf_adds(&sql, k ? ", " : "");
        fl_query_put_sql_str(&sql, f->metrics[i]);
    }
    if (f->alarm_history != NULL) {
        fl_buf_adds(&sql, k ? ", " : "");
        fl_query_put_sql_str(&sql, f->alarm_history);
    }
    fl_buf_adds(&sql, "]; SET enable_external_access = false"
                      "; SET lock_configuration = true");
    if (sql.err) {
        fl_buf_free(&sql);
        return FL_ENOMEM;
    }
    rc = fl_query_exec(q, sql.p, out_err);
    fl_buf_free(&sql);
    return rc;
}


/* ------------------------------------------------------------------------
 * The allow-list
 * --------------------------------------------------------------------- */

/* Table functions that only read: generators, the readers (which can
 * open only the session's files, layer 2), DuckDB's catalogue listings,
 * and the server's own flowlake_live(). Everything else is refused:
 * checkpoint/force_checkpoint, query/query_table (SQL in a string),
 * json_execute_serialized_sql, enable_logging/disable_logging/
 * truncate_duckdb_logs, duckdb_secrets/which_secret, arrow_scan (takes
 * raw pointers), glob, sniff_csv, the histogram table macros, and any
 * function a later DuckDB adds. */
static const char *const read_only_table_functions[] = {
    "range", "generate_series", "unnest", "repeat", "repeat_row",
    "read_parquet", "parquet_scan", "parquet_metadata", "parquet_schema",
    "parquet_file_metadata", "parquet_kv_metadata",
    "read_csv", "read_csv_auto", "read_json", "read_json_auto",
    "read_json_objects", "read_json_objects_auto", "read_ndjson",
    "read_ndjson_auto", "read_ndjson_objects", "read_text", "read_blob",
    "json_each", "json_tree",
    "duckdb_columns", "duckdb_constraints", "duckdb_databases",
    "duckdb_dependencies", "duckdb_functions", "duckdb_indexes",
    "duckdb_keywords", "duckdb_schemas", "duckdb_sequences",
    "duckdb_settings", "duckdb_tables", "duckdb_types", "duckdb_views",
    "duckdb_extensions", "duckdb_memory", "duckdb_optimizers",
    "pragma_table_info", "pragma_show", "pragma_version", "pragma_platform",
    "pragma_collations", "pg_timezone_names", "icu_calendar_names",
    "test_all_types",
    FL_LIVE_FUNCTION,
};

/* Scalar functions that act instead of computing: change the session
 * (setseed, nextval), write (write_log), read the environment (getenv,
 * where a build has it), or plan or run SQL given as a string. */
static const char *const refused_scalar_functions[] = {
    "getenv", "setseed", "nextval", "currval", "write_log",
    "json_serialize_plan", "json_execute_serialized_sql", "query",
    "query_table", "checkpoint", "force_checkpoint", "enable_logging",
    "disable_logging", "truncate_duckdb_logs", "sql_auto_complete",
    "check_peg_parser",
};


static int
in_list(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(name, list[i]) == 0)
            return 1;
    return 0;
}


/* Finds in DuckDB's serialized parse tree the first function that is not
 * allowed: a TABLE_FUNCTION reference whose function is not on the
 * read-only list, or any call (scalar, aggregate, window, table) of a
 * refused scalar function. Returns its name (borrowed from node) and sets
 * *out_table, or NULL when all are allowed. The walk visits every object
 * and array, so functions in subqueries, CTEs, lambdas, DESCRIBE's query
 * and arguments are all seen. */
static const char *
refused_function(json_t *node, int *out_table)
{
    const char *r = NULL;
    if (json_is_object(node)) {
        const char *key;
        json_t *v;
        const char *type = json_string_value(json_object_get(node, "type"));
        if (type != NULL && strcmp(type, "TABLE_FUNCTION") == 0) {
            json_t *fn = json_object_get(node, "function");
            const char *name =
                json_string_value(json_object_get(fn, "function_name"));
            if (name == NULL || !in_list(name, read_only_table_functions,
                                         sizeof read_only_table_functions
                                         / sizeof *read_only_table_functions)) {
                *out_table = 1;
                return name != NULL ? name : "(unnamed)";
            }
        }
        const char *fname =
            json_string_value(json_object_get(node, "function_name"));
        if (fname != NULL
            && in_list(fname, refused_scalar_functions,
                       sizeof refused_scalar_functions
                       / sizeof *refused_scalar_functions)) {
            *out_table = 0;
            return fname;
        }
        json_object_foreach(node, key, v) {
            if ((r = refused_function(v, out_table)) != NULL)
                return r;
        }
    } else if (json_is_array(node)) {
        size_t i;
        json_t *v;
        json_array_foreach(node, i, v) {
            if ((r = refused_function(v, out_table)) != NULL)
                return r;
        }
    }
    return NULL;
}


/* DuckDB's parse of text, as JSON, from json_serialize_sql: the
 * parser alone (no catalogue, no binding, no PRAGMA expansion). Returns
 * 0 with *out_root (json_decref) when every statement is a query;
 * FL_EPARSE when some statement is not (*out_root NULL); FL_EDB when
 * text does not parse (*out_err: DuckDB's syntax error) or the function
 * fails; FL_ENOMEM. Also used by prune.c. */
int
fl_query_serialize(struct fl_query *q, const char *text, json_t **out_root,
          char **out_err)
{
    duckdb_prepared_statement st = NULL;
    duckdb_result res;
    char *js = NULL;
    json_t *root = NULL;
    int rc = FL_OK;

    *out_root = NULL;
    memset(&res, 0, sizeof res);
    /* A parameter, not a literal: text is never pasted into SQL. */
    if (duckdb_prepare(q->con, "SELECT json_serialize_sql(CAST($1 AS VARCHAR))",
                       &st) == DuckDBError
        || duckdb_bind_varchar(st, 1, text) == DuckDBError) {
        fl_query_set_err(out_err, duckdb_prepare_error(st));
        rc = FL_EDB;
        goto out;
    }
    if (duckdb_execute_prepared(st, &res) == DuckDBError) {
        fl_query_set_err(out_err, duckdb_result_error(&res));
        rc = FL_EDB;
        goto out;
    }
    if (duckdb_row_count(&res) != 1
        || (js = duckdb_value_varchar(&res, 0, 0)) == NULL) {
        fl_query_set_err(out_err, "json_serialize_sql returned nothing");
        rc = FL_EDB;
        goto out;
    }
    /* {"error":false,"statements":[...]} when all are queries, else
     * {"error":true,"error_type":...,"error_message":...}. Integers as
     * reals: query_location can be 2^64 - 1, beyond json_int_t. */
    root = json_loads(js, JSON_DECODE_INT_AS_REAL, NULL);
    if (root == NULL) {
        fl_query_set_err(out_err, "json_serialize_sql returned bad JSON");
        rc = FL_EDB;
        goto out;
    }
    if (json_is_false(json_object_get(root, "error"))
        && json_is_array(json_object_get(root, "statements"))) {
        *out_root = root;
        root = NULL;
    } else {
        const char *type =
            json_string_value(json_object_get(root, "error_type"));
        if (type != NULL && strcmp(type, "parser") == 0) {
            fl_query_set_err(out_err, json_string_value(
                json_object_get(root, "error_message")));
            /* Where in text, for the caller that shows it (only the
             * error reported to a caller counts: text is then its SQL). */
            const char *pos = json_string_value(json_object_get(root,
                                                                "position"));
            if (out_err != NULL && pos != NULL)
                q->info.err_offset = strtol(pos, NULL, 10);
            rc = FL_EDB;
        } else {
            rc = FL_EPARSE;
        }
    }
out:
    json_decref(root);
    if (js != NULL)
        duckdb_free(js);
    duckdb_destroy_result(&res);
    duckdb_destroy_prepare(&st);
    return rc;
}


/* Whether root holds exactly n statements and no refused function; when
 * not, *out_err says why. Returns 0 or FL_EPARSE. */
static int
check_tree(json_t *root, size_t n, char **out_err)
{
    int table = 0;
    const char *name;
    char msg[256];

    if (json_array_size(json_object_get(root, "statements")) != n) {
        fl_query_set_err(out_err, "only SELECT and EXPLAIN are allowed here;"
                         " the statements could not be told apart");
        return FL_EPARSE;
    }
    if ((name = refused_function(root, &table)) == NULL)
        return FL_OK;
    if (table)
        snprintf(msg, sizeof msg, "table function %.64s() is not allowed "
                 "here (only read-only table functions are)", name);
    else
        snprintf(msg, sizeof msg, "function %.64s() is not allowed here",
                 name);
    fl_query_set_err(out_err, msg);
    return FL_EPARSE;
}


/* Names the first statement of a refused script that is not a query, for
 * the error message only (the decision was DuckDB's parse). */
static int
refuse_statement(struct fl_query *q, const char *sql, char **out_err)
{
    size_t pos = 0, start, len;
    char msg[160];
    unsigned idx = 0;

    while (fl_query_sql_next(sql, &pos, &start, &len)) {
        const char *rest = NULL;
        char *piece, kind[96];
        json_t *root = NULL;
        int rc;

        idx++;
        if ((piece = fl_strndup(sql + start, len)) == NULL)
            return FL_ENOMEM;
        int explain = fl_query_sql_explain(piece, &rest);
        rc = fl_query_serialize(q, explain ? rest : piece, &root, NULL);
        fl_query_sql_describe(piece, kind, sizeof kind);
        fl_free(piece);
        json_decref(root);
        if (rc == FL_ENOMEM)
            return rc;
        if (rc < 0) {
            snprintf(msg, sizeof msg, "only SELECT and EXPLAIN are allowed "
                     "here; statement %u is %s", idx, kind);
            fl_query_set_err(out_err, msg);
            return FL_EPARSE;
        }
        if (explain) {
            fl_query_set_err(out_err, explain == FL_QUERY_EXPLAIN_OTHER
                             ? "only EXPLAIN and EXPLAIN ANALYZE are allowed"
                               " here, without options"
                             : "EXPLAIN must be the only statement of a "
                               "request");
            return FL_EPARSE;
        }
    }
    fl_query_set_err(out_err, "only SELECT and EXPLAIN are allowed here");
    return FL_EPARSE;
}


/* fl_query_check_sql, and for an allowed EXPLAIN the text to run instead
 * of sql in *out_run (fl_free): "EXPLAIN " or "EXPLAIN ANALYZE " followed
 * by the wrapped statement exactly as checked, so that what runs is what
 * the parser saw, whatever comments or spacing the prefix had. */
static int
check_sql(struct fl_query *q, const char *sql, char **out_run,
          char **out_err)
{
    json_t *root = NULL;
    const char *rest = NULL;
    size_t n = 0, pos = 0, start, len;
    int rc, explain;

    *out_run = NULL;
    /* DuckDB's parser first: duckdb_extract_statements is not parse-only
     * for PRAGMA statements (IMPORT DATABASE reads the exported files to
     * expand into their statements), so it runs only on queries. */
    rc = fl_query_serialize(q, sql, &root, out_err);
    if (rc == FL_OK) {
        duckdb_extracted_statements ext = NULL;
        n = (size_t)duckdb_extract_statements(q->con, sql, &ext);
        if (n == 0) {
            const char *e = ext != NULL ? duckdb_extract_statements_error(ext)
                                        : NULL;
            fl_query_set_err(out_err, e != NULL ? e : "no SQL statement");
            rc = FL_EDB;
        }
        duckdb_destroy_extracted(&ext);
        if (rc == FL_OK)
            rc = check_tree(root, n, out_err);
        json_decref(root);
        return rc;
    }
    if (rc != FL_EPARSE)
        return rc;

    /* Not all queries: allowed only as one EXPLAIN [ANALYZE] of one. */
    while (fl_query_sql_next(sql, &pos, &start, &len))
        n++;
    explain = fl_query_sql_explain(sql, &rest);
    if (n != 1 || (explain != FL_QUERY_EXPLAIN
                   && explain != FL_QUERY_EXPLAIN_ANALYZE))
        return refuse_statement(q, sql, out_err);
    rc = fl_query_serialize(q, rest, &root, NULL);
    if (rc == FL_ENOMEM)
        return rc;
    if (rc < 0)
        return refuse_statement(q, sql, out_err);
    rc = check_tree(root, 1, out_err);
    json_decref(root);
    if (rc < 0)
        return rc;

    struct fl_buf run = { 0 };
    fl_buf_adds(&run, explain == FL_QUERY_EXPLAIN_ANALYZE
                            ? "EXPLAIN ANALYZE " : "EXPLAIN ");
    fl_buf_adds(&run, rest);
    if (run.err) {
        fl_buf_free(&run);
        return FL_ENOMEM;
    }
    *out_run = run.p;
    return FL_OK;
}


int
fl_query_check_sql(struct fl_query *q, const char *sql, char **out_err)
{
    char *run = NULL;
    int rc = check_sql(q, sql, &run, out_err);
    fl_free(run);
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
    char *run = NULL;
    fl_query_info_reset(q);
    int rc = check_sql(q, sql, &run, out_err);
    if (rc < 0)
        return rc;

    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, &ca);
    pthread_condattr_destroy(&ca);
    int started = timeout_s > 0
               && pthread_create(&thread, NULL, watchdog_main, &w) == 0;

    rc = fl_query_run(q, run != NULL ? run : sql, fmt, out, out_err);
    fl_free(run);

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
