/* SPDX-License-Identifier: MIT
 *
 * config.c -- the key table, the INI loader and the value parsers (see
 * config.h).
 *
 * libinih calls us once per key with section and value but not the line
 * number (Debian builds it without INI_HANDLER_LINENO), so we feed it
 * through ini_parse_stream() with our own line reader that counts lines:
 * when the handler runs, the counter is the line of the key.
 *
 * Loading only looks at the text. fl_config_check() then looks at what
 * the values name -- files, folders -- and at keys that go together, with
 * the line each key came from (cfg->origin), so that `config check` and
 * `serve` list every problem at once, each with its FILE:LINE. Neither
 * ever blocks on what a path names: special files are refused after a
 * stat(), before anything is opened, and what is opened is opened with
 * O_NONBLOCK.
 */
#include "../core/fl_config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/fl_error.h"
#include "../core/fl_instance.h"
#include "../core/fl_mem.h"
#include "config.h"

#define OFF(f) offsetof(struct fl_config, f)
#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)

static int set_instance_id(void *obj, const struct fl_config_map *k,
                           const char *value, char *msg, size_t msglen);

static const struct fl_config_map keys[] = {
    { "server", "listen", FL_CFG_ADDR, OFF(listen), 0, 0, "127.0.0.1:8080",
      "address and port the HTTP server listens on", NULL, 0, NULL },
    { "server", "threads", FL_CFG_COUNT, OFF(threads), 1, 256, "4",
      "HTTP worker threads", NULL, 0, NULL },
    { "server", "tls_cert", FL_CFG_FILE, OFF(tls_cert), 0, 1 * MiB, "",
      "PEM certificate; with tls_key, serve HTTPS (Firehose requires it)", NULL, 0, NULL },
    { "server", "tls_key", FL_CFG_FILE, OFF(tls_key), 0, 1 * MiB, "",
      "PEM private key for tls_cert", NULL, 0, NULL },
    { "server", "max_body", FL_CFG_SIZE, OFF(max_body), 1 * KiB, 1 * GiB, "64MiB",
      "largest request body accepted (Firehose sends at most 64 MiB); larger is 413", NULL, 0, NULL },
    { "server", "max_decompressed", FL_CFG_SIZE, OFF(max_decompressed), 1 * KiB,
      16 * GiB, "512MiB",
      "largest decompressed size of one request; a gzip bomb is refused with 413", NULL, 0, NULL },
    { "server", "max_compression_ratio", FL_CFG_COUNT, OFF(max_compression_ratio),
      2, 100000, "100",
      "gzip data inflating past 1 MiB to more than this many times its compressed size is refused with 413", NULL, 0, NULL },
    { "server", "max_line", FL_CFG_SIZE, OFF(max_line), 64, 1 * GiB, "64KiB",
      "longest flow-log line; longer lines are rejected", NULL, 0, NULL },
    { "server", "dedupe_horizon", FL_CFG_DURATION, OFF(dedupe_horizon), 60,
      30 * 86400, "24h",
      "how long request and event ids are remembered to skip retries (Firehose retries for up to 24 h)", NULL, 0, NULL },
    { "server", "dedupe_max_keys", FL_CFG_COUNT, OFF(dedupe_max_keys), 1024,
      UINT64_C(100000000), "1000000",
      "most ids remembered (about 32 bytes each); beyond it the oldest are forgotten first", NULL, 0, NULL },
    { "server", "dedupe_wait", FL_CFG_DURATION, OFF(dedupe_wait), 0, 600, "10s",
      "how long a retry waits for the same request still in flight before a 503", NULL, 0, NULL },
    { "server", "ingest_key", FL_CFG_STRING, OFF(ingest_key), 0, 0, "",
      "Authorization: Bearer key for POST /cwl and /ingest (and /firehose if firehose.access_key is empty); empty = none", NULL, 0, NULL },
    { "server", "ingest_key_file", FL_CFG_STRING, OFF(ingest_key_file), 0, 0, "",
      "file holding server.ingest_key (read at start, trailing newline stripped)", NULL, 0, NULL },
    { "server", "read_key", FL_CFG_STRING, OFF(read_key), 0, 0, "",
      "Authorization: Bearer key for /api/* and /metrics; empty = none", NULL, 0, NULL },
    { "server", "read_key_file", FL_CFG_STRING, OFF(read_key_file), 0, 0, "",
      "file holding server.read_key (read at start, trailing newline stripped)", NULL, 0, NULL },
    { "server", "admin_key", FL_CFG_STRING, OFF(admin_key), 0, 0, "",
      "Authorization: Bearer key for PUT and DELETE /api/dashboards/NAME; empty = the read key guards them", NULL, 0, NULL },
    { "server", "admin_key_file", FL_CFG_STRING, OFF(admin_key_file), 0, 0, "",
      "file holding server.admin_key (read at start, trailing newline stripped)", NULL, 0, NULL },
    { "server", "allow_unauthenticated", FL_CFG_BOOL, OFF(allow_unauthenticated),
      0, 1, "false",
      "serve without keys on a non-loopback address (otherwise refused at start)", NULL, 0, NULL },
    { "server", "max_connections", FL_CFG_COUNT, OFF(max_connections), 1, 1000000,
      "512", "open HTTP connections at most; the file-descriptor limit is raised to fit", NULL, 0, NULL },
    { "server", "max_connections_per_ip", FL_CFG_COUNT, OFF(max_connections_per_ip),
      1, 1000000, "64", "open HTTP connections at most from one client address", NULL, 0, NULL },
    { "server", "idle_timeout", FL_CFG_DURATION, OFF(idle_timeout), 1, 86400,
      "30s", "a connection with no traffic for this long is closed", NULL, 0, NULL },
    { "server", "max_inflight_bytes", FL_CFG_SIZE, OFF(max_inflight_bytes),
      1 * KiB, 1024 * GiB, "256MiB",
      "request bodies buffered at once, all connections together (>= max_body); beyond it 503", NULL, 0, NULL },
    { "server", "instance_id", FL_CFG_STRING, OFF(instance_id), 0, 0, "",
      "this instance's name in the files it writes (part-TIME-INSTANCE-RANDOM-N.parquet), 1-32 of A-Z a-z 0-9 -; empty = the host name", NULL, 0, set_instance_id },
    { "server", "log_format", FL_CFG_CHOICE, OFF(log_format), 0, 0, "text",
      "event log on stderr: text (time level component: message) or json (one object per line)",
      "text|json", 0, NULL },
    { "server", "log_level", FL_CFG_CHOICE, OFF(log_level), 0, 0, "info",
      "lowest level logged: debug, info, warn or error", "debug|info|warn|error", 0, NULL },
    { "firehose", "access_key", FL_CFG_STRING, OFF(access_key), 0, 0, "",
      "X-Amz-Firehose-Access-Key required on POST /firehose; empty = server.ingest_key, if set", NULL, 0, NULL },
    { "firehose", "access_key_file", FL_CFG_STRING, OFF(access_key_file), 0, 0, "",
      "file holding firehose.access_key (read at start, trailing newline stripped)", NULL, 0, NULL },
    { "archive", "dir", FL_CFG_DIR, OFF(archive_dir), 1, 0, "./flowlake-data",
      "archive folder (Parquet files, errors, bookkeeping)", NULL, 0, NULL },
    { "archive", "buffer_interval", FL_CFG_DURATION, OFF(buffer_interval), 1,
      86400, "900s",
      "publish buffered records at least this often (Firehose: 60-900 s)", NULL, 0, NULL },
    { "archive", "buffer_size", FL_CFG_SIZE, OFF(buffer_size), 1 * KiB, 16 * GiB,
      "128MiB", "publish when this much flow-log text is buffered", NULL, 0, NULL },
    { "archive", "target_file_size", FL_CFG_SIZE, OFF(target_file_size),
      64 * KiB, 16 * GiB, "128MiB",
      "compaction merges an hour's files into files of about this size", NULL, 0, NULL },
    { "archive", "compact_after", FL_CFG_DURATION, OFF(compact_after), 0,
      366 * 86400, "1h",
      "an hour is compacted once it ended this long ago (later records still land, in a file of their own)", NULL, 0, NULL },
    { "archive", "compact_interval", FL_CFG_DURATION, OFF(compact_interval), 0,
      7 * 86400, "10m",
      "how often serve compacts and applies retention; 0 = never (flowlake compact still does)", NULL, 0, NULL },
    { "archive", "retention", FL_CFG_DURATION, OFF(retention), 0,
      UINT64_C(100) * 366 * 86400, "0",
      "hours that ended longer ago than this are deleted; 0 = keep everything", NULL, 0, NULL },
    { "wal", "dir", FL_CFG_DIR, OFF(wal_dir), 0, 0, "",
      "write-ahead log folder; empty = ARCHIVE/_flowlake/wal", NULL, 0, NULL },
    { "wal", "max_size", FL_CFG_SIZE, OFF(wal_max_size), 1 * MiB, 1024 * GiB,
      "4GiB", "write-ahead log ceiling on disk; when full, ingestion answers 503", NULL, 0, NULL },
    { "wal", "segment_size", FL_CFG_SIZE, OFF(wal_segment_size), 64 * KiB, 4 * GiB,
      "64MiB", "size at which a write-ahead log segment is rolled", NULL, 0, NULL },
    { "ui", "dashboards_dir", FL_CFG_DIR, OFF(ui_dashboards_dir), 0, 0, "",
      "folder of the dashboards saved from the web UI; empty = ARCHIVE/_flowlake/dashboards", NULL, 0, NULL },
    { "watch", "dir", FL_CFG_INDIR, OFF(watch_dir), 0, 0, "",
      "folder watched for new .log/.log.gz files; empty = none", NULL, 0, NULL },
    { "watch", "interval", FL_CFG_DURATION, OFF(watch_interval), 1, 86400, "5s",
      "how often the watched folder is scanned", NULL, 0, NULL },
    { "kafka", "brokers", FL_CFG_STRING, OFF(kafka_brokers), 0, 0, "",
      "bootstrap servers HOST:PORT,... of the Kafka cluster to consume; empty = no Kafka source", NULL, 0, NULL },
    { "kafka", "topics", FL_CFG_STRING, OFF(kafka_topics), 0, 0, "",
      "topics to consume, comma-separated", NULL, 0, NULL },
    { "kafka", "group", FL_CFG_STRING, OFF(kafka_group), 0, 0, "flowlake",
      "consumer group id: instances in one group share the partitions", NULL, 0, NULL },
    { "kafka", "format", FL_CFG_CHOICE, OFF(kafka_format), 0, 0, "auto",
      "what a message holds: lines (flow-log lines), cwl (a CloudWatch Logs subscription payload, gzip or not) or auto (cwl when gzip or JSON, else lines)",
      "auto|lines|cwl", 0, NULL },
    { "kafka", "batch_records", FL_CFG_COUNT, OFF(kafka_batch_records), 1,
      1000000, "50000",
      "messages made durable (and their offsets committed) together, at most; a batch also ends when the topic has nothing more for 100 ms", NULL, 0, NULL },
    { "kafka", "session_timeout", FL_CFG_DURATION, OFF(kafka_session_timeout),
      1, 3600, "45s",
      "the consumer group's session.timeout.ms: how long a silent instance keeps its partitions", NULL, 0, NULL },
    { "kafka", "options", FL_CFG_STRING, OFF(kafka_options), 0, 0, "",
      "more librdkafka settings, KEY=VALUE;KEY=VALUE (security.protocol, sasl.*, ssl.*)", NULL, 0, NULL },
    { "kafka", "dedupe_max_keys", FL_CFG_COUNT, OFF(kafka_dedupe_max_keys),
      1024, UINT64_C(100000000), "1000000",
      "message offsets remembered to skip redeliveries (about 32 bytes each), apart from server.dedupe_max_keys", NULL, 0, NULL },
    { "s3", "url", FL_CFG_STRING, OFF(s3_url), 0, 0, "",
      "s3://BUCKET/PREFIX/ the archive is copied to (same layout under the prefix); empty = no object store", NULL, 0, NULL },
    { "s3", "endpoint", FL_CFG_STRING, OFF(s3_endpoint), 0, 0, "",
      "http(s)://HOST[:PORT] of an S3-compatible store; empty = AWS's endpoint of s3.region", NULL, 0, NULL },
    { "s3", "region", FL_CFG_STRING, OFF(s3_region), 0, 0, "us-east-1",
      "the region the requests are signed for (AWS Signature Version 4)", NULL, 0, NULL },
    { "s3", "access_key_id", FL_CFG_STRING, OFF(s3_access_key), 0, 0, "",
      "access key id; empty = the environment's AWS_ACCESS_KEY_ID", NULL, 0, NULL },
    { "s3", "secret_access_key", FL_CFG_STRING, OFF(s3_secret_key), 0, 0, "",
      "secret access key; empty = the environment's AWS_SECRET_ACCESS_KEY", NULL, 0, NULL },
    { "s3", "session_token", FL_CFG_STRING, OFF(s3_session_token), 0, 0, "",
      "session token of temporary credentials; empty = the environment's AWS_SESSION_TOKEN, if set", NULL, 0, NULL },
    { "s3", "path_style", FL_CFG_BOOL, OFF(s3_path_style), 0, 1, "false",
      "address the bucket in the path (ENDPOINT/BUCKET/KEY: MinIO, s3rver, most S3-compatible stores) instead of the host name", NULL, 0, NULL },
    { "s3", "part_size", FL_CFG_SIZE, OFF(s3_part_size), 5 * MiB, 5 * GiB,
      "16MiB", "files larger than this go up in a multipart upload of parts of this size", NULL, 0, NULL },
    { "s3", "retries", FL_CFG_COUNT, OFF(s3_retries), 0, 100, "8",
      "times a request that failed for a passing reason (5xx, 429, timeout, connection) is tried again", NULL, 0, NULL },
    { "s3", "max_backoff", FL_CFG_DURATION, OFF(s3_max_backoff), 1, 3600, "20s",
      "the longest wait between two tries of a request (the wait doubles from 200 ms)", NULL, 0, NULL },
    { "s3", "timeout", FL_CFG_DURATION, OFF(s3_timeout), 1, 86400, "5m",
      "the longest one request (one file or one part) may take", NULL, 0, NULL },
    { "s3", "manifest_retention", FL_CFG_DURATION, OFF(s3_manifest_retention),
      0, UINT64_C(100) * 366 * 86400, "7d",
      "how long a change's manifest (PREFIX_flowlake/runs/) stays in the store; 0 = for ever", NULL, 0, NULL },
    { "query", "timeout", FL_CFG_DURATION, OFF(query_timeout), 1, 86400, "30s",
      "longest a query over HTTP may run", NULL, 0, NULL },
    { "query", "memory_limit", FL_CFG_STRING, OFF(query_memory_limit), 0, 0, "1GB",
      "DuckDB memory limit for queries over HTTP (its buffer manager)", NULL, 0, NULL },
    { "query", "max_memory", FL_CFG_SIZE, OFF(query_max_memory), 64 * MiB,
      1024 * GiB, "2GiB",
      "ceiling on all the memory of one query process over HTTP (huge strings and the records parsed from the buffered snapshot included); beyond it the query fails", NULL, 0, NULL },
    { "query", "max_concurrent", FL_CFG_COUNT, OFF(query_max_concurrent), 1, 256,
      "2", "queries over HTTP running at once; one more is answered 429 with Retry-After", NULL, 0, NULL },
    { "query", "max_result_bytes", FL_CFG_SIZE, OFF(query_max_result_bytes),
      1 * KiB, 4 * GiB, "64MiB",
      "largest result of a query over HTTP; a larger one fails (add a LIMIT)", NULL, 0, NULL },
    { "query", "slow_log", FL_CFG_DURATION, OFF(query_slow_log), 0, 86400, "5s",
      "a query over HTTP that runs this long or longer is logged with its SQL; 0 = none", NULL, 0, NULL },
    { "metrics", "file", FL_CFG_FILE, OFF(metrics_file), 0, 16 * MiB, "",
      "metrics file: CREATE METRIC statements (docs/metrics.md); empty = built-in metrics only", NULL, 0, NULL },
    { "metrics", "defaults", FL_CFG_BOOL, OFF(metrics_defaults), 0, 1, "true",
      "run the six built-in metrics (docs/metrics.md): rejected_tcp_packets, rejected_packets_by_protocol, records_in, traffic_by_action, top_talkers, top_rejected_sources", NULL, 0, NULL },
    { "metrics", "window", FL_CFG_DURATION, OFF(metrics_window), 1, 86400, "900s",
      "window length of a metric whose GROUP BY names no TUMBLE/STEP", NULL, 0, NULL },
    { "metrics", "time", FL_CFG_CHOICE, OFF(metrics_time), 0, 0, "start",
      "time a record's window is chosen by when a metric does not say: start, end or arrival",
      "start|end|arrival", 0, NULL },
    { "metrics", "allowed_lateness", FL_CFG_DURATION, OFF(metrics_lateness), 0,
      7 * 86400, "900s",
      "watermark = highest event time seen - this; a window is final once the watermark passes its end", NULL, 0, NULL },
    { "metrics", "distinct_exact_limit", FL_CFG_COUNT,
      OFF(metrics_distinct_exact), 16, 1000000, "1024",
      "COUNT(DISTINCT x) is exact up to this many values per group, a HyperLogLog beyond", NULL, 0, NULL },
    { "metrics", "max_groups", FL_CFG_COUNT, OFF(metrics_max_groups), 1,
      UINT64_C(1000000000), "2000000",
      "open groups per metric; rows of new groups beyond it are counted as dropped", NULL, 0, NULL },
    { "metrics", "persist_interval", FL_CFG_DURATION, OFF(metrics_persist), 1, 3600,
      "5s", "how often window state and final values are written to disk", NULL, 0, NULL },
    { "metrics", "max_future", FL_CFG_DURATION, OFF(metrics_max_future), 0,
      7 * 86400, "3600s",
      "event times further than this after arrival do not move the watermark (0 = no cap)", NULL, 0, NULL },
    { "metrics", "partials_retention", FL_CFG_DURATION,
      OFF(metrics_partials_retention), 0, 7 * 86400, "0",
      "how long a final window's partial state is kept after its end for GET /api/metrics/partials (merging several instances' metrics); 0 = not kept", NULL, 0, NULL },
    { "metrics", "prometheus_max_series", FL_CFG_COUNT,
      OFF(metrics_prometheus_max_series), 1, 10000000, "2000",
      "samples of the metrics on GET /metrics at most, shared evenly by the metrics; the largest values are kept", NULL, 0, NULL },
};

#define N_KEYS (sizeof keys / sizeof keys[0])


/* Whether a key's value is kept as text (a char * field). */
static int
is_text(enum fl_config_type k)
{
    return k == FL_CFG_STRING || k == FL_CFG_ADDR || k == FL_CFG_CHOICE || k == FL_CFG_FILE
        || k == FL_CFG_DIR || k == FL_CFG_INDIR;
}


static char **
str_field(struct fl_config *cfg, const struct fl_config_map *k)
{
    return (char **)((char *)cfg + k->offset);
}


static uint64_t *
num_field(struct fl_config *cfg, const struct fl_config_map *k)
{
    return (uint64_t *)((char *)cfg + k->offset);
}


/* ---- value parsers -------------------------------------------------- */

static int
parse_number(const char *s, uint64_t *out, const char **rest)
{
    char *end = NULL;
    if (*s < '0' || *s > '9')
        return FL_ECONFIG;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0)
        return FL_ECONFIG;
    *out = v;
    *rest = end;
    return FL_OK;
}


struct unit {
    const char *name;
    uint64_t    mult;
};


/* A number, optional blanks, then one of the units (exact spelling). */
static int
parse_with_units(const char *s, const struct unit *units, size_t n,
                 uint64_t *out)
{
    uint64_t v;
    const char *rest;
    if (parse_number(s, &v, &rest) < 0)
        return FL_ECONFIG;
    while (*rest == ' ')
        rest++;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rest, units[i].name) == 0) {
            if (v > UINT64_MAX / units[i].mult)
                return FL_ECONFIG;
            *out = v * units[i].mult;
            return FL_OK;
        }
    }
    return FL_ECONFIG;
}


int
fl_config_parse_size(const char *s, uint64_t *out)
{
    static const struct unit units[] = {
        { "", 1 }, { "B", 1 },
        { "KiB", KiB }, { "MiB", MiB }, { "GiB", GiB }, { "TiB", 1024 * GiB },
        { "KB", 1000 }, { "MB", 1000000 }, { "GB", 1000000000 },
        { "TB", UINT64_C(1000000000000) },
        { "K", KiB }, { "M", MiB }, { "G", GiB },
    };
    return parse_with_units(s, units, sizeof units / sizeof units[0], out);
}


int
fl_config_parse_duration(const char *s, uint64_t *out)
{
    static const struct unit units[] = {
        { "", 1 }, { "s", 1 }, { "m", 60 }, { "min", 60 }, { "h", 3600 },
        { "d", 86400 },
    };
    return parse_with_units(s, units, sizeof units / sizeof units[0], out);
}


/* HOST:PORT with a port in 1..65535; HOST may be [v6]. */
static int
check_addr(const char *s)
{
    const char *colon = strrchr(s, ':');
    uint64_t port;
    const char *rest;
    if (colon == NULL || colon == s)
        return FL_ECONFIG;
    if (s[0] == '[' && colon[-1] != ']')
        return FL_ECONFIG;
    if (parse_number(colon + 1, &port, &rest) < 0 || *rest != '\0'
        || port > 65535)
        return FL_ECONFIG;
    return FL_OK;
}


/* What a stat() mode is, for messages: "is %s, not a regular file". */
static const char *
file_type(mode_t m)
{
    if (S_ISDIR(m))  return "a folder";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISCHR(m))  return "a character device";
    if (S_ISBLK(m))  return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    if (S_ISREG(m))  return "a regular file";
    return "a special file";
}


static const char *
kind_hint(enum fl_config_type k)
{
    switch (k) {
    case FL_CFG_ADDR:     return "an address HOST:PORT (port 0-65535; 0 picks a free one)";
    case FL_CFG_SIZE:     return "a size such as 512KiB, 64MiB or 1GiB";
    case FL_CFG_DURATION: return "a duration such as 30s, 15m or 1h";
    case FL_CFG_COUNT:    return "a whole number";
    case FL_CFG_BOOL:     return "true or false";
    case FL_CFG_NUMBER:   return "a finite number";
    case FL_CFG_FILE:     return "a readable regular file";
    case FL_CFG_DIR:
    case FL_CFG_INDIR:    return "a folder";
    case FL_CFG_CHOICE:
    case FL_CFG_STRING:   break;
    }
    return "text";
}


static const struct fl_config_map *
find_key(const char *section, const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (strcmp(keys[i].section, section) == 0
            && strcmp(keys[i].name, name) == 0)
            return &keys[i];
    }
    return NULL;
}


static int
known_section(const char *section)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (strcmp(keys[i].section, section) == 0)
            return 1;
    }
    return 0;
}


int
fl_config_parse_bool(const char *s, int *out)
{
    static const char *const yes[] = { "true", "yes", "on", "1" };
    static const char *const no[] = { "false", "no", "off", "0" };
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = 1;
            return FL_OK;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = 0;
            return FL_OK;
        }
    }
    return FL_ECONFIG;
}


/* Whether value is one of the '|'-separated words of choices. */
static int
is_choice(const char *choices, const char *value)
{
    size_t n = strlen(value);
    for (const char *p = choices; *p != '\0';) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && n > 0 && memcmp(p, value, n) == 0)
            return 1;
        p += len + (bar != NULL);
    }
    return 0;
}


/* Replaces a text key's value with a copy of value. */
static int
set_string(struct fl_config *cfg, const struct fl_config_map *k, const char *value,
           char *err, size_t errlen)
{
    char *copy = fl_strdup(value);
    if (copy == NULL) {
        snprintf(err, errlen, FL_OOM_TEXT);
        return FL_ENOMEM;
    }
    fl_free(*str_field(cfg, k));
    *str_field(cfg, k) = copy;
    return FL_OK;
}


/* server.instance_id: "" or a valid id (core/fl_instance.h). */
static int
set_instance_id(void *obj, const struct fl_config_map *k, const char *value,
                char *msg, size_t msglen)
{
    if (value[0] != '\0' && !fl_instance_valid(value)) {
        snprintf(msg, msglen, "server.instance_id: '%s' is not 1 to %d of "
                 "A-Z a-z 0-9 and '-'", value, FL_INSTANCE_MAX);
        return FL_ECONFIG;
    }
    return set_string((struct fl_config *)obj, k, value, msg, msglen);
}


/* Applies one value; on error fills err (without position). */
static int
apply(struct fl_config *cfg, const struct fl_config_map *k, const char *value,
      char *err, size_t errlen)
{
    uint64_t v = 0;
    int rc = FL_OK;

    if (k->set != NULL)
        return k->set(cfg, k, value, err, errlen);
    switch (k->type) {
    case FL_CFG_NUMBER:         /* no field of its own: needs a setter */
        rc = FL_ECONFIG;
        break;
    case FL_CFG_STRING:
    case FL_CFG_FILE:
    case FL_CFG_DIR:
    case FL_CFG_INDIR:
    case FL_CFG_ADDR: {
        if (k->type == FL_CFG_ADDR && check_addr(value) < 0) {
            rc = FL_ECONFIG;
            break;
        }
        return set_string(cfg, k, value, err, errlen);
    }
    case FL_CFG_SIZE:
        rc = fl_config_parse_size(value, &v);
        break;
    case FL_CFG_DURATION:
        rc = fl_config_parse_duration(value, &v);
        break;
    case FL_CFG_COUNT: {
        const char *rest;
        rc = parse_number(value, &v, &rest);
        if (rc == 0 && *rest != '\0')
            rc = FL_ECONFIG;
        break;
    }
    case FL_CFG_BOOL: {
        int b = 0;
        rc = fl_config_parse_bool(value, &b);
        v = (uint64_t)b;
        break;
    }
    case FL_CFG_CHOICE:
        if (!is_choice(k->choices, value)) {
            snprintf(err, errlen, "%s.%s: '%s' is not one of %s", k->section,
                     k->name, value, k->choices);
            return FL_ECONFIG;
        }
        return set_string(cfg, k, value, err, errlen);
    }
    if (rc < 0) {
        snprintf(err, errlen, "%s.%s: '%s' is not %s", k->section, k->name,
                 value, kind_hint(k->type));
        return FL_ECONFIG;
    }
    if (v < k->min || v > k->max) {
        snprintf(err, errlen, "%s.%s: %s is out of range (%llu to %llu%s)",
                 k->section, k->name, value, (unsigned long long)k->min,
                 (unsigned long long)k->max,
                 k->type == FL_CFG_SIZE ? " bytes"
                 : k->type == FL_CFG_DURATION ? " seconds" : "");
        return FL_ECONFIG;
    }
    *num_field(cfg, k) = v;
    return FL_OK;
}


static void
free_section(struct fl_config_section *sec)
{
    for (size_t i = 0; i < sec->n; i++) {
        fl_free(sec->keys[i]);
        fl_free(sec->values[i]);
    }
    fl_free(sec->keys);
    fl_free(sec->values);
    fl_free(sec->lines);
    fl_free(sec->name);
    fl_free(sec->file);
    memset(sec, 0, sizeof *sec);
}


int
fl_config_init(struct fl_config *cfg)
{
    char err[256];
    memset(cfg, 0, sizeof *cfg);
    cfg->origin = fl_calloc(N_KEYS, sizeof *cfg->origin);
    if (cfg->origin == NULL)
        return FL_ENOMEM;
    for (size_t i = 0; i < N_KEYS; i++) {
        int rc = apply(cfg, &keys[i], keys[i].def, err, sizeof err);
        if (rc < 0) {
            fl_config_free(cfg);
            return rc == FL_ENOMEM ? FL_ENOMEM : FL_ECONFIG;
        }
    }
    return FL_OK;
}


void
fl_config_free(struct fl_config *cfg)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (is_text(keys[i].type)) {
            fl_free(*str_field(cfg, &keys[i]));
            *str_field(cfg, &keys[i]) = NULL;
        }
        if (cfg->origin != NULL)
            fl_free(cfg->origin[i]);
    }
    fl_free(cfg->origin);
    cfg->origin = NULL;
    for (size_t i = 0; i < cfg->n_alarm_sections; i++)
        free_section(&cfg->alarm_sections[i]);
    fl_free(cfg->alarm_sections);
    cfg->alarm_sections = NULL;
    cfg->n_alarm_sections = 0;
}


int
fl_config_set(struct fl_config *cfg, const char *key, const char *value,
              char *err, size_t errlen)
{
    const char *dot = strchr(key, '.');
    char section[64];
    if (dot == NULL || (size_t)(dot - key) >= sizeof section) {
        snprintf(err, errlen, "unknown key '%s'", key);
        return FL_ECONFIG;
    }
    memcpy(section, key, (size_t)(dot - key));
    section[dot - key] = '\0';
    const struct fl_config_map *k = find_key(section, dot + 1);
    if (k == NULL) {
        snprintf(err, errlen, "unknown key '%s'", key);
        return FL_ECONFIG;
    }
    int rc = apply(cfg, k, value, err, errlen);
    if (rc == 0 && cfg->origin != NULL) {
        /* No longer the file's value: no line to point at. */
        fl_free(cfg->origin[k - keys]);
        cfg->origin[k - keys] = NULL;
    }
    return rc;
}


/* ---- the INI loader -------------------------------------------------- */

struct load {
    struct fl_config        *cfg;
    struct fl_config_errors *errs;
    const char              *path;
    FILE                    *f;
    int                      line;
    uint64_t                 bytes;    /* read so far */
    int                      too_big;  /* passed FL_CONFIG_FILE_MAX */
    int                      oom;
};


/* Appends a copy of msg to errs. Returns 0 or FL_ENOMEM. */
static int
errors_push(struct fl_config_errors *errs, const char *msg)
{
    char **p = fl_realloc(errs->msg, (errs->n + 1) * sizeof *p);
    if (p == NULL)
        return FL_ENOMEM;
    errs->msg = p;
    if ((errs->msg[errs->n] = fl_strdup(msg)) == NULL)
        return FL_ENOMEM;
    errs->n++;
    return FL_OK;
}


static void
add_error(struct load *ld, int line, const char *msg)
{
    char buf[600];
    snprintf(buf, sizeof buf, "%s:%d: %s", ld->path, line, msg);
    if (errors_push(ld->errs, buf) < 0)
        ld->oom = 1;
}


static char *
read_line(char *str, int num, void *stream)
{
    struct load *ld = stream;
    if (ld->too_big)
        return NULL;
    char *r = fgets(str, num, ld->f);
    if (r != NULL) {
        ld->line++;
        /* The size was checked at open; this holds if the file grows. */
        ld->bytes += strlen(r);
        if (ld->bytes > FL_CONFIG_FILE_MAX) {
            ld->too_big = 1;
            return NULL;
        }
    }
    return r;
}


/* Prefix of the sections that define alarms: [alarm.NAME]. */
#define ALARM_SECTION "alarm."


/* Keeps one key of an [alarm.NAME] section, in a section entry of its own
 * (a section that appears twice continues the first). */
static void
add_alarm_key(struct load *ld, const char *name, const char *key,
              const char *value)
{
    struct fl_config *cfg = ld->cfg;
    struct fl_config_section *sec = NULL;
    for (size_t i = 0; i < cfg->n_alarm_sections; i++)
        if (strcmp(cfg->alarm_sections[i].name, name) == 0)
            sec = &cfg->alarm_sections[i];
    if (sec == NULL) {
        struct fl_config_section *p = fl_realloc(cfg->alarm_sections,
                (cfg->n_alarm_sections + 1) * sizeof *p);
        if (p == NULL) {
            ld->oom = 1;
            return;
        }
        cfg->alarm_sections = p;
        sec = &p[cfg->n_alarm_sections];
        memset(sec, 0, sizeof *sec);
        sec->name = fl_strdup(name);
        sec->file = fl_strdup(ld->path);
        sec->line = ld->line;
        if (sec->name == NULL || sec->file == NULL) {
            free_section(sec);
            ld->oom = 1;
            return;
        }
        cfg->n_alarm_sections++;
    }
    char **k = fl_realloc(sec->keys, (sec->n + 1) * sizeof *k);
    if (k != NULL)
        sec->keys = k;
    char **v = fl_realloc(sec->values, (sec->n + 1) * sizeof *v);
    if (v != NULL)
        sec->values = v;
    int *l = fl_realloc(sec->lines, (sec->n + 1) * sizeof *l);
    if (l != NULL)
        sec->lines = l;
    char *kc = fl_strdup(key), *vc = fl_strdup(value);
    if (k == NULL || v == NULL || l == NULL || kc == NULL || vc == NULL) {
        fl_free(kc);
        fl_free(vc);
        ld->oom = 1;
        return;
    }
    sec->keys[sec->n] = kc;
    sec->values[sec->n] = vc;
    sec->lines[sec->n] = ld->line;
    sec->n++;
}


static int
on_key(void *user, const char *section, const char *name, const char *value)
{
    struct load *ld = user;
    char err[512];

    if (strncmp(section, ALARM_SECTION, strlen(ALARM_SECTION)) == 0) {
        const char *alarm = section + strlen(ALARM_SECTION);
        if (alarm[0] == '\0')
            add_error(ld, ld->line, "[alarm.] needs a name: [alarm.NAME]");
        else
            add_alarm_key(ld, alarm, name, value);
        return 1;
    }
    const struct fl_config_map *k = find_key(section, name);

    if (k == NULL) {
        if (section[0] == '\0')
            snprintf(err, sizeof err, "'%s' is outside any [section]", name);
        else if (!known_section(section))
            snprintf(err, sizeof err, "unknown section [%s]", section);
        else
            snprintf(err, sizeof err, "unknown key '%s' in [%s]", name,
                     section);
        add_error(ld, ld->line, err);
        return 1;          /* keep going: report every problem at once */
    }
    if (apply(ld->cfg, k, value, err, sizeof err) < 0) {
        add_error(ld, ld->line, err);
    } else if (ld->cfg->origin != NULL) {
        char where[600];
        snprintf(where, sizeof where, "%s:%d", ld->path, ld->line);
        char *copy = fl_strdup(where);
        if (copy == NULL)
            ld->oom = 1;
        fl_free(ld->cfg->origin[k - keys]);
        ld->cfg->origin[k - keys] = copy;
    }
    return 1;
}


int
fl_config_load(struct fl_config *cfg, const char *path,
               struct fl_config_errors *errs)
{
    struct load ld = { .cfg = cfg, .errs = errs, .path = path };
    size_t before = errs->n;
    char why[600];
    int fd = -1, rc;

    /* What the path names is looked at before it is opened: a FIFO would
     * block the open, a device such as /dev/zero would never end. */
    struct stat st;
    if (stat(path, &st) < 0)
        return -errno;
    if (S_ISREG(st.st_mode)) {
        fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
            return -errno;
        if (fstat(fd, &st) < 0) {
            rc = -errno;
            close(fd);
            return rc;
        }
    }
    if (!S_ISREG(st.st_mode) || st.st_size > (off_t)FL_CONFIG_FILE_MAX) {
        if (!S_ISREG(st.st_mode))
            snprintf(why, sizeof why, "%s: is %s, not a regular file", path,
                     file_type(st.st_mode));
        else
            snprintf(why, sizeof why, "%s: is larger than %llu bytes; not a "
                     "configuration file", path,
                     (unsigned long long)FL_CONFIG_FILE_MAX);
        if (fd >= 0)
            close(fd);
        return errors_push(errs, why) < 0 ? FL_ENOMEM : FL_ECONFIG;
    }
    if ((ld.f = fdopen(fd, "r")) == NULL) {
        rc = -errno;
        close(fd);
        return rc;
    }
    rc = ini_parse_stream(read_line, &ld, on_key, &ld);
    fclose(ld.f);
    if (ld.too_big) {
        snprintf(why, sizeof why, "%s: is larger than %llu bytes; not a "
                 "configuration file", path,
                 (unsigned long long)FL_CONFIG_FILE_MAX);
        if (errors_push(errs, why) < 0)
            ld.oom = 1;
    } else if (rc > 0) {
        /* A line inih itself could not parse (e.g. "[section" or a line
         * without '='); its handler was never called for it. */
        add_error(&ld, rc, "syntax error (expected [section], key = value, "
                  "or a ; or # comment)");
    } else if (rc < 0) {
        return FL_ENOMEM;
    }
    if (ld.oom)
        return FL_ENOMEM;
    return errs->n > before ? FL_ECONFIG : FL_OK;
}


void
fl_config_errors_free(struct fl_config_errors *errs)
{
    for (size_t i = 0; i < errs->n; i++)
        fl_free(errs->msg[i]);
    fl_free(errs->msg);
    errs->msg = NULL;
    errs->n = 0;
}


static void
write_size(FILE *out, uint64_t v)
{
    if (v % GiB == 0)
        fprintf(out, "%lluGiB", (unsigned long long)(v / GiB));
    else if (v % MiB == 0)
        fprintf(out, "%lluMiB", (unsigned long long)(v / MiB));
    else if (v % KiB == 0)
        fprintf(out, "%lluKiB", (unsigned long long)(v / KiB));
    else
        fprintf(out, "%llu", (unsigned long long)v);
}


void
fl_config_write(const struct fl_config *cfg_in, FILE *out)
{
    struct fl_config *cfg = (struct fl_config *)(uintptr_t)cfg_in;
    const char *section = "";
    fprintf(out, "# flowlake configuration (docs/config.md)\n");
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct fl_config_map *k = &keys[i];
        if (strcmp(section, k->section) != 0) {
            fprintf(out, "\n[%s]\n", k->section);
            section = k->section;
        }
        fprintf(out, "# %s\n%s = ", k->doc, k->name);
        switch (k->type) {
        case FL_CFG_STRING:
        case FL_CFG_FILE:
        case FL_CFG_DIR:
        case FL_CFG_INDIR:
        case FL_CFG_ADDR:
            fprintf(out, "%s", *str_field(cfg, k) ? *str_field(cfg, k) : "");
            break;
        case FL_CFG_SIZE:
            write_size(out, *num_field(cfg, k));
            break;
        case FL_CFG_DURATION:
            fprintf(out, "%llus", (unsigned long long)*num_field(cfg, k));
            break;
        case FL_CFG_COUNT:
            fprintf(out, "%llu", (unsigned long long)*num_field(cfg, k));
            break;
        case FL_CFG_BOOL:
            fputs(*num_field(cfg, k) ? "true" : "false", out);
            break;
        case FL_CFG_CHOICE:
            fprintf(out, "%s", *str_field(cfg, k));
            break;
        case FL_CFG_NUMBER:
            break;
        }
        fputc('\n', out);
    }
}


const struct fl_config_map *
fl_config_map_find(const struct fl_config_map *map, size_t n,
                   const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(map[i].name, name) == 0)
            return &map[i];
    return NULL;
}


void
fl_config_map_write(const struct fl_config_map *map, size_t n, int commented,
                    FILE *out)
{
    const char *c = commented ? "#" : "";
    for (size_t i = 0; i < n; i++) {
        const struct fl_config_map *k = &map[i];
        if (i == 0 || strcmp(map[i - 1].section, k->section) != 0)
            fprintf(out, "\n%s[%s]\n", c, k->section);
        /* A key without a default says why: it is required, or its
         * default follows from other keys (the doc line tells how). */
        fprintf(out, "# %s%s%s\n%s%s = %s\n", k->doc,
                k->flags & FL_CFG_REQUIRED ? " (required)" : "",
                k->flags & FL_CFG_MULTI ? " (may be repeated)" : "", c,
                k->name, k->def != NULL ? k->def : "");
    }
}


int
fl_config_key(size_t i, const char **section, const char **name)
{
    if (i >= N_KEYS)
        return 0;
    *section = keys[i].section;
    *name = keys[i].name;
    return 1;
}


/* ---- checks of what the values name ------------------------------------ */

int
fl_config_errors_add(struct fl_config_errors *errs,
                     const struct fl_config *cfg, const char *key,
                     const char *fmt, ...)
{
    char msg[700], line[1024];
    const char *where = NULL;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (size_t i = 0; key != NULL && cfg->origin != NULL && i < N_KEYS;
         i++) {
        size_t n = strlen(keys[i].section);
        if (strncmp(key, keys[i].section, n) == 0 && key[n] == '.'
            && strcmp(key + n + 1, keys[i].name) == 0)
            where = cfg->origin[i];
    }
    /* A message that starts with the key's name already says it. */
    const char *sep = ": ";
    if (key != NULL && strncmp(msg, key, strlen(key)) == 0)
        key = "", sep = "";
    if (key == NULL)
        snprintf(line, sizeof line, "%s", msg);
    else if (where != NULL)
        snprintf(line, sizeof line, "%s: %s%s%s", where, key, sep, msg);
    else
        snprintf(line, sizeof line, "%s%s%s", key, sep, msg);
    return errors_push(errs, line);
}


int
fl_config_check_file(const char *path, uint64_t max, char *err,
                     size_t errlen)
{
    struct stat st;
    int fd, rc = FL_OK;

    /* stat() first: opening a device can have effects of its own, and
     * opening a FIFO for reading waits for a writer. */
    if (stat(path, &st) < 0) {
        snprintf(err, errlen, "cannot read %s: %s", path,
                 fl_strerror(-errno));
        return FL_ECONFIG;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is %s, not a regular file", path,
                 file_type(st.st_mode));
        return FL_ECONFIG;
    }
    /* Readable by this process (its permissions, not just the mode bits);
     * O_NONBLOCK in case it was swapped for a FIFO meanwhile. */
    if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) < 0) {
        snprintf(err, errlen, "cannot read %s: %s", path,
                 fl_strerror(-errno));
        return FL_ECONFIG;
    }
    if (fstat(fd, &st) < 0) {
        snprintf(err, errlen, "cannot read %s: %s", path,
                 fl_strerror(-errno));
        rc = FL_ECONFIG;
    } else if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is %s, not a regular file", path,
                 file_type(st.st_mode));
        rc = FL_ECONFIG;
    } else if (max > 0 && (uint64_t)st.st_size > max) {
        snprintf(err, errlen, "%s is larger than %llu bytes", path,
                 (unsigned long long)max);
        rc = FL_ECONFIG;
    }
    close(fd);
    return rc;
}


/* A folder the server writes to: a writable folder, or a path whose
 * nearest existing parent is a writable folder (it is created at start). */
static int
check_dir_writable(const char *path, char *err, size_t errlen)
{
    struct stat st;
    char *parent = NULL;
    int rc = FL_OK;

    if (stat(path, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "%s is %s, not a folder", path,
                     file_type(st.st_mode));
            return FL_ECONFIG;
        }
        if (access(path, W_OK | X_OK) < 0) {
            snprintf(err, errlen, "%s is not writable: %s", path,
                     fl_strerror(-errno));
            return FL_ECONFIG;
        }
        return FL_OK;
    }
    if (errno != ENOENT) {
        snprintf(err, errlen, "cannot use %s: %s", path, fl_strerror(-errno));
        return FL_ECONFIG;
    }
    if ((parent = fl_strdup(path)) == NULL)
        return FL_ENOMEM;
    for (;;) {
        /* Up one level: cut trailing slashes, then the last name. */
        size_t n = strlen(parent);
        while (n > 1 && parent[n - 1] == '/')
            parent[--n] = '\0';
        char *slash = strrchr(parent, '/');
        if (slash == NULL) {
            parent[0] = '.';        /* path has a name: room for "." */
            parent[1] = '\0';
        }
        else if (slash == parent)
            parent[1] = '\0';
        else
            *slash = '\0';
        if (stat(parent, &st) == 0) {
            if (!S_ISDIR(st.st_mode)) {
                snprintf(err, errlen, "cannot create %s: %s is %s, not a "
                         "folder", path, parent, file_type(st.st_mode));
                rc = FL_ECONFIG;
            } else if (access(parent, W_OK | X_OK) < 0) {
                snprintf(err, errlen, "cannot create %s: %s is not writable: "
                         "%s", path, parent, fl_strerror(-errno));
                rc = FL_ECONFIG;
            }
            break;
        }
        if (errno != ENOENT || strcmp(parent, "/") == 0
            || strcmp(parent, ".") == 0) {
            snprintf(err, errlen, "cannot create %s: %s: %s", path, parent,
                     fl_strerror(-errno));
            rc = FL_ECONFIG;
            break;
        }
    }
    fl_free(parent);
    return rc;
}


/* A folder the server only reads (watch.dir): if it exists, a folder this
 * process can list. A missing one is fine: it is waited for. */
static int
check_dir_readable(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        if (errno == ENOENT)
            return FL_OK;
        snprintf(err, errlen, "cannot use %s: %s", path, fl_strerror(-errno));
        return FL_ECONFIG;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is %s, not a folder", path,
                 file_type(st.st_mode));
        return FL_ECONFIG;
    }
    if (access(path, R_OK | X_OK) < 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, fl_strerror(-errno));
        return FL_ECONFIG;
    }
    return FL_OK;
}


int
fl_config_check(const struct fl_config *cfg_in, struct fl_config_errors *errs)
{
    struct fl_config *cfg = (struct fl_config *)(uintptr_t)cfg_in;
    size_t before = errs->n;
    char err[600], key[128];

    for (size_t i = 0; i < N_KEYS; i++) {
        const struct fl_config_map *k = &keys[i];
        const char *v;
        int rc = FL_OK;
        if (k->type != FL_CFG_FILE && k->type != FL_CFG_DIR
            && k->type != FL_CFG_INDIR)
            continue;
        v = *str_field(cfg, k);
        snprintf(key, sizeof key, "%s.%s", k->section, k->name);
        if (v[0] == '\0') {
            if (k->type == FL_CFG_DIR && k->min > 0) {
                snprintf(err, sizeof err, "must name a folder");
                rc = FL_ECONFIG;
            }
        } else if (k->type == FL_CFG_FILE) {
            rc = fl_config_check_file(v, k->max, err, sizeof err);
        } else if (k->type == FL_CFG_DIR) {
            rc = check_dir_writable(v, err, sizeof err);
        } else {
            rc = check_dir_readable(v, err, sizeof err);
        }
        if (rc == FL_ENOMEM)
            return FL_ENOMEM;
        if (rc < 0 && fl_config_errors_add(errs, cfg, key, "%s", err) < 0)
            return FL_ENOMEM;
    }

    /* Keys that go together. */
    if ((cfg->tls_cert[0] == '\0') != (cfg->tls_key[0] == '\0')) {
        int cert = cfg->tls_cert[0] != '\0';
        if (fl_config_errors_add(errs, cfg,
                cert ? "server.tls_cert" : "server.tls_key",
                "%s and %s go together: set both, or neither (%s is not "
                "set)", cert ? "server.tls_cert" : "server.tls_key",
                cert ? "server.tls_key" : "server.tls_cert",
                cert ? "server.tls_key" : "server.tls_cert") < 0)
            return FL_ENOMEM;
    }
    return errs->n > before ? FL_ECONFIG : FL_OK;
}


/* Where "FILE:LINE: ..." points: the length of FILE and LINE, or 0 when
 * msg has no such prefix. FILE may hold ':' itself: the first ":DIGITS:"
 * ends it. */
static size_t
error_position(const char *msg, long *line)
{
    for (const char *p = strchr(msg, ':'); p != NULL; p = strchr(p + 1, ':')) {
        const char *d = p + 1;
        long v = 0;
        while (*d >= '0' && *d <= '9' && v < 100000000)
            v = v * 10 + (*d++ - '0');
        if (d > p + 1 && *d == ':') {
            *line = v;
            return (size_t)(p - msg);
        }
    }
    return 0;
}


/* 1 when a sorts after b. */
static int
error_after(const char *a, const char *b)
{
    long la = 0, lb = 0;
    size_t na = error_position(a, &la), nb = error_position(b, &lb);
    if (na == 0 || nb == 0)
        return na == 0 && nb != 0;
    int c = strncmp(a, b, na < nb ? na : nb);
    if (c == 0 && na != nb)
        c = na < nb ? -1 : 1;
    return c > 0 || (c == 0 && la > lb);
}


void
fl_config_errors_sort(struct fl_config_errors *errs)
{
    /* Insertion sort: stable, and the lists are short. */
    for (size_t i = 1; i < errs->n; i++) {
        char *m = errs->msg[i];
        size_t j = i;
        while (j > 0 && error_after(errs->msg[j - 1], m)) {
            errs->msg[j] = errs->msg[j - 1];
            j--;
        }
        errs->msg[j] = m;
    }
}
