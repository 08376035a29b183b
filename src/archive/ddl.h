/* SPDX-License-Identifier: MIT
 *
 * ddl.h -- the archive as a table for the engines that read Parquet where
 * it lies (`flowlake ddl`, docs/engines.md): Athena, Trino, Spark and
 * DuckDB each get the statement that declares the archive as written --
 * every column with the engine's name for its exact Parquet type (INT32 is
 * `int`, not AWS's documented `bigint` for protocol), the year/month/day/
 * hour folders as Hive partitions of zero-padded strings, and for Athena
 * partition projection, so that no crawler or MSCK REPAIR is needed.
 *
 * The columns: the flow-log catalogue (parse/fields.h) in its order, then
 * the provenance columns (convert.h), then any other column the archive's
 * files hold (the extra fields of custom formats), found by
 * fl_ddl_scan_archive. Files lack the columns their records' formats did
 * not have; every engine here reads Parquet by column name and gives NULL
 * for a column a file lacks.
 *
 * Thread: no state of its own.
 */
#ifndef FL_DDL_H
#define FL_DDL_H

#include <stddef.h>

#include "../core/fl_buf.h"
#include "../parse/fields.h"

enum fl_ddl_engine {
    FL_DDL_ATHENA,
    FL_DDL_TRINO,
    FL_DDL_SPARK,
    FL_DDL_DUCKDB
};

/* A column beyond the catalogue and the provenance columns. */
struct fl_ddl_column {
    char        *name;
    enum fl_type type;
};

/* What the archive holds that the statement depends on. */
struct fl_ddl_archive {
    struct fl_ddl_column *extra;      /* in the order first found */
    size_t                n_extra, cap_extra;
    int                   first_year; /* of its hour folders; 0 = none */
    int                   last_year;
};

struct fl_ddl_options {
    enum fl_ddl_engine engine;
    const char *location;       /* the archive's root: URL or absolute path */
    const char *table;          /* [schema.]name */
    /* Athena: the years partition projection enumerates. */
    int         first_year, last_year;
    const struct fl_ddl_archive *archive;   /* NULL: the catalogue only */
};

/* "athena", "trino", "spark", "duckdb" -> *out; -1 for anything else. */
int  fl_ddl_engine_from_name(const char *name, enum fl_ddl_engine *out);

/* Appends the statements (each ending ";\n") to out. Returns 0, or
 * FL_ENOMEM (out->err is set). */
int  fl_ddl_write(const struct fl_ddl_options *o, struct fl_buf *out);

/* Reads the column names and Parquet types of every file under
 * archive_dir's hour folders (their footers only) and the years of its
 * folders into *out. An archive without files gives no extra column and
 * first_year 0. Returns 0; FL_EDB with *out_err (fl_free it) when DuckDB
 * cannot read a file; FL_ENOMEM. */
int  fl_ddl_scan_archive(const char *archive_dir, struct fl_ddl_archive *out,
                         char **out_err);
void fl_ddl_archive_clear(struct fl_ddl_archive *a);

#endif /* FL_DDL_H */
