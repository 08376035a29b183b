/* SPDX-License-Identifier: MIT
 *
 * ingest.h -- decoders for the payloads AWS services POST to flowlake:
 * the shared types (limits, errors, the per-line callback), the reusable
 * decoder object, and the payload classifier.
 *
 * What arrives, and what comes out (docs/ingest-formats.md has the user's
 * view and the AWS documentation each format follows):
 *
 *   payload := gzip(inner) | inner          (gzip detected by 1f 8b)
 *   inner   := CloudWatch Logs subscription JSON
 *                {"messageType": "DATA_MESSAGE" | "CONTROL_MESSAGE",
 *                 "owner", "logGroup", "logStream", "subscriptionFilters",
 *                 "logEvents": [{"id", "timestamp", "message"}, ...]}
 *            | Lambda event {"awslogs": {"data": base64(payload')}}
 *              where payload' is gzip(CWL JSON) or CWL JSON
 *            | text: flow-log lines separated by "\n" (or "\r\n")
 *
 * A DATA_MESSAGE yields one line per log event (its message, with the
 * event's id and timestamp); a CONTROL_MESSAGE yields nothing; text yields
 * its non-empty lines. Firehose HTTP endpoint requests (firehose.h) carry
 * one such payload per record.
 *
 * Contracts that hold for every decoder here:
 *   - Pure: no I/O, no threads, no globals. A struct fl_ingest has one
 *     owning thread (Thread: the caller's); several decoders may run in
 *     parallel.
 *   - Bounded: every buffer has a ceiling from struct fl_ingest_limits;
 *     going over it is FL_ETOOBIG, checked before the work is done where
 *     possible (a gzip bomb is stopped after max_inflated bytes, not
 *     expanded). JSON is scanned for nesting depth and for the memory its
 *     parse tree would take before jansson builds that tree.
 *   - All or nothing per payload: a payload is fully decoded and validated
 *     before the first line is handed to the callback, so on an error no
 *     line of that payload has been emitted (unless the callback itself
 *     stopped the decode).
 *   - Errors say where: err->msg names the field path ("records[3].data:
 *     invalid base64 at offset 17", "logEvents[2].timestamp: ...") or the
 *     JSON line and column, and is always printable ASCII, so it can go
 *     straight into a log line or a Firehose errorMessage.
 *
 * Memory: the decoder keeps its scratch buffers (decoded base64, inflated
 * gzip, the JSON fast path's event table and decoded strings) between
 * calls, so a server thread that reuses one decoder does not allocate per
 * payload beyond jansson's parse tree and ISA-L's inflate state. Those
 * buffers grow to the largest payload seen (at most the limits) and are
 * freed by fl_ingest_destroy(). CloudWatch Logs JSON normally takes a fast
 * path that builds no tree and allocates nothing per event (cwl_fast.c);
 * jansson, which gets every document the fast path is not sure of, with
 * the same results and messages, allocates with the C library's malloc,
 * outside fl_mem's accounting; its use is bounded by max_json_mem instead.
 */
#ifndef FL_INGEST_H
#define FL_INGEST_H

#include <stddef.h>
#include <stdint.h>

/* Defaults, used for every limits field left at 0. */
#define FL_INGEST_DEFAULT_MAX_RECORDS      10000      /* Firehose maxItems */
#define FL_INGEST_DEFAULT_MAX_RECORD_BYTES 1024000    /* Firehose: 1,000 KiB
                                                         before base64 */
#define FL_INGEST_DEFAULT_MAX_INFLATED     (16 * 1024 * 1024)
#define FL_INGEST_DEFAULT_MAX_RATIO        100        /* flow logs: 10-20 */
#define FL_INGEST_DEFAULT_MAX_JSON_MEM     (128 * 1024 * 1024)
#define FL_INGEST_DEFAULT_MAX_DEPTH        32

/* Ceilings of one decoder. 0 in any field selects its default. */
struct fl_ingest_limits {
    size_t max_records;      /* records in one Firehose request */
    size_t max_record_bytes; /* one Firehose record's data, decoded; the
                                base64 text may be 4 * ceil(n / 3) chars */
    size_t max_inflated;     /* one gzip payload, decompressed; also caps
                                the decoded awslogs.data of a Lambda event */
    unsigned max_ratio;      /* one gzip payload: past 1 MiB out, at most
                                this many times its compressed size
                                (gunzip.h) */
    size_t max_json_mem;     /* estimated parse-tree memory of one JSON
                                document (objects ~256 B, arrays ~160 B,
                                strings ~112 B + length, other values
                                ~56 B), checked before parsing */
    int    max_depth;        /* nesting of arrays and objects in one JSON
                                document (the top-level object is 1) */
};

/* Where and why a decode failed. Caller-owned; filled on every error. */
struct fl_ingest_err {
    long     record;         /* Firehose record index (0-based) the error
                                is about, -1 otherwise */
    unsigned line;           /* JSON syntax and depth errors: 1-based line
                                and column in the JSON text (after base64
                                and gzip decoding); 0 otherwise */
    unsigned column;
    char     msg[512];       /* printable ASCII, NUL-terminated */
};

/* What a payload turned out to be. */
enum fl_ingest_kind {
    FL_INGEST_TEXT = 1,      /* newline-separated lines (maybe none) */
    FL_INGEST_CWL_DATA,      /* CloudWatch Logs DATA_MESSAGE */
    FL_INGEST_CWL_CONTROL    /* CloudWatch Logs CONTROL_MESSAGE: no lines */
};

struct fl_ingest_info {
    enum fl_ingest_kind kind;
    int    gzip;             /* the payload (or awslogs.data) was gzip'd */
    int    awslogs;          /* it came in the Lambda {"awslogs":...} form */
    size_t lines;            /* lines handed to the callback */
};

/* The envelope of a CloudWatch Logs DATA_MESSAGE. NUL-terminated strings,
 * borrowed: valid during the callback only. */
struct fl_cwl_meta {
    const char *owner;       /* AWS account id */
    const char *log_group;
    const char *log_stream;  /* for flow logs "<eni-id>-all" (observed) */
};

/* One flow-log line handed to the callback. Every pointer is borrowed and
 * valid only during the call. */
struct fl_ingest_line {
    const char *p;           /* the line, not NUL-terminated. Text: never
                                empty, no "\n", its "\n" or "\r\n"
                                terminator removed. CWL: the message with
                                trailing "\n"/"\r" removed; may be empty,
                                and contains a "\n" only if the sender
                                put one inside the message */
    size_t      len;
    unsigned long long line_no; /* 1-based: the line number in a text
                                payload, or the event's position in
                                logEvents (logEvents[line_no - 1]) */
    const char *id;          /* CWL event id (NUL-terminated); NULL for
                                text lines */
    int64_t     timestamp_ms;/* CWL event timestamp, ms since the epoch;
                                -1 for text lines */
    const struct fl_cwl_meta *cwl;  /* NULL for text lines */
};

/* Called once per line, in order. Return 0 to go on; any value < 0 stops
 * the decode, which then returns that value (e.g. the WAL's error). */
typedef int fl_ingest_line_fn(void *ctx, const struct fl_ingest_line *line);

/* A decoder: limits plus reusable scratch buffers. */
struct fl_ingest;

/* Creates a decoder with the given limits (NULL: all defaults; copied).
 * Returns 0 or -ENOMEM; on failure *out is untouched. */
int fl_ingest_create(const struct fl_ingest_limits *lim,
                     struct fl_ingest **out);

/* Frees the decoder and its buffers; NULL is a no-op. */
void fl_ingest_destroy(struct fl_ingest *d);

/* The effective limits, defaults filled in. Borrowed from d. */
const struct fl_ingest_limits *fl_ingest_limits(const struct fl_ingest *d);

/* Decodes one payload of any accepted kind (see the grammar above) and
 * calls fn for each flow-log line. data is borrowed for the call; it may be
 * empty (a text payload with no lines). A payload whose first non-blank
 * byte is '{' must be a CloudWatch Logs JSON or a Lambda event; gzip
 * data whose content is gzip again is refused (no nested gzip).
 * out_info (may be NULL) is filled on success. err may be NULL.
 *
 * Returns 0; FL_EPARSE (bad base64, bad JSON, wrong types, unknown
 * messageType, not a CWL payload); FL_ETRUNC / FL_ECORRUPT (gzip);
 * FL_ETOOBIG (a limit); -ENOMEM; or the callback's negative value. On any
 * error no line has been emitted, except before a callback's stop. */
int fl_ingest_decode(struct fl_ingest *d, const void *data, size_t len,
                     fl_ingest_line_fn *fn, void *ctx,
                     struct fl_ingest_info *out_info,
                     struct fl_ingest_err *err);

/* The same, but only CloudWatch Logs payloads are accepted: gzip'd or
 * plain subscription JSON, or the Lambda form. Text is FL_EPARSE ("not a
 * CloudWatch Logs payload: ..."). For an endpoint that receives CWL
 * subscription deliveries directly. */
int fl_ingest_decode_cwl(struct fl_ingest *d, const void *data, size_t len,
                         fl_ingest_line_fn *fn, void *ctx,
                         struct fl_ingest_info *out_info,
                         struct fl_ingest_err *err);

#endif /* FL_INGEST_H */
