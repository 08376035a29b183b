/* SPDX-License-Identifier: MIT
 *
 * cmd_metrics.c -- `flowlake metrics merge URL...`: the metrics of several
 * running instances (each consuming part of the records, e.g. some of a
 * Kafka topic's partitions), merged into the values one instance seeing
 * everything would give (docs/metrics.md, "Several instances").
 *
 * Each instance's partial state (GET /api/metrics/partials: open windows
 * and the final ones metrics.partials_retention keeps) is folded into one
 * stream engine built from the same metric definitions (--config), which
 * then emits: final values for the windows every instance's watermark has
 * passed, provisional values for the rest. The merging is the engine's
 * (src/stream/stream.h, fl_stream_merge).
 *
 * Exit status: 0 merged; 1 an instance could not be read or its state
 * was damaged; 2 usage error.
 */
#include "../core/fl_config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../client/remote_query.h"
#include "../config/config.h"
#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "../metrics/metrics.h"
#include "../stream/plan.h"
#include "../stream/stream.h"
#include "cli.h"
#include "commands.h"

#define CMD "metrics merge"

static const char usage_text[] =
"usage: flowlake metrics merge [options] URL [URL...]\n"
"\n"
"Merges the metrics of several running flowlake servers -- each fed part\n"
"of the records, e.g. some partitions of a Kafka topic -- into the values\n"
"one server seeing every record would give: counts and sums added, MIN\n"
"and MAX their extremes, AVG from the summed sums and counts, COUNT\n"
"(DISTINCT) from the union of the value sets or the HyperLogLog\n"
"registers' maxima, top-N cut after merging. A window is final once\n"
"every server's watermark has passed it; later ones are printed as\n"
"provisional.\n"
"\n"
"Each URL is a server (http://HOST:PORT); its state is read from\n"
"GET /api/metrics/partials. The servers must run the same metric\n"
"definitions as --config, and keep final windows for the merge with\n"
"metrics.partials_retention (longer than the lag between them).\n"
"\n"
"options:\n"
"  --config FILE     the metric definitions and metrics.* keys the servers\n"
"                    run (default: the built-in metrics)\n"
"  --key-file FILE   the servers' read key (else $FLOWLAKE_READ_KEY)\n"
"  --output FORMAT   csv (default) or json (one object a line)\n"
"  --final           only the final values\n"
"  -h, --help        this text\n"
"  --version         the version of flowlake\n"
"\n"
"csv columns: metric, window_start, window_end, final, exact, records,\n"
"value, dimensions (NAME=VALUE;... in GROUP BY order).\n"
"\n"
"Exit status: 0 merged, 1 a server could not be read, 2 usage error.\n";

struct out {
    int json;
    int final_only;
    int failed;
};


static void
iso(char *buf, size_t cap, int64_t t)
{
    struct fl_civil c;
    fl_time_to_civil(t, &c);
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year, c.month,
             c.day, c.hour, c.minute, c.second);
}


/* A CSV field, quoted when it has to be (RFC 4180). */
static void
csv_field(const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}


static void
json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}


static void
print_value(void *ctx, const struct fl_metric_value *v)
{
    struct out *o = ctx;
    char ws[32], we[32], val[40];
    if (o->final_only && !v->final)
        return;
    iso(ws, sizeof ws, v->window_start);
    iso(we, sizeof we, v->window_end);
    if (v->has_value)
        snprintf(val, sizeof val, "%.17g", v->value);
    else
        val[0] = '\0';
    if (o->json) {
        printf("{\"metric\":");
        json_string(v->metric);
        printf(",\"window_start\":\"%s\",\"window_end\":\"%s\",\"final\":%s,"
               "\"exact\":%s,\"records\":%llu,\"value\":%s,\"dimensions\":{",
               ws, we, v->final ? "true" : "false",
               v->exact ? "true" : "false", (unsigned long long)v->records,
               v->has_value ? val : "null");
        for (size_t d = 0; d < v->n_dims; d++) {
            if (d > 0)
                putchar(',');
            json_string(v->dim_names[d]);
            putchar(':');
            if (v->dim_values[d] == NULL)
                fputs("null", stdout);
            else
                json_string(v->dim_values[d]);
        }
        fputs("}}\n", stdout);
        return;
    }
    csv_field(v->metric);
    printf(",%s,%s,%s,%s,%llu,%s,", ws, we, v->final ? "true" : "false",
           v->exact ? "true" : "false", (unsigned long long)v->records, val);
    /* NAME=VALUE;... as one field; a NULL dimension has no '='. */
    size_t len = 1;
    for (size_t d = 0; d < v->n_dims; d++)
        len += strlen(v->dim_names[d]) + 2
               + (v->dim_values[d] ? strlen(v->dim_values[d]) : 0);
    char *dims = fl_malloc(len);
    if (dims == NULL) {
        o->failed = 1;
        putchar('\n');
        return;
    }
    size_t off = 0;
    dims[0] = '\0';
    for (size_t d = 0; d < v->n_dims; d++)
        off += (size_t)snprintf(dims + off, len - off, "%s%s%s%s",
                                d ? ";" : "", v->dim_names[d],
                                v->dim_values[d] ? "=" : "",
                                v->dim_values[d] ? v->dim_values[d] : "");
    csv_field(dims);
    putchar('\n');
    fl_free(dims);
}


/* One server's partial state, folded into s. */
static int
merge_one(struct fl_stream *s, const char *url, const char *bearer)
{
    char *buf = NULL, *err = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (mem == NULL) {
        fprintf(stderr, "flowlake " CMD ": %s\n", FL_OOM_TEXT);
        return 1;
    }
    int rc = fl_remote_get(url, "/api/metrics/partials", bearer, mem, &err);
    if (fclose(mem) != 0 && rc == 0)
        rc = FL_ENOMEM;
    if (rc < 0) {
        fprintf(stderr, "flowlake " CMD ": %s: %s\n", url,
                err != NULL ? err : fl_strerror(rc));
        fl_free(err);
        fl_free_libc(buf);
        return 1;
    }
    char note[512];
    struct fl_err ferr = FL_ERR_INIT;
    rc = fl_stream_merge(s, (const unsigned char *)buf, len, note,
                         sizeof note, &ferr);
    fl_free_libc(buf);
    if (rc < 0) {
        fprintf(stderr, "flowlake " CMD ": %s: %s\n", url,
                rc == FL_ENOMEM ? FL_OOM_TEXT : fl_err_msg(&ferr));
        return 1;
    }
    if (note[0] != '\0')
        fprintf(stderr, "flowlake " CMD ": %s: not merged, defined "
                "otherwise than --config: %s\n", url, note);
    return 0;
}


int
fl_cmd_metrics(int argc, char **argv)
{
    enum { OPT_CONFIG = 256, OPT_KEY_FILE, OPT_OUTPUT, OPT_FINAL,
           OPT_VERSION };
    static const struct option longopts[] = {
        { "config",   required_argument, NULL, OPT_CONFIG },
        { "key-file", required_argument, NULL, OPT_KEY_FILE },
        { "output",   required_argument, NULL, OPT_OUTPUT },
        { "final",    no_argument,       NULL, OPT_FINAL },
        { "help",     no_argument,       NULL, 'h' },
        { "version",  no_argument,       NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 }
    };
    if (argc < 2 || strcmp(argv[1], "merge") != 0) {
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0
                          || strcmp(argv[1], "-h") == 0))
            return fl_cli_help(usage_text);
        return fl_cli_usage_error("metrics", argc < 2
                                  ? "give a subcommand: merge"
                                  : "unknown subcommand '%s' (merge)",
                                  argv[argc < 2 ? 0 : 1]);
    }
    argc--;
    argv++;

    struct fl_config cfg;
    struct out o = { 0 };
    const char *key_file = NULL;
    char *key = NULL;
    struct fl_stream *s = NULL;
    struct fl_metric_plans plans = { 0, NULL };
    int status, c;

    if (fl_config_init(&cfg) < 0) {
        fprintf(stderr, "flowlake " CMD ": %s\n", FL_OOM_TEXT);
        return 1;
    }
    status = fl_cli_config_pass(CMD, argc, argv, longopts, OPT_CONFIG,
                                OPT_VERSION, usage_text, &cfg, 1);
    if (status == FL_CLI_GO_ON) {
        while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
            if (c == OPT_KEY_FILE)
                key_file = optarg;
            else if (c == OPT_FINAL)
                o.final_only = 1;
            else if (c == OPT_OUTPUT) {
                if (strcmp(optarg, "json") == 0)
                    o.json = 1;
                else if (strcmp(optarg, "csv") != 0) {
                    status = fl_cli_usage_error(CMD, "--output: '%s' is not "
                                                "csv or json", optarg);
                    break;
                }
            }
        }
        if (status == FL_CLI_GO_ON && optind >= argc)
            status = fl_cli_usage_error(CMD, "give the servers' URLs");
    }
    if (status != FL_CLI_GO_ON)
        goto out;

    const char *bearer = getenv("FLOWLAKE_READ_KEY");
    if (key_file != NULL) {
        if (fl_cli_read_key(CMD, key_file, &key) < 0) {
            status = 1;
            goto out;
        }
        bearer = key;
    }
    struct fl_err err = FL_ERR_INIT;
    struct fl_stream_options opt;
    int rc = fl_metrics_compile(&cfg, &plans, &err);
    if (rc == 0) {
        fl_metrics_stream_options(&cfg, &opt);
        rc = fl_stream_create(&opt, &plans, print_value, &o, &s);
        if (rc < 0)
            fl_err_set(&err, rc, "%s", fl_strerror(rc));
    }
    if (rc < 0) {
        fprintf(stderr, "flowlake " CMD ": %s\n", fl_err_msg(&err));
        status = rc == FL_ECONFIG ? 2 : 1;
        goto out;
    }
    status = 0;
    for (int i = optind; i < argc; i++)
        status |= merge_one(s, argv[i], bearer);
    if (status != 0)
        goto out;
    if (!o.json)
        puts("metric,window_start,window_end,final,exact,records,value,"
             "dimensions");
    fl_stream_settle(s);                 /* the final values */
    fl_stream_each_open(s, print_value, &o);
    if (o.failed || fflush(stdout) != 0) {
        fprintf(stderr, "flowlake " CMD ": cannot write the output\n");
        status = 1;
    }
out:
    fl_stream_destroy(s);
    fl_plan_free(&plans);
    fl_free(key);
    fl_config_free(&cfg);
    return status;
}
