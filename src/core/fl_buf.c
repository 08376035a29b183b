/* SPDX-License-Identifier: MIT
 *
 * fl_buf.c -- the growable byte buffer with a size ceiling (fl_buf.h).
 *
 * Capacity starts at FIRST_CAP bytes and doubles, but never past the
 * ceiling plus the NUL: a buffer capped at 1 KiB never allocates 2 KiB.
 */
#include "fl_config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fl_buf.h"
#include "fl_error.h"
#include "fl_mem.h"

/* Small enough for the many short texts (a key, a message), large enough
 * that a typical document grows only a few times. */
#define FIRST_CAP 256


void
fl_buf_init(struct fl_buf *b, size_t max)
{
    b->p = NULL;
    b->len = b->cap = 0;
    b->max = max;
    b->err = 0;
}


void
fl_buf_fail(struct fl_buf *b, int err)
{
    if (b->err == 0)
        b->err = err;
}


int
fl_buf_reserve(struct fl_buf *b, size_t n)
{
    if (b->err != 0)
        return b->err;
    /* The most len may reach; the NUL needs one byte more. */
    size_t limit = SIZE_MAX - 1;
    if (b->max != 0 && b->max < limit)
        limit = b->max;
    if (n > limit - b->len) {
        b->err = FL_ETOOBIG;
        return b->err;
    }
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : FIRST_CAP;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
    if (cap > limit + 1)
        cap = limit + 1;
    char *p = fl_realloc(b->p, cap);
    if (p == NULL) {
        b->err = FL_ENOMEM;
        return b->err;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}


int
fl_buf_add(struct fl_buf *b, const void *s, size_t n)
{
    int rc = fl_buf_reserve(b, n);
    if (rc != 0)
        return rc;
    if (n > 0)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}


int
fl_buf_sink(void *buf, const char *s, size_t n)
{
    return fl_buf_add(buf, s, n);
}


int
fl_buf_adds(struct fl_buf *b, const char *s)
{
    return fl_buf_add(b, s, strlen(s));
}


int
fl_buf_addc(struct fl_buf *b, char c)
{
    return fl_buf_add(b, &c, 1);
}


int
fl_buf_vaddf(struct fl_buf *b, const char *fmt, va_list ap)
{
    char small[256];
    va_list again;

    if (b->err != 0)
        return b->err;
    /* Most texts fit the stack; the rest are formatted twice, the second
     * time straight into the buffer once it is large enough. */
    va_copy(again, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n < 0) {
        /* Only an invalid format or a length past INT_MAX gets here. */
        va_end(again);
        b->err = FL_ETOOBIG;
        return b->err;
    }
    if ((size_t)n < sizeof small) {
        va_end(again);
        return fl_buf_add(b, small, (size_t)n);
    }
    int rc = fl_buf_reserve(b, (size_t)n);
    if (rc == 0) {
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, again);
        b->len += (size_t)n;
    }
    va_end(again);
    return rc;
}


int
fl_buf_addf(struct fl_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = fl_buf_vaddf(b, fmt, ap);
    va_end(ap);
    return rc;
}


char *
fl_buf_take(struct fl_buf *b, size_t *len)
{
    char *p;

    if (b->err != 0) {
        fl_buf_free(b);
        return NULL;
    }
    if (b->p != NULL) {
        p = b->p;
        if (len != NULL)
            *len = b->len;
    } else {
        if ((p = fl_malloc(1)) == NULL)
            return NULL;
        p[0] = '\0';
        if (len != NULL)
            *len = 0;
    }
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}


void
fl_buf_reset(struct fl_buf *b)
{
    b->len = 0;
    if (b->p != NULL)
        b->p[0] = '\0';
}


void
fl_buf_free(struct fl_buf *b)
{
    fl_free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->err = 0;
}
