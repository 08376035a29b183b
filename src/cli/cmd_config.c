/* SPDX-License-Identifier: MIT
 *
 * cmd_config.c -- `flowlake config check FILE` and `flowlake config
 * defaults`: validate a configuration file, print every key at its default.
 */
#include "../core/fl_config.h"

#include <stdio.h>
#include <string.h>

#include "../alarm/alarm.h"
#include "../config/config.h"
#include "../core/fl_error.h"
#include "../server/metrics.h"
#include "../stream/plan.h"
#include "commands.h"

static const char usage_text[] =
"usage: flowlake config check FILE   report every problem in FILE, with its line\n"
"       flowlake config defaults     print a configuration file with every key\n"
"                                    at its default value, commented\n"
"\n"
"The configuration is an INI file: [section] headers, key = value lines,\n"
"comments starting with ; or #. Sizes take B, KiB, MiB, GiB (or KB, MB, GB);\n"
"durations take s, m, h, d. Every key is described in docs/config.md.\n"
"`check` also compiles the metrics (metrics.file, docs/metrics.md) and checks\n"
"every [alarm.NAME] section against them (docs/alarms.md).\n"
"\n"
"Exit status: 0 valid, 1 problems found (or unreadable), 2 usage.\n";


/* The metrics (built-in and metrics.file) compile, and every alarm is
 * well formed and names a metric that exists with exactly its
 * dimensions: what `serve` would refuse to start with. */
static int
check_metrics_and_alarms(const struct fl_config *cfg)
{
    struct fl_metric_plans plans = { 0 };
    struct fl_alarm_def *defs = NULL;
    size_t n = 0;
    char err[1024] = "";
    int rc = fl_metrics_compile(cfg, &plans, err, sizeof err);
    if (rc == 0 && cfg->n_alarm_sections > 0)
        rc = fl_alarm_defs_from_config(cfg->alarm_sections,
                                       cfg->n_alarm_sections, &defs, &n, err,
                                       sizeof err);
    /* One alarm at a time, so that the message can name its section. */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char why[768];
        rc = fl_alarm_defs_check(&defs[i], 1, &plans, why, sizeof why);
        for (size_t k = 0; rc < 0 && k < cfg->n_alarm_sections; k++)
            if (strcmp(cfg->alarm_sections[k].name, defs[i].name) == 0)
                snprintf(err, sizeof err, "%s:%d: %s",
                         cfg->alarm_sections[k].file,
                         cfg->alarm_sections[k].line, why);
    }
    if (rc < 0)
        fprintf(stderr, "%s\n", err[0] ? err : fl_strerror(rc));
    fl_alarm_defs_free(defs, n);
    fl_plan_free(&plans);
    return rc;
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
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.msg[i]);
    if (rc < 0 && errs.n == 0)
        fprintf(stderr, "flowlake config: %s: %s\n", path, fl_strerror(rc));
    if (rc == 0)
        rc = check_metrics_and_alarms(&cfg);
    if (rc == 0)
        printf("%s: ok\n", path);
    fl_config_errors_free(&errs);
    fl_config_free(&cfg);
    return rc == 0 ? 0 : 1;
}


int
fl_cmd_config(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0
                      || strcmp(argv[1], "-h") == 0)) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "check") == 0)
        return check(argv[2]);
    if (argc == 2 && strcmp(argv[1], "defaults") == 0) {
        struct fl_config cfg;
        if (fl_config_init(&cfg) < 0)
            return 1;
        fl_config_write(&cfg, stdout);
        fl_config_free(&cfg);
        return 0;
    }
    fputs(usage_text, stderr);
    return 2;
}
