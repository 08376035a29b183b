/* SPDX-License-Identifier: MIT
 *
 * tail_db.h -- the folder source's memory of which bytes of which files it
 * has taken (ARCHIVE/_flowlake/tail.db), as `tail -F` and Fluent Bit's
 * tail input with its database keep it: files are known by identity
 * (st_dev, st_ino, and a fingerprint of their first bytes, which tells a
 * reused inode from the file that had it) and an offset: every byte before
 * it, complete lines only, is in the write-ahead log.
 *
 * The file is a journal: a header line, then one line per change, appended
 * and fsync'd by the caller; the last line for an identity wins; it is
 * rewritten whole (compacted) from time to time with fl_fs_write_atomic().
 *
 *   flowlake-tail 2
 *   CCCCCCCC T DEV INO FPLEN FP OFFSET PEND_END PEND_KEY HDR PEND_HDR PATH
 *   CCCCCCCC D DEV INO
 *
 * CCCCCCCC is the XXH32 (seed 0), 8 hex digits, of the rest of the line
 * after its space, without the newline. T sets an entry: DEV, INO, FPLEN,
 * OFFSET and PEND_END decimal; FP and PEND_KEY 16 hex digits; PATH the
 * rest of the line, with backslash and newline written as \\ and \n. D
 * forgets one (the file left the folder). PEND_END/PEND_KEY, when PEND_END
 * is not 0, say that the piece [OFFSET, PEND_END) was being appended to the
 * write-ahead log with dedupe key PEND_KEY: after a crash, the piece is in
 * if the log holds that key (see watch.c).
 * HDR (decimal) is the offset of the header line whose format the lines
 * from OFFSET on are in: a file may switch formats mid-way (concatenated
 * S3 objects), and a restart must go on in the switched format. 0 is the
 * first line (a header there, or none: the default format). PEND_HDR is
 * HDR once the pending piece is in (0 when none is pending).
 * Version 1 ("flowlake-tail 1", no HDR and PEND_HDR: both 0) is still
 * read; a journal is always rewritten whole in the current version when
 * it is loaded, before anything is appended to it.
 *
 * A last line that is incomplete or fails its checksum is a write torn by
 * a crash and is ignored (out->torn counts it); anything else that does not
 * follow the format is an error naming the line.
 *
 * Pure: no I/O, no globals. Thread: the owner's.
 */
#ifndef FL_TAIL_DB_H
#define FL_TAIL_DB_H

#include <stddef.h>
#include <stdint.h>

#define FL_TAIL_DB_HEADER "flowlake-tail 2"
#define FL_TAIL_DB_HEADER_V1 "flowlake-tail 1"

/* What is known of one followed file. */
struct fl_tail_entry {
    uint64_t dev, ino;       /* identity: st_dev, st_ino */
    uint64_t fp_len;         /* bytes the fingerprint covers (<= offset) */
    uint64_t fp;             /* XXH3-64 of the first fp_len bytes */
    uint64_t offset;         /* bytes taken (ends at a line end) */
    uint64_t pend_end;       /* 0, or the end of a piece being appended */
    uint64_t pend_key;       /* that piece's dedupe key */
    uint64_t hdr_off;        /* the governing header line (0: the first) */
    uint64_t pend_hdr;       /* hdr_off once the pending piece is in */
    char    *path;           /* where it was last seen (owned) */

    /* Run time only, not stored. */
    uint64_t seen_scan;      /* last scan that found it by identity */
    int64_t  size, mtime_ns; /* at that scan */
    int      stable_scans;   /* scans in a row with the same size/mtime */
    int      digest_done;    /* its whole-file digest is recorded */
    int      copy_checked;   /* first sight: compared with taken digests */
    uint64_t first_scan;     /* scan that first saw it; 0 = known before
                                this run */
};

/* The entries, sorted by (dev, ino). */
struct fl_tail_db {
    struct fl_tail_entry *v;
    size_t n, cap;
    size_t lines;            /* journal lines read (to decide compaction) */
    size_t torn;             /* torn last lines ignored */
};

struct fl_tail_db_err {
    unsigned line;           /* 1-based */
    char     reason[160];
};

/* Parses a journal into db (empty, zero-initialised). An empty buffer is
 * an empty db. Returns 0, FL_ECORRUPT (err filled; db keeps what was read
 * before the bad line, to be freed) or -ENOMEM. */
int fl_tail_db_parse(const char *buf, size_t len, struct fl_tail_db *db,
                     struct fl_tail_db_err *err);

/* Formats one journal line for e (deleted: a D line) into a new buffer
 * (*out, fl_free). Returns 0 or -ENOMEM. */
int fl_tail_db_line(const struct fl_tail_entry *e, int deleted, char **out,
                    size_t *out_len);

/* The whole db as a compacted journal (header and one T line per entry)
 * in a new buffer (*out, fl_free). Returns 0 or -ENOMEM. */
int fl_tail_db_dump(const struct fl_tail_db *db, char **out,
                    size_t *out_len);

/* The entry of (dev, ino), or NULL. Valid until the next put/del. */
struct fl_tail_entry *fl_tail_db_find(struct fl_tail_db *db, uint64_t dev,
                                      uint64_t ino);

/* Sets the entry of (e->dev, e->ino) to e's stored fields and path (copied);
 * a new entry's run-time fields start at 0. *out (may be NULL) gets the
 * entry in the db. Returns 0 or -ENOMEM. */
int fl_tail_db_put(struct fl_tail_db *db, const struct fl_tail_entry *e,
                   struct fl_tail_entry **out);

/* Forgets (dev, ino); a no-op when unknown. */
void fl_tail_db_del(struct fl_tail_db *db, uint64_t dev, uint64_t ino);

void fl_tail_db_free(struct fl_tail_db *db);

#endif /* FL_TAIL_DB_H */
