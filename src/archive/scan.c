/* SPDX-License-Identifier: MIT
 *
 * scan.c -- flowlake_scan(): a DuckDB table function that reads the
 * convert inputs, parses them and returns record batches as DuckDB data
 * chunks, so that `COPY (SELECT * FROM flowlake_scan()) TO ... (FORMAT
 * parquet, PARTITION_BY ...)` streams from our parser into DuckDB's Parquet
 * writer with bounded memory.
 *
 * The same code serves flowlake_live() (live.c), the server's buffered
 * blocks as a table: memory inputs, no rejects file, bad lines skipped.
 *
 * Parallelism: DuckDB calls the function from several threads. Reading and
 * gunzipping the inputs is sequential and runs on the reader thread of
 * feed.c, which queues blocks of up to one vector's worth of lines; each
 * DuckDB thread pops a block, parses it into its own batch and copies the
 * rows into the output chunk, so parsing and the Parquet encoding
 * downstream run in parallel.
 *
 * Re-running: struct fl_scan is the read-only description of the inputs;
 * each execution of the function (DuckDB's global init) starts its own
 * reader and queue (struct fl_feed), which DuckDB destroys when the
 * execution ends. A query may thus scan twice at once (a self-join), and a
 * connection may run the function any number of times.
 *
 * Output columns: the catalogue columns some input's format has (in
 * fields.h order), the extra (unknown) text columns, the provenance
 * columns some input has (convert.h: enum fl_prov; see below), then
 * `fl_hour`: the
 * flow's start in whole hours since the epoch (records without a start get
 * the run's start time, as Firehose places records by arrival time). The
 * COPY partitions on that one BIGINT and publish.c turns each fl_hour=N/
 * folder into year=YYYY/month=MM/day=DD/hour=HH/: hashing and buffering
 * one integer per row instead of four strings made the partitioned write
 * ~25% cheaper (bench/README.md).
 *
 * Provenance: where an input came from (struct fl_input.prov: a file's
 * path, a CloudWatch Logs group and stream, a Firehose delivery stream,
 * and account_id / region for records whose format lacks those fields)
 * is the same for every record of the input, and a chunk holds records of
 * one input only. Each value but source_file is emitted as a DuckDB
 * constant vector, one value per chunk. source_file is long (an S3 key,
 * ~120 bytes) and a convert has thousands: as VARCHAR, the partitioned
 * write copied and hashed it per row (+30% CPU, +40% memory for 2 M
 * records, bench/README.md), so it is an ENUM, one small integer per row,
 * and Parquet gets a dictionary-encoded string column that reads back as
 * VARCHAR. The ENUM holds the names of one execution's inputs only (one
 * COPY of a convert group, fl_scan_source_names): DuckDB's Parquet writer
 * stores the whole ENUM dictionary in every file it writes, so a
 * dictionary of the run's 8,760 names in each of 8,760 hourly files made
 * every file carry ~1.2 MB of names (and the writer hold them per open
 * file). A record's own account_id / region always wins: the fill applies
 * only when the input's format has no such field.
 */
#include "../core/fl_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "duckdb.h"

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "../parse/batch.h"
#include "../parse/line.h"
#include "archive_int.h"


/* Result columns past the batch columns (batch_column): the hour, and
 * provenance column k as COL_PROV(k). */
#define COL_HOUR        ((idx_t)-1)
#define COL_PROV(k)     ((idx_t)-2 - (idx_t)(k))
#define COL_IS_PROV(c)  ((c) >= COL_PROV(FL_PROV_COLUMNS - 1) && (c) < COL_HOUR)
#define COL_PROV_OF(c)  ((size_t)(COL_PROV(0) - (c)))

const char *const fl_prov_column[FL_PROV_COLUMNS] = {
    "source_file", "log_group", "log_stream", "delivery_stream",
    "delivery_attributes",
};

struct scan_local {
    struct fl_batch        *batch;
    struct fl_parser        parser;
    const struct fl_format *bound;      /* format parser is bound to */
    idx_t                  *proj;       /* output vector i <- column proj[i] */
    size_t                  nproj;
};


/* ---- set-up (before DuckDB runs) ------------------------------------ */


/* SQL name of an unknown field: AWS's rule, '-' becomes '_'
 * (${encryption-status} -> encryption_status), as for known fields. */
static int
same_sql_name(const char *sql, const char *aws)
{
    for (; *sql && *aws; sql++, aws++) {
        if (*sql != (*aws == '-' ? '_' : *aws))
            return 0;
    }
    return *sql == *aws;
}


static int
extra_index(void *ctx, const char *name)
{
    struct fl_scan *s = ctx;
    for (size_t i = 0; i < s->n_extra; i++) {
        if (same_sql_name(s->extra[i], name))
            return (int)i;
    }
    return -1;
}


/* Notes the fields of a format that will be parsed: present catalogue
 * fields and new extra names. */
static int
add_format(struct fl_scan *s, const struct fl_format *fmt)
{
    for (size_t i = 0; i < fmt->n; i++) {
        if (fmt->field[i] >= 0) {
            s->present[fmt->field[i]] = 1;
            continue;
        }
        if (extra_index(s, fmt->name[i]) >= 0)
            continue;
        char **p = fl_realloc(s->extra, (s->n_extra + 1) * sizeof *p);
        if (p == NULL)
            return FL_ENOMEM;
        s->extra = p;
        char *sql = fl_strdup(fmt->name[i]);
        if (sql == NULL)
            return FL_ENOMEM;
        for (char *c = sql; *c; c++) {
            if (*c == '-')
                *c = '_';
        }
        s->extra[s->n_extra++] = sql;
    }
    return FL_OK;
}


int
fl_scan_has_columns(const struct fl_scan *s, const struct fl_format *fmt,
                    char *why, size_t whylen)
{
    for (size_t i = 0; i < fmt->n; i++) {
        int known = fmt->field[i] >= 0;
        if (known ? s->present[fmt->field[i]]
                  : extra_index((void *)s, fmt->name[i]) >= 0)
            continue;
        snprintf(why, whylen, "%s", fmt->name[i]);
        return 0;
    }
    return 1;
}


int
fl_scan_init(struct fl_scan *s)
{
    int rc = pthread_mutex_init(&s->mu, NULL);
    s->totals = s;
    return rc != 0 ? -rc : FL_OK;
}


int
fl_scan_init_group(struct fl_scan *g, struct fl_scan *run)
{
    memcpy(g, run, sizeof *g);
    /* Not copied: the lock, the totals (run's are used) and the names of
     * run's current inputs. */
    memset(&g->mu, 0, sizeof g->mu);
    g->errmsg[0] = '\0';
    g->bytes_done = 0;
    atomic_store(&g->records_read, 0);
    atomic_store(&g->rejected, 0);
    g->source_names = NULL;
    g->n_source_names = 0;
    g->inputs = NULL;
    g->n_inputs = 0;
    g->totals = run->totals;
    int rc = pthread_mutex_init(&g->mu, NULL);
    return rc != 0 ? -rc : FL_OK;
}


void
fl_scan_set_error(struct fl_scan *s, const char *msg)
{
    struct fl_scan *t = s->totals;
    pthread_mutex_lock(&t->mu);
    if (t->errmsg[0] == '\0')
        snprintf(t->errmsg, sizeof t->errmsg, "%s", msg);
    pthread_mutex_unlock(&t->mu);
}


int
fl_scan_open_input(const struct fl_scan *s, struct fl_input *in,
                   struct fl_lines **out)
{
    struct fl_reader *r = NULL;
    int rc = in->mem != NULL ? fl_reader_open_mem(in->mem, in->mem_len, &r)
                             : fl_reader_open_path(in->path, &r);
    if (rc < 0)
        return rc;
    if (in->is_stdin && (rc = fl_reader_enable_digest(r)) < 0) {
        fl_reader_close(r);
        return rc;
    }
    if ((rc = fl_lines_create(r, s->max_line, out)) < 0)
        fl_reader_close(r);
    return rc;
}


/* Reads the first line; a header defines the input's format and is
 * consumed, anything else is given back to be parsed as data. */
static int
peek_header(struct fl_scan *s, struct fl_input *in, struct fl_lines *l,
            char *err, size_t errlen)
{
    struct fl_line_block b;
    struct fl_parse_err perr;
    int rc = fl_lines_next(l, 1, &b);
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", in->path,
                 fl_reader_error(fl_lines_reader(l)));
        return rc;
    }
    if (b.nlines == 0 || b.overlong)
        goto not_header;
    size_t len = b.len;
    while (len > 0 && (b.p[len - 1] == '\n' || b.p[len - 1] == '\r'))
        len--;
    if (!fl_format_is_header(b.p, len))
        goto not_header;
    rc = fl_format_from_header(b.p, len, &in->header_fmt, &perr);
    in->header_line = rc == 0;
    if (rc < 0) {
        snprintf(err, errlen, "%s:1: bad header line: %s", in->path,
                 perr.reason);
        return rc;
    }
    return add_format(s, in->header_fmt);

not_header:
    fl_lines_unread(l, &b);
    return FL_OK;
}


int
fl_scan_prepare(struct fl_scan *s, char *err, size_t errlen)
{
    int rc, headerless = 0;
    for (size_t i = 0; i < s->n_inputs; i++) {
        struct fl_input *in = &s->inputs[i];
        struct fl_lines *l = NULL;
        if (in->mem != NULL && in->header_fmt != NULL) {
            /* A memory block with its format given: no header to find. */
            if ((rc = add_format(s, in->header_fmt)) < 0)
                return rc;
            continue;
        }
        if ((rc = fl_scan_open_input(s, in, &l)) < 0) {
            snprintf(err, errlen, "%s: %s", in->path, fl_strerror(rc));
            return rc;
        }
        /* A file is only peeked at here (the reader thread reads it when
         * its turn comes); stdin is read on from here. */
        if (!in->is_stdin)
            fl_reader_set_peek(fl_lines_reader(l));
        rc = peek_header(s, in, l, err, errlen);
        /* Keep stdin open (it cannot be reopened); files are reopened when
         * their turn comes so that thousands of inputs need one fd. */
        if (in->is_stdin && rc == 0)
            in->lines = l;
        else
            fl_lines_destroy(l);
        if (rc < 0)
            return rc;
        headerless |= in->header_fmt == NULL;
    }
    if (headerless && (rc = add_format(s, s->format)) < 0)
        return rc;
    /* Partitioning needs start, even when every record lacks it. */
    s->present[FL_F_START] = 1;
    for (size_t i = 0; i < s->n_inputs; i++) {
        const struct fl_input *in = &s->inputs[i];
        if (in->prov[FL_PROV_ACCOUNT] != NULL)
            s->present[FL_F_ACCOUNT_ID] = 1;
        if (in->prov[FL_PROV_REGION] != NULL)
            s->present[FL_F_REGION] = 1;
        for (size_t k = 0; k < FL_PROV_COLUMNS; k++)
            s->has_prov[k] |= in->prov[k] != NULL;
    }
    return fl_scan_source_names(s);
}


static int
cmp_input_source(const void *a, const void *b)
{
    const struct fl_input *x = *(const struct fl_input *const *)a;
    const struct fl_input *y = *(const struct fl_input *const *)b;
    return strcmp(x->prov[FL_PROV_SOURCE_FILE], y->prov[FL_PROV_SOURCE_FILE]);
}


/* The distinct source_file names (sorted: the same file given through two
 * folders of one AWSLogs tree has one name) and each input's index. */
int
fl_scan_source_names(struct fl_scan *s)
{
    size_t n = 0;
    fl_free(s->source_names);      /* the names are the inputs' */
    s->source_names = NULL;
    s->n_source_names = 0;
    for (size_t i = 0; i < s->n_inputs; i++)
        n += s->inputs[i].prov[FL_PROV_SOURCE_FILE] != NULL;
    if (n == 0)
        return FL_OK;
    struct fl_input **by = fl_malloc(n * sizeof *by);
    s->source_names = fl_malloc(n * sizeof *s->source_names);
    if (by == NULL || s->source_names == NULL) {
        fl_free(by);
        return FL_ENOMEM;
    }
    n = 0;
    for (size_t i = 0; i < s->n_inputs; i++) {
        if (s->inputs[i].prov[FL_PROV_SOURCE_FILE] != NULL)
            by[n++] = &s->inputs[i];
    }
    qsort(by, n, sizeof *by, cmp_input_source);
    for (size_t i = 0; i < n; i++) {
        if (s->n_source_names == 0
            || strcmp(s->source_names[s->n_source_names - 1],
                      by[i]->prov[FL_PROV_SOURCE_FILE]) != 0)
            s->source_names[s->n_source_names++] =
                by[i]->prov[FL_PROV_SOURCE_FILE];
        by[i]->source_id = (uint32_t)(s->n_source_names - 1);
    }
    fl_free(by);
    /* DuckDB's enum index width for that many members. */
    duckdb_logical_type t = duckdb_create_enum_type(s->source_names,
                                                    s->n_source_names);
    if (t == NULL)
        return FL_ENOMEM;
    duckdb_type it = duckdb_enum_internal_type(t);
    duckdb_destroy_logical_type(&t);
    s->source_width = it == DUCKDB_TYPE_UTINYINT ? 1
                    : it == DUCKDB_TYPE_USMALLINT ? 2 : 4;
    return FL_OK;
}


/* Appends "name" (quoted as a SQL identifier) and a comma. */
static void
append_ident(char *buf, size_t cap, size_t *o, const char *name)
{
    *o += (size_t)snprintf(buf + *o, cap - *o, "\"");
    for (const char *p = name; *p && *o + 3 < cap; p++) {
        if (*p == '"')
            buf[(*o)++] = '"';
        buf[(*o)++] = *p;
    }
    *o += (size_t)snprintf(buf + *o, cap - *o, "\", ");
}


char *
fl_scan_select_list(const struct fl_scan *s)
{
    size_t cap = 64, o = 0;
    for (int i = 0; i < FL_FIELD_COUNT; i++)
        cap += 2 * strlen(fl_field_get(i)->sql_name) + 4;
    for (size_t i = 0; i < s->n_extra; i++)
        cap += 2 * strlen(s->extra[i]) + 4;
    for (size_t k = 0; k < FL_PROV_COLUMNS; k++)
        cap += 2 * strlen(fl_prov_column[k]) + 4;
    char *buf = fl_malloc(cap);
    if (buf == NULL)
        return NULL;
    buf[0] = '\0';
    for (int i = 0; i < FL_FIELD_COUNT; i++) {
        if (s->present[i])
            append_ident(buf, cap, &o, fl_field_get(i)->sql_name);
    }
    for (size_t i = 0; i < s->n_extra; i++)
        append_ident(buf, cap, &o, s->extra[i]);
    for (size_t k = 0; k < FL_PROV_COLUMNS; k++) {
        if (s->has_prov[k])
            append_ident(buf, cap, &o, fl_prov_column[k]);
    }
    snprintf(buf + o, cap - o, "%s", FL_SCAN_HOUR_COLUMN);
    return buf;
}


void
fl_input_free_provenance(struct fl_input *in)
{
    for (size_t k = 0; k < FL_PROV_N; k++) {
        fl_free(in->prov[k]);
        in->prov[k] = NULL;
    }
}


int
fl_input_set_provenance(struct fl_input *in, const struct fl_provenance *p)
{
    for (size_t k = 0; p != NULL && k < FL_PROV_N; k++) {
        if (p->v[k] != NULL && (in->prov[k] = fl_strdup(p->v[k])) == NULL) {
            fl_input_free_provenance(in);
            return FL_ENOMEM;
        }
    }
    return FL_OK;
}


void
fl_scan_free(struct fl_scan *s)
{
    fl_free(s->source_names);      /* the names are the inputs' */
    s->source_names = NULL;
    s->n_source_names = 0;
    if (s->totals == s) {          /* a group's scan borrows the extras */
        for (size_t i = 0; i < s->n_extra; i++)
            fl_free(s->extra[i]);
        fl_free(s->extra);
    }
    s->extra = NULL;
    s->n_extra = 0;
    pthread_mutex_destroy(&s->mu);
}


/* ---- the table function --------------------------------------------- */

/* The batch column behind result column `idx` of the bind: the present
 * catalogue fields in order, then the extras; the provenance columns and
 * the hour (the last) map to COL_PROV(k) and COL_HOUR. */
static idx_t
batch_column(const struct fl_scan *s, size_t idx)
{
    for (size_t i = 0; i < FL_FIELD_COUNT; i++) {
        if (!s->present[i])
            continue;
        if (idx-- == 0)
            return i;
    }
    if (idx < s->n_extra)
        return FL_FIELD_COUNT + idx;
    idx -= s->n_extra;
    for (size_t k = 0; k < FL_PROV_COLUMNS; k++) {
        if (s->has_prov[k] && idx-- == 0)
            return COL_PROV(k);
    }
    return COL_HOUR;
}


static void
bind_delete(void *p)
{
    fl_free(p);
}


static void
scan_bind(duckdb_bind_info info)
{
    struct fl_scan *s = duckdb_bind_get_extra_info(info);
    duckdb_logical_type t_i32 = duckdb_create_logical_type(DUCKDB_TYPE_INTEGER);
    duckdb_logical_type t_i64 = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
    duckdb_logical_type t_str = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);

    for (int i = 0; i < FL_FIELD_COUNT; i++) {
        const struct fl_field_def *f = fl_field_get(i);
        if (!s->present[i])
            continue;
        duckdb_bind_add_result_column(info, f->sql_name,
            f->type == FL_TYPE_INT32 ? t_i32
            : f->type == FL_TYPE_INT64 ? t_i64 : t_str);
    }
    for (size_t i = 0; i < s->n_extra; i++)
        duckdb_bind_add_result_column(info, s->extra[i], t_str);
    for (size_t k = 0; k < FL_PROV_COLUMNS; k++) {
        if (!s->has_prov[k])
            continue;
        if (k != FL_PROV_SOURCE_FILE || s->n_source_names == 0) {
            /* (source_file of a group without files -- stdin -- is all
             * NULL: a VARCHAR column, no empty ENUM.) */
            duckdb_bind_add_result_column(info, fl_prov_column[k], t_str);
            continue;
        }
        duckdb_logical_type t_src = duckdb_create_enum_type(s->source_names,
                                                            s->n_source_names);
        if (t_src == NULL) {
            duckdb_bind_set_error(info, "flowlake_scan: out of memory");
        } else {
            duckdb_bind_add_result_column(info, fl_prov_column[k], t_src);
            duckdb_destroy_logical_type(&t_src);
        }
    }
    duckdb_bind_add_result_column(info, FL_SCAN_HOUR_COLUMN, t_i64);

    /* skip := '0110...': the inputs ('1' at their index) this call leaves
     * out (the live buffer's pruning, live.h); kept as the bind data for
     * the execution to copy. */
    duckdb_value v = duckdb_bind_get_named_parameter(info, "skip");
    if (v != NULL) {
        char *str = duckdb_get_varchar(v);
        char *skip = str != NULL ? fl_strdup(str) : NULL;
        if (str != NULL)
            duckdb_free(str);
        duckdb_destroy_value(&v);
        if (skip == NULL)
            duckdb_bind_set_error(info, "flowlake_scan: out of memory");
        else
            duckdb_bind_set_bind_data(info, skip, bind_delete);
    }
    duckdb_destroy_logical_type(&t_i32);
    duckdb_destroy_logical_type(&t_i64);
    duckdb_destroy_logical_type(&t_str);
}


static void
feed_delete(void *p)
{
    fl_feed_destroy(p);
}


/* One execution begins: its own reader thread and queue. */
static void
scan_init(duckdb_init_info info)
{
    struct fl_scan *s = duckdb_init_get_extra_info(info);
    struct fl_feed *f = NULL;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    int rc = fl_feed_create(s, duckdb_init_get_bind_data(info), &f);
    if (rc < 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "cannot start the reader thread: %s",
                 fl_strerror(rc));
        duckdb_init_set_error(info, msg);
        return;
    }
    duckdb_init_set_init_data(info, f, feed_delete);
    duckdb_init_set_max_threads(info, cores > 0 ? (idx_t)cores : 1);
}


static void
local_destroy(void *p)
{
    struct scan_local *l = p;
    if (l == NULL)
        return;
    fl_batch_destroy(l->batch);
    fl_free(l->proj);
    fl_free(l);
}


static void
scan_local_init(duckdb_init_info info)
{
    struct fl_scan *s = duckdb_init_get_extra_info(info);
    struct scan_local *l = fl_calloc(1, sizeof *l);
    if (l == NULL
        || fl_batch_create(duckdb_vector_size(), s->n_extra, &l->batch) < 0) {
        local_destroy(l);
        duckdb_init_set_error(info, "flowlake_scan: out of memory");
        return;
    }
    /* Projection pushdown: DuckDB asks only for the columns the query
     * selects, so unused fields cost nothing. */
    l->nproj = duckdb_init_get_column_count(info);
    l->proj = fl_calloc(l->nproj ? l->nproj : 1, sizeof *l->proj);
    if (l->proj == NULL) {
        local_destroy(l);
        duckdb_init_set_error(info, "flowlake_scan: out of memory");
        return;
    }
    for (size_t i = 0; i < l->nproj; i++) {
        idx_t col = duckdb_init_get_column_index(info, i);
        l->proj[i] = batch_column(s, (size_t)col);
    }
    duckdb_init_set_init_data(info, l, local_destroy);
}


static int
format_has(const struct fl_format *fmt, int field)
{
    for (size_t i = 0; i < fmt->n; i++) {
        if (fmt->field[i] == field)
            return 1;
    }
    return 0;
}


/* The input's fill for column c, when the block's format lacks the field;
 * NULL to copy the parsed column. */
static const char *
path_fill(const struct fl_input *in, const struct fl_format *fmt, idx_t c)
{
    const char *fill = c == FL_F_ACCOUNT_ID ? in->prov[FL_PROV_ACCOUNT]
                     : c == FL_F_REGION ? in->prov[FL_PROV_REGION] : NULL;
    return fill != NULL && !format_has(fmt, (int)c) ? fill : NULL;
}


/* source_file of n rows of input `in`: its enum index, or NULL. */
static void
emit_source(const struct fl_scan *s, const struct fl_input *in,
            duckdb_vector v, size_t n)
{
    size_t words = (n + 63) / 64;
    duckdb_vector_ensure_validity_writable(v);
    uint64_t *valid = duckdb_vector_get_validity(v);
    const char *name = in->prov[FL_PROV_SOURCE_FILE];
    memset(valid, name != NULL ? 0xff : 0, words * sizeof *valid);
    if (name == NULL)
        return;
    void *data = duckdb_vector_get_data(v);
    uint32_t id = in->source_id;
    for (size_t r = 0; r < n; r++) {
        if (s->source_width == 1)
            ((uint8_t *)data)[r] = (uint8_t)id;
        else if (s->source_width == 2)
            ((uint16_t *)data)[r] = (uint16_t)id;
        else
            ((uint32_t *)data)[r] = id;
    }
}


/* Copies the batch's projected columns into DuckDB's output chunk: rows
 * of the one input `in`, read with format fmt. Returns <0 when DuckDB
 * cannot allocate a value. */
static int
emit(struct fl_scan *s, struct scan_local *l, const struct fl_input *in,
     const struct fl_format *fmt, duckdb_data_chunk out)
{
    struct fl_batch *b = l->batch;
    size_t n = b->n, words = (n + 63) / 64;
    const struct fl_column *start = &b->col[FL_F_START];

    for (size_t i = 0; i < l->nproj; i++) {
        duckdb_vector v = duckdb_data_chunk_get_vector(out, i);
        idx_t c = l->proj[i];
        const char *fill;
        if (c == COL_PROV(FL_PROV_SOURCE_FILE) && s->n_source_names > 0) {
            emit_source(s, in, v, n);
            continue;
        }
        if (COL_IS_PROV(c)) {
            /* One value (or NULL) for the chunk: a constant vector. */
            const char *pv = in->prov[COL_PROV_OF(c)];
            if (pv == NULL) {
                duckdb_vector_ensure_validity_writable(v);
                memset(duckdb_vector_get_validity(v), 0,
                       words * sizeof(uint64_t));
                continue;
            }
            duckdb_value val = duckdb_create_varchar(pv);
            if (val == NULL)
                return FL_ENOMEM;
            duckdb_vector_reference_value(v, val);
            duckdb_destroy_value(&val);
            continue;
        }
        if (c != COL_HOUR && (fill = path_fill(in, fmt, c)) != NULL) {
            /* One value for the chunk: a constant vector. */
            duckdb_value val = duckdb_create_varchar(fill);
            if (val == NULL)
                return FL_ENOMEM;
            duckdb_vector_reference_value(v, val);
            duckdb_destroy_value(&val);
            continue;
        }
        if (c == COL_HOUR) {
            /* The partition key, from start (or the run's time if NULL). */
            int64_t *hour = duckdb_vector_get_data(v);
            for (size_t r = 0; r < n; r++) {
                int64_t t = fl_batch_is_valid(b, FL_F_START, r)
                          ? start->v.i64[r] : s->fallback_time;
                hour[r] = t / 3600;
            }
            continue;
        }
        struct fl_column *col = &b->col[c];
        duckdb_vector_ensure_validity_writable(v);
        uint64_t *valid = duckdb_vector_get_validity(v);
        memcpy(valid, col->valid, words * sizeof *valid);
        switch (col->type) {
        case FL_TYPE_INT32:
            memcpy(duckdb_vector_get_data(v), col->v.i32, n * sizeof(int32_t));
            break;
        case FL_TYPE_INT64:
            memcpy(duckdb_vector_get_data(v), col->v.i64, n * sizeof(int64_t));
            break;
        case FL_TYPE_STRING:
            for (size_t r = 0; r < n; r++) {
                if (fl_batch_is_valid(b, c, r))
                    duckdb_vector_assign_string_element_len(v, r,
                        col->v.str[r].p, col->v.str[r].len);
            }
            break;
        }
    }
    duckdb_data_chunk_set_size(out, n);
    return FL_OK;
}


/* A bad line: an error in strict mode, a rejected record when there is a
 * rejects file, else (the live buffer) only counted. Returns <0 to stop
 * with msg filled. */
static int
bad_line(struct fl_scan *s, const struct fl_input *in,
         unsigned long long line_no, const char *reason, int code,
         const char *raw, size_t rawlen, char *msg, size_t msglen)
{
    int rc;
    if (s->strict) {
        snprintf(msg, msglen, "%s:%llu: %s", in->path, line_no, reason);
        return code;
    }
    if (s->rejects == NULL)
        return FL_OK;
    rc = fl_rejects_add(s->rejects, in->path, line_no, reason, raw, rawlen);
    if (rc < 0)
        snprintf(msg, msglen, "cannot write rejected records: %s",
                 fl_strerror(rc));
    return rc;
}


/* Parses a block into l->batch. Returns <0 to stop (strict mode or a
 * write error) with msg filled. */
static int
parse_block(struct fl_scan *s, struct fl_feed *f, struct scan_local *l,
            const struct fl_block *b, char *msg, size_t msglen)
{
    const struct fl_input *in = b->in;
    const char *p = b->p, *end = b->p + b->len;
    unsigned long long line_no = b->first_line;
    uint64_t seen = 0, bad = 0;
    struct fl_parse_err err;
    int rc = FL_OK;

    const struct fl_format *fmt = b->fmt;
    if (l->bound != fmt) {
        fl_parser_init(&l->parser, fmt, extra_index, s);
        l->bound = fmt;
    }
    fl_batch_reset(l->batch);

    if (b->overlong) {
        snprintf(err.reason, sizeof err.reason,
                 "line longer than %zu bytes", s->max_line);
        seen = bad = 1;
        rc = bad_line(s, in, line_no, err.reason, FL_ETOOBIG, p, b->len,
                      msg, msglen);
        goto out;
    }
    /* Header lines never get here: the reader consumed them (feed.c). */
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        int prc;
        /* A blank line (at most a CR) stays blank in a rejected block;
         * eol[-1] is read only when the line has a byte. */
        size_t ll = (size_t)(eol - p);
        if (ll > 0 && p[ll - 1] == '\r')
            ll--;
        if (b->reject_all != NULL && ll > 0) {
            snprintf(err.reason, sizeof err.reason, "%s", b->reject_all);
            prc = FL_EPARSE;
        } else if (b->reject_all != NULL) {
            prc = 1;                  /* a blank line stays blank */
        } else {
            prc = fl_parse_line(&l->parser, l->batch, p, (size_t)(eol - p),
                                &err);
        }
        if (prc != 1)
            seen++;
        if (prc == FL_EPARSE) {
            bad++;
            size_t rawlen = (size_t)(eol - p);
            if (rawlen > 0 && p[rawlen - 1] == '\r')
                rawlen--;
            rc = bad_line(s, in, line_no, err.reason, FL_EPARSE, p, rawlen,
                          msg, msglen);
            if (rc < 0)
                goto out;
        }
        line_no++;
        p = nl ? nl + 1 : end;
    }
out:
    atomic_fetch_add(&f->records_read, seen);
    atomic_fetch_add(&s->totals->records_read, seen);
    atomic_fetch_add(&s->totals->rejected, bad);
    return rc;
}


static void
scan_function(duckdb_function_info info, duckdb_data_chunk out)
{
    struct fl_scan *s = duckdb_function_get_extra_info(info);
    struct fl_feed *f = duckdb_function_get_init_data(info);
    struct scan_local *l = duckdb_function_get_local_init_data(info);
    char msg[512];

    for (;;) {
        struct fl_block *b = fl_feed_pop(f);
        if (b == NULL) {
            /* The end, or a failure somewhere: report the latter. */
            pthread_mutex_lock(&f->mu);
            int failed = f->failed;
            snprintf(msg, sizeof msg, "%s", f->errmsg);
            pthread_mutex_unlock(&f->mu);
            if (failed && msg[0] != '\0')
                duckdb_function_set_error(info, msg);
            duckdb_data_chunk_set_size(out, 0);
            return;
        }
        int rc = parse_block(s, f, l, b, msg, sizeof msg);
        if (rc == 0 && l->batch->n > 0
            && (rc = emit(s, l, b->in, l->bound, out)) < 0)
            snprintf(msg, sizeof msg, "flowlake_scan: out of memory");
        /* emit copied the strings: the block is reusable */
        fl_feed_release(f, b);
        if (rc < 0) {
            fl_feed_fail(f, msg);
            duckdb_function_set_error(info, msg);
            return;
        }
        if (l->batch->n > 0)
            return;
        /* Every line of the block was blank or rejected: an empty chunk
         * would end the scan, so go on to the next block. */
    }
}


int
fl_scan_register(void *con, const char *name, struct fl_scan *s)
{
    duckdb_table_function tf = duckdb_create_table_function();
    duckdb_table_function_set_name(tf, name);
    duckdb_table_function_set_extra_info(tf, s, NULL);
    duckdb_table_function_set_bind(tf, scan_bind);
    duckdb_table_function_set_init(tf, scan_init);
    duckdb_table_function_set_local_init(tf, scan_local_init);
    duckdb_table_function_set_function(tf, scan_function);
    duckdb_logical_type t_str = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
    duckdb_table_function_add_named_parameter(tf, "skip", t_str);
    duckdb_destroy_logical_type(&t_str);
    duckdb_table_function_supports_projection_pushdown(tf, true);
    duckdb_state st = duckdb_register_table_function(
        *(duckdb_connection *)con, tf);
    duckdb_destroy_table_function(&tf);
    return st == DuckDBSuccess ? FL_OK : FL_EDB;
}
