/* SPDX-License-Identifier: MIT
 *
 * sqllex.c -- the little of SQL's lexical structure the sandbox needs
 * (sandbox.c): where a statement begins after whitespace and comments,
 * where one statement of a script ends, and the prefix of an EXPLAIN.
 *
 * None of this decides whether SQL may run: DuckDB's parser does. The
 * splitter only finds which statement to name in an error message, and
 * the EXPLAIN prefix only says where the wrapped statement begins so
 * that DuckDB can parse it on its own; if this file and DuckDB disagree,
 * the text handed to DuckDB is not a single query and is refused.
 *
 * Lexical rules followed (DuckDB's are PostgreSQL's): -- comments to the
 * end of the line, nested block comments, '...' strings with '' inside,
 * E'...' strings with backslash escapes, "..." identifiers with "",
 * $tag$...$tag$ strings; https://www.postgresql.org/docs/current/sql-syntax-lexical.html
 *
 * Pure functions of their input; no allocation.
 */
#include "../core/fl_config.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "query_int.h"


static int
is_ident(char c)
{
    return isalnum((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80;
}


/* Skips whitespace and comments; an unterminated comment runs to the
 * end. */
static const char *
skip_space(const char *p)
{
    for (;;) {
        if (isspace((unsigned char)*p)) {
            p++;
        } else if (p[0] == '-' && p[1] == '-') {
            while (*p != '\0' && *p != '\n')
                p++;
        } else if (p[0] == '/' && p[1] == '*') {
            int depth = 1;
            p += 2;
            while (*p != '\0' && depth > 0) {
                if (p[0] == '/' && p[1] == '*') {
                    depth++;
                    p += 2;
                } else if (p[0] == '*' && p[1] == '/') {
                    depth--;
                    p += 2;
                } else {
                    p++;
                }
            }
        } else {
            return p;
        }
    }
}


/* Whether p starts with the keyword kw (any case) as a whole word. */
static int
is_word(const char *p, const char *kw)
{
    size_t n = strlen(kw);
    return strncasecmp(p, kw, n) == 0 && !is_ident(p[n]);
}


/* p is at a quote character q ('\'' or '"'); returns the character after
 * the closing one (doubled quotes stay inside), or the end. backslash:
 * E'...' rules. */
static const char *
skip_quoted(const char *p, char q, int backslash)
{
    for (p++; *p != '\0'; p++) {
        if (backslash && *p == '\\' && p[1] != '\0') {
            p++;
        } else if (*p == q) {
            if (p[1] != q)
                return p + 1;
            p++;
        }
    }
    return p;
}


/* p is at '$'. When a dollar quote $tag$ begins here, returns the
 * character after its closing $tag$ (or the end); else NULL. */
static const char *
skip_dollar(const char *p)
{
    const char *t = p + 1;
    if (isdigit((unsigned char)*t))
        return NULL;                    /* $1: a parameter */
    while (is_ident(*t))
        t++;
    if (*t != '$')
        return NULL;
    size_t taglen = (size_t)(t - p) + 1;
    const char *end;
    for (end = t + 1; *end != '\0'; end++)
        if (*end == '$' && strncmp(end, p, taglen) == 0)
            return end + taglen;
    return end;
}


/* Skips one token that may hide a ';' or a ')': a string, a quoted
 * identifier, a dollar quote or a comment. Returns p unchanged when
 * there is none at p. */
static const char *
skip_opaque(const char *p, const char *start)
{
    const char *e;
    if (*p == '\'') {
        int esc = p > start && (p[-1] == 'E' || p[-1] == 'e')
                  && (p - 1 == start || !is_ident(p[-2]));
        return skip_quoted(p, '\'', esc);
    }
    if (*p == '"')
        return skip_quoted(p, '"', 0);
    if (*p == '$' && (p == start || !is_ident(p[-1]))
        && (e = skip_dollar(p)) != NULL)
        return e;
    if ((p[0] == '-' && p[1] == '-') || (p[0] == '/' && p[1] == '*'))
        return skip_space(p);
    return p;
}


int
fl_query_sql_next(const char *sql, size_t *pos, size_t *out_start,
                  size_t *out_len)
{
    const char *p = sql + *pos;
    for (;;) {
        p = skip_space(p);
        if (*p == '\0') {
            *pos = (size_t)(p - sql);
            return 0;
        }
        if (*p != ';')
            break;
        p++;                            /* an empty statement */
    }
    const char *begin = p;
    while (*p != '\0' && *p != ';') {
        const char *e = skip_opaque(p, sql);
        p = e != p ? e : p + 1;
    }
    *out_start = (size_t)(begin - sql);
    *out_len = (size_t)(p - begin);
    *pos = (size_t)(p - sql) + (*p == ';');
    return 1;
}


int
fl_query_sql_explain(const char *stmt, const char **out_rest)
{
    const char *p = skip_space(stmt);
    int kind = FL_QUERY_EXPLAIN;
    if (!is_word(p, "explain"))
        return 0;
    p = skip_space(p + 7);
    if (is_word(p, "analyze") || is_word(p, "analyse")) {
        kind = FL_QUERY_EXPLAIN_ANALYZE;
        p = skip_space(p + 7);
        if (is_word(p, "verbose")) {
            kind = FL_QUERY_EXPLAIN_OTHER;
            p = skip_space(p + 7);
        }
    } else if (is_word(p, "verbose")) {
        kind = FL_QUERY_EXPLAIN_OTHER;
        p = skip_space(p + 7);
    } else if (*p == '(') {
        /* EXPLAIN (option, ...): a parenthesised list before the
         * statement. */
        int depth = 0;
        const char *start = p;
        while (*p != '\0') {
            const char *e = skip_opaque(p, start);
            if (e != p) {
                p = e;
                continue;
            }
            if (*p == '(')
                depth++;
            else if (*p == ')' && --depth == 0)
                break;
            p++;
        }
        if (*p != ')')
            return 0;
        kind = FL_QUERY_EXPLAIN_OTHER;
        p = skip_space(p + 1);
    }
    *out_rest = p;
    return kind;
}


/* Copies the first word at p, upper-cased, into out[0..cap); returns its
 * length (0: none). */
static size_t
first_word(const char *p, char *out, size_t cap)
{
    size_t n = 0;
    while (is_ident(p[n]) && n + 1 < cap && n < 32) {
        out[n] = (char)toupper((unsigned char)p[n]);
        n++;
    }
    out[n] = '\0';
    return n;
}


void
fl_query_sql_describe(const char *stmt, char *out, size_t cap)
{
    const char *rest = NULL;
    char w[40];
    size_t n = 0;

    if (cap == 0)
        return;
    out[0] = '\0';
    int kind = fl_query_sql_explain(stmt, &rest);
    if (kind != 0) {
        n = (size_t)snprintf(out, cap, "%s",
                             kind == FL_QUERY_EXPLAIN_ANALYZE
                             ? "EXPLAIN ANALYZE " : "EXPLAIN ");
        if (n >= cap)
            return;
        stmt = rest;
    }
    if (first_word(skip_space(stmt), w, sizeof w) == 0)
        snprintf(out + n, cap - n, "a statement that is not a query");
    else
        snprintf(out + n, cap - n, "%s", w);
}
