/* SPDX-License-Identifier: MIT
 *
 * alarm_stream.c -- fl_alarms_create: the alarms over a stream engine's
 * metrics. The lookup asks fl_stream_metric_info for a metric's window
 * length and its plan's GROUP BY columns (their SQL names are the
 * dimension names of the metric's values). Kept apart from alarms.c so
 * that code linking the alarm runtime without an engine (the unit tests)
 * does not pull the engine in.
 */
#include "../core/fl_config.h"

#include <errno.h>

#include "../core/fl_error.h"
#include "../parse/fields.h"
#include "../stream/stream.h"
#include "alarm_int.h"


static int
stream_lookup(void *ctx, const char *metric, int64_t *window, size_t *n_dims,
              const char **names, size_t cap)
{
    const struct fl_stream *s = ctx;
    const struct fl_metric_plan *plan = NULL;
    enum fl_time_basis basis;
    if (fl_stream_metric_info(s, metric, window, &basis, &plan) < 0)
        return -ENOENT;
    *n_dims = plan != NULL ? plan->n_dims : 0;
    for (size_t i = 0; i < *n_dims && i < cap; i++) {
        const struct fl_field_def *f = fl_field_get(plan->dims[i]);
        names[i] = f != NULL ? f->sql_name : "?";
    }
    return FL_OK;
}


int
fl_alarms_create(struct fl_alarm_def *defs, size_t n,
                 const struct fl_stream *stream, const char *state_dir,
                 struct fl_alarms **out, char *err, size_t errlen)
{
    /* The lookup's context is only read. */
    union { const struct fl_stream *c; void *v; } u = { stream };
    return fl_alarms_create_with_lookup(defs, n, stream_lookup, u.v,
                                        state_dir, out, err, errlen);
}
