/* SPDX-License-Identifier: MIT
 *
 * status.c -- what the web UI's status page reads besides the counters of
 * GET /api/status (docs/ui.md, docs/serve.md): the per-source rates (one-
 * second slots for the last minute, one-minute slots for the last hour),
 * the ring of the last publish attempts (GET /api/publishes), the newest
 * rejected lines of ARCHIVE/_errors/ with counts by reason
 * (GET /api/rejects), and the newest alarm state changes of the alarm
 * history file (GET /api/alarms/history) -- the last two read straight
 * from the files, so that an on-call look costs no SQL worker process.
 *
 * Reading is bounded whatever the folder holds: a listing of at most
 * MAX_DIRENTS names keeping the MAX_FILES newest, files read backwards
 * from their end in CHUNK pieces up to a byte and a line budget, and a
 * line longer than MAX_LINE skipped (counted) rather than collected. The
 * line being appended at the end of a file (no newline yet) is left out.
 */
#define _GNU_SOURCE 1   /* memrchr */
#include "../core/fl_config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/fl_compiler.h"

#include "../core/fl_error.h"
#include "../core/fl_fs.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "../server/server_int.h"

#define CHUNK        65536               /* read backwards this much */
#define MAX_LINE     (1u << 20)          /* longer lines are skipped */
#define MAX_DIRENTS  100000              /* names listed in _errors/ */
#define MAX_FILES    16                  /* newest files read */
#define SCAN_BYTES   (16u << 20)         /* bytes read per request */
#define SCAN_LINES   10000               /* lines read for the counts */
#define MAX_REASONS  100                 /* distinct reasons counted */
#define HISTORY_BYTES (8u << 20)


/* snprintf that never moves o past cap - 1. */
static size_t
put(char *out, size_t cap, size_t o, const char *fmt, ...)
    FL_PRINTF(4, 5);

static size_t
put(char *out, size_t cap, size_t o, const char *fmt, ...)
{
    if (o + 1 >= cap)
        return o;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + o, cap - o, fmt, ap);
    va_end(ap);
    if (n < 0)
        return o;
    return (size_t)n < cap - o ? o + (size_t)n : cap - 1;
}


size_t
fl_http_source_rates_json(struct fl_server *s, enum fl_source_kind kind,
                          int64_t now, char *out, size_t cap)
{
    struct fl_source_rates r;
    struct fl_source_totals t;
    size_t o = 0;

    fl_source_counters_rates(s->counters, kind, now, &r);
    fl_source_counters_totals(s->counters, kind, &t);
    char lastbuf[24] = "null";
    if (t.last_request > 0)
        snprintf(lastbuf, sizeof lastbuf, "%" PRId64, t.last_request);
    o = put(out, cap, o, "\"last_request\":%s,\"records_last_minute\":%"
            PRIu64 ",\"rejected_last_minute\":%" PRIu64
            ",\"records_per_second\":%.3f,\"per_minute\":{\"start\":%" PRId64
            ",\"records\":[", lastbuf, r.last_minute_records,
            r.last_minute_rejected, (double)r.last_minute_records / 60.0,
            r.first_minute * 60);
    for (size_t k = 0; k < FL_SOURCE_RATE_MINUTES; k++)
        o = put(out, cap, o, "%s%" PRIu64, k ? "," : "", r.minute_records[k]);
    o = put(out, cap, o, "],\"rejected\":[");
    for (size_t k = 0; k < FL_SOURCE_RATE_MINUTES; k++)
        o = put(out, cap, o, "%s%" PRIu64, k ? "," : "", r.minute_rejected[k]);
    o = put(out, cap, o, "]}");
    return o;
}


/* ---- publishes ---------------------------------------------------------- */

/* ?limit=N within 1..max, default dflt; 0 when the value is not one. */
static int
get_limit(struct MHD_Connection *c, size_t dflt, size_t max, size_t *out)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                "limit");
    *out = dflt;
    if (v == NULL)
        return 1;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 || n == 0)
        return 0;
    *out = n > max ? max : (size_t)n;
    return 1;
}


static enum MHD_Result
bad_limit(struct MHD_Connection *c, size_t max)
{
    char msg[96];
    snprintf(msg, sizeof msg, "limit must be a whole number from 1 to %zu",
             max);
    return fl_http_reply_error(c, 400, msg);
}


#define reply_json fl_http_reply_json


/* Adds a value to an object or array, dropping the reference; any failure
 * (out of memory) makes the whole answer fail. */
static int
set(json_t *o, const char *k, json_t *v)
{
    return json_object_set_new(o, k, v);
}


/* Appends o to arr unless bad (a key of o failed): o is dropped then.
 * Returns 1 when anything failed. */
static int
append(json_t *arr, json_t *o, int bad)
{
    if (bad || o == NULL) {
        json_decref(o);
        return 1;
    }
    return json_array_append_new(arr, o) < 0;
}


enum MHD_Result
fl_http_publishes(struct fl_server *s, struct MHD_Connection *c)
{
    size_t limit;
    if (!get_limit(c, FL_PUBLISH_RING, FL_PUBLISH_RING, &limit))
        return bad_limit(c, FL_PUBLISH_RING);
    struct fl_publish_entry *copy = fl_calloc(FL_PUBLISH_RING, sizeof *copy);
    if (copy == NULL)
        return fl_http_reply_error(c, 503, FL_OOM_TEXT);
    uint64_t total;
    size_t n = fl_pipeline_publishes(s->pipeline, copy, limit, &total);

    json_t *root = json_object(), *list = json_array();
    int bad = root == NULL || list == NULL;
    for (size_t i = 0; !bad && i < n; i++) {
        const struct fl_publish_entry *e = &copy[i];
        json_t *p = json_object();
        bad = p == NULL;
        bad = bad
           || set(p, "time", json_integer(e->time))
           || set(p, "ok", json_boolean(e->ok))
           || set(p, "records", json_integer((json_int_t)e->records))
           || set(p, "files", json_integer((json_int_t)e->files))
           || set(p, "bytes", json_integer((json_int_t)e->bytes))
           || set(p, "blocks", json_integer((json_int_t)e->blocks))
           || set(p, "seconds", json_real(e->seconds))
           || set(p, "wal_seq", json_integer((json_int_t)e->wal_seq))
           || set(p, "error", e->ok ? json_null() : json_string(e->error));
        bad = append(list, p, bad);
    }
    fl_free(copy);
    if (bad || root == NULL
        || set(root, "attempts", json_integer((json_int_t)total))
        || set(root, "kept", json_integer(FL_PUBLISH_RING))
        || set(root, "publishes", json_incref(list))) {
        json_decref(list);
        json_decref(root);
        return fl_http_reply_error(c, 503, FL_OOM_TEXT);
    }
    json_decref(list);
    return reply_json(c, root);
}


/* ---- reading JSON lines from the end of a file -------------------------- */

/* One complete line; return 1 to stop reading. */
typedef int line_fn(void *ctx, const char *line, size_t len);

struct tail {
    size_t bytes;         /* read so far (shared by the files of a request) */
    size_t max_bytes;
    size_t skipped;       /* lines longer than MAX_LINE */
    int    stopped;       /* fn asked to stop */
    int    cut;           /* max_bytes reached before the file's start */
};


/* Calls fn for every complete line of path, last line first, until fn
 * stops it, the start of the file, or t->max_bytes read. Returns 0, or
 * -errno (ENOENT: no such file). */
static int
tail_lines(const char *path, struct tail *t, line_fn *fn, void *ctx)
{
    /* O_NONBLOCK: a FIFO put in the folder must not hang the HTTP thread
     * in open() (it is then refused as not a regular file). */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return -EINVAL;
    }
    /* buf holds the file's bytes [off, off + len): the start of the line
     * being collected, up to its newline (excluded). */
    char *buf = NULL;
    size_t len = 0;
    off_t off = st.st_size;
    int have_end = 0;   /* the newline ending the last complete line seen */
    int skipping = 0;   /* inside a line longer than MAX_LINE */
    int rc = 0;

    while (off > 0 && !t->stopped) {
        size_t n = off < CHUNK ? (size_t)off : CHUNK;
        if (t->bytes + n > t->max_bytes) {
            t->cut = 1;
            break;
        }
        char *nb = fl_malloc(n + len);
        if (nb == NULL) {
            rc = FL_ENOMEM;
            break;
        }
        off -= (off_t)n;
        ssize_t got = pread(fd, nb, n, off);
        if (got != (ssize_t)n) {
            rc = got < 0 ? -errno : -EIO;   /* cut short under us */
            fl_free(nb);
            break;
        }
        t->bytes += n;
        if (len > 0)
            memcpy(nb + n, buf, len);
        fl_free(buf);
        buf = nb;
        len += n;
        if (!have_end) {
            /* What follows the file's last newline is a line still being
             * written: left out. */
            const char *nl = memrchr(buf, '\n', len);
            if (nl == NULL) {
                len = 0;
                continue;
            }
            len = (size_t)(nl - buf);
            have_end = 1;
        }
        for (;;) {
            const char *nl = memrchr(buf, '\n', len);
            if (nl == NULL)
                break;
            size_t start = (size_t)(nl - buf) + 1;
            if (skipping)
                skipping = 0;                /* its start is found */
            else if (len > start && fn(ctx, buf + start, len - start)) {
                t->stopped = 1;
                break;
            }
            len = start - 1;
        }
        if (!t->stopped && len > MAX_LINE) {
            /* Too long to show: count it once, drop what is held, and
             * skip on to its start. */
            if (!skipping)
                t->skipped++;
            skipping = 1;
            len = 0;
        }
    }
    if (rc == 0 && off == 0 && have_end && !skipping && !t->stopped
        && !t->cut && len > 0 && fn(ctx, buf, len))
        t->stopped = 1;
    fl_free(buf);
    close(fd);
    return rc;
}


/* ---- GET /api/rejects --------------------------------------------------- */

struct err_file {
    char    name[256];
    int64_t mtime_ns;
    int64_t mtime;
    int64_t size;
};

struct reason_count {
    char    *reason;
    uint64_t count;
};

struct rejects_scan {
    const char          *file;        /* being read */
    size_t               limit;       /* samples wanted */
    json_t              *samples;
    size_t               lines;       /* lines read */
    size_t               unreadable;  /* not a rejected-line object */
    struct reason_count  reasons[MAX_REASONS];
    size_t               n_reasons;
    uint64_t             other;       /* lines of reasons past MAX_REASONS */
    int                  oom;
};


static int
count_reason(struct rejects_scan *r, const char *reason)
{
    for (size_t i = 0; i < r->n_reasons; i++) {
        if (strcmp(r->reasons[i].reason, reason) == 0) {
            r->reasons[i].count++;
            return 0;
        }
    }
    if (r->n_reasons == MAX_REASONS) {
        r->other++;
        return 0;
    }
    char *copy = fl_strdup(reason);
    if (copy == NULL)
        return FL_ENOMEM;
    r->reasons[r->n_reasons].reason = copy;
    r->reasons[r->n_reasons++].count = 1;
    return 0;
}


static int
reject_line(void *ctx, const char *line, size_t len)
{
    struct rejects_scan *r = ctx;
    json_error_t jerr;
    r->lines++;
    /* A rejected line may hold a NUL (it is why some are rejected):
     * kept, since the object is passed on whole. */
    json_t *o = json_loadb(line, len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES,
                           &jerr);
    const char *reason = json_string_value(json_object_get(o, "reason"));
    if (o == NULL || !json_is_object(o) || reason == NULL
        || !(json_is_string(json_object_get(o, "raw"))
             || json_is_string(json_object_get(o, "raw_base64")))) {
        r->unreadable++;
        json_decref(o);
        return r->lines >= SCAN_LINES;
    }
    if (count_reason(r, reason) < 0)
        r->oom = 1;
    if (json_array_size(r->samples) < r->limit) {
        /* Only the documented keys go out, and the file it came from. */
        json_t *smp = json_object();
        static const char *const keys[] = { "source", "line", "reason", "raw",
                                            "raw_base64" };
        int bad = smp == NULL || set(smp, "file", json_string(r->file));
        for (size_t k = 0; !bad && k < sizeof keys / sizeof keys[0]; k++) {
            json_t *v = json_object_get(o, keys[k]);
            if (v != NULL)
                bad = json_object_set(smp, keys[k], v);
        }
        if (append(r->samples, smp, bad))
            r->oom = 1;
    }
    json_decref(o);
    return r->oom || r->lines >= SCAN_LINES;
}


/* Newer first; the same time: the later name first. */
static int
by_mtime_desc(const void *a, const void *b)
{
    const struct err_file *x = a, *y = b;
    if (x->mtime_ns != y->mtime_ns)
        return x->mtime_ns < y->mtime_ns ? 1 : -1;
    return -strcmp(x->name, y->name);
}


static int
by_count_desc(const void *a, const void *b)
{
    const struct reason_count *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return strcmp(x->reason, y->reason);
}


/* Whether a file name is printable ASCII (flowlake's own names are; the
 * answer is JSON text, which a name of other bytes could not be). */
static int
printable(const char *name)
{
    for (; *name != '\0'; name++)
        if ((unsigned char)*name < 0x20 || (unsigned char)*name > 0x7e)
            return 0;
    return 1;
}


/* Lists dir's *.jsonl files, keeping the MAX_FILES newest in files (sorted
 * newest first). Returns 0 or -errno (ENOENT: no folder yet). */
static int
list_errors(const char *dir, struct err_file *files, size_t *n_files,
            size_t *seen, int *complete)
{
    DIR *d = opendir(dir);
    *n_files = *seen = 0;
    *complete = 1;
    if (d == NULL)
        return -errno;
    int dfd = dirfd(d);
    size_t names = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (++names > MAX_DIRENTS) {
            *complete = 0;
            break;
        }
        size_t nl = strlen(de->d_name);
        if (de->d_name[0] == '.' || nl < 7 || nl >= sizeof files->name
            || strcmp(de->d_name + nl - 6, ".jsonl") != 0
            || !printable(de->d_name))
            continue;
        struct stat st;
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0
            || !S_ISREG(st.st_mode))
            continue;
        (*seen)++;
        struct err_file f;
        memcpy(f.name, de->d_name, nl + 1);
        f.mtime = st.st_mtim.tv_sec;
        f.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000
                   + st.st_mtim.tv_nsec;
        f.size = st.st_size;
        /* Keep the newest MAX_FILES: replace the oldest kept when newer. */
        if (*n_files < MAX_FILES) {
            files[(*n_files)++] = f;
        } else {
            size_t old = 0;
            for (size_t i = 1; i < *n_files; i++)
                if (by_mtime_desc(&files[i], &files[old]) > 0)
                    old = i;
            if (by_mtime_desc(&f, &files[old]) < 0)
                files[old] = f;
        }
    }
    closedir(d);
    qsort(files, *n_files, sizeof *files, by_mtime_desc);
    return 0;
}


enum MHD_Result
fl_http_rejects(struct fl_server *s, struct MHD_Connection *c)
{
    size_t limit, n_files = 0, seen = 0;
    int listed_all = 1;
    if (!get_limit(c, 20, 200, &limit))
        return bad_limit(c, 200);
    char *dir = fl_fs_join(s->cfg->archive_dir, "_errors");
    struct err_file *files = fl_calloc(MAX_FILES, sizeof *files);
    struct rejects_scan *r = fl_calloc(1, sizeof *r);
    json_t *root = json_object(), *flist = json_array(), *reasons = json_array();
    enum MHD_Result ret;
    int bad = 0, rc;

    if (dir == NULL || files == NULL || r == NULL || root == NULL
        || flist == NULL || reasons == NULL
        || (r->samples = json_array()) == NULL) {
        ret = fl_http_reply_error(c, 503, FL_OOM_TEXT);
        goto out;
    }
    r->limit = limit;
    rc = list_errors(dir, files, &n_files, &seen, &listed_all);
    if (rc < 0 && rc != -ENOENT) {
        char msg[512];
        snprintf(msg, sizeof msg, "cannot list %s: %s", dir, fl_strerror(rc));
        ret = fl_http_reply_error(c, 500, msg);
        goto out;
    }
    struct tail t = { .max_bytes = SCAN_BYTES };
    size_t files_read = 0;
    int complete = listed_all && seen == n_files;
    for (size_t i = 0; i < n_files && !bad; i++) {
        char *path = fl_fs_join(dir, files[i].name);
        if (path == NULL) {
            bad = 1;
            break;
        }
        int done = !t.stopped && !t.cut;
        if (done) {
            r->file = files[i].name;
            rc = tail_lines(path, &t, reject_line, r);
            files_read++;
            /* A file removed meanwhile is simply not there. */
            if (rc == FL_ENOMEM || r->oom)
                bad = 1;
        }
        fl_free(path);
        json_t *f = json_object();
        bad = bad || f == NULL
           || set(f, "name", json_string(files[i].name))
           || set(f, "bytes", json_integer(files[i].size))
           || set(f, "modified", json_integer(files[i].mtime))
           || set(f, "read", json_boolean(done));
        bad = append(flist, f, bad);
    }
    if (t.stopped || t.cut || t.skipped > 0)
        complete = 0;
    qsort(r->reasons, r->n_reasons, sizeof *r->reasons, by_count_desc);
    for (size_t i = 0; i < r->n_reasons && !bad; i++) {
        json_t *o = json_object();
        bad = o == NULL
           || set(o, "reason", json_string(r->reasons[i].reason))
           || set(o, "count", json_integer((json_int_t)r->reasons[i].count));
        bad = append(reasons, o, bad);
    }
    bad = bad
       || set(root, "files_total", json_integer((json_int_t)seen))
       || set(root, "files_read", json_integer((json_int_t)files_read))
       || set(root, "lines_read", json_integer((json_int_t)r->lines))
       || set(root, "unreadable", json_integer((json_int_t)r->unreadable))
       || set(root, "too_long", json_integer((json_int_t)t.skipped))
       || set(root, "other_reasons", json_integer((json_int_t)r->other))
       || set(root, "complete", json_boolean(complete))
       || set(root, "files", json_incref(flist))
       || set(root, "reasons", json_incref(reasons))
       || set(root, "samples", json_incref(r->samples));
    if (bad) {
        ret = fl_http_reply_error(c, 503, FL_OOM_TEXT);
        goto out;
    }
    ret = reply_json(c, json_incref(root));
out:
    json_decref(root);
    json_decref(flist);
    json_decref(reasons);
    if (r != NULL) {
        json_decref(r->samples);
        for (size_t i = 0; i < r->n_reasons; i++)
            fl_free(r->reasons[i].reason);
    }
    fl_free(r);
    fl_free(files);
    fl_free(dir);
    return ret;
}


/* ---- GET /api/alarms/history -------------------------------------------- */

struct hist_scan {
    json_t *list;          /* newest first */
    size_t  limit;
    size_t  unreadable;
    int     oom;
};


static int
hist_line(void *ctx, const char *line, size_t len)
{
    struct hist_scan *h = ctx;
    json_error_t jerr;
    json_t *o = json_loadb(line, len, 0, &jerr);
    if (o == NULL || !json_is_object(o)
        || !json_is_string(json_object_get(o, "time"))
        || !json_is_string(json_object_get(o, "alarm"))) {
        h->unreadable++;
        json_decref(o);
        return 0;
    }
    if (json_array_append_new(h->list, o) < 0) {
        h->oom = 1;
        return 1;
    }
    return json_array_size(h->list) >= h->limit;
}


/* Newest first as SQL's ORDER BY time DESC, alarm gives them; changes of
 * the same second and alarm keep the file's order, newest first. */
struct hist_item {
    json_t *o;
    size_t  idx;
};

static int
by_time_desc(const void *a, const void *b)
{
    const struct hist_item *x = a, *y = b;
    int c = strcmp(json_string_value(json_object_get(y->o, "time")),
                   json_string_value(json_object_get(x->o, "time")));
    if (c == 0)
        c = strcmp(json_string_value(json_object_get(x->o, "alarm")),
                   json_string_value(json_object_get(y->o, "alarm")));
    if (c == 0)
        c = x->idx < y->idx ? -1 : x->idx > y->idx;
    return c;
}


enum MHD_Result
fl_http_alarm_history(struct fl_server *s, struct MHD_Connection *c)
{
    size_t limit;
    if (!get_limit(c, 50, 1000, &limit))
        return bad_limit(c, 1000);
    char *path = fl_fs_join(s->cfg->archive_dir,
                            "_flowlake/alarms/history.jsonl");
    struct hist_scan h = { .list = json_array(), .limit = limit };
    struct hist_item *items = NULL;
    json_t *root = json_object(), *sorted = json_array();
    enum MHD_Result ret;
    if (path == NULL || h.list == NULL || root == NULL || sorted == NULL) {
        ret = fl_http_reply_error(c, 503, FL_OOM_TEXT);
        goto out;
    }
    struct tail t = { .max_bytes = HISTORY_BYTES };
    int rc = tail_lines(path, &t, hist_line, &h);
    if (rc == FL_ENOMEM || h.oom) {
        ret = fl_http_reply_error(c, 503, FL_OOM_TEXT);
        goto out;
    }
    if (rc < 0 && rc != -ENOENT) {
        char msg[512];
        snprintf(msg, sizeof msg, "cannot read %s: %s", path,
                 rc == -EINVAL ? "not a regular file" : fl_strerror(rc));
        ret = fl_http_reply_error(c, 500, msg);
        goto out;
    }
    size_t n = json_array_size(h.list);
    items = fl_calloc(n ? n : 1, sizeof *items);
    if (items == NULL) {
        ret = fl_http_reply_error(c, 503, FL_OOM_TEXT);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        items[i] = (struct hist_item){ json_array_get(h.list, i), i };
    qsort(items, n, sizeof *items, by_time_desc);
    int bad = 0;
    for (size_t i = 0; i < n && !bad; i++)
        bad = json_array_append(sorted, items[i].o) < 0;
    /* complete: every change the file holds is in the answer. */
    int complete = !t.stopped && !t.cut && t.skipped == 0;
    if (bad || set(root, "history", json_incref(sorted))
        || set(root, "complete", json_boolean(complete))
        || set(root, "unreadable", json_integer((json_int_t)h.unreadable))) {
        ret = fl_http_reply_error(c, 503, FL_OOM_TEXT);
        goto out;
    }
    ret = reply_json(c, json_incref(root));
out:
    fl_free(items);
    json_decref(sorted);
    json_decref(root);
    json_decref(h.list);
    fl_free(path);
    return ret;
}
