/* SPDX-License-Identifier: MIT
 *
 * fl_sql.h -- SQL text for the modules that build statements for DuckDB
 * (convert, compaction, the metric cache): a value as a string literal.
 */
#ifndef FL_SQL_H
#define FL_SQL_H

#include "fl_buf.h"

/* Appends s as a SQL string literal: in single quotes, each ' doubled.
 * Returns 0 or b's error. */
int   fl_sql_add_literal(struct fl_buf *b, const char *s);

/* s as a SQL string literal in a new string (fl_free); NULL when out of
 * memory. */
char *fl_sql_literal(const char *s);

#endif /* FL_SQL_H */
