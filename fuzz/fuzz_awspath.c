/* SPDX-License-Identifier: MIT
 *
 * fuzz_awspath.c -- libFuzzer target for core/fl_awspath.c: any bytes as
 * a path. What it finds must be well-formed (12 digits, a region of
 * [a-z0-9-]) and AWSLogs must point at "AWSLogs/" inside the input.
 */
#include "../src/core/fl_config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/fl_awspath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fl_awspath a;
    int found = fl_awspath_parse((const char *)data, size, &a);
    size_t al = strlen(a.account), rl = strlen(a.region);
    if (found != (al > 0 || rl > 0))
        abort();
    if (al != 0 && al != 12)
        abort();
    for (size_t i = 0; i < al; i++) {
        if (a.account[i] < '0' || a.account[i] > '9')
            abort();
    }
    if (rl > 31 || strspn(a.region, "abcdefghijklmnopqrstuvwxyz0123456789-")
                   != rl)
        abort();
    if (a.awslogs_at >= 0
        && ((size_t)a.awslogs_at + 8 > size
            || memcmp(data + a.awslogs_at, "AWSLogs/", 8) != 0))
        abort();
    return 0;
}
