/* SPDX-License-Identifier: MIT
 *
 * test_config.c -- the configuration file: defaults, values and units,
 * every problem reported with its line, flags on top, and every key
 * documented in docs/config.md.
 */
#include "../../src/core/fl_config.h"

#include "harness.h"
#include "config/config.h"
#include "core/fl_error.h"
#include "core/fl_mem.h"

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


/* What `config defaults` prints loads back to the same values. */
static void
test_defaults_round_trip(void)
{
    struct fl_config a, b;
    struct fl_config_errors e = { 0 };
    char path[] = "/tmp/fl-test-config-rt-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    CHECK_EQ_INT(fl_config_init(&a), 0);
    fl_config_write(&a, f);
    fclose(f);
    CHECK_EQ_INT(fl_config_init(&b), 0);
    CHECK_EQ_INT(fl_config_load(&b, path, &e), 0);
    CHECK_EQ_INT(b.wal_max_size, a.wal_max_size);
    CHECK_EQ_INT(b.buffer_interval, a.buffer_interval);
    CHECK_EQ_STR(b.listen, a.listen);
    CHECK_EQ_STR(b.query_memory_limit, a.query_memory_limit);
    fl_config_free(&a);
    fl_config_free(&b);
    unlink(path);
}


FL_TEST_MAIN(
    FL_TEST(test_defaults),
    FL_TEST(test_units),
    FL_TEST(test_load_valid),
    FL_TEST(test_every_problem_with_its_line),
    FL_TEST(test_every_key_documented),
    FL_TEST(test_defaults_round_trip)
)
