/* SPDX-License-Identifier: MIT
 *
 * cli.h -- the one convention every flowlake command and subcommand
 * follows on its command line (cli.c), so that scripts and people meet
 * the same behaviour whichever command they run:
 *
 *   -h, --help     the command's usage on stdout, exit 0
 *   --version      "flowlake VERSION" on stdout, exit 0
 *   messages       on stderr, each starting "flowlake CMD: "
 *   usage errors   (an unknown option, an option without its value, a
 *                  bad option value, a missing or extra argument) one line
 *                    flowlake CMD: unknown option '--bogus'
 *                    flowlake CMD: option '--archive' needs a value
 *                    flowlake CMD: <what is wrong>
 *                  then "Run 'flowlake CMD --help' for the options.",
 *                  exit 2 (FL_CLI_USAGE), as every --help says.
 *
 * CMD is what the user typed after "flowlake": "query", "config check".
 */
#ifndef FL_CLI_H
#define FL_CLI_H

#include <stddef.h>

#include "../core/fl_compiler.h"

#define FL_CLI_USAGE 2

/* Returned by a step of a command's setup (parsing, loading) that lets
 * the command go on; any other value is the exit status to end with. No
 * exit status is negative, so the two cannot be confused. */
#define FL_CLI_GO_ON (-1)

/* Prints the version line on stdout; returns 0 (1 if stdout failed). */
int  fl_cli_version(void);

/* Prints the usage text on stdout; returns 0 (1 if stdout failed). */
int  fl_cli_help(const char *usage_text);

/* "flowlake CMD: <message>" and the --help hint on stderr; returns
 * FL_CLI_USAGE. cmd NULL: flowlake itself ("flowlake: <message>"). */
int  fl_cli_usage_error(const char *cmd, const char *fmt, ...)
    FL_PRINTF(2, 3);

/* The usage error for an option that does not exist; opt as typed
 * ("--bogus", "--bogus=1", "-x"). */
int  fl_cli_unknown_option(const char *cmd, const char *opt);

/* The usage error for an option given without its value. */
int  fl_cli_missing_value(const char *cmd, const char *opt);

/* For getopt_long() run with opterr = 0 and an optstring starting with
 * ':': the usage error for what it returned as '?' (an unknown option, or
 * a value given to one that takes none) or ':' (a missing value), naming
 * the option as the user typed it. longopts: the table it was given. */
struct option;
int  fl_cli_getopt_error(const char *cmd, int c, char **argv,
                         const struct option *longopts);

struct fl_config;

/* The first of the two getopt_long passes of a command whose flags apply
 * over a configuration file (the file first, whatever the order of the
 * flags): answers -h/--help (usage_text) and --version (the option whose
 * value is version_opt), refuses unknown options, missing values and --
 * unless operands is set -- arguments that are not options, and loads the
 * file of the option config_opt into cfg (fl_cli_load_config). Leaves
 * optind at 1 for the second pass. Returns FL_CLI_GO_ON, or the exit
 * status. */
int  fl_cli_config_pass(const char *cmd, int argc, char **argv,
                        const struct option *longopts, int config_opt,
                        int version_opt, const char *usage_text,
                        struct fl_config *cfg, int operands);

/* Loads the configuration file path into cfg (already initialised),
 * printing every problem as "flowlake CMD: FILE:LINE: ...". Returns
 * FL_CLI_GO_ON, or the exit status: 2 for a bad file, 1 when it cannot be
 * read. */
int  fl_cli_load_config(const char *cmd, struct fl_config *cfg,
                        const char *path);

/* Reads a server key from path (at most 64 KiB, trailing newlines cut)
 * into *out (fl_free). Prints "flowlake CMD: PATH: reason" and returns <0
 * when it cannot. */
int  fl_cli_read_key(const char *cmd, const char *path, char **out);

#endif /* FL_CLI_H */
