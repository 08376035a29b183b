/* SPDX-License-Identifier: MIT
 *
 * batch.h -- the columnar record batch every parser fills and every sink
 * consumes (parsers: convert, the server's endpoints; sinks: DuckDB's
 * Parquet writer, the stream engine).
 *
 * A batch is a struct of arrays: a fixed capacity of rows, one column per
 * field of fields.h (always all FL_FIELD_COUNT of them, so that one schema
 * serves every flow-log version) followed by `n_extra` text columns for
 * fields a custom format names but the catalogue does not know. Each column
 * has a validity bitmap, bit r of word r/64 set when row r is not NULL --
 * the same layout as DuckDB's validity masks, so a sink can copy it whole.
 *
 * Strings are slices (struct fl_str) into the caller's input buffer: the
 * parser never allocates per field. A batch is therefore valid only while
 * the buffer its lines came from is; the owner documents that lifetime.
 *
 * Thread: one owner; batches are not shared.
 */
#ifndef FL_BATCH_H
#define FL_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "fields.h"

/* Default rows per batch: DuckDB's vector size, so one batch = one chunk. */
#define FL_BATCH_ROWS 2048

struct fl_str {
    const char *p;
    uint32_t    len;
};

struct fl_column {
    enum fl_type type;
    union {
        int32_t       *i32;
        int64_t       *i64;
        struct fl_str *str;
    } v;
    uint64_t *valid;          /* (cap + 63) / 64 words */
};

struct fl_batch {
    size_t            cap;    /* rows allocated */
    size_t            n;      /* rows filled */
    size_t            ncols;  /* FL_FIELD_COUNT + n_extra */
    struct fl_column *col;
};

/* Allocates a batch of `cap` rows with FL_FIELD_COUNT + n_extra columns
 * (extras are text). Returns 0, or -ENOMEM leaving *out untouched. */
int  fl_batch_create(size_t cap, size_t n_extra, struct fl_batch **out);
void fl_batch_destroy(struct fl_batch *b);

/* Empties the batch: n = 0 and every value NULL. */
void fl_batch_reset(struct fl_batch *b);

static inline int
fl_batch_is_valid(const struct fl_batch *b, size_t col, size_t row)
{
    return (int)((b->col[col].valid[row >> 6] >> (row & 63)) & 1);
}

#endif /* FL_BATCH_H */
