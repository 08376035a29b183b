/* SPDX-License-Identifier: MIT
 *
 * sql_lex.c -- the metric-SQL tokenizer, stage 1 of the compiler (sql.c):
 * the whole text to the token list c->toks, ending with TK_EOF.
 *
 * A lexical error (unterminated string or comment, stray character) ends
 * the list with a TK_ERROR token at its place and its message in
 * c->lex_msg; the parser reports it when it reaches that token, so errors
 * are still reported in text order. Relies on sql_int.h's token types
 * only; the one error returned is FL_ENOMEM.
 */
#include "../core/fl_config.h"

#include <stdio.h>
#include <string.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "sql_int.h"


static int
push_tok(struct ctx *c, enum tk kind, size_t off, size_t len, int line,
         int col)
{
    struct tok *t = fl_grow(c->toks, &c->cap_toks, c->n_toks + 1, sizeof *t,
                            64);
    if (t == NULL)
        return FL_ENOMEM;
    c->toks = t;
    c->toks[c->n_toks].kind = kind;
    c->toks[c->n_toks].off = off;
    c->toks[c->n_toks].len = len;
    c->toks[c->n_toks].line = line;
    c->toks[c->n_toks].col = col;
    c->n_toks++;
    return 0;
}


/* Where the tokenizer is: the next byte, its line, where that line
 * starts (columns are counted from there, 1-based). */
struct lexpos {
    size_t i, line_start;
    int    line;
};


/* Skips whitespace and comments up to the next token or the end of the
 * text. An unterminated comment ends the token list with an error token:
 * *done is set and the push's result returned. */
static int
skip_blank(struct ctx *c, struct lexpos *p, int *done)
{
    const char *s = c->text;
    size_t i = p->i, n = c->len;

    while (i < n) {
        char ch = s[i];
        if (ch == '\n') {
            p->line++;
            p->line_start = ++i;
        } else if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f'
                   || ch == '\v') {
            i++;
        } else if (ch == '-' && i + 1 < n && s[i + 1] == '-') {
            while (i < n && s[i] != '\n')
                i++;
        } else if (ch == '/' && i + 1 < n && s[i + 1] == '*') {
            size_t start = i;
            int sline = p->line, scol = (int)(i - p->line_start) + 1;
            i += 2;
            while (i < n && !(s[i] == '*' && i + 1 < n && s[i + 1] == '/')) {
                if (s[i] == '\n') {
                    p->line++;
                    p->line_start = i + 1;
                }
                i++;
            }
            if (i >= n) {
                snprintf(c->lex_msg, sizeof c->lex_msg,
                         "unterminated /* comment");
                *done = 1;
                return push_tok(c, TK_ERROR, start, 2, sline, scol);
            }
            i += 2;
        } else {
            break;
        }
    }
    p->i = i;
    return 0;
}


/* A 'string' or "quoted identifier" at p (col: its column), '' and ""
 * escapes kept as written, pushed as one token. Unterminated, or an empty
 * "", ends the token list with an error token: *done is set and the
 * push's result returned. */
static int
lex_quoted(struct ctx *c, struct lexpos *p, int col, int *done)
{
    const char *s = c->text;
    size_t i = p->i, n = c->len, start = i;
    unsigned char ch = (unsigned char)s[i];
    int sline = p->line;
    enum tk kind;

    i++;
    for (;;) {
        if (i >= n) {
            snprintf(c->lex_msg, sizeof c->lex_msg, "%s",
                     ch == '\'' ? "unterminated string literal"
                                : "unterminated quoted identifier");
            *done = 1;
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
            p->line++;
            p->line_start = i + 1;
        }
        i++;
    }
    p->i = i;
    kind = ch == '\'' ? TK_STRING : TK_QIDENT;
    if (kind == TK_QIDENT && i - start == 2) {
        snprintf(c->lex_msg, sizeof c->lex_msg,
                 "empty quoted identifier \"\"");
        *done = 1;
        return push_tok(c, TK_ERROR, start, 2, sline, col);
    }
    return push_tok(c, kind, start, i - start, sline, col);
}


/* Tokenizes the whole text. Only -ENOMEM is returned as an error; a
 * lexical error ends the token list with a TK_ERROR token. */
int
fl_sql_lex(struct ctx *c)
{
    const char *s = c->text;
    struct lexpos p = { .i = 0, .line_start = 0, .line = 1 };
    size_t n = c->len;
    int rc, done = 0;

    for (;;) {
        if ((rc = skip_blank(c, &p, &done)) != 0 || done)
            return rc;
        int col = (int)(p.i - p.line_start) + 1;
        if (p.i >= n)
            return push_tok(c, TK_EOF, n, 0, p.line, col);
        size_t start = p.i, i = p.i;
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
            if ((rc = lex_quoted(c, &p, col, &done)) != 0 || done)
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
                return push_tok(c, TK_ERROR, start, 1, p.line, col);
            }
        }
        p.i = i;
        if ((rc = push_tok(c, kind, start, i - start, p.line, col)) != 0)
            return rc;
    }
}
