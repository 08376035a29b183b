/* SPDX-License-Identifier: MIT
 *
 * generate.h -- realistic, deterministic synthetic VPC flow logs.
 *
 * The one load generator shared by `flowlake generate`, the integration
 * tests, the benchmarks and the fuzz seeds. From a seed it builds a small
 * "world" (a few AWS accounts, their regions, VPCs, subnets and a few
 * hundred ENIs with instances, addresses and ECS tasks, plus pools of
 * public peers and port scanners) and then writes flow records about that
 * world in any flow log format, one "\n"-terminated line per record. What
 * the data looks like is described in docs/generate.md.
 *
 * Determinism: the output is a pure function of the options. The same
 * options give byte-identical output on every run and every platform (the
 * generator uses its own xoshiro256** PRNG and IEEE double arithmetic only,
 * no libm and no rand()). The random draws do not depend on the format, so
 * for one seed a custom format describes the same flows as the default
 * format, field for field.
 *
 * Thread: any; fl_gen_write keeps all its state on its own stack and heap.
 */
#ifndef FL_GENERATE_H
#define FL_GENERATE_H

#include <stddef.h>
#include <stdint.h>

struct fl_format;

/* Defaults of fl_gen_opts_init (and of the generate command). */
#define FL_GEN_DEFAULT_SEED    1
#define FL_GEN_DEFAULT_RECORDS 1000
#define FL_GEN_DEFAULT_START   1714521600   /* 2024-05-01T00:00:00Z */
#define FL_GEN_DEFAULT_SPAN    3600         /* seconds */

/* Bytes handed to the write callback per call (the last call may be
 * shorter). Lines are never split across calls. */
#define FL_GEN_CHUNK (1024 * 1024)

struct fl_gen_opts {
    uint64_t seed;      /* any value; selects the world and the flows */
    uint64_t records;   /* data lines to write (the header is extra) */
    int64_t  start;     /* epoch seconds of the first flow window, >= 0 */
    int64_t  span;      /* flow start times lie in [start, start + span);
                           > 0, and start + span must not overflow */
    const struct fl_format *format;  /* borrowed for the call; NULL means
                                        the default v2 format */
    int      header;    /* non-zero: first write the S3-style header line
                           (the AWS field names separated by spaces) */
    /* For a feeder that calls the generator again and again (serve
     * --demo); the defaults (0) change nothing. */
    uint64_t world_seed; /* non-zero: the world comes from this, the flows
                            from seed -- one network, new traffic */
    int64_t  not_after;  /* > 0: no flow ends after this epoch second (a
                            flow still open then is cut there, as a record
                            delivered at that moment would be); at least
                            start + span */
    uint32_t scan_ppm;   /* non-zero: scanner probes per million records
                            (default share: 35,000, about 3.5%) */
};

/* Receives the output. Must take all len bytes or fail; returns 0, or <0
 * (typically -errno) to stop the generator, which then returns that value.
 * buf is only valid during the call. */
typedef int (*fl_gen_write_fn)(void *ctx, const char *buf, size_t len);

/* Fills *o with the defaults above (default format, no header). */
void fl_gen_opts_init(struct fl_gen_opts *o);

/* Writes o->records flow log lines (after a header line when o->header)
 * through write_fn, in chunks of about FL_GEN_CHUNK bytes.
 *
 * Returns 0; FL_ECONFIG when the options are invalid (span <= 0, start < 0,
 * start + span too large, a format without fields, scan_ppm above
 * 998,000, not_after < 0 or before start + span); FL_ENOMEM; or the
 * first negative value returned by write_fn. Leaks nothing on any path.
 *
 * Record shapes, for every format:
 *   - OK records: ACCEPT or REJECT, start within [start, start + span),
 *     start <= end <= start + aggregation interval (60 s, or 600 s for a
 *     few non-Nitro ENIs); lines come out in roughly ascending start order.
 *   - NODATA/SKIPDATA records (about 0.2%): "-" for srcaddr ... bytes and
 *     action, and for every other per-packet field of versions 3 to 8.
 *   - Fields the catalogue does not know (fl_format field id -1): "-". */
int fl_gen_write(const struct fl_gen_opts *o, fl_gen_write_fn write_fn,
                 void *ctx);

#endif /* FL_GENERATE_H */
