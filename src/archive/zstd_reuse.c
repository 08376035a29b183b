/* SPDX-License-Identifier: MIT
 *
 * zstd_reuse.c -- one zstd compression context per thread for DuckDB's
 * Parquet writer.
 *
 * DuckDB compresses each Parquet page with zstd's one-shot ZSTD_compress(),
 * which builds a compression context on the stack for every call, and
 * building one runs the CPUID instruction twice (zstd checks for BMI2).
 * On a virtual machine CPUID traps to the hypervisor: on the one-year
 * backfill (8,760 files of ~460 rows, ~30 pages each) perf put 11.7% of
 * the convert's CPU on the two instructions after those CPUIDs, nearly
 * all of ZSTD_compress's own time (bench/README.md).
 *
 * libduckdb exports its bundled zstd (namespace duckdb_zstd) and its
 * writer calls ZSTD_compress through the PLT, so a definition in the
 * executable takes its place (the Makefile exports the symbol). Ours
 * compresses with ZSTD_compressCCtx() on a context kept per thread:
 * ZSTD_compress() is ZSTD_compressCCtx() on a fresh context, and the
 * one-shot API takes every parameter from the level on each call, so the
 * bytes written are the same. A thread's context is freed when it ends.
 *
 * The symbol names are the C++ names of zstd's functions in libduckdb
 * 1.4 (scripts/bootstrap.sh pins the version); a libduckdb without them
 * fails to link rather than silently compress another way.
 */
#include "../core/fl_config.h"

#include <pthread.h>
#include <stddef.h>

#include "archive_int.h"

struct duckdb_zstd_cctx;

/* duckdb_zstd::ZSTD_createCCtx(), ZSTD_freeCCtx(), ZSTD_compressCCtx():
 * zstd's own functions, in libduckdb. */
struct duckdb_zstd_cctx *duckdb_zstd_create(void)
    __asm__("_ZN11duckdb_zstd15ZSTD_createCCtxEv");
size_t duckdb_zstd_free(struct duckdb_zstd_cctx *c)
    __asm__("_ZN11duckdb_zstd13ZSTD_freeCCtxEPNS_11ZSTD_CCtx_sE");
size_t duckdb_zstd_compress_cctx(struct duckdb_zstd_cctx *c, void *dst,
                                 size_t cap, const void *src, size_t n,
                                 int level)
    __asm__("_ZN11duckdb_zstd17ZSTD_compressCCtxEPNS_11ZSTD_CCtx_sEPvmPKvmi");

/* duckdb_zstd::ZSTD_compress(): the one-shot call DuckDB makes. */
size_t fl_duckdb_zstd_compress(void *dst, size_t cap, const void *src,
                               size_t n, int level)
    __asm__("_ZN11duckdb_zstd13ZSTD_compressEPvmPKvmi");

/* zstd's ZSTD_error_memory_allocation, as its functions return it. */
#define ZSTD_ERROR_MEMORY ((size_t)-64)

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t  key;
static int            key_ok;


static void
free_cctx(void *p)
{
    (void)duckdb_zstd_free(p);
}


static void
make_key(void)
{
    key_ok = pthread_key_create(&key, free_cctx) == 0;
}


void
fl_zstd_reuse_init(void)
{
    (void)pthread_once(&once, make_key);
}


size_t
fl_duckdb_zstd_compress(void *dst, size_t cap, const void *src, size_t n,
                        int level)
{
    struct duckdb_zstd_cctx *c;
    size_t rc;

    fl_zstd_reuse_init();
    c = key_ok ? pthread_getspecific(key) : NULL;
    if (c == NULL) {
        if ((c = duckdb_zstd_create()) == NULL)
            return ZSTD_ERROR_MEMORY;
        if (!key_ok || pthread_setspecific(key, c) != 0) {
            /* Not kept: compress once and free, as ZSTD_compress does. */
            rc = duckdb_zstd_compress_cctx(c, dst, cap, src, n, level);
            (void)duckdb_zstd_free(c);
            return rc;
        }
    }
    return duckdb_zstd_compress_cctx(c, dst, cap, src, n, level);
}
