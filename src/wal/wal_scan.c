/* SPDX-License-Identifier: MIT
 *
 * wal_scan.c -- recovery of a WAL directory: the two read-only passes
 * behind fl_wal_open and `flowlake wal-check` (fl_wal_scan).
 *
 * Pass 1 (fl_wal_scan_dir) lists the segment files, reads the checkpoint,
 * skips the segments whose records are all published, and validates every
 * frame of the others in order, checking that each segment continues the
 * previous one. It stops at the first bad byte and classifies it (TORN or
 * CORRUPT, see wal.h): a damage is TORN only when it is in the last
 * segment, has the shape of an interrupted write (the frame header is
 * incomplete, or plausible and announcing more bytes than the file has,
 * or only zeros follow), and no valid frame follows it. To know the
 * latter, the rest of the damaged segment is probed at every byte offset
 * for a frame with the segment's salt, a sequence number at or above the
 * expected one and a good CRC, and later segments for a valid header.
 * Pass 2 (fl_wal_scan_replay) reads the valid records again and hands
 * those above the checkpoint to the caller; it runs only once pass 1 has
 * decided that the WAL may be opened, so a refused open never replays.
 *
 * Memory: one read buffer of 256 KiB, grown to the largest frame read
 * (bounded by FL_WAL_RECORD_LIMIT and by the file's size), and the list
 * of segments. Nothing here writes to the directory.
 */
#include "../core/fl_config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "wal_int.h"

#define RBUF_CAP (256 * 1024)


/* ---------------------------------------------------------------------
 * A read buffer over one file, for mostly sequential access
 * ------------------------------------------------------------------- */

struct rbuf {
    int            fd;
    uint64_t       size;        /* file size from fstat */
    uint64_t       base;        /* file offset of buf[0] */
    size_t         len;         /* valid bytes in buf */
    size_t         cap;
    unsigned char *buf;
};


/* Makes bytes [off, off + n) of the file available at *out; the caller
 * has checked that off + n <= rb->size. FL_ECORRUPT when the file is
 * shorter than fstat said (it changed under us). */
static int
rb_get(struct rbuf *rb, uint64_t off, size_t n, const unsigned char **out)
{
    if (off >= rb->base && off - rb->base <= rb->len
        && n <= rb->len - (size_t)(off - rb->base)) {
        *out = rb->buf + (off - rb->base);
        return FL_OK;
    }
    size_t want = n > RBUF_CAP ? n : RBUF_CAP;
    if (want > rb->size - off)
        want = (size_t)(rb->size - off);
    if (want > rb->cap) {
        unsigned char *nb = fl_realloc(rb->buf, want);
        if (nb == NULL)
            return FL_ENOMEM;
        rb->buf = nb;
        rb->cap = want;
    }
    size_t got = 0;
    while (got < want) {
        ssize_t r = pread(rb->fd, rb->buf + got, want - got,
                          (off_t)(off + got));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rb->len = 0;
            return -errno;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    rb->base = off;
    rb->len = got;
    if (got < n)
        return FL_ECORRUPT;
    *out = rb->buf;
    return FL_OK;
}


/* Sets *zero when bytes [from, rb->size) are all zero. */
static int
all_zero(struct rbuf *rb, uint64_t from, int *zero)
{
    *zero = 1;
    while (from < rb->size) {
        size_t n = rb->size - from > RBUF_CAP ? RBUF_CAP
                                              : (size_t)(rb->size - from);
        const unsigned char *p;
        int rc = rb_get(rb, from, n, &p);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < n; i++) {
            if (p[i] != 0) {
                *zero = 0;
                return FL_OK;
            }
        }
        from += n;
    }
    return FL_OK;
}


/* Sets *found when a valid frame (salt, sequence >= min_seq, flags 0,
 * inside the file, CRC) starts at some offset in [from, size). */
static int
probe_frames(struct rbuf *rb, uint32_t salt, uint64_t min_seq,
             uint64_t from, int *found)
{
    *found = 0;
    for (uint64_t p = from; rb->size >= FL_WAL_FRAME_HDR_SIZE
                            && p <= rb->size - FL_WAL_FRAME_HDR_SIZE; p++) {
        const unsigned char *h;
        struct fl_wal_frame_hdr fh;
        int rc = rb_get(rb, p, FL_WAL_FRAME_HDR_SIZE, &h);
        if (rc < 0)
            return rc;
        fl_wal_get_frame_hdr(h, &fh);
        if (fh.salt != salt || fh.seq < min_seq || fh.flags != 0
            || fh.len > FL_WAL_RECORD_LIMIT
            || fh.len > rb->size - p - FL_WAL_FRAME_HDR_SIZE)
            continue;
        rc = rb_get(rb, p, FL_WAL_FRAME_HDR_SIZE + (size_t)fh.len, &h);
        if (rc < 0)
            return rc;
        if (fl_wal_frame_crc_ok(h, h + FL_WAL_FRAME_HDR_SIZE, fh.len)) {
            *found = 1;
            return FL_OK;
        }
    }
    return FL_OK;
}


static int
open_segment(int dirfd, const struct fl_wal_segment *seg, struct rbuf *rb)
{
    struct stat st;
    int fd = openat(dirfd, seg->name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    rb->fd = fd;
    rb->size = (uint64_t)st.st_size;
    rb->base = 0;
    rb->len = 0;
    return FL_OK;
}


/* Sets *ok when the segment's header is valid and matches its name. */
static int
header_valid(int dirfd, const struct fl_wal_segment *seg, struct rbuf *rb,
             int *ok)
{
    const unsigned char *h;
    struct fl_wal_seg_hdr sh;
    const char *why;
    int rc = open_segment(dirfd, seg, rb);
    *ok = 0;
    if (rc == -ENOENT)
        return FL_OK;
    if (rc < 0)
        return rc;
    if (rb->size >= FL_WAL_SEGMENT_HDR_SIZE) {
        rc = rb_get(rb, 0, FL_WAL_SEGMENT_HDR_SIZE, &h);
        if (rc == FL_OK && fl_wal_get_seg_hdr(h, &sh, &why) == FL_OK
            && sh.first_seq == seg->first_seq)
            *ok = 1;
    }
    close(rb->fd);
    rb->fd = -1;
    return rc == FL_ECORRUPT ? FL_OK : rc;
}


/* ---------------------------------------------------------------------
 * Pass 1
 * ------------------------------------------------------------------- */

/* The first damage of a segment, as found by check_segment. */
struct damage {
    int         found;
    int         torn_shape;  /* looks like an interrupted write */
    const char *reason;
    uint64_t    off;
    uint64_t    seq;         /* sequence number expected at off */
    int         valid_after; /* a valid frame follows in this segment */
};


/* Validates seg frame by frame, filling its records, last_seq, salt and
 * valid_bytes, and *d with its first damage. */
static int
check_segment(int dirfd, struct fl_wal_segment *seg, struct rbuf *rb,
              struct damage *d)
{
    const unsigned char *h;
    struct fl_wal_seg_hdr sh;
    uint64_t off = FL_WAL_SEGMENT_HDR_SIZE, expect = seg->first_seq;
    int rc = open_segment(dirfd, seg, rb);
    if (rc < 0)
        return rc;
    seg->size = rb->size;
    memset(d, 0, sizeof *d);
    d->seq = expect;

    if (rb->size < FL_WAL_SEGMENT_HDR_SIZE) {
        d->found = 1;
        d->torn_shape = 1;
        d->reason = "segment header incomplete";
        goto out;
    }
    if ((rc = rb_get(rb, 0, FL_WAL_SEGMENT_HDR_SIZE, &h)) < 0)
        goto out;
    if (fl_wal_get_seg_hdr(h, &sh, &d->reason) == FL_OK
        && sh.first_seq != seg->first_seq) {
        d->reason = "segment header does not match its name";
        d->found = 1;
        goto out;
    }
    if (d->reason != NULL) {
        d->found = 1;
        rc = all_zero(rb, 0, &d->torn_shape);
        goto out;
    }
    seg->salt = sh.salt;
    seg->valid_bytes = off;

    while (off < rb->size) {
        struct fl_wal_frame_hdr fh;
        uint64_t rem = rb->size - off;
        d->off = off;
        d->seq = expect;
        if (rem < FL_WAL_FRAME_HDR_SIZE) {
            d->found = 1;
            d->torn_shape = 1;
            d->reason = "incomplete frame header";
            break;
        }
        if ((rc = rb_get(rb, off, FL_WAL_FRAME_HDR_SIZE, &h)) < 0)
            goto out;
        fl_wal_get_frame_hdr(h, &fh);
        if (fh.salt != sh.salt)
            d->reason = "frame salt does not match the segment";
        else if (fh.seq != expect)
            d->reason = "frame sequence number out of order";
        else if (fh.flags != 0)
            d->reason = "unknown frame flags";
        else if (fh.len > FL_WAL_RECORD_LIMIT)
            d->reason = "frame length over the limit";
        else if (fh.len > rem - FL_WAL_FRAME_HDR_SIZE) {
            d->reason = "frame runs past the end of the file";
            d->torn_shape = 1;
        } else {
            size_t n = FL_WAL_FRAME_HDR_SIZE + (size_t)fh.len;
            if ((rc = rb_get(rb, off, n, &h)) < 0)
                goto out;
            if (fl_wal_frame_crc_ok(h, h + FL_WAL_FRAME_HDR_SIZE, fh.len)) {
                off += n;
                seg->records++;
                seg->last_seq = expect++;
                seg->valid_bytes = off;
                continue;
            }
            d->reason = "frame checksum mismatch";
        }
        d->found = 1;
        if (!d->torn_shape && (rc = all_zero(rb, off, &d->torn_shape)) < 0)
            goto out;
        break;
    }
    if (d->found)
        rc = probe_frames(rb, sh.salt, expect, d->off + 1, &d->valid_after);

out:
    close(rb->fd);
    rb->fd = -1;
    return rc;
}


static int
cmp_segs(const void *a, const void *b)
{
    const struct fl_wal_segment *x = a, *y = b;
    return x->first_seq < y->first_seq ? -1 : x->first_seq > y->first_seq;
}


static int
list_segments(const char *dir, struct fl_wal_scan_state *s)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t cap = 0;

    if (d == NULL)
        return -errno;
    while ((e = readdir(d)) != NULL) {
        uint64_t first;
        if (fl_wal_parse_seg_name(e->d_name, &first) < 0)
            continue;
        if (s->nsegs == cap) {
            struct fl_wal_segment *ns = fl_grow(s->segs, &cap, s->nsegs + 1,
                                                sizeof *ns, 16);
            if (ns == NULL) {
                closedir(d);
                return FL_ENOMEM;
            }
            s->segs = ns;
        }
        struct fl_wal_segment *seg = &s->segs[s->nsegs++];
        memset(seg, 0, sizeof *seg);
        fl_wal_seg_name(seg->name, first);
        seg->first_seq = first;
    }
    closedir(d);
    if (s->nsegs > 1)
        qsort(s->segs, s->nsegs, sizeof *s->segs, cmp_segs);
    return FL_OK;
}


static int
read_checkpoint(int dirfd, struct fl_wal_scan_state *s)
{
    unsigned char buf[FL_WAL_CKPT_SIZE + 1];
    size_t len = 0;
    int fd = openat(dirfd, FL_WAL_CKPT_NAME, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? FL_OK : -errno;
    while (len < sizeof buf) {
        ssize_t r = read(fd, buf + len, sizeof buf - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int rc = -errno;
            close(fd);
            return rc;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    if (fl_wal_get_ckpt(buf, len, &s->checkpoint) < 0) {
        s->checkpoint = 0;
        s->rec.checkpoint_damaged = 1;
    }
    return FL_OK;
}


int
fl_wal_scan_dir(const char *dir, int dirfd, struct fl_wal_scan_state *s)
{
    struct fl_wal_recovery *rec = &s->rec;
    struct rbuf rb = { .fd = -1 };
    struct damage d = { 0 };
    size_t i;
    int rc;

    memset(s, 0, sizeof *s);
    if ((rc = read_checkpoint(dirfd, s)) < 0
        || (rc = list_segments(dir, s)) < 0)
        goto fail;
    rec->checkpoint = s->checkpoint;
    rec->segments = s->nsegs;
    s->damaged = s->nsegs;

    /* Segments followed by one that starts at or below checkpoint + 1 hold
     * only published records. The last one is always read. */
    while (s->npublished + 1 < s->nsegs
           && s->segs[s->npublished + 1].first_seq - 1 <= s->checkpoint) {
        s->segs[s->npublished].state = FL_WAL_SEG_PUBLISHED;
        s->npublished++;
    }
    rec->published_segments = s->npublished;
    if (s->npublished < s->nsegs && !rec->checkpoint_damaged
        && s->segs[s->npublished].first_seq - 1 > s->checkpoint)
        rec->missing = s->segs[s->npublished].first_seq - 1 - s->checkpoint;

    for (i = s->npublished; i < s->nsegs; i++) {
        struct fl_wal_segment *seg = &s->segs[i];
        if (i > s->npublished) {
            const struct fl_wal_segment *prev = &s->segs[i - 1];
            uint64_t want = prev->records ? prev->last_seq + 1
                                          : prev->first_seq;
            if (seg->first_seq != want
                && !(seg->first_seq > want
                     && seg->first_seq - 1 <= s->checkpoint)) {
                memset(&d, 0, sizeof d);
                d.found = 1;
                d.seq = want;
                d.reason = seg->first_seq > want
                    ? "sequence gap before this segment"
                    : "segment overlaps the previous one";
                if ((rc = header_valid(dirfd, seg, &rb, &d.valid_after)) < 0)
                    goto fail;
                struct stat st;
                if (fstatat(dirfd, seg->name, &st, 0) == 0)
                    seg->size = (uint64_t)st.st_size;
                break;
            }
        }
        if ((rc = check_segment(dirfd, seg, &rb, &d)) < 0)
            goto fail;
        if (seg->records > 0) {
            if (rec->records == 0)
                rec->first_seq = seg->first_seq;
            rec->last_seq = seg->last_seq;
            rec->records += seg->records;
        }
        if (d.found)
            break;
    }

    if (d.found) {
        struct fl_wal_segment *seg = &s->segs[i];
        s->damaged = i;
        seg->state = FL_WAL_SEG_DAMAGED;
        rec->reason = d.reason;
        memcpy(rec->damage_segment, seg->name, sizeof seg->name);
        rec->damage_offset = d.off;
        rec->damage_seq = d.seq;
        rec->dropped_bytes = seg->size - d.off;
        rec->dropped_segments = s->nsegs - 1 - i;
        rec->valid_after = d.valid_after;
        for (size_t j = i + 1; j < s->nsegs; j++) {
            struct fl_wal_segment *later = &s->segs[j];
            struct stat st;
            int ok = 0;
            later->state = FL_WAL_SEG_DROPPED;
            if (fstatat(dirfd, later->name, &st, 0) == 0)
                later->size = (uint64_t)st.st_size;
            rec->dropped_bytes += later->size;
            if (!rec->valid_after) {
                if ((rc = header_valid(dirfd, later, &rb, &ok)) < 0)
                    goto fail;
                rec->valid_after = ok;
            }
        }
        rec->damage = i == s->nsegs - 1 && d.torn_shape && !rec->valid_after
                      ? FL_WAL_DAMAGE_TORN : FL_WAL_DAMAGE_CORRUPT;
    }
    for (size_t j = 0; j < s->nsegs; j++) {
        struct stat st;
        if (s->segs[j].state == FL_WAL_SEG_PUBLISHED
            && fstatat(dirfd, s->segs[j].name, &st, 0) == 0)
            s->segs[j].size = (uint64_t)st.st_size;
        rec->bytes += s->segs[j].size;
    }
    fl_free(rb.buf);
    return FL_OK;

fail:
    fl_free(rb.buf);
    fl_wal_scan_free(s);
    return rc;
}


/* ---------------------------------------------------------------------
 * Pass 2
 * ------------------------------------------------------------------- */

static int
replay_segment(int dirfd, const struct fl_wal_segment *seg, struct rbuf *rb,
               uint64_t checkpoint, fl_wal_replay_fn *fn, void *ctx,
               uint64_t *replayed)
{
    uint64_t off = FL_WAL_SEGMENT_HDR_SIZE;
    int rc = open_segment(dirfd, seg, rb);
    if (rc < 0)
        return rc;
    if (rb->size < seg->valid_bytes) {
        rc = FL_ECORRUPT;
        goto out;
    }
    for (uint64_t k = 0; k < seg->records; k++) {
        const unsigned char *h;
        struct fl_wal_frame_hdr fh;
        if (off + FL_WAL_FRAME_HDR_SIZE > seg->valid_bytes) {
            rc = FL_ECORRUPT;
            goto out;
        }
        if ((rc = rb_get(rb, off, FL_WAL_FRAME_HDR_SIZE, &h)) < 0)
            goto out;
        fl_wal_get_frame_hdr(h, &fh);
        if (fh.seq != seg->first_seq + k || fh.len > FL_WAL_RECORD_LIMIT
            || fh.len > seg->valid_bytes - off - FL_WAL_FRAME_HDR_SIZE) {
            rc = FL_ECORRUPT;
            goto out;
        }
        if (fh.seq > checkpoint) {
            size_t n = FL_WAL_FRAME_HDR_SIZE + (size_t)fh.len;
            if ((rc = rb_get(rb, off, n, &h)) < 0)
                goto out;
            /* The file is ours (locked), but a disk can return other
             * bytes the second time: check again rather than trust. */
            if (!fl_wal_frame_crc_ok(h, h + FL_WAL_FRAME_HDR_SIZE, fh.len)) {
                rc = FL_ECORRUPT;
                goto out;
            }
            if (fn != NULL
                && (rc = fn(ctx, fh.seq, fh.kind, h + FL_WAL_FRAME_HDR_SIZE,
                            fh.len)) != 0)
                goto out;
            (*replayed)++;
        }
        off += FL_WAL_FRAME_HDR_SIZE + (uint64_t)fh.len;
    }
out:
    close(rb->fd);
    rb->fd = -1;
    return rc;
}


int
fl_wal_scan_replay(int dirfd, struct fl_wal_scan_state *s,
                   fl_wal_replay_fn *fn, void *ctx)
{
    struct rbuf rb = { .fd = -1 };
    int rc = FL_OK;
    size_t end = s->damaged < s->nsegs ? s->damaged + 1 : s->nsegs;

    for (size_t i = s->npublished; i < end && rc == FL_OK; i++) {
        if (s->segs[i].records == 0)
            continue;
        rc = replay_segment(dirfd, &s->segs[i], &rb, s->checkpoint, fn, ctx,
                            &s->rec.replayed);
    }
    fl_free(rb.buf);
    return rc;
}


void
fl_wal_scan_free(struct fl_wal_scan_state *s)
{
    fl_free(s->segs);
    s->segs = NULL;
    s->nsegs = 0;
}


/* ---------------------------------------------------------------------
 * fl_wal_scan: pass 1 only, for wal-check
 * ------------------------------------------------------------------- */

int
fl_wal_scan(const char *dir, fl_wal_segment_fn *fn, void *ctx,
            struct fl_wal_recovery *out_rec)
{
    struct fl_wal_scan_state s;
    int rc, in_use = 0;
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return -errno;

    /* A shared lock attempt tells whether a writer holds the WAL. */
    int lfd = openat(dirfd, FL_WAL_LOCK_NAME, O_RDONLY | O_CLOEXEC);
    if (lfd >= 0) {
        if (flock(lfd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK)
            in_use = 1;
        close(lfd);
    }

    rc = fl_wal_scan_dir(dir, dirfd, &s);
    close(dirfd);
    if (rc < 0)
        return rc;
    s.rec.in_use = in_use;
    for (size_t i = 0; fn != NULL && i < s.nsegs; i++) {
        if ((rc = fn(ctx, &s.segs[i])) != 0)
            break;
    }
    *out_rec = s.rec;
    fl_wal_scan_free(&s);
    return rc;
}


const char *
fl_wal_damage_name(enum fl_wal_damage d)
{
    switch (d) {
    case FL_WAL_DAMAGE_NONE:    return "none";
    case FL_WAL_DAMAGE_TORN:    return "torn tail";
    case FL_WAL_DAMAGE_CORRUPT: return "corruption";
    }
    return "unknown";
}
