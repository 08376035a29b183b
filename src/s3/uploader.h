/* SPDX-License-Identifier: MIT
 *
 * uploader.h -- keeps an object store in step with the archive: takes
 * the archive's outbox (archive/outbox.h) change by change, oldest first,
 * and for each
 *
 *   1. uploads every file it puts, as PREFIX + its archive path (the
 *      archive's layout, unchanged), each verified (s3.h: SHA-256 checked
 *      by the store on arrival, then the size read back with a HEAD);
 *   2. writes the change's manifest, PREFIX_flowlake/runs/<change>.json,
 *      listing those objects and what the change deletes -- last, so a
 *      reader that goes by manifests never sees half a change;
 *   3. deletes what the change deletes (the small files a compaction
 *      merged; every object of an hour past retention);
 *   4. removes the change and its links: only now is the local staging
 *      copy gone.
 *
 * Manifests older than s3.manifest_retention (7 days) are deleted after
 * a run that emptied the outbox, at most once an hour in `serve`.
 *
 * A failure stops at the change it happened in; the uploader tries again
 * after a wait that doubles up to a minute. What was uploaded of a change
 * is noted in its folder (done), so a restart does not send it again.
 *
 * `flowlake upload` runs it once (fl_uploader_run); `flowlake serve`
 * with s3.url set runs its thread (fl_uploader_start).
 *
 * Thread: run/start from one thread; stats from any.
 */
#ifndef FL_UPLOADER_H
#define FL_UPLOADER_H

#include <stdint.h>

#include "../core/fl_error.h"
#include "s3.h"

struct fl_uploader;

struct fl_upload_stats {
    uint64_t pending;          /* committed changes waiting, last look */
    uint64_t changes_done, files_uploaded, bytes_uploaded, objects_deleted;
    uint64_t manifests_deleted; /* past s3.manifest_retention */
    uint64_t failures;         /* attempts at a change that failed */
    int64_t  last_done;        /* epoch seconds of the last change done */
    double   seconds;          /* spent on changes, wall */
    struct fl_s3_stats s3;
    char     last_error[512];  /* "" when the last attempt worked */
};

/* Makes the archive replicated (outbox.h: its files as they are become
 * the first change) and opens the store. Returns 0, or <0 with err set. */
int  fl_uploader_create(const struct fl_s3_config *cfg,
                        const char *archive_dir, struct fl_uploader **out,
                        struct fl_err *err);
void fl_uploader_destroy(struct fl_uploader *u);

/* Every committed change, in order, now. Returns 0 when the outbox is
 * empty, or <0 with err set at the first change that failed. */
int  fl_uploader_run(struct fl_uploader *u, struct fl_err *err);

/* The background thread: looks at the outbox every second. */
int  fl_uploader_start(struct fl_uploader *u, struct fl_err *err);
/* Stops it after the request in flight (what is left stays pending). */
void fl_uploader_stop(struct fl_uploader *u);

void fl_uploader_get_stats(struct fl_uploader *u, struct fl_upload_stats *out);

/* "s3://bucket/prefix/" (for messages). */
const char *fl_uploader_url(const struct fl_uploader *u);

#endif /* FL_UPLOADER_H */
