/* SPDX-License-Identifier: MIT
 *
 * watch.c -- the folder source of `flowlake serve` (watch.dir, --watch):
 * every watch.interval, walk the folder for *.log and *.log.gz files (as an
 * S3 sync leaves them) and ingest each new one once -- across restarts too.
 *
 * A file is taken when its size and modification time have not changed
 * since the previous scan (so a file still being written is left alone).
 * It is identified by the digest of its bytes, as `convert` does, so a
 * renamed or copied file is not taken again. It is read as a stream
 * (gzip or plain, header line detected) and ingested in pieces of about
 * CHUNK bytes of text through the same path as POST /ingest (validation,
 * write-ahead log, buffer); each piece's WAL record carries a key derived
 * from the digest and the piece's number.
 *
 * Progress is kept in ARCHIVE/_flowlake/watched.tsv, appended and fsynced
 * after each piece is durable: "<digest> TAB <piece> TAB <path>" for a
 * piece, "<digest> TAB done TAB <path>" for a whole file. A restart skips
 * finished files and resumes a file after its last recorded piece; the
 * keys of pieces still in the write-ahead log cover the instant between a
 * piece's commit and its line in watched.tsv.
 */
#include "../core/fl_config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/fl_digest.h"
#include "../core/fl_error.h"
#include "../core/fl_fs.h"
#include "../core/fl_mem.h"
#include "../decode/lines.h"
#include "../parse/format.h"
#include "server_int.h"

/* Text per ingested piece: well under a WAL record. */
#define CHUNK (4u << 20)

/* What the watcher knows about one path. */
struct seen {
    char    *path;
    off_t    size;
    time_t   mtime;
    int      stable_scans;   /* consecutive scans with the same size/mtime */
    int      done;           /* taken (or already in watched.tsv) */
};

struct watcher {
    struct fl_server *s;
    struct seen      *files;
    size_t            n, cap;
    char             *progress_path;
    /* watched.tsv as loaded: digest hex + piece ("done" = -1) */
    struct progress { char hex[FL_DIGEST_HEX]; long piece; } *prog;
    size_t            n_prog, cap_prog;
};


static long
progress_of(const struct watcher *w, const char *hex)
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
remember(struct watcher *w, const char *hex, long piece)
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
load_progress(struct watcher *w)
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
append_progress(struct watcher *w, const char *hex, long piece,
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


/* Ingests one piece; returns 0 once it is durable. */
static int
ingest_piece(struct watcher *w, const char *path, const char *hex,
             long piece, const char *text, size_t len, const char *spec)
{
    struct fl_server *s = w->s;
    struct fl_ingest_result res;
    char keytext[64], source[4200];
    snprintf(keytext, sizeof keytext, "%s/%ld", hex, piece);
    uint64_t key = fl_dedupe_key(keytext, strlen(keytext));
    if (fl_dedupe_contains(s->dedupe, key))
        return FL_OK;          /* in the WAL already (a restart) */
    snprintf(source, sizeof source, "%s", path);
    atomic_fetch_add(&s->sources[FL_SOURCE_WATCH].requests, 1);
    atomic_fetch_add(&s->sources[FL_SOURCE_WATCH].bytes, len);
    fl_server_ingest(s, FL_SOURCE_WATCH, source, text, len, spec, &key, 1,
                     &res);
    if (res.http_status != 200) {
        fprintf(stderr, "flowlake serve: watch: %s: %s (retrying later)\n",
                path, res.error);
        return FL_EAGAIN;
    }
    fl_dedupe_add(s->dedupe, key);
    return FL_OK;
}


/* Reads a stable file and ingests it piece by piece from where a previous
 * run stopped. */
static int
take_file(struct watcher *w, const char *path)
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
    if ((rc = fl_lines_create(r, (size_t)w->s->cfg->max_line, &lines)) < 0) {
        fl_reader_close(r);
        return rc;
    }

    size_t cap = 0;
    for (int first = 1;; first = 0) {
        struct fl_line_block b;
        if ((rc = fl_lines_next(lines, 1024, &b)) < 0) {
            fprintf(stderr, "flowlake serve: watch: %s: %s\n", path,
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


static int
ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}


static int
on_file(void *ctx, const char *path)
{
    struct watcher *w = ctx;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (base[0] == '.' || !(ends_with(base, ".log") || ends_with(base, ".log.gz")))
        return FL_OK;
    struct stat st;
    if (stat(path, &st) < 0)
        return FL_OK;
    struct seen *f = NULL;
    for (size_t i = 0; i < w->n; i++) {
        if (strcmp(w->files[i].path, path) == 0) {
            f = &w->files[i];
            break;
        }
    }
    if (f == NULL) {
        if (w->n == w->cap) {
            size_t ncap = w->cap ? w->cap * 2 : 64;
            struct seen *p = fl_realloc(w->files, ncap * sizeof *p);
            if (p == NULL)
                return FL_ENOMEM;
            w->files = p;
            w->cap = ncap;
        }
        f = &w->files[w->n];
        memset(f, 0, sizeof *f);
        if ((f->path = fl_strdup(path)) == NULL)
            return FL_ENOMEM;
        w->n++;
    }
    if (f->size == st.st_size && f->mtime == st.st_mtime)
        f->stable_scans++;
    else {
        f->size = st.st_size;
        f->mtime = st.st_mtime;
        f->stable_scans = 0;
        f->done = 0;                 /* rewritten: look at it again */
    }
    if (f->done || f->stable_scans < 1)
        return FL_OK;
    if (take_file(w, path) == 0)
        f->done = 1;
    return FL_OK;
}


static void *
watch_main(void *arg)
{
    struct watcher *w = arg;
    struct fl_server *s = w->s;
    while (!atomic_load(&s->stopping) && atomic_load(&s->accepting)) {
        int rc = fl_fs_walk(s->cfg->watch_dir, on_file, w);
        if (rc < 0 && rc != -ENOENT)
            fprintf(stderr, "flowlake serve: watch: %s: %s\n",
                    s->cfg->watch_dir, fl_strerror(rc));
        /* Sleep in short steps so that a stop is not kept waiting. */
        for (uint64_t t = 0; t < s->cfg->watch_interval * 10
                             && !atomic_load(&s->stopping); t++) {
            struct timespec nap = { 0, 100 * 1000 * 1000 };
            nanosleep(&nap, NULL);
        }
    }
    for (size_t i = 0; i < w->n; i++)
        fl_free(w->files[i].path);
    fl_free(w->files);
    fl_free(w->prog);
    fl_free(w->progress_path);
    fl_free(w);
    return NULL;
}


int
fl_watch_start(struct fl_server *s)
{
    struct watcher *w = fl_calloc(1, sizeof *w);
    if (w == NULL)
        return FL_ENOMEM;
    w->s = s;
    w->progress_path = fl_fs_join(s->cfg->archive_dir, "_flowlake/watched.tsv");
    if (w->progress_path == NULL) {
        fl_free(w);
        return FL_ENOMEM;
    }
    load_progress(w);
    int rc = pthread_create(&s->watch, NULL, watch_main, w);
    if (rc != 0) {
        fl_free(w->prog);
        fl_free(w->progress_path);
        fl_free(w);
        return -rc;
    }
    s->watch_started = 1;
    return FL_OK;
}


void
fl_watch_stop(struct fl_server *s)
{
    if (s->watch_started) {
        pthread_join(s->watch, NULL);
        s->watch_started = 0;
    }
}
