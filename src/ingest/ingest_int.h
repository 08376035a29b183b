/* SPDX-License-Identifier: MIT
 *
 * ingest_int.h -- declarations shared by the files of src/ingest/ and
 * nobody else (SQLite's btreeInt.h pattern): the decoder's layout, error
 * formatting, and the bounded JSON loader.
 */
#ifndef FL_INGEST_INT_H
#define FL_INGEST_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "ingest.h"

#if defined(__GNUC__)
#define FL_INGEST_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FL_INGEST_PRINTF(a, b)
#endif

/* The decoder. Three scratch buffers, because a Lambda event inside a
 * Firehose record nests them: rec holds the record's decoded base64 (the
 * payload), gz the inflated payload, b64 the decoded awslogs.data -- each
 * is still needed while the next one is filled. */
struct fl_ingest {
    struct fl_ingest_limits lim;   /* defaults applied */
    char   *rec;                   /* fl_firehose_record_data() output */
    size_t  rec_cap;
    char   *gz;                    /* fl_gunzip() output */
    size_t  gz_cap;
    char   *b64;                   /* decoded awslogs.data */
    size_t  b64_cap;
};

/* ---- payload.c ------------------------------------------------------- */

/* fl_ingest_decode() / _decode_cwl() (cwl_only) for callers inside the
 * module: *out_stopped (may be NULL) is set when the error is the line
 * callback's, whose message must not get a field prefix. */
int fl_ingest_decode_payload(struct fl_ingest *d, const void *data,
                             size_t len, int cwl_only,
                             fl_ingest_line_fn *fn, void *ctx,
                             struct fl_ingest_info *out_info,
                             struct fl_ingest_err *err, int *out_stopped);

/* ---- ingest_err.c: error messages, buffers ------------------------- */

/* Resets err (record -1, no position) and sets msg from fmt. The result
 * is made printable ASCII (other bytes become '?'). */
void fl_ingest_errf(struct fl_ingest_err *err, const char *fmt, ...)
    FL_INGEST_PRINTF(2, 3);

/* Prepends "<prefix>: " to err->msg (truncating at the end if needed). */
void fl_ingest_err_prefix(struct fl_ingest_err *err, const char *fmt, ...)
    FL_INGEST_PRINTF(2, 3);

/* Writes s[0..len) as a double-quoted, printable-ASCII excerpt into out
 * (at most 64 characters of s, then "..."); non-printable bytes become
 * \xNN. out must hold FL_INGEST_QUOTE_MAX bytes. */
#define FL_INGEST_QUOTE_MAX 300
void fl_ingest_quote(char *out, const char *s, size_t len);

/* Makes *buf hold at least need bytes (fl_realloc); -ENOMEM on failure,
 * the old buffer then still valid. */
int fl_ingest_reserve(char **buf, size_t *cap, size_t need);

/* ---- ingest_json.c: bounded JSON loading ----------------------------- */

/* Scans p[0..len) for nesting deeper than lim->max_depth and for a parse
 * tree estimated over lim->max_json_mem (FL_ETOOBIG), then parses it with
 * jansson, duplicate keys rejected (FL_EPARSE "invalid JSON at line L,
 * column C: ..."; -ENOMEM). On success *out is a new reference. */
int fl_ingest_json_load(const struct fl_ingest_limits *lim, const char *p,
                        size_t len, json_t **out, struct fl_ingest_err *err);

/* "a string", "an integer", "a real number", "an object", "an array",
 * "true", "false", "null" -- for "expected X, got Y" messages. */
const char *fl_ingest_json_type(const json_t *v);

/* A JSON value as milliseconds since the epoch: a non-negative integer,
 * or a string of 1 to 19 digits that fits in int64_t (CloudWatch Logs
 * fixtures carry "timestamp": "1421116133213"). 0 or -1 (not one). */
int fl_ingest_json_ms(const json_t *v, int64_t *out);

/* Sets err to "<path>: expected milliseconds since the epoch (an integer
 * or a string of digits), got <what v is>" and returns FL_EPARSE. */
int fl_ingest_ms_error(struct fl_ingest_err *err, const char *path,
                       const json_t *v);

#endif /* FL_INGEST_INT_H */
