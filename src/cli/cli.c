/* SPDX-License-Identifier: MIT
 *
 * cli.c -- the command-line convention of every flowlake command (see
 * cli.h): --help, --version, the message prefix and the one wording of
 * a usage error, written once so that the commands cannot drift apart.
 */
#include "../core/fl_config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../config/config.h"
#include "../core/fl_error.h"
#include "../core/fl_fs.h"
#include "cli.h"


int
fl_cli_version(void)
{
    printf("flowlake %s\n", FL_VERSION);
    return fflush(stdout) == 0 ? 0 : 1;
}


int
fl_cli_help(const char *usage_text)
{
    fputs(usage_text, stdout);
    return fflush(stdout) == 0 ? 0 : 1;
}


int
fl_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (cmd == NULL)            /* flowlake itself, before a command */
        fprintf(stderr, "flowlake: %s\nRun 'flowlake --help' for the "
                "commands.\n", msg);
    else
        fprintf(stderr, "flowlake %s: %s\nRun 'flowlake %s --help' for the "
                "options.\n", cmd, msg, cmd);
    return FL_CLI_USAGE;
}


int
fl_cli_unknown_option(const char *cmd, const char *opt)
{
    return fl_cli_usage_error(cmd, "unknown option '%s'", opt);
}


int
fl_cli_missing_value(const char *cmd, const char *opt)
{
    return fl_cli_usage_error(cmd, "option '%s' needs a value", opt);
}


int
fl_cli_getopt_error(const char *cmd, int c, char **argv,
                    const struct option *longopts)
{
    char shortopt[3] = "-?";
    const char *opt = argv[optind - 1];

    /* "--strict=1" for an option without a value: getopt gives '?' with
     * the option's val in optopt; say what is wrong with it. */
    if (c == '?' && optopt != 0 && strncmp(opt, "--", 2) == 0) {
        size_t n = strcspn(opt + 2, "=");
        for (const struct option *o = longopts; o && o->name != NULL; o++)
            if (o->has_arg == no_argument && o->flag == NULL
                && o->val == optopt && strlen(o->name) == n
                && strncmp(o->name, opt + 2, n) == 0 && opt[2 + n] == '=')
                return fl_cli_usage_error(cmd, "option '--%s' takes no "
                                          "value", o->name);
    }
    /* A long option is the argument getopt just stepped over (an unknown
     * one leaves optopt 0). A short one is named by optopt: it may sit in
     * a group such as -Zq, which getopt has not stepped over yet. A long
     * option without its value gives its val in optopt, which may be a
     * letter too (--output is -o): argv tells which was typed. */
    int is_long = c == ':' ? strncmp(opt, "--", 2) == 0 : optopt == 0;
    if (!is_long && optopt > 0 && optopt < 128) {
        shortopt[1] = (char)optopt;
        opt = shortopt;
    }
    if (c == ':')
        return fl_cli_missing_value(cmd, opt);
    return fl_cli_unknown_option(cmd, opt);
}


int
fl_cli_load_config(const char *cmd, struct fl_config *cfg, const char *path)
{
    struct fl_config_errors errs = { 0 };
    int rc = fl_config_load(cfg, path, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "flowlake %s: %s\n", cmd, errs.msg[i]);
    fl_config_errors_free(&errs);
    if (rc < 0 && rc != FL_ECONFIG)
        fprintf(stderr, "flowlake %s: %s: %s\n", cmd, path, fl_strerror(rc));
    if (rc < 0)
        return rc == FL_ECONFIG ? FL_CLI_USAGE : 1;
    return FL_CLI_GO_ON;
}


int
fl_cli_config_pass(const char *cmd, int argc, char **argv,
                   const struct option *longopts, int config_opt,
                   int version_opt, const char *usage_text,
                   struct fl_config *cfg, int operands)
{
    const char *config = NULL;
    int c, rc = FL_CLI_GO_ON;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c == config_opt)
            config = optarg;
        else if (c == 'h')
            return fl_cli_help(usage_text);
        else if (c == version_opt)
            return fl_cli_version();
        else if (c == '?' || c == ':')
            return fl_cli_getopt_error(cmd, c, argv, longopts);
    }
    if (optind < argc && !operands)
        return fl_cli_usage_error(cmd, "unexpected argument '%s'",
                                  argv[optind]);
    if (config != NULL)
        rc = fl_cli_load_config(cmd, cfg, config);
    optind = 1;
    return rc;
}


int
fl_cli_read_key(const char *cmd, const char *path, char **out)
{
    size_t len = 0;
    char *key = NULL;
    int rc = fl_fs_read_file(path, 64 * 1024, &key, &len);
    if (rc < 0) {
        fprintf(stderr, "flowlake %s: %s: %s\n", cmd, path,
                rc == FL_ETOOBIG ? "larger than 64 KiB, not a key"
                                 : fl_strerror(rc));
        return rc;
    }
    while (len > 0 && (key[len - 1] == '\n' || key[len - 1] == '\r'))
        key[--len] = '\0';
    *out = key;
    return FL_OK;
}
