/* SPDX-License-Identifier: MIT
 *
 * live.c -- flowlake_live(): the server's buffered blocks as a DuckDB
 * table function (see live.h for the contract).
 *
 * A live source is a struct fl_scan (scan.c) over memory inputs, set up
 * once like the one fl_archive_write_blocks builds for the same blocks --
 * each block's format parsed, blocks without one peeked at for an S3
 * header -- so the rows and columns match what the publish will write.
 * What differs: no rejects file and no strict mode, so a bad line is
 * counted and skipped; no progress line. Each execution of the function
 * gets its own reader thread and queue (feed.c), which is what makes the
 * function re-runnable and safe to scan twice in one query.
 *
 * Ownership: the live source owns its inputs (names, parsed formats) and
 * the default format; the block texts are the caller's.
 */
#include "../core/fl_config.h"

#include <stdio.h>
#include <string.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "archive_int.h"
#include "live.h"

struct fl_live {
    struct fl_scan     scan;
    int                scan_ready;     /* fl_scan_init succeeded */
    struct fl_input   *inputs;         /* n_inputs of them, owned */
    size_t             n_inputs;
    struct fl_format  *format;         /* default v2, owned */
};


void
fl_live_destroy(struct fl_live *live)
{
    if (live == NULL)
        return;
    if (live->scan_ready)
        fl_scan_free(&live->scan);
    for (size_t i = 0; i < live->n_inputs; i++) {
        fl_free(live->inputs[i].path);
        fl_input_free_provenance(&live->inputs[i]);
        fl_format_destroy(live->inputs[i].header_fmt);
        fl_lines_destroy(live->inputs[i].lines);
    }
    fl_free(live->inputs);
    fl_format_destroy(live->format);
    fl_free(live);
}


int
fl_live_create(const struct fl_archive_block *blocks, size_t n,
               struct fl_live **out, char **out_err)
{
    struct fl_live *live = fl_calloc(1, sizeof *live);
    char err[1024] = "";
    int rc;

    if (live == NULL)
        return FL_ENOMEM;
    if ((rc = fl_scan_init(&live->scan)) < 0)
        goto fail;
    live->scan_ready = 1;
    if ((rc = fl_format_default(&live->format)) < 0)
        goto fail;
    live->inputs = fl_calloc(n > 0 ? n : 1, sizeof *live->inputs);
    if (live->inputs == NULL) {
        rc = FL_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        struct fl_input *in = &live->inputs[i];
        const char *name = blocks[i].source ? blocks[i].source : "live";
        struct fl_parse_err perr;
        if ((in->path = fl_strdup(name)) == NULL) {
            rc = FL_ENOMEM;
            goto fail;
        }
        live->n_inputs++;
        in->mem = blocks[i].text != NULL ? blocks[i].text : "";
        in->mem_len = blocks[i].text != NULL ? blocks[i].len : 0;
        in->size = in->mem_len;
        if ((rc = fl_input_set_provenance(in, blocks[i].prov)) < 0)
            goto fail;
        if (blocks[i].format_spec != NULL
            && (rc = fl_format_parse(blocks[i].format_spec, &in->header_fmt,
                                     &perr)) < 0) {
            snprintf(err, sizeof err, "%s: format: %s", name, perr.reason);
            goto fail;
        }
    }

    struct fl_scan *s = &live->scan;
    s->inputs = live->inputs;
    s->n_inputs = live->n_inputs;
    s->format = live->format;
    s->strict = 0;
    s->rejects = NULL;               /* bad lines: counted, skipped */
    s->max_line = FL_LINES_DEFAULT_MAX_LINE;
    s->fallback_time = fl_time_now();
    s->progress = 0;
    for (size_t i = 0; i < n; i++)
        s->total_bytes += live->inputs[i].size;
    if ((rc = fl_scan_prepare(s, err, sizeof err)) < 0)
        goto fail;
    *out = live;
    return FL_OK;

fail:
    if (out_err != NULL && err[0] != '\0')
        *out_err = fl_strdup(err);
    fl_live_destroy(live);
    return rc;
}


int
fl_live_register(struct fl_live *live, void *con)
{
    return fl_scan_register(con, FL_LIVE_FUNCTION, &live->scan);
}


uint64_t
fl_live_records_read(struct fl_live *live)
{
    return atomic_load(&live->scan.records_read);
}


uint64_t
fl_live_skipped(struct fl_live *live)
{
    return atomic_load(&live->scan.rejected);
}
