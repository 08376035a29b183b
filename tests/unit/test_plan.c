/* SPDX-License-Identifier: MIT
 *
 * test_plan.c -- the metric-SQL compiler (src/stream/sql*.c, plan.c) and the
 * CIDR helpers (src/core/fl_cidr.c).
 *
 * Compiled plans are checked through dump(), a canonical one-line text of
 * everything the engine reads (window, dimensions, aggregates and metric
 * names, the predicate tree with coerced literals), so every expectation
 * is exact. Rejections are checked with their return code and their whole
 * message. Every test ends with fl_mem_used() == 0.
 */
#include "../../src/core/fl_config.h"

#include <stdarg.h>
#include <stdint.h>

#include "harness.h"
#include "core/fl_cidr.h"
#include "core/fl_error.h"
#include "core/fl_mem.h"
#include "parse/fields.h"
#include "stream/plan.h"


/* ---- plan dump ---- */

struct out {
    char   buf[4096];
    size_t n;
};


static void
put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(o->buf + o->n, sizeof o->buf - o->n, fmt, ap);
    va_end(ap);
    if (k > 0)
        o->n += (size_t)k < sizeof o->buf - o->n ? (size_t)k
                                                 : sizeof o->buf - o->n - 1;
}


static const char *
cname(int id)
{
    return fl_field_get(id)->sql_name;
}


static void
put_lit(struct out *o, int col, const struct fl_plan_lit *l)
{
    if (fl_field_get(col)->type == FL_TYPE_STRING)
        put(o, "'%.*s'", (int)l->len, l->s);
    else
        put(o, "%lld", (long long)l->i);
}


static void
put_pred(struct out *o, const struct fl_pred *p)
{
    static const char *const ops[] = { "=", "<>", "<", "<=", ">", ">=" };
    char net[64];
    struct fl_cidr cidr;
    switch (p->kind) {
    case FL_PRED_AND:
    case FL_PRED_OR:
        put(o, p->kind == FL_PRED_AND ? "AND(" : "OR(");
        put_pred(o, p->a);
        put(o, ",");
        put_pred(o, p->b);
        put(o, ")");
        break;
    case FL_PRED_NOT:
        put(o, "NOT(");
        put_pred(o, p->a);
        put(o, ")");
        break;
    case FL_PRED_CMP:
        CHECK_EQ_INT(p->n_lits, 1);
        put(o, "%s%s", cname(p->column), ops[p->cmp]);
        put_lit(o, p->column, &p->lits[0]);
        break;
    case FL_PRED_CMP_COLUMNS:
        put(o, "%s%s%s", cname(p->column), ops[p->cmp], cname(p->column2));
        break;
    case FL_PRED_IN:
        put(o, "%s(%s", p->negate ? "NOTIN" : "IN", cname(p->column));
        for (size_t i = 0; i < p->n_lits; i++) {
            put(o, ";");
            put_lit(o, p->column, &p->lits[i]);
        }
        put(o, ")");
        break;
    case FL_PRED_IS_NULL:
        put(o, "%s(%s)", p->negate ? "NOTNULL" : "ISNULL", cname(p->column));
        break;
    case FL_PRED_CIDR:
        fl_plan_cidr_get(&p->cidr, &cidr);
        CHECK_EQ_INT(fl_cidr_host_bits(&cidr), 0);
        put(o, "CIDR(%s,%s)", cname(p->column),
            fl_cidr_format(&cidr, net, sizeof net));
        break;
    }
}


static const char *
dump(const struct fl_metric_plan *p)
{
    static const char *const aggs[] = {
        "COUNT(*)", "COUNT", "SUM", "MIN", "MAX", "AVG", "COUNT_DISTINCT"
    };
    static struct out o;
    o.n = 0;
    o.buf[0] = '\0';
    put(&o, "%s|%s/%lld|", p->name, fl_time_basis_name(p->time),
        (long long)p->window);
    for (size_t i = 0; i < p->n_dims; i++)
        put(&o, "%s%s", i ? "," : "", cname(p->dims[i]));
    put(&o, "|");
    for (size_t i = 0; i < p->n_aggs; i++) {
        const struct fl_plan_agg *a = &p->aggs[i];
        put(&o, "%s%s", i ? "," : "", aggs[a->kind]);
        if (a->column >= 0)
            put(&o, "(%s)", cname(a->column));
        else
            CHECK(a->kind == FL_AGG_COUNT_STAR);
        put(&o, "=%s", a->metric);
    }
    put(&o, "|");
    if (p->where != NULL)
        put_pred(&o, p->where);
    if (p->top_n > 0) {
        char top[64];
        snprintf(top, sizeof top, "|top %zu by %zu", p->top_n, p->top_agg);
        put(&o, top);
    }
    return o.buf;
}


/* Compiles text with the defaults 60 s / start; must succeed. */
static struct fl_metric_plans
ok(const char *text)
{
    struct fl_metric_plans p = { 0, NULL };
    struct fl_err fe = FL_ERR_INIT;
    char *err = fe.msg;
    int rc = fl_plan_compile(text, strlen(text), "m.sql", 60, FL_TIME_START,
                             &p, &fe);
    if (rc != 0)
        fprintf(stderr, "  unexpected error %d: %s\n", rc, err);
    CHECK_EQ_INT(rc, 0);
    return p;
}


/* One statement, its dump. */
static void
check_one(const char *text, const char *want)
{
    struct fl_metric_plans p = ok(text);
    CHECK_EQ_INT(p.n, 1);
    CHECK_EQ_STR(dump(&p.plan[0]), want);
    fl_plan_free(&p);
}


static void
check_err(const char *text, int want_rc, const char *want)
{
    struct fl_metric_plans p = { 7, (struct fl_metric_plan *)&p };
    struct fl_err fe = FL_ERR_INIT;
    char *err = fe.msg;
    int rc = fl_plan_compile(text, strlen(text), "metrics.sql", 60,
                             FL_TIME_START, &p, &fe);
    CHECK_EQ_STR(err, want);
    CHECK_EQ_INT(rc, want_rc);
    CHECK(p.n == 7 && p.plan == (struct fl_metric_plan *)&p);  /* untouched */
    CHECK_EQ_INT(fl_mem_used(), 0);
}


#define SEL "CREATE METRIC m AS SELECT COUNT(*) FROM flows WHERE "


/* ---- tests ---- */

static void
test_builtin(void)
{
    const char *t = fl_plan_builtin_text();
    struct fl_metric_plans p = ok(t);
    CHECK_EQ_INT(p.n, 6);
    CHECK_EQ_STR(dump(&p.plan[0]), "rejected_tcp_packets|start/900||"
                 "SUM(packets)=rejected_tcp_packets|"
                 "AND(action='REJECT',protocol=6)");
    CHECK_EQ_STR(dump(&p.plan[1]), "rejected_packets_by_protocol|start/900|"
                 "protocol|SUM(packets)=rejected_packets_by_protocol|"
                 "action='REJECT'");
    CHECK_EQ_STR(dump(&p.plan[2]), "records_in|arrival/60||"
                 "COUNT(*)=records_in|");
    CHECK_EQ_STR(dump(&p.plan[3]), "traffic_by_action|start/900|action|"
                 "COUNT(*)=traffic_by_action_flows,"
                 "SUM(bytes)=traffic_by_action_bytes,"
                 "SUM(packets)=traffic_by_action_packets|");
    CHECK_EQ_STR(dump(&p.plan[4]), "top_talkers|start/900|srcaddr|"
                 "SUM(bytes)=top_talkers_bytes,COUNT(*)=top_talkers_flows|"
                 "|top 100 by 0");
    CHECK_EQ_STR(dump(&p.plan[5]), "top_rejected_sources|start/900|srcaddr|"
                 "SUM(packets)=top_rejected_sources_packets,"
                 "COUNT(*)=top_rejected_sources_flows|action='REJECT'"
                 "|top 100 by 0");
    CHECK_EQ_INT(p.plan[0].line, 5);
    CHECK_EQ_STR(p.plan[2].text, "CREATE METRIC records_in AS\n"
                 "  SELECT COUNT(*)\n  FROM flows\n"
                 "  GROUP BY TUMBLE(arrival, INTERVAL '1' MINUTE)");
    fl_plan_free(&p);
    CHECK_EQ_INT(p.n, 0);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_aggregates(void)
{
    check_one("create metric a as select count(*) from flows",
              "a|start/60||COUNT(*)=a|");
    check_one("CREATE METRIC a AS SELECT COUNT(srcaddr) FROM flows",
              "a|start/60||COUNT(srcaddr)=a|");
    check_one("CREATE METRIC a AS SELECT COUNT(DISTINCT dstaddr) FROM flows",
              "a|start/60||COUNT_DISTINCT(dstaddr)=a|");
    check_one("CREATE METRIC a AS SELECT count(all bytes) FROM flows",
              "a|start/60||COUNT(bytes)=a|");
    check_one("CREATE METRIC a AS SELECT MIN(start) FROM flows",
              "a|start/60||MIN(start)=a|");
    check_one("CREATE METRIC a AS SELECT MAX(dstport) AS top FROM flows",
              "a|start/60||MAX(dstport)=a|");
    check_one("CREATE METRIC traffic AS SELECT interface_id, SUM(bytes) AS "
              "bytes, SUM(packets) packets, AVG(bytes) AS avg_bytes, "
              "COUNT(*) AS \"Flows\" FROM flows GROUP BY interface_id",
              "traffic|start/60|interface_id|SUM(bytes)=traffic_bytes,"
              "SUM(packets)=traffic_packets,AVG(bytes)=traffic_avg_bytes,"
              "COUNT(*)=traffic_flows|");
    /* A top-N metric ordered by its second aggregate, by alias and as
     * written. */
    check_one("CREATE METRIC t AS SELECT srcaddr, COUNT(*) AS flows, "
              "SUM(bytes) AS bytes FROM flows GROUP BY srcaddr "
              "ORDER BY bytes DESC LIMIT 20",
              "t|start/60|srcaddr|COUNT(*)=t_flows,SUM(bytes)=t_bytes||"
              "top 20 by 1");
    check_one("CREATE METRIC t AS SELECT srcaddr, COUNT(*) AS flows, "
              "SUM(bytes) AS bytes FROM flows GROUP BY srcaddr "
              "ORDER BY sum(bytes) desc limit 10000;",
              "t|start/60|srcaddr|COUNT(*)=t_flows,SUM(bytes)=t_bytes||"
              "top 10000 by 1");
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_dimensions_and_names(void)
{
    /* SELECT order does not matter; dims follow GROUP BY order. */
    check_one("CREATE METRIC a AS SELECT SUM(bytes), dstport, protocol "
              "FROM flows GROUP BY protocol, dstport",
              "a|start/60|protocol,dstport|SUM(bytes)=a|");
    /* qualified references, aliases, quoted names, case. */
    check_one("Create Metric \"By_Action\" As Select F.\"ACTION\", "
              "Sum(F.Packets) From vpc_flow_logs.flow_logs As F "
              "Group By f.action",
              "by_action|start/60|action|SUM(packets)=by_action|");
    check_one("CREATE METRIC a AS SELECT flows.action, COUNT(*) FROM flows "
              "x GROUP BY x.action, flows.action",
              "a|start/60|action|COUNT(*)=a|");
    check_one("CREATE METRIC a AS SELECT flow_logs.end, COUNT(*) "
              "FROM flow_logs GROUP BY \"end\"",
              "a|start/60|end|COUNT(*)=a|");
    /* dimension alias accepted, ignored. */
    check_one("CREATE METRIC a AS SELECT protocol AS proto, COUNT(*) "
              "FROM flows GROUP BY protocol",
              "a|start/60|protocol|COUNT(*)=a|");
    /* KDA's SELECT STREAM, and ALL. */
    check_one("CREATE METRIC a AS SELECT STREAM COUNT(*) FROM flows",
              "a|start/60||COUNT(*)=a|");
    check_one("CREATE METRIC a AS SELECT ALL COUNT(*) FROM flows",
              "a|start/60||COUNT(*)=a|");
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_windows(void)
{
    check_one("CREATE METRIC a AS SELECT COUNT(*) FROM flows GROUP BY "
              "TUMBLE(start, INTERVAL '15' MINUTE)", "a|start/900||COUNT(*)=a|");
    check_one("CREATE METRIC a AS SELECT COUNT(*) FROM flows GROUP BY "
              "tumble(\"end\", interval '2' hours)", "a|end/7200||COUNT(*)=a|");
    check_one("CREATE METRIC a AS SELECT COUNT(*) FROM flows GROUP BY "
              "TUMBLE(end, INTERVAL '15 minutes')", "a|end/900||COUNT(*)=a|");
    check_one("CREATE METRIC a AS SELECT COUNT(*) FROM flows GROUP BY "
              "STEP(flows.ROWTIME BY INTERVAL '60' SECOND)",
              "a|arrival/60||COUNT(*)=a|");
    check_one("CREATE METRIC a AS SELECT COUNT(*) FROM flows GROUP BY "
              "STEP(flows.start BY INTERVAL 1 DAY)", "a|start/86400||COUNT(*)=a|");
    check_one("CREATE METRIC a AS SELECT COUNT(*) FROM flows GROUP BY "
              "TUMBLE(arrival, INTERVAL '7' DAYS)",
              "a|arrival/604800||COUNT(*)=a|");
    check_one("CREATE METRIC a AS SELECT COUNT(*) FROM flows GROUP BY "
              "TUMBLE(start, INTERVAL ' 1 second ')", "a|start/1||COUNT(*)=a|");
    /* The window repeated in SELECT, window_start/end: accepted, ignored. */
    check_one("CREATE METRIC a AS SELECT STEP(start BY INTERVAL '5' MINUTE) "
              "AS ws, window_start, f.window_end, TUMBLE_START(start, "
              "INTERVAL '300' SECONDS), protocol, COUNT(*) FROM flows f "
              "GROUP BY protocol, STEP(start BY INTERVAL '5' MINUTE)",
              "a|start/300|protocol|COUNT(*)=a|");
    check_one("CREATE METRIC a AS SELECT window_start, COUNT(*) FROM flows "
              "GROUP BY window_start, window_end",
              "a|start/60||COUNT(*)=a|");
    /* The defaults apply without a window. */
    {
        const char *t = "CREATE METRIC a AS SELECT COUNT(*) FROM flows";
        struct fl_metric_plans p = { 0, NULL };
        struct fl_err fe = FL_ERR_INIT;
        char *err = fe.msg;
        CHECK_EQ_INT(fl_plan_compile(t, strlen(t), "x", 300, FL_TIME_END,
                                     &p, &fe), 0);
        CHECK_EQ_STR(dump(&p.plan[0]), "a|end/300||COUNT(*)=a|");
        fl_plan_free(&p);
        CHECK_EQ_INT(fl_plan_compile(t, strlen(t), "x", 0, FL_TIME_END,
                                     &p, &fe), FL_ECONFIG);
        CHECK_EQ_STR(err, "x:1:1: the default window (0 s) must be 1 second "
                     "to 7 days");
    }
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_where_comparisons(void)
{
    check_one(SEL "protocol = 6", "m|start/60||COUNT(*)=m|protocol=6");
    check_one(SEL "protocol <> 6", "m|start/60||COUNT(*)=m|protocol<>6");
    check_one(SEL "protocol != 6", "m|start/60||COUNT(*)=m|protocol<>6");
    check_one(SEL "protocol == 6", "m|start/60||COUNT(*)=m|protocol=6");
    check_one(SEL "bytes < -5", "m|start/60||COUNT(*)=m|bytes<-5");
    check_one(SEL "bytes <= +5", "m|start/60||COUNT(*)=m|bytes<=5");
    check_one(SEL "bytes > 5", "m|start/60||COUNT(*)=m|bytes>5");
    check_one(SEL "bytes >= 5", "m|start/60||COUNT(*)=m|bytes>=5");
    /* literal on the left: the operator flips. */
    check_one(SEL "5 < bytes", "m|start/60||COUNT(*)=m|bytes>5");
    check_one(SEL "5 >= bytes", "m|start/60||COUNT(*)=m|bytes<=5");
    check_one(SEL "'REJECT' = action", "m|start/60||COUNT(*)=m|action='REJECT'");
    /* two columns of one family. */
    check_one(SEL "srcport < dstport", "m|start/60||COUNT(*)=m|srcport<dstport");
    check_one(SEL "packets >= protocol", "m|start/60||COUNT(*)=m|packets>=protocol");
    check_one(SEL "srcaddr = pkt_srcaddr",
              "m|start/60||COUNT(*)=m|srcaddr=pkt_srcaddr");
    /* INT32 column with a literal beyond INT32: kept as int64. */
    check_one(SEL "protocol < 3000000000",
              "m|start/60||COUNT(*)=m|protocol<3000000000");
    check_one(SEL "bytes > -9223372036854775808",
              "m|start/60||COUNT(*)=m|bytes>-9223372036854775808");
    /* strings: '' escape, any bytes. */
    check_one(SEL "account_id = 'it''s'", "m|start/60||COUNT(*)=m|account_id='it's'");
    check_one(SEL "action = ''", "m|start/60||COUNT(*)=m|action=''");
    /* string to integer like DuckDB's cast: sign and digits. */
    check_one(SEL "dstport = '443'", "m|start/60||COUNT(*)=m|dstport=443");
    check_one(SEL "dstport = '-1'", "m|start/60||COUNT(*)=m|dstport=-1");
    check_one(SEL "protocol = '2147483647'",
              "m|start/60||COUNT(*)=m|protocol=2147483647");
    check_one(SEL "protocol = '-2147483648'",
              "m|start/60||COUNT(*)=m|protocol=-2147483648");
    check_one(SEL "bytes = '9223372036854775807'",
              "m|start/60||COUNT(*)=m|bytes=9223372036854775807");
    /* start/end: epoch seconds, TIMESTAMP literals, timestamp strings. */
    check_one(SEL "start >= 1700000000", "m|start/60||COUNT(*)=m|start>=1700000000");
    check_one(SEL "start >= TIMESTAMP '2023-11-14 22:13:20'",
              "m|start/60||COUNT(*)=m|start>=1700000000");
    check_one(SEL "\"end\" < timestamp '2024-02-29'",
              "m|start/60||COUNT(*)=m|end<1709164800");
    check_one(SEL "end < TIMESTAMP '1970-01-01T00:01'",
              "m|start/60||COUNT(*)=m|end<60");
    check_one(SEL "start < '2000-03-01 00:00:00'",
              "m|start/60||COUNT(*)=m|start<951868800");
    check_one(SEL "start < '12'", "m|start/60||COUNT(*)=m|start<12");
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_where_logic(void)
{
    /* NOT > AND > OR, left-associative. */
    check_one(SEL "protocol = 6 OR protocol = 17 AND action = 'REJECT'",
              "m|start/60||COUNT(*)=m|OR(protocol=6,AND(protocol=17,"
              "action='REJECT'))");
    check_one(SEL "(protocol = 6 OR protocol = 17) AND action = 'REJECT'",
              "m|start/60||COUNT(*)=m|AND(OR(protocol=6,protocol=17),"
              "action='REJECT')");
    check_one(SEL "NOT protocol = 6 AND NOT NOT bytes > 1",
              "m|start/60||COUNT(*)=m|AND(NOT(protocol=6),NOT(NOT(bytes>1)))");
    check_one(SEL "NOT (protocol = 6 OR bytes > 1)",
              "m|start/60||COUNT(*)=m|NOT(OR(protocol=6,bytes>1))");
    check_one(SEL "srcport = 1 OR srcport = 2 OR srcport = 3",
              "m|start/60||COUNT(*)=m|OR(OR(srcport=1,srcport=2),srcport=3)");
    check_one(SEL "srcport = 1 AND (srcport = 2 AND srcport = 3)",
              "m|start/60||COUNT(*)=m|AND(srcport=1,AND(srcport=2,srcport=3))");
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_where_in_between_null(void)
{
    check_one(SEL "dstport IN (22, '3389', -1)",
              "m|start/60||COUNT(*)=m|IN(dstport;22;3389;-1)");
    check_one(SEL "action NOT IN ('REJECT')",
              "m|start/60||COUNT(*)=m|NOTIN(action;'REJECT')");
    check_one(SEL "NOT action IN ('A', 'B')",
              "m|start/60||COUNT(*)=m|NOT(IN(action;'A';'B'))");
    check_one(SEL "dstport BETWEEN 1 AND 1023",
              "m|start/60||COUNT(*)=m|AND(dstport>=1,dstport<=1023)");
    check_one(SEL "dstport NOT BETWEEN '1' AND 1023 OR protocol = 1",
              "m|start/60||COUNT(*)=m|OR(NOT(AND(dstport>=1,dstport<=1023)),"
              "protocol=1)");
    check_one(SEL "start BETWEEN TIMESTAMP '2024-01-01' AND 1704070800",
              "m|start/60||COUNT(*)=m|AND(start>=1704067200,start<=1704070800)");
    check_one(SEL "80 BETWEEN srcport AND dstport",
              "m|start/60||COUNT(*)=m|AND(srcport<=80,dstport>=80)");
    check_one(SEL "srcport BETWEEN 1 AND 2 AND dstport = 3",
              "m|start/60||COUNT(*)=m|AND(AND(srcport>=1,srcport<=2),dstport=3)");
    check_one(SEL "vpc_id IS NULL", "m|start/60||COUNT(*)=m|ISNULL(vpc_id)");
    check_one(SEL "bytes IS NOT NULL AND NOT vpc_id IS NULL",
              "m|start/60||COUNT(*)=m|AND(NOTNULL(bytes),NOT(ISNULL(vpc_id)))");
    check_one(SEL "cidr_contains('10.0.0.0/8', srcaddr)",
              "m|start/60||COUNT(*)=m|CIDR(srcaddr,10.0.0.0/8)");
    check_one("CREATE METRIC m AS SELECT COUNT(*) FROM flows f WHERE NOT "
              "cidr_contains('2001:db8::/32', f.dstaddr) AND "
              "cidr_contains('192.168.1.7', pkt_srcaddr) AND "
              "cidr_contains('::/0', srcaddr)",
              "m|start/60||COUNT(*)=m|AND(AND(NOT(CIDR(dstaddr,2001:db8::/32)),"
              "CIDR(pkt_srcaddr,192.168.1.7/32)),CIDR(srcaddr,::/0))");
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_comments_and_statements(void)
{
    const char *t =
        "-- two metrics\n"
        "/* a block\n   comment */ CREATE METRIC a -- name\n"
        "  AS SELECT COUNT(*) /* inline */ FROM flows ; ;\n"
        "\n"
        "create metric b as\n"
        "  select sum(bytes) from flows\n"
        "  where action = '--not a comment' -- trailing\n";
    struct fl_metric_plans p = ok(t);
    CHECK_EQ_INT(p.n, 2);
    CHECK_EQ_STR(dump(&p.plan[0]), "a|start/60||COUNT(*)=a|");
    CHECK_EQ_STR(dump(&p.plan[1]), "b|start/60||SUM(bytes)=b|"
                 "action='--not a comment'");
    CHECK_EQ_INT(p.plan[0].line, 3);
    CHECK_EQ_INT(p.plan[1].line, 6);
    CHECK_EQ_STR(p.plan[0].text, "CREATE METRIC a -- name\n"
                 "  AS SELECT COUNT(*) /* inline */ FROM flows");
    CHECK_EQ_STR(p.plan[1].text, "create metric b as\n  select sum(bytes) "
                 "from flows\n  where action = '--not a comment'");
    fl_plan_free(&p);

    /* nothing but comments: zero plans. */
    p = ok("-- nothing\n/* at all */ ;\n");
    CHECK_EQ_INT(p.n, 0);
    CHECK(p.plan == NULL);
    p = ok("");
    CHECK_EQ_INT(p.n, 0);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* Each case: text, code, exact message. */
struct bad {
    const char *text;
    int rc;
    const char *msg;
};


static void
test_rejections(void)
{
    static const struct bad cases[] = {
        /* clauses and constructs an incremental metric cannot have */
        { "CREATE METRIC m AS SELECT SUM(packets) FROM flows JOIN other ON "
          "true", FL_ECONFIG, "metrics.sql:1:51: JOIN is not supported in a "
          "metric: a metric reads one stream, flows" },
        { "CREATE METRIC m AS\nSELECT COUNT(*) FROM flows f LEFT JOIN g",
          FL_ECONFIG, "metrics.sql:2:30: JOIN is not supported in a metric: "
          "a metric reads one stream, flows" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM flows, other", FL_ECONFIG,
          "metrics.sql:1:46: JOIN is not supported in a metric: a metric "
          "reads one stream, flows" },
        { "CREATE METRIC m AS\nSELECT protocol, COUNT(*) FROM flows\n"
          "GROUP BY protocol\n    HAVING COUNT(*) > 5", FL_ECONFIG,
          "metrics.sql:4:5: HAVING is not supported in a metric: filter rows "
          "with WHERE (a metric keeps one value per group and window)" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM flows ORDER BY 1",
          FL_ECONFIG, "metrics.sql:1:47: ORDER BY is supported in a metric "
          "only as ORDER BY <aggregate> DESC LIMIT n, after GROUP BY" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM flows LIMIT 10",
          FL_ECONFIG, "metrics.sql:1:47: LIMIT is supported in a metric "
          "only as ORDER BY <aggregate> DESC LIMIT n, after GROUP BY" },
        /* Top-N metrics: ORDER BY <aggregate> DESC LIMIT n. */
#define TOP "CREATE METRIC m AS SELECT srcaddr, SUM(bytes) AS b, " \
            "COUNT(*) AS f FROM flows GROUP BY srcaddr "
        { TOP "ORDER BY b LIMIT 5", FL_ECONFIG, "metrics.sql:1:106: ORDER "
          "BY in a metric needs DESC: LIMIT keeps the largest groups "
          "(ORDER BY <aggregate> DESC LIMIT n)" },
        { TOP "ORDER BY b ASC LIMIT 5", FL_ECONFIG, "metrics.sql:1:106: "
          "ORDER BY ... ASC is not supported in a metric: LIMIT keeps the "
          "largest groups (ORDER BY <aggregate> DESC LIMIT n)" },
        { TOP "ORDER BY b DESC", FL_ECONFIG, "metrics.sql:1:110: ORDER BY "
          "in a metric needs LIMIT n: it picks the top n groups of each "
          "window" },
        { TOP "ORDER BY b, f DESC LIMIT 5", FL_ECONFIG, "metrics.sql:1:105: "
          "ORDER BY in a metric takes one aggregate: the one its top groups "
          "are picked by" },
        { TOP "ORDER BY b DESC LIMIT 0", FL_ECONFIG, "metrics.sql:1:117: "
          "LIMIT 0: a metric keeps from 1 to 10000 groups per window" },
        { TOP "ORDER BY b DESC LIMIT 10001", FL_ECONFIG, "metrics.sql:1:117: "
          "LIMIT 10001: a metric keeps from 1 to 10000 groups per window" },
        { TOP "ORDER BY b DESC LIMIT x", FL_EPARSE, "metrics.sql:1:117: "
          "expected a number of groups after LIMIT, found 'x'" },
        { TOP "ORDER BY packets DESC LIMIT 5", FL_ECONFIG,
          "metrics.sql:1:104: ORDER BY packets: order a metric by one of its "
          "aggregates, by its alias or as written in SELECT" },
        { TOP "ORDER BY SUM(packets) DESC LIMIT 5", FL_ECONFIG,
          "metrics.sql:1:104: ORDER BY SUM(packets): order a metric by one of "
          "its aggregates, by its alias or as written in SELECT" },
        { TOP "ORDER BY b DESC LIMIT 5 OFFSET 2", FL_ECONFIG,
          "metrics.sql:1:119: OFFSET is not supported in a metric: a metric "
          "keeps every group" },
#undef TOP
        { "CREATE METRIC m AS SELECT srcaddr, MAX(bytes) FROM flows GROUP "
          "BY srcaddr ORDER BY MAX(bytes) DESC LIMIT 5", FL_ECONFIG,
          "metrics.sql:1:36: MAX(bytes) in a metric with LIMIT: only COUNT "
          "and SUM are supported there, because the groups beyond the limit "
          "are added into one 'other' group" },
        { "CREATE METRIC m AS SELECT SUM(bytes) FROM flows GROUP BY "
          "TUMBLE(start, INTERVAL '1' MINUTE) ORDER BY SUM(bytes) DESC "
          "LIMIT 5", FL_ECONFIG, "metrics.sql:1:102: ORDER BY ... LIMIT "
          "keeps the top groups of a metric with dimensions: m has none "
          "(add the columns to GROUP BY)" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM flows WHERE bytes > 1 "
          "OFFSET 3", FL_ECONFIG, "metrics.sql:1:63: OFFSET is not supported "
          "in a metric: a metric keeps every group" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM flows UNION SELECT "
          "COUNT(*) FROM flows", FL_ECONFIG, "metrics.sql:1:47: UNION is not "
          "supported in a metric: write one CREATE METRIC per query" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM flows EXCEPT SELECT 1",
          FL_ECONFIG, "metrics.sql:1:47: EXCEPT is not supported in a "
          "metric: write one CREATE METRIC per query" },
        { "CREATE METRIC m AS SELECT DISTINCT protocol FROM flows",
          FL_ECONFIG, "metrics.sql:1:27: SELECT DISTINCT is not supported in "
          "a metric: GROUP BY already gives one row per group" },
        { "CREATE METRIC m AS SELECT SUM(bytes) OVER (PARTITION BY protocol) "
          "FROM flows", FL_ECONFIG, "metrics.sql:1:38: window functions "
          "(OVER) are not supported in a metric: use GROUP BY TUMBLE(start, "
          "INTERVAL ...) for time windows" },
        { "CREATE METRIC m AS WITH x AS (SELECT 1) SELECT COUNT(*) FROM x",
          FL_ECONFIG, "metrics.sql:1:20: WITH (common table expressions) is "
          "not supported in a metric: a metric reads one stream, flows" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM (SELECT * FROM flows)",
          FL_ECONFIG, "metrics.sql:1:42: subqueries are not supported in a "
          "metric: a metric reads one stream, flows" },
        { SEL "dstport IN (SELECT port FROM ports)", FL_ECONFIG,
          "metrics.sql:1:65: subqueries are not supported in a metric: a "
          "metric reads one stream, flows" },
        { SEL "EXISTS (SELECT 1)", FL_ECONFIG, "metrics.sql:1:53: subqueries "
          "are not supported in a metric: a metric reads one stream, flows" },
        { SEL "bytes > (SELECT 1)", FL_ECONFIG, "metrics.sql:1:62: "
          "subqueries are not supported in a metric: a metric reads one "
          "stream, flows" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM other_table", FL_ECONFIG,
          "metrics.sql:1:41: FROM other_table: a metric reads one stream, "
          "flows (also accepted: flow_logs, vpc_flow_logs.flow_logs)" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM x.flows", FL_ECONFIG,
          "metrics.sql:1:41: FROM x.flows: a metric reads one stream, flows "
          "(also accepted: flow_logs, vpc_flow_logs.flow_logs)" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM TABLE(TUMBLE(TABLE flows, "
          "DESCRIPTOR(start), INTERVAL '1' MINUTE))", FL_ECONFIG,
          "metrics.sql:1:41: window table functions (TABLE ...) are not "
          "supported: write GROUP BY TUMBLE(start, INTERVAL '15' MINUTE)" },
        /* functions, columns, expressions */
        { SEL "lower(action) = 'reject'", FL_ECONFIG, "metrics.sql:1:53: "
          "unknown function lower(): a metric knows COUNT, SUM, MIN, MAX, "
          "AVG, TUMBLE, STEP and cidr_contains" },
        { "CREATE METRIC m AS SELECT approx_count_distinct(srcaddr) FROM "
          "flows", FL_ECONFIG, "metrics.sql:1:27: unknown function "
          "approx_count_distinct(): a metric knows COUNT, SUM, MIN, MAX, "
          "AVG, TUMBLE, STEP and cidr_contains" },
        { SEL "foo = 1", FL_ECONFIG, "metrics.sql:1:53: unknown column foo" },
        { SEL "\"log-status\" = 'OK'", FL_ECONFIG, "metrics.sql:1:53: unknown "
          "column \"log-status\": the SQL name of the AWS field log-status is "
          "log_status" },
        { SEL "log-status = 'OK'", FL_ECONFIG, "metrics.sql:1:53: unknown "
          "column log-status: the SQL name of the AWS field log-status is "
          "log_status" },
        { SEL "pkt-src-aws-service = 'S3'", FL_ECONFIG, "metrics.sql:1:53: "
          "unknown column pkt-src-aws-service: the SQL name of the AWS field "
          "pkt-src-aws-service is pkt_src_aws_service" },
        { SEL "arrival > 5", FL_ECONFIG, "metrics.sql:1:53: arrival is only a "
          "window time: GROUP BY TUMBLE(arrival, INTERVAL ...)" },
        { SEL "z.action = 'A'", FL_ECONFIG, "metrics.sql:1:53: unknown table "
          "z in z.action: a metric reads one stream, flows" },
        { SEL "bytes * 8 > 1000", FL_ECONFIG, "metrics.sql:1:53: arithmetic "
          "is not supported in a metric: bytes * 8" },
        { SEL "bytes > packets + 1", FL_ECONFIG, "metrics.sql:1:61: "
          "arithmetic is not supported in a metric: packets + 1" },
        { "CREATE METRIC m AS SELECT SUM(bytes * 8) FROM flows", FL_ECONFIG,
          "metrics.sql:1:27: SUM(bytes * 8): the argument of SUM must be a "
          "column, not an expression" },
        { "CREATE METRIC m AS SELECT SUM(bytes) / COUNT(*) FROM flows",
          FL_ECONFIG, "metrics.sql:1:27: arithmetic is not supported in a "
          "metric: SUM(bytes) / COUNT(*)" },
        { "CREATE METRIC m AS SELECT SUM(COUNT(*)) FROM flows", FL_ECONFIG,
          "metrics.sql:1:27: nested aggregates are not supported: "
          "SUM(COUNT(*))" },
        { "CREATE METRIC m AS SELECT SUM(srcaddr) FROM flows", FL_ECONFIG,
          "metrics.sql:1:27: SUM(srcaddr): SUM needs a numeric column; "
          "srcaddr is text" },
        { "CREATE METRIC m AS SELECT avg(action) FROM flows", FL_ECONFIG,
          "metrics.sql:1:27: avg(action): AVG needs a numeric column; action "
          "is text" },
        { "CREATE METRIC m AS SELECT SUM(DISTINCT bytes) FROM flows",
          FL_ECONFIG, "metrics.sql:1:27: SUM(DISTINCT bytes): DISTINCT is "
          "only supported in COUNT(DISTINCT <column>)" },
        { "CREATE METRIC m AS SELECT SUM(*) FROM flows", FL_ECONFIG,
          "metrics.sql:1:27: SUM(*) is not supported: SUM needs a column" },
        { "CREATE METRIC m AS SELECT * FROM flows", FL_ECONFIG,
          "metrics.sql:1:27: SELECT * is not supported in a metric: select "
          "the GROUP BY columns and aggregates" },
        { "CREATE METRIC m AS SELECT 1, COUNT(*) FROM flows", FL_ECONFIG,
          "metrics.sql:1:27: a constant in SELECT (1) is not supported: "
          "select the GROUP BY columns and aggregates" },
        /* grouping */
        { "CREATE METRIC m AS SELECT protocol, dstport, COUNT(*) FROM flows "
          "GROUP BY protocol", FL_ECONFIG, "metrics.sql:1:37: column dstport "
          "is selected but not in GROUP BY: a metric's selected columns are "
          "its dimensions" },
        { "CREATE METRIC m AS SELECT protocol, COUNT(*) FROM flows",
          FL_ECONFIG, "metrics.sql:1:27: column protocol is selected but not "
          "in GROUP BY: a metric's selected columns are its dimensions" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM flows GROUP BY protocol, "
          "action", FL_ECONFIG, "metrics.sql:1:56: GROUP BY column protocol "
          "must also be selected: a metric's dimensions are its selected "
          "columns" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM flows GROUP BY 1",
          FL_ECONFIG, "metrics.sql:1:56: GROUP BY 1: group by column names, "
          "not positions" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM flows GROUP BY dstport / "
          "1000", FL_ECONFIG, "metrics.sql:1:56: arithmetic is not supported "
          "in a metric: dstport / 1000" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM flows GROUP BY "
          "cidr_contains('10.0.0.0/8', srcaddr)", FL_ECONFIG,
          "metrics.sql:1:56: GROUP BY accepts columns and one TUMBLE or STEP "
          "window, not cidr_contains('10.0.0.0/8', srcaddr)" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM flows GROUP BY "
          "TUMBLE(start, INTERVAL '1' MINUTE),\n  STEP(start BY INTERVAL '5' "
          "MINUTE)", FL_ECONFIG, "metrics.sql:2:3: a metric has one window: "
          "a second window STEP(start BY INTERVAL '5' MINUTE)" },
        { "CREATE METRIC m AS SELECT TUMBLE(start, INTERVAL '2' MINUTE), "
          "COUNT(*) FROM flows GROUP BY TUMBLE(start, INTERVAL '1' MINUTE)",
          FL_ECONFIG, "metrics.sql:1:27: TUMBLE(start, INTERVAL '2' MINUTE) "
          "in SELECT is not the GROUP BY window" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM flows GROUP BY "
          "TUMBLE(bytes, INTERVAL '1' MINUTE)", FL_ECONFIG,
          "metrics.sql:1:63: the time of a window must be start, end, "
          "arrival or ROWTIME, not bytes" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM flows GROUP BY "
          "TUMBLE(start, INTERVAL '8' DAY)", FL_ECONFIG, "metrics.sql:1:70: "
          "window INTERVAL '8' DAY is too long: at most 7 days" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM flows GROUP BY "
          "TUMBLE(start, INTERVAL '0' SECOND)", FL_ECONFIG,
          "metrics.sql:1:70: window INTERVAL '0' SECOND is too short: at "
          "least 1 second" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM flows GROUP BY "
          "TUMBLE(start, INTERVAL '1' MONTH)", FL_ECONFIG,
          "metrics.sql:1:83: INTERVAL unit MONTH is not supported: use "
          "SECOND, MINUTE, HOUR or DAY" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM flows GROUP BY "
          "TUMBLE(start, INTERVAL '1' MINUTE, INTERVAL '1' SECOND)",
          FL_ECONFIG, "metrics.sql:1:56: TUMBLE with an offset (a third "
          "argument) is not supported: windows are aligned to the epoch" },
        /* WHERE types and shapes */
        { SEL "dstport = 'abc'", FL_ECONFIG, "metrics.sql:1:63: cannot "
          "compare dstport (INTEGER) with 'abc'" },
        { SEL "protocol = '3000000000'", FL_ECONFIG, "metrics.sql:1:64: "
          "cannot compare protocol (INTEGER) with '3000000000'" },
        { SEL "dstport = ' 443'", FL_ECONFIG, "metrics.sql:1:63: cannot "
          "compare dstport (INTEGER) with ' 443'" },
        { SEL "action = 6", FL_ECONFIG, "metrics.sql:1:62: cannot compare "
          "action (VARCHAR) with 6: quote the value ('...')" },
        { SEL "protocol = action", FL_ECONFIG, "metrics.sql:1:53: cannot "
          "compare protocol (INTEGER) with action (VARCHAR)" },
        { SEL "dstport > TIMESTAMP '2024-01-01'", FL_ECONFIG,
          "metrics.sql:1:63: cannot compare dstport (INTEGER) with "
          "TIMESTAMP '2024-01-01'" },
        { SEL "start > TIMESTAMP '2023-02-29 00:00:00'", FL_ECONFIG,
          "metrics.sql:1:71: bad TIMESTAMP literal '2023-02-29 00:00:00': "
          "expected 'YYYY-MM-DD HH:MM:SS' (UTC)" },
        { SEL "protocol = NULL", FL_ECONFIG, "metrics.sql:1:64: a comparison "
          "with NULL is never true: write protocol IS NULL or protocol IS "
          "NOT NULL" },
        { SEL "1 = 1", FL_ECONFIG, "metrics.sql:1:53: a comparison needs a "
          "column: 1 = 1" },
        { SEL "action", FL_ECONFIG, "metrics.sql:1:53: WHERE needs a "
          "condition, and action is a column: compare it (action = ...)" },
        { SEL "SUM(bytes) > 10", FL_ECONFIG, "metrics.sql:1:53: aggregates "
          "are not allowed in WHERE: SUM(bytes)" },
        { SEL "dstport IN (22, NULL)", FL_ECONFIG, "metrics.sql:1:69: NULL in "
          "an IN list is not supported: write dstport IS NULL OR dstport IN "
          "(...)" },
        { SEL "dstport IN (srcport)", FL_ECONFIG, "metrics.sql:1:65: an IN "
          "list holds literals, not columns: srcport" },
        { SEL "action LIKE 'REJ%'", FL_ECONFIG, "metrics.sql:1:60: LIKE is "
          "not supported in a metric: compare with =, IN or cidr_contains()" },
        { SEL "cidr_contains('10.0.0.1/8', srcaddr)", FL_ECONFIG,
          "metrics.sql:1:67: cidr_contains: '10.0.0.1/8' has host bits set "
          "(did you mean '10.0.0.0/8'?)" },
        { SEL "cidr_contains('10.0.0.0/33', srcaddr)", FL_ECONFIG,
          "metrics.sql:1:67: cidr_contains: '10.0.0.0/33' is not an IPv4 or "
          "IPv6 network" },
        { SEL "cidr_contains('10.0.0.0/8', dstport)", FL_ECONFIG,
          "metrics.sql:1:81: cidr_contains needs a text column (an address); "
          "dstport is INTEGER" },
        { SEL "cidr_contains(srcaddr, '10.0.0.0/8')", FL_ECONFIG,
          "metrics.sql:1:67: cidr_contains: the network must be a string "
          "literal such as '10.0.0.0/8', not srcaddr" },
        { SEL "CAST(dstport AS VARCHAR) = '1'", FL_ECONFIG,
          "metrics.sql:1:53: CAST is not supported in a metric: compare a "
          "column with a literal" },
        { SEL "dstport::VARCHAR = '1'", FL_ECONFIG, "metrics.sql:1:60: casts "
          "(::) are not supported in a metric: compare a column with a "
          "literal" },
        { SEL "bytes > 9223372036854775808", FL_ECONFIG, "metrics.sql:1:61: "
          "integer 9223372036854775808 is out of range (64-bit)" },
        /* names */
        { "CREATE METRIC m AS SELECT COUNT(*), SUM(bytes) AS b FROM flows",
          FL_ECONFIG, "metrics.sql:1:27: COUNT(*) needs an alias (AS name): "
          "a metric with several aggregates names each one m_<alias>" },
        { "CREATE METRIC \"bad-name\" AS SELECT COUNT(*) FROM flows",
          FL_ECONFIG, "metrics.sql:1:15: bad metric name \"bad-name\": use "
          "lower-case letters, digits and _, starting with a letter or _" },
        { "CREATE METRIC \"9lives\" AS SELECT COUNT(*) FROM flows",
          FL_ECONFIG, "metrics.sql:1:15: bad metric name \"9lives\": use "
          "lower-case letters, digits and _, starting with a letter or _" },
        { "CREATE METRIC m AS SELECT COUNT(*) AS a, SUM(bytes) AS \"b c\" "
          "FROM flows", FL_ECONFIG, "metrics.sql:1:56: bad alias \"b c\": use "
          "lower-case letters, digits and _, starting with a letter or _" },
        { "CREATE METRIC a AS SELECT COUNT(*) FROM flows;\n"
          "CREATE METRIC A AS SELECT SUM(bytes) FROM flows", FL_ECONFIG,
          "metrics.sql:2:15: duplicate metric name a (already defined at "
          "line 1)" },
        { "CREATE METRIC m AS SELECT COUNT(*) AS x, SUM(bytes) AS x FROM "
          "flows", FL_ECONFIG, "metrics.sql:1:56: duplicate metric name m_x "
          "(already defined at line 1)" },
        { "CREATE METRIC m_x AS SELECT COUNT(*) FROM flows;\n\n"
          "CREATE METRIC m AS SELECT COUNT(*) AS x, SUM(bytes) AS y FROM "
          "flows", FL_ECONFIG, "metrics.sql:3:39: duplicate metric name m_x "
          "(already defined at line 1)" },
        { "CREATE METRIC m AS SELECT protocol FROM flows GROUP BY protocol",
          FL_ECONFIG, "metrics.sql:1:1: metric m has no aggregate: select "
          "COUNT(*), COUNT, SUM, MIN, MAX or AVG" },
        /* syntax */
        { "SELECT COUNT(*) FROM flows", FL_EPARSE, "metrics.sql:1:1: expected "
          "CREATE METRIC <name> AS SELECT ..., found 'SELECT'" },
        { "CREATE METRIC m AS SELECT COUNT(* FROM flows", FL_EPARSE,
          "metrics.sql:1:35: expected ')', found 'FROM'" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM flows WHERE action = "
          "'REJECT", FL_EPARSE, "metrics.sql:1:62: unterminated string "
          "literal" },
        { "CREATE METRIC m AS SELECT COUNT(*) /* FROM flows", FL_EPARSE,
          "metrics.sql:1:36: unterminated /* comment" },
        { SEL "bytes > 1.5", FL_EPARSE, "metrics.sql:1:61: bad number 1.5: "
          "only integers are supported" },
        { SEL "bytes @> 1", FL_EPARSE, "metrics.sql:1:59: unexpected "
          "character '@'" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM flows GROUP BY "
          "TUMBLE(start, INTERVAL 'x' MINUTE)", FL_EPARSE, "metrics.sql:1:79: "
          "INTERVAL 'x' is not a valid interval: expected INTERVAL '<n>' "
          "SECOND, MINUTE, HOUR or DAY" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM flows GROUP BY "
          "STEP(start, INTERVAL '1' MINUTE)", FL_EPARSE, "metrics.sql:1:66: "
          "expected BY in STEP(<time> BY INTERVAL ...), found ','" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM flows WHERE", FL_EPARSE,
          "metrics.sql:1:52: expected an expression, found end of input" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM flows x y", FL_EPARSE,
          "metrics.sql:1:49: expected WHERE, GROUP BY or the end of the "
          "statement, found 'y'" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM flows\n"
          "CREATE METRIC n AS SELECT COUNT(*) FROM flows", FL_EPARSE,
          "metrics.sql:2:1: expected WHERE, GROUP BY or the end of the "
          "statement, found 'CREATE'" },
        { SEL "vpc_id IS NOT 'x'", FL_EPARSE, "metrics.sql:1:67: expected "
          "NULL after IS [NOT], found 'x'" },
        { "CREATE METRIC m AS SELECT COUNT(*) FROM flows WHERE \xc3\xa9 = 1",
          FL_EPARSE, "metrics.sql:1:53: unexpected byte 0xC3" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_err(cases[i].text, cases[i].rc, cases[i].msg);
    }
}


static void
test_error_order_and_depth(void)
{
    char *deep;
    size_t n;
    /* the first error in the file wins, even a lexical one later on. */
    check_err("CREATE METRIC a AS SELECT COUNT(*) FROM flows;\n"
              "CREATE METRIC b AS SELECT foo, COUNT(*) FROM flows;\n"
              "CREATE METRIC c AS SELECT 'x", FL_ECONFIG,
              "metrics.sql:2:27: unknown column foo");
    /* deep nesting fails cleanly. */
    deep = fl_malloc(20000);
    CHECK(deep != NULL);
    n = (size_t)snprintf(deep, 20000, SEL);
    for (int i = 0; i < 5000; i++)
        deep[n++] = '(';
    memcpy(deep + n, "1", 2);
    {
        struct fl_metric_plans p = { 0, NULL };
        struct fl_err fe = FL_ERR_INIT;
        char *err = fe.msg;
        CHECK_EQ_INT(fl_plan_compile(deep, strlen(deep), "d", 60,
                                     FL_TIME_START, &p, &fe),
                     FL_EPARSE);
        CHECK(strstr(err, "nested too deeply") != NULL);
        n = (size_t)snprintf(deep, 20000, SEL "bytes = 1");
        for (int i = 0; i < 1000; i++)
            n += (size_t)snprintf(deep + n, 20000 - n, " OR bytes = 1");
        CHECK_EQ_INT(fl_plan_compile(deep, strlen(deep), "d", 60,
                                     FL_TIME_START, &p, &fe),
                     FL_EPARSE);
        CHECK(strstr(err, "too long") != NULL);
        /* No carrier is fine; a carrier gets the code too. */
        CHECK_EQ_INT(fl_plan_compile("x", 1, NULL, 60, FL_TIME_START, &p,
                                     NULL), FL_EPARSE);
        CHECK_EQ_INT(fe.code, FL_EPARSE);
    }
    fl_free(deep);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_alloc_failures(void)
{
    const char *t = "CREATE METRIC a AS SELECT protocol, COUNT(*) AS n, "
        "SUM(bytes) AS b FROM flows f WHERE action IN ('A', 'B') AND NOT "
        "dstport BETWEEN 1 AND 2 OR cidr_contains('10.0.0.0/8', srcaddr) "
        "GROUP BY protocol, TUMBLE(start, INTERVAL '1' HOUR);\n"
        "CREATE METRIC b AS SELECT COUNT(*) FROM flows WHERE vpc_id IS NULL";
    uint64_t attempts;
    fl_mem_fail_after(0);
    {
        struct fl_metric_plans p = ok(t);
        fl_plan_free(&p);
    }
    fl_mem_fail_after(UINT64_MAX);
    {
        struct fl_metric_plans p = ok(t);
        fl_plan_free(&p);
    }
    attempts = fl_mem_fail_after(0);
    CHECK(attempts > 10);
    for (uint64_t k = 1; k <= attempts; k++) {
        struct fl_metric_plans p = { 0, NULL };
        struct fl_err fe = FL_ERR_INIT;
        fl_mem_fail_after(k);
        int rc = fl_plan_compile(t, strlen(t), "m", 60, FL_TIME_START, &p,
                                 &fe);
        fl_mem_fail_after(0);
        CHECK_EQ_INT(rc, FL_ENOMEM);
        CHECK(p.n == 0 && p.plan == NULL);
        CHECK_EQ_INT(fl_mem_used(), 0);
    }
}


static void
test_merge(void)
{
    struct fl_metric_plans a = ok("CREATE METRIC x AS SELECT COUNT(*) FROM "
                                  "flows;\nCREATE METRIC y AS SELECT "
                                  "COUNT(*) AS c, SUM(bytes) AS b FROM flows");
    struct fl_metric_plans b = ok("\nCREATE METRIC z AS SELECT COUNT(*) FROM "
                                  "flows");
    struct fl_metric_plans d = ok("\n\nCREATE METRIC y_b AS SELECT COUNT(*) "
                                  "FROM flows");
    struct fl_metric_plans e = { 0, NULL };
    struct fl_err fe = FL_ERR_INIT;
    char *err = fe.msg;
    CHECK_EQ_INT(fl_plan_merge(&a, &e, &fe), 0);
    CHECK_EQ_INT(a.n, 2);
    CHECK_EQ_INT(fl_plan_merge(&a, &b, &fe), 0);
    CHECK_EQ_INT(a.n, 3);
    CHECK_EQ_INT(b.n, 0);
    CHECK(b.plan == NULL);
    CHECK_EQ_STR(a.plan[2].name, "z");
    CHECK_EQ_INT(fl_plan_merge(&a, &d, &fe), FL_ECONFIG);
    CHECK_EQ_STR(err, "duplicate metric name y_b (CREATE METRIC y at line 2 "
                 "and CREATE METRIC y_b at line 3)");
    CHECK_EQ_INT(a.n, 3);
    CHECK_EQ_INT(d.n, 1);
    /* the same file twice: every name clashes. */
    b = ok("CREATE METRIC z AS SELECT SUM(bytes) FROM flows");
    CHECK_EQ_INT(fl_plan_merge(&a, &b, &fe), FL_ECONFIG);
    CHECK_EQ_STR(err, "duplicate metric name z (CREATE METRIC z at line 2 "
                 "and CREATE METRIC z at line 1)");
    fl_plan_free(&a);
    fl_plan_free(&b);
    fl_plan_free(&d);
    fl_plan_free(NULL);
    CHECK_EQ_STR(fl_time_basis_name(FL_TIME_START), "start");
    CHECK_EQ_STR(fl_time_basis_name(FL_TIME_END), "end");
    CHECK_EQ_STR(fl_time_basis_name(FL_TIME_ARRIVAL), "arrival");
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* ---- CIDR ---- */

static int
contains(const char *net, const char *addr)
{
    struct fl_cidr c;
    CHECK_EQ_INT(fl_cidr_parse(net, strlen(net), &c), 0);
    return fl_cidr_contains(&c, addr, strlen(addr));
}


static void
test_cidr_parse(void)
{
    static const char *const bad[] = {
        "", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/08", "10.0.0.0/-1",
        "10.0.0.0/8/8", "10.0.0", "10.0.0.0.0", "256.0.0.0", "01.0.0.0",
        "1.2.3.4 ", " 1.2.3.4", "1..2.3", "1.2.3.4x", "1234.1.1.1", "::/129",
        "2001:db8::1%eth0", "2001:db8:::1", "g::1", "-", "1.2.3.4/1000",
        "10.0.0.0/ 8"
    };
    struct fl_cidr c;
    int fam;
    unsigned char a[16];
    char buf[64];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c.family = 99;
        if (fl_cidr_parse(bad[i], strlen(bad[i]), &c) != FL_EPARSE) {
            fprintf(stderr, "  accepted bad network '%s'\n", bad[i]);
            CHECK(0);
        }
        CHECK_EQ_INT(c.family, 99);
    }
    CHECK_EQ_INT(fl_cidr_parse("10.1.2.3/8", 10, &c), 0);
    CHECK_EQ_INT(c.family, 4);
    CHECK_EQ_INT(c.prefix, 8);
    CHECK_EQ_INT(fl_cidr_host_bits(&c), 1);
    CHECK_EQ_STR(fl_cidr_format(&c, buf, sizeof buf), "10.1.2.3/8");
    fl_cidr_mask(&c);
    CHECK_EQ_INT(fl_cidr_host_bits(&c), 0);
    CHECK_EQ_STR(fl_cidr_format(&c, buf, sizeof buf), "10.0.0.0/8");
    CHECK_EQ_INT(fl_cidr_parse("255.255.255.255", 15, &c), 0);
    CHECK_EQ_INT(c.prefix, 32);
    CHECK_EQ_INT(fl_cidr_parse("0.0.0.0/0", 9, &c), 0);
    CHECK_EQ_INT(fl_cidr_host_bits(&c), 0);
    CHECK_EQ_INT(fl_cidr_parse("2001:db8::1/64", 14, &c), 0);
    CHECK_EQ_INT(c.family, 6);
    CHECK_EQ_INT(fl_cidr_host_bits(&c), 1);
    fl_cidr_mask(&c);
    CHECK_EQ_STR(fl_cidr_format(&c, buf, sizeof buf), "2001:db8::/64");
    CHECK_EQ_INT(fl_cidr_parse("::", 2, &c), 0);
    CHECK_EQ_INT(c.prefix, 128);
    CHECK_EQ_INT(fl_cidr_parse("2001:db8::/33", 13, &c), 0);
    CHECK_EQ_INT(fl_cidr_host_bits(&c), 0);
    /* length-bounded: bytes past len are not read. */
    CHECK_EQ_INT(fl_cidr_parse("10.0.0.0/8junk", 10, &c), 0);
    CHECK_EQ_INT(c.prefix, 8);
    CHECK_EQ_INT(fl_cidr_addr_parse("192.168.0.1", 11, &fam, a), 0);
    CHECK_EQ_INT(fam, 4);
    CHECK(a[0] == 192 && a[1] == 168 && a[2] == 0 && a[3] == 1 && a[4] == 0
          && a[15] == 0);
    CHECK_EQ_INT(fl_cidr_addr_parse("::ffff:1.2.3.4", 14, &fam, a), 0);
    CHECK_EQ_INT(fam, 6);
    CHECK(a[10] == 0xff && a[11] == 0xff && a[12] == 1 && a[15] == 4);
    fam = 0;
    CHECK_EQ_INT(fl_cidr_addr_parse("1.2.3.4/8", 9, &fam, a), FL_EPARSE);
    CHECK_EQ_INT(fam, 0);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_cidr_contains(void)
{
    static const struct { const char *net, *addr; int in; } cases[] = {
        { "10.0.0.0/8", "10.0.0.0", 1 },
        { "10.0.0.0/8", "10.255.255.255", 1 },
        { "10.0.0.0/8", "11.0.0.0", 0 },
        { "10.0.0.0/8", "9.255.255.255", 0 },
        { "172.16.0.0/12", "172.31.1.1", 1 },
        { "172.16.0.0/12", "172.32.0.0", 0 },
        { "0.0.0.0/0", "1.2.3.4", 1 },
        { "0.0.0.0/0", "255.255.255.255", 1 },
        { "0.0.0.0/0", "::1", 0 },                 /* other family */
        { "0.0.0.0/0", "-", 0 },                   /* NODATA */
        { "0.0.0.0/0", "", 0 },
        { "0.0.0.0/0", "1.2.3", 0 },
        { "0.0.0.0/0", "1.2.3.256", 0 },
        { "0.0.0.0/0", "1.2.3.04", 0 },
        { "192.168.1.7/32", "192.168.1.7", 1 },
        { "192.168.1.7/32", "192.168.1.8", 0 },
        { "192.168.1.7", "192.168.1.7", 1 },
        { "10.1.2.3/8", "10.9.9.9", 1 },           /* host bits ignored */
        { "10.0.0.0/8", "::ffff:10.0.0.1", 0 },    /* mapped: not IPv4 */
        { "::ffff:0:0/96", "::ffff:10.0.0.1", 1 },
        { "::ffff:0:0/96", "10.0.0.1", 0 },
        { "2001:db8::/32", "2001:db8::1", 1 },
        { "2001:db8::/32", "2001:DB8:ffff::1", 1 },
        { "2001:db8::/32", "2001:db9::", 0 },
        { "2001:db8::/33", "2001:db8:7fff::", 1 },
        { "2001:db8::/33", "2001:db8:8000::", 0 },
        { "::/0", "fe80::1", 1 },
        { "::/0", "1.2.3.4", 0 },
        { "::/0", "fe80::1%eth0", 0 },
        { "::/0", "not:an:address", 0 },
        { "::1/128", "::1", 1 },
        { "::1", "::2", 0 },
        { "::/0", "0000:0000:0000:0000:0000:0000:0000:0000:0000", 0 },
        { "fe80::/10", "febf::1", 1 },
        { "fe80::/10", "fec0::1", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (contains(cases[i].net, cases[i].addr) != cases[i].in) {
            fprintf(stderr, "  %s in %s: want %d\n", cases[i].addr,
                    cases[i].net, cases[i].in);
            CHECK(0);
        }
    }
    /* length-bounded: the address is the first len bytes only. */
    {
        struct fl_cidr c;
        CHECK_EQ_INT(fl_cidr_parse("10.0.0.0/8", 10, &c), 0);
        CHECK_EQ_INT(fl_cidr_contains(&c, "10.0.0.1 rest", 8), 1);
        CHECK_EQ_INT(fl_cidr_contains(&c, "10.0.0.1 rest", 9), 0);
    }
    CHECK_EQ_INT(fl_mem_used(), 0);
}


FL_TEST_MAIN(
    FL_TEST(test_builtin),
    FL_TEST(test_aggregates),
    FL_TEST(test_dimensions_and_names),
    FL_TEST(test_windows),
    FL_TEST(test_where_comparisons),
    FL_TEST(test_where_logic),
    FL_TEST(test_where_in_between_null),
    FL_TEST(test_comments_and_statements),
    FL_TEST(test_rejections),
    FL_TEST(test_error_order_and_depth),
    FL_TEST(test_alloc_failures),
    FL_TEST(test_merge),
    FL_TEST(test_cidr_parse),
    FL_TEST(test_cidr_contains)
)
