/* SPDX-License-Identifier: MIT
 *
 * publish.c -- moves a run's Parquet files from its staging folder into
 * the archive so that readers never see half a file and a crash at any
 * moment leaves the archive with either all of a run or none of it.
 *
 * Protocol, for run R with staging folder META/staging-R/:
 *   1. write META/journal-R.manifest (the manifest lines of R's inputs) and
 *      META/journal-R.files (the relative path of every staged file, then a
 *      line "END"); fsync both and META. The complete .files journal is the
 *      commit point.
 *   2. fsync each staged file, rename it to ARCHIVE/<relative path>, fsync
 *      each destination folder.
 *   3. append the manifest lines to META/inputs.tsv (fsync), then delete the
 *      journal and the staging folder.
 * Recovery (fl_publish_recover, run before every convert) rolls a committed
 * journal forward -- files already renamed are skipped, manifest lines
 * already present are not added twice -- and deletes staging folders that
 * never reached the commit point.
 */
#include "../core/fl_config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../core/fl_buf.h"
#include "../core/fl_error.h"
#include "../core/fl_log.h"
#include "../core/fl_fs.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "archive_int.h"
#include "outbox.h"

struct collect {
    const char *root;
    size_t      root_len;
    struct fl_buf list;        /* relative paths, '\n' separated */
    uint64_t    files, bytes;
};


static int
collect_file(void *ctx, const char *path)
{
    struct collect *c = ctx;
    struct stat st;

    if (stat(path, &st) == 0)
        c->bytes += (uint64_t)st.st_size;
    c->files++;
    fl_buf_adds(&c->list, path + c->root_len + 1);
    return fl_buf_addc(&c->list, '\n');
}


char *
fl_archive_next_line(char **cursor)
{
    char *p = *cursor;
    if (p == NULL || *p == '\0')
        return NULL;
    char *nl = strchr(p, '\n');
    if (nl != NULL) {
        *nl = '\0';
        *cursor = nl + 1;
    } else {
        *cursor = p + strlen(p);
    }
    return p;
}


static char *
journal_path(const char *meta_dir, const char *run_id, const char *ext)
{
    char name[256];
    snprintf(name, sizeof name, "journal-%s.%s", run_id, ext);
    return fl_fs_join(meta_dir, name);
}


static int
write_file_synced(const char *path, const char *text, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int rc = fl_fs_write_all(fd, text, len);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    return rc;
}


/* The archive's relative path of a staged file: "fl_hour=N/<file>"
 * becomes "year=YYYY/month=MM/day=DD/hour=HH/<file>" for hour N since the
 * epoch (UTC). Other paths are kept as they are. fl_free() the result. */
static char *
archive_rel(const char *rel)
{
    static const char prefix[] = FL_SCAN_HOUR_COLUMN "=";
    size_t plen = sizeof prefix - 1;
    if (strncmp(rel, prefix, plen) == 0) {
        const char *p = rel + plen;
        int64_t hour = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 15) {
            hour = hour * 10 + (*p++ - '0');
            digits++;
        }
        if (digits > 0 && *p == '/') {
            struct fl_civil c;
            char hive[64];
            fl_time_to_civil(hour * 3600, &c);
            snprintf(hive, sizeof hive, "year=%04d/month=%02d/day=%02d/hour=%02d",
                     c.year, c.month, c.day, c.hour);
            return fl_fs_join(hive, p + 1);
        }
    }
    return fl_strdup(rel);
}


/* The archive path of a staged file (archive_rel under archive_dir). */
static char *
archive_path(const char *archive_dir, const char *rel)
{
    char *r = archive_rel(rel);
    char *full = r != NULL ? fl_fs_join(archive_dir, r) : NULL;
    fl_free(r);
    return full;
}


/* The outbox's put list of a run: "STAGED TAB ARCHIVE" a line. */
static int
outbox_puts(const char *list, struct fl_buf *out)
{
    char *copy = fl_strdup(list), *cursor = copy;
    if (copy == NULL)
        return FL_ENOMEM;
    for (char *rel = fl_archive_next_line(&cursor);
         rel != NULL && strcmp(rel, "END") != 0 && out->err == 0;
         rel = fl_archive_next_line(&cursor)) {
        char *dest = archive_rel(rel);
        if (dest == NULL) {
            fl_buf_fail(out, FL_ENOMEM);
            break;
        }
        fl_buf_addf(out, "%s\t%s\n", rel, dest);
        fl_free(dest);
    }
    fl_free(copy);
    return out->err;
}


/* Above this many files a publish flushes the whole file system twice
 * (syncfs: before the renames, for the files' data; after, for the
 * folders) instead of two fsyncs per file: a one-year backfill publishes
 * 8,760 files, and 17,520 fsyncs took more of its time than writing them.
 * Small publishes (the server's, every few seconds) keep the per-file
 * fsyncs, which do not wait for other processes' dirty data. */
#define SYNCFS_MIN_FILES 64

/* syncfs(2) on the file system holding dir (through syscall(): glibc
 * declares syncfs only for _GNU_SOURCE). Since Linux 5.8 it reports
 * write-back errors as fsync does. */
static int
sync_filesystem(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = syscall(SYS_syncfs, fd) < 0 ? -errno : FL_OK;
    close(fd);
    return rc;
}


/* Moves the staged folder holding `from` (fl_hour=N/) to the folder of
 * `to` (.../hour=HH/) when the archive has no such hour yet: one rename
 * for the hour instead of creating the folder, renaming each file into
 * it and removing the staged folder (creating folders is the dearest
 * file-system operation of a publish of thousands of hours). The later
 * files of that folder are then no longer in staging, which is what the
 * loop (and recovery) take for "moved". Returns 0 when moved, else <0
 * and nothing changed. Only for bulk publishes: the folders are made
 * durable by the syncfs that follows. */
static int
move_folder(char *from, char *to)
{
    char *fs = strrchr(from, '/'), *ts = strrchr(to, '/');
    int rc;
    *fs = '\0';
    *ts = '\0';
    char *parent = strrchr(to, '/');
    *parent = '\0';
    rc = mkdir(to, 0755) < 0 && errno != EEXIST ? fl_fs_mkdirs(to) : FL_OK;
    *parent = '/';
    /* An existing hour (an earlier run's) keeps its folder: its files
     * are moved one by one. (rename(2) would replace an empty one.) */
    struct stat st;
    if (rc == 0)
        rc = stat(to, &st) == 0 ? -EEXIST : FL_OK;
    if (rc == 0 && rename(from, to) < 0)
        rc = -errno;
    *fs = '/';
    *ts = '/';
    return rc;
}


/* Renames every listed file from staging to the archive (step 2). Files
 * no longer in staging were moved by an earlier, interrupted attempt. */
static int
move_files(const char *archive_dir, const char *staging_dir, char *list,
           char *err, size_t errlen)
{
    size_t n = 0;
    for (const char *p = list; (p = strchr(p, '\n')) != NULL; p++)
        n++;
    int bulk = n > SYNCFS_MIN_FILES;
    if (bulk) {
        int rc = sync_filesystem(staging_dir);
        if (rc < 0) {
            snprintf(err, errlen, "cannot flush %s: %s", staging_dir,
                     fl_strerror(rc));
            return rc;
        }
    }
    char *cursor = list;
    for (char *rel = fl_archive_next_line(&cursor); rel != NULL;
         rel = fl_archive_next_line(&cursor)) {
        if (strcmp(rel, "END") == 0)
            break;
        char *from = fl_fs_join(staging_dir, rel);
        char *to = archive_path(archive_dir, rel);
        int rc = FL_OK;
        if (from == NULL || to == NULL) {
            rc = FL_ENOMEM;
        } else if (bulk && access(from, F_OK) == 0
                   && move_folder(from, to) == 0) {
            rc = FL_OK;     /* the hour's files went with their folder */
        } else if (access(from, F_OK) == 0) {
            char *slash = strrchr(to, '/');
            *slash = '\0';
            /* The hour folder alone first: its parents mostly exist
             * (files are listed hour by hour), and walking every
             * component from / cost 7 mkdir calls per file. */
            if (mkdir(to, 0755) < 0 && errno != EEXIST)
                rc = fl_fs_mkdirs(to);
            *slash = '/';
            if (rc == 0 && !bulk)
                rc = fl_fs_fsync_path(from);
            if (rc == 0 && rename(from, to) < 0)
                rc = -errno;
            if (rc == 0 && !bulk) {
                *slash = '\0';
                rc = fl_fs_fsync_path(to);
                *slash = '/';
            }
        }
        if (rc < 0)
            snprintf(err, errlen, "cannot publish %s: %s", rel,
                     fl_strerror(rc));
        fl_free(from);
        fl_free(to);
        if (rc < 0)
            return rc;
    }
    if (bulk) {
        int rc = sync_filesystem(archive_dir);
        if (rc < 0) {
            snprintf(err, errlen, "cannot flush %s: %s", archive_dir,
                     fl_strerror(rc));
            return rc;
        }
    }
    return FL_OK;
}


/* True when d is in the set (open addressing on lo; cap a power of two
 * with room to spare), else adds it and returns 0. */
static int
digest_seen(struct fl_digest *set, size_t cap, const struct fl_digest *d)
{
    size_t i = (size_t)d->lo & (cap - 1);
    while (set[i].hi != 0 || set[i].lo != 0) {
        if (set[i].hi == d->hi && set[i].lo == d->lo)
            return 1;
        i = (i + 1) & (cap - 1);
    }
    set[i] = *d;
    return 0;
}


/* The run id of a manifest line (digest TAB run TAB ...), into run. */
static void
line_run_id(const char *line, char *run, size_t cap)
{
    const char *t1 = strchr(line + 33, '\t');
    run[0] = '\0';
    if (t1 != NULL) {
        const char *t2 = strchr(t1 + 1, '\t');
        size_t rl = t2 ? (size_t)(t2 - t1 - 1) : strlen(t1 + 1);
        if (rl >= cap)
            rl = cap - 1;
        memcpy(run, t1 + 1, rl);
        run[rl] = '\0';
    }
}


/* Appends the manifest lines whose digest the manifest does not hold yet
 * (step 3; idempotent for recovery), with one write and one fsync: a
 * backfill of 8,760 inputs spent more time in a fsync per input line than
 * in converting them. The lines are remembered as on disk only once the
 * fsync has returned. */
static int
append_manifest(struct fl_manifest *m, char *lines)
{
    size_t n_lines = 1, cap = 16;
    for (const char *p = lines; (p = strchr(p, '\n')) != NULL; p++)
        n_lines++;
    while (cap < n_lines * 2)
        cap *= 2;
    char **keep = fl_calloc(n_lines, sizeof *keep);
    struct fl_digest *seen = fl_calloc(cap, sizeof *seen);
    char *text = fl_malloc(strlen(lines) + n_lines + 1);
    size_t n_keep = 0, len = 0;
    int rc = FL_OK;
    if (keep == NULL || seen == NULL || text == NULL) {
        rc = FL_ENOMEM;
        goto out;
    }
    char *cursor = lines;
    for (char *line = fl_archive_next_line(&cursor); line != NULL;
         line = fl_archive_next_line(&cursor)) {
        struct fl_digest d;
        uint64_t seq;
        if (fl_manifest_parse_wal(line, &seq) == 0) {
            if (seq <= fl_manifest_wal_seq(m))
                continue;                 /* already recorded */
        } else if (strlen(line) < 33 || fl_digest_from_hex(line, &d) < 0
                   || fl_manifest_on_disk(m, &d) || digest_seen(seen, cap, &d)) {
            continue;
        }
        size_t n = strlen(line);
        memcpy(text + len, line, n);
        text[len + n] = '\n';
        len += n + 1;
        keep[n_keep++] = line;
    }
    if (n_keep == 0)
        goto out;
    text[len] = '\0';
    if ((rc = fl_manifest_append(m, text)) < 0)
        goto out;
    for (size_t k = 0; k < n_keep && rc == 0; k++) {
        struct fl_digest d;
        uint64_t seq;
        if (fl_manifest_parse_wal(keep[k], &seq) == 0) {
            fl_manifest_note_wal(m, seq);
            continue;
        }
        char run[64];
        line_run_id(keep[k], run, sizeof run);
        if (fl_digest_from_hex(keep[k], &d) == 0)
            rc = fl_manifest_remember(m, &d, run, 1);
    }
out:
    fl_free(text);
    fl_free(seen);
    fl_free(keep);
    return rc;
}


static int
finish(const char *archive_dir, const char *meta_dir, const char *run_id,
       const char *staging_dir, struct fl_manifest *m, char *files,
       char *manifest_lines, char *err, size_t errlen)
{
    int rc = move_files(archive_dir, staging_dir, files, err, errlen);
    if (rc < 0)
        return rc;
    if (manifest_lines != NULL && m != NULL
        && (rc = append_manifest(m, manifest_lines)) < 0) {
        snprintf(err, errlen, "cannot update the manifest: %s",
                 fl_strerror(rc));
        return rc;
    }
    /* The run's files go to the object store's outbox with the run. */
    struct fl_err oerr = FL_ERR_INIT;
    if ((rc = fl_outbox_commit(archive_dir, run_id, &oerr)) < 0) {
        snprintf(err, errlen, "%s", fl_err_msg(&oerr));
        return rc;
    }
    char *jf = journal_path(meta_dir, run_id, "files");
    char *jm = journal_path(meta_dir, run_id, "manifest");
    if (jf == NULL || jm == NULL) {
        fl_free(jf);
        fl_free(jm);
        return FL_ENOMEM;
    }
    /* The .files journal goes first: without it nothing is replayed. */
    (void)unlink(jf);
    (void)unlink(jm);
    fl_free(jf);
    fl_free(jm);
    (void)fl_fs_fsync_path(meta_dir);
    return fl_fs_remove_tree(staging_dir);
}


int
fl_publish(const char *archive_dir, const char *meta_dir, const char *run_id,
           const char *staging_dir, struct fl_manifest *manifest,
           const char *manifest_lines, struct fl_publish_result *res,
           char *err, size_t errlen)
{
    struct collect c = { .root = staging_dir, .root_len = strlen(staging_dir) };
    char *jf = NULL, *jm = NULL, *ml = NULL;
    int rc;

    memset(res, 0, sizeof *res);
    rc = fl_fs_walk(staging_dir, collect_file, &c);
    if (rc == -ENOENT)
        rc = FL_OK;                       /* nothing was written */
    if (rc < 0) {
        snprintf(err, errlen, "cannot list %s: %s", staging_dir,
                 fl_strerror(rc));
        goto out;
    }
    if ((rc = fl_buf_adds(&c.list, "END\n")) < 0)
        goto out;

    jf = journal_path(meta_dir, run_id, "files");
    jm = journal_path(meta_dir, run_id, "manifest");
    ml = fl_strdup(manifest_lines ? manifest_lines : "");
    if (jf == NULL || jm == NULL || ml == NULL) {
        rc = FL_ENOMEM;
        goto out;
    }
    /* Linked into the outbox before the commit point: what can fail for
     * want of space fails while the run can still be dropped. */
    struct fl_err oerr = FL_ERR_INIT;
    if (c.files > 0 && fl_outbox_enabled(archive_dir)) {
        struct fl_buf puts;
        fl_buf_init(&puts, 0);
        if ((rc = outbox_puts(c.list.p, &puts)) < 0
            || (rc = fl_outbox_prepare(archive_dir, run_id, staging_dir,
                                       puts.p, "", NULL, &oerr)) < 0)
            snprintf(err, errlen, "%s", rc == FL_ENOMEM ? FL_OOM_TEXT
                                                       : fl_err_msg(&oerr));
        fl_buf_free(&puts);
        if (rc < 0)
            goto out;
    }
    if ((rc = write_file_synced(jm, ml, strlen(ml))) < 0
        || (rc = write_file_synced(jf, c.list.p, c.list.len)) < 0
        || (rc = fl_fs_fsync_path(meta_dir)) < 0) {
        snprintf(err, errlen, "cannot write the publish journal in %s: %s",
                 meta_dir, fl_strerror(rc));
        goto out;
    }
    rc = finish(archive_dir, meta_dir, run_id, staging_dir, manifest,
                c.list.p, ml, err, errlen);
    res->files = c.files;
    res->bytes = c.bytes;
out:
    fl_buf_free(&c.list);
    fl_free(jf);
    fl_free(jm);
    fl_free(ml);
    return rc;
}


static int
not_compaction(void *ctx, const char *name)
{
    (void)ctx;
    return strncmp(name, "compact-", 8) == 0;
}


/* Reads a whole small file into a new NUL-terminated string. */
static int
slurp(const char *path, char **out)
{
    return fl_fs_read_file(path, SIZE_MAX, out, NULL);
}


int
fl_publish_recover(const char *archive_dir, const char *meta_dir,
                   struct fl_manifest *manifest, char *err, size_t errlen)
{
    DIR *d = opendir(meta_dir);
    struct dirent *e;
    int rc = FL_OK;

    if (d == NULL)
        return errno == ENOENT ? FL_OK : -errno;
    /* Pass 1: journals. Pass 2: orphan staging folders. Collect names
     * first so that deleting entries does not disturb readdir. */
    char **names = NULL;
    size_t n = 0, cap = 0;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "journal-", 8) != 0
            && strncmp(e->d_name, "staging-", 8) != 0)
            continue;
        if (n == cap) {
            char **p = fl_grow(names, &cap, n + 1, sizeof *p, 8);
            if (p == NULL) {
                rc = FL_ENOMEM;
                break;
            }
            names = p;
        }
        if ((names[n] = fl_strdup(e->d_name)) == NULL) {
            rc = FL_ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);

    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t len = strlen(names[i]);
        if (strncmp(names[i], "journal-", 8) != 0 || len < 15
            || strcmp(names[i] + len - 6, ".files") != 0)
            continue;
        char run[100];
        snprintf(run, sizeof run, "%.*s", (int)(len - 8 - 6), names[i] + 8);
        char *jf = fl_fs_join(meta_dir, names[i]);
        char *jm = journal_path(meta_dir, run, "manifest");
        char sname[128];
        snprintf(sname, sizeof sname, "staging-%s", run);
        char *staging = fl_fs_join(meta_dir, sname);
        char *files = NULL, *lines = NULL;
        if (jf == NULL || jm == NULL || staging == NULL) {
            rc = FL_ENOMEM;
        } else if ((rc = slurp(jf, &files)) == 0) {
            size_t fl = strlen(files);
            int committed = fl >= 4 && strcmp(files + fl - 4, "END\n") == 0;
            if (committed) {
                if (slurp(jm, &lines) < 0)
                    lines = NULL;
                fl_log(FL_LOG_INFO, "publish", "finishing the interrupted "
                       "publish of run %s", run);
                rc = finish(archive_dir, meta_dir, run, staging, manifest,
                            files, lines, err, errlen);
            } else {
                (void)unlink(jf);
                (void)unlink(jm);
                fl_outbox_discard(archive_dir, run);
                rc = fl_fs_remove_tree(staging);
            }
        }
        fl_free(files);
        fl_free(lines);
        fl_free(jf);
        fl_free(jm);
        fl_free(staging);
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (strncmp(names[i], "staging-", 8) != 0)
            continue;
        char jname[300];
        snprintf(jname, sizeof jname, "journal-%s.files", names[i] + 8);
        char *jf = fl_fs_join(meta_dir, jname);
        char *staging = fl_fs_join(meta_dir, names[i]);
        if (jf == NULL || staging == NULL)
            rc = FL_ENOMEM;
        else if (access(jf, F_OK) != 0)
            rc = fl_fs_remove_tree(staging);   /* crashed before commit */
        fl_free(jf);
        fl_free(staging);
    }
    /* What a publish prepared before it crashed short of its journal
     * (compactions clean up their own). */
    if (rc == 0)
        fl_outbox_discard_prepared(archive_dir, "", not_compaction, NULL);
    if (rc < 0 && err[0] == '\0')
        snprintf(err, errlen, "cannot recover %s: %s", meta_dir,
                 fl_strerror(rc));
    for (size_t i = 0; i < n; i++)
        fl_free(names[i]);
    fl_free(names);
    return rc;
}
