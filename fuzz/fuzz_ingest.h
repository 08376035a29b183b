/* SPDX-License-Identifier: MIT
 *
 * fuzz_ingest.h -- what the ingest fuzz targets (fuzz_cwl.c,
 * fuzz_cwl_fast.c, fuzz_firehose.c, fuzz_firehose_fast.c) check and build
 * alike: the promises every emitted line and every error message keep,
 * the comparison of two errors, and the inputs they make from the fuzzer's
 * bytes (gzip, the Lambda {"awslogs"} envelope, the bytes put inside a
 * valid document).
 *
 * Each target is built from its one .c file (make fuzz, and the replay
 * binaries of make fuzz-replay), so this is a header of static inline
 * functions: a target that does not use one gets no warning for it.
 */
#ifndef FL_FUZZ_INGEST_H
#define FL_FUZZ_INGEST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../src/core/fl_base64.h"
#include "../src/ingest/ingest.h"

/* The Firehose targets' limits: small, so that the fuzzer reaches them. */
#define FUZZ_FIREHOSE_LIMITS {                                           \
        .max_records = 64, .max_record_bytes = 64 * 1024,               \
        .max_inflated = 256 * 1024, .max_json_mem = 4 * 1024 * 1024,    \
        .max_depth = 8,                                                 \
    }


/* Splits the fuzzer's input: its first byte is the mode (*mode), the rest
 * the payload (*p, *n); when the mode has any of param_bits, the
 * payload's first byte is taken as a parameter (*param) first. 0 when the
 * input is too short for that (the target then has nothing to do). */
static inline int
fuzz_split(const uint8_t *data, size_t size, unsigned param_bits,
           unsigned *mode, unsigned *param, const uint8_t **p, size_t *n)
{
    if (size == 0)
        return 0;
    *mode = data[0];
    *p = data + 1;
    *n = size - 1;
    *param = 0;
    if (*mode & param_bits) {
        if (*n == 0)
            return 0;
        *param = (*p)[0];
        (*p)++;
        (*n)--;
    }
    return 1;
}


/* What fuzz_check_line saw of one decode. */
struct fuzz_lines {
    size_t             lines;
    unsigned long long last_no;
    unsigned           sum;     /* every byte read, so none is skipped */
};


/* A line callback (ctx: struct fuzz_lines) that aborts unless the line
 * keeps the decoder's promises: line numbers rising; a text line has no
 * id, no timestamp, no newline and is not empty; a CloudWatch Logs line
 * has an id, a timestamp and its payload's owner, group and stream. */
static inline int
fuzz_check_line(void *ctx, const struct fl_ingest_line *l)
{
    struct fuzz_lines *s = ctx;
    if (l->len > 0 && l->p == NULL)
        abort();
    if (l->line_no <= s->last_no)
        abort();
    s->last_no = l->line_no;
    if (l->cwl == NULL) {
        if (l->id != NULL || l->timestamp_ms != -1 || l->len == 0)
            abort();
        if (memchr(l->p, '\n', l->len) != NULL)
            abort();
    } else {
        if (l->id == NULL || l->timestamp_ms < 0 || l->cwl->owner == NULL
            || l->cwl->log_group == NULL || l->cwl->log_stream == NULL)
            abort();
    }
    for (size_t i = 0; i < l->len; i++)
        s->sum += (unsigned char)l->p[i];
    s->lines++;
    return 0;
}


/* Aborts unless an error message is there and printable ASCII. */
static inline void
fuzz_check_msg(const struct fl_ingest_err *err)
{
    if (err->msg[0] == '\0')
        abort();
    for (const char *p = err->msg; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            abort();
}


/* Whether two errors are the same to the letter and the position. */
static inline int
fuzz_same_err(const struct fl_ingest_err *a, const struct fl_ingest_err *b)
{
    return strcmp(a->msg, b->msg) == 0 && a->record == b->record
           && a->line == b->line && a->column == b->column;
}


/* p[0..n) gzip'd (malloc'd, *out_len bytes), or NULL. */
static inline unsigned char *
fuzz_gzip(const uint8_t *p, size_t n, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY)
        != Z_OK)
        return NULL;
    size_t cap = deflateBound(&z, (uLong)n) + 64;
    unsigned char *out = malloc(cap);
    if (out == NULL) {
        deflateEnd(&z);
        return NULL;
    }
    z.next_in = (unsigned char *)(uintptr_t)p;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
        free(out);
        deflateEnd(&z);
        return NULL;
    }
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}


/* {"awslogs":{"data":"<base64 of p>"}} (malloc'd, *out_len bytes), or
 * NULL. */
static inline char *
fuzz_awslogs(const unsigned char *p, size_t n, size_t *out_len)
{
    static const char head[] = "{\"awslogs\":{\"data\":\"", tail[] = "\"}}";
    char *out = malloc(sizeof head + FL_BASE64_ENCODED_LEN(n) + sizeof tail);
    if (out == NULL)
        return NULL;
    char *o = out;
    memcpy(o, head, sizeof head - 1);
    o += sizeof head - 1;
    o += fl_base64_encode(p, n, o);
    memcpy(o, tail, sizeof tail - 1);
    o += sizeof tail - 1;
    *out_len = (size_t)(o - out);
    return out;
}


/* pre, then p[0..n), then post (malloc'd, *out_len bytes), or NULL: the
 * fuzzer's bytes inside a valid document, so that its mutations mostly
 * stay in the shape the fast paths accept. */
static inline char *
fuzz_wrap(const char *pre, const uint8_t *p, size_t n, const char *post,
          size_t *out_len)
{
    size_t a = strlen(pre), b = strlen(post);
    char *doc = malloc(a + n + b);
    if (doc == NULL)
        return NULL;
    memcpy(doc, pre, a);
    if (n > 0)
        memcpy(doc + a, p, n);
    memcpy(doc + a + n, post, b);
    *out_len = a + n + b;
    return doc;
}

#endif /* FL_FUZZ_INGEST_H */
