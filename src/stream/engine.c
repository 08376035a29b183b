/* SPDX-License-Identifier: MIT
 *
 * engine.c -- the stream engine of stream.h: windows, groups, clocks and
 * the per-batch fold.
 *
 * A batch is folded metric plan by metric plan, in three column-at-a-time
 * passes:
 *   1. the WHERE predicate gives a bitmask of the TRUE rows (eval.c);
 *   2. assignment: each selected row gets its window (floor(t / len) *
 *      len, also for negative t) and its group, found in the window's
 *      hash table or created; rows without a time (NULL column) are
 *      untimed, rows whose window is already final are late, rows of new
 *      groups beyond max_groups are dropped -- all three leave the mask;
 *   3. each aggregate walks the remaining rows once, adding the column's
 *      value into the row's group.
 * Pass 2 is the only one that allocates (windows, groups, strings) and
 * counts nothing into aggregate states: when it fails with -ENOMEM the
 * groups it created have records == 0, which is how "not counted yet" is
 * told apart, and they are never emitted -- the batch is then not counted
 * at all for that metric. Only COUNT(DISTINCT) allocates in pass 3 (its
 * set grows); an -ENOMEM there leaves that aggregate short of the batch.
 *
 * The last window is cached: rows of one batch mostly share one or two
 * windows, so the division and the window search happen once per run of
 * rows, and for plans without dimensions the group is the window's one
 * group: no hashing at all.
 *
 * Memory: s->mem adds up the sizes of every allocation the state holds
 * (groups, tables, strings, distinct sets), not counting malloc's own
 * overhead.
 */
#include "../core/fl_config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <xxhash.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "stream_int.h"

#define ARENA_BLOCK 4096


void
fl_stream_options_init(struct fl_stream_options *o)
{
    o->allowed_lateness = 900;
    o->distinct_exact_limit = 1024;
    o->max_groups = 2000000;
    o->max_future = 0;
}


/* ------------------------------------------------------------------ */
/* Keys and hashing                                                    */
/* ------------------------------------------------------------------ */

static inline uint64_t
mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}


uint64_t
fl_stream_key_hash(const struct mstate *m, const struct rowkey *k)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < m->plan->n_dims; i++) {
        uint64_t v;
        if (k->nullmask & (1u << i))
            v = 0x5bd1e9955bd1e995ULL;
        else if (m->dim_str[i])
            v = k->shash[i];
        else
            v = (uint64_t)k->ival[i];
        h = mix64(h ^ v) + i;
    }
    return h;
}


static int
key_equal(const struct mstate *m, struct group *g, const struct rowkey *k)
{
    if (g->nullmask != k->nullmask)
        return 0;
    const uint64_t *key = group_key(g);
    for (size_t i = 0; i < m->plan->n_dims; i++) {
        if (k->nullmask & (1u << i))
            continue;
        if (m->dim_str[i]) {
            const struct istr *is = (const struct istr *)(uintptr_t)key[i];
            if (is->hash != k->shash[i] || is->len != k->slen[i]
                || memcmp(is->s, k->sp[i], is->len) != 0)
                return 0;
        } else if ((int64_t)key[i] != k->ival[i]) {
            return 0;
        }
    }
    return 1;
}


/* ------------------------------------------------------------------ */
/* Windows                                                             */
/* ------------------------------------------------------------------ */

static size_t
chunk_groups(size_t c)
{
    return (size_t)8 << (c < 9 ? c : 9);
}


static void
window_free(struct fl_stream *s, struct mstate *m, struct window *w)
{
    const struct fl_metric_plan *p = m->plan;
    size_t left = w->n_groups;
    for (size_t c = 0; c < w->n_chunks; c++) {
        size_t cnt = chunk_groups(c) < left ? chunk_groups(c) : left;
        for (size_t i = 0; i < cnt; i++) {
            struct group *g = (struct group *)(void *)(w->chunk[c] + i * m->stride);
            struct aggst *st = group_st(g, p->n_dims);
            for (size_t a = 0; a < p->n_aggs; a++)
                if (p->aggs[a].kind == FL_AGG_COUNT_DISTINCT)
                    fl_dset_free(st[a].u.d, &s->mem);
        }
        left -= cnt;
        s->mem -= chunk_groups(c) * m->stride;
        fl_free(w->chunk[c]);
    }
    for (size_t i = 0; i < w->n_arena; i++)
        fl_free(w->arena[i]);
    s->mem -= w->chunks_cap * sizeof(*w->chunk) + w->cap * sizeof(*w->slot)
              + w->icap * sizeof(*w->iset) + w->arena_cap * sizeof(*w->arena)
              + w->arena_bytes + sizeof *w;
    m->open_groups -= w->n_groups;
    fl_free(w->chunk);
    fl_free(w->slot);
    fl_free(w->iset);
    fl_free(w->arena);
    fl_free(w);
}


struct window *
fl_stream_window_get(struct fl_stream *s, struct mstate *m, int64_t ws)
{
    size_t lo = 0, hi = m->n_win;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->win[mid]->ws < ws)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < m->n_win && m->win[lo]->ws == ws)
        return m->win[lo];
    if (m->n_win == m->win_cap) {
        size_t old = m->win_cap;
        struct window **nw = fl_grow(m->win, &m->win_cap, m->n_win + 1,
                                     sizeof *nw, 4);
        if (nw == NULL)
            return NULL;
        s->mem += (m->win_cap - old) * sizeof *nw;
        m->win = nw;
    }
    struct window *w = fl_calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    s->mem += sizeof *w;
    w->ws = ws;
    memmove(&m->win[lo + 1], &m->win[lo], (m->n_win - lo) * sizeof *m->win);
    m->win[lo] = w;
    m->n_win++;
    return w;
}


/* Copies a string into the window's arena, once per distinct value. */
static struct istr *
intern(struct fl_stream *s, struct window *w, const char *p, uint32_t len,
       uint64_t hash)
{
    if (w->icap != 0) {
        size_t i = (size_t)hash & (w->icap - 1);
        while (w->iset[i] != NULL) {
            struct istr *is = w->iset[i];
            if (is->hash == hash && is->len == len && memcmp(is->s, p, len) == 0)
                return is;
            i = (i + 1) & (w->icap - 1);
        }
    }
    if ((w->in + 1) * 2 > w->icap) {
        size_t ncap = w->icap ? w->icap * 2 : 16;
        struct istr **ns = fl_calloc(ncap, sizeof *ns);
        if (ns == NULL)
            return NULL;
        for (size_t i = 0; i < w->icap; i++) {
            struct istr *is = w->iset[i];
            if (is == NULL)
                continue;
            size_t j = (size_t)is->hash & (ncap - 1);
            while (ns[j] != NULL)
                j = (j + 1) & (ncap - 1);
            ns[j] = is;
        }
        fl_free(w->iset);
        s->mem += (ncap - w->icap) * sizeof *ns;
        w->iset = ns;
        w->icap = ncap;
    }
    size_t need = (sizeof(struct istr) + len + 1 + 7) & ~(size_t)7;
    if (w->n_arena == 0 || w->arena_used + need > w->arena_size) {
        size_t bsize = need > ARENA_BLOCK ? need : ARENA_BLOCK;
        if (w->n_arena == w->arena_cap) {
            size_t old = w->arena_cap;
            char **na = fl_grow(w->arena, &w->arena_cap, w->n_arena + 1,
                                sizeof *na, 4);
            if (na == NULL)
                return NULL;
            s->mem += (w->arena_cap - old) * sizeof *na;
            w->arena = na;
        }
        char *blk = fl_malloc(bsize);
        if (blk == NULL)
            return NULL;
        s->mem += bsize;
        w->arena_bytes += bsize;
        w->arena[w->n_arena++] = blk;
        w->arena_used = 0;
        w->arena_size = bsize;
    }
    struct istr *is = (struct istr *)(void *)(w->arena[w->n_arena - 1] + w->arena_used);
    w->arena_used += need;
    is->hash = hash;
    is->len = len;
    memcpy(is->s, p, len);
    is->s[len] = '\0';
    size_t i = (size_t)hash & (w->icap - 1);
    while (w->iset[i] != NULL)
        i = (i + 1) & (w->icap - 1);
    w->iset[i] = is;
    w->in++;
    return is;
}


/* A zeroed group at the end of w's storage. */
static struct group *
group_alloc(struct fl_stream *s, struct mstate *m, struct window *w)
{
    if (w->n_chunks == 0 || w->in_last == chunk_groups(w->n_chunks - 1)) {
        if (w->n_chunks == w->chunks_cap) {
            size_t old = w->chunks_cap;
            unsigned char **nc = fl_grow(w->chunk, &w->chunks_cap,
                                         w->n_chunks + 1, sizeof *nc, 4);
            if (nc == NULL)
                return NULL;
            s->mem += (w->chunks_cap - old) * sizeof *nc;
            w->chunk = nc;
        }
        size_t bytes = chunk_groups(w->n_chunks) * m->stride;
        unsigned char *c = fl_calloc(1, bytes);
        if (c == NULL)
            return NULL;
        s->mem += bytes;
        w->chunk[w->n_chunks++] = c;
        w->in_last = 0;
    }
    struct group *g = (struct group *)(void *)(w->chunk[w->n_chunks - 1]
                                               + w->in_last * m->stride);
    w->in_last++;
    w->n_groups++;
    m->open_groups++;
    return g;
}


static int
table_grow(struct fl_stream *s, struct window *w)
{
    size_t ncap = w->cap ? w->cap * 2 : 16;
    struct group **ns = fl_calloc(ncap, sizeof *ns);
    if (ns == NULL)
        return FL_ENOMEM;
    for (size_t i = 0; i < w->cap; i++) {
        struct group *g = w->slot[i];
        if (g == NULL)
            continue;
        size_t j = (size_t)g->hash & (ncap - 1);
        while (ns[j] != NULL)
            j = (j + 1) & (ncap - 1);
        ns[j] = g;
    }
    fl_free(w->slot);
    s->mem += (ncap - w->cap) * sizeof *ns;
    w->slot = ns;
    w->cap = ncap;
    return 0;
}


struct group *
fl_stream_group_find(struct fl_stream *s, struct mstate *m, struct window *w,
                     const struct rowkey *k, int create, int *created)
{
    size_t n_dims = m->plan->n_dims;
    *created = 0;
    if (n_dims == 0) {
        if (w->single == NULL && create) {
            w->single = group_alloc(s, m, w);
            *created = w->single != NULL;
        }
        return w->single;
    }
    size_t i = 0;
    if (w->cap != 0) {
        i = (size_t)k->hash & (w->cap - 1);
        while (w->slot[i] != NULL) {
            struct group *g = w->slot[i];
            if (g->hash == k->hash && key_equal(m, g, k))
                return g;
            i = (i + 1) & (w->cap - 1);
        }
    }
    if (!create)
        return NULL;
    /* Intern first: a failure then leaves no half-made group behind. */
    const struct istr *is[FL_STREAM_MAX_DIMS];
    for (size_t d = 0; d < n_dims; d++) {
        is[d] = NULL;
        if (m->dim_str[d] && !(k->nullmask & (1u << d))) {
            is[d] = intern(s, w, k->sp[d], k->slen[d], k->shash[d]);
            if (is[d] == NULL)
                return NULL;
        }
    }
    if ((w->n_groups + 1) * 2 > w->cap) {
        if (table_grow(s, w) != 0)
            return NULL;
        i = (size_t)k->hash & (w->cap - 1);
        while (w->slot[i] != NULL)
            i = (i + 1) & (w->cap - 1);
    }
    struct group *g = group_alloc(s, m, w);
    if (g == NULL)
        return NULL;
    g->hash = k->hash;
    g->nullmask = k->nullmask;
    uint64_t *key = group_key(g);
    for (size_t d = 0; d < n_dims; d++) {
        if (k->nullmask & (1u << d))
            key[d] = 0;
        else if (m->dim_str[d])
            key[d] = (uint64_t)(uintptr_t)is[d];
        else
            key[d] = (uint64_t)k->ival[d];
    }
    w->slot[i] = g;
    *created = 1;
    return g;
}


/* ------------------------------------------------------------------ */
/* Emitting values                                                     */
/* ------------------------------------------------------------------ */

static int64_t
window_end(const struct mstate *m, int64_t ws)
{
    return ws > INT64_MAX - m->plan->window ? INT64_MAX : ws + m->plan->window;
}


/* Emits one group's values, one per aggregate. dimv names the group (the
 * "other" group of a top-N metric passes its own); st and records are the
 * group's (or the sums of the others). */
static void
emit_values(struct fl_stream *s, struct mstate *m, struct window *w,
            const struct aggst *st, uint64_t records, int final,
            fl_stream_value_fn *fn, void *ctx)
{
    const struct fl_metric_plan *p = m->plan;
    for (size_t a = 0; a < p->n_aggs; a++) {
        struct fl_metric_value v;
        memset(&v, 0, sizeof v);
        v.metric = p->aggs[a].metric;
        v.n_dims = p->n_dims;
        v.dim_names = m->dim_names;
        v.dim_values = s->dimv;
        v.window_start = w->ws;
        v.window_end = window_end(m, w->ws);
        v.final = final;
        v.records = records;
        fl_agg_value(&p->aggs[a], &st[a], &v.value, &v.has_value, &v.exact);
        fn(ctx, &v);
    }
}


static void
emit_group(struct fl_stream *s, struct mstate *m, struct window *w,
           struct group *g, int final, fl_stream_value_fn *fn, void *ctx)
{
    const struct fl_metric_plan *p = m->plan;
    const uint64_t *key = group_key(g);
    for (size_t d = 0; d < p->n_dims; d++) {
        if (g->nullmask & (1u << d)) {
            s->dimv[d] = NULL;
        } else if (m->dim_str[d]) {
            s->dimv[d] = ((const struct istr *)(uintptr_t)key[d])->s;
        } else {
            snprintf(s->numbuf[d], sizeof s->numbuf[d], "%lld",
                     (long long)(int64_t)key[d]);
            s->dimv[d] = s->numbuf[d];
        }
    }
    emit_values(s, m, w, group_st(g, p->n_dims), g->records, final, fn, ctx);
}


/* A top-N metric's group and the value it is ranked by. */
struct ranked {
    double        v;
    uint64_t      hash;
    struct group *g;
};

/* Larger value first; ties by hash, so that the same groups make the
 * cut whenever the window is emitted (provisional and final agree). */
static int
ranked_before(const struct ranked *a, const struct ranked *b)
{
    return a->v != b->v ? a->v > b->v : a->hash < b->hash;
}


/* Moves the k first (by ranked_before) of r[0..n) into r[0..k), in no
 * particular order (quickselect: a window is emitted at every scrape
 * while open, so no full sort). */
static void
select_top(struct ranked *r, size_t n, size_t k)
{
    /* Invariant: r[0..lo) come before r[lo..hi), which come before
     * r[hi..n); done when lo or hi is k. Hoare's partition around the
     * lower middle leaves both parts non-empty. */
    size_t lo = 0, hi = n;
    while (lo < k && k < hi) {
        struct ranked pivot = r[lo + (hi - lo - 1) / 2], t;
        size_t i = lo, j = hi - 1;
        for (;;) {
            while (ranked_before(&r[i], &pivot))
                i++;
            while (ranked_before(&pivot, &r[j]))
                j--;
            if (i >= j)
                break;
            t = r[i]; r[i] = r[j]; r[j] = t;
            i++;
            j--;
        }
        if (k <= j + 1)
            hi = j + 1;
        else
            lo = j + 1;
    }
}


/* A top-N window: its top_n groups by the ranking aggregate, then one
 * "other" group with the sums of the rest. -1 when there is no memory
 * for the ranking, and the caller emits every group instead (the values
 * stay right; only the bound on series is lost for that emission). */
static int
emit_top(struct fl_stream *s, struct mstate *m, struct window *w, int final,
         fl_stream_value_fn *fn, void *ctx)
{
    const struct fl_metric_plan *p = m->plan;
    struct ranked *r = fl_malloc(w->n_groups * sizeof *r);
    struct aggst *other = fl_calloc(p->n_aggs, sizeof *other);
    uint64_t other_records = 0;
    size_t n = 0, left = w->n_groups;
    if (r == NULL || other == NULL) {
        fl_free(r);
        fl_free(other);
        return -1;
    }
    for (size_t c = 0; c < w->n_chunks; c++) {
        size_t cnt = chunk_groups(c) < left ? chunk_groups(c) : left;
        for (size_t i = 0; i < cnt; i++) {
            struct group *g = (struct group *)(void *)(w->chunk[c] + i * m->stride);
            const struct aggst *st = group_st(g, p->n_dims);
            if (g->records == 0)
                continue;
            r[n].g = g;
            r[n].hash = g->hash;
            /* COUNT or SUM (the compiler allows no other); a SUM of only
             * NULLs ranks last. */
            r[n].v = st[p->top_agg].n > 0 || p->aggs[p->top_agg].kind != FL_AGG_SUM
                     ? (double)st[p->top_agg].u.v : -HUGE_VAL;
            n++;
        }
        left -= cnt;
    }
    if (n > p->top_n)
        select_top(r, n, p->top_n);
    for (size_t i = 0; i < n && i < p->top_n; i++)
        emit_group(s, m, w, r[i].g, final, fn, ctx);
    if (n > p->top_n) {
        for (size_t i = p->top_n; i < n; i++) {
            const struct aggst *st = group_st(r[i].g, p->n_dims);
            for (size_t a = 0; a < p->n_aggs; a++) {
                other[a].u.v += st[a].u.v;
                other[a].n += st[a].n;
            }
            other_records += r[i].g->records;
        }
        for (size_t d = 0; d < p->n_dims; d++)
            s->dimv[d] = FL_PLAN_OTHER;
        emit_values(s, m, w, other, other_records, final, fn, ctx);
    }
    fl_free(r);
    fl_free(other);
    return 0;
}


static void
emit_window(struct fl_stream *s, struct mstate *m, struct window *w,
            int final, fl_stream_value_fn *fn, void *ctx)
{
    size_t left = w->n_groups;
    if (fn == NULL)
        return;
    if (m->plan->top_n > 0 && w->n_groups > m->plan->top_n
        && emit_top(s, m, w, final, fn, ctx) == 0)
        return;
    for (size_t c = 0; c < w->n_chunks; c++) {
        size_t cnt = chunk_groups(c) < left ? chunk_groups(c) : left;
        for (size_t i = 0; i < cnt; i++) {
            struct group *g = (struct group *)(void *)(w->chunk[c] + i * m->stride);
            if (g->records == 0)
                continue;       /* created by a batch that failed */
            emit_group(s, m, w, g, final, fn, ctx);
        }
        left -= cnt;
    }
}


static int64_t
metric_clock(const struct fl_stream *s, const struct mstate *m)
{
    int64_t mx;
    switch (m->plan->time) {
    case FL_TIME_START: mx = s->max_start; break;
    case FL_TIME_END:   mx = s->max_end; break;
    default:            return s->arrival_clock;
    }
    if (mx == INT64_MIN)
        return INT64_MIN;
    if (s->opt.allowed_lateness > 0 && mx < INT64_MIN + s->opt.allowed_lateness)
        return INT64_MIN;
    return mx - s->opt.allowed_lateness;
}


/* Keeps a final window for opt.retain_final (its groups leave
 * open_groups); frees it when there is no room to keep it. */
static void
retain(struct fl_stream *s, struct mstate *m, struct window *w)
{
    if (m->n_done == m->done_cap) {
        size_t old = m->done_cap;
        struct window **g = fl_grow(m->done, &m->done_cap, m->n_done + 1,
                                    sizeof *g, 8);
        if (g == NULL) {
            window_free(s, m, w);      /* no memory: the merge lacks it */
            return;
        }
        m->done = g;
        s->mem += (m->done_cap - old) * sizeof *g;
    }
    m->done[m->n_done++] = w;
    m->open_groups -= w->n_groups;
}


/* Frees the retained windows that ended retain_final or more before
 * clock (all of them when all is set). */
static void
drop_retained(struct fl_stream *s, struct mstate *m, int64_t clock, int all)
{
    size_t k = 0;
    while (k < m->n_done
           && (all || clock == INT64_MIN
               || window_end(m, m->done[k]->ws)
                  <= clock - s->opt.retain_final)) {
        /* window_free takes the groups off open_groups: they left it. */
        m->open_groups += m->done[k]->n_groups;
        window_free(s, m, m->done[k]);
        k++;
    }
    if (k > 0) {
        memmove(m->done, m->done + k, (m->n_done - k) * sizeof *m->done);
        m->n_done -= k;
    }
}


/* Emits and frees (or retains) the windows of m that end at or before
 * clock (all of them when all is set), oldest first. */
static void
finalise(struct fl_stream *s, struct mstate *m, int64_t clock, int all)
{
    size_t k = 0;
    while (k < m->n_win && (all || window_end(m, m->win[k]->ws) <= clock)) {
        emit_window(s, m, m->win[k], 1, s->final_fn, s->final_ctx);
        if (s->opt.retain_final > 0 && !all)
            retain(s, m, m->win[k]);
        else
            window_free(s, m, m->win[k]);
        k++;
    }
    if (k > 0) {
        memmove(m->win, m->win + k, (m->n_win - k) * sizeof *m->win);
        m->n_win -= k;
    }
    if (m->n_done > 0)
        drop_retained(s, m, clock, all);
}


/* ------------------------------------------------------------------ */
/* Create / destroy                                                    */
/* ------------------------------------------------------------------ */

static int
check_plan(const struct fl_metric_plan *p)
{
    if (p->window < 1 || p->n_dims > FL_STREAM_MAX_DIMS || p->n_aggs == 0)
        return FL_ECONFIG;
    for (size_t d = 0; d < p->n_dims; d++)
        if (p->dims[d] < 0 || p->dims[d] >= FL_FIELD_COUNT)
            return FL_ECONFIG;
    for (size_t a = 0; a < p->n_aggs; a++) {
        const struct fl_plan_agg *ag = &p->aggs[a];
        if (ag->metric == NULL)
            return FL_ECONFIG;
        if (ag->kind == FL_AGG_COUNT_STAR)
            continue;
        if (ag->column < 0 || ag->column >= FL_FIELD_COUNT)
            return FL_ECONFIG;
        if (ag->kind != FL_AGG_COUNT && ag->kind != FL_AGG_COUNT_DISTINCT
            && fl_field_get(ag->column)->type == FL_TYPE_STRING)
            return FL_ECONFIG;
    }
    return 0;
}


int
fl_stream_create(const struct fl_stream_options *opt,
                 struct fl_metric_plans *plans,
                 fl_stream_value_fn *final_fn, void *final_ctx,
                 struct fl_stream **out)
{
    struct fl_stream *s = NULL;
    int rc = FL_ENOMEM;

    for (size_t i = 0; i < plans->n; i++)
        if (check_plan(&plans->plan[i]) != 0)
            return FL_ECONFIG;
    s = fl_calloc(1, sizeof *s);
    if (s == NULL)
        return FL_ENOMEM;
    if (opt != NULL)
        s->opt = *opt;
    else
        fl_stream_options_init(&s->opt);
    if (s->opt.allowed_lateness < 0)
        s->opt.allowed_lateness = 0;
    s->final_fn = final_fn;
    s->final_ctx = final_ctx;
    s->max_start = s->max_end = s->arrival_clock = INT64_MIN;
    if (plans->n > 0) {
        s->m = fl_calloc(plans->n, sizeof *s->m);
        if (s->m == NULL)
            goto fail;
    }
    for (size_t i = 0; i < plans->n; i++) {
        const struct fl_metric_plan *p = &plans->plan[i];
        struct mstate *m = &s->m[i];
        m->plan = p;
        m->stride = sizeof(struct group) + p->n_dims * sizeof(uint64_t)
                    + p->n_aggs * sizeof(struct aggst);
        m->pred_depth = fl_stream_pred_depth(p->where);
        if (p->n_dims > 0) {
            m->dim_names = fl_calloc(p->n_dims, sizeof *m->dim_names);
            if (m->dim_names == NULL)
                goto fail;
        }
        for (size_t d = 0; d < p->n_dims; d++) {
            m->dim_str[d] = fl_field_get(p->dims[d])->type == FL_TYPE_STRING;
            m->dim_names[d] = fl_field_get(p->dims[d])->sql_name;
        }
    }
    /* Take the plans only now: on failure the caller keeps them. */
    s->plans = *plans;
    plans->n = 0;
    plans->plan = NULL;
    *out = s;
    return 0;
fail:
    for (size_t i = 0; s->m != NULL && i < plans->n; i++)
        fl_free(s->m[i].dim_names);
    fl_free(s->m);
    fl_free(s);
    return rc;
}


void
fl_stream_reset_state(struct fl_stream *s)
{
    for (size_t i = 0; i < s->plans.n; i++) {
        struct mstate *m = &s->m[i];
        for (size_t k = 0; k < m->n_win; k++)
            window_free(s, m, m->win[k]);
        fl_free(m->win);
        s->mem -= m->win_cap * sizeof *m->win;
        m->win = NULL;
        m->n_win = m->win_cap = 0;
        drop_retained(s, m, INT64_MIN, 1);
        fl_free(m->done);
        s->mem -= m->done_cap * sizeof *m->done;
        m->done = NULL;
        m->n_done = m->done_cap = 0;
        m->records = m->late = m->dropped = m->untimed = 0;
        m->open_groups = 0;
    }
    s->batches = s->records = 0;
    s->merged = 0;
    s->max_start = s->max_end = s->arrival_clock = INT64_MIN;
}


void
fl_stream_destroy(struct fl_stream *s)
{
    if (s == NULL)
        return;
    fl_stream_reset_state(s);
    for (size_t i = 0; i < s->plans.n; i++)
        fl_free(s->m[i].dim_names);
    fl_free(s->m);
    fl_free(s->masks);
    fl_free(s->gidx);
    fl_plan_free(&s->plans);
    fl_free(s);
}


const struct fl_metric_plans *
fl_stream_plans(const struct fl_stream *s)
{
    return &s->plans;
}


int
fl_stream_metric_info(const struct fl_stream *s, const char *metric,
                      int64_t *window, enum fl_time_basis *time,
                      const struct fl_metric_plan **plan)
{
    for (size_t i = 0; i < s->plans.n; i++) {
        const struct fl_metric_plan *p = &s->plans.plan[i];
        for (size_t a = 0; a < p->n_aggs; a++) {
            if (strcmp(p->aggs[a].metric, metric) != 0)
                continue;
            if (window != NULL)
                *window = p->window;
            if (time != NULL)
                *time = p->time;
            if (plan != NULL)
                *plan = p;
            return 0;
        }
    }
    return -ENOENT;
}


/* ------------------------------------------------------------------ */
/* Processing                                                          */
/* ------------------------------------------------------------------ */

static int
scratch_reserve(struct fl_stream *s, size_t rows)
{
    int depth = 0;
    for (size_t i = 0; i < s->plans.n; i++)
        if (s->m[i].pred_depth > depth)
            depth = s->m[i].pred_depth;
    size_t nmasks = 3 + 2 * (size_t)depth;
    if (rows <= s->scratch_rows && nmasks <= s->n_masks)
        return 0;
    if (rows < s->scratch_rows)
        rows = s->scratch_rows;
    size_t nw = (rows + 63) / 64;
    uint64_t *masks = fl_malloc(nmasks * nw * sizeof *masks);
    struct group **gidx = fl_malloc(rows * sizeof *gidx);
    if (masks == NULL || gidx == NULL) {
        fl_free(masks);
        fl_free(gidx);
        return FL_ENOMEM;
    }
    fl_free(s->masks);
    fl_free(s->gidx);
    s->masks = masks;
    s->gidx = gidx;
    s->scratch_rows = rows;
    s->n_masks = nmasks;
    return 0;
}


static inline int64_t
floor_div_mul(int64_t t, int64_t len)
{
    int64_t q = t / len;
    if ((t % len != 0) && (t < 0))
        q--;
    /* Only for times within len of INT64_MIN: clamp instead of overflow. */
    if (q < INT64_MIN / len)
        q = INT64_MIN / len;
    return q * len;
}


/* Fills k from row r of b for m's dimensions. */
static void
row_key(const struct mstate *m, const struct fl_batch *b, size_t r,
        struct rowkey *k)
{
    const struct fl_metric_plan *p = m->plan;
    k->nullmask = 0;
    for (size_t d = 0; d < p->n_dims; d++) {
        const struct fl_column *c = &b->col[p->dims[d]];
        if (!((c->valid[r >> 6] >> (r & 63)) & 1)) {
            k->nullmask |= 1u << d;
            continue;
        }
        if (m->dim_str[d]) {
            k->sp[d] = c->v.str[r].p;
            k->slen[d] = c->v.str[r].len;
            k->shash[d] = XXH3_64bits(k->sp[d], k->slen[d]);
        } else {
            k->ival[d] = c->type == FL_TYPE_INT32 ? c->v.i32[r] : c->v.i64[r];
        }
    }
    k->hash = fl_stream_key_hash(m, k);
}


/* Pass 2: windows and groups for the selected rows of sel. */
static int
assign(struct fl_stream *s, struct mstate *m, const struct fl_batch *b,
       int64_t arrival, uint64_t *sel, size_t nw, uint64_t *n_late,
       uint64_t *n_dropped, uint64_t *n_untimed)
{
    const struct fl_metric_plan *p = m->plan;
    const int64_t len = p->window, clock = metric_clock(s, m);
    const struct fl_column *tc = NULL;
    struct group **gidx = s->gidx;
    int64_t cur_lo = 1, cur_hi = 0;     /* empty range */
    struct window *cur = NULL;
    struct rowkey key;

    if (p->time == FL_TIME_START)
        tc = &b->col[FL_F_START];
    else if (p->time == FL_TIME_END)
        tc = &b->col[FL_F_END];
    for (size_t w = 0; w < nw; w++) {
        uint64_t bits = sel[w];
        while (bits) {
            unsigned j = (unsigned)__builtin_ctzll(bits);
            size_t r = w * 64 + j;
            int64_t t;
            bits &= bits - 1;
            if (tc == NULL) {
                t = arrival;
            } else if (!((tc->valid[w] >> j) & 1)) {
                (*n_untimed)++;
                sel[w] &= ~((uint64_t)1 << j);
                continue;
            } else {
                t = tc->v.i64[r];
            }
            if (t < cur_lo || t > cur_hi) {
                int64_t ws = floor_div_mul(t, len);
                int64_t we = window_end(m, ws);
                cur_lo = ws;
                cur_hi = we == INT64_MAX ? INT64_MAX : we - 1;
                if (clock != INT64_MIN && we <= clock) {
                    cur = NULL;             /* already final: late */
                } else {
                    cur = fl_stream_window_get(s, m, ws);
                    if (cur == NULL)
                        return FL_ENOMEM;
                }
            }
            if (cur == NULL) {
                (*n_late)++;
                sel[w] &= ~((uint64_t)1 << j);
                continue;
            }
            struct group *g;
            int created;
            if (p->n_dims == 0) {
                g = cur->single;
                if (g == NULL) {
                    if (m->open_groups >= s->opt.max_groups) {
                        (*n_dropped)++;
                        sel[w] &= ~((uint64_t)1 << j);
                        continue;
                    }
                    g = fl_stream_group_find(s, m, cur, &key, 1, &created);
                    if (g == NULL)
                        return FL_ENOMEM;
                }
            } else {
                row_key(m, b, r, &key);
                int full = m->open_groups >= s->opt.max_groups;
                g = fl_stream_group_find(s, m, cur, &key, !full, &created);
                if (g == NULL) {
                    if (!full)
                        return FL_ENOMEM;
                    (*n_dropped)++;
                    sel[w] &= ~((uint64_t)1 << j);
                    continue;
                }
            }
            gidx[r] = g;
        }
    }
    return 0;
}


/* Pass 3: folds the values of the selected rows into their groups. */
static int
fold(struct fl_stream *s, struct mstate *m, const struct fl_batch *b,
     const uint64_t *sel, size_t nw)
{
    const struct fl_metric_plan *p = m->plan;
    struct group **gidx = s->gidx;
    size_t nd = p->n_dims;
    int rc = 0;

#define EACH_ROW(BODY) \
    for (size_t w_ = 0; w_ < nw; w_++) { \
        uint64_t bits_ = sel[w_]; \
        while (bits_) { \
            unsigned j_ = (unsigned)__builtin_ctzll(bits_); \
            size_t r = w_ * 64 + j_; \
            uint64_t vw_ = vmask ? vmask[w_] : ~(uint64_t)0; \
            bits_ &= bits_ - 1; \
            (void)vw_; \
            BODY \
        } \
    }
    {
        const uint64_t *vmask = NULL;
        EACH_ROW(gidx[r]->records++;)
    }
    for (size_t a = 0; a < p->n_aggs; a++) {
        const struct fl_plan_agg *ag = &p->aggs[a];
        const struct fl_column *c = ag->column >= 0 ? &b->col[ag->column] : NULL;
        const uint64_t *vmask = c ? c->valid : NULL;
        int is32 = c != NULL && c->type == FL_TYPE_INT32;
#define VALID ((vw_ >> j_) & 1)
#define IVAL (is32 ? (int64_t)c->v.i32[r] : c->v.i64[r])
        switch (ag->kind) {
        case FL_AGG_COUNT_STAR:
            EACH_ROW(group_st(gidx[r], nd)[a].u.v++;)
            break;
        case FL_AGG_COUNT:
            EACH_ROW(group_st(gidx[r], nd)[a].u.v += (int64_t)VALID;)
            break;
        case FL_AGG_SUM:
        case FL_AGG_AVG:
            EACH_ROW(if (VALID) {
                struct aggst *st = &group_st(gidx[r], nd)[a];
                /* Wrapping add: int64 overflow is not UB here. */
                st->u.v = (int64_t)((uint64_t)st->u.v + (uint64_t)IVAL);
                st->n++;
            })
            break;
        case FL_AGG_MIN:
            EACH_ROW(if (VALID) {
                struct aggst *st = &group_st(gidx[r], nd)[a];
                int64_t v = IVAL;
                if (st->n == 0 || v < st->u.v)
                    st->u.v = v;
                st->n++;
            })
            break;
        case FL_AGG_MAX:
            EACH_ROW(if (VALID) {
                struct aggst *st = &group_st(gidx[r], nd)[a];
                int64_t v = IVAL;
                if (st->n == 0 || v > st->u.v)
                    st->u.v = v;
                st->n++;
            })
            break;
        case FL_AGG_COUNT_DISTINCT:
            EACH_ROW(if (VALID) {
                struct aggst *st = &group_st(gidx[r], nd)[a];
                uint64_t h = c->type == FL_TYPE_STRING
                             ? fl_dset_hash_str(c->v.str[r].p, c->v.str[r].len)
                             : fl_dset_hash_int(IVAL);
                int e = fl_dset_add(&st->u.d, h, s->opt.distinct_exact_limit,
                                    &s->mem);
                if (e != 0)
                    rc = e;
            })
            break;
        }
#undef VALID
#undef IVAL
    }
#undef EACH_ROW
    return rc;
}


static int
process_metric(struct fl_stream *s, struct mstate *m, const struct fl_batch *b,
               int64_t arrival)
{
    const struct fl_metric_plan *p = m->plan;
    size_t n = b->n, nw = (n + 63) / 64;
    uint64_t *sel = s->masks, *F = s->masks + nw, *scratch = s->masks + 2 * nw;
    uint64_t late = 0, dropped = 0, untimed = 0, rows = 0;

    if (p->where != NULL) {
        fl_stream_eval(p->where, b, nw, sel, F, scratch);
    } else {
        for (size_t w = 0; w < nw; w++)
            sel[w] = ~(uint64_t)0;
        if (n % 64)
            sel[nw - 1] = ((uint64_t)1 << (n % 64)) - 1;
    }
    int rc = assign(s, m, b, arrival, sel, nw, &late, &dropped, &untimed);
    if (rc != 0)
        return rc;
    for (size_t w = 0; w < nw; w++)
        rows += (uint64_t)__builtin_popcountll(sel[w]);
    m->late += late;
    m->dropped += dropped;
    m->untimed += untimed;
    m->records += rows;
    return fold(s, m, b, sel, nw);
}


int
fl_stream_process(struct fl_stream *s, const struct fl_batch *b,
                  int64_t arrival)
{
    int rc = 0;
    if (b->n > 0) {
        rc = scratch_reserve(s, b->n);
        if (rc != 0)
            return rc;
        for (size_t i = 0; i < s->plans.n; i++) {
            int e = process_metric(s, &s->m[i], b, arrival);
            if (e != 0)
                rc = e;
        }
    }
    s->batches++;
    s->records += b->n;

    /* Clocks move after the batch, so all its rows met the same ones. */
    const struct fl_column *cs = &b->col[FL_F_START], *ce = &b->col[FL_F_END];
    int64_t cap = INT64_MAX;
    if (s->opt.max_future > 0 && arrival < INT64_MAX - s->opt.max_future)
        cap = arrival + s->opt.max_future;
    for (size_t r = 0; r < b->n; r++) {
        int64_t ts = ((cs->valid[r >> 6] >> (r & 63)) & 1) ? cs->v.i64[r]
                                                           : INT64_MIN;
        int64_t te = ((ce->valid[r >> 6] >> (r & 63)) & 1) ? ce->v.i64[r]
                                                           : INT64_MIN;
        if (ts > cap || te > cap) {
            s->future++;          /* counted in its windows, clocks kept */
            continue;
        }
        if (ts > s->max_start)
            s->max_start = ts;
        if (te > s->max_end)
            s->max_end = te;
    }
    if (arrival > s->arrival_clock)
        s->arrival_clock = arrival;
    fl_stream_settle(s);
    return rc;
}


void
fl_stream_settle(struct fl_stream *s)
{
    for (size_t i = 0; i < s->plans.n; i++)
        finalise(s, &s->m[i], metric_clock(s, &s->m[i]), 0);
}


void
fl_stream_advance(struct fl_stream *s, int64_t now)
{
    if (now > s->arrival_clock)
        s->arrival_clock = now;
    for (size_t i = 0; i < s->plans.n; i++)
        if (s->m[i].plan->time == FL_TIME_ARRIVAL)
            finalise(s, &s->m[i], s->arrival_clock, 0);
}


void
fl_stream_flush(struct fl_stream *s)
{
    for (size_t i = 0; i < s->plans.n; i++)
        finalise(s, &s->m[i], 0, 1);
}


void
fl_stream_each_open(struct fl_stream *s, fl_stream_value_fn *fn, void *ctx)
{
    for (size_t i = 0; i < s->plans.n; i++) {
        struct mstate *m = &s->m[i];
        for (size_t k = 0; k < m->n_win; k++)
            emit_window(s, m, m->win[k], 0, fn, ctx);
    }
}


void
fl_stream_each_open_newest(struct fl_stream *s, fl_stream_value_fn *fn,
                           void *ctx)
{
    for (size_t i = 0; i < s->plans.n; i++) {
        struct mstate *m = &s->m[i];
        for (size_t k = m->n_win; k-- > 0;)
            emit_window(s, m, m->win[k], 0, fn, ctx);
    }
}


/* ------------------------------------------------------------------ */
/* Statistics                                                          */
/* ------------------------------------------------------------------ */

void
fl_stream_stats(const struct fl_stream *s, struct fl_stream_stats *out)
{
    memset(out, 0, sizeof *out);
    out->batches = s->batches;
    out->records = s->records;
    out->future_records = s->future;
    for (size_t i = 0; i < s->plans.n; i++) {
        const struct mstate *m = &s->m[i];
        uint64_t na = m->plan->n_aggs;
        out->late_records += m->late * na;
        out->dropped_records += m->dropped * na;
        out->untimed_records += m->untimed * na;
        out->open_groups += m->open_groups;
    }
    out->memory_bytes = s->mem;
    out->max_start = s->max_start;
    out->max_end = s->max_end;
    out->arrival_clock = s->arrival_clock;
    for (int basis = 0; basis < 2; basis++) {
        int64_t mx = basis == 0 ? s->max_start : s->max_end, wm = INT64_MIN;
        if (mx != INT64_MIN && mx >= INT64_MIN + s->opt.allowed_lateness)
            wm = mx - s->opt.allowed_lateness;
        if (basis == 0)
            out->watermark_start = wm;
        else
            out->watermark_end = wm;
    }
}


size_t
fl_stream_metric_stats(const struct fl_stream *s,
                       struct fl_stream_metric_stats *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < s->plans.n; i++) {
        const struct mstate *m = &s->m[i];
        for (size_t a = 0; a < m->plan->n_aggs; a++, k++) {
            if (k >= cap)
                continue;
            struct fl_stream_metric_stats *o = &out[k];
            o->metric = m->plan->aggs[a].metric;
            o->records = m->records;
            o->late_records = m->late;
            o->dropped_records = m->dropped;
            o->untimed_records = m->untimed;
            o->open_windows = m->n_win;
            o->open_groups = m->open_groups;
            o->clock = metric_clock(s, m);
        }
    }
    return k;
}
