/* SPDX-License-Identifier: MIT
 *
 * query.h -- SQL over the Parquet archive, through an in-process DuckDB.
 *
 * fl_query_open() starts an in-memory DuckDB (session time zone UTC) and
 * creates the view vpc_flow_logs.flow_logs over
 *
 *     ARCHIVE_DIR/year=YYYY/month=MM/day=DD/hour=HH/NAME.parquet
 *
 * read with hive_partitioning and union_by_name. The view always has the 40
 * columns of parse/fields.h, in that order and with their types, except that
 * `start` and `end` are TIMESTAMP (UTC) instead of epoch seconds; then the
 * partition columns year, month, day and hour (VARCHAR, zero-padded, as in
 * Athena's DDL); then any extra columns some files carry (unknown fields of a
 * custom format, VARCHAR). With no Parquet file yet the view still exists,
 * with the same columns, and returns no rows. A filter on the partition
 * columns prunes files: `EXPLAIN ANALYZE` shows "Total Files Read: N" on
 * the READ_PARQUET scan, and fl_query_files_scanned() returns that N.
 * The search path is "vpc_flow_logs,main", so `flow_logs` works unqualified.
 *
 * Two more views: vpc_flow_logs.metrics (metric, dimensions MAP(VARCHAR,
 * VARCHAR), window_start, window_end, value, final, exact, records) over
 * the metric store's committed Parquet files (metrics/metric_store.h) --
 * plus, in the server, the values still in memory (fl_query_set_metrics);
 * and vpc_flow_logs.alarm_history (time, alarm, metric, dimensions,
 * old_state, new_state, reason, window_start, window_end, threshold,
 * values) over the alarms' history file.
 *
 * fl_query_open_live() adds the records a running server holds in memory
 * (archive/live.h): the view is then the archive UNION ALL BY NAME the
 * live table function flowlake_live(), with the same columns in the same
 * order and types; live rows get year/month/day/hour from their start
 * hour exactly as the archive's partition folders name them.
 *
 * Athena (Presto/Trino) functions that DuckDB lacks are defined as macros or
 * C scalar functions: from_unixtime, to_unixtime, date_format, date_parse,
 * day_of_week / dow, day_of_year / doy, day_of_month, week_of_year,
 * year_of_week / yow, from_iso8601_timestamp, from_iso8601_date, to_iso8601,
 * approx_distinct, regexp_like, json_extract_scalar, last_day_of_month and
 * the Presto form of date_add(unit, n, ts). docs/query.md lists them with
 * their differences from Athena.
 *
 * Errors: a failing function hands back an allocated message (char
 * **out_err, fl_free it) rather than the fixed-size struct fl_err the
 * rest of flowlake uses. The messages here are mostly DuckDB's own, of no
 * set length -- a binder error lists every candidate column, a syntax
 * error quotes the statement -- and they end with the "LINE n: excerpt"
 * and caret that fl_query_error_position reads to place the error for
 * `flowlake query` and POST /api/query: cut to fit a fixed buffer, they
 * would lose exactly that end.
 *
 * Thread: one struct fl_query belongs to one thread at a time (DuckDB's
 * connection is not meant for concurrent use); open one per thread.
 */
#ifndef FL_QUERY_H
#define FL_QUERY_H

#include <stddef.h>
#include <stdio.h>

struct fl_query;
struct fl_live;
struct fl_metric_row;

/* The in-memory table behind the server's provisional metric values, and
 * the alarms' history file under the archive (alarm/alarm.h). */
#define FL_QUERY_METRICS_LIVE  "flowlake_metrics_live"
#define FL_QUERY_ALARM_HISTORY "_flowlake/alarms/history.jsonl"

enum fl_output {
    FL_OUTPUT_TABLE,    /* aligned columns, header, "(N rows)" footer */
    FL_OUTPUT_CSV,      /* RFC 4180: header row, quoted when needed */
    FL_OUTPUT_JSON      /* one array of objects, one object per line */
};

/* The table format keeps at most this many rows in memory (it needs the
 * column widths before printing); the footer says how many were left out. */
#define FL_QUERY_TABLE_MAX_ROWS 10000

/* A table cell longer than this many characters is cut and ends in "...". */
#define FL_QUERY_TABLE_MAX_CELL 256

/* Opens a query session over the archive rooted at archive_dir (borrowed;
 * copied). Fails with -ENOENT / -ENOTDIR when archive_dir is not a
 * directory, FL_EDB when DuckDB refuses (a damaged Parquet file, ...),
 * -ENOMEM. On failure *out is untouched and, when out_err is not NULL,
 * *out_err receives a message the caller frees with fl_free (it may stay
 * NULL on -ENOMEM). */
int fl_query_open(const char *archive_dir, struct fl_query **out,
                  char **out_err);

/* Like fl_query_open, and vpc_flow_logs.flow_logs also holds the rows of
 * live (archive/live.h; NULL: exactly fl_query_open): archive UNION ALL BY
 * NAME the live blocks, parsed anew by every statement that reads the
 * view. Columns keep the order and types of fl_query_open (extras only the
 * live blocks have come after the archive's). Live rows get year, month,
 * day and hour (VARCHAR, zero-padded, UTC) from their start hour as the
 * archive's folders do. live is borrowed: it must stay alive until
 * fl_query_close(q) (close the session first, then fl_live_destroy).
 * Errors as fl_query_open (FL_EDB also when flowlake_live() cannot be
 * registered). */
int fl_query_open_live(const char *archive_dir, struct fl_live *live,
                       struct fl_query **out, char **out_err);

/* Adds rows (metrics/metric_store.h; copied) to vpc_flow_logs.metrics for
 * this session, next to the committed final files: the server's
 * provisional values and finals not yet in a file. Replaces rows a
 * previous call gave. Returns 0, FL_EDB with *out_err, -ENOMEM. */
int fl_query_set_metrics(struct fl_query *q, const struct fl_metric_row *rows,
                         size_t n, char **out_err);

/* From now on, a refresh of q's views re-creates only
 * vpc_flow_logs.metrics and vpc_flow_logs.metric_values -- flow_logs and
 * alarm_history keep what they were, so a run costs no walk of the
 * archive's folders -- and fl_query_text runs do not make the views stale
 * (fl_query_set_metrics does). For a session that runs the server's own
 * metric reads only (GET /api/metrics keeps one). */
void fl_query_metrics_only(struct fl_query *q);

/* Appends s[0..n) as DuckDB's cast to VARCHAR writes a text inside a
 * LIST, MAP or STRUCT: in single quotes (' and \ escaped) when it would
 * otherwise be ambiguous, as it is otherwise (output.c; the metric reads
 * order series by a MAP's text with it). */
struct fl_buf;
void fl_query_add_nested_text(struct fl_buf *b, const char *s, size_t n);

/* q's DuckDB connection, for a caller that reads a store file with it
 * (metrics/metric_cache.h loads through the metrics session's). */
struct _duckdb_connection *fl_query_connection(struct fl_query *q);

/* Runs a script of one or more SQL statements (separated by ';') and writes
 * the result of the LAST statement to out in the given format. Earlier
 * statements run for their effects (CREATE, SET, ...) and their results are
 * discarded. Statements that return no result set (DDL, SET, ...) print
 * nothing. CSV and JSON stream chunk by chunk; TABLE keeps at most
 * FL_QUERY_TABLE_MAX_ROWS rows; for EXPLAIN, TABLE prints the plan text as is.
 *
 * Before running, the view is re-created if an earlier run happened, so
 * that files published since (even ones with new extra columns) are seen.
 *
 * Returns 0; FL_EDB with *out_err = DuckDB's message (owned, fl_free) when
 * a statement fails (output already written for the last statement may be
 * incomplete); -EIO when writing to out fails; -ENOMEM. */
int fl_query_run(struct fl_query *q, const char *sql, enum fl_output fmt,
                 FILE *out, char **out_err);

/* Runs one trusted statement and returns its first row's first column as
 * text in *out (fl_free; NULL when there is no row or it is NULL).
 * Returns 0, FL_EDB with *out_err, -ENOMEM. */
int fl_query_text(struct fl_query *q, const char *sql, char **out,
                  char **out_err);

/* Runs `EXPLAIN ANALYZE <sql>` (sql: one SELECT statement) and returns in
 * *out_files_read the number of Parquet files the scans actually read (the
 * sum of "Total Files Read" over all READ_PARQUET operators): the proof that
 * a partition filter pruned the archive. Same errors as fl_query_run. */
int fl_query_files_scanned(struct fl_query *q, const char *sql,
                           long *out_files_read, char **out_err);

/* Re-creates the view vpc_flow_logs.flow_logs from the files present now.
 * fl_query_run does this by itself; exposed for long-lived sessions. */
int fl_query_refresh(struct fl_query *q, char **out_err);

/* Pruning (on by default): fl_query_run builds the view over only the
 * hour folders the script's filters on start, end, date, year, month,
 * day and hour can match (prune.c). on = 0 reads every file. */
void fl_query_set_prune(struct fl_query *q, int on);

/* How many Parquet files the view read by the last run covered. */
long fl_query_view_files(const struct fl_query *q);

/* What the last fl_query_run (or fl_query_run_untrusted) read and
 * returned, for the server's answer (docs/serve.md, "Queries over HTTP"):
 * filled as far as the run got, reset at the start of every run. */
struct fl_query_info {
    long long rows;         /* rows of the last statement's result, -1 = none */
    long      files;        /* archive files in the run's view (after pruning) */
    long      blocks;       /* buffered blocks the run's view parses */
    long      err_offset;   /* byte offset in the SQL of a syntax error, -1 */
    char     *columns;      /* the result's columns as a JSON array of
                             * {"name": ..., "type": ...} (ASCII), or NULL */
};
/* Borrowed; valid until the next run or fl_query_close. */
const struct fl_query_info *fl_query_last_info(const struct fl_query *q);

/* Where a failed query's error points in its text: DuckDB's messages end
 * with a "LINE n: <excerpt>" line and a caret under the spot; a syntax
 * error found by the sandbox's parse has only a byte offset (offset, or
 * -1). Sets *line and *column (1-based; the column counts characters) and
 * returns 1 when the spot is found in sql; 0 otherwise (the excerpt does
 * not match the text, as after a rewrite). */
int fl_query_error_position(const char *sql, const char *msg, long offset,
                            unsigned *line, unsigned *column);

/* Closes the session; NULL is a no-op. */
void fl_query_close(struct fl_query *q);

/* Parses "table", "csv" or "json" into *out. Returns 0 or FL_ECONFIG. */
int fl_query_output_parse(const char *name, enum fl_output *out);

/* ---- SQL from the network (sandbox.c) ------------------------------ */

/* The files a sandboxed session may read, found by walking the archive
 * without following symbolic links: a symlink, or anything under a
 * symlinked folder, or anything that is not a regular file, is left out.
 * Paths are ARCHIVE_DIR/... (ARCHIVE_DIR without trailing '/'), owned. */
struct fl_query_files {
    char   **flow;          /* partition folders' .parquet, sorted */
    size_t   n_flow;
    char   **metrics;       /* the metric store's committed final files */
    size_t   n_metrics;
    char    *alarm_history; /* FL_QUERY_ALARM_HISTORY when non-empty, or NULL */
};

/* Lists into *out (zeroed first; free with fl_query_files_free) the files
 * of the archive rooted at archive_dir that a sandboxed session may read.
 * The server calls it under its snapshot lock, so that the list matches
 * the buffered blocks it copies at the same time. A folder that vanishes
 * during the walk is skipped. Returns 0; -errno when archive_dir cannot be
 * read (with *out_err); -ENOMEM. On failure *out is left empty. */
int fl_query_list_archive(const char *archive_dir, struct fl_query_files *out,
                          char **out_err);

/* Frees what f holds and zeroes it; NULL is a no-op. */
void fl_query_files_free(struct fl_query_files *f);

/* Like fl_query_open_live, but the views read exactly the files of files
 * (borrowed; copied) instead of globbing the archive, now and at every
 * refresh: the session sees the archive as it was when files was listed.
 * fl_query_sandbox then lets DuckDB read those files and nothing else. */
int fl_query_open_files(const char *archive_dir,
                        const struct fl_query_files *files,
                        struct fl_live *live, struct fl_query **out,
                        char **out_err);

/* Locks a session down for SQL from the network. Call once, after open
 * (and fl_query_set_metrics) and before the first untrusted run; nothing
 * can undo it. DuckDB settings: memory_limit, enable_external_access =
 * false with allowed_paths = exactly the session's files (a session
 * opened without a list gets one from fl_query_list_archive now, and its
 * views are re-created from it) and allowed_directories empty, no temp
 * directory (nothing spills to disk), no extension auto-install or
 * auto-load, no community extensions, no persistent secrets, and
 * lock_configuration = true so that no statement can change any of it.
 * Returns 0, FL_EDB or -errno with *out_err, -ENOMEM. */
int fl_query_sandbox(struct fl_query *q, const char *memory_limit,
                     char **out_err);

/* Decides, from DuckDB's parse alone (nothing is prepared or bound, so
 * refusing has no effect), whether the script sql may run in a sandboxed
 * session. Allowed: statements that DuckDB parses as queries (SELECT,
 * FROM-first, VALUES, WITH, UNION/EXCEPT/INTERSECT, DESCRIBE, SHOW,
 * SUMMARIZE), and a request that is one EXPLAIN [ANALYZE] of such a query
 * (no VERBOSE, no option list);
 * every table function must be on a list of read-only ones and no scalar
 * function with an effect (setseed, nextval, write_log, ...) may appear.
 * Returns 0 when allowed; FL_EPARSE when refused, with *out_err naming the
 * statement or function refused; FL_EDB when DuckDB cannot parse sql
 * (*out_err: DuckDB's syntax error); -ENOMEM. */
int fl_query_check_sql(struct fl_query *q, const char *sql, char **out_err);

/* fl_query_run for SQL from the network: fl_query_check_sql first (on
 * refusal nothing runs), and the run is interrupted after timeout_s
 * seconds (0 = no limit; then -ETIMEDOUT with *out_err saying so). */
int fl_query_run_untrusted(struct fl_query *q, const char *sql,
                           enum fl_output fmt, FILE *out, unsigned timeout_s,
                           char **out_err);

/* Checks a query.memory_limit value by setting it in a scratch in-memory
 * DuckDB, as fl_query_sandbox() will. Returns 0, FL_ECONFIG with DuckDB's
 * reason in err, FL_EDB (err says so) or FL_ENOMEM. */
int fl_query_check_memory_limit(const char *value, char *err, size_t errlen);

#endif /* FL_QUERY_H */
