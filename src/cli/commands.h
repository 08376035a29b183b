/* SPDX-License-Identifier: MIT
 *
 * commands.h -- the subcommands of the flowlake binary. Each takes the
 * arguments after its own name (argv[0] is the subcommand name) and returns
 * the process exit status: 0 success, 1 failure, 2 usage error.
 */
#ifndef FL_COMMANDS_H
#define FL_COMMANDS_H

int fl_cmd_convert(int argc, char **argv);
int fl_cmd_query(int argc, char **argv);
int fl_cmd_generate(int argc, char **argv);
int fl_cmd_config(int argc, char **argv);
int fl_cmd_serve(int argc, char **argv);
int fl_cmd_wal_check(int argc, char **argv);
int fl_cmd_ddl(int argc, char **argv);
int fl_cmd_compact(int argc, char **argv);
int fl_cmd_upload(int argc, char **argv);
int fl_cmd_metrics(int argc, char **argv);

struct fl_config;
struct fl_config_errors;

/* Every check `serve` makes of a loaded configuration before it starts
 * (cmd_config.c): fl_config_check(), the write-ahead-log record size
 * against server.max_line, query.memory_limit as DuckDB takes it, the
 * metrics and the alarms. Adds every problem to errs and leaves errs
 * sorted by file and line (fl_config_errors_sort). Returns 0,
 * FL_ECONFIG or FL_ENOMEM. */
int fl_cmd_config_check(const struct fl_config *cfg,
                        struct fl_config_errors *errs);

#endif /* FL_COMMANDS_H */
