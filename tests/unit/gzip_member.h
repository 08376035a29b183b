/* SPDX-License-Identifier: MIT
 *
 * gzip_member.h -- gzip test data for the unit tests of the decoders
 * (test_decode.c, test_ingest.c): gz() compresses bytes into one gzip
 * member, at level 6 as CloudWatch Logs does, with zlib -- another
 * implementation than the ISA-L inflater under test.
 *
 * Header-only (static inline), like harness.h: each test is built from
 * its one .c file.
 */
#ifndef FL_TEST_GZIP_MEMBER_H
#define FL_TEST_GZIP_MEMBER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "harness.h"

/* src[0..len) as one gzip member in a new malloc'd buffer (free() it) of
 * *out_len bytes; a zlib failure fails the test. */
static inline unsigned char *
gz(const void *src, size_t len, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    CHECK(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY)
          == Z_OK);
    size_t cap = deflateBound(&z, (uLong)len) + 64;
    unsigned char *out = malloc(cap);
    CHECK(out != NULL);
    z.next_in = (unsigned char *)(uintptr_t)src;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

#endif /* FL_TEST_GZIP_MEMBER_H */
