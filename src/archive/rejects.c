/* SPDX-License-Identifier: MIT
 *
 * rejects.c -- the rejected-records file (Firehose's "processing-failed"
 * output): every line the parser refused, with where it came from, why,
 * and its raw text, as one JSON object per line so that it can be read
 * back with any JSON tool or `read_json` in DuckDB. The line itself is
 * "raw", JSON text with UTF-8 kept as is, when it is UTF-8; otherwise
 * "raw_base64", its exact bytes, since a JSON string cannot hold them.
 *
 * Failures are not sticky. A line that cannot be written (ENOSPC, EACCES
 * on the folder, EIO ...) is counted as lost, the file is closed, and the
 * next line opens it again and retries: when space is freed or the
 * permissions are fixed, recording resumes without a restart. The log
 * says so once when recording stops and once when it works again -- not
 * once per line, which on a full disk would fill the log too.
 */
#include "../core/fl_config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/fl_base64.h"
#include "../core/fl_error.h"
#include "../core/fl_log.h"
#include "../core/fl_fs.h"
#include "../core/fl_json.h"
#include "../core/fl_mem.h"
#include "../parse/utf8.h"
#include "rejects.h"

/* How many rejected lines are echoed on stderr before going quiet. */
#define STDERR_SAMPLE 10

struct fl_rejects {
    pthread_mutex_t mu;
    char           *path;
    int             fd;            /* -1 until the first reject, and
                                    * after a failed write */
    uint64_t        count;         /* lines handed to fl_rejects_add */
    uint64_t        written;
    uint64_t        lost;
    uint64_t        failures;      /* working -> failing transitions */
    int             failing;
    int             last_rc;       /* error of the last lost line */
    char            last_error[256];
};


int
fl_rejects_create(const char *path, struct fl_rejects **out)
{
    struct fl_rejects *r = fl_calloc(1, sizeof *r);
    if (r == NULL)
        return FL_ENOMEM;
    r->path = fl_strdup(path);
    if (r->path == NULL) {
        fl_free(r);
        return FL_ENOMEM;
    }
    r->fd = -1;
    int rc = pthread_mutex_init(&r->mu, NULL);
    if (rc != 0) {
        fl_free(r->path);
        fl_free(r);
        return -rc;
    }
    *out = r;
    return FL_OK;
}


static int
open_file(struct fl_rejects *r)
{
    char *dir = fl_strdup(r->path);
    if (dir == NULL)
        return FL_ENOMEM;
    char *slash = strrchr(dir, '/');
    if (slash != NULL) {
        *slash = '\0';
        int rc = fl_fs_mkdirs(dir);
        if (rc < 0) {
            fl_free(dir);
            return rc;
        }
    }
    fl_free(dir);
    r->fd = open(r->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    return r->fd < 0 ? -errno : FL_OK;
}


/* Appends one line, opening the file first if needed. On failure the
 * file is cut back to where it was (a torn line would make the next one
 * unreadable) and closed, so that the next call starts afresh: a file
 * removed to free space is created again. Called with mu held. */
static int
write_line(struct fl_rejects *r, const char *buf, size_t len)
{
    struct stat st;
    int rc;

    if (r->fd < 0 && (rc = open_file(r)) < 0) {
        r->fd = -1;
        return rc;
    }
    if (fstat(r->fd, &st) < 0) {
        rc = -errno;
    } else {
        rc = fl_fs_write_all(r->fd, buf, len);
        if (rc < 0 && ftruncate(r->fd, st.st_size) < 0) {
            /* Best effort: the failure being reported is the write's. */
        }
    }
    if (rc < 0) {
        (void)close(r->fd);
        r->fd = -1;
    }
    return rc;
}


int
fl_rejects_add(struct fl_rejects *r, const char *source,
               unsigned long long line, const char *reason,
               const char *raw, size_t raw_len)
{
    /* Worst case every byte becomes \u00XX, plus the base64 copy. */
    size_t cap = 6 * (strlen(source) + strlen(reason) + raw_len)
               + FL_BASE64_ENCODED_LEN(raw_len) + 160;
    char *buf = fl_malloc(cap);
    int rc = FL_OK;
    size_t o = 0, w;

    if (buf == NULL)
        return FL_ENOMEM;
    o += (size_t)snprintf(buf + o, cap - o, "{\"source\":");
    w = fl_json_escape(buf + o, cap - o, source, strlen(source));
    o += w;
    o += (size_t)snprintf(buf + o, cap - o, ",\"line\":%llu,\"reason\":", line);
    w = fl_json_escape(buf + o, cap - o, reason, strlen(reason));
    o += w;
    if (fl_utf8_valid_prefix(raw, raw_len) == raw_len) {
        o += (size_t)snprintf(buf + o, cap - o, ",\"raw\":");
        w = fl_json_escape(buf + o, cap - o, raw, raw_len);
        o += w;
    } else {
        /* A JSON string holds Unicode text, not bytes: escaping a stray
         * 0xe9 as \u00e9 would read back as the two bytes of "é". The
         * exact bytes go in raw_base64 instead. */
        o += (size_t)snprintf(buf + o, cap - o, ",\"raw_base64\":\"");
        o += fl_base64_encode(raw, raw_len, buf + o);
        buf[o++] = '"';
    }
    o += (size_t)snprintf(buf + o, cap - o, "}\n");

    pthread_mutex_lock(&r->mu);
    r->count++;
    if (r->count <= STDERR_SAMPLE)
        fl_log(FL_LOG_WARN, "rejects", "rejected %s:%llu: %s", source, line,
               reason);
    else if (r->count == STDERR_SAMPLE + 1)
        fl_log(FL_LOG_WARN, "rejects", "more lines rejected; all are in %s",
               r->path);
    rc = write_line(r, buf, o);
    if (rc < 0) {
        r->lost++;
        r->last_rc = rc;
        snprintf(r->last_error, sizeof r->last_error, "%s: %s", r->path,
                 fl_strerror(rc));
        if (!r->failing) {
            r->failing = 1;
            r->failures++;
            fl_log(FL_LOG_ERROR, "rejects", "cannot record rejected lines in %s: "
                   "%s; they are counted as lost until it works again",
                    r->path, fl_strerror(rc));
        }
    } else {
        r->written++;
        if (r->failing) {
            r->failing = 0;
            fl_log(FL_LOG_INFO, "rejects", "rejected lines are recorded in %s "
                   "again (%llu lost so far)", r->path,
                    (unsigned long long)r->lost);
        }
    }
    pthread_mutex_unlock(&r->mu);
    fl_free(buf);
    return rc;
}


uint64_t
fl_rejects_count(struct fl_rejects *r)
{
    pthread_mutex_lock(&r->mu);
    uint64_t n = r->count;
    pthread_mutex_unlock(&r->mu);
    return n;
}


void
fl_rejects_stats(struct fl_rejects *r, struct fl_rejects_stats *out)
{
    pthread_mutex_lock(&r->mu);
    out->lines = r->count;
    out->written = r->written;
    out->lost = r->lost;
    out->failures = r->failures;
    out->failing = r->failing;
    snprintf(out->last_error, sizeof out->last_error, "%s", r->last_error);
    pthread_mutex_unlock(&r->mu);
}


int
fl_rejects_close(struct fl_rejects *r)
{
    int rc = r->lost > 0 ? r->last_rc : FL_OK;
    if (r->fd >= 0) {
        if (fsync(r->fd) < 0 && rc == 0)
            rc = -errno;
        if (close(r->fd) < 0 && rc == 0)
            rc = -errno;
        r->fd = -1;
    }
    return rc;
}


void
fl_rejects_destroy(struct fl_rejects *r)
{
    if (r == NULL)
        return;
    (void)fl_rejects_close(r);
    pthread_mutex_destroy(&r->mu);
    fl_free(r->path);
    fl_free(r);
}
