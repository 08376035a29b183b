/* SPDX-License-Identifier: MIT
 *
 * demo.c -- `flowlake serve --demo`: a thread that feeds the running
 * server realistic generated traffic (src/gen), through the same ingestion
 * path as POST /ingest (validation, write-ahead log, buffer), so that a
 * newcomer sees records arrive, get published and become queryable.
 *
 * Every DEMO_PERIOD it generates a period's flows about one network (the
 * generator's world, fixed for the run: a few hundred interfaces, as a
 * real VPC has, not a new population every second) with a new seed for
 * the traffic each time. The flows are as old as a CloudWatch Logs
 * delivery makes them: they start DEMO_DELAY seconds ago and none ends
 * after DEMO_MIN_AGE seconds ago, so the ingest lag is positive, as with
 * real deliveries. Twice an hour a scanner burst (DEMO_BURST_MINUTES
 * minutes in which a quarter of the records are port scans, nearly all
 * REJECT) gives the rejected-traffic metrics something to show.
 */
#include "../core/fl_config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../core/fl_buf.h"
#include "../core/fl_error.h"
#include "../core/fl_log.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "../gen/generate.h"
#include "counters.h"
#include "demo.h"

#define DEMO_PERIOD_SECONDS 1
#define DEMO_DELAY          70      /* a minute's aggregation + delivery */
#define DEMO_MIN_AGE        10
#define DEMO_BURST_EVERY    1800    /* seconds: at :05 and :35 past the hour */
#define DEMO_BURST_OFFSET   300
#define DEMO_BURST_MINUTES  3
#define DEMO_BURST_SCAN_PPM 250000

struct fl_demo {
    struct fl_source_env env;
    uint64_t             rate;        /* records per second */
    pthread_t            thread;
};


static void *
demo_main(void *arg)
{
    struct fl_demo *d = arg;
    const struct fl_source_env *env = &d->env;
    struct fl_buf t = { 0 };
    uint64_t round = 0;
    int failing = 0;
    const uint64_t world = (uint64_t)fl_time_now() | 1;   /* non-zero */

    while (env->running(env->ctx)) {
        struct fl_gen_opts o;
        struct fl_ingest_result res;
        fl_gen_opts_init(&o);
        int64_t now = fl_time_now();
        o.world_seed = world;
        o.seed = (uint64_t)now ^ (round++ << 32);
        o.records = d->rate * DEMO_PERIOD_SECONDS;
        o.span = DEMO_PERIOD_SECONDS;
        o.start = now - DEMO_DELAY;
        o.not_after = now - DEMO_MIN_AGE;
        if ((now - DEMO_BURST_OFFSET) % DEMO_BURST_EVERY
            < DEMO_BURST_MINUTES * 60)
            o.scan_ppm = DEMO_BURST_SCAN_PPM;
        fl_buf_reset(&t);
        if (fl_gen_write(&o, fl_buf_sink, &t) == 0 && t.len > 0) {
            fl_source_counters_request(env->counters, FL_SOURCE_DEMO, t.len);
            env->ingest(env->ctx, FL_SOURCE_DEMO, "demo generator", t.p,
                        t.len, NULL, NULL, 0, NULL, 0, &res);
            /* Nobody to answer: said in the log when it starts and
             * stops failing (a full WAL would otherwise log every
             * second). Generated records are not retried. */
            if ((res.err.code != 0) != failing) {
                failing = res.err.code != 0;
                if (failing)
                    fl_log(FL_LOG_WARN, "demo", "generated records not "
                           "taken: %s", fl_err_msg(&res.err));
                else
                    fl_log(FL_LOG_INFO, "demo", "generated records taken "
                           "again");
            }
        }
        struct timespec nap = { DEMO_PERIOD_SECONDS, 0 };
        nanosleep(&nap, NULL);
    }
    fl_buf_free(&t);
    return NULL;
}


int
fl_demo_start(const struct fl_source_env *env, uint64_t records_per_second,
              struct fl_demo **out)
{
    struct fl_demo *d = fl_calloc(1, sizeof *d);
    if (d == NULL)
        return FL_ENOMEM;
    d->env = *env;
    d->rate = records_per_second;
    int rc = pthread_create(&d->thread, NULL, demo_main, d);
    if (rc != 0) {
        fl_free(d);
        return -rc;
    }
    *out = d;
    return FL_OK;
}


void
fl_demo_stop(struct fl_demo *d)
{
    if (d == NULL)
        return;
    pthread_join(d->thread, NULL);
    fl_free(d);
}
