/* SPDX-License-Identifier: MIT
 *
 * main.c -- the flowlake command line: dispatches to the subcommands in
 * src/cli/cmd_*.c. Kept thin on purpose (curl's lib/ vs src/): everything
 * a subcommand does lives in the library that the tests link too.
 */
#include "../core/fl_config.h"

#include <stdio.h>
#include <string.h>

#include "../query/runner.h"
#include "cli.h"
#include "commands.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    { "convert",  fl_cmd_convert,
      "turn flow log files into a Hive-partitioned Parquet archive" },
    { "serve",    fl_cmd_serve,
      "run the server: flow logs in over HTTP, Parquet out" },
    { "query",    fl_cmd_query,
      "run SQL over the archive (vpc_flow_logs.flow_logs)" },
    { "generate", fl_cmd_generate,
      "write realistic synthetic VPC flow logs" },
    { "config",   fl_cmd_config,
      "check a configuration file, print the defaults" },
    { "compact",  fl_cmd_compact,
      "merge the archive's small files by hour; delete hours past retention" },
    { "metrics",  fl_cmd_metrics,
      "merge the metrics of several servers (metrics merge URL...)" },
    { "upload",   fl_cmd_upload,
      "copy the archive to S3-compatible storage and keep it in step" },
    { "ddl",      fl_cmd_ddl,
      "print the table for Athena, Trino, Spark or DuckDB over the archive" },
    { "wal-check", fl_cmd_wal_check,
      "check a write-ahead log directory (--fix cuts a torn tail)" },
};


static void
usage(FILE *out)
{
    fprintf(out,
            "flowlake %s -- VPC flow logs to partitioned Parquet, queried with SQL\n"
            "\n"
            "usage: flowlake <command> [options]\n"
            "\n"
            "commands:\n", FL_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n"
            "Every command takes -h/--help and --version; a usage error exits 2.\n"
            "Run 'flowlake <command> --help' for the options of a command.\n");
}


int
main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0
        || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return fl_cli_version();
    /* Not a command for people: the process `flowlake serve` runs each
     * query from the network in (src/query/runner.h), its job on stdin,
     * the result on stdout, the error on fd 3, what it read on fd 4. */
    if (strcmp(argv[1], "query-worker") == 0 && argc == 2)
        return fl_query_worker_main(0, 1, 3, 4);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    }
    if (argv[1][0] == '-')
        return fl_cli_unknown_option(NULL, argv[1]);
    return fl_cli_usage_error(NULL, "unknown command '%s'", argv[1]);
}
