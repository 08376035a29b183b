/* SPDX-License-Identifier: MIT
 *
 * sql_compile.c -- the metric-SQL compiler proper, stage 3 (sql.c): a
 * parsed statement (sql_parse.c) to a struct fl_metric_plan (plan.h).
 *
 * Checks the syntax tree against the rules of an incremental metric (one
 * stream, dimensions = GROUP BY columns, aggregates over plain columns, a
 * WHERE of column-vs-literal tests), resolves columns against
 * parse/fields.h's catalogue and coerces every literal to its column's
 * type, so the engine never converts per row. Plans are fl_malloc'ed
 * (plan.c frees them); the tree is only read. Errors go through sql.c's
 * fl_sql_fail().
 */
#include "../core/fl_config.h"

#include <stdint.h>
#include <string.h>

#include "../core/fl_cidr.h"
#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "../parse/fields.h"
#include "plan.h"
#include "plan_int.h"
#include "sql_int.h"


static int
is_agg_name(const char *n)
{
    return strcmp(n, "count") == 0 || strcmp(n, "sum") == 0
           || strcmp(n, "min") == 0 || strcmp(n, "max") == 0
           || strcmp(n, "avg") == 0;
}


static int
is_window_name(const char *n)
{
    return strcmp(n, "tumble") == 0 || strcmp(n, "step") == 0;
}


static int
is_known_func(const char *n)
{
    return is_agg_name(n) || is_window_name(n)
           || strcmp(n, "tumble_start") == 0 || strcmp(n, "tumble_end") == 0
           || strcmp(n, "cidr_contains") == 0;
}


/* The first function call in n (pre-order) that is unknown, or an
 * aggregate when aggregates are not allowed there. */
static const struct node *
find_bad_func(const struct node *n, int allow_agg)
{
    const struct node *r;
    if (n == NULL)
        return NULL;
    if (n->kind == N_FUNC
        && (!is_known_func(n->name) || (!allow_agg && is_agg_name(n->name))))
        return n;
    if ((r = find_bad_func(n->a, allow_agg)) != NULL
        || (r = find_bad_func(n->b, allow_agg)) != NULL
        || (r = find_bad_func(n->c, allow_agg)) != NULL)
        return r;
    for (size_t i = 0; i < n->n_args; i++)
        if ((r = find_bad_func(n->args[i], allow_agg)) != NULL)
            return r;
    return NULL;
}


static int
unknown_func(struct ctx *c, const struct node *f)
{
    return fl_sql_fail_at(c, FL_ECONFIG, f, "unknown function %s(): a metric "
                          "knows COUNT, SUM, MIN, MAX, AVG, TUMBLE, STEP and "
                          "cidr_contains", f->name);
}


/* Arithmetic, or an AWS field name written bare (log-status parses as
 * log - status). */
static int
reject_arith(struct ctx *c, const struct node *n)
{
    char name[64];
    size_t k = 0;
    for (size_t i = n->off; i < n->end && k + 1 < sizeof name; i++)
        if (c->text[i] != ' ' && c->text[i] != '\t' && c->text[i] != '\n'
            && c->text[i] != '\r')
            name[k++] = c->text[i];
    name[k] = '\0';
    int id = fl_field_lookup(name, k);
    if (id >= 0 && strchr(name, '-') != NULL)
        return fl_sql_fail_at(c, FL_ECONFIG, n, "unknown column %s: the SQL "
                              "name of the AWS field %s is %s", name, name,
                              fl_field_get(id)->sql_name);
    return fl_sql_fail_at(c, FL_ECONFIG, n, "arithmetic is not supported in a "
                          "metric: %s", fl_sql_quote(c, n));
}


/* The best message for a construct that is not allowed where it stands
 * (`where` names the place: "WHERE", "GROUP BY", "SELECT"). */
static int
reject(struct ctx *c, const struct node *n, const char *where)
{
    const struct node *f = find_bad_func(n, 0);
    if (f != NULL) {
        if (!is_known_func(f->name))
            return unknown_func(c, f);
        return fl_sql_fail_at(c, FL_ECONFIG, f, "aggregates are not allowed "
                              "in %s: %s", where, fl_sql_quote(c, f));
    }
    switch (n->kind) {
    case N_ARITH:
    case N_NEG:
        return reject_arith(c, n);
    case N_FUNC:
        if (is_window_name(n->name))
            return fl_sql_fail_at(c, FL_ECONFIG, n, "%s belongs in GROUP BY "
                                  "(and may be repeated in SELECT), not in %s",
                                  fl_sql_quote(c, n), where);
        if (strcmp(n->name, "cidr_contains") == 0)
            return fl_sql_fail_at(c, FL_ECONFIG, n, "cidr_contains() is a "
                                  "condition: use it in WHERE, not in %s",
                                  where);
        return fl_sql_fail_at(c, FL_ECONFIG, n, "%s() is not allowed in %s: "
                              "%s", n->name, where, fl_sql_quote(c, n));
    case N_INTERVAL:
        return fl_sql_fail_at(c, FL_ECONFIG, n, "%s is only allowed as the "
                              "size of a TUMBLE or STEP window",
                              fl_sql_quote(c, n));
    case N_STAR:
        return fl_sql_fail_at(c, FL_ECONFIG, n, "* is only allowed in "
                              "COUNT(*)");
    default:
        return fl_sql_fail_at(c, FL_ECONFIG, n, "%s is not allowed in %s",
                              fl_sql_quote(c, n), where);
    }
}


/* Checks a column's qualifier against the FROM table and its alias. */
static int
check_qual(struct ctx *c, const struct stmt *s, const struct node *n)
{
    const char *last;
    if (n->qual == NULL)
        return 0;
    last = strrchr(s->table, '.');
    last = last ? last + 1 : s->table;
    if ((s->alias != NULL && strcmp(n->qual, s->alias) == 0)
        || strcmp(n->qual, s->table) == 0 || strcmp(n->qual, last) == 0
        || strcmp(n->qual, "flows") == 0)
        return 0;
    return fl_sql_fail_at(c, FL_ECONFIG, n, "unknown table %s in %s: a metric "
                          "reads one stream, %s%s%s", n->qual,
                          fl_sql_quote(c, n), s->table, s->alias ? " AS " : "",
                          s->alias ? s->alias : "");
}


/* A column reference that is not a flow field but a window name. */
static int
is_window_col(const struct node *n)
{
    return n->kind == N_COL && (strcmp(n->name, "window_start") == 0
                                || strcmp(n->name, "window_end") == 0);
}


/* Resolves a column reference to its fl_field_id. */
static int
resolve(struct ctx *c, const struct stmt *s, const struct node *n, int *id)
{
    int rc = check_qual(c, s, n), f;
    if (rc != 0)
        return rc;
    f = fl_field_lookup(n->name, strlen(n->name));
    if (f >= 0 && strcmp(fl_field_get(f)->sql_name, n->name) == 0) {
        *id = f;
        return 0;
    }
    if (f >= 0)
        return fl_sql_fail_at(c, FL_ECONFIG, n, "unknown column \"%s\": the "
                              "SQL name of the AWS field %s is %s", n->name,
                              n->name, fl_field_get(f)->sql_name);
    if (strcmp(n->name, "arrival") == 0 || strcmp(n->name, "rowtime") == 0)
        return fl_sql_fail_at(c, FL_ECONFIG, n, "%s is only a window time: "
                              "GROUP BY TUMBLE(%s, INTERVAL ...)", n->name,
                              n->name);
    return fl_sql_fail_at(c, FL_ECONFIG, n, "unknown column %s", n->name);
}


static int
is_int_type(int id)
{
    return fl_field_get(id)->type != FL_TYPE_STRING;
}


static const char *
col_name(int id)
{
    return fl_field_get(id)->sql_name;
}


/* TUMBLE(t, INTERVAL ...) / STEP(t BY INTERVAL ...) / TUMBLE_START(...). */
static int
compile_window(struct ctx *c, const struct stmt *s, const struct node *n,
               enum fl_time_basis *time, int64_t *len)
{
    const char *fn = n->name;
    const struct node *tc, *iv;
    int id, rc;
    if (n->star || n->distinct || n->n_args != 2) {
        if (strcmp(fn, "tumble") == 0 && n->n_args == 3)
            return fl_sql_fail_at(c, FL_ECONFIG, n, "TUMBLE with an offset (a "
                                  "third argument) is not supported: windows "
                                  "are aligned to the epoch");
        return fl_sql_fail_at(c, FL_ECONFIG, n, "%s: expected %s",
                              fl_sql_quote(c, n),
                              n->step || strcmp(fn, "step") == 0
                              ? "STEP(<time> BY INTERVAL '<n>' <unit>)"
                              : "TUMBLE(<time>, INTERVAL '<n>' <unit>)");
    }
    tc = n->args[0];
    iv = n->args[1];
    if (tc->kind != N_COL)
        return fl_sql_fail_at(c, FL_ECONFIG, tc, "the time of a window must "
                              "be start, end, arrival or ROWTIME, not %s",
                              fl_sql_quote(c, tc));
    if ((rc = check_qual(c, s, tc)) != 0)
        return rc;
    if (strcmp(tc->name, "arrival") == 0 || strcmp(tc->name, "rowtime") == 0) {
        *time = FL_TIME_ARRIVAL;
    } else {
        if ((rc = resolve(c, s, tc, &id)) != 0)
            return rc;
        if (id != FL_F_START && id != FL_F_END)
            return fl_sql_fail_at(c, FL_ECONFIG, tc, "the time of a window "
                                  "must be start, end, arrival or ROWTIME, "
                                  "not %s", col_name(id));
        *time = id == FL_F_START ? FL_TIME_START : FL_TIME_END;
    }
    if (iv->kind != N_INTERVAL)
        return fl_sql_fail_at(c, FL_ECONFIG, iv, "the size of a window must "
                              "be an INTERVAL ('15' MINUTE), not %s",
                              fl_sql_quote(c, iv));
    if (iv->i < 1)
        return fl_sql_fail_at(c, FL_ECONFIG, iv, "window %s is too short: at "
                              "least 1 second", fl_sql_quote(c, iv));
    if (iv->i > MAX_WINDOW)
        return fl_sql_fail_at(c, FL_ECONFIG, iv, "window %s is too long: at "
                              "most 7 days", fl_sql_quote(c, iv));
    *len = iv->i;
    return 0;
}


/* A literal coerced to column id's type. */
static int
coerce(struct ctx *c, int id, const struct node *v, struct fl_plan_lit *out)
{
    const struct fl_field_def *f = fl_field_get(id);
    memset(out, 0, sizeof *out);
    if (v->kind == N_NULL)
        return fl_sql_fail_at(c, FL_ECONFIG, v, "a comparison with NULL is "
                              "never true: write %s IS NULL or %s IS NOT NULL",
                              f->sql_name, f->sql_name);
    if (f->type == FL_TYPE_STRING) {
        if (v->kind != N_STR)
            return fl_sql_fail_at(c, FL_ECONFIG, v, "cannot compare %s "
                                  "(VARCHAR) with %s: quote the value ('...')",
                                  f->sql_name, fl_sql_quote(c, v));
        if ((out->s = fl_strndup(v->s, v->slen)) == NULL)
            return fl_sql_fail_at(c, FL_ENOMEM, v, FL_OOM_TEXT);
        out->len = v->slen;
        return 0;
    }
    int is_time = id == FL_F_START || id == FL_F_END;
    switch (v->kind) {
    case N_INT:
        if (v->big)
            return fl_sql_fail_at(c, FL_ECONFIG, v, "integer %s is out of "
                                  "range (64-bit)", fl_sql_quote(c, v));
        out->i = v->i;
        return 0;
    case N_TS:
        if (!is_time)
            break;
        out->i = v->i;
        return 0;
    case N_STR: {
        /* DuckDB casts the string to the column's type: strict here,
         * an optional sign and digits, within the type's range. */
        const char *p = v->s, *e = v->s + v->slen;
        int neg = 0;
        uint64_t mag = 0, lim;
        if (is_time && parse_timestamp(v->s, v->slen, &out->i) == 0)
            return 0;
        if (p < e && (*p == '-' || *p == '+'))
            neg = *p++ == '-';
        if (p == e)
            break;
        lim = f->type == FL_TYPE_INT32 ? (uint64_t)INT32_MAX + neg
                                       : (uint64_t)INT64_MAX + neg;
        for (; p < e; p++) {
            if (!is_digit(*p) || mag > (lim - (uint64_t)(*p - '0')) / 10)
                goto bad;
            mag = mag * 10 + (uint64_t)(*p - '0');
        }
        if (neg)
            out->i = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN
                                                   : -(int64_t)mag;
        else
            out->i = (int64_t)mag;
        return 0;
    }
    default:
        break;
    }
bad:
    return fl_sql_fail_at(c, FL_ECONFIG, v, "cannot compare %s (%s) with %s",
                          f->sql_name, fl_type_sql(f->type),
                          fl_sql_quote(c, v));
}


static int
is_lit(const struct node *n)
{
    return n->kind == N_INT || n->kind == N_STR || n->kind == N_TS
           || n->kind == N_NULL || n->kind == N_BOOL;
}


static struct fl_pred *
new_pred(struct ctx *c, enum fl_pred_kind kind, const struct node *at)
{
    struct fl_pred *p = fl_calloc(1, sizeof *p);
    if (p == NULL)
        fl_sql_fail_at(c, FL_ENOMEM, at, FL_OOM_TEXT);
    else
        p->kind = kind;
    return p;
}


static enum fl_cmp
flip(enum fl_cmp op)
{
    switch (op) {
    case FL_CMP_LT: return FL_CMP_GT;
    case FL_CMP_LE: return FL_CMP_GE;
    case FL_CMP_GT: return FL_CMP_LT;
    case FL_CMP_GE: return FL_CMP_LE;
    default: return op;
    }
}


/* x op y where one side must be a column. */
static int
compile_cmp(struct ctx *c, const struct stmt *s, const struct node *whole,
            const struct node *x, enum fl_cmp op, const struct node *y,
            struct fl_pred **out)
{
    struct fl_pred *p = NULL;
    int rc, id, id2;
    if (x->kind != N_COL && y->kind == N_COL) {
        const struct node *t = x;
        x = y;
        y = t;
        op = flip(op);
    }
    if (x->kind != N_COL) {
        if (is_lit(x) && is_lit(y))
            return fl_sql_fail_at(c, FL_ECONFIG, whole, "a comparison needs a "
                                  "column: %s", fl_sql_quote(c, whole));
        return reject(c, is_lit(x) ? y : x, "WHERE");
    }
    if (is_window_col(x))
        return fl_sql_fail_at(c, FL_ECONFIG, x, "%s can only be selected, not "
                              "used in WHERE", x->name);
    if ((rc = resolve(c, s, x, &id)) != 0)
        return rc;
    if (y->kind == N_COL) {
        if ((rc = resolve(c, s, y, &id2)) != 0)
            return rc;
        if (is_int_type(id) != is_int_type(id2))
            return fl_sql_fail_at(c, FL_ECONFIG, whole, "cannot compare %s "
                                  "(%s) with %s (%s)", col_name(id),
                                  fl_type_sql(fl_field_get(id)->type),
                                  col_name(id2),
                                  fl_type_sql(fl_field_get(id2)->type));
        if ((p = new_pred(c, FL_PRED_CMP_COLUMNS, whole)) == NULL)
            return c->rc;
        p->column = id;
        p->column2 = id2;
        p->cmp = op;
        *out = p;
        return 0;
    }
    if (!is_lit(y))
        return reject(c, y, "WHERE");
    if ((p = new_pred(c, FL_PRED_CMP, whole)) == NULL)
        return c->rc;
    p->column = id;
    p->cmp = op;
    if ((p->lits = fl_calloc(1, sizeof *p->lits)) == NULL) {
        fl_plan_pred_free(p);
        return fl_sql_fail_at(c, FL_ENOMEM, whole, FL_OOM_TEXT);
    }
    p->n_lits = 1;
    if ((rc = coerce(c, id, y, &p->lits[0])) != 0) {
        fl_plan_pred_free(p);
        return rc;
    }
    *out = p;
    return 0;
}


/* The column operand of IN / IS NULL / cidr_contains. */
static int
operand_column(struct ctx *c, const struct stmt *s, const struct node *n,
               const char *what, int *id)
{
    if (n->kind == N_COL && !is_window_col(n))
        return resolve(c, s, n, id);
    if (n->kind == N_COL || is_lit(n))
        return fl_sql_fail_at(c, FL_ECONFIG, n, "%s needs a column, not %s",
                              what, fl_sql_quote(c, n));
    return reject(c, n, "WHERE");
}


static int compile_pred(struct ctx *c, const struct stmt *s,
                        const struct node *n, struct fl_pred **out);


/* a AND b, a OR b, NOT a. */
static int
compile_logic(struct ctx *c, const struct stmt *s, const struct node *n,
              struct fl_pred **out)
{
    struct fl_pred *p, *a = NULL, *b = NULL;
    int rc;
    if ((rc = compile_pred(c, s, n->a, &a)) != 0)
        return rc;
    if (n->kind != N_NOT && (rc = compile_pred(c, s, n->b, &b)) != 0) {
        fl_plan_pred_free(a);
        return rc;
    }
    p = new_pred(c, n->kind == N_AND ? FL_PRED_AND
                    : n->kind == N_OR ? FL_PRED_OR : FL_PRED_NOT, n);
    if (p == NULL) {
        fl_plan_pred_free(a);
        fl_plan_pred_free(b);
        return c->rc;
    }
    p->a = a;
    p->b = b;
    *out = p;
    return 0;
}


/* x [NOT] BETWEEN lo AND hi: x >= lo AND x <= hi, under a NOT. */
static int
compile_between(struct ctx *c, const struct stmt *s, const struct node *n,
                struct fl_pred **out)
{
    struct fl_pred *p, *a = NULL, *b = NULL;
    int rc;
    if ((rc = compile_cmp(c, s, n, n->a, FL_CMP_GE, n->b, &a)) != 0)
        return rc;
    if ((rc = compile_cmp(c, s, n, n->a, FL_CMP_LE, n->c, &b)) != 0) {
        fl_plan_pred_free(a);
        return rc;
    }
    if ((p = new_pred(c, FL_PRED_AND, n)) == NULL) {
        fl_plan_pred_free(a);
        fl_plan_pred_free(b);
        return c->rc;
    }
    p->a = a;
    p->b = b;
    if (n->negate) {
        struct fl_pred *np = new_pred(c, FL_PRED_NOT, n);
        if (np == NULL) {
            fl_plan_pred_free(p);
            return c->rc;
        }
        np->a = p;
        p = np;
    }
    *out = p;
    return 0;
}


/* column [NOT] IN (literals), each coerced to the column's type. */
static int
compile_in(struct ctx *c, const struct stmt *s, const struct node *n,
           struct fl_pred **out)
{
    struct fl_pred *p;
    int rc = 0, id;
    if ((rc = operand_column(c, s, n->a, "IN", &id)) != 0)
        return rc;
    if ((p = new_pred(c, FL_PRED_IN, n)) == NULL)
        return c->rc;
    p->column = id;
    p->negate = n->negate;
    if ((p->lits = fl_calloc(n->n_args, sizeof *p->lits)) == NULL) {
        rc = fl_sql_fail_at(c, FL_ENOMEM, n, FL_OOM_TEXT);
        fl_plan_pred_free(p);
        return rc;
    }
    for (size_t i = 0; i < n->n_args; i++) {
        const struct node *v = n->args[i];
        if (v->kind == N_NULL) {
            rc = fl_sql_fail_at(c, FL_ECONFIG, v, "NULL in an IN list is not "
                                "supported: write %s IS NULL OR %s IN (...)",
                                col_name(id), col_name(id));
            break;
        }
        if (!is_lit(v)) {
            rc = v->kind == N_COL
                 ? fl_sql_fail_at(c, FL_ECONFIG, v, "an IN list holds "
                                  "literals, not columns: %s",
                                  fl_sql_quote(c, v))
                 : reject(c, v, "WHERE");
            break;
        }
        if ((rc = coerce(c, id, v, &p->lits[i])) != 0)
            break;
        p->n_lits++;
    }
    if (rc != 0) {
        fl_plan_pred_free(p);
        return rc;
    }
    *out = p;
    return 0;
}


/* cidr_contains('<network>', column): the network parsed and checked
 * now, so the engine only compares addresses. */
static int
compile_cidr(struct ctx *c, const struct stmt *s, const struct node *n,
             struct fl_pred **out)
{
    const struct node *net, *col;
    struct fl_pred *p;
    struct fl_cidr cidr;
    char buf[64];
    int rc, id;
    if (n->n_args != 2 || n->star || n->distinct)
        return fl_sql_fail_at(c, FL_ECONFIG, n, "%s: expected "
                              "cidr_contains('<network>', <column>)",
                              fl_sql_quote(c, n));
    net = n->args[0];
    col = n->args[1];
    if (net->kind != N_STR)
        return fl_sql_fail_at(c, FL_ECONFIG, net, "cidr_contains: the "
                              "network must be a string literal such as "
                              "'10.0.0.0/8', not %s", fl_sql_quote(c, net));
    if ((rc = operand_column(c, s, col, "cidr_contains", &id)) != 0)
        return rc;
    if (is_int_type(id))
        return fl_sql_fail_at(c, FL_ECONFIG, col, "cidr_contains needs a "
                              "text column (an address); %s is %s",
                              col_name(id),
                              fl_type_sql(fl_field_get(id)->type));
    if (fl_cidr_parse(net->s, net->slen, &cidr) != 0)
        return fl_sql_fail_at(c, FL_ECONFIG, net, "cidr_contains: %s is not "
                              "an IPv4 or IPv6 network",
                              fl_sql_quote(c, net));
    if (fl_cidr_host_bits(&cidr)) {
        fl_cidr_mask(&cidr);
        return fl_sql_fail_at(c, FL_ECONFIG, net, "cidr_contains: %s has "
                              "host bits set (did you mean '%s'?)",
                              fl_sql_quote(c, net),
                              fl_cidr_format(&cidr, buf, sizeof buf));
    }
    if ((p = new_pred(c, FL_PRED_CIDR, n)) == NULL)
        return c->rc;
    p->column = id;
    p->cidr.family = cidr.family;
    memcpy(p->cidr.addr, cidr.addr, sizeof p->cidr.addr);
    p->cidr.prefix = cidr.prefix;
    *out = p;
    return 0;
}


/* A WHERE condition to a predicate tree: one case per kind of node, each
 * construct's own function beyond a few lines. */
static int
compile_pred(struct ctx *c, const struct stmt *s, const struct node *n,
             struct fl_pred **out)
{
    struct fl_pred *p;
    int rc, id;

    switch (n->kind) {
    case N_AND:
    case N_OR:
    case N_NOT:
        return compile_logic(c, s, n, out);
    case N_CMP:
        return compile_cmp(c, s, n, n->a, n->cmp, n->b, out);
    case N_BETWEEN:
        return compile_between(c, s, n, out);
    case N_IN:
        return compile_in(c, s, n, out);
    case N_ISNULL:
        if ((rc = operand_column(c, s, n->a, "IS NULL", &id)) != 0)
            return rc;
        if ((p = new_pred(c, FL_PRED_IS_NULL, n)) == NULL)
            return c->rc;
        p->column = id;
        p->negate = n->negate;
        *out = p;
        return 0;
    case N_FUNC:
        if (strcmp(n->name, "cidr_contains") == 0)
            return compile_cidr(c, s, n, out);
        return reject(c, n, "WHERE");
    case N_COL:
        return fl_sql_fail_at(c, FL_ECONFIG, n, "WHERE needs a condition, "
                              "and %s is a column: compare it (%s = ...)",
                              fl_sql_quote(c, n), fl_sql_quote(c, n));
    case N_BOOL:
    case N_INT:
    case N_STR:
    case N_NULL:
    case N_TS:
        return fl_sql_fail_at(c, FL_ECONFIG, n, "a constant condition (%s) "
                              "is not supported: compare a column",
                              fl_sql_quote(c, n));
    default:
        return reject(c, n, "WHERE");
    }
}


/* The aggregate of a select item: kind and column. */
static int
compile_agg(struct ctx *c, const struct stmt *s, const struct node *n,
            enum fl_agg_kind *kind, int *column)
{
    const char *fn = n->name;
    const struct node *arg;
    int rc, id;
    char up[8];
    size_t k;
    for (k = 0; fn[k] && k + 1 < sizeof up; k++)
        up[k] = (char)(fn[k] - 'a' + 'A');
    up[k] = '\0';
    if (n->star) {
        if (strcmp(fn, "count") != 0)
            return fl_sql_fail_at(c, FL_ECONFIG, n, "%s(*) is not supported: "
                                  "%s needs a column", up, up);
        *kind = FL_AGG_COUNT_STAR;
        *column = -1;
        return 0;
    }
    if (n->n_args != 1)
        return fl_sql_fail_at(c, FL_ECONFIG, n, "%s: %s takes one column",
                              fl_sql_quote(c, n), up);
    if (n->distinct && strcmp(fn, "count") != 0)
        return fl_sql_fail_at(c, FL_ECONFIG, n, "%s: DISTINCT is only "
                              "supported in COUNT(DISTINCT <column>)",
                              fl_sql_quote(c, n));
    arg = n->args[0];
    if (arg->kind != N_COL || is_window_col(arg)) {
        const struct node *f = find_bad_func(arg, 1);
        if (f != NULL && !is_known_func(f->name))
            return unknown_func(c, f);
        if (f != NULL || find_bad_func(arg, 0) != NULL)
            return fl_sql_fail_at(c, FL_ECONFIG, n, "nested aggregates are "
                                  "not supported: %s", fl_sql_quote(c, n));
        return fl_sql_fail_at(c, FL_ECONFIG, n, "%s: the argument of %s must "
                              "be a column, not an expression",
                              fl_sql_quote(c, n), up);
    }
    if ((rc = resolve(c, s, arg, &id)) != 0)
        return rc;
    if (strcmp(fn, "count") == 0) {
        *kind = n->distinct ? FL_AGG_COUNT_DISTINCT : FL_AGG_COUNT;
    } else {
        if (!is_int_type(id))
            return fl_sql_fail_at(c, FL_ECONFIG, n, "%s: %s needs a numeric "
                                  "column; %s is text", fl_sql_quote(c, n), up,
                                  col_name(id));
        *kind = strcmp(fn, "sum") == 0 ? FL_AGG_SUM
                : strcmp(fn, "min") == 0 ? FL_AGG_MIN
                : strcmp(fn, "max") == 0 ? FL_AGG_MAX : FL_AGG_AVG;
    }
    *column = id;
    return 0;
}


/* A metric name already produced by an earlier aggregate or plan: the
 * line of the statement that has it, or 0. */
static int
name_taken(const struct ctx *c, const struct fl_metric_plan *cur,
           const char *name)
{
    for (size_t i = 0; i < c->out.n; i++) {
        const struct fl_metric_plan *p = &c->out.plan[i];
        if (strcmp(p->name, name) == 0)
            return p->line;
        for (size_t j = 0; j < p->n_aggs; j++)
            if (strcmp(p->aggs[j].metric, name) == 0)
                return p->line;
    }
    for (size_t j = 0; j < cur->n_aggs; j++)
        if (cur->aggs[j].metric != NULL
            && strcmp(cur->aggs[j].metric, name) == 0)
            return cur->line;
    return 0;
}


/* ORDER BY <aggregate> DESC LIMIT n: which aggregate picks the top
 * groups -- named by its alias, or written as it is in SELECT. */
static int
compile_top(struct ctx *c, const struct stmt *s, struct fl_metric_plan *p,
            const struct item **agg_items)
{
    const struct node *o = s->order;
    size_t found = p->n_aggs;
    if (p->n_dims == 0)
        return fl_sql_fail_at(c, FL_ECONFIG, o, "ORDER BY ... LIMIT keeps the "
                              "top groups of a metric with dimensions: %s has "
                              "none (add the columns to GROUP BY)", s->name);
    if (o->kind == N_COL && o->qual == NULL) {
        for (size_t i = 0; i < p->n_aggs; i++)
            if (agg_items[i]->alias != NULL
                && strcmp(agg_items[i]->alias, o->name) == 0)
                found = i;
    } else if (o->kind == N_FUNC && is_agg_name(o->name)) {
        enum fl_agg_kind kind = FL_AGG_COUNT_STAR;
        int col = -1, rc;
        if ((rc = compile_agg(c, s, o, &kind, &col)) != 0)
            return rc;
        for (size_t i = 0; i < p->n_aggs && found == p->n_aggs; i++)
            if (p->aggs[i].kind == kind && p->aggs[i].column == col)
                found = i;
    }
    if (found == p->n_aggs)
        return fl_sql_fail_at(c, FL_ECONFIG, o, "ORDER BY %s: order a metric "
                              "by one of its aggregates, by its alias or as "
                              "written in SELECT", fl_sql_quote(c, o));
    for (size_t i = 0; i < p->n_aggs; i++) {
        enum fl_agg_kind k = p->aggs[i].kind;
        if (k != FL_AGG_COUNT_STAR && k != FL_AGG_COUNT && k != FL_AGG_SUM)
            return fl_sql_fail_at(c, FL_ECONFIG, agg_items[i]->e, "%s in a "
                                  "metric with LIMIT: only COUNT and SUM are "
                                  "supported there, because the groups beyond "
                                  "the limit are added into one 'other' group",
                                  fl_sql_quote(c, agg_items[i]->e));
    }
    p->top_agg = found;
    p->top_n = (size_t)s->limit;
    return 0;
}


/* The plan's identity (name, text, line), its defaults, its arrays sized
 * for the statement, and the statement's scratch arrays in the arena:
 * agg_items (the SELECT item of each aggregate) and selected (per
 * dimension, whether SELECT has it). Refuses a metric name already taken. */
static int
start_plan(struct ctx *c, const struct stmt *s, struct fl_metric_plan *p,
           const struct item ***agg_items, char **selected)
{
    int line;
    p->line = s->create_tok->line;
    p->time = c->time_default;
    p->window = c->window_default;
    if ((p->name = fl_strdup(s->name)) == NULL
        || (p->text = fl_strndup(c->text + s->create_tok->off,
                                 s->text_end - s->create_tok->off)) == NULL
        || (p->dims = fl_calloc(s->n_group + 1, sizeof *p->dims)) == NULL
        || (p->aggs = fl_calloc(s->n_items, sizeof *p->aggs)) == NULL
        || (*agg_items = fl_sql_tmp_alloc(c, s->n_items
                                             * sizeof **agg_items)) == NULL
        || (*selected = fl_sql_tmp_alloc(c, s->n_group + 1)) == NULL)
        return fl_sql_fail(c, FL_ENOMEM, p->line, s->create_tok->col,
                           FL_OOM_TEXT);
    if ((line = name_taken(c, p, s->name)) != 0)
        return fl_sql_fail(c, FL_ECONFIG, s->name_tok->line, s->name_tok->col,
                           "duplicate metric name %s (already defined at line "
                           "%d)", s->name, line);
    return 0;
}


/* GROUP BY: dimensions and the window. */
static int
compile_group_by(struct ctx *c, const struct stmt *s,
                 struct fl_metric_plan *p, int *have_window)
{
    int rc;
    for (size_t i = 0; i < s->n_group; i++) {
        const struct node *g = s->group[i];
        int id;
        if (g->kind == N_FUNC && is_window_name(g->name)) {
            if (*have_window)
                return fl_sql_fail_at(c, FL_ECONFIG, g, "a metric has one "
                                      "window: a second window %s",
                                      fl_sql_quote(c, g));
            if ((rc = compile_window(c, s, g, &p->time, &p->window)) != 0)
                return rc;
            *have_window = 1;
            continue;
        }
        if (is_window_col(g)) {
            if ((rc = check_qual(c, s, g)) != 0)
                return rc;
            continue;
        }
        if (g->kind != N_COL) {
            if (g->kind == N_INT)
                return fl_sql_fail_at(c, FL_ECONFIG, g, "GROUP BY %s: group "
                                      "by column names, not positions",
                                      fl_sql_quote(c, g));
            if (find_bad_func(g, 0) != NULL || g->kind == N_ARITH
                || g->kind == N_NEG)
                return reject(c, g, "GROUP BY");
            return fl_sql_fail_at(c, FL_ECONFIG, g, "GROUP BY accepts columns "
                                  "and one TUMBLE or STEP window, not %s",
                                  fl_sql_quote(c, g));
        }
        if ((rc = resolve(c, s, g, &id)) != 0)
            return rc;
        size_t k;
        for (k = 0; k < p->n_dims && p->dims[k] != id; k++)
            ;
        if (k == p->n_dims)
            p->dims[p->n_dims++] = id;
    }
    return 0;
}


/* A column in SELECT: one of the dimensions (marked in selected), or
 * window_start / window_end. */
static int
select_column(struct ctx *c, const struct stmt *s,
              const struct fl_metric_plan *p, const struct node *e,
              char *selected)
{
    int id, rc;
    size_t k;
    if (is_window_col(e))
        return check_qual(c, s, e);
    if ((rc = resolve(c, s, e, &id)) != 0)
        return rc;
    for (k = 0; k < p->n_dims && p->dims[k] != id; k++)
        ;
    if (k == p->n_dims)
        return fl_sql_fail_at(c, FL_ECONFIG, e, "column %s is selected but "
                              "not in GROUP BY: a metric's selected columns "
                              "are its dimensions", col_name(id));
    selected[k] = 1;
    return 0;
}


static int
is_select_window(const struct node *e)
{
    return e->kind == N_FUNC && (is_window_name(e->name)
                                 || strcmp(e->name, "tumble_start") == 0
                                 || strcmp(e->name, "tumble_end") == 0);
}


/* TUMBLE / STEP / TUMBLE_START / TUMBLE_END in SELECT: the GROUP BY
 * window again. */
static int
select_window(struct ctx *c, const struct stmt *s,
              const struct fl_metric_plan *p, const struct node *e,
              int have_window)
{
    enum fl_time_basis t;
    int64_t len;
    int rc;
    if ((rc = compile_window(c, s, e, &t, &len)) != 0)
        return rc;
    if (!have_window)
        return fl_sql_fail_at(c, FL_ECONFIG, e, "%s in SELECT needs the "
                              "same window in GROUP BY", fl_sql_quote(c, e));
    if (t != p->time || len != p->window)
        return fl_sql_fail_at(c, FL_ECONFIG, e, "%s in SELECT is not the "
                              "GROUP BY window", fl_sql_quote(c, e));
    return 0;
}


/* The message for a SELECT item that is no column, aggregate or window. */
static int
reject_select_item(struct ctx *c, const struct node *e)
{
    const struct node *f;
    if (e->kind == N_STAR)
        return fl_sql_fail_at(c, FL_ECONFIG, e, "SELECT * is not supported "
                              "in a metric: select the GROUP BY columns and "
                              "aggregates");
    if (is_lit(e))
        return fl_sql_fail_at(c, FL_ECONFIG, e, "a constant in SELECT (%s) "
                              "is not supported: select the GROUP BY columns "
                              "and aggregates", fl_sql_quote(c, e));
    if ((f = find_bad_func(e, 1)) != NULL)
        return unknown_func(c, f);
    if (e->kind == N_ARITH || e->kind == N_NEG)
        return reject_arith(c, e);
    return fl_sql_fail_at(c, FL_ECONFIG, e, "SELECT accepts the GROUP BY "
                          "columns, aggregates and the window, not %s",
                          fl_sql_quote(c, e));
}


/* SELECT: dimensions, aggregates (into p->aggs and agg_items; *n_aggs of
 * them), the window again. */
static int
compile_select(struct ctx *c, const struct stmt *s, struct fl_metric_plan *p,
               int have_window, const struct item **agg_items,
               size_t *n_aggs, char *selected)
{
    int rc;
    for (size_t i = 0; i < s->n_items; i++) {
        const struct item *it = &s->items[i];
        const struct node *e = it->e;
        if (e->kind == N_COL) {
            rc = select_column(c, s, p, e, selected);
        } else if (e->kind == N_FUNC && is_agg_name(e->name)) {
            enum fl_agg_kind kind = FL_AGG_COUNT_STAR;
            int col = -1;
            if ((rc = compile_agg(c, s, e, &kind, &col)) == 0) {
                agg_items[*n_aggs] = it;
                p->aggs[*n_aggs].kind = kind;
                p->aggs[*n_aggs].column = col;
                (*n_aggs)++;
            }
        } else if (is_select_window(e)) {
            rc = select_window(c, s, p, e, have_window);
        } else {
            return reject_select_item(c, e);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}


/* Every GROUP BY column must be selected too: the first one that is not. */
static int
check_dims_selected(struct ctx *c, const struct stmt *s,
                    const struct fl_metric_plan *p, const char *selected)
{
    for (size_t k = 0; k < p->n_dims; k++) {
        if (!selected[k]) {
            for (size_t i = 0; i < s->n_group; i++) {
                const struct node *g = s->group[i];
                int id;
                if (g->kind == N_COL && !is_window_col(g)
                    && resolve(c, s, g, &id) == 0 && id == p->dims[k])
                    return fl_sql_fail_at(c, FL_ECONFIG, g, "GROUP BY column "
                                          "%s must also be selected: a "
                                          "metric's dimensions are its "
                                          "selected columns", col_name(id));
            }
        }
    }
    return 0;
}


/* The metric name of an aggregate: the statement's name when it is the
 * only one, otherwise <name>_<alias>. */
static int
agg_metric_name(struct ctx *c, const struct stmt *s, const struct item *it,
                size_t n_aggs, char **out)
{
    char *m;
    if (n_aggs == 1) {
        m = fl_strdup(s->name);
    } else {
        size_t a, b;
        if (it->alias == NULL)
            return fl_sql_fail_at(c, FL_ECONFIG, it->e, "%s needs an alias "
                                  "(AS name): a metric with several "
                                  "aggregates names each one %s_<alias>",
                                  fl_sql_quote(c, it->e), s->name);
        if (!fl_sql_name_ok(it->alias))
            return fl_sql_fail(c, FL_ECONFIG, it->alias_tok->line,
                               it->alias_tok->col, "bad alias %s: use "
                               "lower-case letters, digits and _, starting "
                               "with a letter or _",
                               fl_sql_quote_tok(c, it->alias_tok));
        a = strlen(s->name);
        b = strlen(it->alias);
        if ((m = fl_malloc(a + b + 2)) != NULL) {
            memcpy(m, s->name, a);
            m[a] = '_';
            memcpy(m + a + 1, it->alias, b + 1);
        }
    }
    if (m == NULL)
        return fl_sql_fail_at(c, FL_ENOMEM, it->e, FL_OOM_TEXT);
    *out = m;
    return 0;
}


/* Metric names: one per aggregate, none already taken. */
static int
name_metrics(struct ctx *c, const struct stmt *s, struct fl_metric_plan *p,
             const struct item **agg_items, size_t n_aggs)
{
    int rc, line;
    for (size_t i = 0; i < n_aggs; i++) {
        const struct item *it = agg_items[i];
        char *m = NULL;
        if ((rc = agg_metric_name(c, s, it, n_aggs, &m)) != 0)
            return rc;
        if ((line = name_taken(c, p, m)) != 0) {
            const struct tok *at = n_aggs == 1 ? s->name_tok : it->alias_tok;
            fl_sql_fail(c, FL_ECONFIG, at->line, at->col, "duplicate metric "
                        "name %s (already defined at line %d)", m, line);
            fl_free(m);
            return c->rc;
        }
        p->aggs[i].metric = m;
        p->n_aggs = i + 1;
    }
    return 0;
}


/* WHERE: the predicate tree. */
static int
compile_where(struct ctx *c, const struct stmt *s, struct fl_metric_plan *p)
{
    const struct node *f = find_bad_func(s->where, 0);
    if (f != NULL)
        return reject(c, f, "WHERE");
    return compile_pred(c, s, s->where, &p->where);
}


/* The steps in the order their errors are reported: GROUP BY, SELECT,
 * the dimensions selected, an aggregate at all, metric names, ORDER BY
 * ... LIMIT, WHERE. */
int
fl_sql_compile_statement(struct ctx *c, const struct stmt *s,
                         struct fl_metric_plan *p)
{
    const struct item **agg_items = NULL;
    char *selected = NULL;
    size_t n_aggs = 0;
    int have_window = 0, rc;

    if ((rc = start_plan(c, s, p, &agg_items, &selected)) != 0
        || (rc = compile_group_by(c, s, p, &have_window)) != 0
        || (rc = compile_select(c, s, p, have_window, agg_items, &n_aggs,
                                selected)) != 0
        || (rc = check_dims_selected(c, s, p, selected)) != 0)
        return rc;
    if (n_aggs == 0)
        return fl_sql_fail(c, FL_ECONFIG, s->create_tok->line,
                           s->create_tok->col, "metric %s has no aggregate: "
                           "select COUNT(*), COUNT, SUM, MIN, MAX or AVG",
                           s->name);
    if ((rc = name_metrics(c, s, p, agg_items, n_aggs)) != 0)
        return rc;
    if (s->order != NULL && (rc = compile_top(c, s, p, agg_items)) != 0)
        return rc;
    if (s->where != NULL && (rc = compile_where(c, s, p)) != 0)
        return rc;
    return 0;
}
