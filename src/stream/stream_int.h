/* SPDX-License-Identifier: MIT
 *
 * stream_int.h -- declarations shared by the files of the stream engine
 * (engine.c, eval.c, agg.c, hll.c, snapshot.c); not part of its contract.
 *
 * Layout of the state, per metric plan (struct mstate):
 *   - its open windows, an array sorted by window start;
 *   - per window (struct window): its groups, a hash table over them (none
 *     when the plan has no dimensions: one group per window), and the
 *     window's interned dimension strings (an arena plus a hash set), so
 *     that finalising a window frees exactly its own memory: O(its groups);
 *   - per group (struct group): a header, then n_dims key words (an int
 *     value, or a pointer to an interned string), then one struct aggst
 *     per aggregate. Groups live in chunks that never move, so a pointer
 *     to a group stays valid while the window is open.
 */
#ifndef FL_STREAM_INT_H
#define FL_STREAM_INT_H

#include <stddef.h>
#include <stdint.h>

#include "stream.h"

/* Most dimensions a plan may have (a key's NULL flags are one word). */
#define FL_STREAM_MAX_DIMS 32

/* HyperLogLog precision: 2^12 registers of one byte. */
#define FL_HLL_P 12
#define FL_HLL_M (1u << FL_HLL_P)

/* ---- interned strings ---- */

/* A dimension string copied out of a batch into a window's arena. */
struct istr {
    uint64_t hash;          /* XXH3 of the bytes */
    uint32_t len;
    char     s[];           /* len bytes and a NUL */
};

/* ---- aggregate state ---- */

/* COUNT(DISTINCT): an exact set of 64-bit hashes, converted to HLL
 * registers once it holds more than the exact limit. */
struct dset {
    uint32_t  n;            /* exact: hashes held */
    uint32_t  cap;          /* exact: slots (power of two); 0 for HLL */
    uint64_t *slot;         /* exact: open addressing, 0 = empty */
    uint8_t  *reg;          /* HLL registers (FL_HLL_M), NULL while exact */
};

/* One aggregate's state. COUNT, COUNT(*): v = count. SUM, AVG: v = sum
 * (wrapping), n = non-NULL values. MIN, MAX: v = extreme, n = non-NULL
 * values. COUNT(DISTINCT): d. */
struct aggst {
    union {
        int64_t      v;
        struct dset *d;
    } u;
    uint64_t n;
};

/* ---- groups and windows ---- */

struct group {
    uint64_t hash;          /* of the dimension values */
    uint64_t records;       /* rows folded in; 0 = not (yet) counted */
    uint32_t nullmask;      /* bit i: dimension i is NULL */
    uint32_t pad_;
    /* uint64_t key[n_dims]; struct aggst st[n_aggs]; */
};

static inline uint64_t *
group_key(struct group *g)
{
    return (uint64_t *)(void *)(g + 1);
}

static inline struct aggst *
group_st(struct group *g, size_t n_dims)
{
    return (struct aggst *)(void *)(group_key(g) + n_dims);
}

struct window {
    int64_t        ws;          /* window start */
    uint64_t       n_groups;
    struct group  *single;      /* plans without dimensions */
    struct group **slot;        /* hash table, power of two, NULL = empty */
    size_t         cap;
    unsigned char **chunk;      /* group storage, chunk c holds
                                 * chunk_groups(c) groups */
    size_t         n_chunks, chunks_cap;
    size_t         in_last;     /* groups used in the last chunk */
    struct istr  **iset;        /* interned strings, power of two */
    size_t         icap, in;
    char         **arena;       /* string blocks */
    size_t         n_arena, arena_cap;
    size_t         arena_used, arena_size;   /* of the last block */
    size_t         arena_bytes;              /* all blocks */
};

/* One row's group key, filled from a batch row or a snapshot. */
struct rowkey {
    uint64_t    hash;
    uint32_t    nullmask;
    int64_t     ival[FL_STREAM_MAX_DIMS];
    const char *sp[FL_STREAM_MAX_DIMS];
    uint32_t    slen[FL_STREAM_MAX_DIMS];
    uint64_t    shash[FL_STREAM_MAX_DIMS];
};

/* A plan's runtime state. */
struct mstate {
    const struct fl_metric_plan *plan;
    size_t          stride;         /* bytes per group */
    int             dim_str[FL_STREAM_MAX_DIMS];  /* 1: text dimension */
    const char    **dim_names;
    struct window **win;            /* sorted by ws */
    size_t          n_win, win_cap;
    /* Windows already final, kept for opt.retain_final seconds past
     * their end for fl_stream_save_partials (the merge of several
     * instances' windows); older than every open one, sorted by ws. Their
     * groups are not in open_groups; their memory is in mem. */
    struct window **done;
    size_t          n_done, done_cap;
    uint64_t        records, late, dropped, untimed;
    uint64_t        open_groups;
    int             pred_depth;
};

struct fl_stream {
    struct fl_stream_options opt;
    struct fl_metric_plans   plans;
    struct mstate           *m;
    fl_stream_value_fn      *final_fn;
    void                    *final_ctx;
    uint64_t batches, records;
    uint64_t future;                /* rows whose time max_future ignored */
    int64_t  max_start, max_end, arrival_clock;
    uint64_t mem;                   /* bytes held by the state */
    uint64_t merged;                /* snapshots folded by fl_stream_merge */
    /* scratch, sized for the largest batch seen */
    size_t         scratch_rows;
    uint64_t      *masks;           /* predicate masks */
    size_t         n_masks;
    struct group **gidx;            /* group per selected row */
    /* text of integer dimension values while emitting */
    char           numbuf[FL_STREAM_MAX_DIMS][24];
    const char    *dimv[FL_STREAM_MAX_DIMS];
};

/* ---- engine.c, for snapshot.c ---- */

/* Frees every window of every metric (the retained final ones too) and
 * zeroes clocks and counters. */
void fl_stream_reset_state(struct fl_stream *s);
/* The window starting at ws, created when missing; NULL on -ENOMEM. */
struct window *fl_stream_window_get(struct fl_stream *s, struct mstate *m,
                                    int64_t ws);
/* Finds the group of key k in w, or creates it (zeroed state) when create
 * is set. *created tells which. NULL on -ENOMEM or when not found. */
struct group *fl_stream_group_find(struct fl_stream *s, struct mstate *m,
                                   struct window *w, const struct rowkey *k,
                                   int create, int *created);
/* Hash of a key whose ival/sp/slen/shash/nullmask are set. */
uint64_t fl_stream_key_hash(const struct mstate *m, const struct rowkey *k);

/* ---- eval.c ---- */

/* Nesting depth of a predicate tree (0 for NULL). */
int  fl_stream_pred_depth(const struct fl_pred *p);
/* Evaluates p over rows [0, b->n) into T (rows where p is TRUE) and F
 * (FALSE); scratch holds 2 * depth masks; each mask is nw words. Bits at
 * and beyond b->n are zero. */
void fl_stream_eval(const struct fl_pred *p, const struct fl_batch *b,
                    size_t nw, uint64_t *T, uint64_t *F, uint64_t *scratch);
/* ---- agg.c ---- */

/* Adds hash h to a distinct set (creating it); mem tracks bytes.
 * Returns 0 or -ENOMEM. */
int    fl_dset_add(struct dset **dp, uint64_t h, uint32_t exact_limit,
                   uint64_t *mem);
void   fl_dset_free(struct dset *d, uint64_t *mem);
double fl_dset_count(const struct dset *d);
/* Hash of a value for COUNT(DISTINCT): ints by their int64 value. */
uint64_t fl_dset_hash_int(int64_t v);
uint64_t fl_dset_hash_str(const char *p, size_t len);
/* Adds the states from[0..n_aggs) of another instance's part of a group
 * into into[] (from's distinct sets are taken: moved or freed). Returns 0
 * or -ENOMEM. */
int    fl_agg_merge(const struct fl_metric_plan *p, struct aggst *into,
                    struct aggst *from, uint32_t exact_limit, uint64_t *mem);
/* Value, has_value and exact of aggregate a over state st. */
void   fl_agg_value(const struct fl_plan_agg *a, const struct aggst *st,
                    double *value, int *has_value, int *exact);

/* ---- hll.c ---- */

void   fl_hll_add(uint8_t *reg, uint64_t h);
double fl_hll_estimate(const uint8_t *reg);

#endif /* FL_STREAM_INT_H */
