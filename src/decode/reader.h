/* SPDX-License-Identifier: MIT
 *
 * reader.h -- a byte stream from a file, stdin or memory, transparently
 * gunzipped.
 *
 * Gzip is detected by its magic bytes (1f 8b), not by the file name, so a
 * .log that is really compressed (or a .gz that is not) reads right.
 * Concatenated gzip members (what `cat a.gz b.gz` and many log shippers
 * produce) are read as one stream. Memory is bounded: one input buffer and
 * zlib's window, whatever the input size.
 *
 * Errors say where: a truncated stream reports FL_ETRUNC, damaged data
 * FL_ECORRUPT, each with a message (fl_reader_error) giving the compressed
 * offset at which it was found.
 *
 * Thread: one owner.
 */
#ifndef FL_READER_H
#define FL_READER_H

#include <stddef.h>
#include <stdint.h>

#include "../core/fl_digest.h"

struct fl_reader;

/* Opens path, or stdin when path is "-". Returns 0 or -errno; on failure
 * *out is untouched. */
int fl_reader_open_path(const char *path, struct fl_reader **out);

/* Reads from a caller-owned buffer (borrowed: must outlive the reader). */
int fl_reader_open_mem(const void *buf, size_t len, struct fl_reader **out);

/* Reads up to cap decompressed bytes into buf. *out_n = 0 means end of
 * input. Returns 0, -errno, FL_ETRUNC or FL_ECORRUPT; after an error every
 * later call returns the same error. */
int fl_reader_read(struct fl_reader *r, char *buf, size_t cap, size_t *out_n);

/* Starts a digest of the raw (still compressed) bytes, to be taken with
 * fl_reader_digest() once the input is read to its end. Call before the
 * first read. Returns 0 or -ENOMEM. */
int fl_reader_enable_digest(struct fl_reader *r);
int fl_reader_digest(const struct fl_reader *r, struct fl_digest *out);

/* For reading the start of a stream only (a first line): the inflater is
 * given a little compressed input at a time and each read returns as soon
 * as it has output. Without it a read inflates as much as the caller's
 * buffer takes -- all of an hourly S3 object, which the convert then
 * inflates again when its turn comes. Call before the first read. */
void fl_reader_set_peek(struct fl_reader *r);

/* True once the first bytes showed a gzip stream (valid after one read). */
int fl_reader_is_gzip(const struct fl_reader *r);

/* Raw (compressed) bytes consumed so far, for progress reports. */
uint64_t fl_reader_raw_offset(const struct fl_reader *r);

/* Text describing the last error; "" when none. */
const char *fl_reader_error(const struct fl_reader *r);

void fl_reader_close(struct fl_reader *r);

#endif /* FL_READER_H */
