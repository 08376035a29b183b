/* SPDX-License-Identifier: MIT
 *
 * sql.c -- the metric-SQL compiler: fl_plan_compile() (plan.h), the
 * language of docs/metrics.md; and what its stages share (sql_int.h):
 * error messages and the syntax-tree arena.
 *
 * Three stages per metrics file, each in a source file of its own:
 *   1. the tokenizer (sql_lex.c) turns the whole text into tokens. A
 *      lexical error (unterminated string, stray character) becomes an
 *      error token at its place, so errors are still reported in text
 *      order;
 *   2. a recursive-descent parser (sql_parse.c) builds, per statement, a
 *      small syntax tree of ordinary SQL (arithmetic, any function name,
 *      subqueries are recognised) so that what the engine cannot run is
 *      rejected by name rather than as "syntax error";
 *   3. the compiler (sql_compile.c) checks the tree against the rules of
 *      an incremental metric (one stream, dimensions = GROUP BY columns,
 *      aggregates over plain columns, a WHERE of column-vs-literal tests)
 *      and emits a struct fl_metric_plan with every literal already
 *      coerced.
 * This file runs them: tokenize once, then parse and compile statement
 * after statement.
 *
 * Syntax trees live in a per-statement arena freed after each statement;
 * plans are ordinary fl_malloc'ed structs (plan.c frees them). The tree
 * depth is capped (MAX_DEPTH), which bounds every recursion in the
 * compiler, in plan.c's free and in the engine's predicate evaluation.
 *
 * Errors: "ORIGIN:LINE:COL: message", FL_EPARSE for syntax, FL_ECONFIG for
 * valid SQL a metric cannot be (and for unknown names and type errors).
 */
#include "../core/fl_config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "plan.h"
#include "plan_int.h"
#include "sql_int.h"


/* ---------------------------------------------------------------------
 * Errors
 */

int
fl_sql_fail(struct ctx *c, int rc, int line, int col, const char *fmt, ...)
{
    if (c->rc != 0)
        return c->rc;
    c->rc = rc;
    if (c->err != NULL) {
        char msg[FL_ERR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        if (vsnprintf(msg, sizeof msg, fmt, ap) < 0)
            msg[0] = '\0';
        va_end(ap);
        fl_err_set(c->err, rc, "%s:%d:%d: %s", c->origin, line, col, msg);
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


const char *
fl_sql_quote(struct ctx *c, const struct node *n)
{
    return quote_span(c, n->off, n->end);
}


const char *
fl_sql_quote_tok(struct ctx *c, const struct tok *t)
{
    if (t->kind == TK_EOF)
        return "end of input";
    return quote_span(c, t->off, t->off + t->len);
}


int
fl_sql_fail_at(struct ctx *c, int rc, const struct node *n, const char *fmt,
               ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fl_sql_fail(c, rc, n->line, n->col, "%s", msg);
}


/* ---------------------------------------------------------------------
 * Arena
 */

void *
fl_sql_tmp_alloc(struct ctx *c, size_t n)
{
    struct blk *b = fl_calloc(1, sizeof *b + n);
    if (b == NULL)
        return NULL;
    b->next = c->arena;
    c->arena = b;
    return b->data;
}


void
fl_sql_tmp_free_all(struct ctx *c)
{
    while (c->arena != NULL) {
        struct blk *b = c->arena;
        c->arena = b->next;
        fl_free(b);
    }
}


/* ---------------------------------------------------------------------
 * Driver
 */

static int
add_plan(struct ctx *c, struct fl_metric_plan *p)
{
    struct fl_metric_plan *grown = fl_realloc(c->out.plan,
                                              (c->out.n + 1) * sizeof *grown);
    if (grown == NULL)
        return fl_sql_fail(c, FL_ENOMEM, p->line, 1, FL_OOM_TEXT);
    grown[c->out.n++] = *p;
    c->out.plan = grown;
    return 0;
}


int
fl_plan_compile(const char *text, size_t len, const char *origin,
                int64_t window_default, enum fl_time_basis time_default,
                struct fl_metric_plans *out, struct fl_err *err)
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
    if (window_default < 1 || window_default > MAX_WINDOW) {
        fl_sql_fail(&c, FL_ECONFIG, 1, 1, "the default window (%lld s) must "
                    "be 1 second to 7 days", (long long)window_default);
        return c.rc;
    }
    if ((rc = fl_sql_lex(&c)) != 0) {
        fl_sql_fail(&c, rc, 1, 1, FL_OOM_TEXT);
        goto out;
    }
    for (;;) {
        struct stmt s;
        struct fl_metric_plan p;
        if (fl_sql_at_end(&c))
            break;
        memset(&s, 0, sizeof s);
        memset(&p, 0, sizeof p);
        if (fl_sql_parse_statement(&c, &s) != 0
            || fl_sql_compile_statement(&c, &s, &p) != 0
            || add_plan(&c, &p) != 0) {
            fl_plan_one_free(&p);
            break;
        }
        fl_sql_tmp_free_all(&c);
    }
out:
    fl_sql_tmp_free_all(&c);
    fl_free(c.toks);
    if (c.rc != 0) {
        fl_plan_free(&c.out);
        return c.rc;
    }
    *out = c.out;
    return 0;
}
