/* SPDX-License-Identifier: MIT
 *
 * defs.c -- alarm definitions from the [alarm.NAME] sections of the config
 * file (config/config.h collects their keys as written, with lines; this
 * file knows what they mean). Every key is one entry of alarm_keys[], a
 * struct fl_config_map table like config.c's: its name, default, bounds,
 * doc line and setter. Loading a section, `config check` and `config
 * defaults` all go through that table, and docs/alarms.md documents every
 * key of it (the unit tests hold that). A problem is reported as
 * "FILE:LINE: [alarm.NAME] message", the line being the key's (or the
 * section's, for a key that is missing).
 */
#include "../core/fl_config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/config.h"
#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "alarm_int.h"

#define MAX_RETRIES     100
#define MAX_DURATION_MS (3600u * 1000u)

/* Where the problems of a section go: the first one into err (loading
 * stops there), or every one into all (`config check` lists them). */
struct report {
    const struct fl_config_section *s;
    struct fl_err           *err;
    struct fl_config_errors *all;      /* NULL: stop at the first */
    int                      failed;   /* a problem was reported */
};


/* Reports "FILE:LINE: [alarm.NAME] message". Returns FL_ECONFIG, or
 * FL_ENOMEM when the list could not grow. */
static int
fail(struct report *r, int line, const char *fmt, ...)
    FL_PRINTF(3, 4);

static int
fail(struct report *r, int line, const char *fmt, ...)
{
    const struct fl_config_section *s = r->s;
    char msg[512], where[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(where, sizeof where, "%s:%d: [alarm.%s] %s",
             s->file ? s->file : "?", line, s->name, msg);
    r->failed = 1;
    if (r->all == NULL) {
        return fl_err_set(r->err, FL_ECONFIG, "%s", where);
    }
    /* No key: the message names its place itself. */
    if (fl_config_errors_add(r->all, NULL, NULL, "%s", where) < 0)
        return FL_ENOMEM;
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
parse_dims(const char *v, struct fl_alarm_def *d, char *msg, size_t msglen)
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
                snprintf(msg, msglen, "dimensions: '%s' is given twice",
                         name);
                fl_free(name);
                fl_free(val);
                return FL_ECONFIG;
            }
        if (d->n_dims == FL_ALARM_MAX_DIMS) {
            fl_free(name);
            fl_free(val);
            snprintf(msg, msglen, "dimensions: at most %d",
                     FL_ALARM_MAX_DIMS);
            return FL_ECONFIG;
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
        snprintf(msg, msglen, "dimensions: '%.*s' is not NAME=VALUE (e.g. "
                 "protocol=6, action=REJECT)", (int)len, p);
        return FL_ECONFIG;
    }
    return FL_OK;
}


/* webhook / command: one value or several separated by commas (webhooks
 * only: a command may contain commas). */
static int
add_actions(const char *key, const char *v, int split, char ***arr,
            size_t *n, char *msg, size_t msglen)
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
            snprintf(msg, msglen, "%s: empty value", key);
            return FL_ECONFIG;
        }
        if (split && strncmp(one, "http://", 7) != 0
            && strncmp(one, "https://", 8) != 0) {
            snprintf(msg, msglen, "%s: '%s' is not an http:// or https:// "
                     "URL", key, one);
            fl_free(one);
            return FL_ECONFIG;
        }
        if (*n == FL_ALARM_MAX_ACTIONS) {
            fl_free(one);
            snprintf(msg, msglen, "%s: at most %d per alarm", key,
                     FL_ALARM_MAX_ACTIONS);
            return FL_ECONFIG;
        }
        if (push_str(arr, n, one) < 0)
            return FL_ENOMEM;
        if (comma == NULL)
            return FL_OK;
        p = comma + 1;
    }
}


/* ---- the setters of alarm_keys[] ----------------------------------------
 * Each parses one value into the struct fl_alarm_def (obj) and words its
 * problem as "KEY: ..." (fail() adds FILE:LINE and the section). */

#define DEF(obj) ((struct fl_alarm_def *)(obj))
#define FIELD(obj, k, type) ((type *)(void *)((char *)(obj) + (k)->offset))

static int
set_metric(void *obj, const struct fl_config_map *k, const char *v,
           char *msg, size_t msglen)
{
    (void)k;
    if (!valid_name(v)) {
        snprintf(msg, msglen, "metric: '%s' is not a metric name", v);
        return FL_ECONFIG;
    }
    fl_free(DEF(obj)->metric);
    return (DEF(obj)->metric = fl_strdup(v)) == NULL ? FL_ENOMEM : FL_OK;
}


static int
set_dims(void *obj, const struct fl_config_map *k, const char *v, char *msg,
         size_t msglen)
{
    (void)k;
    return parse_dims(v, DEF(obj), msg, msglen);
}


static int
set_cmp(void *obj, const struct fl_config_map *k, const char *v, char *msg,
        size_t msglen)
{
    (void)k;
    if (fl_alarm_cmp_parse(v, &DEF(obj)->cmp) < 0) {
        snprintf(msg, msglen, "comparison: '%s' is not one of "
                 "GreaterThanOrEqualToThreshold, GreaterThanThreshold, "
                 "LessThanThreshold, LessThanOrEqualToThreshold, >=, >, <, "
                 "<=", v);
        return FL_ECONFIG;
    }
    return FL_OK;
}


static int
set_threshold(void *obj, const struct fl_config_map *k, const char *v,
              char *msg, size_t msglen)
{
    char *end;
    (void)k;
    errno = 0;
    double t = strtod(v, &end);
    if (v[0] == '\0' || *end != '\0' || errno == ERANGE || !isfinite(t)) {
        snprintf(msg, msglen, "threshold: '%s' is not a finite number", v);
        return FL_ECONFIG;
    }
    DEF(obj)->threshold = t;
    return FL_OK;
}


/* A whole number in [k->min, k->max] into an unsigned field. */
static int
set_whole(void *obj, const struct fl_config_map *k, const char *v, char *msg,
          size_t msglen)
{
    unsigned long n;
    if (parse_uint(v, (unsigned long)k->min, (unsigned long)k->max, &n) < 0) {
        snprintf(msg, msglen, "%s: '%s' is not a whole number from %llu to "
                 "%llu", k->name, v, (unsigned long long)k->min,
                 (unsigned long long)k->max);
        return FL_ECONFIG;
    }
    *FIELD(obj, k, unsigned) = (unsigned)n;
    return FL_OK;
}


static int
set_missing(void *obj, const struct fl_config_map *k, const char *v,
            char *msg, size_t msglen)
{
    (void)k;
    if (fl_alarm_missing_parse(v, &DEF(obj)->treat_missing) < 0) {
        snprintf(msg, msglen, "treat_missing_data: '%s' is not one of "
                 "missing, ignore, breaching, notBreaching", v);
        return FL_ECONFIG;
    }
    return FL_OK;
}


/* Any text into a char * field. */
static int
set_text(void *obj, const struct fl_config_map *k, const char *v, char *msg,
         size_t msglen)
{
    char **field = FIELD(obj, k, char *);
    char *copy = fl_strdup(v);
    (void)msg;
    (void)msglen;
    if (copy == NULL)
        return FL_ENOMEM;
    fl_free(*field);
    *field = copy;
    return FL_OK;
}


static int
set_webhook(void *obj, const struct fl_config_map *k, const char *v,
            char *msg, size_t msglen)
{
    return add_actions(k->name, v, 1, &DEF(obj)->webhooks,
                       &DEF(obj)->n_webhooks, msg, msglen);
}


static int
set_command(void *obj, const struct fl_config_map *k, const char *v,
            char *msg, size_t msglen)
{
    return add_actions(k->name, v, 0, &DEF(obj)->commands,
                       &DEF(obj)->n_commands, msg, msglen);
}


static int
set_bool(void *obj, const struct fl_config_map *k, const char *v, char *msg,
         size_t msglen)
{
    if (fl_config_parse_bool(v, FIELD(obj, k, int)) < 0) {
        snprintf(msg, msglen, "%s: '%s' is not true or false", k->name, v);
        return FL_ECONFIG;
    }
    return FL_OK;
}


/* A duration in milliseconds of at least k->min ms, at most 1 h, into a
 * uint64_t field. */
static int
set_ms(void *obj, const struct fl_config_map *k, const char *v, char *msg,
       size_t msglen)
{
    uint64_t ms;
    if (parse_ms(v, &ms) < 0 || ms < k->min) {
        if (k->min > 0)
            snprintf(msg, msglen, "%s: '%s' is not a duration from 1ms to "
                     "1h such as 5s or 500ms", k->name, v);
        else
            snprintf(msg, msglen, "%s: '%s' is not a duration up to 1h "
                     "such as 1s or 200ms", k->name, v);
        return FL_ECONFIG;
    }
    *FIELD(obj, k, uint64_t) = ms;
    return FL_OK;
}


#define AOFF(f) offsetof(struct fl_alarm_def, f)
#define ASEC "alarm.NAME"

/* Every key of an [alarm.NAME] section, in the order docs/alarms.md and
 * `config defaults` show them. A default is applied through the key's own
 * setter before the section's keys, so it is written here once. No
 * default: the key is required, or its default follows from other keys
 * (datapoints_to_alarm, evaluation_range: see def_from_section). */
static const struct fl_config_map alarm_keys[] = {
    { ASEC, "metric", FL_CFG_STRING, AOFF(metric), 0, 0, NULL,
      "the metric watched: one of metrics.file or a built-in one "
      "(rejected_tcp_packets, rejected_packets_by_protocol, records_in)",
      NULL, FL_CFG_REQUIRED, set_metric },
    { ASEC, "dimensions", FL_CFG_STRING, AOFF(dim_names), 0, 0, NULL,
      "a value for every dimension of the metric and no other: NAME=VALUE "
      "pairs separated by commas (protocol=6, action=REJECT); none by default",
      NULL, 0, set_dims },
    { ASEC, "comparison", FL_CFG_CHOICE, AOFF(cmp), 0, 0, NULL,
      "GreaterThanOrEqualToThreshold, GreaterThanThreshold, "
      "LessThanThreshold, LessThanOrEqualToThreshold, or >=, >, <, <=",
      NULL, FL_CFG_REQUIRED, set_cmp },
    { ASEC, "threshold", FL_CFG_NUMBER, AOFF(threshold), 0, 0, NULL,
      "a finite number the window's value is compared with",
      NULL, FL_CFG_REQUIRED, set_threshold },
    { ASEC, "evaluation_periods", FL_CFG_COUNT, AOFF(evaluation_periods), 1,
      FL_ALARM_MAX_RANGE, "1",
      "N: how many of the most recent datapoints are evaluated (1 to 1440)",
      NULL, 0, set_whole },
    { ASEC, "datapoints_to_alarm", FL_CFG_COUNT, AOFF(datapoints_to_alarm),
      1, FL_ALARM_MAX_RANGE, NULL,
      "M: how many of them must breach for ALARM, 1 to N; default N",
      NULL, 0, set_whole },
    { ASEC, "evaluation_range", FL_CFG_COUNT, AOFF(evaluation_range), 1,
      FL_ALARM_MAX_RANGE, NULL,
      "how many windows are looked at to find N datapoints, N to 1440; "
      "default N + 2", NULL, 0, set_whole },
    { ASEC, "treat_missing_data", FL_CFG_CHOICE, AOFF(treat_missing), 0, 0,
      "missing", "missing, ignore, breaching or notBreaching",
      "missing|ignore|breaching|notBreaching", 0, set_missing },
    { ASEC, "description", FL_CFG_STRING, AOFF(description), 0, 0, "",
      "free text, shown in the webhook body and /api/alarms", NULL, 0,
      set_text },
    { ASEC, "log", FL_CFG_BOOL, AOFF(log), 0, 1, "true",
      "write a line on stderr on each state change", NULL, 0, set_bool },
    { ASEC, "command", FL_CFG_STRING, AOFF(commands), 0, 0, NULL,
      "a command run with /bin/sh -c on each state change, up to 5; none "
      "by default", NULL, FL_CFG_MULTI, set_command },
    { ASEC, "webhook", FL_CFG_STRING, AOFF(webhooks), 0, 0, NULL,
      "an http:// or https:// URL sent a JSON POST on each state change; "
      "several separated by commas, up to 5; none by default", NULL,
      FL_CFG_MULTI, set_webhook },
    { ASEC, "webhook_timeout", FL_CFG_DURATION, AOFF(webhook_timeout_ms), 1,
      MAX_DURATION_MS, "5s",
      "time allowed for one POST: 500ms, 5s, 1m (1 ms to 1 h)", NULL, 0,
      set_ms },
    { ASEC, "webhook_retries", FL_CFG_COUNT, AOFF(webhook_retries), 0,
      MAX_RETRIES, "5", "further attempts after a failed POST (0 to 100)",
      NULL, 0, set_whole },
    { ASEC, "webhook_backoff", FL_CFG_DURATION, AOFF(webhook_backoff_ms), 0,
      MAX_DURATION_MS, "1s",
      "wait before the first retry; doubles at every retry, capped at 60 s "
      "(200ms, 1s; up to 1 h)", NULL, 0, set_ms },
};

#define N_ALARM_KEYS (sizeof alarm_keys / sizeof alarm_keys[0])


const struct fl_config_map *
fl_alarm_config_map(size_t *n)
{
    *n = N_ALARM_KEYS;
    return alarm_keys;
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


/* The index of a key of alarm_keys[] (it is there: the names are the
 * table's own). */
static size_t
k_index(const char *name)
{
    const struct fl_config_map *k = fl_config_map_find(alarm_keys,
                                                       N_ALARM_KEYS, name);
    return k != NULL ? (size_t)(k - alarm_keys) : 0;
}


/* One section into d (zeroed by the caller), reporting through r: with
 * r->all NULL it stops at the first problem; else it goes on to the next
 * key, so that every bad key is reported (the checks across keys are
 * then left out when a key was bad: they would judge a default the file
 * did not mean). */
static int
def_from_section(struct report *r, struct fl_alarm_def *d)
{
    const struct fl_config_section *s = r->s;
    int seen[N_ALARM_KEYS] = { 0 };
    int rc;
    char msg[512];

    if (!valid_name(s->name)) {
        rc = fail(r, s->line, "alarm names are 1 to 255 characters among "
                  "A-Z a-z 0-9 _ . -");
        if (r->all == NULL || rc == FL_ENOMEM)
            return rc;
    }
    if ((d->name = fl_strdup(s->name)) == NULL)
        return FL_ENOMEM;
    for (size_t i = 0; i < N_ALARM_KEYS; i++) {
        const struct fl_config_map *k = &alarm_keys[i];
        if (k->def == NULL)
            continue;
        /* The table's own defaults: a failure is a bug in the table. */
        if ((rc = k->set(d, k, k->def, msg, sizeof msg)) < 0)
            return rc == FL_ENOMEM ? FL_ENOMEM : fail(r, s->line, "%s", msg);
    }

    for (size_t i = 0; i < s->n; i++) {
        const char *key = s->keys[i], *val = s->values[i];
        int line = s->lines ? s->lines[i] : s->line;
        const struct fl_config_map *k = fl_config_map_find(alarm_keys,
                                                           N_ALARM_KEYS, key);
        rc = FL_OK;
        if (k == NULL) {
            rc = fail(r, line, "unknown key '%s'", key);
        } else if (seen[k - alarm_keys] && !(k->flags & FL_CFG_MULTI)) {
            rc = fail(r, line, "%s is given twice (first at line %d)", key,
                      seen[k - alarm_keys]);
        } else {
            seen[k - alarm_keys] = line;
            if ((rc = k->set(d, k, val, msg, sizeof msg)) == FL_ECONFIG)
                rc = fail(r, line, "%s", msg);
        }
        if (rc == FL_ENOMEM || (rc < 0 && r->all == NULL))
            return rc;
    }

    for (size_t i = 0; i < N_ALARM_KEYS; i++) {
        if ((alarm_keys[i].flags & FL_CFG_REQUIRED) && !seen[i]) {
            rc = fail(r, s->line, "%s is required", alarm_keys[i].name);
            if (r->all == NULL || rc == FL_ENOMEM)
                return rc;
        }
    }
    if (r->failed)
        return FL_ECONFIG;

    /* What follows from N: M defaults to N, the range to N + 2. */
    unsigned n = d->evaluation_periods;
    if (d->datapoints_to_alarm == 0)
        d->datapoints_to_alarm = n;
    if (d->datapoints_to_alarm > n)
        return fail(r, seen[k_index("datapoints_to_alarm")],
                    "datapoints_to_alarm: %u is more than "
                    "evaluation_periods (%u)", d->datapoints_to_alarm, n);
    if (d->evaluation_range == 0)
        d->evaluation_range = n + 2 > FL_ALARM_MAX_RANGE
                              ? FL_ALARM_MAX_RANGE : n + 2;
    if (d->evaluation_range < n)
        return fail(r, seen[k_index("evaluation_range")],
                    "evaluation_range: %u is less than evaluation_periods "
                    "(%u)", d->evaluation_range, n);
    return FL_OK;
}


int
fl_alarm_defs_from_config(const struct fl_config_section *sections,
                          size_t n, struct fl_alarm_def **out,
                          size_t *out_n, struct fl_err *err)
{
    struct fl_alarm_def *defs = NULL;
    int rc = FL_OK;

    if (n > 0 && (defs = fl_calloc(n, sizeof *defs)) == NULL)
        return FL_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        struct report r = { .s = &sections[i], .err = err };
        rc = def_from_section(&r, &defs[i]);
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


int
fl_alarm_config_check(const struct fl_config *cfg,
                      struct fl_config_errors *errs)
{
    int found = 0;
    for (size_t i = 0; i < cfg->n_alarm_sections; i++) {
        struct fl_alarm_def d;
        struct report r = { .s = &cfg->alarm_sections[i], .all = errs };
        memset(&d, 0, sizeof d);
        int rc = def_from_section(&r, &d);
        def_free(&d);
        if (rc == FL_ENOMEM)
            return FL_ENOMEM;
        found |= r.failed;
    }
    return found ? FL_ECONFIG : FL_OK;
}
