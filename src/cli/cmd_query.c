/* SPDX-License-Identifier: MIT
 *
 * cmd_query.c -- `flowlake query`: runs SQL over the Parquet archive and
 * prints the result as a table, CSV or JSON. The command-line face of
 * src/query/query.c; the SQL text comes from the command line, a file or
 * stdin (-f -). Exit status: 0 success, 1 SQL or I/O error, 2 usage error.
 */
#include "../core/fl_config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../client/remote_query.h"
#include "../core/fl_error.h"
#include "../core/fl_fs.h"
#include "../core/fl_mem.h"
#include "../query/query.h"
#include "cli.h"
#include "commands.h"

/* Longest SQL script accepted from a file or stdin. */
#define FL_QUERY_MAX_SQL (16u << 20)

static const char usage_text[] =
"usage: flowlake query [options] SQL\n"
"       flowlake query [options] -f FILE     (-f - reads stdin)\n"
"\n"
"Runs SQL (DuckDB's dialect, plus the Athena functions below) over the\n"
"Parquet archive that `flowlake convert` writes. A script may hold several\n"
"statements separated by ';': all run, the result of the last is printed.\n"
"\n"
"options:\n"
"  --archive DIR        archive folder (default ./flowlake-data)\n"
"  --server URL         run the SQL on a running `flowlake serve` instead\n"
"                       (POST URL/api/query): it also sees the records\n"
"                       acknowledged but not yet published; read-only\n"
"  --key-file FILE      with --server: the server's read key\n"
"                       (server.read_key), sent as a bearer token; the\n"
"                       environment variable FLOWLAKE_READ_KEY also works\n"
"  --no-prune           read every file of the archive: no pruning by the\n"
"                       query's time filters (to compare)\n"
"  -o, --output FORMAT  table (default), csv or json\n"
"  -f, --file FILE      read the SQL from FILE, or from stdin if FILE is -\n"
"  -h, --help           this text\n"
"  --version            the version of flowlake\n"
"  --                   end of the options (for SQL that begins with -)\n"
"\n"
"tables:\n"
"  vpc_flow_logs.flow_logs, also reachable as flow_logs: one row per flow\n"
"  record, with every VPC flow log field v2..v8 under its Athena name\n"
"  (version, account_id, interface_id, srcaddr, dstaddr, srcport, dstport,\n"
"  protocol, packets, bytes, start, end, action, log_status, vpc_id, ...,\n"
"  reject_reason). start and end are TIMESTAMP (UTC); write \"end\" in\n"
"  double quotes. Partition columns year, month, day, hour are zero-padded\n"
"  strings (hour = '09', day BETWEEN '01' AND '07'), then date (DATE, the\n"
"  UTC date of start). Filters ANDed in the WHERE on start, end, date and\n"
"  the partition columns against constants read only the matching hour\n"
"  folders. `DESCRIBE flow_logs` lists every column.\n"
"\n"
"Athena / Presto functions:\n"
"  from_unixtime, to_unixtime, date_format and date_parse (MySQL %%Y-%%m-%%d\n"
"  %%H:%%i:%%s specifiers), day_of_week / dow (1 = Monday), day_of_year /\n"
"  doy, day_of_month, week_of_year, year_of_week / yow,\n"
"  from_iso8601_timestamp, from_iso8601_date, to_iso8601, approx_distinct,\n"
"  regexp_like, json_extract_scalar, last_day_of_month,\n"
"  date_add('day', n, ts);\n"
"  date_trunc, date_diff, split_part and current_timestamp are DuckDB's own.\n"
"  The session time zone is UTC. See docs/query.md for the differences.\n"
"\n"
"output:\n"
"  table  aligned columns, NULL shown as NULL, \"(N rows)\" footer; at most\n"
"         %d rows are shown (the footer gives the full count)\n"
"  csv    RFC 4180: header row, fields quoted when needed, NULL empty, an\n"
"         empty string as \"\"\n"
"  json   an array of objects, one per line; numbers and booleans as JSON\n"
"         values, NULL as null, timestamps as \"YYYY-MM-DD HH:MM:SS\"\n"
"\n"
"examples:\n"
"  flowlake query \"select protocol, sum(packets) as rejected_packets\n"
"      from flow_logs where action = 'REJECT' group by protocol\n"
"      order by rejected_packets desc\"\n"
"  flowlake query -o csv \"SELECT srcaddr, SUM(packets) AS rejected_packets\n"
"      FROM flow_logs WHERE start >= current_timestamp - interval '14' day\n"
"      GROUP BY srcaddr ORDER BY rejected_packets DESC LIMIT 10\"\n"
"  flowlake query \"SELECT count(*) FROM flow_logs WHERE year = '2024'\n"
"      AND month = '03' AND day = '07' AND hour = '09'\"\n"
"  flowlake query \"EXPLAIN ANALYZE SELECT count(*) FROM flow_logs\n"
"      WHERE day = '07'\"      (see \"Total Files Read\")\n"
"  echo 'DESCRIBE flow_logs' | flowlake query -f -\n"
"\n"
"Exit status: 0 success, 1 SQL or I/O error, 2 usage error.\n";


static void
usage(FILE *out)
{
    fprintf(out, usage_text, FL_QUERY_TABLE_MAX_ROWS);
}


/* Reads all of path ("-" = stdin) into a NUL-terminated fl_malloc'd
 * string. Returns 0, -errno, FL_ETOOBIG or FL_ENOMEM. */
static int
read_sql(const char *path, char **out)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (f == NULL)
        return -errno;
    int rc = fl_fs_read_stream(f, FL_QUERY_MAX_SQL, out, NULL);
    if (f != stdin)
        fclose(f);
    return rc;
}


enum { OPT_ARCHIVE = 256, OPT_SERVER, OPT_KEY_FILE, OPT_NO_PRUNE,
       OPT_VERSION };
static const struct option longopts[] = {
    { "archive", required_argument, NULL, OPT_ARCHIVE },
    { "server",  required_argument, NULL, OPT_SERVER },
    { "key-file", required_argument, NULL, OPT_KEY_FILE },
    { "no-prune", no_argument,       NULL, OPT_NO_PRUNE },
    { "output",  required_argument, NULL, 'o' },
    { "file",    required_argument, NULL, 'f' },
    { "help",    no_argument,       NULL, 'h' },
    { "version", no_argument,       NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 }
};

/* What the command line asks for. */
struct query_args {
    const char    *archive, *server, *key_file, *file;
    const char    *sql;               /* the SQL argument, without -f */
    enum fl_output fmt;
    int            prune;
};

/* The steps below return the command's exit status when it ends there,
 * or FL_CLI_GO_ON (cli.h). */

static int
parse_args(int argc, char **argv, struct query_args *a)
{
    int opt;

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":o:f:h", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_ARCHIVE:
            a->archive = optarg;
            break;
        case OPT_SERVER:
            a->server = optarg;
            break;
        case OPT_KEY_FILE:
            a->key_file = optarg;
            break;
        case OPT_NO_PRUNE:
            a->prune = 0;
            break;
        case 'o':
            if (fl_query_output_parse(optarg, &a->fmt) < 0)
                return fl_cli_usage_error("query", "unknown output format "
                                          "'%s' (use table, csv or json)",
                                          optarg);
            break;
        case 'f':
            a->file = optarg;
            break;
        case 'h':
            usage(stdout);
            return fflush(stdout) == 0 ? 0 : 1;
        case OPT_VERSION:
            return fl_cli_version();
        default:            /* '?' unknown, ':' without its value */
            return fl_cli_getopt_error("query", opt, argv, longopts);
        }
    }
    int npos = argc - optind;
    if (a->file != NULL && npos > 0)
        return fl_cli_usage_error("query", "give the SQL either as an "
                                  "argument or with -f, not both");
    if (a->file == NULL && npos != 1)
        return fl_cli_usage_error("query", "%s", npos == 0 ? "no SQL given"
                                  : "give the SQL as ONE argument (quote "
                                  "it)");
    a->sql = a->file == NULL ? argv[optind] : NULL;
    return FL_CLI_GO_ON;
}

/* -f FILE (or stdin) into *script. */
static int
load_script(const char *file, char **script)
{
    if (file == NULL)
        return FL_CLI_GO_ON;
    int rc = read_sql(file, script);
    if (rc < 0) {
        fprintf(stderr, "flowlake query: %s: %s\n",
                strcmp(file, "-") == 0 ? "stdin" : file,
                rc == FL_ETOOBIG ? "larger than 16 MiB" : fl_strerror(rc));
        return 1;
    }
    return FL_CLI_GO_ON;
}

/* Options that only go with --server, or only without it. */
static int
check_server_options(const struct query_args *a)
{
    if (a->key_file != NULL && a->server == NULL)
        return fl_cli_usage_error("query", "--key-file goes with "
                                  "--server");
    if (!a->prune && a->server != NULL) {
        /* The server prunes by itself; saying nothing would let a
         * comparison silently compare the server with itself. */
        return fl_cli_usage_error("query", "--no-prune goes with a local "
                                  "archive, not --server");
    }
    return FL_CLI_GO_ON;
}

/* POST the SQL to --server; the answer goes to stdout. Exit status. */
static int
run_remote(const struct query_args *a, const char *sql)
{
    static const char *const names[] = { "table", "csv", "json" };
    const char *bearer = getenv("FLOWLAKE_READ_KEY");
    char *key = NULL, *err = NULL;
    int rc, status = 1;

    if (a->key_file != NULL) {
        if (fl_cli_read_key("query", a->key_file, &key) < 0)
            goto out;
        bearer = key;
    }
    rc = fl_remote_query(a->server, sql, names[a->fmt], bearer, stdout, &err);
    if (rc < 0) {
        fflush(stdout);
        fprintf(stderr, "flowlake query: %s\n", err ? err : fl_strerror(rc));
        goto out;
    }
    status = 0;
out:
    fl_free(err);
    fl_free(key);
    return status;
}

/* The SQL over the local archive; the result goes to stdout. Exit status. */
static int
run_local(const struct query_args *a, const char *sql)
{
    struct fl_query *q = NULL;
    char *err = NULL;
    int status = 1;

    int rc = fl_query_open(a->archive, &q, &err);
    if (rc < 0) {
        if (rc == -ENOENT || rc == -ENOTDIR)
            fprintf(stderr, "flowlake query: %s (create it with `flowlake "
                    "convert`, or point --archive at it)\n",
                    err ? err : fl_strerror(rc));
        else
            fprintf(stderr, "flowlake query: %s\n",
                    err ? err : fl_strerror(rc));
        goto out;
    }
    fl_query_set_prune(q, a->prune);
    rc = fl_query_run(q, sql, a->fmt, stdout, &err);
    if (rc < 0) {
        fflush(stdout);
        fprintf(stderr, "flowlake query: %s\n",
                err ? err : rc == -EIO ? "cannot write the output"
                                       : fl_strerror(rc));
        goto out;
    }
    status = 0;
out:
    fl_query_close(q);
    fl_free(err);
    return status;
}

int
fl_cmd_query(int argc, char **argv)
{
    struct query_args a = { .archive = "flowlake-data",
                            .fmt = FL_OUTPUT_TABLE, .prune = 1 };
    char *script = NULL;

    int status = parse_args(argc, argv, &a);
    if (status == FL_CLI_GO_ON)
        status = load_script(a.file, &script);
    if (status == FL_CLI_GO_ON)
        status = check_server_options(&a);
    if (status == FL_CLI_GO_ON) {
        const char *sql = script != NULL ? script : a.sql;
        status = a.server != NULL ? run_remote(&a, sql) : run_local(&a, sql);
    }
    fl_free(script);
    return status;
}
