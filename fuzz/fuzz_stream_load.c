/* SPDX-License-Identifier: MIT
 *
 * fuzz_stream_load.c -- libFuzzer target for stream snapshots: the input
 * is handed to fl_stream_load on an engine with fixed hand-built plans
 * (text and integer dimensions, every aggregate kind, COUNT(DISTINCT)
 * with a small exact limit so HLL states appear). It must return 0 or
 * FL_ECORRUPT, never crash (each input is also tried with its trailing
 * checksum recomputed, so mutations reach the body parser); after a
 * successful load the state must save,
 * load back byte-identically and flush; no allocation is left behind.
 *
 * The seed corpus holds a valid snapshot written by this file's own
 * generator: build with -DFL_FUZZ_STREAM_GEN (and replay_main.c left out)
 * and run `./gen > fuzz/corpus/fuzz_stream_load/valid.snap`.
 */
#include "../src/core/fl_config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "../src/core/fl_error.h"
#include "../src/core/fl_mem.h"
#include "../src/parse/fields.h"
#include "../src/stream/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static char *
dup_or_die(const char *s)
{
    char *p = fl_strdup(s);
    if (p == NULL)
        abort();
    return p;
}


static void
add(struct fl_metric_plans *ps, const char *name, enum fl_time_basis t,
    int64_t window, size_t n_dims, const int *dims, size_t n_aggs,
    const enum fl_agg_kind *kinds, const int *cols)
{
    struct fl_metric_plan *p = &ps->plan[ps->n++];
    memset(p, 0, sizeof *p);
    p->name = dup_or_die(name);
    p->text = dup_or_die(name);
    p->time = t;
    p->window = window;
    p->n_dims = n_dims;
    if (n_dims > 0) {
        p->dims = fl_calloc(n_dims, sizeof *p->dims);
        if (p->dims == NULL)
            abort();
        memcpy(p->dims, dims, n_dims * sizeof *dims);
    }
    p->n_aggs = n_aggs;
    p->aggs = fl_calloc(n_aggs, sizeof *p->aggs);
    if (p->aggs == NULL)
        abort();
    for (size_t a = 0; a < n_aggs; a++) {
        char m[64];
        snprintf(m, sizeof m, "%s_%zu", name, a);
        p->aggs[a].kind = kinds[a];
        p->aggs[a].column = cols[a];
        p->aggs[a].metric = dup_or_die(m);
    }
}


static void
build_plans(struct fl_metric_plans *ps)
{
    static const int d1[] = { FL_F_SRCADDR, FL_F_DSTPORT };
    static const enum fl_agg_kind k1[] = {
        FL_AGG_COUNT_STAR, FL_AGG_COUNT, FL_AGG_SUM, FL_AGG_MIN, FL_AGG_MAX,
        FL_AGG_AVG, FL_AGG_COUNT_DISTINCT
    };
    static const int c1[] = { -1, FL_F_PACKETS, FL_F_BYTES, FL_F_START,
                              FL_F_END, FL_F_PACKETS, FL_F_DSTADDR };
    static const enum fl_agg_kind k2[] = { FL_AGG_SUM };
    static const int c2[] = { FL_F_PACKETS };
    static const enum fl_agg_kind k3[] = { FL_AGG_COUNT_DISTINCT };
    static const int c3[] = { FL_F_SRCPORT };
    ps->plan = fl_calloc(3, sizeof *ps->plan);
    if (ps->plan == NULL)
        abort();
    ps->n = 0;
    add(ps, "by_src_port", FL_TIME_START, 60, 2, d1, 7, k1, c1);
    add(ps, "total", FL_TIME_END, 900, 0, NULL, 1, k2, c2);
    add(ps, "ports", FL_TIME_ARRIVAL, 300, 0, NULL, 1, k3, c3);
}


static struct fl_stream *
new_engine(void)
{
    struct fl_metric_plans ps = { 0, NULL };
    struct fl_stream_options o;
    struct fl_stream *s = NULL;
    fl_stream_options_init(&o);
    o.distinct_exact_limit = 16;
    build_plans(&ps);
    if (fl_stream_create(&o, &ps, NULL, NULL, &s) != 0)
        abort();
    return s;
}


static void
one(const uint8_t *data, size_t size)
{
    size_t before = fl_mem_used();
    struct fl_stream *s = new_engine();
    uint64_t seq = 0;
    char note[256];
    struct fl_err fe = FL_ERR_INIT;
    char *err = fe.msg;
    int rc = fl_stream_load(s, data, size, &seq, note, sizeof note, &fe);
    if (rc != 0 && rc != FL_ECORRUPT)
        abort();
    if (rc == FL_ECORRUPT && strncmp(err, "stream snapshot: ", 17) != 0)
        abort();
    if (rc == 0) {
        unsigned char *out = NULL, *out2 = NULL;
        size_t len = 0, len2 = 0;
        if (fl_stream_save(s, seq, &out, &len) != 0)
            abort();
        struct fl_stream *t = new_engine();
        uint64_t seq2 = 0;
        if (fl_stream_load(t, out, len, &seq2, note, sizeof note, &fe) != 0
            || seq2 != seq)
            abort();
        if (fl_stream_save(t, seq2, &out2, &len2) != 0 || len2 != len
            || memcmp(out, out2, len) != 0)
            abort();
        fl_stream_flush(t);
        fl_stream_destroy(t);
        fl_free(out);
        fl_free(out2);
        fl_stream_flush(s);
    }
    fl_stream_destroy(s);
    if (fl_mem_used() != before)
        abort();
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size);
    /* Again with the trailer made right, so that mutations reach the
     * body parser instead of stopping at the checksum. */
    if (size >= 8) {
        uint8_t *fixed = malloc(size);
        if (fixed == NULL)
            return 0;
        memcpy(fixed, data, size - 8);
        uint64_t h = XXH3_64bits(data, size - 8);
        for (int i = 0; i < 8; i++)
            fixed[size - 8 + (size_t)i] = (uint8_t)(h >> (8 * i));
        one(fixed, size);
        free(fixed);
    }
    return 0;
}


#ifdef FL_FUZZ_STREAM_GEN
#include "../src/parse/batch.h"
#include "../src/parse/format.h"
#include "../src/parse/line.h"

int
main(void)
{
    static const char *lines[] = {
        "2 1 eni-1 10.0.0.1 10.0.1.1 443 80 6 10 840 1000 1030 ACCEPT OK",
        "2 1 eni-1 10.0.0.1 10.0.1.2 443 80 6 - 100 1001 1031 REJECT OK",
        "2 1 eni-1 10.0.0.2 10.0.1.3 444 81 17 3 300 1010 1090 ACCEPT OK",
        "2 1 eni-1 - - - - - - - 1020 1080 - NODATA",
        "2 1 eni-1 2001:db8::1 2001:db8::2 1 80 6 7 70 1100 1130 ACCEPT OK",
    };
    struct fl_format *fmt = NULL;
    struct fl_parser parser;
    struct fl_batch *b = NULL;
    struct fl_parse_err perr;
    struct fl_stream *s = new_engine();
    unsigned char *out = NULL;
    size_t len = 0;
    if (fl_format_default(&fmt) != 0 || fl_batch_create(64, 0, &b) != 0)
        return 1;
    fl_parser_init(&parser, fmt, NULL, NULL);
    fl_batch_reset(b);
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        if (fl_parse_line(&parser, b, lines[i], strlen(lines[i]), &perr) != 0)
            return 1;
    /* Enough distinct source ports to turn one set into HLL registers. */
    for (int i = 0; i < 40; i++) {
        char l[160];
        snprintf(l, sizeof l, "2 1 eni-1 10.0.0.9 10.0.1.9 %d 22 6 1 60 1200 1201 REJECT OK",
                 2000 + i);
        if (fl_parse_line(&parser, b, l, strlen(l), &perr) != 0)
            return 1;
    }
    if (fl_stream_process(s, b, 5000) != 0 || fl_stream_save(s, 77, &out, &len) != 0)
        return 1;
    fwrite(out, 1, len, stdout);
    fl_free(out);
    fl_stream_destroy(s);
    fl_batch_destroy(b);
    fl_format_destroy(fmt);
    return 0;
}
#endif
