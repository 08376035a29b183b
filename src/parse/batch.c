/* SPDX-License-Identifier: MIT
 *
 * batch.c -- allocation and reset of columnar record batches (batch.h).
 */
#include "../core/fl_config.h"

#include <string.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "batch.h"


static size_t
valid_words(size_t cap)
{
    return (cap + 63) / 64;
}


int
fl_batch_create(size_t cap, size_t n_extra, struct fl_batch **out)
{
    struct fl_batch *b = fl_calloc(1, sizeof *b);
    if (b == NULL)
        return FL_ENOMEM;
    b->cap = cap;
    b->ncols = FL_FIELD_COUNT + n_extra;
    b->col = fl_calloc(b->ncols, sizeof *b->col);
    if (b->col == NULL)
        goto fail;
    for (size_t c = 0; c < b->ncols; c++) {
        struct fl_column *col = &b->col[c];
        col->type = c < FL_FIELD_COUNT ? fl_field_get((int)c)->type
                                       : FL_TYPE_STRING;
        size_t width = col->type == FL_TYPE_INT32 ? sizeof(int32_t)
                     : col->type == FL_TYPE_INT64 ? sizeof(int64_t)
                     : sizeof(struct fl_str);
        /* The union members share storage; any one of them owns it. */
        col->v.i64 = fl_calloc(cap ? cap : 1, width);
        col->valid = fl_calloc(valid_words(cap) ? valid_words(cap) : 1,
                               sizeof(uint64_t));
        if (col->v.i64 == NULL || col->valid == NULL)
            goto fail;
    }
    *out = b;
    return FL_OK;

fail:
    fl_batch_destroy(b);
    return FL_ENOMEM;
}


void
fl_batch_destroy(struct fl_batch *b)
{
    if (b == NULL)
        return;
    if (b->col != NULL) {
        for (size_t c = 0; c < b->ncols; c++) {
            fl_free(b->col[c].v.i64);
            fl_free(b->col[c].valid);
        }
    }
    fl_free(b->col);
    fl_free(b);
}


void
fl_batch_reset(struct fl_batch *b)
{
    size_t words = valid_words(b->cap);
    for (size_t c = 0; c < b->ncols; c++)
        memset(b->col[c].valid, 0, words * sizeof(uint64_t));
    b->n = 0;
}
