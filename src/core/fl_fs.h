/* SPDX-License-Identifier: MIT
 *
 * fl_fs.h -- small file-system helpers for durable publishing: make a
 * directory path, fsync a file or directory, write a whole buffer, list a
 * tree. All return 0 or -errno.
 */
#ifndef FL_FS_H
#define FL_FS_H

#include <stddef.h>
#include <stdio.h>

/* mkdir -p; existing directories are fine. */
int fl_fs_mkdirs(const char *path);

/* fsync(2) of the file or directory at path. */
int fl_fs_fsync_path(const char *path);

/* Writes all of buf to fd, retrying short writes and EINTR. */
int fl_fs_write_all(int fd, const void *buf, size_t len);

/* rm -rf; a missing path is fine. */
int fl_fs_remove_tree(const char *path);

/* Calls fn for every regular file under dir (recursively, in sorted order
 * per directory). Stops and returns fn's value when it is non-zero. */
typedef int fl_fs_walk_fn(void *ctx, const char *path);
int fl_fs_walk(const char *dir, fl_fs_walk_fn *fn, void *ctx);

/* Replaces the file at path with buf[0..len) so that after a crash it is
 * either the old file or the new one, whole: writes path.tmp, fsyncs it,
 * renames it over path, fsyncs the directory. */
int fl_fs_write_atomic(const char *path, const void *buf, size_t len);

/* Renames tmp over path and fsyncs path's directory (tmp already
 * fsync'd). */
int fl_fs_rename_durable(const char *tmp, const char *path);

/* Reads f to its end into a new NUL-terminated buffer (*out, fl_free;
 * *out_len without the NUL, may be NULL). Returns 0, FL_ETOOBIG when there
 * are more than max bytes, -EIO, -ENOMEM (*out untouched on failure). */
int fl_fs_read_stream(FILE *f, size_t max, char **out, size_t *out_len);

/* fl_fs_read_stream of the file at path; -errno when it cannot be
 * opened. */
int fl_fs_read_file(const char *path, size_t max, char **out,
                    size_t *out_len);

/* "a/b" + "c" -> "a/b/c" into a new fl_malloc'd string (NULL on ENOMEM). */
char *fl_fs_join(const char *a, const char *b);

#endif /* FL_FS_H */
