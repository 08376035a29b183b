/* SPDX-License-Identifier: MIT
 *
 * outbox.h -- the archive's record of what an object store (s3/) still
 * has to be told: every change to the archive's files, in the order they
 * happened, kept until the uploader has made the store agree.
 *
 * An archive is replicated once ARCHIVE/_flowlake/outbox/ exists
 * (fl_outbox_enable); from then on every publish (`convert`, the server),
 * every compaction and every retention adds a change there. A change is a
 * folder:
 *
 *     outbox/<SEQ>-<NAME>/change    what to do, one line each:
 *                                     put TAB <i> TAB <bytes> TAB <rel path>
 *                                     delete TAB <rel path>  ('/' at the end:
 *                                                            every object under it)
 *                                     end
 *     outbox/<SEQ>-<NAME>/files/<i> a hard link to the file to put
 *
 * The hard links cost no space and keep each file as it was published
 * even after a compaction or retention removed it from the archive: the
 * local copy the uploader reads is removed only when the store holds it.
 *
 * Crash safety: a change is prepared under outbox/.new-<NAME>/ (links,
 * change file, all fsynced) *before* the archive change it describes
 * commits, and renamed to outbox/<SEQ>-<NAME>/ right after -- for a
 * publish, by the step that finishes it (which recovery repeats), for a
 * compaction by the swap. Every step that can fail for want of space or
 * links happens before the commit point; what a crash leaves in .new-*
 * is removed by the recovery of its kind (publish: fl_publish_recover;
 * compaction: the next pass). SEQ (20 digits, at least the nanosecond
 * clock and above every pending change) orders the changes as they
 * committed.
 *
 * Thread: prepare/commit/discard are called by the archive's writers
 * (publish under the archive's lock, compaction under its own); the
 * uploader only reads committed changes and removes them when done.
 */
#ifndef FL_OUTBOX_H
#define FL_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "../core/fl_error.h"

#define FL_OUTBOX_DIR "_flowlake/outbox"

/* Whether the archive is replicated (its outbox folder exists). */
int fl_outbox_enabled(const char *archive_dir);

/* Makes the archive replicated. When the outbox is new, the archive's
 * Parquet files as they are now become its first change ("initial"),
 * under the archive's lock. Returns 0, or <0 with err set. */
int fl_outbox_enable(const char *archive_dir, struct fl_err *err);

/* Prepares change name: puts are files under src_dir ('\n'-separated
 * paths relative to it), each stored as dest_prefix + that path, or as
 * DEST for a line "PATH TAB DEST"; deletes
 * are paths relative to the archive ('\n'-separated). Either list may be
 * NULL or "", and may end with a line "END" (the publish journal's form).
 * No-op (0) when the archive is not replicated. */
int fl_outbox_prepare(const char *archive_dir, const char *name,
                      const char *src_dir, const char *puts,
                      const char *dest_prefix, const char *deletes,
                      struct fl_err *err);

/* Commits a prepared change (renames .new-NAME to SEQ-NAME, fsynced).
 * 0 when there was nothing prepared under that name. */
int fl_outbox_commit(const char *archive_dir, const char *name,
                     struct fl_err *err);

/* Drops a prepared change that will not commit. */
void fl_outbox_discard(const char *archive_dir, const char *name);

/* Removes every prepared change whose name starts with prefix and for
 * which keep(ctx, name) is 0 (keep NULL: all). */
void fl_outbox_discard_prepared(const char *archive_dir, const char *prefix,
                                int (*keep)(void *ctx, const char *name),
                                void *ctx);

/* The committed changes, oldest first: *out gets a NULL-terminated array
 * of folder names (free with fl_outbox_names_free). */
int  fl_outbox_list(const char *archive_dir, char ***out, size_t *n);
void fl_outbox_names_free(char **names);

/* One line of a change file. */
struct fl_change_item {
    int       put;          /* 1 put, 0 delete */
    unsigned  index;        /* put: its link is files/<index>; 0, 1, 2... */
    uint64_t  bytes;        /* put: the file's size when it was linked */
    char     *rel;          /* into the text parsed; a delete ending in '/'
                             * means every object under it */
};

/* Parses a change file's text (modified in place; items point into it)
 * into *out (fl_free). path names the file in errors: FL_ECORRUPT for a
 * line that is not one (its number given), FL_ETRUNC without the "end"
 * line. (change.c) */
int fl_change_parse(const char *path, char *text,
                    struct fl_change_item **out, size_t *n,
                    struct fl_err *err);

#endif /* FL_OUTBOX_H */
