/* SPDX-License-Identifier: MIT
 *
 * sqlrun.c -- the benchmarks' stand-in for the DuckDB shell: runs each
 * argument as SQL on an in-memory DuckDB (the same pinned libduckdb that
 * flowlake links), prints each result as tab-separated rows and the wall
 * time of each statement on stderr. The official `duckdb` CLI is not
 * packaged for Debian or npm; this is what "a user with DuckDB" runs.
 *
 * usage: sqlrun [--threads N] SQL ...
 */
#include "../src/core/fl_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "duckdb.h"

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
    duckdb_database db;
    duckdb_connection con;
    int first = 1;

    if (duckdb_open(NULL, &db) == DuckDBError || duckdb_connect(db, &con) == DuckDBError) {
        fprintf(stderr, "sqlrun: cannot open DuckDB\n");
        return 1;
    }
    if (argc > 2 && strcmp(argv[1], "--threads") == 0) {
        char sql[64];
        snprintf(sql, sizeof sql, "SET threads = %d", atoi(argv[2]));
        duckdb_query(con, sql, NULL);
        first = 3;
    }
    duckdb_query(con, "SET TimeZone = 'UTC'", NULL);
    for (int i = first; i < argc; i++) {
        duckdb_result res;
        double t0 = now();
        if (duckdb_query(con, argv[i], &res) == DuckDBError) {
            fprintf(stderr, "sqlrun: %s\n", duckdb_result_error(&res));
            duckdb_destroy_result(&res);
            return 1;
        }
        double t1 = now();
        idx_t cols = duckdb_column_count(&res), rows = duckdb_row_count(&res);
        for (idx_t r = 0; r < rows; r++) {
            for (idx_t c = 0; c < cols; c++) {
                char *v = duckdb_value_varchar(&res, c, r);
                printf("%s%s", c ? "\t" : "", v ? v : "NULL");
                duckdb_free(v);
            }
            putchar('\n');
        }
        fprintf(stderr, "sqlrun: %.3f s\n", t1 - t0);
        duckdb_destroy_result(&res);
    }
    duckdb_disconnect(&con);
    duckdb_close(&db);
    return 0;
}
