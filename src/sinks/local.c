/* SPDX-License-Identifier: MIT
 *
 * local.c -- the local archive as the server's sink (sink.h): a run is
 * written by the same code as `flowlake convert` (archive/publish.c: the
 * files staged, fsynced, then renamed into their hour folders, with the
 * WAL mark in the same journal), so a reader of the folder sees a file
 * whole or not at all.
 */
#include "../core/fl_config.h"

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "sink.h"

struct local_sink {
    struct fl_sink base;            /* first: a struct fl_sink * is one */
    char          *archive_dir;
};


static int
local_publish(struct fl_sink *sk, const struct fl_archive_block *blocks,
              size_t n, uint64_t wal_seq, const struct fl_publish_hook *hook,
              struct fl_convert_stats *stats, struct fl_err *err)
{
    struct local_sink *ls = (struct local_sink *)sk;
    return fl_archive_write_blocks(ls->archive_dir, blocks, n, wal_seq, hook,
                                   stats, err);
}


static int
local_wal_seq(struct fl_sink *sk, uint64_t *out, struct fl_err *err)
{
    struct local_sink *ls = (struct local_sink *)sk;
    return fl_archive_wal_seq(ls->archive_dir, out, err);
}


static void
local_destroy(struct fl_sink *sk)
{
    struct local_sink *ls = (struct local_sink *)sk;
    fl_free(ls->archive_dir);
    fl_free(ls);
}


static const struct fl_sink_ops local_ops = {
    .name = "local", .publish = local_publish, .wal_seq = local_wal_seq,
    .destroy = local_destroy,
};


int
fl_sink_local_create(const char *archive_dir, struct fl_sink **out)
{
    struct local_sink *ls = fl_calloc(1, sizeof *ls);
    if (ls == NULL || (ls->archive_dir = fl_strdup(archive_dir)) == NULL) {
        fl_free(ls);
        return FL_ENOMEM;
    }
    ls->base.ops = &local_ops;
    *out = &ls->base;
    return FL_OK;
}
