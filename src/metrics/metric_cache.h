/* SPDX-License-Identifier: MIT
 *
 * metric_cache.h -- the metric store's recent final values held in memory.
 *
 * The server's metric reads (GET /api/metrics, POST /api/metrics/batch)
 * are what a dashboard asks for at every refresh. Answered through SQL,
 * each read paid DuckDB's fixed price (parse, bind, plan, decode whole
 * Parquet row groups, build JSON) whatever its size, and a refresh of the
 * default dashboard cost the server 55-150 ms of CPU. The cache keeps the
 * rows of the store's final files (metrics/metric_store.h) from a horizon
 * on, per file, as plain arrays sorted by metric and window, so a read is
 * a binary search and a scan (metrics/metric_reads.c).
 *
 * Store files are written once under a unique number and never changed
 * (merges write a new file), so a file's rows are loaded once, when it
 * first appears in the store's state, and dropped when it leaves it.
 *
 * Not thread-safe: the server uses it under its metrics session mutex.
 */
#ifndef FL_METRIC_CACHE_H
#define FL_METRIC_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include <duckdb.h>

/* How far back the cache holds values: the web UI's longest preset range
 * (30 days) and two days more, so "the last 30 days" is always answered
 * from memory; an older range is answered through SQL. */
#define FL_METRIC_CACHE_DAYS 32

/* One series of one file: a metric's dimension names and values. */
struct fl_mcache_series {
    size_t   n_dims;
    char   **names;
    char   **values;            /* NULL entries are SQL NULL */
    char    *key;               /* fl_metric_cache_key of names and values */
};

struct fl_mcache_row {
    int64_t  window_start, window_end;      /* epoch seconds */
    double   value;
    uint64_t records;
    uint32_t series;                        /* index into the file's series */
    uint8_t  has_value, final, exact;
};

/* The sums of one series' rows of one UTC day: what a read summing a
 * month (aggregate=sum) adds up instead of the day's windows. */
struct fl_mcache_day {
    int64_t  day;                           /* epoch seconds of 00:00 UTC */
    double   value;
    uint64_t records;
    uint32_t series;
    uint8_t  has_value, final;              /* any value; every row final */
};

/* One metric's rows of a file, ascending by window_start, and its day
 * sums, ascending by day. */
struct fl_mcache_run {
    char  *metric;
    size_t first, n;
    size_t day_first, day_n;
};

struct fl_mcache_file {
    char                    *path;
    int64_t                  since;     /* rows with window_start >= since */
    struct fl_mcache_series *series;
    size_t                   n_series;
    struct fl_mcache_row    *rows;
    size_t                   n_rows;
    struct fl_mcache_run    *runs;
    size_t                   n_runs;
    struct fl_mcache_day    *days;
    size_t                   n_days;
    size_t                   bytes;     /* what it holds allocated */
};

struct fl_metric_cache {
    struct fl_mcache_file *files;       /* in the store's order, oldest first */
    size_t                 n_files;
    int64_t                complete_from;
    size_t                 rows, bytes;     /* over every file */
};

struct fl_metric_cache *fl_metric_cache_create(void);
void fl_metric_cache_destroy(struct fl_metric_cache *c);

/* Brings the cache in line with the store's live files paths[0..n)
 * (fl_metric_store_files): loads through con the rows with window_start
 * >= since of each file it does not hold, drops the files no longer live.
 * Returns 0, or an error with *err (fl_free) set; the cache is then empty
 * and the next sync loads everything again. */
int fl_metric_cache_sync(struct fl_metric_cache *c, duckdb_connection con,
                         char *const *paths, size_t n, int64_t since,
                         char **err);

/* The earliest window_start from which the cache holds every stored row:
 * a read whose range starts there or later is complete from memory.
 * INT64_MIN when the store has no files. */
int64_t fl_metric_cache_from(const struct fl_metric_cache *c);

/* The rows of metric in file f with window_start >= from: [*begin, *end)
 * index f->rows (empty when the file has none). */
void fl_mcache_file_rows(const struct fl_mcache_file *f, const char *metric,
                         int64_t from, size_t *begin, size_t *end);

/* The start of the UTC day holding epoch seconds t: the day of a day sum
 * (t more than two days from either end of int64_t). */
int64_t fl_mcache_day(int64_t t);

/* The day sums of metric in file f for the days starting in [from, to):
 * [*begin, *end) index f->days. */
void fl_mcache_file_days(const struct fl_mcache_file *f, const char *metric,
                         int64_t from, int64_t to, size_t *begin,
                         size_t *end);

/* A series' grouping key in a new string (fl_free): its dimension names and
 * values, each prefixed by its length, NULL values marked, so no two
 * different series share a key. NULL when out of memory. */
char *fl_metric_cache_key(size_t n, char *const *names, char *const *values);

#endif /* FL_METRIC_CACHE_H */
