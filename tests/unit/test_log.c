/* SPDX-License-Identifier: MIT
 *
 * test_log.c -- the event log (src/core/fl_log.c): the plain form a
 * command prints before any configuration, the text and JSON
 * lines byte for byte (after the timestamp, whose shape is checked), the
 * level filter, escaping that keeps an event on one line and JSON valid
 * (quotes, newlines, control bytes, invalid UTF-8 as U+FFFD, valid UTF-8
 * kept), the 4 KiB message cap, and the configuration words.
 */
#include "../../src/core/fl_config.h"

#include <ctype.h>

#include "harness.h"
#include "core/fl_log.h"

/* Runs fn with stderr redirected to a temporary file; returns what was
 * written (static buffer). */
static char captured[64 * 1024];

static const char *
capture(void (*fn)(void))
{
    FILE *tmp = tmpfile();
    CHECK(tmp != NULL);
    int saved = dup(STDERR_FILENO);
    CHECK(saved >= 0);
    CHECK(dup2(fileno(tmp), STDERR_FILENO) >= 0);
    fn();
    CHECK(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    rewind(tmp);
    size_t n = fread(captured, 1, sizeof captured - 1, tmp);
    captured[n] = '\0';
    fclose(tmp);
    return captured;
}

/* "2026-12-05T21:40:00.123Z": digits where digits go. */
static void
check_stamp(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    for (size_t i = 0; shape[i] != '\0'; i++) {
        if (shape[i] == 'd')
            CHECK(isdigit((unsigned char)s[i]));
        else
            CHECK(s[i] == shape[i]);
    }
}

static void
log_three(void)
{
    fl_log(FL_LOG_DEBUG, "wal", "not shown at info");
    fl_log(FL_LOG_INFO, "publish", "%d records in %d files", 300, 3);
    fl_log(FL_LOG_WARN, "firehose", "request %s: %u", "r-1", 413u);
    fl_log(FL_LOG_ERROR, "wal", "checkpoint failed");
}

static void
test_plain_by_default(void)
{
    /* A command that never configures the log (convert) prints what any
     * CLI prints: no time, no level, no component. */
    const char *out = capture(log_three);
    CHECK_EQ_STR(out, "flowlake: 300 records in 3 files\n"
                      "flowlake: request r-1: 413\n"
                      "flowlake: checkpoint failed\n");
}

static void
test_text_lines(void)
{
    fl_log_configure(FL_LOG_TEXT, FL_LOG_INFO);
    const char *out = capture(log_three);
    const char *want[] = {
        " INFO  publish: 300 records in 3 files\n",
        " WARN  firehose: request r-1: 413\n",
        " ERROR wal: checkpoint failed\n",
    };
    for (size_t i = 0; i < 3; i++) {
        check_stamp(out);
        out += 24;
        CHECK_EQ_MEM(out, strlen(want[i]), want[i]);
        out += strlen(want[i]);
    }
    CHECK_EQ_STR(out, "");
}

static void
test_json_lines(void)
{
    fl_log_configure(FL_LOG_JSON, FL_LOG_WARN);
    const char *out = capture(log_three);
    const char *want[] = {
        "\",\"level\":\"warn\",\"component\":\"firehose\",\"msg\":\"request r-1: 413\"}\n",
        "\",\"level\":\"error\",\"component\":\"wal\",\"msg\":\"checkpoint failed\"}\n",
    };
    for (size_t i = 0; i < 2; i++) {
        CHECK_EQ_MEM(out, 9, "{\"time\":\"");
        check_stamp(out + 9);
        out += 9 + 24;
        CHECK_EQ_MEM(out, strlen(want[i]), want[i]);
        out += strlen(want[i]);
    }
    CHECK_EQ_STR(out, "");
}

static void
log_awkward(void)
{
    /* A quote, a backslash, a newline, a tab, a control byte, valid
     * UTF-8 (e-acute, and a 4-byte emoji) and three invalid sequences: a
     * lone continuation byte, a cut 2-byte lead, an overlong '/'. */
    fl_log(FL_LOG_INFO, "watch", "%s",
           "a\"b\\c\nd\te\x01" "f\xc3\xa9g\xf0\x9f\x98\x80h\x80i\xc3j\xc0\xafk");
}

static void
test_escaping(void)
{
    fl_log_configure(FL_LOG_JSON, FL_LOG_INFO);
    const char *out = capture(log_awkward);
    const char *msg = strstr(out, "\"msg\":\"");
    CHECK(msg != NULL);
    CHECK_EQ_STR(msg, "\"msg\":\"a\\\"b\\\\c\\nd\\te\\u0001f\xc3\xa9g\xf0\x9f\x98\x80h"
                 "\\ufffdi\\ufffdj\\ufffd\\ufffdk\"}\n");

    /* Text keeps quotes and bytes as they are; only what would break the
     * line is escaped. */
    fl_log_configure(FL_LOG_TEXT, FL_LOG_INFO);
    out = capture(log_awkward);
    CHECK_EQ_STR(out + 24, " INFO  watch: a\"b\\c\\nd\\te\\u0001f\xc3\xa9g"
                 "\xf0\x9f\x98\x80h\x80i\xc3j\xc0\xafk\n");
}

static void
log_long(void)
{
    static char big[10000];
    memset(big, 'x', sizeof big - 1);
    fl_log(FL_LOG_INFO, "query", "%s", big);
}

static void
test_message_cap(void)
{
    fl_log_configure(FL_LOG_TEXT, FL_LOG_INFO);
    const char *out = capture(log_long);
    /* stamp (24) + " INFO  query: " (14) + 4095 x + newline */
    CHECK_EQ_INT(strlen(out), 24 + 14 + 4095 + 1);
    CHECK_EQ_INT(strchr(out, '\n') - out, 24 + 14 + 4095);
}

static void
test_words(void)
{
    enum fl_log_format f;
    enum fl_log_level l;
    CHECK_EQ_INT(fl_log_format_parse("json", &f), 0);
    CHECK_EQ_INT(f, FL_LOG_JSON);
    CHECK_EQ_INT(fl_log_format_parse("text", &f), 0);
    CHECK_EQ_INT(f, FL_LOG_TEXT);
    CHECK_EQ_INT(fl_log_format_parse("JSON", &f), -1);
    CHECK_EQ_INT(fl_log_level_parse("debug", &l), 0);
    CHECK_EQ_INT(l, FL_LOG_DEBUG);
    CHECK_EQ_INT(fl_log_level_parse("error", &l), 0);
    CHECK_EQ_INT(l, FL_LOG_ERROR);
    CHECK_EQ_INT(fl_log_level_parse("warning", &l), -1);
    fl_log_configure(FL_LOG_TEXT, FL_LOG_WARN);
    CHECK(!fl_log_enabled(FL_LOG_INFO));
    CHECK(fl_log_enabled(FL_LOG_WARN));
    CHECK(fl_log_enabled(FL_LOG_ERROR));
}


FL_TEST_MAIN(
    FL_TEST(test_plain_by_default),
    FL_TEST(test_text_lines),
    FL_TEST(test_json_lines),
    FL_TEST(test_escaping),
    FL_TEST(test_message_cap),
    FL_TEST(test_words),
)
