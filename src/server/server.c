/* SPDX-License-Identifier: MIT
 *
 * server.c -- lifecycle of `flowlake serve` and its publisher thread (see
 * server.h).
 *
 * The publisher waits on the buffer (buffer.c) until archive.buffer_size
 * bytes are buffered or the oldest block has waited
 * archive.buffer_interval, takes every block and writes them into the
 * archive with the same pipeline as `flowlake convert`
 * (fl_archive_write_blocks: Parquet, hourly partitions, atomic publish). A
 * publish that fails (disk full, say) is reported in /api/status and
 * retried with the blocks put back -- buffered records are never dropped.
 */
#include "../core/fl_config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../archive/convert.h"
#include "../core/fl_error.h"
#include "../core/fl_fs.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "server.h"
#include "server_int.h"

/* Wait after a failed publish before trying again. */
#define RETRY_SECONDS 5


const char *
fl_source_name(enum fl_source_kind kind)
{
    switch (kind) {
    case FL_SOURCE_INGEST: return "ingest";
    case FL_SOURCE_COUNT:  break;
    }
    return "?";
}


/* Writes one list of blocks; returns 0 or <0 (blocks untouched). */
static int
publish(struct fl_server *s, struct fl_buffer_block *list)
{
    size_t n = 0, i = 0;
    for (struct fl_buffer_block *b = list; b != NULL; b = b->next)
        n++;
    struct fl_archive_block *blocks = fl_calloc(n, sizeof *blocks);
    if (blocks == NULL)
        return FL_ENOMEM;
    for (struct fl_buffer_block *b = list; b != NULL; b = b->next, i++) {
        blocks[i].text = b->text;
        blocks[i].len = b->len;
        blocks[i].format_spec = b->format;
        blocks[i].source = b->source;
    }
    struct fl_convert_stats st;
    char *err = NULL;
    int rc = fl_archive_write_blocks(s->cfg->archive_dir, blocks, n, 0, &st,
                                     &err);
    fl_free(blocks);
    if (rc < 0) {
        pthread_mutex_lock(&s->err_mu);
        snprintf(s->last_error, sizeof s->last_error, "publish failed: %s",
                 err ? err : fl_strerror(rc));
        pthread_mutex_unlock(&s->err_mu);
        fprintf(stderr, "flowlake serve: publish failed: %s (retrying in %d s)\n",
                err ? err : fl_strerror(rc), RETRY_SECONDS);
        fl_free(err);
        atomic_fetch_add(&s->publish_failures, 1);
        return rc;
    }
    atomic_fetch_add(&s->files_published, st.files_written);
    atomic_fetch_add(&s->records_published, st.records_written);
    atomic_store(&s->last_publish, fl_time_now());
    return FL_OK;
}


static void *
publisher_main(void *arg)
{
    struct fl_server *s = arg;
    for (;;) {
        struct fl_buffer_block *list = fl_buffer_wait_take(s->buffer);
        if (list != NULL) {
            if (publish(s, list) == 0) {
                fl_buffer_block_free_list(list);
            } else {
                fl_buffer_put_back(s->buffer, list);
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
    pthread_mutex_init(&s->err_mu, NULL);
    if ((rc = fl_fs_mkdirs(cfg->archive_dir)) < 0) {
        snprintf(err, sizeof err, "cannot create %s: %s", cfg->archive_dir,
                 fl_strerror(rc));
        goto fail;
    }
    if ((rc = fl_buffer_create((size_t)cfg->buffer_size, cfg->buffer_interval,
                               &s->buffer)) < 0)
        goto fail;
    struct fl_civil c;
    fl_time_to_civil(fl_time_now(), &c);
    snprintf(name, sizeof name, "_errors/serve-%04d%02d%02dT%02d%02d%02dZ-%d.jsonl",
             c.year, c.month, c.day, c.hour, c.minute, c.second, (int)getpid());
    rej = fl_fs_join(cfg->archive_dir, name);
    if (rej == NULL || (rc = fl_rejects_create(rej, &s->rejects)) < 0) {
        rc = FL_ENOMEM;
        goto fail;
    }
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
    if ((rc = pthread_create(&s->publisher, NULL, publisher_main, s)) != 0) {
        rc = -rc;
        snprintf(err, sizeof err, "cannot start the publisher: %s",
                 fl_strerror(rc));
        goto fail;
    }
    s->publisher_started = 1;
    if ((rc = fl_http_start(s, err, sizeof err)) < 0)
        goto fail;
    return FL_OK;
fail:
    atomic_store(&s->accepting, 0);
    if (out_err != NULL)
        *out_err = fl_strdup(err[0] ? err : fl_strerror(rc));
    return rc;
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
    /* libmicrohttpd finishes the requests in flight before it returns. */
    fl_http_stop(s);
    atomic_store(&s->stopping, 1);
    if (s->publisher_started) {
        fl_buffer_wake(s->buffer);
        pthread_join(s->publisher, NULL);
        s->publisher_started = 0;
    }
    size_t bytes;
    uint64_t records;
    fl_buffer_stats(s->buffer, &bytes, &records);
    (void)fl_rejects_close(s->rejects);
    return records == 0 ? FL_OK : FL_EAGAIN;
}


void
fl_server_destroy(struct fl_server *s)
{
    if (s == NULL)
        return;
    fl_http_stop(s);
    fl_buffer_destroy(s->buffer);
    fl_rejects_destroy(s->rejects);
    pthread_mutex_destroy(&s->err_mu);
    fl_free(s);
}
