/* SPDX-License-Identifier: MIT
 *
 * fuzz_metric_sql.c -- libFuzzer target for the metric-SQL compiler
 * (src/stream/sql*.c): any input either compiles to plans whose shape is
 * sane, or fails with a non-empty "origin:line:col: message". Plans are
 * freed; LeakSanitizer checks nothing is left.
 */
#include "../src/core/fl_config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/fl_error.h"
#include "../src/parse/fields.h"
#include "../src/stream/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_pred(const struct fl_pred *p)
{
    if (p == NULL)
        abort();
    switch (p->kind) {
    case FL_PRED_AND:
    case FL_PRED_OR:
        check_pred(p->a);
        check_pred(p->b);
        return;
    case FL_PRED_NOT:
        check_pred(p->a);
        return;
    case FL_PRED_CMP:
    case FL_PRED_IN:
        if (p->n_lits == 0 || (p->kind == FL_PRED_CMP && p->n_lits != 1))
            abort();
        break;
    case FL_PRED_CIDR:
        if ((p->cidr.family != 4 || p->cidr.prefix > 32)
            && (p->cidr.family != 6 || p->cidr.prefix > 128))
            abort();
        break;
    default:
        break;
    }
    if (fl_field_get(p->column) == NULL)
        abort();
    for (size_t i = 0; i < p->n_lits; i++)
        if ((fl_field_get(p->column)->type == FL_TYPE_STRING)
            != (p->lits[i].s != NULL))
            abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fl_metric_plans plans = { 0, NULL };
    struct fl_err fe = FL_ERR_INIT;
    char *err = fe.msg;
    int rc = fl_plan_compile((const char *)data, size, "fuzz.sql", 60,
                             FL_TIME_START, &plans, &fe);
    if (rc != 0) {
        if (strncmp(err, "fuzz.sql:", 9) != 0 || plans.plan != NULL)
            abort();                /* every failure says where and why */
        return 0;
    }
    for (size_t i = 0; i < plans.n; i++) {
        const struct fl_metric_plan *p = &plans.plan[i];
        if (p->window < 1 || p->window > 7 * 86400 || p->n_aggs == 0
            || p->name == NULL || p->text == NULL || p->line < 1)
            abort();
        for (size_t k = 0; k < p->n_aggs; k++)
            if (p->aggs[k].metric == NULL)
                abort();
        if (p->where != NULL)
            check_pred(p->where);
    }
    fl_plan_free(&plans);
    return 0;
}
