/* SPDX-License-Identifier: MIT
 *
 * buf.c -- the growing string buffer of src/query/ (struct buf,
 * query_int.h).
 *
 * An allocation failure sets oom and turns every later append into a
 * no-op, so callers check once at the end. The capacity starts at 256
 * bytes and doubles (fl_realloc); after any append p is NUL-terminated.
 *
 * Used by every file of src/query/ to build SQL text, error messages and
 * output lines.
 */
#include "../core/fl_config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../core/fl_mem.h"
#include "query_int.h"


static int
buf_reserve(struct buf *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (b->cap - b->len > extra)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len <= extra) {
        if (cap > SIZE_MAX / 2) {
            b->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    char *p = fl_realloc(b->p, cap);
    if (p == NULL) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}


void
fl_query_buf_put(struct buf *b, const char *s, size_t n)
{
    if (buf_reserve(b, n) < 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}


void
fl_query_buf_puts(struct buf *b, const char *s)
{
    fl_query_buf_put(b, s, strlen(s));
}


void
fl_query_buf_putc(struct buf *b, char c)
{
    fl_query_buf_put(b, &c, 1);
}


void
fl_query_buf_put_sql_str(struct buf *b, const char *s)
{
    fl_query_buf_putc(b, '\'');
    for (; *s != '\0'; s++) {
        if (*s == '\'')
            fl_query_buf_putc(b, '\'');
        fl_query_buf_putc(b, *s);
    }
    fl_query_buf_putc(b, '\'');
}


void FL_PRINTF(2, 3)
fl_query_buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    char small[128];

    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        fl_query_buf_put(b, small, (size_t)n);
        return;
    }
    if (buf_reserve(b, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}


void
fl_query_buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->p != NULL)
        b->p[0] = '\0';
}


void
fl_query_buf_free(struct buf *b)
{
    fl_free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}
