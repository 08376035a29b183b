/* SPDX-License-Identifier: MIT
 *
 * sink.h -- where the server's publisher puts what it takes from the
 * buffer. The local Parquet archive is the sink (local.c). Object storage
 * is not a sink but a copy of the archive kept in step through the
 * archive's outbox (archive/outbox.h, s3/uploader.h): the archive changes
 * after publishing too (compaction, retention), and queries read the local
 * files. Whatever the sink, its contract is the one
 * exactly-once across crashes rests on:
 *
 *   publish  makes a run of blocks visible as a whole together with the
 *            write-ahead-log position it covers (wal_seq): after a crash
 *            the run is either entirely there with its mark, or it can be
 *            finished or dropped by the next start -- never half of it
 *            with the mark;
 *   wal_seq  the highest position the sink holds (finishing a run a crash
 *            interrupted first), so that the server replays from the log
 *            only what the sink does not have.
 *
 * The publisher's hook (convert.h struct fl_publish_hook) is called around
 * the instant the run becomes visible: the server makes "the files
 * appear" and "the buffer forgets the blocks" one step for its queries.
 *
 * Thread: one publisher calls publish; wal_seq before it starts.
 */
#ifndef FL_SINK_H
#define FL_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "../archive/convert.h"

struct fl_sink;

struct fl_sink_ops {
    const char *name;               /* "local" */
    /* Writes blocks[0..n) as one run covering the log up to wal_seq.
     * Returns 0, or <0 with err set. */
    int  (*publish)(struct fl_sink *sk, const struct fl_archive_block *blocks,
                    size_t n, uint64_t wal_seq,
                    const struct fl_publish_hook *hook,
                    struct fl_convert_stats *stats, struct fl_err *err);
    /* The highest log position the sink holds. Returns 0, or <0 with err
     * set. */
    int  (*wal_seq)(struct fl_sink *sk, uint64_t *out, struct fl_err *err);
    void (*destroy)(struct fl_sink *sk);
};

struct fl_sink {
    const struct fl_sink_ops *ops;
};

/* The local archive under archive_dir (copied), as `flowlake convert`
 * writes it. Returns 0 or FL_ENOMEM. */
int  fl_sink_local_create(const char *archive_dir, struct fl_sink **out);

/* NULL: no-op. */
static inline void
fl_sink_destroy(struct fl_sink *sk)
{
    if (sk != NULL)
        sk->ops->destroy(sk);
}

#endif /* FL_SINK_H */
