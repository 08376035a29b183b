/* SPDX-License-Identifier: MIT
 *
 * query.c -- the query session: SQL over the Parquet archive through
 * DuckDB (see query.h).
 *
 * One struct fl_query = one in-memory DuckDB database and one connection.
 * Opening it sets the session time zone to UTC, registers the Athena
 * compatibility layer (athena.c: C scalar functions and TEMP macros) and
 * creates the view vpc_flow_logs.flow_logs:
 *
 *   SELECT * REPLACE (make_timestamp("start" * 1000000) AS "start", ...)
 *   FROM (SELECT CAST(NULL AS INTEGER) AS "version", ...   -- 40 + 4 typed
 *         WHERE false                                      -- columns, no row
 *         UNION ALL BY NAME
 *         SELECT * FROM read_parquet('DIR/year=*' '/month=*' '/day=*'
 *                                    '/hour=*' '/' '*.parquet',
 *                                    hive_partitioning = true,
 *                                    union_by_name = true,
 *                                    hive_types = {...: VARCHAR}))
 *
 * The empty typed relation comes first so that the column order and types
 * are those of fields.h whatever the files hold, and so that the view has
 * the full schema when there is no file at all (read_parquet refuses an
 * empty glob, so then the UNION is left out). DuckDB pushes partition
 * filters through the UNION into read_parquet, which skips the files whose
 * year/month/day/hour do not match (EXPLAIN ANALYZE: "Total Files Read").
 *
 * A session opened with a live source (fl_query_open_live) registers its
 * table function flowlake_live() and adds a third branch:
 *
 *         UNION ALL BY NAME
 *         SELECT * EXCLUDE (fl_hour),
 *                strftime(make_timestamp(fl_hour * 3600000000), '%Y')
 *                    AS year, ... '%m' AS month, '%d' AS day, '%H' AS hour
 *         FROM flowlake_live()
 *
 * fl_hour is the flow's start in hours since the epoch (or the live
 * source's creation hour when start is NULL): the very value convert
 * partitions on, which publish.c turns into year=YYYY/month=MM/day=DD/
 * hour=HH folders with the same zero-padded UTC fields.
 *
 * A session opened with an explicit list of files (fl_query_open_files,
 * for SQL from the network: sandbox.c) reads read_parquet([...those
 * files...]) instead of the glob, and the metrics and alarm views read
 * the list's files too, so it never looks at the folder again.
 *
 * DuckDB binds a view when it is created and refuses to run it if the
 * files later yield other columns ("Contents of view were altered"), so
 * the view is re-created before every run but the first.
 *
 * fl_query_run() runs the statements of a script in order and hands the
 * last one to output.c, which renders its result.
 *
 * Called by the `flowlake query` command (cli/cmd_query.c) and the tests.
 */
#include "../core/fl_config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <duckdb.h>

#include "../archive/live.h"
#include "../metrics/metric_store.h"
#include "../core/fl_buf.h"
#include "../core/fl_fs.h"
#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "../parse/fields.h"
#include "query.h"
#include "query_int.h"


void
fl_query_put_sql_str(struct fl_buf *b, const char *s)
{
    fl_buf_addc(b, '\'');
    for (; *s != '\0'; s++) {
        if (*s == '\'')
            fl_buf_addc(b, '\'');
        fl_buf_addc(b, *s);
    }
    fl_buf_addc(b, '\'');
}


void
fl_query_set_err(char **out_err, const char *msg)
{
    if (out_err != NULL && *out_err == NULL)
        *out_err = fl_strdup(msg != NULL ? msg : "unknown DuckDB error");
}


/* ------------------------------------------------------------------------
 * Running setup statements
 * --------------------------------------------------------------------- */

int
fl_query_exec(struct fl_query *q, const char *sql, char **out_err)
{
    duckdb_result res;
    int rc = FL_OK;

    memset(&res, 0, sizeof res);
    if (duckdb_query(q->con, sql, &res) == DuckDBError) {
        fl_query_set_err(out_err, duckdb_result_error(&res));
        rc = FL_EDB;
    }
    duckdb_destroy_result(&res);
    return rc;
}


/* Runs a query whose first column of the first row is a BIGINT. */
static int
query_int64(struct fl_query *q, const char *sql, int64_t *out, char **out_err)
{
    duckdb_result res;
    duckdb_data_chunk chunk = NULL;
    int rc = FL_OK;

    memset(&res, 0, sizeof res);
    if (duckdb_query(q->con, sql, &res) == DuckDBError) {
        fl_query_set_err(out_err, duckdb_result_error(&res));
        rc = FL_EDB;
        goto out;
    }
    chunk = duckdb_fetch_chunk(res);
    if (chunk == NULL || duckdb_data_chunk_get_size(chunk) < 1
        || duckdb_column_type(&res, 0) != DUCKDB_TYPE_BIGINT) {
        fl_query_set_err(out_err, "internal query returned no BIGINT row");
        rc = FL_EDB;
        goto out;
    }
    duckdb_vector v = duckdb_data_chunk_get_vector(chunk, 0);
    *out = ((int64_t *)duckdb_vector_get_data(v))[0];
out:
    if (chunk != NULL)
        duckdb_destroy_data_chunk(&chunk);
    duckdb_destroy_result(&res);
    return rc;
}


/* ------------------------------------------------------------------------
 * The view
 * --------------------------------------------------------------------- */

/* Appends s as the body of a SQL string literal ('' for '). */
static void
buf_put_sql_str(struct fl_buf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\'')
            fl_buf_addc(b, '\'');
        fl_buf_addc(b, *s);
    }
}


static const char *const partition_cols[] = { "year", "month", "day", "hour" };


/* Runs sql, the statement creating view `which`, unless the view was
 * created from the same text last time (struct fl_query.view_sql). Only
 * for views whose columns and types the text fixes: DuckDB re-binds a
 * view at every query but refuses one whose types changed since it was
 * created, and flow_logs' columns follow the files its glob finds. */
static int
exec_view(struct fl_query *q, enum fl_query_view which, const char *sql,
          char **out_err)
{
    if (q->view_sql[which] != NULL && strcmp(q->view_sql[which], sql) == 0)
        return FL_OK;
    fl_free(q->view_sql[which]);
    q->view_sql[which] = NULL;
    int rc = fl_query_exec(q, sql, out_err);
    /* Out of memory for the copy only means no skip next time. */
    if (rc == FL_OK)
        q->view_sql[which] = fl_strdup(sql);
    return rc;
}


/* The files of the view as read_parquet's first argument, into *glob:
 * a sandboxed session's explicit list (DuckDB may read those files and no
 * other, so no glob), a pruned run's files of its hours (or of the hour
 * folders it lists, prune.c), else the glob of the whole archive.
 * *nfiles: how many files a list holds. Returns 0, FL_ENOMEM, or the
 * listing's -errno (explained in *out_err). */
static int
view_files(struct fl_query *q, struct fl_buf *glob, int64_t *nfiles,
           char **out_err)
{
    char **listed = NULL;
    size_t n_listed = 0;
    int rc = FL_OK;

    if (q->listed || q->prune != NULL) {
        char **v = q->files.flow;
        size_t n = q->files.n_flow;
        const struct fl_prune *p = q->prune;
        if (!q->listed) {
            rc = fl_prune_list(q->archive_dir, p, &listed, &n_listed);
            if (rc < 0) {
                struct fl_buf m = { 0 };
                fl_buf_addf(&m, "cannot list the archive '%s': %s",
                                    q->archive_dir, strerror(-rc));
                fl_query_set_err(out_err, m.err ? NULL : m.p);
                fl_buf_free(&m);
                goto out;
            }
            v = listed;
            n = n_listed;
            p = NULL;
        }
        fl_buf_addc(glob, '[');
        for (size_t i = 0; i < n; i++) {
            if (p != NULL && !fl_prune_keep_path(p, v[i]))
                continue;
            fl_buf_adds(glob, *nfiles ? ", '" : "'");
            buf_put_sql_str(glob, v[i]);
            fl_buf_addc(glob, '\'');
            (*nfiles)++;
        }
        fl_buf_addc(glob, ']');
    } else {
        fl_buf_addc(glob, '\'');
        buf_put_sql_str(glob, q->archive_dir);
        fl_buf_adds(glob, "/year=*/month=*/day=*/hour=*/*.parquet'");
    }
    if (glob->err)
        rc = FL_ENOMEM;
out:
    for (size_t i = 0; i < n_listed; i++)
        fl_free(listed[i]);
    fl_free(listed);
    return rc;
}


/* How many files the archive's glob finds (0: the view reads none). */
static int
count_glob(struct fl_query *q, const char *glob, int64_t *nfiles,
           char **out_err)
{
    struct fl_buf sql = { 0 };
    int rc;

    fl_buf_adds(&sql, "SELECT count(*) FROM glob(");
    fl_buf_adds(&sql, glob);
    fl_buf_adds(&sql, ")");
    rc = sql.err ? FL_ENOMEM : query_int64(q, sql.p, nfiles, out_err);
    fl_buf_free(&sql);
    return rc;
}


/* The view's outer SELECT: the epoch seconds as timestamps, the date,
 * the provenance columns last. */
static void
put_view_head(struct fl_buf *sql)
{
    fl_buf_adds(sql,
                      "CREATE OR REPLACE VIEW vpc_flow_logs.flow_logs AS\n"
                      "SELECT * EXCLUDE (");
    /* The provenance columns (convert.h: enum fl_prov) come last, after
     * any extra column of a custom format that UNION ALL BY NAME puts
     * after the declared ones. */
    for (size_t i = 0; i < FL_PROV_COLUMNS; i++)
        fl_buf_addf(sql, "%s\"%s\"", i ? ", " : "",
                            fl_prov_column[i]);
    fl_buf_adds(sql, ") REPLACE (\n"
                      "    make_timestamp(\"start\" * 1000000) AS \"start\",\n"
             "    make_timestamp(\"end\" * 1000000) AS \"end\",\n"
             "    CAST(make_timestamp(\"start\" * 1000000) AS DATE) AS \"date\")");
    for (size_t i = 0; i < FL_PROV_COLUMNS; i++)
        fl_buf_addf(sql, ", \"%s\"", fl_prov_column[i]);
    fl_buf_adds(sql, "\nFROM (\n"
             "    SELECT ");
}


/* A row of no record that gives every column its type, so that the view
 * has them all whatever the files hold. */
static void
put_typed_columns(struct fl_buf *sql)
{
    for (int i = 0; i < FL_FIELD_COUNT; i++) {
        const struct fl_field_def *f = fl_field_get(i);
        fl_buf_addf(sql, "CAST(NULL AS %s) AS \"%s\", ",
                            fl_type_sql(f->type), f->sql_name);
    }
    for (size_t i = 0; i < 4; i++)
        fl_buf_addf(sql, "CAST(NULL AS VARCHAR) AS \"%s\", ",
                            partition_cols[i]);
    /* The UTC date of start, right after the partition columns. */
    fl_buf_adds(sql, "CAST(NULL AS DATE) AS \"date\"");
    /* Provenance (where each record came from): NULL in files written
     * before it. */
    for (size_t i = 0; i < FL_PROV_COLUMNS; i++)
        fl_buf_addf(sql, ", CAST(NULL AS VARCHAR) AS \"%s\"",
                            fl_prov_column[i]);
    fl_buf_adds(sql, "\n    WHERE false\n");
}


static void
put_parquet_part(struct fl_buf *sql, const char *glob)
{
    fl_buf_adds(sql, "    UNION ALL BY NAME\n"
                      "    SELECT * FROM read_parquet(");
    fl_buf_adds(sql, glob);
    fl_buf_adds(sql, ", hive_partitioning = true, "
                      "union_by_name = true, "
                      "hive_types = {'year': VARCHAR, 'month': VARCHAR, "
                      "'day': VARCHAR, 'hour': VARCHAR})\n");
}


/* The records acknowledged but not yet published (live.h), with the
 * partition columns from their hour. Returns the blocks it reads. */
static long
put_live_part(struct fl_query *q, struct fl_buf *sql)
{
    long nblocks = (long)fl_live_blocks(q->live);   /* unless pruned below */
    /* The hour as a timestamp: TIMESTAMP, not TIMESTAMPTZ, so that
     * strftime gives UTC fields whatever the session's TimeZone. */
    static const char *const fmt[] = { "%Y", "%m", "%d", "%H" };
    fl_buf_adds(sql, "    UNION ALL BY NAME\n"
                      "    SELECT * EXCLUDE (\"" FL_LIVE_HOUR_COLUMN
                      "\")");
    for (size_t i = 0; i < 4; i++) {
        fl_buf_adds(sql, ",\n        strftime(make_timestamp(\""
                          FL_LIVE_HOUR_COLUMN "\" * 3600000000), '");
        fl_buf_adds(sql, fmt[i]);
        fl_buf_addf(sql, "') AS \"%s\"", partition_cols[i]);
    }
    fl_buf_adds(sql, "\n    FROM " FL_LIVE_FUNCTION "(");
    if (q->prune != NULL) {
        /* The buffered blocks that hold none of the run's hours are
         * not even parsed (live.h); the others are filtered row by
         * row by the query itself. */
        size_t n = fl_live_blocks(q->live);
        fl_buf_adds(sql, "skip := '");
        nblocks = 0;
        for (size_t i = 0; i < n; i++) {
            int64_t lo, hi;
            int keep = q->prune->mode != FL_PRUNE_NONE
                       && (!fl_live_hours(q->live, i, &lo, &hi)
                           || fl_prune_keep_hours(q->prune, lo, hi));
            fl_buf_addc(sql, keep ? '0' : '1');
            nblocks += keep;
        }
        fl_buf_addc(sql, '\'');
    }
    fl_buf_adds(sql, ")\n");
    return nblocks;
}


static int
create_view(struct fl_query *q, char **out_err)
{
    struct fl_buf glob = { 0 };
    struct fl_buf sql = { 0 };
    int64_t nfiles = 0;
    long nblocks = 0;

    int rc = view_files(q, &glob, &nfiles, out_err);
    if (rc == FL_OK && !q->listed && q->prune == NULL)
        rc = count_glob(q, glob.p, &nfiles, out_err);
    if (rc == FL_OK)    /* a script may have dropped it */
        rc = fl_query_exec(q, "CREATE SCHEMA IF NOT EXISTS vpc_flow_logs",
                           out_err);
    if (rc < 0)
        goto out;

    put_view_head(&sql);
    put_typed_columns(&sql);
    if (nfiles > 0)
        put_parquet_part(&sql, glob.p);
    if (q->live != NULL)
        nblocks = put_live_part(q, &sql);
    fl_buf_adds(&sql, ")");
    if (sql.err) {
        rc = FL_ENOMEM;
        goto out;
    }
    rc = fl_query_exec(q, sql.p, out_err);
    if (rc == FL_OK) {
        q->view_files = (long)nfiles;
        q->view_blocks = nblocks;
    }
out:
    fl_buf_free(&sql);
    fl_buf_free(&glob);
    return rc;
}


/* vpc_flow_logs.metrics: the committed final files of the metric store
 * (metrics/metric_store.h), plus the server's in-memory values when
 * fl_query_set_metrics gave some. */
static int
create_metrics_view(struct fl_query *q, char **out_err)
{
    struct fl_buf sql = { 0 };
    char **files = NULL;
    size_t n = 0;
    int rc = FL_OK;
    if (q->listed) {            /* borrowed from q->files, not freed here */
        files = q->files.metrics;
        n = q->files.n_metrics;
    } else if ((rc = fl_metric_store_files(q->archive_dir, &files, &n)) < 0) {
        return rc;
    }
    /* vpc_flow_logs.metric_values has the dimensions as the two lists
     * the store keeps: grouping by a list costs a fraction of grouping by
     * a MAP built per row (GET /api/metrics?aggregate=sum reads it). */
    fl_buf_adds(&sql,
        "CREATE OR REPLACE VIEW vpc_flow_logs.metric_values AS\n"
        "SELECT metric, dim_names, dim_values, "
        "window_start, window_end, value, final, exact, records\n"
        "FROM (\n"
        "    SELECT CAST(NULL AS VARCHAR) AS metric, "
        "CAST(NULL AS VARCHAR[]) AS dim_names, "
        "CAST(NULL AS VARCHAR[]) AS dim_values, "
        "CAST(NULL AS TIMESTAMP) AS window_start, "
        "CAST(NULL AS TIMESTAMP) AS window_end, "
        "CAST(NULL AS DOUBLE) AS value, CAST(NULL AS BOOLEAN) AS final, "
        "CAST(NULL AS BOOLEAN) AS exact, CAST(NULL AS UBIGINT) AS records "
        "WHERE false\n");
    if (n > 0) {
        fl_buf_adds(&sql, "    UNION ALL BY NAME\n"
                          "    SELECT * FROM read_parquet([");
        for (size_t i = 0; i < n; i++) {
            fl_buf_adds(&sql, i ? ", '" : "'");
            buf_put_sql_str(&sql, files[i]);
            fl_buf_addc(&sql, '\'');
        }
        fl_buf_adds(&sql, "])\n");
    }
    if (q->metrics_live)
        fl_buf_adds(&sql, "    UNION ALL BY NAME\n"
                          "    SELECT * FROM main." FL_QUERY_METRICS_LIVE "\n");
    fl_buf_adds(&sql, ");\n"
        "CREATE OR REPLACE VIEW vpc_flow_logs.metrics AS\n"
        "SELECT metric, MAP(dim_names, dim_values) AS dimensions, "
        "window_start, window_end, value, final, exact, records\n"
        "FROM vpc_flow_logs.metric_values");
    rc = sql.err ? FL_ENOMEM
       : exec_view(q, FL_QUERY_VIEW_METRICS, sql.p, out_err);
    if (!q->listed) {
        for (size_t i = 0; i < n; i++)
            fl_free(files[i]);
        fl_free(files);
    }
    fl_buf_free(&sql);
    return rc;
}


/* vpc_flow_logs.alarm_history: the alarms' history file (alarm/alarm.h),
 * or no rows with the same columns before the first state change. */
static int
create_alarm_history_view(struct fl_query *q, char **out_err)
{
    static const char *const columns[][2] = {
        { "time", "TIMESTAMP" }, { "alarm", "VARCHAR" },
        { "metric", "VARCHAR" }, { "dimensions", "MAP(VARCHAR, VARCHAR)" },
        { "old_state", "VARCHAR" }, { "new_state", "VARCHAR" },
        { "reason", "VARCHAR" }, { "window_start", "TIMESTAMP" },
        { "window_end", "TIMESTAMP" }, { "threshold", "DOUBLE" },
        { "values", "DOUBLE[]" },
    };
    size_t n_columns = sizeof columns / sizeof columns[0];
    struct fl_buf sql = { 0 };
    struct stat st;
    char *path = fl_fs_join(q->archive_dir, FL_QUERY_ALARM_HISTORY);
    int rc, present;
    if (path == NULL)
        return FL_ENOMEM;
    fl_buf_adds(&sql, "CREATE OR REPLACE VIEW vpc_flow_logs.alarm_history"
                      " AS\n");
    /* A listed session knows from its walk (no symlink, not empty). */
    present = q->listed ? q->files.alarm_history != NULL
            : stat(path, &st) == 0 && st.st_size > 0;
    if (present) {
        fl_buf_adds(&sql, "SELECT * FROM read_json('");
        buf_put_sql_str(&sql, path);
        fl_buf_adds(&sql, "', format = 'newline_delimited', "
                          "columns = {");
        for (size_t i = 0; i < n_columns; i++)
            fl_buf_addf(&sql, "%s\"%s\": '%s'", i ? ", " : "",
                                columns[i][0], columns[i][1]);
        fl_buf_adds(&sql, "})");
    } else {
        fl_buf_adds(&sql, "SELECT * FROM (SELECT ");
        /* Every column NULL of its type, no rows. */
        for (size_t i = 0; i < n_columns; i++)
            fl_buf_addf(&sql, "%sCAST(NULL AS %s) AS \"%s\"",
                                i ? ", " : "", columns[i][1], columns[i][0]);
        fl_buf_adds(&sql, " WHERE false)");
    }
    rc = sql.err ? FL_ENOMEM
       : exec_view(q, FL_QUERY_VIEW_ALARM_HISTORY, sql.p, out_err);
    fl_buf_free(&sql);
    fl_free(path);
    return rc;
}


int
fl_query_set_metrics(struct fl_query *q, const struct fl_metric_row *rows,
                     size_t n, char **out_err)
{
    char *err = NULL;
    int rc = fl_query_exec(q, "DROP TABLE IF EXISTS main."
                           FL_QUERY_METRICS_LIVE, out_err);
    if (rc < 0)
        return rc;
    rc = fl_metric_store_append(q->con, "main." FL_QUERY_METRICS_LIVE, rows,
                                n, &err);
    if (rc < 0) {
        fl_query_set_err(out_err, err);
        fl_free(err);
        return rc;
    }
    q->metrics_live = 1;
    q->stale = 1;
    return FL_OK;
}


int
fl_query_text(struct fl_query *q, const char *sql, char **out,
              char **out_err)
{
    duckdb_result res;
    int rc = FL_OK;
    *out = NULL;
    if (q->stale && (rc = fl_query_refresh(q, out_err)) < 0)
        return rc;
    /* A metrics session runs only the server's own reads, which change
     * nothing: the views stay until the next fl_query_set_metrics. */
    if (!q->metrics_only)
        q->stale = 1;
    if (duckdb_query(q->con, sql, &res) == DuckDBError) {
        fl_query_set_err(out_err, duckdb_result_error(&res));
        duckdb_destroy_result(&res);
        return FL_EDB;
    }
    if (duckdb_row_count(&res) > 0 && duckdb_column_count(&res) > 0
        && !duckdb_value_is_null(&res, 0, 0)) {
        char *v = duckdb_value_varchar(&res, 0, 0);
        if (v == NULL || (*out = fl_strdup(v)) == NULL)
            rc = FL_ENOMEM;
        if (v != NULL)
            duckdb_free(v);
    }
    duckdb_destroy_result(&res);
    return rc;
}


void
fl_query_set_prune(struct fl_query *q, int on)
{
    q->no_prune = !on;
}


long
fl_query_view_files(const struct fl_query *q)
{
    return q->view_files;
}


int
fl_query_refresh(struct fl_query *q, char **out_err)
{
    int rc = q->metrics_only ? FL_OK : create_view(q, out_err);
    if (rc == FL_OK)
        rc = create_metrics_view(q, out_err);
    if (rc == FL_OK && !q->metrics_only)
        rc = create_alarm_history_view(q, out_err);
    if (rc == FL_OK)
        q->stale = 0;
    return rc;
}


void
fl_query_metrics_only(struct fl_query *q)
{
    q->metrics_only = 1;
    /* Its queries are small: on one thread they skip the scheduling of
     * tasks across DuckDB's pool, half the cost of a small read (and the
     * server runs one such query at a time anyway). Failing to set it
     * only costs that. */
    (void)fl_query_exec(q, "SET threads = 1", NULL);
    /* The metric store's files are written once and never changed: their
     * footers can be parsed once, not at every request (DuckDB checks a
     * file's modification time before using its cached footer). */
    (void)fl_query_exec(q, "SET parquet_metadata_cache = true", NULL);
}


struct _duckdb_connection *
fl_query_connection(struct fl_query *q)
{
    return q->con;
}


void
fl_query_close(struct fl_query *q)
{
    if (q == NULL)
        return;
    if (q->con != NULL)
        duckdb_disconnect(&q->con);
    if (q->db != NULL)
        duckdb_close(&q->db);
    fl_query_files_free(&q->files);
    fl_free(q->info.columns);
    fl_free(q->archive_dir);
    for (size_t i = 0; i < sizeof q->view_sql / sizeof q->view_sql[0]; i++)
        fl_free(q->view_sql[i]);
    fl_free(q);
}


void
fl_query_info_reset(struct fl_query *q)
{
    fl_free(q->info.columns);
    memset(&q->info, 0, sizeof q->info);
    q->info.rows = -1;
    q->info.err_offset = -1;
}


const struct fl_query_info *
fl_query_last_info(const struct fl_query *q)
{
    return &q->info;
}


int
fl_query_open(const char *archive_dir, struct fl_query **out, char **out_err)
{
    return fl_query_open_live(archive_dir, NULL, out, out_err);
}


int
fl_query_open_live(const char *archive_dir, struct fl_live *live,
                   struct fl_query **out, char **out_err)
{
    return fl_query_open_files(archive_dir, NULL, live, out, out_err);
}


/* files NULL: the views glob the archive (the trusted CLI). */
int
fl_query_open_files(const char *archive_dir,
                    const struct fl_query_files *files, struct fl_live *live,
                    struct fl_query **out, char **out_err)
{
    struct fl_query *q = NULL;
    duckdb_config cfg = NULL;
    char *open_err = NULL;
    struct stat st;
    int rc;

    rc = stat(archive_dir, &st) != 0 ? -errno
         : !S_ISDIR(st.st_mode) ? -ENOTDIR : FL_OK;
    if (rc < 0) {
        struct fl_buf m = { 0 };
        fl_buf_addf(&m, "archive directory '%s': %s", archive_dir,
                            strerror(-rc));
        if (!m.err)
            fl_query_set_err(out_err, m.p);
        fl_buf_free(&m);
        return rc;
    }

    q = fl_calloc(1, sizeof *q);
    if (q == NULL)
        return FL_ENOMEM;
    fl_query_info_reset(q);
    q->live = live;
    size_t n = strlen(archive_dir);
    while (n > 1 && archive_dir[n - 1] == '/')
        n--;
    q->archive_dir = fl_strndup(archive_dir, n);
    if (q->archive_dir == NULL) {
        rc = FL_ENOMEM;
        goto fail;
    }
    if (files != NULL) {
        if ((rc = fl_query_files_copy(&q->files, files)) < 0)
            goto fail;
        q->listed = 1;
    }

    /* No surprise downloads: an extension must be installed on purpose. */
    if (duckdb_create_config(&cfg) == DuckDBError
        || duckdb_set_config(cfg, "autoinstall_known_extensions", "false")
           == DuckDBError) {
        fl_query_set_err(out_err, "cannot configure DuckDB");
        rc = FL_EDB;
        goto fail;
    }
    if (duckdb_open_ext(NULL, &q->db, cfg, &open_err) == DuckDBError) {
        fl_query_set_err(out_err, open_err);
        rc = FL_EDB;
        goto fail;
    }
    if (duckdb_connect(q->db, &q->con) == DuckDBError) {
        fl_query_set_err(out_err, "cannot connect to DuckDB");
        rc = FL_EDB;
        goto fail;
    }
    if (live != NULL && fl_live_register(live, &q->con) < 0) {
        fl_query_set_err(out_err, "cannot register " FL_LIVE_FUNCTION "()");
        rc = FL_EDB;
        goto fail;
    }
    rc = fl_query_exec(q, "SET TimeZone = 'UTC'", out_err);
    if (rc == FL_OK)
        rc = fl_query_register_athena(q, out_err);
    if (rc == FL_OK) {
        /* No file yet: each run makes the view it needs (prune.c), and
         * opening reads no footer. */
        struct fl_prune none;
        memset(&none, 0, sizeof none);
        none.mode = FL_PRUNE_NONE;
        q->prune = &none;
        rc = fl_query_refresh(q, out_err);
        q->prune = NULL;
        q->stale = 1;
    }
    if (rc == FL_OK)
        rc = fl_query_exec(q, "SET search_path = 'vpc_flow_logs,main'",
                           out_err);
    if (rc < 0)
        goto fail;

    if (open_err != NULL)
        duckdb_free(open_err);
    duckdb_destroy_config(&cfg);
    *out = q;
    return FL_OK;

fail:
    if (open_err != NULL)
        duckdb_free(open_err);
    if (cfg != NULL)
        duckdb_destroy_config(&cfg);
    fl_query_close(q);
    return rc;
}


int
fl_query_output_parse(const char *name, enum fl_output *out)
{
    if (strcmp(name, "table") == 0)
        *out = FL_OUTPUT_TABLE;
    else if (strcmp(name, "csv") == 0)
        *out = FL_OUTPUT_CSV;
    else if (strcmp(name, "json") == 0)
        *out = FL_OUTPUT_JSON;
    else
        return FL_ECONFIG;
    return FL_OK;
}


/* ------------------------------------------------------------------------
 * Running scripts
 * --------------------------------------------------------------------- */

int
fl_query_run(struct fl_query *q, const char *sql, enum fl_output fmt,
             FILE *out, char **out_err)
{
    duckdb_extracted_statements ext = NULL;
    duckdb_prepared_statement stmt = NULL;
    struct fl_prune *prune = NULL;
    int rc = FL_OK;

    /* The view over only the hours the script can need (prune.c); it
     * depends on the script, so it is made for every run. The analysis
     * runs with pruning off too, for its refusal of 'yyyy/MM/dd'. */
    fl_query_info_reset(q);
    if ((prune = fl_malloc(sizeof *prune)) == NULL)
        return FL_ENOMEM;
    rc = fl_query_prune(q, sql, prune, out_err);
    if (!q->no_prune) {
        if (rc == FL_OK && prune->mode != FL_PRUNE_ALL) {
            q->prune = prune;
            q->stale = 1;
        }
    }
    if (rc == FL_OK && q->stale)
        rc = fl_query_refresh(q, out_err);
    q->prune = NULL;
    fl_free(prune);
    if (rc < 0)
        return rc;
    q->stale = 1;
    q->info.files = q->view_files;
    q->info.blocks = q->view_blocks;

    idx_t n = duckdb_extract_statements(q->con, sql, &ext);
    if (n == 0) {
        const char *e = duckdb_extract_statements_error(ext);
        fl_query_set_err(out_err, e != NULL ? e : "no SQL statement to run");
        rc = FL_EDB;
        goto out;
    }
    for (idx_t i = 0; i < n && rc == FL_OK; i++) {
        if (duckdb_prepare_extracted_statement(q->con, ext, i, &stmt)
            == DuckDBError) {
            fl_query_set_err(out_err, duckdb_prepare_error(stmt));
            rc = FL_EDB;
            break;
        }
        if (i + 1 < n) {
            duckdb_result res;
            memset(&res, 0, sizeof res);
            if (duckdb_execute_prepared(stmt, &res) == DuckDBError) {
                fl_query_set_err(out_err, duckdb_result_error(&res));
                rc = FL_EDB;
            }
            duckdb_destroy_result(&res);
        } else {
            rc = fl_query_run_last(stmt, fmt, out, &q->info, out_err);
        }
        duckdb_destroy_prepare(&stmt);
    }
out:
    if (stmt != NULL)
        duckdb_destroy_prepare(&stmt);
    duckdb_destroy_extracted(&ext);
    return rc;
}


int
fl_query_files_scanned(struct fl_query *q, const char *sql,
                       long *out_files_read, char **out_err)
{
    static const char key[] = "Total Files Read:";
    struct fl_buf full = { 0 };
    struct fl_buf plan = { 0 };
    duckdb_result res;
    duckdb_data_chunk chunk = NULL;
    long files = 0;
    int rc = FL_OK;

    memset(&res, 0, sizeof res);
    if (q->stale) {
        rc = fl_query_refresh(q, out_err);
        if (rc < 0)
            return rc;
    }
    q->stale = 1;
    fl_buf_adds(&full, "EXPLAIN ANALYZE ");
    fl_buf_adds(&full, sql);
    if (full.err) {
        rc = FL_ENOMEM;
        goto out;
    }
    if (duckdb_query(q->con, full.p, &res) == DuckDBError) {
        fl_query_set_err(out_err, duckdb_result_error(&res));
        rc = FL_EDB;
        goto out;
    }
    /* Columns: explain_key, explain_value (the drawn plan). */
    if (duckdb_column_count(&res) < 2
        || duckdb_column_type(&res, 1) != DUCKDB_TYPE_VARCHAR) {
        fl_query_set_err(out_err, "EXPLAIN ANALYZE returned no plan");
        rc = FL_EDB;
        goto out;
    }
    while ((chunk = duckdb_fetch_chunk(res)) != NULL) {
        duckdb_vector v = duckdb_data_chunk_get_vector(chunk, 1);
        duckdb_string_t *data = duckdb_vector_get_data(v);
        idx_t n = duckdb_data_chunk_get_size(chunk);
        for (idx_t row = 0; row < n; row++) {
            if (!fl_query_row_is_valid(v, row))
                continue;
            fl_buf_reset(&plan);
            fl_buf_add(&plan, duckdb_string_t_data(&data[row]),
                             duckdb_string_t_length(data[row]));
            if (plan.err) {
                rc = FL_ENOMEM;
                break;
            }
            for (const char *p = plan.p; (p = strstr(p, key)) != NULL;) {
                p += sizeof key - 1;
                files += strtol(p, NULL, 10);
            }
        }
        duckdb_destroy_data_chunk(&chunk);
        if (rc < 0)
            goto out;
    }
    *out_files_read = files;
out:
    duckdb_destroy_result(&res);
    fl_buf_free(&plan);
    fl_buf_free(&full);
    return rc;
}
