/* SPDX-License-Identifier: MIT
 *
 * metric_store.h -- where metric values live on disk and how SQL sees
 * them (issue #4, "the metric store").
 *
 * Final window values are written as Parquet files
 *
 *     ARCHIVE/_metrics/final-<K>.parquet
 *
 * where K is a commit number that grows by one per file. A file is
 * written to a temporary name, fsync'd and renamed; it counts only once
 * the server's stream state that says "K files are committed" is on disk
 * (server/metrics.c), so after a crash fl_metric_store_cleanup() removes
 * files above the committed number and the stream engine produces their
 * values again from the write-ahead log: no value lost, none twice.
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

/* Writes rows as ARCHIVE/_metrics/final-<file_no>.parquet, durably
 * (temporary name, fsync, rename, directory fsync). Returns 0; FL_EDB or
 * -errno with *err set. */
int  fl_metric_store_write(const char *archive_dir, uint64_t file_no,
                           const struct fl_metric_row *rows, size_t n,
                           char **err);

/* Removes final-<K>.parquet with K > committed and leftover temporary
 * files. Returns the number removed, or -errno. */
int  fl_metric_store_cleanup(const char *archive_dir, uint64_t committed);

/* The highest K of a final-<K>.parquet present (0 = none). */
uint64_t fl_metric_store_last(const char *archive_dir);

/* The commit point: ARCHIVE/_metrics/state holds the first line
 *   "flowlake-metrics-state 1 <committed> <seq>\n"
 * then the stream engine's saved state (stream.h fl_stream_save). It is
 * replaced atomically; final files above <committed> do not count. */
int  fl_metric_store_save_state(const char *archive_dir, uint64_t committed,
                                uint64_t seq, const unsigned char *blob,
                                size_t len);

/* Reads the state: -ENOENT when there is none yet; FL_ECORRUPT when the
 * first line is not one; *blob is fl_free'd by the caller. */
int  fl_metric_store_load_state(const char *archive_dir, uint64_t *committed,
                                uint64_t *seq, unsigned char **blob,
                                size_t *len);

/* The committed file numbers' paths, ascending, for SQL: a new array of
 * new strings (fl_free each and the array); *n = 0 when there are none.
 * Reads only the state's first line. Returns 0, -ENOMEM. */
int  fl_metric_store_files(const char *archive_dir, char ***out, size_t *n);

#endif /* FL_METRIC_STORE_H */
