/* SPDX-License-Identifier: MIT
 *
 * ingest_err.c -- error messages and small helpers shared by src/ingest/ (see
 * ingest_int.h).
 *
 * Every message is made printable ASCII before it leaves this file: parts
 * of it (a JSON error's "near '...'", a quoted messageType) come from the
 * input, and the message may end up in a JSON response, a log line or a
 * terminal.
 */
#include "../core/fl_config.h"

#include <stdio.h>
#include <string.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "ingest_int.h"


static void
sanitize(char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            *s = '?';
}


void
fl_ingest_errf(struct fl_ingest_err *err, const char *fmt, ...)
{
    va_list ap;

    err->record = -1;
    err->line = 0;
    err->column = 0;
    va_start(ap, fmt);
    (void)vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    sanitize(err->msg);
}


void
fl_ingest_err_prefix(struct fl_ingest_err *err, const char *fmt, ...)
{
    char pre[160];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    sanitize(pre);

    size_t pl = strlen(pre), ml = strlen(err->msg);
    size_t room = sizeof err->msg - 1 - pl - 2;  /* pre is < 160 < 510 */
    size_t keep = ml < room ? ml : room;
    memmove(err->msg + pl + 2, err->msg, keep);
    memcpy(err->msg, pre, pl);
    err->msg[pl] = ':';
    err->msg[pl + 1] = ' ';
    err->msg[pl + 2 + keep] = '\0';
}


void
fl_ingest_quote(char *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, n = len < 64 ? len : 64;

    out[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c >= 0x7f) {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    out[o++] = '"';
    if (n < len) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}


int
fl_ingest_reserve(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return FL_OK;
    char *p = fl_realloc(*buf, need);
    if (p == NULL)
        return FL_ENOMEM;
    *buf = p;
    *cap = need;
    return FL_OK;
}
