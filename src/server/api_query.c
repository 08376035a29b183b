/* SPDX-License-Identifier: MIT
 *
 * api_query.c -- POST /api/query: SQL in, JSON (default), CSV or an
 * aligned table out, over one view of the archive plus the records that
 * are acknowledged but not yet published -- what makes data queryable
 * seconds after its 200 instead of after the buffer interval.
 *
 * Consistency: the handler holds the server's snapshot lock shared while
 * it copies the list of buffered and in-flight blocks and runs the query;
 * the publisher takes it exclusively to move blocks and to make its files
 * appear (server.c), so a record is counted once -- from the buffer or
 * from the archive, never both, never neither.
 *
 * vpc_flow_logs.metrics is consistent the same way: the metric store
 * commits under the same lock (metrics.c).
 *
 * Safety: the SQL comes from the network, so the session is sandboxed
 * (src/query/sandbox.c): SELECT/EXPLAIN only, decided from DuckDB's
 * parse before anything is bound; DuckDB may read only the archive files
 * listed (without following symlinks) under the snapshot lock;
 * query.memory_limit, query.timeout.
 */
#include "../core/fl_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../archive/convert.h"
#include "../archive/live.h"
#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "../query/query.h"
#include "metrics.h"
#include "server_int.h"

struct snapshot {
    struct fl_archive_block *blocks;
    size_t                   n, cap;
    int                      oom;
};


static void
add_block(void *ctx, const struct fl_buffer_block *blk)
{
    struct snapshot *sn = ctx;
    if (sn->oom)
        return;
    if (sn->n == sn->cap) {
        size_t ncap = sn->cap ? sn->cap * 2 : 64;
        struct fl_archive_block *p = fl_realloc(sn->blocks, ncap * sizeof *p);
        if (p == NULL) {
            sn->oom = 1;
            return;
        }
        sn->blocks = p;
        sn->cap = ncap;
    }
    sn->blocks[sn->n++] = (struct fl_archive_block) {
        .text = blk->text, .len = blk->len,
        .format_spec = blk->format, .source = blk->source,
    };
}


/* Whether sql can read vpc_flow_logs.metrics: only a statement that
 * names it does, so the in-memory values (one row per open group, which
 * can be millions) are copied into the session only then. */
static int
mentions_metrics(const char *sql)
{
    static const char word[] = "metrics";
    for (const char *p = sql; *p != '\0'; p++) {
        size_t i = 0;
        while (word[i] != '\0' && (p[i] | 0x20) == word[i])
            i++;
        if (word[i] == '\0')
            return 1;
    }
    return 0;
}


enum MHD_Result
fl_api_query(struct fl_server *s, struct MHD_Connection *c,
             struct request *req)
{
    const char *fmt_name = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                       "format");
    enum fl_output fmt = FL_OUTPUT_JSON;
    struct snapshot sn = { 0 };
    struct fl_live *live = NULL;
    struct fl_metric_row *rows = NULL;
    size_t n_rows = 0;
    struct fl_query *q = NULL;
    struct fl_query_files files = { 0 };
    char *sql = NULL, *err = NULL, *out = NULL;
    size_t out_len = 0;
    FILE *f = NULL;
    enum MHD_Result ret;
    int rc;

    if (fmt_name != NULL && fl_query_output_parse(fmt_name, &fmt) < 0)
        return fl_http_reply_error(c, 400, "format must be json, csv or table");
    if (req->len == 0)
        return fl_http_reply_error(c, 400, "the request body must be the SQL to run");
    if ((sql = fl_strndup(req->body, req->len)) == NULL)
        return fl_http_reply_error(c, 503, "out of memory");

    pthread_rwlock_rdlock(&s->snap_lock);
    for (const struct fl_buffer_block *b = s->inflight; b; b = b->next)
        add_block(&sn, b);
    fl_buffer_each(s->buffer, add_block, &sn);
    if (sn.oom) {
        rc = FL_ENOMEM;
    } else if ((rc = fl_live_create(sn.blocks, sn.n, &live, &err)) == 0
               && (rc = fl_query_list_archive(s->cfg->archive_dir, &files,
                                              &err)) == 0
               && (rc = fl_query_open_files(s->cfg->archive_dir, &files,
                                            live, &q, &err)) == 0
               && (!mentions_metrics(sql)
                   || ((rc = fl_metrics_rows(s, NULL, &rows, &n_rows)) == 0
                       && (rc = fl_query_set_metrics(q, rows, n_rows,
                                                     &err)) == 0))
               && (rc = fl_query_sandbox(q, s->cfg->query_memory_limit,
                                         &err)) == 0) {
        if ((f = open_memstream(&out, &out_len)) == NULL) {
            rc = FL_ENOMEM;
        } else {
            rc = fl_query_run_untrusted(q, sql, fmt, f,
                                        (unsigned)s->cfg->query_timeout, &err);
            fclose(f);
        }
    }
    fl_query_close(q);
    fl_query_files_free(&files);
    fl_live_destroy(live);
    pthread_rwlock_unlock(&s->snap_lock);

    if (rc == 0) {
        const char *type = fmt == FL_OUTPUT_CSV ? "text/csv"
                         : fmt == FL_OUTPUT_TABLE ? "text/plain"
                         : "application/json";
        ret = fl_http_reply(c, 200, type, out ? out : "", out_len);
    } else {
        unsigned status = rc == FL_EPARSE ? 403 : rc == -ETIMEDOUT ? 408
                        : rc == FL_ENOMEM ? 503 : 400;
        ret = fl_http_reply_error(c, status, err ? err : fl_strerror(rc));
    }
    fl_free_libc(out);               /* open_memstream's buffer */
    fl_free(err);
    fl_free(sql);
    fl_free(sn.blocks);
    fl_metrics_rows_free(rows, n_rows);
    return ret;
}
