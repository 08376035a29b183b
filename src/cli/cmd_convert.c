/* SPDX-License-Identifier: MIT
 *
 * cmd_convert.c -- `flowlake convert`: the command-line face of
 * src/archive/convert.c.
 */
#include "../core/fl_config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../archive/convert.h"
#include "../core/fl_mem.h"
#include "../parse/format.h"
#include "cli.h"
#include "commands.h"

static const char usage_text[] =
"usage: flowlake convert [options] FILE|DIR|- ...\n"
"\n"
"Turns VPC flow log files into a Hive-partitioned Parquet archive:\n"
"  ARCHIVE/year=YYYY/month=MM/day=DD/hour=HH/part-<run>-<n>.parquet\n"
"partitioned on each flow's start time (UTC), zstd-compressed, one schema\n"
"for every flow-log version (fields a format lacks are NULL).\n"
"\n"
"Inputs are files (plain or gzip, detected by content), folders (walked\n"
"recursively for *.log, *.log.gz, *.gz, *.txt, as an S3 sync leaves them)\n"
"or - for stdin. A header line at the top of a file (as AWS writes to S3)\n"
"defines that file's format; otherwise --format, else the default v2 format.\n"
"\n"
"options:\n"
"  --archive DIR       archive folder (default ./flowlake-data)\n"
"  --format FMT        custom format in AWS syntax, e.g.\n"
"                      '${version} ${vpc-id} ${srcaddr} ${dstaddr} ...'\n"
"  --strict            stop at the first bad line, exit 1, publish nothing\n"
"  --threads N         parser/writer threads (default: all cores)\n"
"  --max-line BYTES    longest accepted line (default 65536)\n"
"  --memory-limit SIZE DuckDB memory limit, e.g. 2GB (default: DuckDB's)\n"
"  --quiet             no progress line\n"
"  -h, --help          this text\n"
"  --version           the version of flowlake\n"
"\n"
"Bad lines (wrong field count, a number that does not parse or overflows,\n"
"an over-long line) are reported with file and line, written with their\n"
"raw text to ARCHIVE/_errors/convert-<run>.jsonl, and the rest goes on.\n"
"An input whose content was converted before is skipped and reported.\n"
"\n"
"Exit status: 0 done (even with rejected lines), 1 error, 2 usage.\n";


static int
parse_size(const char *s, size_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v == 0)
        return -1;
    *out = (size_t)v;
    return 0;
}


int
fl_cmd_convert(int argc, char **argv)
{
    enum { OPT_ARCHIVE = 256, OPT_FORMAT, OPT_STRICT, OPT_THREADS,
           OPT_MAX_LINE, OPT_MEMORY, OPT_QUIET, OPT_VERSION };
    static const struct option longopts[] = {
        { "archive",      required_argument, NULL, OPT_ARCHIVE },
        { "format",       required_argument, NULL, OPT_FORMAT },
        { "strict",       no_argument,       NULL, OPT_STRICT },
        { "threads",      required_argument, NULL, OPT_THREADS },
        { "max-line",     required_argument, NULL, OPT_MAX_LINE },
        { "memory-limit", required_argument, NULL, OPT_MEMORY },
        { "quiet",        no_argument,       NULL, OPT_QUIET },
        { "help",         no_argument,       NULL, 'h' },
        { "version",      no_argument,       NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 }
    };
    struct fl_convert_opts opts = { .archive_dir = "flowlake-data" };
    struct fl_convert_stats st;
    int quiet = 0, c;
    size_t n;
    struct fl_err err = FL_ERR_INIT;

    optind = 1;
    opterr = 0;             /* our own words for a bad option (cli.h) */
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_ARCHIVE: opts.archive_dir = optarg; break;
        case OPT_FORMAT:  opts.format_spec = optarg; break;
        case OPT_STRICT:  opts.strict = 1; break;
        case OPT_QUIET:   quiet = 1; break;
        case OPT_MEMORY:  opts.memory_limit = optarg; break;
        case OPT_THREADS:
            if (parse_size(optarg, &n) < 0 || n > 1024)
                return fl_cli_usage_error("convert", "--threads: '%s' is not "
                                          "a number from 1 to 1024", optarg);
            opts.threads = (int)n;
            break;
        case OPT_MAX_LINE:
            if (parse_size(optarg, &n) < 0 || n < 64 || n > (1u << 30))
                return fl_cli_usage_error("convert", "--max-line: '%s' is not "
                                          "a size from 64 to 1073741824",
                                          optarg);
            opts.max_line = n;
            break;
        case 'h':
            return fl_cli_help(usage_text);
        case OPT_VERSION:
            return fl_cli_version();
        default:
            return fl_cli_getopt_error("convert", c, argv, longopts);
        }
    }
    if (optind >= argc)
        return fl_cli_usage_error("convert", "no input given (use - for "
                                  "stdin)");
    if (opts.format_spec != NULL) {
        /* A bad --format is a usage error (exit 2), found before any
         * input is touched. */
        struct fl_format *fmt = NULL;
        struct fl_parse_err perr;
        if (fl_format_parse(opts.format_spec, &fmt, &perr) < 0)
            return fl_cli_usage_error("convert", "--format: %s", perr.reason);
        fl_format_destroy(fmt);
    }
    opts.progress = !quiet && isatty(STDERR_FILENO);

    int rc = fl_convert_run(&opts, argv + optind, (size_t)(argc - optind),
                            &st, &err);
    if (rc < 0) {
        fprintf(stderr, "flowlake convert: %s\n", fl_err_msg(&err));
        return 1;
    }
    if (st.inputs_skipped > 0)
        fprintf(stderr, "flowlake convert: %llu input(s) skipped: already "
                "in the archive\n", (unsigned long long)st.inputs_skipped);
    if (st.rejected > 0)
        fprintf(stderr, "flowlake convert: rejected records are in %s\n",
                st.rejects_path);
    printf("convert: %llu records read, %llu written, %llu rejected, "
           "%llu files written, %llu inputs (%llu skipped), %.2f s\n",
           (unsigned long long)st.records_read,
           (unsigned long long)st.records_written,
           (unsigned long long)st.rejected,
           (unsigned long long)st.files_written,
           (unsigned long long)st.inputs,
           (unsigned long long)st.inputs_skipped, st.seconds);
    return 0;
}
