/* SPDX-License-Identifier: MIT
 *
 * wal_format.c -- encoders and decoders for the WAL's on-disk structures
 * (segment header, frame header, checkpoint file, segment file names),
 * whose byte layouts are specified in wal_int.h, and the CRC-32C they
 * carry. Pure functions apart from fl_wal_new_salt; used by wal.c,
 * wal_scan.c, and the tests, which build damaged files with them.
 */
#include "../core/fl_config.h"

#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <isa-l/crc.h>

#include "../core/fl_endian.h"
#include "../core/fl_error.h"
#include "wal_int.h"


/* ---------------------------------------------------------------------
 * CRC-32C
 * ------------------------------------------------------------------- */

uint32_t
fl_wal_crc_update(uint32_t state, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n > 0) {
        int chunk = n > (1u << 30) ? (1 << 30) : (int)n;
        /* ISA-L takes a non-const pointer but only reads through it. */
        state = crc32_iscsi((unsigned char *)(uintptr_t)b, chunk, state);
        b += chunk;
        n -= (size_t)chunk;
    }
    return state;
}


uint32_t
fl_wal_crc_final(uint32_t state)
{
    return state ^ 0xFFFFFFFFu;
}


/* ---------------------------------------------------------------------
 * Segment header
 * ------------------------------------------------------------------- */

void
fl_wal_put_seg_hdr(unsigned char out[FL_WAL_SEGMENT_HDR_SIZE], uint32_t salt,
                   uint64_t first_seq)
{
    memcpy(out, FL_WAL_SEG_MAGIC, 8);
    fl_put_le32(out + 8, FL_WAL_VERSION);
    fl_put_le32(out + 12, salt);
    fl_put_le64(out + 16, first_seq);
    fl_put_le32(out + 24, 0);
    fl_put_le32(out + 28, fl_wal_crc_final(fl_wal_crc_update(FL_WAL_CRC_INIT,
                                                       out, 28)));
}


int
fl_wal_get_seg_hdr(const unsigned char in[FL_WAL_SEGMENT_HDR_SIZE],
                   struct fl_wal_seg_hdr *out, const char **reason)
{
    memcpy(out->magic, in, 8);
    out->version = fl_get_le32(in + 8);
    out->salt = fl_get_le32(in + 12);
    out->first_seq = fl_get_le64(in + 16);
    out->reserved = fl_get_le32(in + 24);
    out->crc = fl_get_le32(in + 28);
    if (memcmp(out->magic, FL_WAL_SEG_MAGIC, 8) != 0) {
        *reason = "bad segment magic";
        return FL_ECORRUPT;
    }
    if (out->crc != fl_wal_crc_final(fl_wal_crc_update(FL_WAL_CRC_INIT,
                                                       in, 28))) {
        *reason = "segment header checksum mismatch";
        return FL_ECORRUPT;
    }
    if (out->version != FL_WAL_VERSION) {
        *reason = "unsupported segment version";
        return FL_ECORRUPT;
    }
    if (out->salt == 0 || out->reserved != 0) {
        *reason = "bad segment header fields";
        return FL_ECORRUPT;
    }
    return FL_OK;
}


/* ---------------------------------------------------------------------
 * Frame header
 * ------------------------------------------------------------------- */

void
fl_wal_put_frame_hdr(unsigned char out[FL_WAL_FRAME_HDR_SIZE], uint32_t len,
                     unsigned kind, uint64_t seq, uint32_t salt,
                     uint32_t payload_crc)
{
    fl_put_le32(out, len);
    fl_put_le16(out + 4, (uint16_t)kind);
    fl_put_le16(out + 6, 0);
    fl_put_le64(out + 8, seq);
    fl_put_le32(out + 16, salt);
    fl_put_le32(out + 20, fl_wal_crc_final(fl_wal_crc_update(payload_crc,
                                                       out, 20)));
}


void
fl_wal_get_frame_hdr(const unsigned char in[FL_WAL_FRAME_HDR_SIZE],
                     struct fl_wal_frame_hdr *out)
{
    out->len = fl_get_le32(in);
    out->kind = fl_get_le16(in + 4);
    out->flags = fl_get_le16(in + 6);
    out->seq = fl_get_le64(in + 8);
    out->salt = fl_get_le32(in + 16);
    out->crc = fl_get_le32(in + 20);
}


int
fl_wal_frame_crc_ok(const unsigned char hdr[FL_WAL_FRAME_HDR_SIZE],
                    const void *payload, size_t len)
{
    uint32_t st = fl_wal_crc_update(FL_WAL_CRC_INIT, payload, len);
    st = fl_wal_crc_update(st, hdr, 20);
    return fl_wal_crc_final(st) == fl_get_le32(hdr + 20);
}


/* ---------------------------------------------------------------------
 * Checkpoint file
 * ------------------------------------------------------------------- */

void
fl_wal_put_ckpt(unsigned char out[FL_WAL_CKPT_SIZE], uint64_t seq)
{
    memcpy(out, FL_WAL_CKPT_MAGIC, 8);
    fl_put_le32(out + 8, FL_WAL_VERSION);
    fl_put_le32(out + 12, 0);
    fl_put_le64(out + 16, seq);
    fl_put_le32(out + 24, 0);
    fl_put_le32(out + 28, fl_wal_crc_final(fl_wal_crc_update(FL_WAL_CRC_INIT,
                                                       out, 28)));
}


int
fl_wal_get_ckpt(const unsigned char *in, size_t len, uint64_t *seq)
{
    if (len != FL_WAL_CKPT_SIZE
        || memcmp(in, FL_WAL_CKPT_MAGIC, 8) != 0
        || fl_get_le32(in + 8) != FL_WAL_VERSION
        || fl_get_le32(in + 28) != fl_wal_crc_final(
               fl_wal_crc_update(FL_WAL_CRC_INIT, in, 28)))
        return FL_ECORRUPT;
    *seq = fl_get_le64(in + 16);
    return FL_OK;
}


/* ---------------------------------------------------------------------
 * Names and salts
 * ------------------------------------------------------------------- */

void
fl_wal_seg_name(char out[FL_WAL_NAME_SIZE], uint64_t first_seq)
{
    char digits[20];
    for (int i = 19; i >= 0; i--) {
        digits[i] = (char)('0' + first_seq % 10);
        first_seq /= 10;
    }
    memcpy(out, "wal-", 4);
    memcpy(out + 4, digits, 20);
    memcpy(out + 24, ".log", 5);
}


int
fl_wal_parse_seg_name(const char *name, uint64_t *first_seq)
{
    uint64_t v = 0;
    if (strlen(name) != 28 || memcmp(name, "wal-", 4) != 0
        || memcmp(name + 24, ".log", 4) != 0)
        return -1;
    for (int i = 4; i < 24; i++) {
        unsigned d = (unsigned)(name[i] - '0');
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (v == 0)
        return -1;
    *first_seq = v;
    return 0;
}


uint32_t
fl_wal_new_salt(uint32_t avoid)
{
    for (;;) {
        uint32_t salt = 0;
        if (getrandom(&salt, sizeof salt, GRND_NONBLOCK)
            != (ssize_t)sizeof salt) {
            /* No entropy yet (early boot): the salt only has to differ
             * from the previous segment's, so a clock mix will do. */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20)
                         ^ ((uint64_t)getpid() << 40);
            x ^= x >> 33;
            x *= 0xff51afd7ed558ccdULL;
            x ^= x >> 33;
            salt = (uint32_t)x;
        }
        if (salt != 0 && salt != avoid)
            return salt;
    }
}
