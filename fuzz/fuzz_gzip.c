/* SPDX-License-Identifier: MIT
 *
 * fuzz_gzip.c -- libFuzzer target for the plain/gzip reader and the line
 * splitter: any byte string is read to its end or to a clean error, with
 * line numbers increasing and blocks within bounds.
 */
#include "../src/core/fl_config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/decode/lines.h"
#include "../src/decode/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fl_reader *r = NULL;
    struct fl_lines *l = NULL;
    if (fl_reader_open_mem(data, size, &r) < 0)
        return 0;
    /* A small max_line exercises the over-long path. */
    if (fl_lines_create(r, 128, &l) < 0) {
        fl_reader_close(r);
        return 0;
    }
    unsigned long long next = 1;
    volatile unsigned sum = 0;
    for (;;) {
        struct fl_line_block b;
        int rc = fl_lines_next(l, 3, &b);
        if (rc < 0 || b.nlines == 0)
            break;
        if (b.first_line != next || b.nlines > 3)
            abort();
        if (b.overlong && (b.nlines != 1 || b.len != 128))
            abort();
        for (size_t i = 0; i < b.len; i++)
            sum += (unsigned char)b.p[i];
        next += b.nlines;
    }
    (void)sum;
    fl_lines_destroy(l);
    return 0;
}
