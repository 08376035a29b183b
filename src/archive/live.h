/* SPDX-License-Identifier: MIT
 *
 * live.h -- the server's not-yet-published records as a SQL table
 * (while the server runs, SQL sees the archive plus the live buffer, one
 * view).
 *
 * A live source is made from blocks of flow-log text held in memory (the
 * same struct fl_archive_block that fl_archive_write_blocks publishes) and
 * registers the DuckDB table function
 *
 *     flowlake_live()
 *
 * that parses them with the parser `convert` uses and returns the columns
 * an archive file would hold for them: the catalogue fields some block's
 * format has (fields.h order and types; start/end are BIGINT epoch
 * seconds), the unknown fields of custom formats (VARCHAR, '-' in the name
 * becomes '_'), then fl_hour (BIGINT): the flow's start in whole hours
 * since the epoch, the value convert partitions on (records without a
 * start get the hour the live source was created, as a publish at that
 * moment would place them). A block without a format_spec is read in the
 * default v2 format unless its first line is an S3 header, as in
 * fl_archive_write_blocks.
 *
 * Bad lines are skipped (the server buffers validated lines only): no
 * rejects file, no error. The function may run any number of times on a
 * connection, and twice in one query (a self-join): each execution parses
 * the blocks again.
 *
 * fl_query_open_live() (query/query.h) puts flowlake_live() under the
 * view vpc_flow_logs.flow_logs next to the archive.
 *
 * Thread: a live source is read-only once created; the table function may
 * run on DuckDB's threads of any number of connections at once. Create and
 * destroy belong to one owner.
 */
#ifndef FL_LIVE_H
#define FL_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "convert.h"

struct fl_live;

/* The name of the table function, and of its hour column (the same as
 * flowlake_scan's, FL_SCAN_HOUR_COLUMN in archive_int.h). */
#define FL_LIVE_FUNCTION    "flowlake_live"
#define FL_LIVE_HOUR_COLUMN "fl_hour"

/* Creates a live source over blocks[0..n-1] (n may be 0: an empty table).
 * The array and the format_spec / source strings are copied; the texts
 * (text, len) are borrowed and must stay valid and unchanged until
 * fl_live_destroy. A NULL source names the block "live".
 * Returns 0; FL_ECONFIG when a format_spec is invalid or a block's header
 * line is bad, with *out_err (the block's source and the reason; fl_free
 * it); -ENOMEM (*out_err may stay NULL). On failure *out is untouched and
 * nothing leaks. */
int  fl_live_create(const struct fl_archive_block *blocks, size_t n,
                    struct fl_live **out, char **out_err);

/* Registers flowlake_live() over live on con, a duckdb_connection * (void *
 * keeps duckdb.h out of this header). live is borrowed: it must outlive
 * con's database (close the query session, then destroy the live source).
 * Returns 0 or FL_EDB (e.g. a function of that name already exists). */
int  fl_live_register(struct fl_live *live, void *con);

/* Lines parsed and bad lines skipped, added up over every execution of the
 * function so far (one run of a self-join counts the blocks twice). */
uint64_t fl_live_records_read(struct fl_live *live);
uint64_t fl_live_skipped(struct fl_live *live);

/* Pruning of the buffered rows. The function takes a named parameter
 *
 *     flowlake_live(skip := '0110...')
 *
 * with '1' at the index of each block (in the order given to
 * fl_live_create) that this call leaves out; the query session passes it
 * for the blocks that hold none of the hours a query wants.
 * fl_live_blocks is how many blocks there are; fl_live_hours says which
 * hours (since the epoch, as fl_hour) block i's records start in: 1 with
 * [*lo, *hi], or 0 when not known (a record without start, a header line:
 * such a block must be read). A block's hours_known/hour_lo/hour_hi
 * (convert.h) give them; the others are found on the first call, by
 * reading only the start field of each line. */
size_t fl_live_blocks(const struct fl_live *live);
int    fl_live_hours(struct fl_live *live, size_t i, int64_t *lo,
                     int64_t *hi);

/* The same for one block's text before any live source exists (the server
 * finds them once, when it makes the block, so that no query has to read
 * a block to learn that it does not need it): 1 with [*lo, *hi], 0 when
 * unknown (also for a format that does not parse: the block is then
 * read, and its reader says what is wrong), FL_ENOMEM. format_spec NULL:
 * an S3 header line first, else the default format. */
int    fl_live_text_hours(const char *text, size_t len,
                          const char *format_spec, int64_t *lo, int64_t *hi);

/* Destroys the live source; NULL is a no-op. */
void fl_live_destroy(struct fl_live *live);

#endif /* FL_LIVE_H */
