/* SPDX-License-Identifier: MIT
 *
 * uploader.c -- the archive's outbox carried to the object store, change
 * by change (uploader.h).
 */
#include "../core/fl_config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../archive/outbox.h"
#include "../core/fl_buf.h"
#include "../core/fl_fs.h"
#include "../core/fl_json.h"
#include "../core/fl_log.h"
#include "../core/fl_mem.h"
#include "../core/fl_sync.h"
#include "../core/fl_time.h"
#include "uploader.h"

#define MAX_CHANGE_FILE (256u << 20)  /* a change file's ceiling */
#define MAX_RETRY_WAIT  60            /* seconds between failed attempts */

#define PRUNE_EVERY     3600          /* seconds between manifest prunes */
#define RUNS_PREFIX     "_flowlake/runs/"

struct fl_uploader {
    uint64_t           manifest_retention;   /* seconds, 0 = for ever */
    double             last_prune;    /* fl_time_mono(); 0 = never */
    char              *archive_dir;
    char              *outbox;        /* ARCHIVE/_flowlake/outbox */
    char              *url;           /* s3://bucket/prefix/ */
    struct fl_s3      *s3;
    pthread_t          thread;
    int                started;
    _Atomic int        stop;
    pthread_mutex_t    mu;            /* stats, and the thread's wait */
    pthread_cond_t     cv;
    struct fl_upload_stats st;        /* under mu */
};

/* Which puts a change already uploaded (its "done" file: one index a
 * line), as a bitmap over indexes < n. */
static unsigned char *
read_done(const char *dir, size_t n)
{
    unsigned char *done = fl_calloc(n + 1, 1);
    char *path = fl_fs_join(dir, "done"), *text = NULL;
    if (done != NULL && path != NULL
        && fl_fs_read_file(path, MAX_CHANGE_FILE, &text, NULL) == 0) {
        for (char *p = text, *end; *p != '\0'; p = end) {
            unsigned long i = strtoul(p, &end, 10);
            if (end == p)
                break;
            if (i < n)
                done[i] = 1;
            while (*end == '\n')
                end++;
        }
    }
    fl_free(text);
    fl_free(path);
    return done;
}


static void
note_done(const char *dir, unsigned index)
{
    char *path = fl_fs_join(dir, "done");
    int fd = path != NULL ? open(path, O_WRONLY | O_CREAT | O_APPEND
                                 | O_CLOEXEC, 0644) : -1;
    if (fd >= 0) {
        char line[24];
        int len = snprintf(line, sizeof line, "%u\n", index);
        (void)fl_fs_write_all(fd, line, (size_t)len);
        close(fd);
    }
    fl_free(path);
}


/* The change's manifest: what it put (with sizes) and what it deletes. */
static int
write_manifest(struct fl_uploader *u, const char *name,
               const struct fl_change_item *items, size_t n, struct fl_err *err)
{
    struct fl_buf j, key;
    fl_buf_init(&j, 0);
    fl_buf_init(&key, 0);
    fl_buf_adds(&j, "{\"change\":");
    fl_json_add_str(&j, name, strlen(name), 0);
    fl_buf_addf(&j, ",\"uploaded_at\":%" PRId64 ",\"objects\":[",
                fl_time_now());
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        if (!items[i].put)
            continue;
        fl_buf_adds(&j, first ? "{\"key\":" : ",{\"key\":");
        fl_json_add_str(&j, items[i].rel, strlen(items[i].rel), 0);
        fl_buf_addf(&j, ",\"bytes\":%" PRIu64 "}", items[i].bytes);
        first = 0;
    }
    fl_buf_adds(&j, "],\"deletes\":[");
    first = 1;
    for (size_t i = 0; i < n; i++) {
        if (items[i].put)
            continue;
        if (!first)
            fl_buf_addc(&j, ',');
        fl_json_add_str(&j, items[i].rel, strlen(items[i].rel), 0);
        first = 0;
    }
    fl_buf_adds(&j, "]}\n");
    fl_buf_addf(&key, RUNS_PREFIX "%s.json", name);
    int rc = j.err || key.err
             ? fl_err_oom(err)
             : fl_s3_put(u->s3, key.p, j.p, j.len, "application/json", err);
    fl_buf_free(&j);
    fl_buf_free(&key);
    return rc;
}


struct prefix_delete {
    struct fl_uploader *u;
    struct fl_err      *err;
    uint64_t            deleted;
    char              **keys;
    size_t              n, cap;
};


static int
collect_key(void *ctx, const char *rel, uint64_t size)
{
    struct prefix_delete *pd = ctx;
    (void)size;
    char **g = fl_grow(pd->keys, &pd->cap, pd->n + 1, sizeof *g, 64);
    if (g == NULL)
        return fl_err_oom(pd->err);
    pd->keys = g;
    if ((g[pd->n] = fl_strdup(rel)) == NULL)
        return fl_err_oom(pd->err);
    pd->n++;
    return 0;
}


/* Deletes rel, or every object under it when it ends with '/'. */
static int
delete_item(struct fl_uploader *u, const char *rel, uint64_t *deleted,
            struct fl_err *err)
{
    size_t len = strlen(rel);
    if (len == 0 || rel[len - 1] != '/') {
        int rc = fl_s3_delete(u->s3, rel, err);
        if (rc == 0)
            (*deleted)++;
        return rc;
    }
    /* Listed whole first: deleting while paging through a listing could
     * make the store skip keys. */
    struct prefix_delete pd = { .u = u, .err = err };
    int rc = fl_s3_list(u->s3, rel, collect_key, &pd, err);
    for (size_t i = 0; rc == 0 && i < pd.n; i++)
        if ((rc = fl_s3_delete(u->s3, pd.keys[i], err)) == 0)
            (*deleted)++;
    for (size_t i = 0; i < pd.n; i++)
        fl_free(pd.keys[i]);
    fl_free(pd.keys);
    return rc;
}


static int
do_change(struct fl_uploader *u, const char *name, struct fl_err *err)
{
    char *dir = fl_fs_join(u->outbox, name);
    char *cpath = dir != NULL ? fl_fs_join(dir, "change") : NULL;
    char *text = NULL;
    struct fl_change_item *items = NULL;
    unsigned char *done = NULL;
    size_t n = 0;
    uint64_t files = 0, bytes = 0, deleted = 0;
    double t0 = fl_time_mono();
    struct fl_buf link;
    int rc;

    fl_buf_init(&link, 0);
    if (cpath == NULL) {
        rc = fl_err_oom(err);
        goto out;
    }
    if ((rc = fl_fs_read_file(cpath, MAX_CHANGE_FILE, &text, NULL)) < 0) {
        fl_err_set(err, rc, "cannot read %s: %s", cpath, fl_strerror(rc));
        goto out;
    }
    if ((rc = fl_change_parse(cpath, text, &items, &n, err)) < 0)
        goto out;
    if ((done = read_done(dir, n)) == NULL) {
        rc = fl_err_oom(err);
        goto out;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct fl_change_item *it = &items[i];
        if (!it->put || (it->index < n && done[it->index]))
            continue;
        if (atomic_load(&u->stop)) {
            rc = fl_err_set(err, -ECANCELED, "stopped");
            break;
        }
        fl_buf_reset(&link);
        fl_buf_addf(&link, "%s/files/%u", dir, it->index);
        uint64_t sent = 0;
        if (link.err)
            rc = fl_err_oom(err);
        else if ((rc = fl_s3_put_file(u->s3, it->rel, link.p, &sent,
                                      err)) == 0) {
            note_done(dir, it->index);
            files++;
            bytes += sent;
        }
    }
    if (rc == 0)
        rc = write_manifest(u, name, items, n, err);
    for (size_t i = 0; i < n && rc == 0; i++)
        if (!items[i].put)
            rc = delete_item(u, items[i].rel, &deleted, err);
    /* Done: the links -- the last local copy of files the archive may
     * have dropped since -- go with the change. */
    if (rc == 0 && (rc = fl_fs_remove_tree(dir)) < 0)
        fl_err_set(err, rc, "cannot remove %s: %s", dir, fl_strerror(rc));
    pthread_mutex_lock(&u->mu);
    u->st.files_uploaded += files;
    u->st.bytes_uploaded += bytes;
    u->st.objects_deleted += deleted;
    u->st.seconds += fl_time_mono() - t0;
    if (rc == 0) {
        u->st.changes_done++;
        u->st.last_done = fl_time_now();
    }
    pthread_mutex_unlock(&u->mu);
out:
    fl_buf_free(&link);
    fl_free(done);
    fl_free(items);
    fl_free(text);
    fl_free(cpath);
    fl_free(dir);
    return rc;
}


/* The commit time of a manifest's change: the 20-digit nanosecond
 * sequence its name starts with ("<seq>-<name>.json"); 0 if none. */
static uint64_t
manifest_time(const char *rel)
{
    const char *base = rel + sizeof RUNS_PREFIX - 1;
    uint64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (base[i] < '0' || base[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(base[i] - '0');
    }
    return base[20] == '-' ? v / 1000000000u : 0;
}


/* Deletes the manifests past s3.manifest_retention. */
static int
prune_manifests(struct fl_uploader *u, struct fl_err *err)
{
    struct prefix_delete pd = { .u = u, .err = err };
    uint64_t deleted = 0;
    int64_t cutoff = fl_time_now() - (int64_t)u->manifest_retention;
    int rc = fl_s3_list(u->s3, RUNS_PREFIX, collect_key, &pd, err);
    for (size_t i = 0; i < pd.n && rc == 0; i++) {
        uint64_t t = manifest_time(pd.keys[i]);
        if (t == 0 || (int64_t)t >= cutoff)
            continue;                /* not ours, or young */
        if ((rc = fl_s3_delete(u->s3, pd.keys[i], err)) == 0)
            deleted++;
    }
    for (size_t i = 0; i < pd.n; i++)
        fl_free(pd.keys[i]);
    fl_free(pd.keys);
    pthread_mutex_lock(&u->mu);
    u->st.manifests_deleted += deleted;
    fl_s3_get_stats(u->s3, &u->st.s3);
    pthread_mutex_unlock(&u->mu);
    if (deleted > 0)
        fl_log(FL_LOG_INFO, "upload", "deleted %llu manifest%s older than "
               "s3.manifest_retention", (unsigned long long)deleted,
               deleted == 1 ? "" : "s");
    return rc;
}


int
fl_uploader_run(struct fl_uploader *u, struct fl_err *err)
{
    for (;;) {
        char **names = NULL;
        size_t n = 0;
        int rc = fl_outbox_list(u->archive_dir, &names, &n);
        if (rc < 0)
            return fl_err_set(err, rc, "cannot list %s: %s", u->outbox,
                              fl_strerror(rc));
        pthread_mutex_lock(&u->mu);
        u->st.pending = n;
        pthread_mutex_unlock(&u->mu);
        for (size_t i = 0; i < n && rc == 0; i++) {
            rc = do_change(u, names[i], err);
            pthread_mutex_lock(&u->mu);
            fl_s3_get_stats(u->s3, &u->st.s3);
            if (rc < 0) {
                u->st.failures++;
                snprintf(u->st.last_error, sizeof u->st.last_error, "%s",
                         fl_err_msg(err));
            } else {
                u->st.pending--;
                u->st.last_error[0] = '\0';
            }
            pthread_mutex_unlock(&u->mu);
        }
        fl_outbox_names_free(names);
        if (rc < 0)
            return rc;
        if (n == 0)
            break;
        /* More may have come meanwhile: look again. */
    }
    double now = fl_time_mono();
    if (u->manifest_retention == 0
        || (u->last_prune > 0 && now - u->last_prune < PRUNE_EVERY))
        return 0;
    u->last_prune = now;
    return prune_manifests(u, err);
}


static void *
uploader_main(void *arg)
{
    struct fl_uploader *u = arg;
    unsigned wait = 1, failing = 0;
    while (!atomic_load(&u->stop)) {
        struct fl_err err = FL_ERR_INIT;
        int rc = fl_uploader_run(u, &err);
        if (rc < 0 && rc != -ECANCELED) {
            if (!failing)
                fl_log(FL_LOG_ERROR, "upload", "%s (trying again, at most "
                       "every %d s; the files wait in %s)", fl_err_msg(&err),
                       MAX_RETRY_WAIT, u->outbox);
            failing++;
            wait = wait * 2 > MAX_RETRY_WAIT ? MAX_RETRY_WAIT : wait * 2;
        } else if (rc == 0) {
            if (failing)
                fl_log(FL_LOG_INFO, "upload", "uploads to %s work again "
                       "(%u failed attempts)", u->url, failing);
            failing = 0;
            wait = 1;
        }
        pthread_mutex_lock(&u->mu);
        struct timespec until = fl_time_deadline(CLOCK_REALTIME,
                                                 (uint64_t)wait * 1000);
        int w = 0;
        while (!atomic_load(&u->stop) && w != ETIMEDOUT)
            w = pthread_cond_timedwait(&u->cv, &u->mu, &until);
        pthread_mutex_unlock(&u->mu);
    }
    return NULL;
}


int
fl_uploader_create(const struct fl_s3_config *cfg, const char *archive_dir,
                   struct fl_uploader **out, struct fl_err *err)
{
    *out = NULL;
    struct fl_uploader *u = fl_calloc(1, sizeof *u);
    if (u == NULL)
        return fl_err_oom(err);
    pthread_mutex_t *const mus[] = { &u->mu };
    pthread_cond_t *const cvs[] = { &u->cv };
    int rc = fl_sync_init(mus, 1, cvs, 1);
    if (rc < 0) {
        fl_free(u);
        return fl_err_set(err, rc, "cannot create the uploader's lock: %s",
                          fl_strerror(rc));
    }
    u->archive_dir = fl_strdup(archive_dir);
    u->outbox = fl_fs_join(archive_dir, FL_OUTBOX_DIR);
    if (u->archive_dir == NULL || u->outbox == NULL) {
        rc = fl_err_oom(err);
        goto fail;
    }
    if ((rc = fl_s3_create(cfg, &u->s3, err)) < 0
        || (rc = fl_outbox_enable(archive_dir, err)) < 0)
        goto fail;
    fl_s3_set_cancel(u->s3, &u->stop);
    u->manifest_retention = cfg->manifest_retention;
    struct fl_buf b;
    fl_buf_init(&b, 0);
    fl_buf_addf(&b, "s3://%s/%s", fl_s3_bucket(u->s3), fl_s3_prefix(u->s3));
    if ((u->url = fl_buf_take(&b, NULL)) == NULL) {
        rc = fl_err_oom(err);
        goto fail;
    }
    *out = u;
    return FL_OK;
fail:
    fl_uploader_destroy(u);
    return rc;
}


int
fl_uploader_start(struct fl_uploader *u, struct fl_err *err)
{
    int rc = pthread_create(&u->thread, NULL, uploader_main, u);
    if (rc != 0)
        return fl_err_set(err, -rc, "cannot start the upload thread: %s",
                          fl_strerror(-rc));
    u->started = 1;
    return FL_OK;
}


void
fl_uploader_stop(struct fl_uploader *u)
{
    if (u == NULL || !u->started)
        return;
    pthread_mutex_lock(&u->mu);
    atomic_store(&u->stop, 1);
    pthread_cond_broadcast(&u->cv);
    pthread_mutex_unlock(&u->mu);
    pthread_join(u->thread, NULL);
    u->started = 0;
}


void
fl_uploader_get_stats(struct fl_uploader *u, struct fl_upload_stats *out)
{
    pthread_mutex_lock(&u->mu);
    *out = u->st;             /* the client's counters as of the last change */
    pthread_mutex_unlock(&u->mu);
}


const char *
fl_uploader_url(const struct fl_uploader *u)
{
    return u->url;
}


void
fl_uploader_destroy(struct fl_uploader *u)
{
    if (u == NULL)
        return;
    fl_uploader_stop(u);
    fl_s3_destroy(u->s3);
    pthread_mutex_t *const mus[] = { &u->mu };
    pthread_cond_t *const cvs[] = { &u->cv };
    fl_sync_destroy(mus, 1, cvs, 1);
    fl_free(u->archive_dir);
    fl_free(u->outbox);
    fl_free(u->url);
    fl_free(u);
}
