/* SPDX-License-Identifier: MIT
 *
 * demo.h -- the demo source (`serve --demo[=RATE]`): a thread that feeds
 * generated flow logs (gen/) through the real ingest path at RATE records
 * per second, so a newcomer sees data flow with no AWS account.
 */
#ifndef FL_DEMO_H
#define FL_DEMO_H

#include <stdint.h>

#include "source.h"

struct fl_demo;

/* Starts the thread; env is copied. Returns 0, FL_ENOMEM or -errno. */
int  fl_demo_start(const struct fl_source_env *env, uint64_t records_per_second,
                   struct fl_demo **out);

/* Waits for the thread to end (env->running has turned 0) and frees it.
 * NULL: no-op. */
void fl_demo_stop(struct fl_demo *d);

#endif /* FL_DEMO_H */
