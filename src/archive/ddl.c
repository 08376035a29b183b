/* SPDX-License-Identifier: MIT
 *
 * ddl.c -- the CREATE statements that declare the archive to Athena,
 * Trino, Spark and DuckDB (see ddl.h), and the look at the archive's
 * files they are built from.
 *
 * The grammar of each comes from the engine's own documentation:
 *   Athena  CREATE EXTERNAL TABLE ... PARTITIONED BY ... STORED AS PARQUET
 *           with partition projection (integer type, digits, range,
 *           storage.location.template):
 *           https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html
 *   Trino   Hive connector CREATE TABLE ... WITH (external_location,
 *           format, partitioned_by), partition columns last, then
 *           system.sync_partition_metadata:
 *           https://trino.io/docs/current/connector/hive.html
 *   Spark   CREATE TABLE ... USING PARQUET PARTITIONED BY ... LOCATION,
 *           then MSCK REPAIR TABLE:
 *           https://spark.apache.org/docs/latest/sql-ref-syntax-ddl-create-table-datasource.html
 *   DuckDB  a view over read_parquet with hive_partitioning, every column
 *           typed even when no file has it yet (the same typed empty
 *           SELECT the query sessions put under their own view).
 * Only DuckDB's is executed by the tests; the others are pinned by their
 * exact text (tests/integration/test_ddl.sh).
 */
#include "../core/fl_config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <duckdb.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "convert.h"
#include "ddl.h"

static const char *const partition_cols[] = { "year", "month", "day", "hour" };

/* The engine's name for each Parquet type the archive writes
 * (enum fl_type order), per engine (enum fl_ddl_engine order). */
static const char *const type_names[][3] = {
    [FL_DDL_ATHENA] = { "int", "bigint", "string" },
    [FL_DDL_TRINO]  = { "integer", "bigint", "varchar" },
    [FL_DDL_SPARK]  = { "INT", "BIGINT", "STRING" },
    [FL_DDL_DUCKDB] = { "INTEGER", "BIGINT", "VARCHAR" },
};

static const char *const engine_names[] = {
    [FL_DDL_ATHENA] = "athena", [FL_DDL_TRINO] = "trino",
    [FL_DDL_SPARK] = "spark", [FL_DDL_DUCKDB] = "duckdb",
};


int
fl_ddl_engine_from_name(const char *name, enum fl_ddl_engine *out)
{
    for (size_t i = 0; i < sizeof engine_names / sizeof engine_names[0]; i++) {
        if (strcmp(name, engine_names[i]) == 0) {
            *out = (enum fl_ddl_engine)i;
            return 0;
        }
    }
    return -1;
}


/* An identifier as the engine quotes it: backticks for the Hive dialects
 * (Athena's DDL, Spark), double quotes for Trino and DuckDB -- always, so
 * that `end`, `date` or an extra field named like a keyword need no list
 * of reserved words. */
static void
put_ident(struct fl_buf *b, enum fl_ddl_engine e, const char *name)
{
    char q = e == FL_DDL_ATHENA || e == FL_DDL_SPARK ? '`' : '"';
    fl_buf_addc(b, q);
    for (const char *p = name; *p != '\0'; p++) {
        if (*p == q)
            fl_buf_addc(b, q);
        fl_buf_addc(b, *p);
    }
    fl_buf_addc(b, q);
}


/* A qualified name: each dot-separated part quoted on its own. */
static void
put_table(struct fl_buf *b, enum fl_ddl_engine e, const char *table)
{
    const char *dot = strchr(table, '.');
    if (dot != NULL) {
        char schema[256];
        snprintf(schema, sizeof schema, "%.*s", (int)(dot - table), table);
        put_ident(b, e, schema);
        fl_buf_addc(b, '.');
        put_table(b, e, dot + 1);
        return;
    }
    put_ident(b, e, table);
}


/* A string literal: single quotes, an inner one doubled. */
static void
put_literal(struct fl_buf *b, const char *s)
{
    fl_buf_addc(b, '\'');
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '\'')
            fl_buf_addc(b, '\'');
        fl_buf_addc(b, *p);
    }
    fl_buf_addc(b, '\'');
}


/* The location with exactly one '/' at its end. */
static void
put_location(struct fl_buf *b, const char *loc, const char *suffix)
{
    size_t n = strlen(loc);
    while (n > 1 && loc[n - 1] == '/')
        n--;
    struct fl_buf lit = { 0 };
    fl_buf_add(&lit, loc, n);
    fl_buf_addc(&lit, '/');
    fl_buf_adds(&lit, suffix);
    if (lit.err)
        fl_buf_fail(b, lit.err);
    else
        put_literal(b, lit.p);
    fl_buf_free(&lit);
}


/* One column line of a column list: "  name type", then ",\n" unless it
 * is the last. */
static void
put_column(struct fl_buf *b, enum fl_ddl_engine e, const char *name,
           enum fl_type t, int last)
{
    fl_buf_adds(b, "  ");
    put_ident(b, e, name);
    fl_buf_addc(b, ' ');
    fl_buf_adds(b, type_names[e][t]);
    fl_buf_adds(b, last ? "\n" : ",\n");
}


/* How many columns the table has: the fields, the provenance columns,
 * the extras, then with_partitions the partition columns (Trino, Spark
 * and DuckDB list them with the others; Athena declares them apart). */
static size_t
n_columns(const struct fl_ddl_options *o, int with_partitions)
{
    return FL_FIELD_COUNT + FL_PROV_COLUMNS
           + (o->archive ? o->archive->n_extra : 0)
           + (with_partitions ? 4 : 0);
}


/* Column i of that order: its name and type. */
static void
column_at(const struct fl_ddl_options *o, size_t i, const char **name,
          enum fl_type *t)
{
    size_t n_extra = o->archive ? o->archive->n_extra : 0;
    *t = FL_TYPE_STRING;
    if (i < FL_FIELD_COUNT) {
        *name = fl_field_get((int)i)->sql_name;
        *t = fl_field_get((int)i)->type;
    } else if ((i -= FL_FIELD_COUNT) < FL_PROV_COLUMNS) {
        *name = fl_prov_column[i];
    } else if ((i -= FL_PROV_COLUMNS) < n_extra) {
        *name = o->archive->extra[i].name;
        *t = o->archive->extra[i].type;
    } else {
        *name = partition_cols[i - n_extra];
    }
}


/* "CREATE ... name (\n", the column list, ")": the head of the three
 * table statements. */
static void
put_create(struct fl_buf *b, const struct fl_ddl_options *o,
           const char *create, const char *table, int with_partitions)
{
    size_t n = n_columns(o, with_partitions);
    fl_buf_adds(b, create);
    put_table(b, o->engine, table);
    fl_buf_adds(b, " (\n");
    for (size_t i = 0; i < n; i++) {
        const char *name;
        enum fl_type t;
        column_at(o, i, &name, &t);
        put_column(b, o->engine, name, t, i + 1 == n);
    }
    fl_buf_addc(b, ')');
}


static void
put_athena(struct fl_buf *b, const struct fl_ddl_options *o)
{
    put_create(b, o, "CREATE EXTERNAL TABLE IF NOT EXISTS ", o->table, 0);
    fl_buf_adds(b, "\nPARTITIONED BY (\n");
    for (size_t i = 0; i < 4; i++)
        put_column(b, o->engine, partition_cols[i], FL_TYPE_STRING, i == 3);
    fl_buf_adds(b, ")\nSTORED AS PARQUET\nLOCATION ");
    put_location(b, o->location, "");
    /* Partition projection: Athena computes the hour folders from the
     * query's filters instead of asking a catalogue, so new hours are
     * queryable at once (no crawler, no MSCK REPAIR). digits = 2 writes
     * 5 as '05', as the folders are named. */
    fl_buf_addf(b, "\nTBLPROPERTIES (\n"
                "  'projection.enabled' = 'true',\n"
                "  'projection.year.type' = 'integer',\n"
                "  'projection.year.range' = '%d,%d',\n"
                "  'projection.month.type' = 'integer',\n"
                "  'projection.month.range' = '1,12',\n"
                "  'projection.month.digits' = '2',\n"
                "  'projection.day.type' = 'integer',\n"
                "  'projection.day.range' = '1,31',\n"
                "  'projection.day.digits' = '2',\n"
                "  'projection.hour.type' = 'integer',\n"
                "  'projection.hour.range' = '0,23',\n"
                "  'projection.hour.digits' = '2',\n"
                "  'storage.location.template' = ",
                o->first_year, o->last_year);
    put_location(b, o->location,
                 "year=${year}/month=${month}/day=${day}/hour=${hour}/");
    fl_buf_adds(b, "\n);\n");
}


static void
put_trino(struct fl_buf *b, const struct fl_ddl_options *o)
{
    /* sync_partition_metadata names the schema: the table is always
     * qualified, with the Hive connector's "default" when not given. */
    const char *dot = strchr(o->table, '.');
    char schema[256], qualified[512];
    snprintf(schema, sizeof schema, "%.*s",
             dot ? (int)(dot - o->table) : 7, dot ? o->table : "default");
    const char *name = dot ? dot + 1 : o->table;
    snprintf(qualified, sizeof qualified, "%s.%s", schema, name);

    put_create(b, o, "CREATE TABLE IF NOT EXISTS ", qualified, 1);
    fl_buf_adds(b, "\nWITH (\n  external_location = ");
    put_location(b, o->location, "");
    fl_buf_adds(b, ",\n  format = 'PARQUET',\n"
                   "  partitioned_by = ARRAY['year', 'month', 'day', "
                   "'hour']\n);\n");
    /* The Hive connector knows only the partitions registered in its
     * metastore: this registers the hour folders there now (run it again
     * for new hours, or on a schedule). */
    fl_buf_adds(b, "CALL system.sync_partition_metadata(");
    put_literal(b, schema);
    fl_buf_adds(b, ", ");
    put_literal(b, name);
    fl_buf_adds(b, ", 'FULL');\n");
}


static void
put_spark(struct fl_buf *b, const struct fl_ddl_options *o)
{
    put_create(b, o, "CREATE TABLE IF NOT EXISTS ", o->table, 1);
    fl_buf_adds(b, "\nUSING PARQUET\nPARTITIONED BY (");
    for (size_t i = 0; i < 4; i++) {
        put_ident(b, o->engine, partition_cols[i]);
        fl_buf_adds(b, i < 3 ? ", " : ")\nLOCATION ");
    }
    put_location(b, o->location, "");
    /* The table's partitions are those in the metastore: registered from
     * the folders now, and again for new hours. */
    fl_buf_adds(b, ";\nMSCK REPAIR TABLE ");
    put_table(b, o->engine, o->table);
    fl_buf_adds(b, ";\n");
}


static void
put_duckdb(struct fl_buf *b, const struct fl_ddl_options *o)
{
    size_t n = n_columns(o, 1);

    fl_buf_adds(b, "CREATE OR REPLACE VIEW ");
    put_table(b, o->engine, o->table);
    /* Every column exists with its type even before a file has it: an
     * empty typed SELECT, then the files by name. */
    fl_buf_adds(b, " AS\nSELECT\n");
    for (size_t i = 0; i < n; i++) {
        const char *name;
        enum fl_type t;
        column_at(o, i, &name, &t);
        fl_buf_addf(b, "  CAST(NULL AS %s) AS ", type_names[o->engine][t]);
        put_ident(b, o->engine, name);
        fl_buf_adds(b, i + 1 < n ? ",\n" : "\n");
    }
    fl_buf_adds(b, "WHERE false\nUNION ALL BY NAME\nSELECT * FROM "
                   "read_parquet(");
    put_location(b, o->location, "year=*/month=*/day=*/hour=*/*.parquet");
    fl_buf_adds(b, ",\n  hive_partitioning = true, union_by_name = true,\n"
                   "  hive_types = {'year': VARCHAR, 'month': VARCHAR, "
                   "'day': VARCHAR, 'hour': VARCHAR});\n");
}


int
fl_ddl_write(const struct fl_ddl_options *o, struct fl_buf *out)
{
    switch (o->engine) {
    case FL_DDL_ATHENA: put_athena(out, o); break;
    case FL_DDL_TRINO:  put_trino(out, o);  break;
    case FL_DDL_SPARK:  put_spark(out, o);  break;
    case FL_DDL_DUCKDB: put_duckdb(out, o); break;
    }
    return out->err ? out->err : FL_OK;
}


void
fl_ddl_archive_clear(struct fl_ddl_archive *a)
{
    for (size_t i = 0; i < a->n_extra; i++)
        fl_free(a->extra[i].name);
    fl_free(a->extra);
    memset(a, 0, sizeof *a);
}


/* The years of archive_dir's "year=YYYY" folders. */
static void
scan_years(const char *archive_dir, struct fl_ddl_archive *a)
{
    DIR *d = opendir(archive_dir);
    struct dirent *de;
    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        int y;
        char rest;
        if (sscanf(de->d_name, "year=%4d%c", &y, &rest) != 1
            || strlen(de->d_name) != 9)
            continue;
        if (a->first_year == 0 || y < a->first_year)
            a->first_year = y;
        if (y > a->last_year)
            a->last_year = y;
    }
    closedir(d);
}


/* The archive's type of a column's Parquet type name; -1 for a type the
 * archive never writes. */
static int
type_of(const char *parquet)
{
    if (strcmp(parquet, "INT32") == 0)
        return FL_TYPE_INT32;
    if (strcmp(parquet, "INT64") == 0)
        return FL_TYPE_INT64;
    if (strcmp(parquet, "BYTE_ARRAY") == 0)
        return FL_TYPE_STRING;
    return -1;
}


/* Checks one (column, Parquet type) of the files against what the
 * archive's writer gives that column, or adds it as an extra. */
static int
take_column(struct fl_ddl_archive *a, const char *name, const char *parquet,
            char **out_err)
{
    int t = type_of(parquet);
    int want = -1;
    int id = fl_field_lookup(name, strlen(name));
    char msg[512];

    if (id >= 0 && strcmp(fl_field_get(id)->sql_name, name) == 0)
        want = (int)fl_field_get(id)->type;
    for (size_t i = 0; want < 0 && i < FL_PROV_COLUMNS; i++)
        if (strcmp(name, fl_prov_column[i]) == 0)
            want = FL_TYPE_STRING;
    for (size_t i = 0; want < 0 && i < a->n_extra; i++)
        if (strcmp(name, a->extra[i].name) == 0)
            want = (int)a->extra[i].type;
    if (t < 0 || (want >= 0 && want != t)) {
        snprintf(msg, sizeof msg, "column %s has Parquet type %s in some "
                 "file, not the %s the archive writes",
                 name, parquet, t < 0 || want < 0 ? "INT32, INT64 or "
                 "BYTE_ARRAY" : fl_type_sql((enum fl_type)want));
        *out_err = fl_strdup(msg);
        return FL_ECORRUPT;
    }
    if (want >= 0)
        return FL_OK;
    struct fl_ddl_column *c = fl_grow(a->extra, &a->cap_extra,
                                      a->n_extra + 1, sizeof *c, 8);
    if (c == NULL)
        return FL_ENOMEM;
    a->extra = c;
    if ((c[a->n_extra].name = fl_strdup(name)) == NULL)
        return FL_ENOMEM;
    c[a->n_extra++].type = (enum fl_type)t;
    return FL_OK;
}


int
fl_ddl_scan_archive(const char *archive_dir, struct fl_ddl_archive *out,
                    char **out_err)
{
    duckdb_database db = NULL;
    duckdb_connection con = NULL;
    duckdb_result res;
    struct fl_buf sql = { 0 }, glob = { 0 };
    int rc = FL_OK, have_res = 0;

    memset(out, 0, sizeof *out);
    scan_years(archive_dir, out);
    if (out->first_year == 0)
        return FL_OK;               /* no hour folder: nothing to read */
    fl_buf_adds(&glob, archive_dir);
    fl_buf_adds(&glob, "/year=*/month=*/day=*/hour=*/*.parquet");
    /* Every distinct (name, type) of the files' leaf columns, the names
     * sorted: the extras come out in a stable order. */
    fl_buf_adds(&sql, "SELECT name, type FROM parquet_schema(");
    if (!glob.err)
        put_literal(&sql, glob.p);
    fl_buf_adds(&sql, ") WHERE num_children IS NULL OR num_children = 0 "
                      "GROUP BY name, type ORDER BY name, type");
    if (sql.err || glob.err) {
        rc = FL_ENOMEM;
        goto out;
    }
    if (duckdb_open(NULL, &db) == DuckDBError
        || duckdb_connect(db, &con) == DuckDBError) {
        rc = FL_EDB;
        *out_err = fl_strdup("cannot start DuckDB");
        goto out;
    }
    /* Year folders without any file yet: nothing to declare (and
     * parquet_schema() would fail on a glob that matches nothing). */
    struct fl_buf count = { 0 };
    fl_buf_adds(&count, "SELECT count(*) FROM glob(");
    put_literal(&count, glob.p);
    fl_buf_adds(&count, ")");
    have_res = 1;
    if (count.err) {
        rc = FL_ENOMEM;
    } else if (duckdb_query(con, count.p, &res) == DuckDBError) {
        rc = FL_EDB;
    } else if (duckdb_value_int64(&res, 0, 0) == 0) {
        fl_buf_free(&count);
        goto out;
    }
    fl_buf_free(&count);
    if (rc == FL_OK) {
        duckdb_destroy_result(&res);
        if (duckdb_query(con, sql.p, &res) == DuckDBError)
            rc = FL_EDB;
    }
    if (rc == FL_EDB) {
        const char *e = duckdb_result_error(&res);
        char msg[1024];
        snprintf(msg, sizeof msg, "cannot read the archive's files: %s",
                 e ? e : "unknown error");
        *out_err = fl_strdup(msg);
        goto out;
    }
    for (idx_t r = 0; rc == FL_OK && r < duckdb_row_count(&res); r++) {
        char *name = duckdb_value_varchar(&res, 0, r);
        char *type = duckdb_value_varchar(&res, 1, r);
        if (name == NULL || type == NULL)
            rc = FL_ENOMEM;
        else
            rc = take_column(out, name, type, out_err);
        duckdb_free(name);
        duckdb_free(type);
    }
out:
    if (have_res)
        duckdb_destroy_result(&res);
    duckdb_disconnect(&con);
    duckdb_close(&db);
    fl_buf_free(&sql);
    fl_buf_free(&glob);
    if (rc < 0)
        fl_ddl_archive_clear(out);
    return rc;
}
