/* SPDX-License-Identifier: MIT
 *
 * generate.c -- realistic, deterministic synthetic VPC flow logs (see
 * generate.h; the user-facing description is docs/generate.md).
 *
 * Two stages:
 *
 *   1. build_world() draws, from its own PRNG stream, the things flow logs
 *      talk about: 3-5 accounts (12-digit ids) in 1-2 regions each, 1-2
 *      VPCs per account and region (10.x/16, 172.16-31.x/16, 172.31/16
 *      default VPCs, each with an Amazon-style IPv6 /56), 2-4 subnets per
 *      VPC in distinct AZs, and ENI_COUNT ENIs. Every ENI belongs to one
 *      subnet and has a role (web, app, db, cache, bastion, worker, NAT
 *      gateway, load balancer, Lambda), a private IPv4 and an IPv6 address,
 *      an instance id ("-" for requester-managed interfaces), sometimes an
 *      ECS task, rarely an Outpost. Public peers (with a few AWS service
 *      ranges among them), public DNS resolvers, IPv6 peers, on-premises
 *      peers and a handful of scanners complete the picture.
 *
 *   2. For every record, synth() draws one flow from the record PRNG
 *      stream into a struct rec, and emit_line() prints the fields the
 *      format asks for. All draws happen whatever the format, so that one
 *      seed describes the same flows in every format.
 *
 * Record mix (parts per million of all records): NODATA/SKIPDATA 2000,
 * scanner probes 35000 (mostly REJECT), normal flows the rest, of which
 * ingress from the internet is rejected 1.5% of the time; TCP/UDP/ICMP
 * come out near 80/17/3 overall. Packet counts are heavy-tailed (a
 * discrete Pareto with alpha = 1: P(packets >= 2^k) ~ 2^-k, below
 * 2^24), bytes stay between 28 and 1500 per packet.
 *
 * Start times are stratified: record i starts in slot i of `records`
 * equal slots of the span, moved by up to 29 s either way (reflected at
 * the span's ends), so output is in roughly ascending time order as
 * delivered logs are, while staying within [start, start + span).
 *
 * Portability of the output: no libm, doubles only for exact-rounded
 * + - * /, and never two PRNG draws in one function call's arguments (C
 * leaves their order unspecified; gcc and clang differ).
 *
 * Speed: the world is formatted once into fixed strings; per record the
 * work is ~20 PRNG draws and memcpy of those strings and a few integers,
 * into a 1 MiB buffer handed to the caller's write function.
 */
#include "../core/fl_config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "../parse/fields.h"
#include "../parse/format.h"
#include "generate.h"

/* ---------------------------------------------------------------------
 * Sizes of the world and of the strings in it
 * ------------------------------------------------------------------- */

#define ENI_COUNT      400
#define PUB4_COUNT     2048
#define PUB6_COUNT     256
#define SCAN_COUNT     6
#define ONPREM_COUNT   32
#define MAX_ACCOUNTS   5
#define MAX_VPCS       (MAX_ACCOUNTS * 2 * 2)
#define MAX_SUBNETS    (MAX_VPCS * 4)
#define MAX_ECS        96

/* Short strings: ids and addresses (an IPv6 address is at most 39). */
#define SSTR_CAP 48
/* Long strings: ECS ARNs. */
#define LSTR_CAP 128
/* No field value is longer than this; sizes the output slack. */
#define FIELD_MAX (LSTR_CAP - 1)
/* Extra room after a line for put_sstr's fixed-size copies. */
#define LINE_SLACK SSTR_CAP

struct sstr {
    uint8_t len;
    char    s[SSTR_CAP];
};

struct lstr {
    uint8_t len;
    char    s[LSTR_CAP];
};

/* Sets a sstr or lstr with snprintf; a (never expected) truncation keeps
 * the length consistent with the stored bytes. */
#define STR_SET(str, ...) \
    str_fix(&(str)->len, sizeof (str)->s, \
            snprintf((str)->s, sizeof (str)->s, __VA_ARGS__))

/* Record kinds and shares, in parts per million of all records. */
#define NODATA_PPM      2000
#define SCAN_PPM        35000
#define SKIPDATA_PPM    150000      /* of NODATA_PPM records */
#define V6_PPM          52000       /* of normal flows */
#define TCP_PPM         796500      /* of normal flows */
#define UDP_PPM         172500      /* of normal flows; ICMP the rest */
#define REJECT_PPM      15000       /* of normal ingress from the internet */
#define BPA_PPM         50000       /* of REJECTs: reject-reason BPA */
#define SCAN_TCP_PPM    900000

/* Discrete Pareto for packet counts: continue to the next power of two
 * with this probability (alpha = -log2(q) = 1). */
#define HEAVY_Q_PPM     500000
#define HEAVY_MAX_EXP   23


/* ---------------------------------------------------------------------
 * PRNG: xoshiro256** seeded through splitmix64 (Blackman & Vigna)
 * ------------------------------------------------------------------- */

struct rng {
    uint64_t s[4];
};


static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}


static void
rng_seed(struct rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}


static inline uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}


static inline uint64_t
rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}


/* Uniform in [0, n), n <= 2^32 (Lemire's multiply-shift; the bias of
 * at most n / 2^32 does not matter here, determinism does). */
static inline uint32_t
rng_below(struct rng *r, uint64_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * n) >> 32);
}


/* Uniform in [lo, hi]. */
static inline uint32_t
rng_range(struct rng *r, uint32_t lo, uint32_t hi)
{
    return lo + rng_below(r, (uint64_t)hi - lo + 1);
}


/* True with probability ppm / 1e6. */
static inline int
rng_chance(struct rng *r, uint32_t ppm)
{
    return rng_below(r, 1000000) < ppm;
}


/* Uniform double in [0, 1). */
static inline double
rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}


/* Index in [0, n) skewed towards 0 (density ~ 1/sqrt(x)): a few busy
 * ENIs and popular peers, a long tail of quiet ones. */
static inline uint32_t
rng_skewed(struct rng *r, uint32_t n)
{
    double u = rng_unit(r);
    uint32_t i = (uint32_t)(u * u * (double)n);
    return i < n ? i : n - 1;
}


/* Heavy-tailed count >= 1: 2^e + uniform [0, 2^e), e geometric. */
static uint64_t
rng_heavy(struct rng *r)
{
    int e = 0;
    while (e < HEAVY_MAX_EXP && rng_chance(r, HEAVY_Q_PPM))
        e++;
    uint64_t base = (uint64_t)1 << e;
    return base + rng_below(r, base);
}


/* A value from a {value, weight} table whose weights sum to total. */
struct weighted {
    uint16_t value;
    uint16_t weight;
};


static uint16_t
rng_pick(struct rng *r, const struct weighted *t, size_t n)
{
    uint32_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += t[i].weight;
    uint32_t x = rng_below(r, total);
    for (size_t i = 0; i < n; i++) {
        if (x < t[i].weight)
            return t[i].value;
        x -= t[i].weight;
    }
    return t[n - 1].value;
}

#define PICK(r, table) \
    rng_pick((r), (table), sizeof (table) / sizeof (table)[0])


/* ---------------------------------------------------------------------
 * Static tables
 * ------------------------------------------------------------------- */

struct region_def {
    const char *name;
    const char *az_prefix;         /* AZ ids are <prefix>-az<N> */
    uint8_t     az[6];             /* the AZ numbers that exist */
    uint8_t     n_az;
    uint16_t    v6[2];             /* first two groups of its IPv6 pool */
};

static const struct region_def regions[] = {
    { "us-east-1",      "use1",  { 1, 2, 3, 4, 5, 6 }, 6, { 0x2600, 0x1f18 } },
    { "us-west-2",      "usw2",  { 1, 2, 3, 4 },       4, { 0x2600, 0x1f14 } },
    { "eu-west-1",      "euw1",  { 1, 2, 3 },          3, { 0x2a05, 0xd018 } },
    { "eu-central-1",   "euc1",  { 1, 2, 3 },          3, { 0x2a05, 0xd014 } },
    { "ap-southeast-2", "apse2", { 1, 2, 3 },          3, { 0x2406, 0xda1c } },
    { "ap-northeast-1", "apne1", { 1, 2, 4 },          3, { 0x2406, 0xda14 } },
};
#define N_REGIONS (sizeof regions / sizeof regions[0])

enum profile {
    P_WEB, P_APP, P_DB, P_CACHE, P_BASTION, P_WORKER, P_NAT, P_ELB, P_LAMBDA,
    P_COUNT
};

struct profile_def {
    uint16_t weight;        /* share of ENIs, per thousand */
    uint32_t server_ppm;    /* chance the ENI is the server of a flow */
    uint32_t public_ppm;    /* chance the peer is on the internet */
    uint8_t  managed;       /* requester-managed: instance-id "-" */
    uint8_t  ecs;           /* may run ECS tasks (awsvpc mode) */
    uint8_t  public_subnet; /* reaches the internet through an IGW */
    uint16_t ports[3];      /* TCP ports it serves, 0-terminated */
};

static const struct profile_def profiles[P_COUNT] = {
    [P_WEB]     = { 150, 850000, 800000, 0, 1, 1, { 443, 80, 0 } },
    [P_APP]     = { 180, 600000, 150000, 0, 1, 0, { 8080, 8443, 0 } },
    [P_DB]      = {  70, 950000,  20000, 0, 0, 0, { 5432, 3306, 0 } },
    [P_CACHE]   = {  50, 950000,  10000, 0, 0, 0, { 6379, 11211, 0 } },
    [P_BASTION] = {  30, 700000, 700000, 0, 0, 1, { 22, 0, 0 } },
    [P_WORKER]  = { 300,  50000, 650000, 0, 1, 0, { 9100, 0, 0 } },
    [P_NAT]     = {  50,      0, 950000, 1, 0, 1, { 0, 0, 0 } },
    [P_ELB]     = {  90, 800000, 750000, 1, 0, 1, { 443, 80, 0 } },
    [P_LAMBDA]  = {  80,      0, 600000, 1, 0, 0, { 0, 0, 0 } },
};

/* Server ports that clients in the VPCs connect to on the internet. */
static const struct weighted tcp_client_ports[] = {
    { 443, 700 }, { 80, 150 }, { 8443, 40 }, { 22, 20 }, { 993, 15 },
    { 587, 15 }, { 5222, 10 }, { 9418, 10 }, { 8080, 40 },
};

/* Ports that on-premises peers serve. */
static const struct weighted tcp_onprem_ports[] = {
    { 443, 400 }, { 22, 150 }, { 389, 100 }, { 445, 100 }, { 1433, 150 },
    { 88, 100 },
};

static const struct weighted udp_ports[] = {
    { 53, 550 }, { 123, 150 }, { 443, 100 }, { 500, 30 }, { 4500, 30 },
    { 514, 40 }, { 161, 30 }, { 1194, 20 }, { 3478, 30 }, { 51820, 20 },
};

/* What scanners knock on. */
static const uint16_t scan_tcp_ports[] = {
    22, 23, 80, 443, 445, 1433, 2375, 3306, 3389, 5432, 5900, 6379, 8080,
    8443, 9200, 11211, 27017, 25, 110, 143, 21, 8000, 8888, 10250,
};
static const uint16_t scan_udp_ports[] = {
    53, 123, 161, 1900, 5060, 11211, 137, 500,
};

/* Sizes of packets carrying no payload: bare TCP headers, with options. */
static const uint16_t tcp_small[] = { 40, 44, 52, 60 };

static const char *const services[] = {
    "AMAZON", "S3", "EC2", "DYNAMODB", "CLOUDFRONT", "ROUTE53",
};
static const struct weighted service_mix[] = {
    { 0, 30 }, { 1, 25 }, { 2, 20 }, { 3, 10 }, { 4, 10 }, { 5, 5 },
};
#define SVC_S3       1
#define SVC_DYNAMODB 3

static const char *const resolvers4[] = {
    "8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9",
};
static const char *const resolvers6[] = {
    "2001:4860:4860::8888", "2001:4860:4860::8844", "2606:4700:4700::1111",
};
#define N_RES4 (sizeof resolvers4 / sizeof resolvers4[0])
#define N_RES6 (sizeof resolvers6 / sizeof resolvers6[0])

static const char *const cluster_names[] = {
    "prod-web", "payments", "orders", "batch", "search", "checkout",
    "analytics", "platform",
};
static const char *const task_families[] = {
    "web-frontend", "orders-api", "payments-svc", "image-resizer",
    "nightly-report", "search-indexer", "checkout-api", "event-consumer",
};


/* ---------------------------------------------------------------------
 * The world
 * ------------------------------------------------------------------- */

struct vpc {
    struct sstr id;
    uint8_t     account, region;
    uint8_t     oct[2];            /* IPv4 /16 */
    uint16_t    v6[4];             /* IPv6 /56: groups 0-3 (low byte 0) */
    uint16_t    first, count;      /* its ENIs in world.by_vpc */
};

struct subnet {
    struct sstr id;
    struct sstr az;                /* az-id, e.g. use1-az4 */
    uint16_t    vpc;
    uint8_t     oct3;              /* IPv4 /24 inside the VPC */
    uint16_t    v6g3;              /* fourth IPv6 group: /64 */
    uint16_t    next_host;
};

struct ecs {
    struct lstr cluster_arn, cluster_name, ci_arn, ci_id, container_id,
                second_id, service, taskdef_arn, task_arn, task_id;
};

struct eni {
    struct sstr id;                /* eni-<17 hex> */
    struct sstr instance;          /* i-<17 hex> or "-" */
    struct sstr ip4, ip6;
    struct sstr subloc_id;         /* op-<17 hex> when outpost */
    uint16_t    vpc, subnet;
    uint8_t     profile;
    uint8_t     outpost;
    uint16_t    interval;          /* aggregation interval: 60 or 600 */
    int16_t     ecs;               /* index in world.ecs, or -1 */
};

struct peer {
    struct sstr addr;
    int8_t      svc;               /* index in services[], or -1 */
};

struct world {
    size_t        n_acct, n_vpc, n_subnet, n_ecs;
    struct sstr   acct[MAX_ACCOUNTS];
    struct sstr   region[N_REGIONS];
    struct vpc    vpc[MAX_VPCS];
    struct subnet subnet[MAX_SUBNETS];
    struct eni    eni[ENI_COUNT];
    uint16_t      by_vpc[ENI_COUNT];   /* ENI indexes grouped by VPC */
    struct ecs    ecs[MAX_ECS];
    struct peer   pub4[PUB4_COUNT];
    struct peer   pub6[PUB6_COUNT];
    struct peer   res4[N_RES4];
    struct peer   res6[N_RES6];
    struct peer   scan[SCAN_COUNT];
    struct peer   onprem[ONPREM_COUNT];
};


static void
str_fix(uint8_t *len, size_t cap, int n)
{
    if (n < 0)
        n = 0;
    if ((size_t)n >= cap)
        n = (int)cap - 1;
    *len = (uint8_t)n;
}


/* n random lowercase hex digits into out (not terminated). */
static void
rand_hex(struct rng *r, char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t bits = 0;
    int left = 0;
    for (size_t i = 0; i < n; i++) {
        if (left == 0) {
            bits = rng_next(r);
            left = 16;
        }
        out[i] = hex[bits & 15];
        bits >>= 4;
        left--;
    }
}


/* prefix + n hex digits, as AWS resource ids are ("eni-" + 17). */
static void
rand_id(struct rng *r, struct sstr *out, const char *prefix, size_t n)
{
    char hex[32];
    rand_hex(r, hex, n);
    STR_SET(out, "%s%.*s", prefix, (int)n, hex);
}


static void
rand_hex_l(struct rng *r, struct lstr *out, size_t n)
{
    char hex[64];
    rand_hex(r, hex, n);
    STR_SET(out, "%.*s", (int)n, hex);
}


static void
format_v6(struct sstr *out, const uint16_t g[8])
{
    STR_SET(out, "%x:%x:%x:%x:%x:%x:%x:%x", g[0], g[1], g[2], g[3], g[4],
            g[5], g[6], g[7]);
}


/* A public unicast IPv4 address: none of 0/8, 10/8, 100.64/10, 127/8,
 * 169.254/16, 172.16/12, 192.168/16, 198.18/15, multicast and above. */
static void
rand_public4(struct rng *r, struct sstr *out)
{
    unsigned a, b;
    for (;;) {
        a = rng_range(r, 1, 223);
        b = rng_below(r, 256);
        if (a == 10 || a == 127 || (a == 100 && b >= 64 && b < 128)
            || (a == 169 && b == 254) || (a == 172 && b >= 16 && b < 32)
            || (a == 192 && b == 168) || (a == 198 && (b == 18 || b == 19)))
            continue;
        break;
    }
    /* One draw per statement: argument evaluation order is unspecified,
     * and the output must not depend on the compiler. */
    unsigned c = rng_below(r, 256);
    unsigned d = rng_range(r, 1, 254);
    STR_SET(out, "%u.%u.%u.%u", a, b, c, d);
}


static void
rand_public6(struct rng *r, struct sstr *out)
{
    static const uint16_t first[] = { 0x2001, 0x2400, 0x2600, 0x2a00, 0x2800 };
    uint16_t g[8];
    g[0] = first[rng_below(r, 5)];
    if (g[0] != 0x2001)
        g[0] = (uint16_t)(g[0] + rng_below(r, 16));
    for (int i = 1; i < 8; i++)
        g[i] = (uint16_t)rng_range(r, 1, 0xffff);
    format_v6(out, g);
}


static void
make_ecs(struct rng *r, struct world *w, struct ecs *e, size_t account,
         const char *region, int fargate)
{
    /* A copy: e lies in *w too, and GCC's -Wrestrict cannot tell that
     * the account string and the ARNs written below never overlap. */
    const struct sstr acct_copy = w->acct[account];
    const char *acct = acct_copy.s;
    const char *cluster =
        cluster_names[(account * 2 + rng_below(r, 2))
                      % (sizeof cluster_names / sizeof cluster_names[0])];
    const char *family = task_families[rng_below(r,
        sizeof task_families / sizeof task_families[0])];
    struct lstr ci, task;

    rand_hex_l(r, &ci, 32);
    rand_hex_l(r, &task, 32);
    STR_SET(&e->cluster_arn, "arn:aws:ecs:%s:%s:cluster/%s", region, acct,
            cluster);
    STR_SET(&e->cluster_name, "%s", cluster);
    if (fargate) {
        STR_SET(&e->ci_arn, "-");
        STR_SET(&e->ci_id, "-");
        /* Fargate container runtime ids: <task id>-<10 digits>. */
        STR_SET(&e->container_id, "%s-%010u", task.s,
                rng_below(r, 4000000000u));
        if (rng_chance(r, 400000))
            STR_SET(&e->second_id, "%s-%010u", task.s,
                    rng_below(r, 4000000000u));
        else
            STR_SET(&e->second_id, "-");
    } else {
        STR_SET(&e->ci_arn,
                "arn:aws:ecs:%s:%s:container-instance/%s/%s", region, acct,
                cluster, ci.s);
        STR_SET(&e->ci_id, "%s", ci.s);
        rand_hex_l(r, &e->container_id, 64);
        if (rng_chance(r, 400000))
            rand_hex_l(r, &e->second_id, 64);
        else
            STR_SET(&e->second_id, "-");
    }
    if (rng_chance(r, 800000))
        STR_SET(&e->service, "%s", family);
    else
        STR_SET(&e->service, "-");
    STR_SET(&e->taskdef_arn, "arn:aws:ecs:%s:%s:task-definition/%s:%u",
            region, acct, family, rng_range(r, 1, 42));
    STR_SET(&e->task_arn, "arn:aws:ecs:%s:%s:task/%s/%s", region, acct,
            cluster, task.s);
    STR_SET(&e->task_id, "%s", task.s);
}


static void
build_vpcs(struct rng *r, struct world *w)
{
    w->n_acct = rng_range(r, 3, MAX_ACCOUNTS);
    for (size_t a = 0; a < w->n_acct; a++) {
        unsigned hi = rng_range(r, 1, 9);
        unsigned mid = rng_below(r, 100000);
        unsigned lo = rng_below(r, 1000000);
        STR_SET(&w->acct[a], "%u%05u%06u", hi, mid, lo);

        /* Most accounts live in us-east-1; the first has a second region. */
        size_t reg[2], n_reg = 1;
        reg[0] = rng_chance(r, 700000) || a == 0
                 ? 0 : rng_range(r, 1, N_REGIONS - 1);
        if (a == 0) {
            reg[1] = rng_range(r, 1, N_REGIONS - 1);
            n_reg = 2;
        }
        for (size_t k = 0; k < n_reg; k++) {
            size_t n_vpc = rng_range(r, 1, 2);
            for (size_t v = 0; v < n_vpc && w->n_vpc < MAX_VPCS; v++) {
                size_t j = w->n_vpc++;
                struct vpc *vp = &w->vpc[j];
                rand_id(r, &vp->id, "vpc-", 17);
                vp->account = (uint8_t)a;
                vp->region = (uint8_t)reg[k];
                if (j % 6 == 3) {
                    vp->oct[0] = 172;
                    vp->oct[1] = (uint8_t)rng_range(r, 16, 30);
                } else if (j % 6 == 5) {
                    vp->oct[0] = 172;         /* a default VPC */
                    vp->oct[1] = 31;
                } else {
                    vp->oct[0] = 10;
                    vp->oct[1] = (uint8_t)(j * 12 + rng_below(r, 12));
                }
                vp->v6[0] = regions[reg[k]].v6[0];
                vp->v6[1] = regions[reg[k]].v6[1];
                vp->v6[2] = (uint16_t)rng_range(r, 0x1000, 0xffff);
                vp->v6[3] = (uint16_t)(rng_range(r, 0x10, 0xff) << 8);

                const struct region_def *rd = &regions[reg[k]];
                size_t n_sub = rng_range(r, 2, 4);
                size_t az0 = rng_below(r, rd->n_az);
                for (size_t s = 0; s < n_sub && s < rd->n_az; s++) {
                    struct subnet *sn = &w->subnet[w->n_subnet++];
                    rand_id(r, &sn->id, "subnet-", 17);
                    STR_SET(&sn->az, "%s-az%u", rd->az_prefix,
                            rd->az[(az0 + s) % rd->n_az]);
                    sn->vpc = (uint16_t)j;
                    sn->oct3 = (uint8_t)(s * 64 + rng_below(r, 64));
                    sn->v6g3 = (uint16_t)(vp->v6[3] | s);
                    sn->next_host = (uint16_t)rng_range(r, 4, 24);
                }
            }
        }
    }
}


static void
build_enis(struct rng *r, struct world *w)
{
    uint16_t weights_total = 0;
    for (int p = 0; p < P_COUNT; p++)
        weights_total = (uint16_t)(weights_total + profiles[p].weight);

    for (size_t i = 0; i < ENI_COUNT; i++) {
        struct eni *e = &w->eni[i];
        struct subnet *sn = &w->subnet[rng_below(r, w->n_subnet)];
        const struct vpc *vp = &w->vpc[sn->vpc];

        uint32_t x = rng_below(r, weights_total);
        int p = 0;
        while (p < P_COUNT - 1 && x >= profiles[p].weight)
            x -= profiles[p++].weight;
        const struct profile_def *pd = &profiles[p];

        e->profile = (uint8_t)p;
        e->vpc = sn->vpc;
        e->subnet = (uint16_t)(sn - w->subnet);
        rand_id(r, &e->id, "eni-", 17);

        unsigned host = sn->next_host;
        sn->next_host = (uint16_t)(sn->next_host + rng_range(r, 1, 3));
        if (host > 254)
            host = rng_range(r, 4, 254);
        STR_SET(&e->ip4, "%u.%u.%u.%u", vp->oct[0], vp->oct[1], sn->oct3,
                host);
        uint16_t g[8] = { vp->v6[0], vp->v6[1], vp->v6[2], sn->v6g3 };
        for (int k = 4; k < 8; k++)
            g[k] = (uint16_t)rng_range(r, 1, 0xffff);
        format_v6(&e->ip6, g);

        e->interval = rng_chance(r, 900000) ? 60 : 600;   /* Nitro or not */
        e->outpost = (uint8_t)(!pd->managed && rng_chance(r, 12000));
        if (e->outpost)
            rand_id(r, &e->subloc_id, "op-", 17);
        else
            STR_SET(&e->subloc_id, "-");

        e->ecs = -1;
        int fargate = 0;
        if (pd->ecs && w->n_ecs < MAX_ECS && rng_chance(r, 250000)) {
            fargate = rng_chance(r, 500000);
            e->ecs = (int16_t)w->n_ecs;
            make_ecs(r, w, &w->ecs[w->n_ecs++], vp->account,
                     regions[vp->region].name, fargate);
        }
        if (pd->managed || fargate)
            STR_SET(&e->instance, "-");
        else
            rand_id(r, &e->instance, "i-", 17);
    }

    /* Group ENI indexes by VPC (counting sort, stable). */
    uint16_t pos = 0;
    for (size_t v = 0; v < w->n_vpc; v++) {
        w->vpc[v].first = pos;
        for (size_t i = 0; i < ENI_COUNT; i++)
            if (w->eni[i].vpc == v)
                w->by_vpc[pos++] = (uint16_t)i;
        w->vpc[v].count = (uint16_t)(pos - w->vpc[v].first);
    }
}


static void
build_peers(struct rng *r, struct world *w)
{
    for (size_t i = 0; i < PUB4_COUNT; i++) {
        rand_public4(r, &w->pub4[i].addr);
        /* The most popular peers include AWS service ranges. */
        w->pub4[i].svc = (int8_t)(i < PUB4_COUNT / 12 && rng_chance(r, 900000)
                                  ? PICK(r, service_mix) : -1);
    }
    for (size_t i = 0; i < PUB6_COUNT; i++) {
        rand_public6(r, &w->pub6[i].addr);
        w->pub6[i].svc = -1;
    }
    for (size_t i = 0; i < N_RES4; i++) {
        STR_SET(&w->res4[i].addr, "%s", resolvers4[i]);
        w->res4[i].svc = -1;
    }
    for (size_t i = 0; i < N_RES6; i++) {
        STR_SET(&w->res6[i].addr, "%s", resolvers6[i]);
        w->res6[i].svc = -1;
    }
    for (size_t i = 0; i < SCAN_COUNT; i++) {
        rand_public4(r, &w->scan[i].addr);
        w->scan[i].svc = -1;
    }
    for (size_t i = 0; i < ONPREM_COUNT; i++) {
        unsigned c = rng_range(r, 1, 250);
        unsigned d = rng_range(r, 1, 254);
        STR_SET(&w->onprem[i].addr, "192.168.%u.%u", c, d);
        w->onprem[i].svc = -1;
    }
}


static void
build_world(struct world *w, uint64_t seed)
{
    struct rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < N_REGIONS; i++)
        STR_SET(&w->region[i], "%s", regions[i].name);
    build_vpcs(&r, w);
    build_enis(&r, w);
    build_peers(&r, w);
}


/* ---------------------------------------------------------------------
 * One record
 * ------------------------------------------------------------------- */

enum status { ST_OK, ST_NODATA, ST_SKIPDATA };

struct rec {
    const struct eni  *eni;
    const struct sstr *src, *dst, *pkt_src, *pkt_dst;
    int64_t   start, end;
    uint64_t  packets, bytes;
    uint16_t  srcport, dstport;
    uint8_t   proto;
    uint8_t   status;        /* enum status */
    uint8_t   reject;
    uint8_t   v6;
    uint8_t   ingress;
    uint8_t   bpa;
    int8_t    tcp_flags;     /* -1: "-" */
    int8_t    traffic_path;  /* -1: "-" */
    int8_t    src_svc, dst_svc;
};

struct gen {
    struct rng          rng;
    const struct world *w;
    uint64_t            records;
    int64_t             start, span;
    double              step;         /* span / records */
    const int          *field;        /* per position, -1 = unknown */
    size_t              nf;
    int                 version;
    uint32_t            scan_ppm;     /* SCAN_PPM unless the options say */
    int64_t             not_after;    /* 0 = none */
};


static inline uint16_t
ephemeral_port(struct rng *r)
{
    /* Linux's default range, or the IANA one used by Windows and others. */
    if (rng_chance(r, 700000))
        return (uint16_t)rng_range(r, 32768, 60999);
    return (uint16_t)rng_range(r, 49152, 65535);
}


static int64_t
record_start(struct gen *g, uint64_t i)
{
    struct rng *r = &g->rng;
    double off = ((double)i + rng_unit(r)) * g->step;
    int64_t t = off < (double)g->span ? (int64_t)off : g->span - 1;
    /* Symmetric jitter, reflected at both ends of the span, keeps the
     * density of start times flat right up to the edges. */
    t += (int64_t)rng_below(r, 59) - 29;
    if (t < 0)
        t = -t;
    if (t >= g->span)
        t = 2 * g->span - 1 - t;
    if (t < 0 || t >= g->span)         /* spans shorter than the jitter */
        t = (t % g->span + g->span) % g->span;
    return g->start + t;
}


/* Seconds between the first and the last packet of a flow's record. */
static int64_t
flow_duration(struct rng *r, uint64_t packets, unsigned interval)
{
    if (packets == 1)
        return 0;
    if (packets <= 10)
        return rng_below(r, 11);
    return interval / 2 + rng_below(r, interval / 2 + 1);
}


static int8_t
tcp_flags_for(struct rng *r, uint64_t packets, int request)
{
    uint32_t x = rng_below(r, 100);
    if (packets <= 3) {
        if (x < 50) return request ? 2 : 18;
        if (x < 80) return request ? 3 : 19;
        if (x < 90) return 1;
        return 0;
    }
    if (x < 40) return 0;
    if (x < 60) return request ? 2 : 18;
    if (x < 80) return 1;
    return request ? 3 : 19;
}


static void
synth_nodata(struct gen *g, struct rec *rec, int64_t t)
{
    struct rng *r = &g->rng;
    const struct eni *e = &g->w->eni[rng_below(r, ENI_COUNT)];
    rec->eni = e;
    rec->status = rng_chance(r, SKIPDATA_PPM) ? ST_SKIPDATA : ST_NODATA;
    rec->start = t;
    rec->end = t + e->interval - 1 - rng_below(r, e->interval / 10);
}


static void
synth_scan(struct gen *g, struct rec *rec, int64_t t)
{
    struct rng *r = &g->rng;
    const struct world *w = g->w;
    const struct peer *s = &w->scan[rng_skewed(r, SCAN_COUNT)];
    const struct eni *e = &w->eni[rng_below(r, ENI_COUNT)];
    const struct profile_def *pd = &profiles[e->profile];
    int tcp = rng_chance(r, SCAN_TCP_PPM);

    rec->eni = e;
    rec->src = rec->pkt_src = &s->addr;
    rec->dst = rec->pkt_dst = &e->ip4;
    rec->ingress = 1;
    rec->srcport = (uint16_t)rng_range(r, 1024, 65535);
    if (tcp) {
        rec->proto = 6;
        rec->dstport = rng_chance(r, 650000)
            ? scan_tcp_ports[rng_below(r, sizeof scan_tcp_ports
                                          / sizeof scan_tcp_ports[0])]
            : (uint16_t)rng_range(r, 1, 65535);
    } else {
        rec->proto = 17;
        rec->dstport = scan_udp_ports[rng_below(r, sizeof scan_udp_ports
                                                   / sizeof scan_udp_ports[0])];
    }
    rec->packets = rng_chance(r, 800000) ? 1 : rng_range(r, 2, 3);
    uint32_t size = tcp ? (rng_chance(r, 600000) ? 40 : 44)
                        : rng_range(r, 28, 100);
    rec->bytes = rec->packets * size;
    rec->tcp_flags = tcp ? 2 : 0;

    /* Only internet-facing roles have the probed TCP port open. */
    int open = 0;
    if (tcp && pd->public_subnet) {
        for (int k = 0; k < 3 && pd->ports[k] != 0; k++)
            if (pd->ports[k] == rec->dstport)
                open = 1;
    }
    rec->reject = (uint8_t)!open;
    rec->bpa = (uint8_t)(rec->reject && rng_chance(r, BPA_PPM));
    rec->start = t;
    rec->end = t + (rec->packets > 1 ? rng_below(r, 3) : 0);
}


static uint16_t
server_port_of(struct rng *r, const struct profile_def *pd)
{
    if (pd->ports[0] == 0)
        return 443;
    if (pd->ports[1] == 0 || rng_chance(r, 700000))
        return pd->ports[0];
    return pd->ports[1];
}


/* The draws one flow is made of, in the order the PRNG gives them (the
 * same options must always give the same bytes). */
struct flow {
    const struct eni         *e;
    const struct profile_def *pd;
    const struct vpc         *vp;
    int       v6, proto, server, request, pub;
    uint16_t  udp_port;
    /* The peer: an address, the ENI it belongs to (NULL off the VPCs),
     * the AWS service it is (-1 none), or an on-premises address. */
    const struct sstr *peer;
    const struct eni  *peer_eni;
    int       svc, onprem;
};


/* The ENI, the address family, the protocol and the roles. */
static void
draw_kind(struct gen *g, struct flow *f)
{
    struct rng *r = &g->rng;
    const struct world *w = g->w;

    f->e = &w->eni[rng_skewed(r, ENI_COUNT)];
    f->pd = &profiles[f->e->profile];
    f->vp = &w->vpc[f->e->vpc];
    f->v6 = rng_chance(r, V6_PPM);
    uint32_t px = rng_below(r, 1000000);
    f->proto = px < TCP_PPM ? 6
             : px < TCP_PPM + UDP_PPM ? 17
             : f->v6 ? 58 : 1;
    f->server = rng_chance(r, f->pd->server_ppm);
    f->request = rng_chance(r, 500000);
    f->pub = rng_chance(r, f->pd->public_ppm);
    f->udp_port = 0;
    if (f->proto == 17)
        f->udp_port = PICK(r, udp_ports);
}


static void
draw_peer(struct gen *g, struct flow *f)
{
    struct rng *r = &g->rng;
    const struct world *w = g->w;
    int v6 = f->v6;

    f->peer = NULL;
    f->peer_eni = NULL;
    f->svc = -1;
    f->onprem = 0;
    if (f->pub) {
        const struct peer *pp;
        if (f->proto == 17 && f->udp_port == 53 && !f->server)
            pp = v6 ? &w->res6[rng_below(r, N_RES6)]
                    : &w->res4[rng_below(r, N_RES4)];
        else
            pp = v6 ? &w->pub6[rng_skewed(r, PUB6_COUNT)]
                    : &w->pub4[rng_skewed(r, PUB4_COUNT)];
        f->peer = &pp->addr;
        f->svc = pp->svc;
    } else {
        uint32_t x = rng_below(r, 100);
        if (x < 3 && !v6) {
            f->peer = &w->onprem[rng_below(r, ONPREM_COUNT)].addr;
            f->onprem = 1;
        } else {
            if (x < 83)
                f->peer_eni = &w->eni[w->by_vpc[f->vp->first
                                                + rng_below(r, f->vp->count)]];
            else
                f->peer_eni = &w->eni[rng_below(r, ENI_COUNT)];
            if (f->peer_eni == f->e)
                f->peer_eni = &w->eni[(f->e - w->eni + 1) % ENI_COUNT];
            f->peer = v6 ? &f->peer_eni->ip6 : &f->peer_eni->ip4;
        }
    }
}


/* The server side's well-known port (0 without ports). */
static uint16_t
draw_server_port(struct rng *r, const struct flow *f)
{
    if (f->proto == 6) {
        if (f->server)
            return server_port_of(r, f->pd);
        if (f->pub)
            return PICK(r, tcp_client_ports);
        if (f->onprem)
            return PICK(r, tcp_onprem_ports);
        if (profiles[f->peer_eni->profile].server_ppm >= 500000)
            return server_port_of(r, &profiles[f->peer_eni->profile]);
        return 443;
    }
    return f->proto == 17 ? f->udp_port : 0;
}


/* Addresses, ports and direction; a NAT gateway's inner address. */
static void
set_endpoints(struct gen *g, const struct flow *f, struct rec *rec)
{
    struct rng *r = &g->rng;
    const struct world *w = g->w;

    /* Ports: the server side's well-known port, the client's ephemeral. */
    uint16_t sport = draw_server_port(r, f);
    uint16_t cport = f->proto == 6 || f->proto == 17 ? ephemeral_port(r) : 0;

    /* Which way this record's packets go. */
    int eni_is_src = f->server ? !f->request : f->request;
    const struct sstr *eni_addr = f->v6 ? &f->e->ip6 : &f->e->ip4;
    rec->src = eni_is_src ? eni_addr : f->peer;
    rec->dst = eni_is_src ? f->peer : eni_addr;
    rec->pkt_src = rec->src;
    rec->pkt_dst = rec->dst;
    rec->srcport = f->request ? cport : sport;
    rec->dstport = f->request ? sport : cport;
    rec->proto = (uint8_t)f->proto;
    rec->v6 = (uint8_t)f->v6;
    rec->ingress = (uint8_t)!eni_is_src;
    if (f->svc >= 0) {
        if (eni_is_src)
            rec->dst_svc = (int8_t)f->svc;
        else
            rec->src_svc = (int8_t)f->svc;
    }

    /* A NAT gateway's packets carry the address of the instance behind
     * it on the private side (pkt-srcaddr / pkt-dstaddr differ). */
    if (f->e->profile == P_NAT && f->pub && !f->v6) {
        const struct eni *inner =
            &w->eni[w->by_vpc[f->vp->first + rng_below(r, f->vp->count)]];
        if (eni_is_src)
            rec->pkt_src = &inner->ip4;
        else
            rec->pkt_dst = &inner->ip4;
    }
}


/* Sizes: the server -> client direction carries the data most of the
 * time, the other direction mostly acknowledgements. */
static void
draw_sizes(struct rng *r, const struct flow *f, struct rec *rec, int64_t t)
{
    unsigned extra = f->v6 ? 20 : 0;     /* IPv6 header is 20 bytes longer */
    uint64_t pk;
    uint32_t avg;

    if (f->proto == 6) {
        pk = rng_heavy(r);
        int data = rng_chance(r, 800000) ? !f->request : f->request;
        if (pk == 1)
            avg = tcp_small[rng_below(r, 4)] + extra;
        else if (data)
            avg = rng_range(r, 400, 1460);
        else
            avg = rng_range(r, 52, 120) + extra;
        rec->tcp_flags = tcp_flags_for(r, pk, f->request);
    } else if (f->proto == 17) {
        if (f->udp_port == 53) {
            pk = rng_chance(r, 800000) ? 1 : rng_range(r, 2, 4);
            avg = f->request ? rng_range(r, 60, 110) : rng_range(r, 80, 512);
        } else if (f->udp_port == 123) {
            pk = rng_chance(r, 900000) ? 1 : rng_range(r, 2, 4);
            avg = 76;                  /* NTPv4 without extensions */
        } else {
            pk = rng_heavy(r);
            avg = rng_range(r, 80, 1200);
        }
        avg += extra;
        rec->tcp_flags = 0;
    } else {
        pk = rng_chance(r, 600000) ? rng_range(r, 1, 4) : rng_range(r, 5, 30);
        avg = rng_chance(r, 700000) ? (f->v6 ? 104 : 84)
                                    : rng_range(r, 28, 1400);
        rec->tcp_flags = 0;
    }
    rec->packets = pk;
    rec->bytes = pk * avg + rng_below(r, pk < avg / 8 ? pk : avg / 8);
    rec->start = t;
    rec->end = t + flow_duration(r, pk, f->e->interval);
}


/* traffic-path: egress only. */
static void
draw_traffic_path(struct gen *g, const struct flow *f, struct rec *rec)
{
    struct rng *r = &g->rng;
    const struct world *w = g->w;

    if (rec->ingress)
        return;
    if (f->pub) {
        if (f->e->outpost)
            rec->traffic_path = 6;
        else if ((f->svc == SVC_S3 || f->svc == SVC_DYNAMODB)
                 && rng_chance(r, 600000))
            rec->traffic_path = 7;
        else if (!f->pd->public_subnet)
            rec->traffic_path = 1;         /* via a NAT gateway */
        else
            rec->traffic_path = rng_chance(r, 500000) ? 8 : 2;
    } else if (f->onprem) {
        rec->traffic_path = 3;
    } else if (f->peer_eni->vpc == f->e->vpc) {
        rec->traffic_path = 1;
    } else {
        rec->traffic_path =
            w->vpc[f->peer_eni->vpc].region == f->vp->region ? 4 : 5;
    }
}


static void
synth_flow(struct gen *g, struct rec *rec, int64_t t)
{
    struct rng *r = &g->rng;
    struct flow f;

    draw_kind(g, &f);
    rec->eni = f.e;
    draw_peer(g, &f);
    set_endpoints(g, &f, rec);

    /* Some ingress from the internet is refused (security group, NACL). */
    rec->reject = (uint8_t)(rec->ingress && f.pub
                            && rng_chance(r, REJECT_PPM));
    if (rec->reject) {
        unsigned extra = f.v6 ? 20 : 0;
        rec->packets = rng_range(r, 1, 3);
        rec->bytes = rec->packets * (tcp_small[rng_below(r, 4)] + extra);
        rec->tcp_flags = f.proto == 6 ? 2 : 0;
        rec->bpa = (uint8_t)rng_chance(r, BPA_PPM);
        rec->start = t;
        rec->end = t + (rec->packets > 1 ? rng_below(r, 2) : 0);
        return;
    }
    draw_sizes(r, &f, rec, t);
    draw_traffic_path(g, &f, rec);
}


static void
synth(struct gen *g, uint64_t i, struct rec *rec)
{
    int64_t t = record_start(g, i);
    uint32_t kind = rng_below(&g->rng, 1000000);

    memset(rec, 0, sizeof *rec);
    rec->tcp_flags = -1;
    rec->traffic_path = -1;
    rec->src_svc = -1;
    rec->dst_svc = -1;
    if (kind < NODATA_PPM)
        synth_nodata(g, rec, t);
    else if (kind < NODATA_PPM + g->scan_ppm)
        synth_scan(g, rec, t);
    else
        synth_flow(g, rec, t);
    /* Every start is before not_after (fl_gen_write checks it). */
    if (g->not_after > 0 && rec->end > g->not_after)
        rec->end = g->not_after;
}


/* ---------------------------------------------------------------------
 * Output
 * ------------------------------------------------------------------- */

static const char digits2[] =
    "00010203040506070809101112131415161718192021222324252627282930313233"
    "34353637383940414243444546474849505152535455565758596061626364656667"
    "68697071727374757677787980818283848586878889909192939495969798990";


static const uint64_t pow10_tab[] = {
    1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL,
    10000000ULL, 100000000ULL, 1000000000ULL, 10000000000ULL,
    100000000000ULL, 1000000000000ULL, 10000000000000ULL,
    100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
    100000000000000000ULL, 1000000000000000000ULL,
    10000000000000000000ULL,
};


/* Decimal v at p, written backwards from its last digit, two at a time. */
static inline char *
put_u64(char *p, uint64_t v)
{
    size_t n = 1;
    while (n < 20 && v >= pow10_tab[n])
        n++;
    char *t = p + n;
    while (v >= 100) {
        unsigned k = (unsigned)(v % 100) * 2;
        v /= 100;
        *--t = digits2[k + 1];
        *--t = digits2[k];
    }
    if (v >= 10) {
        unsigned k = (unsigned)v * 2;
        *--t = digits2[k + 1];
        *--t = digits2[k];
    } else {
        *--t = (char)('0' + v);
    }
    return p + n;
}


static inline char *
put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}


/* A short string: copying the whole fixed-size array (a few vector moves)
 * is much faster than a variable-length copy; the bytes past its length
 * land in the line slack (LINE_SLACK) and are overwritten or never sent. */
static inline char *
put_sstr(char *p, const struct sstr *str)
{
    memcpy(p, str->s, sizeof str->s);
    return p + str->len;
}

#define PUT_LIT(p, lit) put((p), (lit), sizeof (lit) - 1)
#define PUT_STR(p, str) put_sstr((p), (str))
#define PUT_LSTR(p, str) put((p), (str)->s, (str)->len)


static char *
emit_field(const struct gen *g, const struct rec *rc, int field, char *p)
{
    const struct world *w = g->w;
    const struct eni *e = rc->eni;
    const struct ecs *ecs = e->ecs >= 0 ? &w->ecs[e->ecs] : NULL;
    int ok = rc->status == ST_OK;

    switch (field) {
    case FL_F_VERSION:
        return put_u64(p, (uint64_t)g->version);
    case FL_F_ACCOUNT_ID:
        return PUT_STR(p, &w->acct[w->vpc[e->vpc].account]);
    case FL_F_INTERFACE_ID:
        return PUT_STR(p, &e->id);
    case FL_F_SRCADDR:
        return ok ? PUT_STR(p, rc->src) : PUT_LIT(p, "-");
    case FL_F_DSTADDR:
        return ok ? PUT_STR(p, rc->dst) : PUT_LIT(p, "-");
    case FL_F_SRCPORT:
        return ok ? put_u64(p, rc->srcport) : PUT_LIT(p, "-");
    case FL_F_DSTPORT:
        return ok ? put_u64(p, rc->dstport) : PUT_LIT(p, "-");
    case FL_F_PROTOCOL:
        return ok ? put_u64(p, rc->proto) : PUT_LIT(p, "-");
    case FL_F_PACKETS:
        return ok ? put_u64(p, rc->packets) : PUT_LIT(p, "-");
    case FL_F_BYTES:
        return ok ? put_u64(p, rc->bytes) : PUT_LIT(p, "-");
    case FL_F_START:
        return put_u64(p, (uint64_t)rc->start);
    case FL_F_END:
        return put_u64(p, (uint64_t)rc->end);
    case FL_F_ACTION:
        if (!ok)
            return PUT_LIT(p, "-");
        return rc->reject ? PUT_LIT(p, "REJECT") : PUT_LIT(p, "ACCEPT");
    case FL_F_LOG_STATUS:
        if (rc->status == ST_NODATA)
            return PUT_LIT(p, "NODATA");
        if (rc->status == ST_SKIPDATA)
            return PUT_LIT(p, "SKIPDATA");
        return PUT_LIT(p, "OK");
    case FL_F_VPC_ID:
        return PUT_STR(p, &w->vpc[e->vpc].id);
    case FL_F_SUBNET_ID:
        return PUT_STR(p, &w->subnet[e->subnet].id);
    case FL_F_INSTANCE_ID:
        return PUT_STR(p, &e->instance);
    case FL_F_TCP_FLAGS:
        return ok && rc->tcp_flags >= 0
            ? put_u64(p, (uint64_t)rc->tcp_flags) : PUT_LIT(p, "-");
    case FL_F_TYPE:
        if (!ok)
            return PUT_LIT(p, "-");
        return rc->v6 ? PUT_LIT(p, "IPv6") : PUT_LIT(p, "IPv4");
    case FL_F_PKT_SRCADDR:
        return ok ? PUT_STR(p, rc->pkt_src) : PUT_LIT(p, "-");
    case FL_F_PKT_DSTADDR:
        return ok ? PUT_STR(p, rc->pkt_dst) : PUT_LIT(p, "-");
    case FL_F_REGION:
        return PUT_STR(p, &w->region[w->vpc[e->vpc].region]);
    case FL_F_AZ_ID:
        return e->outpost ? PUT_LIT(p, "-")
                          : PUT_STR(p, &w->subnet[e->subnet].az);
    case FL_F_SUBLOCATION_TYPE:
        return e->outpost ? PUT_LIT(p, "outpost") : PUT_LIT(p, "-");
    case FL_F_SUBLOCATION_ID:
        return PUT_STR(p, &e->subloc_id);
    case FL_F_PKT_SRC_AWS_SERVICE:
        return ok && rc->src_svc >= 0
            ? put(p, services[rc->src_svc], strlen(services[rc->src_svc]))
            : PUT_LIT(p, "-");
    case FL_F_PKT_DST_AWS_SERVICE:
        return ok && rc->dst_svc >= 0
            ? put(p, services[rc->dst_svc], strlen(services[rc->dst_svc]))
            : PUT_LIT(p, "-");
    case FL_F_FLOW_DIRECTION:
        if (!ok)
            return PUT_LIT(p, "-");
        return rc->ingress ? PUT_LIT(p, "ingress") : PUT_LIT(p, "egress");
    case FL_F_TRAFFIC_PATH:
        return ok && rc->traffic_path >= 0
            ? put_u64(p, (uint64_t)rc->traffic_path) : PUT_LIT(p, "-");
    case FL_F_ECS_CLUSTER_ARN:
        return ecs ? PUT_LSTR(p, &ecs->cluster_arn) : PUT_LIT(p, "-");
    case FL_F_ECS_CLUSTER_NAME:
        return ecs ? PUT_LSTR(p, &ecs->cluster_name) : PUT_LIT(p, "-");
    case FL_F_ECS_CONTAINER_INSTANCE_ARN:
        return ecs ? PUT_LSTR(p, &ecs->ci_arn) : PUT_LIT(p, "-");
    case FL_F_ECS_CONTAINER_INSTANCE_ID:
        return ecs ? PUT_LSTR(p, &ecs->ci_id) : PUT_LIT(p, "-");
    case FL_F_ECS_CONTAINER_ID:
        return ecs ? PUT_LSTR(p, &ecs->container_id) : PUT_LIT(p, "-");
    case FL_F_ECS_SECOND_CONTAINER_ID:
        return ecs ? PUT_LSTR(p, &ecs->second_id) : PUT_LIT(p, "-");
    case FL_F_ECS_SERVICE_NAME:
        return ecs ? PUT_LSTR(p, &ecs->service) : PUT_LIT(p, "-");
    case FL_F_ECS_TASK_DEFINITION_ARN:
        return ecs ? PUT_LSTR(p, &ecs->taskdef_arn) : PUT_LIT(p, "-");
    case FL_F_ECS_TASK_ARN:
        return ecs ? PUT_LSTR(p, &ecs->task_arn) : PUT_LIT(p, "-");
    case FL_F_ECS_TASK_ID:
        return ecs ? PUT_LSTR(p, &ecs->task_id) : PUT_LIT(p, "-");
    case FL_F_REJECT_REASON:
        return ok && rc->reject && rc->bpa ? PUT_LIT(p, "BPA")
                                           : PUT_LIT(p, "-");
    default:
        /* Not in the catalogue (a newer AWS field, or a typo): AWS's own
         * "not applicable" marker. */
        return PUT_LIT(p, "-");
    }
}


static char *
emit_line(const struct gen *g, const struct rec *rc, char *p)
{
    for (size_t k = 0; k < g->nf; k++) {
        if (k > 0)
            *p++ = ' ';
        p = emit_field(g, rc, g->field[k], p);
    }
    *p++ = '\n';
    return p;
}


/* Name of the field at position k as a header line spells it: the AWS
 * name for known fields, the name as written for the others. */
static const char *
header_name(const struct fl_format *fmt, const int *field, size_t k)
{
    const struct fl_field_def *def = fl_field_get(field[k]);
    if (def != NULL)
        return def->aws_name;
    return fmt != NULL ? fmt->name[k] : "-";
}


/* ---------------------------------------------------------------------
 * Public API
 * ------------------------------------------------------------------- */

void
fl_gen_opts_init(struct fl_gen_opts *o)
{
    memset(o, 0, sizeof *o);
    o->seed = FL_GEN_DEFAULT_SEED;
    o->records = FL_GEN_DEFAULT_RECORDS;
    o->start = FL_GEN_DEFAULT_START;
    o->span = FL_GEN_DEFAULT_SPAN;
    o->format = NULL;
    o->header = 0;
}


int
fl_gen_write(const struct fl_gen_opts *o, fl_gen_write_fn write_fn,
             void *ctx)
{
    static const int default_fields[FL_DEFAULT_FIELD_COUNT] = {
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
    };
    struct world *w = NULL;
    char *buf = NULL;
    struct gen g;
    int rc = FL_OK;

    if (o == NULL || write_fn == NULL)
        return FL_ECONFIG;
    /* Room after start + span for the longest aggregation interval. */
    if (o->span <= 0 || o->start < 0 || o->start > INT64_MAX - o->span - 1200
        || o->scan_ppm > 1000000 - NODATA_PPM || o->not_after < 0
        || (o->not_after > 0 && o->not_after < o->start + o->span))
        return FL_ECONFIG;

    memset(&g, 0, sizeof g);
    if (o->format != NULL) {
        if (o->format->n == 0 || o->format->field == NULL)
            return FL_ECONFIG;
        g.field = o->format->field;
        g.nf = o->format->n;
        g.version = o->format->version;
    } else {
        g.field = default_fields;
        g.nf = FL_DEFAULT_FIELD_COUNT;
        g.version = 2;
    }

    /* The buffer holds one chunk plus the longest possible line, so a
     * line never needs a bounds check while it is being written. */
    if (g.nf > (SIZE_MAX - FL_GEN_CHUNK - LINE_SLACK) / (FIELD_MAX + 2) - 1)
        return FL_ETOOBIG;
    size_t line_max = g.nf * (FIELD_MAX + 1) + 1 + LINE_SLACK;
    size_t header_len = 0;
    if (o->header) {
        for (size_t k = 0; k < g.nf; k++) {
            size_t n = strlen(header_name(o->format, g.field, k)) + 1;
            if (header_len > SIZE_MAX - FL_GEN_CHUNK - n - 1)
                return FL_ETOOBIG;
            header_len += n;
        }
    }
    size_t cap = FL_GEN_CHUNK + (line_max > header_len ? line_max
                                                       : header_len + 1);

    w = fl_calloc(1, sizeof *w);
    buf = fl_malloc(cap);
    if (w == NULL || buf == NULL) {
        rc = FL_ENOMEM;
        goto out;
    }
    build_world(w, o->world_seed != 0 ? o->world_seed : o->seed);

    g.w = w;
    g.records = o->records;
    g.start = o->start;
    g.span = o->span;
    g.step = o->records > 0 ? (double)o->span / (double)o->records : 0.0;
    g.scan_ppm = o->scan_ppm != 0 ? o->scan_ppm : SCAN_PPM;
    g.not_after = o->not_after;
    /* A different stream from the world's, derived from the same seed. */
    rng_seed(&g.rng, o->seed ^ 0xd1b54a32d192ed03ULL);

    char *p = buf;
    if (o->header) {
        for (size_t k = 0; k < g.nf; k++) {
            const char *name = header_name(o->format, g.field, k);
            if (k > 0)
                *p++ = ' ';
            p = put(p, name, strlen(name));
        }
        *p++ = '\n';
    }

    const char *flush_at = buf + FL_GEN_CHUNK;
    struct rec rec;
    for (uint64_t i = 0; i < o->records; i++) {
        synth(&g, i, &rec);
        p = emit_line(&g, &rec, p);
        if (p >= flush_at) {
            rc = write_fn(ctx, buf, (size_t)(p - buf));
            if (rc < 0)
                goto out;
            p = buf;
        }
    }
    if (p > buf) {
        rc = write_fn(ctx, buf, (size_t)(p - buf));
        if (rc < 0)
            goto out;
    }
    rc = FL_OK;

out:
    fl_free(buf);
    fl_free(w);
    return rc;
}
