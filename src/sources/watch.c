/* SPDX-License-Identifier: MIT
 *
 * watch.c -- the folder source of `flowlake serve` (watch.dir, --watch):
 * every watch.interval, walk the folder for *.log and *.log.gz files and
 * take every line once, as files appear (an S3 sync), grow, rotate, are
 * truncated or replaced -- across restarts and crashes too.
 *
 * .log files are followed as `tail -F` and Fluent Bit's tail input with its
 * database do: by identity (st_dev, st_ino, and an XXH3 fingerprint of the
 * first FP_MAX bytes taken, which tells a reused inode from the file that
 * had it) and an offset, kept in ARCHIVE/_flowlake/tail.db (tail_db.h).
 *   - A file is first taken once it has not changed for one scan, or has
 *     been seen for NEW_MAX_SCANS scans (a log written to all the time), so
 *     a file being copied in is not read half-way; from then on every scan
 *     takes the complete lines appended since.
 *   - A last line without a newline waits until it is completed, or until
 *     the file has not changed for PARTIAL_SCANS scans; it is then taken as
 *     a line (text written after it later starts a new line).
 *   - Truncation (size below the offset) or new content in the same inode
 *     (fingerprint mismatch): logged, and read again from offset 0.
 *   - Rotation (the name now holds a new inode): the new file is read from
 *     0; the old one is found by identity under any name in its folder
 *     (app.log.1 too) and its rest is read, last partial line included once
 *     stable; an identity found nowhere is forgotten.
 *   - A file whose whole bytes were taken before under another name (a
 *     copy) is not taken again: the digest of each file taken whole is
 *     recorded in watched.tsv, and a new file with a recorded digest starts
 *     at its end.
 * Lines go in pieces of at most CHUNK bytes through the same path as
 * POST /ingest. Each piece [offset, end) is made durable in three steps:
 * (1) the journal records it as pending with its dedupe key (fsync);
 * (2) it is appended to the write-ahead log carrying that key; (3) the
 * journal records the new offset (fsync). A crash after (1) leaves a
 * pending piece: on start it counts as taken if the write-ahead log holds
 * its key (the log is replayed before the watcher starts), else it is read
 * again -- no line is taken twice nor lost. (Only if the server also
 * checkpointed the log past that piece in the instant between (2) and (3)
 * would the key be gone and the piece be taken a second time.)
 *
 * .log.gz files (and .log files that are gzip inside) are whole files: a
 * file is taken once its size and modification time have not changed since
 * the previous scan, identified by the digest of its bytes, as `convert`
 * does, so a renamed or copied file is not taken again. It is read as a
 * stream and ingested in pieces; each piece's WAL record carries a key
 * derived from the digest and the piece's number. Progress is kept in
 * ARCHIVE/_flowlake/watched.tsv, appended and fsynced after each piece is
 * durable: "<digest> TAB <piece> TAB <path>" for a piece, "<digest> TAB
 * done TAB <path>" for a whole file. A restart skips finished files and
 * resumes a file after its last recorded piece; the keys of pieces still
 * in the write-ahead log cover the instant between a piece's commit and
 * its line in watched.tsv.
 *
 * Thread: the watcher's own (one).
 */
#include "../core/fl_config.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "../core/fl_digest.h"
#include "../core/fl_error.h"
#include "../core/fl_log.h"
#include "../core/fl_fs.h"
#include "../core/fl_mem.h"
#include "../decode/lines.h"
#include "../ingest/tail_db.h"
#include "../config/config.h"
#include "../parse/format.h"
#include "../pipeline/dedupe.h"
#include "counters.h"
#include "watch.h"

/* Text per ingested piece: well under a WAL record. */
#define CHUNK (4u << 20)

/* Bytes of a followed file its fingerprint covers. */
#define FP_MAX 1024

/* A new file is first taken when unchanged for a scan, or after this many
 * scans if it keeps changing. */
#define NEW_MAX_SCANS 3

/* A last line without a newline is taken when the file has not changed for
 * this many scans. */
#define PARTIAL_SCANS 3

/* The journal is compacted when it has this many more lines than entries. */
#define COMPACT_SLACK 1024

/* What the watcher knows about one path. */
struct seen {
    char    *path;
    off_t    size;
    time_t   mtime;
    int      stable_scans;   /* consecutive scans with the same size/mtime */
    int      done;           /* taken (or already in watched.tsv) */
};

struct fl_watch {
    struct fl_source_env env;
    pthread_t         thread;
    struct seen      *files;
    size_t            n, cap;
    char             *progress_path;
    /* watched.tsv as loaded: digest hex + piece ("done" = -1) */
    struct progress { char hex[FL_DIGEST_HEX]; long piece; } *prog;
    size_t            n_prog, cap_prog;
    /* followed .log files */
    struct fl_tail_db db;
    char             *tail_path;      /* ARCHIVE/_flowlake/tail.db */
    int               tail_fd;        /* its journal, O_APPEND */
    uint64_t          scan;           /* walks done, from 1 */
    char             *buf;            /* CHUNK + 1 bytes: a piece */
    /* Tests only: FLOWLAKE_TEST_WATCH_CRASH=before-wal|after-wal makes the
     * server exit abruptly at that step of the first piece, so that the
     * recovery of both crash points is tested deterministically. */
    int               crash_at;       /* 0, 1 before, 2 after the WAL */
};


static long
progress_of(const struct fl_watch *w, const char *hex)
{
    long best = -2;                       /* -2: never seen */
    for (size_t i = 0; i < w->n_prog; i++) {
        if (strcmp(w->prog[i].hex, hex) != 0)
            continue;
        if (w->prog[i].piece == -1)
            return -1;                    /* done */
        if (w->prog[i].piece > best)
            best = w->prog[i].piece;
    }
    return best;
}


static int
remember(struct fl_watch *w, const char *hex, long piece)
{
    if (w->n_prog == w->cap_prog) {
        size_t ncap = w->cap_prog ? w->cap_prog * 2 : 64;
        struct progress *p = fl_realloc(w->prog, ncap * sizeof *p);
        if (p == NULL)
            return FL_ENOMEM;
        w->prog = p;
        w->cap_prog = ncap;
    }
    snprintf(w->prog[w->n_prog].hex, FL_DIGEST_HEX, "%s", hex);
    w->prog[w->n_prog].piece = piece;
    w->n_prog++;
    return FL_OK;
}


static void
load_progress(struct fl_watch *w)
{
    FILE *f = fopen(w->progress_path, "r");
    char line[8192];
    if (f == NULL)
        return;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strlen(line) < 35 || line[32] != '\t')
            continue;                     /* a torn last line */
        line[32] = '\0';
        long piece = strncmp(line + 33, "done", 4) == 0 ? -1
                   : strtol(line + 33, NULL, 10);
        (void)remember(w, line, piece);
    }
    fclose(f);
}


static int
append_progress(struct fl_watch *w, const char *hex, long piece,
                const char *path)
{
    char line[4200];
    int n;
    if (piece < 0)
        n = snprintf(line, sizeof line, "%s\tdone\t%s\n", hex, path);
    else
        n = snprintf(line, sizeof line, "%s\t%ld\t%s\n", hex, piece, path);
    int fd = open(w->progress_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                  0644);
    if (fd < 0)
        return -errno;
    int rc = fl_fs_write_all(fd, line, (size_t)n);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    close(fd);
    if (rc == 0)
        rc = remember(w, hex, piece);
    return rc;
}


/* The last header line of text[0..len) (whole lines) that is a format,
 * as fl_pipeline_ingest takes it: it switches the format for the lines
 * after it, in this piece and the file's next ones. Returns 1 with *off
 * (its offset in text) and *spec (fl_free) set, 0 when there is none, or
 * FL_ENOMEM. */
static int
last_header(const char *text, size_t len, size_t *off, char **spec)
{
    const char *found = NULL;
    size_t found_len = 0;
    for (const char *p = text, *end = text + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' '
                         || p[n - 1] == '\t'))
            n--;
        /* Data lines fail on their first digit: the test is cheap. */
        if (fl_format_is_header(p, n)) {
            struct fl_format *f = NULL;
            struct fl_parse_err perr;
            if (fl_format_from_header(p, n, &f, &perr) == 0) {
                fl_format_destroy(f);
                found = p;
                found_len = n;
            }
        }
        p = nl ? nl + 1 : end;
    }
    if (found == NULL)
        return 0;
    struct fl_format *f = NULL;
    struct fl_parse_err perr;
    if (fl_format_from_header(found, found_len, &f, &perr) < 0)
        return FL_ENOMEM;          /* it parsed a moment ago */
    *spec = fl_format_to_string(f);
    fl_format_destroy(f);
    if (*spec == NULL)
        return FL_ENOMEM;
    *off = (size_t)(found - text);
    return 1;
}


/* The pipeline's ingest with the provenance of a file at path
 * (source_file, and account / region from an AWS flow-log path, as convert
 * has them), after counting the piece as one request. */
static void
ingest_file_text(const struct fl_source_env *env, const char *source,
                 const char *path,
                 const char *text, size_t len, const char *spec,
                 const uint64_t *key, struct fl_ingest_result *res)
{
    char *prov[FL_PROV_N];
    struct fl_prov_seg seg = { .off = 0 };
    fl_source_counters_request(env->counters, FL_SOURCE_WATCH, len);
    if (fl_provenance_from_path(path, prov) < 0) {
        memset(res, 0, sizeof *res);
        fl_err_oom(&res->err);
        return;
    }
    for (size_t k = 0; k < FL_PROV_N; k++)
        seg.prov.v[k] = prov[k];
    env->ingest(env->ctx, FL_SOURCE_WATCH, source, text, len, spec, key, 1,
                &seg, 1, res);
    for (size_t k = 0; k < FL_PROV_N; k++)
        fl_free(prov[k]);
}


/* Ingests one piece; returns 0 once it is durable. */
static int
ingest_piece(struct fl_watch *w, const char *path, const char *hex,
             long piece, const char *text, size_t len, const char *spec)
{
    struct fl_ingest_result res;
    char keytext[64], source[4200];
    snprintf(keytext, sizeof keytext, "%s/%ld", hex, piece);
    uint64_t key = fl_dedupe_key(keytext, strlen(keytext));
    if (fl_dedupe_contains(w->env.dedupe, key))
        return FL_OK;          /* in the WAL already (a restart) */
    snprintf(source, sizeof source, "%s", path);
    ingest_file_text(&w->env, source, path, text, len, spec, &key, &res);
    if (res.err.code != 0) {
        fl_log(FL_LOG_WARN, "watch", "%s: %s (retrying later)",
                path, fl_err_msg(&res.err));
        return FL_EAGAIN;
    }
    fl_dedupe_add(w->env.dedupe, key);
    return FL_OK;
}


/* Reads a stable file and ingests it piece by piece from where a previous
 * run stopped. */
static int
take_file(struct fl_watch *w, const char *path)
{
    struct fl_digest d;
    char hex[FL_DIGEST_HEX];
    struct fl_reader *r = NULL;
    struct fl_lines *lines = NULL;
    struct fl_format *hdr = NULL;
    char *spec = NULL, *text = NULL;
    size_t len = 0;
    long piece = 0;
    int rc;

    if ((rc = fl_digest_file(path, &d)) < 0)
        return rc;
    fl_digest_hex(&d, hex);
    long done = progress_of(w, hex);
    if (done == -1)
        return FL_OK;                          /* the whole file is in */
    if ((rc = fl_reader_open_path(path, &r)) < 0)
        return rc;
    if ((rc = fl_lines_create(r, (size_t)w->env.cfg->max_line, &lines)) < 0) {
        fl_reader_close(r);
        return rc;
    }

    size_t cap = 0;
    for (int first = 1;; first = 0) {
        struct fl_line_block b;
        if ((rc = fl_lines_next(lines, 1024, &b)) < 0) {
            fl_log(FL_LOG_WARN, "watch", "%s: %s", path,
                    fl_reader_error(fl_lines_reader(lines)));
            break;
        }
        if (first && b.nlines > 0) {
            /* An S3 header line gives the file's format. */
            const char *nl = memchr(b.p, '\n', b.len);
            size_t hl = nl ? (size_t)(nl - b.p) : b.len;
            if (hl > 0 && b.p[hl - 1] == '\r')
                hl--;
            struct fl_parse_err perr;
            if (fl_format_is_header(b.p, hl)
                && fl_format_from_header(b.p, hl, &hdr, &perr) == 0) {
                if ((spec = fl_format_to_string(hdr)) == NULL) {
                    rc = FL_ENOMEM;
                    break;
                }
                size_t skip = nl ? (size_t)(nl - b.p) + 1 : b.len;
                b.p += skip;
                b.len -= skip;
            }
        }
        int end = b.nlines == 0;
        /* A piece ends before the block that would take it past CHUNK,
         * and at the end of the file. */
        if (len > 0 && (end || len + b.len > CHUNK)) {
            if (piece > done
                && ((rc = ingest_piece(w, path, hex, piece, text, len,
                                       spec)) < 0
                    || (rc = append_progress(w, hex, piece, path)) < 0))
                break;
            /* A header line in the piece switches the format for the next
             * ones too; pieces taken before a restart are read again
             * (not ingested) for this. */
            size_t ho;
            char *next_spec = NULL;
            int found = last_header(text, len, &ho, &next_spec);
            if (found < 0) {
                rc = found;
                break;
            }
            if (found) {
                fl_free(spec);
                spec = next_spec;
            }
            piece++;
            len = 0;
        }
        if (end) {
            rc = append_progress(w, hex, -1, path);
            break;
        }
        if (len + b.len > cap) {
            size_t ncap = len + b.len > CHUNK ? len + b.len : CHUNK;
            char *p = fl_realloc(text, ncap);
            if (p == NULL) {
                rc = FL_ENOMEM;
                break;
            }
            text = p;
            cap = ncap;
        }
        memcpy(text + len, b.p, b.len);
        len += b.len;
    }
    fl_free(text);
    fl_free(spec);
    fl_format_destroy(hdr);
    fl_lines_destroy(lines);
    return rc;
}


/* ---- whole files (.log.gz) ------------------------------------------- */

/* A .log.gz (or gzip'd .log): taken once, when stable, by its digest. */
static int
whole_file(struct fl_watch *w, const char *path, const struct stat *st)
{
    struct seen *f = NULL;
    for (size_t i = 0; i < w->n; i++) {
        if (strcmp(w->files[i].path, path) == 0) {
            f = &w->files[i];
            break;
        }
    }
    if (f == NULL) {
        if (w->n == w->cap) {
            struct seen *p = fl_grow(w->files, &w->cap, w->n + 1,
                                     sizeof *p, 64);
            if (p == NULL)
                return FL_ENOMEM;
            w->files = p;
        }
        f = &w->files[w->n];
        memset(f, 0, sizeof *f);
        if ((f->path = fl_strdup(path)) == NULL)
            return FL_ENOMEM;
        w->n++;
    }
    if (f->size == st->st_size && f->mtime == st->st_mtime)
        f->stable_scans++;
    else {
        f->size = st->st_size;
        f->mtime = st->st_mtime;
        f->stable_scans = 0;
        f->done = 0;                 /* rewritten: look at it again */
    }
    if (f->done || f->stable_scans < 1)
        return FL_OK;
    if (take_file(w, path) == 0)
        f->done = 1;
    return FL_OK;
}


/* ---- followed files (.log): the journal ------------------------------ */

static void
log_err(const char *path, const char *what, int rc)
{
    fl_log(FL_LOG_WARN, "watch", "%s: %s: %s", path, what,
            fl_strerror(rc));
}


/* Rewrites tail.db as one line per entry and reopens the journal. */
static int
compact(struct fl_watch *w)
{
    char *text = NULL;
    size_t len = 0;
    int rc = fl_tail_db_dump(&w->db, &text, &len);
    if (rc < 0)
        return rc;
    rc = fl_fs_write_atomic(w->tail_path, text, len);
    fl_free(text);
    if (rc < 0)
        return rc;
    if (w->tail_fd >= 0)
        close(w->tail_fd);
    w->tail_fd = open(w->tail_path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (w->tail_fd < 0)
        return -errno;
    w->db.lines = w->db.n;
    return FL_OK;
}


/* Appends e's state (or its deletion) to the journal, durably. */
static int
journal(struct fl_watch *w, const struct fl_tail_entry *e, int deleted)
{
    char *line = NULL;
    size_t len = 0;
    int rc;
    if (w->tail_fd < 0 && (rc = compact(w)) < 0)
        return rc;
    if ((rc = fl_tail_db_line(e, deleted, &line, &len)) < 0)
        return rc;
    rc = fl_fs_write_all(w->tail_fd, line, len);
    fl_free(line);
    if (rc == 0 && fdatasync(w->tail_fd) < 0)
        rc = -errno;
    if (rc < 0) {
        /* A half-written line would hide the next ones: start afresh. */
        close(w->tail_fd);
        w->tail_fd = -1;
        log_err(w->tail_path, "cannot append", rc);
        return rc;
    }
    w->db.lines++;
    if (w->db.lines > 2 * w->db.n + COMPACT_SLACK && (rc = compact(w)) < 0)
        log_err(w->tail_path, "cannot compact", rc);
    return FL_OK;
}


/* ---- followed files (.log): reading ---------------------------------- */

/* pread until len bytes or end of file; returns the count or -errno. */
static ssize_t
pread_full(int fd, char *buf, size_t len, uint64_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}


/* XXH3 of the first len bytes of fd (len <= FP_MAX). */
static int
fingerprint(int fd, uint64_t len, uint64_t *out)
{
    char head[FP_MAX];
    ssize_t n = pread_full(fd, head, (size_t)len, 0);
    if (n < 0)
        return (int)n;
    if ((uint64_t)n != len)
        return FL_EAGAIN;                  /* shrank meanwhile */
    *out = XXH3_64bits(head, (size_t)len);
    return FL_OK;
}


/* The S3 header line at offset at of fd (the first line, or the header
 * that switched the format mid-file: e->hdr_off), if any: *out_spec
 * (fl_free) and *out_end, the offset after it; 0 and NULL when there is
 * none (the default format). */
static int
header_of(struct fl_watch *w, int fd, uint64_t size, uint64_t at,
          char **out_spec, uint64_t *out_end)
{
    size_t cap = (size_t)w->env.cfg->max_line + 1;
    if (cap > CHUNK)
        cap = CHUNK;
    *out_spec = NULL;
    *out_end = 0;
    if (at >= size)
        return FL_OK;
    if (size - at < cap)
        cap = (size_t)(size - at);
    ssize_t n = pread_full(fd, w->buf, cap, (off_t)at);
    if (n <= 0)
        return n < 0 ? (int)n : FL_OK;
    const char *nl = memchr(w->buf, '\n', (size_t)n);
    if (nl == NULL)
        return FL_OK;                      /* no complete first line yet */
    size_t hl = (size_t)(nl - w->buf);
    if (hl > 0 && w->buf[hl - 1] == '\r')
        hl--;
    struct fl_format *hdr = NULL;
    struct fl_parse_err perr;
    if (!fl_format_is_header(w->buf, hl)
        || fl_format_from_header(w->buf, hl, &hdr, &perr) < 0)
        return FL_OK;
    *out_spec = fl_format_to_string(hdr);
    fl_format_destroy(hdr);
    if (*out_spec == NULL)
        return FL_ENOMEM;
    *out_end = at + (uint64_t)(nl - w->buf) + 1;
    return FL_OK;
}


static void
crash_now(const char *where)
{
    fl_log(FL_LOG_ERROR, "watch", "FLOWLAKE_TEST_WATCH_CRASH: exiting"
            " %s", where);
    _exit(99);
}


/* Makes the piece [e->offset, end) -- text[0..len) -- durable (see the
 * file comment) and moves the offset to end. */
static int
take_piece(struct fl_watch *w, int fd, struct fl_tail_entry *e,
           const char *path, uint64_t end, const char *text, size_t len,
           const char *spec, uint64_t hdr_after)
{
    struct fl_ingest_result res;
    char keytext[160];
    int rc;

    snprintf(keytext, sizeof keytext, "tail/%llu/%llu/%llu/%llu/%016llx",
             (unsigned long long)e->dev, (unsigned long long)e->ino,
             (unsigned long long)e->offset, (unsigned long long)end,
             (unsigned long long)XXH3_64bits(text, len));
    uint64_t key = fl_dedupe_key(keytext, strlen(keytext));
    e->pend_end = end;
    e->pend_key = key;
    e->pend_hdr = hdr_after;   /* the governing header once it is in */
    if ((rc = journal(w, e, 0)) < 0) {
        e->pend_end = 0;
        e->pend_hdr = 0;
        return rc;
    }
    if (w->crash_at == 1)
        crash_now("after journalling a piece, before the write-ahead log");
    ingest_file_text(&w->env, path, path, text, len, spec, &key, &res);
    e->pend_end = 0;
    e->pend_hdr = 0;
    if (res.err.code != 0) {
        /* The journal says pending; the log does not hold the key, so a
         * restart reads the piece again, as the next scan does. */
        fl_log(FL_LOG_WARN, "watch", "%s: %s (retrying later)",
                path, fl_err_msg(&res.err));
        return FL_EAGAIN;
    }
    fl_dedupe_add(w->env.dedupe, key);
    if (w->crash_at == 2)
        crash_now("after the write-ahead log, before journalling the offset");
    e->offset = end;
    e->hdr_off = hdr_after;
    if (e->fp_len < FP_MAX && e->fp_len < end) {
        uint64_t n = end < FP_MAX ? end : FP_MAX, fp = 0;
        if (fingerprint(fd, n, &fp) == 0) {
            e->fp_len = n;
            e->fp = fp;
        }
    }
    return journal(w, e, 0);
}


/* Takes the complete lines of path after e->offset (and a last partial
 * line when final_ok), piece by piece. fd is open on the file. */
static int
take_lines(struct fl_watch *w, int fd, struct fl_tail_entry *e,
           const char *path, uint64_t size, int final_ok)
{
    char *spec = NULL;
    uint64_t hdr_end = 0;
    int rc = FL_OK;

    if (size <= e->offset)
        return FL_OK;
    if ((rc = header_of(w, fd, size, e->hdr_off, &spec, &hdr_end)) < 0)
        return rc;
    uint64_t pos = e->offset > hdr_end ? e->offset : hdr_end;
    while (pos < size) {
        size_t want = size - pos < CHUNK ? (size_t)(size - pos) : CHUNK;
        ssize_t n = pread_full(fd, w->buf, want, pos);
        if (n < 0) {
            rc = (int)n;
            break;
        }
        if (n == 0)
            break;                         /* shrank meanwhile */
        const char *nl = NULL;
        for (ssize_t i = n - 1; i >= 0; i--)
            if (w->buf[i] == '\n') {
                nl = w->buf + i;
                break;
            }
        size_t take;
        if (nl != NULL)
            take = (size_t)(nl - w->buf) + 1;
        else if ((size_t)n == CHUNK
                 || (final_ok && pos + (uint64_t)n == size))
            take = (size_t)n;   /* a line longer than a piece (rejected as
                                   too long), or a stable last line */
        else
            break;                         /* wait for the newline */
        size_t len = take;
        if (w->buf[take - 1] != '\n')
            w->buf[len++] = '\n';
        /* A header line in the piece switches the format (ingest.c) for
         * the rest of the file: its offset goes into tail.db with the
         * piece, so that the next piece -- after a restart too -- is read
         * in that format. */
        size_t ho = 0;
        char *next_spec = NULL;
        int found = last_header(w->buf, len, &ho, &next_spec);
        if (found < 0) {
            rc = found;
            break;
        }
        uint64_t hdr_after = found ? pos + ho : e->hdr_off;
        if ((rc = take_piece(w, fd, e, path, pos + take, w->buf, len,
                             spec, hdr_after)) < 0) {
            fl_free(next_spec);
            break;
        }
        if (found) {
            fl_free(spec);
            spec = next_spec;
        }
        pos += take;
    }
    fl_free(spec);
    return rc;
}


/* Truncated or replaced in place: start again from 0 (logged). */
static int
check_same(struct fl_watch *w, int fd, struct fl_tail_entry *e,
           const char *path, uint64_t size)
{
    const char *why = NULL;
    if (size < e->offset)
        why = "truncated";
    else if (e->fp_len > 0) {
        uint64_t fp;
        int rc = fingerprint(fd, e->fp_len, &fp);
        if (rc < 0)
            return rc;
        if (fp != e->fp)
            why = "has new content (same inode)";
    }
    if (why == NULL)
        return FL_OK;
    fl_log(FL_LOG_WARN, "watch", "%s: %s (size %llu, %llu bytes"
            " were taken): reading it again from the start", path, why,
            (unsigned long long)size, (unsigned long long)e->offset);
    e->offset = 0;
    e->fp_len = 0;
    e->fp = 0;
    e->hdr_off = 0;
    e->digest_done = 0;
    return journal(w, e, 0);
}


/* A new file wholly taken and stable: record its digest (as a whole file
 * taken once), so that a copy of it is not taken again. */
static void
record_digest(struct fl_watch *w, struct fl_tail_entry *e, const char *path)
{
    struct fl_digest d;
    char hex[FL_DIGEST_HEX];
    e->digest_done = 1;
    if (fl_digest_file(path, &d) < 0)
        return;
    fl_digest_hex(&d, hex);
    if (progress_of(w, hex) != -1)
        (void)append_progress(w, hex, -1, path);
}


/* A file seen for the first time: starts at its end if a file with the same
 * bytes was taken whole before (a copy, or a file taken by an older
 * version), else at 0. */
static int
first_take(struct fl_watch *w, int fd, struct fl_tail_entry *e,
           const char *path, uint64_t size)
{
    struct fl_digest d;
    char hex[FL_DIGEST_HEX];
    if (w->n_prog == 0 || fl_digest_file(path, &d) < 0)
        return FL_OK;
    fl_digest_hex(&d, hex);
    if (progress_of(w, hex) != -1)
        return FL_OK;
    uint64_t n = size < FP_MAX ? size : FP_MAX, fp = 0;
    if (fingerprint(fd, n, &fp) < 0)
        return FL_OK;
    e->offset = size;
    e->fp_len = n;
    e->fp = fp;
    e->digest_done = 1;
    return journal(w, e, 0);
}


/* Opens path and checks that it is still the file e is about. */
static int
open_same(const struct fl_tail_entry *e, const char *path, uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0 || (uint64_t)st.st_dev != e->dev
        || (uint64_t)st.st_ino != e->ino) {
        close(fd);
        return FL_EAGAIN;                  /* renamed meanwhile */
    }
    *size = (uint64_t)st.st_size;
    return fd;
}


static int64_t
mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}


/* Updates e's change tracking from st; true when unchanged since the last
 * scan. */
static void
track(struct fl_tail_entry *e, const struct stat *st)
{
    if (e->size == (int64_t)st->st_size && e->mtime_ns == mtime_ns(st))
        e->stable_scans++;
    else {
        e->size = (int64_t)st->st_size;
        e->mtime_ns = mtime_ns(st);
        e->stable_scans = 0;
    }
}


/* One scan of one followed file (found by the walk or, for a rotated one,
 * by identity in its folder). */
static int
follow(struct fl_watch *w, struct fl_tail_entry *e, const char *path)
{
    uint64_t size = 0;
    int fd = open_same(e, path, &size);
    int rc;
    if (fd < 0)
        return fd == FL_EAGAIN ? FL_OK : fd;
    if ((rc = check_same(w, fd, e, path, size)) < 0)
        goto out;
    if (e->first_scan != 0 && !e->copy_checked) {
        e->copy_checked = 1;
        if ((rc = first_take(w, fd, e, path, size)) < 0)
            goto out;
    }
    rc = take_lines(w, fd, e, path, size, e->stable_scans >= PARTIAL_SCANS);
    /* Once per file that appeared while we watch (a growing log is not
     * read again to digest it each time it pauses, nor every file at each
     * start). */
    if (rc == 0 && e->first_scan != 0 && e->stable_scans >= 1
        && e->offset == size && !e->digest_done)
        record_digest(w, e, path);
out:
    close(fd);
    return rc;
}


static int
is_gzip_file(const char *path)
{
    unsigned char m[2];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = pread_full(fd, (char *)m, 2, 0);
    close(fd);
    return n == 2 && m[0] == 0x1f && m[1] == 0x8b;
}


/* A .log file found by the walk. */
static int
tail_file(struct fl_watch *w, const char *path, const struct stat *st)
{
    struct fl_tail_entry *e = fl_tail_db_find(&w->db, (uint64_t)st->st_dev,
                                              (uint64_t)st->st_ino);
    int rc;
    if (e == NULL) {
        if (is_gzip_file(path))
            return whole_file(w, path, st);
        struct fl_tail_entry ne;
        memset(&ne, 0, sizeof ne);
        ne.dev = (uint64_t)st->st_dev;
        ne.ino = (uint64_t)st->st_ino;
        ne.path = (char *)(uintptr_t)path;
        if ((rc = fl_tail_db_put(&w->db, &ne, &e)) < 0)
            return rc;
        e->first_scan = w->scan;
        e->size = (int64_t)st->st_size;
        e->mtime_ns = mtime_ns(st);
    } else {
        if (strcmp(e->path, path) != 0) {
            char *p = fl_strdup(path);     /* renamed within the folder */
            if (p == NULL)
                return FL_ENOMEM;
            fl_free(e->path);
            e->path = p;
        }
        if (e->seen_scan != w->scan)
            track(e, st);
    }
    e->seen_scan = w->scan;
    /* A new file is taken once settled, or if it never settles. */
    if (e->offset == 0 && e->first_scan != 0 && e->stable_scans < 1
        && w->scan - e->first_scan < NEW_MAX_SCANS)
        return FL_OK;
    rc = follow(w, e, path);
    if (rc < 0 && rc != FL_EAGAIN)
        log_err(path, "cannot follow", rc);
    return FL_OK;
}


/* Entries the walk did not find: rotated away (look for the identity in its
 * folder and read its rest) or gone (forget it). */
static void
sweep(struct fl_watch *w)
{
    for (size_t i = w->db.n; i-- > 0;) {
        struct fl_tail_entry *e = &w->db.v[i];
        if (e->seen_scan == w->scan)
            continue;
        char *dir = fl_strdup(e->path);
        char *found = NULL;
        struct stat st;
        if (dir == NULL)
            return;
        char *slash = strrchr(dir, '/');
        if (slash != NULL) {
            *slash = '\0';
            DIR *dh = opendir(dir);
            struct dirent *de;
            while (dh != NULL && found == NULL
                   && (de = readdir(dh)) != NULL) {
                if ((uint64_t)de->d_ino != e->ino)
                    continue;
                char *p = fl_fs_join(dir, de->d_name);
                if (p != NULL && stat(p, &st) == 0 && S_ISREG(st.st_mode)
                    && (uint64_t)st.st_dev == e->dev
                    && (uint64_t)st.st_ino == e->ino)
                    found = p;
                else
                    fl_free(p);
            }
            if (dh != NULL)
                closedir(dh);
        }
        fl_free(dir);
        if (found != NULL) {
            track(e, &st);
            e->seen_scan = w->scan;
            int rc = follow(w, e, found);
            if (rc < 0 && rc != FL_EAGAIN)
                log_err(found, "cannot follow", rc);
            e = &w->db.v[i];
            /* Read to its end and settled: no longer followed. */
            if (e->offset >= (uint64_t)e->size
                && e->stable_scans >= PARTIAL_SCANS) {
                if (journal(w, e, 1) == 0)
                    fl_tail_db_del(&w->db, e->dev, e->ino);
            }
            fl_free(found);
            continue;
        }
        if (journal(w, e, 1) == 0)
            fl_tail_db_del(&w->db, e->dev, e->ino);
    }
}


static int
ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}


static int
on_file(void *ctx, const char *path)
{
    struct fl_watch *w = ctx;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (base[0] == '.' || !(ends_with(base, ".log") || ends_with(base, ".log.gz")))
        return FL_OK;
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
        return FL_OK;
    if (ends_with(base, ".log.gz"))
        return whole_file(w, path, &st);
    return tail_file(w, path, &st);
}


/* Loads tail.db, settles pieces a crash left pending, compacts it. */
static int
load_tail(struct fl_watch *w)
{
    struct fl_tail_db_err err;
    char *text = NULL;
    size_t len = 0;
    int rc = fl_fs_read_file(w->tail_path, (size_t)1 << 30, &text, &len);
    if (rc == -ENOENT) {
        text = NULL;
        len = 0;
    } else if (rc < 0) {
        log_err(w->tail_path, "cannot read", rc);
        return rc;
    }
    rc = fl_tail_db_parse(text ? text : "", len, &w->db, &err);
    fl_free(text);
    if (rc == FL_ECORRUPT) {
        fl_log(FL_LOG_ERROR, "watch", "%s: line %u: %s (the offsets"
                " of the watched files are lost; move the file away to take"
                " the watched folder again from the start)", w->tail_path,
                err.line, err.reason);
        return rc;
    }
    if (rc < 0)
        return rc;
    if (w->db.torn > 0)
        fl_log(FL_LOG_WARN, "watch", "%s: ignored a last line cut"
                " short by a crash", w->tail_path);
    for (size_t i = 0; i < w->db.n; i++) {
        struct fl_tail_entry *e = &w->db.v[i];
        if (e->pend_end == 0)
            continue;
        /* The write-ahead log was replayed before the watcher started: it
         * holds the key if and only if the piece went in. */
        if (fl_dedupe_contains(w->env.dedupe, e->pend_key)) {
            e->offset = e->pend_end;
            e->hdr_off = e->pend_hdr;
        }
        e->pend_end = 0;
        e->pend_key = 0;
        e->pend_hdr = 0;
    }
    return compact(w);
}


static void
watcher_free(struct fl_watch *w)
{
    for (size_t i = 0; i < w->n; i++)
        fl_free(w->files[i].path);
    fl_free(w->files);
    fl_free(w->prog);
    fl_free(w->progress_path);
    fl_tail_db_free(&w->db);
    if (w->tail_fd >= 0)
        close(w->tail_fd);
    fl_free(w->tail_path);
    fl_free(w->buf);
    fl_free(w);
}


static void *
watch_main(void *arg)
{
    struct fl_watch *w = arg;
    const struct fl_source_env *env = &w->env;
    while (env->running(env->ctx)) {
        w->scan++;
        int rc = fl_fs_walk(env->cfg->watch_dir, on_file, w);
        if (rc < 0 && rc != -ENOENT)
            fl_log(FL_LOG_WARN, "watch", "%s: %s",
                    env->cfg->watch_dir, fl_strerror(rc));
        else
            sweep(w);       /* only after a whole walk saw every file */
        /* Sleep in short steps so that a stop is not kept waiting. */
        for (uint64_t t = 0; t < env->cfg->watch_interval * 10
                             && env->running(env->ctx); t++) {
            struct timespec nap = { 0, 100 * 1000 * 1000 };
            nanosleep(&nap, NULL);
        }
    }
    return NULL;
}


int
fl_watch_start(const struct fl_source_env *env, struct fl_watch **out)
{
    struct fl_watch *w = fl_calloc(1, sizeof *w);
    const char *archive = env->cfg->archive_dir;
    int rc;
    if (w == NULL)
        return FL_ENOMEM;
    w->env = *env;
    w->tail_fd = -1;
    w->progress_path = fl_fs_join(archive, "_flowlake/watched.tsv");
    w->tail_path = fl_fs_join(archive, "_flowlake/tail.db");
    w->buf = fl_malloc(CHUNK + 1);
    if (w->progress_path == NULL || w->tail_path == NULL || w->buf == NULL) {
        watcher_free(w);
        return FL_ENOMEM;
    }
    const char *crash = getenv("FLOWLAKE_TEST_WATCH_CRASH");
    if (crash != NULL)
        w->crash_at = strcmp(crash, "before-wal") == 0 ? 1
                    : strcmp(crash, "after-wal") == 0 ? 2 : 0;
    load_progress(w);
    char *meta = fl_fs_join(archive, "_flowlake");
    if (meta == NULL) {
        watcher_free(w);
        return FL_ENOMEM;
    }
    rc = fl_fs_mkdirs(meta);
    fl_free(meta);
    if (rc < 0 || (rc = load_tail(w)) < 0) {
        watcher_free(w);
        return rc;
    }
    rc = pthread_create(&w->thread, NULL, watch_main, w);
    if (rc != 0) {
        watcher_free(w);
        return -rc;
    }
    *out = w;
    return FL_OK;
}


void
fl_watch_stop(struct fl_watch *w)
{
    if (w == NULL)
        return;
    pthread_join(w->thread, NULL);
    watcher_free(w);
}
