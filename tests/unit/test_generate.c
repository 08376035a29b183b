/* SPDX-License-Identifier: MIT
 *
 * test_generate.c -- unit tests of the synthetic flow log generator
 * (src/gen/generate.c) and of the `flowlake generate` command
 * (src/cli/cmd_generate.c): determinism, record counts, header lines,
 * field counts and values per format, time ranges, the traffic mix, error
 * propagation without leaks, and the command's options, gzip output and
 * exit statuses.
 */
#include "core/fl_config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "cli/commands.h"
#include "core/fl_error.h"
#include "core/fl_mem.h"
#include "gen/generate.h"
#include "parse/format.h"

#include "harness.h"

#define ALL_FIELDS \
    "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} " \
    "${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} " \
    "${end} ${action} ${log-status} ${vpc-id} ${subnet-id} " \
    "${instance-id} ${tcp-flags} ${type} ${pkt-srcaddr} ${pkt-dstaddr} " \
    "${region} ${az-id} ${sublocation-type} ${sublocation-id} " \
    "${pkt-src-aws-service} ${pkt-dst-aws-service} ${flow-direction} " \
    "${traffic-path} ${ecs-cluster-arn} ${ecs-cluster-name} " \
    "${ecs-container-instance-arn} ${ecs-container-instance-id} " \
    "${ecs-container-id} ${ecs-second-container-id} ${ecs-service-name} " \
    "${ecs-task-definition-arn} ${ecs-task-arn} ${ecs-task-id} " \
    "${reject-reason}"

#define DEFAULT_HEADER \
    "version account-id interface-id srcaddr dstaddr srcport dstport " \
    "protocol packets bytes start end action log-status"


/* ---------------------------------------------------------------------
 * Helpers: an in-memory sink, line and field splitting
 * ------------------------------------------------------------------- */

struct sink {
    char   *p;
    size_t  len, cap;
    size_t  calls;
    size_t  max_call;
    int     bad_chunk;      /* a call did not end on a line boundary */
    size_t  fail_on_call;   /* 1-based; 0 = never */
};


static int
sink_write(void *ctx, const char *buf, size_t len)
{
    struct sink *s = ctx;
    s->calls++;
    if (s->fail_on_call != 0 && s->calls == s->fail_on_call)
        return -EPIPE;
    if (len == 0 || buf[len - 1] != '\n')
        s->bad_chunk = 1;
    if (len > s->max_call)
        s->max_call = len;
    if (s->len + len + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 1 << 20;
        while (cap < s->len + len + 1)
            cap *= 2;
        char *np = realloc(s->p, cap);
        CHECK(np != NULL);
        s->p = np;
        s->cap = cap;
    }
    memcpy(s->p + s->len, buf, len);
    s->len += len;
    s->p[s->len] = '\0';
    return 0;
}


static void
sink_free(struct sink *s)
{
    free(s->p);
    memset(s, 0, sizeof *s);
}


/* Runs the generator into a fresh sink; the caller frees it. */
static struct sink
gen(uint64_t seed, uint64_t records, const struct fl_format *fmt,
    int header)
{
    struct fl_gen_opts o;
    struct sink s;

    memset(&s, 0, sizeof s);
    fl_gen_opts_init(&o);
    o.seed = seed;
    o.records = records;
    o.format = fmt;
    o.header = header;
    CHECK_EQ_INT(fl_gen_write(&o, sink_write, &s), 0);
    CHECK(!s.bad_chunk);
    return s;
}


static struct fl_format *
parse_format(const char *spec)
{
    struct fl_format *f = NULL;
    struct fl_parse_err err;
    int rc = fl_format_parse(spec, &f, &err);
    if (rc != 0)
        fprintf(stderr, "  format: %s\n", err.reason);
    CHECK_EQ_INT(rc, 0);
    return f;
}


static size_t
count_lines(const char *p, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += p[i] == '\n';
    return n;
}


#define MAX_TOK 64

struct line {
    size_t      n;
    const char *tok[MAX_TOK];
    size_t      len[MAX_TOK];
};


/* Splits the line at *pos on single spaces and advances *pos past its
 * newline. Returns 0 at the end of the buffer. Empty tokens (double or
 * trailing spaces) are counted, so the field count check catches them. */
static int
next_line(const struct sink *s, size_t *pos, struct line *ln)
{
    if (*pos >= s->len)
        return 0;
    const char *p = s->p + *pos, *end = memchr(p, '\n', s->len - *pos);
    CHECK(end != NULL);
    ln->n = 0;
    const char *t = p;
    for (const char *q = p; ; q++) {
        if (q == end || *q == ' ') {
            CHECK(ln->n < MAX_TOK);
            ln->tok[ln->n] = t;
            ln->len[ln->n] = (size_t)(q - t);
            ln->n++;
            t = q + 1;
            if (q == end)
                break;
        }
    }
    *pos = (size_t)(end - s->p) + 1;
    return 1;
}


static int
tok_is(const struct line *ln, size_t i, const char *want)
{
    return ln->len[i] == strlen(want)
           && memcmp(ln->tok[i], want, ln->len[i]) == 0;
}


static int
tok_has_prefix(const struct line *ln, size_t i, const char *prefix)
{
    size_t n = strlen(prefix);
    return ln->len[i] >= n && memcmp(ln->tok[i], prefix, n) == 0;
}


static int
tok_has_char(const struct line *ln, size_t i, char c)
{
    return memchr(ln->tok[i], c, ln->len[i]) != NULL;
}


static int
tok_contains(const struct line *ln, size_t i, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t k = 0; k + n <= ln->len[i]; k++)
        if (memcmp(ln->tok[i] + k, needle, n) == 0)
            return 1;
    return 0;
}


/* The token as an unsigned integer; -1 when it is not all digits. */
static long long
tok_num(const struct line *ln, size_t i)
{
    long long v = 0;
    if (ln->len[i] == 0 || ln->len[i] > 18)
        return -1;
    for (size_t k = 0; k < ln->len[i]; k++) {
        char c = ln->tok[i][k];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    return v;
}


static int
tok_is_hex_id(const struct line *ln, size_t i, const char *prefix,
              size_t hex_len)
{
    size_t n = strlen(prefix);
    if (ln->len[i] != n + hex_len || memcmp(ln->tok[i], prefix, n) != 0)
        return 0;
    for (size_t k = n; k < ln->len[i]; k++) {
        char c = ln->tok[i][k];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return 1;
}


/* ---------------------------------------------------------------------
 * Library tests
 * ------------------------------------------------------------------- */

static void
test_opts_init(void)
{
    struct fl_gen_opts o;
    memset(&o, 0xff, sizeof o);
    fl_gen_opts_init(&o);
    CHECK_EQ_INT(o.seed, 1);
    CHECK_EQ_INT(o.records, 1000);
    CHECK_EQ_INT(o.start, 1714521600);
    CHECK_EQ_INT(o.span, 3600);
    CHECK(o.format == NULL);
    CHECK_EQ_INT(o.header, 0);
}


static void
test_deterministic(void)
{
    struct sink a = gen(42, 20000, NULL, 1);
    struct sink b = gen(42, 20000, NULL, 1);
    struct sink c = gen(43, 20000, NULL, 1);
    CHECK(a.len > 0);
    CHECK(a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
    CHECK(a.len != c.len || memcmp(a.p, c.p, a.len) != 0);
    /* Not only the header: the first data lines differ. */
    const char *a2 = strchr(a.p, '\n') + 1, *c2 = strchr(c.p, '\n') + 1;
    CHECK(strncmp(a2, c2, (size_t)(strchr(a2, '\n') - a2)) != 0);
    sink_free(&a);
    sink_free(&b);
    sink_free(&c);
}


/* A known checksum pins the output across platforms, compilers and
 * refactorings: the generator uses no libm and no platform PRNG. If a
 * deliberate change of the generator moves it, update the value here and
 * say so in the commit, since benchmark baselines and fixtures move too. */
static void
test_golden_crc(void)
{
    struct sink s = gen(1, 1000, NULL, 0);
    uLong crc = crc32(0L, (const Bytef *)s.p, (uInt)s.len);
    CHECK_EQ_INT(s.len, 114595);
    CHECK_EQ_INT(crc, 0x3d08d3c0UL);
    sink_free(&s);
}


static void
test_record_count(void)
{
    static const uint64_t counts[] = { 0, 1, 2, 999, 12345, 30001 };
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        struct sink s = gen(7, counts[i], NULL, 0);
        CHECK_EQ_INT(count_lines(s.p, s.len), counts[i]);
        if (counts[i] == 0)
            CHECK_EQ_INT(s.calls, 0);
        sink_free(&s);
        s = gen(7, counts[i], NULL, 1);
        CHECK_EQ_INT(count_lines(s.p, s.len), counts[i] + 1);
        sink_free(&s);
    }
}


static void
test_chunks(void)
{
    struct sink s = gen(3, 100000, NULL, 0);
    CHECK(s.calls >= 2);
    CHECK(s.max_call <= FL_GEN_CHUNK + 4096);
    CHECK(s.max_call >= FL_GEN_CHUNK);
    CHECK(!s.bad_chunk);
    sink_free(&s);
}


static void
test_header_default(void)
{
    struct sink s = gen(1, 3, NULL, 1);
    const char *nl = strchr(s.p, '\n');
    CHECK(nl != NULL);
    CHECK_EQ_MEM(s.p, (size_t)(nl - s.p), DEFAULT_HEADER);
    /* Data lines start with the version. */
    CHECK(strncmp(nl + 1, "2 ", 2) == 0);
    sink_free(&s);
}


static void
test_header_custom(void)
{
    /* SQL spellings come out as AWS names; unknown names as written. */
    struct fl_format *f =
        parse_format("${version} ${vpc-id} ${srcaddr} ${my-field} "
                     "${pkt_srcaddr} ${traffic-path}");
    struct sink s = gen(1, 5, f, 1);
    const char *nl = strchr(s.p, '\n');
    CHECK_EQ_MEM(s.p, (size_t)(nl - s.p),
                 "version vpc-id srcaddr my-field pkt-srcaddr traffic-path");
    /* The version is the highest among the fields: 5 (traffic-path). */
    CHECK(strncmp(nl + 1, "5 ", 2) == 0);
    sink_free(&s);
    fl_format_destroy(f);
}


static void
check_shape(const struct fl_format *f, size_t nf)
{
    struct sink s = gen(11, 50000, f, 1);
    struct line ln;
    size_t pos = 0, lines = 0;
    while (next_line(&s, &pos, &ln)) {
        CHECK_EQ_INT(ln.n, nf);
        for (size_t i = 0; i < ln.n; i++)
            CHECK(ln.len[i] > 0);
        lines++;
    }
    CHECK_EQ_INT(lines, 50001);
    sink_free(&s);
}


static void
test_field_count(void)
{
    check_shape(NULL, 14);
    struct fl_format *f = parse_format(ALL_FIELDS);
    CHECK_EQ_INT(f->n, 40);
    check_shape(f, 40);
    fl_format_destroy(f);
    f = parse_format("${srcaddr}");
    check_shape(f, 1);
    fl_format_destroy(f);
    f = parse_format("${a} ${srcaddr} ${b} ${c}");
    check_shape(f, 4);
    fl_format_destroy(f);
}


static void
check_times(int64_t start, int64_t span, uint64_t records)
{
    struct fl_gen_opts o;
    struct sink s;
    struct line ln;
    size_t pos = 0;
    int64_t prev_slot = -1;

    memset(&s, 0, sizeof s);
    fl_gen_opts_init(&o);
    o.start = start;
    o.span = span;
    o.records = records;
    CHECK_EQ_INT(fl_gen_write(&o, sink_write, &s), 0);
    while (next_line(&s, &pos, &ln)) {
        long long st = tok_num(&ln, 10), en = tok_num(&ln, 11);
        CHECK(st >= start && st < start + span);
        CHECK(en >= st);
        CHECK(en - st <= 600);
        /* Roughly ascending: never more than a minute back in time. */
        if (prev_slot >= 0)
            CHECK(st >= prev_slot - 60);
        if (st > prev_slot)
            prev_slot = st;
    }
    sink_free(&s);
}


static void
test_times(void)
{
    check_times(1714521600, 3600, 20000);
    check_times(0, 1, 1000);
    check_times(1700000000, 7 * 86400, 5000);
    check_times(1600000000, 10, 3);
}


static void
test_time_spread(void)
{
    /* Starts cover the span: the first and last tenth both occur. */
    struct sink s = gen(5, 10000, NULL, 0);
    struct line ln;
    size_t pos = 0;
    int early = 0, late = 0;
    while (next_line(&s, &pos, &ln)) {
        long long st = tok_num(&ln, 10) - 1714521600;
        early += st < 360;
        late += st >= 3240;
    }
    CHECK(early > 500 && late > 500);
    sink_free(&s);
}


/* Counts over 100k default-format records. */
struct mix {
    size_t n, tcp, udp, icmp, icmp6, other, reject, accept, nodata,
           skipdata, v6, private_eni;
};


static void
collect_mix(struct mix *m)
{
    struct sink s = gen(2024, 100000, NULL, 0);
    struct line ln;
    size_t pos = 0;
    memset(m, 0, sizeof *m);
    while (next_line(&s, &pos, &ln)) {
        m->n++;
        if (tok_is(&ln, 13, "NODATA") || tok_is(&ln, 13, "SKIPDATA")) {
            m->nodata += tok_is(&ln, 13, "NODATA");
            m->skipdata += tok_is(&ln, 13, "SKIPDATA");
            /* AWS writes "-" for srcaddr .. bytes and action. */
            for (size_t i = 3; i <= 9; i++)
                CHECK(tok_is(&ln, i, "-"));
            CHECK(tok_is(&ln, 12, "-"));
            CHECK(tok_num(&ln, 10) >= 0 && tok_num(&ln, 11) >= 0);
            continue;
        }
        CHECK(tok_is(&ln, 13, "OK"));
        long long proto = tok_num(&ln, 7);
        long long sp = tok_num(&ln, 5), dp = tok_num(&ln, 6);
        long long pk = tok_num(&ln, 8), by = tok_num(&ln, 9);
        CHECK(sp >= 0 && sp <= 65535 && dp >= 0 && dp <= 65535);
        CHECK(pk >= 1);
        CHECK(by >= pk * 28 && by <= pk * 1500);
        if (proto == 6)
            m->tcp++;
        else if (proto == 17)
            m->udp++;
        else if (proto == 1)
            m->icmp++;
        else if (proto == 58)
            m->icmp6++;
        else
            m->other++;
        if (proto == 1 || proto == 58)
            CHECK(sp == 0 && dp == 0);
        else
            CHECK(sp > 0 && dp > 0);
        m->reject += tok_is(&ln, 12, "REJECT");
        m->accept += tok_is(&ln, 12, "ACCEPT");
        int v6 = tok_has_char(&ln, 3, ':');
        CHECK_EQ_INT(v6, tok_has_char(&ln, 4, ':'));
        m->v6 += v6;
        if (proto == 58)
            CHECK(v6);
        if (proto == 1)
            CHECK(!v6);
        /* One side is always a private address of the ENI. */
        m->private_eni += tok_has_prefix(&ln, 3, "10.")
                          || tok_has_prefix(&ln, 4, "10.")
                          || tok_has_prefix(&ln, 3, "172.")
                          || tok_has_prefix(&ln, 4, "172.");
    }
    CHECK_EQ_INT(m->n, 100000);
    sink_free(&s);
}


static void
test_protocol_mix(void)
{
    struct mix m;
    collect_mix(&m);
    double n = (double)m.n;
    CHECK(m.tcp / n > 0.74 && m.tcp / n < 0.86);
    CHECK(m.udp / n > 0.12 && m.udp / n < 0.22);
    CHECK(m.icmp / n > 0.015 && m.icmp / n < 0.045);
    CHECK_EQ_INT(m.other, 0);
}


static void
test_reject_nodata(void)
{
    struct mix m;
    collect_mix(&m);
    double n = (double)m.n;
    CHECK(m.reject / n > 0.02 && m.reject / n < 0.07);
    CHECK(m.nodata > 0 && m.skipdata > 0);
    CHECK((m.nodata + m.skipdata) / n < 0.01);
    CHECK_EQ_INT(m.accept + m.reject + m.nodata + m.skipdata, m.n);
}


static void
test_ipv6_present(void)
{
    struct mix m;
    collect_mix(&m);
    double n = (double)m.n;
    CHECK(m.v6 / n > 0.02 && m.v6 / n < 0.10);
    CHECK(m.private_eni / n > 0.85);
}


static void
test_scanners(void)
{
    /* Most REJECTs come from a handful of sources probing many ports. */
    struct sink s = gen(99, 100000, NULL, 0);
    struct line ln;
    size_t pos = 0, rejects = 0;
    char src[8][48];
    size_t src_n[8] = { 0 }, n_src = 0, top = 0;
    int ports[65536 / 8] = { 0 };
    memset(src, 0, sizeof src);
    while (next_line(&s, &pos, &ln)) {
        if (!tok_is(&ln, 12, "REJECT"))
            continue;
        rejects++;
        size_t k;
        for (k = 0; k < n_src; k++)
            if (strlen(src[k]) == ln.len[3]
                && memcmp(src[k], ln.tok[3], ln.len[3]) == 0)
                break;
        if (k == n_src && n_src < 8 && ln.len[3] < 48) {
            memcpy(src[n_src], ln.tok[3], ln.len[3]);
            n_src++;
        }
        if (k < n_src)
            src_n[k]++;
        long long dp = tok_num(&ln, 6);
        if (dp >= 0)
            ports[dp / 8] = 1;
    }
    for (size_t k = 0; k < n_src; k++)
        top += src_n[k];
    int port_buckets = 0;
    for (size_t i = 0; i < sizeof ports / sizeof ports[0]; i++)
        port_buckets += ports[i];
    CHECK(rejects > 0);
    /* The first 8 distinct sources seen carry most of the rejects. */
    CHECK(top * 10 > rejects * 7);
    CHECK(port_buckets > 500);
    sink_free(&s);
}


static const char *const regions_known[] = {
    "us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2",
    "ap-northeast-1",
};


static void
test_custom_values(void)
{
    struct fl_format *f = parse_format(ALL_FIELDS);
    struct sink s = gen(8, 60000, f, 0);
    struct line ln;
    size_t pos = 0, ecs = 0, svc = 0, bpa = 0, pkt_diff = 0, managed = 0,
           egress = 0, ingress = 0, outpost = 0;
    while (next_line(&s, &pos, &ln)) {
        CHECK_EQ_INT(ln.n, 40);
        CHECK(tok_is(&ln, 0, "8"));
        CHECK(ln.len[1] == 12 && tok_num(&ln, 1) >= 100000000000LL);
        CHECK(tok_is_hex_id(&ln, 2, "eni-", 17));
        CHECK(tok_is_hex_id(&ln, 14, "vpc-", 17));
        CHECK(tok_is_hex_id(&ln, 15, "subnet-", 17));
        CHECK(tok_is(&ln, 16, "-") || tok_is_hex_id(&ln, 16, "i-", 17));
        managed += tok_is(&ln, 16, "-");
        int known = 0;
        for (size_t r = 0; r < sizeof regions_known / sizeof regions_known[0];
             r++)
            known |= tok_is(&ln, 21, regions_known[r]);
        CHECK(known);
        if (tok_is(&ln, 23, "-")) {
            CHECK(tok_is(&ln, 24, "-"));
            CHECK(tok_contains(&ln, 22, "-az"));
        } else {
            CHECK(tok_is(&ln, 23, "outpost"));
            CHECK(tok_is_hex_id(&ln, 24, "op-", 17));
            CHECK(tok_is(&ln, 22, "-"));
            outpost++;
        }
        if (!tok_is(&ln, 29, "-")) {
            ecs++;
            CHECK(tok_has_prefix(&ln, 29, "arn:aws:ecs:"));
            CHECK(tok_contains(&ln, 29, ":cluster/"));
            CHECK(!tok_is(&ln, 30, "-"));
            CHECK(tok_has_prefix(&ln, 36, "arn:aws:ecs:"));
            CHECK(tok_has_prefix(&ln, 37, "arn:aws:ecs:"));
            CHECK(ln.len[38] == 32);
        } else {
            for (size_t i = 30; i <= 38; i++)
                CHECK(tok_is(&ln, i, "-"));
        }
        if (!tok_is(&ln, 13, "OK")) {
            for (size_t i = 17; i <= 20; i++)
                CHECK(tok_is(&ln, i, "-"));
            for (size_t i = 25; i <= 28; i++)
                CHECK(tok_is(&ln, i, "-"));
            CHECK(tok_is(&ln, 39, "-"));
            continue;
        }
        long long proto = tok_num(&ln, 7);
        long long flags = tok_num(&ln, 17);
        if (proto == 6)
            CHECK(flags == 0 || flags == 1 || flags == 2 || flags == 3
                  || flags == 18 || flags == 19);
        else
            CHECK(flags == 0);
        int v6 = tok_has_char(&ln, 3, ':');
        CHECK(tok_is(&ln, 18, v6 ? "IPv6" : "IPv4"));
        CHECK_EQ_INT(tok_has_char(&ln, 19, ':'), v6);
        CHECK_EQ_INT(tok_has_char(&ln, 20, ':'), v6);
        pkt_diff += !(ln.len[3] == ln.len[19]
                      && memcmp(ln.tok[3], ln.tok[19], ln.len[3]) == 0);
        svc += !tok_is(&ln, 25, "-") || !tok_is(&ln, 26, "-");
        if (tok_is(&ln, 27, "ingress")) {
            ingress++;
            CHECK(tok_is(&ln, 28, "-"));
            CHECK(tok_is(&ln, 26, "-"));
        } else {
            CHECK(tok_is(&ln, 27, "egress"));
            egress++;
            long long tp = tok_num(&ln, 28);
            CHECK(tp >= 1 && tp <= 8);
            CHECK(tok_is(&ln, 25, "-"));
        }
        if (tok_is(&ln, 12, "REJECT")) {
            CHECK(tok_is(&ln, 39, "-") || tok_is(&ln, 39, "BPA"));
            bpa += tok_is(&ln, 39, "BPA");
        } else {
            CHECK(tok_is(&ln, 39, "-"));
        }
    }
    CHECK(ecs > 0 && ecs < 30000);
    CHECK(svc > 0);
    CHECK(bpa > 0);
    CHECK(pkt_diff > 0 && pkt_diff < 6000);
    CHECK(managed > 0);
    CHECK(ingress > 10000 && egress > 10000);
    CHECK(outpost < 6000);
    sink_free(&s);
    fl_format_destroy(f);
}


/* One seed, two formats: the flows are the same, field for field. */
static void
test_custom_matches_default(void)
{
    struct fl_format *f = parse_format(ALL_FIELDS);
    struct sink a = gen(31, 20000, NULL, 0);
    struct sink b = gen(31, 20000, f, 0);
    struct line la, lb;
    size_t pa = 0, pb = 0, n = 0;
    while (next_line(&a, &pa, &la)) {
        CHECK(next_line(&b, &pb, &lb));
        for (size_t i = 1; i < 14; i++)
            CHECK(la.len[i] == lb.len[i]
                  && memcmp(la.tok[i], lb.tok[i], la.len[i]) == 0);
        n++;
    }
    CHECK(!next_line(&b, &pb, &lb));
    CHECK_EQ_INT(n, 20000);
    sink_free(&a);
    sink_free(&b);
    fl_format_destroy(f);
}


static void
test_unknown_field_dash(void)
{
    struct fl_format *f =
        parse_format("${version} ${next-hop-vpc-id} ${srcaddr} ${foo_bar}");
    CHECK(f->field[1] < 0 && f->field[3] < 0);
    struct sink s = gen(4, 5000, f, 1);
    struct line ln;
    size_t pos = 0;
    CHECK(next_line(&s, &pos, &ln));
    CHECK(tok_is(&ln, 1, "next-hop-vpc-id") && tok_is(&ln, 3, "foo_bar"));
    while (next_line(&s, &pos, &ln)) {
        CHECK_EQ_INT(ln.n, 4);
        CHECK(tok_is(&ln, 0, "2"));
        CHECK(tok_is(&ln, 1, "-"));
        CHECK(tok_is(&ln, 3, "-"));
    }
    sink_free(&s);
    fl_format_destroy(f);
}


static void
test_bad_opts(void)
{
    struct fl_gen_opts o;
    struct sink s;
    memset(&s, 0, sizeof s);

    fl_gen_opts_init(&o);
    o.span = 0;
    CHECK_EQ_INT(fl_gen_write(&o, sink_write, &s), FL_ECONFIG);
    fl_gen_opts_init(&o);
    o.span = -5;
    CHECK_EQ_INT(fl_gen_write(&o, sink_write, &s), FL_ECONFIG);
    fl_gen_opts_init(&o);
    o.start = -1;
    CHECK_EQ_INT(fl_gen_write(&o, sink_write, &s), FL_ECONFIG);
    fl_gen_opts_init(&o);
    o.start = INT64_MAX - 10;
    CHECK_EQ_INT(fl_gen_write(&o, sink_write, &s), FL_ECONFIG);
    fl_gen_opts_init(&o);
    CHECK_EQ_INT(fl_gen_write(&o, NULL, &s), FL_ECONFIG);
    CHECK_EQ_INT(fl_gen_write(NULL, sink_write, &s), FL_ECONFIG);
    CHECK_EQ_INT(s.calls, 0);
}


static void
test_write_error(void)
{
    size_t before = fl_mem_used();
    struct fl_gen_opts o;
    struct sink s;

    memset(&s, 0, sizeof s);
    fl_gen_opts_init(&o);
    o.records = 100000;
    s.fail_on_call = 2;
    CHECK_EQ_INT(fl_gen_write(&o, sink_write, &s), -EPIPE);
    CHECK_EQ_INT(s.calls, 2);
    CHECK_EQ_INT(fl_mem_used(), before);
    sink_free(&s);

    /* Failing on the final, partial chunk is reported too. */
    o.records = 10;
    s.fail_on_call = 1;
    CHECK_EQ_INT(fl_gen_write(&o, sink_write, &s), -EPIPE);
    CHECK_EQ_INT(fl_mem_used(), before);
    sink_free(&s);
}


static void
test_alloc_failure(void)
{
    size_t before = fl_mem_used();
    struct fl_gen_opts o;
    int ok = 0;

    fl_gen_opts_init(&o);
    o.records = 100;
    for (uint64_t n = 1; n < 50 && !ok; n++) {
        struct sink s;
        memset(&s, 0, sizeof s);
        fl_mem_fail_after(n);
        int rc = fl_gen_write(&o, sink_write, &s);
        fl_mem_fail_after(0);
        if (rc == 0) {
            ok = 1;
            CHECK_EQ_INT(count_lines(s.p, s.len), 100);
        } else {
            CHECK_EQ_INT(rc, FL_ENOMEM);
            CHECK_EQ_INT(s.calls, 0);
        }
        CHECK_EQ_INT(fl_mem_used(), before);
        sink_free(&s);
    }
    CHECK(ok);
}


/* ---------------------------------------------------------------------
 * The command
 * ------------------------------------------------------------------- */

static char tmpdir[256];


static void
make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fl_test_generate_XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL);
}


static void
rm_tmpdir(const char *const *files, size_t n)
{
    char path[512];
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, files[i]);
        unlink(path);
    }
    rmdir(tmpdir);
}


/* Runs `generate` with args (NULL-terminated), stdout and stderr sent to
 * /dev/null so that help text and expected errors stay out of the log. */
static int
run_cmd(const char *const *args)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"generate";
    for (; args[argc - 1] != NULL; argc++) {
        CHECK(argc < 31);
        argv[argc] = (char *)args[argc - 1];
    }
    argv[argc] = NULL;

    fflush(NULL);
    int saved_out = dup(1), saved_err = dup(2);
    int devnull = open("/dev/null", O_WRONLY);
    CHECK(saved_out >= 0 && saved_err >= 0 && devnull >= 0);
    CHECK(dup2(devnull, 1) == 1 && dup2(devnull, 2) == 2);
    int st = fl_cmd_generate(argc, argv);
    fflush(NULL);
    CHECK(dup2(saved_out, 1) == 1 && dup2(saved_err, 2) == 2);
    close(devnull);
    close(saved_out);
    close(saved_err);
    return st;
}


static char *
read_file(const char *path, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    size_t cap = 1 << 16, len = 0;
    char *p = malloc(cap);
    CHECK(p != NULL);
    for (;;) {
        if (len == cap) {
            cap *= 2;
            p = realloc(p, cap);
            CHECK(p != NULL);
        }
        size_t n = fread(p + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    CHECK(!ferror(f));
    fclose(f);
    *out_len = len;
    return p;
}


static char *
gunzip(const char *p, size_t len, size_t *out_len)
{
    z_stream z;
    size_t cap = len * 8 + 1024, have = 0;
    char *out = malloc(cap);
    CHECK(out != NULL);
    memset(&z, 0, sizeof z);
    CHECK_EQ_INT(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)len;
    int rc;
    do {
        if (have == cap) {
            cap *= 2;
            out = realloc(out, cap);
            CHECK(out != NULL);
        }
        z.next_out = (Bytef *)out + have;
        z.avail_out = (uInt)(cap - have);
        rc = inflate(&z, Z_NO_FLUSH);
        CHECK(rc == Z_OK || rc == Z_STREAM_END);
        have = cap - z.avail_out;
    } while (rc != Z_STREAM_END);
    CHECK_EQ_INT(z.avail_in, 0);
    inflateEnd(&z);
    *out_len = have;
    return out;
}


static void
test_cmd_usage_errors(void)
{
    static const char *const bad[][6] = {
        { "--records", "abc", NULL },
        { "--records", "-5", NULL },
        { "--records", " 5", NULL },
        { "--records", "18446744073709551616", NULL },
        { "--records", NULL },
        { "--seed", "1x", NULL },
        { "--start", "yesterday", NULL },
        { "--start", "2024-13-01T00:00:00Z", NULL },
        { "--start", "2023-02-29", NULL },
        { "--start", "2024-05-01T25:00:00Z", NULL },
        { "--start", "-10", NULL },
        { "--span", "0", NULL },
        { "--span", "10x", NULL },
        { "--span", "-5m", NULL },
        { "--span", "h", NULL },
        { "--span", "99999999999999999999d", NULL },
        { "--format", "${version", NULL },
        { "--format", "version srcaddr", NULL },
        { "--format", "", NULL },
        { "--gzip-level", "0", NULL },
        { "--gzip-level", "10", NULL },
        { "--bogus", NULL },
        { "extra-arg", NULL },
        { "--header=1", NULL },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int st = run_cmd(bad[i]);
        if (st != 2)
            fprintf(stderr, "  case %zu (%s %s): status %d\n", i, bad[i][0],
                    bad[i][1] ? bad[i][1] : "", st);
        CHECK_EQ_INT(st, 2);
    }
    static const char *const help[] = { "--help", NULL };
    CHECK_EQ_INT(run_cmd(help), 0);
}


static void
test_cmd_output_file(void)
{
    static const char *const files[] = { "a.log", "b.log" };
    char a[512], b[512];
    make_tmpdir();
    snprintf(a, sizeof a, "%s/a.log", tmpdir);
    snprintf(b, sizeof b, "%s/b.log", tmpdir);

    const char *args[] = { "--seed", "5", "--records", "2500", "--header",
                           "--output", a, NULL };
    CHECK_EQ_INT(run_cmd(args), 0);
    size_t len;
    char *got = read_file(a, &len);

    struct fl_gen_opts o;
    struct sink s;
    memset(&s, 0, sizeof s);
    fl_gen_opts_init(&o);
    o.seed = 5;
    o.records = 2500;
    o.header = 1;
    CHECK_EQ_INT(fl_gen_write(&o, sink_write, &s), 0);
    CHECK(len == s.len && memcmp(got, s.p, len) == 0);
    free(got);
    sink_free(&s);

    /* --opt=value spelling and -o; the same file again. */
    const char *args2[] = { "--seed=5", "--records=2500", "--header",
                            "-o", b, NULL };
    CHECK_EQ_INT(run_cmd(args2), 0);
    size_t len2;
    char *got2 = read_file(b, &len2);
    got = read_file(a, &len);
    CHECK(len == len2 && memcmp(got, got2, len) == 0);
    free(got);
    free(got2);
    rm_tmpdir(files, 2);
}


/* Offset of the n-th space (1-based) in s. */
static size_t
nth_space(const char *s, int n)
{
    const char *p = s;
    for (int i = 0; i < n; i++) {
        p = strchr(p + (i > 0), ' ');
        CHECK(p != NULL);
    }
    return (size_t)(p - s);
}


static void
test_cmd_time_forms(void)
{
    static const char *const files[] = { "1", "2", "3", "4", "5", "6" };
    static const char *const starts[] = {
        "1714557600", "2024-05-01T10:00:00Z", "2024-05-01T10:00Z",
        "2024-05-01 10:00:00", "2024-05-01T12:00:00+02:00",
        "2024-05-01T05:30-0430",
    };
    char path[6][512];
    char *data[6];
    size_t len[6];
    make_tmpdir();
    for (size_t i = 0; i < 6; i++) {
        snprintf(path[i], sizeof path[i], "%s/%s", tmpdir, files[i]);
        const char *span = i % 2 ? "1h" : "3600";
        const char *args[] = { "--records", "300", "--start", starts[i],
                               "--span", span, "-o", path[i], NULL };
        CHECK_EQ_INT(run_cmd(args), 0);
        data[i] = read_file(path[i], &len[i]);
        CHECK(len[i] > 0);
        if (i > 0)
            CHECK(len[i] == len[0] && memcmp(data[i], data[0], len[0]) == 0);
    }
    /* The first record starts in the first minute after 10:00Z. */
    long long first = strtoll(data[0] + nth_space(data[0], 10) + 1, NULL, 10);
    CHECK(first >= 1714557600 && first < 1714557600 + 60);
    for (size_t i = 0; i < 6; i++)
        free(data[i]);

    /* Durations with other units and "now" are accepted. */
    static const char *const spans[] = { "90s", "15m", "24h", "7d", "1" };
    for (size_t i = 0; i < 5; i++) {
        const char *args[] = { "--records", "10", "--span", spans[i],
                               "--start", "now", "-o", path[0], NULL };
        CHECK_EQ_INT(run_cmd(args), 0);
    }
    rm_tmpdir(files, 6);
}


static void
test_cmd_gzip(void)
{
    static const char *const files[] = { "x.log.gz", "y.gz", "z.log" };
    char x[512], y[512], z[512];
    make_tmpdir();
    snprintf(x, sizeof x, "%s/x.log.gz", tmpdir);
    snprintf(y, sizeof y, "%s/y.gz", tmpdir);
    snprintf(z, sizeof z, "%s/z.log", tmpdir);

    /* .gz implies --gzip; --gzip on another name compresses too. */
    const char *ax[] = { "--records", "20000", "-o", x, NULL };
    const char *ay[] = { "--records", "20000", "-o", y, NULL };
    const char *az[] = { "--records", "20000", "--gzip", "-o", z, NULL };
    CHECK_EQ_INT(run_cmd(ax), 0);
    CHECK_EQ_INT(run_cmd(ay), 0);
    CHECK_EQ_INT(run_cmd(az), 0);
    size_t lx, ly, lz;
    char *dx = read_file(x, &lx), *dy = read_file(y, &ly),
         *dz = read_file(z, &lz);
    /* Deterministic: no name or time in the header. */
    CHECK(lx == ly && memcmp(dx, dy, lx) == 0);
    CHECK(lx == lz && memcmp(dx, dz, lx) == 0);
    CHECK((unsigned char)dx[0] == 0x1f && (unsigned char)dx[1] == 0x8b);
    CHECK(dx[4] == 0 && dx[5] == 0 && dx[6] == 0 && dx[7] == 0);  /* mtime */
    CHECK((dx[3] & 0x08) == 0);                                  /* FNAME */

    size_t plain_len;
    char *plain = gunzip(dx, lx, &plain_len);
    struct sink s = gen(1, 20000, NULL, 0);
    CHECK(plain_len == s.len && memcmp(plain, s.p, s.len) == 0);
    CHECK(lx < s.len / 2);
    free(plain);

    /* Another level: different bytes, same content. */
    const char *al[] = { "--records", "20000", "--gzip-level", "9", "-o", z,
                         NULL };
    CHECK_EQ_INT(run_cmd(al), 0);
    free(dz);
    dz = read_file(z, &lz);
    plain = gunzip(dz, lz, &plain_len);
    CHECK(plain_len == s.len && memcmp(plain, s.p, s.len) == 0);
    free(plain);

    sink_free(&s);
    free(dx);
    free(dy);
    free(dz);
    rm_tmpdir(files, 3);
}


static void
test_cmd_write_errors(void)
{
    static const char *const files[] = { "nope" };
    char path[512];
    make_tmpdir();
    snprintf(path, sizeof path, "%s/missing-dir/out.log", tmpdir);
    const char *a1[] = { "--records", "10", "-o", path, NULL };
    CHECK_EQ_INT(run_cmd(a1), 1);

    if (access("/dev/full", W_OK) == 0) {
        const char *a2[] = { "--records", "100000", "-o", "/dev/full", NULL };
        CHECK_EQ_INT(run_cmd(a2), 1);
        const char *a3[] = { "--records", "100000", "--gzip", "-o",
                             "/dev/full", NULL };
        CHECK_EQ_INT(run_cmd(a3), 1);
    }
    rm_tmpdir(files, 1);
}


/* The options of a feeder (serve --demo) that calls the generator again
 * and again: one world across calls, flows cut at a moment, a scan burst. */
struct feed_stats {
    size_t records, rejects, cut_at_limit, bad_time;
    char   enis[2048][24];
    size_t n_enis;
};

static int
has_eni(const struct feed_stats *f, const char *eni)
{
    for (size_t i = 0; i < f->n_enis; i++)
        if (strcmp(f->enis[i], eni) == 0)
            return 1;
    return 0;
}

/* Reads default-format lines: the interface, start, end and action. */
static void
feed_scan(const struct sink *s, int64_t not_after, struct feed_stats *f)
{
    memset(f, 0, sizeof *f);
    for (const char *p = s->p; p < s->p + s->len;) {
        const char *nl = memchr(p, '\n', (size_t)(s->p + s->len - p));
        CHECK(nl != NULL);
        /* sscanf on a copy: on the whole buffer it would strlen it
         * every time. */
        char line[512], eni[24], action[16];
        long long start, end;
        size_t n = (size_t)(nl - p);
        CHECK(n < sizeof line);
        memcpy(line, p, n);
        line[n] = '\0';
        CHECK_EQ_INT(sscanf(line, "%*s %*s %23s %*s %*s %*s %*s %*s %*s %*s "
                            "%lld %lld %15s", eni, &start, &end, action), 4);
        f->records++;
        f->rejects += strcmp(action, "REJECT") == 0;
        if (end < start || (not_after > 0 && end > not_after))
            f->bad_time++;
        f->cut_at_limit += not_after > 0 && end == not_after;
        if (!has_eni(f, eni)) {
            CHECK(f->n_enis < sizeof f->enis / sizeof f->enis[0]);
            snprintf(f->enis[f->n_enis++], sizeof f->enis[0], "%s", eni);
        }
        p = nl + 1;
    }
}

static struct sink
gen_feed(uint64_t world_seed, uint64_t seed, uint64_t records,
         int64_t not_after, uint32_t scan_ppm)
{
    struct fl_gen_opts o;
    struct sink s;
    memset(&s, 0, sizeof s);
    fl_gen_opts_init(&o);
    o.world_seed = world_seed;
    o.seed = seed;
    o.records = records;
    o.not_after = not_after;
    o.scan_ppm = scan_ppm;
    CHECK_EQ_INT(fl_gen_write(&o, sink_write, &s), 0);
    return s;
}

static void
test_feeder_options(void)
{
    static struct feed_stats world, same, other, cut, burst;
    /* The world of seed 77, seen through many flows. */
    struct sink s = gen(77, 200000, NULL, 0);
    feed_scan(&s, 0, &world);
    sink_free(&s);
    CHECK(world.n_enis > 50);

    /* world_seed 77 with other flow seeds: the same interfaces only, but
     * other lines. */
    struct sink a = gen_feed(77, 1, 5000, 0, 0);
    struct sink b = gen_feed(77, 2, 5000, 0, 0);
    CHECK(a.len != b.len || memcmp(a.p, b.p, a.len) != 0);
    feed_scan(&a, 0, &same);
    for (size_t i = 0; i < same.n_enis; i++)
        CHECK(has_eni(&world, same.enis[i]));
    feed_scan(&b, 0, &same);
    for (size_t i = 0; i < same.n_enis; i++)
        CHECK(has_eni(&world, same.enis[i]));
    sink_free(&a);
    sink_free(&b);
    /* Another world: other interfaces. */
    s = gen_feed(78, 1, 5000, 0, 0);
    feed_scan(&s, 0, &other);
    sink_free(&s);
    size_t shared = 0;
    for (size_t i = 0; i < other.n_enis; i++)
        shared += has_eni(&world, other.enis[i]);
    CHECK_EQ_INT(shared, 0);

    /* not_after: flows start in the default hour from 1714521600; none
     * ends after its last second, the ones still open then end there. */
    s = gen_feed(0, 5, 20000, 1714525200, 0);
    feed_scan(&s, 1714525200, &cut);
    sink_free(&s);
    CHECK_EQ_INT(cut.bad_time, 0);
    CHECK(cut.cut_at_limit > 0);

    /* A scan burst: a quarter of the records are probes, mostly REJECT;
     * the default share is a few percent. */
    s = gen_feed(0, 5, 20000, 0, 250000);
    feed_scan(&s, 0, &burst);
    sink_free(&s);
    s = gen_feed(0, 5, 20000, 0, 0);
    feed_scan(&s, 0, &same);
    sink_free(&s);
    CHECK(burst.rejects * 100 > burst.records * 15);
    CHECK(same.rejects * 100 < same.records * 8);

    /* Out of range. */
    struct fl_gen_opts o;
    struct sink none;
    memset(&none, 0, sizeof none);
    fl_gen_opts_init(&o);
    o.scan_ppm = 998001;
    CHECK_EQ_INT(fl_gen_write(&o, sink_write, &none), FL_ECONFIG);
    o.scan_ppm = 998000;
    o.records = 10;
    CHECK_EQ_INT(fl_gen_write(&o, sink_write, &none), 0);
    sink_free(&none);
    o.not_after = -1;
    CHECK_EQ_INT(fl_gen_write(&o, sink_write, &none), FL_ECONFIG);
    o.not_after = o.start + o.span - 1;    /* before the last start */
    CHECK_EQ_INT(fl_gen_write(&o, sink_write, &none), FL_ECONFIG);
}


FL_TEST_MAIN(
    FL_TEST(test_opts_init),
    FL_TEST(test_deterministic),
    FL_TEST(test_golden_crc),
    FL_TEST(test_record_count),
    FL_TEST(test_chunks),
    FL_TEST(test_header_default),
    FL_TEST(test_header_custom),
    FL_TEST(test_field_count),
    FL_TEST(test_times),
    FL_TEST(test_time_spread),
    FL_TEST(test_protocol_mix),
    FL_TEST(test_reject_nodata),
    FL_TEST(test_ipv6_present),
    FL_TEST(test_scanners),
    FL_TEST(test_custom_values),
    FL_TEST(test_custom_matches_default),
    FL_TEST(test_unknown_field_dash),
    FL_TEST(test_bad_opts),
    FL_TEST(test_write_error),
    FL_TEST(test_alloc_failure),
    FL_TEST(test_cmd_usage_errors),
    FL_TEST(test_cmd_output_file),
    FL_TEST(test_cmd_time_forms),
    FL_TEST(test_cmd_gzip),
    FL_TEST(test_cmd_write_errors),
    FL_TEST(test_feeder_options)
)
