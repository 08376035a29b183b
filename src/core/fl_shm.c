/* SPDX-License-Identifier: MIT
 *
 * fl_shm.c -- append-only shared text segments (see fl_shm.h).
 */
#define _GNU_SOURCE 1          /* memfd_create, MADV_REMOVE */
#include "fl_config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fl_error.h"
#include "fl_mem.h"
#include "fl_shm.h"

struct fl_shm_seg {
    _Atomic unsigned refs;
    int              fd;         /* read-only, for readers */
    char            *base;       /* mapped read-write, size bytes */
    size_t           size;
};

struct fl_shm_arena {
    pthread_mutex_t    mu;
    size_t             seg_size;
    struct fl_shm_seg *cur;      /* being filled (held), or NULL */
    size_t             used;     /* bytes of cur handed out */
};


static size_t
page_round(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return (n + page - 1) / page * page;
}


/* A new segment of size bytes (a multiple of the page), held once. The
 * read-write descriptor is closed once mapped: the mapping keeps the file,
 * and only the read-only one is ever given away. */
static int
seg_create(size_t size, struct fl_shm_seg **out)
{
    struct fl_shm_seg *seg = fl_calloc(1, sizeof *seg);
    char path[64];
    int rc;

    if (seg == NULL)
        return FL_ENOMEM;
    int fd = memfd_create("flowlake-buffer", MFD_CLOEXEC);
    if (fd < 0) {
        rc = -errno;          /* FL_ENOMEM is -ENOMEM */
        fl_free(seg);
        return rc;
    }
    /* The file's size costs nothing until written: tmpfs allocates pages
     * on the first write. */
    seg->base = ftruncate(fd, (off_t)size) == 0
              ? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
              : MAP_FAILED;
    if (seg->base == MAP_FAILED) {
        rc = -errno;          /* FL_ENOMEM is -ENOMEM */
        close(fd);
        fl_free(seg);
        return rc;
    }
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    seg->fd = open(path, O_RDONLY | O_CLOEXEC);
    rc = seg->fd < 0 ? -errno : FL_OK;
    close(fd);
    if (rc < 0) {
        munmap(seg->base, size);
        fl_free(seg);
        return rc;
    }
    seg->size = size;
    atomic_init(&seg->refs, 1);
    *out = seg;
    return FL_OK;
}


void
fl_shm_seg_hold(struct fl_shm_seg *seg)
{
    atomic_fetch_add(&seg->refs, 1);
}


void
fl_shm_seg_release(struct fl_shm_seg *seg)
{
    if (seg == NULL || atomic_fetch_sub(&seg->refs, 1) != 1)
        return;
    munmap(seg->base, seg->size);
    close(seg->fd);
    fl_free(seg);
}


int
fl_shm_seg_fd(const struct fl_shm_seg *seg)
{
    return seg->fd;
}


int
fl_shm_arena_create(size_t seg_size, struct fl_shm_arena **out)
{
    struct fl_shm_arena *a = fl_calloc(1, sizeof *a);
    if (a == NULL)
        return FL_ENOMEM;
    if (pthread_mutex_init(&a->mu, NULL) != 0) {
        fl_free(a);
        return FL_ENOMEM;
    }
    a->seg_size = page_round(seg_size ? seg_size : FL_SHM_SEGMENT_SIZE);
    *out = a;
    return FL_OK;
}


void
fl_shm_arena_destroy(struct fl_shm_arena *a)
{
    if (a == NULL)
        return;
    fl_shm_seg_release(a->cur);
    pthread_mutex_destroy(&a->mu);
    fl_free(a);
}


/* Makes room for len bytes in the segment being filled: reuses it from
 * its start when no piece of it is held any more (its used pages given
 * back first), else starts a new one when it is full. Under a->mu. */
static int
make_room(struct fl_shm_arena *a, size_t len)
{
    if (a->cur != NULL && a->used > 0 && atomic_load(&a->cur->refs) == 1) {
        /* Only the arena holds it, and only the arena can take a new
         * hold: nobody can be reading it. A failed punch only keeps the
         * pages until they are written again. */
        (void)madvise(a->cur->base, page_round(a->used), MADV_REMOVE);
        a->used = 0;
    }
    if (a->cur != NULL && a->cur->size - a->used >= len)
        return FL_OK;
    struct fl_shm_seg *seg = NULL;
    int rc = seg_create(a->seg_size, &seg);
    if (rc < 0)
        return rc;
    fl_shm_seg_release(a->cur);
    a->cur = seg;
    a->used = 0;
    return FL_OK;
}


int
fl_shm_copy(struct fl_shm_arena *a, const char *text, size_t len,
            struct fl_shm_seg **seg, size_t *off, char **p)
{
    int rc;

    /* A piece larger than a segment gets one of its own, never filled
     * further: the arena does not hold it. */
    if (len > a->seg_size) {
        struct fl_shm_seg *own = NULL;
        if ((rc = seg_create(page_round(len), &own)) < 0)
            return rc;
        memcpy(own->base, text, len);
        *seg = own;
        *off = 0;
        *p = own->base;
        return FL_OK;
    }
    pthread_mutex_lock(&a->mu);
    rc = make_room(a, len);
    if (rc == FL_OK) {
        *seg = a->cur;
        *off = a->used;
        *p = a->cur->base + a->used;
        a->used += len;
        fl_shm_seg_hold(a->cur);
    }
    pthread_mutex_unlock(&a->mu);
    /* The space is this caller's alone: copied outside the lock. */
    if (rc == FL_OK && len > 0)
        memcpy(*p, text, len);
    return rc;
}
