/* SPDX-License-Identifier: MIT
 *
 * fl_log.h -- the server's event log: one line per event on stderr, with
 * its UTC time, its level and the component it comes from, as text
 *
 *     2026-12-05T21:40:00.123Z INFO  publish: 300000 records in 3 files
 *
 * or as one JSON object per line (server.log_format = json)
 *
 *     {"time":"2026-12-05T21:40:00.123Z","level":"info",
 *      "component":"publish","msg":"300000 records in 3 files"}
 *
 * so that an operator can read it and a log shipper can parse it.
 * docs/logging.md lists the events.
 *
 * Errors that stop a command before it runs (bad flags, a bad
 * configuration) are not events: commands print those plainly.
 * `flowlake serve` configures text or JSON at start; other commands leave
 * the plain form (see fl_log_configure).
 *
 * Thread: fl_log_configure once, before any thread logs (the format and
 * level are process-wide, like stderr itself); fl_log from any thread --
 * each line is written with one write(2), so lines never interleave.
 */
#ifndef FL_LOG_H
#define FL_LOG_H

#include "fl_compiler.h"

enum fl_log_level {
    FL_LOG_DEBUG = 0,
    FL_LOG_INFO,
    FL_LOG_WARN,
    FL_LOG_ERROR,
};

enum fl_log_format {
    FL_LOG_PLAIN = 0,   /* "flowlake: message": a command's own stderr */
    FL_LOG_TEXT,
    FL_LOG_JSON,
};

/* Maps the configuration's words ("text"/"json", "debug"/"info"/"warn"/
 * "error") to the enums; returns 0, or -1 for an unknown word. */
int  fl_log_format_parse(const char *word, enum fl_log_format *out);
int  fl_log_level_parse(const char *word, enum fl_log_level *out);

/* Sets the format and the lowest level written. Until it is called the
 * format is FL_LOG_PLAIN and the level info: code shared by a command
 * (`convert`) and the server logs through here, and a command's user sees
 * "flowlake: ..." lines with no time or level, as from any other CLI. */
void fl_log_configure(enum fl_log_format format, enum fl_log_level min);

/* Whether a line of this level would be written (to skip building one). */
int  fl_log_enabled(enum fl_log_level level);

/* Writes one event. component: a short word ("publish", "firehose",
 * "alarm", ...). The message is cut at 4 KiB; bytes that are not valid
 * UTF-8 are written as U+FFFD in JSON. */
void fl_log(enum fl_log_level level, const char *component,
            const char *fmt, ...) FL_PRINTF(3, 4);

#endif
