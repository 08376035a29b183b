/* SPDX-License-Identifier: MIT
 *
 * cmd_ddl.c -- `flowlake ddl`: prints the statement that declares the
 * archive as a table in Athena, Trino, Spark or DuckDB
 * (src/archive/ddl.h, docs/engines.md), so that the same Parquet files
 * serve every engine a team already runs.
 *
 * Exit status: 0 printed; 1 the archive could not be read (a file DuckDB
 * cannot open, a column whose type is not the archive's); 2 usage error.
 */
#include "../core/fl_config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../archive/ddl.h"
#include "../core/fl_error.h"
#include "../core/fl_fs.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "cli.h"
#include "commands.h"

#define CMD "ddl"

/* Athena's projection covers this many years after the current one by
 * default: the table keeps working for a decade without a change. */
#define YEARS_AHEAD 10

static const char usage_text[] =
"usage: flowlake ddl --engine ENGINE [options]\n"
"\n"
"Prints the statement that declares the archive as a table in another\n"
"engine, for the same Parquet files: every column with the engine's type\n"
"for its exact Parquet type, the year/month/day/hour folders as Hive\n"
"partitions (zero-padded strings, as flowlake's own view has them).\n"
"\n"
"engines:\n"
"  athena  CREATE EXTERNAL TABLE with partition projection: new hours are\n"
"          queryable at once, no crawler and no MSCK REPAIR\n"
"  trino   Hive connector CREATE TABLE, then sync_partition_metadata\n"
"  spark   CREATE TABLE ... USING PARQUET, then MSCK REPAIR TABLE\n"
"  duckdb  a view over read_parquet with every column typed\n"
"\n"
"options:\n"
"  --engine ENGINE      athena, trino, spark or duckdb (required)\n"
"  --location URL       the archive's root as the engine reaches it:\n"
"                       s3://bucket/prefix/ (Athena needs an s3:// URL),\n"
"                       s3a://..., hdfs://..., or a folder; default: the\n"
"                       --archive folder as an absolute path (not Athena)\n"
"  --archive DIR        the archive to describe (default ./flowlake-data):\n"
"                       columns its files hold beyond the flow-log fields\n"
"                       and provenance (extra fields of custom formats)\n"
"                       are declared too, every column's Parquet type is\n"
"                       checked, and its first year starts Athena's\n"
"                       projection; a folder that does not exist gives the\n"
"                       fields and provenance columns alone\n"
"  --table NAME         [schema.]table (default vpc_flow_logs; Trino's is\n"
"                       qualified with the schema 'default' when not given)\n"
"  --years FIRST,LAST   Athena: the years the projection covers (default:\n"
"                       the archive's first year, or this year, to this\n"
"                       year + 10)\n"
"  -h, --help           this text\n"
"  --version            the version of flowlake\n"
"\n"
"The statements go to stdout; see docs/engines.md for each engine, what it\n"
"sees while a publish is under way, and the AWS blog's queries as each\n"
"engine writes them.\n"
"\n"
"Exit status: 0 printed, 1 the archive could not be read, 2 usage error.\n";


struct ddl_args {
    const char *engine, *location, *archive, *table, *years;
};


static int
parse_args(int argc, char **argv, struct ddl_args *a)
{
    static const struct option longopts[] = {
        { "engine",   required_argument, NULL, 'e' },
        { "location", required_argument, NULL, 'l' },
        { "archive",  required_argument, NULL, 'a' },
        { "table",    required_argument, NULL, 't' },
        { "years",    required_argument, NULL, 'y' },
        { "help",     no_argument,       NULL, 'h' },
        { "version",  no_argument,       NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'e': a->engine = optarg; break;
        case 'l': a->location = optarg; break;
        case 'a': a->archive = optarg; break;
        case 't': a->table = optarg; break;
        case 'y': a->years = optarg; break;
        case 'h': return fl_cli_help(usage_text);
        case 'V': return fl_cli_version();
        default:  return fl_cli_getopt_error(CMD, c, argv, longopts);
        }
    }
    if (optind < argc)
        return fl_cli_usage_error(CMD, "unexpected argument '%s'",
                                  argv[optind]);
    if (a->engine == NULL)
        return fl_cli_usage_error(CMD, "--engine is required (athena, "
                                  "trino, spark or duckdb)");
    return FL_CLI_GO_ON;
}


/* "FIRST,LAST", two years in order. */
static int
parse_years(const char *s, int *first, int *last)
{
    char *end;
    long f = strtol(s, &end, 10);
    if (end == s || *end != ',')
        return -1;
    const char *l = end + 1;
    long t = strtol(l, &end, 10);
    if (end == l || *end != '\0' || f < 1970 || t > 9999 || f > t)
        return -1;
    *first = (int)f;
    *last = (int)t;
    return 0;
}


/* A table name: [schema.]name, each part non-empty and printable. */
static int
table_ok(const char *t)
{
    const char *dot = strchr(t, '.');
    if (*t == '\0' || t[0] == '.' || (dot && (dot[1] == '\0'
                                              || strchr(dot + 1, '.'))))
        return 0;
    if (dot && dot - t >= 255)
        return 0;
    for (const char *p = t; *p; p++)
        if ((unsigned char)*p < 0x20)
            return 0;
    return 1;
}


int
fl_cmd_ddl(int argc, char **argv)
{
    struct ddl_args a = { .archive = "flowlake-data",
                          .table = "vpc_flow_logs" };
    struct fl_ddl_options o = { 0 };
    struct fl_ddl_archive arch = { 0 };
    struct fl_buf out = { 0 };
    char *abs_archive = NULL, *err = NULL;
    int rc = parse_args(argc, argv, &a);
    if (rc != FL_CLI_GO_ON)
        return rc;

    if (fl_ddl_engine_from_name(a.engine, &o.engine) != 0)
        return fl_cli_usage_error(CMD, "unknown engine '%s' (athena, trino, "
                                  "spark or duckdb)", a.engine);
    if (!table_ok(a.table))
        return fl_cli_usage_error(CMD, "bad --table '%s': [schema.]name",
                                  a.table);
    if (o.engine == FL_DDL_ATHENA
        && (a.location == NULL || strncmp(a.location, "s3://", 5) != 0))
        return fl_cli_usage_error(CMD, "Athena reads S3 only: give "
                                  "--location s3://bucket/prefix/");
    if (a.years != NULL
        && parse_years(a.years, &o.first_year, &o.last_year) != 0)
        return fl_cli_usage_error(CMD, "bad --years '%s': FIRST,LAST, e.g. "
                                  "2024,2035", a.years);

    if ((rc = fl_ddl_scan_archive(a.archive, &arch, &err)) < 0) {
        fprintf(stderr, "flowlake %s: %s: %s\n", CMD, a.archive,
                err ? err : fl_strerror(rc));
        fl_free(err);
        return 1;
    }
    if (a.location == NULL) {
        /* The engines resolve a relative path against their own working
         * folder, not this one. */
        abs_archive = realpath(a.archive, NULL);
        if (abs_archive == NULL) {
            fprintf(stderr, "flowlake %s: %s: no such folder; give "
                    "--location for an archive that is not here\n", CMD,
                    a.archive);
            fl_ddl_archive_clear(&arch);
            return 1;
        }
    }
    if (a.years == NULL) {
        struct fl_civil now;
        fl_time_to_civil(fl_time_now(), &now);
        o.first_year = arch.first_year ? arch.first_year : now.year;
        o.last_year = now.year + YEARS_AHEAD;
        if (arch.last_year > o.last_year)        /* records dated ahead */
            o.last_year = arch.last_year;
    }
    o.location = a.location ? a.location : abs_archive;
    o.table = a.table;
    o.archive = &arch;
    rc = fl_ddl_write(&o, &out);
    if (rc == FL_OK && fwrite(out.p, 1, out.len, stdout) != out.len)
        rc = -EIO;
    if (rc == FL_OK && fflush(stdout) != 0)
        rc = -EIO;
    if (rc < 0)
        fprintf(stderr, "flowlake %s: %s\n", CMD, fl_strerror(rc));
    fl_buf_free(&out);
    fl_free_libc(abs_archive);          /* realpath's */
    fl_ddl_archive_clear(&arch);
    return rc < 0 ? 1 : 0;
}
