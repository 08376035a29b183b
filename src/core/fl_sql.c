/* SPDX-License-Identifier: MIT
 *
 * fl_sql.c -- SQL string literals (see fl_sql.h).
 */
#include "fl_config.h"

#include <string.h>

#include "fl_sql.h"


int
fl_sql_add_literal(struct fl_buf *b, const char *s)
{
    fl_buf_addc(b, '\'');
    for (const char *q; (q = strchr(s, '\'')) != NULL; s = q + 1) {
        fl_buf_add(b, s, (size_t)(q - s) + 1);
        fl_buf_addc(b, '\'');
    }
    fl_buf_adds(b, s);
    return fl_buf_addc(b, '\'');
}


char *
fl_sql_literal(const char *s)
{
    struct fl_buf b = { 0 };
    fl_sql_add_literal(&b, s);
    return fl_buf_take(&b, NULL);
}
