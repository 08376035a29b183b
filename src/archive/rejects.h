/* SPDX-License-Identifier: MIT
 *
 * rejects.h -- the rejected-records file (the archive's "errors folder",
 * Firehose's processing-failed output): one JSON object per rejected line,
 * {"source":..,"line":N,"reason":..,"raw":..} ("raw_base64" instead of
 * "raw" for a line that is not UTF-8), in ARCHIVE/_errors/. Used by
 * convert and by the live server's ingestion.
 *
 * A write that fails (disk full, permissions) is not sticky: the line is
 * counted as lost, the failure is logged once, and the next line tries
 * again -- so recording resumes by itself when the cause goes, with one
 * log line saying so.
 */
#ifndef FL_REJECTS_H
#define FL_REJECTS_H

#include <stddef.h>
#include <stdint.h>

/* JSON lines: {"source":..,"line":N,"reason":..,"raw":..}. Opened on the
 * first reject; thread-safe. */
struct fl_rejects;

int  fl_rejects_create(const char *path, struct fl_rejects **out);
/* Records one bad line; prints the first few to stderr too. Returns 0,
 * FL_ENOMEM, or -errno when the line could not be written (it is then
 * counted as lost; a partly written line is cut off again so that the
 * file stays one JSON object per line). */
int  fl_rejects_add(struct fl_rejects *r, const char *source,
                    unsigned long long line, const char *reason,
                    const char *raw, size_t raw_len);
uint64_t fl_rejects_count(struct fl_rejects *r);

/* Counters for /api/status. */
struct fl_rejects_stats {
    uint64_t lines;            /* rejected lines handed to fl_rejects_add */
    uint64_t written;          /* of them, recorded in the file */
    uint64_t lost;             /* of them, not recorded (write failed) */
    uint64_t failures;         /* times recording went from working to
                                * failing */
    int      failing;          /* 1 while the last attempt failed */
    char     last_error[256];  /* "" = none yet */
};
void fl_rejects_stats(struct fl_rejects *r, struct fl_rejects_stats *out);

/* Flushes and fsyncs; returns 0, or -errno when that failed or when a
 * line was lost (the last write error). */
int  fl_rejects_close(struct fl_rejects *r);
void fl_rejects_destroy(struct fl_rejects *r);

#endif /* FL_REJECTS_H */
