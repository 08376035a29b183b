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

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../core/fl_error.h"
#include "../core/fl_log.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "../gen/generate.h"
#include "server_int.h"

#define DEMO_PERIOD_SECONDS 1
#define DEMO_DELAY          70      /* a minute's aggregation + delivery */
#define DEMO_MIN_AGE        10
#define DEMO_BURST_EVERY    1800    /* seconds: at :05 and :35 past the hour */
#define DEMO_BURST_OFFSET   300
#define DEMO_BURST_MINUTES  3
#define DEMO_BURST_SCAN_PPM 250000

struct text {
    char  *p;
    size_t len, cap;
};


static int
collect(void *ctx, const char *buf, size_t len)
{
    struct text *t = ctx;
    if (t->len + len > t->cap) {
        size_t ncap = (t->cap + len) * 2;
        char *p = fl_realloc(t->p, ncap);
        if (p == NULL)
            return FL_ENOMEM;
        t->p = p;
        t->cap = ncap;
    }
    memcpy(t->p + t->len, buf, len);
    t->len += len;
    return FL_OK;
}


static void *
demo_main(void *arg)
{
    struct fl_server *s = arg;
    struct text t = { 0 };
    uint64_t round = 0;
    int failing = 0;
    const uint64_t world = (uint64_t)fl_time_now() | 1;   /* non-zero */

    while (!atomic_load(&s->stopping) && atomic_load(&s->accepting)) {
        struct fl_gen_opts o;
        struct fl_ingest_result res;
        fl_gen_opts_init(&o);
        int64_t now = fl_time_now();
        o.world_seed = world;
        o.seed = (uint64_t)now ^ (round++ << 32);
        o.records = s->demo_rate * DEMO_PERIOD_SECONDS;
        o.span = DEMO_PERIOD_SECONDS;
        o.start = now - DEMO_DELAY;
        o.not_after = now - DEMO_MIN_AGE;
        if ((now - DEMO_BURST_OFFSET) % DEMO_BURST_EVERY
            < DEMO_BURST_MINUTES * 60)
            o.scan_ppm = DEMO_BURST_SCAN_PPM;
        t.len = 0;
        if (fl_gen_write(&o, collect, &t) == 0 && t.len > 0) {
            fl_server_count_request(s, FL_SOURCE_DEMO);
            atomic_fetch_add(&s->sources[FL_SOURCE_DEMO].bytes, t.len);
            fl_server_ingest(s, FL_SOURCE_DEMO, "demo generator", t.p, t.len,
                             NULL, NULL, 0, NULL, 0, &res);
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
    fl_free(t.p);
    return NULL;
}


int
fl_demo_start(struct fl_server *s)
{
    int rc = pthread_create(&s->demo, NULL, demo_main, s);
    if (rc != 0)
        return -rc;
    s->demo_started = 1;
    return FL_OK;
}


void
fl_demo_stop(struct fl_server *s)
{
    if (s->demo_started) {
        pthread_join(s->demo, NULL);
        s->demo_started = 0;
    }
}
