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
 * The one exception is the buffered text, which can be hundreds of MiB:
 * it stays in the server's shared segments (core/fl_shm.h), which the
 * worker is given read-only and maps, and the message says where each
 * block's bytes are. Those bytes never change while the server holds the
 * block, and it holds every block of the job until the worker has ended.
 *
 * Layout (all integers little-endian, written by fl_query_job_write):
 *
 *   "FLQJ3\n"                       magic and version (3: block text in
 *                                   shared segments, with its hours)
 *   str archive_dir, str memory_limit
 *   u64 max_memory                  bytes, 0 = no ceiling
 *   u32 timeout_s, u32 format       enum fl_output
 *   str sql
 *   u64 n_files  | UINT64_MAX       pinned archive files, or "none pinned"
 *     str file ...
 *   u64 n_metric_files              pinned metric store files, then the
 *     str file ...                  alarm history file (only when n_files
 *   ostr alarm_history              is not UINT64_MAX)
 *   u64 n_segments                  shared segments, the worker's
 *     u64 size ...                  descriptors FL_QUERY_SEGMENT_FD + i:
 *                                   the bytes the blocks use of each
 *   u64 n_blocks
 *     u64 segment, u64 offset, u64 length   where its text is
 *     u8 hours_known, i64 hour_lo, i64 hour_hi
 *     ostr format_spec, ostr source, FL_PROV_N x ostr
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

/* The worker's descriptor of the job's first shared segment; the others
 * follow (runner.c passes them so). */
#define FL_QUERY_SEGMENT_FD 5

/* Where a block's text is: bytes off .. off + len of segment seg. */
struct fl_query_text_ref {
    uint64_t seg;
    uint64_t off;
};

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
    /* Records not yet published. Their text is in shared segments:
     * block_text[i] says where (the writer ignores blocks[i].text; the
     * reader sets it in fl_query_job_map). */
    const struct fl_archive_block *blocks;
    size_t      n_blocks;
    const struct fl_query_text_ref *block_text;
    const uint64_t *segment_sizes;
    size_t      n_segments;
    /* fl_query_job_read: the blocks' provenance (blocks[i].prov points at
     * block_prov[i]); fl_query_job_map: the segments' mappings. Unused by
     * fl_query_job_write. */
    const struct fl_provenance *block_prov;
    void      **segment_maps;
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

/* Maps the job's segments, read-only, from descriptors first_fd + i
 * (closed once mapped) and points each block's text into them. A segment
 * shorter than the message says is refused (FL_ECORRUPT, err names it);
 * -errno when one cannot be mapped. fl_query_job_clear unmaps them. */
int  fl_query_job_map(struct fl_query_job *job, int first_fd, char *err,
                      size_t errlen);
void fl_query_job_clear(struct fl_query_job *job);

#endif /* FL_QUERY_JOB_H */
