/* SPDX-License-Identifier: MIT
 *
 * server.c -- lifecycle of `flowlake serve` and its publisher thread (see
 * server.h).
 *
 * The publisher waits on the buffer (buffer.c) until archive.buffer_size
 * bytes are buffered or the oldest block has waited
 * archive.buffer_interval, takes every block and hands them to the sink
 * (sinks/sink.h; the local archive: the same code as `flowlake convert`,
 * Parquet, hourly partitions, atomic publish). A
 * publish that fails (disk full, say) is reported in /api/status and
 * retried with the blocks put back -- buffered records are never dropped.
 *
 * Exactly once across crashes: every accepted block is in the write-ahead
 * log before its 200. A publish records "WAL up to sequence N is in the
 * archive" atomically with its files (the sink's contract), then
 * checkpoints the WAL to N. On start, the WAL replays what is above both
 * marks into the buffer -- so a crash between publishing and checkpointing
 * publishes nothing twice, and a crash before publishing loses nothing.
 *
 * Retries across restarts: the dedupe keys of a request ride in its WAL
 * record, and replay remembers them. Before a checkpoint drops records
 * from the log, the keys still within server.dedupe_horizon are saved to
 * ARCHIVE/_flowlake/dedupe (dedupe.c), which a start loads before the
 * replay adds the rest. A damaged dedupe file stops the start: going on
 * with an empty memory would store retries twice without a word.
 */
#define _GNU_SOURCE 1   /* pthread_rwlockattr_setkind_np: a writer-first lock */
#include "../core/fl_config.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../archive/convert.h"
#include "../core/fl_error.h"
#include "../core/fl_fs.h"
#include "../core/fl_log.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "../query/query.h"
#include "../metrics/metrics.h"
#include "../sinks/sink.h"
#include "server.h"
#include "server_int.h"
#include "../pipeline/walrec.h"

/* Wait after a failed publish before trying again. */
#define RETRY_SECONDS 5


static void
hook_before(void *ctx)
{
    struct fl_server *s = ctx;
    pthread_rwlock_wrlock(&s->snap_lock);
}


/* The files are in the archive: the in-flight blocks stop being "live" in
 * the same exclusive section, so no query sees them twice or not at all. */
static void
hook_after(void *ctx, int ok)
{
    struct fl_server *s = ctx;
    if (ok)
        s->inflight = NULL;
    pthread_rwlock_unlock(&s->snap_lock);
}


/* Writes one list of blocks; returns 0 or <0 (blocks untouched). */
static int
publish(struct fl_server *s, struct fl_buffer_block *list)
{
    struct fl_publish_hook hook = { hook_before, hook_after, s };
    size_t n = 0, i = 0;
    uint64_t mark = 0;
    for (struct fl_buffer_block *b = list; b != NULL; b = b->next) {
        n++;
        if (b->wal_seq > mark)
            mark = b->wal_seq;
    }
    struct fl_archive_block *blocks = fl_calloc(n, sizeof *blocks);
    struct fl_provenance *prov = fl_calloc(n, sizeof *prov);
    if (blocks == NULL || prov == NULL) {
        fl_free(blocks);
        fl_free(prov);
        return FL_ENOMEM;
    }
    for (struct fl_buffer_block *b = list; b != NULL; b = b->next, i++)
        fl_buffer_block_archive(b, &prov[i], &blocks[i]);
    struct fl_convert_stats st;
    char *err = NULL;
    double t0 = fl_time_mono();
    int rc = s->sink->ops->publish(s->sink, blocks, n, mark, &hook, &st,
                                   &err);
    fl_free(blocks);
    fl_free(prov);
    /* The attempt, for the status page's list of publishes. */
    struct fl_publish_entry pe = {
        .time = fl_time_now(), .seconds = fl_time_mono() - t0,
        .blocks = n, .wal_seq = mark, .ok = rc == 0,
    };
    if (rc < 0) {
        snprintf(pe.error, sizeof pe.error, "%s", err ? err : fl_strerror(rc));
        fl_server_note_publish(s, &pe);
        pthread_mutex_lock(&s->err_mu);
        snprintf(s->last_error, sizeof s->last_error, "publish failed: %s",
                 err ? err : fl_strerror(rc));
        pthread_mutex_unlock(&s->err_mu);
        /* Logged when publishing stops working, not at every retry; the
         * failures are counted in /api/status. */
        if (!s->publish_failing)
            fl_log(FL_LOG_ERROR, "publish", "publish failed: %s (retrying "
                    "every %d s)", err ? err : fl_strerror(rc),
                    RETRY_SECONDS);
        s->publish_failing = 1;
        fl_free(err);
        atomic_fetch_add(&s->publish_failures, 1);
        return rc;
    }
    if (s->publish_failing) {
        s->publish_failing = 0;
        fl_log(FL_LOG_INFO, "publish", "publishing works again (%llu failed "
                "attempts so far)",
                (unsigned long long)atomic_load(&s->publish_failures));
    }
    fl_log(FL_LOG_INFO, "publish", "%llu record%s in %llu file%s (%.1f MB) "
           "in %.2f s, up to WAL record %llu",
           (unsigned long long)st.records_written,
           st.records_written == 1 ? "" : "s",
           (unsigned long long)st.files_written,
           st.files_written == 1 ? "" : "s", st.bytes_written / 1e6,
           st.seconds, (unsigned long long)mark);
    /* The rejects file prints only the first lines of a run itself; a
     * server runs for months, so each publish sums up what came since. */
    uint64_t rejected = fl_rejects_count(s->rejects);
    if (rejected > s->rejects_logged) {
        fl_log(FL_LOG_WARN, "rejects", "%llu line%s rejected since the last "
               "publish (%llu since start); they are in %s/%s",
               (unsigned long long)(rejected - s->rejects_logged),
               rejected - s->rejects_logged == 1 ? "" : "s",
               (unsigned long long)rejected, s->cfg->archive_dir,
               s->rejects_name);
        s->rejects_logged = rejected;
    }
    pe.records = st.records_written;
    pe.files = st.files_written;
    pe.bytes = st.bytes_written;
    fl_server_note_publish(s, &pe);
    atomic_fetch_add(&s->files_published, st.files_written);
    atomic_fetch_add(&s->records_published, st.records_written);
    atomic_fetch_add(&s->bytes_published, st.bytes_written);
    atomic_store(&s->last_publish, fl_time_now());
    /* The archive already says the records are in; the WAL checkpoint only
     * frees space (a failure here costs disk, never correctness). */
    if (mark > atomic_load(&s->published_seq))
        atomic_store(&s->published_seq, mark);
    fl_server_checkpoint(s);
    return FL_OK;
}


void
fl_server_checkpoint(struct fl_server *s)
{
    uint64_t mark = atomic_load(&s->published_seq);
    uint64_t metrics = fl_metrics_persisted_seq(s->metrics);
    struct fl_wal_stats ws;
    if (metrics < mark)
        mark = metrics;
    pthread_mutex_lock(&s->ckpt_mu);
    fl_wal_stats(s->wal, &ws);
    if (mark > ws.checkpoint && mark < ws.next_seq) {
        /* The dedupe keys of the records about to leave the log go to the
         * dedupe file first; without it, no checkpoint (disk is cheaper
         * than a retry stored twice). */
        int rc = fl_dedupe_dirty(s->dedupe)
               ? fl_dedupe_save(s->dedupe, s->dedupe_path) : FL_OK;
        if (rc < 0) {
            fl_log(FL_LOG_ERROR, "wal", "cannot save %s: %s; the "
                    "write-ahead log is not checkpointed", s->dedupe_path,
                    fl_strerror(rc));
            pthread_mutex_unlock(&s->ckpt_mu);
            return;
        }
        rc = fl_wal_checkpoint(s->wal, mark);
        if (rc < 0)
            fl_log(FL_LOG_ERROR, "wal", "WAL checkpoint to %llu failed: "
                    "%s", (unsigned long long)mark, fl_strerror(rc));
    }
    pthread_mutex_unlock(&s->ckpt_mu);
}


static void *
publisher_main(void *arg)
{
    struct fl_server *s = arg;
    for (;;) {
        fl_buffer_wait_due(s->buffer);
        /* Taken and marked in flight in one step for the live view. */
        pthread_rwlock_wrlock(&s->snap_lock);
        struct fl_buffer_block *list = fl_buffer_take(s->buffer);
        s->inflight = list;
        uint64_t taken = 0;
        for (const struct fl_buffer_block *b = list; b != NULL; b = b->next)
            taken += b->records;
        atomic_store(&s->inflight_records, taken);
        pthread_rwlock_unlock(&s->snap_lock);
        if (list != NULL) {
            int prc = publish(s, list);
            atomic_store(&s->inflight_records, 0);
            if (prc == 0) {
                fl_buffer_block_free_list(list);
            } else {
                pthread_rwlock_wrlock(&s->snap_lock);
                s->inflight = NULL;
                fl_buffer_put_back(s->buffer, list);
                pthread_rwlock_unlock(&s->snap_lock);
                if (!atomic_load(&s->stopping))
                    sleep(RETRY_SECONDS);
                else
                    break;         /* stopping: report, do not loop */
            }
        }
        if (atomic_load(&s->stopping)) {
            /* One last pass for whatever arrived meanwhile. */
            size_t bytes;
            uint64_t records;
            fl_buffer_stats(s->buffer, &bytes, &records);
            if (records == 0)
                break;
            fl_buffer_wake(s->buffer);
        }
    }
    return NULL;
}


/* Replay context: records above the archive's WAL mark go back into the
 * buffer, a request at a time -- the pieces of one request are collected
 * and applied only when all are there (a request that failed half-way was
 * answered with an error and must not come back partly). */
struct replay {
    struct fl_server       *s;
    uint64_t                published;
    struct fl_buffer_block *pending, **tail;   /* pieces of one request */
    unsigned                got, want;
    uint64_t               *keys;              /* its dedupe keys */
    size_t                  n_keys;
    uint64_t                arrival_ms;        /* when it was accepted */
    uint64_t                dropped;           /* torn requests skipped */
};


static void
drop_pending(struct replay *r)
{
    if (r->got > 0)
        r->dropped++;
    fl_buffer_block_free_list(r->pending);
    fl_free(r->keys);
    r->pending = NULL;
    r->tail = &r->pending;
    r->keys = NULL;
    r->n_keys = 0;
    r->got = r->want = 0;
}


static int
replay_record(void *ctx, uint64_t seq, unsigned kind, const void *payload,
              size_t len)
{
    struct replay *r = ctx;
    struct fl_walrec rec;
    struct fl_buffer_block *blk = NULL;
    char *format = NULL, *source = NULL;
    int rc;

    if (kind != FL_WALREC_BLOCK)
        return FL_OK;
    if ((rc = fl_walrec_decode(payload, len, &rec)) < 0) {
        fl_log(FL_LOG_WARN, "wal", "WAL record %llu is not a block "
                "record; skipped", (unsigned long long)seq);
        return FL_OK;
    }
    if (rec.piece == 0)
        drop_pending(r);                      /* a new request begins */
    else if (rec.piece != r->got || rec.pieces != r->want) {
        drop_pending(r);                      /* an orphan piece */
        r->dropped++;
        return FL_OK;
    }
    if (rec.piece == 0) {
        r->want = rec.pieces;
        r->arrival_ms = rec.arrival_ms;
        if (rec.n_keys > 0) {
            r->keys = fl_calloc(rec.n_keys, sizeof *r->keys);
            if (r->keys == NULL)
                return FL_ENOMEM;
            for (size_t i = 0; i < rec.n_keys; i++)
                r->keys[i] = fl_walrec_key(&rec, i);
            r->n_keys = rec.n_keys;
        }
    }
    format = rec.format ? fl_strndup(rec.format, rec.format_len) : NULL;
    source = fl_strndup(rec.source, rec.source_len);
    if ((rec.format && format == NULL) || source == NULL)
        rc = FL_ENOMEM;
    else
        rc = fl_buffer_block_create(r->s->buffer, rec.text, rec.text_len,
                                    format, source, rec.records, seq, &blk);
    if (rc == 0 && (rc = fl_buffer_block_set_provenance(blk, &rec.prov)) < 0)
        fl_buffer_block_free_list(blk);
    fl_free(format);
    fl_free(source);
    if (rc < 0)
        return rc;
    *r->tail = blk;
    r->tail = &blk->next;
    if (++r->got < r->want)
        return FL_OK;

    /* The whole request: remember its ids (a sender's retry is recognised
     * after a restart, published or not), and buffer what the archive
     * does not have yet. */
    for (size_t i = 0; i < r->n_keys; i++) {
        if (r->arrival_ms > 0)
            fl_dedupe_add_at(r->s->dedupe, r->keys[i], r->arrival_ms);
        else                           /* a version 1 record: no time */
            fl_dedupe_add(r->s->dedupe, r->keys[i]);
    }
    /* The metric state may be older than the archive's mark (or newer):
     * each sink takes what it lacks. */
    for (struct fl_buffer_block *b = r->pending; b != NULL; b = b->next) {
        rc = fl_metrics_replay(r->s->metrics, b->text, b->len, b->format,
                               b->wal_seq, r->arrival_ms);
        if (rc < 0)
            return rc;
    }
    if (seq > r->published) {
        for (struct fl_buffer_block *b = r->pending; b != NULL; b = b->next)
            r->s->replayed += b->records;
        fl_buffer_add_list(r->s->buffer, r->pending);
        r->pending = NULL;
    }
    r->got = 0;                               /* complete: not "dropped" */
    drop_pending(r);
    return FL_OK;
}


/* Opens the WAL and puts back into the buffer what the archive lacks. */
static int
open_wal(struct fl_server *s, char *err, size_t errlen)
{
    const struct fl_config *cfg = s->cfg;
    char *dir = cfg->wal_dir[0] ? fl_strdup(cfg->wal_dir)
                                : fl_fs_join(cfg->archive_dir, "_flowlake/wal");
    char *aerr = NULL;
    struct replay r = { .s = s };
    r.tail = &r.pending;
    struct fl_wal_recovery rec;
    int rc;

    if (dir == NULL)
        return FL_ENOMEM;
    if ((rc = s->sink->ops->wal_seq(s->sink, &r.published, &aerr)) < 0) {
        snprintf(err, errlen, "%s", aerr ? aerr : fl_strerror(rc));
        goto out;
    }
    if ((rc = fl_fs_mkdirs(dir)) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", dir, fl_strerror(rc));
        goto out;
    }
    uint64_t max_record = cfg->wal_segment_size / 2;
    if (max_record > FL_WAL_DEFAULT_MAX_RECORD)
        max_record = FL_WAL_DEFAULT_MAX_RECORD;
    struct fl_wal_options opts = {
        .segment_size = cfg->wal_segment_size,
        .max_bytes = cfg->wal_max_size,
        .max_record = (uint32_t)max_record,
    };
    s->wal_max_record = (size_t)max_record;
    /* A record must hold at least one line with its header, format and
     * source description. */
    if (max_record < cfg->max_line + 16384) {
        snprintf(err, errlen, "wal.segment_size %llu is too small for "
                 "server.max_line %llu: a write-ahead-log record (at most half "
                 "a segment) must hold a line; raise wal.segment_size to at "
                 "least %llu", (unsigned long long)cfg->wal_segment_size,
                 (unsigned long long)cfg->max_line,
                 (unsigned long long)(2 * (cfg->max_line + 16384)));
        rc = FL_ECONFIG;
        goto out;
    }
    rc = fl_wal_open(dir, &opts, replay_record, &r, &rec, &s->wal);
    drop_pending(&r);              /* a torn request at the very end */
    if (r.dropped > 0)
        fl_log(FL_LOG_WARN, "wal", "skipped %llu incomplete request(s) "
                "in the write-ahead log (they were answered with an error)",
                (unsigned long long)r.dropped);
    if (rc < 0) {
        if (rc == FL_ECORRUPT && rec.checkpoint_damaged)
            snprintf(err, errlen, "the write-ahead log checkpoint in %s is "
                     "unreadable; inspect it with `flowlake wal-check %s`",
                     dir, dir);
        else if (rc == FL_ECORRUPT)
            snprintf(err, errlen, "the write-ahead log in %s is damaged (%s in "
                     "%s at byte %llu); inspect it with `flowlake wal-check %s`",
                     dir, rec.reason ? rec.reason : "corruption",
                     rec.damage_segment, (unsigned long long)rec.damage_offset,
                     dir);
        else
            snprintf(err, errlen, "cannot open the write-ahead log in %s: %s",
                     dir, fl_strerror(rc));
        goto out;
    }
    if (rec.damage == FL_WAL_DAMAGE_TORN)
        fl_log(FL_LOG_WARN, "wal", "cut a torn write-ahead-log tail of "
                "%llu bytes (never acknowledged)",
                (unsigned long long)rec.dropped_bytes);
    if (s->replayed > 0)
        fl_log(FL_LOG_INFO, "wal", "recovered %llu records from the "
                "write-ahead log", (unsigned long long)s->replayed);
    /* A crash between publishing and checkpointing: catch the WAL up. */
    atomic_store(&s->published_seq, r.published);
    fl_server_checkpoint(s);
out:
    fl_free(aerr);
    fl_free(dir);
    return rc;
}


/* Loads the dedupe file, before the WAL replay adds the keys of the
 * records still in the log. */
static int
load_dedupe(struct fl_server *s, char *err, size_t errlen)
{
    char reason[256] = "", *dir;
    int rc;
    dir = fl_fs_join(s->cfg->archive_dir, "_flowlake");
    s->dedupe_path = fl_fs_join(s->cfg->archive_dir, "_flowlake/dedupe");
    if (dir == NULL || s->dedupe_path == NULL) {
        fl_free(dir);
        return FL_ENOMEM;
    }
    if ((rc = fl_fs_mkdirs(dir)) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", dir, fl_strerror(rc));
        fl_free(dir);
        return rc;
    }
    fl_free(dir);
    rc = fl_dedupe_load_file(s->dedupe, s->dedupe_path, reason,
                             sizeof reason);
    if (rc == FL_ECORRUPT)
        snprintf(err, errlen, "the dedupe file %s is damaged (%s); not "
                 "starting, since retries of deliveries already acknowledged "
                 "could be stored twice. To start with an empty dedupe "
                 "memory, move the file aside (retries from the last "
                 "server.dedupe_horizon may then be stored twice)",
                 s->dedupe_path, reason);
    else if (rc < 0)
        snprintf(err, errlen, "cannot read the dedupe file %s: %s",
                 s->dedupe_path, reason);
    return rc;
}


/* The server's mutexes, condition and snapshot lock, every result
 * checked: all made (0), or none (-errno, those made destroyed). */
static int
init_locks(struct fl_server *s)
{
    pthread_mutex_t *mus[] = {
        &s->err_mu, &s->rate_mu, &s->pub_mu, &s->append_mu, &s->query_mu,
        &s->ckpt_mu,
    };
    size_t n = 0;
    int rc = 0;

    for (; n < sizeof mus / sizeof mus[0]; n++)
        if ((rc = pthread_mutex_init(mus[n], NULL)) != 0)
            goto undo;
    /* Writer first: the publisher must not wait behind a stream of
     * queries taking their snapshots. */
    pthread_rwlockattr_t ra;
    if ((rc = pthread_rwlockattr_init(&ra)) != 0)
        goto undo;
    rc = pthread_rwlockattr_setkind_np(&ra,
        PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    if (rc == 0)
        rc = pthread_rwlock_init(&s->snap_lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    if (rc != 0)
        goto undo;
    if ((rc = pthread_cond_init(&s->query_cv, NULL)) != 0) {
        pthread_rwlock_destroy(&s->snap_lock);
        goto undo;
    }
    return FL_OK;
undo:
    while (n-- > 0)
        pthread_mutex_destroy(mus[n]);
    return -rc;
}


/* The metrics' saved callback: their state is durable up to a newer
 * sequence number, so the WAL may be cut further (metrics/metrics.h). */
static void
metrics_saved(void *ctx)
{
    fl_server_checkpoint(ctx);
}


/* What the sources with a thread of their own are given (sources/
 * source.h): the pipeline's ingest, their counters, the running flag. */
static void
source_ingest(void *ctx, enum fl_source_kind kind, const char *source,
              const char *body, size_t len, const char *format_spec,
              const uint64_t *keys, size_t n_keys,
              const struct fl_prov_seg *segs, size_t n_segs,
              struct fl_ingest_result *res)
{
    fl_server_ingest(ctx, kind, source, body, len, format_spec, keys, n_keys,
                     segs, n_segs, res);
}


static void
source_count_request(void *ctx, enum fl_source_kind kind, uint64_t bytes)
{
    struct fl_server *s = ctx;
    fl_server_count_request(s, kind);
    atomic_fetch_add(&s->sources[kind].bytes, bytes);
}


static int
source_running(void *ctx)
{
    struct fl_server *s = ctx;
    return !atomic_load(&s->stopping) && atomic_load(&s->accepting);
}


/* The metrics' queries_running callback: queries over HTTP may list
 * metric files a merge removed (api_query.c). */
static uint64_t
metrics_queries_running(void *ctx)
{
    return fl_api_query_running(ctx);
}


int
fl_server_create(const struct fl_config *cfg, struct fl_server **out,
                 char **out_err)
{
    struct fl_server *s = fl_calloc(1, sizeof *s);
    char *rej = NULL, *dir = NULL, err[512] = "";
    char name[96];
    int rc;

    if (s == NULL)
        return FL_ENOMEM;
    s->cfg = cfg;
    if ((rc = init_locks(s)) < 0) {
        /* fl_server_destroy would destroy locks never made. */
        snprintf(err, sizeof err, "cannot initialise the server's locks: "
                 "%s", fl_strerror(rc));
        if (out_err != NULL)
            *out_err = fl_strdup(err);
        fl_free(s);
        return rc;
    }
    if ((rc = fl_fs_mkdirs(cfg->archive_dir)) < 0) {
        snprintf(err, sizeof err, "cannot create %s: %s", cfg->archive_dir,
                 fl_strerror(rc));
        goto fail;
    }
    if ((rc = fl_sink_local_create(cfg->archive_dir, &s->sink)) < 0
        || (rc = fl_buffer_create((size_t)cfg->buffer_size,
                                  cfg->buffer_interval, &s->buffer)) < 0
        || (rc = fl_dedupe_create((size_t)cfg->dedupe_max_keys,
                                  cfg->dedupe_horizon * 1000,
                                  &s->dedupe)) < 0)
        goto fail;
    struct fl_civil c;
    fl_time_to_civil(fl_time_now(), &c);
    snprintf(name, sizeof name, "_errors/serve-%04d%02d%02dT%02d%02d%02dZ-%d.jsonl",
             c.year, c.month, c.day, c.hour, c.minute, c.second, (int)getpid());
    snprintf(s->rejects_name, sizeof s->rejects_name, "%s", name);
    rej = fl_fs_join(cfg->archive_dir, name);
    if (rej == NULL) {
        rc = FL_ENOMEM;
        goto fail;
    }
    if ((rc = fl_rejects_create(rej, &s->rejects)) < 0)
        goto fail;             /* its own code: the message is its text */
    struct fl_metrics_options mo = {
        .cfg = cfg, .snap_lock = &s->snap_lock, .ctx = s,
        .saved = metrics_saved, .queries_running = metrics_queries_running,
    };
    if ((rc = fl_metrics_create(&mo, &s->metrics, err, sizeof err)) < 0
        || (rc = load_dedupe(s, err, sizeof err)) < 0
        || (rc = open_wal(s, err, sizeof err)) < 0)
        goto fail;
    fl_free(rej);
    fl_free(dir);
    *out = s;
    return FL_OK;

fail:
    if (out_err != NULL)
        *out_err = fl_strdup(err[0] ? err : fl_strerror(rc));
    fl_free(rej);
    fl_free(dir);
    fl_server_destroy(s);
    return rc;
}


int
fl_server_start(struct fl_server *s, char **out_err)
{
    char err[512] = "";
    int rc;
    s->started = fl_time_mono();
    atomic_store(&s->accepting, 1);
    if ((rc = fl_metrics_start(s->metrics)) < 0) {
        snprintf(err, sizeof err, "cannot start the metrics thread: %s",
                 fl_strerror(rc));
        goto fail;
    }
    if ((rc = pthread_create(&s->publisher, NULL, publisher_main, s)) != 0) {
        rc = -rc;
        snprintf(err, sizeof err, "cannot start the publisher: %s",
                 fl_strerror(rc));
        goto fail;
    }
    s->publisher_started = 1;
    if ((rc = fl_http_start(s, err, sizeof err)) < 0)
        goto fail;
    s->source_env = (struct fl_source_env) {
        .cfg = s->cfg, .dedupe = s->dedupe, .ingest = source_ingest,
        .count_request = source_count_request, .running = source_running,
        .ctx = s,
    };
    if (s->cfg->watch_dir[0] != '\0'
        && (rc = fl_watch_start(&s->source_env, &s->watch)) < 0) {
        snprintf(err, sizeof err, "cannot start the folder source: %s",
                 fl_strerror(rc));
        goto fail;
    }
    if (s->demo_rate > 0
        && (rc = fl_demo_start(&s->source_env, s->demo_rate, &s->demo)) < 0) {
        snprintf(err, sizeof err, "cannot start the demo feeder: %s",
                 fl_strerror(rc));
        goto fail;
    }
    return FL_OK;
fail:
    atomic_store(&s->accepting, 0);
    if (out_err != NULL)
        *out_err = fl_strdup(err[0] ? err : fl_strerror(rc));
    return rc;
}


void
fl_server_set_demo(struct fl_server *s, uint64_t records_per_second)
{
    s->demo_rate = records_per_second;
}


uint16_t
fl_server_port(const struct fl_server *s)
{
    return s->port;
}


int
fl_server_stop(struct fl_server *s)
{
    atomic_store(&s->accepting, 0);
    /* Queries' connections are suspended: they must be answered before
     * libmicrohttpd stops. */
    fl_api_query_stop(s);
    /* libmicrohttpd finishes the requests in flight before it returns. */
    fl_http_stop(s);
    atomic_store(&s->stopping, 1);
    fl_demo_stop(s->demo);
    s->demo = NULL;
    fl_watch_stop(s->watch);
    s->watch = NULL;
    if (s->publisher_started) {
        fl_buffer_wake(s->buffer);
        pthread_join(s->publisher, NULL);
        s->publisher_started = 0;
    }
    /* Folds what is queued and saves the metric state (then the WAL can
     * be checkpointed as far as the archive allows). */
    fl_metrics_stop(s->metrics);
    fl_server_checkpoint(s);
    size_t bytes;
    uint64_t records;
    fl_buffer_stats(s->buffer, &bytes, &records);
    (void)fl_rejects_close(s->rejects);
    /* What is still buffered stays in the WAL for the next start. */
    int rc = fl_wal_close(s->wal);
    s->wal = NULL;
    if (rc < 0)
        fl_log(FL_LOG_ERROR, "wal", "closing the write-ahead log: %s",
                fl_strerror(rc));
    return records == 0 && rc == 0 ? FL_OK : FL_EAGAIN;
}


void
fl_server_destroy(struct fl_server *s)
{
    if (s == NULL)
        return;
    fl_api_query_stop(s);
    fl_http_stop(s);
    atomic_store(&s->accepting, 0);
    atomic_store(&s->stopping, 1);
    /* A start that failed half-way may have started either source. */
    fl_demo_stop(s->demo);
    s->demo = NULL;
    fl_watch_stop(s->watch);
    s->watch = NULL;
    if (s->publisher_started) {
        /* A start that failed half-way: the publisher must be gone before
         * the buffer it waits on is destroyed. */
        fl_buffer_wake(s->buffer);
        pthread_join(s->publisher, NULL);
        s->publisher_started = 0;
    }
    fl_metrics_destroy(s->metrics);     /* no request uses it any more */
    s->metrics = NULL;
    (void)fl_wal_close(s->wal);
    fl_buffer_destroy(s->buffer);
    fl_sink_destroy(s->sink);
    fl_dedupe_destroy(s->dedupe);
    fl_free(s->dedupe_path);
    fl_rejects_destroy(s->rejects);
    pthread_mutex_destroy(&s->append_mu);
    pthread_mutex_destroy(&s->ckpt_mu);
    pthread_rwlock_destroy(&s->snap_lock);
    pthread_mutex_destroy(&s->query_mu);
    pthread_cond_destroy(&s->query_cv);
    pthread_mutex_destroy(&s->err_mu);
    pthread_mutex_destroy(&s->rate_mu);
    pthread_mutex_destroy(&s->pub_mu);
    fl_free(s);
}
