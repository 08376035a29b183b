/* SPDX-License-Identifier: MIT
 *
 * utf8.h -- checks that a field's bytes are text every Parquet reader
 * accepts: well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates,
 * nothing past U+10FFFF) and no control bytes (C0 and DEL). DuckDB, Spark
 * and Arrow refuse a whole file when one string in it is not UTF-8, so a
 * bad byte must stop at the parser, not reach the archive.
 */
#ifndef FL_UTF8_H
#define FL_UTF8_H

#include <stddef.h>

/* What fl_text_check found. */
enum fl_text_problem {
    FL_TEXT_OK = 0,
    FL_TEXT_BAD_UTF8,        /* a byte that cannot start or continue UTF-8 */
    FL_TEXT_CONTROL          /* 0x00-0x1f or 0x7f */
};

/* Checks s[0..len). Returns FL_TEXT_OK, or the problem with *off set to
 * the 0-based offset of the first offending byte. */
enum fl_text_problem fl_text_check(const char *s, size_t len, size_t *off);

/* Offset of the first byte of s[0..len) that is not part of well-formed
 * UTF-8, or len when all of it is (control bytes are allowed here). */
size_t fl_utf8_valid_prefix(const char *s, size_t len);

#endif /* FL_UTF8_H */
