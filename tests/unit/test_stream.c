/* SPDX-License-Identifier: MIT
 *
 * test_stream.c -- the stream engine (src/stream): aggregates with NULLs,
 * SQL three-valued logic, windows and clocks, lateness, order
 * independence, max_groups, COUNT(DISTINCT) exact and HyperLogLog, and
 * snapshots (round trip, damage, changed statements).
 *
 * Plans are built by hand here (the SQL compiler is another module), with
 * fl_malloc'd fields so that fl_plan_free releases them.
 */
#include "../../src/core/fl_config.h"

#include <math.h>
#include <stdint.h>

#include "harness.h"
#include "core/fl_error.h"
#include "core/fl_mem.h"
#include "gen/generate.h"
#include "parse/batch.h"
#include "parse/fields.h"
#include "parse/format.h"
#include "parse/line.h"
#include "stream/plan.h"
#include "stream/stream.h"

/* ------------------------------------------------------------------ */
/* Plans by hand                                                       */
/* ------------------------------------------------------------------ */

static struct fl_pred *
pnew(enum fl_pred_kind kind, int column)
{
    struct fl_pred *p = fl_calloc(1, sizeof *p);
    CHECK(p != NULL);
    p->kind = kind;
    p->column = column;
    return p;
}


static struct fl_pred *
p_int(int column, enum fl_cmp op, int64_t v)
{
    struct fl_pred *p = pnew(FL_PRED_CMP, column);
    p->cmp = op;
    p->lits = fl_calloc(1, sizeof *p->lits);
    CHECK(p->lits != NULL);
    p->lits[0].i = v;
    p->n_lits = 1;
    return p;
}


static struct fl_pred *
p_str(int column, enum fl_cmp op, const char *v)
{
    struct fl_pred *p = pnew(FL_PRED_CMP, column);
    p->cmp = op;
    p->lits = fl_calloc(1, sizeof *p->lits);
    CHECK(p->lits != NULL);
    p->lits[0].s = fl_strdup(v);
    p->lits[0].len = strlen(v);
    p->n_lits = 1;
    return p;
}


static struct fl_pred *
p_bin(enum fl_pred_kind kind, struct fl_pred *a, struct fl_pred *b)
{
    struct fl_pred *p = pnew(kind, -1);
    p->a = a;
    p->b = b;
    return p;
}


static struct fl_pred *
p_in_int(int column, int negate, size_t n, const int64_t *v)
{
    struct fl_pred *p = pnew(FL_PRED_IN, column);
    p->negate = negate;
    p->lits = fl_calloc(n, sizeof *p->lits);
    CHECK(p->lits != NULL);
    for (size_t i = 0; i < n; i++)
        p->lits[i].i = v[i];
    p->n_lits = n;
    return p;
}


static struct fl_pred *
p_in_str(int column, int negate, size_t n, const char *const *v)
{
    struct fl_pred *p = pnew(FL_PRED_IN, column);
    p->negate = negate;
    p->lits = fl_calloc(n, sizeof *p->lits);
    CHECK(p->lits != NULL);
    for (size_t i = 0; i < n; i++) {
        p->lits[i].s = fl_strdup(v[i]);
        p->lits[i].len = strlen(v[i]);
    }
    p->n_lits = n;
    return p;
}


static struct fl_pred *
p_isnull(int column, int negate)
{
    struct fl_pred *p = pnew(FL_PRED_IS_NULL, column);
    p->negate = negate;
    return p;
}


static struct fl_pred *
p_cidr(int column, int family, const unsigned char *addr, unsigned prefix)
{
    struct fl_pred *p = pnew(FL_PRED_CIDR, column);
    p->cidr.family = family;
    memcpy(p->cidr.addr, addr, family == 4 ? 4 : 16);
    p->cidr.prefix = prefix;
    return p;
}


struct aggdef {
    enum fl_agg_kind kind;
    int              column;
    const char      *metric;
};


static void
add_plan(struct fl_metric_plans *ps, const char *name, const char *text,
         enum fl_time_basis t, int64_t window, size_t n_dims, const int *dims,
         struct fl_pred *where, size_t n_aggs, const struct aggdef *aggs)
{
    struct fl_metric_plan *np = fl_realloc(ps->plan, (ps->n + 1) * sizeof *np);
    CHECK(np != NULL);
    ps->plan = np;
    struct fl_metric_plan *p = &ps->plan[ps->n++];
    memset(p, 0, sizeof *p);
    p->name = fl_strdup(name);
    p->text = fl_strdup(text);
    p->line = 1;
    p->time = t;
    p->window = window;
    p->n_dims = n_dims;
    if (n_dims > 0) {
        p->dims = fl_calloc(n_dims, sizeof *p->dims);
        CHECK(p->dims != NULL);
        memcpy(p->dims, dims, n_dims * sizeof *dims);
    }
    p->where = where;
    p->n_aggs = n_aggs;
    p->aggs = fl_calloc(n_aggs, sizeof *p->aggs);
    CHECK(p->aggs != NULL);
    for (size_t a = 0; a < n_aggs; a++) {
        p->aggs[a].kind = aggs[a].kind;
        p->aggs[a].column = aggs[a].column;
        p->aggs[a].metric = fl_strdup(aggs[a].metric);
    }
}


/* The two default metrics (the AWS blog's two aggregations). */
static void
add_defaults(struct fl_metric_plans *ps)
{
    static const struct aggdef a1 = { FL_AGG_SUM, FL_F_PACKETS, "rejected_tcp_packets" };
    static const struct aggdef a2 = { FL_AGG_SUM, FL_F_PACKETS, "rejected_packets_by_protocol" };
    static const int proto = FL_F_PROTOCOL;
    add_plan(ps, "rejected_tcp_packets", "t1", FL_TIME_START, 900, 0, NULL,
             p_bin(FL_PRED_AND, p_str(FL_F_ACTION, FL_CMP_EQ, "REJECT"),
                   p_int(FL_F_PROTOCOL, FL_CMP_EQ, 6)), 1, &a1);
    add_plan(ps, "rejected_packets_by_protocol", "t2", FL_TIME_START, 900, 1,
             &proto, p_str(FL_F_ACTION, FL_CMP_EQ, "REJECT"), 1, &a2);
}

/* ------------------------------------------------------------------ */
/* Collecting values                                                   */
/* ------------------------------------------------------------------ */

struct coll {
    size_t n;
    char **line;
};


static void
collect(void *ctx, const struct fl_metric_value *v)
{
    struct coll *c = ctx;
    char buf[512];
    size_t off = 0;
    c->line = realloc(c->line, (c->n + 1) * sizeof *c->line);
    CHECK(c->line != NULL);
    off += (size_t)snprintf(buf + off, sizeof buf - off, "%s", v->metric);
    for (size_t d = 0; d < v->n_dims; d++)
        off += (size_t)snprintf(buf + off, sizeof buf - off, "|%s=%s",
                                v->dim_names[d],
                                v->dim_values[d] ? v->dim_values[d] : "NULL");
    CHECK(v->window_end > v->window_start);
    snprintf(buf + off, sizeof buf - off, "|%lld|%s|f%d|e%d|r%llu",
             (long long)v->window_start,
             v->has_value ? "" : "NULL", v->final, v->exact,
             (unsigned long long)v->records);
    if (v->has_value) {
        /* The value in full precision, inserted before |f. */
        char val[64], *f = strstr(buf + off, "|f");
        snprintf(val, sizeof val, "%.17g", v->value);
        size_t tail = strlen(f);
        char rest[128];
        memcpy(rest, f, tail + 1);
        snprintf(f, sizeof buf - (size_t)(f - buf), "%s%s", val, rest);
    }
    c->line[c->n] = strdup(buf);
    CHECK(c->line[c->n] != NULL);
    c->n++;
}


static int
cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}


static void
coll_sort(struct coll *c)
{
    qsort(c->line, c->n, sizeof c->line[0], cmp_line);
}


static void
coll_free(struct coll *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->line[i]);
    free(c->line);
    c->line = NULL;
    c->n = 0;
}


/* Finds the line starting with prefix; fails when absent. */
static const char *
coll_find(const struct coll *c, const char *prefix)
{
    for (size_t i = 0; i < c->n; i++)
        if (strncmp(c->line[i], prefix, strlen(prefix)) == 0)
            return c->line[i];
    fprintf(stderr, "  no value starting with '%s'; have:\n", prefix);
    for (size_t i = 0; i < c->n; i++)
        fprintf(stderr, "    %s\n", c->line[i]);
    exit(1);
}


static void
coll_equal(struct coll *a, struct coll *b)
{
    coll_sort(a);
    coll_sort(b);
    CHECK_EQ_INT(a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        CHECK_EQ_STR(a->line[i], b->line[i]);
}

/* ------------------------------------------------------------------ */
/* Feeding records                                                     */
/* ------------------------------------------------------------------ */

static struct fl_format *fmt;
static struct fl_parser parser;


static void
setup_parser(void)
{
    CHECK(fl_format_default(&fmt) == 0);
    fl_parser_init(&parser, fmt, NULL, NULL);
}


/* A default-format line; "-" for NULL strings, -1 for NULL numbers. */
static void
mkline(char *buf, size_t cap, const char *src, int dport, int proto,
       long long packets, long long start, const char *action)
{
    char pk[24], pr[16], st[24], en[24];
    if (packets < 0)
        snprintf(pk, sizeof pk, "-");
    else
        snprintf(pk, sizeof pk, "%lld", packets);
    if (proto < 0)
        snprintf(pr, sizeof pr, "-");
    else
        snprintf(pr, sizeof pr, "%d", proto);
    if (start < 0) {
        snprintf(st, sizeof st, "-");
        snprintf(en, sizeof en, "-");
    } else {
        snprintf(st, sizeof st, "%lld", start);
        snprintf(en, sizeof en, "%lld", start + 30);
    }
    snprintf(buf, cap, "2 123456789012 eni-1 %s 10.9.9.9 40000 %d %s %s 100 %s %s %s OK",
             src, dport, pr, pk, st, en, action);
}


/* Parses n lines into one batch. */
static struct fl_batch *
make_batch(char **lines, size_t n)
{
    struct fl_batch *b = NULL;
    struct fl_parse_err err;
    CHECK(fl_batch_create(n > 0 ? n : 1, 0, &b) == 0);
    fl_batch_reset(b);
    for (size_t i = 0; i < n; i++) {
        memset(&err, 0, sizeof err);
        int rc = fl_parse_line(&parser, b, lines[i], strlen(lines[i]), &err);
        if (rc != 0)
            fprintf(stderr, "  parse '%s': %s\n", lines[i], err.reason);
        CHECK_EQ_INT(rc, 0);
    }
    return b;
}


/* Parses n lines into one batch and processes it. */
static int
feed(struct fl_stream *s, char **lines, size_t n, int64_t arrival)
{
    struct fl_batch *b = make_batch(lines, n);
    int rc = fl_stream_process(s, b, arrival);
    fl_batch_destroy(b);
    return rc;
}


struct lines {
    size_t n;
    char **l;
};


static void
lines_add(struct lines *ls, const char *src, int dport, int proto,
          long long packets, long long start, const char *action)
{
    char buf[256];
    mkline(buf, sizeof buf, src, dport, proto, packets, start, action);
    ls->l = realloc(ls->l, (ls->n + 1) * sizeof *ls->l);
    CHECK(ls->l != NULL);
    ls->l[ls->n] = strdup(buf);
    CHECK(ls->l[ls->n] != NULL);
    ls->n++;
}


static void
lines_free(struct lines *ls)
{
    for (size_t i = 0; i < ls->n; i++)
        free(ls->l[i]);
    free(ls->l);
    ls->l = NULL;
    ls->n = 0;
}


/* Generated records (default format), one line each. */
struct gen_text {
    char  *p;
    size_t len;
};


static int
gen_sink(void *ctx, const char *buf, size_t len)
{
    struct gen_text *t = ctx;
    char *np = realloc(t->p, t->len + len + 1);
    if (np == NULL)
        return -ENOMEM;
    t->p = np;
    memcpy(t->p + t->len, buf, len);
    t->len += len;
    t->p[t->len] = '\0';
    return 0;
}


static void
gen_lines(uint64_t records, uint64_t seed, struct lines *ls)
{
    struct fl_gen_opts o;
    struct gen_text t = { NULL, 0 };
    fl_gen_opts_init(&o);
    o.records = records;
    o.seed = seed;
    CHECK_EQ_INT(fl_gen_write(&o, gen_sink, &t), 0);
    char *p = t.p, *end = t.p + t.len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        CHECK(nl != NULL);
        *nl = '\0';
        ls->l = realloc(ls->l, (ls->n + 1) * sizeof *ls->l);
        CHECK(ls->l != NULL);
        ls->l[ls->n] = strdup(p);
        CHECK(ls->l[ls->n] != NULL);
        ls->n++;
        p = nl + 1;
    }
    free(t.p);
}


static struct fl_stream *
engine(struct fl_metric_plans *ps, const struct fl_stream_options *o,
       struct coll *finals)
{
    struct fl_stream *s = NULL;
    CHECK_EQ_INT(fl_stream_create(o, ps, collect, finals, &s), 0);
    CHECK_EQ_INT(ps->n, 0);
    return s;
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */
/* ------------------------------------------------------------------ */

static void
test_aggregates_with_nulls(void)
{
    static const struct aggdef aggs[] = {
        { FL_AGG_COUNT_STAR, -1, "n" },
        { FL_AGG_COUNT, FL_F_PACKETS, "npk" },
        { FL_AGG_SUM, FL_F_PACKETS, "sum" },
        { FL_AGG_MIN, FL_F_PACKETS, "min" },
        { FL_AGG_MAX, FL_F_PACKETS, "max" },
        { FL_AGG_AVG, FL_F_PACKETS, "avg" },
        { FL_AGG_COUNT_DISTINCT, FL_F_SRCADDR, "dsrc" },
        { FL_AGG_COUNT_DISTINCT, FL_F_PROTOCOL, "dproto" },
    };
    static const int dims[] = { FL_F_ACTION };
    struct fl_metric_plans ps = { 0, NULL };
    struct coll c = { 0, NULL };
    struct lines ls = { 0, NULL };

    setup_parser();
    add_plan(&ps, "m", "m", FL_TIME_START, 60, 1, dims, NULL, 8, aggs);
    struct fl_stream *s = engine(&ps, NULL, &c);
    lines_add(&ls, "10.0.0.1", 80, 6, 10, 1000, "ACCEPT");
    lines_add(&ls, "10.0.0.1", 80, 17, -1, 1001, "ACCEPT");
    lines_add(&ls, "10.0.0.2", 80, -1, 31, 1002, "ACCEPT");
    lines_add(&ls, "-", 80, 6, 2, 1003, "ACCEPT");
    lines_add(&ls, "10.0.0.3", 80, 6, -1, 1004, "REJECT");
    lines_add(&ls, "10.0.0.4", 80, 6, 7, 1005, "-");
    CHECK_EQ_INT(feed(s, ls.l, ls.n, 0), 0);
    fl_stream_flush(s);
    CHECK_EQ_INT(c.n, 3 * 8);
    CHECK_EQ_STR(coll_find(&c, "n|action=ACCEPT|"), "n|action=ACCEPT|960|4|f1|e1|r4");
    CHECK_EQ_STR(coll_find(&c, "npk|action=ACCEPT|"), "npk|action=ACCEPT|960|3|f1|e1|r4");
    CHECK_EQ_STR(coll_find(&c, "sum|action=ACCEPT|"), "sum|action=ACCEPT|960|43|f1|e1|r4");
    CHECK_EQ_STR(coll_find(&c, "min|action=ACCEPT|"), "min|action=ACCEPT|960|2|f1|e1|r4");
    CHECK_EQ_STR(coll_find(&c, "max|action=ACCEPT|"), "max|action=ACCEPT|960|31|f1|e1|r4");
    CHECK_EQ_STR(coll_find(&c, "avg|action=ACCEPT|"),
                 "avg|action=ACCEPT|960|14.333333333333334|f1|e1|r4");
    CHECK_EQ_STR(coll_find(&c, "dsrc|action=ACCEPT|"), "dsrc|action=ACCEPT|960|2|f1|e1|r4");
    CHECK_EQ_STR(coll_find(&c, "dproto|action=ACCEPT|"), "dproto|action=ACCEPT|960|2|f1|e1|r4");
    /* A group whose packets are all NULL: SUM/MIN/MAX/AVG are NULL. */
    CHECK_EQ_STR(coll_find(&c, "n|action=REJECT|"), "n|action=REJECT|960|1|f1|e1|r1");
    CHECK_EQ_STR(coll_find(&c, "npk|action=REJECT|"), "npk|action=REJECT|960|0|f1|e1|r1");
    CHECK_EQ_STR(coll_find(&c, "sum|action=REJECT|"), "sum|action=REJECT|960|NULL|f1|e1|r1");
    CHECK_EQ_STR(coll_find(&c, "min|action=REJECT|"), "min|action=REJECT|960|NULL|f1|e1|r1");
    CHECK_EQ_STR(coll_find(&c, "avg|action=REJECT|"), "avg|action=REJECT|960|NULL|f1|e1|r1");
    /* A NULL dimension is its own group, reported as a NULL pointer. */
    CHECK_EQ_STR(coll_find(&c, "sum|action=NULL|"), "sum|action=NULL|960|7|f1|e1|r1");
    fl_stream_destroy(s);
    coll_free(&c);
    lines_free(&ls);
    fl_format_destroy(fmt);
}


/* One COUNT(*) metric per predicate over the same rows. */
static void
run_preds(struct fl_pred **preds, size_t n, struct lines *ls, struct coll *c)
{
    struct fl_metric_plans ps = { 0, NULL };
    for (size_t i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%zu", i);
        struct aggdef a = { FL_AGG_COUNT_STAR, -1, name };
        add_plan(&ps, name, name, FL_TIME_START, 3600, 0, NULL, preds[i], 1, &a);
    }
    struct fl_stream *s = engine(&ps, NULL, c);
    CHECK_EQ_INT(feed(s, ls->l, ls->n, 0), 0);
    fl_stream_flush(s);
    fl_stream_destroy(s);
}


/* Rows counted for predicate i, or -1 when none (no value emitted). */
static long long
count_of(const struct coll *c, size_t i)
{
    char pre[16];
    snprintf(pre, sizeof pre, "p%zu|", i);
    for (size_t k = 0; k < c->n; k++)
        if (strncmp(c->line[k], pre, strlen(pre)) == 0) {
            const char *v = c->line[k] + strlen(pre);
            v = strchr(v, '|') + 1;
            return strtoll(v, NULL, 10);
        }
    return 0;
}


static void
test_three_valued_logic(void)
{
    struct lines ls = { 0, NULL };
    struct coll c = { 0, NULL };
    setup_parser();
    /* protocol: 6, 17, NULL x action: ACCEPT, REJECT, NULL */
    lines_add(&ls, "10.0.0.1", 80, 6, 1, 100, "ACCEPT");
    lines_add(&ls, "10.0.0.1", 80, 6, 1, 100, "REJECT");
    lines_add(&ls, "10.0.0.1", 80, 6, 1, 100, "-");
    lines_add(&ls, "10.0.0.1", 80, 17, 1, 100, "ACCEPT");
    lines_add(&ls, "10.0.0.1", 80, 17, 1, 100, "REJECT");
    lines_add(&ls, "10.0.0.1", 80, 17, 1, 100, "-");
    lines_add(&ls, "10.0.0.1", 80, -1, 1, 100, "ACCEPT");
    lines_add(&ls, "10.0.0.1", 80, -1, 1, 100, "REJECT");
    lines_add(&ls, "10.0.0.1", 80, -1, 1, 100, "-");
    struct fl_pred *preds[] = {
        /* 0: protocol = 6 -> 3 */
        p_int(FL_F_PROTOCOL, FL_CMP_EQ, 6),
        /* 1: NOT (protocol = 6) -> 17 only: 3 */
        p_bin(FL_PRED_NOT, p_int(FL_F_PROTOCOL, FL_CMP_EQ, 6), NULL),
        /* 2: protocol = 6 OR action = 'REJECT' -> 3 + (17,R) + (NULL,R) = 5 */
        p_bin(FL_PRED_OR, p_int(FL_F_PROTOCOL, FL_CMP_EQ, 6),
              p_str(FL_F_ACTION, FL_CMP_EQ, "REJECT")),
        /* 3: NOT (protocol = 6 OR action = 'REJECT'): TRUE only where both
         * are FALSE: (17, ACCEPT) -> 1 */
        p_bin(FL_PRED_NOT, p_bin(FL_PRED_OR, p_int(FL_F_PROTOCOL, FL_CMP_EQ, 6),
                                 p_str(FL_F_ACTION, FL_CMP_EQ, "REJECT")), NULL),
        /* 4: NOT (protocol = 6 AND action = 'REJECT'): TRUE where either
         * is FALSE: (6,A) (17,*)x3 (NULL,A) -> 5 */
        p_bin(FL_PRED_NOT, p_bin(FL_PRED_AND, p_int(FL_F_PROTOCOL, FL_CMP_EQ, 6),
                                 p_str(FL_F_ACTION, FL_CMP_EQ, "REJECT")), NULL),
        /* 5: protocol <> 6 -> 3 */
        p_int(FL_F_PROTOCOL, FL_CMP_NE, 6),
        /* 6: action > 'B' (bytewise) -> REJECT x3 */
        p_str(FL_F_ACTION, FL_CMP_GT, "B"),
        /* 7: NOT NOT (action <= 'ACCEPT') -> 3 */
        p_bin(FL_PRED_NOT, p_bin(FL_PRED_NOT, p_str(FL_F_ACTION, FL_CMP_LE, "ACCEPT"),
                                 NULL), NULL),
        /* 8: protocol >= 7 OR protocol < 7: NULLs stay out -> 6 */
        p_bin(FL_PRED_OR, p_int(FL_F_PROTOCOL, FL_CMP_GE, 7),
              p_int(FL_F_PROTOCOL, FL_CMP_LT, 7)),
    };
    run_preds(preds, 9, &ls, &c);
    CHECK_EQ_INT(count_of(&c, 0), 3);
    CHECK_EQ_INT(count_of(&c, 1), 3);
    CHECK_EQ_INT(count_of(&c, 2), 5);
    CHECK_EQ_INT(count_of(&c, 3), 1);
    CHECK_EQ_INT(count_of(&c, 4), 5);
    CHECK_EQ_INT(count_of(&c, 5), 3);
    CHECK_EQ_INT(count_of(&c, 6), 3);
    CHECK_EQ_INT(count_of(&c, 7), 3);
    CHECK_EQ_INT(count_of(&c, 8), 6);
    coll_free(&c);
    lines_free(&ls);
    fl_format_destroy(fmt);
}


static void
test_in_not_in_is_null(void)
{
    struct lines ls = { 0, NULL };
    struct coll c = { 0, NULL };
    static const int64_t tcp_udp[] = { 6, 17 };
    static const char *const acts[] = { "REJECT", "NOPE" };
    setup_parser();
    lines_add(&ls, "10.0.0.1", 80, 6, 1, 100, "ACCEPT");
    lines_add(&ls, "10.0.0.1", 80, 17, 1, 100, "REJECT");
    lines_add(&ls, "10.0.0.1", 80, 1, 1, 100, "ACCEPT");
    lines_add(&ls, "10.0.0.1", 80, -1, 1, 100, "-");
    lines_add(&ls, "10.0.0.1", 80, -1, 1, 100, "REJECT");
    struct fl_pred *preds[] = {
        p_in_int(FL_F_PROTOCOL, 0, 2, tcp_udp),          /* 2 */
        p_in_int(FL_F_PROTOCOL, 1, 2, tcp_udp),          /* 1: NULLs out */
        p_bin(FL_PRED_NOT, p_in_int(FL_F_PROTOCOL, 0, 2, tcp_udp), NULL), /* 1 */
        p_isnull(FL_F_PROTOCOL, 0),                      /* 2 */
        p_isnull(FL_F_PROTOCOL, 1),                      /* 3 */
        p_bin(FL_PRED_NOT, p_isnull(FL_F_ACTION, 0), NULL), /* 4 */
        p_in_str(FL_F_ACTION, 0, 2, acts),               /* 2 */
        p_in_str(FL_F_ACTION, 1, 2, acts),               /* 2 */
        /* protocol IN (6, 17) OR protocol IS NULL -> 4 */
        p_bin(FL_PRED_OR, p_in_int(FL_F_PROTOCOL, 0, 2, tcp_udp),
              p_isnull(FL_F_PROTOCOL, 0)),
    };
    run_preds(preds, 9, &ls, &c);
    CHECK_EQ_INT(count_of(&c, 0), 2);
    CHECK_EQ_INT(count_of(&c, 1), 1);
    CHECK_EQ_INT(count_of(&c, 2), 1);
    CHECK_EQ_INT(count_of(&c, 3), 2);
    CHECK_EQ_INT(count_of(&c, 4), 3);
    CHECK_EQ_INT(count_of(&c, 5), 4);
    CHECK_EQ_INT(count_of(&c, 6), 2);
    CHECK_EQ_INT(count_of(&c, 7), 2);
    CHECK_EQ_INT(count_of(&c, 8), 4);
    coll_free(&c);
    lines_free(&ls);
    fl_format_destroy(fmt);
}


static void
test_cidr_and_columns(void)
{
    struct lines ls = { 0, NULL };
    struct coll c = { 0, NULL };
    static const unsigned char ten[4] = { 10, 0, 0, 0 };
    static const unsigned char n172[4] = { 172, 16, 0, 0 };
    unsigned char v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };
    setup_parser();
    lines_add(&ls, "10.1.2.3", 80, 6, 1, 100, "ACCEPT");
    lines_add(&ls, "172.31.255.1", 80, 6, 1, 100, "ACCEPT");
    lines_add(&ls, "172.32.0.1", 80, 6, 1, 100, "ACCEPT");
    lines_add(&ls, "2001:db8::1", 80, 6, 1, 100, "ACCEPT");
    lines_add(&ls, "2001:db9::1", 80, 6, 1, 100, "ACCEPT");
    lines_add(&ls, "-", 80, 6, 1, 100, "ACCEPT");
    lines_add(&ls, "garbage", 80, 6, 1, 100, "ACCEPT");
    struct fl_pred *cmpcols = pnew(FL_PRED_CMP_COLUMNS, FL_F_SRCPORT);
    cmpcols->column2 = FL_F_DSTPORT;
    cmpcols->cmp = FL_CMP_GT;                       /* 40000 > 80: all 7 */
    struct fl_pred *preds[] = {
        p_cidr(FL_F_SRCADDR, 4, ten, 8),            /* 1 */
        p_cidr(FL_F_SRCADDR, 4, n172, 12),          /* 1 */
        p_cidr(FL_F_SRCADDR, 6, v6, 32),            /* 1 */
        p_bin(FL_PRED_NOT, p_cidr(FL_F_SRCADDR, 4, ten, 8), NULL), /* 5 */
        p_cidr(FL_F_SRCADDR, 4, ten, 0),            /* every IPv4: 3 */
        cmpcols,
    };
    run_preds(preds, 6, &ls, &c);
    CHECK_EQ_INT(count_of(&c, 0), 1);
    CHECK_EQ_INT(count_of(&c, 1), 1);
    CHECK_EQ_INT(count_of(&c, 2), 1);
    CHECK_EQ_INT(count_of(&c, 3), 5);
    CHECK_EQ_INT(count_of(&c, 4), 3);
    CHECK_EQ_INT(count_of(&c, 5), 7);
    coll_free(&c);
    lines_free(&ls);
    fl_format_destroy(fmt);
}


static void
test_window_boundaries(void)
{
    static const struct aggdef a = { FL_AGG_COUNT_STAR, -1, "n" };
    struct fl_metric_plans ps = { 0, NULL };
    struct coll c = { 0, NULL };
    struct lines ls = { 0, NULL };
    setup_parser();
    add_plan(&ps, "n", "n", FL_TIME_START, 900, 0, NULL, NULL, 1, &a);
    struct fl_stream *s = engine(&ps, NULL, &c);
    /* The parser reads no negative numbers: patch start afterwards. */
    static const long long ts[] = { 900, 899, 0, 1799, 1800, -1, -900, -901 };
    struct fl_batch *b = NULL;
    struct fl_parse_err err;
    CHECK(fl_batch_create(16, 0, &b) == 0);
    fl_batch_reset(b);
    for (size_t i = 0; i < 8; i++) {
        lines_add(&ls, "10.0.0.1", 80, 6, 1, 5, "ACCEPT");
        CHECK_EQ_INT(fl_parse_line(&parser, b, ls.l[i], strlen(ls.l[i]), &err), 0);
        b->col[FL_F_START].v.i64[i] = ts[i];
    }
    CHECK_EQ_INT(fl_stream_process(s, b, 0), 0);
    fl_stream_flush(s);
    CHECK_EQ_INT(c.n, 5);
    /* Emitted oldest window first. */
    CHECK_EQ_STR(c.line[0], "n|-1800|1|f1|e1|r1");
    CHECK_EQ_STR(c.line[1], "n|-900|2|f1|e1|r2");
    CHECK_EQ_STR(c.line[2], "n|0|2|f1|e1|r2");
    CHECK_EQ_STR(c.line[3], "n|900|2|f1|e1|r2");
    CHECK_EQ_STR(c.line[4], "n|1800|1|f1|e1|r1");
    fl_batch_destroy(b);
    fl_stream_destroy(s);
    coll_free(&c);
    lines_free(&ls);
    fl_format_destroy(fmt);
}


static void
test_watermark_and_lateness(void)
{
    static const struct aggdef a = { FL_AGG_SUM, FL_F_PACKETS, "sum" };
    struct fl_metric_plans ps = { 0, NULL };
    struct coll c = { 0, NULL };
    struct lines b1 = { 0, NULL }, b2 = { 0, NULL }, b3 = { 0, NULL };
    struct fl_stream_options o;
    struct fl_stream_stats st;
    struct fl_stream_metric_stats ms[2];
    setup_parser();
    fl_stream_options_init(&o);
    CHECK_EQ_INT(o.allowed_lateness, 900);
    add_plan(&ps, "sum", "sum", FL_TIME_START, 900, 0, NULL, NULL, 1, &a);
    struct fl_stream *s = engine(&ps, &o, &c);

    lines_add(&b1, "10.0.0.1", 80, 6, 5, 1000, "ACCEPT");   /* [900, 1800) */
    lines_add(&b1, "10.0.0.1", 80, 6, 7, 2600, "ACCEPT");   /* [1800, 2700) */
    CHECK_EQ_INT(feed(s, b1.l, b1.n, 0), 0);
    /* Watermark 2600 - 900 = 1700 < 1800: nothing final yet. */
    CHECK_EQ_INT(c.n, 0);
    fl_stream_stats(s, &st);
    CHECK_EQ_INT(st.watermark_start, 1700);
    CHECK_EQ_INT(st.max_start, 2600);
    /* A batch whose rows are on time against the watermark before it,
     * and which moves it to 2701 - 900 = 1801: [900, 1800) is final. */
    lines_add(&b2, "10.0.0.1", 80, 6, 11, 1799, "ACCEPT");
    lines_add(&b2, "10.0.0.1", 80, 6, 1, 2701, "ACCEPT");
    CHECK_EQ_INT(feed(s, b2.l, b2.n, 0), 0);
    CHECK_EQ_INT(c.n, 1);
    CHECK_EQ_STR(c.line[0], "sum|900|16|f1|e1|r2");
    /* Now 1799 is late: counted, not added. 1800 is not. */
    lines_add(&b3, "10.0.0.1", 80, 6, 100, 1799, "ACCEPT");
    lines_add(&b3, "10.0.0.1", 80, 6, 1000, 1800, "ACCEPT");
    lines_add(&b3, "10.0.0.1", 80, 6, 100, 5, "ACCEPT");
    CHECK_EQ_INT(feed(s, b3.l, b3.n, 0), 0);
    fl_stream_stats(s, &st);
    CHECK_EQ_INT(st.late_records, 2);
    CHECK_EQ_INT(st.records, 7);
    CHECK_EQ_INT(st.batches, 3);
    CHECK_EQ_INT(fl_stream_metric_stats(s, ms, 2), 1);
    CHECK_EQ_STR(ms[0].metric, "sum");
    CHECK_EQ_INT(ms[0].late_records, 2);
    CHECK_EQ_INT(ms[0].records, 5);
    CHECK_EQ_INT(ms[0].open_windows, 2);
    CHECK_EQ_INT(ms[0].clock, 1801);
    fl_stream_flush(s);
    CHECK_EQ_INT(c.n, 3);
    CHECK_EQ_STR(c.line[1], "sum|1800|1007|f1|e1|r2");
    CHECK_EQ_STR(c.line[2], "sum|2700|1|f1|e1|r1");
    fl_stream_destroy(s);
    coll_free(&c);
    lines_free(&b1);
    lines_free(&b2);
    lines_free(&b3);
    fl_format_destroy(fmt);
}


/* A time far beyond its arrival is counted but does not move the
 * watermark: one bad clock cannot close every open window. */
static void
test_max_future(void)
{
    static const struct aggdef a = { FL_AGG_SUM, FL_F_PACKETS, "sum" };
    struct fl_metric_plans ps = { 0, NULL };
    struct coll c = { 0, NULL };
    struct lines b1 = { 0, NULL }, b2 = { 0, NULL }, b3 = { 0, NULL };
    struct fl_stream_options o;
    struct fl_stream_stats st;
    setup_parser();
    fl_stream_options_init(&o);
    CHECK_EQ_INT(o.max_future, 0);
    o.max_future = 600;
    add_plan(&ps, "sum", "sum", FL_TIME_START, 900, 0, NULL, NULL, 1, &a);
    struct fl_stream *s = engine(&ps, &o, &c);

    lines_add(&b1, "10.0.0.1", 80, 6, 5, 1000, "ACCEPT");     /* [900, 1800) */
    CHECK_EQ_INT(feed(s, b1.l, b1.n, 1000), 0);
    /* Stamped 27 hours after its arrival: counted, clocks unmoved. */
    lines_add(&b2, "10.0.0.1", 80, 6, 7, 100000, "ACCEPT");
    CHECK_EQ_INT(feed(s, b2.l, b2.n, 1100), 0);
    fl_stream_stats(s, &st);
    CHECK_EQ_INT(st.future_records, 1);
    CHECK_EQ_INT(st.max_start, 1000);
    CHECK_EQ_INT(st.watermark_start, 100);
    CHECK_EQ_INT(c.n, 0);
    /* A record within max_future of its arrival moves the watermark to
     * 2701 - 900 = 1801: [900, 1800) is final, the far one still open. */
    lines_add(&b3, "10.0.0.1", 80, 6, 1, 2701, "ACCEPT");
    CHECK_EQ_INT(feed(s, b3.l, b3.n, 2500), 0);
    CHECK_EQ_INT(c.n, 1);
    CHECK_EQ_STR(c.line[0], "sum|900|5|f1|e1|r1");
    fl_stream_stats(s, &st);
    CHECK_EQ_INT(st.late_records, 0);
    CHECK_EQ_INT(st.future_records, 1);
    fl_stream_flush(s);
    CHECK_EQ_INT(c.n, 3);
    CHECK_EQ_STR(c.line[1], "sum|2700|1|f1|e1|r1");
    CHECK_EQ_STR(c.line[2], "sum|99900|7|f1|e1|r1");
    fl_stream_destroy(s);
    coll_free(&c);
    lines_free(&b1);
    lines_free(&b2);
    lines_free(&b3);
    fl_format_destroy(fmt);
}


static void
test_untimed_records(void)
{
    static const struct aggdef a = { FL_AGG_COUNT_STAR, -1, "n" };
    static const struct aggdef ae = { FL_AGG_COUNT_STAR, -1, "ne" };
    struct fl_metric_plans ps = { 0, NULL };
    struct coll c = { 0, NULL };
    struct lines ls = { 0, NULL };
    struct fl_stream_stats st;
    setup_parser();
    add_plan(&ps, "n", "n", FL_TIME_START, 60, 0, NULL, NULL, 1, &a);
    add_plan(&ps, "ne", "ne", FL_TIME_END, 60, 0, NULL, NULL, 1, &ae);
    struct fl_stream *s = engine(&ps, NULL, &c);
    lines_add(&ls, "10.0.0.1", 80, 6, 1, 100, "ACCEPT");
    lines_add(&ls, "10.0.0.1", 80, 6, 1, -1, "ACCEPT");
    CHECK_EQ_INT(feed(s, ls.l, ls.n, 0), 0);
    fl_stream_stats(s, &st);
    CHECK_EQ_INT(st.untimed_records, 2);
    CHECK_EQ_INT(st.late_records, 0);
    CHECK_EQ_INT(st.max_end, 130);
    CHECK_EQ_INT(st.watermark_end, 130 - 900);
    fl_stream_flush(s);
    CHECK_EQ_INT(c.n, 2);
    CHECK_EQ_STR(c.line[0], "n|60|1|f1|e1|r1");
    CHECK_EQ_STR(c.line[1], "ne|120|1|f1|e1|r1");
    fl_stream_destroy(s);
    coll_free(&c);
    lines_free(&ls);
    fl_format_destroy(fmt);
}


/* The default metrics plus grouped and distinct ones over generated
 * records; lateness large enough that nothing is late. */
static void
add_mix(struct fl_metric_plans *ps, uint32_t hll_metric)
{
    static const int d_src[] = { FL_F_SRCADDR };
    static const int d_port_act[] = { FL_F_DSTPORT, FL_F_ACTION };
    static const struct aggdef a1[] = {
        { FL_AGG_SUM, FL_F_BYTES, "bytes_by_src" },
        { FL_AGG_AVG, FL_F_PACKETS, "avg_pk_by_src" },
        { FL_AGG_MIN, FL_F_START, "min_start_by_src" },
        { FL_AGG_MAX, FL_F_END, "max_end_by_src" },
    };
    static const struct aggdef a2[] = {
        { FL_AGG_COUNT_DISTINCT, FL_F_SRCADDR, "dsrc_by_port" },
        { FL_AGG_COUNT, FL_F_PACKETS, "n_by_port" },
    };
    static const struct aggdef a3 = { FL_AGG_COUNT_DISTINCT, FL_F_SRCADDR, "dsrc_all" };
    add_defaults(ps);
    add_plan(ps, "by_src", "by_src", FL_TIME_START, 600, 1, d_src, NULL, 4, a1);
    add_plan(ps, "by_port", "by_port", FL_TIME_END, 300, 2, d_port_act,
             p_bin(FL_PRED_NOT, p_isnull(FL_F_PACKETS, 0), NULL), 2, a2);
    if (hll_metric)
        add_plan(ps, "dsrc_all", "dsrc_all", FL_TIME_START, 3600, 0, NULL, NULL, 1, &a3);
}


static void
shuffle(char **l, size_t n, uint64_t seed)
{
    uint64_t x = seed * 2654435761u + 1;
    for (size_t i = n; i > 1; i--) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t j = (size_t)(x % i);
        char *t = l[i - 1];
        l[i - 1] = l[j];
        l[j] = t;
    }
}


/* Feeds lines in batches of varying sizes. */
static void
feed_all(struct fl_stream *s, char **l, size_t n, uint64_t seed)
{
    size_t i = 0, k = 0;
    while (i < n) {
        size_t len = 1 + (size_t)((seed * 7919 + k * 104729) % 700);
        if (len > n - i)
            len = n - i;
        CHECK_EQ_INT(feed(s, l + i, len, 0), 0);
        i += len;
        k++;
    }
}


static void
test_order_independence(void)
{
    struct lines ls = { 0, NULL };
    struct coll c1 = { 0, NULL }, c2 = { 0, NULL };
    struct fl_stream_options o;
    setup_parser();
    gen_lines(6000, 7, &ls);
    fl_stream_options_init(&o);
    o.allowed_lateness = 100000;
    o.distinct_exact_limit = 40;        /* some sets go to HLL */
    struct fl_metric_plans p1 = { 0, NULL }, p2 = { 0, NULL };
    add_mix(&p1, 1);
    add_mix(&p2, 1);
    struct fl_stream *s1 = engine(&p1, &o, &c1);
    struct fl_stream *s2 = engine(&p2, &o, &c2);
    feed_all(s1, ls.l, ls.n, 1);
    shuffle(ls.l, ls.n, 99);
    feed_all(s2, ls.l, ls.n, 2);
    struct fl_stream_stats st;
    fl_stream_stats(s2, &st);
    CHECK_EQ_INT(st.late_records, 0);
    fl_stream_flush(s1);
    fl_stream_flush(s2);
    CHECK(c1.n > 100);
    coll_equal(&c1, &c2);
    fl_stream_destroy(s1);
    fl_stream_destroy(s2);
    coll_free(&c1);
    coll_free(&c2);
    lines_free(&ls);
    fl_format_destroy(fmt);
}


static void
test_arrival_windows(void)
{
    static const struct aggdef a = { FL_AGG_COUNT_STAR, -1, "n" };
    struct fl_metric_plans ps = { 0, NULL };
    struct coll c = { 0, NULL };
    struct lines ls = { 0, NULL };
    struct fl_stream_stats st;
    setup_parser();
    add_plan(&ps, "n", "n", FL_TIME_ARRIVAL, 60, 0, NULL, NULL, 1, &a);
    struct fl_stream *s = engine(&ps, NULL, &c);
    /* Event times are irrelevant (and may be NULL) for arrival windows. */
    lines_add(&ls, "10.0.0.1", 80, 6, 1, 5, "ACCEPT");
    lines_add(&ls, "10.0.0.1", 80, 6, 1, -1, "ACCEPT");
    CHECK_EQ_INT(feed(s, ls.l, 2, 100), 0);
    CHECK_EQ_INT(feed(s, ls.l, 1, 110), 0);
    fl_stream_advance(s, 119);
    CHECK_EQ_INT(c.n, 0);
    fl_stream_advance(s, 50);           /* never backwards */
    fl_stream_stats(s, &st);
    CHECK_EQ_INT(st.arrival_clock, 119);
    fl_stream_advance(s, 120);
    CHECK_EQ_INT(c.n, 1);
    CHECK_EQ_STR(c.line[0], "n|60|3|f1|e1|r3");
    /* A batch stamped with an arrival in a final window is late. */
    CHECK_EQ_INT(feed(s, ls.l, 1, 100), 0);
    CHECK_EQ_INT(feed(s, ls.l, 1, 125), 0);
    fl_stream_stats(s, &st);
    CHECK_EQ_INT(st.late_records, 1);
    CHECK_EQ_INT(c.n, 1);
    /* process() moves the arrival clock too. */
    CHECK_EQ_INT(feed(s, ls.l, 1, 180), 0);
    CHECK_EQ_INT(c.n, 2);
    CHECK_EQ_STR(c.line[1], "n|120|1|f1|e1|r1");
    fl_stream_destroy(s);
    coll_free(&c);
    lines_free(&ls);
    fl_format_destroy(fmt);
}


static void
test_max_groups(void)
{
    static const struct aggdef a = { FL_AGG_COUNT_STAR, -1, "n" };
    static const int dims[] = { FL_F_DSTPORT };
    struct fl_metric_plans ps = { 0, NULL };
    struct coll c = { 0, NULL };
    struct lines ls = { 0, NULL };
    struct fl_stream_options o;
    struct fl_stream_stats st;
    struct fl_stream_metric_stats ms;
    setup_parser();
    fl_stream_options_init(&o);
    o.max_groups = 2;
    add_plan(&ps, "n", "n", FL_TIME_START, 60, 1, dims, NULL, 1, &a);
    struct fl_stream *s = engine(&ps, &o, &c);
    for (int i = 0; i < 5; i++)
        lines_add(&ls, "10.0.0.1", 80 + i, 6, 1, 100, "ACCEPT");
    lines_add(&ls, "10.0.0.1", 80, 6, 1, 100, "ACCEPT");    /* existing */
    lines_add(&ls, "10.0.0.1", 81, 6, 1, 100, "ACCEPT");
    CHECK_EQ_INT(feed(s, ls.l, ls.n, 0), 0);
    fl_stream_stats(s, &st);
    CHECK_EQ_INT(st.dropped_records, 3);
    CHECK_EQ_INT(st.open_groups, 2);
    CHECK_EQ_INT(fl_stream_metric_stats(s, &ms, 1), 1);
    CHECK_EQ_INT(ms.dropped_records, 3);
    CHECK_EQ_INT(ms.records, 4);
    fl_stream_flush(s);
    CHECK_EQ_INT(c.n, 2);
    CHECK_EQ_STR(c.line[0], "n|dstport=80|60|2|f1|e1|r2");
    CHECK_EQ_STR(c.line[1], "n|dstport=81|60|2|f1|e1|r2");
    fl_stream_stats(s, &st);
    CHECK_EQ_INT(st.open_groups, 0);
    fl_stream_destroy(s);
    coll_free(&c);
    lines_free(&ls);
    fl_format_destroy(fmt);
}


static void
distinct_run(uint32_t n_values, uint32_t limit, double *value, int *exact)
{
    static const struct aggdef a = { FL_AGG_COUNT_DISTINCT, FL_F_SRCADDR, "d" };
    struct fl_metric_plans ps = { 0, NULL };
    struct coll c = { 0, NULL };
    struct lines ls = { 0, NULL };
    struct fl_stream_options o;
    fl_stream_options_init(&o);
    o.distinct_exact_limit = limit;
    add_plan(&ps, "d", "d", FL_TIME_START, 3600, 0, NULL, NULL, 1, &a);
    struct fl_stream *s = engine(&ps, &o, &c);
    for (uint32_t i = 0; i < n_values; i++) {
        char addr[32];
        snprintf(addr, sizeof addr, "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
        lines_add(&ls, addr, 80, 6, 1, 100, "ACCEPT");
        if (i % 3 == 0)     /* duplicates count once */
            lines_add(&ls, addr, 80, 6, 1, 100, "ACCEPT");
        if (ls.n >= 2000) {
            CHECK_EQ_INT(feed(s, ls.l, ls.n, 0), 0);
            lines_free(&ls);
        }
    }
    CHECK_EQ_INT(feed(s, ls.l, ls.n, 0), 0);
    fl_stream_flush(s);
    CHECK_EQ_INT(c.n, 1);
    char *bar = strchr(c.line[0] + 2, '|');
    *value = strtod(bar + 1, NULL);
    *exact = strstr(c.line[0], "|e1|") != NULL;
    fl_stream_destroy(s);
    coll_free(&c);
    lines_free(&ls);
}


static void
test_count_distinct_exact_and_hll(void)
{
    double v;
    int exact;
    setup_parser();
    distinct_run(1000, 1024, &v, &exact);
    CHECK_EQ_INT((long long)v, 1000);
    CHECK(exact);
    distinct_run(1024, 1024, &v, &exact);
    CHECK_EQ_INT((long long)v, 1024);
    CHECK(exact);
    distinct_run(1025, 1024, &v, &exact);
    CHECK(!exact);
    CHECK(v > 1025 * 0.95 && v < 1025 * 1.05);
    distinct_run(100000, 1024, &v, &exact);
    CHECK(!exact);
    fprintf(stderr, "  HLL estimate of 100000 distinct: %.0f (%.2f%%)\n", v,
            (v - 100000) / 1000.0);
    CHECK(v > 95000 && v < 105000);
    fl_format_destroy(fmt);
}


static void
test_each_open_provisional(void)
{
    struct fl_metric_plans ps = { 0, NULL };
    struct coll c = { 0, NULL }, open = { 0, NULL };
    struct lines ls = { 0, NULL };
    setup_parser();
    add_defaults(&ps);
    struct fl_stream *s = engine(&ps, NULL, &c);
    lines_add(&ls, "10.0.0.1", 80, 6, 5, 1000, "REJECT");
    lines_add(&ls, "10.0.0.1", 80, 17, 3, 1000, "REJECT");
    lines_add(&ls, "10.0.0.1", 80, 6, 2, 1900, "REJECT");
    lines_add(&ls, "10.0.0.1", 80, 6, 50, 1000, "ACCEPT");
    CHECK_EQ_INT(feed(s, ls.l, ls.n, 0), 0);
    fl_stream_each_open(s, collect, &open);
    CHECK_EQ_INT(c.n, 0);
    CHECK_EQ_INT(open.n, 5);
    /* Plan order, then windows oldest first, then groups. */
    CHECK_EQ_STR(open.line[0], "rejected_tcp_packets|900|5|f0|e1|r1");
    CHECK_EQ_STR(open.line[1], "rejected_tcp_packets|1800|2|f0|e1|r1");
    CHECK_EQ_STR(open.line[2], "rejected_packets_by_protocol|protocol=6|900|5|f0|e1|r1");
    CHECK_EQ_STR(open.line[3], "rejected_packets_by_protocol|protocol=17|900|3|f0|e1|r1");
    CHECK_EQ_STR(open.line[4], "rejected_packets_by_protocol|protocol=6|1800|2|f0|e1|r1");
    int64_t window;
    enum fl_time_basis tb;
    const struct fl_metric_plan *p;
    CHECK_EQ_INT(fl_stream_metric_info(s, "rejected_packets_by_protocol", &window, &tb, &p), 0);
    CHECK_EQ_INT(window, 900);
    CHECK_EQ_INT(tb, FL_TIME_START);
    CHECK_EQ_INT(p->n_dims, 1);
    CHECK_EQ_INT(fl_stream_metric_info(s, "nope", NULL, NULL, NULL), -ENOENT);
    CHECK_EQ_INT(fl_stream_plans(s)->n, 2);
    fl_stream_destroy(s);       /* open windows are freed, not emitted */
    CHECK_EQ_INT(c.n, 0);
    coll_free(&open);
    lines_free(&ls);
    fl_format_destroy(fmt);
}


/* Processes half, saves, loads into a new engine, processes the rest:
 * the finals equal those of one engine that saw everything. */
static void
test_snapshot_round_trip(void)
{
    struct lines ls = { 0, NULL };
    struct coll all = { 0, NULL }, split = { 0, NULL };
    struct fl_stream_options o;
    struct fl_metric_plans p1 = { 0, NULL }, p2 = { 0, NULL }, p3 = { 0, NULL };
    unsigned char *snap = NULL, *snap2 = NULL;
    size_t snap_len = 0, snap2_len = 0;
    uint64_t seq = 0;
    char note[256];
    struct fl_err fe = FL_ERR_INIT;
    setup_parser();
    gen_lines(8000, 3, &ls);
    fl_stream_options_init(&o);
    o.distinct_exact_limit = 30;
    add_mix(&p1, 1);
    add_mix(&p2, 1);
    add_mix(&p3, 1);
    struct fl_stream *a = engine(&p1, &o, &all);
    feed_all(a, ls.l, ls.n, 5);
    struct fl_stream *b = engine(&p2, &o, &split);
    size_t half = ls.n / 2;
    feed_all(b, ls.l, half, 5);
    CHECK_EQ_INT(fl_stream_save(b, 42, &snap, &snap_len), 0);
    struct fl_stream_stats sb, sc;
    fl_stream_stats(b, &sb);
    fl_stream_destroy(b);
    struct fl_stream *c = engine(&p3, &o, &split);
    CHECK_EQ_INT(fl_stream_load(c, snap, snap_len, &seq, note, sizeof note,
                                &fe), 0);
    CHECK_EQ_INT(seq, 42);
    CHECK_EQ_STR(note, "");
    fl_stream_stats(c, &sc);
    CHECK_EQ_INT(sc.open_groups, sb.open_groups);
    CHECK_EQ_INT(sc.records, sb.records);
    CHECK_EQ_INT(sc.max_start, sb.max_start);
    CHECK_EQ_INT(sc.memory_bytes > 0, 1);
    /* Saving the loaded state gives the same bytes. */
    CHECK_EQ_INT(fl_stream_save(c, 42, &snap2, &snap2_len), 0);
    CHECK_EQ_INT(snap2_len, snap_len);
    CHECK(memcmp(snap, snap2, snap_len) == 0);
    feed_all(c, ls.l + half, ls.n - half, 6);
    fl_stream_flush(a);
    fl_stream_flush(c);
    CHECK(all.n > 100);
    coll_equal(&all, &split);
    /* Some values are HLL estimates, and they survived too. */
    int hll = 0;
    for (size_t i = 0; i < all.n; i++)
        hll += strstr(all.line[i], "|e0|") != NULL;
    CHECK(hll > 0);
    fl_stream_destroy(a);
    fl_stream_destroy(c);
    fl_free(snap);
    fl_free(snap2);
    coll_free(&all);
    coll_free(&split);
    lines_free(&ls);
    fl_format_destroy(fmt);
}


static void
test_snapshot_corrupt(void)
{
    struct lines ls = { 0, NULL };
    struct coll cl = { 0, NULL };
    struct fl_stream_options o;
    struct fl_metric_plans p1 = { 0, NULL }, p2 = { 0, NULL };
    unsigned char *snap = NULL;
    size_t len = 0;
    uint64_t seq = 7;
    char note[256];
    struct fl_err fe = FL_ERR_INIT;
    char *err = fe.msg;
    struct fl_stream_stats st;
    setup_parser();
    gen_lines(300, 11, &ls);
    fl_stream_options_init(&o);
    o.distinct_exact_limit = 8;
    add_mix(&p1, 1);
    add_mix(&p2, 1);
    struct fl_stream *a = engine(&p1, &o, &cl);
    feed_all(a, ls.l, ls.n, 1);
    CHECK_EQ_INT(fl_stream_save(a, 1, &snap, &len), 0);
    struct fl_stream *b = engine(&p2, &o, &cl);
    /* Every truncation. */
    for (size_t cut = 0; cut < len; cut++) {
        err[0] = '\0';
        CHECK_EQ_INT(fl_stream_load(b, snap, cut, &seq, note, sizeof note,
                                    &fe), FL_ECORRUPT);
        CHECK(strncmp(err, "stream snapshot: ", 17) == 0);
    }
    CHECK_EQ_INT(seq, 7);
    /* A bit flip anywhere. */
    for (size_t i = 0; i < len; i += 1 + i / 64) {
        snap[i] ^= 0x10;
        CHECK_EQ_INT(fl_stream_load(b, snap, len, &seq, note, sizeof note,
                                    &fe), FL_ECORRUPT);
        snap[i] ^= 0x10;
    }
    snap[len / 2] ^= 1;
    CHECK_EQ_INT(fl_stream_load(b, snap, len, &seq, note, sizeof note,
                                &fe), FL_ECORRUPT);
    CHECK(strstr(err, "checksum mismatch") != NULL);
    snap[len / 2] ^= 1;
    /* A good load, then a bad one leaves the engine empty. */
    CHECK_EQ_INT(fl_stream_load(b, snap, len, &seq, note, sizeof note,
                                &fe), 0);
    fl_stream_stats(b, &st);
    CHECK(st.open_groups > 0);
    CHECK_EQ_INT(fl_stream_load(b, snap, len - 1, &seq, note, sizeof note,
                                &fe), FL_ECORRUPT);
    fl_stream_stats(b, &st);
    CHECK_EQ_INT(st.open_groups, 0);
    CHECK_EQ_INT(st.records, 0);
    CHECK_EQ_INT(st.max_start, INT64_MIN);
    fl_stream_destroy(a);
    fl_stream_destroy(b);
    fl_free(snap);
    coll_free(&cl);
    lines_free(&ls);
    fl_format_destroy(fmt);
}


static void
test_snapshot_changed_statement(void)
{
    struct lines ls = { 0, NULL };
    struct coll c1 = { 0, NULL }, c2 = { 0, NULL };
    struct fl_metric_plans p1 = { 0, NULL }, p2 = { 0, NULL };
    unsigned char *snap = NULL;
    size_t len = 0;
    uint64_t seq = 0;
    char note[512];
    struct fl_err fe = FL_ERR_INIT;
    static const struct aggdef a = { FL_AGG_COUNT_STAR, -1, "n" };
    setup_parser();
    lines_add(&ls, "10.0.0.1", 80, 6, 5, 1000, "REJECT");
    add_defaults(&p1);
    add_defaults(&p2);
    add_plan(&p1, "gone", "gone", FL_TIME_START, 60, 0, NULL, NULL, 1, &a);
    /* Same name, other text: its state is dropped. */
    fl_free(p2.plan[0].text);
    p2.plan[0].text = fl_strdup("t1 changed");
    struct fl_stream *s1 = engine(&p1, NULL, &c1);
    CHECK_EQ_INT(feed(s1, ls.l, ls.n, 0), 0);
    CHECK_EQ_INT(fl_stream_save(s1, 9, &snap, &len), 0);
    struct fl_stream *s2 = engine(&p2, NULL, &c2);
    CHECK_EQ_INT(fl_stream_load(s2, snap, len, &seq, note, sizeof note,
                                &fe), 0);
    CHECK_EQ_STR(note, "metric rejected_tcp_packets: statement changed or "
                 "removed, its saved windows were dropped; metric gone: "
                 "statement changed or removed, its saved windows were dropped");
    fl_stream_flush(s2);
    CHECK_EQ_INT(c2.n, 1);
    CHECK_EQ_STR(c2.line[0], "rejected_packets_by_protocol|protocol=6|900|5|f1|e1|r1");
    fl_stream_destroy(s1);
    fl_stream_destroy(s2);
    fl_free(snap);
    coll_free(&c1);
    coll_free(&c2);
    lines_free(&ls);
    fl_format_destroy(fmt);
}


static void
test_memory_accounting(void)
{
    struct lines ls = { 0, NULL };
    struct coll c = { 0, NULL };
    struct fl_metric_plans ps = { 0, NULL };
    struct fl_stream_stats st;
    struct fl_stream_options o;
    setup_parser();
    gen_lines(3000, 5, &ls);
    fl_stream_options_init(&o);
    o.distinct_exact_limit = 20;
    add_mix(&ps, 1);
    size_t before = fl_mem_used();
    struct fl_stream *s = engine(&ps, &o, &c);
    feed_all(s, ls.l, ls.n, 3);
    fl_stream_stats(s, &st);
    size_t held = fl_mem_used() - before;
    /* The estimate counts the state, not the plans or scratch space. */
    CHECK(st.memory_bytes > 0);
    CHECK(st.memory_bytes <= held);
    CHECK(st.memory_bytes * 2 > held - 2 * 1024 * 1024 / 8);
    fl_stream_flush(s);
    fl_stream_stats(s, &st);
    /* Only the (empty) window arrays stay. */
    CHECK(st.memory_bytes < 256);
    CHECK_EQ_INT(st.open_groups, 0);
    fl_stream_destroy(s);
    coll_free(&c);
    lines_free(&ls);
    fl_format_destroy(fmt);
}


static void
test_alloc_failures(void)
{
    struct lines ls = { 0, NULL };
    struct fl_stream_options o;
    setup_parser();
    gen_lines(400, 13, &ls);
    fl_stream_options_init(&o);
    o.allowed_lateness = 1000000;       /* a re-fed batch is not late */
    struct fl_batch *b = make_batch(ls.l, ls.n);
    static const int dims[] = { FL_F_SRCADDR, FL_F_DSTPORT };
    static const struct aggdef aggs[] = {
        { FL_AGG_SUM, FL_F_BYTES, "sum" },
        { FL_AGG_COUNT_STAR, -1, "n" },
    };
    for (uint64_t n = 1; n < 400; n++) {
        struct coll c = { 0, NULL }, ref = { 0, NULL };
        struct fl_metric_plans ps = { 0, NULL }, pr = { 0, NULL };
        add_plan(&ps, "m", "m", FL_TIME_START, 60, 2, dims, NULL, 2, aggs);
        add_plan(&pr, "m", "m", FL_TIME_START, 60, 2, dims, NULL, 2, aggs);
        struct fl_stream *s = engine(&ps, &o, &c), *r = engine(&pr, &o, &ref);
        fl_mem_fail_after(n);
        int rc = fl_stream_process(s, b, 0);
        fl_mem_fail_after(0);
        CHECK(rc == 0 || rc == FL_ENOMEM);
        /* A failed batch was not counted at all for the metric: feeding
         * it again gives what one clean pass gives. */
        if (rc != 0)
            CHECK_EQ_INT(fl_stream_process(s, b, 0), 0);
        CHECK_EQ_INT(feed(r, ls.l, ls.n, 0), 0);
        fl_stream_flush(s);
        fl_stream_flush(r);
        coll_equal(&c, &ref);
        fl_stream_destroy(s);
        fl_stream_destroy(r);
        coll_free(&c);
        coll_free(&ref);
        if (rc == 0)
            break;
    }
    fl_batch_destroy(b);
    lines_free(&ls);
    fl_format_destroy(fmt);
}

/* Compiles one metrics text (the grammar's own path, not a plan by hand). */
static void
compile_text(struct fl_metric_plans *ps, const char *text)
{
    struct fl_err fe = FL_ERR_INIT;
    char *err = fe.msg;
    int rc = fl_plan_compile(text, strlen(text), "top.sql", 900,
                             FL_TIME_START, ps, &fe);
    if (rc != 0)
        fprintf(stderr, "  compile: %s\n", err);
    CHECK_EQ_INT(rc, 0);
}


/* ORDER BY <aggregate> DESC LIMIT n: each window keeps its n largest
 * groups and adds the others into one "other" group, the same while the
 * window is open and when it is final. */
static void
test_top_n(void)
{
    struct fl_metric_plans ps = { 0, NULL };
    struct coll c = { 0, NULL }, open = { 0, NULL };
    struct lines ls = { 0, NULL };
    setup_parser();
    compile_text(&ps, "CREATE METRIC talkers AS SELECT srcaddr, "
                 "SUM(packets) AS packets, COUNT(*) AS flows FROM flows "
                 "GROUP BY srcaddr, TUMBLE(start, INTERVAL '15' MINUTE) "
                 "ORDER BY packets DESC LIMIT 2;");
    struct fl_stream *s = engine(&ps, NULL, &c);
    /* Window 900: five sources (one with only a NULL packets); window
     * 1800: two sources, no "other". */
    lines_add(&ls, "10.0.0.1", 80, 6, 100, 1000, "ACCEPT");
    lines_add(&ls, "10.0.0.1", 80, 6, 50, 1000, "ACCEPT");
    lines_add(&ls, "10.0.0.2", 80, 6, 70, 1000, "REJECT");
    lines_add(&ls, "10.0.0.3", 80, 6, 20, 1000, "ACCEPT");
    lines_add(&ls, "10.0.0.4", 80, 6, 5, 1000, "ACCEPT");
    lines_add(&ls, "10.0.0.5", 80, 6, -1, 1000, "ACCEPT");
    lines_add(&ls, "10.0.0.4", 80, 6, 9, 1900, "ACCEPT");
    lines_add(&ls, "10.0.0.3", 80, 6, 8, 1900, "ACCEPT");
    CHECK_EQ_INT(feed(s, ls.l, ls.n, 0), 0);
    fl_stream_each_open(s, collect, &open);
    fl_stream_flush(s);
    coll_sort(&c);
    static const char *const want[] = {
        "talkers_flows|srcaddr=10.0.0.1|900|2|f1|e1|r2",
        "talkers_flows|srcaddr=10.0.0.2|900|1|f1|e1|r1",
        "talkers_flows|srcaddr=10.0.0.3|1800|1|f1|e1|r1",
        "talkers_flows|srcaddr=10.0.0.4|1800|1|f1|e1|r1",
        "talkers_flows|srcaddr=other|900|3|f1|e1|r3",
        "talkers_packets|srcaddr=10.0.0.1|900|150|f1|e1|r2",
        "talkers_packets|srcaddr=10.0.0.2|900|70|f1|e1|r1",
        "talkers_packets|srcaddr=10.0.0.3|1800|8|f1|e1|r1",
        "talkers_packets|srcaddr=10.0.0.4|1800|9|f1|e1|r1",
        "talkers_packets|srcaddr=other|900|25|f1|e1|r3",
    };
    CHECK_EQ_INT(c.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < c.n && i < sizeof want / sizeof want[0]; i++)
        CHECK_EQ_STR(c.line[i], want[i]);
    /* The open windows gave the same groups, provisional. */
    coll_sort(&open);
    CHECK_EQ_INT(open.n, c.n);
    for (size_t i = 0; i < open.n && i < c.n; i++) {
        char *f = strstr(c.line[i], "|f1|");
        CHECK(f != NULL);
        f[2] = '0';
        CHECK_EQ_STR(open.line[i], c.line[i]);
    }
    fl_stream_destroy(s);
    coll_free(&c);
    coll_free(&open);
    lines_free(&ls);
    fl_format_destroy(fmt);
}


static int
cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}


/* One collected final value: window start, value (-inf for NULL, which
 * ranks last and adds nothing), records. */
static void
scan_value(const char *line, long long *ws, double *v, unsigned long long *rec)
{
    const char *q = strchr(strchr(line, '|') + 1, '|');
    if (sscanf(q, "|%lld|NULL|f1|e1|r%llu", ws, rec) == 2) {
        *v = -HUGE_VAL;
        return;
    }
    CHECK(sscanf(q, "|%lld|%lf|f1|e1|r%llu", ws, v, rec) == 3);
}


/* A top-N metric against the same metric without LIMIT over generated
 * records: per window, the kept values are the n largest of the full
 * metric, and "other" holds the rest of the total (values and records). */
struct topv {
    long long          ws;
    double             v;
    unsigned long long rec;
    int                other;
};


static struct topv *
scan_all(const struct coll *c)
{
    struct topv *out = malloc((c->n + 1) * sizeof *out);
    CHECK(out != NULL);
    for (size_t k = 0; k < c->n; k++) {
        scan_value(c->line[k], &out[k].ws, &out[k].v, &out[k].rec);
        out[k].other = strstr(c->line[k], "=other|") != NULL;
    }
    return out;
}


static void
test_top_n_reference(void)
{
    struct fl_metric_plans ps = { 0, NULL };
    struct coll top = { 0, NULL }, all = { 0, NULL };
    struct lines ls = { 0, NULL };
    enum { N = 7 };
    setup_parser();
    gen_lines(20000, 42, &ls);
    compile_text(&ps, "CREATE METRIC t AS SELECT dstport, SUM(bytes) "
                 "FROM flows GROUP BY dstport, TUMBLE(start, INTERVAL '1' "
                 "MINUTE) ORDER BY SUM(bytes) DESC LIMIT 7;");
    struct fl_stream *s = engine(&ps, NULL, &top);
    compile_text(&ps, "CREATE METRIC t AS SELECT dstport, SUM(bytes) "
                 "FROM flows GROUP BY dstport, TUMBLE(start, INTERVAL '1' "
                 "MINUTE);");
    struct fl_stream *r = engine(&ps, NULL, &all);
    CHECK_EQ_INT(feed(s, ls.l, ls.n, 0), 0);
    CHECK_EQ_INT(feed(r, ls.l, ls.n, 0), 0);
    fl_stream_flush(s);
    fl_stream_flush(r);
    struct topv *a = scan_all(&all), *b = scan_all(&top);
    double *vals = malloc((all.n + 1) * sizeof *vals);
    double *kept = malloc((N + 1) * sizeof *kept);
    CHECK(vals != NULL && kept != NULL);
    size_t windows = 0, trimmed = 0;
    for (size_t i = 0; i < all.n; i++) {
        int seen = 0;
        for (size_t k = 0; k < i && !seen; k++)
            seen = a[k].ws == a[i].ws;
        if (seen)
            continue;
        windows++;
        /* The full metric's values of this window, largest first. */
        double total = 0, other = -1, kept_sum = 0;
        unsigned long long recs = 0, kept_recs = 0, other_recs = 0;
        size_t n = 0, nk = 0;
        for (size_t k = 0; k < all.n; k++) {
            if (a[k].ws != a[i].ws)
                continue;
            vals[n++] = a[k].v;
            total += a[k].v > -HUGE_VAL ? a[k].v : 0;
            recs += a[k].rec;
        }
        qsort(vals, n, sizeof *vals, cmp_desc);
        for (size_t k = 0; k < top.n; k++) {
            if (b[k].ws != a[i].ws)
                continue;
            if (b[k].other) {
                other = b[k].v > -HUGE_VAL ? b[k].v : 0;
                other_recs = b[k].rec;
                continue;
            }
            CHECK(nk < N);
            kept[nk++] = b[k].v;
            kept_sum += b[k].v > -HUGE_VAL ? b[k].v : 0;
            kept_recs += b[k].rec;
        }
        CHECK_EQ_INT(nk, n < N ? n : N);
        qsort(kept, nk, sizeof *kept, cmp_desc);
        for (size_t k = 0; k < nk; k++)
            CHECK(kept[k] == vals[k]);
        if (n > N) {
            trimmed++;
            CHECK(other == total - kept_sum);
            CHECK_EQ_INT(other_recs + kept_recs, recs);
        } else {
            CHECK(other == -1);
        }
    }
    /* Both cases were seen: windows with more ports than the limit, and
     * (the last, partly filled minute or not) several windows. */
    CHECK(windows > 1);
    CHECK(trimmed > 0);
    free(vals);
    free(kept);
    free(a);
    free(b);
    fl_stream_destroy(s);
    fl_stream_destroy(r);
    coll_free(&top);
    coll_free(&all);
    lines_free(&ls);
    fl_format_destroy(fmt);
}


/* Two instances that each see part of the records (alternate batches, as
 * the partitions of a topic split them), merged through their partial
 * state (retained final windows + open ones), give exactly the values of
 * one instance that saw everything: COUNT, SUM, MIN, MAX, AVG, COUNT
 * DISTINCT both exact and past the exact limit (HLL registers), a top-N
 * metric's groups and "other". A merged window is final only once the
 * lower of the two clocks passed it. */
static void
test_merge_instances(void)
{
    struct lines ls = { 0, NULL };
    struct coll whole = { 0, NULL }, merged = { 0, NULL }, parts = { 0, NULL };
    struct fl_stream_options o;
    struct fl_metric_plans p1 = { 0, NULL }, p2 = { 0, NULL }, p3 = { 0, NULL },
                           p4 = { 0, NULL };
    const char *top = "CREATE METRIC talkers AS SELECT srcaddr, "
                      "SUM(packets) AS packets, COUNT(*) AS flows FROM flows "
                      "GROUP BY srcaddr, TUMBLE(start, INTERVAL '5' MINUTE) "
                      "ORDER BY packets DESC LIMIT 3;";
    char note[256];
    struct fl_err fe = FL_ERR_INIT;
    setup_parser();
    gen_lines(12000, 11, &ls);
    fl_stream_options_init(&o);
    o.distinct_exact_limit = 30;          /* some sets become registers */
    o.allowed_lateness = 600;
    o.retain_final = 1000000;             /* every final window kept */
    struct fl_metric_plans *all[] = { &p1, &p2, &p3, &p4 };
    for (int i = 0; i < 4; i++) {
        struct fl_metric_plans t = { 0, NULL };
        add_mix(all[i], 1);
        compile_text(&t, top);
        CHECK_EQ_INT(fl_plan_merge(all[i], &t, &fe), 0);
    }
    struct fl_stream *one = engine(&p1, &o, &whole);
    struct fl_stream *a = engine(&p2, &o, &parts);
    struct fl_stream *b = engine(&p3, &o, &parts);
    /* The same batches, in the same order, to the whole; alternately to
     * a and b. */
    size_t k = 0;
    for (size_t i = 0; i < ls.n; k++) {
        size_t len = 1 + (k * 104729) % 400;
        if (len > ls.n - i)
            len = ls.n - i;
        CHECK_EQ_INT(feed(one, ls.l + i, len, 0), 0);
        CHECK_EQ_INT(feed(k % 2 ? b : a, ls.l + i, len, 0), 0);
        i += len;
    }
    struct fl_stream_stats so, sa, sb;
    fl_stream_stats(one, &so);
    fl_stream_stats(a, &sa);
    fl_stream_stats(b, &sb);
    CHECK_EQ_INT(so.late_records, 0);     /* the comparison needs none */
    CHECK_EQ_INT(sa.late_records + sb.late_records, 0);

    unsigned char *pa = NULL, *pb = NULL;
    size_t la = 0, lb = 0;
    CHECK_EQ_INT(fl_stream_save_partials(a, &pa, &la), 0);
    CHECK_EQ_INT(fl_stream_save_partials(b, &pb, &lb), 0);
    struct fl_stream *m = engine(&p4, &o, &merged);
    CHECK_EQ_INT(fl_stream_merge(m, pa, la, note, sizeof note, &fe), 0);
    CHECK_EQ_STR(note, "");
    CHECK_EQ_INT(fl_stream_merge(m, pb, lb, note, sizeof note, &fe), 0);
    fl_stream_settle(m);
    struct fl_stream_stats sm;
    fl_stream_stats(m, &sm);
    CHECK_EQ_INT(sm.records, so.records);
    CHECK_EQ_INT(sm.watermark_start, sa.watermark_start < sb.watermark_start
                                     ? sa.watermark_start : sb.watermark_start);
    /* What settle made final is what the whole made final for those
     * windows: every merged final line is one of the whole's. */
    CHECK(merged.n > 0);
    coll_sort(&whole);
    for (size_t i = 0; i < merged.n; i++)
        CHECK(bsearch(&merged.line[i], whole.line, whole.n, sizeof *whole.line,
                      cmp_line) != NULL);
    /* And once everything is final on both sides, all of it is equal. */
    fl_stream_flush(one);
    fl_stream_flush(m);
    coll_equal(&whole, &merged);
    /* Some distinct sets went past the exact limit, some did not. */
    int hll = 0, exact = 0;
    for (size_t i = 0; i < whole.n; i++) {
        if (strncmp(whole.line[i], "dsrc_", 5) != 0)
            continue;
        hll += strstr(whole.line[i], "|e0|") != NULL;
        exact += strstr(whole.line[i], "|e1|") != NULL;
    }
    CHECK(hll > 0 && exact > 0);
    /* A snapshot of another metric set is skipped, named in the note. */
    struct fl_metric_plans p5 = { 0, NULL };
    struct coll other = { 0, NULL };
    compile_text(&p5, top);
    struct fl_stream *n = engine(&p5, &o, &other);
    CHECK_EQ_INT(fl_stream_merge(n, pa, la, note, sizeof note, &fe), 0);
    CHECK(strstr(note, "by_src") != NULL);
    /* A damaged snapshot is refused. */
    pa[la / 2] ^= 1;
    CHECK_EQ_INT(fl_stream_merge(n, pa, la, note, sizeof note, &fe),
                 FL_ECORRUPT);
    fl_free(pa);
    fl_free(pb);
    fl_stream_destroy(one);
    fl_stream_destroy(a);
    fl_stream_destroy(b);
    fl_stream_destroy(m);
    fl_stream_destroy(n);
    coll_free(&whole);
    coll_free(&merged);
    coll_free(&parts);
    coll_free(&other);
    lines_free(&ls);
    fl_format_destroy(fmt);
}


FL_TEST_MAIN(
    FL_TEST(test_aggregates_with_nulls),
    FL_TEST(test_three_valued_logic),
    FL_TEST(test_in_not_in_is_null),
    FL_TEST(test_cidr_and_columns),
    FL_TEST(test_window_boundaries),
    FL_TEST(test_watermark_and_lateness),
    FL_TEST(test_max_future),
    FL_TEST(test_untimed_records),
    FL_TEST(test_order_independence),
    FL_TEST(test_arrival_windows),
    FL_TEST(test_max_groups),
    FL_TEST(test_count_distinct_exact_and_hll),
    FL_TEST(test_each_open_provisional),
    FL_TEST(test_snapshot_round_trip),
    FL_TEST(test_snapshot_corrupt),
    FL_TEST(test_snapshot_changed_statement),
    FL_TEST(test_memory_accounting),
    FL_TEST(test_alloc_failures),
    FL_TEST(test_top_n),
    FL_TEST(test_top_n_reference),
    FL_TEST(test_merge_instances)
)
