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
 * Pruning (fl_live_hours): the hours of each block's records are those
 * the caller gave (the server finds them when a block is made), else
 * found once, on first demand, by reading only the start field of each line
 * with the parser's own splitting rules (runs of spaces and tabs), so that
 * a query can leave out the blocks that hold none of its hours. A block
 * with a line whose start is not plain digits (NULL '-', a header line)
 * has unknown hours and is always read.
 *
 * Ownership: the live source owns its inputs (names, parsed formats) and
 * the default format; the block texts are the caller's.
 */
#include "../core/fl_config.h"

#include <pthread.h>
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
    /* Per input: hours [lo, hi] of its records' start, hours[i] one of
     * enum hours_state; those the caller did not give are found once,
     * under mu (two sessions may ask at once). */
    pthread_mutex_t    mu;
    int                hours_done;
    int64_t           *hour_lo, *hour_hi;
    unsigned char     *hours;
};

enum hours_state { HOURS_TO_FIND, HOURS_KNOWN, HOURS_UNKNOWN };


void
fl_live_destroy(struct fl_live *live)
{
    if (live == NULL)
        return;
    if (live->scan_ready)
        fl_scan_free(&live->scan);
    pthread_mutex_destroy(&live->mu);
    fl_free(live->hour_lo);
    fl_free(live->hour_hi);
    fl_free(live->hours);
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
    if ((rc = pthread_mutex_init(&live->mu, NULL)) != 0) {
        fl_free(live);
        return -rc;
    }
    if ((rc = fl_scan_init(&live->scan)) < 0)
        goto fail;
    live->scan_ready = 1;
    if ((rc = fl_format_default(&live->format)) < 0)
        goto fail;
    live->inputs = fl_calloc(n > 0 ? n : 1, sizeof *live->inputs);
    live->hour_lo = fl_calloc(n > 0 ? n : 1, sizeof *live->hour_lo);
    live->hour_hi = fl_calloc(n > 0 ? n : 1, sizeof *live->hour_hi);
    live->hours = fl_calloc(n > 0 ? n : 1, sizeof *live->hours);
    if (live->inputs == NULL || live->hour_lo == NULL
        || live->hour_hi == NULL || live->hours == NULL) {
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
        if (blocks[i].hours_known) {
            live->hours[i] = HOURS_KNOWN;
            live->hour_lo[i] = blocks[i].hour_lo;
            live->hour_hi[i] = blocks[i].hour_hi;
        }
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


static int
is_blank(char c)
{
    return c == ' ' || c == '\t';
}


/* The hours of the start field (field `pos`) of text's lines: 1 with
 * [*lo, *hi] when every line that is not blank has plain digits there;
 * 0 when some line has not (unknown: the block is always read). Each line
 * is read once, up to its start field, then to its newline. */
static int
text_hours(const char *s, const char *end, size_t pos, int64_t *lo,
           int64_t *hi)
{
    int64_t l = INT64_MAX, h = INT64_MIN;

    while (s < end) {
        /* As fl_parse_line: fields are separated by runs of blanks, and
         * a trailing CR or blank is not part of the last field. */
        while (s < end && is_blank(*s))
            s++;
        if (s < end && *s == '\r' && (s + 1 == end || s[1] == '\n'))
            s++;
        if (s == end || *s == '\n') {
            s += s < end;                /* a blank line: no record */
            continue;
        }
        for (size_t k = 0; k < pos; k++) {
            while (s < end && !is_blank(*s) && *s != '\n')
                s++;
            while (s < end && is_blank(*s))
                s++;
        }
        uint64_t v = 0;
        size_t nd = 0;
        while (s < end && *s >= '0' && *s <= '9' && nd < 12) {
            v = v * 10 + (uint64_t)(*s - '0');
            s++;
            nd++;
        }
        /* Digits, then a blank, a CR, the newline or the end; anything
         * else (NULL '-', a header line, too few fields) is unknown. */
        if (nd == 0 || nd >= 12
            || (s < end && !is_blank(*s) && *s != '\r' && *s != '\n'))
            return 0;
        int64_t hour = (int64_t)v / 3600;
        if (hour < l)
            l = hour;
        if (hour > h)
            h = hour;
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        s = nl ? nl + 1 : end;
    }
    if (l > h)
        return 0;                        /* no record at all */
    *lo = l;
    *hi = h;
    return 1;
}


/* Where fmt has the start field: its position, or fmt->n when it has
 * none (the hours are then unknown). */
static size_t
start_position(const struct fl_format *fmt)
{
    for (size_t k = 0; k < fmt->n; k++)
        if (fmt->field[k] == FL_F_START)
            return k;
    return fmt->n;
}


/* The hours of an input's lines, past its header line if it has one. */
static int
input_hours(const struct fl_input *in, const struct fl_format *fmt,
            int64_t *lo, int64_t *hi)
{
    const char *s = in->mem, *end = in->mem + in->mem_len;
    size_t pos = start_position(fmt);

    if (pos == fmt->n)
        return 0;
    if (in->header_line) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        s = nl ? nl + 1 : end;
    }
    return text_hours(s, end, pos, lo, hi);
}


int
fl_live_text_hours(const char *text, size_t len, const char *format_spec,
                   int64_t *lo, int64_t *hi)
{
    struct fl_format *fmt = NULL;
    struct fl_parse_err perr;
    const char *s = text, *end = text + len;
    int rc;

    if (format_spec != NULL) {
        rc = fl_format_parse(format_spec, &fmt, &perr);
    } else {
        /* As a live source reads such a block: an S3 header line first
         * says the format, else it is the default. */
        const char *nl = memchr(s, '\n', len);
        size_t first = (size_t)((nl ? nl : end) - s);
        if (fl_format_is_header(s, first)) {
            rc = fl_format_from_header(s, first, &fmt, &perr);
            s = nl ? nl + 1 : end;
        } else
            rc = fl_format_default(&fmt);
    }
    if (rc == FL_ENOMEM)
        return rc;
    if (rc < 0)
        return 0;                        /* a bad format: read it anyway */
    size_t pos = start_position(fmt);
    rc = pos < fmt->n ? text_hours(s, end, pos, lo, hi) : 0;
    fl_format_destroy(fmt);
    return rc;
}


static void
find_hours(struct fl_live *live)
{
    for (size_t i = 0; i < live->n_inputs; i++) {
        const struct fl_input *in = &live->inputs[i];
        if (live->hours[i] != HOURS_TO_FIND)
            continue;
        const struct fl_format *fmt = in->header_fmt ? in->header_fmt
                                                     : live->format;
        live->hours[i] = input_hours(in, fmt, &live->hour_lo[i],
                                     &live->hour_hi[i])
                         ? HOURS_KNOWN : HOURS_UNKNOWN;
    }
}


size_t
fl_live_blocks(const struct fl_live *live)
{
    return live->n_inputs;
}


int
fl_live_hours(struct fl_live *live, size_t i, int64_t *lo, int64_t *hi)
{
    int known = 0;
    pthread_mutex_lock(&live->mu);
    if (!live->hours_done) {
        find_hours(live);
        live->hours_done = 1;
    }
    if (i < live->n_inputs && live->hours[i] == HOURS_KNOWN) {
        *lo = live->hour_lo[i];
        *hi = live->hour_hi[i];
        known = 1;
    }
    pthread_mutex_unlock(&live->mu);
    return known;
}
