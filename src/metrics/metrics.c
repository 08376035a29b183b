/* SPDX-License-Identifier: MIT
 *
 * metrics.c -- the server's streaming metrics: what feeds the stream
 * engine (stream/stream.h), where its final values go (the metric store,
 * metrics/metric_store.h, and the alarms, alarm/alarm.h), and how its
 * state survives a crash.
 *
 * Feeding. Every accepted request is handed to fl_metrics_enqueue() under
 * the server's append lock, right after its WAL records: the queue is in
 * WAL sequence order. One thread takes the queue, parses the text into
 * record batches and folds them into the engine, a whole WAL record at a
 * time under the engine lock, so that "everything up to sequence N" is
 * always a consistent statement about the engine's state. Once a second
 * it moves the arrival clock and lets the alarms evaluate the windows
 * their metrics' clocks passed.
 *
 * Persisting (every metrics.persist_interval, and at shutdown):
 *   1. under the engine lock: save the engine's state with the sequence
 *      number it covers, and take the final values not yet in a file;
 *   2. write them as final-<K>.parquet (not yet counted), merged with
 *      older files when a level of them is full (metrics/metric_store.h);
 *   3. under the snapshot lock (no query running): write the state file
 *      listing the live files -- the commit point -- and drop the values
 *      now in a file from memory; remove the files merged away;
 *   4. tell the server (the saved callback of struct fl_metrics_options),
 *      which checkpoints the WAL to min(the archive's mark, the state's
 *      sequence).
 * On start the state is loaded, files it does not list are removed, and the WAL records above the state's sequence are folded in
 * again: a window is never lost and never counted twice across kill -9.
 *
 * Queries see the committed files plus, from memory, the values taken in
 * step 1 but not yet committed, the newer final values and the open
 * windows' provisional values (fl_metrics_rows).
 */
#include "../core/fl_config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../alarm/alarm.h"
#include "../config/config.h"
#include "metric_store.h"
#include "../core/fl_error.h"
#include "../core/fl_fs.h"
#include "../core/fl_log.h"
#include "../core/fl_mem.h"
#include "../core/fl_sync.h"
#include "../core/fl_time.h"
#include "../parse/batch.h"
#include "../parse/format.h"
#include "../parse/line.h"
#include "../stream/plan.h"
#include "../stream/stream.h"
#include "metrics.h"
#include "metric_cache.h"
#include "metrics_int.h"
#include "../query/query.h"

/* Queue ceiling: an appender waits when the stream thread is this far
 * behind (it folds far faster than requests arrive, so this is a guard). */
#define QUEUE_MAX_BYTES (256u << 20)

/* Seconds the arrival clock trails the wall clock, so that a request
 * stamped just before a minute boundary but queued just after it still
 * lands in its window. */
#define ARRIVAL_GRACE 2

/* A metrics file is a few statements; anything this big is a mistake. */
#define METRICS_FILE_MAX (16u << 20)


/* ---- rows ------------------------------------------------------------ */

static int
rows_push(struct rows *r, const struct fl_metric_value *v)
{
    /* cap SIZE_MAX: an earlier push ran out of memory (collect_open);
     * the array really holds n rows, so later ones must not land in it. */
    if (r->cap == SIZE_MAX)
        return FL_ENOMEM;
    if (r->n == r->cap) {
        struct fl_metric_row *p = fl_grow(r->v, &r->cap, r->n + 1,
                                          sizeof *p, 64);
        if (p == NULL)
            return FL_ENOMEM;
        r->v = p;
    }
    int rc = fl_metric_row_copy(v, &r->v[r->n]);
    if (rc == 0)
        r->n++;
    return rc;
}


static void
rows_free(struct rows *r)
{
    for (size_t i = 0; i < r->n; i++)
        fl_metric_row_free(&r->v[i]);
    fl_free(r->v);
    memset(r, 0, sizeof *r);
}


/* Moves src's rows to the end of dst (src left empty). */
static int
rows_move(struct rows *dst, struct rows *src)
{
    /* Nothing new (src->v may be NULL: memcpy must not see it). This is
     * the case of a save retried after a failure with no new finals. */
    if (src->n == 0)
        return FL_OK;
    if (dst->n == 0) {
        rows_free(dst);
        *dst = *src;
        memset(src, 0, sizeof *src);
        return FL_OK;
    }
    if (dst->n + src->n > dst->cap) {
        size_t cap = dst->n + src->n;
        struct fl_metric_row *p = fl_realloc(dst->v, cap * sizeof *p);
        if (p == NULL)
            return FL_ENOMEM;
        dst->v = p;
        dst->cap = cap;
    }
    memcpy(dst->v + dst->n, src->v, src->n * sizeof *src->v);
    dst->n += src->n;
    fl_free(src->v);
    memset(src, 0, sizeof *src);
    return FL_OK;
}


/* ---- newest final per series ------------------------------------------ */

uint64_t
fl_metrics_series_hash(const char *metric, size_t n, const char *const *names,
            const char *const *values)
{
    /* FNV-1a over metric, names and values with separators. */
    uint64_t h = 1469598103934665603ULL;
    const char *parts[3] = { metric, NULL, NULL };
    for (size_t i = 0; i <= n; i++) {
        if (i > 0) {
            parts[0] = names[i - 1];
            parts[1] = values[i - 1] ? values[i - 1] : "\x01null";
        }
        for (int k = 0; k < 2 && parts[k] != NULL; k++) {
            for (const char *c = parts[k]; *c; c++)
                h = (h ^ (unsigned char)*c) * 1099511628211ULL;
            h = (h ^ 0xff) * 1099511628211ULL;
        }
        parts[1] = NULL;
    }
    return h;
}


int
fl_metrics_same_series(const struct fl_metric_row *r, const struct fl_metric_value *v)
{
    if (strcmp(r->metric, v->metric) != 0 || r->n_dims != v->n_dims)
        return 0;
    for (size_t i = 0; i < v->n_dims; i++) {
        const char *a = r->dim_values[i], *b = v->dim_values[i];
        if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0))
            return 0;
    }
    return 1;
}


static int
last_grow(struct fl_metrics *m)
{
    size_t cap = m->last_cap ? m->last_cap * 2 : 256;
    struct last_final *t = fl_calloc(cap, sizeof *t);
    if (t == NULL)
        return FL_ENOMEM;
    for (size_t i = 0; i < m->last_cap; i++) {
        if (m->last[i].row.metric == NULL)
            continue;
        size_t j = (size_t)m->last[i].hash & (cap - 1);
        while (t[j].row.metric != NULL)
            j = (j + 1) & (cap - 1);
        t[j] = m->last[i];
    }
    fl_free(m->last);
    m->last = t;
    m->last_cap = cap;
    return FL_OK;
}


static void
last_update(struct fl_metrics *m, const struct fl_metric_value *v)
{
    if ((m->last_n + 1) * 2 > m->last_cap && last_grow(m) < 0)
        return;                   /* Prometheus misses one update */
    uint64_t h = fl_metrics_series_hash(v->metric, v->n_dims, v->dim_names,
                             v->dim_values);
    size_t j = (size_t)h & (m->last_cap - 1);
    while (m->last[j].row.metric != NULL) {
        if (m->last[j].hash == h && fl_metrics_same_series(&m->last[j].row, v)) {
            if (v->window_start >= m->last[j].row.window_start) {
                struct fl_metric_row r;
                if (fl_metric_row_copy(v, &r) == 0) {
                    fl_metric_row_free(&m->last[j].row);
                    m->last[j].row = r;
                }
            }
            return;
        }
        j = (j + 1) & (m->last_cap - 1);
    }
    if (fl_metric_row_copy(v, &m->last[j].row) == 0) {
        m->last[j].hash = h;
        m->last_n++;
    }
}


/* The engine's final callback (runs under mu). */
static void
on_final(void *ctx, const struct fl_metric_value *v)
{
    struct fl_metrics *m = ctx;
    if (rows_push(&m->pending, v) < 0)
        fl_log(FL_LOG_ERROR, "metrics", "out of memory keeping a final value "
                "of %s; it is lost from the metric store", v->metric);
    last_update(m, v);
    if (m->alarms != NULL)
        fl_alarms_on_final(m->alarms, v);
}


/* ---- folding text into the engine ---------------------------------------- */

/* Makes m->parser read spec (NULL = the default format). */
static int
use_format(struct fl_metrics *m, const char *spec)
{
    struct fl_format *fmt = NULL;
    struct fl_parse_err perr;
    char *copy = NULL;
    int rc;

    if (m->fmt != NULL && ((spec == NULL && m->fmt_spec == NULL)
                           || (spec && m->fmt_spec
                               && strcmp(spec, m->fmt_spec) == 0)))
        return FL_OK;
    rc = spec ? fl_format_parse(spec, &fmt, &perr) : fl_format_default(&fmt);
    if (rc < 0)
        return rc;
    if (spec != NULL && (copy = fl_strdup(spec)) == NULL) {
        fl_format_destroy(fmt);
        return FL_ENOMEM;
    }
    fl_format_destroy(m->fmt);
    fl_free(m->fmt_spec);
    m->fmt = fmt;
    m->fmt_spec = copy;
    fl_parser_init(&m->parser, m->fmt, NULL, NULL);
    return FL_OK;
}


/* Folds one WAL record's lines into the engine (takes mu). The lines
 * were validated at ingestion; one that does not parse now is skipped. */
static int
fold(struct fl_metrics *m, const char *text, size_t len, const char *spec,
     uint64_t seq, int64_t arrival)
{
    struct fl_parse_err perr;
    int rc = use_format(m, spec);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&m->mu);
    fl_batch_reset(m->batch);
    for (const char *p = text, *end = text + len; p < end && rc == 0;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        if (fl_parse_line(&m->parser, m->batch, p, (size_t)(eol - p), &perr)
            == FL_OK && m->batch->n == m->batch->cap) {
            rc = fl_stream_process(m->stream, m->batch, arrival);
            fl_batch_reset(m->batch);
        }
        p = nl ? nl + 1 : end;
    }
    if (rc == 0 && m->batch->n > 0)
        rc = fl_stream_process(m->stream, m->batch, arrival);
    fl_batch_reset(m->batch);
    if (rc == 0 && seq > m->processed_seq)
        m->processed_seq = seq;
    pthread_mutex_unlock(&m->mu);
    return rc;
}


/* ---- persisting --------------------------------------------------------- */

/* Steps 1-4 of the file comment. */
static int
persist(struct fl_metrics *m)
{
    const char *archive = m->cfg->archive_dir;
    unsigned char *blob = NULL;
    size_t blob_len = 0, n_merge = 0, n_live = 0;
    size_t *merge = NULL;
    uint64_t *merge_no = NULL, seq;
    struct fl_metric_file *live = NULL;
    unsigned level = 0;
    char *err = NULL;
    int rc;

    /* The live files only change here: safe to read without mu. */
    if ((merge = fl_calloc(m->n_live + 1, sizeof *merge)) == NULL
        || (merge_no = fl_calloc(m->n_live + 1, sizeof *merge_no)) == NULL
        || (live = fl_calloc(m->n_live + 1, sizeof *live)) == NULL) {
        rc = FL_ENOMEM;
        goto out;
    }
    pthread_mutex_lock(&m->mu);
    seq = m->processed_seq;
    int have_rows = m->pending.n > 0 || m->committing.n > 0;
    n_merge = fl_metric_store_plan(m->live, m->n_live, have_rows, &level,
                                   merge);
    if (seq == atomic_load(&m->persisted_seq) && !have_rows && n_merge == 0
        && m->saved_once) {
        /* Nothing new since the last save but clocks: skip the write. */
        pthread_mutex_unlock(&m->mu);
        rc = FL_OK;
        goto out;
    }
    m->saved_once = 1;
    rc = fl_stream_save(m->stream, seq, &blob, &blob_len);
    if (rc == 0)
        rc = rows_move(&m->committing, &m->pending);
    size_t n = m->committing.n;
    pthread_mutex_unlock(&m->mu);
    if (rc < 0)
        goto out;

    /* The new live set: the files not merged, plus the new one. committing
     * is only changed by this thread: safe to read unlocked. */
    for (size_t i = 0, k = 0; i < m->n_live; i++) {
        if (k < n_merge && merge[k] == i)
            merge_no[k++] = m->live[i].no;
        else
            live[n_live++] = m->live[i];
    }
    if (n > 0 || n_merge > 0) {
        rc = fl_metric_store_write(archive, m->next_no,
                                   m->committing.v, n, merge_no, n_merge,
                                   &err);
        if (rc < 0)
            goto out;
        live[n_live++] = (struct fl_metric_file) { m->next_no, level };
    }

    pthread_rwlock_wrlock(m->snap_lock);
    rc = fl_metric_store_save_state(archive, live, n_live, seq,
                                    blob, blob_len);
    if (rc == 0) {
        struct fl_metric_file *old = m->live;
        m->live = live;
        m->n_live = n_live;
        live = old;
        if (n > 0 || n_merge > 0)
            m->next_no++;
        pthread_mutex_lock(&m->mu);
        rows_free(&m->committing);
        pthread_mutex_unlock(&m->mu);
    }
    pthread_rwlock_unlock(m->snap_lock);
    if (rc < 0)
        goto out;
    /* The merged files are no longer live: no query started after the
     * state above lists them, but one that started before may still read
     * them (queries run outside the lock, api_query.c): removed when no
     * query runs, at this commit or a later one. */
    if (n_merge > 0)
        m->cleanup_due = 1;
    if (m->cleanup_due
        && (m->queries_running == NULL || m->queries_running(m->ctx) == 0)) {
        (void)fl_metric_store_cleanup(archive, m->live, m->n_live);
        m->cleanup_due = 0;
    }
    atomic_store(&m->persisted_seq, seq);
    /* Durable: the server may cut the WAL up to seq (and the archive). */
    if (m->saved != NULL)
        m->saved(m->ctx);
out:
    /* Every failed save is counted; the log says when saving stops working
     * and when it works again, not every persist_interval in between. */
    if (rc < 0) {
        atomic_fetch_add(&m->persist_failures, 1);
        if (!m->store_failing)
            fl_log(FL_LOG_ERROR, "metrics", "saving metric state failed: %s "
                    "(kept in memory, retried every %llu s)",
                    err ? err : fl_strerror(rc),
                    (unsigned long long)m->cfg->metrics_persist);
        m->store_failing = 1;
    } else if (m->store_failing) {
        m->store_failing = 0;
        fl_log(FL_LOG_INFO, "metrics", "saving metric state works again "
                "(%llu failed attempts so far)",
                (unsigned long long)atomic_load(&m->persist_failures));
    }
    fl_free(err);
    fl_free(blob);
    fl_free(live);
    fl_free(merge_no);
    fl_free(merge);
    return rc;
}


/* ---- the stream thread ---------------------------------------------------- */

/* Moves the arrival clock and lets the alarms see every metric's clock. */
static void
tick(struct fl_metrics *m, int64_t now)
{
    int64_t oldest = atomic_load(&m->oldest_queued_ms);
    int64_t clock = now - ARRIVAL_GRACE;
    if (oldest > 0 && oldest / 1000 < clock)
        clock = oldest / 1000;
    struct fl_stream_metric_stats st[64], *all = st;
    size_t n;

    pthread_mutex_lock(&m->mu);
    fl_stream_advance(m->stream, clock);
    n = fl_stream_metric_stats(m->stream, st, 64);
    if (n > 64 && (all = fl_calloc(n, sizeof *all)) != NULL)
        n = fl_stream_metric_stats(m->stream, all, n);
    else if (n > 64)
        n = 64, all = st;
    pthread_mutex_unlock(&m->mu);
    /* The names point into the engine's plans, which never change. */
    for (size_t i = 0; m->alarms != NULL && i < n; i++)
        if (all[i].clock != INT64_MIN)
            fl_alarms_advance(m->alarms, all[i].metric, all[i].clock, now);
    if (all != st)
        fl_free(all);
}


static void *
stream_main(void *arg)
{
    struct fl_metrics *m = arg;
    const struct fl_config *cfg = m->cfg;
    double last_persist = fl_time_mono();

    for (;;) {
        pthread_mutex_lock(&m->qmu);
        if (m->head == NULL && !m->stop) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            pthread_cond_timedwait(&m->qcond, &m->qmu, &until);
        }
        struct item *list = m->head;
        int stop = m->stop;
        m->head = NULL;
        m->tail = &m->head;
        pthread_mutex_unlock(&m->qmu);

        while (list != NULL) {
            struct item *it = list;
            list = it->next;
            if (fold(m, it->blk->text, it->blk->len, it->blk->format,
                     it->blk->wal_seq, it->arrival) < 0)
                fl_log(FL_LOG_ERROR, "metrics", "metrics could not fold WAL "
                        "record %" PRIu64 " (out of memory)",
                        it->blk->wal_seq);
            pthread_mutex_lock(&m->qmu);
            m->qbytes -= it->blk->len;
            if (list == NULL && m->head == NULL)
                atomic_store(&m->oldest_queued_ms, 0);
            else if (list != NULL)
                atomic_store(&m->oldest_queued_ms, list->arrival * 1000);
            pthread_cond_broadcast(&m->qroom);
            pthread_mutex_unlock(&m->qmu);
            fl_buffer_block_release(it->blk);
            fl_free(it);
        }
        tick(m, fl_time_now());
        if (stop || fl_time_mono() - last_persist >= (double)cfg->metrics_persist) {
            (void)persist(m);
            last_persist = fl_time_mono();
        }
        if (stop) {
            pthread_mutex_lock(&m->qmu);
            int empty = m->head == NULL;
            pthread_mutex_unlock(&m->qmu);
            if (empty)
                break;
        }
    }
    return NULL;
}


/* ---- public ----------------------------------------------------------- */

void
fl_metrics_stream_options(const struct fl_config *cfg,
                          struct fl_stream_options *opt)
{
    fl_stream_options_init(opt);
    opt->allowed_lateness = (int64_t)cfg->metrics_lateness;
    opt->distinct_exact_limit = (uint32_t)cfg->metrics_distinct_exact;
    opt->max_groups = cfg->metrics_max_groups;
    opt->max_future = (int64_t)cfg->metrics_max_future;
    opt->retain_final = (int64_t)cfg->metrics_partials_retention;
}


int
fl_metrics_partials(struct fl_metrics *m, unsigned char **out, size_t *len)
{
    if (m->stream == NULL) {
        *out = NULL;
        *len = 0;
        return -ENOENT;
    }
    pthread_mutex_lock(&m->mu);
    int rc = fl_stream_save_partials(m->stream, out, len);
    pthread_mutex_unlock(&m->mu);
    return rc;
}


int
fl_metrics_compile(const struct fl_config *cfg, struct fl_metric_plans *out,
                   struct fl_err *err)
{
    struct fl_metric_plans plans = { 0 }, more = { 0 };
    enum fl_time_basis basis = strcmp(cfg->metrics_time, "end") == 0
                             ? FL_TIME_END
                             : strcmp(cfg->metrics_time, "arrival") == 0
                             ? FL_TIME_ARRIVAL : FL_TIME_START;
    char *text = NULL;
    int rc = FL_OK;

    if (cfg->metrics_defaults) {
        const char *b = fl_plan_builtin_text();
        rc = fl_plan_compile(b, strlen(b), "(built-in metrics)",
                             (int64_t)cfg->metrics_window, basis, &plans,
                             err);
        if (rc < 0)
            goto out;
    }
    if (cfg->metrics_file[0] != '\0') {
        size_t len = 0;
        rc = fl_fs_read_file(cfg->metrics_file, METRICS_FILE_MAX, &text, &len);
        if (rc < 0) {
            fl_err_set(err, rc, "metrics.file %s: %s", cfg->metrics_file,
                       rc == FL_ETOOBIG ? "larger than 16 MiB"
                                        : fl_strerror(rc));
            goto out;
        }
        rc = fl_plan_compile(text, len, cfg->metrics_file,
                             (int64_t)cfg->metrics_window, basis, &more,
                             err);
        if (rc == 0)
            rc = fl_plan_merge(&plans, &more, err);
        if (rc < 0)
            goto out;
    }
    *out = plans;
    memset(&plans, 0, sizeof plans);
out:
    fl_plan_free(&more);
    fl_plan_free(&plans);
    fl_free(text);
    return rc;
}


/* The metrics' mutexes and conditions, every result checked: all made
 * (0, m->sync_made set), or none (-errno, those made destroyed). */
static int
init_sync(struct fl_metrics *m)
{
    pthread_mutex_t *const mus[] = { &m->mu, &m->qmu, &m->q_mu };
    pthread_cond_t *const cvs[] = { &m->qcond, &m->qroom };
    int rc = fl_sync_init(mus, 3, cvs, 2);
    m->sync_made = rc == 0;
    return rc;
}


int
fl_metrics_create(const struct fl_metrics_options *o, struct fl_metrics **out,
                  struct fl_err *err)
{
    const struct fl_config *cfg = o->cfg;
    struct fl_metrics *m = NULL;
    struct fl_metric_plans plans = { 0 };
    struct fl_alarm_def *defs = NULL;
    size_t n_defs = 0;
    unsigned char *blob = NULL;
    size_t blob_len = 0;
    char *dir = NULL;
    int rc;

    *out = NULL;
    if ((rc = fl_metrics_compile(cfg, &plans, err)) < 0)
        goto fail;
    if ((m = fl_calloc(1, sizeof *m)) == NULL) {
        rc = FL_ENOMEM;
        goto fail;
    }
    m->cfg = cfg;
    m->snap_lock = o->snap_lock;
    m->ctx = o->ctx;
    m->saved = o->saved;
    m->queries_running = o->queries_running;
    m->tail = &m->head;
    {
        const char *how = getenv("FLOWLAKE_METRICS_READ");
        m->read_sql = how != NULL && strcmp(how, "sql") == 0;
    }
    if ((rc = init_sync(m)) < 0) {
        fl_err_set(err, rc, "cannot initialise the metrics' locks: %s",
                   fl_strerror(rc));
        goto fail;
    }
    if (plans.n == 0 && cfg->n_alarm_sections == 0)
        goto done;       /* metrics switched off: no engine, no thread; the
                          * reads still answer from the store */

    struct fl_stream_options opt;
    fl_metrics_stream_options(cfg, &opt);
    if ((rc = fl_batch_create(FL_BATCH_ROWS, 0, &m->batch)) < 0
        || (rc = fl_stream_create(&opt, &plans, on_final, m, &m->stream)) < 0)
        goto fail;

    /* The saved state, and the files it does not count. */
    uint64_t seq = 0;
    rc = fl_metric_store_load_state(cfg->archive_dir, &seq, &m->live,
                                    &m->n_live, &blob, &blob_len);
    if (rc == 0) {
        char note[512] = "";
        struct fl_err lerr = FL_ERR_INIT;
        rc = fl_stream_load(m->stream, blob, blob_len, &seq, note,
                            sizeof note, &lerr);
        if (rc == FL_ECORRUPT) {
            /* Start over from what the WAL still has rather than refuse to
             * start: the archive is intact, only window state is lost. */
            fl_log(FL_LOG_WARN, "metrics", "metric state is damaged (%s); "
                    "windows restart from the write-ahead log", lerr.msg);
            seq = 0;
            rc = FL_OK;
        } else if (rc < 0) {
            goto fail;
        }
        if (note[0] != '\0')
            fl_log(FL_LOG_WARN, "metrics", "%s", note);
        m->loaded_seq = m->processed_seq = seq;
    } else if (rc != -ENOENT) {
        fl_err_set(err, rc, "cannot read the metric state in %s/"
                   FL_METRIC_STORE_DIR ": %s", cfg->archive_dir,
                   fl_strerror(rc));
        goto fail;
    }
    rc = fl_metric_store_cleanup(cfg->archive_dir, m->live, m->n_live);
    if (rc > 0)
        fl_log(FL_LOG_WARN, "metrics", "removed %d uncommitted metric "
                "file(s); their values are rebuilt from the write-ahead "
                "log", rc);
    m->next_no = fl_metric_store_last(cfg->archive_dir) + 1;
    atomic_store(&m->persisted_seq, m->loaded_seq);

    /* Alarms. */
    if (cfg->n_alarm_sections > 0) {
        rc = fl_alarm_defs_from_config(cfg->alarm_sections,
                                       cfg->n_alarm_sections, &defs, &n_defs,
                                       err);
        if (rc < 0)
            goto fail;
        if ((dir = fl_fs_join(cfg->archive_dir, "_flowlake/alarms")) == NULL) {
            rc = FL_ENOMEM;
            goto fail;
        }
        rc = fl_alarms_create(defs, n_defs, m->stream, dir, &m->alarms,
                              err);
        if (rc < 0)
            goto fail;
        defs = NULL;                     /* the alarms own them */
    }
done:
    *out = m;
    rc = FL_OK;
    goto out;
fail:
    if (err->msg[0] == '\0')
        fl_err_set(err, rc, "%s", rc == FL_ENOMEM ? FL_OOM_TEXT
                                                  : fl_strerror(rc));
    fl_metrics_destroy(m);
out:
    fl_alarm_defs_free(defs, n_defs);
    fl_plan_free(&plans);
    fl_free(blob);
    fl_free(dir);
    return rc;
}


int
fl_metrics_replay(struct fl_metrics *m, const char *text, size_t len,
                  const char *format, uint64_t seq, uint64_t arrival_ms)
{
    if (m == NULL || m->stream == NULL || seq <= m->loaded_seq)
        return FL_OK;
    int64_t arrival = arrival_ms ? (int64_t)(arrival_ms / 1000) : fl_time_now();
    return fold(m, text, len, format, seq, arrival);
}


int
fl_metrics_start(struct fl_metrics *m)
{
    if (m == NULL || m->stream == NULL)
        return FL_OK;
    int rc = pthread_create(&m->thread, NULL, stream_main, m);
    if (rc != 0)
        return -rc;
    m->started = 1;
    return FL_OK;
}


void
fl_metrics_enqueue(struct fl_metrics *m, struct fl_buffer_block *list,
                   uint64_t arrival_ms)
{
    if (m == NULL || m->stream == NULL)
        return;
    for (struct fl_buffer_block *b = list; b != NULL; b = b->next) {
        struct item *it = fl_calloc(1, sizeof *it);
        if (it == NULL) {
            fl_log(FL_LOG_ERROR, "metrics", "out of memory: WAL record %"
                    PRIu64 " is archived but not counted in metrics",
                    b->wal_seq);
            continue;
        }
        fl_buffer_block_hold(b);
        it->blk = b;
        it->arrival = (int64_t)(arrival_ms / 1000);
        pthread_mutex_lock(&m->qmu);
        while (m->qbytes > QUEUE_MAX_BYTES && m->started && !m->stop)
            pthread_cond_wait(&m->qroom, &m->qmu);
        if (m->head == NULL)
            atomic_store(&m->oldest_queued_ms, (int64_t)arrival_ms);
        *m->tail = it;
        m->tail = &it->next;
        m->qbytes += b->len;
        pthread_cond_signal(&m->qcond);
        pthread_mutex_unlock(&m->qmu);
    }
}


uint64_t
fl_metrics_persisted_seq(const struct fl_metrics *m)
{
    return m != NULL && m->stream != NULL ? atomic_load(&m->persisted_seq)
                                          : UINT64_MAX;
}


void
fl_metrics_stop(struct fl_metrics *m)
{
    if (m == NULL || !m->started)
        return;
    pthread_mutex_lock(&m->qmu);
    m->stop = 1;
    pthread_cond_broadcast(&m->qcond);
    pthread_cond_broadcast(&m->qroom);
    pthread_mutex_unlock(&m->qmu);
    pthread_join(m->thread, NULL);
    m->started = 0;
}


void
fl_metrics_destroy(struct fl_metrics *m)
{
    if (m == NULL)
        return;
    fl_metrics_stop(m);
    fl_query_close(m->q);         /* no request uses it any more */
    fl_metric_cache_destroy(m->cache);
    fl_alarms_destroy(m->alarms, 2000);
    fl_stream_destroy(m->stream);
    fl_batch_destroy(m->batch);
    fl_format_destroy(m->fmt);
    fl_free(m->fmt_spec);
    for (struct item *it = m->head, *next; it != NULL; it = next) {
        next = it->next;
        fl_buffer_block_release(it->blk);
        fl_free(it);
    }
    rows_free(&m->pending);
    rows_free(&m->committing);
    fl_free(m->live);
    for (size_t i = 0; i < m->last_cap; i++)
        fl_metric_row_free(&m->last[i].row);
    fl_free(m->last);
    if (m->sync_made) {
        pthread_cond_destroy(&m->qroom);
        pthread_cond_destroy(&m->qcond);
        pthread_mutex_destroy(&m->q_mu);
        pthread_mutex_destroy(&m->qmu);
        pthread_mutex_destroy(&m->mu);
    }
    fl_free(m);
}


/* ---- reading ---------------------------------------------------------- */

static void
collect_open(void *ctx, const struct fl_metric_value *v)
{
    struct rows *r = ctx;
    if (rows_push(r, v) < 0)
        r->cap = SIZE_MAX;        /* remembered as FL_OOM_TEXT */
}


/* Whether metric is one of the n named (n 0: every metric). */
static int
metric_wanted(const char *metric, const char *const *names, size_t n)
{
    if (n == 0)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (strcmp(metric, names[i]) == 0)
            return 1;
    return 0;
}


int
fl_metrics_rows(struct fl_metrics *m, const char *const *metrics,
                size_t n_metrics, struct fl_metric_row **out, size_t *n)
{
    struct rows r = { 0 };
    int rc = FL_OK;

    *out = NULL;
    *n = 0;
    if (m == NULL || m->stream == NULL)
        return FL_OK;
    pthread_mutex_lock(&m->mu);
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        const struct rows *src = pass ? &m->pending : &m->committing;
        for (size_t i = 0; i < src->n && rc == 0; i++) {
            const struct fl_metric_row *x = &src->v[i];
            if (!metric_wanted(x->metric, metrics, n_metrics))
                continue;
            struct fl_metric_value v = {
                .metric = x->metric, .n_dims = x->n_dims,
                .dim_names = (const char *const *)x->dim_names,
                .dim_values = (const char *const *)x->dim_values,
                .window_start = x->window_start,
                .window_end = x->window_end, .value = x->value,
                .has_value = x->has_value, .final = x->final,
                .exact = x->exact, .records = x->records,
            };
            rc = rows_push(&r, &v);
        }
    }
    if (rc == 0) {
        struct rows open = { 0 };
        fl_stream_each_open(m->stream, collect_open, &open);
        if (open.cap == SIZE_MAX) {
            open.cap = open.n;
            rc = FL_ENOMEM;
        }
        for (size_t i = 0; i < open.n && rc == 0; i++) {
            if (!metric_wanted(open.v[i].metric, metrics, n_metrics))
                continue;
            /* Moved, not copied: open's rows are ours. */
            if (r.n == r.cap) {
                struct fl_metric_row *p = fl_grow(r.v, &r.cap, r.n + 1,
                                                  sizeof *p, 64);
                if (p == NULL) {
                    rc = FL_ENOMEM;
                    break;
                }
                r.v = p;
            }
            r.v[r.n++] = open.v[i];
            memset(&open.v[i], 0, sizeof open.v[i]);
        }
        rows_free(&open);
    }
    pthread_mutex_unlock(&m->mu);
    if (rc < 0) {
        rows_free(&r);
        return rc;
    }
    *out = r.v;
    *n = r.n;
    return FL_OK;
}


void
fl_metrics_rows_free(struct fl_metric_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fl_metric_row_free(&rows[i]);
    fl_free(rows);
}


struct fl_alarms *
fl_metrics_alarms(struct fl_metrics *m)
{
    return m != NULL ? m->alarms : NULL;
}


const struct fl_metric_plans *
fl_metrics_plans(struct fl_metrics *m)
{
    return m != NULL && m->stream != NULL ? fl_stream_plans(m->stream) : NULL;
}
