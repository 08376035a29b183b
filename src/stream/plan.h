/* SPDX-License-Identifier: MIT
 *
 * plan.h -- a metric query compiled for incremental evaluation: the
 * contract between the metric-SQL compiler (sql.c) and the window engine
 * (engine.c).
 *
 * A metrics file holds statements such as
 *
 *   CREATE METRIC rejected_packets_by_protocol AS
 *     SELECT protocol, SUM(packets)
 *     FROM flows
 *     WHERE action = 'REJECT'
 *     GROUP BY protocol, TUMBLE(start, INTERVAL '15' MINUTE);
 *
 * (docs/metrics.md is the language reference). Each statement compiles to
 * one struct fl_metric_plan: the window (time column and length), the
 * grouping columns (the metric's dimensions), a predicate tree, and one or
 * more aggregates. Every column is a fields.h catalogue column, so the
 * engine reads it straight out of a struct fl_batch.
 *
 * Literals are already coerced to the column's type at compile time (a
 * string literal compared with an integer column has been converted, or
 * the statement was rejected), so the engine never converts per row.
 *
 * SQL three-valued logic is the engine's job: a comparison with a NULL
 * column value is UNKNOWN, NOT UNKNOWN is UNKNOWN, and WHERE keeps a row
 * only when the predicate is TRUE -- exactly as DuckDB evaluates the same
 * text, which the differential test checks.
 */
#ifndef FL_PLAN_H
#define FL_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "../core/fl_error.h"

/* Which time a record's window is chosen by. */
enum fl_time_basis {
    FL_TIME_START,         /* the flow's `start` (default) */
    FL_TIME_END,           /* the flow's `end` */
    FL_TIME_ARRIVAL        /* when flowlake accepted the record (AWS's ROWTIME) */
};

enum fl_agg_kind {
    FL_AGG_COUNT_STAR,     /* COUNT(*) */
    FL_AGG_COUNT,          /* COUNT(col): non-NULL values */
    FL_AGG_SUM,            /* SUM(col), integer columns */
    FL_AGG_MIN,            /* MIN(col), integer columns */
    FL_AGG_MAX,            /* MAX(col), integer columns */
    FL_AGG_AVG,            /* AVG(col), integer columns */
    FL_AGG_COUNT_DISTINCT  /* COUNT(DISTINCT col), any column */
};

struct fl_plan_agg {
    enum fl_agg_kind kind;
    int   column;          /* fl_field_id; -1 for COUNT(*) */
    char *metric;          /* the metric name this aggregate produces */
};

enum fl_pred_kind {
    FL_PRED_AND,           /* a AND b */
    FL_PRED_OR,            /* a OR b */
    FL_PRED_NOT,           /* NOT a */
    FL_PRED_CMP,           /* column <cmp> literal (lits[0]) */
    FL_PRED_CMP_COLUMNS,   /* column <cmp> column2 (same type) */
    FL_PRED_IN,            /* column IN (lits...); negate: NOT IN */
    FL_PRED_IS_NULL,       /* column IS NULL; negate: IS NOT NULL */
    FL_PRED_CIDR           /* cidr_contains('net/len', column) */
};

enum fl_cmp {
    FL_CMP_EQ, FL_CMP_NE, FL_CMP_LT, FL_CMP_LE, FL_CMP_GT, FL_CMP_GE
};

/* A literal of the column's type: i for INT32/INT64 columns (start and end
 * are epoch seconds), s/len for STRING columns. */
struct fl_plan_lit {
    int64_t     i;
    char       *s;
    size_t      len;
};

/* An IPv4 or IPv6 network for FL_PRED_CIDR (core/fl_cidr.h). */
struct fl_plan_cidr {
    int           family;      /* 4 or 6 */
    unsigned char addr[16];    /* network address, host bits zero */
    unsigned      prefix;      /* 0..32 or 0..128 */
};

struct fl_pred {
    enum fl_pred_kind   kind;
    struct fl_pred     *a, *b;      /* AND/OR: both; NOT: a */
    int                 column;     /* fl_field_id */
    int                 column2;    /* FL_PRED_CMP_COLUMNS */
    enum fl_cmp         cmp;
    int                 negate;     /* NOT IN, IS NOT NULL */
    struct fl_plan_lit *lits;       /* CMP: 1, IN: n_lits */
    size_t              n_lits;
    struct fl_plan_cidr cidr;
};

struct fl_metric_plan {
    char               *name;       /* CREATE METRIC <name> */
    char               *text;       /* the statement as written (identity:
                                     * a changed text discards saved state) */
    int                 line;       /* where it starts in its file (1-based) */
    enum fl_time_basis  time;
    int64_t             window;     /* seconds, >= 1 */
    size_t              n_dims;
    int                *dims;       /* fl_field_id per dimension, GROUP BY order */
    struct fl_pred     *where;      /* NULL: every row */
    size_t              n_aggs;
    struct fl_plan_agg *aggs;
    /* ORDER BY <aggregate> DESC LIMIT top_n: each window keeps its top_n
     * groups by aggs[top_agg] and adds the others into one group whose
     * dimensions all read FL_PLAN_OTHER (only COUNT and SUM aggregates,
     * whose sums are meaningful). 0: every group. */
    size_t              top_n;
    size_t              top_agg;
};

/* The dimension value of the group that holds a top-N metric's groups
 * beyond its LIMIT (as CloudWatch Contributor Insights' "Other"). */
#define FL_PLAN_OTHER "other"
/* Most groups a LIMIT may keep per window. */
#define FL_PLAN_MAX_TOP 10000

struct fl_metric_plans {
    size_t                 n;
    struct fl_metric_plan *plan;
};

/* Compiles the statements of a metrics file. origin names the file in
 * messages. Every statement is checked; on the first error returns
 * FL_EPARSE (syntax) or FL_ECONFIG (a construct the engine cannot run
 * incrementally, an unknown column, a type mismatch, a duplicate metric
 * name) with err = "ORIGIN:LINE:COL: message naming the construct", and
 * *out untouched. window_default / time_default apply to a statement
 * without TUMBLE/STEP. Returns 0 or an error; -ENOMEM. */
int  fl_plan_compile(const char *text, size_t len, const char *origin,
                     int64_t window_default, enum fl_time_basis time_default,
                     struct fl_metric_plans *out, struct fl_err *err);

/* Appends the plans of src to dst (takes them; src is left empty).
 * FL_ECONFIG with err when a metric name is already in dst. */
int  fl_plan_merge(struct fl_metric_plans *dst, struct fl_metric_plans *src,
                   struct fl_err *err);

void fl_plan_free(struct fl_metric_plans *plans);

/* "start", "end" or "arrival". */
const char *fl_time_basis_name(enum fl_time_basis t);

/* The built-in metrics file (static text, never freed): the AWS blog's two
 * aggregations, rejected_tcp_packets and rejected_packets_by_protocol
 * (fixed at 15 minutes on start, whatever the configured defaults), and
 * records_in (COUNT(*) per minute of arrival). Compile it with
 * fl_plan_compile like any other file. */
const char *fl_plan_builtin_text(void);

struct fl_cidr;

/* Copies a plan's network into the fl_cidr form that core/fl_cidr.h's
 * fl_cidr_contains() takes (the engine does this once per predicate). */
void fl_plan_cidr_get(const struct fl_plan_cidr *p, struct fl_cidr *out);

#endif /* FL_PLAN_H */
