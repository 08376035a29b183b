/* SPDX-License-Identifier: MIT
 *
 * fuzz_cidr.c -- libFuzzer target for core/fl_cidr.c: the first line of
 * the input is parsed as a network, the rest as an address. A network
 * always contains its own (masked) address; the hand-written IPv4 parser
 * must agree with inet_pton on what is a dotted quad.
 */
#include "../src/core/fl_config.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/fl_cidr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *nl = memchr(s, '\n', size);
    size_t nlen = nl ? (size_t)(nl - s) : size;
    const char *addr = nl ? nl + 1 : s + size;
    size_t alen = size - (size_t)(addr - s);
    struct fl_cidr net;
    char buf[64], text[64];
    int fam;
    unsigned char a[16], b[16];

    if (fl_cidr_parse(s, nlen, &net) == 0) {
        fl_cidr_mask(&net);
        if (fl_cidr_host_bits(&net))
            abort();
        fl_cidr_format(&net, buf, sizeof buf);
        /* the formatted address (before '/') is inside the network */
        char *slash = strchr(buf, '/');
        if (slash == NULL || !fl_cidr_contains(&net, buf, (size_t)(slash - buf)))
            abort();
        (void)fl_cidr_contains(&net, addr, alen);
    }
    if (alen < sizeof text) {
        memcpy(text, addr, alen);
        text[alen] = '\0';
        int v4 = inet_pton(AF_INET, text, b) == 1 && strlen(text) == alen;
        int ok = fl_cidr_addr_parse(addr, alen, &fam, a) == 0;
        if (v4 && (!ok || fam != 4 || memcmp(a, b, 4) != 0))
            abort();
        if (ok && fam == 4 && !v4)
            abort();
    }
    return 0;
}
