/* SPDX-License-Identifier: MIT
 *
 * listing.c -- walks the archive's partition folders with openat and
 * O_NOFOLLOW, so a symbolic link anywhere below the archive folder is
 * neither entered nor listed (listing.h says why).
 */
#include "../core/fl_config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/fl_error.h"
#include "../core/fl_fs.h"
#include "../core/fl_mem.h"
#include "listing.h"

struct list {
    char  **v;
    size_t  n, cap;
};

static const char *const levels[] = { "year=", "month=", "day=", "hour=" };
#define N_LEVELS (sizeof levels / sizeof levels[0])


static int
push(struct list *l, const char *dir, const char *name)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 256;
        char **p = fl_realloc(l->v, ncap * sizeof *p);
        if (p == NULL)
            return FL_ENOMEM;
        l->v = p;
        l->cap = ncap;
    }
    char *path = fl_fs_join(dir, name);
    if (path == NULL)
        return FL_ENOMEM;
    l->v[l->n++] = path;
    return FL_OK;
}


static int
ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && memcmp(s + a - b, suffix, b) == 0;
}


/* Lists what is in the folder dfd (named path) at depth `level`: the
 * partition folders of that level, then, below the last, the files. dfd
 * is consumed. */
static int
walk(int dfd, const char *path, size_t level, struct list *l)
{
    DIR *d = fdopendir(dfd);
    int rc = FL_OK;
    if (d == NULL) {
        rc = -errno;
        close(dfd);
        return rc;
    }
    struct dirent *e;
    while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        struct stat st;
        if (name[0] == '.')
            continue;
        if (level < N_LEVELS) {
            if (strncmp(name, levels[level], strlen(levels[level])) != 0)
                continue;
            /* O_NOFOLLOW: a link named like a partition is not entered. */
            int sub = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY
                             | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) {
                if (errno == ELOOP || errno == ENOTDIR || errno == ENOENT)
                    continue;
                rc = -errno;
                break;
            }
            char *subpath = fl_fs_join(path, name);
            if (subpath == NULL) {
                close(sub);
                rc = FL_ENOMEM;
                break;
            }
            rc = walk(sub, subpath, level + 1, l);
            fl_free(subpath);
        } else if (ends_with(name, ".parquet")
                   && fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) == 0
                   && S_ISREG(st.st_mode)) {
            rc = push(l, path, name);
        }
    }
    if (rc == 0 && errno != 0 && e == NULL)
        rc = -errno;
    closedir(d);
    return rc;
}


static int
by_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}


int
fl_archive_list_files(const char *archive_dir, char ***out, size_t *n)
{
    struct list l = { 0 };
    int dfd = open(archive_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc;

    *out = NULL;
    *n = 0;
    if (dfd < 0)
        return errno == ENOENT ? FL_OK : -errno;
    rc = walk(dfd, archive_dir, 0, &l);
    if (rc < 0) {
        fl_archive_listing_free(l.v, l.n);
        return rc;
    }
    if (l.n > 1)
        qsort(l.v, l.n, sizeof *l.v, by_path);
    *out = l.v;
    *n = l.n;
    return FL_OK;
}


void
fl_archive_listing_free(char **files, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fl_free(files[i]);
    fl_free(files);
}
