/* SPDX-License-Identifier: MIT
 *
 * wal_int.h -- the on-disk format of the write-ahead log, and the
 * declarations shared by the files of src/wal/ and nobody else (SQLite's
 * btreeInt.h pattern). wal_format.c encodes and decodes what is specified
 * here, wal_scan.c recovers a directory, wal.c is the live log.
 *
 * DIRECTORY
 *   wal-<first seq>.log  segment files; <first seq> is the sequence number
 *                        of the segment's first record, 20 decimal digits
 *                        with leading zeros (so names sort like numbers).
 *   checkpoint           the checkpoint (below); missing = 0.
 *   checkpoint.tmp       a checkpoint being written; ignored on read and
 *                        deleted by fl_wal_open (a crash can leave it).
 *   lock                 empty; flock(2)ed by the process that has the
 *                        WAL open.
 *   anything else        ignored (e.g. copies an operator made).
 *
 * All integers are little-endian. CRCs are CRC-32C (Castagnoli: initial
 * value 0xFFFFFFFF, reflected, final XOR 0xFFFFFFFF, check value of
 * "123456789" = 0xE3069283), computed with ISA-L's crc32_iscsi.
 *
 * SEGMENT FILE = segment header, then frames back to back, no padding.
 *
 * Segment header, 32 bytes:
 *   0   8  magic "FLWALSEG"
 *   8   4  format version, 1
 *   12  4  salt: random, non-zero, new for every segment
 *   16  8  first sequence number (equal to the one in the file name)
 *   24  4  reserved, 0
 *   28  4  CRC-32C of bytes 0..27
 *
 * Frame = 24-byte frame header, then `length` bytes of payload:
 *   0   4  length of the payload in bytes (0 .. FL_WAL_RECORD_LIMIT)
 *   4   2  kind: chosen by the caller, passed through
 *   6   2  flags: 0 in version 1 (anything else is corruption)
 *   8   8  sequence number: the segment's first sequence number for its
 *          first frame, then +1 per frame
 *   16  4  salt: a copy of the segment header's salt
 *   20  4  CRC-32C of the payload followed by bytes 0..19 of this header
 *          (payload first, so a writer can checksum the payload before
 *          it knows its sequence number, outside the log's lock)
 * A frame is valid when its salt and sequence number are the expected
 * ones, its flags are 0, it lies wholly inside the file and its CRC
 * matches. The salt makes frames of an older file that once had the same
 * name invalid; the sequence number makes a frame valid only in its place.
 *
 * CHECKPOINT FILE, 32 bytes:
 *   0   8  magic "FLWALCKP"
 *   8   4  format version, 1
 *   12  4  reserved, 0
 *   16  8  sequence number: every record <= it is published
 *   24  4  reserved, 0
 *   28  4  CRC-32C of bytes 0..27
 * Written as checkpoint.tmp, fsynced, renamed over checkpoint, then the
 * directory is fsynced; segments are deleted only after that.
 *
 * Invariants the writer keeps (wal.c), which recovery relies on:
 *   - frames are written in sequence order with one writev under a lock;
 *     a failed write is cut off again with ftruncate before the lock is
 *     released (if that fails too, the WAL fails and writes nothing more);
 *   - a segment is fdatasync'd before the next one is created, and the
 *     directory is fsynced after a segment is created, so only the last
 *     segment can end in a torn frame after a crash or a power cut;
 *   - a segment's name and header carry the sequence number its first
 *     frame gets; the next segment starts at the previous one's last + 1,
 *     or, when the records in between are all published, later;
 *   - an empty segment (header only) is only ever the last one.
 */
#ifndef FL_WAL_INT_H
#define FL_WAL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "wal.h"

/* ---- the format ------------------------------------------------------ */

#define FL_WAL_VERSION        1
#define FL_WAL_SEG_MAGIC      "FLWALSEG"
#define FL_WAL_CKPT_MAGIC     "FLWALCKP"
#define FL_WAL_CKPT_SIZE      32
#define FL_WAL_CKPT_NAME      "checkpoint"
#define FL_WAL_CKPT_TMP_NAME  "checkpoint.tmp"
#define FL_WAL_LOCK_NAME      "lock"
#define FL_WAL_NAME_SIZE      32      /* "wal-" 20 digits ".log" NUL = 29 */

/* The decoded forms. The structs mirror the byte layouts above field by
 * field, and the asserts pin those layouts, but the bytes are always
 * encoded and decoded explicitly (little-endian), never memcpy'd. */
struct fl_wal_seg_hdr {
    char     magic[8];
    uint32_t version;
    uint32_t salt;
    uint64_t first_seq;
    uint32_t reserved;
    uint32_t crc;
};

struct fl_wal_frame_hdr {
    uint32_t len;
    uint16_t kind;
    uint16_t flags;
    uint64_t seq;
    uint32_t salt;
    uint32_t crc;
};

struct fl_wal_ckpt {
    char     magic[8];
    uint32_t version;
    uint32_t reserved;
    uint64_t seq;
    uint32_t reserved2;
    uint32_t crc;
};

_Static_assert(sizeof(struct fl_wal_seg_hdr) == FL_WAL_SEGMENT_HDR_SIZE,
               "segment header is 32 bytes on disk");
_Static_assert(sizeof(struct fl_wal_frame_hdr) == FL_WAL_FRAME_HDR_SIZE,
               "frame header is 24 bytes on disk");
_Static_assert(sizeof(struct fl_wal_ckpt) == FL_WAL_CKPT_SIZE,
               "checkpoint file is 32 bytes on disk");
_Static_assert(offsetof(struct fl_wal_seg_hdr, first_seq) == 16
               && offsetof(struct fl_wal_seg_hdr, crc) == 28,
               "segment header layout");
_Static_assert(offsetof(struct fl_wal_frame_hdr, seq) == 8
               && offsetof(struct fl_wal_frame_hdr, salt) == 16
               && offsetof(struct fl_wal_frame_hdr, crc) == 20,
               "frame header layout");
_Static_assert(offsetof(struct fl_wal_ckpt, seq) == 16
               && offsetof(struct fl_wal_ckpt, crc) == 28,
               "checkpoint layout");
_Static_assert(FL_WAL_RECORD_LIMIT <= 0x7fffffffu - FL_WAL_FRAME_HDR_SIZE,
               "a frame fits in an int (ISA-L's crc length)");

/* ---- wal_format.c ---------------------------------------------------- */

/* CRC-32C: state starts at FL_WAL_CRC_INIT, fl_wal_crc_update folds bytes
 * in, and the stored value is state ^ 0xFFFFFFFF (fl_wal_crc_final). */
#define FL_WAL_CRC_INIT 0xFFFFFFFFu
uint32_t fl_wal_crc_update(uint32_t state, const void *p, size_t n);
uint32_t fl_wal_crc_final(uint32_t state);

void fl_wal_put_seg_hdr(unsigned char out[FL_WAL_SEGMENT_HDR_SIZE],
                        uint32_t salt, uint64_t first_seq);
/* Decodes and checks magic, version, CRC and a non-zero salt. Returns 0,
 * or FL_ECORRUPT with *reason set (static text). */
int  fl_wal_get_seg_hdr(const unsigned char in[FL_WAL_SEGMENT_HDR_SIZE],
                        struct fl_wal_seg_hdr *out, const char **reason);

/* Encodes a frame header; payload_crc is the CRC state after folding in
 * the payload (from FL_WAL_CRC_INIT). */
void fl_wal_put_frame_hdr(unsigned char out[FL_WAL_FRAME_HDR_SIZE],
                          uint32_t len, unsigned kind, uint64_t seq,
                          uint32_t salt, uint32_t payload_crc);
void fl_wal_get_frame_hdr(const unsigned char in[FL_WAL_FRAME_HDR_SIZE],
                          struct fl_wal_frame_hdr *out);
/* True when the CRC stored in hdr matches hdr and payload. */
int  fl_wal_frame_crc_ok(const unsigned char hdr[FL_WAL_FRAME_HDR_SIZE],
                         const void *payload, size_t len);

void fl_wal_put_ckpt(unsigned char out[FL_WAL_CKPT_SIZE], uint64_t seq);
/* Returns 0 and *seq, or FL_ECORRUPT. */
int  fl_wal_get_ckpt(const unsigned char *in, size_t len, uint64_t *seq);

/* "wal-%020llu.log" into out. */
void fl_wal_seg_name(char out[FL_WAL_NAME_SIZE], uint64_t first_seq);
/* Parses a segment file name strictly (exactly the form above, sequence
 * >= 1). Returns 0 and *first_seq, or -1 for any other name. */
int  fl_wal_parse_seg_name(const char *name, uint64_t *first_seq);

/* A fresh non-zero salt different from avoid. */
uint32_t fl_wal_new_salt(uint32_t avoid);

/* ---- wal_scan.c ------------------------------------------------------ */

/* Result of reading a WAL directory (the first pass of recovery). */
struct fl_wal_scan_state {
    struct fl_wal_segment *segs;   /* sorted by first_seq */
    size_t   nsegs;
    size_t   npublished;           /* segs[0 .. npublished) are published */
    size_t   damaged;              /* index of the damaged segment; nsegs
                                      when the WAL is clean */
    uint64_t checkpoint;           /* 0 when missing or damaged */
    struct fl_wal_recovery rec;
};

/* First pass: lists the segments of dir (whose descriptor is dirfd),
 * reads the checkpoint, validates every frame of every unpublished
 * segment and classifies the first damage. Changes nothing. Returns 0
 * (damage is in s->rec), -ENOMEM or -errno; on failure s holds nothing. */
int  fl_wal_scan_dir(const char *dir, int dirfd,
                     struct fl_wal_scan_state *s);

/* Second pass: calls fn for every valid record above the checkpoint, in
 * order, stopping before the damage; counts them in s->rec.replayed.
 * Returns 0, fn's value, FL_ECORRUPT (a file changed since the first
 * pass), -ENOMEM or -errno. */
int  fl_wal_scan_replay(int dirfd, struct fl_wal_scan_state *s,
                        fl_wal_replay_fn *fn, void *ctx);

void fl_wal_scan_free(struct fl_wal_scan_state *s);

#endif /* FL_WAL_INT_H */
