/* SPDX-License-Identifier: MIT
 *
 * fuzz_outbox_change.c -- libFuzzer target for archive/change.c: any
 * bytes as an outbox change file. What it accepts must be safe to act on:
 * puts numbered 0, 1, 2... in order, every path relative and free of "."
 * and ".." segments (so no key leaves the prefix), a put never a folder.
 */
#include "../src/core/fl_config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/archive/outbox.h"
#include "../src/core/fl_mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static int
has_dot_segment(const char *p)
{
    for (const char *s = p; s != NULL; s = strchr(s, '/') ? strchr(s, '/') + 1 : NULL) {
        size_t len = strcspn(s, "/");
        if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
            return 1;
    }
    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct fl_change_item *items = NULL;
    size_t n = 0;
    struct fl_err err = FL_ERR_INIT;
    if (fl_change_parse("fuzz", text, &items, &n, &err) == 0) {
        unsigned next = 0;
        for (size_t i = 0; i < n; i++) {
            const char *r = items[i].rel;
            if (r[0] == '\0' || r[0] == '/' || has_dot_segment(r))
                abort();
            if (items[i].put) {
                if (items[i].index != next++ || r[strlen(r) - 1] == '/')
                    abort();
            }
        }
        fl_free(items);
    } else if (err.msg[0] == '\0') {
        abort();                       /* a refusal always says why */
    }
    free(text);
    return 0;
}
