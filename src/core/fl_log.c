/* SPDX-License-Identifier: MIT
 *
 * fl_log.c -- the server's event log (fl_log.h says what a line looks
 * like). A line is built whole in a stack buffer and written at once
 * (one write(2) unless it is cut short): stderr is unbuffered, and fprintf
 * would issue several writes that lines from other threads could land
 * between.
 */
#include "fl_config.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fl_fs.h"
#include "fl_log.h"

#define MSG_MAX  4096
/* Worst case of the JSON form: every byte of the message as \u00XX (6)
 * or U+FFFD as \ufffd (6), plus the fixed fields. */
#define LINE_MAX (MSG_MAX * 6 + 256)

/* Process-wide, set once at start (fl_log.h); atomics because a test or
 * a command may log from a thread it started before configuring. */
static _Atomic int log_format = FL_LOG_PLAIN;
static _Atomic int log_min = FL_LOG_INFO;

static const char *const level_words[] = { "debug", "info", "warn", "error" };
static const char *const level_text[] = { "DEBUG", "INFO ", "WARN ", "ERROR" };


int
fl_log_format_parse(const char *word, enum fl_log_format *out)
{
    if (strcmp(word, "text") == 0)
        *out = FL_LOG_TEXT;
    else if (strcmp(word, "json") == 0)
        *out = FL_LOG_JSON;
    else
        return -1;
    return 0;
}


int
fl_log_level_parse(const char *word, enum fl_log_level *out)
{
    for (int i = FL_LOG_DEBUG; i <= FL_LOG_ERROR; i++) {
        if (strcmp(word, level_words[i]) == 0) {
            *out = (enum fl_log_level)i;
            return 0;
        }
    }
    return -1;
}


void
fl_log_configure(enum fl_log_format format, enum fl_log_level min)
{
    atomic_store(&log_format, (int)format);
    atomic_store(&log_min, (int)min);
}


int
fl_log_enabled(enum fl_log_level level)
{
    return (int)level >= atomic_load(&log_min);
}


/* Length of the valid UTF-8 sequence at s[0..n), or 0 when it is not one
 * (overlong forms, surrogates and values past U+10FFFF included). */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    unsigned v = c & (0x3f >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    return len;
}


/* Appends s to out[*o..cap): as a JSON string body when json, else as
 * text with control bytes escaped so that an event stays on one line. */
static void
put_escaped(char *out, size_t cap, size_t *o, const char *s, int json)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);

    for (size_t i = 0; i < n && *o + 8 < cap;) {
        unsigned char c = p[i];
        if (c == '"' && json) {
            out[(*o)++] = '\\'; out[(*o)++] = '"'; i++;
        } else if (c == '\\' && json) {
            out[(*o)++] = '\\'; out[(*o)++] = '\\'; i++;
        } else if (c == '\n') {
            out[(*o)++] = '\\'; out[(*o)++] = 'n'; i++;
        } else if (c == '\t') {
            out[(*o)++] = '\\'; out[(*o)++] = 't'; i++;
        } else if (c < 0x20 || c == 0x7f) {
            out[(*o)++] = '\\'; out[(*o)++] = 'u';
            out[(*o)++] = '0'; out[(*o)++] = '0';
            out[(*o)++] = hex[c >> 4]; out[(*o)++] = hex[c & 15];
            i++;
        } else if (c < 0x80 || !json) {
            out[(*o)++] = (char)c; i++;
        } else {
            size_t len = utf8_seq(p + i, n - i);
            if (len == 0) {
                memcpy(out + *o, "\\ufffd", 6);
                *o += 6;
                i++;
            } else {
                memcpy(out + *o, p + i, len);
                *o += len;
                i += len;
            }
        }
    }
}


void
fl_log(enum fl_log_level level, const char *component, const char *fmt, ...)
{
    if (!fl_log_enabled(level))
        return;
    char msg[MSG_MAX], line[LINE_MAX], stamp[64];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timespec ts;
    struct tm tm;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    (void)gmtime_r(&ts.tv_sec, &tm);
    (void)snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                   tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

    int format = atomic_load(&log_format);
    size_t o;
    if (format == FL_LOG_PLAIN) {
        o = (size_t)snprintf(line, sizeof line, "flowlake: ");
        put_escaped(line, sizeof line, &o, msg, 0);
        line[o++] = '\n';
    } else if (format == FL_LOG_JSON) {
        o = (size_t)snprintf(line, sizeof line,
                             "{\"time\":\"%s\",\"level\":\"%s\",\"component\":\"",
                             stamp, level_words[level]);
        put_escaped(line, sizeof line, &o, component, 1);
        memcpy(line + o, "\",\"msg\":\"", 9);
        o += 9;
        put_escaped(line, sizeof line, &o, msg, 1);
        memcpy(line + o, "\"}\n", 3);
        o += 3;
    } else {
        o = (size_t)snprintf(line, sizeof line, "%s %s %s: ", stamp,
                             level_text[level], component);
        put_escaped(line, sizeof line, &o, msg, 0);
        line[o++] = '\n';
    }
    /* A failed write to stderr has nowhere to be reported. */
    (void)fl_fs_write_all(STDERR_FILENO, line, o);
}
