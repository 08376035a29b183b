/* SPDX-License-Identifier: MIT
 *
 * walrec.c -- encoding of the server's write-ahead-log records (format in
 * walrec.h).
 */
#include "../core/fl_config.h"

#include <string.h>

#include "../core/fl_endian.h"
#include "../core/fl_error.h"
#include "walrec.h"

_Static_assert(FL_WALREC_HDR_SIZE == 4 + 2 + 2 + 2 + 2 + 8 + 4 + 4 + 8 + 2,
               "walrec header layout");


size_t
fl_walrec_prov_size(const struct fl_walrec *r)
{
    size_t n = 0;
    for (size_t k = 0; k < FL_PROV_N; k++) {
        if (r->prov.v[k] != NULL)
            n += 3 + strlen(r->prov.v[k]) + 1;
    }
    return n;
}


int
fl_walrec_encode(const struct fl_walrec *r, unsigned char *hdr,
                 unsigned char *keybuf, unsigned char *provbuf,
                 struct iovec iov[6])
{
    size_t prov_len = fl_walrec_prov_size(r);
    if (r->format_len > 0xffff || r->source_len > 0xffff
        || prov_len > 0xffff
        || r->n_keys > 0xffffffffu || r->piece > 0xffff || r->pieces == 0
        || r->pieces > 0xffff)
        return FL_ETOOBIG;
    memset(hdr, 0, FL_WALREC_HDR_SIZE);
    hdr[0] = 3;                                   /* version */
    fl_put_le16(hdr + 36, (unsigned)prov_len);
    size_t o = 0;
    for (size_t k = 0; k < FL_PROV_N; k++) {
        if (r->prov.v[k] == NULL)
            continue;
        size_t n = strlen(r->prov.v[k]) + 1;   /* with its NUL */
        provbuf[o] = (unsigned char)k;
        fl_put_le16(provbuf + o + 1, (unsigned)n);
        memcpy(provbuf + o + 3, r->prov.v[k], n);
        o += 3 + n;
    }
    fl_put_le16(hdr + 4, r->source_kind);
    fl_put_le16(hdr + 6, (unsigned)r->format_len);
    fl_put_le16(hdr + 8, (unsigned)r->source_len);
    fl_put_le16(hdr + 10, r->piece);
    fl_put_le16(hdr + 24, r->pieces);
    fl_put_le64(hdr + 12, r->records);
    fl_put_le64(hdr + 28, r->arrival_ms);
    for (int i = 0; i < 4; i++)
        hdr[20 + i] = (unsigned char)((uint64_t)r->n_keys >> (8 * i));
    for (size_t i = 0; i < r->n_keys; i++)
        fl_put_le64(keybuf + 8 * i, r->key_list[i]);
    iov[0].iov_base = hdr;
    iov[0].iov_len = FL_WALREC_HDR_SIZE;
    iov[1].iov_base = (void *)(uintptr_t)(r->format ? r->format : "");
    iov[1].iov_len = r->format_len;
    iov[2].iov_base = (void *)(uintptr_t)r->source;
    iov[2].iov_len = r->source_len;
    iov[3].iov_base = provbuf;
    iov[3].iov_len = prov_len;
    iov[4].iov_base = keybuf;
    iov[4].iov_len = 8 * r->n_keys;
    iov[5].iov_base = (void *)(uintptr_t)r->text;
    iov[5].iov_len = r->text_len;
    return 6;
}


uint64_t
fl_walrec_key(const struct fl_walrec *r, size_t i)
{
    return fl_get_le64(r->keys + 8 * i);
}


/* Points out->prov into the provenance entries p[0..n). */
static int
decode_prov(const unsigned char *p, size_t n, struct fl_walrec *out)
{
    size_t o = 0;
    while (o < n) {
        if (n - o < 3)
            return FL_ECORRUPT;
        unsigned tag = p[o];
        size_t l = fl_get_le16(p + o + 1);
        if (l == 0 || l > n - o - 3)
            return FL_ECORRUPT;
        const char *v = (const char *)p + o + 3;
        /* One NUL, at the end: the value is a C string as it is. */
        if (v[l - 1] != '\0' || memchr(v, '\0', l - 1) != NULL)
            return FL_ECORRUPT;
        if (tag < FL_PROV_N)
            out->prov.v[tag] = v;
        o += 3 + l;
    }
    return FL_OK;
}


int
fl_walrec_decode(const void *payload, size_t len, struct fl_walrec *out)
{
    const unsigned char *p = payload;
    unsigned version = len > 0 ? p[0] : 0;
    size_t hdr = version == 1 ? FL_WALREC_V1_HDR_SIZE
               : version == 2 ? FL_WALREC_V2_HDR_SIZE : FL_WALREC_HDR_SIZE;
    if (len < hdr || version < 1 || version > 3 || p[1] || p[2] || p[3])
        return FL_ECORRUPT;
    size_t f = fl_get_le16(p + 6), s = fl_get_le16(p + 8);
    size_t pv = version == 3 ? fl_get_le16(p + 36) : 0;
    size_t nk = (size_t)p[20] | (size_t)p[21] << 8 | (size_t)p[22] << 16
              | (size_t)p[23] << 24;
    if (nk > len / 8 || hdr + f + s + pv + 8 * nk > len)
        return FL_ECORRUPT;
    memset(out, 0, sizeof *out);
    out->source_kind = fl_get_le16(p + 4);
    out->piece = fl_get_le16(p + 10);
    out->pieces = fl_get_le16(p + 24);
    if (out->pieces == 0 || out->piece >= out->pieces)
        return FL_ECORRUPT;
    out->records = fl_get_le64(p + 12);
    out->arrival_ms = version >= 2 ? fl_get_le64(p + 28) : 0;
    const char *c = (const char *)p + hdr;
    out->format = f ? c : NULL;
    out->format_len = f;
    out->source = c + f;
    out->source_len = s;
    if (decode_prov((const unsigned char *)c + f + s, pv, out) < 0)
        return FL_ECORRUPT;
    out->keys = (const unsigned char *)c + f + s + pv;
    out->n_keys = nk;
    out->text = c + f + s + pv + 8 * nk;
    out->text_len = len - hdr - f - s - pv - 8 * nk;
    return FL_OK;
}
