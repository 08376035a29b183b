/* SPDX-License-Identifier: MIT
 *
 * fl_shm.h -- text that another process may read without a copy: the live
 * server's buffered flow-log lines, which every query from the network
 * must see (its worker process reads them) and which can be hundreds of
 * MiB. Copying them into each query's message cost more than the query
 * itself; instead the text is written once into anonymous shared files
 * (memfd) and the worker maps them read-only.
 *
 * An arena hands out space in segments of a fixed size (a larger piece
 * gets a segment of its own). A segment is append-only: bytes once handed
 * out are never written again while anyone holds them, so a reader that
 * was given (segment, offset, length) sees exactly the bytes that were
 * there. Each piece holds its segment (fl_shm_seg_hold/release); a full
 * segment is unmapped and closed when its last piece goes. The segment
 * being filled is held by the arena too: when the arena finds it holding
 * no piece, it gives its pages back to the system (a hole punched over
 * what was used) and fills it again from offset 0 -- which is safe only
 * because nobody holds a piece of it, so nobody can be reading it.
 *
 * Readers get a read-only descriptor (fl_shm_seg_fd): opened anew through
 * /proc/self/fd, so that a process given it cannot write through it, nor
 * turn a mapping of it writable.
 *
 * Thread: the arena takes its own lock; segment holds are atomic.
 */
#ifndef FL_SHM_H
#define FL_SHM_H

#include <stddef.h>
#include <stdint.h>

struct fl_shm_arena;
struct fl_shm_seg;

/* The size of a segment when none is given. */
#define FL_SHM_SEGMENT_SIZE ((size_t)64 << 20)

/* Creates an arena of segments of seg_size bytes (0: the default).
 * Returns 0 or FL_ENOMEM. No segment exists until the first copy. */
int  fl_shm_arena_create(size_t seg_size, struct fl_shm_arena **out);

/* Drops the arena's hold on the segment being filled; segments still
 * held by pieces stay valid until their last release. NULL: no-op. */
void fl_shm_arena_destroy(struct fl_shm_arena *a);

/* Copies text[0..len) into the arena: *seg (held once for the caller),
 * *off within it and *p, where the bytes now are (valid while the hold
 * lasts). len 0 is allowed (a piece of no bytes). Returns 0, FL_ENOMEM,
 * or -errno of the shared file that could not be made. */
int  fl_shm_copy(struct fl_shm_arena *a, const char *text, size_t len,
                 struct fl_shm_seg **seg, size_t *off, char **p);

void fl_shm_seg_hold(struct fl_shm_seg *seg);
void fl_shm_seg_release(struct fl_shm_seg *seg);

/* A read-only descriptor of the segment's file, owned by the segment
 * (close-on-exec: pass it on by dup2 in the child). */
int  fl_shm_seg_fd(const struct fl_shm_seg *seg);

#endif /* FL_SHM_H */
