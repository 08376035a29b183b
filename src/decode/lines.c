/* SPDX-License-Identifier: MIT
 *
 * lines.c -- blocks of whole lines over a reader (see lines.h).
 *
 * The buffer holds [start, end) unread bytes. When no complete line is
 * left, the tail is moved to the front and the buffer refilled; a line
 * that still does not fit in max_line bytes is cut, handed out as an
 * overlong block, and the rest of it discarded up to its newline. A UTF-8
 * byte-order mark at the very start is dropped.
 */
#include "../core/fl_config.h"

#include <string.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "lines.h"

struct fl_lines {
    struct fl_reader *r;
    char   *buf;
    size_t  cap;
    size_t  start, end;
    int     eof;
    int     skipping;           /* discarding the rest of an overlong line */
    size_t  max_line;
    unsigned long long line_no; /* number of the next line handed out */
    int     bom_done;           /* the start was checked for a BOM */
};


int
fl_lines_create(struct fl_reader *r, size_t max_line, struct fl_lines **out)
{
    struct fl_lines *l = fl_calloc(1, sizeof *l);
    if (l == NULL)
        return FL_ENOMEM;
    if (max_line == 0)
        max_line = FL_LINES_DEFAULT_MAX_LINE;
    l->max_line = max_line;
    l->cap = 2 * (max_line > 512 * 1024 ? max_line : 512 * 1024);
    l->buf = fl_malloc(l->cap);
    if (l->buf == NULL) {
        fl_free(l);
        return FL_ENOMEM;
    }
    l->r = r;
    l->line_no = 1;
    *out = l;
    return FL_OK;
}


/* Moves unread bytes to the front and reads more. */
static int
refill(struct fl_lines *l)
{
    if (l->start > 0) {
        memmove(l->buf, l->buf + l->start, l->end - l->start);
        l->end -= l->start;
        l->start = 0;
    }
    while (!l->eof && l->end < l->cap) {
        size_t n = 0;
        int rc = fl_reader_read(l->r, l->buf + l->end, l->cap - l->end, &n);
        if (rc < 0)
            return rc;
        if (n == 0) {
            l->eof = 1;
            break;
        }
        l->end += n;
        /* One read is enough to make progress; keep latency low. */
        break;
    }
    return FL_OK;
}


int
fl_lines_next(struct fl_lines *l, size_t max_lines,
              struct fl_line_block *block)
{
    int rc;

    memset(block, 0, sizeof *block);
    while (!l->bom_done) {
        /* A UTF-8 byte-order mark (EF BB BF, as Windows editors write)
         * is not part of the first line: left there, it would hide a
         * header line or spoil the first record's first field. */
        if (l->end - l->start >= 3 || l->eof) {
            if (l->end - l->start >= 3
                && memcmp(l->buf + l->start, "\xef\xbb\xbf", 3) == 0)
                l->start += 3;
            l->bom_done = 1;
        } else if ((rc = refill(l)) < 0) {
            return rc;
        }
    }
    for (;;) {
        if (l->skipping) {
            char *nl = memchr(l->buf + l->start, '\n', l->end - l->start);
            if (nl != NULL) {
                l->start = (size_t)(nl - l->buf) + 1;
                l->skipping = 0;
                continue;
            }
            l->start = l->end = 0;
            if (l->eof) {
                l->skipping = 0;
                return FL_OK;
            }
            if ((rc = refill(l)) < 0)
                return rc;
            continue;
        }

        const char *p = l->buf + l->start, *end = l->buf + l->end;
        size_t n = 0;
        const char *q = p;
        while (n < max_lines && q < end) {
            const char *nl = memchr(q, '\n', (size_t)(end - q));
            if (nl == NULL)
                break;
            if ((size_t)(nl - q) > l->max_line)
                break;            /* handled below as overlong */
            q = nl + 1;
            n++;
        }
        if (n > 0) {
            block->p = p;
            block->len = (size_t)(q - p);
            block->nlines = n;
            block->first_line = l->line_no;
            l->line_no += n;
            l->start += block->len;
            return FL_OK;
        }
        /* No complete line at the front. */
        size_t pending = l->end - l->start;
        const char *nl = memchr(p, '\n', pending);
        if (pending > l->max_line && (nl == NULL || (size_t)(nl - p) > l->max_line)) {
            block->p = p;
            block->len = l->max_line;
            block->nlines = 1;
            block->overlong = 1;
            block->first_line = l->line_no++;
            l->start += l->max_line;
            l->skipping = 1;
            return FL_OK;
        }
        if (l->eof) {
            if (pending == 0)
                return FL_OK;                 /* end of input */
            block->p = p;                     /* last line, no newline */
            block->len = pending;
            block->nlines = 1;
            block->first_line = l->line_no++;
            l->start = l->end;
            return FL_OK;
        }
        if ((rc = refill(l)) < 0)
            return rc;
    }
}


void
fl_lines_unread(struct fl_lines *l, const struct fl_line_block *block)
{
    if (block->nlines == 0)
        return;
    /* Nothing was refilled since the block was handed out, so its bytes
     * are still right before `start`. */
    l->start = (size_t)(block->p - l->buf);
    l->line_no = block->first_line;
    l->skipping = 0;
}


struct fl_reader *
fl_lines_reader(struct fl_lines *l)
{
    return l->r;
}


void
fl_lines_destroy(struct fl_lines *l)
{
    if (l == NULL)
        return;
    fl_reader_close(l->r);
    fl_free(l->buf);
    fl_free(l);
}
