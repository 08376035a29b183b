/* SPDX-License-Identifier: MIT
 *
 * api_query.c -- POST /api/query: SQL in, JSON (default), CSV or an
 * aligned table out, over one view of the archive plus the records that
 * are acknowledged but not yet published -- what makes data queryable
 * seconds after its 200 instead of after the buffer interval.
 *
 * Each query runs in a process of its own (src/query/runner.h: a time
 * limit that kills, a memory ceiling that holds, a crash that cannot take
 * the server down), on a thread of its own: the HTTP connection is
 * suspended while it runs, so the threads that serve ingest and /healthz
 * are never held by a query. At most query.max_concurrent queries run;
 * one more is answered 429 with Retry-After at once.
 *
 * Consistency: under the pipeline's snapshot lock (shared) the handler takes
 * a hold on every buffered and in-flight block and copies the in-memory
 * metric values, then lets the lock go; the publisher takes it
 * exclusively to move blocks and to make its files appear
 * (pipeline/publisher.c). So
 * a query holds the lock for the time of a few pointer copies, never for
 * the time of the query, and publishing waits for no query.
 *
 * Safety: the SQL comes from the network, so the worker's session is
 * sandboxed (src/query/sandbox.c): SELECT/EXPLAIN only, decided from
 * DuckDB's parse before anything is bound; DuckDB may read only the
 * archive files listed here (without following symlinks) under the
 * snapshot lock; query.memory_limit, query.timeout.
 *
 * What the answer adds to the body, as headers (the body stays what
 * scripts parse): X-Flowlake-Rows, -Files (archive files in the query's
 * view after pruning), -Blocks (buffered blocks it parsed), -Columns (the
 * result's names and types, JSON), -Elapsed-Ms; an error DuckDB placed in
 * the SQL gets "line" and "column" next to "error".
 *
 * Cancel: a request may name itself with X-Flowlake-Query-Id; POST
 * /api/query/cancel?id=ID (read key) kills that query's worker, and its
 * own request is answered 499 at once, which frees its query.max_concurrent
 * slot. A client that closes its connection frees it too: libmicrohttpd
 * does not watch a suspended connection, so the runner polls its socket
 * for the peer's hang-up while the worker runs (runner.h).
 */
#include "../core/fl_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../archive/convert.h"
#include "../archive/rejects.h"
#include "../core/fl_error.h"
#include "../core/fl_json.h"
#include "../core/fl_log.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "../query/runner.h"
#include "../metrics/metrics.h"
#include "../server/server_int.h"

/* One query from a request to its answer. Created by the handler, run by
 * its own thread, answered and freed back on the HTTP side. */
struct fl_query_task {
    struct fl_server        *s;
    struct MHD_Connection   *c;
    struct fl_query_task    *next;        /* s->queries */
    char                    *sql;
    enum fl_output           fmt;
    struct fl_buffer_block **held;        /* a hold on each */
    size_t                   n_held, cap_held;
    struct fl_metric_row    *rows;
    size_t                   n_rows;
    int                      has_rows;
    struct fl_query_files    files;       /* the archive's, at the snapshot */
    int                      holds_files; /* counted in s->n_snapshots */
    int                      oom;
    _Atomic pid_t            pid;         /* the worker, while it runs */
    struct fl_query_result   res;
    _Atomic int              done;        /* res is filled */
    double                   started;     /* fl_time_mono() when taken in */
    double                   elapsed;     /* seconds, when done */
    char                     id[FL_QUERY_ID_MAX + 1];   /* "" = none */
    _Atomic int              cancel;      /* POST /api/query/cancel */
};

/* The answer of a cancelled query: nginx's "client closed request", the
 * status proxies and log tools already know for "the client gave up". */
#define STATUS_CANCELLED 499


static void
hold_block(void *ctx, const struct fl_buffer_block *blk)
{
    struct fl_query_task *t = ctx;
    if (t->oom)
        return;
    if (t->n_held == t->cap_held) {
        size_t ncap = t->cap_held ? t->cap_held * 2 : 64;
        void *p = fl_realloc(t->held, ncap * sizeof *t->held);
        if (p == NULL) {
            t->oom = 1;
            return;
        }
        t->held = p;
        t->cap_held = ncap;
    }
    /* The buffer's list is const to its readers; a hold is what lets this
     * pointer outlive the buffer's own reference (buffer.h). */
    struct fl_buffer_block *b = (struct fl_buffer_block *)(uintptr_t)blk;
    fl_buffer_block_hold(b);
    t->held[t->n_held++] = b;
}


static void
release_snapshot(struct fl_query_task *t)
{
    for (size_t i = 0; i < t->n_held; i++)
        fl_buffer_block_release(t->held[i]);
    fl_free(t->held);
    t->held = NULL;
    t->n_held = t->cap_held = 0;
    fl_metrics_rows_free(t->rows, t->n_rows);
    t->rows = NULL;
    t->n_rows = 0;
    fl_query_files_free(&t->files);
}


void
fl_http_query_free(struct fl_query_task *t)
{
    if (t == NULL)
        return;
    release_snapshot(t);
    fl_query_result_free(&t->res);
    fl_free(t->sql);
    fl_free(t);
}


/* Whether sql can read vpc_flow_logs.metrics: only a statement that
 * names it does, so the in-memory values (one row per open group, which
 * can be millions) are copied only then. A false positive only costs the
 * copy; the decision what may run is the sandbox's, not this. */
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


/* Takes the snapshot the query will see: the archive's files, holds on
 * the blocks not yet in them, the metric store's files and the metric
 * values in memory -- all in one instant of the snapshot lock. */
static int
take_snapshot(struct fl_query_task *t, char **err)
{
    struct fl_server *s = t->s;
    int rc;

    pthread_rwlock_t *lock = fl_pipeline_snapshot_lock(s->pipeline);
    pthread_rwlock_rdlock(lock);
    rc = fl_query_list_archive(s->cfg->archive_dir, &t->files, err);
    fl_pipeline_each_unpublished(s->pipeline, hold_block, t);
    if (rc == 0 && !t->oom && mentions_metrics(t->sql)) {
        rc = fl_metrics_rows(s->metrics, NULL, 0, &t->rows, &t->n_rows);
        t->has_rows = rc == 0;
    }
    if (rc == 0 && !t->oom) {
        pthread_mutex_lock(&s->query_mu);
        s->n_snapshots++;
        t->holds_files = 1;
        pthread_mutex_unlock(&s->query_mu);
    }
    pthread_rwlock_unlock(lock);
    return t->oom ? FL_ENOMEM : rc;
}


/* The shared segments the held blocks' text is in (buffer.h), each once,
 * and where in them each block is: what the job tells the worker to map. */
struct job_segments {
    struct fl_shm_seg       **seg;
    uint64_t                 *size;     /* bytes the blocks use of each */
    int                      *fd;
    size_t                    n;
    struct fl_query_text_ref *where;    /* per held block */
};


static void
job_segments_free(struct job_segments *js)
{
    fl_free(js->seg);
    fl_free(js->size);
    fl_free(js->fd);
    fl_free(js->where);
}


static int
find_segments(const struct fl_query_task *t, struct job_segments *js)
{
    size_t n = t->n_held;
    memset(js, 0, sizeof *js);
    if (n == 0)
        return FL_OK;
    js->seg = fl_calloc(n, sizeof *js->seg);
    js->size = fl_calloc(n, sizeof *js->size);
    js->fd = fl_calloc(n, sizeof *js->fd);
    js->where = fl_calloc(n, sizeof *js->where);
    if (js->seg == NULL || js->size == NULL || js->fd == NULL
        || js->where == NULL) {
        job_segments_free(js);
        return FL_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const struct fl_buffer_block *b = t->held[i];
        /* Blocks come in arrival order, so a block is nearly always in
         * its predecessor's segment or a new one: searching back from
         * the last segment finds it at once. */
        size_t k = js->n;
        while (k > 0 && js->seg[k - 1] != b->seg)
            k--;
        if (k == 0) {
            k = js->n++;
            js->seg[k] = b->seg;
            js->fd[k] = fl_shm_seg_fd(b->seg);
        } else
            k--;
        uint64_t end = (uint64_t)b->seg_off + b->len;
        if (end > js->size[k])
            js->size[k] = end;
        js->where[i] = (struct fl_query_text_ref) { .seg = k,
                                                    .off = b->seg_off };
    }
    return FL_OK;
}


/* Writes the job the worker reads (everything but the blocks' text, which
 * it maps from the segments in *js). The holds stay until the worker has
 * ended: they are what keeps those bytes unchanged (core/fl_shm.h). */
static int
write_job(struct fl_query_task *t, struct job_segments *js, int *fd)
{
    const struct fl_config *cfg = t->s->cfg;
    struct fl_archive_block *blocks = NULL;
    struct fl_provenance *prov = NULL;
    int rc;

    if ((rc = find_segments(t, js)) < 0)
        return rc;
    if (t->n_held > 0
        && ((blocks = fl_calloc(t->n_held, sizeof *blocks)) == NULL
            || (prov = fl_calloc(t->n_held, sizeof *prov)) == NULL)) {
        fl_free(blocks);
        return FL_ENOMEM;
    }
    for (size_t i = 0; i < t->n_held; i++)
        fl_buffer_block_archive(t->held[i], &prov[i], &blocks[i]);
    struct fl_query_job job = {
        .archive_dir = cfg->archive_dir,
        .memory_limit = cfg->query_memory_limit,
        .max_memory = cfg->query_max_memory,
        .timeout_s = (unsigned)cfg->query_timeout,
        .format = t->fmt,
        .sql = t->sql,
        .files = (const char *const *)t->files.flow,
        .n_files = t->files.n_flow,
        .metric_files = (const char *const *)t->files.metrics,
        .n_metric_files = t->files.n_metrics,
        .alarm_history = t->files.alarm_history, .has_files = 1,
        .blocks = blocks, .n_blocks = t->n_held,
        .block_text = js->where, .segment_sizes = js->size,
        .n_segments = js->n,
        .rows = t->rows, .n_rows = t->n_rows, .has_rows = t->has_rows,
    };
    rc = fl_query_job_file(&job, fd);
    fl_free(blocks);
    fl_free(prov);
    return rc;
}


static void
finish(struct fl_query_task *t)
{
    struct fl_server *s = t->s;
    pthread_mutex_lock(&s->query_mu);
    for (struct fl_query_task **pp = &s->queries; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    s->n_queries--;
    if (t->holds_files)
        s->n_snapshots--;
    t->elapsed = fl_time_mono() - t->started;
    atomic_store(&t->done, 1);
    /* After this the HTTP side answers and frees t: not touched again. */
    MHD_resume_connection(t->c);
    pthread_cond_broadcast(&s->query_cv);
    pthread_mutex_unlock(&s->query_mu);
}


static void
fail_task(struct fl_query_task *t, unsigned status, const char *msg)
{
    fl_query_result_free(&t->res);
    t->res.http_status = status;
    t->res.error = fl_strdup(msg);
}


/* query.slow_log: the queries an operator wants to see -- the ones that
 * held a worker (and its share of the CPU) for long, or hit the limit. */
static void
log_if_slow(const struct fl_query_task *t)
{
    uint64_t slow = t->s->cfg->query_slow_log;
    double took = fl_time_mono() - t->started;
    if (slow == 0 || took < (double)slow)
        return;
    unsigned status = t->res.http_status ? t->res.http_status : 200;
    fl_log(FL_LOG_WARN, "query", "slow query: %.2f s, status %u, %zu bytes "
           "of result: %.500s%s", took, status,
           status == 200 ? t->res.len : 0, t->sql,
           strlen(t->sql) > 500 ? "..." : "");
}


static void *
task_main(void *arg)
{
    struct fl_query_task *t = arg;
    const struct fl_config *cfg = t->s->cfg;
    struct fl_query_limits lim = {
        .timeout_s = (unsigned)cfg->query_timeout,
        .max_result_bytes = cfg->query_max_result_bytes,
        .cancel = &t->cancel,
    };
    /* libmicrohttpd does not watch a suspended connection: the runner
     * does, so that a client that goes away frees its slot. */
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(t->c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci != NULL) {
        lim.client_fd = ci->connect_fd;
        lim.watch_client = 1;
    }
    struct job_segments js = { 0 };
    int fd = -1;
    int rc = atomic_load(&t->cancel) ? 0 : write_job(t, &js, &fd);

    if (atomic_load(&t->cancel)) {
        if (fd >= 0)
            close(fd);
    } else if (rc < 0) {
        fail_task(t, 503, rc == FL_ENOMEM ? FL_OOM_TEXT
                                          : "cannot write the query's job");
    } else if (atomic_load(&t->s->queries_closed)) {
        close(fd);
        fail_task(t, 503, "the server is stopping");
    } else if ((rc = fl_query_runner_run_fd(NULL, fd, js.fd, js.n, &lim,
                                            &t->pid, &t->res)) < 0) {
        unsigned status = fl_server_fault_status(rc);
        if (t->res.error == NULL)
            fail_task(t, status, fl_strerror(rc));
        else
            t->res.http_status = status;
    }
    /* Killed on request: whatever the worker's end looked like (a
     * signal), the client asked for this. A result that was complete
     * before the kill is still given. */
    if (atomic_load(&t->cancel) && t->res.http_status != 200) {
        char *info = t->res.info;
        t->res.info = NULL;
        fail_task(t, STATUS_CANCELLED, "the query was cancelled "
                  "(POST /api/query/cancel)");
        t->res.info = info;
    }
    /* The worker has ended (or never started): nobody reads the held
     * blocks' bytes any more. */
    job_segments_free(&js);
    release_snapshot(t);
    log_if_slow(t);
    finish(t);
    return NULL;
}


/* The longest X-Flowlake-Columns sent. libmicrohttpd builds the response
 * head in the connection's memory pool (32 KiB by default, shared with the
 * request's own head): a longer one would lose the whole answer. A result
 * that wide (some 200 columns) goes without the header. */
#define MAX_COLUMNS_HEADER 12288

/* X-Flowlake-Rows, -Files, -Blocks: the worker's counts. */
static const char *const info_counts[][2] = {
    { "rows", "X-Flowlake-Rows" }, { "files", "X-Flowlake-Files" },
    { "blocks", "X-Flowlake-Blocks" },
};

/* Adds the X-Flowlake-* headers from info (the worker's JSON, runner.h;
 * may be NULL) and the elapsed time to resp. */
static void
add_info(struct MHD_Response *resp, const struct fl_query_task *t,
         json_t *info)
{
    char v[32];
    snprintf(v, sizeof v, "%.0f", t->elapsed * 1000);
    MHD_add_response_header(resp, "X-Flowlake-Elapsed-Ms", v);
    for (size_t i = 0; i < sizeof info_counts / sizeof info_counts[0]; i++) {
        json_t *n = json_object_get(info, info_counts[i][0]);
        /* rows is -1 when no result came back (an error). */
        if (json_is_integer(n) && json_integer_value(n) >= 0) {
            snprintf(v, sizeof v, "%lld", (long long)json_integer_value(n));
            MHD_add_response_header(resp, info_counts[i][1], v);
        }
    }
    json_t *cols = json_object_get(info, "columns");
    size_t n = json_is_array(cols)
             ? json_dumpb(cols, NULL, 0, JSON_COMPACT | JSON_ENSURE_ASCII) : 0;
    char *text = n > 0 && n <= MAX_COLUMNS_HEADER ? fl_malloc(n + 1) : NULL;
    /* ASCII only (a header); without memory the answer only lacks it. */
    if (text != NULL && json_dumpb(cols, text, n, JSON_COMPACT
                                   | JSON_ENSURE_ASCII) == n) {
        text[n] = '\0';
        MHD_add_response_header(resp, "X-Flowlake-Columns", text);
    }
    fl_free(text);
}


/* {"error": msg} plus "line" and "column" when info places the error;
 * NULL when out of memory. */
static char *
error_body(const char *msg, json_t *info, size_t *len)
{
    struct fl_buf b = { 0 };
    fl_http_error_open(&b, msg);
    json_t *l = json_object_get(info, "line");
    json_t *c = json_object_get(info, "column");
    if (json_is_integer(l) && json_is_integer(c))
        fl_buf_addf(&b, ",\"line\":%lld,\"column\":%lld",
                    (long long)json_integer_value(l),
                    (long long)json_integer_value(c));
    fl_buf_adds(&b, "}\n");
    return fl_buf_take(&b, len);       /* NULL after any failed append */
}


static enum MHD_Result
answer(struct MHD_Connection *c, const struct fl_query_task *t)
{
    const struct fl_query_result *r = &t->res;
    unsigned status = r->http_status ? r->http_status : 500;
    const char *type = "application/json";
    struct MHD_Response *resp;
    json_t *info = r->info ? json_loads(r->info, 0, NULL) : NULL;

    if (status == 200) {
        type = t->fmt == FL_OUTPUT_CSV ? "text/csv"
             : t->fmt == FL_OUTPUT_TABLE ? "text/plain" : type;
        resp = MHD_create_response_from_buffer(
            r->len, r->body ? r->body : (void *)(uintptr_t)"",
            MHD_RESPMEM_MUST_COPY);
    } else {
        size_t len = 0;
        char *body = error_body(r->error ? r->error : "the query failed",
                                info, &len);
        resp = body == NULL ? NULL : MHD_create_response_from_buffer(
            len, body, MHD_RESPMEM_MUST_COPY);
        fl_free(body);
        if (resp != NULL && status == 503)
            MHD_add_response_header(resp, "Retry-After", "5");
    }
    if (resp == NULL) {
        json_decref(info);
        return MHD_NO;
    }
    add_info(resp, t, json_is_object(info) ? info : NULL);
    json_decref(info);
    MHD_add_response_header(resp, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}


/* A query id: 1 to FL_QUERY_ID_MAX of [A-Za-z0-9._-] (it is compared,
 * logged and echoed, never interpreted). */
static int
valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > FL_QUERY_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = id[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
              || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_'
              || ch == '-'))
            return 0;
    }
    return 1;
}


enum MHD_Result
fl_http_query(struct fl_server *s, struct MHD_Connection *c,
              struct request *req)
{
    const char *fmt_name = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                       "format");
    enum fl_output fmt = FL_OUTPUT_JSON;
    struct fl_query_task *t = req->query;

    if (t != NULL)                      /* resumed: the query has ended */
        return atomic_load(&t->done) ? answer(c, t) : MHD_YES;
    if (fmt_name != NULL && fl_query_output_parse(fmt_name, &fmt) < 0)
        return fl_http_reply_error(c, 400, "format must be json, csv or table");
    const char *id = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 "X-Flowlake-Query-Id");
    if (id != NULL && !valid_id(id))
        return fl_http_reply_error(c, 400, "X-Flowlake-Query-Id must be 1 "
                                   "to 64 of A-Z a-z 0-9 . _ -");
    if (req->len == 0)
        return fl_http_reply_error(c, 400, "the request body must be the SQL to run");
    if (memchr(req->body, '\0', req->len) != NULL)
        return fl_http_reply_error(c, 400, "the SQL contains a NUL byte");
    if ((t = fl_calloc(1, sizeof *t)) == NULL
        || (t->sql = fl_strndup(req->body, req->len)) == NULL) {
        fl_free(t);
        return fl_http_reply_error(c, 503, FL_OOM_TEXT);
    }
    t->s = s;
    t->c = c;
    t->fmt = fmt;
    if (id != NULL)
        memcpy(t->id, id, strlen(id) + 1);     /* checked: it fits */
    t->started = fl_time_mono();

    pthread_mutex_lock(&s->query_mu);
    int closed = atomic_load(&s->queries_closed);
    int busy = s->n_queries >= s->cfg->query_max_concurrent;
    if (!closed && !busy) {
        s->n_queries++;
        t->next = s->queries;
        s->queries = t;
    }
    pthread_mutex_unlock(&s->query_mu);
    if (closed || busy) {
        fl_http_query_free(t);
        if (closed)
            return fl_http_reply_error(c, 503, "the server is stopping");
        atomic_fetch_add(&s->queries_refused, 1);
        return fl_http_reply_retry(c, 429, 1, "too many queries are running "
                                   "(query.max_concurrent): retry shortly");
    }
    atomic_fetch_add(&s->queries_started, 1);
    req->query = t;

    char *err = NULL;
    int rc = take_snapshot(t, &err);
    if (rc < 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "cannot take the query's snapshot of "
                 "the archive: %s", err ? err : fl_strerror(rc));
        fail_task(t, 503, msg);
    }
    fl_free(err);
    /* Suspended before the thread exists, so its resume always finds a
     * suspended connection. */
    MHD_suspend_connection(c);
    pthread_t thread;
    pthread_attr_t attr;
    int started = rc == 0 && pthread_attr_init(&attr) == 0;
    if (started) {
        started = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED)
                      == 0
               && pthread_create(&thread, &attr, task_main, t) == 0;
        pthread_attr_destroy(&attr);
    }
    if (!started) {
        release_snapshot(t);
        if (rc == 0)
            fail_task(t, 503, "cannot start a thread for the query");
        finish(t);
    }
    return MHD_YES;
}


enum MHD_Result
fl_http_query_cancel(struct fl_server *s, struct MHD_Connection *c)
{
    const char *id = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                 "id");
    unsigned found = 0;
    if (id == NULL || !valid_id(id))
        return fl_http_reply_error(c, 400, "?id= must name the query "
                                   "(its X-Flowlake-Query-Id)");
    pthread_mutex_lock(&s->query_mu);
    for (struct fl_query_task *t = s->queries; t; t = t->next) {
        if (strcmp(t->id, id) != 0)
            continue;
        /* The flag first: a worker not started yet is killed by its
         * runner as soon as its pid is known (runner.h). */
        atomic_store(&t->cancel, 1);
        fl_query_runner_cancel(&t->pid);
        found++;
    }
    pthread_mutex_unlock(&s->query_mu);
    if (found == 0)
        return fl_http_reply_error(c, 404, "no query with that id is "
                                   "running (it may have ended)");
    char out[128];
    int n = snprintf(out, sizeof out, "{\"cancelled\":%u}\n", found);
    fl_log(FL_LOG_INFO, "query", "query %s cancelled", id);
    return fl_http_reply(c, 200, "application/json", out, (size_t)n);
}


uint64_t
fl_http_queries_running(struct fl_server *s)
{
    pthread_mutex_lock(&s->query_mu);
    uint64_t n = s->n_queries;
    pthread_mutex_unlock(&s->query_mu);
    return n;
}


int
fl_http_queries_wait_snapshots(struct fl_server *s, uint64_t ms)
{
    struct timespec until = fl_time_deadline(CLOCK_REALTIME, ms);
    int rc = 0;
    pthread_mutex_lock(&s->query_mu);
    while (s->n_snapshots > 0 && rc == 0)
        rc = pthread_cond_timedwait(&s->query_cv, &s->query_mu, &until);
    int left = s->n_snapshots > 0;
    pthread_mutex_unlock(&s->query_mu);
    return left ? -ETIMEDOUT : FL_OK;
}


void
fl_http_queries_stop(struct fl_server *s)
{
    pthread_mutex_lock(&s->query_mu);
    atomic_store(&s->queries_closed, 1);
    while (s->n_queries > 0) {
        /* Again on every wake: a task may have started its worker after
         * the previous round. */
        for (struct fl_query_task *t = s->queries; t; t = t->next)
            fl_query_runner_cancel(&t->pid);
        struct timespec until = fl_time_deadline(CLOCK_REALTIME, 100);
        pthread_cond_timedwait(&s->query_cv, &s->query_mu, &until);
    }
    pthread_mutex_unlock(&s->query_mu);
}
