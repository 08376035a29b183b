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


_Static_assert(FL_PROV_N < FL_WALREC_TAG_HOLD, "the hold tag is no "
               "provenance tag");


size_t
fl_walrec_prov_size(const struct fl_walrec *r)
{
    size_t n = 0;
    for (size_t k = 0; k < FL_PROV_N; k++) {
        if (r->prov.v[k] != NULL)
            n += 3 + strlen(r->prov.v[k]) + 1;
    }
    if (r->hold != NULL)
        n += 3 + strlen(r->hold) + 1;
    return n;
}


/* One provenance-area entry: tag, length, the value with its NUL. */
static size_t
put_entry(unsigned char *at, unsigned tag, const char *v)
{
    size_t n = strlen(v) + 1;
    at[0] = (unsigned char)tag;
    fl_put_le16(at + 1, (unsigned)n);
    memcpy(at + 3, v, n);
    return 3 + n;
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
        if (r->prov.v[k] != NULL)
            o += put_entry(provbuf + o, (unsigned)k, r->prov.v[k]);
    }
    if (r->hold != NULL)
        o += put_entry(provbuf + o, FL_WALREC_TAG_HOLD, r->hold);
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
        else if (tag == FL_WALREC_TAG_HOLD)
            out->hold = v;
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


void
fl_walrec_settle_encode(const struct fl_walrec_settle *s,
                        unsigned char out[FL_WALREC_SETTLE_SIZE])
{
    out[0] = 1;
    out[1] = s->keep ? 1 : 0;
    fl_put_le64(out + 2, s->id);
    fl_put_le64(out + 10, s->arrival_ms);
}


int
fl_walrec_settle_decode(const void *payload, size_t len,
                        struct fl_walrec_settle *out)
{
    const unsigned char *p = payload;
    if (len != FL_WALREC_SETTLE_SIZE || p[0] != 1 || p[1] > 1)
        return FL_ECORRUPT;
    out->keep = p[1];
    out->id = fl_get_le64(p + 2);
    out->arrival_ms = fl_get_le64(p + 10);
    return FL_OK;
}
