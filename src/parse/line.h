/* SPDX-License-Identifier: MIT
 *
 * line.h -- the flow log line parser: the hot path of flowlake.
 *
 * A parser is a format bound to batch columns. fl_parse_line() splits one
 * line on runs of spaces or tabs (AWS writes single spaces; hand-edited and
 * example files have doubles), tolerates a trailing CR and trailing blanks,
 * maps "-" to NULL, converts integer fields with overflow and range checks
 * (fl_field_max), refuses string fields that are not UTF-8 or hold control
 * bytes (utf8.h: one such byte would make the Parquet file unreadable), and
 * writes
 * the row into the batch. Strings are not copied: the batch points into the
 * line. No allocation, no I/O, no global state: safe to call from several
 * threads with their own batches.
 */
#ifndef FL_LINE_H
#define FL_LINE_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "format.h"

/* Latest start/end accepted: 9999-12-31T23:59:59Z, the last second a SQL
 * TIMESTAMP and a year=YYYY partition can hold. */
#define FL_MAX_EPOCH 253402300799LL

struct fl_parser {
    const struct fl_format *fmt;    /* borrowed; must outlive the parser */
    size_t       n;                 /* fields per line */
    int          col[FL_FORMAT_MAX_FIELDS];   /* batch column, -1 = drop */
    enum fl_type type[FL_FORMAT_MAX_FIELDS];
    int32_t      max[FL_FORMAT_MAX_FIELDS];   /* INT32 fields: largest
                                                 value accepted */
};

/* Returns the extra-column index (0-based, after the catalogue columns) for
 * an unknown field name, or -1 to drop the field. */
typedef int fl_extra_index_fn(void *ctx, const char *name);

/* Binds fmt to batch columns. Known fields go to their catalogue column;
 * unknown ones to FL_FIELD_COUNT + extra_index(name), or are dropped when
 * extra_index is NULL. */
void fl_parser_init(struct fl_parser *p, const struct fl_format *fmt,
                    fl_extra_index_fn *extra_index, void *ctx);

/* Parses one line (no newline) into row b->n and increments b->n.
 * Returns FL_OK; 1 when the line is blank (nothing added); FL_EPARSE with
 * err->field and err->reason filled (err->line is the caller's to set) and
 * the batch unchanged; FL_ETOOBIG when the batch is full. */
int fl_parse_line(const struct fl_parser *p, struct fl_batch *b,
                  const char *line, size_t len, struct fl_parse_err *err);

#endif /* FL_LINE_H */
