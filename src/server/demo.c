/* SPDX-License-Identifier: MIT
 *
 * demo.c -- `flowlake serve --demo`: a thread that feeds the running
 * server realistic generated traffic (src/gen), through the same ingestion
 * path as POST /ingest (validation, write-ahead log, buffer), so that a
 * newcomer sees records arrive, get published and become queryable.
 *
 * Every DEMO_PERIOD it generates the flows of the last period, with start
 * times spread over it, a new seed each time (so the data keeps moving
 * but a given run is reproducible from its start time).
 */
#include "../core/fl_config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "../gen/generate.h"
#include "server_int.h"

#define DEMO_PERIOD_SECONDS 1

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

    while (!atomic_load(&s->stopping) && atomic_load(&s->accepting)) {
        struct fl_gen_opts o;
        struct fl_ingest_result res;
        fl_gen_opts_init(&o);
        o.seed = (uint64_t)fl_time_now() ^ (round++ << 32);
        o.records = s->demo_rate * DEMO_PERIOD_SECONDS;
        o.span = DEMO_PERIOD_SECONDS;
        o.start = fl_time_now() - DEMO_PERIOD_SECONDS;
        t.len = 0;
        if (fl_gen_write(&o, collect, &t) == 0 && t.len > 0) {
            atomic_fetch_add(&s->sources[FL_SOURCE_DEMO].requests, 1);
            atomic_fetch_add(&s->sources[FL_SOURCE_DEMO].bytes, t.len);
            fl_server_ingest(s, FL_SOURCE_DEMO, "demo generator", t.p, t.len,
                             NULL, NULL, 0, &res);
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
