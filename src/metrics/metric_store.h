/* SPDX-License-Identifier: MIT
 *
 * metric_store.h -- where metric values live on disk and how SQL sees
 * them ("the metric store"; docs/metrics.md).
 *
 * Final window values are written as Parquet files
 *
 *     ARCHIVE/_metrics/final-<K>.parquet
 *
 * where K grows by one per file. A file is written to a temporary name,
 * fsync'd and renamed; it counts only once the state file that lists it
 * among the live files is on disk (metrics/metrics.c), so after a crash
 * fl_metric_store_cleanup() removes the files that are not live and the
 * stream engine produces their values again from the write-ahead log: no
 * value lost, none twice. Files are merged by levels (fl_metric_store_plan)
 * so that a server saving every few seconds for years reads a few dozen
 * files, not millions.
 *
 * Every file (and every in-memory table of provisional values) has the
 * columns
 *
 *     metric VARCHAR, dim_names VARCHAR[], dim_values VARCHAR[],
 *     window_start TIMESTAMP, window_end TIMESTAMP, value DOUBLE,
 *     final BOOLEAN, exact BOOLEAN, records UBIGINT
 *
 * and the view vpc_flow_logs.metrics (query/query.c) shows them with
 * MAP(dim_names, dim_values) AS dimensions.
 */
#ifndef FL_METRIC_STORE_H
#define FL_METRIC_STORE_H

#include <duckdb.h>
#include <stddef.h>
#include <stdint.h>

#include "../stream/stream.h"

/* Folder under the archive, and the SQL column list of a file. */
#define FL_METRIC_STORE_DIR "_metrics"
#define FL_METRIC_STORE_COLUMNS \
    "metric VARCHAR, dim_names VARCHAR[], dim_values VARCHAR[], " \
    "window_start TIMESTAMP, window_end TIMESTAMP, value DOUBLE, " \
    "final BOOLEAN, exact BOOLEAN, records UBIGINT"

/* An owned copy of a struct fl_metric_value. */
struct fl_metric_row {
    char     *metric;
    size_t    n_dims;
    char    **dim_names;
    char    **dim_values;      /* NULL entries are SQL NULL */
    int64_t   window_start, window_end;
    double    value;
    int       has_value, final, exact;
    uint64_t  records;
};

/* Copies v into *out. Returns 0 or -ENOMEM (*out then holds nothing). */
int  fl_metric_row_copy(const struct fl_metric_value *v,
                        struct fl_metric_row *out);
void fl_metric_row_free(struct fl_metric_row *r);

/* Creates `table` (if absent) with the store's columns on con and appends
 * rows[0..n). Returns 0, or FL_EDB with *err (fl_free) set. */
int  fl_metric_store_append(duckdb_connection con, const char *table,
                            const struct fl_metric_row *rows, size_t n,
                            char **err);

/* One final file the state counts: its number and merge level (0: one
 * save's values; L: FANOUT files of level L-1 merged). */
struct fl_metric_file {
    uint64_t no;
    unsigned level;
};

/* Files of one level that make one file of the next: the number of files
 * stays logarithmic in the saves, and each value is rewritten about once
 * per level. */
#define FL_METRIC_STORE_FANOUT 10

/* Writes ARCHIVE/_metrics/final-<file_no>.parquet, durably (temporary
 * name, fsync, rename, directory fsync): the rows of the final files
 * numbered merge[0..n_merge) followed by rows[0..n). Returns 0; FL_EDB or
 * -errno with *err set. */
int  fl_metric_store_write(const char *archive_dir, uint64_t file_no,
                           const struct fl_metric_row *rows, size_t n,
                           const uint64_t *merge, size_t n_merge, char **err);

/* Which live files the next file should take in: fills merge[] (room for
 * n) with indexes into live and *level with the new file's level; returns
 * how many. With have_rows, a level-0 file unless level 0 is full; without,
 * the first level (from 1) that is full, or 0 when nothing is due. */
size_t fl_metric_store_plan(const struct fl_metric_file *live, size_t n,
                            int have_rows, unsigned *level, size_t *merge);

/* Removes final files that are not live, and leftover temporary files.
 * Returns the number removed, or -errno. */
int  fl_metric_store_cleanup(const char *archive_dir,
                             const struct fl_metric_file *live, size_t n);

/* The highest K of a final-<K>.parquet present (0 = none). */
uint64_t fl_metric_store_last(const char *archive_dir);

/* The commit point: ARCHIVE/_metrics/state holds the first line
 *   "flowlake-metrics-state 1 <seq> <n> <no>.<level> ...\n"
 * (the WAL position the saved state covers, then the n live files), then
 * the stream engine's saved state (stream.h fl_stream_save). It is
 * replaced atomically; final files that are not live do not count. */
int  fl_metric_store_save_state(const char *archive_dir,
                                const struct fl_metric_file *live,
                                size_t n_live, uint64_t seq,
                                const unsigned char *blob, size_t len);

/* Reads the state: -ENOENT when there is none yet; FL_ECORRUPT when the
 * first line is not one; *live and *blob are fl_free'd by the caller. */
int  fl_metric_store_load_state(const char *archive_dir, uint64_t *seq,
                                struct fl_metric_file **live, size_t *n_live,
                                unsigned char **blob, size_t *len);

/* The live files' paths, ascending by number, for SQL: a new array of new
 * strings (fl_free each and the array); *n = 0 without a state. Returns
 * 0, -ENOMEM. */
int  fl_metric_store_files(const char *archive_dir, char ***out, size_t *n);

#endif /* FL_METRIC_STORE_H */
