/* SPDX-License-Identifier: MIT
 *
 * metric_store.c -- metric values as DuckDB rows and Parquet files (see
 * metric_store.h).
 */
#include "../core/fl_config.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/fl_buf.h"
#include "../core/fl_error.h"
#include "../core/fl_fs.h"
#include "../core/fl_mem.h"
#include "metric_store.h"

#define FINAL_PREFIX "final-"
#define FINAL_SUFFIX ".parquet"
#define STATE_FILE FL_METRIC_STORE_DIR "/state"
#define STATE_MAGIC "flowlake-metrics-state 1 "


int
fl_metric_row_copy(const struct fl_metric_value *v, struct fl_metric_row *out)
{
    memset(out, 0, sizeof *out);
    out->window_start = v->window_start;
    out->window_end = v->window_end;
    out->value = v->value;
    out->has_value = v->has_value;
    out->final = v->final;
    out->exact = v->exact;
    out->records = v->records;
    if ((out->metric = fl_strdup(v->metric)) == NULL)
        goto nomem;
    if (v->n_dims > 0) {
        out->dim_names = fl_calloc(v->n_dims, sizeof *out->dim_names);
        out->dim_values = fl_calloc(v->n_dims, sizeof *out->dim_values);
        if (out->dim_names == NULL || out->dim_values == NULL)
            goto nomem;
        out->n_dims = v->n_dims;
        for (size_t i = 0; i < v->n_dims; i++) {
            if ((out->dim_names[i] = fl_strdup(v->dim_names[i])) == NULL)
                goto nomem;
            if (v->dim_values[i] != NULL
                && (out->dim_values[i] = fl_strdup(v->dim_values[i])) == NULL)
                goto nomem;
        }
    }
    return FL_OK;
nomem:
    if (out->dim_names != NULL && out->n_dims == 0)
        out->n_dims = v->n_dims;    /* free what calloc zeroed */
    fl_metric_row_free(out);
    return FL_ENOMEM;
}


void
fl_metric_row_free(struct fl_metric_row *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_dims; i++) {
        if (r->dim_names != NULL)
            fl_free(r->dim_names[i]);
        if (r->dim_values != NULL)
            fl_free(r->dim_values[i]);
    }
    fl_free(r->dim_names);
    fl_free(r->dim_values);
    fl_free(r->metric);
    memset(r, 0, sizeof *r);
}


static int
db_error(char **err, const char *what, const char *detail)
{
    size_t n = strlen(what) + (detail ? strlen(detail) : 0) + 3;
    *err = fl_malloc(n);
    if (*err != NULL)
        snprintf(*err, n, "%s%s%s", what, detail ? ": " : "",
                 detail ? detail : "");
    return FL_EDB;
}


/* A VARCHAR[] value of strs[0..n) (NULL entries are NULL). */
static duckdb_value
list_value(duckdb_logical_type varchar, char *const *strs, size_t n)
{
    duckdb_value *items = NULL, list = NULL;
    /* Never a NULL array, even for no dimensions: DuckDB refuses one. */
    if ((items = fl_calloc(n ? n : 1, sizeof *items)) == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        items[i] = strs[i] ? duckdb_create_varchar(strs[i])
                           : duckdb_create_null_value();
    list = duckdb_create_list_value(varchar, items, n);
    for (size_t i = 0; i < n; i++)
        duckdb_destroy_value(&items[i]);
    fl_free(items);
    return list;
}


static duckdb_state
append_row(duckdb_appender app, duckdb_logical_type varchar,
           const struct fl_metric_row *r)
{
    duckdb_value names = list_value(varchar, r->dim_names, r->n_dims);
    duckdb_value values = list_value(varchar, r->dim_values, r->n_dims);
    duckdb_state st = DuckDBError;
    if (names == NULL || values == NULL)
        goto out;
    duckdb_timestamp ws = { r->window_start * 1000000 };
    duckdb_timestamp we = { r->window_end * 1000000 };
    if (duckdb_append_varchar(app, r->metric) == DuckDBError
        || duckdb_append_value(app, names) == DuckDBError
        || duckdb_append_value(app, values) == DuckDBError
        || duckdb_append_timestamp(app, ws) == DuckDBError
        || duckdb_append_timestamp(app, we) == DuckDBError
        || (r->has_value ? duckdb_append_double(app, r->value)
                         : duckdb_append_null(app)) == DuckDBError
        || duckdb_append_bool(app, r->final != 0) == DuckDBError
        || duckdb_append_bool(app, r->exact != 0) == DuckDBError
        || duckdb_append_uint64(app, r->records) == DuckDBError)
        goto out;
    st = duckdb_appender_end_row(app);
out:
    if (names != NULL)
        duckdb_destroy_value(&names);
    if (values != NULL)
        duckdb_destroy_value(&values);
    return st;
}


int
fl_metric_store_append(duckdb_connection con, const char *table,
                       const struct fl_metric_row *rows, size_t n,
                       char **err)
{
    char sql[512];
    duckdb_result res;
    duckdb_appender app = NULL;
    duckdb_logical_type varchar = NULL;
    int rc = FL_OK;

    *err = NULL;
    snprintf(sql, sizeof sql, "CREATE TABLE IF NOT EXISTS %s ("
             FL_METRIC_STORE_COLUMNS ")", table);
    if (duckdb_query(con, sql, &res) == DuckDBError) {
        rc = db_error(err, "cannot create the metrics table",
                      duckdb_result_error(&res));
        duckdb_destroy_result(&res);
        return rc;
    }
    duckdb_destroy_result(&res);
    if (n == 0)
        return FL_OK;
    const char *dot = strchr(table, '.');
    char schema[128] = "";
    if (dot != NULL && (size_t)(dot - table) < sizeof schema)
        memcpy(schema, table, (size_t)(dot - table));
    if (duckdb_appender_create(con, dot ? schema : NULL, dot ? dot + 1 : table,
                               &app) == DuckDBError) {
        rc = db_error(err, "cannot append metric values",
                      app ? duckdb_appender_error(app) : NULL);
        goto out;
    }
    varchar = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
    for (size_t i = 0; i < n; i++) {
        if (append_row(app, varchar, &rows[i]) == DuckDBError) {
            rc = db_error(err, "cannot append metric values",
                          duckdb_appender_error(app));
            goto out;
        }
    }
    if (duckdb_appender_flush(app) == DuckDBError)
        rc = db_error(err, "cannot append metric values",
                      duckdb_appender_error(app));
out:
    if (varchar != NULL)
        duckdb_destroy_logical_type(&varchar);
    if (app != NULL)
        duckdb_appender_destroy(&app);
    return rc;
}


/* ARCHIVE/_metrics/final-<K>.parquet[suffix] in a new string. */
static char *
final_path(const char *archive_dir, uint64_t k, const char *suffix)
{
    size_t n = strlen(archive_dir) + 64 + strlen(suffix);
    char *p = fl_malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/" FL_METRIC_STORE_DIR "/" FINAL_PREFIX "%" PRIu64
                 FINAL_SUFFIX "%s", archive_dir, k, suffix);
    return p;
}


/* Copies s into p with ' doubled; returns the bytes written (the caller
 * sized p for twice s). */
static size_t
put_quoted(char *p, const char *s)
{
    size_t o = 0;
    for (; *s; s++) {
        if (*s == '\'')
            p[o++] = '\'';
        p[o++] = *s;
    }
    p[o] = '\0';
    return o;
}


int
fl_metric_store_write(const char *archive_dir, uint64_t file_no,
                      const struct fl_metric_row *rows, size_t n,
                      const uint64_t *merge, size_t n_merge, char **err)
{
    duckdb_database db = NULL;
    duckdb_connection con = NULL;
    duckdb_result res;
    char *dir = fl_fs_join(archive_dir, FL_METRIC_STORE_DIR);
    char *path = final_path(archive_dir, file_no, "");
    char *tmp = final_path(archive_dir, file_no, ".tmp");
    char *sql = NULL;
    int rc;

    *err = NULL;
    if (dir == NULL || path == NULL || tmp == NULL) {
        rc = FL_ENOMEM;
        goto out;
    }
    if ((rc = fl_fs_mkdirs(dir)) < 0) {
        *err = fl_strdup(dir);
        goto out;
    }
    if (duckdb_open(NULL, &db) == DuckDBError
        || duckdb_connect(db, &con) == DuckDBError) {
        rc = db_error(err, "cannot open DuckDB", NULL);
        goto out;
    }
    if ((rc = fl_metric_store_append(con, "final_values", rows, n, err)) < 0)
        goto out;
    /* Paths are ours (digits and the archive folder); quotes doubled all
     * the same. Rows sorted by metric and window: a reader of one metric
     * over a range then skips the row groups of the others by their
     * statistics (the top-N built-ins make most of the rows). */
    size_t len = (strlen(tmp) + 8) * 2 * (n_merge + 1) + 256;
    if ((sql = fl_malloc(len)) == NULL) {
        rc = FL_ENOMEM;
        goto out;
    }
    size_t o = (size_t)snprintf(sql, len, "COPY (");
    for (size_t i = 0; i < n_merge; i++) {
        char *mp = final_path(archive_dir, merge[i], "");
        if (mp == NULL) {
            rc = FL_ENOMEM;
            goto out;
        }
        o += (size_t)snprintf(sql + o, len - o, "SELECT * FROM read_parquet('");
        o += put_quoted(sql + o, mp);
        o += (size_t)snprintf(sql + o, len - o, "') UNION ALL BY NAME ");
        fl_free(mp);
    }
    o += (size_t)snprintf(sql + o, len - o, "SELECT * FROM final_values "
                          "ORDER BY metric, window_start, dim_values) TO '");
    o += put_quoted(sql + o, tmp);
    snprintf(sql + o, len - o, "' (FORMAT parquet, COMPRESSION zstd)");
    if (duckdb_query(con, sql, &res) == DuckDBError) {
        rc = db_error(err, "cannot write metric values",
                      duckdb_result_error(&res));
        duckdb_destroy_result(&res);
        goto out;
    }
    duckdb_destroy_result(&res);
    if ((rc = fl_fs_fsync_path(tmp)) < 0
        || (rc = fl_fs_rename_durable(tmp, path)) < 0)
        *err = fl_strdup(path);
out:
    if (con != NULL)
        duckdb_disconnect(&con);
    if (db != NULL)
        duckdb_close(&db);
    if (rc < 0 && tmp != NULL)
        (void)unlink(tmp);
    fl_free(sql);
    fl_free(tmp);
    fl_free(path);
    fl_free(dir);
    return rc;
}


/* K of "final-<K>.parquet" (suffix after it in *rest), or 0 when name is
 * not such a file. */
static uint64_t
final_number(const char *name, const char **rest)
{
    size_t pl = strlen(FINAL_PREFIX);
    if (strncmp(name, FINAL_PREFIX, pl) != 0 || name[pl] < '0'
        || name[pl] > '9')
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long k = strtoull(name + pl, &end, 10);
    if (errno != 0 || strncmp(end, FINAL_SUFFIX, strlen(FINAL_SUFFIX)) != 0)
        return 0;
    *rest = end + strlen(FINAL_SUFFIX);
    return k;
}


/* Calls fn for each final file of the store folder. */
static int
each_final(const char *archive_dir,
           void (*fn)(void *ctx, const char *dir, const char *name,
                      uint64_t k, const char *rest),
           void *ctx)
{
    char *dir = fl_fs_join(archive_dir, FL_METRIC_STORE_DIR);
    if (dir == NULL)
        return FL_ENOMEM;
    DIR *d = opendir(dir);
    if (d == NULL) {
        int rc = errno == ENOENT ? FL_OK : -errno;
        fl_free(dir);
        return rc;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *rest = NULL;
        uint64_t k = final_number(e->d_name, &rest);
        if (k > 0)
            fn(ctx, dir, e->d_name, k, rest);
    }
    closedir(d);
    fl_free(dir);
    return FL_OK;
}


/* Whether k is one of the live files. */
static int
is_live(const struct fl_metric_file *live, size_t n, uint64_t k)
{
    for (size_t i = 0; i < n; i++)
        if (live[i].no == k)
            return 1;
    return 0;
}


struct cleanup {
    const struct fl_metric_file *live;
    size_t                       n;
    int                          removed;
};


static void
cleanup_one(void *ctx, const char *dir, const char *name, uint64_t k,
            const char *rest)
{
    struct cleanup *c = ctx;
    if (rest[0] == '\0' && is_live(c->live, c->n, k))
        return;
    char *path = fl_fs_join(dir, name);
    if (path != NULL && unlink(path) == 0)
        c->removed++;
    fl_free(path);
}


int
fl_metric_store_cleanup(const char *archive_dir,
                        const struct fl_metric_file *live, size_t n)
{
    struct cleanup c = { live, n, 0 };
    int rc = each_final(archive_dir, cleanup_one, &c);
    return rc < 0 ? rc : c.removed;
}


static void
last_one(void *ctx, const char *dir, const char *name, uint64_t k,
         const char *rest)
{
    uint64_t *last = ctx;
    (void)dir;
    (void)name;
    if (rest[0] == '\0' && k > *last)
        *last = k;
}


uint64_t
fl_metric_store_last(const char *archive_dir)
{
    uint64_t last = 0;
    (void)each_final(archive_dir, last_one, &last);
    return last;
}


size_t
fl_metric_store_plan(const struct fl_metric_file *live, size_t n,
                     int have_rows, unsigned *level, size_t *merge)
{
    /* Level 0 holds single saves; FANOUT files of a level make one of the
     * next. New rows join the level-0 files when that fills level 0. */
    size_t k = 0;
    if (have_rows) {
        for (size_t i = 0; i < n; i++)
            if (live[i].level == 0)
                merge[k++] = i;
        if (k + 1 >= FL_METRIC_STORE_FANOUT) {
            *level = 1;
            return k;
        }
        *level = 0;
        return 0;
    }
    for (unsigned l = 1; l < 64; l++) {
        k = 0;
        for (size_t i = 0; i < n; i++)
            if (live[i].level == l)
                merge[k++] = i;
        if (k >= FL_METRIC_STORE_FANOUT) {
            *level = l + 1;
            return k;
        }
    }
    *level = 0;
    return 0;
}


int
fl_metric_store_save_state(const char *archive_dir,
                           const struct fl_metric_file *live, size_t n_live,
                           uint64_t seq, const unsigned char *blob, size_t len)
{
    /* "flowlake-metrics-state 1 SEQ N NO.LEVEL ...\n": at most 44 bytes a
     * file. */
    size_t cap = 64 + 44 * n_live + len;
    char *dir = fl_fs_join(archive_dir, FL_METRIC_STORE_DIR);
    char *path = fl_fs_join(archive_dir, STATE_FILE);
    char *all = fl_malloc(cap);
    int rc;
    if (dir == NULL || path == NULL || all == NULL) {
        rc = FL_ENOMEM;
        goto out;
    }
    size_t o = (size_t)snprintf(all, cap, STATE_MAGIC "%" PRIu64 " %zu", seq,
                                n_live);
    for (size_t i = 0; i < n_live; i++)
        o += (size_t)snprintf(all + o, cap - o, " %" PRIu64 ".%u",
                              live[i].no, live[i].level);
    all[o++] = '\n';
    if (len > 0)
        memcpy(all + o, blob, len);
    if ((rc = fl_fs_mkdirs(dir)) == 0)
        rc = fl_fs_write_atomic(path, all, o + len);
out:
    fl_free(all);
    fl_free(path);
    fl_free(dir);
    return rc;
}


/* A decimal number that starts with a digit (strtoull alone would take
 * " 5", "-1" or "+5"), ending at one of the characters in stops. */
static int
parse_u64(const char **p, const char *stops, uint64_t *out)
{
    char *end = NULL;
    if (**p < '0' || **p > '9')
        return FL_ECORRUPT;
    errno = 0;
    unsigned long long v = strtoull(*p, &end, 10);
    if (errno != 0 || *end == '\0' || strchr(stops, *end) == NULL)
        return FL_ECORRUPT;
    *out = v;
    *p = end;
    return FL_OK;
}


/* Parses the first line of a state file (len bytes at p). */
static int
parse_head(const char *p, size_t len, uint64_t *seq,
           struct fl_metric_file **live, size_t *n_live, size_t *head_len)
{
    const char *nl = memchr(p, '\n', len);
    size_t ml = strlen(STATE_MAGIC);
    struct fl_metric_file *files = NULL;
    uint64_t n = 0, sq = 0;
    if (nl == NULL || (size_t)(nl - p) < ml || memcmp(p, STATE_MAGIC, ml) != 0)
        return FL_ECORRUPT;
    const char *c = p + ml;
    if (parse_u64(&c, " ", &sq) < 0 || (c++, parse_u64(&c, " \n", &n)) < 0
        || n > (uint64_t)(nl - p) / 4)
        return FL_ECORRUPT;
    if (n > 0 && (files = fl_calloc((size_t)n, sizeof *files)) == NULL)
        return FL_ENOMEM;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t level;
        if (*c != ' ' || (c++, parse_u64(&c, ".", &files[i].no)) < 0
            || (c++, parse_u64(&c, " \n", &level)) < 0 || level > 63
            || files[i].no == 0) {
            fl_free(files);
            return FL_ECORRUPT;
        }
        files[i].level = (unsigned)level;
    }
    if (c != nl) {
        fl_free(files);
        return FL_ECORRUPT;
    }
    *seq = sq;
    *live = files;
    *n_live = (size_t)n;
    *head_len = (size_t)(nl - p) + 1;
    return FL_OK;
}


int
fl_metric_store_load_state(const char *archive_dir, uint64_t *seq,
                           struct fl_metric_file **live, size_t *n_live,
                           unsigned char **blob, size_t *len)
{
    char *path = fl_fs_join(archive_dir, STATE_FILE);
    char *all = NULL;
    size_t n = 0, head = 0;
    int rc;

    *blob = NULL;
    *len = 0;
    *live = NULL;
    *n_live = 0;
    if (path == NULL)
        return FL_ENOMEM;
    rc = fl_fs_read_file(path, SIZE_MAX, &all, &n);
    fl_free(path);
    if (rc < 0)
        return rc;
    if ((rc = parse_head(all, n, seq, live, n_live, &head)) < 0) {
        fl_free(all);
        return rc;
    }
    memmove(all, all + head, n - head);
    *len = n - head;
    *blob = (unsigned char *)all;
    return FL_OK;
}


/* Reads the state file up to and including its first newline (at most
 * 1 MiB: a few dozen live files take a few KiB; a longer head is taken
 * for damage, FL_ECORRUPT). */
static int
read_head(const char *archive_dir, unsigned char **out, size_t *len)
{
    char *path = fl_fs_join(archive_dir, STATE_FILE);
    if (path == NULL)
        return FL_ENOMEM;
    FILE *f = fopen(path, "rb");
    fl_free(path);
    if (f == NULL)
        return -errno;
    struct fl_buf b = FL_BUF_INIT(1u << 20);
    int c;
    while ((c = getc(f)) != EOF)
        if (fl_buf_addc(&b, (char)c) < 0 || c == '\n')
            break;
    fclose(f);
    if (b.err) {
        int rc = b.err == FL_ETOOBIG ? FL_ECORRUPT : b.err;
        fl_buf_free(&b);
        return rc;
    }
    char *head = fl_buf_take(&b, len);
    if (head == NULL)
        return FL_ENOMEM;
    *out = (unsigned char *)head;
    return FL_OK;
}


int
fl_metric_store_files(const char *archive_dir, char ***out, size_t *n)
{
    struct fl_metric_file *live = NULL;
    unsigned char *blob = NULL;
    size_t n_live = 0, len = 0;
    uint64_t seq;
    char **paths = NULL;
    int rc;

    *out = NULL;
    *n = 0;
    /* The first line only: the engine's state after it can be large, and
     * every query's view is made from this. */
    rc = read_head(archive_dir, &blob, &len);
    if (rc == 0) {
        size_t head;
        rc = parse_head((const char *)blob, len, &seq, &live, &n_live, &head);
    }
    fl_free(blob);
    if (rc == FL_ENOMEM)
        return rc;
    if (rc < 0 || n_live == 0) {         /* no state (yet): no files */
        fl_free(live);
        return FL_OK;
    }
    /* Ascending by number: oldest values first. */
    for (size_t i = 1; i < n_live; i++)
        for (size_t j = i; j > 0 && live[j - 1].no > live[j].no; j--) {
            struct fl_metric_file t = live[j];
            live[j] = live[j - 1];
            live[j - 1] = t;
        }
    if ((paths = fl_calloc(n_live, sizeof *paths)) == NULL) {
        fl_free(live);
        return FL_ENOMEM;
    }
    for (size_t i = 0; i < n_live; i++) {
        if ((paths[i] = final_path(archive_dir, live[i].no, "")) == NULL) {
            for (size_t k = 0; k < i; k++)
                fl_free(paths[k]);
            fl_free(paths);
            fl_free(live);
            return FL_ENOMEM;
        }
    }
    fl_free(live);
    *out = paths;
    *n = n_live;
    return FL_OK;
}
