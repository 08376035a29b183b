/* SPDX-License-Identifier: MIT
 *
 * fl_fs.c -- file-system helpers (see fl_fs.h).
 */
#include "fl_config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fl_error.h"
#include "fl_fs.h"
#include "fl_mem.h"


char *
fl_fs_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int slash = la > 0 && a[la - 1] != '/';
    char *p = fl_malloc(la + (size_t)slash + lb + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, a, la);
    if (slash)
        p[la] = '/';
    memcpy(p + la + (size_t)slash, b, lb + 1);
    return p;
}


int
fl_fs_mkdirs(const char *path)
{
    char *p = fl_strdup(path);
    int rc = FL_OK;
    if (p == NULL)
        return FL_ENOMEM;
    for (char *s = p + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0755) < 0 && errno != EEXIST) {
                rc = -errno;
                break;
            }
            *s = c;
            if (c == '\0')
                break;
        }
    }
    fl_free(p);
    return rc;
}


int
fl_fs_fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : FL_OK;
    close(fd);
    return rc;
}


int
fl_fs_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return FL_OK;
}


static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}


/* Lists the entries of dir (without . and ..) sorted by name. */
static int
list_dir(const char *dir, char ***out, size_t *out_n)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;

    if (d == NULL)
        return -errno;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == cap) {
            char **nn = fl_grow(names, &cap, n + 1, sizeof *nn, 16);
            if (nn == NULL)
                goto nomem;
            names = nn;
        }
        if ((names[n] = fl_strdup(e->d_name)) == NULL)
            goto nomem;
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_names);
    *out = names;
    *out_n = n;
    return FL_OK;

nomem:
    closedir(d);
    for (size_t i = 0; i < n; i++)
        fl_free(names[i]);
    fl_free(names);
    return FL_ENOMEM;
}


int
fl_fs_walk(const char *dir, fl_fs_walk_fn *fn, void *ctx)
{
    char **names = NULL;
    size_t n = 0;
    int rc = list_dir(dir, &names, &n);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *path = fl_fs_join(dir, names[i]);
        struct stat st;
        if (path == NULL) {
            rc = FL_ENOMEM;
            break;
        }
        if (lstat(path, &st) < 0)
            rc = -errno;
        else if (S_ISDIR(st.st_mode))
            rc = fl_fs_walk(path, fn, ctx);
        else if (S_ISREG(st.st_mode))
            rc = fn(ctx, path);
        fl_free(path);
    }
    for (size_t i = 0; i < n; i++)
        fl_free(names[i]);
    fl_free(names);
    return rc;
}


int
fl_fs_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? FL_OK : -errno;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) < 0 ? -errno : FL_OK;

    char **names = NULL;
    size_t n = 0;
    int rc = list_dir(path, &names, &n);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0) {
            char *child = fl_fs_join(path, names[i]);
            rc = child ? fl_fs_remove_tree(child) : FL_ENOMEM;
            fl_free(child);
        }
        fl_free(names[i]);
    }
    fl_free(names);
    if (rc == 0 && rmdir(path) < 0)
        rc = -errno;
    return rc;
}


int
fl_fs_rename_durable(const char *tmp, const char *path)
{
    if (rename(tmp, path) < 0)
        return -errno;
    /* The directory entry is what makes the rename survive a crash. */
    const char *slash = strrchr(path, '/');
    char *dir = slash ? fl_strndup(path, slash == path ? 1
                                                      : (size_t)(slash - path))
                      : fl_strdup(".");
    if (dir == NULL)
        return FL_ENOMEM;
    int rc = fl_fs_fsync_path(dir);
    fl_free(dir);
    return rc;
}


int
fl_fs_write_atomic(const char *path, const void *buf, size_t len)
{
    size_t n = strlen(path);
    char *tmp = fl_malloc(n + 5);
    int fd = -1, rc;
    if (tmp == NULL)
        return FL_ENOMEM;
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", 5);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    if ((rc = fl_fs_write_all(fd, buf, len)) < 0)
        goto out;
    if (fsync(fd) < 0) {
        rc = -errno;
        goto out;
    }
    if (close(fd) < 0) {
        fd = -1;
        rc = -errno;
        goto out;
    }
    fd = -1;
    rc = fl_fs_rename_durable(tmp, path);
out:
    if (fd >= 0)
        close(fd);
    if (rc < 0)
        (void)unlink(tmp);
    fl_free(tmp);
    return rc;
}


int
fl_fs_read_stream(FILE *f, size_t max, char **out, size_t *out_len)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        /* Grown when less than a read's worth is left -- unless the buffer
         * is already max + 2, where one more byte is all there is to read
         * (without this, any max below 4 KiB failed every file). */
        int at_ceiling = max < SIZE_MAX - 2 && cap == max + 2;
        if (cap - len < 4096 + 1 && !at_ceiling) {
            size_t ncap = cap ? cap * 2 : 8192;
            /* One byte past max tells "exactly max" from "more". */
            if (max < SIZE_MAX - 2 && ncap > max + 2)
                ncap = max + 2;
            if (ncap <= cap) {
                fl_free(buf);
                return FL_ETOOBIG;
            }
            char *p = fl_realloc(buf, ncap);
            if (p == NULL) {
                fl_free(buf);
                return FL_ENOMEM;
            }
            buf = p;
            cap = ncap;
        }
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (len > max) {
            fl_free(buf);
            return FL_ETOOBIG;
        }
        if (n == 0) {
            if (ferror(f)) {
                fl_free(buf);
                return -EIO;
            }
            break;
        }
    }
    buf[len] = '\0';
    *out = buf;
    if (out_len != NULL)
        *out_len = len;
    return FL_OK;
}


int
fl_fs_read_file(const char *path, size_t max, char **out, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -errno;
    int rc = fl_fs_read_stream(f, max, out, out_len);
    fclose(f);
    return rc;
}
