/* SPDX-License-Identifier: MIT
 *
 * config.h -- flowlake's configuration: one INI file (parsed by Debian's
 * libinih), every key typed, range-checked and documented in one table
 * (config.c), command-line flags applied on top with the same checks.
 *
 *   [server]   listen, threads, tls_cert, tls_key, max_body,
 *              max_decompressed, max_line, ingest_key(_file),
 *              read_key(_file), allow_unauthenticated, max_connections,
 *              max_connections_per_ip, idle_timeout, max_inflight_bytes
 *   [firehose] access_key, access_key_file
 *   [archive]  dir, buffer_interval, buffer_size
 *   [wal]      dir, max_size, segment_size
 *   [watch]    dir, interval
 *   [query]    timeout, memory_limit
 *   [metrics]  file, defaults, window, time, allowed_lateness,
 *              distinct_exact_limit, max_groups, persist_interval,
 *              max_future
 *   [alarm.NAME] one section per alarm: its keys are collected as they
 *              are (struct fl_config_section) and checked by the alarm
 *              module (alarm/alarm.h), which knows what they mean
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

struct fl_config {
    char    *listen;            /* server.listen: "ADDR:PORT" */
    uint64_t threads;           /* server.threads: HTTP worker threads */
    char    *tls_cert;          /* server.tls_cert: PEM file, "" = no TLS */
    char    *tls_key;           /* server.tls_key */
    uint64_t max_body;          /* server.max_body, bytes */
    uint64_t max_decompressed;  /* server.max_decompressed, bytes */
    uint64_t max_line;          /* server.max_line, bytes */
    char    *access_key;        /* firehose.access_key, "" = not checked */
    char    *access_key_file;   /* firehose.access_key_file, "" = none */
    char    *ingest_key;        /* server.ingest_key: Bearer on /cwl, /ingest */
    char    *ingest_key_file;   /* server.ingest_key_file */
    char    *read_key;          /* server.read_key: Bearer on /api/..., /metrics */
    char    *read_key_file;     /* server.read_key_file */
    uint64_t allow_unauthenticated; /* server.allow_unauthenticated: 1/0 */
    uint64_t max_connections;   /* server.max_connections */
    uint64_t max_connections_per_ip; /* server.max_connections_per_ip */
    uint64_t idle_timeout;      /* server.idle_timeout, seconds */
    uint64_t max_inflight_bytes;/* server.max_inflight_bytes, bytes */
    char    *archive_dir;       /* archive.dir */
    uint64_t buffer_interval;   /* archive.buffer_interval, seconds */
    uint64_t buffer_size;       /* archive.buffer_size, bytes */
    char    *wal_dir;           /* wal.dir, "" = ARCHIVE/_flowlake/wal */
    uint64_t wal_max_size;      /* wal.max_size, bytes */
    uint64_t wal_segment_size;  /* wal.segment_size, bytes */
    char    *watch_dir;         /* watch.dir, "" = no folder source */
    uint64_t watch_interval;    /* watch.interval, seconds */
    uint64_t query_timeout;     /* query.timeout, seconds */
    char    *query_memory_limit;/* query.memory_limit, DuckDB syntax */
    char    *metrics_file;      /* metrics.file, "" = defaults only */
    uint64_t metrics_defaults;  /* metrics.defaults: 1 = built-in metrics on */
    uint64_t metrics_window;    /* metrics.window, seconds */
    char    *metrics_time;      /* metrics.time: start, end or arrival */
    uint64_t metrics_lateness;  /* metrics.allowed_lateness, seconds */
    uint64_t metrics_distinct_exact; /* metrics.distinct_exact_limit */
    uint64_t metrics_max_groups;/* metrics.max_groups */
    uint64_t metrics_persist;   /* metrics.persist_interval, seconds */
    uint64_t metrics_max_future;/* metrics.max_future, seconds, 0 = no cap */
    struct fl_config_section *alarm_sections;   /* [alarm.NAME], file order */
    size_t   n_alarm_sections;
};

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
 * the file cannot be read. */
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

/* Parsers shared with command-line flags. Return 0 or FL_ECONFIG. */
int  fl_config_parse_size(const char *s, uint64_t *out);
int  fl_config_parse_duration(const char *s, uint64_t *out_seconds);
/* true/false, yes/no, on/off, 1/0 -> 1 or 0. */
int  fl_config_parse_bool(const char *s, int *out);

#endif /* FL_CONFIG_FILE_H */
