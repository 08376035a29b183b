/* SPDX-License-Identifier: MIT
 *
 * evaluate.c -- the pure alarm rule (CloudWatch's; see alarm.h), its
 * reason text, and the names of comparisons, treatments and states.
 *
 * The rule, over the points of the evaluation range (oldest first):
 *   - real >= N: the N most recent real points decide (ALARM when at least
 *     M breach); the missing-data treatment is not used;
 *   - 0 < real < N: breaching / notBreaching fill the N - real missing
 *     points ("as few times as possible"); missing judges the real points
 *     alone with M' = min(M, real) (the "premature alarm" rule); ignore
 *     does the same but keeps the current state instead of going to ALARM;
 *   - real == 0: missing -> INSUFFICIENT_DATA, ignore -> current state,
 *     breaching -> ALARM, notBreaching -> OK.
 * The unit tests hold every cell of both documented truth tables.
 */
#include "../core/fl_config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../core/fl_error.h"
#include "../core/fl_time.h"
#include "alarm_int.h"

/* Values listed in a reason at most (the text must fit 1023 bytes). */
#define REASON_LIST_MAX 10

/* A bounded text accumulator: truncates silently, always terminated. */
struct text {
    char   *buf;
    size_t  len, cap;
};


static void
text_add(struct text *t, const char *fmt, ...)
{
    va_list ap;
    if (t->cap == 0 || t->len >= t->cap - 1)
        return;
    va_start(ap, fmt);
    int w = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (w < 0)
        return;
    t->len += (size_t)w;
    if (t->len > t->cap - 1)
        t->len = t->cap - 1;
}


int
fl_alarm_breaches(enum fl_alarm_cmp cmp, double value, double threshold)
{
    switch (cmp) {
    case FL_ALARM_GE: return value >= threshold;
    case FL_ALARM_GT: return value > threshold;
    case FL_ALARM_LT: return value < threshold;
    case FL_ALARM_LE: return value <= threshold;
    }
    return 0;
}


void
fl_alarm_fmt_num(double v, char *buf, size_t len)
{
    /* Whole numbers keep one decimal as CloudWatch shows them ("1500.0");
     * others get the shortest of 15 significant digits. */
    if (isfinite(v) && v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, len, "%.1f", v);
    else
        snprintf(buf, len, "%.15g", v);
}


void
fl_alarm_fmt_iso(int64_t t, char *buf, size_t len)
{
    struct fl_civil c;
    fl_time_to_civil(t < 0 ? 0 : t, &c);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year, c.month,
             c.day, c.hour, c.minute, c.second);
}


static const char *
cmp_phrase(enum fl_alarm_cmp c)
{
    switch (c) {
    case FL_ALARM_GE: return "greater than or equal to";
    case FL_ALARM_GT: return "greater than";
    case FL_ALARM_LT: return "less than";
    case FL_ALARM_LE: return "less than or equal to";
    }
    return "?";
}


/* "[1500.0 (29/11/26 18:30:00), ...]": the real points among the most
 * recent `upto` positions that were considered, newest first. */
static void
list_values(struct text *t, const enum fl_alarm_point *points,
            const double *values, const int64_t *starts, size_t range,
            size_t first)
{
    size_t listed = 0;
    text_add(t, " [");
    for (size_t i = range; i-- > first;) {
        if (points[i] == FL_POINT_MISSING)
            continue;
        if (listed == REASON_LIST_MAX) {
            text_add(t, ", ...");
            break;
        }
        char num[64];
        struct fl_civil c;
        fl_alarm_fmt_num(values[i], num, sizeof num);
        fl_time_to_civil(starts[i] < 0 ? 0 : starts[i], &c);
        text_add(t, "%s%s (%02d/%02d/%02d %02d:%02d:%02d)",
                 listed ? ", " : "", num, c.day, c.month, c.year % 100,
                 c.hour, c.minute, c.second);
        listed++;
    }
    text_add(t, "]");
}


static const char *
plural(unsigned k)
{
    return k == 1 ? "" : "s";
}


enum fl_alarm_state
fl_alarm_evaluate_detail(const enum fl_alarm_point *points,
                         const double *values, const int64_t *starts,
                         size_t range, unsigned n, unsigned m,
                         enum fl_alarm_missing treat,
                         enum fl_alarm_state current,
                         const enum fl_alarm_cmp *cmp, double threshold,
                         char *reason, size_t reasonlen)
{
    struct text t = { reason, 0, reasonlen };
    unsigned real = 0;
    if (reasonlen > 0)
        reason[0] = '\0';
    if (n == 0)
        n = 1;
    if (m == 0 || m > n)
        m = n;
    for (size_t i = 0; i < range; i++)
        real += points[i] != FL_POINT_MISSING;

    if (real == 0) {
        switch (treat) {
        case FL_MISSING_MISSING:
            text_add(&t, "Insufficient Data: %zu datapoint%s %s unknown.",
                     range, range == 1 ? "" : "s",
                     range == 1 ? "was" : "were");
            return FL_ALARM_INSUFFICIENT_DATA;
        case FL_MISSING_IGNORE:
            text_add(&t, "Insufficient Data: %zu datapoint%s %s unknown; "
                     "missing data is ignored, the state is kept.", range,
                     range == 1 ? "" : "s", range == 1 ? "was" : "were");
            return current;
        case FL_MISSING_BREACHING:
        case FL_MISSING_NOT_BREACHING:
            text_add(&t, "Threshold Crossed: no datapoints were received for "
                     "%zu period%s and %u missing datapoint%s %s treated as "
                     "[%s].", range, range == 1 ? "" : "s", n, plural(n),
                     n == 1 ? "was" : "were",
                     treat == FL_MISSING_BREACHING ? "Breaching"
                                                   : "NonBreaching");
            return treat == FL_MISSING_BREACHING ? FL_ALARM_ALARM
                                                 : FL_ALARM_OK;
        }
    }

    /* The considered positions: from `first` to the end, holding `used`
     * real points (all real ones when fewer than N). */
    unsigned used = real < n ? real : n;
    size_t first = range;
    unsigned seen = 0, breach = 0;
    while (first > 0 && seen < used) {
        first--;
        if (points[first] != FL_POINT_MISSING) {
            seen++;
            breach += points[first] == FL_POINT_BREACHING;
        }
    }
    unsigned k = used, need = m, filled = 0;
    int fill_breach = 0;
    if (real < n) {
        if (treat == FL_MISSING_BREACHING || treat == FL_MISSING_NOT_BREACHING) {
            filled = n - real;
            k = n;
            fill_breach = treat == FL_MISSING_BREACHING;
            if (fill_breach)
                breach += filled;
        } else {
            need = m < real ? m : real;     /* premature-alarm rule */
        }
    }
    enum fl_alarm_state st = breach >= need ? FL_ALARM_ALARM : FL_ALARM_OK;
    int kept = 0;
    if (st == FL_ALARM_ALARM && real < n && treat == FL_MISSING_IGNORE) {
        kept = 1;
        st = current;
    }

    /* The counted points are the breaching ones for ALARM, the others
     * for OK (CloudWatch words it the same way). */
    int to_alarm = breach >= need;
    unsigned x = to_alarm ? breach : k - breach;
    unsigned minimum = to_alarm ? need : k - need + 1;
    text_add(&t, "Threshold Crossed: %u out of the last %u datapoint%s", x,
             k, plural(k));
    if (cmp != NULL && values != NULL && starts != NULL)
        list_values(&t, points, values, starts, range, first);
    if (cmp != NULL) {
        char num[64];
        fl_alarm_fmt_num(threshold, num, sizeof num);
        text_add(&t, " %s %s%s the threshold (%s)", x == 1 ? "was" : "were",
                 to_alarm ? "" : "not ", cmp_phrase(*cmp), num);
    } else {
        text_add(&t, " %s %s", x == 1 ? "was" : "were",
                 to_alarm ? "breaching" : "not breaching");
    }
    if (filled > 0)
        text_add(&t, "; %u missing datapoint%s %s treated as %s", filled,
                 plural(filled), filled == 1 ? "was" : "were",
                 fill_breach ? "breaching" : "not breaching");
    enum fl_alarm_state target = to_alarm ? FL_ALARM_ALARM : FL_ALARM_OK;
    if (target != current)
        text_add(&t, " (minimum %u datapoint%s for %s -> %s transition)",
                 minimum, plural(minimum), fl_alarm_state_name(current),
                 fl_alarm_state_name(target));
    else
        text_add(&t, " (minimum %u datapoint%s for %s)", minimum,
                 plural(minimum), fl_alarm_state_name(target));
    if (kept)
        text_add(&t, "; fewer than %u datapoints and missing data is "
                 "ignored: the state is kept", n);
    text_add(&t, ".");
    return st;
}


enum fl_alarm_state
fl_alarm_evaluate(const enum fl_alarm_point *points, size_t range,
                  unsigned n, unsigned m, enum fl_alarm_missing treat,
                  enum fl_alarm_state current, char *reason,
                  size_t reasonlen)
{
    return fl_alarm_evaluate_detail(points, NULL, NULL, range, n, m, treat,
                                    current, NULL, 0, reason, reasonlen);
}


/* ------------------------------------------------------------------ */
/* Names. */

static const struct {
    const char       *name;
    enum fl_alarm_cmp cmp;
} cmp_names[] = {
    { "GreaterThanOrEqualToThreshold", FL_ALARM_GE },
    { "GreaterThanThreshold",          FL_ALARM_GT },
    { "LessThanThreshold",             FL_ALARM_LT },
    { "LessThanOrEqualToThreshold",    FL_ALARM_LE },
    { ">=", FL_ALARM_GE },
    { ">",  FL_ALARM_GT },
    { "<",  FL_ALARM_LT },
    { "<=", FL_ALARM_LE },
};


int
fl_alarm_cmp_parse(const char *s, enum fl_alarm_cmp *out)
{
    for (size_t i = 0; i < sizeof cmp_names / sizeof cmp_names[0]; i++)
        if (strcmp(s, cmp_names[i].name) == 0) {
            *out = cmp_names[i].cmp;
            return FL_OK;
        }
    return FL_ECONFIG;
}


const char *
fl_alarm_cmp_name(enum fl_alarm_cmp c)
{
    for (size_t i = 0; i < 4; i++)
        if (cmp_names[i].cmp == c)
            return cmp_names[i].name;
    return "?";
}


static const char *const missing_names[] = {
    [FL_MISSING_MISSING] = "missing",
    [FL_MISSING_IGNORE] = "ignore",
    [FL_MISSING_BREACHING] = "breaching",
    [FL_MISSING_NOT_BREACHING] = "notBreaching",
};


int
fl_alarm_missing_parse(const char *s, enum fl_alarm_missing *out)
{
    for (size_t i = 0; i < 4; i++)
        if (strcmp(s, missing_names[i]) == 0) {
            *out = (enum fl_alarm_missing)i;
            return FL_OK;
        }
    return FL_ECONFIG;
}


const char *
fl_alarm_missing_name(enum fl_alarm_missing m)
{
    return (unsigned)m < 4 ? missing_names[m] : "?";
}


const char *
fl_alarm_state_name(enum fl_alarm_state s)
{
    switch (s) {
    case FL_ALARM_INSUFFICIENT_DATA: return "INSUFFICIENT_DATA";
    case FL_ALARM_OK:                return "OK";
    case FL_ALARM_ALARM:             return "ALARM";
    }
    return "?";
}
