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
     * per group of inputs (convert.c) and shows one progress line. */
    pthread_mutex_lock(&s->mu);
    uint64_t done = s->bytes_done;
    pthread_mutex_unlock(&s->mu);
    if (f->lines != NULL)
        done += fl_reader_raw_offset(fl_lines_reader(f->lines));
    uint64_t recs = atomic_load(&s->records_read);
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
    pthread_mutex_lock(&s->mu);
    s->bytes_done += n;
    pthread_mutex_unlock(&s->mu);
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
        if (f->lines == NULL
            && (rc = open_current(f, *in, msg, msglen)) < 0)
            return rc;
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

        pthread_mutex_lock(&f->mu);
        while (f->n_free == 0 && !f->failed)
            pthread_cond_wait(&f->cv, &f->mu);
        if (f->failed) {
            pthread_mutex_unlock(&f->mu);
            break;
        }
        int idx = f->free_list[--f->n_free];
        pthread_mutex_unlock(&f->mu);

        /* Fill the block outside the lock: only this thread touches a
         * block between taking it from the free list and queueing it. */
        struct fl_block *b = &f->blocks[idx];
        if (lb.len > b->cap) {
            char *p = fl_realloc(b->p, lb.len);
            if (p == NULL) {
                pthread_mutex_lock(&f->mu);
                f->free_list[f->n_free++] = idx;
                pthread_mutex_unlock(&f->mu);
                fl_feed_fail(f, "out of memory");
                break;
            }
            b->p = p;
            b->cap = lb.len;
        }
        memcpy(b->p, lb.p, lb.len);
        b->len = lb.len;
        b->nlines = lb.nlines;
        b->first_line = lb.first_line;
        b->overlong = lb.overlong;
        b->in = in;

        pthread_mutex_lock(&f->mu);
        f->ready[(f->ready_head + f->n_ready) % FL_FEED_BLOCKS] = idx;
        f->n_ready++;
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
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
fl_feed_create(struct fl_scan *s, struct fl_feed **out)
{
    char msg[128];
    struct fl_feed *f = fl_calloc(1, sizeof *f);
    int rc;
    if (f == NULL) {
        fl_scan_set_error(s, "out of memory");
        return FL_ENOMEM;
    }
    f->scan = s;
    if ((rc = pthread_mutex_init(&f->mu, NULL)) != 0) {
        fl_free(f);
        rc = -rc;
        goto fail;
    }
    if ((rc = pthread_cond_init(&f->cv, NULL)) != 0) {
        pthread_mutex_destroy(&f->mu);
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
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    fl_free(f);
}
