/* SPDX-License-Identifier: MIT
 *
 * firehose.h -- Kinesis Data Firehose HTTP endpoint delivery: the request
 * body and the response bodies (AWS "HTTP Endpoint Delivery Request and
 * Response Specifications",
 * https://docs.aws.amazon.com/firehose/latest/dev/httpdeliveryrequestresponse.html).
 *
 * Request body (Content-Type: application/json; the caller has already
 * bounded its size and undone any Content-Encoding: gzip, e.g. with
 * fl_gunzip()):
 *
 *   {"requestId": "<string, 1..1024 bytes>",
 *    "timestamp": <integer ms since the epoch; optional>,
 *    "records": [{"data": "<base64, maybe empty>"}, ...]}
 *
 * Unknown keys are ignored; duplicate keys are an error. The timestamp is
 * also accepted as a string of digits (AWS's own failure-response example
 * writes it that way). AWS's request example is
 * not valid JSON (a comma is missing) and is refused like any broken JSON.
 *
 * Two levels of errors:
 *   - request level, from fl_firehose_parse(): the body is not the
 *     schema above (broken JSON, missing or mistyped requestId / records /
 *     data, too many records, a data string longer than the record limit
 *     allows). Nothing of the request can be trusted; answer 4xx.
 *   - record level, from fl_firehose_record_data() / _decode(): one
 *     record's content is bad (base64, gzip, CloudWatch Logs JSON). The
 *     other records are unaffected; err->record names the record and
 *     err->msg starts with "records[i].data: ".
 *
 * Thread: a request is owned by one thread (it may be read from several
 * threads once parsed, if each uses its own struct fl_ingest).
 */
#ifndef FL_FIREHOSE_H
#define FL_FIREHOSE_H

#include <stddef.h>
#include <stdint.h>

#include "ingest.h"

/* Longest requestId accepted (Firehose sends a 36-character GUID). */
#define FL_FIREHOSE_MAX_REQUEST_ID    1024
/* errorMessage is truncated to this many bytes (the spec's maximum). */
#define FL_FIREHOSE_MAX_ERROR_MESSAGE 8192
/* A response buffer of this size always suffices for a requestId of at
 * most FL_FIREHOSE_MAX_REQUEST_ID bytes (every byte escaped as \uXXXX). */
#define FL_FIREHOSE_RESPONSE_MAX \
    (6 * (FL_FIREHOSE_MAX_REQUEST_ID + FL_FIREHOSE_MAX_ERROR_MESSAGE) + 128)

/* A parsed request. Opaque; owns a copy of everything it needs from the
 * body, which may be freed right after parsing. */
struct fl_firehose_req;

/* Parses and validates a request body with d's limits (max_records,
 * max_record_bytes, max_depth, max_json_mem). The records' base64 is not
 * decoded here. err may be NULL.
 *
 * Returns 0 and *out (free with fl_firehose_destroy); FL_EPARSE ("invalid
 * JSON at line 4, column 3: ...", "requestId: missing", "records:
 * expected an array, got an object", "records[1].data: expected a string,
 * got an integer", ...); FL_ETOOBIG ("records: 10001 records, over the
 * limit of 10000", data too long, JSON too deep or too big); -ENOMEM. On
 * failure *out is untouched and nothing leaks. */
int fl_firehose_parse(const struct fl_ingest *d, const char *body,
                      size_t len, struct fl_firehose_req **out,
                      struct fl_ingest_err *err);

/* NULL is a no-op. */
void fl_firehose_destroy(struct fl_firehose_req *req);

/* The requestId (NUL-terminated, valid UTF-8, borrowed from req). */
const char *fl_firehose_request_id(const struct fl_firehose_req *req);

/* The request's timestamp in ms since the epoch, -1 when absent. */
int64_t fl_firehose_timestamp(const struct fl_firehose_req *req);

/* Number of records (may be 0). */
size_t fl_firehose_nrecords(const struct fl_firehose_req *req);

/* Record i's data as sent: base64 text, borrowed from req (for keeping a
 * rejected record verbatim, as Firehose's rawData does). i < nrecords. */
void fl_firehose_record_b64(const struct fl_firehose_req *req, size_t i,
                            const char **out, size_t *out_len);

/* Record i's data, base64-decoded into d's scratch buffer: *out is valid
 * until the next call on d. Returns 0, FL_EPARSE (bad base64), FL_ETOOBIG
 * or -ENOMEM; err->msg is prefixed "records[i].data: ". */
int fl_firehose_record_data(struct fl_ingest *d,
                            const struct fl_firehose_req *req, size_t i,
                            const void **out, size_t *out_len,
                            struct fl_ingest_err *err);

/* Record i, decoded all the way: base64, then fl_ingest_decode() (text
 * lines, or a gzip'd / plain CloudWatch Logs payload), fn called per line.
 * Returns as fl_ingest_decode(); err->record = i and err->msg is prefixed
 * "records[i].data: " on a decoding error. */
int fl_firehose_record_decode(struct fl_ingest *d,
                              const struct fl_firehose_req *req, size_t i,
                              fl_ingest_line_fn *fn, void *ctx,
                              struct fl_ingest_info *out_info,
                              struct fl_ingest_err *err);

/* Writes a response body into buf (cap bytes, NUL-terminated):
 *   success (error_message NULL): {"requestId":"...","timestamp":N}
 *   failure:  {"requestId":"...","timestamp":N,"errorMessage":"..."}
 * request_id must be the request's (from fl_firehose_request_id(), or
 * from the X-Amz-Firehose-Request-Id header when the body could not be
 * parsed); timestamp_ms is the time of the response. Strings are escaped
 * by jansson; bytes that are not valid UTF-8 become '?', and errorMessage
 * is cut at FL_FIREHOSE_MAX_ERROR_MESSAGE bytes (on a character
 * boundary). *out_len (may be NULL) gets the length without the NUL.
 *
 * Returns 0; FL_ETOOBIG when request_id is longer than
 * FL_FIREHOSE_MAX_REQUEST_ID or the body does not fit in cap (never with
 * cap >= FL_FIREHOSE_RESPONSE_MAX); -ENOMEM. */
int fl_firehose_response(const char *request_id, int64_t timestamp_ms,
                         const char *error_message, char *buf, size_t cap,
                         size_t *out_len);

/* ---- request headers ------------------------------------------------
 *
 * Firehose names the delivery in two headers of each request (AWS "HTTP
 * Endpoint Delivery Request and Response Specifications",
 * https://docs.aws.amazon.com/firehose/latest/dev/httpdeliveryrequestresponse.html):
 *   X-Amz-Firehose-Source-Arn: arn:<partition>:firehose:<region>:
 *       <account>:deliverystream/<name>
 *   X-Amz-Firehose-Common-Attributes: {"commonAttributes": {"k": "v", ...}}
 * (the parameters configured on the stream's destination). */

/* What a source ARN names. */
struct fl_firehose_source {
    char region[33];         /* [a-z0-9-], 1..32 */
    char account[13];        /* 12 digits */
    char stream[65];         /* [A-Za-z0-9_.-], 1..64 (AWS's rule for
                                delivery stream names) */
};

/* Parses a source ARN (len bytes, not necessarily NUL-terminated).
 * Returns 0, or FL_EPARSE when it is not a Firehose delivery stream ARN
 * of that shape (out is then zeroed). */
int fl_firehose_source_arn(const char *arn, size_t len,
                           struct fl_firehose_source *out);

/* Longest common-attributes header taken (Firehose allows 50 parameters
 * of short names and values). */
#define FL_FIREHOSE_MAX_ATTRIBUTES 8192

/* The common-attributes header's inner object as compact JSON with its
 * keys sorted (the same attributes give the same text whatever order
 * they came in), e.g. {"env":"prod","team":"net"}, into out (cap bytes,
 * NUL-terminated; *out_len, may be NULL, without the NUL). An empty
 * object gives "{}". Returns 0; FL_EPARSE (not JSON, no commonAttributes
 * object, a value that is not a string, a duplicate key, longer than
 * FL_FIREHOSE_MAX_ATTRIBUTES); FL_ETOOBIG (out too small); -ENOMEM. */
int fl_firehose_common_attributes(const char *hdr, size_t len, char *out,
                                  size_t cap, size_t *out_len);

#endif /* FL_FIREHOSE_H */
