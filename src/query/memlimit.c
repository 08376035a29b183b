/* SPDX-License-Identifier: MIT
 *
 * memlimit.c -- checks a query.memory_limit value the way the queries
 * will use it: by asking DuckDB. DuckDB's own parser decides what it
 * accepts (1GB, 512MiB, "1.5 GB", -1 ...; not "80%", not a bare number),
 * so a rule of ours could only drift from it; a value it refuses would
 * make every query over HTTP fail (fl_query_sandbox() sets it), so
 * `config check` and `serve` refuse it at start instead.
 */
#include "../core/fl_config.h"

#include <duckdb.h>
#include <stdio.h>
#include <string.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "query.h"
#include "query_int.h"


int
fl_query_check_memory_limit(const char *value, char *err, size_t errlen)
{
    duckdb_database db = NULL;
    duckdb_connection con = NULL;
    duckdb_result res;
    struct fl_buf sql = { 0 };
    int rc = FL_OK;

    /* The same statement as fl_query_sandbox(): a quoted literal with its
     * quotes doubled, so the value cannot end the statement. */
    fl_buf_adds(&sql, "SET memory_limit = '");
    for (const char *p = value; *p; p++) {
        if (*p == '\'')
            fl_buf_addc(&sql, '\'');
        fl_buf_addc(&sql, *p);
    }
    fl_buf_adds(&sql, "'");
    if (sql.err) {
        fl_buf_free(&sql);
        return FL_ENOMEM;
    }
    if (duckdb_open(NULL, &db) == DuckDBError
        || duckdb_connect(db, &con) == DuckDBError) {
        snprintf(err, errlen, "cannot start DuckDB to check it");
        rc = FL_EDB;
        goto out;
    }
    if (duckdb_query(con, sql.p, &res) == DuckDBError) {
        const char *why = duckdb_result_error(&res);
        /* The first line only: DuckDB appends hints on further lines. */
        int n = why ? (int)strcspn(why, "\n") : 0;
        snprintf(err, errlen, "'%s' is not a memory limit DuckDB accepts "
                 "(a size such as 512MB, 4GB or 2GiB); DuckDB says: %.*s",
                 value, n, why ? why : "");
        rc = FL_ECONFIG;
    }
    duckdb_destroy_result(&res);
out:
    if (con != NULL)
        duckdb_disconnect(&con);
    if (db != NULL)
        duckdb_close(&db);
    fl_buf_free(&sql);
    return rc;
}
