/* SPDX-License-Identifier: MIT
 *
 * query_int.h -- declarations shared by the files of src/query/ and nobody
 * else (SQLite's btreeInt.h pattern): the session struct and its helpers
 * (query.c), SQL string literals (query.c), the registration of the
 * Athena compatibility layer (athena.c) and the result writer (output.c).
 *
 * Thread: everything here runs on the thread that owns the struct fl_query
 * it works for (see query.h).
 */
#ifndef FL_QUERY_INT_H
#define FL_QUERY_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <duckdb.h>

#include "../core/fl_buf.h"

#include "query.h"

/* ---- query.c: the session ------------------------------------------- */

/* Defined here rather than in query.c because athena.c registers its
 * functions on con. Only query.c creates, changes and destroys it. */
struct fl_query {
    duckdb_database    db;
    duckdb_connection  con;
    char              *archive_dir;  /* owned; no trailing '/' */
    struct fl_live    *live;         /* borrowed (outlives q), or NULL */
    int                stale;        /* re-create the view before a run */
    int                metrics_live; /* main.flowlake_metrics_live exists */
    int                metrics_only; /* refresh re-creates only the metric
                                      * views (fl_query_metrics_only) */
    int                listed;       /* views read `files`, never a glob */
    struct fl_query_files files;     /* owned; meaningful when listed */
    int                no_prune;     /* views read every file (--no-prune) */
    const struct fl_prune *prune;    /* borrowed during a run, or NULL */
    long               view_files;   /* flow files in the current view */
    long               view_blocks;  /* buffered blocks it parses */
    struct fl_query_info info;       /* of the last run (query.h) */
    /* The statement each view of fixed columns was last created with
     * (owned, or NULL), by enum fl_query_view: a refresh that would
     * create it again from the same text skips it. DuckDB binds a view's
     * text at every query, so the same text reads the files, tables and
     * rows of now; only a change of the text (files listed, tables
     * present) needs a new view, and the metrics session refreshes at
     * every request. */
    char              *view_sql[2];
};

enum fl_query_view {
    FL_QUERY_VIEW_METRICS,
    FL_QUERY_VIEW_ALARM_HISTORY,
};

/* Stores a copy of msg (NULL: "unknown DuckDB error") in *out_err unless
 * out_err is NULL or *out_err is already set: the first error wins. The
 * copy is the caller's to fl_free; when it cannot be allocated, *out_err
 * stays NULL. msg is borrowed. */
void fl_query_set_err(char **out_err, const char *msg);

/* Forgets what the last run's info (query.h) held: before a run. */
void fl_query_info_reset(struct fl_query *q);

/* Runs sql (borrowed) on q's connection for its effects; its result is
 * discarded. Returns 0, or FL_EDB with DuckDB's message in *out_err (see
 * fl_query_set_err). */
int  fl_query_exec(struct fl_query *q, const char *sql, char **out_err);

/* ---- sandbox.c: the files of a sandboxed session ------------------- */

/* Deep copy of src into *dst (zeroed first). Returns 0 or -ENOMEM (then
 * *dst is left empty). */
int  fl_query_files_copy(struct fl_query_files *dst,
                         const struct fl_query_files *src);

/* DuckDB's parse of text (one or more queries) as JSON, from
 * json_serialize_sql: the parser alone, nothing is bound. Returns 0 with
 * *out_root (json_decref); FL_EPARSE when some statement is not a query;
 * FL_EDB when text does not parse (*out_err: DuckDB's syntax error);
 * FL_ENOMEM. */
struct json_t;
int  fl_query_serialize(struct fl_query *q, const char *text,
                        struct json_t **out_root, char **out_err);

/* ---- prune.c: the hour folders a query can need ---------------------- */

/* How far the end of a flow record may lie from its start, for pruning
 * on `end`: VPC flow logs aggregate over at most 10 minutes; one hour
 * leaves room. */
#define FL_PRUNE_END_MARGIN_S 3600
#define FL_PRUNE_MAX_CONDS    32
#define FL_PRUNE_MAX_IN       64

#define FL_PRUNE_ALL   0        /* every file */
#define FL_PRUNE_NONE  1        /* the view is not read: no file */
#define FL_PRUNE_RANGE 2        /* hours lo..hi and conds */

/* One conjunct on a partition column: col 0..3 (year, month, day, hour)
 * op (=, <, <=, >, >=, IN) the zero-padded strings vals. */
struct fl_prune_cond {
    int  col;
    int  op;
    int  n_vals;
    char vals[FL_PRUNE_MAX_IN][5];
};

struct fl_prune {
    int     mode;
    int64_t lo, hi;             /* hours since the epoch, inclusive */
    size_t  n;
    struct fl_prune_cond conds[FL_PRUNE_MAX_CONDS];
};

/* Evaluates a constant SELECT (sql: one BIGINT column, one row) for the
 * analysis: returns 0 with *out, or -1 when it fails. */
struct fl_prune_eval {
    int  (*eval)(void *ctx, const char *sql, int64_t *out);
    void *ctx;
};

/* Reads the serialized parse root (borrowed) into *out. Returns 0 (out
 * mode ALL when nothing prunes safely); FL_EPARSE with *out_err when a
 * partition column is compared with a string holding '/'; FL_ENOMEM. */
int  fl_prune_analyze(struct json_t *root, const struct fl_prune_eval *ev,
                      struct fl_prune *out, char **out_err);

/* fl_prune_analyze on the script sql, parsed and evaluated on q. */
int  fl_query_prune(struct fl_query *q, const char *sql,
                    struct fl_prune *out, char **out_err);

/* Whether the folder whose first depth+1 partition values are v[0..depth]
 * (year, month, day, hour strings) may hold rows the query needs. */
int  fl_prune_keep(const struct fl_prune *p, int depth,
                   const char *const v[4]);

/* Whether some hour in [lo, hi] (hours since the epoch) may hold rows the
 * query needs: for the live buffer's blocks, whose hours are known but
 * which have no folder. Over a span of more than 62 days with conditions
 * on the partition columns, says 1 without looking. */
int  fl_prune_keep_hours(const struct fl_prune *p, int64_t lo, int64_t hi);

/* The same for a file path .../year=Y/month=M/day=D/hour=H/x.parquet. */
int  fl_prune_keep_path(const struct fl_prune *p, const char *path);

/* Lists the .parquet files of ARCHIVE's year=, month=, day=, hour=
 * folders, visiting only the folders fl_prune_keep keeps (p NULL: all):
 * *out (sorted; each path and the array to fl_free) and *out_n. With
 * no_links every entry is lstat'ed, and one that is not a real folder or
 * a regular file -- a symlink -- is skipped with all it points to (the
 * sandbox's rule); an entry that vanishes meanwhile is skipped too.
 * Returns 0 or -errno (-ENOENT: no archive folder). */
int  fl_query_partition_files(const char *archive_dir,
                              const struct fl_prune *p, int no_links,
                              char ***out, size_t *out_n);

/* fl_query_partition_files with p's pruning, following links; no file at
 * all when p->mode is FL_PRUNE_NONE, and no archive folder is no error. */
int  fl_prune_list(const char *archive_dir, const struct fl_prune *p,
                   char ***out, size_t *out_n);

/* ---- sqllex.c: statement boundaries, for the sandbox's messages ----- */

/* From sql + *pos, finds the next statement that is not empty (only
 * whitespace, comments or ';'): returns 1 with its offset and length
 * (without the ';') and moves *pos past its ';'; returns 0 at the end. */
int  fl_query_sql_next(const char *sql, size_t *pos, size_t *out_start,
                       size_t *out_len);

/* When stmt begins (after whitespace and comments) with EXPLAIN, sets
 * *out_rest to the wrapped statement's first character (borrowed from
 * stmt) and returns FL_QUERY_EXPLAIN (plain EXPLAIN),
 * FL_QUERY_EXPLAIN_ANALYZE (EXPLAIN ANALYZE / ANALYSE) or
 * FL_QUERY_EXPLAIN_OTHER (VERBOSE, or a parenthesised option list);
 * else returns 0. */
#define FL_QUERY_EXPLAIN         1
#define FL_QUERY_EXPLAIN_ANALYZE 2
#define FL_QUERY_EXPLAIN_OTHER   3
int  fl_query_sql_explain(const char *stmt, const char **out_rest);

/* Writes into out[0..cap) a short name of stmt for an error message: its
 * first keyword upper-cased ("COPY"), after "EXPLAIN [ANALYZE] " for an
 * EXPLAIN. Always NUL-terminated (cap > 0). */
void fl_query_sql_describe(const char *stmt, char *out, size_t cap);

/* ---- query.c: SQL text -------------------------------------------- */

/* Appends s to b as a SQL string literal: in single quotes, quotes
 * doubled. SQL text, error messages and output lines of src/query/ are
 * built in core's fl_buf, zeroed ({ 0 }: no ceiling, the statements and
 * rows they hold being bounded by the session's own limits). */
void fl_query_put_sql_str(struct fl_buf *b, const char *s);

/* ---- athena.c: the Athena (Presto/Trino) compatibility layer -------- */

/* Registers on q's connection the C scalar functions
 * flowlake_mysql_format() and date_parse(), then creates the TEMP macros
 * (from_unixtime, date_format, ...). Called once by fl_query_open().
 * Returns 0; FL_ENOMEM; FL_EDB with *out_err set (see fl_query_set_err).
 * Stops at the first failure, leaving what was registered before it. */
int  fl_query_register_athena(struct fl_query *q, char **out_err);

/* ---- output.c: result rendering ------------------------------------- */

/* True when row `row` of v (borrowed) is not NULL. */
int  fl_query_row_is_valid(duckdb_vector v, idx_t row);

/* Executes stmt (the last statement of a script; borrowed, the caller
 * destroys it) streaming, and writes its result to out in format fmt,
 * then flushes out. Statements whose result is only a status (CREATE,
 * SET, ...) print nothing. Returns 0; FL_EDB with *out_err set (see
 * fl_query_set_err) when the statement fails, possibly after part of the
 * output was written; -EIO when writing to out fails; FL_ENOMEM. */
/* Fills info->rows and info->columns (info may be NULL; its columns
 * must be NULL on entry). */
int  fl_query_run_last(duckdb_prepared_statement stmt, enum fl_output fmt,
                       FILE *out, struct fl_query_info *info,
                       char **out_err);

#endif /* FL_QUERY_INT_H */
