/* SPDX-License-Identifier: MIT
 *
 * fuzz_tail_db.c -- libFuzzer target for the folder source's state file
 * (src/ingest/tail_db.c): any bytes parse to a db or a clean FL_ECORRUPT
 * naming a line; a parsed db is sorted, and its compacted dump parses back
 * to the same entries.
 */
#include "../src/core/fl_config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/fl_error.h"
#include "../src/core/fl_mem.h"
#include "../src/ingest/tail_db.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fl_tail_db db, again;
    struct fl_tail_db_err err;
    char *dump = NULL;
    size_t len = 0;

    memset(&db, 0, sizeof db);
    memset(&again, 0, sizeof again);
    int rc = fl_tail_db_parse((const char *)data, size, &db, &err);
    if (rc == FL_ECORRUPT && (err.line == 0 || err.reason[0] == '\0'))
        abort();
    if (rc == 0) {
        for (size_t i = 1; i < db.n; i++)
            if (db.v[i - 1].dev > db.v[i].dev
                || (db.v[i - 1].dev == db.v[i].dev
                    && db.v[i - 1].ino >= db.v[i].ino))
                abort();
        if (fl_tail_db_dump(&db, &dump, &len) == 0) {
            if (fl_tail_db_parse(dump, len, &again, &err) != 0
                || again.n != db.n || again.torn != 0)
                abort();
            for (size_t i = 0; i < db.n; i++)
                if (again.v[i].ino != db.v[i].ino
                    || again.v[i].offset != db.v[i].offset
                    || again.v[i].fp != db.v[i].fp
                    || again.v[i].pend_end != db.v[i].pend_end
                    || strcmp(again.v[i].path, db.v[i].path) != 0)
                    abort();
        }
    }
    fl_free(dump);
    fl_tail_db_free(&again);
    fl_tail_db_free(&db);
    return 0;
}
