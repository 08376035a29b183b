/* SPDX-License-Identifier: MIT
 *
 * compact.h -- compaction and retention of the archive (`flowlake
 * compact`, and the background job of `flowlake serve`).
 *
 * Compaction: a server publishes every archive.buffer_interval, one file
 * per hour per publish, so an hour of 10-second publishes is 360 small
 * files, and every query pays for opening each. Once an hour has ended
 * more than archive.compact_after ago, its files are merged into files of
 * about archive.target_file_size, sorted by time, and swapped in for the
 * old ones in one step: the hour's folder is exchanged with a staged one
 * (renameat2 RENAME_EXCHANGE), so a reader listing the folder sees the old
 * files or the new, never both and never neither. The old folder is kept
 * under ARCHIVE/_flowlake/retired/ for a grace period, for readers that
 * listed it just before, then removed.
 *
 * Retention: with archive.retention set, every hour that ended more than
 * that long ago is retired the same way (and removed after the grace
 * period); day, month and year folders left empty are removed.
 *
 * Thread: one compaction at a time per archive (the archive's lock is held
 * around each swap, so a `convert` or a publish never runs into one).
 */
#ifndef FL_COMPACT_H
#define FL_COMPACT_H

#include <stdint.h>

#include "../core/fl_error.h"

struct fl_compact_opts {
    const char *archive_dir;
    uint64_t    target_size;     /* bytes per merged file */
    uint64_t    min_age;         /* seconds after an hour's end */
    uint64_t    retention;       /* seconds; 0 = keep every hour */
    uint64_t    grace;           /* seconds a retired folder is kept */
    int64_t     now;             /* epoch seconds; 0 = the clock */
    int         dry_run;         /* count what would be done, do nothing */
    /* Called around each swap with ctx (NULL: nothing): the server takes
     * its snapshot lock and waits until no query it runs still holds a
     * list of the archive's files. */
    void      (*before_swap)(void *ctx);
    void      (*after_swap)(void *ctx);
    /* Asked before each hour (NULL: never): 1 ends the pass there, with
     * what is done kept (a server that stops). */
    int       (*cancelled)(void *ctx);
    void       *ctx;
};

struct fl_compact_stats {
    uint64_t hours_compacted;
    uint64_t hours_skipped;      /* changed during their merge: next pass */
    uint64_t files_before, files_after;
    uint64_t bytes_before, bytes_after;
    uint64_t records;            /* in the hours compacted */
    uint64_t hours_expired;      /* retired by archive.retention */
    uint64_t files_expired, bytes_expired;
    uint64_t retired_removed;    /* folders past their grace period */
    double   seconds;
};

/* One pass over the archive: removes retired folders past their grace
 * period, retires the hours past retention, and compacts every hour old
 * enough that has more files than its size needs. Returns 0, or <0 with
 * err set (-EWOULDBLOCK: another process holds the archive's lock). */
int fl_compact(const struct fl_compact_opts *o, struct fl_compact_stats *st,
               struct fl_err *err);

#endif /* FL_COMPACT_H */
