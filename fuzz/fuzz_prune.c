/* SPDX-License-Identifier: MIT
 *
 * fuzz_prune.c -- fuzz target for the pruning analysis (src/query/prune.c):
 * any SQL text is parsed by DuckDB's parser and read for the hour folders
 * it can need, as fl_query_run does before each run. Checks: the result is
 * OK, a refusal with its message, or out of memory; the analysis is
 * well-formed (mode, conditions on year/month/day/hour with zero-padded
 * digits of the column's width, at most the limits); and what the folder
 * walk relies on: a parent folder (year, month, day) is kept whenever one
 * of its hours is, and a path is kept exactly when its four folder names
 * are.
 *
 * Needs DuckDB (the parser and the evaluation of constants), so `make
 * fuzz` builds it with the whole library (FUZZ_DUCKDB in the Makefile);
 * the session is opened once, over an empty archive folder.
 */
#include "../src/core/fl_config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../src/core/fl_error.h"
#include "../src/core/fl_mem.h"
#include "../src/query/query_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fl_query *session;
static char session_dir[] = "/tmp/flowlake-fuzz-prune-XXXXXX";

static void
close_session(void)
{
    fl_query_close(session);
    rmdir(session_dir);
}


static int
digits(const char *s, size_t width)
{
    if (strlen(s) != width)
        return 0;
    for (size_t i = 0; i < width; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}


/* The folder invariants for one hour (y, m, d, h), some possibly odd. */
static void
check_hour(const struct fl_prune *p, const char *y, const char *m,
           const char *d, const char *h)
{
    const char *const v[4] = { y, m, d, h };
    char path[128];

    int k3 = fl_prune_keep(p, 3, v);
    for (int depth = 0; depth < 3; depth++)
        if (k3 && !fl_prune_keep(p, depth, v))
            abort();
    snprintf(path, sizeof path,
             "/a/year=%s/month=%s/day=%s/hour=%s/part-0.parquet", y, m, d, h);
    if (fl_prune_keep_path(p, path) != k3)
        abort();
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int width[] = { 4, 2, 2, 2 };
    struct fl_prune *p;
    char *sql, *err = NULL;
    int rc;

    if (session == NULL) {
        if (mkdtemp(session_dir) == NULL
            || fl_query_open(session_dir, &session, &err) < 0) {
            fprintf(stderr, "fuzz_prune: cannot open a session: %s\n",
                    err ? err : "?");
            abort();
        }
        atexit(close_session);
    }
    if ((sql = fl_malloc(size + 1)) == NULL)
        return 0;
    memcpy(sql, data, size);
    sql[size] = '\0';
    if ((p = fl_malloc(sizeof *p)) == NULL) {
        fl_free(sql);
        return 0;
    }

    rc = fl_query_prune(session, sql, p, &err);
    if (rc == FL_EPARSE) {
        if (err == NULL || strstr(err, " is compared with '") == NULL)
            abort();
    } else if (rc == FL_OK) {
        if (err != NULL)
            abort();
        if (p->mode != FL_PRUNE_ALL && p->mode != FL_PRUNE_NONE
            && p->mode != FL_PRUNE_RANGE)
            abort();
        if (p->n > FL_PRUNE_MAX_CONDS)
            abort();
        for (size_t i = 0; i < p->n; i++) {
            const struct fl_prune_cond *c = &p->conds[i];
            if (c->col < 0 || c->col > 3 || c->n_vals < 1
                || c->n_vals > FL_PRUNE_MAX_IN)
                abort();
            for (int k = 0; k < c->n_vals; k++)
                if (!digits(c->vals[k], (size_t)width[c->col]))
                    abort();
        }
        /* Hours around the range's ends and the conditions' values, and
         * folder names the archive never writes. */
        check_hour(p, "2024", "02", "29", "23");
        check_hour(p, "1970", "01", "01", "00");
        check_hour(p, "2026", "12", "31", "23");
        check_hour(p, "20x4", "1", "", "07");
        for (size_t i = 0; i < p->n; i++) {
            const char *v = p->conds[i].vals[0];
            switch (p->conds[i].col) {
            case 0: check_hour(p, v, "06", "15", "12"); break;
            case 1: check_hour(p, "2025", v, "01", "00"); break;
            case 2: check_hour(p, "2025", "01", v, "00"); break;
            default: check_hour(p, "2025", "01", "01", v); break;
            }
        }
        if (p->mode == FL_PRUNE_RANGE && p->lo > INT64_MIN
            && p->lo < INT64_C(2000000000) && p->lo > -INT64_C(2000000000)) {
            /* The first hour of the range, as folder names. */
            time_t t = (time_t)(p->lo * 3600);
            struct tm tm;
            char y[16], mo[16], d[16], h[16];
            if (gmtime_r(&t, &tm) != NULL && tm.tm_year + 1900 >= 0
                && tm.tm_year + 1900 <= 9999) {
                snprintf(y, sizeof y, "%04d", tm.tm_year + 1900);
                snprintf(mo, sizeof mo, "%02d", tm.tm_mon + 1);
                snprintf(d, sizeof d, "%02d", tm.tm_mday);
                snprintf(h, sizeof h, "%02d", tm.tm_hour);
                check_hour(p, y, mo, d, h);
            }
        }
    } else if (rc != FL_ENOMEM) {
        abort();
    }
    fl_free(err);
    fl_free(p);
    fl_free(sql);
    return 0;
}
