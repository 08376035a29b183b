/* SPDX-License-Identifier: MIT
 *
 * alarm_int.h -- declarations shared by the files of the alarm module
 * (evaluate.c, defs.c, alarms.c, actions.c, alarm_stream.c); not a
 * contract for anyone else.
 */
#ifndef FL_ALARM_INT_H
#define FL_ALARM_INT_H

#include <stddef.h>
#include <stdint.h>

#include "alarm.h"

/* Most dimensions a series may have, and most windows in a range. */
#define FL_ALARM_MAX_DIMS   30
#define FL_ALARM_MAX_RANGE  1440
#define FL_ALARM_MAX_ACTIONS 5          /* per kind, CloudWatch's limit */
#define FL_ALARM_REASON_MAX 1024        /* CloudWatch's StateReason: 1023 */

/* fl_alarm_evaluate with the values behind the points, for the reason
 * text: values[i] and starts[i] (window start, epoch seconds) of every
 * point, and the comparison (cmp NULL: the generic wording of
 * fl_alarm_evaluate, values and starts unused and may be NULL). */
enum fl_alarm_state fl_alarm_evaluate_detail(
    const enum fl_alarm_point *points, const double *values,
    const int64_t *starts, size_t range, unsigned n, unsigned m,
    enum fl_alarm_missing treat, enum fl_alarm_state current,
    const enum fl_alarm_cmp *cmp, double threshold,
    char *reason, size_t reasonlen);

/* Whether value <cmp> threshold holds (the value is the first operand). */
int  fl_alarm_breaches(enum fl_alarm_cmp cmp, double value, double threshold);

/* A number as the reasons and JSON show it: "1500.0", "0.25". */
void fl_alarm_fmt_num(double v, char *buf, size_t len);

/* "2026-11-29T18:30:00Z". */
void fl_alarm_fmt_iso(int64_t t, char *buf, size_t len);

/* ------------------------------------------------------------------ */
/* The action worker (actions.c). */

enum fl_alarm_job_kind {
    FL_JOB_LOG,
    FL_JOB_COMMAND,
    FL_JOB_WEBHOOK
};

/* One action to run. Every string is owned by the job. */
struct fl_alarm_job {
    enum fl_alarm_job_kind kind;
    size_t      alarm;          /* index, for the per-alarm failure count */
    char       *target;         /* URL, command, or the log line */
    char       *body;           /* JSON body (webhook, command stdin) */
    char       *env_alarm, *env_old, *env_new, *env_reason, *env_metric;
    uint64_t    timeout_ms;
    unsigned    retries;
    uint64_t    backoff_ms;
};

/* Called on the worker thread after a command or webhook finished. */
typedef void fl_alarm_done_fn(void *ctx, size_t alarm, int ok);

struct fl_alarm_worker;

#define FL_ALARM_QUEUE_MAX 1000

/* Starts the worker thread. Returns 0, -ENOMEM or -errno. */
int  fl_alarm_worker_create(fl_alarm_done_fn *done, void *ctx,
                            struct fl_alarm_worker **out);

/* Queues a job (taken). When the queue holds FL_ALARM_QUEUE_MAX jobs the
 * oldest is dropped, counted and reported on stderr; when that was a
 * command or webhook, returns 1 and its alarm index in *dropped_alarm
 * (the caller counts it as failed: done is not called for it, so that the
 * caller may hold its own lock here). Else returns 0. */
int  fl_alarm_worker_push(struct fl_alarm_worker *w, struct fl_alarm_job *j,
                          size_t *dropped_alarm);

/* Runs what is queued for at most drain_ms more, then stops the thread
 * (interrupting backoff waits) and frees everything. NULL is a no-op. */
void fl_alarm_worker_destroy(struct fl_alarm_worker *w, uint64_t drain_ms);

/* Jobs dropped because the queue was full. */
uint64_t fl_alarm_worker_dropped(struct fl_alarm_worker *w);

void fl_alarm_job_free(struct fl_alarm_job *j);

#endif /* FL_ALARM_INT_H */
