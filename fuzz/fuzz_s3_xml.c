/* SPDX-License-Identifier: MIT
 *
 * fuzz_s3_xml.c -- libFuzzer target for s3/xml.c: any bytes as an
 * object store's answer. Element values and listing keys must come back
 * NUL-terminated within their buffers, a listing's callback sees only
 * keys shorter than S3's limit, and nothing reads past the answer.
 */
#include "../src/core/fl_config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/s3/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static int
check_object(void *ctx, const char *key, uint64_t bytes)
{
    size_t *n = ctx;
    (void)bytes;
    if (strlen(key) >= 2048)
        abort();
    return ++*n >= 100000;           /* a stop is passed back */
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *xml = malloc(size + 1);
    if (xml == NULL)
        return 0;
    memcpy(xml, data, size);
    xml[size] = '\0';
    char small[8], code[128];
    const char *at = xml;
    while (fl_s3_xml_value(xml, &at, "Code", code, sizeof code) == 0) {
        if (strlen(code) >= sizeof code || at < xml || at > xml + size)
            abort();
    }
    if (fl_s3_xml_value(xml, NULL, "UploadId", small, sizeof small) == 0
        && strlen(small) >= sizeof small)
        abort();
    size_t n = 0;
    int truncated = -1;
    char token[64];
    int rc = fl_s3_xml_list_page(xml, check_object, &n, &truncated, token,
                                 sizeof token);
    if (rc == 0 && truncated != 0 && truncated != 1)
        abort();
    if (rc == 0 && truncated == 1 && strlen(token) >= sizeof token)
        abort();
    free(xml);
    return 0;
}
