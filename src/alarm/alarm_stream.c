/* SPDX-License-Identifier: MIT
 *
 * alarm_stream.c -- fl_alarms_create and fl_alarm_defs_check: alarms over
 * compiled metric plans (a stream engine's, or a metrics file's in
 * `flowlake config check`). Kept apart from alarms.c so
 * that code linking the alarm runtime without an engine (the unit tests)
 * does not pull the engine in.
 */
#include "../core/fl_config.h"

#include <errno.h>
#include <string.h>

#include "../core/fl_error.h"
#include "../parse/fields.h"
#include "../stream/stream.h"
#include "alarm_int.h"


/* The lookup over compiled plans: the window length and GROUP BY columns
 * (their SQL names are the dimension names of the metric's values) of
 * the plan that produces the metric. */
static int
plans_lookup(void *ctx, const char *metric, int64_t *window, size_t *n_dims,
             const char **names, size_t cap)
{
    const struct fl_metric_plans *plans = ctx;
    for (size_t p = 0; p < plans->n; p++) {
        const struct fl_metric_plan *plan = &plans->plan[p];
        for (size_t a = 0; a < plan->n_aggs; a++) {
            if (strcmp(plan->aggs[a].metric, metric) != 0)
                continue;
            *window = plan->window;
            *n_dims = plan->n_dims;
            for (size_t i = 0; i < plan->n_dims && i < cap; i++) {
                const struct fl_field_def *f = fl_field_get(plan->dims[i]);
                names[i] = f != NULL ? f->sql_name : "?";
            }
            return FL_OK;
        }
    }
    return -ENOENT;
}


int
fl_alarms_create(struct fl_alarm_def *defs, size_t n,
                 const struct fl_stream *stream, const char *state_dir,
                 struct fl_alarms **out, struct fl_err *err)
{
    /* The lookup's context is only read. */
    union { const struct fl_metric_plans *c; void *v; } u = {
        fl_stream_plans(stream)
    };
    return fl_alarms_create_with_lookup(defs, n, plans_lookup, u.v,
                                        state_dir, out, err);
}


int
fl_alarm_defs_check(const struct fl_alarm_def *defs, size_t n,
                    const struct fl_metric_plans *plans, struct fl_err *err)
{
    union { const struct fl_metric_plans *c; void *v; } u = { plans };
    return fl_alarm_defs_check_lookup(defs, n, plans_lookup, u.v, err);
}
