/* SPDX-License-Identifier: MIT
 *
 * ingest.c -- what happens to a body of flow-log lines between the HTTP
 * request and the 200: gunzip within the configured ceiling, find the
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
#include <time.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "../ingest/gunzip.h"
#include "../parse/batch.h"
#include "../parse/format.h"
#include "../parse/line.h"
#include "metrics.h"
#include "server_int.h"
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


int
fl_server_append_line(char **text, size_t *len, size_t *cap, const char *p,
                      size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t ncap = (*cap + n + 1) * 2;
        char *q = fl_realloc(*text, ncap);
        if (q == NULL)
            return FL_ENOMEM;
        *text = q;
        *cap = ncap;
    }
    memcpy(*text + *len, p, n);
    (*text)[*len + n] = '\n';
    *len += n + 1;
    return FL_OK;
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



/* Appends text to the WAL and the buffer in pieces the WAL accepts, then
 * waits until they are durable. segs (offsets into text, in order) say
 * where each run of lines came from. Fills res on failure. */
static int
durable_buffer(struct fl_server *s, enum fl_source_kind kind,
               const char *source, const struct fmt_run *runs,
               size_t n_runs, const char *text,
               size_t len, uint64_t records, const uint64_t *keys,
               size_t n_keys, const struct fl_prov_seg *segs, size_t n_segs,
               struct fl_ingest_result *res)
{
    struct fl_wal_stats ws;
    uint64_t last_seq = 0;
    unsigned char *keybuf = NULL, *provbuf = NULL;
    size_t prov_max = 0, spec_max = 0;
    int rc = FL_OK;

    fl_wal_stats(s->wal, &ws);
    for (size_t i = 0; i < n_segs; i++) {
        struct fl_walrec r = { .prov = segs[i].prov };
        size_t n = fl_walrec_prov_size(&r);
        prov_max = n > prov_max ? n : prov_max;
    }
    for (size_t i = 0; i < n_runs; i++) {
        size_t n = strlen(runs[i].spec);
        spec_max = n > spec_max ? n : spec_max;
    }
    /* Room for the text in one record, after the record's own header (the
     * keys ride in the first record only). */
    if (8 * n_keys + FL_WALREC_HDR_SIZE + spec_max + strlen(source)
        + prov_max + s->cfg->max_line + 1 > s->wal_max_record) {
        res->http_status = 413;
        snprintf(res->error, sizeof res->error, "too many ids in one request");
        return FL_ETOOBIG;
    }
    if ((n_keys > 0 && (keybuf = fl_malloc(8 * n_keys)) == NULL)
        || (prov_max > 0 && (provbuf = fl_malloc(prov_max)) == NULL)) {
        fl_free(keybuf);
        res->http_status = 503;
        snprintf(res->error, sizeof res->error, "out of memory");
        return FL_ENOMEM;
    }
    size_t room = s->wal_max_record - FL_WALREC_HDR_SIZE - spec_max
                - strlen(source) - prov_max - 8 * n_keys;

    /* Cut points first: every record says how many pieces its request
     * has, so that replay can tell a whole request from a torn one. A
     * piece never spans two provenance runs, nor two format runs. */
    struct cut *cuts = NULL;
    size_t n_cuts = 0, cap_cuts = 0, seg = 0, fr = 0;
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
        if (n_cuts == cap_cuts) {
            cap_cuts = cap_cuts ? cap_cuts * 2 : 8;
            struct cut *c = fl_realloc(cuts, cap_cuts * sizeof *c);
            if (c == NULL) {
                rc = FL_ENOMEM;
                break;
            }
            cuts = c;
        }
        cuts[n_cuts].n = n;
        cuts[n_cuts].spec = runs[fr].spec;
        cuts[n_cuts++].prov = n_segs > 0 ? &segs[seg].prov : NULL;
        p += n;
    }
    if (rc == 0 && n_cuts > 0xffff) {
        res->http_status = 413;
        snprintf(res->error, sizeof res->error, "request too large for the "
                 "write-ahead log (raise wal.segment_size)");
        rc = FL_ETOOBIG;
    }

    /* Append every piece, then hand all the blocks to the buffer in one
     * step -- or none of them, if a piece fails. */
    struct fl_buffer_block *list = NULL, **tail = &list;
    pthread_mutex_lock(&s->append_mu);
    /* Stamped under the lock: arrival times then grow with WAL order,
     * which the arrival-time metric windows rely on. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t arrival_ms = (uint64_t)now.tv_sec * 1000
                        + (uint64_t)now.tv_nsec / 1000000;
    const char *p = text;
    for (size_t i = 0; i < n_cuts && rc == 0; i++) {
        size_t n = cuts[i].n;
        uint64_t piece_records = n_cuts == 1 ? records : count_lines(p, n);
        struct fl_buffer_block *blk = NULL;
        const char *spec = cuts[i].spec;
        rc = fl_buffer_block_create(p, n, spec, source, piece_records, 0,
                                    &blk);
        if (rc < 0)
            break;
        if ((rc = fl_buffer_block_set_provenance(blk, cuts[i].prov)) < 0) {
            fl_buffer_block_free_list(blk);
            break;
        }
        struct fl_walrec rec = {
            .source_kind = kind, .format = spec, .format_len = strlen(spec),
            .source = source, .source_len = strlen(source),
            .records = piece_records, .text = p, .text_len = n,
            .key_list = i == 0 ? keys : NULL,
            .n_keys = i == 0 ? n_keys : 0,
            .piece = (unsigned)i, .pieces = (unsigned)n_cuts,
            .arrival_ms = arrival_ms,
        };
        if (cuts[i].prov != NULL)
            rec.prov = *cuts[i].prov;
        unsigned char hdr[FL_WALREC_HDR_SIZE];
        struct iovec iov[6];
        int niov = fl_walrec_encode(&rec, hdr, keybuf, provbuf, iov);
        rc = niov < 0 ? niov
           : fl_wal_appendv(s->wal, FL_WALREC_BLOCK, iov, niov, &last_seq);
        if (rc < 0) {
            fl_buffer_block_free_list(blk);
            break;
        }
        blk->wal_seq = last_seq;
        *tail = blk;
        tail = &blk->next;
        p += n;
    }
    if (rc == 0) {
        /* The request's claimed ids are in the log now; a checkpoint may
         * drop these records before the request commits its ids, so from
         * here the dedupe file carries them (dedupe.h). */
        fl_dedupe_appended(s->dedupe, keys, n_keys, arrival_ms);
        fl_metrics_enqueue(s, list, arrival_ms);
        fl_buffer_add_list(s->buffer, list);
    } else
        fl_buffer_block_free_list(list);
    pthread_mutex_unlock(&s->append_mu);
    fl_free(cuts);
    fl_free(keybuf);
    fl_free(provbuf);
    if (res->http_status != 200)
        return rc;             /* already explained (413) */
    if (rc == 0 && last_seq > 0)
        rc = fl_wal_commit(s->wal, last_seq);
    if (rc == FL_EAGAIN) {
        res->http_status = 503;
        snprintf(res->error, sizeof res->error, "the write-ahead log is full "
                 "(wal.max_size %llu bytes); retry later",
                 (unsigned long long)ws.max_bytes);
    } else if (rc == FL_ENOMEM) {
        res->http_status = 503;
        snprintf(res->error, sizeof res->error, "out of memory");
    } else if (rc < 0) {
        /* 503 whatever the code, not fl_http_status's 500: the request
         * was good, the log's disk (full, failing) is the server's
         * trouble, and the sender should retry (test_serve_diskfull). */
        res->http_status = 503;
        snprintf(res->error, sizeof res->error, "the write-ahead log failed: "
                 "%s", fl_strerror(rc));
    }
    return rc;
}


void
fl_server_ingest(struct fl_server *s, enum fl_source_kind kind,
                 const char *source, const char *body, size_t len,
                 const char *format_spec, const uint64_t *keys,
                 size_t n_keys, const struct fl_prov_seg *segs,
                 size_t n_segs, struct fl_ingest_result *res)
{
    struct fl_source_stats *st = &s->sources[kind];
    struct fl_format *fmt = NULL;
    struct fl_batch *batch = NULL;
    struct fl_parse_err perr;
    struct fl_parser parser;
    char *plain = NULL, *good = NULL;
    size_t good_len = 0, good_cap = 0;
    const char *p, *end;
    unsigned long long line_no = 1;
    int rc, filtered = 0;
    /* The provenance runs, re-based on the text kept (out_segs[i].off). */
    struct fl_prov_seg *out_segs = NULL;
    size_t seg_next = 0;
    /* The format runs of the text kept (see the file comment). */
    struct fmt_run *runs = NULL;
    size_t n_runs = 0, cap_runs = 0;

    memset(res, 0, sizeof *res);
    res->http_status = 200;
    if (n_segs > 0
        && (out_segs = fl_malloc(n_segs * sizeof *out_segs)) == NULL)
        goto nomem;
    for (size_t i = 0; i < n_segs; i++)
        out_segs[i] = segs[i];

    /* (Runs are offsets into the text as given: a body of several is the
     * decoders' output, never gzip.) */
    if (n_segs <= 1 && fl_gunzip_is_gzip(body, len)) {
        size_t plain_len = 0;
        rc = gunzip(body, len, s->cfg->max_decompressed,
                    s->cfg->max_compression_ratio, &plain, &plain_len,
                    res->error, sizeof res->error);
        if (rc < 0) {
            res->http_status = (int)fl_http_status(rc);
            if (rc == FL_ENOMEM)
                snprintf(res->error, sizeof res->error, "out of memory");
            goto out;
        }
        body = plain;
        len = plain_len;
    }
    p = body;
    end = body + len;
    const char *base = body;
    /* A UTF-8 byte-order mark is not part of the first line (it would
     * hide a header line or spoil the first record). */
    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
        p += 3;
        len -= 3;
    }

    /* The format: the request's, else a header line, else the default. */
    const char *nl = memchr(p, '\n', len);
    size_t first_len = (size_t)((nl ? nl : end) - p);
    if (format_spec != NULL) {
        rc = fl_format_parse(format_spec, &fmt, &perr);
        if (rc < 0) {
            res->http_status = 400;
            snprintf(res->error, sizeof res->error, "format: %s", perr.reason);
            goto out;
        }
    } else if (fl_format_is_header(p, first_len)) {
        size_t hl = first_len;
        if (hl > 0 && p[hl - 1] == '\r')
            hl--;
        rc = fl_format_from_header(p, hl, &fmt, &perr);
        if (rc < 0) {
            res->http_status = 400;
            snprintf(res->error, sizeof res->error, "header line: %s",
                     perr.reason);
            goto out;
        }
        p = nl ? nl + 1 : end;
        line_no = 2;
        filtered = 1;             /* the stored text drops the header */
    } else if ((rc = fl_format_default(&fmt)) < 0) {
        res->http_status = 503;
        snprintf(res->error, sizeof res->error, "out of memory");
        goto out;
    }
    if (fl_batch_create(CHECK_ROWS, 0, &batch) < 0) {
        res->http_status = 503;
        snprintf(res->error, sizeof res->error, "out of memory");
        goto out;
    }
    fl_batch_reset(batch);
    fl_parser_init(&parser, fmt, NULL, NULL);
    if (push_run(&runs, &n_runs, &cap_runs, 0, fmt) < 0)
        goto nomem;

    const char *text_start = p;
    for (; p < end; line_no++) {
        /* Runs starting at or before this line start where its kept text
         * would go. */
        while (seg_next < n_segs
               && segs[seg_next].off <= (size_t)(p - base)) {
            out_segs[seg_next++].off = filtered ? good_len
                                                : (size_t)(p - text_start);
        }
        nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        size_t n = (size_t)(eol - p);
        if (batch->n == batch->cap)
            fl_batch_reset(batch);
        int prc;
        if (n > s->cfg->max_line) {
            prc = FL_EPARSE;
            snprintf(perr.reason, sizeof perr.reason,
                     "line longer than %llu bytes",
                     (unsigned long long)s->cfg->max_line);
        } else {
            prc = fl_parse_line(&parser, batch, p, n, &perr);
        }
        int hdr = 0;
        if (prc == FL_EPARSE || (prc == 0 && parser.type[0] == FL_TYPE_STRING))
            hdr = fl_format_header_line(fmt, p, n, perr.reason,
                                        sizeof perr.reason);
        if (hdr != 0 && prc == 0)
            batch->n--;           /* a header is no record */
        struct fl_format *next = NULL;
        if (hdr == 2) {
            /* Other fields: the lines after it are in its format, if it
             * is a format (prc 3); else the line is rejected. */
            size_t hl = n;
            while (hl > 0 && (p[hl - 1] == '\r' || p[hl - 1] == ' '
                              || p[hl - 1] == '\t'))
                hl--;
            struct fl_parse_err herr;
            memset(&herr, 0, sizeof herr);
            if (fl_format_from_header(p, hl, &next, &herr) == 0)
                hdr = 3;
            else
                snprintf(perr.reason, sizeof perr.reason,
                         "bad header line %llu: %.120s", line_no, herr.reason);
        }
        if (hdr != 0)
            prc = hdr == 1 ? 2 : hdr == 3 ? 3 : FL_EPARSE;
        if (prc == 0)
            res->accepted++;
        if (prc == FL_EPARSE) {
            res->rejected++;
            size_t raw = n > s->cfg->max_line ? (size_t)s->cfg->max_line : n;
            if (raw > 0 && p[raw - 1] == '\r')
                raw--;
            (void)fl_rejects_add(s->rejects, source, line_no, perr.reason,
                                 p, raw);
        }
        if ((prc == 2 || prc == 3 || prc == FL_EPARSE) && !filtered) {
            /* The first line left out of the stored text (a rejected line,
             * or a header line of concatenated S3 objects, which is not
             * counted): from now on keep an explicit copy, starting with
             * the lines before it. */
            filtered = 1;
            if (fl_server_append_line(&good, &good_len, &good_cap,
                                      text_start,
                                      (size_t)(p - text_start)) < 0) {
                fl_format_destroy(next);
                goto nomem;
            }
            if (good_len > 0)
                good_len--;   /* the prefix had its newline already */
        }
        if (prc == 3) {
            /* The switch: a new run from here, parsed with the new
             * format (the scratch batch holds nothing kept). */
            fl_format_destroy(fmt);
            fmt = next;
            fl_parser_init(&parser, fmt, NULL, NULL);
            fl_batch_reset(batch);
            if (push_run(&runs, &n_runs, &cap_runs, good_len, fmt) < 0)
                goto nomem;
        } else if (filtered && prc == 0) {
            if (fl_server_append_line(&good, &good_len, &good_cap, p, n) < 0)
                goto nomem;
        }
        p = nl ? nl + 1 : end;
    }
    atomic_fetch_add(&st->records, res->accepted);
    atomic_fetch_add(&st->rejected, res->rejected);
    fl_server_rate_add(s, kind, res->accepted, res->rejected);
    if (res->accepted == 0)
        goto out;

    const char *text = filtered ? good : text_start;
    size_t text_len = filtered ? good_len : (size_t)(end - text_start);
    for (; seg_next < n_segs; seg_next++)
        out_segs[seg_next].off = text_len;     /* runs of no kept line */
    rc = durable_buffer(s, kind, source, runs, n_runs, text, text_len,
                        res->accepted, keys, n_keys, out_segs, n_segs, res);
    goto out;

nomem:
    res->http_status = 503;
    snprintf(res->error, sizeof res->error, "out of memory");
out:
    fl_free(out_segs);
    for (size_t i = 0; i < n_runs; i++)
        fl_free(runs[i].spec);
    fl_free(runs);
    fl_free(good);
    fl_free(plain);
    fl_batch_destroy(batch);
    fl_format_destroy(fmt);
}
