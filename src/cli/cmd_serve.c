/* SPDX-License-Identifier: MIT
 *
 * cmd_serve.c -- `flowlake serve`: loads the configuration, applies the
 * flags, starts the server and waits for SIGTERM/SIGINT, on which it stops
 * accepting, publishes what is buffered and exits 0.
 *
 * Signals are blocked in every thread (the mask is set before any thread
 * starts) and taken synchronously with sigwait() here, so no handler runs
 * in the middle of server code.
 */
#include "../core/fl_config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/config.h"
#include "../core/fl_error.h"
#include "../core/fl_instance.h"
#include "../core/fl_log.h"
#include "../core/fl_mem.h"
#include "../server/server.h"
#include "cli.h"
#include "commands.h"

static const char usage_text[] =
"usage: flowlake serve [--config FILE] [--listen ADDR:PORT] [--archive DIR]\n"
"                      [--watch DIR] [--set SECTION.KEY=VALUE ...]\n"
"                      [--demo[=RATE]]\n"
"\n"
"Runs the flowlake server: takes flow logs over HTTP, buffers them and\n"
"publishes them into the Parquet archive (Hive partitions by hour), keeps\n"
"windowed metrics as records arrive and evaluates alarms on them.\n"
"\n"
"options:\n"
"  --config FILE        configuration file (INI; see `flowlake config\n"
"                       defaults` and docs/config.md)\n"
"  --listen ADDR:PORT   overrides server.listen (default 127.0.0.1:8080;\n"
"                       port 0 picks a free port, printed at start)\n"
"  --archive DIR        overrides archive.dir (default ./flowlake-data)\n"
"  --watch DIR          overrides watch.dir: ingest every *.log / *.log.gz\n"
"                       file that appears under DIR, once, across restarts\n"
"  --set KEY=VALUE      overrides any configuration key, e.g.\n"
"                       --set archive.buffer_interval=10s\n"
"  --demo[=RATE]        feed the server generated traffic, RATE records/s\n"
"                       (default 2000), and publish every 10 s unless the\n"
"                       configuration says otherwise: a running system to\n"
"                       look at and query with `flowlake query`\n"
"  -h, --help           this text\n"
"  --version            the version of flowlake\n"
"\n"
"endpoints:\n"
"  GET  /healthz        200 while accepting, 503 while stopping\n"
"  GET  /api/status     JSON counters: sources, buffer, publishing\n"
"  POST /ingest         flow-log lines, plain or gzip, with a header line or\n"
"                       ?format=${version} ${...}; answers\n"
"                       {\"accepted\":N,\"rejected\":N}\n"
"  POST /firehose       Kinesis Data Firehose HTTP endpoint deliveries\n"
"  POST /cwl            CloudWatch Logs subscription payloads\n"
"  POST /api/query      SQL over the archive, the live records, the metrics;\n"
"                       X-Flowlake-Rows/-Files/-Blocks/-Columns/-Elapsed-Ms\n"
"                       headers; an error's \"line\" and \"column\"\n"
"  POST /api/query/cancel?id=ID  stop the query sent with\n"
"                       X-Flowlake-Query-Id: ID (it answers 499); a client\n"
"                       that closes its connection stops its query too\n"
"  GET  /, /console     the web UI: dashboard, SQL console (docs/ui.md)\n"
"  GET  /metrics        Prometheus text: metric values and own counters\n"
"  GET  /api/metrics    metrics defined; ?metric=NAME&from=T&to=T: series\n"
"  GET  /api/alarms     alarms, state and recent datapoints\n"
"  GET  /api/alarms/history  the latest alarm state changes (?limit=N)\n"
"  GET  /api/publishes  the last publish attempts\n"
"  GET  /api/rejects    the newest rejected lines of ARCHIVE/_errors/ and\n"
"                       their counts by reason (?limit=N)\n"
"  GET  /, /status      the web UI: dashboard and status page\n"
"  GET  /api/dashboards  the web UI's dashboards; GET, PUT (admin key),\n"
"                       DELETE (admin key) /api/dashboards/NAME\n"
"\n"
"Streaming metrics (docs/metrics.md) run on every accepted record: the\n"
"built-in rejected_tcp_packets, rejected_packets_by_protocol and records_in,\n"
"plus metrics.file; alarms come from [alarm.NAME] sections (docs/alarms.md).\n"
"\n"
"SIGTERM or SIGINT: stop accepting, publish the buffer, exit 0.\n"
"See docs/serve.md.\n";


enum { OPT_CONFIG = 256, OPT_LISTEN, OPT_ARCHIVE, OPT_SET, OPT_DEMO,
       OPT_WATCH, OPT_VERSION };
static const struct option longopts[] = {
    { "config",  required_argument, NULL, OPT_CONFIG },
    { "listen",  required_argument, NULL, OPT_LISTEN },
    { "archive", required_argument, NULL, OPT_ARCHIVE },
    { "set",     required_argument, NULL, OPT_SET },
    { "demo",    optional_argument, NULL, OPT_DEMO },
    { "watch",   required_argument, NULL, OPT_WATCH },
    { "help",    no_argument,       NULL, 'h' },
    { "version", no_argument,       NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 }
};

/* The steps below return the command's exit status when it ends there,
 * or FL_CLI_GO_ON (cli.h). */

/* First pass: find --config, so that flags apply over the file, and
 * --demo, whose defaults go under both; a usage error is one before
 * anything is read (cli.h). */
static int
scan_config_and_demo(int argc, char **argv, struct fl_config *cfg,
                     const char **config_path, uint64_t *demo_rate)
{
    char err[512];
    int c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c == '?' || c == ':')
            return fl_cli_getopt_error("serve", c, argv, longopts);
        if (c == OPT_CONFIG)
            *config_path = optarg;
        if (c == OPT_DEMO) {
            char *end = NULL;
            *demo_rate = optarg ? strtoull(optarg, &end, 10) : 2000;
            if (optarg && (*end != '\0' || *demo_rate == 0
                           || *demo_rate > 1000000))
                return fl_cli_usage_error("serve", "--demo: '%s' is not a "
                                          "rate from 1 to 1000000 records/s",
                                          optarg);
            /* The demo's embedded defaults; a file or flags still win. */
            (void)fl_config_set(cfg, "archive.buffer_interval", "10s", err,
                                sizeof err);
        }
        if (c == 'h' || c == OPT_VERSION)
            return c == 'h' ? fl_cli_help(usage_text) : fl_cli_version();
    }
    return FL_CLI_GO_ON;
}

/* A file with bad values is reported with the checks of check_config, in
 * one list (*file_bad says so); one that cannot be read at all stops here. */
static int
load_config_file(struct fl_config *cfg, const char *config_path,
                 struct fl_config_errors *errs, int *file_bad)
{
    if (config_path == NULL)
        return FL_CLI_GO_ON;
    int rc = fl_config_load(cfg, config_path, errs);
    if (rc < 0 && rc != FL_ECONFIG) {
        fprintf(stderr, "flowlake serve: %s: %s\n", config_path,
                fl_strerror(rc));
        return 1;
    }
    *file_bad = rc == FL_ECONFIG;
    return FL_CLI_GO_ON;
}

/* --set KEY=VALUE. */
static int
set_key_value(struct fl_config *cfg, const char *arg, char *err,
              size_t err_len)
{
    char key[128];
    const char *eq = strchr(arg, '=');
    if (eq == NULL || (size_t)(eq - arg) >= sizeof key) {
        snprintf(err, err_len, "--set wants KEY=VALUE, got '%s'", arg);
        return FL_ECONFIG;
    }
    memcpy(key, arg, (size_t)(eq - arg));
    key[eq - arg] = '\0';
    return fl_config_set(cfg, key, eq + 1, err, err_len);
}

/* Second pass: the flags over the file's values. */
static int
apply_flags(int argc, char **argv, struct fl_config *cfg)
{
    char err[512];
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case OPT_CONFIG:
        case OPT_DEMO:
            break;
        case OPT_LISTEN:
            rc = fl_config_set(cfg, "server.listen", optarg, err, sizeof err);
            break;
        case OPT_ARCHIVE:
            rc = fl_config_set(cfg, "archive.dir", optarg, err, sizeof err);
            break;
        case OPT_WATCH:
            rc = fl_config_set(cfg, "watch.dir", optarg, err, sizeof err);
            break;
        case OPT_SET:
            rc = set_key_value(cfg, optarg, err, sizeof err);
            break;
        default:            /* seen by the first pass already */
            return fl_cli_getopt_error("serve", c, argv, longopts);
        }
        if (rc < 0)
            return fl_cli_usage_error("serve", "%s", err);
    }
    if (optind < argc)
        return fl_cli_usage_error("serve", "unexpected argument '%s'",
                                  argv[optind]);
    return FL_CLI_GO_ON;
}

/* The checks of `config check`, on the file and flags together: a problem
 * is refused now, with every other one, not at the first request or query
 * that meets it. */
static int
check_config(struct fl_config *cfg, struct fl_config_errors *errs,
             int file_bad)
{
    int crc = fl_cmd_config_check(cfg, errs);
    for (size_t i = 0; i < errs->n; i++)
        fprintf(stderr, "%s\n", errs->msg[i]);
    if (crc == 0 && file_bad)
        crc = FL_ECONFIG;
    if (crc < 0) {
        fprintf(stderr, "flowlake serve: %s\n", crc == FL_ENOMEM
                ? FL_OOM_TEXT : "the configuration has problems (above)");
        return 1;
    }
    return FL_CLI_GO_ON;
}

/* The configuration: defaults, --demo's, the file, the flags, checked. */
static int
build_config(int argc, char **argv, struct fl_config *cfg,
             uint64_t *demo_rate)
{
    struct fl_config_errors errs = { 0 };
    const char *config_path = NULL;
    int file_bad = 0;

    int status = scan_config_and_demo(argc, argv, cfg, &config_path,
                                      demo_rate);
    if (status == FL_CLI_GO_ON)
        status = load_config_file(cfg, config_path, &errs, &file_bad);
    if (status == FL_CLI_GO_ON)
        status = apply_flags(argc, argv, cfg);
    if (status == FL_CLI_GO_ON)
        status = check_config(cfg, &errs, file_bad);
    fl_config_errors_free(&errs);
    return status;
}

static void
configure_logging(const struct fl_config *cfg)
{
    /* Both words were checked against their choices by the config. */
    enum fl_log_format log_format = FL_LOG_TEXT;
    enum fl_log_level log_level = FL_LOG_INFO;
    (void)fl_log_format_parse(cfg->log_format, &log_format);
    (void)fl_log_level_parse(cfg->log_level, &log_level);
    fl_log_configure(log_format, log_level);
}

/* The line the tests and scripts wait for, the demo's hints, the log line. */
static void
announce(const struct fl_config *cfg, struct fl_server *server,
         uint64_t demo_rate)
{
    unsigned port = (unsigned)fl_server_port(server);
    int host_len = (int)(strrchr(cfg->listen, ':') - cfg->listen);
    const char *scheme = cfg->tls_cert[0] ? "https" : "http";

    printf("flowlake serve: listening on %s://%.*s:%u, archive %s\n",
           scheme, host_len, cfg->listen, port, cfg->archive_dir);
    if (demo_rate > 0)
        printf("flowlake serve: demo: feeding %llu generated records/s, "
               "published every %llu s. Open http://127.0.0.1:%u/ in a browser "
               "for the dashboard, or in another terminal:\n"
               "  ./flowlake query --archive %s \"SELECT action, count(*) FROM flow_logs "
               "GROUP BY action\"\n"
               "  curl -s http://127.0.0.1:%u/api/status\n"
               "  curl -s http://127.0.0.1:%u/metrics      (Prometheus: "
               "windowed metrics, counters)\n"
               "Stop with Ctrl-C (the buffer is published first).\n",
               (unsigned long long)demo_rate,
               (unsigned long long)cfg->buffer_interval,
               port, cfg->archive_dir, port, port);
    fflush(stdout);
    fl_log(FL_LOG_INFO, "serve", "listening on %s://%.*s:%u, archive %s, "
           "version %s", scheme, host_len, cfg->listen, port,
           cfg->archive_dir, FL_VERSION);
}

/* Starts the server, waits for SIGTERM/SIGINT, stops it: the exit status. */
static int
run_server(const struct fl_config *cfg, uint64_t demo_rate)
{
    struct fl_server *server = NULL;
    struct fl_err err = FL_ERR_INIT;
    int status = 1;

    configure_logging(cfg);
    /* Before any thread: the id every file this server writes carries
     * (the key's value was checked when the file was loaded). */
    (void)fl_instance_set(cfg->instance_id);
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (fl_server_create(cfg, &server, &err) < 0) {
        fprintf(stderr, "flowlake serve: %s\n", fl_err_msg(&err));
        goto out;
    }
    fl_server_set_demo(server, demo_rate);
    if (fl_server_start(server, &err) < 0) {
        fprintf(stderr, "flowlake serve: %s\n", fl_err_msg(&err));
        goto out;
    }
    announce(cfg, server, demo_rate);

    int sig = 0;
    sigwait(&sigs, &sig);
    fl_log(FL_LOG_INFO, "serve", "%s received, publishing the buffer",
           sig == SIGTERM ? "SIGTERM" : "SIGINT");
    if (fl_server_stop(server) == 0) {
        status = 0;
        fl_log(FL_LOG_INFO, "serve", "stopped");
    } else {
        fl_log(FL_LOG_ERROR, "serve", "stopped with records not published "
               "(see the errors above)");
    }
out:
    fl_server_destroy(server);
    return status;
}

int
fl_cmd_serve(int argc, char **argv)
{
    struct fl_config cfg;
    uint64_t demo_rate = 0;

    if (fl_config_init(&cfg) < 0) {
        fprintf(stderr, "flowlake serve: out of memory\n");
        return 1;
    }
    int status = build_config(argc, argv, &cfg, &demo_rate);
    if (status == FL_CLI_GO_ON)
        status = run_server(&cfg, demo_rate);
    fl_config_free(&cfg);
    return status;
}
