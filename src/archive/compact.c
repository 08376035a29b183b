/* SPDX-License-Identifier: MIT
 *
 * compact.c -- compaction and retention of the archive (see compact.h).
 *
 * One pass, under ARCHIVE/_flowlake/compact.lock (one compactor at a time):
 *
 *   1. folders under _flowlake/retired/ past their grace period are
 *      removed; a _flowlake/compact-* folder left by a pass that crashed
 *      is retired (after a crash between its exchange and its move it
 *      holds the old files, which a reader may still have listed);
 *   2. every hour folder (year=/month=/day=/hour=, real folders only) is
 *      listed with its .parquet files and their sizes;
 *   3. an hour past archive.retention is moved to _flowlake/retired/;
 *   4. an hour that ended more than min_age ago and has more files than
 *      ceil(bytes / target_size) is merged: DuckDB reads its files
 *      (union_by_name: extra columns of custom formats are kept) and
 *      writes them ORDER BY start into _flowlake/compact-RUN/, in files of
 *      about target_size; the row counts must agree; the new files are
 *      fsynced; then, with the archive's lock held (no publish or convert
 *      runs) and the caller's before_swap done, the hour is listed again
 *      -- a file published meanwhile leaves it for the next pass -- and the
 *      two folders are exchanged in one rename. The old folder goes to
 *      _flowlake/retired/.
 *
 * A crash at any point leaves each hour folder whole: before the exchange
 * it holds the old files, after it the new ones; what sits in
 * _flowlake/compact-RUN/ is never the live copy and is retired by the next
 * pass. On a file system without RENAME_EXCHANGE the swap is two renames,
 * and for that instant the hour is missing (logged once).
 */
#define _GNU_SOURCE 1   /* renameat2 */
#include "../core/fl_config.h"

#include <dirent.h>
#include <duckdb.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/fl_buf.h"
#include "../core/fl_error.h"
#include "../core/fl_fs.h"
#include "../core/fl_log.h"
#include "../core/fl_mem.h"
#include "../core/fl_sql.h"
#include "../core/fl_time.h"
#include "archive_int.h"
#include "compact.h"
#include "outbox.h"

/* One hour folder and its Parquet files (names, sorted). */
struct hour {
    char    *dir;
    int64_t  hour;               /* hours since the epoch */
    char   **files;              /* base names */
    size_t   n_files;
    uint64_t bytes;
};

struct pass {
    const struct fl_compact_opts *o;
    struct fl_compact_stats      *st;
    struct fl_err                *err;
    char                         *meta;      /* ARCHIVE/_flowlake */
    char                         *retired;   /* META/retired */
    int64_t                       now;
    char                          run[FL_ARCHIVE_RUN_ID_MAX];
    unsigned                      seq;       /* names within the run */
    int                           warned_exchange;
    duckdb_database               db;
    duckdb_connection             con;
    struct hour                  *hours;
    size_t                        n_hours, cap_hours;
};


static void
hour_free(struct hour *h)
{
    for (size_t i = 0; i < h->n_files; i++)
        fl_free(h->files[i]);
    fl_free(h->files);
    fl_free(h->dir);
    memset(h, 0, sizeof *h);
}


static int
cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}


static int
has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcmp(s + n - k, suffix) == 0;
}


/* The .parquet files of dir (regular files only), sorted, into h. */
static int
list_files(const char *dir, struct hour *h)
{
    size_t cap = 0;
    int rc = FL_OK;
    DIR *d = opendir(dir);
    if (d == NULL)
        return -errno;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (e == NULL) {
            if (errno != 0)
                rc = -errno;
            break;
        }
        if (!has_suffix(e->d_name, ".parquet"))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0
            || !S_ISREG(st.st_mode))
            continue;
        char **nf = fl_grow(h->files, &cap, h->n_files + 1, sizeof *nf, 16);
        char *name = fl_strdup(e->d_name);
        if (nf == NULL || name == NULL) {
            fl_free(name);
            if (nf != NULL)
                h->files = nf;
            rc = FL_ENOMEM;
            break;
        }
        h->files = nf;
        h->files[h->n_files++] = name;
        h->bytes += (uint64_t)st.st_size;
    }
    closedir(d);
    if (rc == 0 && h->n_files > 1)
        qsort(h->files, h->n_files, sizeof *h->files, cmp_name);
    return rc;
}


/* "key=NN" with the value's digits, exactly `digits` of them. */
static int
part_value(const char *name, const char *key, int digits, int *out)
{
    size_t kl = strlen(key);
    if (strncmp(name, key, kl) != 0 || strlen(name + kl) != (size_t)digits)
        return 0;
    int v = 0;
    for (const char *p = name + kl; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return 1;
}


/* Walks the partition folders below dir (depth 0 = year=); at depth 4,
 * adds the hour whose values are v[0..3]. */
static int
walk(struct pass *p, const char *dir, int depth, int v[4])
{
    static const char *const keys[] = { "year=", "month=", "day=", "hour=" };
    static const int digits[] = { 4, 2, 2, 2 };
    int rc = FL_OK;
    DIR *d = opendir(dir);
    if (d == NULL)
        return depth == 0 && errno == ENOENT ? FL_OK : -errno;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (e == NULL) {
            if (errno != 0)
                rc = -errno;
            break;
        }
        struct stat st;
        if (!part_value(e->d_name, keys[depth], digits[depth], &v[depth])
            || fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0
            || !S_ISDIR(st.st_mode))
            continue;
        char *sub = fl_fs_join(dir, e->d_name);
        if (sub == NULL) {
            rc = FL_ENOMEM;
            break;
        }
        if (depth < 3) {
            rc = walk(p, sub, depth + 1, v);
            fl_free(sub);
        } else if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31
                   || v[3] > 23) {
            fl_free(sub);              /* not a date: not ours */
        } else {
            struct hour *nh = fl_grow(p->hours, &p->cap_hours,
                                      p->n_hours + 1, sizeof *nh, 64);
            if (nh == NULL) {
                fl_free(sub);
                rc = FL_ENOMEM;
                break;
            }
            p->hours = nh;
            struct hour *h = &p->hours[p->n_hours++];
            memset(h, 0, sizeof *h);
            h->dir = sub;
            h->hour = fl_time_days_from_civil(v[0], v[1], v[2]) * 24 + v[3];
            rc = list_files(sub, h);
        }
        if (rc < 0)
            break;
    }
    closedir(d);
    return rc;
}


/* A new name under META/retired/ for a folder retired now: "NOW-RUN-N"
 * (the removal reads NOW back). */
static char *
retired_name(struct pass *p)
{
    char name[128];
    snprintf(name, sizeof name, "%" PRId64 "-%s-%u", p->now, p->run,
             p->seq++);
    return fl_fs_join(p->retired, name);
}


/* Moves path to META/retired/ (fsyncing both parents). */
static int
retire(struct pass *p, const char *path)
{
    char *to = retired_name(p);
    if (to == NULL)
        return fl_err_oom(p->err);
    int rc = fl_fs_mkdirs(p->retired);
    if (rc == 0 && rename(path, to) < 0)
        rc = -errno;
    if (rc == 0)
        rc = fl_fs_fsync_path(p->retired);
    if (rc < 0)
        fl_err_set(p->err, rc, "cannot move %s to %s: %s", path, to,
                   fl_strerror(rc));
    fl_free(to);
    return rc;
}


/* Step 1: retired folders past their grace period go; staging folders of
 * a crashed pass are retired. */
static int
sweep(struct pass *p)
{
    DIR *d = opendir(p->retired);
    int rc = FL_OK;
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            char *end;
            long long t = strtoll(e->d_name, &end, 10);
            if (e->d_name[0] == '.' || *end != '-'
                || t + (long long)p->o->grace > p->now)
                continue;
            char *path = fl_fs_join(p->retired, e->d_name);
            if (path == NULL) {
                rc = FL_ENOMEM;
                break;
            }
            if (!p->o->dry_run && (rc = fl_fs_remove_tree(path)) < 0) {
                fl_err_set(p->err, rc, "cannot remove %s: %s", path,
                           fl_strerror(rc));
                fl_free(path);
                break;
            }
            p->st->retired_removed++;
            fl_free(path);
        }
        closedir(d);
    }
    if (rc < 0 || (d = opendir(p->meta)) == NULL)
        return rc == FL_ENOMEM ? fl_err_oom(p->err) : rc;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "compact-", 8) != 0 || p->o->dry_run)
            continue;
        char *path = fl_fs_join(p->meta, e->d_name);
        rc = path == NULL ? fl_err_oom(p->err) : retire(p, path);
        fl_free(path);
    }
    closedir(d);
    /* Outbox changes a crashed pass prepared and never committed. */
    if (rc == 0 && !p->o->dry_run)
        fl_outbox_discard_prepared(p->o->archive_dir, "compact-", NULL, NULL);
    return rc;
}


static int
sql_exec(struct pass *p, const char *sql, uint64_t *count)
{
    duckdb_result res;
    if (duckdb_query(p->con, sql, &res) == DuckDBError) {
        fl_err_set(p->err, FL_EDB, "%s", duckdb_result_error(&res));
        duckdb_destroy_result(&res);
        return FL_EDB;
    }
    if (count != NULL)
        *count = (uint64_t)duckdb_value_int64(&res, 0, 0);
    duckdb_destroy_result(&res);
    return FL_OK;
}


static int
open_duckdb(struct pass *p)
{
    duckdb_config cfg;
    char *open_err = NULL;
    if (p->con != NULL)
        return FL_OK;
    if (duckdb_create_config(&cfg) == DuckDBError)
        return fl_err_oom(p->err);
    /* Order matters here (the files are written sorted by start); the
     * sort spills next to the archive rather than in /tmp. */
    duckdb_set_config(cfg, "preserve_insertion_order", "true");
    duckdb_set_config(cfg, "temp_directory", p->meta);
    int ok = duckdb_open_ext(NULL, &p->db, cfg, &open_err) == DuckDBSuccess;
    duckdb_destroy_config(&cfg);
    if (!ok) {
        fl_err_set(p->err, FL_EDB, "cannot start DuckDB: %s",
                   open_err ? open_err : "?");
        duckdb_free(open_err);
        return FL_EDB;
    }
    if (duckdb_connect(p->db, &p->con) == DuckDBError) {
        p->con = NULL;
        return fl_err_set(p->err, FL_EDB, "cannot connect to DuckDB");
    }
    return FL_OK;
}


/* [ 'DIR/a.parquet', ... ] for the files of h. */
static int
add_file_list(struct fl_buf *b, const struct hour *h)
{
    fl_buf_addc(b, '[');
    for (size_t i = 0; i < h->n_files; i++) {
        char *path = fl_fs_join(h->dir, h->files[i]);
        if (path == NULL)
            fl_buf_fail(b, FL_ENOMEM);
        else
            fl_sql_add_literal(b, path);
        fl_free(path);
        if (i + 1 < h->n_files)
            fl_buf_addc(b, ',');
    }
    return fl_buf_addc(b, ']');
}


/* Merges h's files into staging (a new folder): returns 0 with *records,
 * or <0 with p->err set. */
static int
merge(struct pass *p, const struct hour *h, const char *staging,
      uint64_t *records)
{
    struct fl_buf sql = { 0 }, files = { 0 };
    uint64_t before = 0, written = 0;
    int rc;

    if ((rc = open_duckdb(p)) < 0)
        return rc;
    if (add_file_list(&files, h) < 0)
        return fl_err_oom(p->err);
    fl_buf_addf(&sql, "SELECT count(*) FROM read_parquet(%s, "
                "union_by_name = true, hive_partitioning = false)", files.p);
    rc = sql.err ? fl_err_oom(p->err) : sql_exec(p, sql.p, &before);
    fl_buf_reset(&sql);
    if (rc == 0) {
        /* zstd level 1, as the publisher writes them. */
        fl_buf_addf(&sql, "COPY (SELECT * FROM read_parquet(%s, "
                    "union_by_name = true, hive_partitioning = false) "
                    "ORDER BY start) TO ", files.p);
        fl_sql_add_literal(&sql, staging);
        fl_buf_addf(&sql, " (FORMAT parquet, COMPRESSION zstd, "
                    "COMPRESSION_LEVEL 1, FILE_SIZE_BYTES %" PRIu64 ", "
                    "FILENAME_PATTERN 'part-c%s-%u-{i}')",
                    p->o->target_size, p->run, p->seq++);
        rc = sql.err ? fl_err_oom(p->err) : sql_exec(p, sql.p, &written);
    }
    if (rc == 0 && written != before)
        rc = fl_err_set(p->err, FL_ECORRUPT, "%s: merged %" PRIu64
                        " records of %" PRIu64 "; the hour is left as it "
                        "was", h->dir, written, before);
    fl_buf_free(&sql);
    fl_buf_free(&files);
    *records = written;
    return rc;
}


/* Whether dir holds exactly h's files now. */
static int
unchanged(const struct hour *h)
{
    struct hour now = { 0 };
    int same = list_files(h->dir, &now) == 0 && now.n_files == h->n_files;
    for (size_t i = 0; same && i < h->n_files; i++)
        same = strcmp(now.files[i], h->files[i]) == 0;
    hour_free(&now);
    return same;
}


/* The hour's folder and staging swap places: renameat2(RENAME_EXCHANGE),
 * else two renames (the hour is missing between them). */
static int
exchange(struct pass *p, const char *staging, const char *dir)
{
    if (renameat2(AT_FDCWD, staging, AT_FDCWD, dir, RENAME_EXCHANGE) == 0)
        return FL_OK;
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return -errno;
    if (!p->warned_exchange) {
        fl_log(FL_LOG_WARN, "compact", "this file system cannot exchange "
               "two folders in one step: each compacted hour is missing "
               "for the instant between two renames");
        p->warned_exchange = 1;
    }
    char *aside = fl_fs_join(p->meta, "compact-aside");
    if (aside == NULL)
        return FL_ENOMEM;
    int rc = FL_OK;
    if (rename(dir, aside) < 0 || rename(staging, dir) < 0
        || rename(aside, staging) < 0)
        rc = -errno;
    fl_free(aside);
    return rc;
}


/* Runs fn under the archive's lock and the caller's hooks. */
static int
locked(struct pass *p, int (*fn)(struct pass *p, void *arg), void *arg)
{
    int fd = -1;
    int rc = fl_archive_lock(p->o->archive_dir, 1, &fd);
    if (rc < 0)
        return fl_err_set(p->err, rc, "cannot lock the archive %s: %s",
                          p->o->archive_dir, fl_strerror(rc));
    if (p->o->before_swap != NULL)
        p->o->before_swap(p->o->ctx);
    rc = fn(p, arg);
    if (p->o->after_swap != NULL)
        p->o->after_swap(p->o->ctx);
    close(fd);
    return rc;
}


struct swap_arg {
    const struct hour *h;
    const char        *staging;
    const char        *name;            /* its outbox change, if any */
    int                swapped;
};


/* The hour's folder relative to the archive ("year=.../hour=05"). */
static const char *
hour_rel(const struct pass *p, const struct hour *h)
{
    return h->dir + strlen(p->o->archive_dir) + 1;
}


/* Commits change name after its swap; a failure leaves the object store
 * with the hour as it was (nothing lost or doubled there), logged. */
static void
commit_change(struct pass *p, const char *name)
{
    struct fl_err e = FL_ERR_INIT;
    if (fl_outbox_commit(p->o->archive_dir, name, &e) < 0) {
        fl_log(FL_LOG_WARN, "compact", "the object store keeps its copy as "
               "it was: %s", fl_err_msg(&e));
        fl_outbox_discard(p->o->archive_dir, name);
    }
}


/* Prepares the outbox change of a compacted hour: the merged files in
 * staging go up, the hour's old files go away. */
static int
prepare_compacted(struct pass *p, const struct hour *h, const char *staging,
                  const char *name)
{
    struct hour merged = { 0 };
    struct fl_buf puts, dels, prefix;
    fl_buf_init(&puts, 0);
    fl_buf_init(&dels, 0);
    fl_buf_init(&prefix, 0);
    int rc = list_files(staging, &merged);
    for (size_t i = 0; rc == 0 && i < merged.n_files; i++)
        fl_buf_addf(&puts, "%s\n", merged.files[i]);
    for (size_t i = 0; rc == 0 && i < h->n_files; i++)
        fl_buf_addf(&dels, "%s/%s\n", hour_rel(p, h), h->files[i]);
    fl_buf_addf(&prefix, "%s/", hour_rel(p, h));
    if (rc == 0 && (puts.err || dels.err || prefix.err))
        rc = fl_err_oom(p->err);
    else if (rc < 0)
        fl_err_set(p->err, rc, "cannot list %s: %s", staging,
                   fl_strerror(rc));
    else
        rc = fl_outbox_prepare(p->o->archive_dir, name, staging, puts.p,
                               prefix.p, dels.p, p->err);
    hour_free(&merged);
    fl_buf_free(&puts);
    fl_buf_free(&dels);
    fl_buf_free(&prefix);
    return rc;
}


static int
swap_locked(struct pass *p, void *arg)
{
    struct swap_arg *a = arg;
    if (!unchanged(a->h))
        return FL_OK;                   /* a publish added a file */
    int rc = exchange(p, a->staging, a->h->dir);
    if (rc < 0)
        return fl_err_set(p->err, rc, "cannot swap %s: %s", a->h->dir,
                          fl_strerror(rc));
    a->swapped = 1;
    commit_change(p, a->name);
    char *parent = fl_strdup(a->h->dir);
    if (parent == NULL)
        return fl_err_oom(p->err);
    *strrchr(parent, '/') = '\0';
    rc = fl_fs_fsync_path(parent);
    fl_free(parent);
    return rc;
}


static int
fsync_file(void *ctx, const char *path)
{
    (void)ctx;
    return fl_fs_fsync_path(path);
}


static int
compact_hour(struct pass *p, const struct hour *h)
{
    char name[128];
    uint64_t records = 0;
    snprintf(name, sizeof name, "compact-%s-%u", p->run, p->seq++);
    char *staging = fl_fs_join(p->meta, name);
    if (staging == NULL)
        return fl_err_oom(p->err);
    int rc = merge(p, h, staging, &records);
    if (rc == 0 && ((rc = fl_fs_walk(staging, fsync_file, NULL)) < 0
                    || (rc = fl_fs_fsync_path(staging)) < 0))
        fl_err_set(p->err, rc, "cannot sync %s: %s", staging,
                   fl_strerror(rc));
    struct swap_arg a = { .h = h, .staging = staging, .name = name };
    if (rc == 0)
        rc = prepare_compacted(p, h, staging, name);
    if (rc == 0)
        rc = locked(p, swap_locked, &a);
    if (!a.swapped)
        fl_outbox_discard(p->o->archive_dir, name);
    if (rc == 0 && a.swapped) {
        struct hour merged = { 0 };
        rc = list_files(h->dir, &merged);
        p->st->hours_compacted++;
        p->st->files_before += h->n_files;
        p->st->bytes_before += h->bytes;
        p->st->files_after += merged.n_files;
        p->st->bytes_after += merged.bytes;
        p->st->records += records;
        hour_free(&merged);
        if (rc == 0)
            rc = retire(p, staging);
    } else if (rc == 0) {
        p->st->hours_skipped++;
        rc = fl_fs_remove_tree(staging);
    } else {
        (void)fl_fs_remove_tree(staging);    /* never the live copy */
    }
    fl_free(staging);
    return rc;
}


static int
expire_locked(struct pass *p, void *arg)
{
    const struct hour *h = arg;
    /* The object store drops every object under the hour's folder (what
     * it holds there, whether or not this archive still lists it). */
    char name[128], del[256];
    snprintf(name, sizeof name, "compact-%s-%u-expire", p->run, p->seq++);
    snprintf(del, sizeof del, "%s/\n", hour_rel(p, h));
    int rc = fl_outbox_prepare(p->o->archive_dir, name, p->o->archive_dir,
                               NULL, "", del, p->err);
    if (rc == 0 && (rc = retire(p, h->dir)) < 0)
        fl_outbox_discard(p->o->archive_dir, name);
    if (rc < 0)
        return rc;
    commit_change(p, name);
    /* The day, month and year folders it leaves empty go too. */
    char *dir = fl_strdup(h->dir);
    if (dir == NULL)
        return fl_err_oom(p->err);
    for (int up = 0; up < 3; up++) {
        char *slash = strrchr(dir, '/');
        if (slash == NULL)
            break;
        *slash = '\0';
        if (rmdir(dir) < 0)
            break;                       /* not empty: done */
    }
    fl_free(dir);
    return FL_OK;
}


static int
run_pass(struct pass *p)
{
    const struct fl_compact_opts *o = p->o;
    int v[4] = { 0 };
    int rc = sweep(p);
    if (rc < 0)
        return rc;
    if ((rc = walk(p, o->archive_dir, 0, v)) < 0)
        return fl_err_set(p->err, rc, "cannot list %s: %s", o->archive_dir,
                          fl_strerror(rc));
    for (size_t i = 0; i < p->n_hours && rc == 0; i++) {
        const struct hour *h = &p->hours[i];
        if (o->cancelled != NULL && o->cancelled(o->ctx))
            break;
        int64_t end = (h->hour + 1) * 3600;
        if (o->retention > 0 && end <= p->now - (int64_t)o->retention) {
            p->st->hours_expired++;
            p->st->files_expired += h->n_files;
            p->st->bytes_expired += h->bytes;
            if (!o->dry_run)
                rc = locked(p, expire_locked, (void *)h);
            continue;
        }
        uint64_t need = (h->bytes + o->target_size - 1) / o->target_size;
        if (end > p->now - (int64_t)o->min_age || h->n_files <= 1
            || h->n_files <= need)
            continue;
        if (o->dry_run) {
            p->st->hours_compacted++;
            p->st->files_before += h->n_files;
            p->st->bytes_before += h->bytes;
            continue;
        }
        rc = compact_hour(p, h);
    }
    return rc;
}


int
fl_compact(const struct fl_compact_opts *o, struct fl_compact_stats *st,
           struct fl_err *err)
{
    struct pass p = { .o = o, .st = st, .err = err };
    double t0 = fl_time_mono();
    int lock_fd = -1, rc;

    memset(st, 0, sizeof *st);
    if (o->target_size == 0)
        return fl_err_set(err, FL_ECONFIG, "the target file size is 0");
    p.now = o->now ? o->now : fl_time_now();
    fl_archive_run_id(p.run, sizeof p.run);
    p.meta = fl_fs_join(o->archive_dir, "_flowlake");
    p.retired = fl_fs_join(o->archive_dir, "_flowlake/retired");
    char *lock = fl_fs_join(o->archive_dir, "_flowlake/compact.lock");
    if (p.meta == NULL || p.retired == NULL || lock == NULL) {
        rc = fl_err_oom(err);
        goto out;
    }
    if ((rc = fl_fs_mkdirs(p.meta)) < 0) {
        fl_err_set(err, rc, "cannot create %s: %s", p.meta, fl_strerror(rc));
        goto out;
    }
    lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) < 0) {
        rc = -errno;
        fl_err_set(err, rc, rc == -EWOULDBLOCK
                   ? "another compaction of %s is running"
                   : "cannot lock %s", o->archive_dir);
        goto out;
    }
    rc = run_pass(&p);
out:
    for (size_t i = 0; i < p.n_hours; i++)
        hour_free(&p.hours[i]);
    fl_free(p.hours);
    if (p.con != NULL)
        duckdb_disconnect(&p.con);
    if (p.db != NULL)
        duckdb_close(&p.db);
    if (lock_fd >= 0)
        close(lock_fd);
    fl_free(lock);
    fl_free(p.meta);
    fl_free(p.retired);
    st->seconds = fl_time_mono() - t0;
    return rc;
}
