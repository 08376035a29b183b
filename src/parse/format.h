/* SPDX-License-Identifier: MIT
 *
 * format.h -- flow log line formats: which field is at which position.
 *
 * A format comes from one of three places:
 *   - the default v2 format (14 fields,
 *     https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html);
 *   - a custom format string in AWS syntax: "${version} ${vpc-id} ...";
 *   - the header line AWS writes at the top of S3-delivered text files:
 *     "version account-id interface-id ..." (bare names, space separated).
 * Field names are looked up in fields.h by AWS or SQL spelling; a name that
 * is not a known field is kept as an extra text column, not an error.
 *
 * Formats are immutable once built and may be shared by parser threads.
 * They are created with fl_format_default/parse/from_header and released
 * with fl_format_destroy. On failure the creators return <0, leave *out
 * untouched and leak nothing.
 */
#ifndef FL_FORMAT_H
#define FL_FORMAT_H

#include <stddef.h>

#include "fields.h"

/* Most fields a format may have; AWS has 40 today, leave room to grow. */
#define FL_FORMAT_MAX_FIELDS 128
/* Longest field name accepted in a format or header. */
#define FL_FORMAT_MAX_NAME 64

struct fl_format {
    size_t  n;            /* fields per line */
    int    *field;        /* per position: fl_field_id, or -1 when unknown */
    char  **name;         /* per position: the name as written (owned) */
    int     version;      /* highest flow-log version among known fields */
};

/* Error detail filled by the parsers of this module and of line.h. */
struct fl_parse_err {
    unsigned long long line;  /* 1-based line number, 0 when not known */
    int   field;              /* 1-based field position, 0 when whole line */
    char  reason[160];
};

int  fl_format_default(struct fl_format **out);

/* Parses an AWS format string ("${a} ${b} ..."). Errors (empty string,
 * missing "${" or "}", empty or over-long name, too many fields, a name
 * given twice) return FL_ECONFIG with err->reason filled. */
int  fl_format_parse(const char *spec, struct fl_format **out,
                     struct fl_parse_err *err);

/* True when line (without its newline) looks like an S3 header line: every
 * token is a bare field name ([a-z][a-z0-9_-]*) and at least one of them is
 * a known field. Data lines always carry digits in their leading fields. */
int  fl_format_is_header(const char *line, size_t len);

/* Builds a format from a header line (see fl_format_is_header). */
int  fl_format_from_header(const char *line, size_t len,
                           struct fl_format **out, struct fl_parse_err *err);

/* A header line met among the data lines (concatenated S3 objects repeat
 * theirs). Returns 0 when line is not a header line; 1 when it names the
 * same fields as cur, in the same order (any case): the caller skips it;
 * 2 when it names others, with reason filled (for a caller that keeps one
 * format per input; convert and the server switch to the line's format
 * when fl_format_from_header takes it). No allocation. */
int  fl_format_header_line(const struct fl_format *cur, const char *line,
                           size_t len, char *reason, size_t reason_cap);

/* A format string in AWS syntax for fmt; caller frees with fl_free(). */
char *fl_format_to_string(const struct fl_format *fmt);

void fl_format_destroy(struct fl_format *fmt);

#endif /* FL_FORMAT_H */
