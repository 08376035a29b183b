/* SPDX-License-Identifier: MIT
 *
 * query_check.h -- running SQL in the unit tests of the query layer
 * (test_live.c, test_query.c, test_metric_store.c) and comparing what it
 * printed:
 *
 *   run(q, sql, fmt)              the output of sql in format fmt (free() it);
 *                                 a failing query fails the test
 *   run_csv(q, sql)               the same in CSV
 *   check_run(q, sql, fmt, want)  the output must be exactly want
 *   check_csv(q, sql, want)       the same in CSV
 *   check_value(q, sql, want)     one value: the CSV without its header
 *                                 line and the trailing newline
 *
 * Header-only (static functions), like harness.h: each test is built from
 * its one .c file.
 */
#ifndef FL_TEST_QUERY_CHECK_H
#define FL_TEST_QUERY_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "query/query.h"

/* Runs sql and returns what it printed (free() it). Not inlined: inlined
 * into check_value, GCC takes the stream's pointer to the local buf for a
 * dangling one (-Wdangling-pointer). */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static char * FL_TEST_MAYBE_UNUSED
run(struct fl_query *q, const char *sql, enum fl_output fmt)
{
    char *buf = NULL;
    size_t len = 0;
    char *err = NULL;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f != NULL);
    int rc = fl_query_run(q, sql, fmt, f, &err);
    CHECK(fclose(f) == 0);
    if (rc != 0) {
        fprintf(stderr, "  fl_query_run = %d: %s\n  sql: %s\n", rc,
                err ? err : "?", sql);
        exit(1);
    }
    CHECK(err == NULL);
    return buf;
}


/* Runs sql and returns its CSV output (free() it). */
static inline char *
run_csv(struct fl_query *q, const char *sql)
{
    return run(q, sql, FL_OUTPUT_CSV);
}


static inline void
check_run(struct fl_query *q, const char *sql, enum fl_output fmt,
          const char *want)
{
    char *got = run(q, sql, fmt);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "  %s\n    got:\n%s\n    want:\n%s\n", sql, got, want);
        exit(1);
    }
    free(got);
}


static inline void
check_csv(struct fl_query *q, const char *sql, const char *want)
{
    check_run(q, sql, FL_OUTPUT_CSV, want);
}


/* One value as CSV text without the header (the trailing newline cut). */
static inline void
check_value(struct fl_query *q, const char *sql, const char *want)
{
    char *got = run(q, sql, FL_OUTPUT_CSV);
    char *body = strchr(got, '\n');
    CHECK(body != NULL);
    body++;
    size_t n = strlen(body);
    if (n > 0 && body[n - 1] == '\n')
        body[n - 1] = '\0';
    if (strcmp(body, want) != 0) {
        fprintf(stderr, "  %s\n    got:  '%s'\n    want: '%s'\n", sql, body,
                want);
        exit(1);
    }
    free(got);
}

#endif /* FL_TEST_QUERY_CHECK_H */
