/* SPDX-License-Identifier: MIT
 *
 * walrec.h -- what the server writes into its write-ahead log: one record
 * per accepted request, holding everything needed to rebuild the buffer
 * block after a crash.
 *
 * Payload of a record of kind FL_WALREC_BLOCK, little-endian:
 *   offset 0   u32  version (3; still read: version 2, the same without
 *                   provenance and a 36-byte header, and version 1, which
 *                   also had no arrival time and a 28-byte header:
 *                   arrival 0 = unknown)
 *   offset 4   u16  source kind (enum fl_source_kind)
 *   offset 6   u16  length F of the format string (0 = default format)
 *   offset 8   u16  length S of the source description
 *   offset 10  u16  piece: index of this record among the records of one
 *                   request (0-based)
 *   offset 12  u64  records (accepted lines in the text)
 *   offset 20  u32  N: dedupe keys that follow (fl_dedupe_key of the
 *                   Firehose request id, or of CloudWatch Logs event ids)
 *   offset 24  u32  pieces: how many records the request took
 *   offset 28  u64  arrival: when the request was accepted, epoch
 *                   milliseconds (arrival-time metric windows after a
 *                   restart are the same windows as before it)
 *   offset 36  u16  length P of the provenance
 *   offset 38  F bytes format, S bytes source, P bytes provenance, N * u64
 *              keys, then the text (the rest of the payload)
 * Provenance (where the text came from: the archive's provenance columns
 * and the account / region fills, archive/convert.h) is a sequence of
 * entries: u8 tag (enum fl_prov), u16 length L, L bytes of value ending
 * in its NUL (so that decoding points into the payload). A value that is
 * NULL has no entry; an unknown tag is skipped (a later version may add
 * one). Tag 0x80 (FL_WALREC_TAG_HOLD) is not provenance: it marks the
 * first record of a held request (pipeline.h fl_pipeline_ingest_held) and
 * carries the source's description of it -- for Kafka, the partitions and
 * offsets whose commit decides whether the records are kept. A version
 * that does not know the tag replays such a request as an ordinary one.
 *
 * Payload of a record of kind FL_WALREC_SETTLE, little-endian: what became
 * of a held request (fl_pipeline_settle):
 *   offset 0   u8   version (1)
 *   offset 1   u8   1 = kept (its blocks are buffered, under this
 *                   record's sequence number), 0 = dropped
 *   offset 2   u64  the held request: the sequence number of its first
 *                   record
 *   offset 10  u64  arrival: when it was kept, epoch milliseconds
 * The keys let a restarted server recognise retries of requests whose
 * records are still in the log. A request too big for one record is split
 * at line boundaries into consecutive records, and so is a request whose
 * lines came from several origins (one provenance per record); replay
 * applies a request
 * only when all its pieces are there -- a request that failed half-way
 * (say, the disk filled up) was answered with an error and must not come
 * back partly.
 */
#ifndef FL_WALREC_H
#define FL_WALREC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "../archive/convert.h"

#define FL_WALREC_BLOCK    1
#define FL_WALREC_SETTLE   2
#define FL_WALREC_TAG_HOLD 0x80
#define FL_WALREC_SETTLE_SIZE 18
#define FL_WALREC_HDR_SIZE 38
#define FL_WALREC_V2_HDR_SIZE 36
#define FL_WALREC_V1_HDR_SIZE 28

struct fl_walrec {
    unsigned    source_kind;
    const char *format;        /* NULL = default */
    size_t      format_len;
    const char *source;
    size_t      source_len;
    uint64_t    records;
    const unsigned char *keys; /* decode: n_keys little-endian u64 */
    const uint64_t *key_list;  /* encode: n_keys keys */
    size_t      n_keys;
    unsigned    piece;         /* 0 .. pieces-1 */
    unsigned    pieces;        /* >= 1 */
    uint64_t    arrival_ms;    /* epoch ms; 0 = unknown (version 1) */
    struct fl_provenance prov; /* decode: NUL-terminated values inside
                                  the payload; all NULL before version 3 */
    const char *hold;          /* a held request's description (its first
                                  record only), NUL-terminated; NULL = an
                                  ordinary request */
    const char *text;
    size_t      text_len;
};

/* Bytes the provenance of r takes (the provbuf of fl_walrec_encode). */
size_t fl_walrec_prov_size(const struct fl_walrec *r);

/* Fills hdr (FL_WALREC_HDR_SIZE bytes), keybuf (8 * n_keys bytes),
 * provbuf (fl_walrec_prov_size bytes) and iov[0..5] for fl_wal_appendv.
 * Returns the iovec count, or FL_ETOOBIG when format, source, the
 * provenance or one of its values is longer than 65535 bytes. */
int fl_walrec_encode(const struct fl_walrec *r, unsigned char *hdr,
                     unsigned char *keybuf, unsigned char *provbuf,
                     struct iovec iov[6]);

/* The i-th key of a decoded record. */
uint64_t fl_walrec_key(const struct fl_walrec *r, size_t i);

/* Parses a payload; the fields point into it. Returns 0 or FL_ECORRUPT. */
int fl_walrec_decode(const void *payload, size_t len, struct fl_walrec *out);

/* A FL_WALREC_SETTLE record: what became of the held request id. */
struct fl_walrec_settle {
    uint64_t id;
    uint64_t arrival_ms;
    int      keep;
};
void fl_walrec_settle_encode(const struct fl_walrec_settle *s,
                             unsigned char out[FL_WALREC_SETTLE_SIZE]);
/* Returns 0 or FL_ECORRUPT. */
int  fl_walrec_settle_decode(const void *payload, size_t len,
                             struct fl_walrec_settle *out);

#endif /* FL_WALREC_H */
