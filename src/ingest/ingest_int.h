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

#include "../core/fl_compiler.h"

#include "ingest.h"


struct fl_cwl_fast_event;

/* The decoder. Three scratch buffers, because a Lambda event inside a
 * Firehose record nests them: rec holds the record's decoded base64 (the
 * payload), gz the inflated payload, b64 the decoded awslogs.data -- each
 * is still needed while the next one is filled. The JSON fast path
 * (cwl_fast.c) adds two more that are used by one JSON document at a
 * time: ev, where its events are found, and js, where strings with escapes
 * (and ids and metadata, which must be NUL-terminated) are decoded. */
struct fl_ingest {
    struct fl_ingest_limits lim;   /* defaults applied */
    char   *rec;                   /* fl_firehose_record_data() output */
    size_t  rec_cap;
    char   *gz;                    /* fl_gunzip() output */
    size_t  gz_cap;
    char   *b64;                   /* decoded awslogs.data */
    size_t  b64_cap;
    struct fl_cwl_fast_event *ev;  /* fl_ingest_cwl_fast_scan() output */
    size_t  ev_cap;                /* entries */
    char   *js;                    /* decoded JSON strings */
    size_t  js_cap;
    int     json_slow;             /* set: CloudWatch Logs JSON always goes
                                      through jansson (tests, the
                                      differential fuzzer fuzz_cwl_fast) */
    unsigned long long json_fast;  /* JSON documents the fast path took */
    unsigned long long json_declined; /* ... and left to jansson */
    int     firehose_slow;         /* set: Firehose request bodies always
                                      go through jansson (tests, the
                                      differential fuzzer
                                      fuzz_firehose_fast) */
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
    FL_PRINTF(2, 3);

/* Prepends "<prefix>: " to err->msg (truncating at the end if needed). */
void fl_ingest_err_prefix(struct fl_ingest_err *err, const char *fmt, ...)
    FL_PRINTF(2, 3);

/* Writes s[0..len) as a double-quoted, printable-ASCII excerpt into out
 * (at most 64 characters of s, then "..."); non-printable bytes become
 * \xNN. out must hold FL_INGEST_QUOTE_MAX bytes. */
#define FL_INGEST_QUOTE_MAX 300
void fl_ingest_quote(char *out, const char *s, size_t len);

/* Makes *buf hold at least need bytes (fl_realloc); -ENOMEM on failure,
 * the old buffer then still valid. */
int fl_ingest_reserve(char **buf, size_t *cap, size_t need);

/* ---- ingest_json.c: bounded JSON loading ----------------------------- */

/* The pre-scan's estimate of jansson's parse tree, per value (measured
 * with jansson 2.14 on x86-64 glibc, malloc overhead included, rounded
 * up). cwl_fast.c computes the same sum. */
#define FL_INGEST_COST_OBJECT 256  /* json_object_t and its first buckets */
#define FL_INGEST_COST_ARRAY  160
#define FL_INGEST_COST_STRING 112  /* plus the length from the opening
                                      quote to the closing one; keys cost
                                      about the same */
#define FL_INGEST_COST_SCALAR 56   /* integer, real, true, false, null */

/* Scans p[0..len) for nesting deeper than lim->max_depth and for a parse
 * tree estimated over lim->max_json_mem (FL_ETOOBIG), then parses it with
 * jansson, duplicate keys rejected (FL_EPARSE "invalid JSON at line L,
 * column C: ..."; -ENOMEM). On success *out is a new reference. */
int fl_ingest_json_load(const struct fl_ingest_limits *lim, const char *p,
                        size_t len, json_t **out, struct fl_ingest_err *err);

/* "a string", "an integer", "a real number", "an object", "an array",
 * "true", "false", "null" -- for "expected X, got Y" messages. */
const char *fl_ingest_json_type(const json_t *v);

/* Checks the value at path (a printf format), v, NULL when the member is
 * missing: FL_OK when it is of JSON type want, else FL_EPARSE with err
 * "<path>: missing" or "<path>: expected <a string|an array|...>, got
 * <what v is>" -- the one wording of every such check on the jansson
 * path. */
int fl_ingest_json_want(struct fl_ingest_err *err, const json_t *v,
                        json_type want, const char *path_fmt, ...)
    FL_PRINTF(4, 5);

/* A JSON value as milliseconds since the epoch: a non-negative integer,
 * or a string of 1 to 19 digits that fits in int64_t (CloudWatch Logs
 * fixtures carry "timestamp": "1421116133213"). 0 or -1 (not one). */
int fl_ingest_json_ms(const json_t *v, int64_t *out);

/* Sets err to "<path>: expected milliseconds since the epoch (an integer
 * or a string of digits), got <what v is>" and returns FL_EPARSE. */
int fl_ingest_ms_error(struct fl_ingest_err *err, const char *path,
                       const json_t *v);

/* ---- cwl_fast.c: the JSON fast path --------------------------------- */

/* "Ask jansson": a verdict, not an error, so it is positive and cannot be
 * mistaken for a line callback's (negative) return value. */
#define FL_INGEST_FAST_DECLINE 1

/* A JSON string as it stands in the text: its raw content between the
 * quotes (escapes not decoded; valid UTF-8, escapes valid, no \u0000). */
struct fl_json_str {
    const char *p;
    size_t      len;
    int         esc;             /* contains a backslash escape */
};

/* One log event as the scanner found it; the strings point into the
 * scanned text. */
struct fl_cwl_fast_event {
    const char   *id;            /* raw, as struct fl_json_str */
    const char   *msg;
    size_t        id_len;
    size_t        msg_len;
    int64_t       ts;            /* what fl_ingest_json_ms() gives */
    unsigned char id_esc;
    unsigned char msg_esc;
};

enum fl_cwl_fast_kind {
    FL_CWL_FAST_DATA = 1,        /* DATA_MESSAGE: lines to emit */
    FL_CWL_FAST_CONTROL,         /* CONTROL_MESSAGE */
    FL_CWL_FAST_AWSLOGS          /* Lambda event: decode data */
};

struct fl_cwl_fast {
    enum fl_cwl_fast_kind kind;
    struct fl_json_str owner;    /* DATA only */
    struct fl_json_str log_group;
    struct fl_json_str log_stream;
    size_t nevents;              /* DATA: d->ev[0 .. nevents) */
    struct fl_json_str data;     /* AWSLOGS: awslogs.data */
    size_t scratch_need;         /* bytes of d->js that decoding needs:
                                    DATA, the metadata with their NULs and
                                    the biggest event; AWSLOGS, data when
                                    it has escapes */
};

/* Scans the JSON document p[0..len) (its first non-blank byte is '{') in
 * one pass, without jansson, for json_payload() in payload.c. Returns 0
 * when it is a CloudWatch Logs payload (in_awslogs: the inside of a Lambda
 * event, which may not be one again) that the jansson path would accept
 * with the same result: *out describes it, the events are in d->ev, and
 * nothing has been emitted. Returns FL_INGEST_FAST_DECLINE for everything
 * else -- errors, odd shapes, limits, no memory -- and the jansson path
 * must then decide (cwl_fast.c lists the cases). Never sets an error. */
int fl_ingest_cwl_fast_scan(struct fl_ingest *d, const char *p, size_t len,
                            int in_awslogs, struct fl_cwl_fast *out);

/* Decodes the raw content of a string that fl_ingest_cwl_fast_scan()
 * validated into out (room for len bytes; decoded text is never longer)
 * as jansson would. Returns the decoded length; no NUL is added. */
size_t fl_ingest_json_unescape(const char *raw, size_t len, char *out);

/* ---- firehose_fast.c: the Firehose request fast path --------------- */

/* Where a string's raw content is (what is between its quotes): an offset
 * into the scanned text, or, once fl_firehose_parse() has copied it, into
 * the request's own bytes. */
struct fl_firehose_fast_rec {
    size_t off;
    size_t len;
};

struct fl_firehose_fast {
    size_t  id_off;              /* requestId, 1..FL_FIREHOSE_MAX_REQUEST_ID
                                    bytes of printable ASCII */
    size_t  id_len;
    int64_t timestamp;           /* -1 when absent */
    size_t  n;                   /* records */
    struct fl_firehose_fast_rec *rec; /* n entries (fl_malloc'd, the
                                    caller's to fl_free; NULL when n is 0):
                                    each record's data, printable ASCII
                                    without escapes */
    size_t  bytes;               /* id_len + 1 + the sum of (len + 1) over
                                    the records: the strings with a NUL
                                    after each */
};

/* Scans the Firehose request body p[0..len) in one pass, without jansson,
 * with d's limits. Returns 0 when it is a canonical request that
 * fl_firehose_parse()'s jansson path would accept with the same requestId,
 * timestamp and records: *out describes it. Returns
 * FL_INGEST_FAST_DECLINE for everything else -- errors, escapes, odd
 * shapes, limits, no memory (firehose_fast.c lists the cases) -- and the
 * jansson path must then decide. Never sets an error. */
int fl_firehose_fast_scan(const struct fl_ingest *d, const char *p,
                          size_t len, struct fl_firehose_fast *out);

/* Whether the fast path parsed req (firehose.c; for the tests and the
 * differential fuzzer fuzz_firehose_fast). */
struct fl_firehose_req;
int fl_firehose_req_is_fast(const struct fl_firehose_req *req);

/* Length of the valid UTF-8 sequence at s[0..n) (1 for ASCII), 0 when it
 * is not one jansson would accept (ingest_json.c). */
size_t fl_ingest_utf8_seq(const unsigned char *s, size_t n);

#endif /* FL_INGEST_INT_H */
