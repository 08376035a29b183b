/* SPDX-License-Identifier: MIT
 *
 * plan.c -- the parts of plan.h that are not the compiler: freeing and
 * merging compiled plan sets, the time-basis names, and the built-in
 * metrics file. The compiler itself is sql.c (with its stages sql_lex.c,
 * sql_parse.c and sql_compile.c).
 */
#include "../core/fl_config.h"

#include <stdio.h>
#include <string.h>

#include "../core/fl_cidr.h"
#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "plan.h"
#include "plan_int.h"


/* The AWS blog's two aggregations ("Analyze and visualize your VPC network traffic
 * using Amazon Kinesis and Amazon Athena", https://aws.amazon.com/blogs/big-data/analyze-and-visualize-your-vpc-network-traffic-using-amazon-kinesis-and-amazon-athena/) plus an ingest-rate
 * metric, and the three the dashboard's tables read (traffic by action,
 * top talkers, top rejected sources). They name their windows, so the
 * [metrics] window/time defaults
 * do not change them. */
static const char builtin_text[] =
    "-- Built-in metrics of flowlake (docs/metrics.md).\n"
    "\n"
    "-- Rejected TCP packets per 15 minutes of flow start time (the AWS\n"
    "-- blog's first aggregation).\n"
    "CREATE METRIC rejected_tcp_packets AS\n"
    "  SELECT SUM(packets)\n"
    "  FROM flows\n"
    "  WHERE action = 'REJECT' AND protocol = 6\n"
    "  GROUP BY TUMBLE(start, INTERVAL '15' MINUTE);\n"
    "\n"
    "-- Rejected packets by IANA protocol number per 15 minutes (the\n"
    "-- blog's second aggregation).\n"
    "CREATE METRIC rejected_packets_by_protocol AS\n"
    "  SELECT protocol, SUM(packets)\n"
    "  FROM flows\n"
    "  WHERE action = 'REJECT'\n"
    "  GROUP BY protocol, TUMBLE(start, INTERVAL '15' MINUTE);\n"
    "\n"
    "-- Records accepted per minute, by arrival time (ingest rate).\n"
    "CREATE METRIC records_in AS\n"
    "  SELECT COUNT(*)\n"
    "  FROM flows\n"
    "  GROUP BY TUMBLE(arrival, INTERVAL '1' MINUTE);\n"
    "\n"
    "-- Flows, bytes and packets by action per 15 minutes (the\n"
    "-- dashboard's accepted vs rejected).\n"
    "CREATE METRIC traffic_by_action AS\n"
    "  SELECT action, COUNT(*) AS flows, SUM(bytes) AS bytes,\n"
    "         SUM(packets) AS packets\n"
    "  FROM flows\n"
    "  GROUP BY action, TUMBLE(start, INTERVAL '15' MINUTE);\n"
    "\n"
    "-- The 100 sources with the most bytes in each 15 minutes, the rest\n"
    "-- as one 'other' (the dashboard's top talkers).\n"
    "CREATE METRIC top_talkers AS\n"
    "  SELECT srcaddr, SUM(bytes) AS bytes, COUNT(*) AS flows\n"
    "  FROM flows\n"
    "  GROUP BY srcaddr, TUMBLE(start, INTERVAL '15' MINUTE)\n"
    "  ORDER BY bytes DESC LIMIT 100;\n"
    "\n"
    "-- The 100 sources with the most rejected packets in each 15\n"
    "-- minutes, the rest as one 'other'.\n"
    "CREATE METRIC top_rejected_sources AS\n"
    "  SELECT srcaddr, SUM(packets) AS packets, COUNT(*) AS flows\n"
    "  FROM flows\n"
    "  WHERE action = 'REJECT'\n"
    "  GROUP BY srcaddr, TUMBLE(start, INTERVAL '15' MINUTE)\n"
    "  ORDER BY packets DESC LIMIT 100;\n";


const char *
fl_plan_builtin_text(void)
{
    return builtin_text;
}


const char *
fl_time_basis_name(enum fl_time_basis t)
{
    switch (t) {
    case FL_TIME_START: return "start";
    case FL_TIME_END: return "end";
    case FL_TIME_ARRIVAL: return "arrival";
    }
    return "start";
}


void
fl_plan_cidr_get(const struct fl_plan_cidr *p, struct fl_cidr *out)
{
    out->family = p->family;
    memcpy(out->addr, p->addr, sizeof out->addr);
    out->prefix = p->prefix;
}


void
fl_plan_pred_free(struct fl_pred *p)
{
    if (p == NULL)
        return;
    fl_plan_pred_free(p->a);
    fl_plan_pred_free(p->b);
    for (size_t i = 0; i < p->n_lits; i++)
        fl_free(p->lits[i].s);
    fl_free(p->lits);
    fl_free(p);
}


void
fl_plan_one_free(struct fl_metric_plan *p)
{
    fl_free(p->name);
    fl_free(p->text);
    fl_free(p->dims);
    fl_plan_pred_free(p->where);
    for (size_t i = 0; i < p->n_aggs; i++)
        fl_free(p->aggs[i].metric);
    fl_free(p->aggs);
    memset(p, 0, sizeof *p);
}


void
fl_plan_free(struct fl_metric_plans *plans)
{
    if (plans == NULL)
        return;
    for (size_t i = 0; i < plans->n; i++)
        fl_plan_one_free(&plans->plan[i]);
    fl_free(plans->plan);
    plans->plan = NULL;
    plans->n = 0;
}


/* The first name of q (its statement name or an aggregate's metric) that
 * p also uses, or NULL. */
static const char *
name_clash(const struct fl_metric_plan *p, const struct fl_metric_plan *q)
{
    if (strcmp(p->name, q->name) == 0)
        return q->name;
    for (size_t i = 0; i < q->n_aggs; i++) {
        if (strcmp(p->name, q->aggs[i].metric) == 0)
            return q->aggs[i].metric;
        for (size_t j = 0; j < p->n_aggs; j++)
            if (strcmp(p->aggs[j].metric, q->aggs[i].metric) == 0)
                return q->aggs[i].metric;
    }
    for (size_t j = 0; j < p->n_aggs; j++)
        if (strcmp(p->aggs[j].metric, q->name) == 0)
            return q->name;
    return NULL;
}


int
fl_plan_merge(struct fl_metric_plans *dst, struct fl_metric_plans *src,
              struct fl_err *err)
{
    struct fl_metric_plan *grown;
    for (size_t i = 0; i < src->n; i++) {
        const struct fl_metric_plan *q = &src->plan[i];
        for (size_t j = 0; j < dst->n + i; j++) {
            const struct fl_metric_plan *p =
                j < dst->n ? &dst->plan[j] : &src->plan[j - dst->n];
            const char *clash = name_clash(p, q);
            if (clash != NULL)
                return fl_err_set(err, FL_ECONFIG, "duplicate metric name "
                                  "%s (CREATE METRIC %s at line %d and "
                                  "CREATE METRIC %s at line %d)", clash,
                                  p->name, p->line, q->name, q->line);
        }
    }
    if (src->n == 0)
        return 0;
    grown = fl_realloc(dst->plan, (dst->n + src->n) * sizeof *grown);
    if (grown == NULL)
        return FL_ENOMEM;
    memcpy(grown + dst->n, src->plan, src->n * sizeof *grown);
    dst->plan = grown;
    dst->n += src->n;
    fl_free(src->plan);
    src->plan = NULL;
    src->n = 0;
    return 0;
}
