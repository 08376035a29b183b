/* SPDX-License-Identifier: MIT
 *
 * test_alarm.c -- alarms (src/alarm/): both CloudWatch truth tables of
 * the CloudWatch User Guide's missing-data page cell by cell, other M-of-N cases and reason texts; the
 * runtime over a fake metric lookup (no stream engine): transitions over a
 * sequence of windows, actions once per change, history lines, state.json
 * restore and replays after a restart, a damaged state file, clock jumps;
 * definitions from config sections (every key, every error message);
 * actions: a webhook receiver that fails then succeeds, a webhook to a
 * closed port, a command that records its environment and stdin.
 *
 * State directories live under /dev/shm when writable. Every test ends
 * with fl_mem_used() == 0.
 */
#include "../../src/core/fl_config.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "harness.h"
#include "alarm/alarm.h"
#include "alarm/alarm_int.h"
#include "config/config.h"
#include "core/fl_error.h"
#include "core/fl_fs.h"
#include "core/fl_mem.h"
#include "core/fl_time.h"

#define T1830 1795977000LL      /* 2026-11-29T18:30:00Z */

static void
setup(void)
{
    fl_test_dir_setup("alarm");
}


/* ------------------------------------------------------------------ */
/* The pure rule. */

/* "0 - X - X" -> points. */
static size_t
parse_points(const char *s, enum fl_alarm_point *out)
{
    size_t n = 0;
    for (; *s; s++) {
        if (*s == '0')
            out[n++] = FL_POINT_OK;
        else if (*s == 'X')
            out[n++] = FL_POINT_BREACHING;
        else if (*s == '-')
            out[n++] = FL_POINT_MISSING;
    }
    return n;
}


#define R_ -1   /* "Retain current state" */
#define I_ FL_ALARM_INSUFFICIENT_DATA
#define O_ FL_ALARM_OK
#define A_ FL_ALARM_ALARM

struct row {
    const char *points;
    int expect[4];      /* MISSING, IGNORE, BREACHING, NOT BREACHING */
};


static void
check_table(const struct row *rows, size_t n_rows, unsigned n, unsigned m)
{
    static const enum fl_alarm_missing treat[4] = {
        FL_MISSING_MISSING, FL_MISSING_IGNORE, FL_MISSING_BREACHING,
        FL_MISSING_NOT_BREACHING
    };
    for (size_t r = 0; r < n_rows; r++) {
        enum fl_alarm_point p[16];
        size_t np = parse_points(rows[r].points, p);
        CHECK_EQ_INT(np, 5);
        for (int t = 0; t < 4; t++) {
            for (int cur = I_; cur <= A_; cur++) {
                char reason[FL_ALARM_REASON_MAX];
                enum fl_alarm_state got = fl_alarm_evaluate(
                    p, np, n, m, treat[t], (enum fl_alarm_state)cur, reason,
                    sizeof reason);
                int want = rows[r].expect[t] == R_ ? cur : rows[r].expect[t];
                if ((int)got != want)
                    fprintf(stderr, "  row '%s' treat %s current %s: got %s\n",
                            rows[r].points, fl_alarm_missing_name(treat[t]),
                            fl_alarm_state_name((enum fl_alarm_state)cur),
                            fl_alarm_state_name(got));
                CHECK_EQ_INT(got, want);
                CHECK(reason[0] != '\0');
            }
        }
    }
}


static void
test_truth_table_3_of_3(void)
{
    static const struct row rows[] = {
        { "0 - X - X", { O_, O_, O_, O_ } },
        { "0 - - - -", { O_, O_, O_, O_ } },
        { "- - - - -", { I_, R_, A_, O_ } },
        { "0 X X - X", { A_, A_, A_, A_ } },
        { "- - X - -", { A_, R_, A_, O_ } },
    };
    check_table(rows, 5, 3, 3);
}


static void
test_truth_table_2_of_3(void)
{
    static const struct row rows[] = {
        { "0 - X - X", { A_, A_, A_, A_ } },
        { "0 0 X 0 X", { A_, A_, A_, A_ } },
        { "0 - X - -", { O_, O_, A_, O_ } },
        { "- - - - 0", { O_, O_, A_, O_ } },
        { "- - - X -", { A_, R_, A_, O_ } },
    };
    check_table(rows, 5, 3, 2);
}


static enum fl_alarm_state
eval(const char *pts, unsigned n, unsigned m, enum fl_alarm_missing t,
     enum fl_alarm_state cur, char *reason)
{
    enum fl_alarm_point p[32];
    size_t np = parse_points(pts, p);
    return fl_alarm_evaluate(p, np, n, m, t, cur, reason,
                             FL_ALARM_REASON_MAX);
}


static void
test_m_of_n_other(void)
{
    char r[FL_ALARM_REASON_MAX];
    /* M = N = 1, range 3. */
    CHECK_EQ_INT(eval("- - X", 1, 1, FL_MISSING_MISSING, I_, r), A_);
    CHECK_EQ_INT(eval("X - 0", 1, 1, FL_MISSING_MISSING, A_, r), O_);
    CHECK_EQ_INT(eval("0 - X", 1, 1, FL_MISSING_NOT_BREACHING, O_, r), A_);
    CHECK_EQ_INT(eval("X - -", 1, 1, FL_MISSING_IGNORE, O_, r), A_);
    CHECK_EQ_INT(eval("- - -", 1, 1, FL_MISSING_IGNORE, O_, r), O_);
    CHECK_EQ_INT(eval("- - -", 1, 1, FL_MISSING_IGNORE, A_, r), A_);
    CHECK_EQ_INT(eval("- - -", 1, 1, FL_MISSING_BREACHING, O_, r), A_);
    /* M = 2, N = 5, range 7. */
    CHECK_EQ_INT(eval("0 X 0 X 0 0 0", 5, 2, FL_MISSING_MISSING, I_, r), O_);
    CHECK_EQ_INT(eval("0 0 X 0 X 0 0", 5, 2, FL_MISSING_MISSING, I_, r), A_);
    /* 6 real points: the treatment is not used, the last 5 decide. */
    CHECK_EQ_INT(eval("X X - 0 0 0 0", 5, 2, FL_MISSING_BREACHING, A_, r), O_);
    CHECK_EQ_INT(eval("- - - - - X -", 5, 2, FL_MISSING_MISSING, O_, r), A_);
    CHECK_EQ_INT(eval("- - - - - X -", 5, 2, FL_MISSING_NOT_BREACHING, O_, r),
                 O_);
    CHECK_EQ_INT(eval("- - - - - X -", 5, 2, FL_MISSING_BREACHING, O_, r), A_);
    CHECK_EQ_INT(eval("- - - - - X -", 5, 2, FL_MISSING_IGNORE, O_, r), O_);
    CHECK_EQ_INT(eval("- - - - 0 X -", 5, 2, FL_MISSING_MISSING, A_, r), O_);
    CHECK_EQ_INT(eval("- - - - X X -", 5, 2, FL_MISSING_IGNORE, O_, r), O_);
    CHECK_EQ_INT(eval("- - - - X X -", 5, 2, FL_MISSING_MISSING, O_, r), A_);
    /* 3 real of N = 5 with notBreaching: 2 breaching is enough. */
    CHECK_EQ_INT(eval("- X - X - 0 -", 5, 2, FL_MISSING_NOT_BREACHING, O_, r),
                 A_);
}


static void
test_reason_texts(void)
{
    char r[FL_ALARM_REASON_MAX];
    eval("- - - - -", 3, 3, FL_MISSING_MISSING, O_, r);
    CHECK_EQ_STR(r, "Insufficient Data: 5 datapoints were unknown.");
    eval("- - - - -", 3, 3, FL_MISSING_BREACHING, O_, r);
    CHECK_EQ_STR(r, "Threshold Crossed: no datapoints were received for 5 "
                 "periods and 3 missing datapoints were treated as "
                 "[Breaching].");
    eval("- - - - -", 3, 3, FL_MISSING_NOT_BREACHING, A_, r);
    CHECK_EQ_STR(r, "Threshold Crossed: no datapoints were received for 5 "
                 "periods and 3 missing datapoints were treated as "
                 "[NonBreaching].");
    eval("0 X X - X", 3, 3, FL_MISSING_MISSING, O_, r);
    CHECK_EQ_STR(r, "Threshold Crossed: 3 out of the last 3 datapoints were "
                 "breaching (minimum 3 datapoints for OK -> ALARM "
                 "transition).");
    eval("0 - - - -", 3, 3, FL_MISSING_BREACHING, O_, r);
    CHECK_EQ_STR(r, "Threshold Crossed: 1 out of the last 3 datapoints was "
                 "not breaching; 2 missing datapoints were treated as "
                 "breaching (minimum 1 datapoint for OK).");
    eval("- - X - -", 3, 3, FL_MISSING_IGNORE, O_, r);
    CHECK_EQ_STR(r, "Threshold Crossed: 1 out of the last 1 datapoint was "
                 "breaching (minimum 1 datapoint for OK -> ALARM "
                 "transition); fewer than 3 datapoints and missing data is "
                 "ignored: the state is kept.");

    /* With values and comparison. */
    enum fl_alarm_point p[5];
    double v[5] = { 0, 0, 1500, 1200, 1100 };
    int64_t s[5];
    enum fl_alarm_cmp c = FL_ALARM_GT;
    parse_points("- - X X X", p);
    for (int i = 0; i < 5; i++)
        s[i] = T1830 + (i - 2) * 300;
    CHECK_EQ_INT(fl_alarm_evaluate_detail(p, v, s, 5, 3, 3,
                 FL_MISSING_MISSING, O_, &c, 1000, r, sizeof r), A_);
    CHECK_EQ_STR(r, "Threshold Crossed: 3 out of the last 3 datapoints "
                 "[1100.0 (29/11/26 18:40:00), 1200.0 (29/11/26 18:35:00), "
                 "1500.0 (29/11/26 18:30:00)] were greater than the "
                 "threshold (1000.0) (minimum 3 datapoints for OK -> ALARM "
                 "transition).");
    /* A reason never overflows its buffer. */
    char small[20];
    fl_alarm_evaluate_detail(p, v, s, 5, 3, 3, FL_MISSING_MISSING, O_, &c,
                             1000, small, sizeof small);
    CHECK_EQ_STR(small, "Threshold Crossed: ");
}


static void
test_names(void)
{
    enum fl_alarm_cmp c;
    enum fl_alarm_missing m;
    static const char *const cn[] = {
        "GreaterThanOrEqualToThreshold", "GreaterThanThreshold",
        "LessThanThreshold", "LessThanOrEqualToThreshold"
    };
    static const char *const sym[] = { ">=", ">", "<", "<=" };
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(fl_alarm_cmp_parse(cn[i], &c), 0);
        CHECK_EQ_INT(c, i);
        CHECK_EQ_STR(fl_alarm_cmp_name(c), cn[i]);
        CHECK_EQ_INT(fl_alarm_cmp_parse(sym[i], &c), 0);
        CHECK_EQ_INT(c, i);
    }
    CHECK_EQ_INT(fl_alarm_cmp_parse("=", &c), FL_ECONFIG);
    CHECK_EQ_INT(fl_alarm_cmp_parse("greaterthanthreshold", &c), FL_ECONFIG);
    CHECK_EQ_INT(fl_alarm_missing_parse("notBreaching", &m), 0);
    CHECK_EQ_INT(m, FL_MISSING_NOT_BREACHING);
    CHECK_EQ_STR(fl_alarm_missing_name(FL_MISSING_IGNORE), "ignore");
    CHECK_EQ_INT(fl_alarm_missing_parse("notbreaching", &m), FL_ECONFIG);
    CHECK_EQ_STR(fl_alarm_state_name(I_), "INSUFFICIENT_DATA");
    CHECK(fl_alarm_breaches(FL_ALARM_GE, 10, 10));
    CHECK(!fl_alarm_breaches(FL_ALARM_GT, 10, 10));
    CHECK(fl_alarm_breaches(FL_ALARM_LE, 10, 10));
    CHECK(!fl_alarm_breaches(FL_ALARM_LT, 10, 10));
    CHECK(fl_alarm_breaches(FL_ALARM_LT, 9, 10));
}


/* ------------------------------------------------------------------ */
/* Definitions from config sections. */

struct sec_build {
    struct fl_config_section s;
    char *keys[32], *values[32];
    int lines[32];
};


/* kv: "key", "value", ... NULL; key lines from 11 on. */
static void
sec_init(struct sec_build *b, const char *name, const char *const *kv)
{
    memset(b, 0, sizeof *b);
    b->s.name = (char *)name;
    b->s.file = (char *)"flowlake.ini";
    b->s.line = 10;
    size_t n = 0;
    for (; kv[2 * n] != NULL; n++) {
        b->keys[n] = (char *)kv[2 * n];
        b->values[n] = (char *)kv[2 * n + 1];
        b->lines[n] = 11 + (int)n;
    }
    b->s.n = n;
    b->s.keys = b->keys;
    b->s.values = b->values;
    b->s.lines = b->lines;
}


static int
parse1(const char *name, const char *const *kv, struct fl_alarm_def **defs,
       char *err)
{
    struct sec_build b;
    struct fl_err e = FL_ERR_INIT;
    size_t n = 99;
    sec_init(&b, name, kv);
    int rc = fl_alarm_defs_from_config(&b.s, 1, defs, &n, &e);
    snprintf(err, 512, "%s", e.msg);
    return rc;
}


static void
test_config_every_key(void)
{
    static const char *const kv[] = {
        "metric", "rejected_packets_by_protocol",
        "dimensions", " protocol = 6 , action=REJECT",
        "comparison", ">=",
        "threshold", "1e3",
        "evaluation_periods", "3",
        "datapoints_to_alarm", "2",
        "evaluation_range", "7",
        "treat_missing_data", "notBreaching",
        "description", "too many rejects",
        "webhook", "http://a.example/x, https://b.example/y",
        "webhook", "http://c.example/",
        "command", "echo a, b",
        "command", "logger alarm",
        "log", "false",
        "webhook_timeout", "500ms",
        "webhook_retries", "2",
        "webhook_backoff", "2s",
        NULL
    };
    struct fl_alarm_def *d = NULL;
    char err[512];
    CHECK_EQ_INT(parse1("rej.tcp-1", kv, &d, err), 0);
    CHECK_EQ_STR(d->name, "rej.tcp-1");
    CHECK_EQ_STR(d->metric, "rejected_packets_by_protocol");
    CHECK_EQ_INT(d->n_dims, 2);
    CHECK_EQ_STR(d->dim_names[0], "protocol");
    CHECK_EQ_STR(d->dim_values[0], "6");
    CHECK_EQ_STR(d->dim_names[1], "action");
    CHECK_EQ_STR(d->dim_values[1], "REJECT");
    CHECK_EQ_INT(d->cmp, FL_ALARM_GE);
    CHECK(d->threshold == 1000.0);
    CHECK_EQ_INT(d->evaluation_periods, 3);
    CHECK_EQ_INT(d->datapoints_to_alarm, 2);
    CHECK_EQ_INT(d->evaluation_range, 7);
    CHECK_EQ_INT(d->treat_missing, FL_MISSING_NOT_BREACHING);
    CHECK_EQ_STR(d->description, "too many rejects");
    CHECK_EQ_INT(d->n_webhooks, 3);
    CHECK_EQ_STR(d->webhooks[0], "http://a.example/x");
    CHECK_EQ_STR(d->webhooks[1], "https://b.example/y");
    CHECK_EQ_STR(d->webhooks[2], "http://c.example/");
    CHECK_EQ_INT(d->n_commands, 2);
    CHECK_EQ_STR(d->commands[0], "echo a, b");
    CHECK_EQ_STR(d->commands[1], "logger alarm");
    CHECK_EQ_INT(d->log, 0);
    CHECK_EQ_INT(d->webhook_timeout_ms, 500);
    CHECK_EQ_INT(d->webhook_retries, 2);
    CHECK_EQ_INT(d->webhook_backoff_ms, 2000);
    fl_alarm_defs_free(d, 1);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_config_defaults(void)
{
    static const char *const kv[] = {
        "metric", "records_in", "comparison", "LessThanThreshold",
        "threshold", "1", "treat_missing_data", "breaching", NULL
    };
    static const char *const kv2[] = {
        "metric", "m", "comparison", "GreaterThanThreshold",
        "threshold", "-2.5", "evaluation_periods", "4", NULL
    };
    struct fl_alarm_def *d = NULL;
    char err[512];
    CHECK_EQ_INT(parse1("no-data", kv, &d, err), 0);
    CHECK_EQ_INT(d->n_dims, 0);
    CHECK_EQ_INT(d->cmp, FL_ALARM_LT);
    CHECK_EQ_INT(d->evaluation_periods, 1);
    CHECK_EQ_INT(d->datapoints_to_alarm, 1);
    CHECK_EQ_INT(d->evaluation_range, 3);
    CHECK_EQ_INT(d->treat_missing, FL_MISSING_BREACHING);
    CHECK_EQ_STR(d->description, "");
    CHECK_EQ_INT(d->log, 1);
    CHECK_EQ_INT(d->n_webhooks + d->n_commands, 0);
    CHECK_EQ_INT(d->webhook_timeout_ms, 5000);
    CHECK_EQ_INT(d->webhook_retries, 5);
    CHECK_EQ_INT(d->webhook_backoff_ms, 1000);
    fl_alarm_defs_free(d, 1);
    CHECK_EQ_INT(parse1("x", kv2, &d, err), 0);
    CHECK_EQ_INT(d->evaluation_periods, 4);
    CHECK_EQ_INT(d->datapoints_to_alarm, 4);
    CHECK_EQ_INT(d->evaluation_range, 6);
    CHECK(d->threshold == -2.5);
    CHECK_EQ_INT(d->treat_missing, FL_MISSING_MISSING);
    fl_alarm_defs_free(d, 1);
    /* No sections: nothing, and no allocation left. */
    size_t n = 7;
    d = NULL;
    CHECK_EQ_INT(fl_alarm_defs_from_config(NULL, 0, &d, &n, NULL), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* One bad key added to a valid section must give exactly msg. */
static void
bad(const char *name, const char *key, const char *value, const char *msg)
{
    const char *kv[16] = {
        "metric", "m", "comparison", ">", "threshold", "10",
    };
    size_t i = 6;
    if (key != NULL) {
        kv[i++] = key;
        kv[i++] = value;
    }
    kv[i] = NULL;
    struct fl_alarm_def *d = (struct fl_alarm_def *)&kv;  /* untouched */
    char err[512];
    CHECK_EQ_INT(parse1(name, kv, &d, err), FL_ECONFIG);
    CHECK(d == (struct fl_alarm_def *)&kv);
    CHECK_EQ_STR(err, msg);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


static void
test_config_errors(void)
{
    char err[512];
    struct fl_alarm_def *d = NULL;
    bad("a", "colour", "red",
        "flowlake.ini:14: [alarm.a] unknown key 'colour'");
    bad("bad name!", NULL, NULL,
        "flowlake.ini:10: [alarm.bad name!] alarm names are 1 to 255 "
        "characters among A-Z a-z 0-9 _ . -");
    bad("a", "comparison", ">",
        "flowlake.ini:14: [alarm.a] comparison is given twice (first at "
        "line 12)");
    bad("a", "dimensions", "protocol",
        "flowlake.ini:14: [alarm.a] dimensions: 'protocol' is not "
        "NAME=VALUE (e.g. protocol=6, action=REJECT)");
    bad("a", "dimensions", "protocol=6, protocol=17",
        "flowlake.ini:14: [alarm.a] dimensions: 'protocol' is given twice");
    bad("a", "dimensions", "protocol=",
        "flowlake.ini:14: [alarm.a] dimensions: 'protocol=' is not "
        "NAME=VALUE (e.g. protocol=6, action=REJECT)");
    bad("a", "evaluation_periods", "0",
        "flowlake.ini:14: [alarm.a] evaluation_periods: '0' is not a whole "
        "number from 1 to 1440");
    bad("a", "evaluation_periods", "-1",
        "flowlake.ini:14: [alarm.a] evaluation_periods: '-1' is not a whole "
        "number from 1 to 1440");
    bad("a", "datapoints_to_alarm", "2",
        "flowlake.ini:14: [alarm.a] datapoints_to_alarm: 2 is more than "
        "evaluation_periods (1)");
    bad("a", "evaluation_range", "1441",
        "flowlake.ini:14: [alarm.a] evaluation_range: '1441' is not a whole "
        "number from 1 to 1440");
    bad("a", "treat_missing_data", "Breaching",
        "flowlake.ini:14: [alarm.a] treat_missing_data: 'Breaching' is not "
        "one of missing, ignore, breaching, notBreaching");
    bad("a", "log", "maybe",
        "flowlake.ini:14: [alarm.a] log: 'maybe' is not true or false");
    bad("a", "webhook", "ftp://x",
        "flowlake.ini:14: [alarm.a] webhook: 'ftp://x' is not an http:// or "
        "https:// URL");
    bad("a", "webhook", "http://a, ",
        "flowlake.ini:14: [alarm.a] webhook: empty value");
    bad("a", "webhook", "http://1,http://2,http://3,http://4,http://5,http://6",
        "flowlake.ini:14: [alarm.a] webhook: at most 5 per alarm");
    bad("a", "command", " ",
        "flowlake.ini:14: [alarm.a] command: empty value");
    bad("a", "webhook_timeout", "0ms",
        "flowlake.ini:14: [alarm.a] webhook_timeout: '0ms' is not a duration "
        "from 1ms to 1h such as 5s or 500ms");
    bad("a", "webhook_timeout", "fast",
        "flowlake.ini:14: [alarm.a] webhook_timeout: 'fast' is not a "
        "duration from 1ms to 1h such as 5s or 500ms");
    bad("a", "webhook_retries", "101",
        "flowlake.ini:14: [alarm.a] webhook_retries: '101' is not a whole "
        "number from 0 to 100");
    bad("a", "webhook_backoff", "1x",
        "flowlake.ini:14: [alarm.a] webhook_backoff: '1x' is not a duration "
        "up to 1h such as 1s or 200ms");
    bad("a", "metric", "m",
        "flowlake.ini:14: [alarm.a] metric is given twice (first at line "
        "11)");

    static const char *const no_metric[] = {
        "comparison", ">", "threshold", "1", NULL };
    CHECK_EQ_INT(parse1("a", no_metric, &d, err), FL_ECONFIG);
    CHECK_EQ_STR(err, "flowlake.ini:10: [alarm.a] metric is required");
    static const char *const no_cmp[] = { "metric", "m", "threshold", "1",
                                          NULL };
    CHECK_EQ_INT(parse1("a", no_cmp, &d, err), FL_ECONFIG);
    CHECK_EQ_STR(err, "flowlake.ini:10: [alarm.a] comparison is required");
    static const char *const no_thr[] = { "metric", "m", "comparison", "<",
                                          NULL };
    CHECK_EQ_INT(parse1("a", no_thr, &d, err), FL_ECONFIG);
    CHECK_EQ_STR(err, "flowlake.ini:10: [alarm.a] threshold is required");
    static const char *const bad_cmp[] = { "metric", "m", "comparison", "=",
                                           "threshold", "1", NULL };
    CHECK_EQ_INT(parse1("a", bad_cmp, &d, err), FL_ECONFIG);
    CHECK_EQ_STR(err, "flowlake.ini:12: [alarm.a] comparison: '=' is not one "
                 "of GreaterThanOrEqualToThreshold, GreaterThanThreshold, "
                 "LessThanThreshold, LessThanOrEqualToThreshold, >=, >, <, "
                 "<=");
    static const char *const bad_thr[] = { "metric", "m", "comparison", "<",
                                           "threshold", "1e999", NULL };
    CHECK_EQ_INT(parse1("a", bad_thr, &d, err), FL_ECONFIG);
    CHECK_EQ_STR(err, "flowlake.ini:13: [alarm.a] threshold: '1e999' is not "
                 "a finite number");
    static const char *const nan_thr[] = { "metric", "m", "comparison", "<",
                                           "threshold", "nan", NULL };
    CHECK_EQ_INT(parse1("a", nan_thr, &d, err), FL_ECONFIG);
    static const char *const range[] = { "metric", "m", "comparison", "<",
                                         "threshold", "1",
                                         "evaluation_periods", "4",
                                         "evaluation_range", "3", NULL };
    CHECK_EQ_INT(parse1("a", range, &d, err), FL_ECONFIG);
    CHECK_EQ_STR(err, "flowlake.ini:15: [alarm.a] evaluation_range: 3 is "
                 "less than evaluation_periods (4)");
    static const char *const bad_metric[] = { "metric", "a b", NULL };
    CHECK_EQ_INT(parse1("a", bad_metric, &d, err), FL_ECONFIG);
    CHECK_EQ_STR(err, "flowlake.ini:11: [alarm.a] metric: 'a b' is not a "
                 "metric name");

    /* The second section's error is reported; nothing leaks. */
    struct sec_build b[2];
    static const char *const ok[] = { "metric", "m", "comparison", "<",
                                       "threshold", "1", NULL };
    sec_init(&b[0], "first", ok);
    sec_init(&b[1], "second", no_thr);
    b[1].s.line = 40;
    struct fl_config_section secs[2] = { b[0].s, b[1].s };
    size_t n = 0;
    struct fl_err e = FL_ERR_INIT;
    CHECK_EQ_INT(fl_alarm_defs_from_config(secs, 2, &d, &n, &e), FL_ECONFIG);
    CHECK_EQ_INT(e.code, FL_ECONFIG);
    CHECK_EQ_STR(e.msg, "flowlake.ini:40: [alarm.second] threshold is "
                 "required");
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* Allocation failures while parsing: an error, never a leak. */
static void
test_config_alloc_failures(void)
{
    static const char *const kv[] = {
        "metric", "m", "dimensions", "a=1, b=2", "comparison", ">",
        "threshold", "1", "webhook", "http://x/, http://y/",
        "command", "true", "description", "d", NULL
    };
    char err[512];
    for (uint64_t nth = 1;; nth++) {
        struct fl_alarm_def *d = NULL;
        fl_mem_fail_after(nth);
        int rc = parse1("a", kv, &d, err);
        uint64_t attempts = fl_mem_fail_after(0);
        if (rc == 0) {
            fl_alarm_defs_free(d, 1);
            CHECK(attempts < nth);
            break;
        }
        CHECK_EQ_INT(rc, FL_ENOMEM);
        CHECK(d == NULL);
        CHECK_EQ_INT(fl_mem_used(), 0);
    }
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* fl_alarm_config_check lists every problem of every section, worded as
 * fl_alarm_defs_from_config words the first; the checks across keys are
 * left out of a section that has a bad key. */
static void
test_config_check_lists_all(void)
{
    static const char *const a[] = {
        "metric", "m", "colour", "red", "comparison", "sideways",
        "threshold", "x", "log", "maybe", "log", "true", NULL
    };
    static const char *const b[] = {
        "metric", "m", "comparison", ">", "threshold", "1",
        "evaluation_periods", "2", "datapoints_to_alarm", "3", NULL
    };
    static const char *const c[] = { "webhook", "ftp://x", NULL };
    static const char *const ok[] = {
        "metric", "m", "comparison", ">", "threshold", "1", NULL
    };
    struct sec_build sb[4];
    struct fl_config_section secs[4];
    struct fl_config cfg;
    struct fl_config_errors errs = { 0 };
    sec_init(&sb[0], "a", a);
    sec_init(&sb[1], "b", b);
    sec_init(&sb[2], "c", c);
    sec_init(&sb[3], "ok", ok);
    for (size_t i = 0; i < 4; i++)
        secs[i] = sb[i].s;
    memset(&cfg, 0, sizeof cfg);
    cfg.alarm_sections = secs;
    cfg.n_alarm_sections = 4;
    CHECK_EQ_INT(fl_alarm_config_check(&cfg, &errs), FL_ECONFIG);
    static const char *const want[] = {
        "flowlake.ini:12: [alarm.a] unknown key 'colour'",
        "flowlake.ini:13: [alarm.a] comparison: 'sideways' is not one of "
        "GreaterThanOrEqualToThreshold, GreaterThanThreshold, "
        "LessThanThreshold, LessThanOrEqualToThreshold, >=, >, <, <=",
        "flowlake.ini:14: [alarm.a] threshold: 'x' is not a finite number",
        "flowlake.ini:15: [alarm.a] log: 'maybe' is not true or false",
        "flowlake.ini:16: [alarm.a] log is given twice (first at line 15)",
        "flowlake.ini:15: [alarm.b] datapoints_to_alarm: 3 is more than "
        "evaluation_periods (2)",
        "flowlake.ini:11: [alarm.c] webhook: 'ftp://x' is not an http:// or "
        "https:// URL",
        "flowlake.ini:10: [alarm.c] metric is required",
        "flowlake.ini:10: [alarm.c] comparison is required",
        "flowlake.ini:10: [alarm.c] threshold is required",
    };
    CHECK_EQ_INT(errs.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < errs.n && i < sizeof want / sizeof want[0]; i++)
        CHECK_EQ_STR(errs.msg[i], want[i]);
    fl_config_errors_free(&errs);
    /* Good sections only: nothing. */
    cfg.alarm_sections = &secs[3];
    cfg.n_alarm_sections = 1;
    CHECK_EQ_INT(fl_alarm_config_check(&cfg, &errs), 0);
    CHECK_EQ_INT(errs.n, 0);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* The key table: every key has its row in docs/alarms.md, and a default
 * the key's own setter takes (a default is applied that way). */
static void
test_config_map_documented(void)
{
    size_t n = 0;
    const struct fl_config_map *map = fl_alarm_config_map(&n);
    FILE *f = fopen("docs/alarms.md", "r");
    CHECK(f != NULL);
    static char doc[131072];
    size_t len = fread(doc, 1, sizeof doc - 1, f);
    doc[len] = '\0';
    fclose(f);
    CHECK(n >= 15);
    for (size_t i = 0; i < n; i++) {
        char entry[96];
        snprintf(entry, sizeof entry, "| `%s` |", map[i].name);
        if (strstr(doc, entry) == NULL) {
            fprintf(stderr, "  docs/alarms.md does not document %s\n",
                    map[i].name);
            CHECK(0);
        }
        CHECK(map[i].set != NULL);
        CHECK(map[i].doc != NULL && map[i].doc[0] != '\0');
        CHECK_EQ_STR(map[i].section, "alarm.NAME");
        CHECK(!(map[i].flags & FL_CFG_REQUIRED) || map[i].def == NULL);
    }
}


/* ------------------------------------------------------------------ */
/* The runtime over a fake lookup. */

/* Metrics: "rejected" (300 s, dimension protocol), "records_in" (60 s,
 * none), "fast" (1 s, none). */
static int
fake_lookup(void *ctx, const char *metric, int64_t *window, size_t *n_dims,
            const char **names, size_t cap)
{
    (void)ctx;
    (void)cap;
    if (strcmp(metric, "rejected") == 0) {
        *window = 300;
        *n_dims = 1;
        names[0] = "protocol";
        return 0;
    }
    if (strcmp(metric, "records_in") == 0 || strcmp(metric, "fast") == 0) {
        *window = metric[0] == 'f' ? 1 : 60;
        *n_dims = 0;
        return 0;
    }
    return -ENOENT;
}


/* A definition like the config would give: fl_malloc'd. */
static struct fl_alarm_def *
mkdef(const char *name, const char *metric, const char *proto,
      enum fl_alarm_cmp cmp, double thr, unsigned n, unsigned m,
      enum fl_alarm_missing treat)
{
    struct fl_alarm_def *d = fl_calloc(1, sizeof *d);
    CHECK(d != NULL);
    d->name = fl_strdup(name);
    d->description = fl_strdup("desc");
    d->metric = fl_strdup(metric);
    if (proto != NULL) {
        d->n_dims = 1;
        d->dim_names = fl_calloc(1, sizeof(char *));
        d->dim_values = fl_calloc(1, sizeof(char *));
        d->dim_names[0] = fl_strdup("protocol");
        d->dim_values[0] = fl_strdup(proto);
    }
    d->cmp = cmp;
    d->threshold = thr;
    d->evaluation_periods = n;
    d->datapoints_to_alarm = m;
    d->evaluation_range = n + 2;
    d->treat_missing = treat;
    d->log = 0;
    d->webhook_timeout_ms = 2000;
    d->webhook_retries = 0;
    d->webhook_backoff_ms = 10;
    return d;
}


static void
add_str(char ***arr, size_t *n, const char *s)
{
    *arr = fl_realloc(*arr, (*n + 1) * sizeof **arr);
    CHECK(*arr != NULL);
    (*arr)[(*n)++] = fl_strdup(s);
}


/* fl_alarms_create_with_lookup for the one alarm d, over the fake
 * metrics, keeping its state in the test folder. */
static int
create_one(struct fl_alarm_def *d, struct fl_alarms **a, struct fl_err *err)
{
    return fl_alarms_create_with_lookup(d, 1, fake_lookup, NULL,
                                        fl_test_root, a, err);
}


static struct fl_alarms *
mk(struct fl_alarm_def *d)
{
    struct fl_alarms *a = NULL;
    struct fl_err err = FL_ERR_INIT;
    int rc = create_one(d, &a, &err);
    if (rc != 0)
        fprintf(stderr, "  create: %s\n", err.msg);
    CHECK_EQ_INT(rc, 0);
    return a;
}


static void
final(struct fl_alarms *a, const char *metric, const char *proto,
      int64_t ws, int64_t len, double value, int has_value)
{
    static const char *const names[] = { "protocol" };
    const char *vals[] = { proto };
    struct fl_metric_value v = {
        .metric = metric, .n_dims = proto != NULL || strcmp(metric,
                                                "rejected") == 0,
        .dim_names = names, .dim_values = vals,
        .window_start = ws, .window_end = ws + len, .value = value,
        .has_value = has_value, .final = 1, .exact = 1, .records = 1,
    };
    fl_alarms_on_final(a, &v);
}


static char *
slurp(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", fl_test_root, name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}


static size_t
count_lines(const char *s)
{
    size_t n = 0;
    for (; s != NULL && *s; s++)
        n += *s == '\n';
    return n;
}


static enum fl_alarm_state
state_of(struct fl_alarms *a)
{
    struct fl_alarms_stats st;
    fl_alarms_stats(a, &st);
    CHECK_EQ_INT(st.alarms, 1);
    return st.in_alarm ? A_ : st.in_ok ? O_ : I_;
}


static void
test_runtime_sequence(void)
{
    setup();
    struct fl_alarms *a = mk(mkdef("high", "rejected", "6", FL_ALARM_GT,
                                   1000, 3, 3, FL_MISSING_MISSING));
    CHECK_EQ_INT(state_of(a), I_);
    /* Other series are not its datapoints. */
    final(a, "rejected", "17", T1830, 300, 5000, 1);
    final(a, "rejected", NULL, T1830, 300, 5000, 1);
    final(a, "records_in", NULL, T1830, 60, 5000, 1);
    final(a, "rejected", "6", T1830, 300, 1500, 1);
    final(a, "rejected", "6", T1830 + 300, 300, 1200, 1);
    /* The clock before the third window ends: evaluation at 18:40 only
     * (2 real points of 3: the premature rule gives ALARM). */
    fl_alarms_advance(a, "rejected", T1830 + 899, T1830 + 905);
    CHECK_EQ_INT(state_of(a), A_);
    final(a, "rejected", "6", T1830 + 600, 300, 1100, 1);
    fl_alarms_advance(a, "rejected", T1830 + 900, T1830 + 905);
    CHECK_EQ_INT(state_of(a), A_);
    /* Same clock again, and an older one: nothing. */
    fl_alarms_advance(a, "rejected", T1830 + 900, T1830 + 905);
    fl_alarms_advance(a, "rejected", T1830, T1830 + 905);
    final(a, "rejected", "6", T1830 + 900, 300, 10, 1);
    fl_alarms_advance(a, "other", T1830 + 1200, T1830 + 1205);
    CHECK_EQ_INT(state_of(a), A_);
    fl_alarms_advance(a, "rejected", T1830 + 1200, T1830 + 1205);
    CHECK_EQ_INT(state_of(a), O_);
    /* A NULL value is a missing point: 2 of the last 3 real still OK. */
    final(a, "rejected", "6", T1830 + 1200, 300, 5000, 0);
    fl_alarms_advance(a, "rejected", T1830 + 1500, T1830 + 1505);
    CHECK_EQ_INT(state_of(a), O_);
    /* Nothing for a long time: INSUFFICIENT_DATA once the range is empty
     * (the last point, 18:45, is out of the range ending 19:15). */
    fl_alarms_advance(a, "rejected", T1830 + 3300, T1830 + 3305);
    CHECK_EQ_INT(state_of(a), I_);

    struct fl_alarms_stats st;
    fl_alarms_stats(a, &st);
    CHECK_EQ_INT(st.transitions, 3);
    const char *h = slurp("history.jsonl");
    CHECK_EQ_INT(count_lines(h), 3);
    const char *want =
        "{\"time\":\"2026-11-29T18:45:05Z\",\"alarm\":\"high\","
        "\"metric\":\"rejected\",\"dimensions\":{\"protocol\":\"6\"},"
        "\"old_state\":\"INSUFFICIENT_DATA\",\"new_state\":\"ALARM\","
        "\"reason\":\"Threshold Crossed: 2 out of the last 2 datapoints "
        "[1200.0 (29/11/26 18:35:00), 1500.0 (29/11/26 18:30:00)] were "
        "greater than the threshold (1000.0) (minimum 2 datapoints for "
        "INSUFFICIENT_DATA -> ALARM transition).\","
        "\"window_start\":\"2026-11-29T18:15:00Z\","
        "\"window_end\":\"2026-11-29T18:40:00Z\",\"threshold\":1000.0,"
        "\"values\":[null,null,null,1500.0,1200.0]}\n"
        "{\"time\":\"2026-11-29T18:50:05Z\",\"alarm\":\"high\","
        "\"metric\":\"rejected\",\"dimensions\":{\"protocol\":\"6\"},"
        "\"old_state\":\"ALARM\",\"new_state\":\"OK\","
        "\"reason\":\"Threshold Crossed: 1 out of the last 3 datapoints "
        "[10.0 (29/11/26 18:45:00), 1100.0 (29/11/26 18:40:00), "
        "1200.0 (29/11/26 18:35:00)] was not greater than the threshold "
        "(1000.0) (minimum 1 datapoint for ALARM -> OK transition).\","
        "\"window_start\":\"2026-11-29T18:25:00Z\","
        "\"window_end\":\"2026-11-29T18:50:00Z\",\"threshold\":1000.0,"
        "\"values\":[null,1500.0,1200.0,1100.0,10.0]}\n"
        "{\"time\":\"2026-11-29T19:25:05Z\",\"alarm\":\"high\","
        "\"metric\":\"rejected\",\"dimensions\":{\"protocol\":\"6\"},"
        "\"old_state\":\"OK\",\"new_state\":\"INSUFFICIENT_DATA\","
        "\"reason\":\"Insufficient Data: 5 datapoints were unknown.\","
        "\"window_start\":\"2026-11-29T18:50:00Z\","
        "\"window_end\":\"2026-11-29T19:15:00Z\",\"threshold\":1000.0,"
        "\"values\":[null,null,null,null,null]}\n";
    CHECK_EQ_STR(h, want);
    fl_alarms_destroy(a, 1000);
    fl_test_dir_teardown();
}


static void
test_runtime_json(void)
{
    setup();
    struct fl_alarms *a = mk(mkdef("high", "rejected", "6", FL_ALARM_GE,
                                   0.5, 1, 1, FL_MISSING_NOT_BREACHING));
    char *js = NULL;
    size_t len = 0;
    CHECK_EQ_INT(fl_alarms_json(a, &js, &len), 0);
    CHECK_EQ_STR(js,
        "[{\"name\":\"high\",\"description\":\"desc\",\"metric\":\"rejected\","
        "\"dimensions\":{\"protocol\":\"6\"},"
        "\"comparison\":\"GreaterThanOrEqualToThreshold\",\"threshold\":0.5,"
        "\"period\":300,\"evaluation_periods\":1,\"datapoints_to_alarm\":1,"
        "\"evaluation_range\":3,\"treat_missing_data\":\"notBreaching\","
        "\"state\":\"INSUFFICIENT_DATA\","
        "\"state_reason\":\"Unchecked: Initial alarm creation\","
        "\"state_updated\":null,\"last_window_end\":null,\"datapoints\":[],"
        "\"actions_failed\":0}]");
    CHECK_EQ_INT(len, strlen(js));
    fl_free(js);
    final(a, "rejected", "6", T1830, 300, 0.1, 1);
    fl_alarms_advance(a, "rejected", T1830 + 300, T1830 + 301);
    CHECK_EQ_INT(fl_alarms_json(a, &js, &len), 0);
    CHECK(strstr(js, "\"state\":\"OK\",\"state_reason\":\"Threshold Crossed: "
                     "1 out of the last 1 datapoint [0.1 (29/11/26 "
                     "18:30:00)] was not greater than or equal to the "
                     "threshold (0.5) (minimum 1 datapoint for "
                     "INSUFFICIENT_DATA -> OK transition).\","
                     "\"state_updated\":\"2026-11-29T18:35:01Z\","
                     "\"last_window_end\":\"2026-11-29T18:35:00Z\","
                     "\"datapoints\":[null,null,0.1]") != NULL);
    fl_free(js);
    fl_alarms_destroy(a, 1000);
    fl_test_dir_teardown();
}


/* records_in < 1 with missing = breaching: the "no data arriving" alarm. */
static void
test_runtime_no_data_alarm(void)
{
    setup();
    struct fl_alarms *a = mk(mkdef("no-data", "records_in", NULL,
                                   FL_ALARM_LT, 1, 1, 1,
                                   FL_MISSING_BREACHING));
    final(a, "records_in", NULL, T1830, 60, 250, 1);
    fl_alarms_advance(a, "records_in", T1830 + 60, T1830 + 60);
    CHECK_EQ_INT(state_of(a), O_);
    /* While the range (3 windows) still holds the 18:30 value, it
     * decides (CloudWatch: real points before treatment). */
    fl_alarms_advance(a, "records_in", T1830 + 180, T1830 + 180);
    CHECK_EQ_INT(state_of(a), O_);
    /* 18:31 to 18:33 without a record: ALARM. */
    fl_alarms_advance(a, "records_in", T1830 + 240, T1830 + 240);
    CHECK_EQ_INT(state_of(a), A_);
    final(a, "records_in", NULL, T1830 + 240, 60, 3, 1);
    fl_alarms_advance(a, "records_in", T1830 + 300, T1830 + 300);
    CHECK_EQ_INT(state_of(a), O_);
    fl_alarms_destroy(a, 1000);
    fl_test_dir_teardown();
}


/* Many windows finalised between two advances (a watermark jump, a WAL
 * replay): every boundary is evaluated with its own datapoints. */
static void
test_runtime_backlog(void)
{
    setup();
    struct fl_alarms *a = mk(mkdef("b", "records_in", NULL, FL_ALARM_GT, 100,
                                   1, 1, FL_MISSING_MISSING));
    fl_alarms_advance(a, "records_in", T1830, T1830);
    static const double v[] = { 200, 200, 5, 5, 200, 5, 200, 200, 200, 5,
                                5, 5, 5, 5, 5, 5, 5, 5, 5, 200 };
    for (int i = 0; i < 20; i++)
        final(a, "records_in", NULL, T1830 + 60 * i, 60, v[i], 1);
    fl_alarms_advance(a, "records_in", T1830 + 1200, T1830 + 1200);
    CHECK_EQ_INT(state_of(a), A_);
    struct fl_alarms_stats st;
    fl_alarms_stats(a, &st);
    /* N = 1: the newest window decides. INSUFFICIENT -> ALARM (0) -> OK
     * (2) -> ALARM (4) -> OK (5) -> ALARM (6) -> OK (9) -> ALARM (19). */
    CHECK_EQ_INT(st.transitions, 7);
    CHECK_EQ_INT(count_lines(slurp("history.jsonl")), 7);
    /* Only what later ranges can use is kept (and saved). */
    CHECK(strstr(slurp("state.json"), "\"datapoints\":[[1795978020,5.0],"
                 "[1795978080,5.0],[1795978140,200.0]]") != NULL);
    fl_alarms_destroy(a, 1000);
    fl_test_dir_teardown();
}


/* A clock ten years ahead: cheap, and the state is what an evaluation
 * over nothing gives. The first evaluation is at the latest boundary
 * only. */
static void
test_runtime_clock_jump(void)
{
    setup();
    struct fl_alarms *a = mk(mkdef("f", "fast", NULL, FL_ALARM_GT, 1, 2, 1,
                                   FL_MISSING_MISSING));
    final(a, "fast", NULL, T1830 - 1, 1, 5, 1);
    fl_alarms_advance(a, "fast", T1830, T1830);
    CHECK_EQ_INT(state_of(a), A_);
    double t0 = fl_time_mono();
    final(a, "fast", NULL, T1830 + 1000000, 1, 5, 1);
    fl_alarms_advance(a, "fast", T1830 + 315360000, T1830 + 315360000);
    CHECK(fl_time_mono() - t0 < 1.0);
    CHECK_EQ_INT(state_of(a), I_);
    /* ALARM -> INSUFFICIENT (after 18:30) -> ALARM (the lone point) ->
     * INSUFFICIENT. */
    const char *h = slurp("history.jsonl");
    CHECK_EQ_INT(count_lines(h), 4);
    CHECK(strstr(h, "\"window_end\":\"2026-12-11T08:16:45Z\"") != NULL);
    fl_alarms_destroy(a, 1000);
    fl_test_dir_teardown();
}


static void
test_runtime_restart(void)
{
    setup();
    struct fl_alarms *a = mk(mkdef("high", "rejected", "6", FL_ALARM_GT,
                                   1000, 3, 2, FL_MISSING_MISSING));
    final(a, "rejected", "6", T1830, 300, 1500, 1);
    final(a, "rejected", "6", T1830 + 300, 300, 1200, 1);
    fl_alarms_advance(a, "rejected", T1830 + 600, T1830 + 600);
    CHECK_EQ_INT(state_of(a), A_);
    fl_alarms_destroy(a, 1000);
    CHECK_EQ_INT(count_lines(slurp("history.jsonl")), 1);
    char *saved = fl_strdup(slurp("state.json"));
    CHECK_EQ_STR(saved,
        "{\"version\":1,\"alarms\":[{\"name\":\"high\",\"metric\":"
        "\"rejected\",\"period\":300,\"dimensions\":{\"protocol\":\"6\"},"
        "\"state\":\"ALARM\",\"reason\":\"Threshold Crossed: 2 out of the "
        "last 2 datapoints [1200.0 (29/11/26 18:35:00), 1500.0 (29/11/26 "
        "18:30:00)] were greater than the threshold (1000.0) (minimum 2 "
        "datapoints for INSUFFICIENT_DATA -> ALARM transition).\","
        "\"state_updated\":1795977600,\"last_evaluated\":1795977600,"
        "\"datapoints\":[[1795977000,1500.0],[1795977300,1200.0]]}]}\n");

    /* Restart: the engine replays the same finals and the same clock. */
    a = mk(mkdef("high", "rejected", "6", FL_ALARM_GT, 1000, 3, 2,
                 FL_MISSING_MISSING));
    CHECK_EQ_INT(state_of(a), A_);
    final(a, "rejected", "6", T1830, 300, 1500, 1);
    final(a, "rejected", "6", T1830 + 300, 300, 1200, 1);
    fl_alarms_advance(a, "rejected", T1830 + 600, T1830 + 700);
    CHECK_EQ_INT(count_lines(slurp("history.jsonl")), 1);
    CHECK_EQ_STR(slurp("state.json"), saved);
    /* The restored datapoints count: one more breaching window keeps
     * ALARM, one low then OK needs... 1500,1200,5 -> 2 of 3: ALARM. */
    final(a, "rejected", "6", T1830 + 600, 300, 5, 1);
    fl_alarms_advance(a, "rejected", T1830 + 900, T1830 + 900);
    CHECK_EQ_INT(state_of(a), A_);
    fl_alarms_destroy(a, 1000);

    /* Another series (protocol 17) under the same name: fresh start. */
    a = mk(mkdef("high", "rejected", "17", FL_ALARM_GT, 1000, 3, 2,
                 FL_MISSING_MISSING));
    CHECK_EQ_INT(state_of(a), I_);
    fl_alarms_destroy(a, 1000);
    /* Another name: fresh too; and the old entry is gone once saved. */
    a = mk(mkdef("high2", "rejected", "6", FL_ALARM_GT, 1000, 3, 2,
                 FL_MISSING_MISSING));
    CHECK_EQ_INT(state_of(a), I_);
    fl_alarms_destroy(a, 1000);
    fl_free(saved);
    fl_test_dir_teardown();
}


static void
test_runtime_damaged_state(void)
{
    setup();
    char path[256];
    snprintf(path, sizeof path, "%s/state.json", fl_test_root);
    static const char *const bodies[] = {
        "{\"version\":1,\"alarms\":[{\"name\":\"high\"",
        "[]",
        "{\"version\":2,\"alarms\":[]}",
        "{\"version\":1,\"alarms\":[{\"name\":\"high\",\"metric\":\"rejected\","
        "\"period\":300,\"dimensions\":{\"protocol\":\"6\"},\"state\":\"BAD\","
        "\"reason\":\"\",\"state_updated\":0,\"last_evaluated\":null,"
        "\"datapoints\":[]}]}",
        "{\"version\":1,\"alarms\":[{\"name\":\"high\",\"metric\":\"rejected\","
        "\"period\":300,\"dimensions\":{\"protocol\":\"6\"},\"state\":\"OK\","
        "\"reason\":\"\",\"state_updated\":0,\"last_evaluated\":null,"
        "\"datapoints\":[[1,\"x\"]]}]}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        fputs(bodies[i], f);
        fclose(f);
        struct fl_alarms *a = mk(mkdef("high", "rejected", "6", FL_ALARM_GT,
                                       1000, 3, 2, FL_MISSING_MISSING));
        CHECK_EQ_INT(state_of(a), I_);
        fl_alarms_destroy(a, 1000);
    }
    fl_test_dir_teardown();
}


static void
test_create_errors(void)
{
    setup();
    struct fl_err e = FL_ERR_INIT;
    char *err = e.msg;
    struct fl_alarms *a = (struct fl_alarms *)err;
    struct fl_alarm_def *d = mkdef("x", "nope", NULL, FL_ALARM_GT, 1, 1, 1,
                                   FL_MISSING_MISSING);
    CHECK_EQ_INT(create_one(d, &a, &e), FL_ECONFIG);
    CHECK(a == (struct fl_alarms *)err);
    CHECK_EQ_STR(err, "alarm x: no metric is named 'nope'");
    fl_free(d->metric);
    d->metric = fl_strdup("rejected");
    CHECK_EQ_INT(create_one(d, &a, &e), FL_ECONFIG);
    CHECK_EQ_STR(err, "alarm x: metric 'rejected' has the dimensions "
                 "(protocol); give a value for each of them and no other");
    fl_alarm_defs_free(d, 1);
    d = mkdef("x", "records_in", "6", FL_ALARM_GT, 1, 1, 1,
              FL_MISSING_MISSING);
    CHECK_EQ_INT(create_one(d, &a, &e), FL_ECONFIG);
    CHECK_EQ_STR(err, "alarm x: metric 'records_in' has no dimensions; "
                 "remove the dimensions key");
    fl_alarm_defs_free(d, 1);
    d = mkdef("x", "rejected", "6", FL_ALARM_GT, 1, 289, 1,
              FL_MISSING_MISSING);
    CHECK_EQ_INT(create_one(d, &a, &e), FL_ECONFIG);
    CHECK_EQ_STR(err, "alarm x: evaluation_periods x period = 289 x 300s is "
                 "more than one day");
    d->evaluation_periods = 288;
    d->evaluation_range = 290;
    CHECK_EQ_INT(create_one(d, &a, &e), 0);
    fl_alarms_destroy(a, 0);
    fl_alarms_destroy(NULL, 0);
    fl_test_dir_teardown();
}


/* ------------------------------------------------------------------ */
/* Actions. */

/* Waits until commands and webhooks have finished (ok + failed == n). */
static void
wait_actions(struct fl_alarms *a, uint64_t n)
{
    struct fl_alarms_stats st;
    for (int i = 0; i < 1000; i++) {
        fl_alarms_stats(a, &st);
        if (st.actions_ok + st.actions_failed >= n)
            return;
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    CHECK(!"actions did not finish in 10 s");
}


static void
test_command_action(void)
{
    setup();
    struct fl_alarm_def *d = mkdef("cmd", "rejected", "6", FL_ALARM_GT, 100,
                                   1, 1, FL_MISSING_MISSING);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "env | grep '^FLOWLAKE_' | sort > %s/env.txt; "
             "cat > %s/stdin.txt", fl_test_root, fl_test_root);
    add_str(&d->commands, &d->n_commands, cmd);
    snprintf(cmd, sizeof cmd, "echo $FLOWLAKE_NEW_STATE >> %s/fired.txt",
             fl_test_root);
    add_str(&d->commands, &d->n_commands, cmd);
    add_str(&d->commands, &d->n_commands, "exit 3");
    d->log = 1;
    struct fl_alarms *a = mk(d);
    final(a, "rejected", "6", T1830, 300, 150, 1);
    fl_alarms_advance(a, "rejected", T1830 + 300, T1830 + 301);
    wait_actions(a, 3);
    /* Re-evaluations in the same state fire nothing. */
    final(a, "rejected", "6", T1830 + 300, 300, 160, 1);
    fl_alarms_advance(a, "rejected", T1830 + 600, T1830 + 601);
    final(a, "rejected", "6", T1830 + 600, 300, 170, 1);
    fl_alarms_advance(a, "rejected", T1830 + 900, T1830 + 901);
    final(a, "rejected", "6", T1830 + 900, 300, 1, 1);
    fl_alarms_advance(a, "rejected", T1830 + 1200, T1830 + 1201);
    wait_actions(a, 6);
    struct fl_alarms_stats st;
    fl_alarms_stats(a, &st);
    CHECK_EQ_INT(st.transitions, 2);
    CHECK_EQ_INT(st.actions_ok, 4);
    CHECK_EQ_INT(st.actions_failed, 2);
    char *js;
    size_t len;
    CHECK_EQ_INT(fl_alarms_json(a, &js, &len), 0);
    CHECK(strstr(js, "\"actions_failed\":2}") != NULL);
    fl_free(js);
    fl_alarms_destroy(a, 2000);

    CHECK_EQ_STR(slurp("fired.txt"), "ALARM\nOK\n");
    CHECK_EQ_STR(slurp("env.txt"),
        "FLOWLAKE_ALARM=cmd\n"
        "FLOWLAKE_METRIC=rejected\n"
        "FLOWLAKE_NEW_STATE=OK\n"
        "FLOWLAKE_OLD_STATE=ALARM\n"
        "FLOWLAKE_REASON=Threshold Crossed: 1 out of the last 1 datapoint "
        "[1.0 (29/11/26 18:45:00)] was not greater than the threshold "
        "(100.0) (minimum 1 datapoint for ALARM -> OK transition).\n");
    CHECK_EQ_STR(slurp("stdin.txt"),
        "{\"alarm\":\"cmd\",\"description\":\"desc\",\"metric\":\"rejected\","
        "\"dimensions\":{\"protocol\":\"6\"},\"old_state\":\"ALARM\","
        "\"new_state\":\"OK\",\"reason\":\"Threshold Crossed: 1 out of the "
        "last 1 datapoint [1.0 (29/11/26 18:45:00)] was not greater than the "
        "threshold (100.0) (minimum 1 datapoint for ALARM -> OK "
        "transition).\",\"time\":\"2026-11-29T18:50:01Z\","
        "\"window_start\":\"2026-11-29T18:35:00Z\","
        "\"window_end\":\"2026-11-29T18:50:00Z\",\"threshold\":100.0,"
        "\"comparison\":\"GreaterThanThreshold\","
        "\"values\":[160.0,170.0,1.0]}");
    fl_test_dir_teardown();
}


/* A webhook receiver: answers 500 to the first POST, 200 afterwards, and
 * keeps every body. */
struct receiver {
    struct MHD_Daemon *d;
    uint16_t port;
    pthread_mutex_t mu;
    int requests;
    char bodies[4][4096];
    char ctype[4][64];
};

struct upload {
    char buf[4096];
    size_t len;
};


static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
           const char *method, const char *version, const char *data,
           size_t *data_size, void **con_cls)
{
    struct receiver *r = cls;
    struct upload *u = *con_cls;
    (void)url;
    (void)version;
    if (u == NULL) {
        u = calloc(1, sizeof *u);
        *con_cls = u;
        return MHD_YES;
    }
    if (*data_size > 0) {
        size_t n = *data_size;
        if (n > sizeof u->buf - 1 - u->len)
            n = sizeof u->buf - 1 - u->len;
        memcpy(u->buf + u->len, data, n);
        u->len += n;
        *data_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&r->mu);
    int k = r->requests++;
    if (k < 4 && strcmp(method, "POST") == 0) {
        memcpy(r->bodies[k], u->buf, u->len);
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     "Content-Type");
        snprintf(r->ctype[k], sizeof r->ctype[k], "%s", ct ? ct : "");
    }
    pthread_mutex_unlock(&r->mu);
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(
        c, k == 0 ? MHD_HTTP_INTERNAL_SERVER_ERROR : MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}


static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}


static void
receiver_start(struct receiver *r)
{
    struct sockaddr_in sa;
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    r->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
                            on_request, r,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                            MHD_OPTION_END);
    CHECK(r->d != NULL);
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(r->d, MHD_DAEMON_INFO_BIND_PORT);
    CHECK(info != NULL);
    r->port = info->port;
}


static void
test_webhook_retry(void)
{
    setup();
    struct receiver r;
    receiver_start(&r);
    struct fl_alarm_def *d = mkdef("hook", "rejected", "6", FL_ALARM_GT, 100,
                                   1, 1, FL_MISSING_MISSING);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/alarm", r.port);
    add_str(&d->webhooks, &d->n_webhooks, url);
    d->webhook_retries = 3;
    d->webhook_backoff_ms = 10;
    struct fl_alarms *a = mk(d);
    final(a, "rejected", "6", T1830, 300, 150.5, 1);
    fl_alarms_advance(a, "rejected", T1830 + 300, T1830 + 305);
    wait_actions(a, 1);
    struct fl_alarms_stats st;
    fl_alarms_stats(a, &st);
    CHECK_EQ_INT(st.actions_ok, 1);
    CHECK_EQ_INT(st.actions_failed, 0);
    fl_alarms_destroy(a, 2000);
    MHD_stop_daemon(r.d);
    CHECK_EQ_INT(r.requests, 2);
    CHECK_EQ_STR(r.ctype[1], "application/json");
    CHECK_EQ_STR(r.bodies[0], r.bodies[1]);
    json_error_t je;
    json_t *j = json_loads(r.bodies[1], 0, &je);
    CHECK(j != NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "alarm")), "hook");
    CHECK_EQ_STR(json_string_value(json_object_get(j, "description")),
                 "desc");
    CHECK_EQ_STR(json_string_value(json_object_get(j, "metric")), "rejected");
    CHECK_EQ_STR(json_string_value(json_object_get(
        json_object_get(j, "dimensions"), "protocol")), "6");
    CHECK_EQ_STR(json_string_value(json_object_get(j, "old_state")),
                 "INSUFFICIENT_DATA");
    CHECK_EQ_STR(json_string_value(json_object_get(j, "new_state")), "ALARM");
    CHECK_EQ_STR(json_string_value(json_object_get(j, "reason")),
                 "Threshold Crossed: 1 out of the last 1 datapoint [150.5 "
                 "(29/11/26 18:30:00)] was greater than the threshold (100.0) "
                 "(minimum 1 datapoint for INSUFFICIENT_DATA -> ALARM "
                 "transition).");
    CHECK_EQ_STR(json_string_value(json_object_get(j, "time")),
                 "2026-11-29T18:35:05Z");
    CHECK_EQ_STR(json_string_value(json_object_get(j, "window_start")),
                 "2026-11-29T18:20:00Z");
    CHECK_EQ_STR(json_string_value(json_object_get(j, "window_end")),
                 "2026-11-29T18:35:00Z");
    CHECK(json_real_value(json_object_get(j, "threshold")) == 100.0);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "comparison")),
                 "GreaterThanThreshold");
    json_t *vals = json_object_get(j, "values");
    CHECK_EQ_INT(json_array_size(vals), 3);
    CHECK(json_is_null(json_array_get(vals, 0)));
    CHECK(json_is_null(json_array_get(vals, 1)));
    CHECK(json_real_value(json_array_get(vals, 2)) == 150.5);
    json_decref(j);
    pthread_mutex_destroy(&r.mu);
    fl_test_dir_teardown();
}


static void
test_webhook_closed_port(void)
{
    setup();
    /* A port nobody listens on: bind one, note it, close it. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(s, (struct sockaddr *)&sa, sizeof sa) == 0);
    CHECK(getsockname(s, (struct sockaddr *)&sa, &sl) == 0);
    close(s);
    struct fl_alarm_def *d = mkdef("hook", "rejected", "6", FL_ALARM_GT, 100,
                                   1, 1, FL_MISSING_MISSING);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", ntohs(sa.sin_port));
    add_str(&d->webhooks, &d->n_webhooks, url);
    d->webhook_retries = 3;
    d->webhook_backoff_ms = 10;
    struct fl_alarms *a = mk(d);
    final(a, "rejected", "6", T1830, 300, 150, 1);
    double t0 = fl_time_mono();
    fl_alarms_advance(a, "rejected", T1830 + 300, T1830 + 305);
    wait_actions(a, 1);
    /* 10 + 20 + 40 ms of backoff. */
    CHECK(fl_time_mono() - t0 >= 0.07);
    struct fl_alarms_stats st;
    fl_alarms_stats(a, &st);
    CHECK_EQ_INT(st.actions_ok, 0);
    CHECK_EQ_INT(st.actions_failed, 1);
    fl_alarms_destroy(a, 1000);
    fl_test_dir_teardown();
}


/* destroy interrupts a long backoff once its drain time is over. */
static void
test_destroy_interrupts_backoff(void)
{
    setup();
    struct fl_alarm_def *d = mkdef("hook", "rejected", "6", FL_ALARM_GT, 100,
                                   1, 1, FL_MISSING_MISSING);
    add_str(&d->webhooks, &d->n_webhooks, "http://127.0.0.1:1/");
    d->webhook_retries = 5;
    d->webhook_backoff_ms = 60000;
    struct fl_alarms *a = mk(d);
    final(a, "rejected", "6", T1830, 300, 150, 1);
    fl_alarms_advance(a, "rejected", T1830 + 300, T1830 + 305);
    struct timespec ts = { 0, 100 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    double t0 = fl_time_mono();
    fl_alarms_destroy(a, 200);
    CHECK(fl_time_mono() - t0 < 2.0);
    fl_test_dir_teardown();
}


static void
count_done(void *ctx, size_t alarm, int ok)
{
    (void)alarm;
    (void)ok;
    (*(int *)ctx)++;
}


static struct fl_alarm_job *
cmd_job(const char *cmd)
{
    struct fl_alarm_job *j = fl_calloc(1, sizeof *j);
    CHECK(j != NULL);
    j->kind = FL_JOB_COMMAND;
    j->target = fl_strdup(cmd);
    j->body = fl_strdup("{}");
    j->env_alarm = fl_strdup("q");
    j->env_old = fl_strdup("OK");
    j->env_new = fl_strdup("ALARM");
    j->env_reason = fl_strdup("r");
    j->env_metric = fl_strdup("m");
    return j;
}


/* The queue is bounded: pushing past FL_ALARM_QUEUE_MAX drops the oldest,
 * counts it, and reports the dropped command to the caller. */
static void
test_queue_overflow(void)
{
    struct fl_alarm_worker *w = NULL;
    int done = 0;
    size_t dropped_alarm = 99, reported = 0;
    CHECK_EQ_INT(fl_alarm_worker_create(count_done, &done, &w), 0);
    reported += (size_t)fl_alarm_worker_push(w, cmd_job("sleep 1"),
                                             &dropped_alarm);
    /* Let the worker take it: the queue is then empty and stays so. */
    struct timespec ts = { 0, 300 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    for (int i = 0; i < FL_ALARM_QUEUE_MAX + 1; i++)
        reported += (size_t)fl_alarm_worker_push(w, cmd_job("true"),
                                                 &dropped_alarm);
    CHECK_EQ_INT(reported, 1);
    CHECK_EQ_INT(fl_alarm_worker_dropped(w), reported);
    CHECK_EQ_INT(dropped_alarm, 0);
    double t0 = fl_time_mono();
    fl_alarm_worker_destroy(w, 0);
    /* The running command was killed, the queued ones not run. */
    CHECK(fl_time_mono() - t0 < 0.5);
    CHECK_EQ_INT(done, 1);
    CHECK_EQ_INT(fl_mem_used(), 0);
}


FL_TEST_MAIN(
    FL_TEST(test_truth_table_3_of_3),
    FL_TEST(test_truth_table_2_of_3),
    FL_TEST(test_m_of_n_other),
    FL_TEST(test_reason_texts),
    FL_TEST(test_names),
    FL_TEST(test_config_every_key),
    FL_TEST(test_config_defaults),
    FL_TEST(test_config_errors),
    FL_TEST(test_config_alloc_failures),
    FL_TEST(test_config_check_lists_all),
    FL_TEST(test_config_map_documented),
    FL_TEST(test_runtime_sequence),
    FL_TEST(test_runtime_json),
    FL_TEST(test_runtime_no_data_alarm),
    FL_TEST(test_runtime_clock_jump),
    FL_TEST(test_runtime_backlog),
    FL_TEST(test_runtime_restart),
    FL_TEST(test_runtime_damaged_state),
    FL_TEST(test_create_errors),
    FL_TEST(test_command_action),
    FL_TEST(test_webhook_retry),
    FL_TEST(test_webhook_closed_port),
    FL_TEST(test_destroy_interrupts_backoff),
    FL_TEST(test_queue_overflow)
)
