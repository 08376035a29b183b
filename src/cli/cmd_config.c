/* SPDX-License-Identifier: MIT
 *
 * cmd_config.c -- `flowlake config check FILE` and `flowlake config
 * defaults`: validate a configuration file, print every key at its default.
 *
 * fl_cmd_config_check() is every check `serve` makes of its configuration
 * before it starts, and `serve` calls it too: what `config check` says ok
 * is what `serve` starts with, and what it refuses `serve` refuses with
 * the same messages.
 */
#include "../core/fl_config.h"

#include <stdio.h>
#include <string.h>

#include "../alarm/alarm.h"
#include "../config/config.h"
#include "../core/fl_error.h"
#include "../query/query.h"
#include "../metrics/metrics.h"
#include "../server/server.h"
#include "../stream/plan.h"
#include "../wal/wal.h"
#include "cli.h"
#include "commands.h"

static const char usage_text[] =
"usage: flowlake config check FILE   report every problem in FILE, with its line\n"
"       flowlake config defaults     print a configuration file with every key\n"
"                                    at its default value, commented\n"
"\n"
"options (of config, config check, config defaults):\n"
"  -h, --help      this text\n"
"  --version       the version of flowlake\n"
"  --              the next argument is FILE even if it starts with -\n"
"\n"
"The configuration is an INI file: [section] headers, key = value lines,\n"
"comments starting with ; or #. Sizes take B, KiB, MiB, GiB (or KB, MB, GB);\n"
"durations take s, m, h, d. Every key is described in docs/config.md.\n"
"`check` makes every check `serve` makes at start: values and ranges; files\n"
"named (server.tls_cert, server.tls_key, metrics.file) are readable regular\n"
"files; folders (archive.dir, wal.dir) are writable or can be created;\n"
"watch.dir, if it exists, is a readable folder; tls_cert and tls_key come\n"
"together; query.memory_limit is accepted by DuckDB; the metrics compile\n"
"(docs/metrics.md) and every [alarm.NAME] section fits them (docs/alarms.md).\n"
"Every problem is listed, with FILE:LINE when the value came from FILE.\n"
"FILE must be a regular file of at most 1 MiB; a FIFO or a device is\n"
"refused at once.\n"
"\n"
"Exit status: 0 valid, 1 problems found (or unreadable), 2 usage.\n";


/* The metrics (built-in and metrics.file) compile, and every alarm is
 * well formed and names a metric that exists with exactly its
 * dimensions: what `serve` would refuse to start with. Every bad key of
 * every alarm section is listed, like the keys of the other sections;
 * the alarms are held against the metrics once their keys are good. */
static int
check_metrics_and_alarms(const struct fl_config *cfg,
                         struct fl_config_errors *errs)
{
    struct fl_metric_plans plans = { 0 };
    struct fl_alarm_def *defs = NULL;
    size_t n = 0;
    struct fl_err err = FL_ERR_INIT;
    int keys_rc = fl_alarm_config_check(cfg, errs);
    if (keys_rc == FL_ENOMEM)
        return FL_ENOMEM;
    int rc = fl_metrics_compile(cfg, &plans, &err);
    if (rc == 0 && keys_rc < 0) {
        fl_plan_free(&plans);
        return keys_rc;
    }
    if (rc == 0 && cfg->n_alarm_sections > 0)
        rc = fl_alarm_defs_from_config(cfg->alarm_sections,
                                       cfg->n_alarm_sections, &defs, &n,
                                       &err);
    /* One alarm at a time, so that the message can name its section. */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct fl_err why = FL_ERR_INIT;
        rc = fl_alarm_defs_check(&defs[i], 1, &plans, &why);
        for (size_t k = 0; rc < 0 && k < cfg->n_alarm_sections; k++)
            if (strcmp(cfg->alarm_sections[k].name, defs[i].name) == 0)
                fl_err_set(&err, rc, "%s:%d: %s",
                           cfg->alarm_sections[k].file,
                           cfg->alarm_sections[k].line, why.msg);
    }
    if (rc < 0 && fl_config_errors_add(errs, cfg, NULL, "%s",
                                       err.msg[0] ? err.msg
                                                  : fl_strerror(rc)) < 0)
        rc = FL_ENOMEM;
    fl_alarm_defs_free(defs, n);
    fl_plan_free(&plans);
    return rc;
}


int
fl_cmd_config_check(const struct fl_config *cfg,
                    struct fl_config_errors *errs)
{
    size_t before = errs->n;
    char err[1024];
    int rc;

    /* Files, folders, keys that go together. */
    if ((rc = fl_config_check(cfg, errs)) == FL_ENOMEM)
        return rc;

    /* The listening address, the keys, the connection limits. */
    if (fl_http_check_config(cfg, errs) == FL_ENOMEM)
        return FL_ENOMEM;

    /* A write-ahead-log record (at most half a segment) must hold a line
     * with its header, format and source description (pipeline/recover.c). */
    uint64_t max_record = cfg->wal_segment_size / 2;
    if (max_record > FL_WAL_DEFAULT_MAX_RECORD)
        max_record = FL_WAL_DEFAULT_MAX_RECORD;
    if (max_record < cfg->max_line + 16384
        && fl_config_errors_add(errs, cfg, "wal.segment_size",
               "wal.segment_size %llu is too small for server.max_line "
               "%llu: a write-ahead-log record (at most half a segment) "
               "must hold a line; raise wal.segment_size to at least %llu",
               (unsigned long long)cfg->wal_segment_size,
               (unsigned long long)cfg->max_line,
               (unsigned long long)(2 * (cfg->max_line + 16384))) < 0)
        return FL_ENOMEM;

    /* As DuckDB will take it when the first query runs. */
    rc = fl_query_check_memory_limit(cfg->query_memory_limit, err,
                                     sizeof err);
    if (rc == FL_ENOMEM)
        return rc;
    if (rc < 0 && fl_config_errors_add(errs, cfg, "query.memory_limit", "%s",
                                       err) < 0)
        return FL_ENOMEM;

    /* The metrics file is read only once it is known to be a regular file
     * (a FIFO would block the read); its problem is already listed. */
    if (cfg->metrics_file[0] == '\0'
        || fl_config_check_file(cfg->metrics_file, 0, err, sizeof err) == 0) {
        if (check_metrics_and_alarms(cfg, errs) == FL_ENOMEM)
            return FL_ENOMEM;
    }
    int found = errs->n > before;
    fl_config_errors_sort(errs);
    return found ? FL_ECONFIG : FL_OK;
}


static int
check(const char *path)
{
    struct fl_config cfg;
    struct fl_config_errors errs = { 0 };
    int rc = fl_config_init(&cfg);
    if (rc < 0) {
        fprintf(stderr, "flowlake config: %s\n", fl_strerror(rc));
        return 1;
    }
    rc = fl_config_load(&cfg, path, &errs);
    /* Values the file got wrong keep their defaults: the checks below
     * still run, so that one pass lists every problem. */
    if (rc == 0 || rc == FL_ECONFIG) {
        int crc = fl_cmd_config_check(&cfg, &errs);
        if (crc == FL_ENOMEM || rc == 0)
            rc = crc;
    }
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.msg[i]);
    if (rc < 0 && errs.n == 0)
        fprintf(stderr, "flowlake config: %s: %s\n", path, fl_strerror(rc));
    if (rc == 0)
        printf("%s: ok\n", path);
    fl_config_errors_free(&errs);
    fl_config_free(&cfg);
    return rc == 0 ? 0 : 1;
}


/* Every key at its default: the sections, then an [alarm.NAME] section
 * with every alarm key, commented out (there is no alarm by default, and
 * its required keys have no default to load). */
static int
defaults(void)
{
    struct fl_config cfg;
    size_t n;
    const struct fl_config_map *alarm = fl_alarm_config_map(&n);
    int rc = fl_config_init(&cfg);
    if (rc < 0) {
        fprintf(stderr, "flowlake config: %s\n", fl_strerror(rc));
        return 1;
    }
    fl_config_write(&cfg, stdout);
    fl_config_free(&cfg);
    printf("\n# [alarm.NAME]: one section per alarm, none by default "
           "(docs/alarms.md).\n"
           "# Every key, at its default; remove the '#' of the lines of "
           "an alarm's keys.\n");
    fl_config_map_write(alarm, n, 1, stdout);
    return ferror(stdout) || fflush(stdout) != 0 ? 1 : 0;
}


int
fl_cmd_config(int argc, char **argv)
{
    /* Messages say "flowlake config: ..." whichever the subcommand, as
     * those of `config check` always have; its --help is config's. */
    const char *sub = NULL, *cmd = "config", *pos[2] = { NULL, NULL };
    int npos = 0, opts_done = 0, first = 1;

    /* The subcommand comes first; options may follow it or stand alone
     * (`config --help`). */
    if (argc >= 2 && argv[1][0] != '-') {
        sub = argv[1];
        first = 2;
        if (strcmp(sub, "check") != 0 && strcmp(sub, "defaults") != 0)
            return fl_cli_usage_error(cmd, "unknown command '%s' (check or "
                                      "defaults)", sub);
    }
    /* Every option is looked at before anything runs: --help anywhere
     * wins, and an unknown one is a usage error, never a FILE name. */
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (!opts_done && a[0] == '-' && a[1] != '\0') {
            if (strcmp(a, "--") == 0)
                opts_done = 1;
            else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
                return fl_cli_help(usage_text);
            else if (strcmp(a, "--version") == 0)
                return fl_cli_version();
            else
                return fl_cli_unknown_option(cmd, a);
            continue;
        }
        if (npos < 2)
            pos[npos] = a;
        npos++;
    }
    if (sub == NULL)
        return fl_cli_usage_error(cmd, "missing command: check FILE or "
                                  "defaults");
    if (strcmp(sub, "defaults") == 0) {
        if (npos > 0)
            return fl_cli_usage_error(cmd, "defaults: unexpected argument "
                                      "'%s'", pos[0]);
        return defaults();
    }
    if (npos == 0)
        return fl_cli_usage_error(cmd, "check: missing FILE");
    if (npos > 1)
        return fl_cli_usage_error(cmd, "check: one FILE only ('%s' and "
                                  "'%s')", pos[0], pos[1]);
    return check(pos[0]);
}
