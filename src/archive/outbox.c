/* SPDX-License-Identifier: MIT
 *
 * outbox.c -- the archive's changes waiting for the object store
 * (outbox.h): prepared next to a publish, a compaction or a retention,
 * committed with it, listed in order for the uploader.
 */
#include "../core/fl_config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/fl_buf.h"
#include "../core/fl_fs.h"
#include "../core/fl_log.h"
#include "../core/fl_mem.h"
#include "archive_int.h"
#include "convert.h"
#include "outbox.h"

#define SEQ_DIGITS 20


static char *
outbox_path(const char *archive_dir, const char *sub)
{
    struct fl_buf b;
    fl_buf_init(&b, 0);
    fl_buf_addf(&b, "%s/" FL_OUTBOX_DIR "%s%s", archive_dir,
                sub != NULL ? "/" : "", sub != NULL ? sub : "");
    return fl_buf_take(&b, NULL);
}


int
fl_outbox_enabled(const char *archive_dir)
{
    char *dir = outbox_path(archive_dir, NULL);
    struct stat st;
    int on = dir != NULL && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
    fl_free(dir);
    return on;
}


/* The next item of a '\n'-separated list: NULL at its end, at "END" (the
 * publish journal's last line) or at an empty line. */
static char *
next_item(char **cursor)
{
    char *s = fl_archive_next_line(cursor);
    return s == NULL || s[0] == '\0' || strcmp(s, "END") == 0 ? NULL : s;
}


/* Writes the change file and the links of change `name` into dir. */
static int
fill_change(const char *dir, const char *src_dir, char *puts,
            const char *dest_prefix, char *deletes, struct fl_err *err)
{
    struct fl_buf text, path;
    char *files = fl_fs_join(dir, "files");
    int rc = FL_OK;
    unsigned i = 0;

    fl_buf_init(&text, 0);
    fl_buf_init(&path, 0);
    if (files == NULL)
        return fl_err_oom(err);
    if ((rc = fl_fs_mkdirs(files)) < 0) {
        fl_err_set(err, rc, "cannot create %s: %s", files, fl_strerror(rc));
        goto out;
    }
    for (char *cur = puts, *rel; rc == 0 && (rel = next_item(&cur)) != NULL;
         i++) {
        struct stat st;
        const char *prefix = dest_prefix;
        char *tab = strchr(rel, '\t');
        char *dest = rel;
        if (tab != NULL) {               /* "PATH TAB DEST" */
            *tab = '\0';
            dest = tab + 1;
            prefix = "";
        }
        fl_buf_reset(&path);
        fl_buf_addf(&path, "%s/%s", src_dir, rel);
        char link_name[16];
        snprintf(link_name, sizeof link_name, "%u", i);
        char *target = fl_fs_join(files, link_name);
        if (path.err || target == NULL) {
            fl_free(target);
            rc = fl_err_oom(err);
            break;
        }
        if (stat(path.p, &st) < 0 || link(path.p, target) < 0) {
            rc = -errno;
            fl_err_set(err, rc, "cannot link %s into the outbox: %s",
                       path.p, fl_strerror(rc));
        }
        fl_free(target);
        if (rc == 0)
            fl_buf_addf(&text, "put\t%u\t%" PRIu64 "\t%s%s\n", i,
                        (uint64_t)st.st_size, prefix, dest);
    }
    for (char *cur = deletes, *rel; rc == 0
         && (rel = next_item(&cur)) != NULL; )
        fl_buf_addf(&text, "delete\t%s\n", rel);
    fl_buf_adds(&text, "end\n");
    if (rc == 0 && text.err)
        rc = fl_err_oom(err);
    if (rc == 0) {
        char *cf = fl_fs_join(dir, "change");
        if (cf == NULL)
            rc = fl_err_oom(err);
        else if ((rc = fl_fs_write_atomic(cf, text.p, text.len)) < 0
                 || (rc = fl_fs_fsync_path(files)) < 0
                 || (rc = fl_fs_fsync_path(dir)) < 0)
            fl_err_set(err, rc, "cannot write %s: %s", cf, fl_strerror(rc));
        fl_free(cf);
    }
out:
    fl_free(files);
    fl_buf_free(&text);
    fl_buf_free(&path);
    return rc;
}


/* Prepares change name in the outbox folder obox. */
static int
prepare_in(const char *obox, const char *name, const char *src_dir,
           const char *puts, const char *dest_prefix, const char *deletes,
           struct fl_err *err)
{
    char sub[160];
    snprintf(sub, sizeof sub, ".new-%s", name);
    char *dir = fl_fs_join(obox, sub);
    char *p = fl_strdup(puts != NULL ? puts : "");
    char *d = fl_strdup(deletes != NULL ? deletes : "");
    int rc;
    if (dir == NULL || p == NULL || d == NULL) {
        rc = fl_err_oom(err);
    } else {
        (void)fl_fs_remove_tree(dir);         /* a try that crashed */
        rc = fill_change(dir, src_dir, p, dest_prefix, d, err);
        if (rc < 0)
            (void)fl_fs_remove_tree(dir);
    }
    fl_free(dir);
    fl_free(p);
    fl_free(d);
    return rc;
}


int
fl_outbox_prepare(const char *archive_dir, const char *name,
                  const char *src_dir, const char *puts,
                  const char *dest_prefix, const char *deletes,
                  struct fl_err *err)
{
    if (!fl_outbox_enabled(archive_dir))
        return FL_OK;
    char *obox = outbox_path(archive_dir, NULL);
    if (obox == NULL)
        return fl_err_oom(err);
    int rc = prepare_in(obox, name, src_dir, puts, dest_prefix, deletes,
                        err);
    fl_free(obox);
    return rc;
}


/* The sequence number of a committed change's folder name, 0 if none. */
static uint64_t
seq_of(const char *name)
{
    if (strlen(name) <= SEQ_DIGITS || name[SEQ_DIGITS] != '-')
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < SEQ_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    return v;
}


static int
by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}


static int
list_in(const char *dir, char ***out, size_t *n_out)
{
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = FL_OK;
    *out = NULL;
    *n_out = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? FL_OK : -errno;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (seq_of(e->d_name) == 0)
            continue;
        char **g = fl_grow(names, &cap, n + 2, sizeof *names, 16);
        if (g == NULL || (g[n] = fl_strdup(e->d_name)) == NULL) {
            names = g != NULL ? g : names;
            rc = FL_ENOMEM;
            break;
        }
        names = g;
        names[++n] = NULL;
    }
    closedir(d);
    if (rc < 0) {
        if (names != NULL)
            names[n] = NULL;
        fl_outbox_names_free(names);
        return rc;
    }
    if (n > 0)
        qsort(names, n, sizeof *names, by_name);  /* fixed width: in order */
    *out = names;
    *n_out = n;
    return FL_OK;
}


int
fl_outbox_list(const char *archive_dir, char ***out, size_t *n_out)
{
    char *dir = outbox_path(archive_dir, NULL);
    if (dir == NULL)
        return FL_ENOMEM;
    int rc = list_in(dir, out, n_out);
    fl_free(dir);
    return rc;
}


void
fl_outbox_names_free(char **names)
{
    if (names == NULL)
        return;
    for (char **p = names; *p != NULL; p++)
        fl_free(*p);
    fl_free(names);
}


static int
commit_in(const char *dir, const char *name, struct fl_err *err)
{
    char sub[160];
    snprintf(sub, sizeof sub, ".new-%s", name);
    char *from = fl_fs_join(dir, sub);
    char **names = NULL;
    size_t n = 0;
    int rc;
    struct stat st;

    if (from == NULL) {
        rc = fl_err_oom(err);
        goto out;
    }
    if (stat(from, &st) < 0) {
        rc = FL_OK;                      /* nothing prepared */
        goto out;
    }
    /* After every pending change, and at least the clock: a change
     * committed later sorts later, whoever commits it. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t seq = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    if ((rc = list_in(dir, &names, &n)) < 0) {
        fl_err_set(err, rc, "cannot list %s: %s", dir, fl_strerror(rc));
        goto out;
    }
    if (n > 0 && seq_of(names[n - 1]) >= seq)
        seq = seq_of(names[n - 1]) + 1;
    snprintf(sub, sizeof sub, "%0*" PRIu64 "-%s", SEQ_DIGITS, seq, name);
    char *to = fl_fs_join(dir, sub);
    if (to == NULL) {
        rc = fl_err_oom(err);
        goto out;
    }
    if (rename(from, to) < 0 || fl_fs_fsync_path(dir) < 0) {
        rc = -errno;
        fl_err_set(err, rc, "cannot commit %s: %s", to, fl_strerror(rc));
    }
    fl_free(to);
out:
    fl_outbox_names_free(names);
    fl_free(from);
    return rc;
}


int
fl_outbox_commit(const char *archive_dir, const char *name,
                 struct fl_err *err)
{
    char *dir = outbox_path(archive_dir, NULL);
    if (dir == NULL)
        return fl_err_oom(err);
    int rc = commit_in(dir, name, err);
    fl_free(dir);
    return rc;
}


void
fl_outbox_discard(const char *archive_dir, const char *name)
{
    char sub[160];
    snprintf(sub, sizeof sub, ".new-%s", name);
    char *dir = outbox_path(archive_dir, sub);
    if (dir != NULL)
        (void)fl_fs_remove_tree(dir);
    fl_free(dir);
}


void
fl_outbox_discard_prepared(const char *archive_dir, const char *prefix,
                           int (*keep)(void *ctx, const char *name),
                           void *ctx)
{
    char *dir = outbox_path(archive_dir, NULL);
    DIR *d = dir != NULL ? opendir(dir) : NULL;
    struct dirent *e;
    char **gone = NULL;
    size_t n = 0, cap = 0;
    size_t plen = strlen(prefix);
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, ".new-", 5) != 0
            || strncmp(e->d_name + 5, prefix, plen) != 0
            || (keep != NULL && keep(ctx, e->d_name + 5)))
            continue;
        char **g = fl_grow(gone, &cap, n + 1, sizeof *gone, 8);
        if (g == NULL)
            break;
        gone = g;
        if ((gone[n] = fl_strdup(e->d_name + 5)) != NULL)
            n++;
    }
    if (d != NULL)
        closedir(d);
    for (size_t i = 0; i < n; i++) {
        fl_log(FL_LOG_INFO, "outbox", "dropping the change %s prepared by "
               "a run that did not finish", gone[i]);
        fl_outbox_discard(archive_dir, gone[i]);
        fl_free(gone[i]);
    }
    fl_free(gone);
    fl_free(dir);
}


/* ---- enable: the archive as it is becomes the first change ---------- */

struct initial {
    size_t        root_len;
    struct fl_buf list;
};


static int
collect_parquet(void *ctx, const char *path)
{
    struct initial *in = ctx;
    const char *rel = path + in->root_len + 1;
    size_t len = strlen(rel);
    /* _flowlake/, _errors/: the archive's own, not its data. */
    if (rel[0] == '_' || len < 8 || strcmp(rel + len - 8, ".parquet") != 0)
        return FL_OK;
    fl_buf_adds(&in->list, rel);
    return fl_buf_addc(&in->list, '\n');
}


int
fl_outbox_enable(const char *archive_dir, struct fl_err *err)
{
    if (fl_outbox_enabled(archive_dir))
        return FL_OK;
    char *dir = outbox_path(archive_dir, NULL);
    char *meta = fl_fs_join(archive_dir, "_flowlake");
    char *tmp = fl_fs_join(archive_dir, "_flowlake/outbox.new");
    struct initial in = { .root_len = strlen(archive_dir) };
    int fd = -1, rc;

    fl_buf_init(&in.list, 0);
    if (dir == NULL || meta == NULL || tmp == NULL) {
        rc = fl_err_oom(err);
        goto out;
    }
    if ((rc = fl_fs_mkdirs(meta)) < 0
        || (rc = fl_archive_lock(archive_dir, 1, &fd)) < 0) {
        fl_err_set(err, rc, "cannot set up %s: %s", dir, fl_strerror(rc));
        goto out;
    }
    if (fl_outbox_enabled(archive_dir))
        goto out;                        /* another process was first */
    /* Listed under the lock: no publish adds a file meanwhile; every
     * later one finds the outbox and records itself. The outbox appears
     * with its first change in it (one rename), so a crash never leaves
     * an outbox that misses the files from before it. */
    rc = fl_fs_walk(archive_dir, collect_parquet, &in);
    if (rc < 0 || in.list.err) {
        rc = rc < 0 ? rc : FL_ENOMEM;
        fl_err_set(err, rc, "cannot list %s: %s", archive_dir,
                   fl_strerror(rc));
        goto out;
    }
    (void)fl_fs_remove_tree(tmp);
    if ((rc = fl_fs_mkdirs(tmp)) < 0) {
        fl_err_set(err, rc, "cannot create %s: %s", tmp, fl_strerror(rc));
        goto out;
    }
    if (in.list.len > 0
        && ((rc = prepare_in(tmp, "initial", archive_dir, in.list.p, "",
                             NULL, err)) < 0
            || (rc = commit_in(tmp, "initial", err)) < 0))
        goto out;
    if ((rc = fl_fs_rename_durable(tmp, dir)) < 0)
        fl_err_set(err, rc, "cannot create %s: %s", dir, fl_strerror(rc));
out:
    if (rc < 0 && tmp != NULL)
        (void)fl_fs_remove_tree(tmp);
    if (fd >= 0)
        close(fd);
    fl_buf_free(&in.list);
    fl_free(dir);
    fl_free(meta);
    fl_free(tmp);
    return rc < 0 ? rc : FL_OK;
}
