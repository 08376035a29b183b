/* SPDX-License-Identifier: MIT
 *
 * fl_cidr.c -- IPv4/IPv6 network parsing and membership (see fl_cidr.h).
 *
 * The IPv4 path is the hot one (cidr_contains() in a metric's WHERE runs
 * per row): a single pass over at most 15 bytes into a uint32, then one
 * masked compare. IPv6 text needs a NUL-terminated copy for inet_pton(),
 * which is bounded by INET6_ADDRSTRLEN; longer text is not an address.
 */
#include "fl_config.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fl_cidr.h"
#include "fl_error.h"


/* Dotted quad to a host-order uint32: exactly four decimal octets of 1-3
 * digits, each <= 255, no leading zero (inet_pton's rules). */
static int
parse_v4(const char *s, size_t len, uint32_t *out)
{
    const char *p = s, *end = s + len;
    uint32_t v = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (p == end || *p != '.')
                return -1;
            p++;
        }
        if (p == end || *p < '0' || *p > '9')
            return -1;
        unsigned o = (unsigned)(*p++ - '0');
        int digits = 1;
        while (p < end && *p >= '0' && *p <= '9') {
            if (o == 0 || ++digits > 3)
                return -1;              /* leading zero, or too long */
            o = o * 10 + (unsigned)(*p++ - '0');
        }
        if (o > 255)
            return -1;
        v = v << 8 | o;
    }
    if (p != end)
        return -1;
    *out = v;
    return 0;
}


static int
parse_v6(const char *s, size_t len, unsigned char addr[16])
{
    char buf[INET6_ADDRSTRLEN + 1];
    if (len == 0 || len >= sizeof buf || memchr(s, ':', len) == NULL)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return inet_pton(AF_INET6, buf, addr) == 1 ? 0 : -1;
}


int
fl_cidr_addr_parse(const char *s, size_t len, int *family,
                   unsigned char addr[16])
{
    uint32_t v4;
    unsigned char a[16];
    if (parse_v4(s, len, &v4) == 0) {
        memset(addr, 0, 16);
        addr[0] = (unsigned char)(v4 >> 24);
        addr[1] = (unsigned char)(v4 >> 16);
        addr[2] = (unsigned char)(v4 >> 8);
        addr[3] = (unsigned char)v4;
        *family = 4;
        return 0;
    }
    if (parse_v6(s, len, a) == 0) {
        memcpy(addr, a, 16);
        *family = 6;
        return 0;
    }
    return FL_EPARSE;
}


int
fl_cidr_parse(const char *s, size_t len, struct fl_cidr *out)
{
    struct fl_cidr n;
    const char *slash = memchr(s, '/', len);
    size_t alen = slash ? (size_t)(slash - s) : len;
    memset(&n, 0, sizeof n);
    if (fl_cidr_addr_parse(s, alen, &n.family, n.addr) != 0)
        return FL_EPARSE;
    unsigned max = n.family == 4 ? 32 : 128;
    n.prefix = max;
    if (slash != NULL) {
        const char *p = slash + 1, *end = s + len;
        if (p == end || end - p > 3 || (*p == '0' && end - p > 1))
            return FL_EPARSE;
        unsigned v = 0;
        for (; p < end; p++) {
            if (*p < '0' || *p > '9')
                return FL_EPARSE;
            v = v * 10 + (unsigned)(*p - '0');
        }
        if (v > max)
            return FL_EPARSE;
        n.prefix = v;
    }
    *out = n;
    return 0;
}


/* Byte i of the mask of a prefix. */
static unsigned char
mask_byte(unsigned prefix, unsigned i)
{
    if (prefix >= (i + 1) * 8)
        return 0xff;
    if (prefix <= i * 8)
        return 0;
    return (unsigned char)(0xff << (8 - (prefix - i * 8)));
}


int
fl_cidr_host_bits(const struct fl_cidr *net)
{
    for (unsigned i = 0; i < 16; i++)
        if (net->addr[i] & (unsigned char)~mask_byte(net->prefix, i))
            return 1;
    return 0;
}


void
fl_cidr_mask(struct fl_cidr *net)
{
    for (unsigned i = 0; i < 16; i++)
        net->addr[i] &= mask_byte(net->prefix, i);
}


char *
fl_cidr_format(const struct fl_cidr *net, char *buf, size_t size)
{
    char a[INET6_ADDRSTRLEN];
    if (inet_ntop(net->family == 4 ? AF_INET : AF_INET6, net->addr, a,
                  sizeof a) == NULL)
        a[0] = '\0';
    snprintf(buf, size, "%s/%u", a, net->prefix);
    return buf;
}


int
fl_cidr_contains(const struct fl_cidr *net, const char *addr_text,
                 size_t len)
{
    if (net->family == 4) {
        uint32_t v, n, m;
        if (parse_v4(addr_text, len, &v) != 0)
            return 0;
        n = (uint32_t)net->addr[0] << 24 | (uint32_t)net->addr[1] << 16
            | (uint32_t)net->addr[2] << 8 | net->addr[3];
        m = net->prefix == 0 ? 0 : UINT32_MAX << (32 - net->prefix);
        return ((v ^ n) & m) == 0;
    }
    unsigned char a[16];
    if (parse_v6(addr_text, len, a) != 0)
        return 0;
    for (unsigned i = 0; i < 16; i++) {
        unsigned char m = mask_byte(net->prefix, i);
        if (m == 0)
            break;
        if ((a[i] ^ net->addr[i]) & m)
            return 0;
    }
    return 1;
}
