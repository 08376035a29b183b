/* SPDX-License-Identifier: MIT
 *
 * change.c -- reads an outbox change file (outbox.h: "put TAB i TAB
 * bytes TAB path", "delete TAB path", then "end"), as the uploader does
 * before acting on it. The file is ours, but it sits on a disk for as long
 * as the store is away: a line that is not one, a number that is not a
 * number, a path that would leave the prefix ("..", a leading '/') or a
 * missing "end" (a torn write) is refused with the line it is on, and the
 * change is left for a person to look at rather than half-applied
 * (fuzz/fuzz_outbox_change.c).
 */
#include "../core/fl_config.h"

#include <stdlib.h>
#include <string.h>

#include "../core/fl_mem.h"
#include "outbox.h"


/* A decimal number, the whole field. */
static int
parse_number(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (*s == '\0' || strlen(s) > 19)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}


/* A relative path that stays below the prefix: not empty, no leading
 * '/', no "." or ".." segment, no empty segment but a final one. */
static int
safe_path(const char *p)
{
    if (*p == '\0' || *p == '/')
        return 0;
    while (*p != '\0') {
        const char *slash = strchr(p, '/');
        size_t len = slash != NULL ? (size_t)(slash - p) : strlen(p);
        if ((len == 0 && slash != NULL) || (len == 1 && p[0] == '.')
            || (len == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        if (slash == NULL)
            break;
        p = slash + 1;
    }
    return 1;
}


int
fl_change_parse(const char *path, char *text, struct fl_change_item **out,
                size_t *n_out, struct fl_err *err)
{
    struct fl_change_item *items = NULL;
    size_t n = 0, cap = 0, puts = 0;
    int ended = 0;
    unsigned line = 0;
    int rc = FL_OK;

    *out = NULL;
    *n_out = 0;
    for (char *cur = text, *nl; *cur != '\0'; cur = nl + 1) {
        line++;
        if ((nl = strchr(cur, '\n')) == NULL)
            break;                       /* a torn last line */
        *nl = '\0';
        if (ended) {
            rc = fl_err_set(err, FL_ECORRUPT, "%s:%u: a line after \"end\"",
                            path, line);
            break;
        }
        char *f[4];
        int nf = 0;
        for (char *p = cur;; ) {
            f[nf++] = p;
            char *tab = strchr(p, '\t');
            if (tab == NULL || nf == 4)
                break;
            *tab = '\0';
            p = tab + 1;
        }
        struct fl_change_item it = { 0 };
        uint64_t index = 0;
        if (nf == 1 && strcmp(f[0], "end") == 0) {
            ended = 1;
            continue;
        }
        if (nf == 4 && strcmp(f[0], "put") == 0
            && parse_number(f[1], &index) == 0 && index == puts
            && parse_number(f[2], &it.bytes) == 0 && safe_path(f[3])
            && f[3][strlen(f[3]) - 1] != '/') {
            it.put = 1;
            it.index = (unsigned)index;
            it.rel = f[3];
            puts++;
        } else if (nf == 2 && strcmp(f[0], "delete") == 0 && safe_path(f[1])) {
            it.rel = f[1];
        } else {
            rc = fl_err_set(err, FL_ECORRUPT, "%s:%u: not a change line "
                            "(put TAB N TAB BYTES TAB PATH, delete TAB PATH "
                            "or end)", path, line);
            break;
        }
        struct fl_change_item *g = fl_grow(items, &cap, n + 1, sizeof *items,
                                           64);
        if (g == NULL) {
            rc = fl_err_oom(err);
            break;
        }
        items = g;
        items[n++] = it;
    }
    if (rc == 0 && !ended)
        rc = fl_err_set(err, FL_ETRUNC, "%s: no \"end\" line (the change "
                        "was not written whole)", path);
    if (rc < 0) {
        fl_free(items);
        return rc;
    }
    *out = items;
    *n_out = n;
    return FL_OK;
}
