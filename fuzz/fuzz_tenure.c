/* SPDX-License-Identifier: MIT
 *
 * fuzz_tenure.c -- libFuzzer target for sources/tenure.c: any bytes as
 * the metadata of a Kafka offset commit (what the group hands back is
 * whatever any consumer wrote). A history it accepts is written back
 * within the limits and read again the same; a verdict on it is one of
 * the three.
 */
#include "../src/core/fl_config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/sources/tenure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fl_tenure_history h, back;
    char out[FL_TENURE_TEXT_MAX + 1];
    int rc = fl_tenure_parse((const char *)data, size, &h);
    if (h.n > FL_TENURE_MAX)
        abort();
    enum fl_tenure_verdict v = fl_tenure_judge(
        &h, size > 0 ? data[0] * 1000 : -1, "0123456789ab",
        h.n > 0 ? h.e[0].id : "", 500);
    if (v != FL_TENURE_KEEP && v != FL_TENURE_DROP && v != FL_TENURE_UNKNOWN)
        abort();
    if (rc != 0)
        return 0;
    fl_tenure_begin(&h, "0123456789ab", 42, out, sizeof out);
    if (strlen(out) > FL_TENURE_TEXT_MAX
        || fl_tenure_parse(out, strlen(out), &back) != 0
        || back.n != h.n || back.truncated != h.truncated
        || memcmp(back.e, h.e, h.n * sizeof h.e[0]) != 0)
        abort();
    return 0;
}
