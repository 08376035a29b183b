/* SPDX-License-Identifier: MIT
 *
 * recover.c -- what the pipeline finds on disk at open (see pipeline.h):
 * the dedupe file, then the write-ahead log, replayed into the buffer.
 *
 * Exactly once across crashes: every accepted block is in the WAL before
 * its source is answered. A publish records "WAL up to sequence N is in
 * the archive" atomically with its files (the sink's contract), then
 * checkpoints the WAL to N. At open, the WAL replays what is above that
 * mark into the buffer -- so a crash between publishing and checkpointing
 * publishes nothing twice, and a crash before publishing loses nothing.
 *
 * Retries across restarts: the dedupe keys of a request ride in its WAL
 * record, and replay remembers them. Before a checkpoint drops records
 * from the log, the keys still within server.dedupe_horizon are saved to
 * ARCHIVE/_flowlake/dedupe (dedupe.c), which the open loads before the
 * replay adds the rest. A damaged dedupe file stops the start: going on
 * with an empty memory would store retries twice without a word.
 */
#include "../core/fl_config.h"

#include <stdio.h>
#include <string.h>

#include "../config/config.h"
#include "../core/fl_error.h"
#include "../core/fl_fs.h"
#include "../core/fl_log.h"
#include "../core/fl_mem.h"
#include "../sinks/sink.h"
#include "pipeline_int.h"
#include "walrec.h"


/* Replay context: records above the archive's WAL mark go back into the
 * buffer, a request at a time -- the pieces of one request are collected
 * and applied only when all are there (a request that failed half-way was
 * answered with an error and must not come back partly). */
struct replay {
    struct fl_pipeline     *pl;
    uint64_t                published;
    struct fl_buffer_block *pending, **tail;   /* pieces of one request */
    unsigned                got, want;
    uint64_t               *keys;              /* its dedupe keys */
    unsigned                kind;              /* its source kind */
    size_t                  n_keys;
    uint64_t                arrival_ms;        /* when it was accepted */
    uint64_t                first_seq;         /* its first record */
    char                   *hold;              /* held: its description */
    uint64_t                dropped;           /* torn requests skipped */
};


static void
drop_pending(struct replay *r)
{
    if (r->got > 0)
        r->dropped++;
    fl_buffer_block_free_list(r->pending);
    fl_free(r->keys);
    fl_free(r->hold);
    r->hold = NULL;
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

    if (kind == FL_WALREC_SETTLE)
        return fl_held_replay_settle(r->pl, seq, r->published, payload, len);
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
        r->first_seq = seq;
        if (rec.hold != NULL && (r->hold = fl_strdup(rec.hold)) == NULL)
            return FL_ENOMEM;
        r->kind = rec.source_kind;
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
        rc = fl_buffer_block_create(r->pl->buffer, rec.text, rec.text_len,
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

    /* A held request: held again, whatever the archive's mark (it was
     * never buffered); its settle record, if one follows, decides. */
    if (r->hold != NULL) {
        uint64_t records = 0;
        for (struct fl_buffer_block *b = r->pending; b != NULL; b = b->next)
            records += b->records;
        rc = fl_held_add(r->pl, r->first_seq, r->hold, r->pending, records);
        r->pending = NULL;
        r->got = 0;
        drop_pending(r);
        return rc;
    }
    /* The whole request: remember its ids (a sender's retry is recognised
     * after a restart, published or not), and buffer what the archive
     * does not have yet. */
    for (size_t i = 0; i < r->n_keys; i++) {
        if (r->arrival_ms > 0)
            fl_dedupe_add_at(fl_pipeline_dedupe_of(r->pl, r->kind),
                             r->keys[i], r->arrival_ms);
        else                           /* a version 1 record: no time */
            fl_dedupe_add(fl_pipeline_dedupe_of(r->pl, r->kind), r->keys[i]);
    }
    /* The metric state may be older than the archive's mark (or newer):
     * each sink takes what it lacks. */
    for (struct fl_buffer_block *b = r->pending; b != NULL; b = b->next) {
        if (r->pl->tap.replayed != NULL
            && (rc = r->pl->tap.replayed(r->pl->tap.ctx, b,
                                         r->arrival_ms)) < 0)
            return rc;
    }
    if (seq > r->published) {
        for (struct fl_buffer_block *b = r->pending; b != NULL; b = b->next)
            r->pl->replayed += b->records;
        fl_buffer_add_list(r->pl->buffer, r->pending);
        r->pending = NULL;
    }
    r->got = 0;                               /* complete: not "dropped" */
    drop_pending(r);
    return FL_OK;
}


/* Opens the WAL and puts back into the buffer what the archive lacks. */
static int
open_wal(struct fl_pipeline *pl, struct fl_err *err)
{
    const struct fl_config *cfg = pl->cfg;
    char *dir = cfg->wal_dir[0] ? fl_strdup(cfg->wal_dir)
                                : fl_fs_join(cfg->archive_dir, "_flowlake/wal");
    struct replay r = { .pl = pl };
    r.tail = &r.pending;
    struct fl_wal_recovery rec;
    int rc;

    if (dir == NULL)
        return fl_err_oom(err);
    if ((rc = pl->sink->ops->wal_seq(pl->sink, &r.published, err)) < 0)
        goto out;
    if ((rc = fl_fs_mkdirs(dir)) < 0) {
        fl_err_set(err, rc, "cannot create %s: %s", dir, fl_strerror(rc));
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
    pl->wal_max_record = (size_t)max_record;
    /* A record must hold at least one line with its header, format and
     * source description. */
    if (max_record < cfg->max_line + 16384) {
        rc = fl_err_set(err, FL_ECONFIG, "wal.segment_size %llu is too small for "
                 "server.max_line %llu: a write-ahead-log record (at most half "
                 "a segment) must hold a line; raise wal.segment_size to at "
                 "least %llu", (unsigned long long)cfg->wal_segment_size,
                 (unsigned long long)cfg->max_line,
                 (unsigned long long)(2 * (cfg->max_line + 16384)));
        goto out;
    }
    rc = fl_wal_open(dir, &opts, replay_record, &r, &rec, &pl->wal);
    drop_pending(&r);              /* a torn request at the very end */
    if (r.dropped > 0)
        fl_log(FL_LOG_WARN, "wal", "skipped %llu incomplete request(s) "
                "in the write-ahead log (they were answered with an error)",
                (unsigned long long)r.dropped);
    if (rc < 0) {
        if (rc == FL_ECORRUPT && rec.checkpoint_damaged)
            fl_err_set(err, rc, "the write-ahead log checkpoint in %s is "
                     "unreadable; inspect it with `flowlake wal-check %s`",
                     dir, dir);
        else if (rc == FL_ECORRUPT)
            fl_err_set(err, rc, "the write-ahead log in %s is damaged (%s in "
                     "%s at byte %llu); inspect it with `flowlake wal-check %s`",
                     dir, rec.reason ? rec.reason : "corruption",
                     rec.damage_segment, (unsigned long long)rec.damage_offset,
                     dir);
        else
            fl_err_set(err, rc, "cannot open the write-ahead log in %s: %s",
                     dir, fl_strerror(rc));
        goto out;
    }
    if (rec.damage == FL_WAL_DAMAGE_TORN)
        fl_log(FL_LOG_WARN, "wal", "cut a torn write-ahead-log tail of "
                "%llu bytes (never acknowledged)",
                (unsigned long long)rec.dropped_bytes);
    if (pl->replayed > 0)
        fl_log(FL_LOG_INFO, "wal", "recovered %llu records from the "
                "write-ahead log", (unsigned long long)pl->replayed);
    size_t held = fl_pipeline_each_held(pl, NULL, NULL);
    if (held > 0)
        fl_log(FL_LOG_INFO, "wal", "%zu request(s) in the write-ahead log "
               "wait for their source to settle them (kept or dropped)",
               held);
    /* A crash between publishing and checkpointing: catch the WAL up. */
    atomic_store(&pl->published_seq, r.published);
    fl_pipeline_checkpoint(pl);
out:
    fl_free(dir);
    return rc;
}


/* Loads a dedupe file into set (its path, ARCHIVE/NAME, kept in *path),
 * before the WAL replay adds the keys of the records still in the log. */
static int
load_dedupe(struct fl_pipeline *pl, struct fl_dedupe *set, const char *name,
            char **path, struct fl_err *err)
{
    char reason[256] = "", *dir;
    int rc;
    dir = fl_fs_join(pl->cfg->archive_dir, "_flowlake");
    *path = fl_fs_join(pl->cfg->archive_dir, name);
    if (dir == NULL || *path == NULL) {
        fl_free(dir);
        return fl_err_oom(err);
    }
    if ((rc = fl_fs_mkdirs(dir)) < 0) {
        fl_err_set(err, rc, "cannot create %s: %s", dir, fl_strerror(rc));
        fl_free(dir);
        return rc;
    }
    fl_free(dir);
    rc = fl_dedupe_load_file(set, *path, reason, sizeof reason);
    if (rc == FL_ECORRUPT)
        fl_err_set(err, rc, "the dedupe file %s is damaged (%s); not "
                 "starting, since retries of deliveries already acknowledged "
                 "could be stored twice. To start with an empty dedupe "
                 "memory, move the file aside (retries from the last "
                 "server.dedupe_horizon may then be stored twice)",
                 *path, reason);
    else if (rc < 0)
        fl_err_set(err, rc, "cannot read the dedupe file %s: %s", *path,
                   reason);
    return rc;
}


int
fl_pipeline_recover(struct fl_pipeline *pl, struct fl_err *err)
{
    int rc = load_dedupe(pl, pl->dedupe, "_flowlake/dedupe",
                         &pl->dedupe_path, err);
    if (rc == 0)
        rc = load_dedupe(pl, pl->kafka_dedupe, "_flowlake/dedupe-kafka",
                         &pl->kafka_dedupe_path, err);
    return rc < 0 ? rc : open_wal(pl, err);
}
