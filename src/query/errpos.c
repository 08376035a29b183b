/* SPDX-License-Identifier: MIT
 *
 * errpos.c -- where in a query's text its error points (query.h:
 * fl_query_error_position), so that a client can mark the spot.
 *
 * DuckDB's C API hands out an error as text only. Errors of the binder
 * and of the parser run by prepare end with an excerpt of the line:
 *
 *     Binder Error: Referenced column "x" not found in FROM clause!
 *
 *     LINE 2:   dstaddr, x
 *                        ^
 *
 * The excerpt may be cut ("..." before or after) around the spot on a long
 * line, so the spot is found by locating the excerpt in that line of the
 * text and counting the caret's offset into it -- never by trusting the
 * caret's column alone. The sandbox's own parse (json_serialize_sql)
 * reports a syntax error as a character offset instead (the parser counts
 * characters, as PostgreSQL's does).
 *
 * DuckDB counts a '\r' as a line break of its own (CharacterIsNewline), so
 * lines are counted the same way here.
 */
#include "../core/fl_config.h"

#include <stdlib.h>
#include <string.h>

#include "query.h"

static int
is_break(char c)
{
    return c == '\n' || c == '\r';
}


/* Characters (UTF-8 code points) in s[0, n). */
static unsigned
chars_in(const char *s, size_t n)
{
    unsigned k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xc0) != 0x80;
    return k;
}


/* Byte offset of the character `chars` characters after s[0], within n
 * bytes; n when the text is shorter. */
static size_t
skip_chars(const char *s, size_t n, size_t chars)
{
    size_t i = 0;
    while (i < n && chars > 0) {
        i++;
        while (i < n && ((unsigned char)s[i] & 0xc0) == 0x80)
            i++;
        chars--;
    }
    return i;
}


/* Start of line `line` (1-based) of sql and its length, or 0. */
static int
find_line(const char *sql, unsigned line, const char **start, size_t *len)
{
    const char *p = sql;
    for (unsigned l = 1; l < line; l++) {
        while (*p != '\0' && !is_break(*p))
            p++;
        if (*p == '\0')
            return 0;
        p++;
    }
    const char *e = p;
    while (*e != '\0' && !is_break(*e))
        e++;
    *start = p;
    *len = (size_t)(e - p);
    return 1;
}


/* Finds needle (n bytes) in hay (hn bytes); NULL when absent. */
static const char *
find_in(const char *hay, size_t hn, const char *needle, size_t n)
{
    if (n == 0)
        return hay;
    for (size_t i = 0; i + n <= hn; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return hay + i;
    return NULL;
}


/* The "LINE n: excerpt" + caret form. Returns 1 with the spot set. */
static int
from_excerpt(const char *sql, const char *msg, unsigned *line,
             unsigned *column)
{
    const char *at = NULL;
    for (const char *p = strstr(msg, "\nLINE "); p != NULL;
         p = strstr(p + 1, "\nLINE "))
        at = p + 1;                  /* the last one: the excerpt */
    if (at == NULL)
        return 0;
    char *end = NULL;
    unsigned long n = strtoul(at + 5, &end, 10);
    if (end == at + 5 || n == 0 || n > 1000000 || end[0] != ':'
        || end[1] != ' ')
        return 0;
    const char *ex = end + 2;
    size_t indicator = (size_t)(ex - at);
    const char *ex_end = strchr(ex, '\n');
    if (ex_end == NULL)
        return 0;
    size_t spaces = 0;
    while (ex_end[1 + spaces] == ' ')
        spaces++;
    if (ex_end[1 + spaces] != '^' || spaces < indicator)
        return 0;
    size_t caret = spaces - indicator;   /* characters into the excerpt */
    size_t ex_len = (size_t)(ex_end - ex);
    int cut_front = ex_len >= 3 && memcmp(ex, "...", 3) == 0;
    if (cut_front) {
        ex += 3;
        ex_len -= 3;
        if (caret < 3)
            return 0;
        caret -= 3;
    }

    const char *ls;
    size_t ll;
    if (!find_line(sql, (unsigned)n, &ls, &ll))
        return 0;
    /* As printed, then without a trailing "..." that may be the cut. */
    for (int pass = 0; pass < 2; pass++) {
        size_t len = ex_len;
        if (pass == 1) {
            if (len < 3 || memcmp(ex + len - 3, "...", 3) != 0)
                break;
            len -= 3;
        }
        const char *hit = cut_front ? find_in(ls, ll, ex, len)
                        : (len <= ll && memcmp(ls, ex, len) == 0 ? ls : NULL);
        if (hit == NULL)
            continue;
        size_t off = (size_t)(hit - ls);
        off += skip_chars(hit, ll - off, caret);
        *line = (unsigned)n;
        *column = chars_in(ls, off) + 1;
        return 1;
    }
    return 0;
}


int
fl_query_error_position(const char *sql, const char *msg, long offset,
                        unsigned *line, unsigned *column)
{
    if (sql == NULL)
        return 0;
    if (msg != NULL && from_excerpt(sql, msg, line, column))
        return 1;
    if (offset < 0)
        return 0;
    /* A character offset: walk to it, counting lines as DuckDB does. */
    unsigned l = 1, c = 1;
    size_t i = 0, len = strlen(sql);
    for (long k = 0; k < offset; k++) {
        if (i >= len)
            return 0;
        if (is_break(sql[i])) {
            l++;
            c = 1;
        } else {
            c++;
        }
        i += skip_chars(sql + i, len - i, 1);
    }
    *line = l;
    *column = c;
    return 1;
}
