/* SPDX-License-Identifier: MIT
 *
 * test_config.c -- the configuration file: defaults, values and units,
 * every problem reported with its line, flags on top, every key
 * documented in docs/config.md, the [metrics] keys, the [alarm.NAME]
 * sections collected as written, and the checks of what values name
 * (files, folders, keys that go together, query.memory_limit as DuckDB
 * takes it) that `config check` and `serve` share.
 */
#include "../../src/core/fl_config.h"

#include <sys/stat.h>

#include "harness.h"
#include "cli/commands.h"
#include "config/config.h"
#include "core/fl_error.h"
#include "core/fl_mem.h"
#include "query/query.h"

static const char *
write_tmp(const char *text)
{
    static char path[64];
    strcpy(path, "/tmp/fl-test-config-XXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    return path;
}


static void
test_defaults(void)
{
    struct fl_config c;
    CHECK_EQ_INT(fl_config_init(&c), 0);
    CHECK_EQ_STR(c.listen, "127.0.0.1:8080");
    CHECK_EQ_INT(c.buffer_interval, 900);
    CHECK_EQ_INT(c.buffer_size, 128u << 20);
    CHECK_EQ_INT(c.max_body, 64u << 20);
    CHECK_EQ_STR(c.archive_dir, "./flowlake-data");
    CHECK_EQ_STR(c.access_key, "");
    fl_config_free(&c);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_units(void)
{
    uint64_t v;
    CHECK_EQ_INT(fl_config_parse_size("512", &v), 0);      CHECK_EQ_INT(v, 512);
    CHECK_EQ_INT(fl_config_parse_size("2KiB", &v), 0);     CHECK_EQ_INT(v, 2048);
    CHECK_EQ_INT(fl_config_parse_size("64MiB", &v), 0);    CHECK_EQ_INT(v, 64u << 20);
    CHECK_EQ_INT(fl_config_parse_size("1 GiB", &v), 0);    CHECK_EQ_INT(v, 1u << 30);
    CHECK_EQ_INT(fl_config_parse_size("5MB", &v), 0);      CHECK_EQ_INT(v, 5000000);
    CHECK_EQ_INT(fl_config_parse_size("5 parsecs", &v), FL_ECONFIG);
    CHECK_EQ_INT(fl_config_parse_size("-1", &v), FL_ECONFIG);
    CHECK_EQ_INT(fl_config_parse_size("", &v), FL_ECONFIG);
    CHECK_EQ_INT(fl_config_parse_size("99999999999999999999", &v), FL_ECONFIG);
    CHECK_EQ_INT(fl_config_parse_size("17179869184GiB", &v), FL_ECONFIG);
    CHECK_EQ_INT(fl_config_parse_duration("90", &v), 0);   CHECK_EQ_INT(v, 90);
    CHECK_EQ_INT(fl_config_parse_duration("15m", &v), 0);  CHECK_EQ_INT(v, 900);
    CHECK_EQ_INT(fl_config_parse_duration("2h", &v), 0);   CHECK_EQ_INT(v, 7200);
    CHECK_EQ_INT(fl_config_parse_duration("1d", &v), 0);   CHECK_EQ_INT(v, 86400);
    CHECK_EQ_INT(fl_config_parse_duration("1w", &v), FL_ECONFIG);
}


static void
test_load_valid(void)
{
    struct fl_config c;
    struct fl_config_errors e = { 0 };
    const char *path = write_tmp(
        "; flowlake test\n"
        "[server]\n"
        "listen = [::1]:9443\n"
        "threads = 8\n"
        "\n"
        "# comment\n"
        "[firehose]\n"
        "access_key = s3cr3t\n"
        "[archive]\n"
        "dir = /var/lib/flowlake\n"
        "buffer_interval = 2s\n"
        "buffer_size = 1MiB\n");
    CHECK_EQ_INT(fl_config_init(&c), 0);
    CHECK_EQ_INT(fl_config_load(&c, path, &e), 0);
    CHECK_EQ_INT(e.n, 0);
    CHECK_EQ_STR(c.listen, "[::1]:9443");
    CHECK_EQ_INT(c.threads, 8);
    CHECK_EQ_STR(c.access_key, "s3cr3t");
    CHECK_EQ_STR(c.archive_dir, "/var/lib/flowlake");
    CHECK_EQ_INT(c.buffer_interval, 2);
    CHECK_EQ_INT(c.buffer_size, 1u << 20);
    /* Flags override the file, with the same checks. */
    char err[256];
    CHECK_EQ_INT(fl_config_set(&c, "server.listen", "127.0.0.1:8081", err, sizeof err), 0);
    CHECK_EQ_STR(c.listen, "127.0.0.1:8081");
    CHECK_EQ_INT(fl_config_set(&c, "archive.buffer_size", "12", err, sizeof err), FL_ECONFIG);
    CHECK_EQ_STR(err, "archive.buffer_size: 12 is out of range (1024 to 17179869184 bytes)");
    CHECK_EQ_INT(fl_config_set(&c, "server.nope", "1", err, sizeof err), FL_ECONFIG);
    CHECK_EQ_STR(err, "unknown key 'server.nope'");
    fl_config_free(&c);
    unlink(path);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_every_problem_with_its_line(void)
{
    struct fl_config c;
    struct fl_config_errors e = { 0 };
    const char *path = write_tmp(
        "[server]\n"
        "listen = 0.0.0.0:99999\n"
        "threads = eight\n"
        "bogus = 1\n"
        "[archive]\n"
        "buffer_interval = 0s\n"
        "[nope]\n"
        "a = b\n"
        "[wal\n");
    CHECK_EQ_INT(fl_config_init(&c), 0);
    CHECK_EQ_INT(fl_config_load(&c, path, &e), FL_ECONFIG);
    CHECK_EQ_INT(e.n, 6);
    char want[6][200];
    snprintf(want[0], 200, "%s:2: server.listen: '0.0.0.0:99999' is not an address HOST:PORT (port 0-65535; 0 picks a free one)", path);
    snprintf(want[1], 200, "%s:3: server.threads: 'eight' is not a whole number", path);
    snprintf(want[2], 200, "%s:4: unknown key 'bogus' in [server]", path);
    snprintf(want[3], 200, "%s:6: archive.buffer_interval: 0s is out of range (1 to 86400 seconds)", path);
    snprintf(want[4], 200, "%s:8: unknown section [nope]", path);
    snprintf(want[5], 200, "%s:9: syntax error (expected [section], key = value, or a ; or # comment)", path);
    for (int i = 0; i < 6; i++)
        CHECK_EQ_STR(e.msg[i], want[i]);
    /* Bad values leave the previous (default) value in place. */
    CHECK_EQ_STR(c.listen, "127.0.0.1:8080");
    CHECK_EQ_INT(c.buffer_interval, 900);
    fl_config_errors_free(&e);
    fl_config_free(&c);
    unlink(path);
    CHECK_EQ_INT(fl_config_load(&c, "/nonexistent/flowlake.ini", &e), -ENOENT);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* The documentation promise: every key has its entry in docs/config.md. */
static void
test_every_key_documented(void)
{
    FILE *f = fopen("docs/config.md", "r");
    CHECK(f != NULL);
    static char doc[65536];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    doc[n] = '\0';
    fclose(f);
    const char *section, *name;
    for (size_t i = 0; fl_config_key(i, &section, &name); i++) {
        char entry[80];
        snprintf(entry, sizeof entry, "`%s.%s`", section, name);
        if (strstr(doc, entry) == NULL) {
            fprintf(stderr, "  docs/config.md does not document %s\n", entry);
            exit(1);
        }
    }
}


/* What `config defaults` prints loads back to the same values: the
 * defaults, and values other than the defaults for every [metrics] key
 * (a writer that printed the default instead would fail). */
static void
test_defaults_round_trip(void)
{
    struct fl_config a, b;
    struct fl_config_errors e = { 0 };
    char err[256];
    static const char *const set[][2] = {
        { "metrics.file", "/etc/flowlake/metrics.sql" },
        { "metrics.defaults", "off" },
        { "metrics.window", "1h" },
        { "metrics.time", "arrival" },
        { "metrics.allowed_lateness", "0" },
        { "metrics.distinct_exact_limit", "16" },
        { "metrics.max_groups", "1000000000" },
        { "metrics.persist_interval", "1m" },
    };
    for (int pass = 0; pass < 2; pass++) {
        char path[] = "/tmp/fl-test-config-rt-XXXXXX";
        int fd = mkstemp(path);
        CHECK(fd >= 0);
        FILE *f = fdopen(fd, "w");
        CHECK_EQ_INT(fl_config_init(&a), 0);
        for (size_t i = 0; pass == 1 && i < sizeof set / sizeof set[0]; i++)
            CHECK_EQ_INT(fl_config_set(&a, set[i][0], set[i][1], err,
                                       sizeof err), 0);
        fl_config_write(&a, f);
        fclose(f);
        CHECK_EQ_INT(fl_config_init(&b), 0);
        CHECK_EQ_INT(fl_config_load(&b, path, &e), 0);
        CHECK_EQ_INT(e.n, 0);
        CHECK_EQ_INT(b.wal_max_size, a.wal_max_size);
        CHECK_EQ_INT(b.buffer_interval, a.buffer_interval);
        CHECK_EQ_STR(b.listen, a.listen);
        CHECK_EQ_STR(b.query_memory_limit, a.query_memory_limit);
        CHECK_EQ_STR(b.metrics_file, a.metrics_file);
        CHECK_EQ_INT(b.metrics_defaults, a.metrics_defaults);
        CHECK_EQ_INT(b.metrics_window, a.metrics_window);
        CHECK_EQ_STR(b.metrics_time, a.metrics_time);
        CHECK_EQ_INT(b.metrics_lateness, a.metrics_lateness);
        CHECK_EQ_INT(b.metrics_distinct_exact, a.metrics_distinct_exact);
        CHECK_EQ_INT(b.metrics_max_groups, a.metrics_max_groups);
        CHECK_EQ_INT(b.metrics_persist, a.metrics_persist);
        CHECK_EQ_INT(b.n_alarm_sections, 0);
        if (pass == 1) {
            CHECK_EQ_STR(b.metrics_file, "/etc/flowlake/metrics.sql");
            CHECK_EQ_INT(b.metrics_defaults, 0);
            CHECK_EQ_INT(b.metrics_window, 3600);
            CHECK_EQ_STR(b.metrics_time, "arrival");
            CHECK_EQ_INT(b.metrics_lateness, 0);
            CHECK_EQ_INT(b.metrics_distinct_exact, 16);
            CHECK_EQ_INT(b.metrics_max_groups, 1000000000);
            CHECK_EQ_INT(b.metrics_persist, 60);
        }
        fl_config_free(&a);
        fl_config_free(&b);
        unlink(path);
    }
    /* Every key is in the output (a new key missing from the writer
     * would silently fall back to its default when read back). */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK(f != NULL);
    CHECK_EQ_INT(fl_config_init(&a), 0);
    fl_config_write(&a, f);
    fclose(f);
    fl_config_free(&a);
    const char *section, *name, *cur = "";
    for (size_t i = 0; fl_config_key(i, &section, &name); i++) {
        char want[96];
        if (strcmp(section, cur) != 0) {
            snprintf(want, sizeof want, "\n[%s]\n", section);
            CHECK(strstr(text, want) != NULL);
            cur = section;
        }
        snprintf(want, sizeof want, "\n%s = ", name);
        CHECK(strstr(text, want) != NULL);
    }
    CHECK(strstr(text, "\n[metrics]\n") != NULL);
    CHECK(strstr(text, "\ndefaults = true\n") != NULL);
    CHECK(strstr(text, "\nwindow = 900s\n") != NULL);
    CHECK(strstr(text, "\ntime = start\n") != NULL);
    CHECK(strstr(text, "\nallowed_lateness = 900s\n") != NULL);
    CHECK(strstr(text, "\ndistinct_exact_limit = 1024\n") != NULL);
    CHECK(strstr(text, "\nmax_groups = 2000000\n") != NULL);
    CHECK(strstr(text, "\npersist_interval = 5s\n") != NULL);
    free(text);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_metrics_defaults(void)
{
    struct fl_config c;
    CHECK_EQ_INT(fl_config_init(&c), 0);
    CHECK_EQ_STR(c.metrics_file, "");
    CHECK_EQ_INT(c.metrics_defaults, 1);
    CHECK_EQ_INT(c.metrics_window, 900);
    CHECK_EQ_STR(c.metrics_time, "start");
    CHECK_EQ_INT(c.metrics_lateness, 900);
    CHECK_EQ_INT(c.metrics_distinct_exact, 1024);
    CHECK_EQ_INT(c.metrics_max_groups, 2000000);
    CHECK_EQ_INT(c.metrics_persist, 5);
    CHECK(c.alarm_sections == NULL);
    CHECK_EQ_INT(c.n_alarm_sections, 0);
    fl_config_free(&c);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_metrics_values(void)
{
    struct fl_config c;
    char err[256];
    static const char *const yes[] = { "true", "yes", "on", "1" };
    static const char *const no[] = { "false", "no", "off", "0" };
    CHECK_EQ_INT(fl_config_init(&c), 0);
    for (size_t i = 0; i < 4; i++) {
        CHECK_EQ_INT(fl_config_set(&c, "metrics.defaults", no[i], err,
                                   sizeof err), 0);
        CHECK_EQ_INT(c.metrics_defaults, 0);
        CHECK_EQ_INT(fl_config_set(&c, "metrics.defaults", yes[i], err,
                                   sizeof err), 0);
        CHECK_EQ_INT(c.metrics_defaults, 1);
    }
    static const char *const bad_bools[] = { "maybe", "", "TRUE", "2", "y" };
    for (size_t i = 0; i < sizeof bad_bools / sizeof bad_bools[0]; i++) {
        char want[128];
        CHECK_EQ_INT(fl_config_set(&c, "metrics.defaults", "off", err,
                                   sizeof err), 0);
        CHECK_EQ_INT(fl_config_set(&c, "metrics.defaults", bad_bools[i], err,
                                   sizeof err), FL_ECONFIG);
        snprintf(want, sizeof want, "metrics.defaults: '%s' is not true or "
                 "false", bad_bools[i]);
        CHECK_EQ_STR(err, want);
        CHECK_EQ_INT(c.metrics_defaults, 0);     /* unchanged */
    }

    CHECK_EQ_INT(fl_config_set(&c, "metrics.time", "arrival", err,
                               sizeof err), 0);
    CHECK_EQ_STR(c.metrics_time, "arrival");
    CHECK_EQ_INT(fl_config_set(&c, "metrics.time", "end", err, sizeof err), 0);
    CHECK_EQ_STR(c.metrics_time, "end");
    CHECK_EQ_INT(fl_config_set(&c, "metrics.time", "later", err, sizeof err),
                 FL_ECONFIG);
    CHECK_EQ_STR(err, "metrics.time: 'later' is not one of start|end|arrival");
    CHECK_EQ_STR(c.metrics_time, "end");
    /* Whole words only: no prefix, no empty word, no "a|b". */
    static const char *const bad_times[] = { "", "star", "starts", "end|start",
                                             "|", "Start" };
    for (size_t i = 0; i < sizeof bad_times / sizeof bad_times[0]; i++)
        CHECK_EQ_INT(fl_config_set(&c, "metrics.time", bad_times[i], err,
                                   sizeof err), FL_ECONFIG);
    CHECK_EQ_STR(c.metrics_time, "end");

    /* Ranges. */
    CHECK_EQ_INT(fl_config_set(&c, "metrics.window", "0", err, sizeof err),
                 FL_ECONFIG);
    CHECK_EQ_STR(err, "metrics.window: 0 is out of range (1 to 86400 seconds)");
    CHECK_EQ_INT(fl_config_set(&c, "metrics.window", "1d", err, sizeof err), 0);
    CHECK_EQ_INT(c.metrics_window, 86400);
    CHECK_EQ_INT(fl_config_set(&c, "metrics.allowed_lateness", "8d", err,
                               sizeof err), FL_ECONFIG);
    CHECK_EQ_STR(err, "metrics.allowed_lateness: 8d is out of range (0 to "
                 "604800 seconds)");
    CHECK_EQ_INT(fl_config_set(&c, "metrics.distinct_exact_limit", "15", err,
                               sizeof err), FL_ECONFIG);
    CHECK_EQ_STR(err, "metrics.distinct_exact_limit: 15 is out of range (16 "
                 "to 1000000)");
    CHECK_EQ_INT(fl_config_set(&c, "metrics.max_groups", "0", err,
                               sizeof err), FL_ECONFIG);
    CHECK_EQ_INT(fl_config_set(&c, "metrics.max_groups", "1000000001", err,
                               sizeof err), FL_ECONFIG);
    CHECK_EQ_INT(fl_config_set(&c, "metrics.persist_interval", "2h", err,
                               sizeof err), FL_ECONFIG);
    CHECK_EQ_STR(err, "metrics.persist_interval: 2h is out of range (1 to "
                 "3600 seconds)");
    CHECK_EQ_INT(c.metrics_max_groups, 2000000);
    CHECK_EQ_INT(c.metrics_persist, 5);
    fl_config_free(&c);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* The same checks from a file, with the file's line numbers. */
static void
test_metrics_file_errors(void)
{
    struct fl_config c;
    struct fl_config_errors e = { 0 };
    const char *path = write_tmp(
        "[metrics]\n"
        "defaults = maybe\n"
        "time = later\n"
        "window = 5m\n"
        "bogus = 1\n");
    CHECK_EQ_INT(fl_config_init(&c), 0);
    CHECK_EQ_INT(fl_config_load(&c, path, &e), FL_ECONFIG);
    CHECK_EQ_INT(e.n, 3);
    char want[3][200];
    snprintf(want[0], 200, "%s:2: metrics.defaults: 'maybe' is not true or false", path);
    snprintf(want[1], 200, "%s:3: metrics.time: 'later' is not one of start|end|arrival", path);
    snprintf(want[2], 200, "%s:5: unknown key 'bogus' in [metrics]", path);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_STR(e.msg[i], want[i]);
    CHECK_EQ_INT(c.metrics_defaults, 1);
    CHECK_EQ_STR(c.metrics_time, "start");
    CHECK_EQ_INT(c.metrics_window, 300);
    fl_config_errors_free(&e);
    fl_config_free(&c);
    unlink(path);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
check_key(const struct fl_config_section *s, size_t i, const char *key,
          const char *value, int line)
{
    CHECK(i < s->n);
    CHECK_EQ_STR(s->keys[i], key);
    CHECK_EQ_STR(s->values[i], value);
    CHECK_EQ_INT(s->lines[i], line);
}


/* [alarm.NAME] sections are kept as written, in file order, and freed by
 * fl_config_free (LeakSanitizer and fl_mem_used check that). */
static void
test_alarm_sections(void)
{
    struct fl_config c;
    struct fl_config_errors e = { 0 };
    const char *path = write_tmp(
        "[alarm.high_rejects]\n"                       /* 1 */
        "metric = rejected_tcp_packets\n"              /* 2 */
        "threshold = 1000\n"                           /* 3 */
        "\n"                                           /* 4 */
        "[metrics]\n"                                  /* 5 */
        "window = 60s\n"                               /* 6 */
        "; a comment\n"                                /* 7 */
        "[alarm.no_data]\n"                            /* 8 */
        "metric = records_in\n"                        /* 9 */
        "anything_goes = the alarm module checks it\n" /* 10 */
        "[alarm.high_rejects]\n"                       /* 11 */
        "comparison = GreaterThanThreshold\n"          /* 12 */
        "threshold = 2000\n"                           /* 13 */
        "[alarm.x.y]\n"                                /* 14 */
        "dimensions = protocol=6\n");                  /* 15 */
    CHECK_EQ_INT(fl_config_init(&c), 0);
    CHECK_EQ_INT(fl_config_load(&c, path, &e), 0);
    CHECK_EQ_INT(e.n, 0);
    CHECK_EQ_INT(c.metrics_window, 60);
    CHECK_EQ_INT(c.n_alarm_sections, 3);
    const struct fl_config_section *s = &c.alarm_sections[0];
    CHECK_EQ_STR(s->name, "high_rejects");
    CHECK_EQ_STR(s->file, path);
    CHECK_EQ_INT(s->line, 2);
    CHECK_EQ_INT(s->n, 4);
    check_key(s, 0, "metric", "rejected_tcp_packets", 2);
    check_key(s, 1, "threshold", "1000", 3);
    check_key(s, 2, "comparison", "GreaterThanThreshold", 12);
    check_key(s, 3, "threshold", "2000", 13);   /* kept: the module decides */
    s = &c.alarm_sections[1];
    CHECK_EQ_STR(s->name, "no_data");
    CHECK_EQ_INT(s->line, 9);
    CHECK_EQ_INT(s->n, 2);
    check_key(s, 0, "metric", "records_in", 9);
    check_key(s, 1, "anything_goes", "the alarm module checks it", 10);
    s = &c.alarm_sections[2];
    CHECK_EQ_STR(s->name, "x.y");
    CHECK_EQ_INT(s->line, 15);
    CHECK_EQ_INT(s->n, 1);
    check_key(s, 0, "dimensions", "protocol=6", 15);

    /* A second file adds to the same list. */
    char first[64];
    snprintf(first, sizeof first, "%s", path);
    path = write_tmp("[alarm.no_data]\nthreshold = 1\n[alarm.z]\nmetric = m\n");
    CHECK_EQ_INT(fl_config_load(&c, path, &e), 0);
    CHECK_EQ_INT(c.n_alarm_sections, 4);
    CHECK_EQ_INT(c.alarm_sections[1].n, 3);
    check_key(&c.alarm_sections[1], 2, "threshold", "1", 2);
    CHECK_EQ_STR(c.alarm_sections[1].file, first);
    CHECK_EQ_STR(c.alarm_sections[3].name, "z");
    CHECK_EQ_STR(c.alarm_sections[3].file, path);
    CHECK_EQ_INT(c.alarm_sections[3].line, 4);
    fl_config_free(&c);
    CHECK(c.alarm_sections == NULL);
    CHECK_EQ_INT(c.n_alarm_sections, 0);
    unlink(first);
    unlink(path);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_alarm_section_without_name(void)
{
    struct fl_config c;
    struct fl_config_errors e = { 0 };
    const char *path = write_tmp(
        "[alarm.ok]\n"
        "metric = m\n"
        "[alarm.]\n"
        "metric = m\n"
        "threshold = 1\n"
        "[alarm]\n"
        "metric = m\n");
    CHECK_EQ_INT(fl_config_init(&c), 0);
    CHECK_EQ_INT(fl_config_load(&c, path, &e), FL_ECONFIG);
    CHECK_EQ_INT(e.n, 3);
    char want[3][200];
    snprintf(want[0], 200, "%s:4: [alarm.] needs a name: [alarm.NAME]", path);
    snprintf(want[1], 200, "%s:5: [alarm.] needs a name: [alarm.NAME]", path);
    snprintf(want[2], 200, "%s:7: unknown section [alarm]", path);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_STR(e.msg[i], want[i]);
    CHECK_EQ_INT(c.n_alarm_sections, 1);
    CHECK_EQ_STR(c.alarm_sections[0].name, "ok");
    CHECK_EQ_INT(c.alarm_sections[0].n, 1);
    fl_config_errors_free(&e);
    fl_config_free(&c);
    unlink(path);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* Allocation failures while collecting sections: -ENOMEM, and whatever
 * was collected is still freed by fl_config_free. */
static void
test_alarm_sections_alloc_failures(void)
{
    const char *path = write_tmp(
        "[alarm.a]\nmetric = m\nthreshold = 1\n"
        "[alarm.b]\nmetric = n\n[alarm.a]\nperiod = 60\n");
    int done = 0;
    for (uint64_t nth = 1; nth < 500 && !done; nth++) {
        struct fl_config c;
        struct fl_config_errors e = { 0 };
        CHECK_EQ_INT(fl_config_init(&c), 0);
        fl_mem_fail_after(nth);
        int rc = fl_config_load(&c, path, &e);
        fl_mem_fail_after(0);
        if (rc == 0) {
            CHECK_EQ_INT(c.n_alarm_sections, 2);
            CHECK_EQ_INT(c.alarm_sections[0].n, 3);
            CHECK_EQ_INT(c.alarm_sections[1].n, 1);
            done = 1;
        } else {
            CHECK_EQ_INT(rc, FL_ENOMEM);
        }
        for (size_t i = 0; i < c.n_alarm_sections; i++) {
            const struct fl_config_section *s = &c.alarm_sections[i];
            CHECK(s->name != NULL && s->file != NULL);
            for (size_t j = 0; j < s->n; j++)
                CHECK(s->keys[j] != NULL && s->values[j] != NULL);
        }
        fl_config_errors_free(&e);
        fl_config_free(&c);
        CHECK_EQ_INT(fl_mem_used(), 0);
    }
    CHECK(done);
    unlink(path);
}


/* ---- checks of what the values name (fl_config_check) ----------------- */

/* A scratch folder for the checks below: DIR/file (a small regular
 * file), DIR/fifo, DIR/big (1 MiB + 1 byte). */
static char check_dir[64];


static void
make_check_dir(void)
{
    char p[128];
    strcpy(check_dir, "/tmp/fl-test-check-XXXXXX");
    CHECK(mkdtemp(check_dir) != NULL);
    snprintf(p, sizeof p, "%s/file", check_dir);
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    fputs("-----BEGIN CERTIFICATE-----\n", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/fifo", check_dir);
    CHECK_EQ_INT(mkfifo(p, 0600), 0);
    snprintf(p, sizeof p, "%s/big", check_dir);
    f = fopen(p, "w");
    CHECK(f != NULL);
    CHECK_EQ_INT(fseek(f, (long)(1 << 20), SEEK_SET), 0);
    fputc('x', f);
    fclose(f);
}


static void
remove_check_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", check_dir);
    CHECK_EQ_INT(system(cmd), 0);
}


/* Writes text to DIR/NAME; returns the path (static buffer). */
static const char *
write_in_check_dir(const char *name, const char *text)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", check_dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
    return path;
}


/* Loads text from a file and runs fl_config_check; returns its code and
 * leaves the problems in e. */
static int
load_and_check(struct fl_config *c, struct fl_config_errors *e,
               const char *text)
{
    const char *path = write_in_check_dir("c.ini", text);
    CHECK_EQ_INT(fl_config_init(c), 0);
    CHECK_EQ_INT(fl_config_load(c, path, e), 0);
    return fl_config_check(c, e);
}


/* Files a key names: a readable regular file within its cap; a missing
 * one, a folder, a device, a FIFO (never opened, so never waited on) and
 * a file over the cap are refused, each with the line of its key. */
static void
test_check_files(void)
{
    struct fl_config c;
    struct fl_config_errors e = { 0 };
    char text[1024], want[6][300];

    make_check_dir();
    snprintf(text, sizeof text,
             "[server]\n"
             "tls_cert = %s/missing.pem\n"
             "tls_key = %s\n"
             "[metrics]\n"
             "file = /dev/zero\n", check_dir, check_dir);
    CHECK_EQ_INT(load_and_check(&c, &e, text), FL_ECONFIG);
    CHECK_EQ_INT(e.n, 3);
    snprintf(want[0], 300, "%s/c.ini:2: server.tls_cert: cannot read "
             "%s/missing.pem: No such file or directory", check_dir,
             check_dir);
    snprintf(want[1], 300, "%s/c.ini:3: server.tls_key: %s is a folder, "
             "not a regular file", check_dir, check_dir);
    snprintf(want[2], 300, "%s/c.ini:5: metrics.file: /dev/zero is a "
             "character device, not a regular file", check_dir);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_STR(e.msg[i], want[i]);
    fl_config_errors_free(&e);
    fl_config_free(&c);

    snprintf(text, sizeof text,
             "[server]\n"
             "tls_cert = %s/big\n"
             "tls_key = %s/file\n"
             "[metrics]\n"
             "file = %s/fifo\n", check_dir, check_dir, check_dir);
    CHECK_EQ_INT(load_and_check(&c, &e, text), FL_ECONFIG);
    CHECK_EQ_INT(e.n, 2);
    snprintf(want[0], 300, "%s/c.ini:2: server.tls_cert: %s/big is larger "
             "than 1048576 bytes", check_dir, check_dir);
    snprintf(want[1], 300, "%s/c.ini:5: metrics.file: %s/fifo is a FIFO, "
             "not a regular file", check_dir, check_dir);
    for (int i = 0; i < 2; i++)
        CHECK_EQ_STR(e.msg[i], want[i]);
    fl_config_errors_free(&e);

    /* A flag replaces the file's value: no line to point at any more. */
    char err[256];
    CHECK_EQ_INT(fl_config_set(&c, "server.tls_cert", "/nope.pem", err,
                               sizeof err), 0);
    CHECK_EQ_INT(fl_config_set(&c, "metrics.file", "", err, sizeof err), 0);
    CHECK_EQ_INT(fl_config_check(&c, &e), FL_ECONFIG);
    CHECK_EQ_INT(e.n, 1);
    CHECK_EQ_STR(e.msg[0], "server.tls_cert: cannot read /nope.pem: No such "
                 "file or directory");
    fl_config_errors_free(&e);
    fl_config_free(&c);

    /* The same files, good ones: nothing to say. */
    snprintf(text, sizeof text,
             "[server]\ntls_cert = %s/file\ntls_key = %s/file\n",
             check_dir, check_dir);
    CHECK_EQ_INT(load_and_check(&c, &e, text), 0);
    CHECK_EQ_INT(e.n, 0);
    fl_config_free(&c);
    remove_check_dir();
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* server.tls_cert and server.tls_key: both or neither, said at the line
 * of the one that is set. */
static void
test_check_tls_pair(void)
{
    struct fl_config c;
    struct fl_config_errors e = { 0 };
    char text[512], want[300];

    make_check_dir();
    snprintf(text, sizeof text, "[server]\n\ntls_key = %s/file\n", check_dir);
    CHECK_EQ_INT(load_and_check(&c, &e, text), FL_ECONFIG);
    CHECK_EQ_INT(e.n, 1);
    snprintf(want, sizeof want, "%s/c.ini:3: server.tls_key and "
             "server.tls_cert go together: set both, or neither "
             "(server.tls_cert is not set)", check_dir);
    CHECK_EQ_STR(e.msg[0], want);
    fl_config_errors_free(&e);
    fl_config_free(&c);

    CHECK_EQ_INT(fl_config_init(&c), 0);
    char err[256];
    snprintf(text, sizeof text, "%s/file", check_dir);
    CHECK_EQ_INT(fl_config_set(&c, "server.tls_cert", text, err, sizeof err),
                 0);
    CHECK_EQ_INT(fl_config_check(&c, &e), FL_ECONFIG);
    CHECK_EQ_INT(e.n, 1);
    CHECK_EQ_STR(e.msg[0], "server.tls_cert and server.tls_key go together: "
                 "set both, or neither (server.tls_key is not set)");
    fl_config_errors_free(&e);
    fl_config_free(&c);
    remove_check_dir();
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* Folders: archive.dir and wal.dir are written to (a folder, or creatable
 * under one); watch.dir is read, and may not exist yet. */
static void
test_check_dirs(void)
{
    struct fl_config c;
    struct fl_config_errors e = { 0 };
    char text[1024], want[4][300];

    make_check_dir();
    snprintf(text, sizeof text,
             "[archive]\ndir = %s/a/b/c\n"
             "[wal]\ndir = %s/file\n"
             "[watch]\ndir = %s/not-yet\n", check_dir, check_dir, check_dir);
    CHECK_EQ_INT(load_and_check(&c, &e, text), FL_ECONFIG);
    CHECK_EQ_INT(e.n, 1);
    snprintf(want[0], 300, "%s/c.ini:4: wal.dir: %s/file is a regular file, "
             "not a folder", check_dir, check_dir);
    CHECK_EQ_STR(e.msg[0], want[0]);
    fl_config_errors_free(&e);
    fl_config_free(&c);

    snprintf(text, sizeof text,
             "[archive]\ndir =\n"
             "[wal]\ndir = %s/file/wal\n"
             "[watch]\ndir = %s/fifo\n", check_dir, check_dir);
    CHECK_EQ_INT(load_and_check(&c, &e, text), FL_ECONFIG);
    CHECK_EQ_INT(e.n, 3);
    snprintf(want[0], 300, "%s/c.ini:2: archive.dir: must name a folder",
             check_dir);
    snprintf(want[1], 300, "%s/c.ini:4: wal.dir: cannot use %s/file/wal: "
             "Not a directory", check_dir, check_dir);
    snprintf(want[2], 300, "%s/c.ini:6: watch.dir: %s/fifo is a FIFO, not a "
             "folder", check_dir, check_dir);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_STR(e.msg[i], want[i]);
    fl_config_errors_free(&e);
    fl_config_free(&c);

    /* The defaults (./flowlake-data, no wal.dir, no watch.dir) pass. */
    CHECK_EQ_INT(fl_config_init(&c), 0);
    CHECK_EQ_INT(fl_config_check(&c, &e), 0);
    CHECK_EQ_INT(e.n, 0);
    fl_config_free(&c);
    remove_check_dir();
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* The configuration file itself: only a regular file of at most 1 MiB is
 * read; a device or a FIFO is refused at once (the test would hang on the
 * FIFO otherwise: no writer ever comes), a missing file is -ENOENT. */
static void
test_load_special_files(void)
{
    struct fl_config c;
    struct fl_config_errors e = { 0 };
    char path[128], want[300];

    make_check_dir();
    CHECK_EQ_INT(fl_config_init(&c), 0);
    CHECK_EQ_INT(fl_config_load(&c, "/dev/zero", &e), FL_ECONFIG);
    CHECK_EQ_INT(e.n, 1);
    CHECK_EQ_STR(e.msg[0], "/dev/zero: is a character device, not a regular "
                 "file");
    fl_config_errors_free(&e);

    snprintf(path, sizeof path, "%s/fifo", check_dir);
    CHECK_EQ_INT(fl_config_load(&c, path, &e), FL_ECONFIG);
    snprintf(want, sizeof want, "%s: is a FIFO, not a regular file", path);
    CHECK_EQ_INT(e.n, 1);
    CHECK_EQ_STR(e.msg[0], want);
    fl_config_errors_free(&e);

    CHECK_EQ_INT(fl_config_load(&c, check_dir, &e), FL_ECONFIG);
    snprintf(want, sizeof want, "%s: is a folder, not a regular file",
             check_dir);
    CHECK_EQ_STR(e.msg[0], want);
    fl_config_errors_free(&e);

    snprintf(path, sizeof path, "%s/big", check_dir);
    CHECK_EQ_INT(fl_config_load(&c, path, &e), FL_ECONFIG);
    snprintf(want, sizeof want, "%s: is larger than 1048576 bytes; not a "
             "configuration file", path);
    CHECK_EQ_STR(e.msg[0], want);
    fl_config_errors_free(&e);

    snprintf(path, sizeof path, "%s/missing.ini", check_dir);
    CHECK_EQ_INT(fl_config_load(&c, path, &e), -ENOENT);
    CHECK_EQ_INT(e.n, 0);
    fl_config_free(&c);
    remove_check_dir();
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* query.memory_limit is what DuckDB accepts, asked of DuckDB; a quote in
 * the value cannot end the statement. */
static void
test_check_memory_limit(void)
{
    char err[512];
    CHECK_EQ_INT(fl_query_check_memory_limit("1GB", err, sizeof err), 0);
    CHECK_EQ_INT(fl_query_check_memory_limit("512 MiB", err, sizeof err), 0);
    CHECK_EQ_INT(fl_query_check_memory_limit("lots", err, sizeof err),
                 FL_ECONFIG);
    CHECK_EQ_STR(err, "'lots' is not a memory limit DuckDB accepts (a size "
                 "such as 512MB, 4GB or 2GiB); DuckDB says: Parser Error: "
                 "Memory limit must have a number (e.g. SET "
                 "memory_limit=1GB");
    CHECK_EQ_INT(fl_query_check_memory_limit("80%", err, sizeof err),
                 FL_ECONFIG);
    CHECK_EQ_INT(fl_query_check_memory_limit("1024", err, sizeof err),
                 FL_ECONFIG);
    CHECK_EQ_INT(fl_query_check_memory_limit("1GB'; SET threads = 1; --",
                                             err, sizeof err), FL_ECONFIG);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* Everything serve checks, at once, sorted by line: a bad value (which
 * keeps its default), a missing file, a pair, the memory limit, the WAL
 * record size against max_line, a metrics file that does not compile. */
static void
test_config_check_all(void)
{
    struct fl_config c;
    struct fl_config_errors e = { 0 };
    char text[1024], want[6][400];

    make_check_dir();
    const char *metrics = write_in_check_dir("m.sql", "CREATE METRIC x AS "
                                             "SELECT nonsense;\n");
    char mpath[128];
    snprintf(mpath, sizeof mpath, "%s", metrics);
    snprintf(text, sizeof text,
             "[wal]\n"
             "segment_size = 64KiB\n"
             "[server]\n"
             "max_body = 5\n"
             "tls_cert = %s/nope.pem\n"
             "[metrics]\n"
             "file = %s\n"
             "[query]\n"
             "memory_limit = lots\n", check_dir, mpath);
    const char *path = write_in_check_dir("c.ini", text);
    CHECK_EQ_INT(fl_config_init(&c), 0);
    CHECK_EQ_INT(fl_config_load(&c, path, &e), FL_ECONFIG);
    CHECK_EQ_INT(fl_cmd_config_check(&c, &e), FL_ECONFIG);
    CHECK_EQ_INT(e.n, 6);
    snprintf(want[0], 400, "%s/c.ini:2: wal.segment_size 65536 is too small "
             "for server.max_line 65536: a write-ahead-log record (at most "
             "half a segment) must hold a line; raise wal.segment_size to at "
             "least 163840", check_dir);
    snprintf(want[1], 400, "%s/c.ini:4: server.max_body: 5 is out of range "
             "(1024 to 1073741824 bytes)", check_dir);
    snprintf(want[2], 400, "%s/c.ini:5: server.tls_cert: cannot read "
             "%s/nope.pem: No such file or directory", check_dir, check_dir);
    snprintf(want[3], 400, "%s/c.ini:5: server.tls_cert and server.tls_key "
             "go together: set both, or neither (server.tls_key is not set)",
             check_dir);
    snprintf(want[4], 400, "%s/c.ini:9: query.memory_limit: 'lots' is not a "
             "memory limit DuckDB accepts (a size such as 512MB, 4GB or "
             "2GiB); DuckDB says: Parser Error: Memory limit must have a "
             "number (e.g. SET memory_limit=1GB", check_dir);
    /* The metrics file's own problem, at its own place (FILE:LINE:COL). */
    snprintf(want[5], 400, "%s:1:35: expected ',' or FROM, found ';'", mpath);
    for (int i = 0; i < 6; i++)
        CHECK_EQ_STR(e.msg[i], want[i]);
    fl_config_errors_free(&e);
    fl_config_free(&c);
    remove_check_dir();
    CHECK_EQ_INT(fl_mem_used(), 0);
}


FL_TEST_MAIN(
    FL_TEST(test_defaults),
    FL_TEST(test_units),
    FL_TEST(test_load_valid),
    FL_TEST(test_every_problem_with_its_line),
    FL_TEST(test_every_key_documented),
    FL_TEST(test_defaults_round_trip),
    FL_TEST(test_metrics_defaults),
    FL_TEST(test_metrics_values),
    FL_TEST(test_metrics_file_errors),
    FL_TEST(test_alarm_sections),
    FL_TEST(test_alarm_section_without_name),
    FL_TEST(test_alarm_sections_alloc_failures),
    FL_TEST(test_check_files),
    FL_TEST(test_check_tls_pair),
    FL_TEST(test_check_dirs),
    FL_TEST(test_load_special_files),
    FL_TEST(test_check_memory_limit),
    FL_TEST(test_config_check_all)
)
