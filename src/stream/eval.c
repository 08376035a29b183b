/* SPDX-License-Identifier: MIT
 *
 * eval.c -- WHERE predicates evaluated column-at-a-time over a batch.
 *
 * Each node yields two bitmasks over the batch's rows: T (rows where it is
 * TRUE) and F (FALSE); a row in neither is UNKNOWN (SQL NULL). That is SQL
 * three-valued logic exactly as DuckDB applies it:
 *   comparison, IN, cidr_contains with a NULL column value: UNKNOWN;
 *   a AND b: T = Ta & Tb, F = Fa | Fb;
 *   a OR b:  T = Ta | Tb, F = Fa & Fb;
 *   NOT a:   T = Fa, F = Ta (NOT UNKNOWN stays UNKNOWN);
 *   IS NULL: never UNKNOWN.
 * WHERE keeps the T rows. Literals are never NULL (the compiler coerces
 * them to the column type), so `x IN (...)` and `x NOT IN (...)` are
 * UNKNOWN exactly when x is NULL.
 *
 * Strings compare as DuckDB compares VARCHAR: bytewise (memcmp over the
 * common prefix, then the shorter first). Equality is length + memcmp.
 *
 * CIDR containment parses each row's address text (core/fl_cidr.h, the
 * same code as the SQL function cidr_contains); text that is not an
 * address of the network's family is FALSE.
 */
#include "../core/fl_config.h"

#include <stdint.h>
#include <string.h>

#include "../core/fl_cidr.h"
#include "stream_int.h"


int
fl_stream_pred_depth(const struct fl_pred *p)
{
    if (p == NULL)
        return 0;
    int a = fl_stream_pred_depth(p->a), b = fl_stream_pred_depth(p->b);
    return 1 + (a > b ? a : b);
}


/* Equality of n bytes: short strings (actions, statuses, addresses)
 * compare inline -- a call to memcmp per row costs more than the
 * comparison itself. */
static inline int
eq_bytes(const char *a, const char *b, size_t n)
{
    if (n > 16)
        return memcmp(a, b, n) == 0;
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}


static int64_t
int_at(const struct fl_column *c, size_t r)
{
    return c->type == FL_TYPE_INT32 ? (int64_t)c->v.i32[r] : c->v.i64[r];
}


static int
cmp_ok(enum fl_cmp op, int c)
{
    switch (op) {
    case FL_CMP_EQ: return c == 0;
    case FL_CMP_NE: return c != 0;
    case FL_CMP_LT: return c < 0;
    case FL_CMP_LE: return c <= 0;
    case FL_CMP_GT: return c > 0;
    case FL_CMP_GE: return c >= 0;
    }
    return 0;
}


static int
str_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c < 0 ? -1 : 1;
    return alen < blen ? -1 : alen > blen;
}


/* Valid bits of column c for rows [0, n), cut at n. */
static void
valid_words(const struct fl_column *c, size_t n, size_t nw, uint64_t *out)
{
    for (size_t w = 0; w < nw; w++)
        out[w] = c->valid[w];
    if (n % 64)
        out[nw - 1] &= ((uint64_t)1 << (n % 64)) - 1;
}


/* column <op> integer literal: the hot case, one tight loop per operator
 * so the compiler can vectorise it. */
static void
cmp_int_lit(const struct fl_column *c, enum fl_cmp op, int64_t lit,
            size_t n, uint64_t *res)
{
    size_t nw = (n + 63) / 64;
#define CMP_LOOP(T, ARR, EXPR) \
    for (size_t w = 0; w < nw; w++) { \
        size_t base = w * 64, lim = n - base < 64 ? n - base : 64; \
        const T *v = ARR + base; \
        uint64_t bits = 0; \
        for (size_t j = 0; j < lim; j++) \
            bits |= (uint64_t)(EXPR) << j; \
        res[w] = bits; \
    }
#define CMP_OPS(T, ARR) \
    switch (op) { \
    case FL_CMP_EQ: CMP_LOOP(T, ARR, v[j] == lit) break; \
    case FL_CMP_NE: CMP_LOOP(T, ARR, v[j] != lit) break; \
    case FL_CMP_LT: CMP_LOOP(T, ARR, v[j] < lit) break; \
    case FL_CMP_LE: CMP_LOOP(T, ARR, v[j] <= lit) break; \
    case FL_CMP_GT: CMP_LOOP(T, ARR, v[j] > lit) break; \
    case FL_CMP_GE: CMP_LOOP(T, ARR, v[j] >= lit) break; \
    }
    if (c->type == FL_TYPE_INT32)
        CMP_OPS(int32_t, c->v.i32)
    else
        CMP_OPS(int64_t, c->v.i64)
#undef CMP_OPS
#undef CMP_LOOP
}


/* Result bits (before masking with validity) of a leaf. Rows whose
 * column is NULL may get any bit: the caller masks them. */
static void
leaf(const struct fl_pred *p, const struct fl_batch *b, size_t nw,
     uint64_t *res, uint64_t *valid)
{
    const struct fl_column *c = &b->col[p->column];
    size_t n = b->n;

    valid_words(c, n, nw, valid);
    memset(res, 0, nw * sizeof *res);
    switch (p->kind) {
    case FL_PRED_IS_NULL:
        for (size_t w = 0; w < nw; w++)
            res[w] = ~valid[w];
        if (n % 64)
            res[nw - 1] &= ((uint64_t)1 << (n % 64)) - 1;
        /* IS NULL is never UNKNOWN. */
        for (size_t w = 0; w < nw; w++)
            valid[w] = ~(uint64_t)0;
        if (n % 64)
            valid[nw - 1] = ((uint64_t)1 << (n % 64)) - 1;
        break;
    case FL_PRED_CMP:
        if (c->type != FL_TYPE_STRING) {
            cmp_int_lit(c, p->cmp, p->lits[0].i, n, res);
        } else if (p->cmp == FL_CMP_EQ || p->cmp == FL_CMP_NE) {
            const char *ls = p->lits[0].s;
            uint32_t ll = (uint32_t)p->lits[0].len;
            for (size_t w = 0; w < nw; w++) {
                uint64_t v = valid[w], bits = 0;
                while (v) {
                    unsigned j = (unsigned)__builtin_ctzll(v);
                    const struct fl_str *s = &c->v.str[w * 64 + j];
                    v &= v - 1;
                    if (s->len == ll && (ll == 0 || s->p[0] == ls[0])
                        && eq_bytes(s->p, ls, ll))
                        bits |= (uint64_t)1 << j;
                }
                res[w] = p->cmp == FL_CMP_EQ ? bits : ~bits;
            }
        } else {
            for (size_t w = 0; w < nw; w++) {
                uint64_t v = valid[w];
                while (v) {
                    unsigned j = (unsigned)__builtin_ctzll(v);
                    const struct fl_str *s = &c->v.str[w * 64 + j];
                    v &= v - 1;
                    if (cmp_ok(p->cmp, str_cmp(s->p, s->len, p->lits[0].s,
                                               p->lits[0].len)))
                        res[w] |= (uint64_t)1 << j;
                }
            }
        }
        break;
    case FL_PRED_CMP_COLUMNS: {
        const struct fl_column *c2 = &b->col[p->column2];
        for (size_t w = 0; w < nw; w++) {
            valid[w] &= c2->valid[w];
            uint64_t v = valid[w];
            while (v) {
                unsigned j = (unsigned)__builtin_ctzll(v);
                size_t r = w * 64 + j;
                int cr;
                v &= v - 1;
                if (c->type == FL_TYPE_STRING) {
                    cr = str_cmp(c->v.str[r].p, c->v.str[r].len,
                                 c2->v.str[r].p, c2->v.str[r].len);
                } else {
                    int64_t x = int_at(c, r), y = int_at(c2, r);
                    cr = x < y ? -1 : x > y;
                }
                if (cmp_ok(p->cmp, cr))
                    res[w] |= (uint64_t)1 << j;
            }
        }
        break;
    }
    case FL_PRED_IN:
        for (size_t w = 0; w < nw; w++) {
            uint64_t v = valid[w];
            while (v) {
                unsigned j = (unsigned)__builtin_ctzll(v);
                size_t r = w * 64 + j;
                int hit = 0;
                v &= v - 1;
                if (c->type == FL_TYPE_STRING) {
                    const struct fl_str *s = &c->v.str[r];
                    for (size_t k = 0; k < p->n_lits && !hit; k++)
                        hit = s->len == p->lits[k].len
                              && eq_bytes(s->p, p->lits[k].s, s->len);
                } else {
                    int64_t x = int_at(c, r);
                    for (size_t k = 0; k < p->n_lits && !hit; k++)
                        hit = x == p->lits[k].i;
                }
                if (hit)
                    res[w] |= (uint64_t)1 << j;
            }
        }
        break;
    case FL_PRED_CIDR: {
        if (c->type != FL_TYPE_STRING)
            break;
        struct fl_cidr net;
        fl_plan_cidr_get(&p->cidr, &net);
        for (size_t w = 0; w < nw; w++) {
            uint64_t v = valid[w];
            while (v) {
                unsigned j = (unsigned)__builtin_ctzll(v);
                const struct fl_str *s = &c->v.str[w * 64 + j];
                v &= v - 1;
                if (fl_cidr_contains(&net, s->p, s->len))
                    res[w] |= (uint64_t)1 << j;
            }
        }
        break;
    }
    default:
        break;
    }
}


void
fl_stream_eval(const struct fl_pred *p, const struct fl_batch *b,
               size_t nw, uint64_t *T, uint64_t *F, uint64_t *scratch)
{
    switch (p->kind) {
    case FL_PRED_AND:
    case FL_PRED_OR: {
        uint64_t *T2 = scratch, *F2 = scratch + nw;
        fl_stream_eval(p->a, b, nw, T, F, scratch + 2 * nw);
        fl_stream_eval(p->b, b, nw, T2, F2, scratch + 2 * nw);
        if (p->kind == FL_PRED_AND) {
            for (size_t w = 0; w < nw; w++) {
                T[w] &= T2[w];
                F[w] |= F2[w];
            }
        } else {
            for (size_t w = 0; w < nw; w++) {
                T[w] |= T2[w];
                F[w] &= F2[w];
            }
        }
        return;
    }
    case FL_PRED_NOT:
        /* Evaluate into swapped outputs: NOT swaps TRUE and FALSE. */
        fl_stream_eval(p->a, b, nw, F, T, scratch);
        return;
    default: {
        /* T receives the raw result, F the validity, then both are
         * masked: TRUE = valid & res, FALSE = valid & ~res. */
        leaf(p, b, nw, T, F);
        for (size_t w = 0; w < nw; w++) {
            uint64_t res = T[w], v = F[w];
            T[w] = v & res;
            F[w] = v & ~res;
        }
        if (p->negate && (p->kind == FL_PRED_IN || p->kind == FL_PRED_IS_NULL)) {
            for (size_t w = 0; w < nw; w++) {
                uint64_t t = T[w];
                T[w] = F[w];
                F[w] = t;
            }
        }
        return;
    }
    }
}
