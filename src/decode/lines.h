/* SPDX-License-Identifier: MIT
 *
 * lines.h -- splits a reader's byte stream into blocks of whole lines.
 *
 * The consumer asks for up to N lines at a time and gets them as one
 * contiguous range of the internal buffer (valid until the next call), with
 * the 1-based number of the first line, so parse errors can name their line.
 * The last line of an input needs no trailing newline; a UTF-8 byte-order
 * mark at the start of the input is skipped.
 *
 * Lines are bounded: a line longer than max_line bytes is handed out alone
 * as an "overlong" block holding its first max_line bytes; the rest of it
 * is skipped. Memory is one buffer of about 2 * max(max_line, 512 KiB).
 *
 * Thread: one owner.
 */
#ifndef FL_LINES_H
#define FL_LINES_H

#include <stddef.h>
#include <stdint.h>

#include "reader.h"

#define FL_LINES_DEFAULT_MAX_LINE (64 * 1024)

struct fl_lines;

struct fl_line_block {
    const char        *p;          /* lines, each ending in '\n' except
                                      possibly the input's last one */
    size_t             len;
    size_t             nlines;     /* 0 at end of input */
    unsigned long long first_line; /* 1-based number of the first line */
    int                overlong;   /* one line, truncated to max_line */
};

/* Takes ownership of r (closed by fl_lines_destroy). Returns 0 or -ENOMEM;
 * on failure r is still the caller's. */
int fl_lines_create(struct fl_reader *r, size_t max_line,
                    struct fl_lines **out);

/* Next block of at most max_lines lines. Returns 0 (block->nlines == 0 at
 * the end of input) or a reader error (see reader.h). */
int fl_lines_next(struct fl_lines *l, size_t max_lines,
                  struct fl_line_block *block);

/* Gives back the block just returned by fl_lines_next (no other call in
 * between), so that the next call returns the same lines again. Used to
 * peek at an input's first line for a header. */
void fl_lines_unread(struct fl_lines *l, const struct fl_line_block *block);

struct fl_reader *fl_lines_reader(struct fl_lines *l);

void fl_lines_destroy(struct fl_lines *l);

#endif /* FL_LINES_H */
