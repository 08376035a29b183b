/* SPDX-License-Identifier: MIT
 *
 * bench_parse.c -- the line parser alone, on one core: lines/s and MB/s
 * over generated default-format records held in memory (no I/O, no
 * decompression, no Parquet). Prints a checksum of what was parsed and
 * refuses to report a time if the checksum is not the one computed by a
 * first verification pass (SQLite speedtest1 style).
 *
 * usage: bench_parse [--records N] [--seed S] [--rounds R]
 */
#include "../src/core/fl_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/fl_buf.h"
#include "../src/core/fl_error.h"
#include "../src/core/fl_mem.h"
#include "../src/core/fl_time.h"
#include "../src/gen/generate.h"
#include "../src/parse/batch.h"
#include "../src/parse/format.h"
#include "../src/parse/line.h"

/* Checksum of the valid values of a few columns of a batch. */
static uint64_t
batch_sum(const struct fl_batch *b)
{
    uint64_t sum = 0;
    for (size_t r = 0; r < b->n; r++) {
        if (fl_batch_is_valid(b, FL_F_PACKETS, r))
            sum += (uint64_t)b->col[FL_F_PACKETS].v.i64[r] * 31;
        if (fl_batch_is_valid(b, FL_F_BYTES, r))
            sum += (uint64_t)b->col[FL_F_BYTES].v.i64[r];
        if (fl_batch_is_valid(b, FL_F_SRCADDR, r))
            sum += b->col[FL_F_SRCADDR].v.str[r].len;
        sum += (uint64_t)fl_batch_is_valid(b, FL_F_ACTION, r) << 20;
    }
    return sum;
}

/* Parses all of t; returns a checksum over the parsed values. */
static uint64_t
parse_all(const struct fl_buf *t, const struct fl_parser *p,
          struct fl_batch *b, uint64_t *lines, uint64_t *bad)
{
    const char *s = t->p, *end = t->p + t->len;
    struct fl_parse_err err;
    uint64_t sum = 0;
    *lines = *bad = 0;
    fl_batch_reset(b);
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *eol = nl ? nl : end;
        int rc = fl_parse_line(p, b, s, (size_t)(eol - s), &err);
        if (rc == FL_ETOOBIG) {
            sum += batch_sum(b);
            fl_batch_reset(b);
            continue;                      /* same line again */
        }
        (*lines)++;
        if (rc < 0)
            (*bad)++;
        s = nl ? nl + 1 : end;
    }
    return sum + batch_sum(b);
}

int
main(int argc, char **argv)
{
    struct fl_gen_opts o;
    int rounds = 5;
    fl_gen_opts_init(&o);
    o.records = 2000000;
    o.span = 86400;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--records") == 0)
            o.records = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--seed") == 0)
            o.seed = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--rounds") == 0)
            rounds = atoi(argv[i + 1]);
    }
    struct fl_buf t = { 0 };
    if (fl_gen_write(&o, fl_buf_sink, &t) != 0) {
        fprintf(stderr, "bench_parse: generator failed\n");
        return 1;
    }
    struct fl_format *fmt = NULL;
    struct fl_batch *b = NULL;
    struct fl_parser p;
    if (fl_format_default(&fmt) < 0 || fl_batch_create(FL_BATCH_ROWS, 0, &b) < 0)
        return 1;
    fl_parser_init(&p, fmt, NULL, NULL);

    uint64_t lines, bad;
    uint64_t want = parse_all(&t, &p, b, &lines, &bad);
    if (lines != o.records || bad != 0) {
        fprintf(stderr, "bench_parse: parsed %llu lines, %llu bad; want %llu, 0\n",
                (unsigned long long)lines, (unsigned long long)bad,
                (unsigned long long)o.records);
        return 1;
    }
    double best = 1e9;
    for (int r = 0; r < rounds; r++) {
        double t0 = fl_time_mono();
        uint64_t got = parse_all(&t, &p, b, &lines, &bad);
        double dt = fl_time_mono() - t0;
        if (got != want) {
            fprintf(stderr, "bench_parse: checksum %llx != %llx\n",
                    (unsigned long long)got, (unsigned long long)want);
            return 1;
        }
        if (dt < best)
            best = dt;
    }
    printf("parser: %llu lines, %.1f MB, best of %d: %.3f s = %.2f M lines/s, "
           "%.0f MB/s per core, %.1f ns/line (checksum %016llx)\n",
           (unsigned long long)lines, (double)t.len / 1e6, rounds, best,
           (double)lines / best / 1e6, (double)t.len / best / 1e6,
           best * 1e9 / (double)lines, (unsigned long long)want);
    fl_batch_destroy(b);
    fl_format_destroy(fmt);
    fl_buf_free(&t);
    return 0;
}
