/* SPDX-License-Identifier: MIT
 *
 * fl_endian.h -- little-endian integers in byte buffers, for the on-disk
 * formats (WAL frames and records, the dedupe file, the query job): every
 * format flowlake writes is little-endian whatever the host, so bytes are
 * placed one by one rather than copied from memory.
 */
#ifndef FL_ENDIAN_H
#define FL_ENDIAN_H

#include <stdint.h>

static inline void
fl_put_le16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static inline void
fl_put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline void
fl_put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint16_t
fl_get_le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t
fl_get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16
         | (uint32_t)p[3] << 24;
}

static inline uint64_t
fl_get_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

#endif /* FL_ENDIAN_H */
