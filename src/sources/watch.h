/* SPDX-License-Identifier: MIT
 *
 * watch.h -- the watched-folder source (watch.dir, `serve --watch DIR`):
 * a thread that takes flow-log files appearing in a folder, and follows
 * .log files that grow, exactly once across restarts (watch.c says how;
 * docs/serve.md "The watched folder").
 */
#ifndef FL_WATCH_H
#define FL_WATCH_H

#include "source.h"

struct fl_watch;

/* Starts the thread over env->cfg->watch_dir; env is copied. Returns 0,
 * FL_ENOMEM, or -errno (its state files could not be made). */
int  fl_watch_start(const struct fl_source_env *env, struct fl_watch **out);

/* Waits for the thread to end (env->running has turned 0) and frees it.
 * NULL: no-op. */
void fl_watch_stop(struct fl_watch *w);

#endif /* FL_WATCH_H */
