/* SPDX-License-Identifier: MIT
 *
 * agg.c -- aggregate values and the COUNT(DISTINCT) set.
 *
 * COUNT(DISTINCT x) keeps the 64-bit XXH3 hashes of the distinct values
 * (integers hashed by their int64 value, text by its bytes) in an
 * open-addressing set while there are at most distinct_exact_limit of
 * them: exact, but for hash collisions (about n^2 / 2^65). One value more
 * converts the set into HyperLogLog registers (hll.c) and the value is an
 * estimate from then on (exact = 0). The hash 0 marks an empty slot, so a
 * value whose hash is 0 is stored as 1.
 *
 * Values follow SQL: COUNT counts, SUM/MIN/MAX/AVG of no non-NULL value
 * are NULL (has_value = 0); AVG is (double)sum / (double)count, which is
 * what the differential test compares bit for bit against DuckDB.
 */
#include "../core/fl_config.h"

#include <stdint.h>
#include <string.h>

#include <xxhash.h>

#include "../core/fl_endian.h"
#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "stream_int.h"


uint64_t
fl_dset_hash_int(int64_t v)
{
    unsigned char b[8];
    /* Little-endian bytes whatever the host, so snapshots travel. */
    fl_put_le64(b, (uint64_t)v);
    return XXH3_64bits(b, sizeof b);
}


uint64_t
fl_dset_hash_str(const char *p, size_t len)
{
    return XXH3_64bits(p, len);
}


static void
set_put(uint64_t *slot, uint32_t cap, uint64_t h)
{
    uint32_t i = (uint32_t)h & (cap - 1);
    while (slot[i] != 0 && slot[i] != h)
        i = (i + 1) & (cap - 1);
    slot[i] = h;
}


/* Turns an exact set into HLL registers. */
static int
to_hll(struct dset *d, uint64_t *mem)
{
    uint8_t *reg = fl_calloc(FL_HLL_M, 1);
    if (reg == NULL)
        return FL_ENOMEM;
    for (uint32_t i = 0; i < d->cap; i++)
        if (d->slot[i] != 0)
            fl_hll_add(reg, d->slot[i]);
    fl_free(d->slot);
    *mem -= (uint64_t)d->cap * sizeof(uint64_t);
    *mem += FL_HLL_M;
    d->slot = NULL;
    d->cap = 0;
    d->reg = reg;
    return 0;
}


int
fl_dset_add(struct dset **dp, uint64_t h, uint32_t exact_limit, uint64_t *mem)
{
    struct dset *d = *dp;
    if (d == NULL) {
        d = fl_calloc(1, sizeof *d);
        if (d == NULL)
            return FL_ENOMEM;
        *mem += sizeof *d;
        *dp = d;
    }
    if (d->reg != NULL) {
        fl_hll_add(d->reg, h);
        return 0;
    }
    if (h == 0)
        h = 1;
    if (d->cap != 0) {
        uint32_t i = (uint32_t)h & (d->cap - 1);
        while (d->slot[i] != 0) {
            if (d->slot[i] == h)
                return 0;
            i = (i + 1) & (d->cap - 1);
        }
    }
    if (d->n + 1 > exact_limit) {
        int rc = to_hll(d, mem);
        if (rc != 0)
            return rc;
        fl_hll_add(d->reg, h);
        return 0;
    }
    /* Load factor at most 1/2. */
    if ((uint64_t)(d->n + 1) * 2 > d->cap) {
        uint32_t ncap = d->cap ? d->cap * 2 : 8;
        uint64_t *ns = fl_calloc(ncap, sizeof *ns);
        if (ns == NULL)
            return FL_ENOMEM;
        for (uint32_t i = 0; i < d->cap; i++)
            if (d->slot[i] != 0)
                set_put(ns, ncap, d->slot[i]);
        fl_free(d->slot);
        *mem += (uint64_t)(ncap - d->cap) * sizeof(uint64_t);
        d->slot = ns;
        d->cap = ncap;
    }
    set_put(d->slot, d->cap, h);
    d->n++;
    return 0;
}


void
fl_dset_free(struct dset *d, uint64_t *mem)
{
    if (d == NULL)
        return;
    *mem -= sizeof *d + (uint64_t)d->cap * sizeof(uint64_t)
            + (d->reg != NULL ? FL_HLL_M : 0);
    fl_free(d->slot);
    fl_free(d->reg);
    fl_free(d);
}


double
fl_dset_count(const struct dset *d)
{
    if (d == NULL)
        return 0.0;
    if (d->reg != NULL)
        return fl_hll_estimate(d->reg);
    return (double)d->n;
}


void
fl_agg_value(const struct fl_plan_agg *a, const struct aggst *st,
             double *value, int *has_value, int *exact)
{
    *exact = 1;
    *has_value = 1;
    switch (a->kind) {
    case FL_AGG_COUNT_STAR:
    case FL_AGG_COUNT:
        *value = (double)st->u.v;
        break;
    case FL_AGG_SUM:
    case FL_AGG_MIN:
    case FL_AGG_MAX:
        *has_value = st->n > 0;
        *value = st->n > 0 ? (double)st->u.v : 0.0;
        break;
    case FL_AGG_AVG:
        *has_value = st->n > 0;
        *value = st->n > 0 ? (double)st->u.v / (double)st->n : 0.0;
        break;
    case FL_AGG_COUNT_DISTINCT:
        *value = fl_dset_count(st->u.d);
        *exact = st->u.d == NULL || st->u.d->reg == NULL;
        break;
    }
}


/* Moves the distinct set from into *into: the union of two exact sets
 * (past exact_limit it becomes registers, as one set would have), or the
 * register-wise maximum once either is registers. from is consumed. */
static int
dset_merge(struct dset **into, struct dset *from, uint32_t exact_limit,
           uint64_t *mem)
{
    if (from == NULL)
        return 0;
    if (*into == NULL) {
        *into = from;
        return 0;
    }
    struct dset *d = *into;
    if (from->reg != NULL && d->reg == NULL) {
        /* into's hashes go into from's registers, which become into. */
        for (uint32_t i = 0; i < d->cap; i++)
            if (d->slot[i] != 0)
                fl_hll_add(from->reg, d->slot[i]);
        fl_dset_free(d, mem);
        *into = from;
        return 0;
    }
    if (from->reg != NULL) {
        for (uint32_t i = 0; i < FL_HLL_M; i++)
            if (from->reg[i] > d->reg[i])
                d->reg[i] = from->reg[i];
        fl_dset_free(from, mem);
        return 0;
    }
    int rc = 0;
    for (uint32_t i = 0; i < from->cap && rc == 0; i++)
        if (from->slot[i] != 0)
            rc = fl_dset_add(into, from->slot[i], exact_limit, mem);
    fl_dset_free(from, mem);
    return rc;
}


int
fl_agg_merge(const struct fl_metric_plan *p, struct aggst *into,
             struct aggst *from, uint32_t exact_limit, uint64_t *mem)
{
    int rc = 0;
    for (size_t a = 0; a < p->n_aggs; a++) {
        struct aggst *x = &into[a], *y = &from[a];
        switch (p->aggs[a].kind) {
        case FL_AGG_COUNT_STAR:
        case FL_AGG_COUNT:
            x->u.v = (int64_t)((uint64_t)x->u.v + (uint64_t)y->u.v);
            break;
        case FL_AGG_SUM:
        case FL_AGG_AVG:
            /* Wrapping, as one instance's sum wraps. */
            x->u.v = (int64_t)((uint64_t)x->u.v + (uint64_t)y->u.v);
            x->n += y->n;
            break;
        case FL_AGG_MIN:
        case FL_AGG_MAX:
            if (y->n > 0 && (x->n == 0
                             || (p->aggs[a].kind == FL_AGG_MIN
                                 ? y->u.v < x->u.v : y->u.v > x->u.v)))
                x->u.v = y->u.v;
            x->n += y->n;
            break;
        case FL_AGG_COUNT_DISTINCT: {
            int e = dset_merge(&x->u.d, y->u.d, exact_limit, mem);
            y->u.d = NULL;
            if (e != 0)
                rc = e;
            break;
        }
        }
    }
    return rc;
}
