/* SPDX-License-Identifier: MIT
 *
 * ingest.c -- what happens to a body of flow-log lines between a source
 * handing it over and its answer (an HTTP 200, say): gunzip within the configured ceiling, find the
 * format (a header line, the request's format, or the default), validate
 * every line with the same parser the archive uses (bad lines go to the
 * errors folder with their reason), then buffer the good ones for the
 * publisher.
 *
 * Lines are validated here rather than at publish time so that the
 * response can tell the sender how many were accepted, and so that a line
 * is rejected exactly once.
 *
 * Durability: the good lines are appended to the write-ahead log (split
 * at line boundaries into records the WAL accepts) and added to the buffer
 * under one lock, then fl_wal_commit waits -- sharing an fdatasync with
 * every concurrent request -- before the caller answers 200. The dedupe
 * keys of the request (claimed by the caller) ride in the first record.
 *
 * Provenance: a request may hold lines of several origins (a Firehose
 * request carries CloudWatch Logs payloads of many log groups and
 * streams). The caller says which byte ranges of the body came from
 * where (struct fl_prov_seg); validation maps them onto the lines it
 * keeps, and each range becomes WAL records and buffer blocks of its own,
 * since an archive input has one provenance for all its records.
 *
 * Format switches: concatenated S3 objects of different custom formats
 * put a header line naming other fields in the middle of a body. Such a
 * header switches the format for the lines after it (it wins over the
 * request's format too: it is what the producer wrote), as `convert` does.
 * The kept text is then cut into format runs like the provenance runs:
 * every WAL record and buffer block has one format, its run's.
 */
#include "../core/fl_config.h"

#include <stdio.h>
#include <string.h>

#include "../config/config.h"
#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "../ingest/gunzip.h"
#include "../parse/batch.h"
#include "../parse/format.h"
#include "../parse/line.h"
#include "../core/fl_buf.h"
#include "../sources/counters.h"
#include "pipeline_int.h"
#include "walrec.h"

/* Rows of the scratch batch lines are validated into. */
#define CHECK_ROWS 64


/* Gunzips body into a new buffer of at most max bytes and at most ratio
 * times its size (the ingest module's bounded gunzip), with the server's
 * wording of the errors a sender sees: the size ceiling, and (as the
 * gunzip says it) the ratio ceiling or damaged or truncated data. */
static int
gunzip(const char *body, size_t len, uint64_t max, uint64_t ratio,
       char **out, size_t *out_len, char *err, size_t errlen)
{
    struct fl_ingest_err ierr;
    size_t cap = 0;
    *out = NULL;
    memset(&ierr, 0, sizeof ierr);
    int rc = fl_gunzip(body, len, (size_t)max, (unsigned)ratio, out, &cap,
                       out_len, &ierr);
    if (rc == FL_ETOOBIG && strstr(ierr.msg, "compressed size") == NULL)
        snprintf(err, errlen, "decompressed body exceeds %llu bytes",
                 (unsigned long long)max);
    else if (rc < 0)
        snprintf(err, errlen, "body: %.200s", ierr.msg);
    if (rc < 0) {
        fl_free(*out);
        *out = NULL;
    }
    return rc;
}


/* A format run of the kept text: the lines from byte off up to the next
 * run's off (or the end) are in format spec (owned). */
struct fmt_run {
    size_t off;
    char  *spec;
};


/* Starts a format run of fmt at byte off of the kept text; a run that
 * would hold no line (two headers in a row, or a header before any line)
 * is replaced rather than kept. Returns 0 or FL_ENOMEM. */
static int
push_run(struct fmt_run **runs, size_t *n, size_t *cap, size_t off,
         const struct fl_format *fmt)
{
    char *spec = fl_format_to_string(fmt);
    if (spec == NULL)
        return FL_ENOMEM;
    if (*n > 0 && (*runs)[*n - 1].off == off) {
        fl_free((*runs)[*n - 1].spec);
        (*runs)[*n - 1].spec = spec;
        return FL_OK;
    }
    if (*n == *cap) {
        struct fmt_run *r = fl_grow(*runs, cap, *n + 1, sizeof *r, 4);
        if (r == NULL) {
            fl_free(spec);
            return FL_ENOMEM;
        }
        *runs = r;
    }
    (*runs)[*n].off = off;
    (*runs)[(*n)++].spec = spec;
    return FL_OK;
}


/* Counts the lines of text[0..len). */
static uint64_t
count_lines(const char *text, size_t len)
{
    uint64_t n = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        n++;
        p = nl ? nl + 1 : end;
    }
    return n;
}


/* A piece of the text for one WAL record: n bytes with provenance prov
 * (NULL = none), in format spec. */
struct cut {
    size_t n;
    const struct fl_provenance *prov;
    const char *spec;
};


/* The largest encoded provenance and format spec of a request: every
 * record is sized for them. */
static void
largest_headers(const struct fmt_run *runs, size_t n_runs,
                const struct fl_prov_seg *segs, size_t n_segs,
                size_t *prov_max, size_t *spec_max)
{
    *prov_max = 0;
    *spec_max = 0;
    for (size_t i = 0; i < n_segs; i++) {
        struct fl_walrec r = { .prov = segs[i].prov };
        size_t n = fl_walrec_prov_size(&r);
        *prov_max = n > *prov_max ? n : *prov_max;
    }
    for (size_t i = 0; i < n_runs; i++) {
        size_t n = strlen(runs[i].spec);
        *spec_max = n > *spec_max ? n : *spec_max;
    }
}


/* Cut points first: every record says how many pieces its request has,
 * so that replay can tell a whole request from a torn one. A piece never
 * spans two provenance runs, nor two format runs, nor holds more than
 * room bytes. Returns 0 or FL_ENOMEM (*cuts then holds what was cut). */
static int
cut_text(const char *text, size_t len, const struct fmt_run *runs,
         size_t n_runs, const struct fl_prov_seg *segs, size_t n_segs,
         size_t room, struct cut **cuts, size_t *n_cuts)
{
    size_t cap_cuts = 0, seg = 0, fr = 0;

    for (const char *p = text, *end = text + len; p < end;) {
        while (seg + 1 < n_segs && segs[seg + 1].off <= (size_t)(p - text))
            seg++;
        while (fr + 1 < n_runs && runs[fr + 1].off <= (size_t)(p - text))
            fr++;
        const char *run_end = seg + 1 < n_segs ? text + segs[seg + 1].off
                                               : end;
        if (fr + 1 < n_runs && text + runs[fr + 1].off < run_end)
            run_end = text + runs[fr + 1].off;
        size_t n = (size_t)(run_end - p);
        if (n > room) {
            /* At the last line boundary that fits; lines are at most
             * server.max_line long, far below a record. */
            const char *cut = p + room;
            while (cut > p && cut[-1] != '\n')
                cut--;
            n = cut > p ? (size_t)(cut - p) : room;
        }
        if (*n_cuts == cap_cuts) {
            cap_cuts = cap_cuts ? cap_cuts * 2 : 8;
            struct cut *c = fl_realloc(*cuts, cap_cuts * sizeof *c);
            if (c == NULL)
                return FL_ENOMEM;
            *cuts = c;
        }
        (*cuts)[*n_cuts].n = n;
        (*cuts)[*n_cuts].spec = runs[fr].spec;
        (*cuts)[(*n_cuts)++].prov = n_segs > 0 ? &segs[seg].prov : NULL;
        p += n;
    }
    return FL_OK;
}


/* What every piece of one request shares. */
struct request_pieces {
    enum fl_source_kind   kind;
    const char           *source;
    const char           *text;
    const struct cut     *cuts;
    size_t                n_cuts;
    uint64_t              records;
    const uint64_t       *keys;
    size_t                n_keys;
    unsigned char        *keybuf, *provbuf;   /* encoding room */
    const char           *hold;               /* a held request's, or NULL */
    uint64_t              first_seq;          /* OUT: its first record */
};


/* The buffer blocks of every piece, made before the append lock is
 * taken: copying the text into the buffer's shared memory and finding its
 * hours need not hold up other requests' appends. */
static int
make_blocks(struct fl_pipeline *pl, const struct request_pieces *rq,
            struct fl_buffer_block **list)
{
    struct fl_buffer_block **tail = list;
    const char *p = rq->text;
    int rc = FL_OK;

    for (size_t i = 0; i < rq->n_cuts && rc == 0; i++) {
        size_t n = rq->cuts[i].n;
        uint64_t piece_records = rq->n_cuts == 1 ? rq->records
                                                 : count_lines(p, n);
        struct fl_buffer_block *blk = NULL;
        rc = fl_buffer_block_create(pl->buffer, p, n, rq->cuts[i].spec,
                                    rq->source, piece_records, 0, &blk);
        if (rc == 0
            && (rc = fl_buffer_block_set_provenance(blk,
                                                    rq->cuts[i].prov)) < 0)
            fl_buffer_block_free_list(blk);
        if (rc == 0) {
            *tail = blk;
            tail = &blk->next;
        }
        p += n;
    }
    return rc;
}


/* Appends every piece to the WAL, then hands all the blocks to the buffer
 * (and the metrics) in one step -- or none of them, if a piece fails.
 * *last_seq: the last record's sequence number. */
static int
append_pieces(struct fl_pipeline *pl, struct request_pieces *rq,
              uint64_t *last_seq)
{
    struct fl_buffer_block *list = NULL;
    int rc = make_blocks(pl, rq, &list);
    if (rc < 0) {
        fl_buffer_block_free_list(list);
        return rc;
    }

    pthread_mutex_lock(&pl->append_mu);
    /* Stamped under the lock: arrival times then grow with WAL order,
     * which the arrival-time metric windows rely on. */
    uint64_t arrival_ms = fl_time_now_ms();
    struct fl_buffer_block *blk = list;
    for (size_t i = 0; i < rq->n_cuts && rc == 0; i++, blk = blk->next) {
        const char *spec = rq->cuts[i].spec;
        struct fl_walrec rec = {
            .source_kind = rq->kind, .format = spec,
            .format_len = strlen(spec),
            .source = rq->source, .source_len = strlen(rq->source),
            .records = blk->records, .text = blk->text,
            .text_len = blk->len,
            .hold = i == 0 ? rq->hold : NULL,
            .key_list = i == 0 ? rq->keys : NULL,
            .n_keys = i == 0 ? rq->n_keys : 0,
            .piece = (unsigned)i, .pieces = (unsigned)rq->n_cuts,
            .arrival_ms = arrival_ms,
        };
        if (rq->cuts[i].prov != NULL)
            rec.prov = *rq->cuts[i].prov;
        unsigned char hdr[FL_WALREC_HDR_SIZE];
        struct iovec iov[6];
        int niov = fl_walrec_encode(&rec, hdr, rq->keybuf, rq->provbuf, iov);
        rc = niov < 0 ? niov
           : fl_wal_appendv(pl->wal, FL_WALREC_BLOCK, iov, niov, last_seq);
        if (rc == 0)
            blk->wal_seq = *last_seq;
        if (rc == 0 && i == 0)
            rq->first_seq = *last_seq;
    }
    if (rc == 0 && rq->hold != NULL) {
        /* Neither buffered nor shown to the metrics until settled; from
         * now on the log keeps it. */
        rc = fl_held_add(pl, rq->first_seq, rq->hold, list, rq->records);
    } else if (rc == 0) {
        /* The request's claimed ids are in the log now; a checkpoint may
         * drop these records before the request commits its ids, so from
         * here the dedupe file carries them (dedupe.h). */
        fl_dedupe_appended(fl_pipeline_dedupe_of(pl, rq->kind), rq->keys,
                           rq->n_keys, arrival_ms);
        if (pl->tap.appended != NULL)
            pl->tap.appended(pl->tap.ctx, list, arrival_ms);
        fl_buffer_add_list(pl->buffer, list);
    } else
        fl_buffer_block_free_list(list);
    pthread_mutex_unlock(&pl->append_mu);
    return rc;
}


/* Appends text to the WAL and the buffer in pieces the WAL accepts, then
 * waits until they are durable. segs (offsets into text, in order) say
 * where each run of lines came from. Fills res on failure. */
static int
durable_buffer(struct fl_pipeline *pl, enum fl_source_kind kind,
               const char *source, const struct fmt_run *runs,
               size_t n_runs, const char *text,
               size_t len, uint64_t records, const uint64_t *keys,
               size_t n_keys, const struct fl_prov_seg *segs, size_t n_segs,
               const char *hold, uint64_t *held_id,
               struct fl_ingest_result *res)
{
    struct fl_wal_stats ws;
    uint64_t last_seq = 0, first_seq = 0;
    unsigned char *keybuf = NULL, *provbuf = NULL;
    size_t prov_max, spec_max;
    int rc = FL_OK;

    fl_wal_stats(pl->wal, &ws);
    largest_headers(runs, n_runs, segs, n_segs, &prov_max, &spec_max);
    if (hold != NULL)                   /* in the first record's */
        prov_max += 3 + strlen(hold) + 1;
    /* Room for the text in one record, after the record's own header (the
     * keys ride in the first record only). */
    if (8 * n_keys + FL_WALREC_HDR_SIZE + spec_max + strlen(source)
        + prov_max + pl->cfg->max_line + 1 > pl->wal_max_record) {
        return fl_err_set(&res->err, FL_ETOOBIG, "too many ids in one "
                          "request");
    }
    if ((n_keys > 0 && (keybuf = fl_malloc(8 * n_keys)) == NULL)
        || (prov_max > 0 && (provbuf = fl_malloc(prov_max)) == NULL)) {
        fl_free(keybuf);
        return fl_err_oom(&res->err);
    }
    size_t room = pl->wal_max_record - FL_WALREC_HDR_SIZE - spec_max
                - strlen(source) - prov_max - 8 * n_keys;

    struct cut *cuts = NULL;
    size_t n_cuts = 0;
    rc = cut_text(text, len, runs, n_runs, segs, n_segs, room, &cuts,
                  &n_cuts);
    if (rc == 0 && n_cuts > 0xffff)
        rc = fl_err_set(&res->err, FL_ETOOBIG, "request too large for the "
                        "write-ahead log (raise wal.segment_size)");
    if (rc == 0) {
        struct request_pieces rq = {
            .kind = kind, .source = source, .text = text, .cuts = cuts,
            .n_cuts = n_cuts, .records = records, .keys = keys,
            .n_keys = n_keys, .keybuf = keybuf, .provbuf = provbuf,
            .hold = hold,
        };
        rc = append_pieces(pl, &rq, &last_seq);
        first_seq = rq.first_seq;
        if (rc == 0 && hold != NULL)
            *held_id = first_seq;
    }
    fl_free(cuts);
    fl_free(keybuf);
    fl_free(provbuf);
    if (res->err.code != 0)
        return rc;             /* already explained (too big) */
    if (rc == 0 && last_seq > 0)
        rc = fl_wal_commit(pl->wal, last_seq);
    if (rc < 0 && hold != NULL && first_seq != 0) {
        /* Not stored, so not held either: its source reads it again. What
         * of it reached the log must not come back held after a crash,
         * beside the copy stored then. */
        fl_held_forget(pl, first_seq);
        *held_id = 0;
    }
    if (rc == FL_EAGAIN) {
        fl_err_set(&res->err, FL_EAGAIN, "the write-ahead log is full "
                   "(wal.max_size %llu bytes); retry later",
                   (unsigned long long)ws.max_bytes);
    } else if (rc == FL_ENOMEM) {
        fl_err_oom(&res->err);
    } else if (rc < 0) {
        /* FL_EAGAIN (retry later, 503) whatever the code, not its own
         * 500: the request was good, the log's disk (full, failing) is
         * the server's trouble, and the sender should retry
         * (test_serve_diskfull). The message keeps the real cause. */
        fl_err_set(&res->err, FL_EAGAIN, "the write-ahead log failed: %s",
                   fl_strerror(rc));
    }
    return rc;
}


/* Validating one body: the parser, the text kept so far and where its
 * provenance and format runs start. */
struct validation {
    struct fl_pipeline *pl;
    const char         *source;
    struct fl_format   *fmt;          /* the current run's */
    struct fl_batch    *batch;        /* scratch rows */
    struct fl_parser    parser;
    unsigned long long  line_no;
    /* The text kept: text_start.. as given until the first line left out
     * (filtered), from then on an explicit copy in good. */
    const char         *text_start;
    int                 filtered;
    struct fl_buf       good;
    /* The provenance runs, re-based on the text kept (out_segs[i].off). */
    struct fl_prov_seg *out_segs;
    size_t              seg_next;
    /* The format runs of the text kept (see the file comment). */
    struct fmt_run     *runs;
    size_t              n_runs, cap_runs;
};


static void
validation_free(struct validation *v)
{
    fl_free(v->out_segs);
    for (size_t i = 0; i < v->n_runs; i++)
        fl_free(v->runs[i].spec);
    fl_free(v->runs);
    fl_buf_free(&v->good);
    fl_batch_destroy(v->batch);
    fl_format_destroy(v->fmt);
}


/* The format: the request's, else a header line, else the default.
 * *pp moves past a byte-order mark and a header line. */
static int
choose_format(struct validation *v, const char **pp, const char *end,
              const char *format_spec, struct fl_ingest_result *res)
{
    struct fl_parse_err perr;
    const char *p = *pp;
    size_t len = (size_t)(end - p);
    int rc;

    /* A UTF-8 byte-order mark is not part of the first line (it would
     * hide a header line or spoil the first record). */
    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
        p += 3;
        len -= 3;
    }
    const char *nl = memchr(p, '\n', len);
    size_t first_len = (size_t)((nl ? nl : end) - p);
    if (format_spec != NULL) {
        rc = fl_format_parse(format_spec, &v->fmt, &perr);
        if (rc < 0)
            return rc == FL_ENOMEM ? fl_err_oom(&res->err)
                 : fl_err_set(&res->err, FL_ECONFIG, "format: %s",
                              perr.reason);
    } else if (fl_format_is_header(p, first_len)) {
        size_t hl = first_len;
        if (hl > 0 && p[hl - 1] == '\r')
            hl--;
        rc = fl_format_from_header(p, hl, &v->fmt, &perr);
        if (rc < 0)
            return rc == FL_ENOMEM ? fl_err_oom(&res->err)
                 : fl_err_set(&res->err, FL_EPARSE, "header line: %s",
                              perr.reason);
        p = nl ? nl + 1 : end;
        v->line_no = 2;
        v->filtered = 1;          /* the stored text drops the header */
    } else if ((rc = fl_format_default(&v->fmt)) < 0) {
        return fl_err_oom(&res->err);
    }
    *pp = p;
    return FL_OK;
}


/* What the line p[0..n) is: 0 a record (in the scratch batch), 2 a
 * repeated header line, 3 a header line of other fields (*next: its
 * format, the caller's), FL_EPARSE rejected (perr says why). */
static int
classify_line(struct validation *v, const char *p, size_t n,
              struct fl_parse_err *perr, struct fl_format **next)
{
    struct fl_pipeline *pl = v->pl;

    *next = NULL;
    if (v->batch->n == v->batch->cap)
        fl_batch_reset(v->batch);
    int prc;
    if (n > pl->cfg->max_line) {
        prc = FL_EPARSE;
        snprintf(perr->reason, sizeof perr->reason,
                 "line longer than %llu bytes",
                 (unsigned long long)pl->cfg->max_line);
    } else {
        prc = fl_parse_line(&v->parser, v->batch, p, n, perr);
    }
    int hdr = 0;
    if (prc == FL_EPARSE || (prc == 0 && v->parser.type[0] == FL_TYPE_STRING))
        hdr = fl_format_header_line(v->fmt, p, n, perr->reason,
                                    sizeof perr->reason);
    if (hdr != 0 && prc == 0)
        v->batch->n--;            /* a header is no record */
    if (hdr == 2) {
        /* Other fields: the lines after it are in its format, if it
         * is a format (prc 3); else the line is rejected. */
        size_t hl = n;
        while (hl > 0 && (p[hl - 1] == '\r' || p[hl - 1] == ' '
                          || p[hl - 1] == '\t'))
            hl--;
        struct fl_parse_err herr;
        memset(&herr, 0, sizeof herr);
        if (fl_format_from_header(p, hl, next, &herr) == 0)
            hdr = 3;
        else
            snprintf(perr->reason, sizeof perr->reason,
                     "bad header line %llu: %.120s", v->line_no, herr.reason);
    }
    if (hdr != 0)
        prc = hdr == 1 ? 2 : hdr == 3 ? 3 : FL_EPARSE;
    return prc;
}


/* The stored text after line p[0..n) of class prc (classify_line): a
 * record is kept, a rejected or header line left out, and a format switch
 * (prc 3, which takes next) starts a new run. Returns 0 or FL_ENOMEM. */
static int
keep_line(struct validation *v, const char *p, size_t n, int prc,
          struct fl_format *next)
{
    if ((prc == 2 || prc == 3 || prc == FL_EPARSE) && !v->filtered) {
        /* The first line left out of the stored text (a rejected line,
         * or a header line of concatenated S3 objects, which is not
         * counted): from now on keep an explicit copy, starting with
         * the lines before it. */
        v->filtered = 1;
        if (fl_buf_add(&v->good, v->text_start,
                       (size_t)(p - v->text_start)) < 0) {
            fl_format_destroy(next);
            return FL_ENOMEM;
        }
    }
    if (prc == 3) {
        /* The switch: a new run from here, parsed with the new
         * format (the scratch batch holds nothing kept). */
        fl_format_destroy(v->fmt);
        v->fmt = next;
        fl_parser_init(&v->parser, v->fmt, NULL, NULL);
        fl_batch_reset(v->batch);
        return push_run(&v->runs, &v->n_runs, &v->cap_runs, v->good.len,
                        v->fmt);
    }
    if (v->filtered && prc == 0) {
        fl_buf_add(&v->good, p, n);
        if (fl_buf_addc(&v->good, '\n') < 0)
            return FL_ENOMEM;
    }
    return FL_OK;
}


/* Every line of p..end (base: the body's start, for segs' offsets):
 * counted in res, rejects recorded, the good ones kept. Returns 0 or
 * FL_ENOMEM. */
static int
validate_lines(struct validation *v, const char *p, const char *end,
               const char *base, const struct fl_prov_seg *segs,
               size_t n_segs, struct fl_ingest_result *res)
{
    struct fl_pipeline *pl = v->pl;
    struct fl_parse_err perr;

    for (; p < end; v->line_no++) {
        /* Runs starting at or before this line start where its kept text
         * would go. */
        while (v->seg_next < n_segs
               && segs[v->seg_next].off <= (size_t)(p - base)) {
            v->out_segs[v->seg_next++].off = v->filtered
                ? v->good.len : (size_t)(p - v->text_start);
        }
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        struct fl_format *next;
        int prc = classify_line(v, p, n, &perr, &next);
        if (prc == 0)
            res->accepted++;
        if (prc == FL_EPARSE) {
            res->rejected++;
            size_t raw = n > pl->cfg->max_line ? (size_t)pl->cfg->max_line : n;
            if (raw > 0 && p[raw - 1] == '\r')
                raw--;
            (void)fl_rejects_add(pl->rejects, v->source, v->line_no,
                                 perr.reason, p, raw);
        }
        if (keep_line(v, p, n, prc, next) < 0)
            return FL_ENOMEM;
        p = nl ? nl + 1 : end;
    }
    return FL_OK;
}


/* fl_pipeline_ingest, or with hold fl_pipeline_ingest_held. */
static void
ingest_body(struct fl_pipeline *pl, enum fl_source_kind kind,
            const char *source, const char *body, size_t len,
            const char *format_spec, const uint64_t *keys, size_t n_keys,
            const struct fl_prov_seg *segs, size_t n_segs, const char *hold,
            uint64_t *held_id, struct fl_ingest_result *res)
{
    struct validation v = { .pl = pl, .source = source, .line_no = 1 };
    char *plain = NULL;
    int rc;

    memset(res, 0, sizeof *res);
    if (n_segs > 0
        && (v.out_segs = fl_malloc(n_segs * sizeof *v.out_segs)) == NULL)
        goto nomem;
    for (size_t i = 0; i < n_segs; i++)
        v.out_segs[i] = segs[i];

    /* (Runs are offsets into the text as given: a body of several is the
     * decoders' output, never gzip.) */
    if (n_segs <= 1 && fl_gunzip_is_gzip(body, len)) {
        size_t plain_len = 0;
        rc = gunzip(body, len, pl->cfg->max_decompressed,
                    pl->cfg->max_compression_ratio, &plain, &plain_len,
                    res->err.msg, sizeof res->err.msg);
        if (rc < 0) {
            res->err.code = rc;
            if (rc == FL_ENOMEM)
                fl_err_oom(&res->err);
            goto out;
        }
        body = plain;
        len = plain_len;
    }
    const char *p = body, *end = body + len;
    if (choose_format(&v, &p, end, format_spec, res) < 0)
        goto out;
    if (fl_batch_create(CHECK_ROWS, 0, &v.batch) < 0) {
        fl_err_oom(&res->err);
        goto out;
    }
    fl_batch_reset(v.batch);
    fl_parser_init(&v.parser, v.fmt, NULL, NULL);
    if (push_run(&v.runs, &v.n_runs, &v.cap_runs, 0, v.fmt) < 0)
        goto nomem;

    v.text_start = p;
    if (validate_lines(&v, p, end, body, segs, n_segs, res) < 0)
        goto nomem;
    fl_source_counters_records(pl->counters, kind, res->accepted,
                               res->rejected);
    if (res->accepted == 0)
        goto out;

    const char *text = v.filtered ? v.good.p : v.text_start;
    size_t text_len = v.filtered ? v.good.len : (size_t)(end - v.text_start);
    for (; v.seg_next < n_segs; v.seg_next++)
        v.out_segs[v.seg_next].off = text_len;   /* runs of no kept line */
    (void)durable_buffer(pl, kind, source, v.runs, v.n_runs, text, text_len,
                         res->accepted, keys, n_keys, v.out_segs, n_segs,
                         hold, held_id, res);
    goto out;

nomem:
    fl_err_oom(&res->err);
out:
    validation_free(&v);
    fl_free(plain);
}


void
fl_pipeline_ingest(struct fl_pipeline *pl, enum fl_source_kind kind,
                   const char *source, const char *body, size_t len,
                   const char *format_spec, const uint64_t *keys,
                   size_t n_keys, const struct fl_prov_seg *segs,
                   size_t n_segs, struct fl_ingest_result *res)
{
    ingest_body(pl, kind, source, body, len, format_spec, keys, n_keys, segs,
                n_segs, NULL, NULL, res);
}


void
fl_pipeline_ingest_held(struct fl_pipeline *pl, enum fl_source_kind kind,
                        const char *source, const char *body, size_t len,
                        const struct fl_prov_seg *segs, size_t n_segs,
                        const char *hold, uint64_t *id,
                        struct fl_ingest_result *res)
{
    *id = 0;
    ingest_body(pl, kind, source, body, len, NULL, NULL, 0, segs, n_segs,
                hold, id, res);
}
