/* SPDX-License-Identifier: MIT
 *
 * feed.c -- the reader thread of `convert`: opens each input in turn,
 * inflates it, splits it into blocks of up to one vector's worth of lines
 * and queues them for the parser threads (DuckDB's workers running
 * flowlake_scan, scan.c).
 *
 * Decompression is the one inherently sequential stage; on its own thread
 * it runs ahead of the parsers instead of making them take turns under a
 * lock. The queue holds FL_FEED_BLOCKS buffers: a free list the reader
 * fills from and a FIFO of ready blocks the parsers pop; a parser returns
 * its block once its rows are copied into DuckDB's chunk. All queue state
 * is guarded by scan->mu and signalled on scan->cv.
 *
 * Stopping: a parser that fails (strict mode, a write error) calls
 * fl_feed_fail; the reader sees `failed` and stops; fl_feed_stop (called
 * by convert.c whatever happened) joins the reader and frees the blocks.
 * The reader owns the line source, the progress line and the end-of-input
 * bookkeeping (bytes read, stdin's digest).
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


int
fl_feed_init(struct fl_scan *s)
{
    int rc = pthread_mutex_init(&s->mu, NULL);
    if (rc != 0)
        return -rc;
    if ((rc = pthread_cond_init(&s->cv, NULL)) != 0) {
        pthread_mutex_destroy(&s->mu);
        return -rc;
    }
    s->n_free = FL_FEED_BLOCKS;
    for (int i = 0; i < FL_FEED_BLOCKS; i++)
        s->free_list[i] = FL_FEED_BLOCKS - 1 - i;
    return FL_OK;
}


void
fl_feed_fail(struct fl_scan *s, const char *msg)
{
    pthread_mutex_lock(&s->mu);
    if (!s->failed) {
        s->failed = 1;
        snprintf(s->errmsg, sizeof s->errmsg, "%s", msg);
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}


static void
progress(struct fl_scan *s, int final)
{
    double now = fl_time_mono();
    if (!final && now - s->last_progress < 0.25)
        return;
    s->last_progress = now;
    pthread_mutex_lock(&s->mu);
    uint64_t done = s->bytes_done;
    pthread_mutex_unlock(&s->mu);
    if (s->lines != NULL)
        done += fl_reader_raw_offset(fl_lines_reader(s->lines));
    uint64_t recs = atomic_load(&s->records_read);
    double el = now - s->started;
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
    if (final)
        fputc('\n', stderr);
}


/* Closes the current input, keeping its byte count and stdin's digest. */
static void
close_current(struct fl_scan *s)
{
    struct fl_input *in = &s->inputs[s->cur];
    struct fl_reader *r = fl_lines_reader(s->lines);
    uint64_t n = fl_reader_raw_offset(r);
    if (in->is_stdin)
        (void)fl_reader_digest(r, &in->digest);
    fl_lines_destroy(s->lines);
    s->lines = NULL;
    in->lines = NULL;
    s->cur++;
    pthread_mutex_lock(&s->mu);
    s->bytes_done += n;
    pthread_mutex_unlock(&s->mu);
}


/* The next block of lines of the inputs, in order; b->nlines == 0 at the
 * end. Returns <0 with msg filled on a read error. */
static int
next_block(struct fl_scan *s, struct fl_line_block *b, struct fl_input **in,
           char *msg, size_t msglen)
{
    int rc;
    memset(b, 0, sizeof *b);
    while (s->cur < s->n_inputs) {
        *in = &s->inputs[s->cur];
        if (s->lines == NULL) {
            if ((*in)->lines != NULL) {
                s->lines = (*in)->lines;         /* stdin, already peeked */
            } else {
                if ((rc = fl_scan_open_input(s, *in, &s->lines)) < 0) {
                    snprintf(msg, msglen, "%s: %s", (*in)->path,
                             fl_strerror(rc));
                    return rc;
                }
                if ((*in)->header_line) {
                    struct fl_line_block hb;
                    if ((rc = fl_lines_next(s->lines, 1, &hb)) < 0)
                        goto read_error;
                }
            }
        }
        if ((rc = fl_lines_next(s->lines, BLOCK_LINES, b)) < 0)
            goto read_error;
        if (b->nlines > 0)
            return FL_OK;
        close_current(s);
    }
    return FL_OK;

read_error:
    snprintf(msg, msglen, "%s: %s", (*in)->path,
             fl_reader_error(fl_lines_reader(s->lines)));
    return rc;
}


static void *
reader_main(void *arg)
{
    struct fl_scan *s = arg;
    char msg[512];

    for (;;) {
        struct fl_line_block lb;
        struct fl_input *in = NULL;
        int rc = next_block(s, &lb, &in, msg, sizeof msg);
        if (rc < 0) {
            fl_feed_fail(s, msg);
            break;
        }
        if (lb.nlines == 0)
            break;

        pthread_mutex_lock(&s->mu);
        while (s->n_free == 0 && !s->failed)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->failed) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        int idx = s->free_list[--s->n_free];
        pthread_mutex_unlock(&s->mu);

        /* Fill the block outside the lock: only this thread touches a
         * block between taking it from the free list and queueing it. */
        struct fl_block *b = &s->blocks[idx];
        if (lb.len > b->cap) {
            char *p = fl_realloc(b->p, lb.len);
            if (p == NULL) {
                pthread_mutex_lock(&s->mu);
                s->free_list[s->n_free++] = idx;
                pthread_mutex_unlock(&s->mu);
                fl_feed_fail(s, "out of memory");
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

        pthread_mutex_lock(&s->mu);
        s->ready[(s->ready_head + s->n_ready) % FL_FEED_BLOCKS] = idx;
        s->n_ready++;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        if (s->progress)
            progress(s, 0);
    }
    if (s->progress && !s->failed)
        progress(s, 1);
    pthread_mutex_lock(&s->mu);
    s->eof = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}


int
fl_feed_start(struct fl_scan *s)
{
    s->started = fl_time_mono();
    int rc = pthread_create(&s->reader, NULL, reader_main, s);
    if (rc != 0)
        return -rc;
    s->reader_started = 1;
    return FL_OK;
}


struct fl_block *
fl_feed_pop(struct fl_scan *s)
{
    struct fl_block *b = NULL;
    pthread_mutex_lock(&s->mu);
    while (s->n_ready == 0 && !s->eof && !s->failed)
        pthread_cond_wait(&s->cv, &s->mu);
    if (s->n_ready > 0 && !s->failed) {
        b = &s->blocks[s->ready[s->ready_head]];
        s->ready_head = (s->ready_head + 1) % FL_FEED_BLOCKS;
        s->n_ready--;
    }
    pthread_mutex_unlock(&s->mu);
    return b;
}


void
fl_feed_release(struct fl_scan *s, struct fl_block *b)
{
    pthread_mutex_lock(&s->mu);
    s->free_list[s->n_free++] = (int)(b - s->blocks);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}


void
fl_feed_stop(struct fl_scan *s)
{
    if (s->reader_started) {
        pthread_mutex_lock(&s->mu);
        if (!s->eof) {
            /* DuckDB stopped early (an error elsewhere): make the reader
             * give up rather than wait for free blocks forever. */
            s->failed = 1;     /* no message: DuckDB's error is the one */
        }
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->reader, NULL);
        s->reader_started = 0;
    }
    for (int i = 0; i < FL_FEED_BLOCKS; i++) {
        fl_free(s->blocks[i].p);
        s->blocks[i].p = NULL;
        s->blocks[i].cap = 0;
    }
}
