/* SPDX-License-Identifier: MIT
 *
 * athena.c -- the Athena (Presto/Trino) compatibility layer of a query
 * session: the functions listed in query.h that DuckDB lacks.
 *
 * Two C scalar functions: flowlake_mysql_format(), which translates
 * MySQL/Presto date format specifiers into strftime ones for the
 * date_format macro, and date_parse(), a MySQL-style parser of its own
 * (DuckDB's strptime wants a constant format). Neither keeps state between
 * calls. TEMP macros, run as SQL on the session's connection, cover the
 * rest. docs/query.md lists the functions and their differences from
 * Athena.
 *
 * Called once per session by fl_query_open() (query.c), through
 * fl_query_register_athena().
 */
#include "../core/fl_config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <duckdb.h>

#include "../core/fl_cidr.h"
#include "../core/fl_error.h"
#include "../core/fl_time.h"
#include "query_int.h"


/* ------------------------------------------------------------------------
 * date_format / date_parse: MySQL (Presto) specifiers -> DuckDB strftime
 * --------------------------------------------------------------------- */

/* Translates one MySQL/Presto format string into DuckDB's strftime/strptime
 * syntax. Presto's table (prestodb.io "Date and Time Functions", MySQL Date
 * Functions): %D %u %V %X are not supported there either and are errors
 * here; %U and %w, which Presto rejects, have exact strftime equivalents
 * and are accepted; "%x for any x not listed" is the literal x.
 * Returns 0, or -1 with *bad = the unsupported specifier character. */
static int
mysql_to_strftime(const char *s, size_t n, struct fl_buf *out, char *bad)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            fl_buf_addc(out, s[i]);
            continue;
        }
        if (i + 1 == n) {           /* trailing lone '%': a literal */
            fl_buf_adds(out, "%%");
            break;
        }
        char c = s[++i];
        const char *t = NULL;
        switch (c) {
        case 'a': t = "%a"; break;          /* Sun .. Sat */
        case 'b': t = "%b"; break;          /* Jan .. Dec */
        case 'c': t = "%-m"; break;         /* month 1 .. 12 */
        case 'd': t = "%d"; break;          /* day 01 .. 31 */
        case 'e': t = "%-d"; break;         /* day 1 .. 31 */
        case 'f': t = "%f"; break;          /* microseconds, 6 digits */
        case 'H': t = "%H"; break;          /* 00 .. 23 */
        case 'h': t = "%I"; break;          /* 01 .. 12 */
        case 'I': t = "%I"; break;
        case 'i': t = "%M"; break;          /* minutes 00 .. 59 */
        case 'j': t = "%j"; break;          /* day of year 001 .. 366 */
        case 'k': t = "%-H"; break;         /* 0 .. 23 */
        case 'l': t = "%-I"; break;         /* 1 .. 12 */
        case 'M': t = "%B"; break;          /* January .. December */
        case 'm': t = "%m"; break;          /* 01 .. 12 */
        case 'p': t = "%p"; break;          /* AM / PM */
        case 'r': t = "%I:%M:%S %p"; break;
        case 'S': t = "%S"; break;
        case 's': t = "%S"; break;
        case 'T': t = "%H:%M:%S"; break;
        case 'U': t = "%U"; break;          /* week 00 .. 53, Sunday first */
        case 'v': t = "%V"; break;          /* ISO week 01 .. 53 */
        case 'W': t = "%A"; break;          /* Sunday .. Saturday */
        case 'w': t = "%w"; break;          /* 0 = Sunday .. 6 */
        case 'x': t = "%G"; break;          /* ISO year, with %v */
        case 'Y': t = "%Y"; break;
        case 'y': t = "%y"; break;
        case '%': t = "%%"; break;
        case 'D': case 'u': case 'V': case 'X':
            *bad = c;
            return -1;
        default:
            break;
        }
        if (t != NULL)
            fl_buf_adds(out, t);
        else
            fl_buf_addc(out, c);               /* "%x" is a literal x */
    }
    return 0;
}


/* SQL: flowlake_mysql_format(VARCHAR) -> VARCHAR. Deterministic, so DuckDB
 * folds it on a constant argument and strftime sees a constant format. */
static void
mysql_format_fn(duckdb_function_info info, duckdb_data_chunk input,
                duckdb_vector output)
{
    idx_t n = duckdb_data_chunk_get_size(input);
    duckdb_vector in = duckdb_data_chunk_get_vector(input, 0);
    duckdb_string_t *data = duckdb_vector_get_data(in);
    uint64_t *valid = duckdb_vector_get_validity(in);
    struct fl_buf b = { 0 };

    duckdb_vector_ensure_validity_writable(output);
    uint64_t *ovalid = duckdb_vector_get_validity(output);
    for (idx_t i = 0; i < n; i++) {
        if (valid != NULL && !duckdb_validity_row_is_valid(valid, i)) {
            duckdb_validity_set_row_invalid(ovalid, i);
            continue;
        }
        char bad = 0;
        fl_buf_reset(&b);
        if (mysql_to_strftime(duckdb_string_t_data(&data[i]),
                              duckdb_string_t_length(data[i]), &b, &bad) < 0) {
            char msg[96];
            snprintf(msg, sizeof msg, "date_format: format "
                     "specifier %%%c is not supported", bad);
            duckdb_scalar_function_set_error(info, msg);
            break;
        }
        if (b.err) {
            duckdb_scalar_function_set_error(info, FL_OOM_TEXT);
            break;
        }
        duckdb_vector_assign_string_element_len(output, i,
                                                b.p != NULL ? b.p : "", b.len);
    }
    fl_buf_free(&b);
}


/* date_parse(string, format): Presto's MySQL-style parser, done here in C
 * because DuckDB's strptime insists on a format that is constant when a
 * macro is created, which a translated format is not. Fields a format does
 * not mention default to 1970-01-01 00:00:00, as in Presto. The whole
 * string must match. */

struct ptime {
    int year, mon, day, hour, min, sec, micros, yday;
    int pm;         /* -1 unset, 0 AM, 1 PM */
    int hour12;     /* hour came from %h %I %l %r */
};

static const char *const month_names[12] = {
    "january", "february", "march", "april", "may", "june", "july",
    "august", "september", "october", "november", "december"
};
static const char *const day_names[7] = {
    "sunday", "monday", "tuesday", "wednesday", "thursday", "friday",
    "saturday"
};


static int
read_num(const char **p, const char *end, int maxd, int *out)
{
    int n = 0, v = 0;
    while (*p < end && n < maxd && **p >= '0' && **p <= '9') {
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    if (n == 0)
        return -1;
    *out = v;
    return n;
}


/* Matches a month or day name (or its 3-letter abbreviation), any case. */
static int
read_name(const char **p, const char *end, const char *const *names,
          int count, int abbr)
{
    for (int i = 0; i < count; i++) {
        size_t len = abbr ? 3 : strlen(names[i]);
        size_t j = 0;
        if ((size_t)(end - *p) < len)
            continue;
        for (; j < len; j++) {
            char c = (*p)[j];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if (c != names[i][j])
                break;
        }
        if (j == len) {
            *p += len;
            return i;
        }
    }
    return -1;
}


/* Parses s against format f into t. 0, -1 mismatch, -2 unsupported
 * specifier (*bad set). */
static int
mysql_parse(struct ptime *t, const char **p, const char *end,
            const char *f, size_t fn, char *bad)
{
    int v = 0;
    for (size_t i = 0; i < fn; i++) {
        char c = f[i];
        if (c != '%' || i + 1 == fn) {
            if (*p >= end || **p != c)
                return -1;
            (*p)++;
            continue;
        }
        c = f[++i];
        int rc = 0;
        switch (c) {
        case 'Y':
            rc = read_num(p, end, 4, &t->year);
            break;
        case 'y':
            rc = read_num(p, end, 2, &v);
            t->year = v < 70 ? 2000 + v : 1900 + v;
            break;
        case 'm': case 'c':
            rc = read_num(p, end, 2, &t->mon);
            break;
        case 'd': case 'e':
            rc = read_num(p, end, 2, &t->day);
            break;
        case 'H': case 'k':
            rc = read_num(p, end, 2, &t->hour);
            t->hour12 = 0;
            break;
        case 'h': case 'I': case 'l':
            rc = read_num(p, end, 2, &t->hour);
            t->hour12 = 1;
            break;
        case 'i':
            rc = read_num(p, end, 2, &t->min);
            break;
        case 's': case 'S':
            rc = read_num(p, end, 2, &t->sec);
            break;
        case 'j':
            rc = read_num(p, end, 3, &t->yday);
            break;
        case 'f': {
            int n = read_num(p, end, 9, &v);
            if (n < 0)
                return -1;
            for (; n < 6; n++)
                v *= 10;
            for (; n > 6; n--)
                v /= 10;
            t->micros = v;
            break;
        }
        case 'p':
            if (end - *p >= 2 && ((*p)[1] == 'M' || (*p)[1] == 'm')
                && ((**p | 0x20) == 'a' || (**p | 0x20) == 'p')) {
                t->pm = (**p | 0x20) == 'p';
                *p += 2;
            } else {
                rc = -1;
            }
            break;
        case 'M': case 'b':
            v = read_name(p, end, month_names, 12, c == 'b');
            if (v >= 0)
                t->mon = v + 1;
            rc = v;
            break;
        case 'W': case 'a':
            rc = read_name(p, end, day_names, 7, c == 'a');   /* ignored */
            break;
        case 'T':
            rc = mysql_parse(t, p, end, "%H:%i:%s", 8, bad);
            break;
        case 'r':
            rc = mysql_parse(t, p, end, "%h:%i:%s %p", 11, bad);
            break;
        case 'D': case 'u': case 'U': case 'V': case 'v': case 'w':
        case 'X': case 'x':
            *bad = c;
            return -2;
        default:            /* "%%" and "%x": the literal character */
            if (*p >= end || **p != c)
                return -1;
            (*p)++;
            break;
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}


static int
is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}


/* Validates t and turns it into microseconds since the epoch. */
static int
ptime_micros(const struct ptime *t, int64_t *out)
{
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
                                   30, 31 };
    int hour = t->hour;
    int64_t days;

    if (t->hour12) {
        if (hour < 1 || hour > 12)
            return -1;
        hour %= 12;
        if (t->pm == 1)
            hour += 12;
    } else if (t->pm == 1 && hour < 12) {
        hour += 12;
    }
    if (hour > 23 || t->min > 59 || t->sec > 59)
        return -1;
    if (t->yday != 0) {
        if (t->yday > 365 + is_leap(t->year))
            return -1;
        days = fl_time_days_from_civil(t->year, 1, 1) + t->yday - 1;
    } else {
        if (t->mon < 1 || t->mon > 12 || t->day < 1)
            return -1;
        int dim = mdays[t->mon - 1] + (t->mon == 2 && is_leap(t->year));
        if (t->day > dim)
            return -1;
        days = fl_time_days_from_civil(t->year, t->mon, t->day);
    }
    *out = ((days * 24 + hour) * 60 + t->min) * 60000000LL
           + t->sec * 1000000LL + t->micros;
    return 0;
}


/* SQL: date_parse(VARCHAR, VARCHAR) -> TIMESTAMP. */
static void
date_parse_fn(duckdb_function_info info, duckdb_data_chunk input,
              duckdb_vector output)
{
    idx_t n = duckdb_data_chunk_get_size(input);
    duckdb_vector sv = duckdb_data_chunk_get_vector(input, 0);
    duckdb_vector fv = duckdb_data_chunk_get_vector(input, 1);
    duckdb_string_t *sd = duckdb_vector_get_data(sv);
    duckdb_string_t *fd = duckdb_vector_get_data(fv);
    uint64_t *svalid = duckdb_vector_get_validity(sv);
    uint64_t *fvalid = duckdb_vector_get_validity(fv);
    int64_t *out = duckdb_vector_get_data(output);

    duckdb_vector_ensure_validity_writable(output);
    uint64_t *ovalid = duckdb_vector_get_validity(output);
    for (idx_t i = 0; i < n; i++) {
        if ((svalid != NULL && !duckdb_validity_row_is_valid(svalid, i))
            || (fvalid != NULL && !duckdb_validity_row_is_valid(fvalid, i))) {
            duckdb_validity_set_row_invalid(ovalid, i);
            continue;
        }
        const char *s = duckdb_string_t_data(&sd[i]);
        uint32_t slen = duckdb_string_t_length(sd[i]);
        const char *f = duckdb_string_t_data(&fd[i]);
        uint32_t flen = duckdb_string_t_length(fd[i]);
        struct ptime t = { 1970, 1, 1, 0, 0, 0, 0, 0, -1, 0 };
        const char *p = s;
        char bad = 0;
        int rc = mysql_parse(&t, &p, s + slen, f, flen, &bad);
        if (rc == 0 && p != s + slen)
            rc = -1;
        if (rc == 0)
            rc = ptime_micros(&t, &out[i]);
        if (rc < 0) {
            char msg[320];
            if (rc == -2)
                snprintf(msg, sizeof msg, "date_parse: format specifier "
                         "%%%c is not supported", bad);
            else
                snprintf(msg, sizeof msg, "date_parse: '%.*s' does not "
                         "match the format '%.*s'", (int)(slen > 100 ? 100
                         : slen), s, (int)(flen > 100 ? 100 : flen), f);
            duckdb_scalar_function_set_error(info, msg);
            return;
        }
    }
}


/* SQL: cidr_contains(network VARCHAR, address VARCHAR) -> BOOLEAN, the
 * metric language's CIDR test (core/fl_cidr.h, the same code), so that a
 * metric's WHERE pastes into an ad-hoc query unchanged. NULL in, NULL out;
 * an address that does not parse, or of the other family, is false; a
 * network that does not parse is an error naming it. */
static void
cidr_contains_fn(duckdb_function_info info, duckdb_data_chunk input,
                 duckdb_vector output)
{
    idx_t n = duckdb_data_chunk_get_size(input);
    duckdb_vector nv = duckdb_data_chunk_get_vector(input, 0);
    duckdb_vector av = duckdb_data_chunk_get_vector(input, 1);
    duckdb_string_t *nd = duckdb_vector_get_data(nv);
    duckdb_string_t *ad = duckdb_vector_get_data(av);
    uint64_t *nvalid = duckdb_vector_get_validity(nv);
    uint64_t *avalid = duckdb_vector_get_validity(av);
    bool *out = duckdb_vector_get_data(output);
    struct fl_cidr net;
    const char *last = NULL;
    uint32_t last_len = 0;

    duckdb_vector_ensure_validity_writable(output);
    uint64_t *ovalid = duckdb_vector_get_validity(output);
    for (idx_t i = 0; i < n; i++) {
        if ((nvalid != NULL && !duckdb_validity_row_is_valid(nvalid, i))
            || (avalid != NULL && !duckdb_validity_row_is_valid(avalid, i))) {
            duckdb_validity_set_row_invalid(ovalid, i);
            continue;
        }
        const char *ns = duckdb_string_t_data(&nd[i]);
        uint32_t nlen = duckdb_string_t_length(nd[i]);
        /* The network is nearly always a constant: parse it once. */
        if (last == NULL || nlen != last_len || memcmp(ns, last, nlen) != 0) {
            if (fl_cidr_parse(ns, nlen, &net) < 0) {
                char msg[200];
                snprintf(msg, sizeof msg, "cidr_contains: '%.*s' is not an "
                         "IPv4 or IPv6 network such as 10.0.0.0/8",
                         (int)(nlen > 100 ? 100 : nlen), ns);
                duckdb_scalar_function_set_error(info, msg);
                return;
            }
            fl_cidr_mask(&net);
            last = ns;
            last_len = nlen;
        }
        out[i] = fl_cidr_contains(&net, duckdb_string_t_data(&ad[i]),
                                  duckdb_string_t_length(ad[i])) == 1;
    }
}


static int
register_scalar(struct fl_query *q, const char *name, int nparams,
                duckdb_type ret, duckdb_scalar_function_t fn,
                char **out_err)
{
    duckdb_scalar_function f = duckdb_create_scalar_function();
    duckdb_logical_type vc = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
    duckdb_logical_type rt = duckdb_create_logical_type(ret);
    int rc = FL_OK;

    if (f == NULL || vc == NULL || rt == NULL) {
        rc = FL_ENOMEM;
        goto out;
    }
    duckdb_scalar_function_set_name(f, name);
    for (int i = 0; i < nparams; i++)
        duckdb_scalar_function_add_parameter(f, vc);
    duckdb_scalar_function_set_return_type(f, rt);
    duckdb_scalar_function_set_function(f, fn);
    if (duckdb_register_scalar_function(q->con, f) == DuckDBError) {
        struct fl_buf m = { 0 };
        fl_buf_addf(&m, "cannot register the SQL function %s()", name);
        fl_query_set_err(out_err, m.p);
        fl_buf_free(&m);
        rc = FL_EDB;
    }
out:
    if (rt != NULL)
        duckdb_destroy_logical_type(&rt);
    if (vc != NULL)
        duckdb_destroy_logical_type(&vc);
    if (f != NULL)
        duckdb_destroy_scalar_function(&f);
    return rc;
}


static int
register_functions(struct fl_query *q, char **out_err)
{
    int rc = register_scalar(q, "flowlake_mysql_format", 1,
                             DUCKDB_TYPE_VARCHAR, mysql_format_fn, out_err);
    if (rc == FL_OK)
        rc = register_scalar(q, "date_parse", 2, DUCKDB_TYPE_TIMESTAMP,
                             date_parse_fn, out_err);
    if (rc == FL_OK)
        rc = register_scalar(q, "cidr_contains", 2, DUCKDB_TYPE_BOOLEAN,
                             cidr_contains_fn, out_err);
    return rc;
}


/* The Athena (Presto/Trino) functions DuckDB lacks, as TEMP macros (the
 * temp schema is searched first whatever search_path says). Our timestamps
 * are naive UTC TIMESTAMPs where Athena has "timestamp with time zone". */
static const char *const athena_macros[] = {
    /* epoch seconds -> TIMESTAMP; a TIMESTAMP passes through, so the AWS
     * examples written for BIGINT start/end (from_unixtime(start)) run. */
    "CREATE OR REPLACE TEMP MACRO from_unixtime"
    "(x TIMESTAMP) AS x,"
    "(x TIMESTAMP WITH TIME ZONE) AS make_timestamp(epoch_us(x)),"
    "(x BIGINT) AS make_timestamp(x * 1000000),"
    "(x DOUBLE) AS make_timestamp(CAST(round(x * 1000000) AS BIGINT))",
    "CREATE OR REPLACE TEMP MACRO to_unixtime(x) AS epoch(x)",
    "CREATE OR REPLACE TEMP MACRO date_format(x, f) AS "
    "strftime(x, flowlake_mysql_format(f))",
    "CREATE OR REPLACE TEMP MACRO day_of_week(x) AS isodow(x)",
    "CREATE OR REPLACE TEMP MACRO dow(x) AS isodow(x)",
    "CREATE OR REPLACE TEMP MACRO day_of_year(x) AS dayofyear(x)",
    "CREATE OR REPLACE TEMP MACRO doy(x) AS dayofyear(x)",
    "CREATE OR REPLACE TEMP MACRO day_of_month(x) AS dayofmonth(x)",
    "CREATE OR REPLACE TEMP MACRO week_of_year(x) AS week(x)",
    "CREATE OR REPLACE TEMP MACRO year_of_week(x) AS isoyear(x)",
    "CREATE OR REPLACE TEMP MACRO yow(x) AS isoyear(x)",
    "CREATE OR REPLACE TEMP MACRO last_day_of_month(x) AS last_day(x)",
    "CREATE OR REPLACE TEMP MACRO from_iso8601_timestamp(s) AS "
    "timezone('UTC', CAST(s AS TIMESTAMP WITH TIME ZONE))",
    "CREATE OR REPLACE TEMP MACRO from_iso8601_date(s) AS CAST(s AS DATE)",
    "CREATE OR REPLACE TEMP MACRO to_iso8601"
    "(x DATE) AS strftime(x, '%Y-%m-%d'),"
    "(x TIMESTAMP) AS strftime(x, '%Y-%m-%dT%H:%M:%S.%gZ'),"
    "(x TIMESTAMP WITH TIME ZONE) AS "
    "strftime(timezone('UTC', x), '%Y-%m-%dT%H:%M:%S.%gZ')",
    "CREATE OR REPLACE TEMP MACRO approx_distinct"
    "(x) AS approx_count_distinct(x),"
    "(x, e) AS approx_count_distinct(x)",
    "CREATE OR REPLACE TEMP MACRO regexp_like(s, p) AS regexp_matches(s, p)",
    "CREATE OR REPLACE TEMP MACRO json_extract_scalar(j, p) AS "
    "json_extract_string(j, p)",
    /* Presto date_add(unit, n, x); DuckDB's own date_add(x, interval) is a
     * macro too, which this one would hide, so it is kept as an overload. */
    "CREATE OR REPLACE TEMP MACRO date_add"
    "(d, i) AS d + i,"
    "(unit, n, x) AS x + CAST(CAST(n AS VARCHAR) || ' ' || unit AS INTERVAL)",
};


/* Both scalar functions, then the macros (date_format needs
 * flowlake_mysql_format), stopping at the first failure. */
int
fl_query_register_athena(struct fl_query *q, char **out_err)
{
    int rc = register_functions(q, out_err);
    for (size_t i = 0; rc == FL_OK
         && i < sizeof athena_macros / sizeof athena_macros[0]; i++)
        rc = fl_query_exec(q, athena_macros[i], out_err);
    return rc;
}
