/* SPDX-License-Identifier: MIT
 *
 * fuzz_sqllex.c -- libFuzzer target for src/query/sqllex.c, the lexer the
 * SQL sandbox uses to split a script into statements for its messages and
 * to find the statement an EXPLAIN wraps. Checks: the split terminates,
 * its pieces lie inside the input, in order, do not overlap and are not
 * empty; the EXPLAIN rest lies inside the input; a description is always
 * NUL-terminated within its buffer.
 *
 * sqllex.c is included rather than linked because the libFuzzer build
 * leaves src/query/ (DuckDB) out; the file itself needs no DuckDB.
 */
#include "../src/core/fl_config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/query/sqllex.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    size_t pos = 0, start, len, end = 0, n = 0;
    const char *rest = NULL;
    char name[24];

    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    size_t slen = strlen(s);             /* SQL text ends at a NUL */

    while (fl_query_sql_next(s, &pos, &start, &len)) {
        if (start < end || len == 0 || start + len > slen || pos > slen
            || pos < start + len || ++n > slen)
            abort();
        end = start + len;
        fl_query_sql_describe(s + start, name, sizeof name);
        if (memchr(name, '\0', sizeof name) == NULL)
            abort();
    }
    if (fl_query_sql_explain(s, &rest) != 0
        && (rest < s || rest > s + slen))
        abort();
    free(s);
    return 0;
}
