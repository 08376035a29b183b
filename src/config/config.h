/* SPDX-License-Identifier: MIT
 *
 * config.h -- flowlake's configuration: one INI file (parsed by Debian's
 * libinih), every key typed, range-checked and documented in one table
 * (config.c), command-line flags applied on top with the same checks.
 *
 *   [server]   listen, threads, tls_cert, tls_key, max_body,
 *              max_decompressed, max_compression_ratio, max_line,
 *              dedupe_horizon, dedupe_max_keys, dedupe_wait,
 *              ingest_key(_file), read_key(_file), admin_key(_file),
 *              allow_unauthenticated,
 *              max_connections, max_connections_per_ip, idle_timeout,
 *              max_inflight_bytes, instance_id
 *   [firehose] access_key, access_key_file
 *   [archive]  dir, buffer_interval, buffer_size, target_file_size,
 *              compact_after, compact_interval, retention
 *   [wal]      dir, max_size, segment_size
 *   [ui]       dashboards_dir
 *   [watch]    dir, interval
 *   [kafka]    brokers, topics, group, format, batch_records,
 *              session_timeout, options, dedupe_max_keys
 *   [s3]       url, endpoint, region, access_key_id, secret_access_key,
 *              session_token, path_style, part_size, retries,
 *              max_backoff, timeout, manifest_retention
 *   [query]    timeout, memory_limit, max_memory, max_concurrent,
 *              max_result_bytes
 *   [metrics]  file, defaults, window, time, allowed_lateness,
 *              distinct_exact_limit, max_groups, persist_interval,
 *              max_future, partials_retention
 *   [alarm.NAME] one section per alarm: its keys are collected as they
 *              are (struct fl_config_section) and checked by the alarm
 *              module (alarm/alarm.h), which knows what they mean; its
 *              key table (fl_alarm_config_map) is a struct fl_config_map
 *              table like the one of the sections above
 *
 * Sizes take B, KiB, MiB, GiB (and KB, MB, GB as powers of ten); durations
 * take s, m, h, d (a bare number is seconds). Every key is described in
 * docs/config.md; `flowlake config defaults` prints a commented file with
 * every key at its default.
 *
 * Thread: load once in main(); read-only afterwards.
 */
#ifndef FL_CONFIG_FILE_H
#define FL_CONFIG_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../core/fl_compiler.h"

struct fl_config {
    char    *listen;            /* server.listen: "ADDR:PORT" */
    uint64_t threads;           /* server.threads: HTTP worker threads */
    char    *tls_cert;          /* server.tls_cert: PEM file, "" = no TLS */
    char    *tls_key;           /* server.tls_key */
    uint64_t max_body;          /* server.max_body, bytes */
    uint64_t max_decompressed;  /* server.max_decompressed, bytes */
    uint64_t max_compression_ratio; /* server.max_compression_ratio */
    uint64_t max_line;          /* server.max_line, bytes */
    uint64_t dedupe_horizon;    /* server.dedupe_horizon, seconds */
    uint64_t dedupe_max_keys;   /* server.dedupe_max_keys */
    uint64_t dedupe_wait;       /* server.dedupe_wait, seconds */
    char    *access_key;        /* firehose.access_key, "" = not checked */
    char    *access_key_file;   /* firehose.access_key_file, "" = none */
    char    *ingest_key;        /* server.ingest_key: Bearer on /cwl, /ingest */
    char    *ingest_key_file;   /* server.ingest_key_file */
    char    *read_key;          /* server.read_key: Bearer on /api/..., /metrics */
    char    *read_key_file;     /* server.read_key_file */
    char    *admin_key;         /* server.admin_key: Bearer on PUT/DELETE /api/dashboards/... */
    char    *admin_key_file;    /* server.admin_key_file */
    uint64_t allow_unauthenticated; /* server.allow_unauthenticated: 1/0 */
    uint64_t max_connections;   /* server.max_connections */
    uint64_t max_connections_per_ip; /* server.max_connections_per_ip */
    uint64_t idle_timeout;      /* server.idle_timeout, seconds */
    uint64_t max_inflight_bytes;/* server.max_inflight_bytes, bytes */
    char    *instance_id;       /* server.instance_id, "" = the host name */
    char    *log_format;        /* server.log_format: text or json */
    char    *log_level;         /* server.log_level: debug, info, warn, error */
    char    *archive_dir;       /* archive.dir */
    uint64_t buffer_interval;   /* archive.buffer_interval, seconds */
    uint64_t buffer_size;       /* archive.buffer_size, bytes */
    uint64_t target_file_size;  /* archive.target_file_size, bytes */
    uint64_t compact_after;     /* archive.compact_after, seconds */
    uint64_t compact_interval;  /* archive.compact_interval, seconds, 0 = off */
    uint64_t retention;         /* archive.retention, seconds, 0 = forever */
    char    *wal_dir;           /* wal.dir, "" = ARCHIVE/_flowlake/wal */
    uint64_t wal_max_size;      /* wal.max_size, bytes */
    uint64_t wal_segment_size;  /* wal.segment_size, bytes */
    char    *ui_dashboards_dir; /* ui.dashboards_dir, "" = ARCHIVE/_flowlake/dashboards */
    char    *watch_dir;         /* watch.dir, "" = no folder source */
    uint64_t watch_interval;    /* watch.interval, seconds */
    char    *kafka_brokers;     /* kafka.brokers, "" = no Kafka source */
    char    *kafka_topics;      /* kafka.topics, comma-separated */
    char    *kafka_group;       /* kafka.group */
    char    *kafka_format;      /* kafka.format: auto, lines or cwl */
    uint64_t kafka_batch_records; /* kafka.batch_records */
    uint64_t kafka_session_timeout; /* kafka.session_timeout, seconds */
    char    *kafka_options;     /* kafka.options: librdkafka k=v;k=v */
    uint64_t kafka_dedupe_max_keys; /* kafka.dedupe_max_keys */
    char    *s3_url;            /* s3.url, "" = no object store */
    char    *s3_endpoint;       /* s3.endpoint, "" = AWS's */
    char    *s3_region;         /* s3.region */
    char    *s3_access_key;     /* s3.access_key_id, "" = environment */
    char    *s3_secret_key;     /* s3.secret_access_key, "" = environment */
    char    *s3_session_token;  /* s3.session_token, "" = environment */
    uint64_t s3_path_style;     /* s3.path_style: 1/0 */
    uint64_t s3_part_size;      /* s3.part_size, bytes */
    uint64_t s3_retries;        /* s3.retries */
    uint64_t s3_max_backoff;    /* s3.max_backoff, seconds */
    uint64_t s3_timeout;        /* s3.timeout, seconds */
    uint64_t s3_manifest_retention; /* s3.manifest_retention, seconds */
    uint64_t query_timeout;     /* query.timeout, seconds */
    char    *query_memory_limit;/* query.memory_limit, DuckDB syntax */
    uint64_t query_max_memory;  /* query.max_memory, bytes: the worker's ceiling */
    uint64_t query_max_concurrent; /* query.max_concurrent */
    uint64_t query_max_result_bytes; /* query.max_result_bytes */
    uint64_t query_slow_log;    /* query.slow_log, seconds, 0 = off */
    char    *metrics_file;      /* metrics.file, "" = defaults only */
    uint64_t metrics_defaults;  /* metrics.defaults: 1 = built-in metrics on */
    uint64_t metrics_window;    /* metrics.window, seconds */
    char    *metrics_time;      /* metrics.time: start, end or arrival */
    uint64_t metrics_lateness;  /* metrics.allowed_lateness, seconds */
    uint64_t metrics_distinct_exact; /* metrics.distinct_exact_limit */
    uint64_t metrics_max_groups;/* metrics.max_groups */
    uint64_t metrics_persist;   /* metrics.persist_interval, seconds */
    uint64_t metrics_max_future;/* metrics.max_future, seconds, 0 = no cap */
    uint64_t metrics_partials_retention; /* metrics.partials_retention, s */
    uint64_t metrics_prometheus_max_series; /* metrics.prometheus_max_series */
    struct fl_config_section *alarm_sections;   /* [alarm.NAME], file order */
    size_t   n_alarm_sections;
    /* Where each key of the table was last set from a file, "FILE:LINE"
     * (owned), NULL for a default or a flag: fl_config_check() names the
     * line of a value it refuses. Indexed like the key table. */
    char   **origin;
};

/* ---- the key tables ---------------------------------------------------
 *
 * Every key of every section is described once, in a table of struct
 * fl_config_map (after Fluent Bit's config_map): its name, type, default,
 * bounds, one line of documentation, and where its value goes -- an
 * offset into the struct the table fills, or a setter for a value that
 * needs more than its type's parse. Loading, `config check`, `config
 * defaults` and the documentation tests all read the same tables: the
 * sections above (config.c) fill struct fl_config; the [alarm.NAME] keys
 * (alarm/defs.c, fl_alarm_config_map()) fill struct fl_alarm_def. */
enum fl_config_type {
    FL_CFG_STRING,     /* any text, "" allowed */
    FL_CFG_ADDR,       /* HOST:PORT */
    FL_CFG_SIZE,       /* bytes with an optional unit */
    FL_CFG_DURATION,   /* seconds with an optional unit */
    FL_CFG_COUNT,      /* plain integer */
    FL_CFG_BOOL,       /* true/false, yes/no, on/off, 1/0 (stored as 1/0) */
    FL_CFG_CHOICE,     /* one of the words in `choices` */
    FL_CFG_FILE,       /* a readable regular file, "" = none; max = size cap
                        * in bytes (0 = any) */
    FL_CFG_DIR,        /* a folder written to: exists writable or can be
                        * created; min = 1: "" is not allowed */
    FL_CFG_INDIR,      /* a folder read, "" = none: if it exists, a readable
                        * folder (it may appear later) */
    FL_CFG_NUMBER      /* a finite decimal number (set by a setter) */
};

/* fl_config_map.flags */
#define FL_CFG_REQUIRED 1u   /* no default: a section must give it */
#define FL_CFG_MULTI    2u   /* may be given more than once */

struct fl_config_map {
    const char         *section;  /* "server", ...; "alarm.NAME" */
    const char         *name;
    enum fl_config_type type;
    size_t              offset;   /* of the value in the struct filled */
    uint64_t            min, max; /* for sizes, durations, counts */
    const char         *def;      /* default as written in a file; NULL:
                                   * none (required, or said in doc) */
    const char         *doc;      /* one line for `config defaults` */
    const char         *choices;  /* FL_CFG_CHOICE: "a|b|c" */
    unsigned            flags;    /* FL_CFG_REQUIRED, FL_CFG_MULTI */
    /* NULL: the value is parsed by its type into the field at offset.
     * Else sets the value into obj (the struct filled) and returns 0,
     * FL_ECONFIG with the reason in msg (starting with the key's name,
     * without FILE:LINE), or FL_ENOMEM. */
    int (*set)(void *obj, const struct fl_config_map *k, const char *value,
               char *msg, size_t msglen);
};

/* The entry of map[0..n) named name, or NULL. */
const struct fl_config_map *fl_config_map_find(const struct fl_config_map *map,
                                               size_t n, const char *name);

/* Writes map[0..n) at its defaults as a section of a configuration file:
 * "[SECTION]", then "# doc" and "name = default" for every key. commented:
 * every line starts with '#', so that the text shows the keys of a
 * section there is none of by default (an [alarm.NAME] example) and
 * loads as nothing. */
void fl_config_map_write(const struct fl_config_map *map, size_t n,
                         int commented, FILE *out);

/* The keys of one [alarm.NAME] section, as written, in file order. */
struct fl_config_section {
    char   *name;              /* NAME (after "alarm.") */
    char   *file;              /* the file it came from */
    int     line;              /* of the [alarm.NAME] header's first key */
    size_t  n;
    char  **keys;
    char  **values;
    int    *lines;             /* line of each key */
};

/* Error list filled by the loaders: each entry "FILE:LINE: message". */
struct fl_config_errors {
    char   **msg;
    size_t   n;
};

/* Sets every key to its default. Returns 0 or -ENOMEM. */
int  fl_config_init(struct fl_config *cfg);
void fl_config_free(struct fl_config *cfg);

/* Loads an INI file over the current values. Every problem (syntax,
 * unknown section or key, bad value) is added to errs with its line;
 * returns 0 when there was none, FL_ECONFIG when there was, -errno when
 * the file cannot be opened. A path that is not a regular file (a FIFO,
 * a device, a folder) or is larger than FL_CONFIG_FILE_MAX is refused at
 * once with FL_ECONFIG and the reason in errs -- never waited on. */
int  fl_config_load(struct fl_config *cfg, const char *path,
                    struct fl_config_errors *errs);

/* Sets one key ("section.name") from a flag; on a bad value returns
 * FL_ECONFIG and puts the reason in err. */
int  fl_config_set(struct fl_config *cfg, const char *key, const char *value,
                   char *err, size_t errlen);

/* Writes a commented INI file with every key at its current value. */
void fl_config_write(const struct fl_config *cfg, FILE *out);

/* The i-th documented key (for docs and tests): returns 1 and its
 * section and name, or 0 past the last key. */
int  fl_config_key(size_t i, const char **section, const char **name);

void fl_config_errors_free(struct fl_config_errors *errs);

/* Adds "FILE:LINE: KEY: message" to errs, FILE:LINE being where key
 * ("section.name") was set; "KEY: message" when it was not set from a
 * file; just the message when key is NULL (it names its place itself;
 * cfg is not read then and may be NULL).
 * A message that starts with KEY is not given it twice. The message is
 * printf-formatted. Returns 0 or FL_ENOMEM. */
int  fl_config_errors_add(struct fl_config_errors *errs,
                          const struct fl_config *cfg, const char *key,
                          const char *fmt, ...) FL_PRINTF(4, 5);

/* Orders errs by file, then line ("FILE:LINE: ..."), keeping the order
 * of entries on the same line; entries without a line go last, in their
 * order. So a listing reads top to bottom whichever check found what. */
void fl_config_errors_sort(struct fl_config_errors *errs);

/* What loading cannot see: checks the file system and the keys that go
 * together, as `serve` needs them at start, and adds every problem to
 * errs with the line of the key it is about:
 *   - files (tls_cert, tls_key, metrics.file, ...): a readable regular
 *     file within the key's size cap -- opened with O_NONBLOCK and never
 *     read, so a FIFO or a device is refused at once, not waited on;
 *   - folders written to (archive.dir, wal.dir): a writable folder, or
 *     one that can be created (its nearest existing parent is writable);
 *   - folders read (watch.dir): a readable folder if it exists (serve
 *     waits for it to appear);
 *   - server.tls_cert and server.tls_key: both or neither.
 * Returns 0, FL_ECONFIG when it added a problem, FL_ENOMEM. */
int  fl_config_check(const struct fl_config *cfg,
                     struct fl_config_errors *errs);

/* Checks that path names a regular file this process can open for
 * reading, of at most max bytes (0 = any), without blocking (O_NONBLOCK,
 * fstat; nothing is read). Returns 0, or FL_ECONFIG with the reason,
 * starting with the path, in err. */
int  fl_config_check_file(const char *path, uint64_t max, char *err,
                          size_t errlen);

/* The largest configuration file read (1 MiB): anything bigger is a
 * mistake, such as a log file named by accident. */
#define FL_CONFIG_FILE_MAX (UINT64_C(1) << 20)

/* Parsers shared with command-line flags. Return 0 or FL_ECONFIG. */
int  fl_config_parse_size(const char *s, uint64_t *out);
int  fl_config_parse_duration(const char *s, uint64_t *out_seconds);
/* true/false, yes/no, on/off, 1/0 -> 1 or 0. */
int  fl_config_parse_bool(const char *s, int *out);

#endif /* FL_CONFIG_FILE_H */
