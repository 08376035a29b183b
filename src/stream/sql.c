/* SPDX-License-Identifier: MIT
 *
 * sql.c -- the metric-SQL compiler: fl_plan_compile() (plan.h), the
 * language of docs/metrics.md.
 *
 * Three stages per file:
 *   1. the tokenizer turns the whole text into tokens. A lexical error
 *      (unterminated string, stray character) becomes an error token at
 *      its place, so errors are still reported in text order;
 *   2. a recursive-descent parser builds, per statement, a small syntax
 *      tree of ordinary SQL (arithmetic, any function name, subqueries are
 *      recognised) so that what the engine cannot run is rejected by name
 *      rather than as "syntax error";
 *   3. the compiler checks the tree against the rules of an incremental
 *      metric (one stream, dimensions = GROUP BY columns, aggregates over
 *      plain columns, a WHERE of column-vs-literal tests) and emits a
 *      struct fl_metric_plan with every literal already coerced.
 *
 * Syntax trees live in a per-statement arena freed after each statement;
 * plans are ordinary fl_malloc'ed structs (plan.c frees them). The tree
 * depth is capped (MAX_DEPTH), which bounds every recursion here, in
 * plan.c's free and in the engine's predicate evaluation.
 *
 * Errors: "ORIGIN:LINE:COL: message", FL_EPARSE for syntax, FL_ECONFIG for
 * valid SQL a metric cannot be (and for unknown names and type errors).
 */
#include "../core/fl_config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../core/fl_cidr.h"
#include "../core/fl_error.h"
#include "../core/fl_time.h"
#include "../core/fl_mem.h"
#include "../parse/fields.h"
#include "plan.h"
#include "plan_int.h"

#define FL_SQL_PRINTF(a, b) __attribute__((format(printf, a, b)))

#define MAX_DEPTH   200             /* syntax tree levels */
#define MAX_NEST    (4 * MAX_DEPTH) /* parser recursion (parentheses, NOT) */
#define QUOTE_MAX   60              /* bytes of a construct quoted in errors */
#define MAX_WINDOW  (7 * 86400)     /* seconds */


/* ---------------------------------------------------------------------
 * Tokens
 */

enum tk {
    TK_EOF,
    TK_IDENT,       /* word, possibly a keyword */
    TK_QIDENT,      /* "quoted identifier" */
    TK_STRING,      /* 'string' */
    TK_INT,         /* digits */
    TK_BADNUM,      /* 1.5, 1e3, 12abc: not an integer */
    TK_OP,          /* punctuation and operators */
    TK_ERROR        /* a lexical error; ctx.lex_msg says which */
};

struct tok {
    enum tk kind;
    size_t  off, len;               /* bytes of the token in the text */
    int     line, col;
};


/* ---------------------------------------------------------------------
 * Syntax tree
 */

enum nk {
    N_COL,          /* [qual.]name */
    N_INT,          /* i (big: the magnitude 2^63, valid only negated) */
    N_STR,          /* s, slen */
    N_TS,           /* TIMESTAMP 'x': i = epoch seconds */
    N_NULL,
    N_BOOL,
    N_STAR,         /* SELECT * */
    N_INTERVAL,     /* i = seconds */
    N_FUNC,         /* name(args) */
    N_ARITH,        /* a op b */
    N_NEG,          /* -a, +a of a non-literal */
    N_CMP,          /* a cmp b */
    N_AND, N_OR,    /* a, b */
    N_NOT,          /* a */
    N_IN,           /* a [NOT] IN (args) */
    N_ISNULL,       /* a IS [NOT] NULL */
    N_BETWEEN       /* a [NOT] BETWEEN b AND c */
};

struct node {
    enum nk       kind;
    size_t        off, end;         /* source span, for quoting */
    int           line, col;
    int           depth;
    struct node  *a, *b, *c;
    struct node **args;
    size_t        n_args;
    char         *name;             /* COL: column; FUNC: function (lower) */
    char         *qual;             /* COL: "t" or "db.t" or NULL */
    char         *s;                /* STR: unescaped text */
    size_t        slen;
    int64_t       i;
    int           big;
    int           distinct, star, negate, step;
    enum fl_cmp   cmp;
};

struct item {
    struct node      *e;
    char             *alias;        /* lower-cased, or NULL */
    const struct tok *alias_tok;
};

/* One parsed statement. */
struct stmt {
    const struct tok *create_tok, *name_tok;
    size_t            text_end;
    char             *name;
    struct item      *items;
    size_t            n_items;
    char             *table;        /* as written, lower-cased, dotted */
    char             *alias;
    struct node      *where;
    struct node     **group;
    size_t            n_group;
    struct node      *order;        /* ORDER BY <aggregate> DESC LIMIT n */
    const struct tok *limit_tok;
    int64_t           limit;
};

/* Arena block: every syntax-tree allocation of a statement. */
struct blk {
    struct blk *next;
    max_align_t data[];
};

struct ctx {
    const char            *text;
    size_t                 len;
    const char            *origin;
    int64_t                window_default;
    enum fl_time_basis     time_default;
    char                  *err;
    size_t                 errlen;
    int                    rc;          /* first error */
    struct tok            *toks;
    size_t                 n_toks, cap_toks, pos;
    int                    nest;        /* parser recursion */
    char                   lex_msg[128];
    struct blk            *arena;
    struct fl_metric_plans out;
    char                   qbuf[2][QUOTE_MAX + 8];
    int                    qnext;
};


/* ---------------------------------------------------------------------
 * Errors
 */

static int fail(struct ctx *c, int rc, int line, int col,
                const char *fmt, ...) FL_SQL_PRINTF(5, 6);

static int
fail(struct ctx *c, int rc, int line, int col, const char *fmt, ...)
{
    if (c->rc != 0)
        return c->rc;
    c->rc = rc;
    if (c->err != NULL && c->errlen > 0) {
        va_list ap;
        int n = snprintf(c->err, c->errlen, "%s:%d:%d: ", c->origin, line,
                         col);
        if (n >= 0 && (size_t)n < c->errlen) {
            va_start(ap, fmt);
            vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return rc;
}


/* A construct's source text for a message: whitespace runs collapsed to
 * one space, cut at QUOTE_MAX bytes. One of two rotating buffers, so a
 * message can quote two constructs. */
static const char *
quote_span(struct ctx *c, size_t off, size_t end)
{
    char *b = c->qbuf[c->qnext++ & 1];
    size_t n = 0;
    int space = 0;
    for (size_t i = off; i < end && n < QUOTE_MAX; i++) {
        unsigned char ch = (unsigned char)c->text[i];
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            space = 1;
            continue;
        }
        if (space && n > 0)
            b[n++] = ' ';
        space = 0;
        b[n++] = ch < 0x20 ? '?' : (char)ch;
    }
    if (n >= QUOTE_MAX) {
        memcpy(b + n, "...", 3);
        n += 3;
    }
    b[n] = '\0';
    return b;
}


static const char *
quote(struct ctx *c, const struct node *n)
{
    return quote_span(c, n->off, n->end);
}


static const char *
quote_tok(struct ctx *c, const struct tok *t)
{
    if (t->kind == TK_EOF)
        return "end of input";
    return quote_span(c, t->off, t->off + t->len);
}


static int
fail_at(struct ctx *c, int rc, const struct node *n, const char *fmt, ...)
    FL_SQL_PRINTF(4, 5);

static int
fail_at(struct ctx *c, int rc, const struct node *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fail(c, rc, n->line, n->col, "%s", msg);
}


/* ---------------------------------------------------------------------
 * Tokenizer
 */

static int
is_alpha(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}


static int
is_digit(int ch)
{
    return ch >= '0' && ch <= '9';
}


static int
push_tok(struct ctx *c, enum tk kind, size_t off, size_t len, int line,
         int col)
{
    if (c->n_toks == c->cap_toks) {
        size_t cap = c->cap_toks ? c->cap_toks * 2 : 64;
        struct tok *t = fl_realloc(c->toks, cap * sizeof *t);
        if (t == NULL)
            return FL_ENOMEM;
        c->toks = t;
        c->cap_toks = cap;
    }
    c->toks[c->n_toks].kind = kind;
    c->toks[c->n_toks].off = off;
    c->toks[c->n_toks].len = len;
    c->toks[c->n_toks].line = line;
    c->toks[c->n_toks].col = col;
    c->n_toks++;
    return 0;
}


/* Tokenizes the whole text. Only -ENOMEM is returned as an error; a
 * lexical error ends the token list with a TK_ERROR token. */
static int
lex(struct ctx *c)
{
    const char *s = c->text;
    size_t i = 0, n = c->len, line_start = 0;
    int line = 1, rc;

    for (;;) {
        while (i < n) {
            char ch = s[i];
            if (ch == '\n') {
                line++;
                line_start = ++i;
            } else if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f'
                       || ch == '\v') {
                i++;
            } else if (ch == '-' && i + 1 < n && s[i + 1] == '-') {
                while (i < n && s[i] != '\n')
                    i++;
            } else if (ch == '/' && i + 1 < n && s[i + 1] == '*') {
                size_t start = i;
                int sline = line, scol = (int)(i - line_start) + 1;
                i += 2;
                while (i < n && !(s[i] == '*' && i + 1 < n && s[i + 1] == '/')) {
                    if (s[i] == '\n') {
                        line++;
                        line_start = i + 1;
                    }
                    i++;
                }
                if (i >= n) {
                    snprintf(c->lex_msg, sizeof c->lex_msg,
                             "unterminated /* comment");
                    return push_tok(c, TK_ERROR, start, 2, sline, scol);
                }
                i += 2;
            } else {
                break;
            }
        }
        int col = (int)(i - line_start) + 1;
        if (i >= n)
            return push_tok(c, TK_EOF, n, 0, line, col);
        size_t start = i;
        unsigned char ch = (unsigned char)s[i];
        enum tk kind;
        if (is_alpha(ch)) {
            while (i < n && (is_alpha(s[i]) || is_digit(s[i])))
                i++;
            kind = TK_IDENT;
        } else if (is_digit(ch)) {
            while (i < n && is_digit(s[i]))
                i++;
            kind = TK_INT;
            if (i < n && (s[i] == '.' || is_alpha(s[i]))) {
                while (i < n && (s[i] == '.' || is_alpha(s[i])
                                 || is_digit(s[i])))
                    i++;
                kind = TK_BADNUM;
            }
        } else if (ch == '\'' || ch == '"') {
            int sline = line;
            i++;
            for (;;) {
                if (i >= n) {
                    snprintf(c->lex_msg, sizeof c->lex_msg, "%s",
                             ch == '\'' ? "unterminated string literal"
                                        : "unterminated quoted identifier");
                    return push_tok(c, TK_ERROR, start, 1, sline, col);
                }
                if (s[i] == (char)ch) {
                    if (i + 1 < n && s[i + 1] == (char)ch) {
                        i += 2;             /* '' or "" escape */
                        continue;
                    }
                    i++;
                    break;
                }
                if (s[i] == '\n') {
                    line++;
                    line_start = i + 1;
                }
                i++;
            }
            kind = ch == '\'' ? TK_STRING : TK_QIDENT;
            if (kind == TK_QIDENT && i - start == 2) {
                snprintf(c->lex_msg, sizeof c->lex_msg,
                         "empty quoted identifier \"\"");
                return push_tok(c, TK_ERROR, start, 2, sline, col);
            }
            if ((rc = push_tok(c, kind, start, i - start, sline, col)) != 0)
                return rc;
            continue;
        } else {
            static const char *const two[] = {
                "<>", "!=", "<=", ">=", "==", "||", "::", NULL
            };
            kind = TK_OP;
            i++;
            for (int k = 0; two[k] != NULL; k++) {
                if (i < n && s[start] == two[k][0] && s[i] == two[k][1]) {
                    i++;
                    break;
                }
            }
            if (i - start == 1 && strchr("=<>(),.;*+-/%", ch) == NULL) {
                if (ch >= 0x21 && ch < 0x7f)
                    snprintf(c->lex_msg, sizeof c->lex_msg,
                             "unexpected character '%c'", ch);
                else
                    snprintf(c->lex_msg, sizeof c->lex_msg,
                             "unexpected byte 0x%02X", ch);
                return push_tok(c, TK_ERROR, start, 1, line, col);
            }
        }
        if ((rc = push_tok(c, kind, start, i - start, line, col)) != 0)
            return rc;
    }
}


/* ---------------------------------------------------------------------
 * Arena and token helpers
 */

static void *
tmp_alloc(struct ctx *c, size_t n)
{
    struct blk *b = fl_calloc(1, sizeof *b + n);
    if (b == NULL)
        return NULL;
    b->next = c->arena;
    c->arena = b;
    return b->data;
}


static void
tmp_free_all(struct ctx *c)
{
    while (c->arena != NULL) {
        struct blk *b = c->arena;
        c->arena = b->next;
        fl_free(b);
    }
}


/* Appends p to a growing array of pointers held in the arena. */
static int
tmp_push(struct ctx *c, void ***arr, size_t *n, void *p)
{
    if ((*n & (*n - 1)) == 0) {                    /* 0, 1, 2, 4, ... */
        void **grown = tmp_alloc(c, (*n ? *n * 2 : 1) * sizeof *grown);
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
        return fail(c, FL_EPARSE, t->line, t->col, "%s", c->lex_msg);
    if (t->kind == TK_BADNUM)
        return fail(c, FL_EPARSE, t->line, t->col,
                    "bad number %s: only integers are supported",
                    quote_tok(c, t));
    if (t->kind == TK_EOF)
        return fail(c, FL_EPARSE, t->line, t->col,
                    "expected %s, found end of input", what);
    if (t->kind == TK_STRING)                       /* already quoted */
        return fail(c, FL_EPARSE, t->line, t->col, "expected %s, found %s",
                    what, quote_tok(c, t));
    return fail(c, FL_EPARSE, t->line, t->col, "expected %s, found '%s'",
                what, quote_tok(c, t));
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
    out = tmp_alloc(c, len + 1);
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
    char *out = tmp_alloc(c, raw + 1);
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
    struct node *n = tmp_alloc(c, sizeof *n);
    if (n == NULL) {
        fail(c, FL_ENOMEM, t->line, t->col, "out of memory");
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
        return fail_at(c, FL_EPARSE, n, "expression is nested too deeply "
                       "or too long (more than %d levels)", MAX_DEPTH);
    return 0;
}


/* A new binary node spanning a .. b. */
static struct node *
mk_bin(struct ctx *c, enum nk kind, struct node *a, struct node *b)
{
    struct node *n = tmp_alloc(c, sizeof *n);
    if (n == NULL) {
        fail(c, FL_ENOMEM, a->line, a->col, "out of memory");
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
    return fail(c, FL_ECONFIG, t->line, t->col, "subqueries are not "
                "supported in a metric: a metric reads one stream, flows");
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
        fail(c, FL_EPARSE, t->line, t->col, "expression is nested too "
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
        fail(c, FL_EPARSE, v->line, v->col, "%s is not a valid interval: "
             "expected INTERVAL '<n>' SECOND, MINUTE, HOUR or DAY",
             quote(c, n));
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
            fail(c, FL_EPARSE, at->line, at->col, "%s is not a valid "
                 "interval: expected INTERVAL '<n>' SECOND, MINUTE, HOUR "
                 "or DAY", quote(c, n));
        else
            fail(c, FL_ECONFIG, at->line, at->col, "INTERVAL unit %.*s is "
                 "not supported: use SECOND, MINUTE, HOUR or DAY",
                 (int)unit_len, unit);
        return NULL;
    }
    n->i = count * per;
    return n;
}


/* 'YYYY-MM-DD[( |T)HH:MM[:SS]]', UTC, to epoch seconds. */
static int
parse_timestamp(const char *s, size_t len, int64_t *out)
{
    return fl_time_parse_iso8601(s, len, 0, out);
}


/* name(args) after the name and '(' were seen; t is the name token. */
static struct node *
parse_call(struct ctx *c, const struct tok *t)
{
    struct node *n = mk(c, N_FUNC, t);
    if (n == NULL || (n->name = ident_name(c, t)) == NULL) {
        if (c->rc == 0)
            fail(c, FL_ENOMEM, t->line, t->col, "out of memory");
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
                fail(c, FL_ENOMEM, t->line, t->col, "out of memory");
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
        fail(c, FL_ECONFIG, o->line, o->col, "window functions (OVER) are "
             "not supported in a metric: use GROUP BY TUMBLE(start, "
             "INTERVAL ...) for time windows");
        return NULL;
    }
    if (is_kw(c, 0, "filter")) {
        const struct tok *o = peek(c, 0);
        fail(c, FL_ECONFIG, o->line, o->col, "FILTER is not supported in a "
             "metric: filter rows with WHERE");
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
            if ((q = tmp_alloc(c, a + b + 2)) == NULL)
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
    fail(c, FL_ENOMEM, t->line, t->col, "out of memory");
    return NULL;
}


static struct node *
parse_primary(struct ctx *c)
{
    const struct tok *t = peek(c, 0);
    struct node *n;

    switch (t->kind) {
    case TK_INT: {
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
            fail(c, FL_ECONFIG, t->line, t->col, "integer %s is out of "
                 "range (64-bit)", quote_tok(c, t));
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
    case TK_STRING:
        if ((n = mk(c, N_STR, t)) == NULL)
            return NULL;
        if ((n->s = string_value(c, t, &n->slen)) == NULL) {
            fail(c, FL_ENOMEM, t->line, t->col, "out of memory");
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
        break;
    default:
        syntax(c, t, "an expression");
        return NULL;
    }

    if (tok_is_kw(c, t, "timestamp") && peek(c, 1)->kind == TK_STRING) {
        const struct tok *v = peek(c, 1);
        if ((n = mk(c, N_TS, t)) == NULL)
            return NULL;
        n->end = v->off + v->len;
        if (parse_timestamp(c->text + v->off + 1, v->len - 2, &n->i) != 0) {
            fail(c, FL_ECONFIG, v->line, v->col, "bad TIMESTAMP literal %s: "
                 "expected 'YYYY-MM-DD HH:MM:SS' (UTC)", quote_tok(c, v));
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
        fail(c, FL_ECONFIG, t->line, t->col, "%s is not supported in a "
             "metric: compare a column with a literal",
             tok_is_kw(c, t, "case") ? "CASE" : "CAST");
        return NULL;
    }
    if (tok_is_kw(c, t, "table")) {
        fail(c, FL_ECONFIG, t->line, t->col, "window table functions "
             "(TABLE ...) are not supported: write GROUP BY TUMBLE(start, "
             "INTERVAL '15' MINUTE)");
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
        fail(c, FL_ECONFIG, t->line, t->col, "casts (::) are not supported "
             "in a metric: compare a column with a literal");
        return NULL;
    }
    return n;
}


static struct node *
parse_mul(struct ctx *c)
{
    struct node *n = parse_unary(c);
    while (n != NULL && (is_op(c, 0, "*") || is_op(c, 0, "/")
                         || is_op(c, 0, "%"))) {
        next(c);
        struct node *b = parse_unary(c);
        if (b == NULL)
            return NULL;
        n = mk_bin(c, N_ARITH, n, b);
    }
    return n;
}


static struct node *
parse_add(struct ctx *c)
{
    struct node *n = parse_mul(c);
    while (n != NULL && (is_op(c, 0, "+") || is_op(c, 0, "-")
                         || is_op(c, 0, "||"))) {
        next(c);
        struct node *b = parse_mul(c);
        if (b == NULL)
            return NULL;
        n = mk_bin(c, N_ARITH, n, b);
    }
    return n;
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
        n->off = x->off;
        n->line = x->line;
        n->col = x->col;
        n->end = t->off + t->len;
        return fix_depth(c, n) == 0 ? n : NULL;
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
        fail(c, FL_ECONFIG, t->line, t->col, "%.*s is not supported in a "
             "metric: compare with =, IN or cidr_contains()", (int)t->len,
             c->text + t->off);
        return NULL;
    }
    if (tok_is_kw(c, t, "in")) {
        next(c);
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
        n->off = x->off;
        n->line = x->line;
        n->col = x->col;
        for (;;) {
            struct node *v = parse_add(c);
            if (v == NULL)
                return NULL;
            if (tmp_push(c, (void ***)&n->args, &n->n_args, v) != 0) {
                fail(c, FL_ENOMEM, t->line, t->col, "out of memory");
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
    if (tok_is_kw(c, t, "between")) {
        next(c);
        if (is_kw(c, 0, "symmetric") || is_kw(c, 0, "asymmetric")) {
            syntax(c, peek(c, 0), "the lower bound after BETWEEN");
            return NULL;
        }
        struct node *lo = parse_add(c), *hi;
        if (lo == NULL || expect_kw(c, "and", "AND in BETWEEN ... AND ..."))
            return NULL;
        if ((hi = parse_add(c)) == NULL || (n = mk(c, N_BETWEEN, t)) == NULL)
            return NULL;
        n->a = x;
        n->b = lo;
        n->c = hi;
        n->negate = negate;
        n->off = x->off;
        n->line = x->line;
        n->col = x->col;
        n->end = hi->end;
        return fix_depth(c, n) == 0 ? n : NULL;
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
    struct node *n = parse_not(c);
    while (n != NULL && is_kw(c, 0, "and")) {
        next(c);
        struct node *b = parse_not(c);
        if (b == NULL)
            return NULL;
        n = mk_bin(c, N_AND, n, b);
    }
    return n;
}


static struct node *
parse_or_inner(struct ctx *c)
{
    struct node *n = parse_and(c);
    while (n != NULL && is_kw(c, 0, "or")) {
        next(c);
        struct node *b = parse_and(c);
        if (b == NULL)
            return NULL;
        n = mk_bin(c, N_OR, n, b);
    }
    return n;
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
        return fail(c, FL_ENOMEM, t->line, t->col, "out of memory");
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
        return fail(c, FL_ECONFIG, t->line, t->col, "ORDER BY in a metric "
                    "takes one aggregate: the one its top groups are "
                    "picked by");
    if (tok_is_kw(c, t, "asc"))
        return fail(c, FL_ECONFIG, t->line, t->col, "ORDER BY ... ASC is "
                    "not supported in a metric: LIMIT keeps the largest "
                    "groups (ORDER BY <aggregate> DESC LIMIT n)");
    if (!tok_is_kw(c, t, "desc"))
        return fail(c, FL_ECONFIG, t->line, t->col, "ORDER BY in a metric "
                    "needs DESC: LIMIT keeps the largest groups "
                    "(ORDER BY <aggregate> DESC LIMIT n)");
    next(c);
    t = peek(c, 0);
    if (!tok_is_kw(c, t, "limit"))
        return fail(c, FL_ECONFIG, t->line, t->col, "ORDER BY in a metric "
                    "needs LIMIT n: it picks the top n groups of each "
                    "window");
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
            return fail(c, FL_ECONFIG, t->line, t->col, "LIMIT %.*s: a "
                        "metric keeps from 1 to %d groups per window",
                        (int)(t->len > 20 ? 20 : t->len), c->text + t->off,
                        FL_PLAN_MAX_TOP);
        s->limit = n;
    }
    return 0;
}


static int
parse_select(struct ctx *c, struct stmt *s)
{
    const struct tok *t = peek(c, 0);
    int rc;

    if (tok_is_kw(c, t, "with"))
        return fail(c, FL_ECONFIG, t->line, t->col, "WITH (common table "
                    "expressions) is not supported in a metric: a metric "
                    "reads one stream, flows");
    if (tok_is_op(c, t, "(") && (is_kw(c, 1, "select") || is_kw(c, 1, "with")))
        return subquery(c, peek(c, 1));
    if ((rc = expect_kw(c, "select", "SELECT")) != 0)
        return rc;
    if (is_kw(c, 0, "stream"))
        next(c);                                    /* KDA's SELECT STREAM */
    t = peek(c, 0);
    if (tok_is_kw(c, t, "distinct"))
        return fail(c, FL_ECONFIG, t->line, t->col, "SELECT DISTINCT is not "
                    "supported in a metric: GROUP BY already gives one row "
                    "per group");
    if (tok_is_kw(c, t, "all"))
        next(c);
    for (;;) {
        struct item *it;
        struct node *e = parse_or(c);
        if (e == NULL)
            return c->rc;
        if ((s->n_items & (s->n_items - 1)) == 0) {
            it = tmp_alloc(c, (s->n_items ? s->n_items * 2 : 1) * sizeof *it);
            if (it == NULL)
                return fail(c, FL_ENOMEM, e->line, e->col, "out of memory");
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
    if ((rc = expect_kw(c, "from", "',' or FROM")) != 0)
        return rc;

    t = peek(c, 0);
    if (tok_is_op(c, t, "("))
        return is_kw(c, 1, "select") || is_kw(c, 1, "with")
               ? subquery(c, peek(c, 1)) : syntax(c, t, "a table name");
    if (tok_is_kw(c, t, "table") || tok_is_kw(c, t, "tumble"))
        return fail(c, FL_ECONFIG, t->line, t->col, "window table functions "
                    "(TABLE ...) are not supported: write GROUP BY "
                    "TUMBLE(start, INTERVAL '15' MINUTE)");
    if (t->kind != TK_QIDENT && (t->kind != TK_IDENT || is_reserved(c, t)))
        return syntax(c, t, "a table name");
    next(c);
    {
        struct node *tn = parse_column(c, t);
        if (tn == NULL)
            return c->rc;
        if (tn->qual != NULL) {
            size_t a = strlen(tn->qual), b = strlen(tn->name);
            if ((s->table = tmp_alloc(c, a + b + 2)) == NULL)
                return fail(c, FL_ENOMEM, t->line, t->col, "out of memory");
            memcpy(s->table, tn->qual, a);
            s->table[a] = '.';
            memcpy(s->table + a + 1, tn->name, b + 1);
        } else {
            s->table = tn->name;
        }
        if (strcmp(s->table, "flows") != 0
            && strcmp(s->table, "flow_logs") != 0
            && strcmp(s->table, "vpc_flow_logs.flow_logs") != 0)
            return fail(c, FL_ECONFIG, t->line, t->col, "FROM %s: a metric "
                        "reads one stream, flows (also accepted: flow_logs, "
                        "vpc_flow_logs.flow_logs)", quote(c, tn));
    }
    if ((rc = parse_alias(c, &s->alias, NULL)) != 0)
        return rc;
    t = peek(c, 0);
    if (tok_is_op(c, t, ","))
        return fail(c, FL_ECONFIG, t->line, t->col, "JOIN is not supported "
                    "in a metric: a metric reads one stream, flows");

    if (is_kw(c, 0, "where")) {
        next(c);
        if ((s->where = parse_or(c)) == NULL)
            return c->rc;
    }
    if (is_kw(c, 0, "group")) {
        next(c);
        if ((rc = expect_kw(c, "by", "BY after GROUP")) != 0)
            return rc;
        for (;;) {
            struct node *g = parse_or(c);
            if (g == NULL)
                return c->rc;
            if (tmp_push(c, (void ***)&s->group, &s->n_group, g) != 0)
                return fail(c, FL_ENOMEM, g->line, g->col, "out of memory");
            if (!is_op(c, 0, ","))
                break;
            next(c);
        }
    }
    if (s->n_group > 0 && is_kw(c, 0, "order") && is_kw(c, 1, "by")) {
        if ((rc = parse_top(c, s)) != 0)
            return rc;
    }
    t = peek(c, 0);
    const char *why = clause_rejection(c, t);
    if (why != NULL)
        return fail(c, FL_ECONFIG, t->line, t->col, "%s", why);
    if (!tok_is_op(c, t, ";") && t->kind != TK_EOF)
        return syntax(c, t, s->order ? "the end of the statement"
                      : s->n_group ? "',', ORDER BY or the end of the statement"
                      : "WHERE, GROUP BY or the end of the statement");
    return 0;
}


/* Metric and alias names: [a-z_][a-z0-9_]* (Prometheus-safe). */
static int
name_ok(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
        return 0;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || *s == '_' || is_digit(*s)))
            return 0;
    return 1;
}


static int
parse_statement(struct ctx *c, struct stmt *s)
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
        return fail(c, FL_ENOMEM, t->line, t->col, "out of memory");
    if (!name_ok(s->name))
        return fail(c, FL_ECONFIG, t->line, t->col, "bad metric name %s: "
                    "use lower-case letters, digits and _, starting with a "
                    "letter or _", quote_tok(c, t));
    if ((rc = expect_kw(c, "as", "AS after the metric name")) != 0)
        return rc;
    if ((rc = parse_select(c, s)) != 0)
        return rc;
    /* The statement text ends with its last token, before ';'. */
    s->text_end = c->toks[c->pos - 1].off + c->toks[c->pos - 1].len;
    return 0;
}


/* ---------------------------------------------------------------------
 * Compiler: syntax tree -> plan
 */

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
    return fail_at(c, FL_ECONFIG, f, "unknown function %s(): a metric "
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
        return fail_at(c, FL_ECONFIG, n, "unknown column %s: the SQL "
                       "name of the AWS field %s is %s", name, name,
                       fl_field_get(id)->sql_name);
    return fail_at(c, FL_ECONFIG, n, "arithmetic is not supported in a "
                   "metric: %s", quote(c, n));
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
        return fail_at(c, FL_ECONFIG, f, "aggregates are not allowed in "
                       "%s: %s", where, quote(c, f));
    }
    switch (n->kind) {
    case N_ARITH:
    case N_NEG:
        return reject_arith(c, n);
    case N_FUNC:
        if (is_window_name(n->name))
            return fail_at(c, FL_ECONFIG, n, "%s belongs in GROUP BY (and "
                           "may be repeated in SELECT), not in %s",
                           quote(c, n), where);
        if (strcmp(n->name, "cidr_contains") == 0)
            return fail_at(c, FL_ECONFIG, n, "cidr_contains() is a "
                           "condition: use it in WHERE, not in %s", where);
        return fail_at(c, FL_ECONFIG, n, "%s() is not allowed in %s: %s",
                       n->name, where, quote(c, n));
    case N_INTERVAL:
        return fail_at(c, FL_ECONFIG, n, "%s is only allowed as the size of "
                       "a TUMBLE or STEP window", quote(c, n));
    case N_STAR:
        return fail_at(c, FL_ECONFIG, n, "* is only allowed in COUNT(*)");
    default:
        return fail_at(c, FL_ECONFIG, n, "%s is not allowed in %s",
                       quote(c, n), where);
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
    return fail_at(c, FL_ECONFIG, n, "unknown table %s in %s: a metric "
                   "reads one stream, %s%s%s", n->qual, quote(c, n),
                   s->table, s->alias ? " AS " : "", s->alias ? s->alias : "");
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
        return fail_at(c, FL_ECONFIG, n, "unknown column \"%s\": the SQL "
                       "name of the AWS field %s is %s", n->name, n->name,
                       fl_field_get(f)->sql_name);
    if (strcmp(n->name, "arrival") == 0 || strcmp(n->name, "rowtime") == 0)
        return fail_at(c, FL_ECONFIG, n, "%s is only a window time: "
                       "GROUP BY TUMBLE(%s, INTERVAL ...)", n->name,
                       n->name);
    return fail_at(c, FL_ECONFIG, n, "unknown column %s", n->name);
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
            return fail_at(c, FL_ECONFIG, n, "TUMBLE with an offset (a third "
                           "argument) is not supported: windows are aligned "
                           "to the epoch");
        return fail_at(c, FL_ECONFIG, n, "%s: expected %s", quote(c, n),
                       n->step || strcmp(fn, "step") == 0
                       ? "STEP(<time> BY INTERVAL '<n>' <unit>)"
                       : "TUMBLE(<time>, INTERVAL '<n>' <unit>)");
    }
    tc = n->args[0];
    iv = n->args[1];
    if (tc->kind != N_COL)
        return fail_at(c, FL_ECONFIG, tc, "the time of a window must be "
                       "start, end, arrival or ROWTIME, not %s", quote(c, tc));
    if ((rc = check_qual(c, s, tc)) != 0)
        return rc;
    if (strcmp(tc->name, "arrival") == 0 || strcmp(tc->name, "rowtime") == 0) {
        *time = FL_TIME_ARRIVAL;
    } else {
        if ((rc = resolve(c, s, tc, &id)) != 0)
            return rc;
        if (id != FL_F_START && id != FL_F_END)
            return fail_at(c, FL_ECONFIG, tc, "the time of a window must be "
                           "start, end, arrival or ROWTIME, not %s",
                           col_name(id));
        *time = id == FL_F_START ? FL_TIME_START : FL_TIME_END;
    }
    if (iv->kind != N_INTERVAL)
        return fail_at(c, FL_ECONFIG, iv, "the size of a window must be an "
                       "INTERVAL ('15' MINUTE), not %s", quote(c, iv));
    if (iv->i < 1)
        return fail_at(c, FL_ECONFIG, iv, "window %s is too short: at least "
                       "1 second", quote(c, iv));
    if (iv->i > MAX_WINDOW)
        return fail_at(c, FL_ECONFIG, iv, "window %s is too long: at most 7 "
                       "days", quote(c, iv));
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
        return fail_at(c, FL_ECONFIG, v, "a comparison with NULL is never "
                       "true: write %s IS NULL or %s IS NOT NULL",
                       f->sql_name, f->sql_name);
    if (f->type == FL_TYPE_STRING) {
        if (v->kind != N_STR)
            return fail_at(c, FL_ECONFIG, v, "cannot compare %s (VARCHAR) "
                           "with %s: quote the value ('...')", f->sql_name,
                           quote(c, v));
        if ((out->s = fl_strndup(v->s, v->slen)) == NULL)
            return fail_at(c, FL_ENOMEM, v, "out of memory");
        out->len = v->slen;
        return 0;
    }
    int is_time = id == FL_F_START || id == FL_F_END;
    switch (v->kind) {
    case N_INT:
        if (v->big)
            return fail_at(c, FL_ECONFIG, v, "integer %s is out of range "
                           "(64-bit)", quote(c, v));
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
    return fail_at(c, FL_ECONFIG, v, "cannot compare %s (%s) with %s",
                   f->sql_name, fl_type_sql(f->type), quote(c, v));
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
        fail_at(c, FL_ENOMEM, at, "out of memory");
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
            return fail_at(c, FL_ECONFIG, whole, "a comparison needs a "
                           "column: %s", quote(c, whole));
        return reject(c, is_lit(x) ? y : x, "WHERE");
    }
    if (is_window_col(x))
        return fail_at(c, FL_ECONFIG, x, "%s can only be selected, not "
                       "used in WHERE", x->name);
    if ((rc = resolve(c, s, x, &id)) != 0)
        return rc;
    if (y->kind == N_COL) {
        if ((rc = resolve(c, s, y, &id2)) != 0)
            return rc;
        if (is_int_type(id) != is_int_type(id2))
            return fail_at(c, FL_ECONFIG, whole, "cannot compare %s (%s) "
                           "with %s (%s)", col_name(id),
                           fl_type_sql(fl_field_get(id)->type), col_name(id2),
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
        return fail_at(c, FL_ENOMEM, whole, "out of memory");
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
        return fail_at(c, FL_ECONFIG, n, "%s needs a column, not %s", what,
                       quote(c, n));
    return reject(c, n, "WHERE");
}


static int
compile_pred(struct ctx *c, const struct stmt *s, const struct node *n,
             struct fl_pred **out)
{
    struct fl_pred *p = NULL, *a = NULL, *b = NULL;
    int rc = 0, id;

    switch (n->kind) {
    case N_AND:
    case N_OR:
        if ((rc = compile_pred(c, s, n->a, &a)) != 0)
            return rc;
        if ((rc = compile_pred(c, s, n->b, &b)) != 0)
            break;
        if ((p = new_pred(c, n->kind == N_AND ? FL_PRED_AND : FL_PRED_OR,
                          n)) == NULL) {
            rc = c->rc;
            break;
        }
        p->a = a;
        p->b = b;
        *out = p;
        return 0;
    case N_NOT:
        if ((rc = compile_pred(c, s, n->a, &a)) != 0)
            return rc;
        if ((p = new_pred(c, FL_PRED_NOT, n)) == NULL) {
            rc = c->rc;
            break;
        }
        p->a = a;
        *out = p;
        return 0;
    case N_CMP:
        return compile_cmp(c, s, n, n->a, n->cmp, n->b, out);
    case N_BETWEEN:
        if ((rc = compile_cmp(c, s, n, n->a, FL_CMP_GE, n->b, &a)) != 0)
            return rc;
        if ((rc = compile_cmp(c, s, n, n->a, FL_CMP_LE, n->c, &b)) != 0)
            break;
        if ((p = new_pred(c, FL_PRED_AND, n)) == NULL) {
            rc = c->rc;
            break;
        }
        p->a = a;
        p->b = b;
        a = b = NULL;
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
    case N_IN:
        if ((rc = operand_column(c, s, n->a, "IN", &id)) != 0)
            return rc;
        if ((p = new_pred(c, FL_PRED_IN, n)) == NULL)
            return c->rc;
        p->column = id;
        p->negate = n->negate;
        if ((p->lits = fl_calloc(n->n_args, sizeof *p->lits)) == NULL) {
            rc = fail_at(c, FL_ENOMEM, n, "out of memory");
            break;
        }
        for (size_t i = 0; i < n->n_args; i++) {
            const struct node *v = n->args[i];
            if (v->kind == N_NULL) {
                rc = fail_at(c, FL_ECONFIG, v, "NULL in an IN list is not "
                             "supported: write %s IS NULL OR %s IN (...)",
                             col_name(id), col_name(id));
                break;
            }
            if (!is_lit(v)) {
                rc = v->kind == N_COL
                     ? fail_at(c, FL_ECONFIG, v, "an IN list holds literals, "
                               "not columns: %s", quote(c, v))
                     : reject(c, v, "WHERE");
                break;
            }
            if ((rc = coerce(c, id, v, &p->lits[i])) != 0)
                break;
            p->n_lits++;
        }
        if (rc != 0)
            break;
        *out = p;
        return 0;
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
        if (strcmp(n->name, "cidr_contains") == 0) {
            const struct node *net, *col;
            struct fl_cidr cidr;
            char buf[64];
            if (n->n_args != 2 || n->star || n->distinct)
                return fail_at(c, FL_ECONFIG, n, "%s: expected "
                               "cidr_contains('<network>', <column>)",
                               quote(c, n));
            net = n->args[0];
            col = n->args[1];
            if (net->kind != N_STR)
                return fail_at(c, FL_ECONFIG, net, "cidr_contains: the "
                               "network must be a string literal such as "
                               "'10.0.0.0/8', not %s", quote(c, net));
            if ((rc = operand_column(c, s, col, "cidr_contains", &id)) != 0)
                return rc;
            if (is_int_type(id))
                return fail_at(c, FL_ECONFIG, col, "cidr_contains needs a "
                               "text column (an address); %s is %s",
                               col_name(id), fl_type_sql(fl_field_get(id)->type));
            if (fl_cidr_parse(net->s, net->slen, &cidr) != 0)
                return fail_at(c, FL_ECONFIG, net, "cidr_contains: %s is not "
                               "an IPv4 or IPv6 network", quote(c, net));
            if (fl_cidr_host_bits(&cidr)) {
                fl_cidr_mask(&cidr);
                return fail_at(c, FL_ECONFIG, net, "cidr_contains: %s has "
                               "host bits set (did you mean '%s'?)",
                               quote(c, net),
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
        return reject(c, n, "WHERE");
    case N_COL:
        return fail_at(c, FL_ECONFIG, n, "WHERE needs a condition, and %s "
                       "is a column: compare it (%s = ...)", quote(c, n),
                       quote(c, n));
    case N_BOOL:
    case N_INT:
    case N_STR:
    case N_NULL:
    case N_TS:
        return fail_at(c, FL_ECONFIG, n, "a constant condition (%s) is not "
                       "supported: compare a column", quote(c, n));
    default:
        return reject(c, n, "WHERE");
    }
    fl_plan_pred_free(a);
    fl_plan_pred_free(b);
    fl_plan_pred_free(p);
    return rc;
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
            return fail_at(c, FL_ECONFIG, n, "%s(*) is not supported: "
                           "%s needs a column", up, up);
        *kind = FL_AGG_COUNT_STAR;
        *column = -1;
        return 0;
    }
    if (n->n_args != 1)
        return fail_at(c, FL_ECONFIG, n, "%s: %s takes one column",
                       quote(c, n), up);
    if (n->distinct && strcmp(fn, "count") != 0)
        return fail_at(c, FL_ECONFIG, n, "%s: DISTINCT is only supported "
                       "in COUNT(DISTINCT <column>)", quote(c, n));
    arg = n->args[0];
    if (arg->kind != N_COL || is_window_col(arg)) {
        const struct node *f = find_bad_func(arg, 1);
        if (f != NULL && !is_known_func(f->name))
            return unknown_func(c, f);
        if (f != NULL || find_bad_func(arg, 0) != NULL)
            return fail_at(c, FL_ECONFIG, n, "nested aggregates are not "
                           "supported: %s", quote(c, n));
        return fail_at(c, FL_ECONFIG, n, "%s: the argument of %s must be a "
                       "column, not an expression", quote(c, n), up);
    }
    if ((rc = resolve(c, s, arg, &id)) != 0)
        return rc;
    if (strcmp(fn, "count") == 0) {
        *kind = n->distinct ? FL_AGG_COUNT_DISTINCT : FL_AGG_COUNT;
    } else {
        if (!is_int_type(id))
            return fail_at(c, FL_ECONFIG, n, "%s: %s needs a numeric "
                           "column; %s is text", quote(c, n), up,
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
        return fail_at(c, FL_ECONFIG, o, "ORDER BY ... LIMIT keeps the top "
                       "groups of a metric with dimensions: %s has none "
                       "(add the columns to GROUP BY)", s->name);
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
        return fail_at(c, FL_ECONFIG, o, "ORDER BY %s: order a metric by one "
                       "of its aggregates, by its alias or as written in "
                       "SELECT", quote(c, o));
    for (size_t i = 0; i < p->n_aggs; i++) {
        enum fl_agg_kind k = p->aggs[i].kind;
        if (k != FL_AGG_COUNT_STAR && k != FL_AGG_COUNT && k != FL_AGG_SUM)
            return fail_at(c, FL_ECONFIG, agg_items[i]->e, "%s in a metric "
                           "with LIMIT: only COUNT and SUM are supported "
                           "there, because the groups beyond the limit are "
                           "added into one 'other' group",
                           quote(c, agg_items[i]->e));
    }
    p->top_agg = found;
    p->top_n = (size_t)s->limit;
    return 0;
}


static int
compile_statement(struct ctx *c, const struct stmt *s,
                  struct fl_metric_plan *p)
{
    int have_window = 0, rc, line;
    size_t n_aggs = 0;
    const struct item **agg_items = NULL;
    char *selected = NULL;

    p->line = s->create_tok->line;
    p->time = c->time_default;
    p->window = c->window_default;
    if ((p->name = fl_strdup(s->name)) == NULL
        || (p->text = fl_strndup(c->text + s->create_tok->off,
                                 s->text_end - s->create_tok->off)) == NULL
        || (p->dims = fl_calloc(s->n_group + 1, sizeof *p->dims)) == NULL
        || (p->aggs = fl_calloc(s->n_items, sizeof *p->aggs)) == NULL
        || (agg_items = tmp_alloc(c, s->n_items * sizeof *agg_items)) == NULL
        || (selected = tmp_alloc(c, s->n_group + 1)) == NULL)
        return fail(c, FL_ENOMEM, p->line, s->create_tok->col,
                    "out of memory");
    if ((line = name_taken(c, p, s->name)) != 0)
        return fail(c, FL_ECONFIG, s->name_tok->line, s->name_tok->col,
                    "duplicate metric name %s (already defined at line %d)",
                    s->name, line);

    /* GROUP BY: dimensions and the window. */
    for (size_t i = 0; i < s->n_group; i++) {
        const struct node *g = s->group[i];
        int id;
        if (g->kind == N_FUNC && is_window_name(g->name)) {
            if (have_window)
                return fail_at(c, FL_ECONFIG, g, "a metric has one window: "
                               "a second window %s", quote(c, g));
            if ((rc = compile_window(c, s, g, &p->time, &p->window)) != 0)
                return rc;
            have_window = 1;
            continue;
        }
        if (is_window_col(g)) {
            if ((rc = check_qual(c, s, g)) != 0)
                return rc;
            continue;
        }
        if (g->kind != N_COL) {
            if (g->kind == N_INT)
                return fail_at(c, FL_ECONFIG, g, "GROUP BY %s: group by "
                               "column names, not positions", quote(c, g));
            if (find_bad_func(g, 0) != NULL || g->kind == N_ARITH
                || g->kind == N_NEG)
                return reject(c, g, "GROUP BY");
            return fail_at(c, FL_ECONFIG, g, "GROUP BY accepts columns and "
                           "one TUMBLE or STEP window, not %s", quote(c, g));
        }
        if ((rc = resolve(c, s, g, &id)) != 0)
            return rc;
        size_t k;
        for (k = 0; k < p->n_dims && p->dims[k] != id; k++)
            ;
        if (k == p->n_dims)
            p->dims[p->n_dims++] = id;
    }

    /* SELECT: dimensions, aggregates, the window again. */
    for (size_t i = 0; i < s->n_items; i++) {
        const struct item *it = &s->items[i];
        const struct node *e = it->e;
        if (e->kind == N_COL) {
            int id;
            size_t k;
            if (is_window_col(e)) {
                if ((rc = check_qual(c, s, e)) != 0)
                    return rc;
                continue;
            }
            if ((rc = resolve(c, s, e, &id)) != 0)
                return rc;
            for (k = 0; k < p->n_dims && p->dims[k] != id; k++)
                ;
            if (k == p->n_dims)
                return fail_at(c, FL_ECONFIG, e, "column %s is selected but "
                               "not in GROUP BY: a metric's selected columns "
                               "are its dimensions", col_name(id));
            selected[k] = 1;
            continue;
        }
        if (e->kind == N_FUNC && is_agg_name(e->name)) {
            enum fl_agg_kind kind = FL_AGG_COUNT_STAR;
            int col = -1;
            if ((rc = compile_agg(c, s, e, &kind, &col)) != 0)
                return rc;
            agg_items[n_aggs] = it;
            p->aggs[n_aggs].kind = kind;
            p->aggs[n_aggs].column = col;
            n_aggs++;
            continue;
        }
        if (e->kind == N_FUNC && (is_window_name(e->name)
                                  || strcmp(e->name, "tumble_start") == 0
                                  || strcmp(e->name, "tumble_end") == 0)) {
            enum fl_time_basis t;
            int64_t len;
            if ((rc = compile_window(c, s, e, &t, &len)) != 0)
                return rc;
            if (!have_window)
                return fail_at(c, FL_ECONFIG, e, "%s in SELECT needs the "
                               "same window in GROUP BY", quote(c, e));
            if (t != p->time || len != p->window)
                return fail_at(c, FL_ECONFIG, e, "%s in SELECT is not the "
                               "GROUP BY window", quote(c, e));
            continue;
        }
        if (e->kind == N_STAR)
            return fail_at(c, FL_ECONFIG, e, "SELECT * is not supported in a "
                           "metric: select the GROUP BY columns and "
                           "aggregates");
        if (is_lit(e))
            return fail_at(c, FL_ECONFIG, e, "a constant in SELECT (%s) is "
                           "not supported: select the GROUP BY columns and "
                           "aggregates", quote(c, e));
        {
            const struct node *f = find_bad_func(e, 1);
            if (f != NULL)
                return unknown_func(c, f);
        }
        if (e->kind == N_ARITH || e->kind == N_NEG)
            return reject_arith(c, e);
        return fail_at(c, FL_ECONFIG, e, "SELECT accepts the GROUP BY "
                       "columns, aggregates and the window, not %s",
                       quote(c, e));
    }
    for (size_t k = 0; k < p->n_dims; k++) {
        if (!selected[k]) {
            for (size_t i = 0; i < s->n_group; i++) {
                const struct node *g = s->group[i];
                int id;
                if (g->kind == N_COL && !is_window_col(g)
                    && resolve(c, s, g, &id) == 0 && id == p->dims[k])
                    return fail_at(c, FL_ECONFIG, g, "GROUP BY column %s "
                                   "must also be selected: a metric's "
                                   "dimensions are its selected columns",
                                   col_name(id));
            }
        }
    }
    if (n_aggs == 0)
        return fail(c, FL_ECONFIG, s->create_tok->line, s->create_tok->col,
                    "metric %s has no aggregate: select COUNT(*), COUNT, "
                    "SUM, MIN, MAX or AVG", s->name);

    /* Metric names. */
    for (size_t i = 0; i < n_aggs; i++) {
        const struct item *it = agg_items[i];
        char *m;
        if (n_aggs == 1) {
            m = fl_strdup(s->name);
        } else {
            size_t a, b;
            if (it->alias == NULL)
                return fail_at(c, FL_ECONFIG, it->e, "%s needs an alias (AS "
                               "name): a metric with several aggregates "
                               "names each one %s_<alias>", quote(c, it->e),
                               s->name);
            if (!name_ok(it->alias))
                return fail(c, FL_ECONFIG, it->alias_tok->line,
                            it->alias_tok->col, "bad alias %s: use lower-"
                            "case letters, digits and _, starting with a "
                            "letter or _", quote_tok(c, it->alias_tok));
            a = strlen(s->name);
            b = strlen(it->alias);
            if ((m = fl_malloc(a + b + 2)) != NULL) {
                memcpy(m, s->name, a);
                m[a] = '_';
                memcpy(m + a + 1, it->alias, b + 1);
            }
        }
        if (m == NULL)
            return fail_at(c, FL_ENOMEM, it->e, "out of memory");
        if ((line = name_taken(c, p, m)) != 0) {
            const struct tok *at = n_aggs == 1 ? s->name_tok : it->alias_tok;
            fail(c, FL_ECONFIG, at->line, at->col, "duplicate metric name "
                 "%s (already defined at line %d)", m, line);
            fl_free(m);
            return c->rc;
        }
        p->aggs[i].metric = m;
        p->n_aggs = i + 1;
    }

    if (s->order != NULL && (rc = compile_top(c, s, p, agg_items)) != 0)
        return rc;

    if (s->where != NULL) {
        const struct node *f = find_bad_func(s->where, 0);
        if (f != NULL)
            return reject(c, f, "WHERE");
        if ((rc = compile_pred(c, s, s->where, &p->where)) != 0)
            return rc;
    }
    return 0;
}


static int
add_plan(struct ctx *c, struct fl_metric_plan *p)
{
    struct fl_metric_plan *grown = fl_realloc(c->out.plan,
                                              (c->out.n + 1) * sizeof *grown);
    if (grown == NULL)
        return fail(c, FL_ENOMEM, p->line, 1, "out of memory");
    grown[c->out.n++] = *p;
    c->out.plan = grown;
    return 0;
}


int
fl_plan_compile(const char *text, size_t len, const char *origin,
                int64_t window_default, enum fl_time_basis time_default,
                struct fl_metric_plans *out, char *err, size_t errlen)
{
    struct ctx c;
    int rc;

    memset(&c, 0, sizeof c);
    c.text = text;
    c.len = len;
    c.origin = origin != NULL ? origin : "metrics";
    c.window_default = window_default;
    c.time_default = time_default;
    c.err = err;
    c.errlen = errlen;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (window_default < 1 || window_default > MAX_WINDOW) {
        fail(&c, FL_ECONFIG, 1, 1, "the default window (%lld s) must be "
             "1 second to 7 days", (long long)window_default);
        return c.rc;
    }
    if ((rc = lex(&c)) != 0) {
        fail(&c, rc, 1, 1, "out of memory");
        goto out;
    }
    for (;;) {
        struct stmt s;
        struct fl_metric_plan p;
        while (is_op(&c, 0, ";"))
            next(&c);
        if (peek(&c, 0)->kind == TK_EOF)
            break;
        memset(&s, 0, sizeof s);
        memset(&p, 0, sizeof p);
        if (parse_statement(&c, &s) != 0
            || compile_statement(&c, &s, &p) != 0
            || add_plan(&c, &p) != 0) {
            fl_plan_one_free(&p);
            break;
        }
        tmp_free_all(&c);
    }
out:
    tmp_free_all(&c);
    fl_free(c.toks);
    if (c.rc != 0) {
        fl_plan_free(&c.out);
        return c.rc;
    }
    *out = c.out;
    return 0;
}
