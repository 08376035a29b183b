/* SPDX-License-Identifier: MIT
 *
 * fl_cidr.h -- IPv4/IPv6 networks and the "is this address text inside
 * that network" test behind the metric language's cidr_contains().
 *
 * Flow-log addresses are text (srcaddr, dstaddr, pkt-srcaddr ...), so the
 * test parses the address on every call. IPv4 dotted quads are parsed by
 * hand (no libc, no copy): the window engine calls fl_cidr_contains() once
 * per row. IPv6 goes through inet_pton().
 *
 * An address matches only a network of its own family: the IPv4-mapped
 * IPv6 form "::ffff:10.0.0.1" is not inside 10.0.0.0/8 (it is inside
 * ::ffff:0:0/96).
 *
 * Thread: any (no state).
 */
#ifndef FL_CIDR_H
#define FL_CIDR_H

#include <stddef.h>

/* Same fields as struct fl_plan_cidr (stream/plan.h). */
struct fl_cidr {
    int           family;      /* 4 or 6 */
    unsigned char addr[16];    /* network address in network byte order;
                                * IPv4 uses addr[0..3], the rest is zero */
    unsigned      prefix;      /* 0..32 or 0..128 */
};

/* Parses one address, IPv4 dotted quad ("10.0.0.1", no leading zeros, as
 * inet_pton) or IPv6 text ("2001:db8::1", no zone id). OUT: *family (4 or
 * 6) and addr (16 bytes; IPv4 in addr[0..3], the rest zeroed). Returns 0
 * or FL_EPARSE (addr and *family untouched). */
int  fl_cidr_addr_parse(const char *s, size_t len, int *family,
                        unsigned char addr[16]);

/* Parses a network "ADDR/LEN" or a host "ADDR" (= /32 or /128). The
 * address is stored as written: host bits beyond the prefix are kept, see
 * fl_cidr_host_bits(). Returns 0 or FL_EPARSE (*out untouched): a bad
 * address, a prefix that is empty, not decimal, has a leading zero, or is
 * longer than the family's address. */
int  fl_cidr_parse(const char *s, size_t len, struct fl_cidr *out);

/* 1 when net's address has bits set beyond its prefix ("10.0.0.1/8"). */
int  fl_cidr_host_bits(const struct fl_cidr *net);

/* Clears the host bits of net's address ("10.0.0.1/8" -> "10.0.0.0/8"). */
void fl_cidr_mask(struct fl_cidr *net);

/* Writes net as "ADDR/LEN" into buf (at least 50 bytes); returns buf. */
char *fl_cidr_format(const struct fl_cidr *net, char *buf, size_t size);

/* 1 when addr_text (len bytes, no NUL needed) is an address of net's
 * family inside net, 0 otherwise -- including when the text is not a
 * valid address ("-" in a NODATA record) or is of the other family.
 * Host bits in net are ignored. */
int  fl_cidr_contains(const struct fl_cidr *net, const char *addr_text,
                      size_t len);

#endif /* FL_CIDR_H */
