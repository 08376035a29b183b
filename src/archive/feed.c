/* SPDX-License-Identifier: MIT
 *
 * feed.c -- the reader thread of a scan (flowlake_scan for `convert`,
 * flowlake_live for the live buffer): opens each input in turn, inflates
 * it, splits it into blocks of up to one vector's worth of lines and
 * queues them for the parser threads (DuckDB's workers running the table
 * function, scan.c).
 *
 * Decompression is the one inherently sequential stage; on its own thread
 * it runs ahead of the parsers instead of making them take turns under a
 * lock. The queue holds FL_FEED_BLOCKS buffers: a free list the reader
 * fills from and a FIFO of ready blocks the parsers pop; a parser returns
 * its block once its rows are copied into DuckDB's chunk. All queue state
 * is guarded by feed->mu and signalled on feed->cv.
 *
 * One struct fl_feed is one execution of the table function: scan.c
 * creates it in the function's global init and DuckDB destroys it when
 * that execution ends, so a query that scans twice (a self-join) or a
 * query run again gets its own reader and queue over the same read-only
 * struct fl_scan. What the caller of the scan needs afterwards (bytes
 * read, stdin's digest, the first error) is added to the scan.
 *
 * Stopping: a parser that fails (strict mode, a write error) calls
 * fl_feed_fail; the reader sees `failed` and stops; fl_feed_destroy
 * (DuckDB's destructor of the global state, whatever happened) joins the
 * reader and frees the blocks. The reader owns the line source, the
 * progress line and the end-of-input bookkeeping.
 *
 * Header lines: the reader, which sees every line in order, consumes them
 * and gives each block the format its lines are read with, so a header
 * inside an input (concatenated S3 objects of flow logs with different
 * formats) switches the format for the lines after it even though the
 * blocks are parsed in parallel. Finding them costs one byte per line for
 * formats whose lines start with a digit (the default one).
 */
#include "../core/fl_config.h"

#include <stdio.h>
#include <string.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "archive_int.h"

/* Lines per block: DuckDB's vector size (one block fills one chunk). */
#define BLOCK_LINES 2048


void
fl_feed_fail(struct fl_feed *f, const char *msg)
{
    pthread_mutex_lock(&f->mu);
    if (!f->failed) {
        f->failed = 1;
        snprintf(f->errmsg, sizeof f->errmsg, "%s", msg);
    }
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    fl_scan_set_error(f->scan, msg);
}


static void
progress(struct fl_feed *f, int final)
{
    struct fl_scan *s = f->scan;
    double now = fl_time_mono();
    if (!final && now - f->last_progress < 0.25)
        return;
    f->last_progress = now;
    /* The run's totals, not this execution's: convert runs one execution
     * per group of inputs (convert.c), several at once on as many
     * connections, and shows one progress line, written under the
     * totals' lock so that two readers' lines do not interleave. */
    struct fl_scan *t = s->totals;
    pthread_mutex_lock(&t->mu);
    uint64_t done = t->bytes_done;
    if (f->lines != NULL)
        done += fl_reader_raw_offset(fl_lines_reader(f->lines));
    uint64_t recs = atomic_load(&t->records_read);
    double el = now - (s->progress_t0 > 0 ? s->progress_t0 : f->started);
    double rate = el > 0 ? (double)recs / el : 0;
    char eta[32] = "";
    if (s->total_bytes > 0 && done > 0 && done < s->total_bytes)
        snprintf(eta, sizeof eta, "  ETA %.0fs",
                 el * (double)(s->total_bytes - done) / (double)done);
    if (s->total_bytes > 0)
        fprintf(stderr, "\r%llu records  %.0f rec/s  %.1f/%.1f MB%s   ",
                (unsigned long long)recs, rate, (double)done / 1e6,
                (double)s->total_bytes / 1e6, eta);
    else
        fprintf(stderr, "\r%llu records  %.0f rec/s  %.1f MB   ",
                (unsigned long long)recs, rate, (double)done / 1e6);
    if (final && !s->progress_more)
        fputc('\n', stderr);
    pthread_mutex_unlock(&t->mu);
}


/* Closes the current input, keeping its byte count and stdin's digest. */
static void
close_current(struct fl_feed *f)
{
    struct fl_scan *s = f->scan;
    struct fl_input *in = &s->inputs[f->cur];
    struct fl_reader *r = fl_lines_reader(f->lines);
    uint64_t n = fl_reader_raw_offset(r);
    if (in->is_stdin)
        (void)fl_reader_digest(r, &in->digest);
    fl_lines_destroy(f->lines);
    f->lines = NULL;
    f->cur++;
    pthread_mutex_lock(&f->mu);
    f->bytes_done += n;
    pthread_mutex_unlock(&f->mu);
    pthread_mutex_lock(&s->totals->mu);
    s->totals->bytes_done += n;
    pthread_mutex_unlock(&s->totals->mu);
}


/* Opens input in for this execution. stdin was opened (and its header
 * consumed) by fl_scan_prepare and cannot be reopened: the first
 * execution takes it over, a later one finds it gone. */
static int
open_current(struct fl_feed *f, struct fl_input *in, char *msg,
             size_t msglen)
{
    struct fl_scan *s = f->scan;
    int rc;
    if (in->is_stdin) {
        pthread_mutex_lock(&s->mu);
        f->lines = in->lines;
        in->lines = NULL;
        pthread_mutex_unlock(&s->mu);
        if (f->lines == NULL) {
            snprintf(msg, msglen, "%s: standard input can be read only "
                     "once", in->path);
            return FL_ECONFIG;
        }
        return FL_OK;
    }
    if ((rc = fl_scan_open_input(s, in, &f->lines)) < 0) {
        snprintf(msg, msglen, "%s: %s", in->path, fl_strerror(rc));
        return rc;
    }
    if (in->header_line) {
        struct fl_line_block hb;
        if ((rc = fl_lines_next(f->lines, 1, &hb)) < 0) {
            snprintf(msg, msglen, "%s: %s", in->path,
                     fl_reader_error(fl_lines_reader(f->lines)));
            return rc;
        }
    }
    return FL_OK;
}


/* Sets the format the current input starts with. */
static void
start_format(struct fl_feed *f, const struct fl_input *in)
{
    f->fmt = in->header_fmt ? in->header_fmt : f->scan->format;
    f->reject_all = NULL;
}


/* The next block of lines of the inputs, in order; b->nlines == 0 at the
 * end. Returns <0 with msg filled on a read error. */
static int
next_block(struct fl_feed *f, struct fl_line_block *b, struct fl_input **in,
           char *msg, size_t msglen)
{
    struct fl_scan *s = f->scan;
    int rc;
    memset(b, 0, sizeof *b);
    while (f->cur < s->n_inputs) {
        *in = &s->inputs[f->cur];
        if (f->lines == NULL && f->skip != NULL
            && f->cur < f->n_skip && f->skip[f->cur] == '1') {
            f->cur++;            /* no hour of it is wanted: not read */
            continue;
        }
        if (f->lines == NULL) {
            if ((rc = open_current(f, *in, msg, msglen)) < 0)
                return rc;
            start_format(f, *in);
        }
        if ((rc = fl_lines_next(f->lines, BLOCK_LINES, b)) < 0) {
            snprintf(msg, msglen, "%s: %s", (*in)->path,
                     fl_reader_error(fl_lines_reader(f->lines)));
            return rc;
        }
        if (b->nlines > 0)
            return FL_OK;
        close_current(f);
    }
    return FL_OK;
}


/* Queues lines [p, p + len) of input in as one block for the parsers.
 * Returns 0, or -1 when the execution is stopping (failed, or no memory:
 * then it is failed here). */
static int
queue_block(struct fl_feed *f, const char *p, size_t len, size_t nlines,
            unsigned long long first_line, int overlong, struct fl_input *in)
{
    pthread_mutex_lock(&f->mu);
    while (f->n_free == 0 && !f->failed)
        pthread_cond_wait(&f->cv, &f->mu);
    if (f->failed) {
        pthread_mutex_unlock(&f->mu);
        return -1;
    }
    int idx = f->free_list[--f->n_free];
    pthread_mutex_unlock(&f->mu);

    /* Fill the block outside the lock: only this thread touches a block
     * between taking it from the free list and queueing it. */
    struct fl_block *b = &f->blocks[idx];
    if (len > b->cap) {
        char *np = fl_realloc(b->p, len);
        if (np == NULL) {
            pthread_mutex_lock(&f->mu);
            f->free_list[f->n_free++] = idx;
            pthread_mutex_unlock(&f->mu);
            fl_feed_fail(f, FL_OOM_TEXT);
            return -1;
        }
        b->p = np;
        b->cap = len;
    }
    memcpy(b->p, p, len);
    b->len = len;
    b->nlines = nlines;
    b->first_line = first_line;
    b->overlong = overlong;
    b->in = in;
    b->fmt = f->fmt;
    b->reject_all = f->reject_all;

    pthread_mutex_lock(&f->mu);
    f->ready[(f->ready_head + f->n_ready) % FL_FEED_BLOCKS] = idx;
    f->n_ready++;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return 0;
}


/* A header line inside the current input (line, len without its line
 * end): from the next line on, the input is read with the fields it
 * names. The same fields as now: nothing changes. A header that is not a
 * valid format (a name twice, too many fields) leaves the format as it
 * was; *bad then points to the reason (kept by the feed) for rejecting
 * that line. Returns 0, or -1 when out of memory (the execution is
 * failed). */
static int
switch_format(struct fl_feed *f, const char *line, size_t len,
              const char **bad)
{
    struct fl_parse_err perr;
    *bad = NULL;
    if (fl_format_header_line(f->fmt, line, len, perr.reason,
                              sizeof perr.reason) == 1)
        return 0;                   /* same fields again (any case) */
    for (size_t i = 0; i < f->n_switched; i++) {
        /* A format seen before in this execution (files that alternate). */
        struct fl_switch *sw = f->switched[i];
        if (sw->fmt != NULL && fl_format_header_line(sw->fmt, line, len,
                perr.reason, sizeof perr.reason) == 1) {
            f->fmt = sw->fmt;
            f->reject_all = sw->reject[0] ? sw->reject : NULL;
            return 0;
        }
    }
    struct fl_switch *sw = fl_calloc(1, sizeof *sw);
    struct fl_switch **list = sw == NULL ? NULL
        : fl_realloc(f->switched, (f->n_switched + 1) * sizeof *list);
    if (list == NULL) {
        fl_free(sw);
        fl_feed_fail(f, FL_OOM_TEXT);
        return -1;
    }
    f->switched = list;
    int rc = fl_format_from_header(line, len, &sw->fmt, &perr);
    if (rc == FL_ENOMEM) {
        fl_free(sw);
        fl_feed_fail(f, FL_OOM_TEXT);
        return -1;
    }
    f->switched[f->n_switched++] = sw;
    if (rc < 0) {
        sw->fmt = NULL;
        snprintf(sw->reject, sizeof sw->reject, "bad header line: %.140s",
                 perr.reason);
        *bad = sw->reject;
        return 0;
    }
    /* The run's columns were fixed from each input's first line before
     * DuckDB started writing: a field only a later header names has no
     * column to go to, and its lines are rejected rather than cut. */
    char name[FL_FORMAT_MAX_NAME + 1];
    if (!fl_scan_has_columns(f->scan, sw->fmt, name, sizeof name))
        snprintf(sw->reject, sizeof sw->reject,
                 "the header line above names %s, which is not a column "
                 "of this run: convert this input on its own", name);
    f->fmt = sw->fmt;
    f->reject_all = sw->reject[0] ? sw->reject : NULL;
    return 0;
}


/* A line that may be a header: it starts with a letter (data lines of the
 * default format start with a digit, so for them this costs one byte per
 * line), and every word is a field name. */
static int
looks_like_header(const char *line, size_t len)
{
    return len > 0 && ((*line | 0x20) >= 'a' && (*line | 0x20) <= 'z')
        && fl_format_is_header(line, len);
}


/* Queues a block of lines, split at header lines: each header line is
 * consumed and sets the format of the lines after it (an S3 object starts
 * with one, and concatenated objects keep theirs). Returns 0 or -1 when
 * stopping. */
static int
queue_lines(struct fl_feed *f, const struct fl_line_block *lb,
            struct fl_input *in)
{
    /* A memory input with its format given holds validated text without
     * header lines (the live buffer); an overlong line is one line cut. */
    if (lb->overlong || (in->mem != NULL && in->header_fmt != NULL))
        return queue_block(f, lb->p, lb->len, lb->nlines, lb->first_line,
                           lb->overlong, in);
    const char *seg = lb->p, *p = lb->p, *end = lb->p + lb->len;
    unsigned long long line = lb->first_line, seg_line = line;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *next = nl ? nl + 1 : end;
        size_t len = (size_t)((nl ? nl : end) - p);
        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (looks_like_header(p, len)) {
            if (p > seg && queue_block(f, seg, (size_t)(p - seg),
                                       (size_t)(line - seg_line), seg_line,
                                       0, in) < 0)
                return -1;
            const char *bad;
            if (switch_format(f, p, len, &bad) < 0)
                return -1;
            if (bad != NULL) {
                /* Not a format: rejected like any bad line, by the
                 * parsers, in order with the lines around it. */
                const char *keep = f->reject_all;
                f->reject_all = bad;
                int rc = queue_block(f, p, (size_t)(next - p), 1, line, 0,
                                     in);
                f->reject_all = keep;
                if (rc < 0)
                    return -1;
            }
            seg = next;
            seg_line = line + 1;
        }
        line++;
        p = next;
    }
    if (end > seg && queue_block(f, seg, (size_t)(end - seg),
                                 (size_t)(line - seg_line), seg_line, 0,
                                 in) < 0)
        return -1;
    return 0;
}


static void *
reader_main(void *arg)
{
    struct fl_feed *f = arg;
    const struct fl_scan *s = f->scan;
    char msg[512];

    for (;;) {
        struct fl_line_block lb;
        struct fl_input *in = NULL;
        int rc = next_block(f, &lb, &in, msg, sizeof msg);
        if (rc < 0) {
            fl_feed_fail(f, msg);
            break;
        }
        if (lb.nlines == 0)
            break;
        if (queue_lines(f, &lb, in) < 0)
            break;
        if (s->progress)
            progress(f, 0);
    }
    pthread_mutex_lock(&f->mu);
    int failed = f->failed;
    pthread_mutex_unlock(&f->mu);
    if (s->progress && !failed)
        progress(f, 1);
    pthread_mutex_lock(&f->mu);
    f->eof = 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return NULL;
}


int
fl_feed_create(struct fl_scan *s, const char *skip, struct fl_feed **out)
{
    char msg[128];
    struct fl_feed *f = fl_calloc(1, sizeof *f);
    int rc;
    if (f == NULL || (skip != NULL && (f->skip = fl_strdup(skip)) == NULL)) {
        fl_free(f);
        fl_scan_set_error(s, FL_OOM_TEXT);
        return FL_ENOMEM;
    }
    f->n_skip = skip != NULL ? strlen(skip) : 0;
    f->scan = s;
    if ((rc = pthread_mutex_init(&f->mu, NULL)) != 0) {
        fl_free(f->skip);
        fl_free(f);
        rc = -rc;
        goto fail;
    }
    if ((rc = pthread_cond_init(&f->cv, NULL)) != 0) {
        pthread_mutex_destroy(&f->mu);
        fl_free(f->skip);
        fl_free(f);
        rc = -rc;
        goto fail;
    }
    f->n_free = FL_FEED_BLOCKS;
    for (int i = 0; i < FL_FEED_BLOCKS; i++)
        f->free_list[i] = FL_FEED_BLOCKS - 1 - i;
    f->started = fl_time_mono();
    if ((rc = pthread_create(&f->reader, NULL, reader_main, f)) != 0) {
        rc = -rc;
        fl_feed_destroy(f);
        goto fail;
    }
    f->reader_started = 1;
    *out = f;
    return FL_OK;

fail:
    snprintf(msg, sizeof msg, "cannot start the reader thread: %s",
             fl_strerror(rc));
    fl_scan_set_error(s, msg);
    return rc;
}


struct fl_block *
fl_feed_pop(struct fl_feed *f)
{
    struct fl_block *b = NULL;
    pthread_mutex_lock(&f->mu);
    while (f->n_ready == 0 && !f->eof && !f->failed)
        pthread_cond_wait(&f->cv, &f->mu);
    if (f->n_ready > 0 && !f->failed) {
        b = &f->blocks[f->ready[f->ready_head]];
        f->ready_head = (f->ready_head + 1) % FL_FEED_BLOCKS;
        f->n_ready--;
    }
    pthread_mutex_unlock(&f->mu);
    return b;
}


void
fl_feed_release(struct fl_feed *f, struct fl_block *b)
{
    pthread_mutex_lock(&f->mu);
    f->free_list[f->n_free++] = (int)(b - f->blocks);
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}


void
fl_feed_destroy(struct fl_feed *f)
{
    if (f == NULL)
        return;
    if (f->reader_started) {
        pthread_mutex_lock(&f->mu);
        if (!f->eof) {
            /* DuckDB stopped early (an error elsewhere, a LIMIT): make the
             * reader give up rather than wait for free blocks forever. */
            f->failed = 1;     /* no message: DuckDB's error is the one */
        }
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
        pthread_join(f->reader, NULL);
        f->reader_started = 0;
    }
    /* An input left open by a reader that stopped early. */
    fl_lines_destroy(f->lines);
    for (int i = 0; i < FL_FEED_BLOCKS; i++)
        fl_free(f->blocks[i].p);
    for (size_t i = 0; i < f->n_switched; i++) {
        fl_format_destroy(f->switched[i]->fmt);     /* NULL-safe */
        fl_free(f->switched[i]);
    }
    fl_free(f->switched);
    fl_free(f->skip);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    fl_free(f);
}
