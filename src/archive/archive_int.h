/* SPDX-License-Identifier: MIT
 *
 * archive_int.h -- declarations shared by the files of src/archive/ and
 * nobody else (SQLite's btreeInt.h pattern).
 */
#ifndef FL_ARCHIVE_INT_H
#define FL_ARCHIVE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/fl_digest.h"
#include "../decode/lines.h"
#include "../parse/format.h"

#include "convert.h"
#include "rejects.h"

/* ---- manifest.c: digests of converted inputs ------------------------ */

struct fl_manifest;

/* Loads ARCHIVE/_flowlake/inputs.tsv (missing = empty). */
int  fl_manifest_load(const char *meta_dir, struct fl_manifest **out);
/* Returns the run id that converted d, or NULL. */
const char *fl_manifest_find(const struct fl_manifest *m,
                             const struct fl_digest *d);
/* True when d is recorded in inputs.tsv (not only remembered). */
int  fl_manifest_on_disk(const struct fl_manifest *m,
                         const struct fl_digest *d);
/* Remembers d (on_disk: it is in inputs.tsv; 0: only in this run, to
 * catch the same content given twice). */
int  fl_manifest_remember(struct fl_manifest *m, const struct fl_digest *d,
                          const char *run_id, int on_disk);
/* WAL marks: "wal TAB <seq> ..." lines. parse returns 0 for such a line
 * (FL_EPARSE otherwise); wal_seq is the highest seen; note raises it. */
int  fl_manifest_parse_wal(const char *line, uint64_t *out);
uint64_t fl_manifest_wal_seq(const struct fl_manifest *m);
void fl_manifest_note_wal(struct fl_manifest *m, uint64_t seq);
/* Appends a line to inputs.tsv and fsyncs it. */
int  fl_manifest_append(struct fl_manifest *m, const char *line);
void fl_manifest_destroy(struct fl_manifest *m);

/* ---- publish.c: staging -> archive, crash-safe ---------------------- */

struct fl_publish_result {
    uint64_t files;
    uint64_t bytes;
};

/* Takes ARCHIVE/_flowlake/lock (the folder must exist), held by every
 * run that changes the archive's files -- a convert, a publish, a
 * compaction's swap -- for as long as it does: waits for it with wait,
 * else fails with -EWOULDBLOCK. *out_fd: close it to let go. Returns 0 or
 * -errno. */
int  fl_archive_lock(const char *archive_dir, int wait, int *out_fd);

/* A new run id, "YYYYMMDDTHHMMSSZ-INSTANCE-xxxxxxxx" (UTC now, this
 * process's instance id, 32 random bits): it names a run's files, staging
 * folder and journal; with the instance id, no two instances sharing a
 * bucket ever name a file alike. */
void fl_archive_run_id(char *out, size_t len);

/* Splits text in place into lines: returns the next line (NUL-terminated,
 * without its newline) and advances *cursor, or NULL at the end.
 * (publish.c) */
char *fl_archive_next_line(char **cursor);

/* Moves every file under staging_dir/fl_hour=N/ to
 * archive_dir/year=YYYY/month=MM/day=DD/hour=HH/ (hour N since the epoch):
 * journal, fsync each file, rename, fsync directories,
 * append manifest_lines to the manifest, drop the journal and staging.
 * manifest_lines may be NULL. */
int  fl_publish(const char *archive_dir, const char *meta_dir,
                const char *run_id, const char *staging_dir,
                struct fl_manifest *manifest, const char *manifest_lines,
                struct fl_publish_result *res, char *err, size_t errlen);

/* Finishes publishes interrupted by a crash and removes staging folders
 * of runs that never reached the publish step. */
int  fl_publish_recover(const char *archive_dir, const char *meta_dir,
                        struct fl_manifest *manifest, char *err,
                        size_t errlen);

/* ---- scan.c: the DuckDB table function that parses inputs ----------- */

struct fl_input {
    char              *path;         /* "-" for stdin; a name for memory */
    int                is_stdin;
    const char        *mem;          /* memory input (borrowed), or NULL */
    size_t             mem_len;
    int                in_manifest;  /* record its digest when published */
    uint64_t           size;         /* 0 when unknown */
    struct fl_digest   digest;       /* of the raw bytes (files: before) */
    struct fl_format  *header_fmt;   /* from the input's header line, or
                                        given with a memory input */
    int                header_line;  /* first line is a header: skip it */
    struct fl_lines   *lines;        /* stdin only: opened by prepare,
                                        taken over by the first execution
                                        (under scan->mu) */
    /* Provenance (convert.h: enum fl_prov), the same for every record of
     * the input (scan.c writes each as one constant per chunk). Owned;
     * NULL = none. */
    char              *prov[FL_PROV_N];
    uint32_t           source_id;    /* fl_scan_source_names: index of
                                        prov[FL_PROV_SOURCE_FILE] in
                                        scan->source_names */
    unsigned           day;          /* YYYYMMDD of an AWS delivery path
                                        (fl_awspath), 0 = none: convert
                                        groups a day's inputs */
};

/* Frees an input's provenance strings (not the rest of the input). */
void fl_input_free_provenance(struct fl_input *in);
/* Copies p's strings into in->prov (p may be NULL: none). Returns 0 or
 * -ENOMEM (in->prov then freed). */
int  fl_input_set_provenance(struct fl_input *in,
                             const struct fl_provenance *p);


/* A block of whole lines of one input, handed from the reader thread to a
 * parser thread (feed.c). */
struct fl_block {
    char              *p;            /* owned buffer */
    size_t             len, cap;
    size_t             nlines;
    unsigned long long first_line;   /* 1-based */
    int                overlong;     /* one line cut at max_line */
    struct fl_input   *in;
    /* The format the lines are read with: the input's, or the one a header
     * line inside the input switched to (owned by the feed). */
    const struct fl_format *fmt;
    /* Non-NULL: every line is rejected with this reason (a header inside
     * the input named a field that is not one of the run's columns). */
    const char        *reject_all;
};

/* Blocks in flight between the reader and the parsers: enough to keep
 * both parser threads busy while the reader inflates the next ones, and
 * a bound on memory (a block is at most the line splitter's buffer). */
#define FL_FEED_BLOCKS 8

/* What a scan table function (flowlake_scan for convert, flowlake_live for
 * the live buffer) reads and how. Set up before DuckDB runs, then
 * read-only, except for the totals at the end that every execution adds
 * to. DuckDB may execute the function several times (a query run twice, a
 * self-join scans it twice at once): each execution has its own reader
 * thread and queue (struct fl_feed, DuckDB's global init data), so one
 * scan serves any number of executions, one after the other or at once.
 * Exception: stdin can be read by one execution only. */
struct fl_scan {
    struct fl_input         *inputs;
    size_t                   n_inputs;
    const struct fl_format  *format;       /* --format or default */
    char                   **extra;        /* unknown field names */
    size_t                   n_extra;
    int                      strict;
    size_t                   max_line;
    int64_t                  fallback_time;   /* partition of NULL start */
    /* Where bad lines go; NULL: they are only counted (the live buffer
     * holds validated lines, so there is nothing to keep). */
    struct fl_rejects       *rejects;
    int                      progress;
    uint64_t                 total_bytes;     /* 0 when unknown */
    double                   progress_t0;     /* run's start (mono), or 0 */
    int                      progress_more;   /* executions to follow: no
                                                 final newline yet */
    /* Catalogue fields some input's format has: only these are returned
     * and written, so a v2 archive does not carry 26 all-NULL columns
     * (readers see the full schema anyway: the query view adds absent
     * columns as NULL). */
    int                      present[FL_FIELD_COUNT];
    /* Provenance columns some input has (fl_scan_prepare): written
     * after the extras, in enum fl_prov order. */
    int                      has_prov[FL_PROV_COLUMNS];
    /* The distinct source_file names of the inputs of the current
     * execution, sorted: source_file is written as a DuckDB ENUM of them,
     * one small integer per row (scan.c). */
    const char             **source_names;
    size_t                   n_source_names;
    int                      source_width;    /* enum index bytes: 1, 2, 4 */

    /* Where the totals below are kept: the scan itself, or for a scan
     * over one group of a convert run on a connection of its own
     * (fl_scan_init_group), the run's scan, so that the progress line,
     * the first error and the counts are the run's. */
    struct fl_scan          *totals;

    /* Totals over every execution, for the caller once DuckDB is done. */
    pthread_mutex_t          mu;              /* guards errmsg, bytes_done
                                                 and the stdin hand-off */
    char                     errmsg[512];     /* first failure, "" if none */
    uint64_t                 bytes_done;      /* raw bytes of closed inputs */
    _Atomic uint64_t         records_read;
    _Atomic uint64_t         rejected;
};

/* One execution of a scan (feed.c): the reader thread that reads, inflates
 * and splits the inputs into blocks, and the queue between it and DuckDB's
 * threads. Created by the table function's global init, destroyed by
 * DuckDB when the execution ends (however it ends). */
struct fl_feed {
    struct fl_scan          *scan;            /* borrowed */

    /* The reader thread's own. */
    pthread_t                reader;
    int                      reader_started;
    size_t                   cur;             /* input being read */
    /* Inputs this execution leaves out: '1' at index i (the live buffer's
     * blocks that hold no hour the query wants, see live.h); NULL: none.
     * Owned. */
    char                    *skip;
    size_t                   n_skip;          /* strlen(skip) */
    struct fl_lines         *lines;
    double                   started, last_progress;
    /* The current input's format: its own, until a header line inside it
     * names other fields (a concatenation of S3 objects written with
     * different formats); then the header's, kept in `switched`. */
    const struct fl_format  *fmt;
    const char              *reject_all;
    struct fl_switch       **switched;
    size_t                   n_switched;

    /* Shared: guarded by mu. */
    pthread_mutex_t          mu;
    pthread_cond_t           cv;              /* any change below */
    struct fl_block          blocks[FL_FEED_BLOCKS];
    int                      free_list[FL_FEED_BLOCKS];
    int                      n_free;
    int                      ready[FL_FEED_BLOCKS];   /* FIFO ring */
    int                      ready_head, n_ready;
    int                      eof;             /* reader is done */
    int                      failed;          /* stop everything */
    char                     errmsg[512];
    uint64_t                 bytes_done;      /* this execution's */

    _Atomic uint64_t         records_read;    /* this execution's */
};

/* A format a header line inside an input switched to (feed.c). */
struct fl_switch {
    struct fl_format        *fmt;
    char                     reject[160];     /* "" when usable */
};

/* The partition column of flowlake_scan(): start in hours since the epoch. */
#define FL_SCAN_HOUR_COLUMN "fl_hour"

/* Initialises a zeroed scan's lock; the caller then fills the set-up
 * fields. Returns 0 or -errno. fl_scan_free releases it. */
int  fl_scan_init(struct fl_scan *scan);

/* Initialises g as a scan over a group of run's inputs, for a connection
 * of its own (convert runs several groups at once): run's set-up once
 * fl_scan_prepare is done (formats, columns, rejects; borrowed, run must
 * outlive g), its own inputs range and source names (set by the caller,
 * then fl_scan_source_names), its totals added to run's. stdin, always
 * a group of its own (convert.c), is still read by one execution only.
 * Returns 0 or -errno; fl_scan_free releases what is g's own. */
int  fl_scan_init_group(struct fl_scan *g, struct fl_scan *run);

/* The SELECT list of the columns to write: present catalogue fields, the
 * extras, the provenance columns some input has, then fl_hour. fl_free()
 * the result. */
char *fl_scan_select_list(const struct fl_scan *scan);

/* Opens an input as a line source (stdin with a digest of its bytes). */
int  fl_scan_open_input(const struct fl_scan *scan, struct fl_input *in,
                        struct fl_lines **out);

/* True when every field of fmt is one of the scan's columns (fixed by
 * fl_scan_prepare from the inputs' first lines); otherwise 0 with why
 * holding the name of the first field that is not. */
int  fl_scan_has_columns(const struct fl_scan *scan,
                         const struct fl_format *fmt, char *why,
                         size_t whylen);

/* Records msg as the scan's error unless one is there (first wins). */
void fl_scan_set_error(struct fl_scan *scan, const char *msg);

/* ---- feed.c: the reader thread -------------------------------------- */

/* Starts one execution of scan: the queue and the reader thread. skip
 * (borrowed, copied; NULL: every input) holds '1' at the index of each
 * input not to read, and is as long as the inputs or shorter. Returns
 * 0, or -errno / -ENOMEM with *out untouched (and the reason recorded
 * with fl_scan_set_error). */
int  fl_feed_create(struct fl_scan *scan, const char *skip,
                    struct fl_feed **out);
/* Next block for a parser thread; NULL at the end or after a failure
 * (then feed->failed is set and feed->errmsg says why, if anything). */
struct fl_block *fl_feed_pop(struct fl_feed *feed);
void fl_feed_release(struct fl_feed *feed, struct fl_block *b);
/* Stops the execution with a message (first failure wins; also recorded
 * in the scan). */
void fl_feed_fail(struct fl_feed *feed, const char *msg);
/* Stops the reader (if still running), waits for it and frees the feed.
 * NULL is a no-op. */
void fl_feed_destroy(struct fl_feed *feed);

/* Registers the scan as the table function `name` on con: a
 * duckdb_connection * (void * keeps duckdb.h out of this header). scan
 * (borrowed) must outlive con's database. Columns: the present catalogue
 * fields in fields.h order, the extras (VARCHAR), the provenance columns
 * some input has (VARCHAR; source_file an ENUM of the execution's names),
 * then fl_hour (BIGINT). */
int  fl_scan_register(void *con, const char *name, struct fl_scan *scan);

/* Peeks at each input's first line for a header, collects the unknown
 * field names of every format into scan->extra and marks scan->present. */
int  fl_scan_prepare(struct fl_scan *scan, char *err, size_t errlen);
/* The distinct source_file names of scan->inputs (the current group of
 * a convert, which calls it before each COPY) and each input's index
 * into them. Returns 0 or -ENOMEM. */
int  fl_scan_source_names(struct fl_scan *scan);
/* Frees what fl_scan_init and fl_scan_prepare allocated (not the inputs,
 * their formats nor the rejects, which are the caller's). */
void fl_scan_free(struct fl_scan *scan);

/* ---- zstd_reuse.c ---------------------------------------------------- */

/* Makes DuckDB's Parquet writer compress each page with a zstd context
 * kept per thread instead of one built per page (see zstd_reuse.c). Safe
 * to call any number of times; convert calls it before opening DuckDB. */
void fl_zstd_reuse_init(void);

#endif /* FL_ARCHIVE_INT_H */
