/* SPDX-License-Identifier: MIT
 *
 * wal.c -- the live write-ahead log: open (recovery via wal_scan.c and the
 * repairs it calls for), append, group commit, checkpoint, close. The
 * on-disk format is specified in wal_int.h; the contract in wal.h.
 *
 * Concurrency. One mutex (mu) guards all state. Appends write their frame
 * with one writev while holding it, so frames land in sequence order and a
 * failed write can be cut off before anyone else writes; the payload's CRC
 * is computed before taking the lock. Group commit is leader/follower: a
 * committer whose record is not yet durable and who finds no sync running
 * becomes the leader: it notes the last written sequence number, drops the
 * lock, fdatasyncs the active segment, retakes the lock, advances
 * durable_seq and wakes everybody (cv). Committers that arrive while a
 * sync runs wait on cv; when it ends, those it covered return, and one of
 * the rest leads the next sync for all of them. The active segment's fd
 * is never closed while a sync runs (rolls, checkpoints and close wait
 * for `syncing` to drop), so the leader's fd stays valid.
 *
 * Rolling to a new segment happens under the lock: fdatasync the old one
 * (so only the last segment can ever be torn), create the next with
 * O_EXCL, write its header, fsync the directory. Rare (every
 * segment_size bytes), so holding the lock meanwhile is acceptable.
 *
 * Checkpoints are serialized by ckpt_mu; the checkpoint file is written
 * without holding mu, segments are unlinked under it.
 *
 * Failure. Write errors are returned to the appender after the partial
 * frame is truncated away; sync errors (and a failed truncation) make the
 * WAL failed for good (w->error), because after a failed fsync the kernel
 * may have dropped dirty pages and a retry would falsely succeed.
 */
#include "../core/fl_config.h"

#include <assert.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../core/fl_error.h"
#include "../core/fl_fs.h"
#include "../core/fl_mem.h"
#include "wal_int.h"

#define WAL_MAGIC 0x57414c31u          /* "WAL1": stamped in every handle */
#define OVERHEAD (FL_WAL_SEGMENT_HDR_SIZE + FL_WAL_FRAME_HDR_SIZE)

/* A segment file of the open WAL. */
struct live_seg {
    uint64_t first_seq;
    uint64_t size;                     /* bytes on disk */
};

struct fl_wal {
    uint32_t         magic;
    int              dirfd;
    int              lockfd;           /* holds the flock */
    uint64_t         segment_size;
    uint64_t         max_bytes;
    uint32_t         max_record;
    int            (*sync_fn)(int fd);

    pthread_mutex_t  mu;
    pthread_cond_t   cv;               /* a sync ended or durable_seq moved */
    pthread_mutex_t  ckpt_mu;          /* serializes fl_wal_checkpoint */

    /* Everything below is guarded by mu. */
    struct live_seg *segs;             /* sorted; the active one is last */
    size_t           nsegs;
    size_t           capsegs;
    int              fd;               /* active segment (segs[nsegs-1]), or
                                          -1: the next append creates one */
    uint32_t         salt;             /* the active (or last) segment's */
    uint64_t         next_seq;
    uint64_t         durable_seq;
    uint64_t         checkpoint;
    uint64_t         bytes;            /* sum of segs[].size */
    int              syncing;          /* a leader is in fdatasync */
    int              error;            /* sticky; 0 while healthy */
    struct fl_wal_stats st;            /* counters only */
};


/* ---------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------- */

static void
check_handle(const struct fl_wal *w)
{
    /* Catches use after close and wild pointers (STYLE rule 19). */
    assert(w != NULL && w->magic == WAL_MAGIC);
    (void)w;
}


static int
data_sync(struct fl_wal *w, int fd)
{
    if (w->sync_fn != NULL)
        return w->sync_fn(fd);
    return fdatasync(fd) < 0 ? -errno : FL_OK;
}


/* fsync of a directory or of a file whose metadata matters (rename,
 * truncate); through the test hook as well. */
static int
full_sync(struct fl_wal *w, int fd)
{
    if (w->sync_fn != NULL)
        return w->sync_fn(fd);
    return fsync(fd) < 0 ? -errno : FL_OK;
}


static int
dir_sync(struct fl_wal *w)
{
    return full_sync(w, w->dirfd);
}


/* unlinkat that treats a missing file as done. */
static int
unlink_seg(int dirfd, uint64_t first_seq)
{
    char name[FL_WAL_NAME_SIZE];
    fl_wal_seg_name(name, first_seq);
    if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
        return -errno;
    return FL_OK;
}


/* Writes all iov, retrying short writes and EINTR; modifies iov. */
static int
writev_all(int fd, struct iovec *iov, int cnt)
{
    while (cnt > 0) {
        ssize_t n = writev(fd, iov, cnt);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        size_t left = (size_t)n;
        while (cnt > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return FL_OK;
}


static int
reserve_seg(struct fl_wal *w)
{
    struct live_seg *ns = fl_grow(w->segs, &w->capsegs, w->nsegs + 1,
                                  sizeof *ns, 8);
    if (ns == NULL)
        return FL_ENOMEM;
    w->segs = ns;
    return FL_OK;
}


/* ---------------------------------------------------------------------
 * Segments
 * ------------------------------------------------------------------- */

/* Creates the segment for w->next_seq and makes it active. Called with mu
 * held, no active segment and no sync running. */
static int
create_segment_locked(struct fl_wal *w)
{
    unsigned char hdr[FL_WAL_SEGMENT_HDR_SIZE];
    char name[FL_WAL_NAME_SIZE];
    uint32_t salt = fl_wal_new_salt(w->salt);
    int rc, fd;

    assert(w->fd < 0 && !w->syncing);
    if ((rc = reserve_seg(w)) < 0)
        return rc;
    fl_wal_seg_name(name, w->next_seq);
    fd = openat(w->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                0644);
    if (fd < 0)
        return -errno;
    fl_wal_put_seg_hdr(hdr, salt, w->next_seq);
    if ((rc = fl_fs_write_all(fd, hdr, sizeof hdr)) < 0
        || (rc = dir_sync(w)) < 0) {
        close(fd);
        if (unlinkat(w->dirfd, name, 0) < 0)
            w->error = rc;   /* a stray partial segment: stop writing */
        return rc;
    }
    w->fd = fd;
    w->salt = salt;
    w->segs[w->nsegs].first_seq = w->next_seq;
    w->segs[w->nsegs].size = FL_WAL_SEGMENT_HDR_SIZE;
    w->nsegs++;
    w->bytes += FL_WAL_SEGMENT_HDR_SIZE;
    w->st.segments_created++;
    return FL_OK;
}


/* Closes the active segment after syncing it, then creates the next one.
 * Called with mu held and no sync running. */
static int
roll_locked(struct fl_wal *w)
{
    /* Room for the next segment first: failing after the old one is
     * closed would leave no active segment for nothing. */
    int rc = reserve_seg(w);
    if (rc < 0)
        return rc;
    if (w->fd >= 0) {
        rc = data_sync(w, w->fd);
        w->st.syncs++;
        if (rc < 0) {
            w->error = rc;
            pthread_cond_broadcast(&w->cv);
            return rc;
        }
        w->durable_seq = w->next_seq - 1;
        pthread_cond_broadcast(&w->cv);
        close(w->fd);
        w->fd = -1;
    }
    return create_segment_locked(w);
}


/* ---------------------------------------------------------------------
 * Append and commit
 * ------------------------------------------------------------------- */

int
fl_wal_appendv(struct fl_wal *w, unsigned kind, const struct iovec *iov,
               int iovcnt, uint64_t *out_seq)
{
    unsigned char hdr[FL_WAL_FRAME_HDR_SIZE];
    struct iovec v[FL_WAL_MAX_IOV + 1];
    uint32_t pcrc = FL_WAL_CRC_INIT;
    size_t len = 0;
    uint64_t seq;
    int rc = FL_OK;

    check_handle(w);
    if (iovcnt < 1 || iovcnt > FL_WAL_MAX_IOV || kind > 0xFFFF)
        return -EINVAL;
    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].iov_len > FL_WAL_RECORD_LIMIT
            || (len += iov[i].iov_len) > w->max_record)
            return FL_ETOOBIG;
    }
    /* Outside the lock: the payload's share of the CRC. */
    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].iov_len > 0)
            pcrc = fl_wal_crc_update(pcrc, iov[i].iov_base, iov[i].iov_len);
        v[i + 1] = iov[i];
    }
    v[0].iov_base = hdr;
    v[0].iov_len = sizeof hdr;

    uint64_t need = FL_WAL_FRAME_HDR_SIZE + (uint64_t)len;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        if (w->error) {
            rc = w->error;
            goto out;
        }
        int roll = w->fd < 0
                   || w->segs[w->nsegs - 1].size + need > w->segment_size;
        uint64_t extra = roll ? FL_WAL_SEGMENT_HDR_SIZE : 0;
        if (w->bytes + need + extra > w->max_bytes) {
            w->st.full++;
            rc = FL_EAGAIN;
            goto out;
        }
        if (!roll)
            break;
        if (w->syncing) {
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        if ((rc = roll_locked(w)) < 0)
            goto out;
    }

    struct live_seg *cur = &w->segs[w->nsegs - 1];
    seq = w->next_seq;
    fl_wal_put_frame_hdr(hdr, (uint32_t)len, kind, seq, w->salt, pcrc);
    if ((rc = writev_all(w->fd, v, iovcnt + 1)) < 0) {
        /* Cut off whatever part of the frame reached the file, so that
         * the next frame follows the last whole one. */
        if (ftruncate(w->fd, (off_t)cur->size) < 0
            || lseek(w->fd, (off_t)cur->size, SEEK_SET) < 0)
            w->error = rc;
        goto out;
    }
    cur->size += need;
    w->bytes += need;
    w->next_seq++;
    w->st.appends++;
    w->st.append_bytes += len;
    if (out_seq != NULL)
        *out_seq = seq;
out:
    pthread_mutex_unlock(&w->mu);
    return rc;
}


int
fl_wal_append(struct fl_wal *w, unsigned kind, const void *payload,
              size_t len, uint64_t *out_seq)
{
    struct iovec v;
    v.iov_base = (void *)(uintptr_t)payload;   /* writev only reads it */
    v.iov_len = len;
    return fl_wal_appendv(w, kind, &v, 1, out_seq);
}


int
fl_wal_commit(struct fl_wal *w, uint64_t seq)
{
    int rc;

    check_handle(w);
    pthread_mutex_lock(&w->mu);
    w->st.commits++;
    if (seq >= w->next_seq) {
        rc = -EINVAL;
        goto out;
    }
    for (;;) {
        if (w->error) {
            rc = w->error;
            break;
        }
        if (w->durable_seq >= seq) {
            rc = FL_OK;
            break;
        }
        if (w->syncing) {
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        /* Leader: one sync for every record written so far. Without an
         * active segment everything is durable already (roll synced it,
         * or a checkpoint published it), so fd is valid here. */
        uint64_t target = w->next_seq - 1;
        int fd = w->fd;
        assert(fd >= 0);
        w->syncing = 1;
        pthread_mutex_unlock(&w->mu);
        int r = data_sync(w, fd);
        pthread_mutex_lock(&w->mu);
        w->syncing = 0;
        w->st.syncs++;
        if (r < 0) {
            if (!w->error)
                w->error = r;
        } else if (target > w->durable_seq) {
            w->durable_seq = target;
        }
        pthread_cond_broadcast(&w->cv);
    }
out:
    pthread_mutex_unlock(&w->mu);
    return rc;
}


/* ---------------------------------------------------------------------
 * Checkpoint
 * ------------------------------------------------------------------- */

/* checkpoint.tmp, fsync, rename over checkpoint, fsync the directory. */
static int
write_checkpoint(struct fl_wal *w, uint64_t seq)
{
    int dirfd = w->dirfd;
    unsigned char buf[FL_WAL_CKPT_SIZE];
    int rc, fd;

    fl_wal_put_ckpt(buf, seq);
    fd = openat(dirfd, FL_WAL_CKPT_TMP_NAME,
                O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    rc = fl_fs_write_all(fd, buf, sizeof buf);
    if (rc == FL_OK)
        rc = full_sync(w, fd);
    if (close(fd) < 0 && rc == FL_OK)
        rc = -errno;
    if (rc == FL_OK
        && renameat(dirfd, FL_WAL_CKPT_TMP_NAME, dirfd, FL_WAL_CKPT_NAME) < 0)
        rc = -errno;
    if (rc == FL_OK)
        rc = dir_sync(w);
    if (rc < 0)
        unlinkat(dirfd, FL_WAL_CKPT_TMP_NAME, 0);
    return rc;
}


int
fl_wal_checkpoint(struct fl_wal *w, uint64_t seq)
{
    int rc = FL_OK, noop = 0;
    size_t k = 0, del = 0;

    check_handle(w);
    pthread_mutex_lock(&w->ckpt_mu);
    pthread_mutex_lock(&w->mu);
    if (w->error)
        rc = w->error;
    else if (seq >= w->next_seq)
        rc = -EINVAL;
    else if (seq <= w->checkpoint)
        noop = 1;
    pthread_mutex_unlock(&w->mu);
    if (rc < 0 || noop)
        goto out_ckpt;

    /* Durable before any segment goes: a crash in between must find the
     * new checkpoint, or the deleted records would be missing. */
    if ((rc = write_checkpoint(w, seq)) < 0)
        goto out_ckpt;

    pthread_mutex_lock(&w->mu);
    w->checkpoint = seq;
    for (;;) {
        /* segs[i] holds only records <= seq when the next segment starts
         * at or below seq + 1, or, for the last one, when every record
         * written so far is <= seq. The rule is monotone: a prefix. */
        k = 0;
        while (k + 1 < w->nsegs && w->segs[k + 1].first_seq - 1 <= seq)
            k++;
        if (k + 1 == w->nsegs && w->next_seq - 1 <= seq)
            k++;
        if (k == w->nsegs && w->fd >= 0 && w->syncing) {
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        break;
    }
    if (k == w->nsegs && w->fd >= 0) {
        /* The active segment goes too; the next append starts anew. */
        close(w->fd);
        w->fd = -1;
        w->durable_seq = w->next_seq - 1;
        pthread_cond_broadcast(&w->cv);
    }
    for (del = 0; del < k; del++) {
        if ((rc = unlink_seg(w->dirfd, w->segs[del].first_seq)) < 0)
            break;
        w->bytes -= w->segs[del].size;
        w->st.segments_deleted++;
    }
    if (del > 0) {
        memmove(w->segs, w->segs + del, (w->nsegs - del) * sizeof *w->segs);
        w->nsegs -= del;
    }
    pthread_mutex_unlock(&w->mu);
    if (del > 0 && rc == FL_OK)
        rc = dir_sync(w);
out_ckpt:
    pthread_mutex_unlock(&w->ckpt_mu);
    return rc;
}


/* ---------------------------------------------------------------------
 * Stats and close
 * ------------------------------------------------------------------- */

void
fl_wal_stats(struct fl_wal *w, struct fl_wal_stats *out)
{
    check_handle(w);
    pthread_mutex_lock(&w->mu);
    *out = w->st;
    out->segments = w->nsegs;
    out->bytes = w->bytes;
    out->max_bytes = w->max_bytes;
    out->next_seq = w->next_seq;
    out->durable_seq = w->durable_seq;
    out->checkpoint = w->checkpoint;
    out->error = w->error;
    pthread_mutex_unlock(&w->mu);
}


/* Releases everything of a handle; mutexes only when inited. */
static void
free_handle(struct fl_wal *w, int inited)
{
    if (w->fd >= 0)
        close(w->fd);
    if (w->lockfd >= 0)
        close(w->lockfd);               /* drops the flock */
    if (w->dirfd >= 0)
        close(w->dirfd);
    if (inited) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->ckpt_mu);
        pthread_mutex_destroy(&w->mu);
    }
    w->magic = 0;
    fl_free(w->segs);
    fl_free(w);
}


int
fl_wal_close(struct fl_wal *w)
{
    int rc;

    if (w == NULL)
        return FL_OK;
    check_handle(w);
    pthread_mutex_lock(&w->mu);
    while (w->syncing)
        pthread_cond_wait(&w->cv, &w->mu);
    rc = w->error;
    if (rc == FL_OK && w->fd >= 0 && w->durable_seq + 1 < w->next_seq) {
        rc = data_sync(w, w->fd);
        w->st.syncs++;
    }
    pthread_mutex_unlock(&w->mu);
    free_handle(w, 1);
    return rc;
}


/* ---------------------------------------------------------------------
 * Open
 * ------------------------------------------------------------------- */

static int
resolve_options(const struct fl_wal_options *o, struct fl_wal *w)
{
    static const struct fl_wal_options defaults;
    if (o == NULL)
        o = &defaults;
    w->segment_size = o->segment_size ? o->segment_size
                                      : FL_WAL_DEFAULT_SEGMENT_SIZE;
    w->max_bytes = o->max_bytes ? o->max_bytes : FL_WAL_DEFAULT_MAX_BYTES;
    w->sync_fn = o->sync_fn;
    if ((o->flags & ~FL_WAL_REPAIR) != 0 || w->segment_size < 64
        || w->max_bytes < 64)
        return FL_ECONFIG;
    if (o->max_record != 0) {
        if (o->max_record > FL_WAL_RECORD_LIMIT
            || o->max_record + (uint64_t)OVERHEAD > w->segment_size
            || o->max_record + (uint64_t)OVERHEAD > w->max_bytes)
            return FL_ECONFIG;
        w->max_record = o->max_record;
    } else {
        uint64_t mr = FL_WAL_DEFAULT_MAX_RECORD;
        if (mr + OVERHEAD > w->segment_size)
            mr = w->segment_size - OVERHEAD;
        if (mr + OVERHEAD > w->max_bytes)
            mr = w->max_bytes - OVERHEAD;
        w->max_record = (uint32_t)mr;
    }
    return FL_OK;
}


/* Cuts the damage reported by the scan off the disk: later segments are
 * deleted last-first (a crash midway leaves a contiguous prefix plus a
 * gap that the next open reports again), then the damaged segment is
 * truncated to its valid prefix, or deleted when its header is bad. */
static int
cut_damage(struct fl_wal *w, struct fl_wal_scan_state *s)
{
    int dirfd = w->dirfd;
    struct fl_wal_segment *seg = &s->segs[s->damaged];
    int rc, fd;

    for (size_t j = s->nsegs; j-- > s->damaged + 1; ) {
        if ((rc = unlink_seg(dirfd, s->segs[j].first_seq)) < 0)
            return rc;
        s->nsegs = j;
    }
    if (seg->valid_bytes < FL_WAL_SEGMENT_HDR_SIZE) {
        if ((rc = unlink_seg(dirfd, seg->first_seq)) < 0)
            return rc;
        s->nsegs = s->damaged;
        return FL_OK;
    }
    fd = openat(dirfd, seg->name, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    rc = ftruncate(fd, (off_t)seg->valid_bytes) < 0 ? -errno
                                                    : full_sync(w, fd);
    close(fd);
    if (rc == FL_OK) {
        seg->size = seg->valid_bytes;
        s->nsegs = s->damaged + 1;
    }
    return rc;
}


/* After the scan (and replay): repairs, removes what is published, and
 * sets up the live state of w. */
static int
settle(struct fl_wal *w, struct fl_wal_scan_state *s)
{
    struct fl_wal_recovery *rec = &s->rec;
    size_t first = s->npublished;
    uint64_t last = s->checkpoint;
    int rc, changed = 0;

    if (rec->damage != FL_WAL_DAMAGE_NONE) {
        if ((rc = cut_damage(w, s)) < 0)
            return rc;
        rec->repaired = 1;
        changed = 1;
    }
    for (size_t i = 0; i < s->npublished; i++) {
        if ((rc = unlink_seg(w->dirfd, s->segs[i].first_seq)) < 0)
            return rc;
        w->st.segments_deleted++;
        changed = 1;
    }
    if (unlinkat(w->dirfd, FL_WAL_CKPT_TMP_NAME, 0) == 0)
        changed = 1;
    else if (errno != ENOENT)
        return -errno;

    /* The next sequence number follows everything ever named: records,
     * empty segments (their name promises their first number) and the
     * checkpoint. Sequence numbers never go back. */
    for (size_t i = first; i < s->nsegs; i++) {
        const struct fl_wal_segment *seg = &s->segs[i];
        uint64_t end = seg->records ? seg->last_seq : seg->first_seq - 1;
        if (end > last)
            last = end;
    }
    w->next_seq = last + 1;
    w->checkpoint = s->checkpoint;

    if (s->nsegs > first) {
        const struct fl_wal_segment *l = &s->segs[s->nsegs - 1];
        uint64_t lnext = l->records ? l->last_seq + 1 : l->first_seq;
        if (lnext != w->next_seq) {
            /* Every record in it is published (next_seq came from the
             * checkpoint), so it goes like the other published ones. */
            if ((rc = unlink_seg(w->dirfd, l->first_seq)) < 0)
                return rc;
            w->st.segments_deleted++;
            s->nsegs--;
            changed = 1;
        }
    }
    if (rec->checkpoint_damaged) {
        /* Nothing on disk says what was published: replay all of it again
         * (at least once) from now on, never skip it. */
        uint64_t c = s->nsegs > first ? s->segs[first].first_seq - 1
                                      : w->next_seq - 1;
        if ((rc = write_checkpoint(w, c)) < 0)
            return rc;
        w->checkpoint = c;
        rec->repaired = 1;
    }
    if (changed && (rc = dir_sync(w)) < 0)
        return rc;

    for (size_t i = first; i < s->nsegs; i++) {
        if ((rc = reserve_seg(w)) < 0)
            return rc;
        w->segs[w->nsegs].first_seq = s->segs[i].first_seq;
        w->segs[w->nsegs].size = s->segs[i].size;
        w->bytes += s->segs[i].size;
        w->nsegs++;
    }
    if (w->nsegs > 0) {
        /* Reopen the last segment for appending, and sync it: records
         * replayed from the page cache after a kill -9 may not be on the
         * disk yet, and durable_seq is about to claim them. */
        const struct fl_wal_segment *l = &s->segs[s->nsegs - 1];
        int fd = openat(w->dirfd, l->name, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            return -errno;
        w->fd = fd;
        w->salt = l->salt;
        off_t end = lseek(fd, 0, SEEK_END);
        if (end < 0)
            return -errno;
        if ((uint64_t)end != l->size)
            return FL_ECORRUPT;         /* changed since the scan */
        if ((rc = data_sync(w, fd)) < 0)
            return rc;
        w->st.syncs++;
    }
    w->durable_seq = w->next_seq - 1;
    rec->next_seq = w->next_seq;
    rec->bytes = w->bytes;
    rec->checkpoint = w->checkpoint;
    return FL_OK;
}


int
fl_wal_open(const char *dir, const struct fl_wal_options *opts,
            fl_wal_replay_fn *fn, void *ctx, struct fl_wal_recovery *out_rec,
            struct fl_wal **out)
{
    struct fl_wal_scan_state s = { 0 };
    struct fl_wal *w = fl_calloc(1, sizeof *w);
    int rc, scanned = 0;

    if (w == NULL)
        return FL_ENOMEM;
    w->magic = WAL_MAGIC;
    w->fd = w->dirfd = w->lockfd = -1;
    if ((rc = resolve_options(opts, w)) < 0)
        goto fail;
    if ((rc = fl_fs_mkdirs(dir)) < 0)
        goto fail;
    if ((w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        rc = -errno;
        goto fail;
    }
    w->lockfd = openat(w->dirfd, FL_WAL_LOCK_NAME,
                       O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (w->lockfd < 0) {
        rc = -errno;
        goto fail;
    }
    if (flock(w->lockfd, LOCK_EX | LOCK_NB) < 0) {
        rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
        goto fail;
    }

    if ((rc = fl_wal_scan_dir(dir, w->dirfd, &s)) < 0)
        goto fail;
    scanned = 1;
    if ((s.rec.damage == FL_WAL_DAMAGE_CORRUPT || s.rec.checkpoint_damaged)
        && !(opts != NULL && (opts->flags & FL_WAL_REPAIR))) {
        if (out_rec != NULL)
            *out_rec = s.rec;
        rc = FL_ECORRUPT;
        goto fail;
    }
    if ((rc = fl_wal_scan_replay(w->dirfd, &s, fn, ctx)) != 0)
        goto fail;
    if ((rc = settle(w, &s)) < 0)
        goto fail;

    if ((rc = pthread_mutex_init(&w->mu, NULL)) != 0) {
        rc = -rc;
        goto fail;
    }
    if ((rc = pthread_mutex_init(&w->ckpt_mu, NULL)) != 0) {
        pthread_mutex_destroy(&w->mu);
        rc = -rc;
        goto fail;
    }
    if ((rc = pthread_cond_init(&w->cv, NULL)) != 0) {
        pthread_mutex_destroy(&w->ckpt_mu);
        pthread_mutex_destroy(&w->mu);
        rc = -rc;
        goto fail;
    }
    if (out_rec != NULL)
        *out_rec = s.rec;
    fl_wal_scan_free(&s);
    *out = w;
    return FL_OK;

fail:
    if (scanned)
        fl_wal_scan_free(&s);
    free_handle(w, 0);
    return rc;
}
