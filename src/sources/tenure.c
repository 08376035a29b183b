/* SPDX-License-Identifier: MIT
 *
 * tenure.c -- the history of a partition's tenures in its commit
 * metadata, and the verdict on a batch whose commit's outcome is not
 * known (see tenure.h).
 */
#include "../core/fl_config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "../core/fl_error.h"
#include "tenure.h"

#define MAGIC "fl1"


static int
is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}


/* One "ID@START" of p[0..n); returns 0 or FL_EPARSE. */
static int
parse_entry(const char *p, size_t n, struct fl_tenure_entry *e)
{
    if (n < FL_TENURE_ID_LEN + 2 || p[FL_TENURE_ID_LEN] != '@')
        return FL_EPARSE;
    for (size_t i = 0; i < FL_TENURE_ID_LEN; i++)
        if (!is_hex(p[i]))
            return FL_EPARSE;
    int64_t v = 0;
    for (size_t i = FL_TENURE_ID_LEN + 1; i < n; i++) {
        if (p[i] < '0' || p[i] > '9' || v > (INT64_MAX - 9) / 10)
            return FL_EPARSE;
        v = v * 10 + (p[i] - '0');
    }
    memcpy(e->id, p, FL_TENURE_ID_LEN);
    e->id[FL_TENURE_ID_LEN] = '\0';
    e->start = v;
    return FL_OK;
}


int
fl_tenure_parse(const char *meta, size_t len, struct fl_tenure_history *h)
{
    memset(h, 0, sizeof *h);
    size_t m = sizeof MAGIC - 1;
    if (meta == NULL || len < m || memcmp(meta, MAGIC, m) != 0)
        goto foreign;
    size_t o = m;
    if (o < len && meta[o] == '+') {
        h->truncated = 1;
        o++;
    }
    while (o < len) {
        if (meta[o] != ' ')
            goto foreign;
        o++;
        size_t end = o;
        while (end < len && meta[end] != ' ')
            end++;
        if (h->n == FL_TENURE_MAX
            || parse_entry(meta + o, end - o, &h->e[h->n]) < 0)
            goto foreign;
        h->n++;
        o = end;
    }
    return FL_OK;
foreign:
    memset(h, 0, sizeof *h);
    h->truncated = 1;
    return FL_EPARSE;
}


/* The metadata of h into out; returns its length. */
static size_t
format_history(const struct fl_tenure_history *h, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s%s", MAGIC, h->truncated ? "+" : "");
    size_t o = n > 0 ? (size_t)n : 0;
    for (size_t i = 0; i < h->n && o < cap; i++) {
        n = snprintf(out + o, cap - o, " %s@%" PRId64, h->e[i].id,
                     h->e[i].start);
        o += n > 0 ? (size_t)n : 0;
    }
    return o < cap ? o : cap - 1;
}


static void
drop_oldest(struct fl_tenure_history *h)
{
    memmove(&h->e[0], &h->e[1], (h->n - 1) * sizeof h->e[0]);
    h->n--;
    h->truncated = 1;
}


void
fl_tenure_begin(struct fl_tenure_history *h, const char *id, int64_t start,
                char *out, size_t cap)
{
    if (h->n == FL_TENURE_MAX)
        drop_oldest(h);
    snprintf(h->e[h->n].id, sizeof h->e[h->n].id, "%s", id);
    h->e[h->n].start = start < 0 ? 0 : start;
    h->n++;
    char text[FL_TENURE_MAX * 32 + 8];
    while (format_history(h, text, sizeof text) > FL_TENURE_TEXT_MAX
           && h->n > 1)
        drop_oldest(h);
    format_history(h, out, cap);
}


void
fl_tenure_new_id(char out[FL_TENURE_ID_LEN + 1])
{
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) {
        /* No entropy to be had: the clock, which two consumers share only
         * by a nanosecond's chance. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        r = (uint64_t)ts.tv_sec * 1000000007u + (uint64_t)ts.tv_nsec;
    }
    snprintf(out, FL_TENURE_ID_LEN + 1, "%012" PRIx64,
             (uint64_t)(r & 0xffffffffffffULL));
}


static long
find(const struct fl_tenure_history *h, const char *id)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->e[i].id, id) == 0)
            return (long)i;
    return -1;
}


enum fl_tenure_verdict
fl_tenure_judge(const struct fl_tenure_history *h, int64_t committed,
                const char *tenure, const char *pred, int64_t last)
{
    /* Commits only move forward: not past the batch now, never was. */
    if (committed <= last)
        return FL_TENURE_DROP;
    /* The tenure after the batch's: after its own entry, or -- when it
     * never committed and has none -- after its predecessor's, or the
     * first of a history that began with it. */
    long next;
    long at = find(h, tenure);
    if (at >= 0) {
        next = at + 1;
    } else if (pred[0] != '\0') {
        if ((at = find(h, pred)) < 0)
            return FL_TENURE_UNKNOWN;
        next = at + 1;
    } else if (!h->truncated) {
        next = 0;
    } else {
        return FL_TENURE_UNKNOWN;
    }
    if ((size_t)next >= h->n) {
        /* No tenure after it has committed: the commits past the batch
         * are its own -- unless it never committed at all, which cannot
         * leave the offset past the batch. */
        return at >= 0 && strcmp(h->e[at].id, tenure) == 0
                   ? FL_TENURE_KEEP : FL_TENURE_UNKNOWN;
    }
    return h->e[next].start > last ? FL_TENURE_KEEP : FL_TENURE_DROP;
}
