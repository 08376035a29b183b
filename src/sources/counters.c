/* SPDX-License-Identifier: MIT
 *
 * counters.c -- each source's totals and rates (see counters.h).
 *
 * The rates are two rings: one-second slots for the last minute and
 * one-minute slots for the last hour, each slot stamped with the second or
 * minute it counts, so that a slot left from an earlier lap reads as 0
 * without anything having to clear it.
 */
#include "../core/fl_config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "counters.h"

#define RATE_SECONDS 64              /* > 60: the last minute always fits */

struct totals {
    _Atomic uint64_t requests;
    _Atomic uint64_t records;
    _Atomic uint64_t bytes;
    _Atomic uint64_t rejected;
    _Atomic uint64_t duplicates;
    _Atomic int64_t  last_request;
};

struct rate {
    int64_t  sec_t[RATE_SECONDS];
    uint64_t sec_records[RATE_SECONDS], sec_rejected[RATE_SECONDS];
    int64_t  min_t[FL_SOURCE_RATE_MINUTES];
    uint64_t min_records[FL_SOURCE_RATE_MINUTES];
    uint64_t min_rejected[FL_SOURCE_RATE_MINUTES];
};

struct fl_source_counters {
    struct totals   totals[FL_SOURCE_COUNT];
    pthread_mutex_t rate_mu;
    struct rate     rates[FL_SOURCE_COUNT];
};


int
fl_source_counters_create(struct fl_source_counters **out)
{
    struct fl_source_counters *c = fl_calloc(1, sizeof *c);
    if (c == NULL)
        return FL_ENOMEM;
    int rc = pthread_mutex_init(&c->rate_mu, NULL);
    if (rc != 0) {
        fl_free(c);
        return -rc;
    }
    *out = c;
    return FL_OK;
}


void
fl_source_counters_destroy(struct fl_source_counters *c)
{
    if (c == NULL)
        return;
    pthread_mutex_destroy(&c->rate_mu);
    fl_free(c);
}


void
fl_source_counters_request(struct fl_source_counters *c,
                           enum fl_source_kind kind, uint64_t bytes)
{
    atomic_fetch_add(&c->totals[kind].requests, 1);
    atomic_fetch_add(&c->totals[kind].bytes, bytes);
    atomic_store(&c->totals[kind].last_request, fl_time_now());
}


void
fl_source_counters_records(struct fl_source_counters *c,
                           enum fl_source_kind kind, uint64_t accepted,
                           uint64_t rejected)
{
    if (accepted == 0 && rejected == 0)
        return;
    atomic_fetch_add(&c->totals[kind].records, accepted);
    atomic_fetch_add(&c->totals[kind].rejected, rejected);
    int64_t now = fl_time_now(), min = now / 60;
    size_t i = (size_t)(now % RATE_SECONDS);
    size_t j = (size_t)(min % FL_SOURCE_RATE_MINUTES);
    pthread_mutex_lock(&c->rate_mu);
    struct rate *r = &c->rates[kind];
    if (r->sec_t[i] != now) {             /* a slot of an earlier lap */
        r->sec_t[i] = now;
        r->sec_records[i] = r->sec_rejected[i] = 0;
    }
    r->sec_records[i] += accepted;
    r->sec_rejected[i] += rejected;
    if (r->min_t[j] != min) {
        r->min_t[j] = min;
        r->min_records[j] = r->min_rejected[j] = 0;
    }
    r->min_records[j] += accepted;
    r->min_rejected[j] += rejected;
    pthread_mutex_unlock(&c->rate_mu);
}


void
fl_source_counters_duplicates(struct fl_source_counters *c,
                              enum fl_source_kind kind, uint64_t n)
{
    atomic_fetch_add(&c->totals[kind].duplicates, n);
}


void
fl_source_counters_totals(struct fl_source_counters *c,
                          enum fl_source_kind kind,
                          struct fl_source_totals *out)
{
    const struct totals *t = &c->totals[kind];
    *out = (struct fl_source_totals) {
        .requests = atomic_load(&t->requests),
        .records = atomic_load(&t->records),
        .bytes = atomic_load(&t->bytes),
        .rejected = atomic_load(&t->rejected),
        .duplicates = atomic_load(&t->duplicates),
        .last_request = atomic_load(&t->last_request),
    };
}


void
fl_source_counters_rates(struct fl_source_counters *c,
                         enum fl_source_kind kind, int64_t now,
                         struct fl_source_rates *out)
{
    int64_t min = now / 60;
    memset(out, 0, sizeof *out);
    out->first_minute = min - (FL_SOURCE_RATE_MINUTES - 1);
    pthread_mutex_lock(&c->rate_mu);
    const struct rate *r = &c->rates[kind];
    /* The last minute: the 60 seconds up to and including this one. */
    for (size_t i = 0; i < RATE_SECONDS; i++) {
        if (r->sec_t[i] > now - 60 && r->sec_t[i] <= now) {
            out->last_minute_records += r->sec_records[i];
            out->last_minute_rejected += r->sec_rejected[i];
        }
    }
    for (size_t k = 0; k < FL_SOURCE_RATE_MINUTES; k++) {
        int64_t m = out->first_minute + (int64_t)k;
        size_t j = (size_t)(((m % FL_SOURCE_RATE_MINUTES)
                             + FL_SOURCE_RATE_MINUTES)
                            % FL_SOURCE_RATE_MINUTES);
        if (m >= 0 && r->min_t[j] == m) {
            out->minute_records[k] = r->min_records[j];
            out->minute_rejected[k] = r->min_rejected[j];
        }
    }
    pthread_mutex_unlock(&c->rate_mu);
}
