/* SPDX-License-Identifier: MIT
 *
 * snapshot.c -- fl_stream_save / fl_stream_load: the engine's state as one
 * self-checking byte string, so windows survive a restart.
 *
 * Format (version 1). All integers little-endian; "str" is a u32 length
 * then that many bytes (no NUL).
 *
 *   header   magic "FLSTRM\r\n" (8) | u32 version = 1 | u32 n_sections
 *            u64 seq | u64 batches | u64 records
 *            i64 max_start | i64 max_end | i64 arrival_clock
 *   section  (one per metric plan)
 *            str name | str text | u32 time basis | i64 window
 *            u32 n_dims | u32 column per dimension
 *            u32 n_aggs | per aggregate: u32 kind, i32 column, str metric
 *            u64 records | u64 late | u64 dropped | u64 untimed
 *            u64 n_windows | window...
 *   window   i64 ws (strictly ascending) | u64 n_groups | group...
 *   group    u64 records (>= 1)
 *            per dimension: u8 0 = NULL, 1 = value; then i64 (integer
 *              column) or str (text column)
 *            per aggregate: COUNT(*), COUNT: i64 count;
 *              SUM, AVG, MIN, MAX: i64 value, u64 non-NULL count;
 *              COUNT(DISTINCT): u8 1 = exact: u32 n, n x u64 hash;
 *                               u8 0 = HLL: 4096 register bytes
 *   trailer  u64 XXH3-64 of every byte before it
 *
 * Loading checks the trailer first (any damage or truncation is
 * FL_ECORRUPT), then parses with bounds checks everywhere (a snapshot
 * with a valid checksum but a malformed body is FL_ECORRUPT too, never a
 * crash: fuzz/fuzz_stream_load.c). A saved section is restored into the
 * plan with the same name whose text, window, basis, dimensions and
 * aggregates (kinds, columns, metric names) all match; otherwise its
 * state is dropped and named in the note.
 */
#include "../core/fl_config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "../core/fl_buf.h"
#include "../core/fl_endian.h"
#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "stream_int.h"

static const unsigned char MAGIC[8] = { 'F', 'L', 'S', 'T', 'R', 'M', '\r', '\n' };
#define SNAP_VERSION 1u

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

/* The state is written into an fl_buf without a ceiling: it is a copy
 * of what the stream already holds in memory, about as large. */

static void
put_u64(struct fl_buf *w, uint64_t v)
{
    unsigned char b[8];
    fl_put_le64(b, v);
    fl_buf_add(w, b, 8);
}


static void
put_u32(struct fl_buf *w, uint32_t v)
{
    unsigned char b[4];
    fl_put_le32(b, v);
    fl_buf_add(w, b, 4);
}


static void
put_u8(struct fl_buf *w, unsigned v)
{
    unsigned char b = (unsigned char)v;
    fl_buf_add(w, &b, 1);
}


static void
put_str(struct fl_buf *w, const char *s, size_t len)
{
    put_u32(w, (uint32_t)len);
    fl_buf_add(w, s, len);
}


static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}


/* An exact set's hashes, sorted: the bytes do not depend on the order
 * the values came in (a saved, loaded and saved again state is
 * byte-identical). */
static void
put_hashes(struct fl_buf *w, const struct dset *d)
{
    if (d == NULL || d->n == 0 || w->err)
        return;
    uint64_t *h = fl_malloc(d->n * sizeof *h);
    if (h == NULL) {
        fl_buf_fail(w, FL_ENOMEM);
        return;
    }
    uint32_t k = 0;
    for (uint32_t i = 0; i < d->cap; i++)
        if (d->slot[i] != 0)
            h[k++] = d->slot[i];
    qsort(h, k, sizeof *h, cmp_u64);
    for (uint32_t i = 0; i < k; i++)
        put_u64(w, h[i]);
    fl_free(h);
}


static void
save_group(struct fl_buf *w, const struct mstate *m, struct group *g)
{
    const struct fl_metric_plan *p = m->plan;
    const uint64_t *key = group_key(g);
    put_u64(w, g->records);
    for (size_t d = 0; d < p->n_dims; d++) {
        if (g->nullmask & (1u << d)) {
            put_u8(w, 0);
            continue;
        }
        put_u8(w, 1);
        if (m->dim_str[d]) {
            const struct istr *is = (const struct istr *)(uintptr_t)key[d];
            put_str(w, is->s, is->len);
        } else {
            put_u64(w, key[d]);
        }
    }
    const struct aggst *st = group_st(g, p->n_dims);
    for (size_t a = 0; a < p->n_aggs; a++) {
        switch (p->aggs[a].kind) {
        case FL_AGG_COUNT_STAR:
        case FL_AGG_COUNT:
            put_u64(w, (uint64_t)st[a].u.v);
            break;
        case FL_AGG_SUM:
        case FL_AGG_AVG:
        case FL_AGG_MIN:
        case FL_AGG_MAX:
            put_u64(w, (uint64_t)st[a].u.v);
            put_u64(w, st[a].n);
            break;
        case FL_AGG_COUNT_DISTINCT: {
            const struct dset *d = st[a].u.d;
            if (d != NULL && d->reg != NULL) {
                put_u8(w, 0);
                fl_buf_add(w, d->reg, FL_HLL_M);
            } else {
                put_u8(w, 1);
                put_u32(w, d != NULL ? d->n : 0);
                put_hashes(w, d);
            }
            break;
        }
        }
    }
}


/* Writes one window: its start, its live groups. */
static void
save_window(struct fl_buf *w, const struct mstate *m, struct window *win)
{
    uint64_t live = 0;
    size_t left = win->n_groups;
    /* Groups a failed batch created (records == 0) are skipped. */
    for (size_t c = 0; c < win->n_chunks; c++) {
        size_t cnt = ((size_t)8 << (c < 9 ? c : 9));
        cnt = cnt < left ? cnt : left;
        for (size_t j = 0; j < cnt; j++) {
            struct group *g = (struct group *)(void *)(win->chunk[c] + j * m->stride);
            live += g->records != 0;
        }
        left -= cnt;
    }
    put_u64(w, (uint64_t)win->ws);
    put_u64(w, live);
    left = win->n_groups;
    for (size_t c = 0; c < win->n_chunks; c++) {
        size_t cnt = ((size_t)8 << (c < 9 ? c : 9));
        cnt = cnt < left ? cnt : left;
        for (size_t j = 0; j < cnt; j++) {
            struct group *g = (struct group *)(void *)(win->chunk[c] + j * m->stride);
            if (g->records != 0)
                save_group(w, m, g);
        }
        left -= cnt;
    }
}


/* The state as a snapshot; with the retained final windows when
 * partials is set (older than every open window: the order holds). */
static int
save_state(const struct fl_stream *s, uint64_t seq, int partials,
           unsigned char **out, size_t *out_len)
{
    struct fl_buf w = FL_BUF_INIT(0);

    fl_buf_add(&w, MAGIC, sizeof MAGIC);
    put_u32(&w, SNAP_VERSION);
    put_u32(&w, (uint32_t)s->plans.n);
    put_u64(&w, seq);
    put_u64(&w, s->batches);
    put_u64(&w, s->records);
    put_u64(&w, (uint64_t)s->max_start);
    put_u64(&w, (uint64_t)s->max_end);
    put_u64(&w, (uint64_t)s->arrival_clock);
    for (size_t i = 0; i < s->plans.n; i++) {
        const struct mstate *m = &s->m[i];
        const struct fl_metric_plan *p = m->plan;
        put_str(&w, p->name ? p->name : "", p->name ? strlen(p->name) : 0);
        put_str(&w, p->text ? p->text : "", p->text ? strlen(p->text) : 0);
        put_u32(&w, (uint32_t)p->time);
        put_u64(&w, (uint64_t)p->window);
        put_u32(&w, (uint32_t)p->n_dims);
        for (size_t d = 0; d < p->n_dims; d++)
            put_u32(&w, (uint32_t)p->dims[d]);
        put_u32(&w, (uint32_t)p->n_aggs);
        for (size_t a = 0; a < p->n_aggs; a++) {
            put_u32(&w, (uint32_t)p->aggs[a].kind);
            put_u32(&w, (uint32_t)p->aggs[a].column);
            put_str(&w, p->aggs[a].metric, strlen(p->aggs[a].metric));
        }
        put_u64(&w, m->records);
        put_u64(&w, m->late);
        put_u64(&w, m->dropped);
        put_u64(&w, m->untimed);
        put_u64(&w, m->n_win + (partials ? m->n_done : 0));
        for (size_t k = 0; partials && k < m->n_done; k++)
            save_window(&w, m, m->done[k]);
        for (size_t k = 0; k < m->n_win; k++)
            save_window(&w, m, m->win[k]);
    }
    if (!w.err)
        put_u64(&w, XXH3_64bits(w.p, w.len));
    /* The only error is FL_ENOMEM: w has no ceiling. */
    char *bytes = fl_buf_take(&w, out_len);
    if (bytes == NULL)
        return FL_ENOMEM;
    *out = (unsigned char *)bytes;
    return 0;
}


int
fl_stream_save(const struct fl_stream *s, uint64_t seq, unsigned char **out,
               size_t *out_len)
{
    return save_state(s, seq, 0, out, out_len);
}


int
fl_stream_save_partials(const struct fl_stream *s, unsigned char **out,
                        size_t *out_len)
{
    return save_state(s, 0, 1, out, out_len);
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

struct rbuf {
    const unsigned char *p, *end;
    const char *what;           /* first problem, NULL while fine */
    int         merge;          /* fl_stream_merge: add to what s holds */
};


static int
need(struct rbuf *r, size_t n, const char *what)
{
    if (r->what != NULL)
        return 0;
    if ((size_t)(r->end - r->p) < n) {
        r->what = what;
        return 0;
    }
    return 1;
}


static uint64_t
get_u64(struct rbuf *r, const char *what)
{
    if (!need(r, 8, what))
        return 0;
    uint64_t v = fl_get_le64(r->p);
    r->p += 8;
    return v;
}


static uint32_t
get_u32(struct rbuf *r, const char *what)
{
    if (!need(r, 4, what))
        return 0;
    uint32_t v = fl_get_le32(r->p);
    r->p += 4;
    return v;
}


static unsigned
get_u8(struct rbuf *r, const char *what)
{
    if (!need(r, 1, what))
        return 0;
    return *r->p++;
}


/* A str: returns a pointer into the buffer (not NUL-terminated). */
static const char *
get_str(struct rbuf *r, uint32_t *len, const char *what)
{
    *len = get_u32(r, what);
    if (!need(r, *len, what)) {
        *len = 0;
        return "";
    }
    const char *s = (const char *)r->p;
    r->p += *len;
    return s;
}


static int
str_is(const char *s, uint32_t len, const char *z)
{
    return z != NULL && strlen(z) == len && memcmp(s, z, len) == 0;
}


/* The saved plan's shape, read from a section header. */
struct saved {
    const char *name, *text;
    uint32_t    name_len, text_len, time, n_dims, n_aggs;
    int64_t     window;
    uint32_t    dims[FL_STREAM_MAX_DIMS];
    uint32_t    kind[64];
    uint32_t    column[64];
    const char *metric[64];
    uint32_t    metric_len[64];
};


static int
section_matches(const struct saved *sv, const struct fl_metric_plan *p)
{
    if (!str_is(sv->text, sv->text_len, p->text) || sv->time != (uint32_t)p->time
        || sv->window != p->window || sv->n_dims != p->n_dims
        || sv->n_aggs != p->n_aggs)
        return 0;
    for (size_t d = 0; d < p->n_dims; d++)
        if (sv->dims[d] != (uint32_t)p->dims[d])
            return 0;
    for (size_t a = 0; a < p->n_aggs; a++)
        if (sv->kind[a] != (uint32_t)p->aggs[a].kind
            || sv->column[a] != (uint32_t)p->aggs[a].column
            || !str_is(sv->metric[a], sv->metric_len[a], p->aggs[a].metric))
            return 0;
    return 1;
}


/* Names a dropped section in the note ("; "-separated). */
static void
note_add(char *note, size_t notelen, const char *name, uint32_t len)
{
    size_t used = note != NULL ? strlen(note) : 0;
    if (note == NULL || used + 1 >= notelen)
        return;
    snprintf(note + used, notelen - used, "%smetric %.*s: statement changed "
             "or removed, its saved windows were dropped",
             used ? "; " : "", (int)(len > 200 ? 200 : len), name);
}


/* Reads one group of a section. m is NULL when the section is skipped. */
static int
load_group(struct fl_stream *s, struct mstate *m, struct window *win,
           const struct saved *sv, struct rbuf *r)
{
    struct rowkey key;
    struct aggst st[64];
    int str_dim[FL_STREAM_MAX_DIMS];

    memset(&key, 0, sizeof key);
    memset(st, 0, sizeof st);
    uint64_t records = get_u64(r, "group");
    if (r->what == NULL && records == 0)
        r->what = "group with no records";
    for (uint32_t d = 0; d < sv->n_dims; d++) {
        str_dim[d] = fl_field_get((int)sv->dims[d])->type == FL_TYPE_STRING;
        unsigned present = get_u8(r, "dimension");
        if (present > 1 && r->what == NULL)
            r->what = "dimension flag";
        if (!present) {
            key.nullmask |= 1u << d;
        } else if (str_dim[d]) {
            key.sp[d] = get_str(r, &key.slen[d], "dimension value");
            key.shash[d] = XXH3_64bits(key.sp[d], key.slen[d]);
        } else {
            key.ival[d] = (int64_t)get_u64(r, "dimension value");
        }
    }
    int rc = 0;
    for (uint32_t a = 0; a < sv->n_aggs && r->what == NULL; a++) {
        switch ((enum fl_agg_kind)sv->kind[a]) {
        case FL_AGG_COUNT_STAR:
        case FL_AGG_COUNT:
            st[a].u.v = (int64_t)get_u64(r, "aggregate");
            break;
        case FL_AGG_SUM:
        case FL_AGG_AVG:
        case FL_AGG_MIN:
        case FL_AGG_MAX:
            st[a].u.v = (int64_t)get_u64(r, "aggregate");
            st[a].n = get_u64(r, "aggregate");
            break;
        case FL_AGG_COUNT_DISTINCT: {
            unsigned exact = get_u8(r, "distinct set");
            if (exact > 1 && r->what == NULL)
                r->what = "distinct set flag";
            if (r->what != NULL)
                break;
            if (exact) {
                uint32_t n = get_u32(r, "distinct set");
                if (r->what == NULL && (n > s->opt.distinct_exact_limit
                                        || (size_t)(r->end - r->p) / 8 < n)) {
                    r->what = "distinct set size";
                    break;
                }
                st[a].u.d = fl_calloc(1, sizeof(struct dset));
                if (st[a].u.d == NULL) {
                    rc = FL_ENOMEM;
                    break;
                }
                s->mem += sizeof(struct dset);
                for (uint32_t i = 0; i < n && r->what == NULL && rc == 0; i++) {
                    uint64_t h = get_u64(r, "distinct set");
                    uint32_t before = st[a].u.d->n;
                    if (h == 0)
                        r->what = "distinct hash";
                    else
                        rc = fl_dset_add(&st[a].u.d, h, s->opt.distinct_exact_limit,
                                         &s->mem);
                    if (rc == 0 && r->what == NULL && st[a].u.d->n != before + 1)
                        r->what = "duplicate distinct hash";
                }
            } else {
                if (!need(r, FL_HLL_M, "HLL registers"))
                    break;
                struct dset *d = fl_calloc(1, sizeof *d);
                uint8_t *reg = fl_malloc(FL_HLL_M);
                if (d == NULL || reg == NULL) {
                    fl_free(d);
                    fl_free(reg);
                    rc = FL_ENOMEM;
                    break;
                }
                memcpy(reg, r->p, FL_HLL_M);
                r->p += FL_HLL_M;
                for (unsigned j = 0; j < FL_HLL_M; j++)
                    if (reg[j] > 64 - FL_HLL_P + 1)
                        r->what = "HLL register";
                d->reg = reg;
                st[a].u.d = d;
                s->mem += sizeof *d + FL_HLL_M;
            }
            break;
        }
        default:
            r->what = "aggregate kind";
            break;
        }
    }
    if (rc == 0 && r->what == NULL && m != NULL) {
        int created = 0;
        key.hash = fl_stream_key_hash(m, &key);
        struct group *g = fl_stream_group_find(s, m, win, &key, 1, &created);
        if (g == NULL) {
            rc = FL_ENOMEM;
        } else if (created) {
            g->records = records;
            memcpy(group_st(g, sv->n_dims), st, sv->n_aggs * sizeof *st);
            return 0;
        } else if (!r->merge) {
            r->what = "duplicate group";
        } else {
            /* Another instance's part of the same group. */
            g->records += records;
            rc = fl_agg_merge(m->plan, group_st(g, sv->n_dims), st,
                              s->opt.distinct_exact_limit, &s->mem);
            return rc;
        }
    }
    /* Not stored: free what was read. */
    for (uint32_t a = 0; a < sv->n_aggs && a < 64; a++)
        if (sv->kind[a] == FL_AGG_COUNT_DISTINCT)
            fl_dset_free(st[a].u.d, &s->mem);
    return rc;
}


static int
load_section(struct fl_stream *s, struct rbuf *r, char *note, size_t notelen,
             int *used)
{
    struct saved sv;
    memset(&sv, 0, sizeof sv);
    sv.name = get_str(r, &sv.name_len, "section");
    sv.text = get_str(r, &sv.text_len, "section");
    sv.time = get_u32(r, "section");
    sv.window = (int64_t)get_u64(r, "section");
    sv.n_dims = get_u32(r, "section");
    if (r->what == NULL && (sv.time > FL_TIME_ARRIVAL || sv.window < 1
                            || sv.n_dims > FL_STREAM_MAX_DIMS))
        r->what = "section header";
    for (uint32_t d = 0; d < sv.n_dims && r->what == NULL; d++) {
        sv.dims[d] = get_u32(r, "section");
        if (sv.dims[d] >= FL_FIELD_COUNT && r->what == NULL)
            r->what = "dimension column";
    }
    sv.n_aggs = get_u32(r, "section");
    if (r->what == NULL && (sv.n_aggs == 0 || sv.n_aggs > 64))
        r->what = "aggregate count";
    for (uint32_t a = 0; a < sv.n_aggs && r->what == NULL; a++) {
        sv.kind[a] = get_u32(r, "aggregate");
        sv.column[a] = get_u32(r, "aggregate");
        sv.metric[a] = get_str(r, &sv.metric_len[a], "aggregate");
        if (r->what == NULL && sv.kind[a] > FL_AGG_COUNT_DISTINCT)
            r->what = "aggregate kind";
    }
    if (r->what != NULL)
        return 0;

    struct mstate *m = NULL;
    for (size_t i = 0; i < s->plans.n; i++) {
        if (!used[i] && str_is(sv.name, sv.name_len, s->plans.plan[i].name)) {
            if (section_matches(&sv, &s->plans.plan[i])) {
                m = &s->m[i];
                used[i] = 1;
            }
            break;
        }
    }
    if (m == NULL)
        note_add(note, notelen, sv.name, sv.name_len);
    uint64_t counters[4];
    for (int i = 0; i < 4; i++)
        counters[i] = get_u64(r, "counters");
    uint64_t n_win = get_u64(r, "windows");
    if (r->what != NULL)
        return 0;
    if (m != NULL && r->merge) {
        m->records += counters[0];
        m->late += counters[1];
        m->dropped += counters[2];
        m->untimed += counters[3];
    } else if (m != NULL) {
        m->records = counters[0];
        m->late = counters[1];
        m->dropped = counters[2];
        m->untimed = counters[3];
    }
    int64_t prev = 0;
    for (uint64_t k = 0; k < n_win && r->what == NULL; k++) {
        int64_t ws = (int64_t)get_u64(r, "window");
        uint64_t n_groups = get_u64(r, "window");
        if (r->what != NULL)
            break;
        if (k > 0 && ws <= prev) {
            r->what = "windows out of order";
            break;
        }
        /* Each group takes at least 8 bytes: no absurd counts. */
        if (n_groups == 0 || n_groups > (uint64_t)(r->end - r->p) / 8) {
            r->what = "group count";
            break;
        }
        prev = ws;
        struct window *win = NULL;
        if (m != NULL) {
            win = fl_stream_window_get(s, m, ws);
            if (win == NULL)
                return FL_ENOMEM;
        }
        for (uint64_t g = 0; g < n_groups && r->what == NULL; g++) {
            int rc = load_group(s, m, win, &sv, r);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}


/* The header's figures. */
struct header {
    uint64_t seq, batches, records;
    int64_t  max_start, max_end, arrival;
};


/* Checks and reads a snapshot into s: restored (merge 0; s was reset) or
 * added to what s holds (merge 1). */
static int
read_snapshot(struct fl_stream *s, const unsigned char *buf, size_t len,
              int merge, struct header *h, char *note, size_t notelen,
              struct fl_err *err)
{
    struct rbuf r = { .merge = merge };
    int rc = 0;
    int *used = NULL;

    if (note != NULL && notelen > 0)
        note[0] = '\0';
    if (len < sizeof MAGIC + 8 + 8 || memcmp(buf, MAGIC, sizeof MAGIC) != 0) {
        return fl_err_set(err, FL_ECORRUPT, "stream snapshot: %s",
                          len < sizeof MAGIC
                          ? "truncated (shorter than its header)"
                          : "not a stream snapshot (bad magic)");
    }
    r.p = buf + len - 8;
    r.end = buf + len;
    if (get_u64(&r, "trailer") != XXH3_64bits(buf, len - 8)) {
        return fl_err_set(err, FL_ECORRUPT, "stream snapshot: checksum "
                          "mismatch over %zu bytes (damaged or truncated)",
                          len);
    }
    r.p = buf + sizeof MAGIC;
    r.end = buf + len - 8;
    uint32_t version = get_u32(&r, "header");
    uint32_t n_sec = get_u32(&r, "header");
    h->seq = get_u64(&r, "header");
    h->batches = get_u64(&r, "header");
    h->records = get_u64(&r, "header");
    h->max_start = (int64_t)get_u64(&r, "header");
    h->max_end = (int64_t)get_u64(&r, "header");
    h->arrival = (int64_t)get_u64(&r, "header");
    if (r.what == NULL && version != SNAP_VERSION) {
        return fl_err_set(err, FL_ECORRUPT, "stream snapshot: version %u, "
                          "expected %u", (unsigned)version, SNAP_VERSION);
    }
    if (s->plans.n > 0) {
        used = fl_calloc(s->plans.n, sizeof *used);
        if (used == NULL)
            return FL_ENOMEM;
    }
    for (uint32_t i = 0; i < n_sec && r.what == NULL && rc == 0; i++)
        rc = load_section(s, &r, note, notelen, used);
    if (rc == 0 && r.what == NULL && r.p != r.end)
        r.what = "trailing bytes";
    fl_free(used);
    if (rc != 0)
        return rc;
    if (r.what != NULL)
        return fl_err_set(err, FL_ECORRUPT, "stream snapshot: malformed %s "
                          "at byte %zu", r.what, (size_t)(r.p - buf));
    return 0;
}


int
fl_stream_load(struct fl_stream *s, const unsigned char *buf, size_t len,
               uint64_t *seq, char *note, size_t notelen,
               struct fl_err *err)
{
    struct header h;
    fl_stream_reset_state(s);
    int rc = read_snapshot(s, buf, len, 0, &h, note, notelen, err);
    if (rc != 0) {
        fl_stream_reset_state(s);
        return rc;
    }
    s->batches = h.batches;
    s->records = h.records;
    s->max_start = h.max_start;
    s->max_end = h.max_end;
    s->arrival_clock = h.arrival;
    *seq = h.seq;
    return 0;
}


static int64_t
lowest(int64_t a, int64_t b)
{
    return a < b ? a : b;
}


int
fl_stream_merge(struct fl_stream *s, const unsigned char *buf, size_t len,
                char *note, size_t notelen, struct fl_err *err)
{
    struct header h;
    int rc = read_snapshot(s, buf, len, 1, &h, note, notelen, err);
    if (rc != 0)
        return rc;
    s->batches += h.batches;
    s->records += h.records;
    /* A window is final once every instance's clock has passed it: the
     * lowest clock (an instance that has seen nothing holds all back). */
    if (s->merged++ == 0) {
        s->max_start = h.max_start;
        s->max_end = h.max_end;
        s->arrival_clock = h.arrival;
    } else {
        s->max_start = lowest(s->max_start, h.max_start);
        s->max_end = lowest(s->max_end, h.max_end);
        s->arrival_clock = lowest(s->arrival_clock, h.arrival);
    }
    return 0;
}
