/* SPDX-License-Identifier: MIT
 *
 * sql_int.h -- what the stages of the metric-SQL compiler share (sql.c,
 * sql_lex.c, sql_parse.c, sql_compile.c); not part of its contract, which
 * is fl_plan_compile() in plan.h.
 *
 * One struct ctx carries a whole compilation: the text, the token list the
 * tokenizer fills, the parser's place in it, the per-statement arena that
 * holds the syntax trees, the plans made so far and the first error. The
 * functions below that can fail record the error in the ctx (the first
 * one wins) and return it.
 */
#ifndef FL_SQL_INT_H
#define FL_SQL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "../core/fl_compiler.h"
#include "../core/fl_time.h"
#include "plan.h"

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
    struct fl_err         *err;         /* NULL: not wanted */
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
 * Character classes and literals (every stage)
 */

static inline int
is_alpha(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}


static inline int
is_digit(int ch)
{
    return ch >= '0' && ch <= '9';
}


/* 'YYYY-MM-DD[( |T)HH:MM[:SS]]', UTC, to epoch seconds. */
static inline int
parse_timestamp(const char *s, size_t len, int64_t *out)
{
    return fl_time_parse_iso8601(s, len, 0, out);
}


/* ---------------------------------------------------------------------
 * sql.c: errors and the arena
 */

/* Records the first error as "ORIGIN:LINE:COL: message" in c->err;
 * returns c->rc (rc, or the earlier error). */
int fl_sql_fail(struct ctx *c, int rc, int line, int col,
                const char *fmt, ...) FL_PRINTF(5, 6);

/* fl_sql_fail() at a syntax-tree node's place. */
int fl_sql_fail_at(struct ctx *c, int rc, const struct node *n,
                   const char *fmt, ...) FL_PRINTF(4, 5);

/* A node's / a token's source text for a message (sql.c says how it is
 * cut); valid until the second call after this one. */
const char *fl_sql_quote(struct ctx *c, const struct node *n);
const char *fl_sql_quote_tok(struct ctx *c, const struct tok *t);

/* n zeroed bytes in the statement's arena (NULL: out of memory), all
 * freed by fl_sql_tmp_free_all(). */
void *fl_sql_tmp_alloc(struct ctx *c, size_t n);
void  fl_sql_tmp_free_all(struct ctx *c);


/* ---------------------------------------------------------------------
 * The stages
 */

/* sql_lex.c: tokenizes the whole text into c->toks. */
int fl_sql_lex(struct ctx *c);

/* sql_parse.c: skips the ';' between statements; 1 when no statement is
 * left. */
int fl_sql_at_end(struct ctx *c);

/* sql_parse.c: parses the statement at the current token into *s. */
int fl_sql_parse_statement(struct ctx *c, struct stmt *s);

/* sql_parse.c: metric and alias names, [a-z_][a-z0-9_]*. */
int fl_sql_name_ok(const char *s);

/* sql_compile.c: compiles a parsed statement into *p (on an error *p may
 * hold part of a plan: fl_plan_one_free() it). */
int fl_sql_compile_statement(struct ctx *c, const struct stmt *s,
                             struct fl_metric_plan *p);

#endif /* FL_SQL_INT_H */
