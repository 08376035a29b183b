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

#endif /* FL_COMMANDS_H */
