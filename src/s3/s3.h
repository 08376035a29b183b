/* SPDX-License-Identifier: MIT
 *
 * s3.h -- a small client for S3-compatible object storage: the calls the
 * archive's replication needs (PUT, multipart upload, HEAD, DELETE, a
 * listing by prefix), each signed with AWS Signature Version 4 by libcurl
 * (CURLOPT_AWS_SIGV4) and retried with backoff.
 *
 * What libcurl 7.88 (Debian 12) leaves to its caller, and this client does:
 *   - the x-amz-content-sha256 header: S3 requires it on every request;
 *     we send the real SHA-256 of the body (curl signs it), so the store
 *     refuses a body damaged on the way (XAmzContentSHA256Mismatch);
 *   - query parameters in sorted order (curl signs them as written) and
 *     every parameter with its '=' ("?uploads=", not "?uploads");
 *   - each key segment percent-encoded as the canonical request wants it
 *     ('=' in "year=2026" is "%3D"): curl signs the path as written.
 *
 * Retried: a transfer that failed (connection refused or reset, timeout),
 * HTTP 500, 502, 503, 504, 429, and S3's 400 RequestTimeout; the wait
 * doubles from 200 ms up to max_backoff, with 15% jitter either way.
 * Not retried: every other 4xx (a wrong key, a missing bucket, a
 * signature the store refuses): the error names the store's <Code> and
 * <Message>.
 *
 * Thread: a struct fl_s3 is used by one thread at a time (it keeps one
 * curl handle, so connections are reused).
 */
#ifndef FL_S3_H
#define FL_S3_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/fl_error.h"

struct fl_s3_config {
    const char *url;          /* s3://BUCKET/PREFIX/ */
    const char *endpoint;     /* http(s)://HOST[:PORT]; "" = AWS's for region */
    const char *region;       /* us-east-1 */
    const char *access_key;   /* "" = $AWS_ACCESS_KEY_ID */
    const char *secret_key;   /* "" = $AWS_SECRET_ACCESS_KEY */
    const char *session_token;/* "" = $AWS_SESSION_TOKEN (may be unset) */
    int         path_style;   /* 1: ENDPOINT/BUCKET/KEY; 0: BUCKET.HOST/KEY */
    uint64_t    part_size;    /* bytes; larger files go multipart */
    uint64_t    retries;      /* attempts after the first */
    uint64_t    max_backoff_ms;
    uint64_t    timeout_ms;   /* one request, whole */
    uint64_t    manifest_retention; /* seconds a change's manifest is kept
                                     * in the store; 0 = for ever (the
                                     * uploader's, not the client's) */
};

struct fl_s3;
struct fl_config;

/* The [s3] keys of a loaded configuration (cfg keeps the strings). */
void fl_s3_config_from(struct fl_s3_config *out, const struct fl_config *cfg);

/* Counters since create (for /api/status and the benchmark). */
struct fl_s3_stats {
    uint64_t requests, retries;
    uint64_t bytes_sent;
};

/* Splits and checks cfg (the URL's bucket, the credentials); copies what
 * it keeps. Returns 0, or <0 with err set (FL_ECONFIG: what is wrong). */
int  fl_s3_create(const struct fl_s3_config *cfg, struct fl_s3 **out,
                  struct fl_err *err);
void fl_s3_destroy(struct fl_s3 *s3);

/* "s3://bucket/prefix/" + rel, for messages and manifests. */
const char *fl_s3_bucket(const struct fl_s3 *s3);
const char *fl_s3_prefix(const struct fl_s3 *s3);   /* "" or "a/b/" */

/* PUT of len bytes from data as PREFIX + rel. */
int  fl_s3_put(struct fl_s3 *s3, const char *rel, const void *data,
               size_t len, const char *content_type, struct fl_err *err);

/* Uploads the file at path as PREFIX + rel: one PUT up to part_size,
 * else a multipart upload of part_size parts (aborted on failure).
 * Then checks with a HEAD that the store holds exactly the file's size.
 * *bytes gets the size. */
int  fl_s3_put_file(struct fl_s3 *s3, const char *rel, const char *path,
                    uint64_t *bytes, struct fl_err *err);

/* HEAD: *size of PREFIX + rel. -ENOENT when there is no such object. */
int  fl_s3_head(struct fl_s3 *s3, const char *rel, uint64_t *size,
                struct fl_err *err);

/* DELETE of PREFIX + rel (no object is no error: S3 answers 204). */
int  fl_s3_delete(struct fl_s3 *s3, const char *rel, struct fl_err *err);

/* Calls fn for every object under PREFIX + rel_prefix, with its key
 * relative to PREFIX and its size, in the store's order; a non-zero
 * return of fn stops and is returned. */
typedef int fl_s3_list_fn(void *ctx, const char *rel, uint64_t size);
int  fl_s3_list(struct fl_s3 *s3, const char *rel_prefix, fl_s3_list_fn *fn,
                void *ctx, struct fl_err *err);

void fl_s3_get_stats(const struct fl_s3 *s3, struct fl_s3_stats *out);

/* While *flag is non-zero, every call gives up (-ECANCELED) at its next
 * chance: a transfer is aborted, a backoff cut short. NULL: never. */
void fl_s3_set_cancel(struct fl_s3 *s3, const _Atomic int *flag);

#endif /* FL_S3_H */
