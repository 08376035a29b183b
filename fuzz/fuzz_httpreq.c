/* SPDX-License-Identifier: MIT
 *
 * fuzz_httpreq.c -- libFuzzer target for core/fl_httpreq.c: the input is a
 * request target and an Authorization header value (split at the first
 * newline). A target taken must start with '/' and hold no '%', control
 * byte, "//" or dot segment in its path; a bearer token found must lie
 * inside the value, be non-empty and free of blanks; a token always
 * matches the digest of itself.
 */
#include "../src/core/fl_config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/fl_httpreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_target(const char *t)
{
    if (!fl_httpreq_target_ok(t))
        return;
    size_t plen = strcspn(t, "?");
    if (t[0] != '/' || memchr(t, '%', plen) != NULL)
        abort();
    for (size_t i = 0; i < strlen(t); i++)
        if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
            abort();
    for (size_t i = 0; i + 1 < plen; i++)
        if (t[i] == '/' && t[i + 1] == '/')
            abort();
    for (size_t i = 0; i < plen; i++) {
        if (t[i] != '/')
            continue;
        size_t n = strcspn(t + i + 1, "/?");
        if ((n == 1 && t[i + 1] == '.')
            || (n == 2 && t[i + 1] == '.' && t[i + 2] == '.'))
            abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    char *nl = strchr(s, '\n');
    const char *value = "";
    if (nl != NULL) {
        *nl = '\0';
        value = nl + 1;
    }
    check_target(s);

    const char *tok;
    size_t len;
    if (fl_httpreq_bearer(value, &tok, &len)) {
        size_t vlen = strlen(value);
        if (len == 0 || tok < value || tok + len > value + vlen)
            abort();
        for (size_t i = 0; i < len; i++)
            if (tok[i] == ' ' || tok[i] == '\t')
                abort();
        unsigned char d[FL_SHA256_LEN];
        fl_sha256(tok, len, d);
        if (!fl_httpreq_key_matches(tok, len, d))
            abort();
    }
    free(s);
    return 0;
}
