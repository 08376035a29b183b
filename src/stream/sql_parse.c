/* SPDX-License-Identifier: MIT
 *
 * sql_parse.c -- the metric-SQL parser, stage 2 of the compiler (sql.c):
 * tokens (sql_lex.c) to one struct stmt per CREATE METRIC statement.
 *
 * A recursive-descent parser of ordinary SQL: arithmetic, any function
 * name and subqueries are recognised, so that what the engine cannot run
 * is rejected by name (here, or by sql_compile.c) rather than as "syntax
 * error". Nodes and strings live in sql.c's per-statement arena. The tree
 * depth is capped (MAX_DEPTH) and so is the parser's recursion
 * (MAX_NEST). Errors go through sql.c's fl_sql_fail().
 */
#include "../core/fl_config.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "../core/fl_error.h"
#include "plan.h"
#include "sql_int.h"


/* ---------------------------------------------------------------------
 * Token helpers
 */

/* Appends p to a growing array of pointers held in the arena. */
static int
tmp_push(struct ctx *c, void ***arr, size_t *n, void *p)
{
    if ((*n & (*n - 1)) == 0) {                    /* 0, 1, 2, 4, ... */
        void **grown = fl_sql_tmp_alloc(c, (*n ? *n * 2 : 1) * sizeof *grown);
        if (grown == NULL)
            return FL_ENOMEM;
        if (*n)
            memcpy(grown, *arr, *n * sizeof *grown);
        *arr = grown;
    }
    (*arr)[(*n)++] = p;
    return 0;
}


static const struct tok *
peek(struct ctx *c, size_t k)
{
    size_t p = c->pos + k;
    return &c->toks[p < c->n_toks ? p : c->n_toks - 1];
}


static const struct tok *
next(struct ctx *c)
{
    const struct tok *t = peek(c, 0);
    if (t->kind != TK_EOF && t->kind != TK_ERROR)
        c->pos++;
    return t;
}


static int
tok_is_kw(const struct ctx *c, const struct tok *t, const char *kw)
{
    return t->kind == TK_IDENT && t->len == strlen(kw)
           && strncasecmp(c->text + t->off, kw, t->len) == 0;
}


static int
is_kw(struct ctx *c, size_t k, const char *kw)
{
    return tok_is_kw(c, peek(c, k), kw);
}


static int
tok_is_op(const struct ctx *c, const struct tok *t, const char *op)
{
    return t->kind == TK_OP && t->len == strlen(op)
           && memcmp(c->text + t->off, op, t->len) == 0;
}


static int
is_op(struct ctx *c, size_t k, const char *op)
{
    return tok_is_op(c, peek(c, k), op);
}


/* Words that end an expression or start a clause: never a column or an
 * alias unless "quoted". `end` is not among them (no CASE here), so the
 * flow's end column can be written bare. */
static const char *const reserved[] = {
    "all", "and", "as", "between", "by", "case", "cast", "create", "cross",
    "distinct", "else", "except", "exists", "false", "fetch", "from",
    "full", "glob", "group", "having", "ilike", "in", "inner",
    "intersect", "interval", "is", "join", "left", "like", "limit",
    "natural", "not", "null", "offset", "on", "or", "order", "over",
    "qualify", "regexp", "right", "select", "similar", "table", "then",
    "true", "union", "using", "when", "where", "window", "with", NULL
};


static int
is_reserved(const struct ctx *c, const struct tok *t)
{
    for (int i = 0; reserved[i] != NULL; i++)
        if (tok_is_kw(c, t, reserved[i]))
            return 1;
    return 0;
}


/* A syntax error at t: the lexer's message on an error token, otherwise
 * "expected WHAT, found T". */
static int
syntax(struct ctx *c, const struct tok *t, const char *what)
{
    if (t->kind == TK_ERROR)
        return fl_sql_fail(c, FL_EPARSE, t->line, t->col, "%s", c->lex_msg);
    if (t->kind == TK_BADNUM)
        return fl_sql_fail(c, FL_EPARSE, t->line, t->col, "bad number %s: "
                           "only integers are supported",
                           fl_sql_quote_tok(c, t));
    if (t->kind == TK_EOF)
        return fl_sql_fail(c, FL_EPARSE, t->line, t->col, "expected %s, found "
                           "end of input", what);
    if (t->kind == TK_STRING)                       /* already quoted */
        return fl_sql_fail(c, FL_EPARSE, t->line, t->col, "expected %s, found "
                           "%s", what, fl_sql_quote_tok(c, t));
    return fl_sql_fail(c, FL_EPARSE, t->line, t->col, "expected %s, found "
                       "'%s'", what, fl_sql_quote_tok(c, t));
}


static int
expect_kw(struct ctx *c, const char *kw, const char *what)
{
    if (!is_kw(c, 0, kw))
        return syntax(c, peek(c, 0), what);
    next(c);
    return 0;
}


static int
expect_op(struct ctx *c, const char *op, const char *what)
{
    if (!is_op(c, 0, op))
        return syntax(c, peek(c, 0), what);
    next(c);
    return 0;
}


/* Copy of an identifier token's name: lower-cased ASCII, "" unescaped. */
static char *
ident_name(struct ctx *c, const struct tok *t)
{
    const char *s = c->text + t->off;
    size_t len = t->len;
    char *out;
    size_t n = 0;
    if (t->kind == TK_QIDENT) {
        s++;
        len -= 2;
    }
    out = fl_sql_tmp_alloc(c, len + 1);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (t->kind == TK_QIDENT && ch == '"')
            i++;                                    /* "" -> " */
        out[n++] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
    }
    out[n] = '\0';
    return out;
}


/* Copy of a string literal's text, '' unescaped; *len set (may hold NULs). */
static char *
string_value(struct ctx *c, const struct tok *t, size_t *len)
{
    const char *s = c->text + t->off + 1;
    size_t raw = t->len - 2, n = 0;
    char *out = fl_sql_tmp_alloc(c, raw + 1);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < raw; i++) {
        out[n++] = s[i];
        if (s[i] == '\'')
            i++;
    }
    out[n] = '\0';
    *len = n;
    return out;
}


/* ---------------------------------------------------------------------
 * Parser
 */

static struct node *
mk(struct ctx *c, enum nk kind, const struct tok *t)
{
    struct node *n = fl_sql_tmp_alloc(c, sizeof *n);
    if (n == NULL) {
        fl_sql_fail(c, FL_ENOMEM, t->line, t->col, FL_OOM_TEXT);
        return NULL;
    }
    n->kind = kind;
    n->off = t->off;
    n->end = t->off + t->len;
    n->line = t->line;
    n->col = t->col;
    n->depth = 1;
    return n;
}


/* Sets n's depth from its children and refuses trees past MAX_DEPTH. */
static int
fix_depth(struct ctx *c, struct node *n)
{
    struct node *kids[3] = { n->a, n->b, n->c };
    for (int k = 0; k < 3; k++)
        if (kids[k] != NULL && kids[k]->depth + 1 > n->depth)
            n->depth = kids[k]->depth + 1;
    for (size_t k = 0; k < n->n_args; k++)
        if (n->args[k]->depth + 1 > n->depth)
            n->depth = n->args[k]->depth + 1;
    if (n->depth > MAX_DEPTH)
        return fl_sql_fail_at(c, FL_EPARSE, n, "expression is nested too "
                              "deeply or too long (more than %d levels)",
                              MAX_DEPTH);
    return 0;
}


/* A new binary node spanning a .. b. */
static struct node *
mk_bin(struct ctx *c, enum nk kind, struct node *a, struct node *b)
{
    struct node *n = fl_sql_tmp_alloc(c, sizeof *n);
    if (n == NULL) {
        fl_sql_fail(c, FL_ENOMEM, a->line, a->col, FL_OOM_TEXT);
        return NULL;
    }
    n->kind = kind;
    n->off = a->off;
    n->end = b->end > a->end ? b->end : a->end;
    n->line = a->line;
    n->col = a->col;
    n->a = a;
    n->b = b;
    if (fix_depth(c, n) != 0)
        return NULL;
    return n;
}


static int
subquery(struct ctx *c, const struct tok *t)
{
    return fl_sql_fail(c, FL_ECONFIG, t->line, t->col, "subqueries are not "
                       "supported in a metric: a metric reads one stream, "
                       "flows");
}


static struct node *parse_or(struct ctx *c);
static struct node *parse_not(struct ctx *c);
static struct node *parse_unary(struct ctx *c);
static struct node *parse_or_inner(struct ctx *c);
static struct node *parse_not_inner(struct ctx *c);
static struct node *parse_unary_inner(struct ctx *c);


/* The recursive entry points count their depth, so that "((((...", "NOT
 * NOT ..." and "- - - ..." cannot exhaust the stack. */
static int
enter(struct ctx *c)
{
    if (++c->nest > MAX_NEST) {
        const struct tok *t = peek(c, 0);
        fl_sql_fail(c, FL_EPARSE, t->line, t->col, "expression is nested too "
                    "deeply or too long (more than %d levels)", MAX_DEPTH);
        return -1;
    }
    return 0;
}


static struct node *
parse_or(struct ctx *c)
{
    struct node *n = enter(c) == 0 ? parse_or_inner(c) : NULL;
    c->nest--;
    return n;
}


static struct node *
parse_not(struct ctx *c)
{
    struct node *n = enter(c) == 0 ? parse_not_inner(c) : NULL;
    c->nest--;
    return n;
}


static struct node *
parse_unary(struct ctx *c)
{
    struct node *n = enter(c) == 0 ? parse_unary_inner(c) : NULL;
    c->nest--;
    return n;
}


/* Parses a positive count for INTERVAL (at most 12 digits). */
static int
interval_count(const char *s, size_t len, int64_t *out)
{
    int64_t v = 0;
    if (len == 0 || len > 12)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}


/* Seconds per unit word, 0 when the word is a unit we do not support,
 * -1 when it is not a unit at all. */
static int64_t
interval_unit(const char *s, size_t len)
{
    static const struct { const char *name; int64_t secs; } units[] = {
        { "second", 1 }, { "seconds", 1 }, { "minute", 60 },
        { "minutes", 60 }, { "hour", 3600 }, { "hours", 3600 },
        { "day", 86400 }, { "days", 86400 },
        { "microsecond", 0 }, { "microseconds", 0 }, { "millisecond", 0 },
        { "milliseconds", 0 }, { "week", 0 }, { "weeks", 0 },
        { "month", 0 }, { "months", 0 }, { "quarter", 0 },
        { "quarters", 0 }, { "year", 0 }, { "years", 0 }
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strlen(units[i].name) == len
            && strncasecmp(units[i].name, s, len) == 0)
            return units[i].secs;
    return -1;
}


/* INTERVAL '<n>' UNIT | INTERVAL '<n> unit' | INTERVAL <n> UNIT. The
 * INTERVAL token has been consumed. */
static struct node *
parse_interval(struct ctx *c, const struct tok *kw)
{
    struct node *n = mk(c, N_INTERVAL, kw);
    const struct tok *v = peek(c, 0);
    const char *num, *unit = NULL;
    size_t num_len, unit_len = 0;
    int64_t count, per;
    const struct tok *unit_tok = NULL;
    if (n == NULL)
        return NULL;
    if (v->kind == TK_STRING) {
        const char *s = c->text + v->off + 1, *e = s + v->len - 2;
        while (s < e && *s == ' ')
            s++;
        num = s;
        while (s < e && is_digit(*s))
            s++;
        num_len = (size_t)(s - num);
        while (s < e && *s == ' ')
            s++;
        if (s < e) {
            unit = s;
            while (s < e && is_alpha(*s))
                s++;
            unit_len = (size_t)(s - unit);
            while (s < e && *s == ' ')
                s++;
            if (s != e || unit_len == 0)
                num_len = 0;                /* junk: reported below */
        }
    } else if (v->kind == TK_INT) {
        num = c->text + v->off;
        num_len = v->len;
    } else {
        syntax(c, v, "a quoted count after INTERVAL ('15')");
        return NULL;
    }
    n->end = v->off + v->len;
    if (interval_count(num, num_len, &count) != 0) {
        fl_sql_fail(c, FL_EPARSE, v->line, v->col, "%s is not a valid "
                    "interval: expected INTERVAL '<n>' SECOND, MINUTE, HOUR "
                    "or DAY", fl_sql_quote(c, n));
        return NULL;
    }
    next(c);
    if (unit == NULL) {
        unit_tok = peek(c, 0);
        if (unit_tok->kind != TK_IDENT
            || interval_unit(c->text + unit_tok->off, unit_tok->len) < 0) {
            syntax(c, unit_tok, "an INTERVAL unit (SECOND, MINUTE, HOUR or "
                   "DAY)");
            return NULL;
        }
        unit = c->text + unit_tok->off;
        unit_len = unit_tok->len;
        next(c);
        n->end = unit_tok->off + unit_tok->len;
    }
    per = interval_unit(unit, unit_len);
    if (per <= 0) {
        const struct tok *at = unit_tok ? unit_tok : v;
        if (per < 0)
            fl_sql_fail(c, FL_EPARSE, at->line, at->col, "%s is not a valid "
                        "interval: expected INTERVAL '<n>' SECOND, MINUTE, "
                        "HOUR or DAY", fl_sql_quote(c, n));
        else
            fl_sql_fail(c, FL_ECONFIG, at->line, at->col, "INTERVAL unit %.*s "
                        "is not supported: use SECOND, MINUTE, HOUR or DAY",
                        (int)unit_len, unit);
        return NULL;
    }
    n->i = count * per;
    return n;
}


/* name(args) after the name and '(' were seen; t is the name token. */
static struct node *
parse_call(struct ctx *c, const struct tok *t)
{
    struct node *n = mk(c, N_FUNC, t);
    if (n == NULL || (n->name = ident_name(c, t)) == NULL) {
        if (c->rc == 0)
            fl_sql_fail(c, FL_ENOMEM, t->line, t->col, FL_OOM_TEXT);
        return NULL;
    }
    next(c);                                        /* ( */
    if (is_kw(c, 0, "select") || is_kw(c, 0, "with")) {
        subquery(c, peek(c, 0));
        return NULL;
    }
    if (is_op(c, 0, "*") && is_op(c, 1, ")")) {
        n->star = 1;
        next(c);
    } else if (!is_op(c, 0, ")")) {
        if (is_kw(c, 0, "distinct")) {
            n->distinct = 1;
            next(c);
        } else if (is_kw(c, 0, "all")) {
            next(c);
        }
        for (;;) {
            struct node *a = parse_or(c);
            if (a == NULL)
                return NULL;
            if (tmp_push(c, (void ***)&n->args, &n->n_args, a) != 0) {
                fl_sql_fail(c, FL_ENOMEM, t->line, t->col, FL_OOM_TEXT);
                return NULL;
            }
            if (strcmp(n->name, "step") == 0 && n->n_args == 1) {
                if (expect_kw(c, "by", "BY in STEP(<time> BY INTERVAL ...)"))
                    return NULL;
                n->step = 1;
                continue;
            }
            if (!is_op(c, 0, ","))
                break;
            next(c);
        }
    }
    const struct tok *close = peek(c, 0);
    if (expect_op(c, ")", "')'") != 0)
        return NULL;
    n->end = close->off + 1;
    if (is_kw(c, 0, "over")) {
        const struct tok *o = peek(c, 0);
        fl_sql_fail(c, FL_ECONFIG, o->line, o->col, "window functions (OVER) "
                    "are not supported in a metric: use GROUP BY "
                    "TUMBLE(start, INTERVAL ...) for time windows");
        return NULL;
    }
    if (is_kw(c, 0, "filter")) {
        const struct tok *o = peek(c, 0);
        fl_sql_fail(c, FL_ECONFIG, o->line, o->col, "FILTER is not supported "
                    "in a metric: filter rows with WHERE");
        return NULL;
    }
    if (fix_depth(c, n) != 0)
        return NULL;
    return n;
}


/* [qual.]name column reference starting at t (consumed by the caller). */
static struct node *
parse_column(struct ctx *c, const struct tok *t)
{
    struct node *n = mk(c, N_COL, t);
    char *name;
    if (n == NULL || (name = ident_name(c, t)) == NULL)
        goto nomem;
    while (is_op(c, 0, ".")) {
        const struct tok *part = peek(c, 1);
        char *q;
        if ((part->kind != TK_IDENT && part->kind != TK_QIDENT)
            || (part->kind == TK_IDENT && is_reserved(c, part))) {
            next(c);
            syntax(c, part, "a column name after '.'");
            return NULL;
        }
        if (n->qual == NULL) {
            n->qual = name;
        } else {
            size_t a = strlen(n->qual), b = strlen(name);
            if ((q = fl_sql_tmp_alloc(c, a + b + 2)) == NULL)
                goto nomem;
            memcpy(q, n->qual, a);
            q[a] = '.';
            memcpy(q + a + 1, name, b + 1);
            n->qual = q;
        }
        next(c);
        next(c);
        if ((name = ident_name(c, part)) == NULL)
            goto nomem;
        n->end = part->off + part->len;
    }
    n->name = name;
    return n;
nomem:
    fl_sql_fail(c, FL_ENOMEM, t->line, t->col, FL_OOM_TEXT);
    return NULL;
}


/* An integer literal; 2^63 is kept as `big` (valid only negated). */
static struct node *
parse_int(struct ctx *c, const struct tok *t)
{
    struct node *n;
    uint64_t v = 0;
    const char *s = c->text + t->off;
    for (size_t k = 0; k < t->len; k++) {
        if (v > (UINT64_C(1) << 63) / 10) {
            v = UINT64_MAX;
            break;
        }
        v = v * 10 + (uint64_t)(s[k] - '0');
    }
    if (v > UINT64_C(1) << 63) {
        fl_sql_fail(c, FL_ECONFIG, t->line, t->col, "integer %s is out of "
                    "range (64-bit)", fl_sql_quote_tok(c, t));
        return NULL;
    }
    if ((n = mk(c, N_INT, t)) == NULL)
        return NULL;
    if (v == UINT64_C(1) << 63)
        n->big = 1;
    else
        n->i = (int64_t)v;
    next(c);
    return n;
}


/* A primary that starts with a word: a keyword-led literal (TIMESTAMP,
 * INTERVAL, NULL, TRUE, FALSE), a construct refused by name, a function
 * call or a column. */
static struct node *
parse_word(struct ctx *c, const struct tok *t)
{
    struct node *n;

    if (tok_is_kw(c, t, "timestamp") && peek(c, 1)->kind == TK_STRING) {
        const struct tok *v = peek(c, 1);
        if ((n = mk(c, N_TS, t)) == NULL)
            return NULL;
        n->end = v->off + v->len;
        if (parse_timestamp(c->text + v->off + 1, v->len - 2, &n->i) != 0) {
            fl_sql_fail(c, FL_ECONFIG, v->line, v->col, "bad TIMESTAMP "
                        "literal %s: expected 'YYYY-MM-DD HH:MM:SS' (UTC)",
                        fl_sql_quote_tok(c, v));
            return NULL;
        }
        next(c);
        next(c);
        return n;
    }
    if (tok_is_kw(c, t, "interval")) {
        next(c);
        return parse_interval(c, t);
    }
    if (tok_is_kw(c, t, "null") || tok_is_kw(c, t, "true")
        || tok_is_kw(c, t, "false")) {
        next(c);
        n = mk(c, tok_is_kw(c, t, "null") ? N_NULL : N_BOOL, t);
        return n;
    }
    if (tok_is_kw(c, t, "exists")) {
        subquery(c, t);
        return NULL;
    }
    if (tok_is_kw(c, t, "case") || tok_is_kw(c, t, "cast")) {
        fl_sql_fail(c, FL_ECONFIG, t->line, t->col, "%s is not supported in a "
                    "metric: compare a column with a literal",
                    tok_is_kw(c, t, "case") ? "CASE" : "CAST");
        return NULL;
    }
    if (tok_is_kw(c, t, "table")) {
        fl_sql_fail(c, FL_ECONFIG, t->line, t->col, "window table functions "
                    "(TABLE ...) are not supported: write GROUP BY "
                    "TUMBLE(start, INTERVAL '15' MINUTE)");
        return NULL;
    }
    if (is_reserved(c, t)) {
        syntax(c, t, "an expression");
        return NULL;
    }
    next(c);
    if (is_op(c, 0, "("))
        return parse_call(c, t);
    return parse_column(c, t);
}


static struct node *
parse_primary(struct ctx *c)
{
    const struct tok *t = peek(c, 0);
    struct node *n;

    switch (t->kind) {
    case TK_INT:
        return parse_int(c, t);
    case TK_STRING:
        if ((n = mk(c, N_STR, t)) == NULL)
            return NULL;
        if ((n->s = string_value(c, t, &n->slen)) == NULL) {
            fl_sql_fail(c, FL_ENOMEM, t->line, t->col, FL_OOM_TEXT);
            return NULL;
        }
        next(c);
        return n;
    case TK_QIDENT:
        next(c);
        return parse_column(c, t);
    case TK_OP:
        if (tok_is_op(c, t, "(")) {
            const struct tok *in = peek(c, 1);
            if (tok_is_kw(c, in, "select") || tok_is_kw(c, in, "with")) {
                subquery(c, in);
                return NULL;
            }
            next(c);
            if ((n = parse_or(c)) == NULL)
                return NULL;
            if (expect_op(c, ")", "')'") != 0)
                return NULL;
            return n;
        }
        if (tok_is_op(c, t, "*")) {
            next(c);
            return mk(c, N_STAR, t);
        }
        syntax(c, t, "an expression");
        return NULL;
    case TK_IDENT:
        return parse_word(c, t);
    default:
        syntax(c, t, "an expression");
        return NULL;
    }
}


static struct node *
parse_unary_inner(struct ctx *c)
{
    const struct tok *t = peek(c, 0);
    struct node *n;
    if (tok_is_op(c, t, "-") || tok_is_op(c, t, "+")) {
        int neg = tok_is_op(c, t, "-");
        const struct tok *v = peek(c, 1);
        next(c);
        if (v->kind == TK_INT) {
            if ((n = parse_primary(c)) == NULL)
                return NULL;
            if (neg) {
                if (n->big) {
                    n->big = 0;
                    n->i = INT64_MIN;
                } else {
                    n->i = -n->i;
                }
            }
            n->off = t->off;
            n->line = t->line;
            n->col = t->col;
        } else {
            struct node *a = parse_unary(c);
            if (a == NULL || (n = mk(c, N_NEG, t)) == NULL)
                return NULL;
            n->a = a;
            n->end = a->end;
            if (fix_depth(c, n) != 0)
                return NULL;
        }
    } else if ((n = parse_primary(c)) == NULL) {
        return NULL;
    }
    if (is_op(c, 0, "::")) {
        t = peek(c, 0);
        fl_sql_fail(c, FL_ECONFIG, t->line, t->col, "casts (::) are not "
                    "supported in a metric: compare a column with a literal");
        return NULL;
    }
    return n;
}


/* One left-associative level of binary operators: operand (op operand)*,
 * each op one of the level's NULL-ended ops -- operator tokens, or keywords
 * (AND, OR). Every binary level (*, +, AND, OR) is this same loop. */
struct bin_level {
    enum nk kind;
    int keywords;
    const char *ops[4];
};

static struct node *
parse_bin_level(struct ctx *c, const struct bin_level *level,
                struct node *(*operand)(struct ctx *))
{
    struct node *n = operand(c);
    while (n != NULL) {
        size_t i = 0;
        while (level->ops[i] != NULL
               && !(level->keywords ? is_kw(c, 0, level->ops[i])
                                    : is_op(c, 0, level->ops[i])))
            i++;
        if (level->ops[i] == NULL)
            break;
        next(c);
        struct node *b = operand(c);
        if (b == NULL)
            return NULL;
        n = mk_bin(c, level->kind, n, b);
    }
    return n;
}


static struct node *
parse_mul(struct ctx *c)
{
    static const struct bin_level mul_level =
        { N_ARITH, 0, { "*", "/", "%", NULL } };
    return parse_bin_level(c, &mul_level, parse_unary);
}


static struct node *
parse_add(struct ctx *c)
{
    static const struct bin_level add_level =
        { N_ARITH, 0, { "+", "-", "||", NULL } };
    return parse_bin_level(c, &add_level, parse_mul);
}


static int
cmp_op(struct ctx *c, enum fl_cmp *out)
{
    static const struct { const char *op; enum fl_cmp cmp; } ops[] = {
        { "=", FL_CMP_EQ }, { "==", FL_CMP_EQ }, { "<>", FL_CMP_NE },
        { "!=", FL_CMP_NE }, { "<", FL_CMP_LT }, { "<=", FL_CMP_LE },
        { ">", FL_CMP_GT }, { ">=", FL_CMP_GE }
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (is_op(c, 0, ops[i].op)) {
            *out = ops[i].cmp;
            return 1;
        }
    }
    return 0;
}


/* n, a predicate on x, starts where x starts (not at its keyword). */
static void
starts_at(struct node *n, const struct node *x)
{
    n->off = x->off;
    n->line = x->line;
    n->col = x->col;
}


/* x IS [NOT] NULL, after x and IS were read. */
static struct node *
parse_is_null(struct ctx *c, struct node *x)
{
    struct node *n;
    int negate = 0;
    if (is_kw(c, 0, "not")) {
        negate = 1;
        next(c);
    }
    const struct tok *t = peek(c, 0);
    if (expect_kw(c, "null", "NULL after IS [NOT]") != 0)
        return NULL;
    if ((n = mk(c, N_ISNULL, t)) == NULL)
        return NULL;
    n->a = x;
    n->negate = negate;
    starts_at(n, x);
    n->end = t->off + t->len;
    return fix_depth(c, n) == 0 ? n : NULL;
}


/* x [NOT] IN (v, ...), after x, NOT and IN (the token t) were read. */
static struct node *
parse_in_list(struct ctx *c, struct node *x, int negate,
              const struct tok *t)
{
    struct node *n;
    if (expect_op(c, "(", "'(' after IN") != 0)
        return NULL;
    if (is_kw(c, 0, "select") || is_kw(c, 0, "with")) {
        subquery(c, peek(c, 0));
        return NULL;
    }
    if ((n = mk(c, N_IN, t)) == NULL)
        return NULL;
    n->a = x;
    n->negate = negate;
    starts_at(n, x);
    for (;;) {
        struct node *v = parse_add(c);
        if (v == NULL)
            return NULL;
        if (tmp_push(c, (void ***)&n->args, &n->n_args, v) != 0) {
            fl_sql_fail(c, FL_ENOMEM, t->line, t->col, FL_OOM_TEXT);
            return NULL;
        }
        if (!is_op(c, 0, ","))
            break;
        next(c);
    }
    const struct tok *close = peek(c, 0);
    if (expect_op(c, ")", "',' or ')' in the IN list") != 0)
        return NULL;
    n->end = close->off + 1;
    return fix_depth(c, n) == 0 ? n : NULL;
}


/* x [NOT] BETWEEN lo AND hi, after x, NOT and BETWEEN (the token t)
 * were read. */
static struct node *
parse_between(struct ctx *c, struct node *x, int negate,
              const struct tok *t)
{
    struct node *n, *lo, *hi;
    if (is_kw(c, 0, "symmetric") || is_kw(c, 0, "asymmetric")) {
        syntax(c, peek(c, 0), "the lower bound after BETWEEN");
        return NULL;
    }
    lo = parse_add(c);
    if (lo == NULL || expect_kw(c, "and", "AND in BETWEEN ... AND ..."))
        return NULL;
    if ((hi = parse_add(c)) == NULL || (n = mk(c, N_BETWEEN, t)) == NULL)
        return NULL;
    n->a = x;
    n->b = lo;
    n->c = hi;
    n->negate = negate;
    starts_at(n, x);
    n->end = hi->end;
    return fix_depth(c, n) == 0 ? n : NULL;
}


/* An operand, then maybe a comparison, IS [NOT] NULL, [NOT] IN or [NOT]
 * BETWEEN; LIKE and its kin are refused by name. */
static struct node *
parse_pred(struct ctx *c)
{
    struct node *x = parse_add(c), *n;
    enum fl_cmp cmp;
    int negate = 0;
    if (x == NULL)
        return NULL;
    if (cmp_op(c, &cmp)) {
        next(c);
        struct node *y = parse_add(c);
        if (y == NULL || (n = mk_bin(c, N_CMP, x, y)) == NULL)
            return NULL;
        n->cmp = cmp;
        return n;
    }
    if (is_kw(c, 0, "is")) {
        next(c);
        return parse_is_null(c, x);
    }
    if (is_kw(c, 0, "not") && (is_kw(c, 1, "in") || is_kw(c, 1, "between")
                               || is_kw(c, 1, "like")
                               || is_kw(c, 1, "ilike"))) {
        negate = 1;
        next(c);
    }
    const struct tok *t = peek(c, 0);
    if (tok_is_kw(c, t, "like") || tok_is_kw(c, t, "ilike")
        || tok_is_kw(c, t, "similar") || tok_is_kw(c, t, "glob")
        || tok_is_kw(c, t, "regexp")) {
        fl_sql_fail(c, FL_ECONFIG, t->line, t->col, "%.*s is not supported in "
                    "a metric: compare with =, IN or cidr_contains()",
                    (int)t->len, c->text + t->off);
        return NULL;
    }
    if (tok_is_kw(c, t, "in")) {
        next(c);
        return parse_in_list(c, x, negate, t);
    }
    if (tok_is_kw(c, t, "between")) {
        next(c);
        return parse_between(c, x, negate, t);
    }
    return x;
}


static struct node *
parse_not_inner(struct ctx *c)
{
    const struct tok *t = peek(c, 0);
    if (tok_is_kw(c, t, "not")) {
        struct node *a, *n;
        next(c);
        if ((a = parse_not(c)) == NULL || (n = mk(c, N_NOT, t)) == NULL)
            return NULL;
        n->a = a;
        n->end = a->end;
        return fix_depth(c, n) == 0 ? n : NULL;
    }
    return parse_pred(c);
}


static struct node *
parse_and(struct ctx *c)
{
    static const struct bin_level and_level = { N_AND, 1, { "and", NULL } };
    return parse_bin_level(c, &and_level, parse_not);
}


static struct node *
parse_or_inner(struct ctx *c)
{
    static const struct bin_level or_level = { N_OR, 1, { "or", NULL } };
    return parse_bin_level(c, &or_level, parse_and);
}


/* Clauses a metric cannot have: the message for the clause starting at
 * t, or NULL when t starts none of them. */
static const char *
clause_rejection(struct ctx *c, const struct tok *t)
{
    static const struct { const char *kw, *msg; } clauses[] = {
        { "having", "HAVING is not supported in a metric: filter rows "
                    "with WHERE (a metric keeps one value per group and "
                    "window)" },
        { "order", "ORDER BY is supported in a metric only as ORDER BY "
                   "<aggregate> DESC LIMIT n, after GROUP BY" },
        { "limit", "LIMIT is supported in a metric only as ORDER BY "
                   "<aggregate> DESC LIMIT n, after GROUP BY" },
        { "offset", "OFFSET is not supported in a metric: a metric keeps "
                    "every group" },
        { "fetch", "FETCH is not supported in a metric: a metric keeps "
                   "every group" },
        { "union", "UNION is not supported in a metric: write one CREATE "
                   "METRIC per query" },
        { "intersect", "INTERSECT is not supported in a metric: write one "
                       "CREATE METRIC per query" },
        { "except", "EXCEPT is not supported in a metric: write one "
                    "CREATE METRIC per query" },
        { "window", "WINDOW is not supported in a metric: use GROUP BY "
                    "TUMBLE(start, INTERVAL ...)" },
        { "qualify", "QUALIFY is not supported in a metric: filter rows "
                     "with WHERE" },
        { "join", "JOIN is not supported in a metric: a metric reads one "
                  "stream, flows" },
        { "inner", NULL }, { "left", NULL }, { "right", NULL },
        { "full", NULL }, { "cross", NULL }, { "natural", NULL },
    };
    for (size_t i = 0; i < sizeof clauses / sizeof clauses[0]; i++)
        if (tok_is_kw(c, t, clauses[i].kw))
            return clauses[i].msg ? clauses[i].msg
                   : "JOIN is not supported in a metric: a metric reads "
                     "one stream, flows";
    return NULL;
}


/* Optional `[AS] alias` after a select item or the table. */
static int
parse_alias(struct ctx *c, char **alias, const struct tok **at)
{
    const struct tok *t = peek(c, 0);
    if (tok_is_kw(c, t, "as")) {
        next(c);
        t = peek(c, 0);
        if ((t->kind != TK_IDENT && t->kind != TK_QIDENT)
            || (t->kind == TK_IDENT && is_reserved(c, t)))
            return syntax(c, t, "a name after AS");
    } else if (t->kind == TK_QIDENT
               || (t->kind == TK_IDENT && !is_reserved(c, t)
                   && clause_rejection(c, t) == NULL)) {
        /* an alias without AS */
    } else {
        return 0;
    }
    next(c);
    if ((*alias = ident_name(c, t)) == NULL)
        return fl_sql_fail(c, FL_ENOMEM, t->line, t->col, FL_OOM_TEXT);
    if (at != NULL)
        *at = t;
    return 0;
}


/* `ORDER BY <aggregate> DESC LIMIT n` after GROUP BY: a top-N metric
 * (the top n groups of each window, the rest added into one "other"
 * group). The order item is checked against the aggregates when the
 * statement is compiled. */
static int
parse_top(struct ctx *c, struct stmt *s)
{
    const struct tok *t;
    next(c);                                        /* ORDER */
    next(c);                                        /* BY */
    if ((s->order = parse_or(c)) == NULL)
        return c->rc;
    t = peek(c, 0);
    if (tok_is_op(c, t, ","))
        return fl_sql_fail(c, FL_ECONFIG, t->line, t->col, "ORDER BY in a "
                           "metric takes one aggregate: the one its top "
                           "groups are picked by");
    if (tok_is_kw(c, t, "asc"))
        return fl_sql_fail(c, FL_ECONFIG, t->line, t->col, "ORDER BY ... ASC "
                           "is not supported in a metric: LIMIT keeps the "
                           "largest groups (ORDER BY <aggregate> DESC LIMIT "
                           "n)");
    if (!tok_is_kw(c, t, "desc"))
        return fl_sql_fail(c, FL_ECONFIG, t->line, t->col, "ORDER BY in a "
                           "metric needs DESC: LIMIT keeps the largest groups "
                           "(ORDER BY <aggregate> DESC LIMIT n)");
    next(c);
    t = peek(c, 0);
    if (!tok_is_kw(c, t, "limit"))
        return fl_sql_fail(c, FL_ECONFIG, t->line, t->col, "ORDER BY in a "
                           "metric needs LIMIT n: it picks the top n groups "
                           "of each window");
    next(c);
    t = peek(c, 0);
    s->limit_tok = t;
    if (t->kind != TK_INT)
        return syntax(c, t, "a number of groups after LIMIT");
    next(c);
    {
        int64_t n = 0;
        for (size_t i = 0; i < t->len; i++) {
            n = n * 10 + (c->text[t->off + i] - '0');
            if (n > FL_PLAN_MAX_TOP)
                break;
        }
        if (n < 1 || n > FL_PLAN_MAX_TOP)
            return fl_sql_fail(c, FL_ECONFIG, t->line, t->col, "LIMIT %.*s: a "
                               "metric keeps from 1 to %d groups per window",
                               (int)(t->len > 20 ? 20 : t->len),
                               c->text + t->off, FL_PLAN_MAX_TOP);
        s->limit = n;
    }
    return 0;
}


/* SELECT [STREAM] [ALL] item [[AS] alias], ... (up to FROM). */
static int
parse_select_list(struct ctx *c, struct stmt *s)
{
    const struct tok *t = peek(c, 0);
    int rc;

    if (tok_is_kw(c, t, "with"))
        return fl_sql_fail(c, FL_ECONFIG, t->line, t->col, "WITH (common "
                           "table expressions) is not supported in a metric: "
                           "a metric reads one stream, flows");
    if (tok_is_op(c, t, "(") && (is_kw(c, 1, "select") || is_kw(c, 1, "with")))
        return subquery(c, peek(c, 1));
    if ((rc = expect_kw(c, "select", "SELECT")) != 0)
        return rc;
    if (is_kw(c, 0, "stream"))
        next(c);                                    /* KDA's SELECT STREAM */
    t = peek(c, 0);
    if (tok_is_kw(c, t, "distinct"))
        return fl_sql_fail(c, FL_ECONFIG, t->line, t->col, "SELECT DISTINCT "
                           "is not supported in a metric: GROUP BY already "
                           "gives one row per group");
    if (tok_is_kw(c, t, "all"))
        next(c);
    for (;;) {
        struct item *it;
        struct node *e = parse_or(c);
        if (e == NULL)
            return c->rc;
        if ((s->n_items & (s->n_items - 1)) == 0) {
            it = fl_sql_tmp_alloc(c, (s->n_items ? s->n_items * 2 : 1)
                                     * sizeof *it);
            if (it == NULL)
                return fl_sql_fail(c, FL_ENOMEM, e->line, e->col,
                                   FL_OOM_TEXT);
            if (s->n_items)
                memcpy(it, s->items, s->n_items * sizeof *it);
            s->items = it;
        }
        it = &s->items[s->n_items++];
        it->e = e;
        if ((rc = parse_alias(c, &it->alias, &it->alias_tok)) != 0)
            return rc;
        if (!is_op(c, 0, ","))
            break;
        next(c);
    }
    return 0;
}


/* FROM flows [[AS] alias]: the one stream, under one of its names. */
static int
parse_from(struct ctx *c, struct stmt *s)
{
    const struct tok *t;
    struct node *tn;
    int rc;

    if ((rc = expect_kw(c, "from", "',' or FROM")) != 0)
        return rc;
    t = peek(c, 0);
    if (tok_is_op(c, t, "("))
        return is_kw(c, 1, "select") || is_kw(c, 1, "with")
               ? subquery(c, peek(c, 1)) : syntax(c, t, "a table name");
    if (tok_is_kw(c, t, "table") || tok_is_kw(c, t, "tumble"))
        return fl_sql_fail(c, FL_ECONFIG, t->line, t->col, "window table "
                           "functions (TABLE ...) are not supported: write "
                           "GROUP BY TUMBLE(start, INTERVAL '15' MINUTE)");
    if (t->kind != TK_QIDENT && (t->kind != TK_IDENT || is_reserved(c, t)))
        return syntax(c, t, "a table name");
    next(c);
    if ((tn = parse_column(c, t)) == NULL)
        return c->rc;
    if (tn->qual != NULL) {
        size_t a = strlen(tn->qual), b = strlen(tn->name);
        if ((s->table = fl_sql_tmp_alloc(c, a + b + 2)) == NULL)
            return fl_sql_fail(c, FL_ENOMEM, t->line, t->col,
                               FL_OOM_TEXT);
        memcpy(s->table, tn->qual, a);
        s->table[a] = '.';
        memcpy(s->table + a + 1, tn->name, b + 1);
    } else {
        s->table = tn->name;
    }
    if (strcmp(s->table, "flows") != 0
        && strcmp(s->table, "flow_logs") != 0
        && strcmp(s->table, "vpc_flow_logs.flow_logs") != 0)
        return fl_sql_fail(c, FL_ECONFIG, t->line, t->col, "FROM %s: a "
                           "metric reads one stream, flows (also "
                           "accepted: flow_logs, vpc_flow_logs.flow_logs)",
                           fl_sql_quote(c, tn));
    if ((rc = parse_alias(c, &s->alias, NULL)) != 0)
        return rc;
    t = peek(c, 0);
    if (tok_is_op(c, t, ","))
        return fl_sql_fail(c, FL_ECONFIG, t->line, t->col, "JOIN is not "
                           "supported in a metric: a metric reads one stream, "
                           "flows");
    return 0;
}


/* GROUP BY expr, ... after the GROUP keyword was seen. */
static int
parse_group_by(struct ctx *c, struct stmt *s)
{
    int rc;
    next(c);
    if ((rc = expect_kw(c, "by", "BY after GROUP")) != 0)
        return rc;
    for (;;) {
        struct node *g = parse_or(c);
        if (g == NULL)
            return c->rc;
        if (tmp_push(c, (void ***)&s->group, &s->n_group, g) != 0)
            return fl_sql_fail(c, FL_ENOMEM, g->line, g->col,
                               FL_OOM_TEXT);
        if (!is_op(c, 0, ","))
            break;
        next(c);
    }
    return 0;
}


/* The query of a statement, clause by clause, up to its ';' or the end
 * of the text. */
static int
parse_select(struct ctx *c, struct stmt *s)
{
    const struct tok *t;
    int rc;

    if ((rc = parse_select_list(c, s)) != 0
        || (rc = parse_from(c, s)) != 0)
        return rc;
    if (is_kw(c, 0, "where")) {
        next(c);
        if ((s->where = parse_or(c)) == NULL)
            return c->rc;
    }
    if (is_kw(c, 0, "group") && (rc = parse_group_by(c, s)) != 0)
        return rc;
    if (s->n_group > 0 && is_kw(c, 0, "order") && is_kw(c, 1, "by")) {
        if ((rc = parse_top(c, s)) != 0)
            return rc;
    }
    t = peek(c, 0);
    const char *why = clause_rejection(c, t);
    if (why != NULL)
        return fl_sql_fail(c, FL_ECONFIG, t->line, t->col, "%s", why);
    if (!tok_is_op(c, t, ";") && t->kind != TK_EOF)
        return syntax(c, t, s->order ? "the end of the statement"
                      : s->n_group ? "',', ORDER BY or the end of the statement"
                      : "WHERE, GROUP BY or the end of the statement");
    return 0;
}


/* Metric and alias names: [a-z_][a-z0-9_]* (Prometheus-safe). */
int
fl_sql_name_ok(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
        return 0;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || *s == '_' || is_digit(*s)))
            return 0;
    return 1;
}


int
fl_sql_parse_statement(struct ctx *c, struct stmt *s)
{
    const struct tok *t = peek(c, 0);
    int rc;
    if (!tok_is_kw(c, t, "create"))
        return syntax(c, t, "CREATE METRIC <name> AS SELECT ...");
    s->create_tok = t;
    next(c);
    if ((rc = expect_kw(c, "metric", "METRIC after CREATE")) != 0)
        return rc;
    t = peek(c, 0);
    if (t->kind != TK_QIDENT && (t->kind != TK_IDENT || is_reserved(c, t)))
        return syntax(c, t, "a metric name");
    next(c);
    s->name_tok = t;
    if ((s->name = ident_name(c, t)) == NULL)
        return fl_sql_fail(c, FL_ENOMEM, t->line, t->col, FL_OOM_TEXT);
    if (!fl_sql_name_ok(s->name))
        return fl_sql_fail(c, FL_ECONFIG, t->line, t->col, "bad metric name "
                           "%s: use lower-case letters, digits and _, "
                           "starting with a letter or _",
                           fl_sql_quote_tok(c, t));
    if ((rc = expect_kw(c, "as", "AS after the metric name")) != 0)
        return rc;
    if ((rc = parse_select(c, s)) != 0)
        return rc;
    /* The statement text ends with its last token, before ';'. */
    s->text_end = c->toks[c->pos - 1].off + c->toks[c->pos - 1].len;
    return 0;
}


int
fl_sql_at_end(struct ctx *c)
{
    while (is_op(c, 0, ";"))
        next(c);
    return peek(c, 0)->kind == TK_EOF;
}
