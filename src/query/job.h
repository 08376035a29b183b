/* SPDX-License-Identifier: MIT
 *
 * job.h -- one query from the network as a self-contained message: the
 * SQL, its limits and a snapshot of what it may read (the archive files,
 * the buffered records, the in-memory metric values), so that it can run
 * in a separate process (worker.c) started by the server (runner.c).
 *
 * Why a message and not shared memory: the query process must be able to
 * die -- killed at its time limit, or out of its memory ceiling -- without
 * taking anything of the server with it, and must see exactly the
 * snapshot the server took under its lock, not whatever is there later.
 *
 * Layout (all integers little-endian, written by fl_query_job_write):
 *
 *   "FLQJ2\n"                       magic and version (2: blocks carry
 *                                   their provenance)
 *   str archive_dir, str memory_limit
 *   u64 max_memory                  bytes, 0 = no ceiling
 *   u32 timeout_s, u32 format       enum fl_output
 *   str sql
 *   u64 n_files  | UINT64_MAX       pinned archive files, or "none pinned"
 *     str file ...
 *   u64 n_metric_files              pinned metric store files, then the
 *     str file ...                  alarm history file (only when n_files
 *   ostr alarm_history              is not UINT64_MAX)
 *   u64 n_blocks
 *     str text, ostr format_spec, ostr source, FL_PROV_N x ostr
 *     provenance (convert.h: enum fl_prov order) ...
 *   u64 n_rows   | UINT64_MAX       in-memory metric values, or "none"
 *     str metric, u64 n_dims, (str name, ostr value) ..., i64 window_start,
 *     i64 window_end, f64 value, u8 has_value, u8 final, u8 exact,
 *     u64 records ...
 *
 * where str = u64 length, the bytes, a NUL byte (so a decoded string is a
 * C string pointing into the message, never copied), and ostr = u8 0 (a
 * NULL) or u8 1 followed by a str.
 *
 * Thread: no state of its own.
 */
#ifndef FL_QUERY_JOB_H
#define FL_QUERY_JOB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../archive/convert.h"
#include "../metrics/metric_store.h"
#include "query.h"

struct fl_query_job {
    const char *archive_dir;
    const char *memory_limit;      /* DuckDB's memory_limit setting */
    uint64_t    max_memory;        /* the whole process's ceiling, 0 = none */
    unsigned    timeout_s;         /* 0 = none */
    enum fl_output format;
    const char *sql;               /* NUL-terminated */
    /* Files the query may read (query.h struct fl_query_files, listed
     * without following symbolic links); has_files = 0: the worker lists
     * the archive itself. */
    const char *const *files;
    size_t      n_files;
    const char *const *metric_files;
    size_t      n_metric_files;
    const char *alarm_history;     /* NULL = none yet */
    int         has_files;
    const struct fl_archive_block *blocks;   /* records not yet published */
    size_t      n_blocks;
    /* fl_query_job_read: the blocks' provenance (blocks[i].prov points at
     * block_prov[i]); unused by fl_query_job_write. */
    const struct fl_provenance *block_prov;
    /* Metric values still in memory; has_rows = 0: none were taken (the
     * SQL does not name the metrics). */
    const struct fl_metric_row *rows;
    size_t      n_rows;
    int         has_rows;
};

/* Writes job to f. Returns 0 or -errno of the failed write. */
int  fl_query_job_write(FILE *f, const struct fl_query_job *job);

/* Decodes msg (len bytes; it must stay alive and unchanged while job is
 * used: strings point into it). Returns 0, or FL_ECORRUPT with a message
 * naming the offset in err (errlen bytes), or FL_ENOMEM. On success the
 * arrays of job are allocated: release them with fl_query_job_clear. */
int  fl_query_job_read(const char *msg, size_t len, struct fl_query_job *job,
                       char *err, size_t errlen);
void fl_query_job_clear(struct fl_query_job *job);

#endif /* FL_QUERY_JOB_H */
