/* SPDX-License-Identifier: MIT
 *
 * config.c -- the key table, the INI loader and the value parsers (see
 * config.h).
 *
 * libinih calls us once per key with section and value but not the line
 * number (Debian builds it without INI_HANDLER_LINENO), so we feed it
 * through ini_parse_stream() with our own line reader that counts lines:
 * when the handler runs, the counter is the line of the key.
 */
#include "../core/fl_config.h"

#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "config.h"

enum kind {
    K_STRING,      /* any text, "" allowed */
    K_ADDR,        /* HOST:PORT */
    K_SIZE,        /* bytes with an optional unit */
    K_DURATION,    /* seconds with an optional unit */
    K_COUNT        /* plain integer */
};

struct key {
    const char *section;
    const char *name;
    enum kind   kind;
    size_t      offset;        /* in struct fl_config */
    uint64_t    min, max;      /* for sizes, durations, counts */
    const char *def;           /* default, as written in a file */
    const char *doc;           /* one line for `config defaults` */
};

#define OFF(f) offsetof(struct fl_config, f)
#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)

static const struct key keys[] = {
    { "server", "listen", K_ADDR, OFF(listen), 0, 0, "127.0.0.1:8080",
      "address and port the HTTP server listens on" },
    { "server", "threads", K_COUNT, OFF(threads), 1, 256, "4",
      "HTTP worker threads" },
    { "server", "tls_cert", K_STRING, OFF(tls_cert), 0, 0, "",
      "PEM certificate; with tls_key, serve HTTPS (Firehose requires it)" },
    { "server", "tls_key", K_STRING, OFF(tls_key), 0, 0, "",
      "PEM private key for tls_cert" },
    { "server", "max_body", K_SIZE, OFF(max_body), 1 * KiB, 1 * GiB, "64MiB",
      "largest request body accepted (Firehose sends at most 64 MiB); larger is 413" },
    { "server", "max_decompressed", K_SIZE, OFF(max_decompressed), 1 * KiB,
      16 * GiB, "512MiB",
      "largest decompressed size of one request; a gzip bomb is refused with 413" },
    { "server", "max_line", K_SIZE, OFF(max_line), 64, 1 * GiB, "64KiB",
      "longest flow-log line; longer lines are rejected" },
    { "firehose", "access_key", K_STRING, OFF(access_key), 0, 0, "",
      "X-Amz-Firehose-Access-Key required on POST /firehose; empty = not checked" },
    { "archive", "dir", K_STRING, OFF(archive_dir), 0, 0, "./flowlake-data",
      "archive folder (Parquet files, errors, bookkeeping)" },
    { "archive", "buffer_interval", K_DURATION, OFF(buffer_interval), 1,
      86400, "900s",
      "publish buffered records at least this often (Firehose: 60-900 s)" },
    { "archive", "buffer_size", K_SIZE, OFF(buffer_size), 1 * KiB, 16 * GiB,
      "128MiB", "publish when this much flow-log text is buffered" },
    { "wal", "dir", K_STRING, OFF(wal_dir), 0, 0, "",
      "write-ahead log folder; empty = ARCHIVE/_flowlake/wal" },
    { "wal", "max_size", K_SIZE, OFF(wal_max_size), 1 * MiB, 1024 * GiB,
      "4GiB", "write-ahead log ceiling on disk; when full, ingestion answers 503" },
    { "wal", "segment_size", K_SIZE, OFF(wal_segment_size), 64 * KiB, 4 * GiB,
      "64MiB", "size at which a write-ahead log segment is rolled" },
    { "watch", "dir", K_STRING, OFF(watch_dir), 0, 0, "",
      "folder watched for new .log/.log.gz files; empty = none" },
    { "watch", "interval", K_DURATION, OFF(watch_interval), 1, 86400, "5s",
      "how often the watched folder is scanned" },
    { "query", "timeout", K_DURATION, OFF(query_timeout), 1, 86400, "30s",
      "longest a query over HTTP may run" },
    { "query", "memory_limit", K_STRING, OFF(query_memory_limit), 0, 0, "1GB",
      "DuckDB memory limit for queries over HTTP" },
};

#define N_KEYS (sizeof keys / sizeof keys[0])


static char **
str_field(struct fl_config *cfg, const struct key *k)
{
    return (char **)((char *)cfg + k->offset);
}


static uint64_t *
num_field(struct fl_config *cfg, const struct key *k)
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


static const char *
kind_hint(enum kind k)
{
    switch (k) {
    case K_ADDR:     return "an address HOST:PORT (port 0-65535; 0 picks a free one)";
    case K_SIZE:     return "a size such as 512KiB, 64MiB or 1GiB";
    case K_DURATION: return "a duration such as 30s, 15m or 1h";
    case K_COUNT:    return "a whole number";
    case K_STRING:   break;
    }
    return "text";
}


static const struct key *
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


/* Applies one value; on error fills err (without position). */
static int
apply(struct fl_config *cfg, const struct key *k, const char *value,
      char *err, size_t errlen)
{
    uint64_t v = 0;
    int rc = FL_OK;

    switch (k->kind) {
    case K_STRING:
    case K_ADDR: {
        if (k->kind == K_ADDR && check_addr(value) < 0) {
            rc = FL_ECONFIG;
            break;
        }
        char *copy = fl_strdup(value);
        if (copy == NULL) {
            snprintf(err, errlen, "out of memory");
            return FL_ENOMEM;
        }
        fl_free(*str_field(cfg, k));
        *str_field(cfg, k) = copy;
        return FL_OK;
    }
    case K_SIZE:
        rc = fl_config_parse_size(value, &v);
        break;
    case K_DURATION:
        rc = fl_config_parse_duration(value, &v);
        break;
    case K_COUNT: {
        const char *rest;
        rc = parse_number(value, &v, &rest);
        if (rc == 0 && *rest != '\0')
            rc = FL_ECONFIG;
        break;
    }
    }
    if (rc < 0) {
        snprintf(err, errlen, "%s.%s: '%s' is not %s", k->section, k->name,
                 value, kind_hint(k->kind));
        return FL_ECONFIG;
    }
    if (v < k->min || v > k->max) {
        snprintf(err, errlen, "%s.%s: %s is out of range (%llu to %llu%s)",
                 k->section, k->name, value, (unsigned long long)k->min,
                 (unsigned long long)k->max,
                 k->kind == K_SIZE ? " bytes"
                 : k->kind == K_DURATION ? " seconds" : "");
        return FL_ECONFIG;
    }
    *num_field(cfg, k) = v;
    return FL_OK;
}


int
fl_config_init(struct fl_config *cfg)
{
    char err[256];
    memset(cfg, 0, sizeof *cfg);
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
        if (keys[i].kind == K_STRING || keys[i].kind == K_ADDR) {
            fl_free(*str_field(cfg, &keys[i]));
            *str_field(cfg, &keys[i]) = NULL;
        }
    }
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
    const struct key *k = find_key(section, dot + 1);
    if (k == NULL) {
        snprintf(err, errlen, "unknown key '%s'", key);
        return FL_ECONFIG;
    }
    return apply(cfg, k, value, err, errlen);
}


/* ---- the INI loader -------------------------------------------------- */

struct load {
    struct fl_config        *cfg;
    struct fl_config_errors *errs;
    const char              *path;
    FILE                    *f;
    int                      line;
    int                      oom;
};


static void
add_error(struct load *ld, int line, const char *msg)
{
    char buf[600];
    snprintf(buf, sizeof buf, "%s:%d: %s", ld->path, line, msg);
    char **p = fl_realloc(ld->errs->msg, (ld->errs->n + 1) * sizeof *p);
    char *copy = fl_strdup(buf);
    if (p == NULL || copy == NULL) {
        if (p != NULL)
            ld->errs->msg = p;
        fl_free(copy);
        ld->oom = 1;
        return;
    }
    ld->errs->msg = p;
    ld->errs->msg[ld->errs->n++] = copy;
}


static char *
read_line(char *str, int num, void *stream)
{
    struct load *ld = stream;
    char *r = fgets(str, num, ld->f);
    if (r != NULL)
        ld->line++;
    return r;
}


static int
on_key(void *user, const char *section, const char *name, const char *value)
{
    struct load *ld = user;
    char err[512];
    const struct key *k = find_key(section, name);

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
    if (apply(ld->cfg, k, value, err, sizeof err) < 0)
        add_error(ld, ld->line, err);
    return 1;
}


int
fl_config_load(struct fl_config *cfg, const char *path,
               struct fl_config_errors *errs)
{
    struct load ld = { .cfg = cfg, .errs = errs, .path = path };
    size_t before = errs->n;

    ld.f = fopen(path, "r");
    if (ld.f == NULL)
        return -errno;
    int rc = ini_parse_stream(read_line, &ld, on_key, &ld);
    fclose(ld.f);
    if (rc > 0) {
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
        const struct key *k = &keys[i];
        if (strcmp(section, k->section) != 0) {
            fprintf(out, "\n[%s]\n", k->section);
            section = k->section;
        }
        fprintf(out, "# %s\n%s = ", k->doc, k->name);
        switch (k->kind) {
        case K_STRING:
        case K_ADDR:
            fprintf(out, "%s", *str_field(cfg, k) ? *str_field(cfg, k) : "");
            break;
        case K_SIZE:
            write_size(out, *num_field(cfg, k));
            break;
        case K_DURATION:
            fprintf(out, "%llus", (unsigned long long)*num_field(cfg, k));
            break;
        case K_COUNT:
            fprintf(out, "%llu", (unsigned long long)*num_field(cfg, k));
            break;
        }
        fputc('\n', out);
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
