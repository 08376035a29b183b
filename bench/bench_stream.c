/* SPDX-License-Identifier: MIT
 *
 * bench_stream.c -- the stream engine alone, on one core.
 *
 * Generates N realistic records (src/gen), parses them once into batches
 * of FL_BATCH_ROWS held in memory (untimed), then times fl_stream_process
 * over all batches (plus the final flush) for:
 *   (a) the two default metrics;
 *   (b) each of eight user metrics alone (the cost of each aggregate kind);
 *   (c) all ten together;
 *   (d) memory: COUNT(*) GROUP BY (srcaddr, dstaddr, srcport) in one
 *       window: groups, memory_bytes, bytes per group; then again with
 *       max_groups = 100000 (memory and dropped records).
 * Every run prints records/s, ns/record and a checksum of its final values
 * (the sum of the values); (a) is checked against DuckDB computing the same
 * two metrics with GROUP BY over the same records in an in-memory table
 * (threads = 1), and the time ratio is printed.
 *
 * usage: bench_stream [--records N] [--seed S] [--rounds R] [--only-defaults 1]
 */
#include "../src/core/fl_config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duckdb.h"

#include "../src/core/fl_buf.h"
#include "../src/core/fl_error.h"
#include "../src/core/fl_mem.h"
#include "../src/core/fl_time.h"
#include "../src/gen/generate.h"
#include "../src/parse/batch.h"
#include "../src/parse/format.h"
#include "../src/parse/line.h"
#include "../src/stream/plan.h"
#include "../src/stream/stream.h"

static void *
xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n, sz);
    if (p == NULL) {
        fprintf(stderr, "bench_stream: out of memory\n");
        exit(1);
    }
    return p;
}

/* ------------------------------------------------------------------ */
/* Compact batches: only the 14 default-format columns own arrays; the  */
/* others share one all-NULL column (the engine reads only what a plan  */
/* names), so 5 M records fit in about 0.6 GB.                          */
/* ------------------------------------------------------------------ */

static struct fl_column null_col[3];


static struct fl_batch *
compact_copy(const struct fl_batch *src)
{
    struct fl_batch *b = xcalloc(1, sizeof *b);
    size_t n = src->n, nw = (n + 63) / 64;
    b->cap = n;
    b->n = n;
    b->ncols = FL_FIELD_COUNT;
    b->col = xcalloc(FL_FIELD_COUNT, sizeof *b->col);
    for (int c = 0; c < FL_FIELD_COUNT; c++) {
        enum fl_type t = fl_field_get(c)->type;
        if (c >= FL_DEFAULT_FIELD_COUNT) {
            b->col[c] = null_col[t];
            continue;
        }
        b->col[c].type = t;
        b->col[c].valid = xcalloc(nw ? nw : 1, sizeof(uint64_t));
        memcpy(b->col[c].valid, src->col[c].valid, nw * sizeof(uint64_t));
        size_t esz = t == FL_TYPE_INT32 ? 4 : t == FL_TYPE_INT64 ? 8
                     : sizeof(struct fl_str);
        void *v = xcalloc(n ? n : 1, esz);
        memcpy(v, t == FL_TYPE_INT32 ? (void *)src->col[c].v.i32
                  : t == FL_TYPE_INT64 ? (void *)src->col[c].v.i64
                  : (void *)src->col[c].v.str, n * esz);
        if (t == FL_TYPE_INT32)
            b->col[c].v.i32 = v;
        else if (t == FL_TYPE_INT64)
            b->col[c].v.i64 = v;
        else
            b->col[c].v.str = v;
    }
    return b;
}


static void
compact_free(struct fl_batch *b)
{
    for (int c = 0; c < FL_DEFAULT_FIELD_COUNT; c++) {
        free(b->col[c].valid);
        free(b->col[c].v.i64);
    }
    free(b->col);
    free(b);
}

/* ------------------------------------------------------------------ */
/* Plans by hand (until the metric-SQL compiler lands)                  */
/* ------------------------------------------------------------------ */

static char *
xdup(const char *s)
{
    char *p = fl_strdup(s);
    if (p == NULL)
        exit(1);
    return p;
}


static struct fl_pred *
pnew(enum fl_pred_kind kind, int column)
{
    struct fl_pred *p = fl_calloc(1, sizeof *p);
    if (p == NULL)
        exit(1);
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
    p->lits[0].i = v;
    p->n_lits = 1;
    return p;
}


static struct fl_pred *
p_str(int column, const char *v)
{
    struct fl_pred *p = pnew(FL_PRED_CMP, column);
    p->cmp = FL_CMP_EQ;
    p->lits = fl_calloc(1, sizeof *p->lits);
    p->lits[0].s = xdup(v);
    p->lits[0].len = strlen(v);
    p->n_lits = 1;
    return p;
}


static struct fl_pred *
p_and(struct fl_pred *a, struct fl_pred *b)
{
    struct fl_pred *p = pnew(FL_PRED_AND, -1);
    p->a = a;
    p->b = b;
    return p;
}


static void
add_plan(struct fl_metric_plans *ps, const char *name, int64_t window,
         size_t n_dims, const int *dims, struct fl_pred *where,
         enum fl_agg_kind kind, int column)
{
    struct fl_metric_plan *np = fl_realloc(ps->plan, (ps->n + 1) * sizeof *np);
    if (np == NULL)
        exit(1);
    ps->plan = np;
    struct fl_metric_plan *p = &ps->plan[ps->n++];
    memset(p, 0, sizeof *p);
    p->name = xdup(name);
    p->text = xdup(name);
    p->time = FL_TIME_START;
    p->window = window;
    p->n_dims = n_dims;
    if (n_dims) {
        p->dims = fl_calloc(n_dims, sizeof *p->dims);
        memcpy(p->dims, dims, n_dims * sizeof *dims);
    }
    p->where = where;
    p->n_aggs = 1;
    p->aggs = fl_calloc(1, sizeof *p->aggs);
    p->aggs[0].kind = kind;
    p->aggs[0].column = column;
    p->aggs[0].metric = xdup(name);
}


static void
add_default(struct fl_metric_plans *ps, int which)
{
    static const int proto[] = { FL_F_PROTOCOL };
    if (which == 0)
        add_plan(ps, "rejected_tcp_packets", 900, 0, NULL,
                 p_and(p_str(FL_F_ACTION, "REJECT"),
                       p_int(FL_F_PROTOCOL, FL_CMP_EQ, 6)),
                 FL_AGG_SUM, FL_F_PACKETS);
    else
        add_plan(ps, "rejected_packets_by_protocol", 900, 1, proto,
                 p_str(FL_F_ACTION, "REJECT"), FL_AGG_SUM, FL_F_PACKETS);
}


#define N_USER 8
static const char *const user_desc[N_USER] = {
    "COUNT(*) GROUP BY dstport",
    "SUM(bytes) GROUP BY srcaddr",
    "MIN(start) GROUP BY interface_id",
    "MAX(end) GROUP BY interface_id",
    "AVG(bytes) GROUP BY protocol",
    "COUNT(DISTINCT srcaddr) GROUP BY dstaddr",
    "COUNT(*) WHERE dstport IN (22,3389) AND action='REJECT' GROUP BY srcaddr",
    "SUM(bytes) WHERE cidr_contains('10.0.0.0/8', srcaddr) GROUP BY dstport",
};


static void
add_user(struct fl_metric_plans *ps, int which)
{
    static const int d_dport[] = { FL_F_DSTPORT }, d_src[] = { FL_F_SRCADDR };
    static const int d_eni[] = { FL_F_INTERFACE_ID }, d_proto[] = { FL_F_PROTOCOL };
    static const int d_dst[] = { FL_F_DSTADDR };
    char name[32];
    snprintf(name, sizeof name, "user%d", which + 1);
    switch (which) {
    case 0: add_plan(ps, name, 900, 1, d_dport, NULL, FL_AGG_COUNT_STAR, -1); break;
    case 1: add_plan(ps, name, 900, 1, d_src, NULL, FL_AGG_SUM, FL_F_BYTES); break;
    case 2: add_plan(ps, name, 900, 1, d_eni, NULL, FL_AGG_MIN, FL_F_START); break;
    case 3: add_plan(ps, name, 900, 1, d_eni, NULL, FL_AGG_MAX, FL_F_END); break;
    case 4: add_plan(ps, name, 900, 1, d_proto, NULL, FL_AGG_AVG, FL_F_BYTES); break;
    case 5: add_plan(ps, name, 900, 1, d_dst, NULL, FL_AGG_COUNT_DISTINCT, FL_F_SRCADDR); break;
    case 6: {
        struct fl_pred *in = pnew(FL_PRED_IN, FL_F_DSTPORT);
        in->lits = fl_calloc(2, sizeof *in->lits);
        in->lits[0].i = 22;
        in->lits[1].i = 3389;
        in->n_lits = 2;
        add_plan(ps, name, 900, 1, d_src, p_and(in, p_str(FL_F_ACTION, "REJECT")),
                 FL_AGG_COUNT_STAR, -1);
        break;
    }
    default: {
        struct fl_pred *c = pnew(FL_PRED_CIDR, FL_F_SRCADDR);
        c->cidr.family = 4;
        c->cidr.addr[0] = 10;
        c->cidr.prefix = 8;
        add_plan(ps, name, 900, 1, d_dport, c, FL_AGG_SUM, FL_F_BYTES);
        break;
    }
    }
}

/* ------------------------------------------------------------------ */
/* Running                                                             */
/* ------------------------------------------------------------------ */

struct sums {
    double   sum;
    uint64_t values;
};


static void
on_final(void *ctx, const struct fl_metric_value *v)
{
    struct sums *s = ctx;
    if (v->has_value)
        s->sum += v->value;
    s->values++;
}


struct result {
    double   seconds;
    double   checksum;
    uint64_t values, late, dropped, groups_peak, mem_peak;
};


/* Runs plans (rebuilt by build for each round) over all batches; best of
 * rounds; the checksum must be the same every round. */
static struct result
run(void (*build)(struct fl_metric_plans *, int), int arg,
    const struct fl_stream_options *o, struct fl_batch **bs, size_t nb,
    int rounds)
{
    struct result best = { 1e9, 0, 0, 0, 0, 0, 0 };
    for (int r = 0; r < rounds; r++) {
        struct fl_metric_plans ps = { 0, NULL };
        struct fl_stream *s = NULL;
        struct sums sums = { 0, 0 };
        struct fl_stream_stats st;
        build(&ps, arg);
        if (fl_stream_create(o, &ps, on_final, &sums, &s) != 0) {
            fprintf(stderr, "bench_stream: create failed\n");
            exit(1);
        }
        uint64_t gpeak = 0, mpeak = 0;
        double t0 = fl_time_mono();
        for (size_t i = 0; i < nb; i++) {
            if (fl_stream_process(s, bs[i], 0) != 0) {
                fprintf(stderr, "bench_stream: process failed\n");
                exit(1);
            }
            if ((i & 63) == 63 || i + 1 == nb) {
                fl_stream_stats(s, &st);
                if (st.open_groups > gpeak)
                    gpeak = st.open_groups;
                if (st.memory_bytes > mpeak)
                    mpeak = st.memory_bytes;
            }
        }
        fl_stream_flush(s);
        double dt = fl_time_mono() - t0;
        fl_stream_stats(s, &st);
        if (r > 0 && (sums.sum != best.checksum || sums.values != best.values)) {
            fprintf(stderr, "bench_stream: checksum changed between rounds\n");
            exit(1);
        }
        if (dt < best.seconds)
            best.seconds = dt;
        best.checksum = sums.sum;
        best.values = sums.values;
        best.late = st.late_records;
        best.dropped = st.dropped_records;
        best.groups_peak = gpeak;
        best.mem_peak = mpeak;
        fl_stream_destroy(s);
    }
    return best;
}


static void
build_defaults(struct fl_metric_plans *ps, int arg)
{
    (void)arg;
    add_default(ps, 0);
    add_default(ps, 1);
}


static void
build_user(struct fl_metric_plans *ps, int which)
{
    add_user(ps, which);
}


static void
build_all(struct fl_metric_plans *ps, int arg)
{
    (void)arg;
    add_default(ps, 0);
    add_default(ps, 1);
    for (int i = 0; i < N_USER; i++)
        add_user(ps, i);
}


static void
build_wide(struct fl_metric_plans *ps, int arg)
{
    static const int dims[] = { FL_F_SRCADDR, FL_F_DSTADDR, FL_F_SRCPORT };
    (void)arg;
    /* One window holding every record. */
    add_plan(ps, "wide", (int64_t)1 << 40, 3, dims, NULL, FL_AGG_COUNT_STAR, -1);
}


static void
report(const char *what, const struct result *r, uint64_t records)
{
    printf("%-76s %6.3f s %7.2f M rec/s %6.1f ns/rec  values %llu  checksum %.0f%s\n",
           what, r->seconds, (double)records / r->seconds / 1e6,
           r->seconds * 1e9 / (double)records, (unsigned long long)r->values,
           r->checksum, r->late ? "  (late records!)" : "");
}

/* ------------------------------------------------------------------ */
/* DuckDB                                                              */
/* ------------------------------------------------------------------ */

static void
duck_check(duckdb_state st, const char *what)
{
    if (st == DuckDBError) {
        fprintf(stderr, "bench_stream: DuckDB %s failed\n", what);
        exit(1);
    }
}


/* Loads start, protocol, packets, action into a DuckDB table; returns the
 * time of the two default metrics as GROUP BY queries and their checksum. */
static double
duckdb_defaults(struct fl_batch **bs, size_t nb, int rounds, double *checksum,
                uint64_t *values)
{
    duckdb_database db;
    duckdb_connection con;
    duckdb_appender app;
    duck_check(duckdb_open(NULL, &db), "open");
    duck_check(duckdb_connect(db, &con), "connect");
    duck_check(duckdb_query(con, "SET threads = 1", NULL), "set threads");
    duck_check(duckdb_query(con, "CREATE TABLE flows (start BIGINT, protocol INTEGER, "
                            "packets BIGINT, action VARCHAR)", NULL), "create");
    duck_check(duckdb_appender_create(con, NULL, "flows", &app), "appender");
    for (size_t i = 0; i < nb; i++) {
        const struct fl_batch *b = bs[i];
        for (size_t r = 0; r < b->n; r++) {
            if (fl_batch_is_valid(b, FL_F_START, r))
                duckdb_append_int64(app, b->col[FL_F_START].v.i64[r]);
            else
                duckdb_append_null(app);
            if (fl_batch_is_valid(b, FL_F_PROTOCOL, r))
                duckdb_append_int32(app, b->col[FL_F_PROTOCOL].v.i32[r]);
            else
                duckdb_append_null(app);
            if (fl_batch_is_valid(b, FL_F_PACKETS, r))
                duckdb_append_int64(app, b->col[FL_F_PACKETS].v.i64[r]);
            else
                duckdb_append_null(app);
            if (fl_batch_is_valid(b, FL_F_ACTION, r))
                duckdb_append_varchar_length(app, b->col[FL_F_ACTION].v.str[r].p,
                                             b->col[FL_F_ACTION].v.str[r].len);
            else
                duckdb_append_null(app);
            duck_check(duckdb_appender_end_row(app), "append");
        }
    }
    duck_check(duckdb_appender_destroy(&app), "appender close");
    static const char *const q[2] = {
        "SELECT start // 900 * 900 AS ws, SUM(packets)::DOUBLE FROM flows "
        "WHERE action = 'REJECT' AND protocol = 6 GROUP BY ws",
        "SELECT start // 900 * 900 AS ws, protocol, SUM(packets)::DOUBLE FROM flows "
        "WHERE action = 'REJECT' GROUP BY ws, protocol",
    };
    double best = 1e9;
    for (int r = 0; r < rounds; r++) {
        double sum = 0, t0 = fl_time_mono();
        uint64_t n = 0;
        for (int k = 0; k < 2; k++) {
            duckdb_result res;
            duck_check(duckdb_query(con, q[k], &res), "query");
            idx_t rows = duckdb_row_count(&res), col = duckdb_column_count(&res) - 1;
            for (idx_t i = 0; i < rows; i++)
                if (!duckdb_value_is_null(&res, col, i))
                    sum += duckdb_value_double(&res, col, i);
            n += rows;
            duckdb_destroy_result(&res);
        }
        double dt = fl_time_mono() - t0;
        if (dt < best)
            best = dt;
        *checksum = sum;
        *values = n;
    }
    duckdb_disconnect(&con);
    duckdb_close(&db);
    return best;
}


int
main(int argc, char **argv)
{
    struct fl_gen_opts go;
    int rounds = 3, only_defaults = 0;
    fl_gen_opts_init(&go);
    go.records = 5000000;
    go.span = 86400;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--records") == 0)
            go.records = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--seed") == 0)
            go.seed = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--rounds") == 0)
            rounds = (int)strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--only-defaults") == 0)
            only_defaults = (int)strtol(argv[i + 1], NULL, 10);
    }
    for (int t = 0; t < 3; t++) {
        null_col[t].type = (enum fl_type)t;
        null_col[t].valid = xcalloc((FL_BATCH_ROWS + 63) / 64, sizeof(uint64_t));
        null_col[t].v.i64 = xcalloc(FL_BATCH_ROWS, sizeof(struct fl_str));
    }

    /* Generate and parse once, outside the timings. */
    struct fl_buf t = { 0 };
    if (fl_gen_write(&go, fl_buf_sink, &t) != 0) {
        fprintf(stderr, "bench_stream: generator failed\n");
        return 1;
    }
    struct fl_format *fmt = NULL;
    struct fl_batch *full = NULL;
    struct fl_parser parser;
    if (fl_format_default(&fmt) < 0 || fl_batch_create(FL_BATCH_ROWS, 0, &full) < 0)
        return 1;
    fl_parser_init(&parser, fmt, NULL, NULL);
    size_t nb = 0, capb = go.records / FL_BATCH_ROWS + 2;
    struct fl_batch **bs = xcalloc(capb, sizeof *bs);
    const char *s = t.p, *end = t.p + t.len;
    struct fl_parse_err err;
    uint64_t records = 0;
    fl_batch_reset(full);
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *eol = nl ? nl : end;
        int rc = fl_parse_line(&parser, full, s, (size_t)(eol - s), &err);
        if (rc == FL_ETOOBIG) {
            bs[nb++] = compact_copy(full);
            fl_batch_reset(full);
            continue;
        }
        if (rc < 0) {
            fprintf(stderr, "bench_stream: parse error: %s\n", err.reason);
            return 1;
        }
        records++;
        s = nl ? nl + 1 : end;
    }
    if (full->n > 0)
        bs[nb++] = compact_copy(full);
    printf("stream engine, one core: %llu records (seed %llu, span %lld s), %zu batches "
           "of %d, best of %d rounds\n", (unsigned long long)records,
           (unsigned long long)go.seed, (long long)go.span, nb, FL_BATCH_ROWS, rounds);

    struct fl_stream_options o;
    fl_stream_options_init(&o);

    /* (a) */
    struct result ra = run(build_defaults, 0, &o, bs, nb, rounds);
    report("(a) the two default metrics", &ra, records);
    if (only_defaults)
        goto out;
    double dsum = 0;
    uint64_t dvals = 0;
    double dt = duckdb_defaults(bs, nb, rounds, &dsum, &dvals);
    int same = fabs(dsum - ra.checksum) < 0.5 && dvals == ra.values;
    printf("    DuckDB GROUP BY, same two metrics, in-memory table, threads=1: %.3f s "
           "(%.2f M rec/s), values %llu, checksum %.0f -- %s; engine is %.1fx faster\n",
           dt, (double)records / dt / 1e6, (unsigned long long)dvals, dsum,
           same ? "same results" : "RESULTS DIFFER", dt / ra.seconds);
    if (!same)
        return 1;

    /* (b) */
    for (int i = 0; i < N_USER; i++) {
        char what[128];
        snprintf(what, sizeof what, "(b) %s", user_desc[i]);
        struct result rb = run(build_user, i, &o, bs, nb, rounds);
        report(what, &rb, records);
    }

    /* (c) */
    struct result rc = run(build_all, 0, &o, bs, nb, rounds);
    report("(c) all ten together", &rc, records);

    /* (d) */
    struct fl_stream_options ou = o;
    ou.max_groups = UINT64_MAX;         /* unbounded: count them all */
    struct result rd = run(build_wide, 0, &ou, bs, nb, 1);
    report("(d) COUNT(*) GROUP BY srcaddr, dstaddr, srcport, one window", &rd, records);
    printf("    max_groups unbounded: groups %llu, memory_bytes %llu = %.1f bytes/group, "
           "dropped %llu\n", (unsigned long long)rd.groups_peak,
           (unsigned long long)rd.mem_peak,
           (double)rd.mem_peak / (double)rd.groups_peak,
           (unsigned long long)rd.dropped);
    struct fl_stream_options ob = o;
    ob.max_groups = 100000;
    struct result re = run(build_wide, 0, &ob, bs, nb, 1);
    printf("    with max_groups = 100000: groups %llu, memory_bytes %llu, dropped "
           "records %llu\n", (unsigned long long)re.groups_peak,
           (unsigned long long)re.mem_peak, (unsigned long long)re.dropped);

out:
    for (size_t i = 0; i < nb; i++)
        compact_free(bs[i]);
    free(bs);
    for (int k = 0; k < 3; k++) {
        free(null_col[k].valid);
        free(null_col[k].v.i64);
    }
    fl_batch_destroy(full);
    fl_format_destroy(fmt);
    fl_buf_free(&t);
    return 0;
}
