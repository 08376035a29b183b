/* SPDX-License-Identifier: MIT
 *
 * plan_stub.c -- TEMPORARY: fl_plan_free and fl_time_basis_name of plan.h
 * until the metric-SQL compiler (branch stream-sql, plan.c/sql.c) lands.
 * The engine owns its plans and frees them with fl_plan_free, so it needs
 * one to link. Delete this file when merging stream-sql (its plan.c
 * defines both functions).
 */
#include "../core/fl_config.h"

#include "../core/fl_mem.h"
#include "plan.h"


static void
pred_free(struct fl_pred *p)
{
    if (p == NULL)
        return;
    pred_free(p->a);
    pred_free(p->b);
    for (size_t i = 0; i < p->n_lits; i++)
        fl_free(p->lits[i].s);
    fl_free(p->lits);
    fl_free(p);
}


void
fl_plan_free(struct fl_metric_plans *plans)
{
    if (plans == NULL)
        return;
    for (size_t i = 0; i < plans->n; i++) {
        struct fl_metric_plan *p = &plans->plan[i];
        fl_free(p->name);
        fl_free(p->text);
        fl_free(p->dims);
        pred_free(p->where);
        for (size_t a = 0; a < p->n_aggs; a++)
            fl_free(p->aggs[a].metric);
        fl_free(p->aggs);
    }
    fl_free(plans->plan);
    plans->plan = NULL;
    plans->n = 0;
}


const char *
fl_time_basis_name(enum fl_time_basis t)
{
    switch (t) {
    case FL_TIME_START:   return "start";
    case FL_TIME_END:     return "end";
    case FL_TIME_ARRIVAL: return "arrival";
    }
    return "?";
}
