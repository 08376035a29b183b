/* SPDX-License-Identifier: MIT
 *
 * fl_mem.c -- counting, fault-injecting allocator wrappers (see fl_mem.h).
 *
 * Each block carries a 16-byte header holding its size, so that fl_free()
 * can keep the live-bytes counter exact without malloc_usable_size().
 */
#include "fl_config.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "fl_mem.h"

#define HDR 16   /* keeps the user pointer 16-byte aligned */

static atomic_size_t mem_used;
static atomic_size_t mem_peak;
static atomic_uint_fast64_t alloc_count;
static atomic_uint_fast64_t fail_at;     /* 0 = never fail */


static int
should_fail(void)
{
    uint64_t n = atomic_fetch_add(&alloc_count, 1) + 1;
    uint64_t f = atomic_load(&fail_at);
    return f != 0 && n >= f;
}


static void
account(size_t add, size_t sub)
{
    size_t now = atomic_fetch_add(&mem_used, add) + add;
    atomic_fetch_sub(&mem_used, sub);
    now -= sub;
    size_t peak = atomic_load(&mem_peak);
    while (now > peak && !atomic_compare_exchange_weak(&mem_peak, &peak, now))
        ;
}


void *
fl_malloc(size_t n)
{
    if (should_fail() || n > SIZE_MAX - HDR)
        return NULL;
    unsigned char *p = malloc(n + HDR);
    if (p == NULL)
        return NULL;
    memcpy(p, &n, sizeof n);
    account(n, 0);
    return p + HDR;
}


void *
fl_calloc(size_t count, size_t n)
{
    if (n != 0 && count > SIZE_MAX / n)
        return NULL;
    void *p = fl_malloc(count * n);
    if (p != NULL)
        memset(p, 0, count * n);
    return p;
}


void *
fl_realloc(void *ptr, size_t n)
{
    if (ptr == NULL)
        return fl_malloc(n);
    if (should_fail() || n > SIZE_MAX - HDR)
        return NULL;
    unsigned char *base = (unsigned char *)ptr - HDR;
    size_t old;
    memcpy(&old, base, sizeof old);
    unsigned char *p = realloc(base, n + HDR);
    if (p == NULL)
        return NULL;
    memcpy(p, &n, sizeof n);
    account(n, old);
    return p + HDR;
}


void
fl_free(void *ptr)
{
    if (ptr == NULL)
        return;
    unsigned char *base = (unsigned char *)ptr - HDR;
    size_t old;
    memcpy(&old, base, sizeof old);
    account(0, old);
    free(base);
}


void
fl_free_libc(void *p)
{
    free(p);
}


void *
fl_grow(void *p, size_t *cap, size_t need, size_t elem_size, size_t first)
{
    if (need <= *cap)
        return p;
    size_t ncap = *cap ? *cap : (first ? first : 1);
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return NULL;
        ncap *= 2;
    }
    if (elem_size != 0 && ncap > SIZE_MAX / elem_size)
        return NULL;
    void *np = fl_realloc(p, ncap * elem_size);
    if (np == NULL)
        return NULL;
    *cap = ncap;
    return np;
}


char *
fl_strndup(const char *s, size_t n)
{
    char *p = fl_malloc(n + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}


char *
fl_strdup(const char *s)
{
    return fl_strndup(s, strlen(s));
}


size_t
fl_mem_used(void)
{
    return atomic_load(&mem_used);
}


size_t
fl_mem_peak(void)
{
    return atomic_load(&mem_peak);
}


uint64_t
fl_mem_fail_after(uint64_t nth)
{
    uint64_t attempted = atomic_exchange(&alloc_count, 0);
    atomic_store(&fail_at, nth);
    return attempted;
}
