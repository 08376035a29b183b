/* SPDX-License-Identifier: MIT
 *
 * fl_json.h -- writing JSON string literals, the one escaper of flowlake.
 *
 * Three ways of escaping are in use, because what reads the output
 * differs; each is a style here rather than a copy in its own file:
 *
 *   FL_JSON_STRICT  quote and backslash escaped, \n \r \t short; other
 *                   control bytes, DEL and every byte that is not part of
 *                   well-formed UTF-8 as \u00XX. Valid JSON whatever the
 *                   input: for raw lines that may be anything (rejects,
 *                   error messages quoting input).
 *   FL_JSON_DUCKDB  what DuckDB's to_json writes: quote and backslash
 *                   escaped, \n \r \t \b \f short, other C0 control bytes
 *                   as \u00XX, everything else as it is; for documents
 *                   that must be byte-identical to one DuckDB built.
 *   FL_JSON_MINIMAL quote and backslash escaped, every C0 control byte as
 *                   \u00XX, everything else as it is: for text known to be
 *                   UTF-8 (DuckDB's strings).
 *
 * \u00XX is written with lowercase hex in every style.
 */
#ifndef FL_JSON_H
#define FL_JSON_H

#include <stddef.h>

#include "fl_buf.h"

enum fl_json_style {
    FL_JSON_STRICT = 0,
    FL_JSON_DUCKDB,
    FL_JSON_MINIMAL
};

/* Writes s[0..len) to buf as a JSON string literal (with quotes) in the
 * FL_JSON_STRICT style; returns the bytes written, or 0 when cap is too
 * small (leaving 7 bytes spare at each input byte: the longest escape
 * and the closing quote). Never NUL-terminates. */
size_t fl_json_escape(char *buf, size_t cap, const char *s, size_t len);

/* Appends s[0..len) to b as a JSON string literal, with its quotes /
 * without them (for a caller assembling one string from pieces).
 * Returns 0 or b's error (fl_buf_add). */
int fl_json_add_str(struct fl_buf *b, const char *s, size_t len,
                    enum fl_json_style style);
int fl_json_add_escaped(struct fl_buf *b, const char *s, size_t len,
                        enum fl_json_style style);

#endif /* FL_JSON_H */
