/* SPDX-License-Identifier: MIT
 *
 * cmd_compact.c -- `flowlake compact`: one pass of compaction and
 * retention over an archive (src/archive/compact.h, docs/compact.md), the
 * same pass `flowlake serve` runs every archive.compact_interval.
 *
 * Exit status: 0 done; 1 the pass failed (the archive is left whole);
 * 2 usage error.
 */
#include "../core/fl_config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../archive/compact.h"
#include "../config/config.h"
#include "../core/fl_error.h"
#include "../core/fl_instance.h"
#include "cli.h"
#include "commands.h"

#define CMD "compact"

/* A retired folder is removed this long after its swap by default: far
 * longer than any query of the archive lists files before reading them. */
#define DEFAULT_GRACE "10m"

static const char usage_text[] =
"usage: flowlake compact [options]\n"
"\n"
"Merges the many small files a running server publishes into few large\n"
"ones, hour by hour, and deletes the hours older than the retention.\n"
"An hour is compacted once it ended archive.compact_after ago and holds\n"
"more files than its size needs: its files are rewritten sorted by start\n"
"time into files of about archive.target_file_size, and swapped in for\n"
"the old ones in one step (a reader sees the old files or the new, never\n"
"both). Replaced and expired folders are kept under\n"
"ARCHIVE/_flowlake/retired/ for the grace period, then removed.\n"
"\n"
"options:\n"
"  --archive DIR         the archive (default: archive.dir, ./flowlake-data)\n"
"  --config FILE         read archive.* keys from this INI file\n"
"  --target-size SIZE    archive.target_file_size (default 128MiB)\n"
"  --after DURATION      archive.compact_after (default 1h)\n"
"  --retention DURATION  archive.retention: delete hours that ended longer\n"
"                        ago (default 0: keep everything)\n"
"  --grace DURATION      how long replaced folders are kept (default " DEFAULT_GRACE ")\n"
"  --dry-run             say what would be done, change nothing\n"
"  -h, --help            this text\n"
"  --version             the version of flowlake\n"
"\n"
"Sizes take B, KiB, MiB, GiB; durations s, m, h, d. A running server\n"
"compacts by itself (archive.compact_interval); this command is for an\n"
"archive written by convert, or a server with compaction turned off.\n"
"\n"
"Exit status: 0 done, 1 the pass failed, 2 usage error.\n";


/* The flags, applied over the config file's values. */
static int
parse_args(int argc, char **argv, struct fl_config *cfg,
           struct fl_compact_opts *o)
{
    enum { OPT_ARCHIVE = 256, OPT_CONFIG, OPT_TARGET, OPT_AFTER,
           OPT_RETENTION, OPT_GRACE, OPT_DRY_RUN, OPT_VERSION };
    static const struct option longopts[] = {
        { "archive",     required_argument, NULL, OPT_ARCHIVE },
        { "config",      required_argument, NULL, OPT_CONFIG },
        { "target-size", required_argument, NULL, OPT_TARGET },
        { "after",       required_argument, NULL, OPT_AFTER },
        { "retention",   required_argument, NULL, OPT_RETENTION },
        { "grace",       required_argument, NULL, OPT_GRACE },
        { "dry-run",     no_argument,       NULL, OPT_DRY_RUN },
        { "help",        no_argument,       NULL, 'h' },
        { "version",     no_argument,       NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 }
    };
    const char *grace = DEFAULT_GRACE;
    char err[512];
    int c, rc = 0;

    if ((rc = fl_cli_config_pass(CMD, argc, argv, longopts, OPT_CONFIG,
                                 OPT_VERSION, usage_text, cfg, 0))
        != FL_CLI_GO_ON)
        return rc;
    rc = 0;
    while (rc == 0
           && (c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_ARCHIVE:
            rc = fl_config_set(cfg, "archive.dir", optarg, err, sizeof err);
            break;
        case OPT_TARGET:
            rc = fl_config_set(cfg, "archive.target_file_size", optarg, err,
                               sizeof err);
            break;
        case OPT_AFTER:
            rc = fl_config_set(cfg, "archive.compact_after", optarg, err,
                               sizeof err);
            break;
        case OPT_RETENTION:
            rc = fl_config_set(cfg, "archive.retention", optarg, err,
                               sizeof err);
            break;
        case OPT_GRACE: grace = optarg; break;
        case OPT_DRY_RUN: o->dry_run = 1; break;
        default: break;
        }
    }
    if (rc < 0)
        return fl_cli_usage_error(CMD, "%s", err);
    uint64_t g;
    if (fl_config_parse_duration(grace, &g) < 0)
        return fl_cli_usage_error(CMD, "--grace: '%s' is not a duration "
                                  "such as 30s, 15m or 1h", grace);
    o->archive_dir = cfg->archive_dir;
    o->target_size = cfg->target_file_size;
    o->min_age = cfg->compact_after;
    o->retention = cfg->retention;
    o->grace = g;
    return FL_CLI_GO_ON;
}


int
fl_cmd_compact(int argc, char **argv)
{
    struct fl_config cfg;
    struct fl_compact_opts o = { 0 };
    struct fl_compact_stats st;
    struct fl_err err = FL_ERR_INIT;

    if (fl_config_init(&cfg) < 0) {
        fprintf(stderr, "flowlake " CMD ": %s\n", FL_OOM_TEXT);
        return 1;
    }
    int status = parse_args(argc, argv, &cfg, &o);
    if (status != FL_CLI_GO_ON) {
        fl_config_free(&cfg);
        return status;
    }
    (void)fl_instance_set(cfg.instance_id);   /* checked with the file */
    int rc = fl_compact(&o, &st, &err);
    if (rc < 0) {
        fprintf(stderr, "flowlake " CMD ": %s\n", fl_err_msg(&err));
        fl_config_free(&cfg);
        return 1;
    }
    printf("compact%s: %llu hour%s compacted, %llu files -> %llu "
           "(%.1f MB -> %.1f MB), %llu records; %llu skipped (changed "
           "meanwhile); %llu hour%s expired (%llu files, %.1f MB); "
           "%llu retired folder%s removed; %.2f s\n",
           o.dry_run ? " (dry run)" : "",
           (unsigned long long)st.hours_compacted,
           st.hours_compacted == 1 ? "" : "s",
           (unsigned long long)st.files_before,
           (unsigned long long)st.files_after, st.bytes_before / 1e6,
           st.bytes_after / 1e6, (unsigned long long)st.records,
           (unsigned long long)st.hours_skipped,
           (unsigned long long)st.hours_expired,
           st.hours_expired == 1 ? "" : "s",
           (unsigned long long)st.files_expired, st.bytes_expired / 1e6,
           (unsigned long long)st.retired_removed,
           st.retired_removed == 1 ? "" : "s", st.seconds);
    fl_config_free(&cfg);
    return 0;
}
