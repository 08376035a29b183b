/* SPDX-License-Identifier: MIT
 *
 * rejects.h -- the rejected-records file (the archive's "errors folder",
 * Firehose's processing-failed output): one JSON object per rejected line,
 * {"source":..,"line":N,"reason":..,"raw":..}, in ARCHIVE/_errors/. Used by
 * convert and by the live server's ingestion.
 */
#ifndef FL_REJECTS_H
#define FL_REJECTS_H

#include <stddef.h>
#include <stdint.h>

/* JSON lines: {"source":..,"line":N,"reason":..,"raw":..}. Opened on the
 * first reject; thread-safe. */
struct fl_rejects;

int  fl_rejects_create(const char *path, struct fl_rejects **out);
/* Records one bad line; prints the first few to stderr too. */
int  fl_rejects_add(struct fl_rejects *r, const char *source,
                    unsigned long long line, const char *reason,
                    const char *raw, size_t raw_len);
uint64_t fl_rejects_count(struct fl_rejects *r);
/* Flushes and fsyncs; returns 0 or -errno. */
int  fl_rejects_close(struct fl_rejects *r);
void fl_rejects_destroy(struct fl_rejects *r);
/* Appends s to buf as a JSON string literal (with quotes); returns bytes
 * written or 0 when cap is too small. */
size_t fl_json_escape(char *buf, size_t cap, const char *s, size_t len);

#endif /* FL_REJECTS_H */
