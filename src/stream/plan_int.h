/* SPDX-License-Identifier: MIT
 *
 * plan_int.h -- declarations shared by plan.c and the metric-SQL compiler
 * (sql.c, sql_compile.c) only.
 */
#ifndef FL_PLAN_INT_H
#define FL_PLAN_INT_H

#include "plan.h"

/* Frees a predicate tree (NULL is a no-op). */
void fl_plan_pred_free(struct fl_pred *p);

/* Frees what one plan owns and zeroes it (not the struct itself). */
void fl_plan_one_free(struct fl_metric_plan *p);

#endif /* FL_PLAN_INT_H */
