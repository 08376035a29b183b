/* SPDX-License-Identifier: MIT
 *
 * convert.h -- the batch pipeline: flow log files in, Hive-partitioned
 * Parquet out (`flowlake convert`).
 *
 * Inputs are files, folders (walked recursively, as an S3 sync leaves
 * them) or "-" for stdin, plain or gzip. Each input's first line is checked
 * for an S3 header, which then defines that input's format; otherwise the
 * --format string, else the default v2 format, applies. Records are parsed
 * in parallel and handed to DuckDB, which writes zstd Parquet into
 *   ARCHIVE/year=YYYY/month=MM/day=DD/hour=HH/part-<run>-<n>.parquet
 * partitioned on each flow's `start` (UTC).
 *
 * Guarantees:
 *   - A reader never sees half a file: files are written into a staging
 *     folder, fsynced and renamed into place; a journal makes the publish
 *     step roll forward after a crash.
 *   - Converting the same input twice does not duplicate it: a file whose
 *     content digest is in the archive's manifest is skipped and reported.
 *   - Bad lines are rejected with file, line and reason into
 *     ARCHIVE/_errors/convert-<run>.jsonl (with the raw text), counted,
 *     and the rest goes on; in strict mode the first one stops the run and
 *     nothing is published.
 *
 * Thread: the caller's; the parse runs on DuckDB's worker threads, or,
 * with several groups of inputs (convert.c), on threads of convert's own,
 * one group each at a time.
 */
#ifndef FL_CONVERT_H
#define FL_CONVERT_H

#include "../core/fl_error.h"
#include <stddef.h>
#include <stdint.h>

/* A run id's size with its NUL: "YYYYMMDDTHHMMSSZ-" (17), the instance id
 * (at most 32), "-xxxxxxxx" (9). */
#define FL_ARCHIVE_RUN_ID_MAX 64

struct fl_convert_opts {
    const char *archive_dir;     /* created if missing */
    const char *format_spec;     /* "${version} ..." or NULL for default */
    int         strict;          /* stop at the first bad line */
    int         progress;        /* progress line on stderr */
    size_t      max_line;        /* 0 = FL_LINES_DEFAULT_MAX_LINE */
    int         threads;         /* 0 = all cores */
    const char *memory_limit;    /* DuckDB memory_limit, NULL = default */
};

struct fl_convert_stats {
    uint64_t records_read;       /* non-blank lines seen (header excluded) */
    uint64_t records_written;
    uint64_t rejected;
    uint64_t files_written;      /* Parquet files published */
    uint64_t bytes_written;      /* their total size */
    uint64_t inputs;             /* inputs converted */
    uint64_t inputs_skipped;     /* already in the archive */
    uint64_t bytes_in;           /* raw input bytes read */
    double   seconds;
    char     run_id[FL_ARCHIVE_RUN_ID_MAX];
    char     rejects_path[4096]; /* "" when nothing was rejected */
};

/* Converts the inputs into the archive. Returns 0, or <0 with err set.
 * Messages about skipped inputs and the first rejected lines go to
 * stderr. */
int fl_convert_run(const struct fl_convert_opts *opts,
                   char *const *inputs, size_t n_inputs,
                   struct fl_convert_stats *stats, struct fl_err *err);

/* Provenance: where records came from (docs/archive.md). The first
 * FL_PROV_COLUMNS entries are the trailing columns of the archive, in
 * this order; FL_PROV_ACCOUNT and FL_PROV_REGION fill account_id and
 * region for records whose format lacks the field (a record's own value,
 * even "-", always wins). */
enum fl_prov {
    FL_PROV_SOURCE_FILE = 0,     /* S3 key or path of the file */
    FL_PROV_LOG_GROUP,           /* CloudWatch Logs logGroup */
    FL_PROV_LOG_STREAM,          /* CloudWatch Logs logStream */
    FL_PROV_DELIVERY_STREAM,     /* Firehose stream name (source ARN) */
    FL_PROV_DELIVERY_ATTRIBUTES, /* Firehose common attributes, JSON */
    FL_PROV_COLUMNS,
    FL_PROV_ACCOUNT = FL_PROV_COLUMNS,
    FL_PROV_REGION,
    FL_PROV_N
};

/* Column names of the first FL_PROV_COLUMNS entries. */
extern const char *const fl_prov_column[FL_PROV_COLUMNS];

/* One value per entry, NULL = none. */
struct fl_provenance {
    const char *v[FL_PROV_N];
};

/* What a file's path says (fl_awspath.h): source_file is the S3 key from
 * "AWSLogs/" on when the path has that folder (the same object synced
 * into different local folders gets one name), else the path as given;
 * account and region come from an AWS flow-log path. Each out->v[] is
 * NULL or an fl_malloc'd string the caller frees. Returns 0 or -ENOMEM
 * (then nothing is left allocated). */
int fl_provenance_from_path(const char *path, char *out[FL_PROV_N]);

/* A block of flow-log text held in memory (the live server's buffer). */
struct fl_archive_block {
    const char *text;            /* whole lines; borrowed for the call */
    size_t      len;
    const char *format_spec;     /* "${...}" format, NULL = default v2 */
    const char *source;          /* named in rejected-record entries */
    const struct fl_provenance *prov; /* borrowed; NULL = none */
    /* The hours (since the epoch) its records start in, when the caller
     * knows them (hours_known = 1): lets a query's live source leave the
     * block out without reading it (live.h). Unused by a publish. */
    int         hours_known;
    int64_t     hour_lo, hour_hi;
};

/* Called around the moment a publish makes its files visible (the
 * renames): before() just before, after(ok) right after, so that a caller
 * can make "files appear" and "buffer forgets the blocks" one atomic step
 * for its readers (the live server's snapshot lock). */
struct fl_publish_hook {
    void (*before)(void *ctx);
    void (*after)(void *ctx, int ok);
    void  *ctx;
};

/* Writes blocks of flow-log text into the archive exactly as convert
 * writes files: same partitions, atomic publish, rejected lines into
 * ARCHIVE/_errors. Blocks are not recorded in the input manifest; instead,
 * when wal_seq > 0, the publish records "every write-ahead-log record up
 * to wal_seq is in the archive" atomically with the files, so that a
 * server replaying its WAL after a crash never publishes a record twice.
 * Returns 0 or <0 with err set. */
int fl_archive_write_blocks(const char *archive_dir,
                            const struct fl_archive_block *blocks, size_t n,
                            uint64_t wal_seq,
                            const struct fl_publish_hook *hook,
                            struct fl_convert_stats *stats,
                            struct fl_err *err);

/* The highest WAL sequence recorded by fl_archive_write_blocks (0 when
 * none), after finishing any publish a crash interrupted. */
int fl_archive_wal_seq(const char *archive_dir, uint64_t *out,
                       struct fl_err *err);

#endif /* FL_CONVERT_H */
