/* SPDX-License-Identifier: MIT
 *
 * metric_cache.c -- the metric store's recent final values in memory (see
 * metric_cache.h).
 *
 * A file is read once through DuckDB, ordered by metric and window, into
 * three arrays: rows, runs (one per metric, a slice of rows) and series
 * (the distinct dimension sets, shared by the file's metrics). Series are
 * found again through an open-addressing table over their keys while the
 * file loads; the table is freed once it has.
 */
#include "../core/fl_config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/fl_buf.h"
#include "../core/fl_error.h"
#include "../core/fl_keyindex.h"
#include "../core/fl_mem.h"
#include "../core/fl_sql.h"
#include "metric_cache.h"


/* Keys have no ceiling of their own: their parts are a series'
 * dimensions, whose count and text the store already bounds. */

/* One part of a key. The length first: "3:abc", so no content can fake a
 * boundary. Returns 0 or k's error. */
static int
key_put(struct fl_buf *k, const char *s, size_t len)
{
    fl_buf_addf(k, "%zu:", len);
    return fl_buf_add(k, s, len);
}

static int
key_put_null(struct fl_buf *k)
{
    return fl_buf_addc(k, '-');     /* never the start of "N:" */
}


char *
fl_metric_cache_key(size_t n, char *const *names, char *const *values)
{
    struct fl_buf k = FL_BUF_INIT(0);
    for (size_t i = 0; i < n; i++) {
        key_put(&k, names[i], strlen(names[i]));
        if (values[i] != NULL)
            key_put(&k, values[i], strlen(values[i]));
        else
            key_put_null(&k);
    }
    /* NULL when an append failed; an empty key is still a string. */
    return fl_buf_take(&k, NULL);
}


static void
series_free(struct fl_mcache_series *s)
{
    for (size_t i = 0; i < s->n_dims; i++) {
        fl_free(s->names[i]);
        fl_free(s->values[i]);
    }
    fl_free(s->names);
    fl_free(s->values);
    fl_free(s->key);
}


static void
file_free(struct fl_mcache_file *f)
{
    for (size_t i = 0; i < f->n_series; i++)
        series_free(&f->series[i]);
    for (size_t i = 0; i < f->n_runs; i++)
        fl_free(f->runs[i].metric);
    fl_free(f->series);
    fl_free(f->rows);
    fl_free(f->runs);
    fl_free(f->days);
    fl_free(f->path);
    memset(f, 0, sizeof *f);
}


struct fl_metric_cache *
fl_metric_cache_create(void)
{
    struct fl_metric_cache *c = fl_calloc(1, sizeof *c);
    if (c != NULL)
        c->complete_from = INT64_MIN;
    return c;
}


void
fl_metric_cache_destroy(struct fl_metric_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_files; i++)
        file_free(&c->files[i]);
    fl_free(c->files);
    fl_free(c);
}


int64_t
fl_metric_cache_from(const struct fl_metric_cache *c)
{
    return c->complete_from;
}


/* What one file's load keeps besides the file: the series table and the
 * capacities of the growing arrays. */
struct loader {
    struct fl_mcache_file *f;
    struct fl_keyindex index;   /* series by key */
    size_t    cap_rows, cap_series, cap_runs;
    struct fl_buf key;          /* the key of the row being read */
    uint32_t *run_of;           /* each row's run, while the file loads */
    size_t    cap_run_of;
    int       unsorted;         /* rows did not come by metric and window */
};

/* A copy of a DuckDB string as a C string. */
static char *
dup_duck(duckdb_string_t *s)
{
    uint32_t len = duckdb_string_t_length(*s);
    char *p = fl_malloc((size_t)len + 1);
    if (p != NULL) {
        memcpy(p, duckdb_string_t_data(s), len);
        p[len] = '\0';
    }
    return p;
}


/* The key of series i of the file loading (fl_keyindex_key_fn). */
static const char *
series_key(const void *ctx, uint32_t i)
{
    const struct fl_mcache_file *f = ctx;
    return f->series[i].key;
}


/* The index of the series of row `row` (its names and values lists),
 * added when new. Returns 0 or FL_ENOMEM. */
static int
find_series(struct loader *L, duckdb_vector names_v, duckdb_vector values_v,
            idx_t row, uint32_t *out)
{
    duckdb_list_entry ne = ((duckdb_list_entry *)
                            duckdb_vector_get_data(names_v))[row];
    duckdb_list_entry ve = ((duckdb_list_entry *)
                            duckdb_vector_get_data(values_v))[row];
    duckdb_vector nc = duckdb_list_vector_get_child(names_v);
    duckdb_vector vc = duckdb_list_vector_get_child(values_v);
    duckdb_string_t *ns = (duckdb_string_t *)duckdb_vector_get_data(nc);
    duckdb_string_t *vs = (duckdb_string_t *)duckdb_vector_get_data(vc);
    uint64_t *nvalid = duckdb_vector_get_validity(nc);
    uint64_t *vvalid = duckdb_vector_get_validity(vc);
    size_t n = (size_t)ne.length;
    int rc = FL_OK;

    if (ve.length != ne.length)
        return FL_EDB;              /* the store never writes such a row */
    fl_buf_reset(&L->key);
    for (size_t i = 0; i < n && rc == 0; i++) {
        idx_t a = ne.offset + i, b = ve.offset + i;
        if (nvalid != NULL && !duckdb_validity_row_is_valid(nvalid, a))
            return FL_EDB;
        rc = key_put(&L->key, duckdb_string_t_data(&ns[a]),
                     duckdb_string_t_length(ns[a]));
        if (rc == 0)
            rc = vvalid != NULL && !duckdb_validity_row_is_valid(vvalid, b)
                 ? key_put_null(&L->key)
                 : key_put(&L->key, duckdb_string_t_data(&vs[b]),
                           duckdb_string_t_length(vs[b]));
    }
    if (rc == 0)
        rc = fl_buf_add(&L->key, "", 0);    /* no dimensions: key "" */
    if (rc < 0)
        return rc;

    size_t slot;
    long at = fl_keyindex_find(&L->index, L->key.p, series_key, L->f, &slot);
    if (at >= 0) {
        *out = (uint32_t)at;
        return FL_OK;
    }
    if (at < -1)
        return (int)at;

    /* New: copy it. */
    struct fl_mcache_file *f = L->f;
    struct fl_mcache_series *grown = fl_grow(f->series, &L->cap_series,
                                             f->n_series + 1,
                                             sizeof *f->series, 64);
    if (grown == NULL)
        return FL_ENOMEM;
    f->series = grown;
    struct fl_mcache_series *s = &f->series[f->n_series];
    memset(s, 0, sizeof *s);
    s->key = fl_strdup(L->key.p);
    if (n > 0) {
        s->names = fl_calloc(n, sizeof *s->names);
        s->values = fl_calloc(n, sizeof *s->values);
    }
    if (s->key == NULL || (n > 0 && (s->names == NULL || s->values == NULL))) {
        series_free(s);
        return FL_ENOMEM;
    }
    s->n_dims = n;
    for (size_t i = 0; i < n; i++) {
        idx_t a = ne.offset + i, b = ve.offset + i;
        s->names[i] = dup_duck(&ns[a]);
        int null = vvalid != NULL && !duckdb_validity_row_is_valid(vvalid, b);
        if (!null)
            s->values[i] = dup_duck(&vs[b]);
        if (s->names[i] == NULL || (!null && s->values[i] == NULL)) {
            series_free(s);
            return FL_ENOMEM;
        }
    }
    f->n_series++;
    fl_keyindex_put(&L->index, slot, (uint32_t)(f->n_series - 1));
    *out = (uint32_t)(f->n_series - 1);
    return FL_OK;
}


static int
valid(uint64_t *validity, idx_t row)
{
    return validity == NULL || duckdb_validity_row_is_valid(validity, row);
}


/* The rows of one chunk into the file. */
static int
load_chunk(struct loader *L, duckdb_data_chunk chunk)
{
    struct fl_mcache_file *f = L->f;
    idx_t n = duckdb_data_chunk_get_size(chunk);
    duckdb_vector v[9];
    for (idx_t c = 0; c < 9; c++)
        v[c] = duckdb_data_chunk_get_vector(chunk, c);
    duckdb_string_t *metric = (duckdb_string_t *)duckdb_vector_get_data(v[0]);
    int64_t *ws = (int64_t *)duckdb_vector_get_data(v[3]);
    int64_t *we = (int64_t *)duckdb_vector_get_data(v[4]);
    double *value = (double *)duckdb_vector_get_data(v[5]);
    bool *final = (bool *)duckdb_vector_get_data(v[6]);
    bool *exact = (bool *)duckdb_vector_get_data(v[7]);
    uint64_t *records = (uint64_t *)duckdb_vector_get_data(v[8]);
    uint64_t *valid_of[9];
    for (idx_t c = 0; c < 9; c++)
        valid_of[c] = duckdb_vector_get_validity(v[c]);
    int rc;

    if (f->n_rows + n > L->cap_rows) {
        struct fl_mcache_row *rows = fl_grow(f->rows, &L->cap_rows,
                                             f->n_rows + n,
                                             sizeof *f->rows, 64);
        if (rows == NULL)
            return FL_ENOMEM;
        f->rows = rows;
    }
    for (idx_t r = 0; r < n; r++) {
        /* The store writes every column but value on every row. */
        if (!valid(valid_of[0], r) || !valid(valid_of[1], r)
            || !valid(valid_of[2], r) || !valid(valid_of[3], r)
            || !valid(valid_of[4], r))
            return FL_EDB;
        const char *m = duckdb_string_t_data(&metric[r]);
        uint32_t mlen = duckdb_string_t_length(metric[r]);
        size_t ri = f->n_runs;
        /* The last run first: the store writes rows by metric. */
        for (size_t k = f->n_runs; k-- > 0;)
            if (strlen(f->runs[k].metric) == mlen
                && memcmp(f->runs[k].metric, m, mlen) == 0) {
                ri = k;
                break;
            }
        if (ri == f->n_runs) {
            struct fl_mcache_run *runs = fl_grow(f->runs, &L->cap_runs,
                                                 f->n_runs + 1,
                                                 sizeof *f->runs, 64);
            if (runs == NULL)
                return FL_ENOMEM;
            f->runs = runs;
            struct fl_mcache_run *run = &f->runs[f->n_runs];
            if ((run->metric = dup_duck(&metric[r])) == NULL)
                return FL_ENOMEM;
            run->first = f->n_rows;
            run->n = 0;
            f->n_runs++;
        } else if (ri != f->n_runs - 1
                   || ws[r] < f->rows[f->n_rows - 1].window_start) {
            L->unsorted = 1;
        }
        struct fl_mcache_run *last = &f->runs[ri];
        uint32_t *run_of = fl_grow(L->run_of, &L->cap_run_of, f->n_rows + 1,
                                   sizeof *L->run_of, 64);
        if (run_of == NULL)
            return FL_ENOMEM;
        L->run_of = run_of;
        L->run_of[f->n_rows] = (uint32_t)ri;
        struct fl_mcache_row *row = &f->rows[f->n_rows];
        if ((rc = find_series(L, v[1], v[2], r, &row->series)) < 0)
            return rc;
        row->window_start = ws[r];
        row->window_end = we[r];
        row->has_value = valid(valid_of[5], r) != 0;
        row->value = row->has_value ? value[r] : 0;
        row->final = valid(valid_of[6], r) && final[r];
        row->exact = valid(valid_of[7], r) && exact[r];
        row->records = valid(valid_of[8], r) ? records[r] : 0;
        f->n_rows++;
        last->n++;
    }
    return FL_OK;
}


/* A row with what orders it, for sort_rows. */
struct tagged {
    struct fl_mcache_row row;
    uint32_t             run;
    size_t               pos;
};

static int
by_run_window(const void *x, const void *y)
{
    const struct tagged *a = x, *b = y;
    if (a->run != b->run)
        return a->run < b->run ? -1 : 1;
    if (a->row.window_start != b->row.window_start)
        return a->row.window_start < b->row.window_start ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* Rows that did not come by metric and window (a store file written by
 * another writer) put in that order, stably, each run one slice. */
static int
sort_rows(struct loader *L)
{
    struct fl_mcache_file *f = L->f;
    struct tagged *t = fl_malloc((f->n_rows ? f->n_rows : 1) * sizeof *t);
    size_t at = 0;
    if (t == NULL)
        return FL_ENOMEM;
    for (size_t i = 0; i < f->n_rows; i++)
        t[i] = (struct tagged){ f->rows[i], L->run_of[i], i };
    qsort(t, f->n_rows, sizeof *t, by_run_window);
    for (size_t i = 0; i < f->n_rows; i++)
        f->rows[i] = t[i].row;
    for (size_t k = 0; k < f->n_runs; k++) {
        f->runs[k].first = at;
        at += f->runs[k].n;
    }
    fl_free(t);
    return FL_OK;
}


int64_t
fl_mcache_day(int64_t t)
{
    int64_t d = t / 86400;
    if (t % 86400 < 0)
        d--;
    return d * 86400;
}

/* The day sums of every run: per day, one entry per series in the order
 * the series first appear that day. Rows are by window already. */
static int
build_days(struct fl_mcache_file *f)
{
    long *slot = fl_malloc((f->n_series ? f->n_series : 1) * sizeof *slot);
    size_t cap = 0;
    int rc = FL_OK;
    if (slot == NULL)
        return FL_ENOMEM;
    for (size_t s = 0; s < f->n_series; s++)
        slot[s] = -1;
    for (size_t k = 0; k < f->n_runs && rc == 0; k++) {
        struct fl_mcache_run *run = &f->runs[k];
        size_t day_start = f->n_days;
        int64_t day = INT64_MIN;
        run->day_first = f->n_days;
        for (size_t i = run->first; i < run->first + run->n; i++) {
            const struct fl_mcache_row *row = &f->rows[i];
            int64_t d = fl_mcache_day(row->window_start);
            if (d != day) {
                /* A new day: the last one's slots are free again. */
                for (size_t j = day_start; j < f->n_days; j++)
                    slot[f->days[j].series] = -1;
                day_start = f->n_days;
                day = d;
            }
            long at = slot[row->series];
            if (at < 0) {
                struct fl_mcache_day *days = fl_grow(f->days, &cap,
                                                     f->n_days + 1,
                                                     sizeof *f->days, 64);
                if (days == NULL) {
                    rc = FL_ENOMEM;
                    break;
                }
                f->days = days;
                at = (long)f->n_days++;
                f->days[at] = (struct fl_mcache_day){
                    .day = d, .series = row->series, .final = 1,
                };
                slot[row->series] = at;
            }
            struct fl_mcache_day *e = &f->days[at];
            e->records += row->records;
            e->final = e->final && row->final;
            if (row->has_value) {
                e->value += row->value;
                e->has_value = 1;
            }
        }
        for (size_t j = day_start; j < f->n_days; j++)
            slot[f->days[j].series] = -1;
        run->day_n = f->n_days - run->day_first;
    }
    fl_free(slot);
    f->bytes += cap * sizeof *f->days;
    return rc;
}


/* *err = "reading PATH: WHAT" (fl_free), when err is wanted and unset. */
static void
set_err(char **err, const char *path, const char *what)
{
    if (err == NULL || *err != NULL)
        return;
    size_t len = strlen(path) + strlen(what) + 16;
    if ((*err = fl_malloc(len)) != NULL)
        snprintf(*err, len, "reading %s: %s", path, what);
}


static int
load_file(struct fl_mcache_file *f, duckdb_connection con, const char *path,
          int64_t since, char **err)
{
    struct loader L = { .f = f };
    duckdb_result res;
    char *quoted = fl_sql_literal(path), *sql = NULL;
    int rc = FL_OK;

    memset(f, 0, sizeof *f);
    f->since = since;
    if (quoted == NULL || (f->path = fl_strdup(path)) == NULL) {
        fl_free(quoted);
        return FL_ENOMEM;
    }
    size_t cap = strlen(quoted) + 512;
    if ((sql = fl_malloc(cap)) == NULL) {
        fl_free(quoted);
        return FL_ENOMEM;
    }
    /* The store writes a file ordered by metric and window, and one
     * thread reads it in that order: no ORDER BY, so the rows stream
     * through one chunk at a time instead of DuckDB holding the whole
     * sorted result (load_chunk notices any other order). */
    snprintf(sql, cap,
             "SELECT metric, dim_names, dim_values, "
             "epoch_us(window_start) // 1000000, "
             "epoch_us(window_end) // 1000000, value, final, exact, records "
             "FROM read_parquet(%s) "
             "WHERE window_start >= make_timestamp(CAST(%" PRId64
             " AS BIGINT) * 1000000)",
             quoted, since);
    fl_free(quoted);
    duckdb_prepared_statement stmt = NULL;
    int prepared = duckdb_prepare(con, sql, &stmt) == DuckDBSuccess;
    fl_free(sql);
    if (!prepared
        || duckdb_execute_prepared_streaming(stmt, &res) == DuckDBError) {
        const char *e = prepared ? duckdb_result_error(&res)
                                 : duckdb_prepare_error(stmt);
        set_err(err, path, e ? e : "failed");
        if (prepared)
            duckdb_destroy_result(&res);
        duckdb_destroy_prepare(&stmt);
        return FL_EDB;
    }
    duckdb_data_chunk chunk;
    while (rc == 0 && (chunk = duckdb_fetch_chunk(res)) != NULL) {
        rc = load_chunk(&L, chunk);
        duckdb_destroy_data_chunk(&chunk);
    }
    if (rc == 0 && duckdb_result_error(&res) != NULL) {
        /* The stream failed part way. */
        set_err(err, path, duckdb_result_error(&res));
        rc = FL_EDB;
    }
    duckdb_destroy_result(&res);
    duckdb_destroy_prepare(&stmt);
    if (rc == 0 && L.unsorted)
        rc = sort_rows(&L);
    if (rc == 0)
        rc = build_days(f);
    /* What the status page reports as the cache's memory. */
    f->bytes += L.cap_rows * sizeof *f->rows + L.cap_runs * sizeof *f->runs
               + L.cap_series * sizeof *f->series;
    for (size_t i = 0; i < f->n_series; i++) {
        const struct fl_mcache_series *se = &f->series[i];
        f->bytes += strlen(se->key) + 1 + 2 * se->n_dims * sizeof(char *);
        for (size_t d = 0; d < se->n_dims; d++)
            f->bytes += strlen(se->names[d]) + 1
                        + (se->values[d] ? strlen(se->values[d]) + 1 : 0);
    }
    fl_keyindex_free(&L.index);
    fl_free(L.run_of);
    fl_buf_free(&L.key);
    if (rc == FL_EDB)
        set_err(err, path, "a row the store does not write");
    return rc;
}


int
fl_metric_cache_sync(struct fl_metric_cache *c, duckdb_connection con,
                     char *const *paths, size_t n, int64_t since, char **err)
{
    struct fl_mcache_file *files = NULL;
    int rc = FL_OK;

    if (err != NULL)
        *err = NULL;
    /* Nothing changed: the common case, a file list compare. */
    if (n == c->n_files) {
        size_t i = 0;
        while (i < n && strcmp(paths[i], c->files[i].path) == 0)
            i++;
        if (i == n)
            return FL_OK;
    }
    if (n > 0 && (files = fl_calloc(n, sizeof *files)) == NULL)
        return FL_ENOMEM;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t k = 0;
        while (k < c->n_files && (c->files[k].path == NULL
                                  || strcmp(c->files[k].path, paths[i]) != 0))
            k++;
        if (k < c->n_files) {               /* held: moved over */
            files[i] = c->files[k];
            memset(&c->files[k], 0, sizeof c->files[k]);
        } else {
            rc = load_file(&files[i], con, paths[i], since, err);
        }
    }
    /* What is left in the old list left the store. */
    for (size_t k = 0; k < c->n_files; k++)
        file_free(&c->files[k]);
    fl_free(c->files);
    c->files = NULL;
    c->n_files = 0;
    c->complete_from = INT64_MIN;
    c->rows = c->bytes = 0;
    if (rc < 0) {
        for (size_t i = 0; i < n; i++)
            file_free(&files[i]);
        fl_free(files);
        return rc;
    }
    c->files = files;
    c->n_files = n;
    /* A file loaded earlier holds rows from an earlier horizon; the newest
     * horizon bounds what every file holds. */
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || files[i].since > c->complete_from)
            c->complete_from = files[i].since;
        c->rows += files[i].n_rows;
        c->bytes += files[i].bytes;
    }
    return FL_OK;
}


/* The run of metric in f, or NULL. */
static const struct fl_mcache_run *
run_of(const struct fl_mcache_file *f, const char *metric)
{
    for (size_t i = 0; i < f->n_runs; i++)
        if (strcmp(f->runs[i].metric, metric) == 0)
            return &f->runs[i];
    return NULL;
}


void
fl_mcache_file_rows(const struct fl_mcache_file *f, const char *metric,
                    int64_t from, size_t *begin, size_t *end)
{
    const struct fl_mcache_run *run = run_of(f, metric);
    *begin = *end = 0;
    if (run == NULL)
        return;
    /* The first row with window_start >= from. */
    size_t lo = run->first, hi = run->first + run->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->rows[mid].window_start < from)
            lo = mid + 1;
        else
            hi = mid;
    }
    *begin = lo;
    *end = run->first + run->n;
}


void
fl_mcache_file_days(const struct fl_mcache_file *f, const char *metric,
                    int64_t from, int64_t to, size_t *begin, size_t *end)
{
    const struct fl_mcache_run *run = run_of(f, metric);
    *begin = *end = 0;
    if (run == NULL)
        return;
    size_t lo = run->day_first, hi = run->day_first + run->day_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->days[mid].day < from)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t e = lo;
    while (e < run->day_first + run->day_n && f->days[e].day < to)
        e++;
    *begin = lo;
    *end = e;
}
