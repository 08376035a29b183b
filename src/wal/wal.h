/* SPDX-License-Identifier: MIT
 *
 * wal.h -- the write-ahead log of `flowlake serve`: nothing
 * acknowledged is ever lost.
 *
 * A WAL is a directory of append-only segment files plus a checkpoint
 * file. The server appends one record per request (an opaque payload with
 * a 16-bit kind chosen by the caller), waits until the record is durable
 * (fl_wal_commit: group commit, so that concurrent requests share one
 * fdatasync), and only then answers 200. On start it opens the WAL, which
 * replays every record not yet published, in sequence order, and cuts off
 * a torn tail left by a crash. When records up to N are safely in Parquet
 * the server calls fl_wal_checkpoint(N): the checkpoint is written
 * durably, segments holding only records <= N are deleted, and later
 * replays skip those records, so each acknowledged record reaches the
 * archive exactly once.
 *
 * The byte layout of the files is specified in wal_int.h; docs/wal.md is
 * the user's guide (guarantees, knobs, `flowlake wal-check`).
 *
 * Sequence numbers start at 1, increase by one per record, and never go
 * back, not even after a checkpoint deleted every segment.
 *
 * Recovery policy (fl_wal_open; fl_wal_scan reports the same without
 * changing anything). Replay stops at the first bad byte; records after a
 * gap are never resurrected. The damage is classified as:
 *   TORN     the last segment ends in an incomplete frame (fewer bytes
 *            than its header announces, a partial header, or zeros up to
 *            the end of file) and no valid frame follows it: what a crash
 *            during a write leaves. Open truncates it and succeeds; those
 *            records were never acknowledged (a commit fsyncs whole
 *            frames before it returns).
 *   CORRUPT  anything else: a complete frame with a bad checksum, salt or
 *            sequence number, a bad segment header, a gap between
 *            segments, or damage in any segment but the last. Open fails
 *            with FL_ECORRUPT and changes nothing, unless the caller
 *            passes FL_WAL_REPAIR: then the damaged frame and everything
 *            after it (including later segments) is deleted, the report
 *            says how many bytes and whether valid frames were among them
 *            (valid_after: records that may have been acknowledged were
 *            lost), and the WAL continues from the last good record.
 * A complete last frame with a bad checksum is reported as CORRUPT even
 * though it may never have been acknowledged: we cannot tell bit rot from
 * an unsynced write, so the operator decides (`flowlake wal-check --fix
 * --force`). A bit flip in the length field of the last frame that makes
 * it reach past the end of the file is indistinguishable from a torn
 * write and is reported as TORN.
 *
 * Thread: the WAL is shared by design (it is the meeting point of the
 * request threads). fl_wal_append, fl_wal_appendv, fl_wal_commit,
 * fl_wal_checkpoint and fl_wal_stats may be called concurrently from any
 * threads; an internal mutex orders them. fl_wal_open and fl_wal_close
 * belong to the owner (the thread that starts and stops the server);
 * fl_wal_close must not race with any other call on the same handle.
 * One process at a time may open a directory (flock on DIR/lock).
 */
#ifndef FL_WAL_H
#define FL_WAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct fl_wal;

/* Fixed by the on-disk format (wal_int.h). */
#define FL_WAL_SEGMENT_HDR_SIZE 32
#define FL_WAL_FRAME_HDR_SIZE   24
/* Largest payload any WAL may hold; longer length fields are corruption. */
#define FL_WAL_RECORD_LIMIT     ((uint32_t)256 * 1024 * 1024)
/* Most buffers one fl_wal_appendv call may gather. */
#define FL_WAL_MAX_IOV          16

/* Defaults for a zeroed struct fl_wal_options. */
#define FL_WAL_DEFAULT_SEGMENT_SIZE ((uint64_t)64 * 1024 * 1024)
#define FL_WAL_DEFAULT_MAX_BYTES    ((uint64_t)1024 * 1024 * 1024)
#define FL_WAL_DEFAULT_MAX_RECORD   ((uint32_t)16 * 1024 * 1024)

/* fl_wal_options.flags */
#define FL_WAL_REPAIR 0x1u  /* on corruption keep the valid prefix, delete
                               the rest (see "Recovery policy" above) */

/* Options of fl_wal_open. A zeroed struct (or NULL) means the defaults.
 * Constraints, else FL_ECONFIG: segment_size >= 64; max_record <=
 * FL_WAL_RECORD_LIMIT; one record of max_record bytes must fit in a
 * segment (max_record + 56 <= segment_size) and under the ceiling
 * (max_record + 56 <= max_bytes). When max_record is 0 it defaults to
 * FL_WAL_DEFAULT_MAX_RECORD, lowered as needed to fit those limits. */
struct fl_wal_options {
    uint64_t segment_size;  /* a segment is closed and a new one started
                               before it would grow beyond this */
    uint64_t max_bytes;     /* ceiling on the bytes of all segment files;
                               an append that would exceed it fails with
                               FL_EAGAIN (answer 503 + Retry-After) */
    uint32_t max_record;    /* largest payload fl_wal_append accepts;
                               longer ones fail with FL_ETOOBIG (413) */
    unsigned flags;         /* FL_WAL_REPAIR */
    /* Testing only (NULL in production): called instead of every
     * fdatasync(2) and fsync(2) the WAL makes (segments, checkpoint,
     * directory), so tests can slow syncs down, make them fail, or skip
     * them where only the recovery logic is under test. */
    int    (*sync_fn)(int fd);
};

enum fl_wal_damage {
    FL_WAL_DAMAGE_NONE = 0,
    FL_WAL_DAMAGE_TORN,     /* incomplete last frame: normal after a crash */
    FL_WAL_DAMAGE_CORRUPT   /* anything else; see the policy above */
};

/* What recovery found (fl_wal_open) or would do (fl_wal_scan). */
struct fl_wal_recovery {
    uint64_t segments;          /* segment files found */
    uint64_t published_segments;/* of which all records <= checkpoint:
                                   not read; fl_wal_open deletes them */
    uint64_t records;           /* valid records read */
    uint64_t first_seq;         /* sequence range of those; 0 if none */
    uint64_t last_seq;
    uint64_t replayed;          /* records given to the replay callback
                                   (those > checkpoint); fl_wal_open only */
    uint64_t checkpoint;        /* records <= this are published; 0 = none */
    int      checkpoint_damaged;/* the checkpoint file is unreadable: open
                                   fails with FL_ECORRUPT, or with
                                   FL_WAL_REPAIR replays everything (at
                                   least once) and rewrites it */
    uint64_t missing;           /* records between the checkpoint and the
                                   first segment that are not on disk (a
                                   segment file was removed by hand) */
    enum fl_wal_damage damage;
    const char *reason;         /* static text; NULL when no damage */
    char     damage_segment[32];/* file name of the damaged segment */
    uint64_t damage_offset;     /* byte offset of the first bad byte in it */
    uint64_t damage_seq;        /* sequence number expected there */
    uint64_t dropped_bytes;     /* bytes from the damage to the end of the
                                   WAL, later segments included */
    uint64_t dropped_segments;  /* whole segments after the damaged one */
    int      valid_after;       /* a valid frame or segment header follows
                                   the damage: acknowledged records are
                                   among the dropped bytes */
    int      repaired;          /* fl_wal_open cut the damage off the disk */
    uint64_t next_seq;          /* sequence of the next append (open only) */
    uint64_t bytes;             /* bytes in segment files (after repairs) */
    int      in_use;            /* fl_wal_scan: another process has the
                                   WAL open, so its tail may be in flight */
};

enum fl_wal_segment_state {
    FL_WAL_SEG_OK = 0,          /* read to its end, all valid */
    FL_WAL_SEG_PUBLISHED,       /* every record <= checkpoint: not read */
    FL_WAL_SEG_DAMAGED,         /* valid up to valid_bytes, then damage */
    FL_WAL_SEG_DROPPED          /* after the damage: not trusted */
};

/* One segment file, as fl_wal_scan saw it. */
struct fl_wal_segment {
    char     name[32];          /* wal-<first seq, 20 digits>.log */
    uint64_t first_seq;         /* from the name */
    uint64_t last_seq;          /* last valid record; 0 if records == 0 */
    uint64_t records;           /* valid records */
    uint64_t size;              /* bytes on disk */
    uint64_t valid_bytes;       /* header + whole valid frames */
    uint32_t salt;              /* from its header; 0 if unreadable */
    enum fl_wal_segment_state state;
};

/* Counters of one open WAL (fl_wal_stats). */
struct fl_wal_stats {
    uint64_t appends;           /* records appended through this handle */
    uint64_t append_bytes;      /* their payload bytes */
    uint64_t commits;           /* fl_wal_commit calls */
    uint64_t syncs;             /* fdatasync calls on segment data; fewer
                                   than commits when group commit shares */
    uint64_t full;              /* appends refused with FL_EAGAIN */
    uint64_t segments_created;
    uint64_t segments_deleted;
    uint64_t segments;          /* segment files now */
    uint64_t bytes;             /* bytes in them now (the ceiling's count) */
    uint64_t max_bytes;         /* the ceiling */
    uint64_t next_seq;          /* sequence of the next append */
    uint64_t durable_seq;       /* every record <= this is durable */
    uint64_t checkpoint;        /* every record <= this is published */
    int      error;             /* sticky error (see fl_wal_commit), or 0 */
};

/* Replay callback: one record, in sequence order. payload is borrowed
 * until the callback returns. Return 0 to go on; a negative value stops
 * the replay and fl_wal_open returns it (having released everything). */
typedef int fl_wal_replay_fn(void *ctx, uint64_t seq, unsigned kind,
                             const void *payload, size_t len);

/* Segment callback of fl_wal_scan; seg is borrowed for the call. Return 0
 * to go on, a negative value to stop (fl_wal_scan returns it). */
typedef int fl_wal_segment_fn(void *ctx, const struct fl_wal_segment *seg);

/* Opens (creating when missing) the WAL in directory dir and recovers it:
 * fn (may be NULL) is called for every record with a sequence number above
 * the checkpoint, in order, before fl_wal_open returns; then a torn tail is
 * truncated, segments below the checkpoint and a leftover checkpoint temp
 * file are deleted, and appends continue at the next sequence number.
 * opts may be NULL (defaults). out_rec (OUT, may be NULL) is filled in on
 * success and on FL_ECORRUPT.
 * Returns 0 and *out (the caller owns it; fl_wal_close); FL_ECONFIG (bad
 * options); -EBUSY (another handle or process has dir open); FL_ECORRUPT
 * (damage other than a torn tail, or a damaged checkpoint file, and no
 * FL_WAL_REPAIR: nothing was changed and fn was never called); fn's
 * negative value; -ENOMEM; -errno. On failure *out is untouched and
 * nothing leaks. Thread: owner. */
int fl_wal_open(const char *dir, const struct fl_wal_options *opts,
                fl_wal_replay_fn *fn, void *ctx,
                struct fl_wal_recovery *out_rec, struct fl_wal **out);

/* Appends one record of kind (0..65535) with len bytes of payload (copied
 * to the file before the call returns; borrowed for the call) and sets
 * *out_seq (OUT, may be NULL) to its sequence number. The record is
 * written but not yet durable: call fl_wal_commit before acknowledging it.
 * Returns 0; FL_ETOOBIG (len > max_record: never fits, answer 413);
 * FL_EAGAIN (accepting it would take the segment files over max_bytes:
 * nothing was written; retry after a checkpoint, answer 503 +
 * Retry-After); -EINVAL (kind > 65535); -errno from the file system
 * (-ENOSPC, -EIO, ...): nothing of the record remains in the file, the
 * next append may succeed; or the sticky error of a failed WAL (see
 * fl_wal_commit). Thread: any. */
int fl_wal_append(struct fl_wal *w, unsigned kind, const void *payload,
                  size_t len, uint64_t *out_seq);

/* fl_wal_append with the payload gathered from iovcnt buffers (1 ..
 * FL_WAL_MAX_IOV, else -EINVAL), e.g. a source tag and the raw text of a
 * request without copying them together. Same returns. Thread: any. */
int fl_wal_appendv(struct fl_wal *w, unsigned kind, const struct iovec *iov,
                   int iovcnt, uint64_t *out_seq);

/* Blocks until every record with a sequence number <= seq is durable
 * (fdatasync'd, or published by a checkpoint). Group commit: one caller
 * syncs for everybody who appended before it started; the others wait
 * for it and return without a sync of their own. seq 0 returns at once.
 * Returns 0; -EINVAL (seq was never appended); or the sticky error: a
 * failed fdatasync (or a write whose partial frame could not be cut off)
 * fails the WAL, since the kernel may have dropped the unsynced pages;
 * every later append, commit and checkpoint returns that error, and the
 * server must close and reopen the WAL (recovery then sees what really
 * is on disk). Thread: any. */
int fl_wal_commit(struct fl_wal *w, uint64_t seq);

/* Records durably that every record <= seq is published (the checkpoint
 * file is replaced atomically: temp file, fsync, rename, directory fsync)
 * and then deletes every segment whose records are all <= seq, the active
 * one included (the next append starts a new segment), freeing room
 * under max_bytes. A seq at or below the current checkpoint is a no-op.
 * Returns 0; -EINVAL (seq was never appended); the sticky error; -errno
 * (the old checkpoint stays in force). Thread: any (calls are
 * serialized). */
int fl_wal_checkpoint(struct fl_wal *w, uint64_t seq);

/* A consistent snapshot of w's counters into *out (OUT). Thread: any. */
void fl_wal_stats(struct fl_wal *w, struct fl_wal_stats *out);

/* Syncs what was appended but not yet committed, closes the files,
 * releases the directory lock and frees w. NULL is a no-op. Returns 0,
 * or the sync's -errno or the sticky error (w is freed anyway).
 * Thread: owner, after every other thread has stopped using w. */
int fl_wal_close(struct fl_wal *w);

/* Checks the WAL in dir without changing anything and without taking the
 * lock (for `flowlake wal-check`): fn (may be NULL) is called once per
 * segment file in order, and *out_rec (OUT) receives the report (damage is
 * reported there, not as a return code; replayed and next_seq stay 0).
 * Returns 0, fn's negative value, -ENOENT (no such directory), -ENOMEM or
 * -errno. Thread: any. */
int fl_wal_scan(const char *dir, fl_wal_segment_fn *fn, void *ctx,
                struct fl_wal_recovery *out_rec);

/* "none", "torn tail", "corruption". Never NULL. */
const char *fl_wal_damage_name(enum fl_wal_damage d);

#endif /* FL_WAL_H */
