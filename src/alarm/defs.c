/* SPDX-License-Identifier: MIT
 *
 * defs.c -- alarm definitions from the [alarm.NAME] sections of the config
 * file (config/config.h collects their keys as written, with lines; this
 * file knows what they mean). Every key is documented in docs/alarms.md.
 * The first problem is reported as "FILE:LINE: [alarm.NAME] message", the
 * line being the key's (or the section's, for a key that is missing).
 */
#include "../core/fl_config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/config.h"
#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "alarm_int.h"

/* Defaults (docs/alarms.md). */
#define DEF_TIMEOUT_MS  5000
#define DEF_RETRIES     5
#define DEF_BACKOFF_MS  1000
#define MAX_RETRIES     100
#define MAX_DURATION_MS (3600u * 1000u)

/* Keys that may appear once; webhook and command may repeat. */
static const char *const single_keys[] = {
    "metric", "dimensions", "comparison", "threshold", "evaluation_periods",
    "datapoints_to_alarm", "evaluation_range", "treat_missing_data",
    "description", "log", "webhook_timeout", "webhook_retries",
    "webhook_backoff",
};
#define N_SINGLE (sizeof single_keys / sizeof single_keys[0])


static int
fail(const struct fl_config_section *s, int line, char *err, size_t errlen,
     const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%s:%d: [alarm.%s] %s", s->file ? s->file : "?",
             line, s->name, msg);
    return FL_ECONFIG;
}


static int
valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '_' && c != '.' && c != '-')
            return 0;
    }
    return 1;
}


/* A whole number in [lo, hi]. */
static int
parse_uint(const char *s, unsigned long lo, unsigned long hi,
           unsigned long *out)
{
    char *end;
    if (!isdigit((unsigned char)s[0]))
        return FL_ECONFIG;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return FL_ECONFIG;
    *out = v;
    return FL_OK;
}


/* "500ms", or what fl_config_parse_duration takes ("5s", "2m", "10"). */
static int
parse_ms(const char *s, uint64_t *out)
{
    size_t n = strlen(s);
    if (n > 2 && strcmp(s + n - 2, "ms") == 0) {
        char num[32];
        unsigned long v;
        if (n - 2 >= sizeof num)
            return FL_ECONFIG;
        memcpy(num, s, n - 2);
        num[n - 2] = '\0';
        if (parse_uint(num, 0, MAX_DURATION_MS, &v) < 0)
            return FL_ECONFIG;
        *out = v;
        return FL_OK;
    }
    uint64_t sec;
    if (fl_config_parse_duration(s, &sec) < 0 || sec > MAX_DURATION_MS / 1000)
        return FL_ECONFIG;
    *out = sec * 1000;
    return FL_OK;
}


/* A copy of s[0..n) without surrounding blanks. */
static char *
trimmed(const char *s, size_t n)
{
    while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return fl_strndup(s, n);
}


static int
push_str(char ***arr, size_t *n, char *s)
{
    char **p = fl_realloc(*arr, (*n + 1) * sizeof *p);
    if (p == NULL) {
        fl_free(s);
        return FL_ENOMEM;
    }
    p[(*n)++] = s;
    *arr = p;
    return FL_OK;
}


/* "protocol=6, action=REJECT". */
static int
parse_dims(const struct fl_config_section *s, int line, const char *v,
           struct fl_alarm_def *d, char *err, size_t errlen)
{
    const char *p = v;
    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        char *name = NULL, *val = NULL;
        if (eq == NULL)
            goto bad;
        name = trimmed(p, (size_t)(eq - p));
        val = trimmed(eq + 1, len - (size_t)(eq - p) - 1);
        if (name == NULL || val == NULL) {
            fl_free(name);
            fl_free(val);
            return FL_ENOMEM;
        }
        if (name[0] == '\0' || val[0] == '\0') {
            fl_free(name);
            fl_free(val);
            goto bad;
        }
        for (size_t i = 0; i < d->n_dims; i++)
            if (strcmp(d->dim_names[i], name) == 0) {
                int rc = fail(s, line, err, errlen,
                              "dimensions: '%s' is given twice", name);
                fl_free(name);
                fl_free(val);
                return rc;
            }
        if (d->n_dims == FL_ALARM_MAX_DIMS) {
            fl_free(name);
            fl_free(val);
            return fail(s, line, err, errlen,
                        "dimensions: at most %d", FL_ALARM_MAX_DIMS);
        }
        size_t nn = d->n_dims;
        if (push_str(&d->dim_names, &nn, name) < 0) {
            fl_free(val);
            return FL_ENOMEM;
        }
        nn = d->n_dims;
        if (push_str(&d->dim_values, &nn, val) < 0) {
            /* Keep names and values paired for the free. */
            fl_free(d->dim_names[d->n_dims]);
            return FL_ENOMEM;
        }
        d->n_dims++;
        p = comma ? comma + 1 : p + len;
        continue;
bad:
        return fail(s, line, err, errlen,
                    "dimensions: '%.*s' is not NAME=VALUE (e.g. "
                    "protocol=6, action=REJECT)", (int)len, p);
    }
    return FL_OK;
}


/* webhook / command: one value or several separated by commas (webhooks
 * only: a command may contain commas). */
static int
add_actions(const struct fl_config_section *s, int line, const char *key,
            const char *v, int split, char ***arr, size_t *n, char *err,
            size_t errlen)
{
    const char *p = v;
    for (;;) {
        const char *comma = split ? strchr(p, ',') : NULL;
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char *one = trimmed(p, len);
        if (one == NULL)
            return FL_ENOMEM;
        if (one[0] == '\0') {
            fl_free(one);
            return fail(s, line, err, errlen, "%s: empty value", key);
        }
        if (split && strncmp(one, "http://", 7) != 0
            && strncmp(one, "https://", 8) != 0) {
            int rc = fail(s, line, err, errlen,
                          "%s: '%s' is not an http:// or https:// URL", key,
                          one);
            fl_free(one);
            return rc;
        }
        if (*n == FL_ALARM_MAX_ACTIONS) {
            fl_free(one);
            return fail(s, line, err, errlen, "%s: at most %d per alarm", key,
                        FL_ALARM_MAX_ACTIONS);
        }
        if (push_str(arr, n, one) < 0)
            return FL_ENOMEM;
        if (comma == NULL)
            return FL_OK;
        p = comma + 1;
    }
}


static void
def_free(struct fl_alarm_def *d)
{
    fl_free(d->name);
    fl_free(d->description);
    fl_free(d->metric);
    for (size_t i = 0; i < d->n_dims; i++) {
        fl_free(d->dim_names[i]);
        fl_free(d->dim_values[i]);
    }
    fl_free(d->dim_names);
    fl_free(d->dim_values);
    for (size_t i = 0; i < d->n_webhooks; i++)
        fl_free(d->webhooks[i]);
    fl_free(d->webhooks);
    for (size_t i = 0; i < d->n_commands; i++)
        fl_free(d->commands[i]);
    fl_free(d->commands);
    memset(d, 0, sizeof *d);
}


void
fl_alarm_defs_free(struct fl_alarm_def *defs, size_t n)
{
    if (defs == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        def_free(&defs[i]);
    fl_free(defs);
}


/* One section into d (zeroed by the caller). */
static int
def_from_section(const struct fl_config_section *s, struct fl_alarm_def *d,
                 char *err, size_t errlen)
{
    int seen[N_SINGLE] = { 0 };
    int have_cmp = 0, have_thr = 0;
    int line_dta = 0, line_range = 0;
    unsigned long n = 1, m = 0, range = 0, v;

    if (!valid_name(s->name))
        return fail(s, s->line, err, errlen,
                    "alarm names are 1 to 255 characters among A-Z a-z 0-9 "
                    "_ . -");
    d->name = fl_strdup(s->name);
    d->description = fl_strdup("");
    if (d->name == NULL || d->description == NULL)
        return FL_ENOMEM;
    d->treat_missing = FL_MISSING_MISSING;
    d->log = 1;
    d->webhook_timeout_ms = DEF_TIMEOUT_MS;
    d->webhook_retries = DEF_RETRIES;
    d->webhook_backoff_ms = DEF_BACKOFF_MS;

    for (size_t i = 0; i < s->n; i++) {
        const char *k = s->keys[i], *val = s->values[i];
        int line = s->lines ? s->lines[i] : s->line;
        int rc = FL_OK;
        size_t si;
        for (si = 0; si < N_SINGLE; si++)
            if (strcmp(k, single_keys[si]) == 0)
                break;
        if (si < N_SINGLE) {
            if (seen[si])
                return fail(s, line, err, errlen,
                            "%s is given twice (first at line %d)", k,
                            seen[si]);
            seen[si] = line;
        }

        if (strcmp(k, "metric") == 0) {
            if (!valid_name(val))
                return fail(s, line, err, errlen,
                            "metric: '%s' is not a metric name", val);
            fl_free(d->metric);
            if ((d->metric = fl_strdup(val)) == NULL)
                return FL_ENOMEM;
        } else if (strcmp(k, "dimensions") == 0) {
            rc = parse_dims(s, line, val, d, err, errlen);
        } else if (strcmp(k, "comparison") == 0) {
            if (fl_alarm_cmp_parse(val, &d->cmp) < 0)
                return fail(s, line, err, errlen,
                            "comparison: '%s' is not one of "
                            "GreaterThanOrEqualToThreshold, "
                            "GreaterThanThreshold, LessThanThreshold, "
                            "LessThanOrEqualToThreshold, >=, >, <, <=", val);
            have_cmp = 1;
        } else if (strcmp(k, "threshold") == 0) {
            char *end;
            errno = 0;
            double t = strtod(val, &end);
            if (val[0] == '\0' || *end != '\0' || errno == ERANGE
                || !isfinite(t))
                return fail(s, line, err, errlen,
                            "threshold: '%s' is not a finite number", val);
            d->threshold = t;
            have_thr = 1;
        } else if (strcmp(k, "evaluation_periods") == 0) {
            if (parse_uint(val, 1, FL_ALARM_MAX_RANGE, &n) < 0)
                return fail(s, line, err, errlen,
                            "evaluation_periods: '%s' is not a whole number "
                            "from 1 to %d", val, FL_ALARM_MAX_RANGE);
        } else if (strcmp(k, "datapoints_to_alarm") == 0) {
            if (parse_uint(val, 1, FL_ALARM_MAX_RANGE, &m) < 0)
                return fail(s, line, err, errlen,
                            "datapoints_to_alarm: '%s' is not a whole "
                            "number from 1 to %d", val, FL_ALARM_MAX_RANGE);
            line_dta = line;
        } else if (strcmp(k, "evaluation_range") == 0) {
            if (parse_uint(val, 1, FL_ALARM_MAX_RANGE, &range) < 0)
                return fail(s, line, err, errlen,
                            "evaluation_range: '%s' is not a whole number "
                            "from 1 to %d", val, FL_ALARM_MAX_RANGE);
            line_range = line;
        } else if (strcmp(k, "treat_missing_data") == 0) {
            if (fl_alarm_missing_parse(val, &d->treat_missing) < 0)
                return fail(s, line, err, errlen,
                            "treat_missing_data: '%s' is not one of "
                            "missing, ignore, breaching, notBreaching", val);
        } else if (strcmp(k, "description") == 0) {
            fl_free(d->description);
            if ((d->description = fl_strdup(val)) == NULL)
                return FL_ENOMEM;
        } else if (strcmp(k, "webhook") == 0) {
            rc = add_actions(s, line, k, val, 1, &d->webhooks,
                             &d->n_webhooks, err, errlen);
        } else if (strcmp(k, "command") == 0) {
            rc = add_actions(s, line, k, val, 0, &d->commands,
                             &d->n_commands, err, errlen);
        } else if (strcmp(k, "log") == 0) {
            if (fl_config_parse_bool(val, &d->log) < 0)
                return fail(s, line, err, errlen,
                            "log: '%s' is not true or false", val);
        } else if (strcmp(k, "webhook_timeout") == 0) {
            if (parse_ms(val, &d->webhook_timeout_ms) < 0
                || d->webhook_timeout_ms == 0)
                return fail(s, line, err, errlen,
                            "webhook_timeout: '%s' is not a duration from "
                            "1ms to 1h such as 5s or 500ms", val);
        } else if (strcmp(k, "webhook_retries") == 0) {
            if (parse_uint(val, 0, MAX_RETRIES, &v) < 0)
                return fail(s, line, err, errlen,
                            "webhook_retries: '%s' is not a whole number "
                            "from 0 to %d", val, MAX_RETRIES);
            d->webhook_retries = (unsigned)v;
        } else if (strcmp(k, "webhook_backoff") == 0) {
            if (parse_ms(val, &d->webhook_backoff_ms) < 0)
                return fail(s, line, err, errlen,
                            "webhook_backoff: '%s' is not a duration up to "
                            "1h such as 1s or 200ms", val);
        } else {
            return fail(s, line, err, errlen, "unknown key '%s'", k);
        }
        if (rc < 0)
            return rc;
    }

    if (d->metric == NULL)
        return fail(s, s->line, err, errlen, "metric is required");
    if (!have_cmp)
        return fail(s, s->line, err, errlen, "comparison is required");
    if (!have_thr)
        return fail(s, s->line, err, errlen, "threshold is required");
    if (m == 0)
        m = n;
    if (m > n)
        return fail(s, line_dta, err, errlen,
                    "datapoints_to_alarm: %lu is more than "
                    "evaluation_periods (%lu)", m, n);
    if (range == 0)
        range = n + 2 > FL_ALARM_MAX_RANGE ? FL_ALARM_MAX_RANGE : n + 2;
    if (range < n)
        return fail(s, line_range, err, errlen,
                    "evaluation_range: %lu is less than evaluation_periods "
                    "(%lu)", range, n);
    d->evaluation_periods = (unsigned)n;
    d->datapoints_to_alarm = (unsigned)m;
    d->evaluation_range = (unsigned)range;
    return FL_OK;
}


int
fl_alarm_defs_from_config(const struct fl_config_section *sections,
                          size_t n, struct fl_alarm_def **out,
                          size_t *out_n, char *err, size_t errlen)
{
    struct fl_alarm_def *defs = NULL;
    int rc = FL_OK;

    if (errlen > 0)
        err[0] = '\0';
    if (n > 0 && (defs = fl_calloc(n, sizeof *defs)) == NULL)
        return FL_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        rc = def_from_section(&sections[i], &defs[i], err, errlen);
        if (rc < 0)
            goto out;
    }
    *out = defs;
    *out_n = n;
    defs = NULL;
out:
    if (defs != NULL)
        fl_alarm_defs_free(defs, n);
    return rc;
}
