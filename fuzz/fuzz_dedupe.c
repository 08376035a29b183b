/* SPDX-License-Identifier: MIT
 *
 * fuzz_dedupe.c -- libFuzzer target for the dedupe file parser
 * (src/pipeline/dedupe.c, fl_dedupe_load): any input either loads, and then
 * encodes back to a file that loads again to the same keys, or is refused
 * with FL_ECORRUPT, a non-empty reason and nothing added. Inputs with a
 * valid checksum are rare by chance, so the second half of the input is
 * also tried with a correct checksum appended. No allocation is left
 * behind.
 */
#include "../src/core/fl_config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "../src/core/fl_error.h"
#include "../src/core/fl_mem.h"
#include "../src/pipeline/dedupe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const uint8_t *data, size_t size)
{
    struct fl_dedupe *d = NULL, *e = NULL;
    unsigned char *buf = NULL;
    size_t len = 0;
    char reason[256] = "";
    /* Horizon 0: nothing expires, so every key loaded must come back. */
    if (fl_dedupe_create(64, 0, &d) != 0)
        abort();
    int rc = fl_dedupe_load(d, data, size, reason, sizeof reason);
    if (rc == FL_ECORRUPT) {
        if (reason[0] == '\0' || fl_dedupe_size(d) != 0)
            abort();
    } else if (rc == 0) {
        if (fl_dedupe_encode(d, &buf, &len) != 0)
            abort();
        if (fl_dedupe_create(64, 0, &e) != 0
            || fl_dedupe_load(e, buf, len, reason, sizeof reason) != 0
            || fl_dedupe_size(e) != fl_dedupe_size(d))
            abort();
        /* The same keys, in the same order: the encodings match past the
         * save time (bytes 16..23). */
        unsigned char *buf2 = NULL;
        size_t len2 = 0;
        if (fl_dedupe_encode(e, &buf2, &len2) != 0 || len2 != len
            || memcmp(buf + 24, buf2 + 24, len - 32) != 0)
            abort();
        fl_free(buf2);
        fl_free(buf);
        fl_dedupe_destroy(e);
    } else {
        abort();
    }
    fl_dedupe_destroy(d);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(data, size);
    /* The input with a right checksum appended, to reach the entries. */
    uint8_t *fixed = malloc(size + 8);
    if (fixed == NULL)
        return 0;
    memcpy(fixed, data, size);
    uint64_t h = XXH3_64bits(data, size);
    for (int i = 0; i < 8; i++)
        fixed[size + i] = (uint8_t)(h >> (8 * i));
    check(fixed, size + 8);
    free(fixed);
    if (fl_mem_used() != 0)
        abort();
    return 0;
}
