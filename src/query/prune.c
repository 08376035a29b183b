/* SPDX-License-Identifier: MIT
 *
 * prune.c -- which hour folders of the archive a query can need.
 *
 * Before a run, the query's text is parsed by DuckDB's parser alone
 * (json_serialize_sql, the helper sandbox.c uses) and the WHERE of the
 * one SELECT that reads vpc_flow_logs.flow_logs is read for conjuncts
 * that compare start, end, date, year, month, day or hour with a
 * constant (=, <, <=, >, >=, BETWEEN, IN). Those give a range of hours
 * since the epoch plus conditions on the folder names; the view is then
 * built over the matching hour folders only (nothing outside them is
 * listed, stat'ed or opened). The filter stays in the query, so the rows
 * returned are those of the unpruned view.
 *
 * Anything not understood prunes nothing for that conjunct, and the
 * whole query reads every file when the view is referenced more than
 * once, inside a join, under a CTE of the same name, from a script of
 * several statements, or with a sample: correctness first. A query whose
 * text never names flow_logs and calls no table function reads no file
 * at all.
 *
 * `end` bounds `start` through the archive's records: a flow record
 * covers at most the aggregation interval (10 minutes at most, see
 * https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs.html), so
 * end >= X keeps the hours from X - FL_PRUNE_END_MARGIN_S on, and
 * end <= X keeps the hours up to X + the same margin (also safe for a
 * record whose end precedes its start by less than the margin).
 *
 * A comparison of year/month/day/hour with a string holding '/' (the
 * 'yyyy/MM/dd' partition-projection habit) is refused: those columns
 * hold 'YYYY', 'MM', 'DD', 'HH' and the comparison would silently match
 * nothing or everything.
 */
#include "../core/fl_config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "../core/fl_error.h"
#include "../core/fl_fs.h"
#include "../core/fl_mem.h"
#include "query_int.h"

#define HOUR_US  INT64_C(3600000000)
#define DAY_US   (24 * HOUR_US)

enum { COL_YEAR, COL_MONTH, COL_DAY, COL_HOUR, COL_START, COL_END,
       COL_DATE, COL_NONE };
enum { OP_EQ, OP_LT, OP_LE, OP_GT, OP_GE, OP_IN };

static const char *const col_names[] = {
    "year", "month", "day", "hour", "start", "end", "date"
};
static const size_t part_width[] = { 4, 2, 2, 2 };

struct walk {
    const struct fl_prune_eval *ev;
    struct fl_prune *out;
    char **out_err;
    int refused;
    int n_refs;          /* BASE_TABLE flow_logs references */
    int other_table;     /* a BASE_TABLE that is neither a CTE nor it */
    int cte_flow_logs;   /* a CTE named flow_logs */
    json_t *select;      /* the SELECT_NODE reading flow_logs */
};


static int64_t
floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}


static const char *
jstr(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}


static int
is_str(json_t *o, const char *key, const char *want)
{
    const char *s = jstr(o, key);
    return s != NULL && strcmp(s, want) == 0;
}


static void
narrow(struct fl_prune *p, int64_t lo, int64_t hi)
{
    if (lo > p->lo)
        p->lo = lo;
    if (hi < p->hi)
        p->hi = hi;
}


/* ---- the tree walk ------------------------------------------------- */

static int
is_flow_logs(json_t *t)
{
    const char *name = jstr(t, "table_name");
    const char *schema = jstr(t, "schema_name");
    const char *cat = jstr(t, "catalog_name");
    return name != NULL && strcasecmp(name, "flow_logs") == 0
           && (schema == NULL || *schema == '\0'
               || strcasecmp(schema, "vpc_flow_logs") == 0)
           && (cat == NULL || *cat == '\0');
}


static int
is_cte_name(json_t *root_ctes, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(root_ctes, i, v) {
        if (json_is_string(v) && strcasecmp(json_string_value(v), name) == 0)
            return 1;
    }
    return 0;
}


/* Collects the names of all CTEs anywhere in the tree into ctes. */
static void
collect_ctes(json_t *node, json_t *ctes)
{
    if (json_is_object(node)) {
        const char *key;
        json_t *v;
        json_t *map = json_object_get(json_object_get(node, "cte_map"), "map");
        size_t i;
        json_t *e;
        json_array_foreach(map, i, e) {
            json_t *k = json_object_get(e, "key");
            if (json_is_string(k))
                json_array_append(ctes, k);
        }
        json_object_foreach(node, key, v) {
            collect_ctes(v, ctes);
        }
    } else if (json_is_array(node)) {
        size_t i;
        json_t *v;
        json_array_foreach(node, i, v) {
            collect_ctes(v, ctes);
        }
    }
}


/* The column a COLUMN_REF names when it can only be the view's (alias:
 * the FROM's alias), else COL_NONE. */
static int
column_of(json_t *e, const char *alias)
{
    json_t *names;
    size_t n;
    const char *last;

    if (!is_str(e, "class", "COLUMN_REF"))
        return COL_NONE;
    names = json_object_get(e, "column_names");
    n = json_array_size(names);
    if (n < 1 || n > 3)
        return COL_NONE;
    if (n >= 2) {
        const char *t = json_string_value(json_array_get(names, n - 2));
        if (t == NULL || !(strcasecmp(t, alias) == 0
                           || (*alias == '\0'
                               && strcasecmp(t, "flow_logs") == 0)))
            return COL_NONE;
        if (n == 3) {
            const char *s = json_string_value(json_array_get(names, 0));
            if (s == NULL || strcasecmp(s, "vpc_flow_logs") != 0
                || *alias != '\0')
                return COL_NONE;
        }
    }
    last = json_string_value(json_array_get(names, n - 1));
    if (last == NULL)
        return COL_NONE;
    for (int c = 0; c < COL_NONE; c++)
        if (strcasecmp(last, col_names[c]) == 0)
            return c;
    return COL_NONE;
}


/* The string of a non-NULL VARCHAR constant, or NULL. */
static const char *
const_string(json_t *e)
{
    json_t *v = json_object_get(e, "value");
    if (!is_str(e, "class", "CONSTANT") || json_is_true(json_object_get(v,
                                                              "is_null")))
        return NULL;
    if (!is_str(json_object_get(v, "type"), "id", "VARCHAR"))
        return NULL;
    return jstr(v, "value");
}


/* Whether s is exactly `width` decimal digits. */
static int
digits(const char *s, size_t width)
{
    size_t n = strlen(s);
    if (n != width)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}


static int
refuse(struct walk *w, int col, const char *s)
{
    char msg[512];
    snprintf(msg, sizeof msg,
             "%s is compared with '%.60s': the partition columns hold "
             "zero-padded numbers without '/' (year 'YYYY', month 'MM', "
             "day 'DD', hour 'HH'); for a day written 'yyyy/MM/dd' "
             "filter on the date column instead, e.g. "
             "date >= DATE '2026-11-01' rather than day >= '2026/11/01'",
             col_names[col], s);
    fl_query_set_err(w->out_err, msg);
    w->refused = 1;
    return FL_EPARSE;
}


/* Walks the whole tree: refuses the '/' habit anywhere, counts the
 * references to the view and finds the SELECT that reads it. */
static void
walk_tree(struct walk *w, json_t *node, json_t *ctes)
{
    if (w->refused)
        return;
    if (json_is_object(node)) {
        const char *cls = jstr(node, "class");
        const char *type = jstr(node, "type");
        const char *key;
        json_t *v;

        if (cls != NULL && (strcmp(cls, "COMPARISON") == 0
                            || strcmp(cls, "BETWEEN") == 0
                            || (type != NULL
                                && (strcmp(type, "COMPARE_IN") == 0
                                    || strcmp(type, "COMPARE_NOT_IN")
                                       == 0)))) {
            /* Any column named like a partition column, any alias: the
             * habit is refused wherever it appears. */
            json_t *ops[64];
            size_t n = 0;
            json_t *ch = json_object_get(node, "children");
            size_t i;
            json_t *c;
            ops[n++] = json_object_get(node, "left");
            ops[n++] = json_object_get(node, "right");
            ops[n++] = json_object_get(node, "input");
            ops[n++] = json_object_get(node, "lower");
            ops[n++] = json_object_get(node, "upper");
            json_array_foreach(ch, i, c) {
                if (n < sizeof ops / sizeof ops[0])
                    ops[n++] = c;
            }
            int col = COL_NONE;
            for (i = 0; i < n && col == COL_NONE; i++) {
                json_t *names = json_object_get(ops[i], "column_names");
                const char *last = json_string_value(
                    json_array_get(names, json_array_size(names) - 1));
                if (is_str(ops[i], "class", "COLUMN_REF") && last != NULL)
                    for (int k = COL_YEAR; k <= COL_HOUR; k++)
                        if (strcasecmp(last, col_names[k]) == 0)
                            col = k;
            }
            for (i = 0; i < n && col != COL_NONE; i++) {
                const char *s = const_string(ops[i]);
                if (s != NULL && strchr(s, '/') != NULL) {
                    refuse(w, col, s);
                    return;
                }
            }
        }
        if (type != NULL && strcmp(type, "BASE_TABLE") == 0) {
            const char *name = jstr(node, "table_name");
            const char *schema = jstr(node, "schema_name");
            int plain = schema == NULL || *schema == '\0';
            if (is_flow_logs(node)) {
                w->n_refs++;
                if (plain && is_cte_name(ctes, "flow_logs"))
                    w->cte_flow_logs = 1;
            } else if (!(plain && name != NULL && is_cte_name(ctes, name))) {
                w->other_table = 1;
            }
        }
        if (type != NULL && strcmp(type, "SELECT_NODE") == 0) {
            json_t *from = json_object_get(node, "from_table");
            if (is_str(from, "type", "BASE_TABLE") && is_flow_logs(from))
                w->select = node;
        }
        json_object_foreach(node, key, v) {
            walk_tree(w, v, ctes);
        }
    } else if (json_is_array(node)) {
        size_t i;
        json_t *v;
        json_array_foreach(node, i, v) {
            walk_tree(w, v, ctes);
        }
    }
}


/* ---- constants ----------------------------------------------------- */

/* Scalar functions a constant may call: the clock, interval builders and
 * timestamp constructors; nothing that reads data or has an effect. */
static const char *const const_functions[] = {
    "now", "current_timestamp", "get_current_timestamp",
    "transaction_timestamp", "current_date", "today", "to_timestamp",
    "make_timestamp", "make_date", "date_trunc", "to_years", "to_months",
    "to_weeks", "to_days", "to_hours", "to_minutes", "to_seconds",
    "to_milliseconds", "to_microseconds", "trunc",
};

/* Cast targets a constant may use (DuckDB's type ids in the parse). */
static const char *const const_casts[][2] = {
    { "TIMESTAMP", "TIMESTAMP" }, { "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ" },
    { "TIMESTAMP_TZ", "TIMESTAMPTZ" }, { "DATE", "DATE" },
    { "INTERVAL", "INTERVAL" }, { "INTEGER", "INTEGER" },
    { "BIGINT", "BIGINT" }, { "VARCHAR", "VARCHAR" }, { "DOUBLE", "DOUBLE" },
};


/* Writes e as SQL text into b when it is a constant expression built
 * only of literals, allowed casts, allowed functions and + / -; returns
 * 0, or -1 when it is anything else. */
static int
render(json_t *e, struct fl_buf *b, int depth)
{
    const char *cls = jstr(e, "class");
    if (cls == NULL || depth > 16)
        return -1;
    if (strcmp(cls, "CONSTANT") == 0) {
        json_t *v = json_object_get(e, "value");
        const char *id = jstr(json_object_get(v, "type"), "id");
        json_t *val = json_object_get(v, "value");
        if (id == NULL || json_is_true(json_object_get(v, "is_null")))
            return -1;
        if (strcmp(id, "VARCHAR") == 0 && json_is_string(val)) {
            fl_query_put_sql_str(b, json_string_value(val));
            return 0;
        }
        if ((strcmp(id, "INTEGER") == 0 || strcmp(id, "BIGINT") == 0
             || strcmp(id, "SMALLINT") == 0 || strcmp(id, "TINYINT") == 0
             || strcmp(id, "HUGEINT") == 0 || strcmp(id, "UBIGINT") == 0)
            && json_is_number(val)) {
            double d = json_number_value(val);
            if (d != d || d > 9.2e18 || d < -9.2e18)
                return -1;
            fl_buf_addf(b, "%lld", (long long)d);
            return 0;
        }
        return -1;
    }
    if (strcmp(cls, "COLUMN_REF") == 0) {
        /* current_date and current_timestamp parse as column names. */
        json_t *names = json_object_get(e, "column_names");
        const char *n = json_string_value(json_array_get(names, 0));
        if (json_array_size(names) != 1 || n == NULL
            || (strcasecmp(n, "current_date") != 0
                && strcasecmp(n, "current_timestamp") != 0))
            return -1;
        fl_buf_adds(b, strcasecmp(n, "current_date") == 0
                             ? "current_date" : "current_timestamp");
        return 0;
    }
    if (strcmp(cls, "CAST") == 0) {
        const char *id = jstr(json_object_get(e, "cast_type"), "id");
        if (id == NULL || json_is_true(json_object_get(e, "try_cast")))
            return -1;
        for (size_t i = 0; i < sizeof const_casts / sizeof const_casts[0];
             i++) {
            if (strcmp(id, const_casts[i][0]) == 0) {
                fl_buf_adds(b, "CAST((");
                if (render(json_object_get(e, "child"), b, depth + 1) < 0)
                    return -1;
                fl_buf_addf(b, ") AS %s)", const_casts[i][1]);
                return 0;
            }
        }
        return -1;
    }
    if (strcmp(cls, "FUNCTION") == 0) {
        const char *name = jstr(e, "function_name");
        const char *schema = jstr(e, "schema");
        json_t *args = json_object_get(e, "children");
        size_t n = json_array_size(args);
        if (name == NULL || (schema != NULL && *schema != '\0')
            || json_is_true(json_object_get(e, "distinct"))
            || !json_is_null(json_object_get(e, "filter"))
            || json_object_get(e, "filter") == NULL)
            return -1;
        if ((strcmp(name, "+") == 0 || strcmp(name, "-") == 0) && n == 2) {
            fl_buf_adds(b, "((");
            if (render(json_array_get(args, 0), b, depth + 1) < 0)
                return -1;
            fl_buf_addf(b, ") %s (", name);
            if (render(json_array_get(args, 1), b, depth + 1) < 0)
                return -1;
            fl_buf_adds(b, "))");
            return 0;
        }
        for (size_t i = 0; i < sizeof const_functions
                               / sizeof const_functions[0]; i++) {
            if (strcasecmp(name, const_functions[i]) != 0)
                continue;
            fl_buf_addf(b, "%s(", const_functions[i]);
            for (size_t k = 0; k < n; k++) {
                if (k > 0)
                    fl_buf_adds(b, ", ");
                if (render(json_array_get(args, k), b, depth + 1) < 0)
                    return -1;
            }
            fl_buf_addc(b, ')');
            return 0;
        }
        return -1;
    }
    return -1;
}


/* e as microseconds since the epoch (CAST AS TIMESTAMP), through the
 * evaluator; -1 when it is not a constant or does not evaluate. */
static int
eval_us(struct walk *w, json_t *e, int64_t *out)
{
    struct fl_buf b = { 0 };
    int rc;
    if (w->ev == NULL || w->ev->eval == NULL)
        return -1;
    fl_buf_adds(&b, "SELECT epoch_us(CAST((");
    rc = render(e, &b, 0);
    fl_buf_adds(&b, ") AS TIMESTAMP))");
    if (rc == 0 && !b.err)
        rc = w->ev->eval(w->ev->ctx, b.p, out);
    else
        rc = -1;
    fl_buf_free(&b);
    return rc < 0 ? -1 : 0;
}


/* ---- conjuncts ----------------------------------------------------- */

static int
flip(int op)
{
    switch (op) {
    case OP_LT: return OP_GT;
    case OP_LE: return OP_GE;
    case OP_GT: return OP_LT;
    case OP_GE: return OP_LE;
    default:    return op;
    }
}


static int
op_of(const char *type)
{
    static const char *const names[] = {
        "COMPARE_EQUAL", "COMPARE_LESSTHAN", "COMPARE_LESSTHANOREQUALTO",
        "COMPARE_GREATERTHAN", "COMPARE_GREATERTHANOREQUALTO",
    };
    static const int ops[] = { OP_EQ, OP_LT, OP_LE, OP_GT, OP_GE };
    for (size_t i = 0; type != NULL && i < 5; i++)
        if (strcmp(type, names[i]) == 0)
            return ops[i];
    return -1;
}


/* Applies `col op e` (e a constant) to the range; not understood: no
 * change, which keeps more files, never fewer. */
static void
apply(struct walk *w, int col, int op, json_t *e)
{
    struct fl_prune *p = w->out;
    int64_t t;

    if (col <= COL_HOUR) {
        const char *s = const_string(e);
        struct fl_prune_cond *c;
        if (s == NULL || !digits(s, part_width[col])
            || p->n >= FL_PRUNE_MAX_CONDS)
            return;
        c = &p->conds[p->n++];
        c->col = col;
        c->op = op;
        c->n_vals = 1;
        memcpy(c->vals[0], s, part_width[col] + 1);
        return;
    }
    if (eval_us(w, e, &t) < 0)
        return;
    if (col == COL_START) {
        int64_t h = floor_div(t, HOUR_US);
        /* start < T: the last microsecond it may hold is T - 1. */
        int64_t hl = t > INT64_MIN ? floor_div(t - 1, HOUR_US) : h;
        narrow(p, op == OP_EQ || op == OP_GT || op == OP_GE ? h : INT64_MIN,
               op == OP_EQ || op == OP_LE ? h : op == OP_LT ? hl
                                                           : INT64_MAX);
    } else if (col == COL_END) {
        int64_t m = (int64_t)FL_PRUNE_END_MARGIN_S * 1000000;
        if (t < INT64_MIN / 2 || t > INT64_MAX / 2)
            return;
        narrow(p, op == OP_EQ || op == OP_GT || op == OP_GE
                      ? floor_div(t - m, HOUR_US) : INT64_MIN,
               op == OP_EQ || op == OP_LT || op == OP_LE
                      ? floor_div(t + m, HOUR_US) : INT64_MAX);
    } else {
        /* date D (midnight) against T: D >= T iff day >= ceil(T/day). */
        int64_t fl = floor_div(t, DAY_US);
        int64_t ce = fl + (t - fl * DAY_US != 0);
        int64_t lo = INT64_MIN, hi = INT64_MAX;
        if (op == OP_GE || op == OP_EQ)
            lo = ce * 24;
        if (op == OP_GT)
            lo = (fl + 1) * 24;
        if (op == OP_LE || op == OP_EQ)
            hi = fl * 24 + 23;
        if (op == OP_LT)
            hi = (ce - 1) * 24 + 23;
        narrow(p, lo, hi);
    }
}


static void
conjunct(struct walk *w, json_t *e, const char *alias, int depth)
{
    const char *cls = jstr(e, "class");
    const char *type = jstr(e, "type");
    int col, op;

    if (cls == NULL || type == NULL || depth > 64)
        return;
    if (strcmp(type, "CONJUNCTION_AND") == 0) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(e, "children"), i, c) {
            conjunct(w, c, alias, depth + 1);
        }
        return;
    }
    if (strcmp(cls, "COMPARISON") == 0 && (op = op_of(type)) >= 0) {
        json_t *l = json_object_get(e, "left");
        json_t *r = json_object_get(e, "right");
        if ((col = column_of(l, alias)) != COL_NONE)
            apply(w, col, op, r);
        else if ((col = column_of(r, alias)) != COL_NONE)
            apply(w, col, flip(op), l);
        return;
    }
    if (strcmp(type, "COMPARE_BETWEEN") == 0
        && (col = column_of(json_object_get(e, "input"), alias))
           != COL_NONE) {
        apply(w, col, OP_GE, json_object_get(e, "lower"));
        apply(w, col, OP_LE, json_object_get(e, "upper"));
        return;
    }
    if (strcmp(type, "COMPARE_IN") == 0) {
        json_t *ch = json_object_get(e, "children");
        size_t n = json_array_size(ch);
        struct fl_prune_cond c;
        col = column_of(json_array_get(ch, 0), alias);
        if (col > COL_HOUR || n < 2 || n - 1 > FL_PRUNE_MAX_IN
            || w->out->n >= FL_PRUNE_MAX_CONDS)
            return;
        memset(&c, 0, sizeof c);
        c.col = col;
        c.op = OP_IN;
        for (size_t i = 1; i < n; i++) {
            const char *s = const_string(json_array_get(ch, i));
            if (s == NULL || !digits(s, part_width[col]))
                return;
            memcpy(c.vals[c.n_vals++], s, part_width[col] + 1);
        }
        w->out->conds[w->out->n++] = c;
    }
}


int
fl_prune_analyze(json_t *root, const struct fl_prune_eval *ev,
                 struct fl_prune *out, char **out_err)
{
    struct walk w;
    json_t *stmts = json_object_get(root, "statements");
    json_t *ctes;

    memset(out, 0, sizeof *out);
    out->mode = FL_PRUNE_ALL;
    out->lo = INT64_MIN;
    out->hi = INT64_MAX;
    memset(&w, 0, sizeof w);
    w.ev = ev;
    w.out = out;
    w.out_err = out_err;
    if ((ctes = json_array()) == NULL)
        return FL_ENOMEM;
    collect_ctes(stmts, ctes);
    walk_tree(&w, stmts, ctes);
    json_decref(ctes);
    if (w.refused)
        return FL_EPARSE;
    if (json_array_size(stmts) != 1 || w.n_refs != 1 || w.other_table
        || w.cte_flow_logs || w.select == NULL)
        return FL_OK;
    json_t *from = json_object_get(w.select, "from_table");
    json_t *sample = json_object_get(from, "sample");
    const char *alias = jstr(from, "alias");
    if (sample != NULL && !json_is_null(sample))
        return FL_OK;
    out->mode = FL_PRUNE_RANGE;
    json_t *where = json_object_get(w.select, "where_clause");
    if (where != NULL && !json_is_null(where))
        conjunct(&w, where, alias != NULL ? alias : "", 0);
    if (out->lo == INT64_MIN && out->hi == INT64_MAX && out->n == 0)
        out->mode = FL_PRUNE_ALL;
    return FL_OK;
}


/* ---- folders ------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil, http://howardhinnant.github.io/date_algorithms.html). */
static int64_t
days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}


int
fl_prune_keep(const struct fl_prune *p, int depth, const char *const v[4])
{
    int64_t f[4], lo, hi;

    if (p->mode == FL_PRUNE_ALL)
        return 1;
    if (p->mode == FL_PRUNE_NONE)
        return 0;
    for (size_t i = 0; i < p->n; i++) {
        const struct fl_prune_cond *c = &p->conds[i];
        int ok = 0;
        if (c->col > depth)
            continue;
        if (!digits(v[c->col], part_width[c->col]))
            continue;           /* an odd folder name: keep it */
        for (int k = 0; k < c->n_vals && !ok; k++) {
            int r = strcmp(v[c->col], c->vals[k]);
            ok = c->op == OP_EQ || c->op == OP_IN ? r == 0
               : c->op == OP_LT ? r < 0 : c->op == OP_LE ? r <= 0
               : c->op == OP_GT ? r > 0 : r >= 0;
        }
        if (!ok)
            return 0;
    }
    for (int i = 0; i <= depth; i++)
        if (!digits(v[i], part_width[i]))
            return 1;
    for (int i = 0; i <= depth; i++)
        f[i] = strtol(v[i], NULL, 10);
    if (depth == 0) {
        lo = days_from_civil(f[0], 1, 1) * 24;
        hi = days_from_civil(f[0] + 1, 1, 1) * 24 - 1;
    } else if (depth == 1) {
        lo = days_from_civil(f[0], f[1], 1) * 24;
        hi = days_from_civil(f[0] + (f[1] == 12), f[1] % 12 + 1, 1) * 24 - 1;
    } else if (depth == 2) {
        lo = days_from_civil(f[0], f[1], f[2]) * 24;
        hi = lo + 23;
    } else {
        lo = hi = days_from_civil(f[0], f[1], f[2]) * 24 + f[3];
    }
    return hi >= p->lo && lo <= p->hi;
}


int
fl_prune_keep_hours(const struct fl_prune *p, int64_t lo, int64_t hi)
{
    if (p->mode != FL_PRUNE_RANGE)
        return p->mode == FL_PRUNE_ALL;
    if (lo < p->lo)
        lo = p->lo;
    if (hi > p->hi)
        hi = p->hi;
    if (lo > hi)
        return 0;
    if (p->n == 0 || hi - lo > 62 * 24)
        return 1;
    for (int64_t h = lo; h <= hi; h++) {
        /* The folder names of hour h, as publish.c writes them. */
        time_t t = (time_t)(h * 3600);
        struct tm tm;
        char v[4][16];
        const char *vp[4] = { v[0], v[1], v[2], v[3] };
        if (gmtime_r(&t, &tm) == NULL)
            return 1;
        snprintf(v[0], sizeof v[0], "%04d", tm.tm_year + 1900);
        snprintf(v[1], sizeof v[1], "%02d", tm.tm_mon + 1);
        snprintf(v[2], sizeof v[2], "%02d", tm.tm_mday);
        snprintf(v[3], sizeof v[3], "%02d", tm.tm_hour);
        if (fl_prune_keep(p, 3, vp))
            return 1;
    }
    return 0;
}


int
fl_prune_keep_path(const struct fl_prune *p, const char *path)
{
    static const char *const keys[] = { "/year=", "/month=", "/day=",
                                        "/hour=" };
    char v[4][8];
    const char *vp[4];
    const char *s = path;

    if (p->mode != FL_PRUNE_RANGE)
        return p->mode == FL_PRUNE_ALL;
    for (int i = 0; i < 4; i++) {
        const char *k = strstr(s, keys[i]);
        size_t n;
        if (k == NULL)
            return 1;
        k += strlen(keys[i]);
        n = strcspn(k, "/");
        if (n >= sizeof v[i])
            return 1;
        memcpy(v[i], k, n);
        v[i][n] = '\0';
        vp[i] = v[i];
        s = k + n;
    }
    return fl_prune_keep(p, 3, vp);
}


/* The walk of fl_query_partition_files: the files found so far, and how. */
struct files_walk {
    const struct fl_prune *p;           /* NULL: every folder */
    int                    no_links;
    const char            *vals[4];
    char                 **v;
    size_t                 n, cap;
};


static int
list_level(struct files_walk *w, const char *dir, int depth)
{
    static const char *const keys[] = { "year=", "month=", "day=", "hour=" };
    DIR *d = opendir(dir);
    struct dirent *e;
    int rc = FL_OK;

    if (d == NULL)
        return depth > 0 && (errno == ENOENT || errno == ENOTDIR) ? FL_OK
                                                                  : -errno;
    for (;;) {
        char *path;
        errno = 0;
        if ((e = readdir(d)) == NULL) {
            if (errno != 0)
                rc = -errno;
            break;
        }
        if (depth < 4) {
            size_t kl = strlen(keys[depth]);
            if (strncmp(e->d_name, keys[depth], kl) != 0)
                continue;
            w->vals[depth] = e->d_name + kl;
            if (w->p != NULL && !fl_prune_keep(w->p, depth, w->vals))
                continue;
        } else {
            size_t l = strlen(e->d_name);
            if (l < 8 || strcmp(e->d_name + l - 8, ".parquet") != 0)
                continue;
        }
        if ((path = fl_fs_join(dir, e->d_name)) == NULL) {
            rc = FL_ENOMEM;
            break;
        }
        struct stat st;
        int kind = depth < 4 ? S_IFDIR : S_IFREG;
        if (w->no_links && lstat(path, &st) < 0) {
            rc = errno == ENOENT ? FL_OK : -errno;   /* vanished: skipped */
            fl_free(path);
        } else if (w->no_links && (st.st_mode & S_IFMT) != (mode_t)kind) {
            fl_free(path);                 /* a symlink, or not a folder */
        } else if (depth < 4) {
            rc = list_level(w, path, depth + 1);
            fl_free(path);
        } else {
            char **nv = fl_grow(w->v, &w->cap, w->n + 1, sizeof *nv, 64);
            if (nv == NULL) {
                fl_free(path);
                rc = FL_ENOMEM;
                break;
            }
            w->v = nv;
            w->v[w->n++] = path;
        }
        if (rc < 0)
            break;
    }
    closedir(d);
    return rc;
}


static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}


int
fl_query_partition_files(const char *archive_dir, const struct fl_prune *p,
                         int no_links, char ***out, size_t *out_n)
{
    struct files_walk w = { .p = p, .no_links = no_links,
                      .vals = { "", "", "", "" } };
    int rc = list_level(&w, archive_dir, 0);

    *out = NULL;
    *out_n = 0;
    if (rc < 0) {
        for (size_t i = 0; i < w.n; i++)
            fl_free(w.v[i]);
        fl_free(w.v);
        return rc;
    }
    if (w.n > 1)
        qsort(w.v, w.n, sizeof *w.v, cmp_str);
    *out = w.v;
    *out_n = w.n;
    return FL_OK;
}


int
fl_prune_list(const char *archive_dir, const struct fl_prune *p,
              char ***out, size_t *out_n)
{
    *out = NULL;
    *out_n = 0;
    if (p->mode == FL_PRUNE_NONE)
        return FL_OK;
    int rc = fl_query_partition_files(archive_dir, p, 0, out, out_n);
    return rc == -ENOENT ? FL_OK : rc;
}


/* ---- on a session -------------------------------------------------- */

/* Whether the tree holds a table function call anywhere. */
static int
has_table_function(json_t *node)
{
    if (json_is_object(node)) {
        const char *key;
        json_t *v;
        if (is_str(node, "type", "TABLE_FUNCTION"))
            return 1;
        json_object_foreach(node, key, v) {
            if (has_table_function(v))
                return 1;
        }
    } else if (json_is_array(node)) {
        size_t i;
        json_t *v;
        json_array_foreach(node, i, v) {
            if (has_table_function(v))
                return 1;
        }
    }
    return 0;
}


static int
session_eval(void *ctx, const char *sql, int64_t *out)
{
    struct fl_query *q = ctx;
    duckdb_result res;
    int rc = -1;

    memset(&res, 0, sizeof res);
    if (duckdb_query(q->con, sql, &res) != DuckDBError
        && duckdb_row_count(&res) == 1 && duckdb_column_count(&res) == 1
        && !duckdb_value_is_null(&res, 0, 0)) {
        *out = duckdb_value_int64(&res, 0, 0);
        rc = 0;
    }
    duckdb_destroy_result(&res);
    return rc;
}


int
fl_query_prune(struct fl_query *q, const char *sql, struct fl_prune *out,
               char **out_err)
{
    struct fl_prune_eval ev = { session_eval, q };
    json_t *root = NULL;
    const char *rest = NULL;
    size_t pos = 0, start, len, n = 0;
    int rc;

    memset(out, 0, sizeof *out);
    out->mode = FL_PRUNE_ALL;
    out->lo = INT64_MIN;
    out->hi = INT64_MAX;

    /* A script that never names the view reads no file. */
    int named = 0;
    for (const char *s = sql; *s != '\0' && !named; s++)
        named = strncasecmp(s, "flow_logs", 9) == 0;
    while (fl_query_sql_next(sql, &pos, &start, &len))
        n++;
    if (!named) {
        /* Unless a table function could reach the view by a name built
         * at run time (query_table('flow_' || 'logs'), query(...)): then
         * every file, as for anything the analysis cannot see through. */
        if (n == 0)
            return FL_OK;
        rc = fl_query_serialize(q, sql, &root, NULL);
        if (rc == FL_ENOMEM)
            return rc;
        if (rc == FL_OK && !has_table_function(root))
            out->mode = FL_PRUNE_NONE;
        json_decref(root);
        return FL_OK;
    }
    if (n != 1)
        return FL_OK;
    /* EXPLAIN [ANALYZE] q prunes as q does. */
    char *text = NULL;
    if (fl_query_sql_explain(sql, &rest) != 0)
        sql = rest;
    pos = 0;
    if (!fl_query_sql_next(sql, &pos, &start, &len))
        return FL_OK;
    if ((text = fl_strndup(sql + start, len)) == NULL)
        return FL_ENOMEM;
    rc = fl_query_serialize(q, text, &root, NULL);
    fl_free(text);
    if (rc == FL_ENOMEM)
        return rc;
    if (rc < 0)
        return FL_OK;       /* DuckDB will say what is wrong */
    rc = fl_prune_analyze(root, &ev, out, out_err);
    json_decref(root);
    return rc;
}
