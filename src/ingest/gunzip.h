/* SPDX-License-Identifier: MIT
 *
 * gunzip.h -- bounded gunzip of a memory buffer (ISA-L, via the streaming
 * reader of src/decode/reader.h).
 *
 * Two ceilings are enforced while inflating, as the output is produced:
 * at most max_out bytes are ever produced, and once past
 * FL_GUNZIP_RATIO_FLOOR bytes the output may not be more than max_ratio
 * times the compressed bytes consumed so far. A gzip bomb (2 GB of zeros
 * in 2 MB, deflate's ~1000:1) is thus refused with FL_ETOOBIG after about
 * a mebibyte of output, in milliseconds, instead of costing max_out bytes
 * of memory and the time to inflate them; real flow logs compress 10-20
 * times.
 * Concatenated gzip members are decompressed as one stream; NUL padding
 * after the last member is tolerated; the CRC and length of every member
 * are checked.
 *
 * Thread: any (no shared state).
 */
#ifndef FL_GUNZIP_H
#define FL_GUNZIP_H

#include <stddef.h>

#include "ingest.h"

/* Output below this is never refused for its ratio: a small payload of
 * repetitive text (a CloudWatch Logs control message, a test file) may
 * compress far better than 100:1 and costs nothing. */
#define FL_GUNZIP_RATIO_FLOOR (1024 * 1024)

/* True when buf starts with the gzip magic bytes 1f 8b. */
int fl_gunzip_is_gzip(const void *buf, size_t len);

/* Decompresses src[0..len) into *io_buf, a caller-owned buffer of *io_cap
 * bytes that is grown with fl_realloc() as needed (up to max_out bytes;
 * *io_buf may be NULL with *io_cap 0 at first). The buffer stays the
 * caller's, to reuse or fl_free(), on success and on error. On success
 * *out_len is the decompressed size (0 for an empty member, in which case
 * *io_buf may still be NULL).
 *
 * Returns 0; FL_ECORRUPT when src does not start with the gzip magic
 * ("not gzip data"), for damaged deflate data, a bad CRC or trailing
 * garbage; FL_ETRUNC when src ends inside a member; FL_ETOOBIG when the
 * output would exceed max_out ("gzip data inflates to more than N bytes
 * (the limit)") or, past FL_GUNZIP_RATIO_FLOOR, max_ratio times the
 * compressed bytes consumed ("gzip data inflates to more than R times its
 * compressed size (...)"; max_ratio 0 = no ratio ceiling); -ENOMEM. err (may be NULL) gets the message, with the
 * compressed offset where one is known. */
int fl_gunzip(const void *src, size_t len, size_t max_out,
              unsigned max_ratio, char **io_buf, size_t *io_cap, size_t *out_len,
              struct fl_ingest_err *err);

#endif /* FL_GUNZIP_H */
