/* SPDX-License-Identifier: MIT
 *
 * fl_mem.h -- the only door to the heap.
 *
 * Every allocation in src/ goes through these wrappers so that we can count
 * live bytes (reported by `convert` and the benchmarks) and inject failures
 * in tests (fail the N-th allocation), the way SQLite's FaultSim and curl's
 * torture tests do. Modules propagate -ENOMEM; only main() decides the
 * out-of-memory policy.
 *
 * Thread: any. Counters are atomics; fault injection is meant for
 * single-threaded unit tests.
 */
#ifndef FL_MEM_H
#define FL_MEM_H

#include <stddef.h>
#include <stdint.h>

void *fl_malloc(size_t n);
void *fl_calloc(size_t count, size_t n);
void *fl_realloc(void *p, size_t n);
void  fl_free(void *p);
/* Copies n bytes of s and appends a NUL; NULL on allocation failure. */
char *fl_strndup(const char *s, size_t n);
char *fl_strdup(const char *s);

/* Grows the array p of *cap elements of elem_size bytes to hold at least
 * need elements: the capacity doubles, from first when it is 0, until it
 * does. Returns the array (p itself when it is large enough already, for
 * need > 0) with *cap updated, or NULL with p and *cap untouched when the
 * size would overflow or memory ran out. Shaped like realloc, so the
 * caller keeps its typed pointer:
 *
 *     if (n == cap) {
 *         struct x *nv = fl_grow(v, &cap, n + 1, sizeof *v, 64);
 *         if (nv == NULL)
 *             return FL_ENOMEM;
 *         v = nv;
 *     }
 */
void *fl_grow(void *p, size_t *cap, size_t need, size_t elem_size,
              size_t first);

/* Frees memory that the C library allocated for us (open_memstream's
 * buffer, getline's line): it never went through fl_malloc, so it must
 * not go through fl_free. */
void  fl_free_libc(void *p);

/* Bytes currently allocated through fl_* and the peak since start. */
size_t fl_mem_used(void);
size_t fl_mem_peak(void);

/* Fault injection: make the nth allocation from now on (1-based) and every
 * later one fail; 0 disables. Returns how many allocations were attempted
 * since the last call, so a test can loop n = 1 .. attempts. */
uint64_t fl_mem_fail_after(uint64_t nth);

#endif /* FL_MEM_H */
