/* SPDX-License-Identifier: MIT
 *
 * fuzz_format.c -- libFuzzer target for the format-string and header-line
 * parsers: any input either builds a format whose string form parses back
 * to the same fields, or fails with a message.
 */
#include "../src/core/fl_config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/fl_mem.h"
#include "../src/parse/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
round_trip(const struct fl_format *fmt)
{
    struct fl_format *again = NULL;
    struct fl_parse_err err;
    char *s = fl_format_to_string(fmt);
    if (s == NULL)
        return;
    if (fl_format_parse(s, &again, &err) != 0)
        abort();
    if (again->n != fmt->n)
        abort();
    for (size_t i = 0; i < fmt->n; i++) {
        if (again->field[i] != fmt->field[i]
            || strcmp(again->name[i], fmt->name[i]) != 0)
            abort();
    }
    fl_format_destroy(again);
    fl_free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fl_format *fmt = NULL;
    struct fl_parse_err err;
    char *spec = fl_strndup((const char *)data, size);
    if (spec == NULL)
        return 0;
    if (fl_format_parse(spec, &fmt, &err) == 0) {
        round_trip(fmt);
        fl_format_destroy(fmt);
        fmt = NULL;
    } else if (err.reason[0] == '\0') {
        abort();                       /* every failure says why */
    }
    if (fl_format_is_header((const char *)data, size)) {
        if (fl_format_from_header((const char *)data, size, &fmt, &err) == 0) {
            round_trip(fmt);
            fl_format_destroy(fmt);
        }
    }
    fl_free(spec);
    return 0;
}
