/* SPDX-License-Identifier: MIT
 *
 * metric_reads.c -- metric reads answered in C (see metric_reads.h).
 *
 * The documents are the ones the SQL path in api_metrics.c builds, value
 * for value and in the same order, so the two can be compared read by read
 * (tests/integration/test_metrics_reads.sh runs both):
 *
 *   a series read  series ordered by their dimensions as DuckDB prints a
 *                  MAP ("{protocol=6}"), points by window_start;
 *   aggregate=sum  per series (grouped by dimension values) the sum of the
 *                  metric's values and records and of each with metric,
 *                  final only when every row summed is; ranked by value,
 *                  largest first (no value last), ties by dimension values;
 *                  with top, the first N and one "other" series holding the
 *                  rest and every group whose dimensions all read 'other'.
 *
 * Rows come from the cache's files (oldest first) and then from memory, as
 * the SQL path's view unions them; a stable sort keeps that order among
 * equal windows.
 */
#include "../core/fl_config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/fl_buf.h"
#include "../core/fl_error.h"
#include "../core/fl_keyindex.h"
#include "../core/fl_json.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "../query/query.h"
#include "metric_reads.h"

struct point {
    int64_t  window_start, window_end;
    double   value;
    uint64_t records;
    size_t   seq;                   /* arrival: the order among equals */
    uint8_t  has_value, final, exact;
};

/* One series of the answer. names and values are borrowed from a cache
 * series or a live row, both alive until the answer is written. */
struct group {
    char              *key;
    size_t             n_dims;
    char *const       *names;
    char *const       *values;
    /* a series read */
    struct point      *pts;
    size_t             n_pts, cap_pts;
    char              *order;       /* the MAP as DuckDB prints it */
    /* aggregate=sum */
    double             value, w[FL_MREAD_MAX_WITH];
    uint64_t           records;
    int                has_value, has_records, final, has_w[FL_MREAD_MAX_WITH];
    int                other;       /* every dimension 'other' (is_other) */
};

struct answer {
    const struct fl_mread *r;
    struct group *g;
    size_t        n, cap;
    struct fl_keyindex index;       /* groups by key */
    size_t        seq;
};


/* The key of group i of the answer (fl_keyindex_key_fn). */
static const char *
group_key(const void *ctx, uint32_t i)
{
    const struct answer *a = ctx;
    return a->g[i].key;
}


/* The group of key (copied when new), with names and values for a new
 * one. Returns its index, or -1 when out of memory. */
static long
group_of(struct answer *a, const char *key, size_t n_dims,
         char *const *names, char *const *values)
{
    size_t slot;
    long at = fl_keyindex_find(&a->index, key, group_key, a, &slot);
    if (at != -1)
        return at >= 0 ? at : -1;
    if (a->n == a->cap) {
        struct group *g = fl_grow(a->g, &a->cap, a->n + 1, sizeof *g, 64);
        if (g == NULL)
            return -1;
        a->g = g;
    }
    struct group *g = &a->g[a->n];
    memset(g, 0, sizeof *g);
    if ((g->key = fl_strdup(key)) == NULL)
        return -1;
    g->n_dims = n_dims;
    g->names = names;
    g->values = values;
    g->final = 1;
    fl_keyindex_put(&a->index, slot, (uint32_t)a->n);
    return (long)a->n++;
}


/* One row into its group: a point of a series read, or into the sums of
 * an aggregate (k 0: the metric read, k > 0: with metric k - 1). */
static int
add_row(struct answer *a, struct group *g, size_t k, int64_t ws, int64_t we,
        double value, int has_value, uint64_t records, int final, int exact)
{
    if (!a->r->aggregate) {
        if (g->n_pts == g->cap_pts) {
            struct point *p = fl_grow(g->pts, &g->cap_pts, g->n_pts + 1,
                                      sizeof *p, 16);
            if (p == NULL)
                return FL_ENOMEM;
            g->pts = p;
        }
        g->pts[g->n_pts++] = (struct point){
            .window_start = ws, .window_end = we, .value = value,
            .records = records, .seq = a->seq++, .has_value = has_value != 0,
            .final = final != 0, .exact = exact != 0,
        };
        return FL_OK;
    }
    g->final = g->final && final;
    if (k == 0) {
        g->records += records;
        g->has_records = 1;
        if (has_value) {
            g->value += value;
            g->has_value = 1;
        }
    } else if (has_value) {
        g->w[k - 1] += value;
        g->has_w[k - 1] = 1;
    }
    return FL_OK;
}


/* The group of a file's series s, found once per file (to_group). */
static long
file_group(struct answer *a, const struct fl_mcache_file *f, long *to_group,
           uint32_t s)
{
    if (to_group[s] < 0) {
        const struct fl_mcache_series *se = &f->series[s];
        to_group[s] = group_of(a, se->key, se->n_dims, se->names,
                               se->values);
    }
    return to_group[s];
}

/* The file's rows of metric with window_start in [lo, hi). */
static int
add_rows(struct answer *a, const struct fl_mcache_file *f, long *to_group,
         const char *metric, size_t k, int64_t lo, int64_t hi)
{
    size_t b, e;
    fl_mcache_file_rows(f, metric, lo, &b, &e);
    for (size_t x = b; x < e && f->rows[x].window_start < hi; x++) {
        const struct fl_mcache_row *row = &f->rows[x];
        long gi = file_group(a, f, to_group, row->series);
        if (gi < 0)
            return FL_ENOMEM;
        int rc = add_row(a, &a->g[gi], k, row->window_start, row->window_end,
                         row->value, row->has_value, row->records,
                         row->final, row->exact);
        if (rc < 0)
            return rc;
    }
    return FL_OK;
}

/* The file's day sums of metric for the days starting in [lo, hi). */
static int
add_days(struct answer *a, const struct fl_mcache_file *f, long *to_group,
         const char *metric, size_t k, int64_t lo, int64_t hi)
{
    size_t b, e;
    fl_mcache_file_days(f, metric, lo, hi, &b, &e);
    for (size_t x = b; x < e; x++) {
        const struct fl_mcache_day *d = &f->days[x];
        long gi = file_group(a, f, to_group, d->series);
        if (gi < 0)
            return FL_ENOMEM;
        add_row(a, &a->g[gi], k, d->day, d->day + 86400, d->value,
                d->has_value, d->records, d->final, 1);
    }
    return FL_OK;
}

/* Epoch seconds of the UTC day that holds t, and of the first day that
 * starts at or after t; clamped at the ends of the range (open reads). */
static int64_t
day_floor(int64_t t)
{
    if (t == INT64_MAX || t < INT64_MIN + 2 * 86400)
        return t == INT64_MAX ? INT64_MAX : INT64_MIN;
    return fl_mcache_day(t);
}

static int64_t
day_ceil(int64_t t)
{
    int64_t d = day_floor(t);
    return d == t || d == INT64_MIN || d == INT64_MAX ? d : d + 86400;
}

/* The rows of metric (the read's, or with metric k - 1) in range. A sum
 * takes the whole days of the range from the day sums -- a month is 30
 * entries per series, not 2,880 -- and the windows of the part days at
 * either end one by one. Values summed are whole numbers (COUNT and SUM of
 * integer fields only), so the order of the additions changes nothing. */
static int
collect(struct answer *a, const struct fl_metric_cache *c,
        const struct fl_metric_row *live, size_t n_live, const char *metric,
        size_t k)
{
    const struct fl_mread *r = a->r;
    int64_t d0 = day_ceil(r->from), d1 = day_floor(r->to);
    int rc = FL_OK;

    for (size_t i = 0; i < c->n_files && rc == 0; i++) {
        const struct fl_mcache_file *f = &c->files[i];
        /* A file's series to the answer's groups, found once each. */
        long *to_group = fl_malloc((f->n_series ? f->n_series : 1)
                                   * sizeof *to_group);
        if (to_group == NULL)
            return FL_ENOMEM;
        for (size_t s = 0; s < f->n_series; s++)
            to_group[s] = -1;
        if (r->aggregate && d0 < d1) {
            rc = add_rows(a, f, to_group, metric, k, r->from, d0);
            if (rc == 0)
                rc = add_days(a, f, to_group, metric, k, d0, d1);
            if (rc == 0 && d1 != INT64_MAX)
                rc = add_rows(a, f, to_group, metric, k, d1, r->to);
        } else {
            rc = add_rows(a, f, to_group, metric, k, r->from, r->to);
        }
        fl_free(to_group);
    }
    for (size_t i = 0; i < n_live && rc == 0; i++) {
        const struct fl_metric_row *row = &live[i];
        if (strcmp(row->metric, metric) != 0 || row->window_start < r->from
            || row->window_start >= r->to)
            continue;
        char *key = fl_metric_cache_key(row->n_dims, row->dim_names,
                                        row->dim_values);
        long gi = key ? group_of(a, key, row->n_dims, row->dim_names,
                                 row->dim_values) : -1;
        fl_free(key);
        if (gi < 0)
            return FL_ENOMEM;
        rc = add_row(a, &a->g[gi], k, row->window_start, row->window_end,
                     row->value, row->has_value, row->records, row->final,
                     row->exact);
    }
    return rc;
}


/* --- writing ------------------------------------------------------------ */

/* Documents have no ceiling of their own: their size follows from the
 * cache's 32 days and the read's top, as the SQL path's do. */

/* A JSON string as DuckDB's to_json escapes it (FL_JSON_DUCKDB): the
 * documents must be byte-identical to the SQL path's. */
static void
put_jstr(struct fl_buf *o, const char *s)
{
    fl_json_add_str(o, s, strlen(s), FL_JSON_DUCKDB);
}


void
fl_metric_json_double(char *buf, size_t cap, double v)
{
    char digits[40], *e;
    int prec, exp10;

    if (isnan(v)) {
        snprintf(buf, cap, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, cap, v < 0 ? "-Infinity" : "Infinity");
        return;
    }
    if (v == 0) {
        snprintf(buf, cap, "0.0");
        return;
    }
    /* Counts and sums are whole numbers: below 2^53 each is its own
     * shortest text, printed without the search below (most of a
     * dashboard's answer). */
    if (fabs(v) < 9007199254740992.0 && v == (double)(int64_t)v) {
        snprintf(buf, cap, "%" PRId64 ".0", (int64_t)v);
        return;
    }
    /* The fewest significant digits that read back as v. */
    for (prec = 1; prec <= 17; prec++) {
        snprintf(digits, sizeof digits, "%.*e", prec - 1, v);
        if (strtod(digits, NULL) == v)
            break;
    }
    /* digits is "-d.ddde+XX": the mantissa's digits and the exponent. */
    e = strchr(digits, 'e');
    exp10 = (int)strtol(e + 1, NULL, 10);   /* printf's own "+XX" */
    *e = '\0';
    char m[24];
    size_t nm = 0;
    int neg = digits[0] == '-';
    for (const char *p = digits + neg; *p; p++)
        if (*p != '.')
            m[nm++] = *p;
    m[nm] = '\0';

    size_t o = 0;
    if (neg)
        buf[o++] = '-';
    if (exp10 >= 21 || exp10 < -6) {
        /* 3e21, 1.5e300, 1e-7 */
        buf[o++] = m[0];
        if (nm > 1) {
            buf[o++] = '.';
            memcpy(buf + o, m + 1, nm - 1);
            o += nm - 1;
        }
        snprintf(buf + o, cap - o, "e%d", exp10);
        return;
    }
    if (exp10 >= 0) {
        /* 2.0, 123456789.125, 100000000000000000.0 */
        for (int i = 0; i <= exp10; i++)
            buf[o++] = (size_t)i < nm ? m[i] : '0';
        buf[o++] = '.';
        if ((size_t)exp10 + 1 < nm) {
            memcpy(buf + o, m + exp10 + 1, nm - (size_t)exp10 - 1);
            o += nm - (size_t)exp10 - 1;
        } else {
            buf[o++] = '0';
        }
    } else {
        /* 0.1, 0.00025 */
        buf[o++] = '0';
        buf[o++] = '.';
        for (int i = -1; i > exp10; i--)
            buf[o++] = '0';
        memcpy(buf + o, m, nm);
        o += nm;
    }
    buf[o] = '\0';
}


static void
put_double(struct fl_buf *o, double v, int has)
{
    char b[48];
    if (!has) {
        fl_buf_adds(o, "null");
        return;
    }
    fl_metric_json_double(b, sizeof b, v);
    fl_buf_adds(o, b);
}

static void
put_u64(struct fl_buf *o, uint64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%" PRIu64, v);
    fl_buf_adds(o, b);
}

/* "YYYY-MM-DDTHH:MM:SSZ" of epoch seconds t, quoted -- strftime's
 * '%Y-%m-%dT%H:%M:%SZ' in UTC, as the SQL path writes window times,
 * without gmtime and strftime per point (a month's series has thousands).
 * Outside years 0000-9999 the seconds, quoted. */
static void
put_time(struct fl_buf *o, int64_t t)
{
    char b[40];
    struct fl_civil c;
    if (t < -62167219200 || t >= 253402300800) {
        snprintf(b, sizeof b, "\"%" PRId64 "\"", t);
        fl_buf_adds(o, b);
        return;
    }
    fl_time_to_civil(t, &c);
    /* Digit by digit: snprintf's parsing of the format would cost more
     * than the rest of the point. */
    const int parts[6] = { c.year, c.month, c.day, c.hour, c.minute,
                           c.second };
    static const char sep[] = "--T::Z";
    char *p = b;
    *p++ = '"';
    for (int i = 0; i < 6; i++) {
        int v = parts[i];
        if (i == 0) {
            *p++ = (char)('0' + v / 1000);
            *p++ = (char)('0' + v / 100 % 10);
        }
        *p++ = (char)('0' + v / 10 % 10);
        *p++ = (char)('0' + v % 10);
        *p++ = sep[i];
    }
    *p++ = '"';
    fl_buf_add(o, b, (size_t)(p - b));
}

/* {"name":"value",...}; other: every value 'other'. */
static void
put_dims(struct fl_buf *o, const struct group *g, int other)
{
    fl_buf_add(o, "{", 1);
    for (size_t i = 0; i < g->n_dims; i++) {
        if (i > 0)
            fl_buf_add(o, ",", 1);
        put_jstr(o, g->names[i]);
        fl_buf_add(o, ":", 1);
        if (other)
            fl_buf_adds(o, "\"other\"");
        else if (g->values[i] == NULL)
            fl_buf_adds(o, "null");
        else
            put_jstr(o, g->values[i]);
    }
    fl_buf_add(o, "}", 1);
}


/* --- ordering ----------------------------------------------------------- */

/* A MAP's text as DuckDB casts it to VARCHAR ({a=1, b='x, y', c=NULL}):
 * the SQL path orders series by it. */
static int
map_text(struct group *g)
{
    struct fl_buf o = FL_BUF_INIT(0);
    fl_buf_add(&o, "{", 1);
    for (size_t i = 0; i < g->n_dims; i++) {
        if (i > 0)
            fl_buf_add(&o, ", ", 2);
        fl_query_add_nested_text(&o, g->names[i], strlen(g->names[i]));
        fl_buf_add(&o, "=", 1);
        if (g->values[i] == NULL)
            fl_buf_adds(&o, "NULL");
        else
            fl_query_add_nested_text(&o, g->values[i],
                                     strlen(g->values[i]));
    }
    fl_buf_add(&o, "}", 1);
    if ((g->order = fl_buf_take(&o, NULL)) == NULL)
        return FL_ENOMEM;
    return FL_OK;
}

static int
by_order(const void *x, const void *y)
{
    const struct group *a = x, *b = y;
    return strcmp(a->order, b->order);
}

static int
by_window(const void *x, const void *y)
{
    const struct point *a = x, *b = y;
    if (a->window_start != b->window_start)
        return a->window_start < b->window_start ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Dimension values as DuckDB orders lists: element by element, NULL after
 * any text, a list before the longer lists it starts. */
static int
values_cmp(const struct group *a, const struct group *b)
{
    size_t n = a->n_dims < b->n_dims ? a->n_dims : b->n_dims;
    for (size_t i = 0; i < n; i++) {
        const char *x = a->values[i], *y = b->values[i];
        if (x == NULL || y == NULL) {
            if (x != y)
                return x == NULL ? 1 : -1;
            continue;
        }
        int c = strcmp(x, y);
        if (c != 0)
            return c;
    }
    return a->n_dims < b->n_dims ? -1 : a->n_dims > b->n_dims;
}

/* Largest value first, no value last, then by dimension values. */
static int
by_rank(const void *x, const void *y)
{
    const struct group *a = x, *b = y;
    if (a->has_value != b->has_value)
        return a->has_value ? -1 : 1;
    if (a->has_value && a->value != b->value)
        return a->value > b->value ? -1 : 1;
    return values_cmp(a, b);
}

static int
is_other(const struct group *g)
{
    if (g->n_dims == 0)
        return 0;
    for (size_t i = 0; i < g->n_dims; i++)
        if (g->values[i] == NULL || strcmp(g->values[i], "other") != 0)
            return 0;
    return 1;
}


/* --- the two documents -------------------------------------------------- */

static void
put_series_doc(struct fl_buf *o, struct answer *a)
{
    fl_buf_adds(o, "{\"metric\":");
    put_jstr(o, a->r->metric);
    fl_buf_adds(o, ",\"series\":[");
    for (size_t i = 0; i < a->n; i++) {
        struct group *g = &a->g[i];
        fl_buf_adds(o, i ? ",{\"dimensions\":" : "{\"dimensions\":");
        put_dims(o, g, 0);
        fl_buf_adds(o, ",\"points\":[");
        for (size_t p = 0; p < g->n_pts; p++) {
            const struct point *pt = &g->pts[p];
            fl_buf_adds(o, p ? ",{\"window_start\":" : "{\"window_start\":");
            put_time(o, pt->window_start);
            fl_buf_adds(o, ",\"window_end\":");
            put_time(o, pt->window_end);
            fl_buf_adds(o, ",\"value\":");
            put_double(o, pt->value, pt->has_value);
            fl_buf_adds(o, pt->final ? ",\"final\":true" : ",\"final\":false");
            fl_buf_adds(o, pt->exact ? ",\"exact\":true" : ",\"exact\":false");
            fl_buf_adds(o, ",\"records\":");
            put_u64(o, pt->records);
            fl_buf_add(o, "}", 1);
        }
        fl_buf_adds(o, "]}");
    }
    fl_buf_adds(o, "]}");
}

static void
put_sum(struct fl_buf *o, const struct fl_mread *r, const struct group *g,
        int other)
{
    fl_buf_adds(o, "{\"dimensions\":");
    put_dims(o, g, other);
    fl_buf_adds(o, ",\"value\":");
    put_double(o, g->value, g->has_value);
    fl_buf_adds(o, ",\"records\":");
    if (g->has_records)
        put_u64(o, g->records);
    else
        fl_buf_adds(o, "null");
    fl_buf_adds(o, g->final ? ",\"final\":true" : ",\"final\":false");
    if (r->n_with > 0) {
        fl_buf_adds(o, ",\"with\":{");
        for (size_t k = 0; k < r->n_with; k++) {
            if (k > 0)
                fl_buf_add(o, ",", 1);
            put_jstr(o, r->with[k]);
            fl_buf_add(o, ":", 1);
            put_double(o, g->w[k], g->has_w[k]);
        }
        fl_buf_add(o, "}", 1);
    }
    fl_buf_add(o, "}", 1);
}

static void
put_aggregate_doc(struct fl_buf *o, struct answer *a)
{
    const struct fl_mread *r = a->r;
    size_t kept = 0, n_rest = 0;
    struct group rest = { .final = 1 };
    const struct group *rest_dims = NULL;

    fl_buf_adds(o, "{\"metric\":");
    put_jstr(o, r->metric);
    fl_buf_adds(o, ",\"aggregate\":\"sum\",\"series\":[");
    /* a->g is ranked with the "other" groups last. */
    for (size_t i = 0; i < a->n; i++) {
        struct group *g = &a->g[i];
        if (!g->other && (r->top < 0 || (long)kept < r->top)) {
            if (kept++ > 0)
                fl_buf_add(o, ",", 1);
            put_sum(o, r, g, 0);
            continue;
        }
        /* Into "other": sums of sums, NULL only when every one is. */
        if (rest_dims == NULL)
            rest_dims = g;
        n_rest++;
        rest.final = rest.final && g->final;
        if (g->has_value) {
            rest.value += g->value;
            rest.has_value = 1;
        }
        if (g->has_records) {
            rest.records += g->records;
            rest.has_records = 1;
        }
        for (size_t k = 0; k < r->n_with; k++)
            if (g->has_w[k]) {
                rest.w[k] += g->w[k];
                rest.has_w[k] = 1;
            }
    }
    if (n_rest > 0) {
        rest.n_dims = rest_dims->n_dims;
        rest.names = rest_dims->names;
        if (kept > 0)
            fl_buf_add(o, ",", 1);
        put_sum(o, r, &rest, 1);
    }
    fl_buf_adds(o, "]}");
}

static int
by_rank_other_last(const void *x, const void *y)
{
    const struct group *a = x, *b = y;
    if (a->other != b->other)
        return a->other - b->other;
    return by_rank(a, b);
}


int
fl_metric_read_json(const struct fl_metric_cache *c,
                    const struct fl_metric_row *live, size_t n_live,
                    const struct fl_mread *r, char **out)
{
    struct answer a = { .r = r };
    struct fl_buf o = FL_BUF_INIT(0);
    int rc;

    *out = NULL;
    if (r->n_with > FL_MREAD_MAX_WITH)
        return FL_ECONFIG;
    rc = collect(&a, c, live, n_live, r->metric, 0);
    for (size_t k = 0; k < r->n_with && rc == 0; k++)
        rc = collect(&a, c, live, n_live, r->with[k], k + 1);
    if (rc == 0 && !r->aggregate) {
        for (size_t i = 0; i < a.n && rc == 0; i++) {
            qsort(a.g[i].pts, a.g[i].n_pts, sizeof *a.g[i].pts, by_window);
            rc = map_text(&a.g[i]);
        }
        if (rc == 0) {
            if (a.n > 1)        /* qsort's base must not be NULL */
                qsort(a.g, a.n, sizeof *a.g, by_order);
            put_series_doc(&o, &a);
        }
    } else if (rc == 0) {
        for (size_t i = 0; i < a.n; i++)
            a.g[i].other = is_other(&a.g[i]);
        if (a.n > 1)
            qsort(a.g, a.n, sizeof *a.g, by_rank_other_last);
        put_aggregate_doc(&o, &a);
    }
    for (size_t i = 0; i < a.n; i++) {
        fl_free(a.g[i].key);
        fl_free(a.g[i].pts);
        fl_free(a.g[i].order);
    }
    fl_free(a.g);
    fl_keyindex_free(&a.index);
    if (rc < 0) {
        fl_buf_free(&o);
        return rc;
    }
    /* An error of o's is FL_ENOMEM: it has no ceiling. */
    if ((*out = fl_buf_take(&o, NULL)) == NULL)
        return FL_ENOMEM;
    return FL_OK;
}
