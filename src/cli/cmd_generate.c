/* SPDX-License-Identifier: MIT
 *
 * cmd_generate.c -- `flowlake generate`: synthetic VPC flow logs on stdout
 * or into a file, optionally gzip-compressed (see docs/generate.md).
 *
 * The generator (src/gen/generate.c) hands us 1 MiB chunks; we write them
 * with write(2), through zlib's deflate when compressing. The gzip stream
 * is deterministic: the header carries no file name and mtime 0, with a
 * fixed OS byte, so equal options give equal .gz files.
 *
 * Exit status: 0 done; 1 output could not be written (open, write, close
 * or compression failed, out of memory); 2 usage error (the message names
 * the option). A partial output file is removed on failure.
 */
#include "../core/fl_config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZLIB_CONST
#include <zlib.h>

#include "../core/fl_error.h"
#include "../core/fl_fs.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "../gen/generate.h"
#include "../parse/format.h"
#include "cli.h"
#include "commands.h"

#define PROG "flowlake generate"
#define DEFAULT_GZIP_LEVEL 1
#define ZBUF_SIZE (256 * 1024)

static const char usage_text[] =
"usage: flowlake generate [options]\n"
"\n"
"Write realistic, deterministic synthetic VPC flow log records, one per\n"
"line, in AWS's text format. The same options always give the same bytes.\n"
"\n"
"options:\n"
"  --seed N          PRNG seed: any 64-bit unsigned integer (default 1);\n"
"                    selects the accounts, ENIs and addresses and the flows\n"
"  --records N       number of records to write (default 1000); the header\n"
"                    line, when asked for, is extra\n"
"  --start TIME      start of the first flow window (default\n"
"                    2024-05-01T00:00:00Z): epoch seconds, an ISO 8601 time\n"
"                    such as 2024-05-01T10:00:00Z, 2024-05-01T10:00Z or\n"
"                    2024-05-01 (UTC unless an offset like +02:00 is given),\n"
"                    or 'now'\n"
"  --span DURATION   flow start times spread over [start, start + DURATION)\n"
"                    in roughly ascending order (default 3600s): seconds, or\n"
"                    a number with a unit s, m, h or d (90s, 15m, 24h, 7d)\n"
"  --format FMT      flow log format in AWS syntax, e.g.\n"
"                    '${version} ${vpc-id} ${srcaddr} ${dstaddr}' (default:\n"
"                    the 14 fields of the default version 2 format); every\n"
"                    field of versions 2 to 8 gets plausible values, unknown\n"
"                    fields are written as '-'\n"
"  --header          first write the S3-style header line: the field names\n"
"                    separated by spaces\n"
"  --gzip            compress the output with gzip (deterministic: no name,\n"
"                    no time stamp); implied by an --output name ending in\n"
"                    .gz\n"
"  --gzip-level N    gzip compression level, 1 (fastest, default) to 9;\n"
"                    implies --gzip\n"
"  -o, --output FILE write to FILE instead of standard output ('-' means\n"
"                    standard output); FILE is replaced if it exists\n"
"  -h, --help        show this help and exit\n"
"  --version         show the version of flowlake and exit\n"
"\n"
"examples:\n"
"  flowlake generate --records 10 --header\n"
"  flowlake generate --seed 7 --records 1000000 --span 24h -o flows.log.gz\n"
"  flowlake generate --format '${version} ${account-id} ${interface-id} "
"${srcaddr} ${dstaddr} ${flow-direction} ${traffic-path}'\n"
"\n"
"Exit status: 0 ok, 1 write error, 2 usage error.\n";


/* ---------------------------------------------------------------------
 * Argument parsing
 * ------------------------------------------------------------------- */

/* A decimal unsigned integer with nothing around it; no sign, no space. */
static int
parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = (uint64_t)v;
    return 0;
}


/* The same, up to INT64_MAX. */
static int
parse_i64(const char *s, int64_t *out)
{
    uint64_t v;

    if (parse_u64(s, &v) < 0 || v > (uint64_t)INT64_MAX)
        return -1;
    *out = (int64_t)v;
    return 0;
}


/* YYYY-MM-DD[(T| )HH:MM[:SS]][Z|(+|-)HH[:]MM] -> epoch seconds, not
 * before 1970. No zone designator means UTC. */
static int
parse_iso8601(const char *s, int64_t *out)
{
    int64_t t;
    if (fl_time_parse_iso8601(s, strlen(s), FL_TIME_ISO_ZONE, &t) < 0)
        return -1;
    /* The parser read four digits of year first. */
    int year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10
             + (s[3] - '0');
    if (year < 1970 || t < 0)
        return -1;
    *out = t;
    return 0;
}


/* TIME: epoch seconds, ISO 8601 or "now". */
static int
parse_time(const char *s, int64_t *out)
{
    if (strcmp(s, "now") == 0) {
        *out = fl_time_now();
        return 0;
    }
    if (strchr(s, '-') == NULL && strchr(s, ':') == NULL)
        return parse_i64(s, out);
    return parse_iso8601(s, out);
}


/* DURATION: N, Ns, Nm, Nh or Nd; must be > 0. */
static int
parse_duration(const char *s, int64_t *out)
{
    char num[32];
    size_t len = strlen(s);
    int64_t mult = 1, v;

    if (len == 0 || len >= sizeof num)
        return -1;
    memcpy(num, s, len + 1);
    switch (num[len - 1]) {
    case 's': mult = 1;     break;
    case 'm': mult = 60;    break;
    case 'h': mult = 3600;  break;
    case 'd': mult = 86400; break;
    default:  mult = 0;     break;
    }
    if (mult != 0)
        num[len - 1] = '\0';
    else
        mult = 1;
    if (parse_i64(num, &v) < 0 || v <= 0 || v > INT64_MAX / mult)
        return -1;
    *out = v * mult;
    return 0;
}


/* Matches argv[*i] against --name, "--name=value" or (for options taking
 * a value) "--name value". Returns 1 when matched (with *val set for
 * valued options), 0 when not, -1 when the value is missing. */
static int
match(int argc, char **argv, int *i, const char *name, const char *alias,
      int valued, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);

    if (strcmp(a, name) == 0 || (alias != NULL && strcmp(a, alias) == 0)) {
        if (!valued)
            return 1;
        if (*i + 1 >= argc)
            return -1;
        *val = argv[++*i];
        return 1;
    }
    if (valued && strncmp(a, name, n) == 0 && a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    return 0;
}


/* "flowlake generate: OPT: 'VAL' WHAT" and the --help hint (cli.h). */
static int
usage_error(const char *opt, const char *what, const char *val)
{
    if (val != NULL)
        return fl_cli_usage_error("generate", "%s: '%s' %s", opt, val, what);
    return fl_cli_usage_error("generate", "%s: %s", opt, what);
}


/* ---------------------------------------------------------------------
 * Output: plain or gzip
 * ------------------------------------------------------------------- */

struct out {
    int            fd;
    const char    *name;      /* for messages */
    int            gzip;
    int            z_ready;
    z_stream       z;
    unsigned char *zbuf;
    int            write_rc;  /* the write(2) failure, when there was one */
};


static voidpf
z_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return fl_calloc(items, size);
}


static void
z_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    fl_free(p);
}


static int
out_raw(struct out *o, const void *buf, size_t len)
{
    int rc = fl_fs_write_all(o->fd, buf, len);
    if (rc < 0)
        o->write_rc = rc;
    return rc;
}


/* Runs deflate with flush until the input is consumed (Z_NO_FLUSH) or
 * the stream is complete (Z_FINISH), writing every full output buffer. */
static int
out_deflate(struct out *o, int flush)
{
    for (;;) {
        int zrc = deflate(&o->z, flush);
        if (zrc == Z_STREAM_ERROR)
            return -EINVAL;
        size_t have = ZBUF_SIZE - o->z.avail_out;
        if (have > 0 && (o->z.avail_out == 0 || zrc == Z_STREAM_END)) {
            int rc = out_raw(o, o->zbuf, have);
            if (rc < 0)
                return rc;
            o->z.next_out = o->zbuf;
            o->z.avail_out = ZBUF_SIZE;
        }
        if (flush == Z_FINISH ? zrc == Z_STREAM_END
                              : o->z.avail_in == 0 && o->z.avail_out != 0)
            return 0;
    }
}


/* The generator's write callback. */
static int
out_write(void *ctx, const char *buf, size_t len)
{
    struct out *o = ctx;

    if (!o->gzip)
        return out_raw(o, buf, len);
    while (len > 0) {
        /* avail_in is a uInt: feed at most 1 GiB at a time. */
        uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
        o->z.next_in = (const Bytef *)buf;
        o->z.avail_in = n;
        int rc = out_deflate(o, Z_NO_FLUSH);
        if (rc < 0)
            return rc;
        buf += n;
        len -= n;
    }
    return 0;
}


static int
out_gzip_init(struct out *o, int level)
{
    gz_header hdr;

    o->zbuf = fl_malloc(ZBUF_SIZE);
    if (o->zbuf == NULL)
        return FL_ENOMEM;
    memset(&o->z, 0, sizeof o->z);
    o->z.zalloc = z_alloc;
    o->z.zfree = z_free;
    int zrc = deflateInit2(&o->z, level, Z_DEFLATED, 15 + 16, 8,
                           Z_DEFAULT_STRATEGY);
    if (zrc != Z_OK)
        return zrc == Z_MEM_ERROR ? FL_ENOMEM : -EINVAL;
    o->z_ready = 1;
    /* No name, no comment, mtime 0 and a fixed OS byte (3 = Unix), so
     * the output depends on the options only. */
    memset(&hdr, 0, sizeof hdr);
    hdr.os = 3;
    if (deflateSetHeader(&o->z, &hdr) != Z_OK)
        return -EINVAL;
    o->z.next_out = o->zbuf;
    o->z.avail_out = ZBUF_SIZE;
    return 0;
}


static void
out_gzip_free(struct out *o)
{
    if (o->z_ready)
        deflateEnd(&o->z);
    o->z_ready = 0;
    fl_free(o->zbuf);
    o->zbuf = NULL;
}


static int
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}


/* ---------------------------------------------------------------------
 * The command
 * ------------------------------------------------------------------- */

/* What the command line asks for. */
struct gen_args {
    struct fl_gen_opts opts;
    const char *format_spec, *output;
    int gzip, level;
};

/* The steps below return the command's exit status when it ends there,
 * or FL_CLI_GO_ON (cli.h). */

/* argv[*i] (and its value, which moves *i on). */
static int
parse_option(int argc, char **argv, int *i, struct gen_args *a)
{
    const char *v = NULL, *opt = argv[*i];
    int m;

    if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0)
        return fl_cli_help(usage_text);
    if (strcmp(opt, "--version") == 0)
        return fl_cli_version();
    if ((m = match(argc, argv, i, "--seed", NULL, 1, &v)) != 0) {
        if (m < 0)
            return fl_cli_missing_value("generate", "--seed");
        if (parse_u64(v, &a->opts.seed) < 0)
            return usage_error("--seed",
                               "is not an unsigned 64-bit integer", v);
    } else if ((m = match(argc, argv, i, "--records", NULL, 1, &v)) != 0) {
        if (m < 0)
            return fl_cli_missing_value("generate", "--records");
        if (parse_u64(v, &a->opts.records) < 0)
            return usage_error("--records",
                               "is not an unsigned 64-bit integer", v);
    } else if ((m = match(argc, argv, i, "--start", NULL, 1, &v)) != 0) {
        if (m < 0)
            return fl_cli_missing_value("generate", "--start");
        if (parse_time(v, &a->opts.start) < 0)
            return usage_error("--start", "is not a time: use epoch "
                               "seconds, 2024-05-01T10:00:00Z or now", v);
    } else if ((m = match(argc, argv, i, "--span", NULL, 1, &v)) != 0) {
        if (m < 0)
            return fl_cli_missing_value("generate", "--span");
        if (parse_duration(v, &a->opts.span) < 0)
            return usage_error("--span", "is not a positive duration: "
                               "use 3600, 90s, 15m, 24h or 7d", v);
    } else if ((m = match(argc, argv, i, "--format", NULL, 1, &v)) != 0) {
        if (m < 0)
            return fl_cli_missing_value("generate", "--format");
        a->format_spec = v;
    } else if ((m = match(argc, argv, i, "--output", "-o", 1, &v)) != 0) {
        if (m < 0)
            return fl_cli_missing_value("generate", "--output");
        if (v[0] == '\0')
            return usage_error("--output", "needs a file name or -", NULL);
        a->output = v;
    } else if (match(argc, argv, i, "--header", NULL, 0, &v) != 0) {
        a->opts.header = 1;
    } else if (match(argc, argv, i, "--gzip", NULL, 0, &v) != 0) {
        a->gzip = 1;
    } else if ((m = match(argc, argv, i, "--gzip-level", NULL, 1, &v)) != 0) {
        uint64_t lv;
        if (m < 0)
            return fl_cli_missing_value("generate", "--gzip-level");
        if (parse_u64(v, &lv) < 0 || lv < 1 || lv > 9)
            return usage_error("--gzip-level",
                               "is not a level from 1 to 9", v);
        a->level = (int)lv;
        a->gzip = 1;
    } else if (strncmp(opt, "--header=", 9) == 0
               || strncmp(opt, "--gzip=", 7) == 0) {
        return fl_cli_usage_error("generate", "option '%.*s' takes no "
                                  "value", (int)strcspn(opt, "="), opt);
    } else if (opt[0] == '-' && opt[1] != '\0') {
        return fl_cli_unknown_option("generate", opt);
    } else {
        return fl_cli_usage_error("generate", "unexpected argument '%s'",
                                  opt);
    }
    return FL_CLI_GO_ON;
}

static int
parse_args(int argc, char **argv, struct gen_args *a)
{
    for (int i = 1; i < argc; i++) {
        int status = parse_option(argc, argv, &i, a);
        if (status != FL_CLI_GO_ON)
            return status;
    }
    /* The generator needs room after the span for the last flows' ends. */
    if (a->opts.start > INT64_MAX - a->opts.span - 1200)
        return usage_error("--span", "is too long for this --start", NULL);
    return FL_CLI_GO_ON;
}

/* --format, parsed into *fmt (a bad one is a usage error). */
static int
load_format(const char *spec, struct fl_format **fmt)
{
    struct fl_parse_err perr;

    if (spec == NULL)
        return FL_CLI_GO_ON;
    int rc = fl_format_parse(spec, fmt, &perr);
    if (rc < 0) {
        if (rc == FL_ENOMEM) {
            fprintf(stderr, PROG ": out of memory\n");
            return 1;
        }
        return usage_error("--format", perr.reason, NULL);
    }
    return FL_CLI_GO_ON;
}

/* Standard output, or OUTPUT created or truncated (*is_reg: a regular
 * file, to remove on failure); a name ending in .gz turns gzip on. */
static int
open_output(struct out *out, const char *output, int *gzip, int level,
            int *is_reg)
{
    if (output == NULL || strcmp(output, "-") == 0) {
        out->fd = STDOUT_FILENO;
        out->name = "standard output";
    } else {
        struct stat st;
        out->fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (out->fd < 0) {
            fprintf(stderr, PROG ": cannot open %s: %s\n", output,
                    strerror(errno));
            return -1;
        }
        out->name = output;
        *is_reg = fstat(out->fd, &st) == 0 && S_ISREG(st.st_mode);
        if (ends_with(output, ".gz"))
            *gzip = 1;
    }
    out->gzip = *gzip;
    int rc;
    if (*gzip && (rc = out_gzip_init(out, level)) < 0) {
        fprintf(stderr, PROG ": cannot start gzip: %s\n", fl_strerror(rc));
        return -1;
    }
    return 0;
}

/* The records, the gzip trailer, and the close that reports a late
 * write error. */
static int
write_output(const struct fl_gen_opts *opts, struct out *out)
{
    int rc = fl_gen_write(opts, out_write, out);
    if (rc == 0 && out->gzip) {
        out->z.next_in = NULL;
        out->z.avail_in = 0;
        rc = out_deflate(out, Z_FINISH);
    }
    if (rc < 0) {
        if (out->write_rc < 0)
            fprintf(stderr, PROG ": write error on %s: %s\n", out->name,
                    fl_strerror(out->write_rc));
        else
            fprintf(stderr, PROG ": %s\n", fl_strerror(rc));
        return -1;
    }
    if (out->fd != STDOUT_FILENO) {
        int fd = out->fd;
        out->fd = -1;
        if (close(fd) < 0) {
            fprintf(stderr, PROG ": write error on %s: %s\n", out->name,
                    strerror(errno));
            return -1;
        }
    }
    return 0;
}

int
fl_cmd_generate(int argc, char **argv)
{
    struct gen_args a = { .level = DEFAULT_GZIP_LEVEL };
    struct fl_format *fmt = NULL;
    struct out out;
    int status, is_reg = 0;

    fl_gen_opts_init(&a.opts);
    memset(&out, 0, sizeof out);
    out.fd = -1;

    status = parse_args(argc, argv, &a);
    if (status == FL_CLI_GO_ON)
        status = load_format(a.format_spec, &fmt);
    if (status != FL_CLI_GO_ON)
        goto out;
    a.opts.format = fmt;

    /* From here on failures are output failures. */
    status = 1;
    if (open_output(&out, a.output, &a.gzip, a.level, &is_reg) < 0
        || write_output(&a.opts, &out) < 0)
        goto out;
    status = 0;

out:
    out_gzip_free(&out);
    if (out.fd >= 0 && out.fd != STDOUT_FILENO)
        close(out.fd);
    if (status == 1 && is_reg && a.output != NULL)
        unlink(a.output);
    fl_format_destroy(fmt);
    return status;
}
