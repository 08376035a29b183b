/* SPDX-License-Identifier: MIT
 *
 * query.c -- SQL over the Parquet archive through DuckDB (see query.h).
 *
 * One struct fl_query = one in-memory DuckDB database and one connection.
 * Opening it sets the session time zone to UTC, registers the Athena
 * compatibility layer (two C scalar functions: flowlake_mysql_format(),
 * which translates MySQL/Presto date format specifiers into strftime ones
 * for the date_format macro, and date_parse(); TEMP macros for the rest)
 * and creates the view vpc_flow_logs.flow_logs:
 *
 *   SELECT * REPLACE (make_timestamp("start" * 1000000) AS "start", ...)
 *   FROM (SELECT CAST(NULL AS INTEGER) AS "version", ...   -- 40 + 4 typed
 *         WHERE false                                      -- columns, no row
 *         UNION ALL BY NAME
 *         SELECT * FROM read_parquet('DIR/year=*' '/month=*' '/day=*'
 *                                    '/hour=*' '/' '*.parquet',
 *                                    hive_partitioning = true,
 *                                    union_by_name = true,
 *                                    hive_types = {...: VARCHAR}))
 *
 * The empty typed relation comes first so that the column order and types
 * are those of fields.h whatever the files hold, and so that the view has
 * the full schema when there is no file at all (read_parquet refuses an
 * empty glob, so then the UNION is left out). DuckDB pushes partition
 * filters through the UNION into read_parquet, which skips the files whose
 * year/month/day/hour do not match (EXPLAIN ANALYZE: "Total Files Read").
 *
 * DuckDB binds a view when it is created and refuses to run it if the
 * files later yield other columns ("Contents of view were altered"), so
 * the view is re-created before every run but the first.
 *
 * Results are rendered here, not by DuckDB, straight from the data chunks:
 * CSV and JSON one chunk at a time (bounded memory whatever the result
 * size), the table format after buffering at most FL_QUERY_TABLE_MAX_ROWS
 * rows. Values print as DuckDB's CAST(... AS VARCHAR) would, with the
 * session in UTC; JSON keeps numbers and booleans as JSON values and nests
 * lists, structs and maps.
 *
 * Called by the `flowlake query` command (cli/cmd_query.c) and the tests.
 */
#include "../core/fl_config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <duckdb.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "../parse/fields.h"
#include "query.h"

/* -Wformat=2 wants printf-like helpers marked; GNU C, harmless elsewhere. */
#if defined(__GNUC__)
#define FL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FL_PRINTF(a, b)
#endif

struct fl_query {
    duckdb_database    db;
    duckdb_connection  con;
    char              *archive_dir;  /* owned; no trailing '/' */
    int                stale;        /* re-create the view before a run */
};


/* ------------------------------------------------------------------------
 * Growing string buffer. An allocation failure sets oom and turns every
 * later append into a no-op, so callers check once at the end.
 * --------------------------------------------------------------------- */

struct buf {
    char   *p;
    size_t  len;
    size_t  cap;
    int     oom;
};


static int
buf_reserve(struct buf *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (b->cap - b->len > extra)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len <= extra) {
        if (cap > SIZE_MAX / 2) {
            b->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    char *p = fl_realloc(b->p, cap);
    if (p == NULL) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}


static void
buf_put(struct buf *b, const char *s, size_t n)
{
    if (buf_reserve(b, n) < 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}


static void
buf_puts(struct buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}


static void
buf_putc(struct buf *b, char c)
{
    buf_put(b, &c, 1);
}


static void FL_PRINTF(2, 3)
buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    char small[128];

    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        buf_put(b, small, (size_t)n);
        return;
    }
    if (buf_reserve(b, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}


static void
buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->p != NULL)
        b->p[0] = '\0';
}


static void
buf_free(struct buf *b)
{
    fl_free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}


/* Appends s as the body of a SQL string literal ('' for '). */
static void
buf_put_sql_str(struct buf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\'')
            buf_putc(b, '\'');
        buf_putc(b, *s);
    }
}


static void
set_err(char **out_err, const char *msg)
{
    if (out_err != NULL && *out_err == NULL)
        *out_err = fl_strdup(msg != NULL ? msg : "unknown DuckDB error");
}


/* ------------------------------------------------------------------------
 * Running setup statements
 * --------------------------------------------------------------------- */

static int
exec_sql(struct fl_query *q, const char *sql, char **out_err)
{
    duckdb_result res;
    int rc = FL_OK;

    memset(&res, 0, sizeof res);
    if (duckdb_query(q->con, sql, &res) == DuckDBError) {
        set_err(out_err, duckdb_result_error(&res));
        rc = FL_EDB;
    }
    duckdb_destroy_result(&res);
    return rc;
}


/* Runs a query whose first column of the first row is a BIGINT. */
static int
query_int64(struct fl_query *q, const char *sql, int64_t *out, char **out_err)
{
    duckdb_result res;
    duckdb_data_chunk chunk = NULL;
    int rc = FL_OK;

    memset(&res, 0, sizeof res);
    if (duckdb_query(q->con, sql, &res) == DuckDBError) {
        set_err(out_err, duckdb_result_error(&res));
        rc = FL_EDB;
        goto out;
    }
    chunk = duckdb_fetch_chunk(res);
    if (chunk == NULL || duckdb_data_chunk_get_size(chunk) < 1
        || duckdb_column_type(&res, 0) != DUCKDB_TYPE_BIGINT) {
        set_err(out_err, "internal query returned no BIGINT row");
        rc = FL_EDB;
        goto out;
    }
    duckdb_vector v = duckdb_data_chunk_get_vector(chunk, 0);
    *out = ((int64_t *)duckdb_vector_get_data(v))[0];
out:
    if (chunk != NULL)
        duckdb_destroy_data_chunk(&chunk);
    duckdb_destroy_result(&res);
    return rc;
}


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
mysql_to_strftime(const char *s, size_t n, struct buf *out, char *bad)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            buf_putc(out, s[i]);
            continue;
        }
        if (i + 1 == n) {           /* trailing lone '%': a literal */
            buf_puts(out, "%%");
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
            buf_puts(out, t);
        else
            buf_putc(out, c);               /* "%x" is a literal x */
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
    struct buf b = { 0 };

    duckdb_vector_ensure_validity_writable(output);
    uint64_t *ovalid = duckdb_vector_get_validity(output);
    for (idx_t i = 0; i < n; i++) {
        if (valid != NULL && !duckdb_validity_row_is_valid(valid, i)) {
            duckdb_validity_set_row_invalid(ovalid, i);
            continue;
        }
        char bad = 0;
        buf_reset(&b);
        if (mysql_to_strftime(duckdb_string_t_data(&data[i]),
                              duckdb_string_t_length(data[i]), &b, &bad) < 0) {
            char msg[96];
            snprintf(msg, sizeof msg, "date_format: format "
                     "specifier %%%c is not supported", bad);
            duckdb_scalar_function_set_error(info, msg);
            break;
        }
        if (b.oom) {
            duckdb_scalar_function_set_error(info, "out of memory");
            break;
        }
        duckdb_vector_assign_string_element_len(output, i,
                                                b.p != NULL ? b.p : "", b.len);
    }
    buf_free(&b);
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


/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
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
        days = days_from_civil(t->year, 1, 1) + t->yday - 1;
    } else {
        if (t->mon < 1 || t->mon > 12 || t->day < 1)
            return -1;
        int dim = mdays[t->mon - 1] + (t->mon == 2 && is_leap(t->year));
        if (t->day > dim)
            return -1;
        days = days_from_civil(t->year, t->mon, t->day);
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
        struct buf m = { 0 };
        buf_printf(&m, "cannot register the SQL function %s()", name);
        set_err(out_err, m.p);
        buf_free(&m);
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


/* ------------------------------------------------------------------------
 * The view
 * --------------------------------------------------------------------- */

static const char *const partition_cols[] = { "year", "month", "day", "hour" };


static int
create_view(struct fl_query *q, char **out_err)
{
    struct buf glob = { 0 };
    struct buf sql = { 0 };
    int64_t nfiles = 0;
    int rc;

    buf_puts(&glob, q->archive_dir);
    buf_puts(&glob, "/year=*/month=*/day=*/hour=*/*.parquet");
    if (glob.oom) {
        rc = FL_ENOMEM;
        goto out;
    }

    buf_puts(&sql, "SELECT count(*) FROM glob('");
    buf_put_sql_str(&sql, glob.p);
    buf_puts(&sql, "')");
    if (sql.oom) {
        rc = FL_ENOMEM;
        goto out;
    }
    rc = query_int64(q, sql.p, &nfiles, out_err);
    if (rc == FL_OK)    /* a script may have dropped it */
        rc = exec_sql(q, "CREATE SCHEMA IF NOT EXISTS vpc_flow_logs",
                      out_err);
    if (rc < 0)
        goto out;

    buf_reset(&sql);
    buf_puts(&sql,
             "CREATE OR REPLACE VIEW vpc_flow_logs.flow_logs AS\n"
             "SELECT * REPLACE (\n"
             "    make_timestamp(\"start\" * 1000000) AS \"start\",\n"
             "    make_timestamp(\"end\" * 1000000) AS \"end\")\n"
             "FROM (\n"
             "    SELECT ");
    for (int i = 0; i < FL_FIELD_COUNT; i++) {
        const struct fl_field_def *f = fl_field_get(i);
        buf_printf(&sql, "CAST(NULL AS %s) AS \"%s\", ",
                   fl_type_sql(f->type), f->sql_name);
    }
    for (size_t i = 0; i < 4; i++)
        buf_printf(&sql, "CAST(NULL AS VARCHAR) AS \"%s\"%s",
                   partition_cols[i], i < 3 ? ", " : "");
    buf_puts(&sql, "\n    WHERE false\n");
    if (nfiles > 0) {
        buf_puts(&sql, "    UNION ALL BY NAME\n"
                 "    SELECT * FROM read_parquet('");
        buf_put_sql_str(&sql, glob.p);
        buf_puts(&sql, "', hive_partitioning = true, union_by_name = true, "
                 "hive_types = {'year': VARCHAR, 'month': VARCHAR, "
                 "'day': VARCHAR, 'hour': VARCHAR})\n");
    }
    buf_puts(&sql, ")");
    if (sql.oom) {
        rc = FL_ENOMEM;
        goto out;
    }
    rc = exec_sql(q, sql.p, out_err);
out:
    buf_free(&sql);
    buf_free(&glob);
    return rc;
}


int
fl_query_refresh(struct fl_query *q, char **out_err)
{
    int rc = create_view(q, out_err);
    if (rc == FL_OK)
        q->stale = 0;
    return rc;
}


void
fl_query_close(struct fl_query *q)
{
    if (q == NULL)
        return;
    if (q->con != NULL)
        duckdb_disconnect(&q->con);
    if (q->db != NULL)
        duckdb_close(&q->db);
    fl_free(q->archive_dir);
    fl_free(q);
}


int
fl_query_open(const char *archive_dir, struct fl_query **out, char **out_err)
{
    struct fl_query *q = NULL;
    duckdb_config cfg = NULL;
    char *open_err = NULL;
    struct stat st;
    int rc;

    rc = stat(archive_dir, &st) != 0 ? -errno
         : !S_ISDIR(st.st_mode) ? -ENOTDIR : FL_OK;
    if (rc < 0) {
        struct buf m = { 0 };
        buf_printf(&m, "archive directory '%s': %s", archive_dir,
                   strerror(-rc));
        if (!m.oom)
            set_err(out_err, m.p);
        buf_free(&m);
        return rc;
    }

    q = fl_calloc(1, sizeof *q);
    if (q == NULL)
        return FL_ENOMEM;
    size_t n = strlen(archive_dir);
    while (n > 1 && archive_dir[n - 1] == '/')
        n--;
    q->archive_dir = fl_strndup(archive_dir, n);
    if (q->archive_dir == NULL) {
        rc = FL_ENOMEM;
        goto fail;
    }

    /* No surprise downloads: an extension must be installed on purpose. */
    if (duckdb_create_config(&cfg) == DuckDBError
        || duckdb_set_config(cfg, "autoinstall_known_extensions", "false")
           == DuckDBError) {
        set_err(out_err, "cannot configure DuckDB");
        rc = FL_EDB;
        goto fail;
    }
    if (duckdb_open_ext(NULL, &q->db, cfg, &open_err) == DuckDBError) {
        set_err(out_err, open_err);
        rc = FL_EDB;
        goto fail;
    }
    if (duckdb_connect(q->db, &q->con) == DuckDBError) {
        set_err(out_err, "cannot connect to DuckDB");
        rc = FL_EDB;
        goto fail;
    }
    rc = exec_sql(q, "SET TimeZone = 'UTC'", out_err);
    if (rc == FL_OK)
        rc = register_functions(q, out_err);
    for (size_t i = 0; rc == FL_OK
         && i < sizeof athena_macros / sizeof athena_macros[0]; i++)
        rc = exec_sql(q, athena_macros[i], out_err);
    if (rc == FL_OK)
        rc = fl_query_refresh(q, out_err);
    if (rc == FL_OK)
        rc = exec_sql(q, "SET search_path = 'vpc_flow_logs,main'", out_err);
    if (rc < 0)
        goto fail;

    if (open_err != NULL)
        duckdb_free(open_err);
    duckdb_destroy_config(&cfg);
    *out = q;
    return FL_OK;

fail:
    if (open_err != NULL)
        duckdb_free(open_err);
    if (cfg != NULL)
        duckdb_destroy_config(&cfg);
    fl_query_close(q);
    return rc;
}


int
fl_query_output_parse(const char *name, enum fl_output *out)
{
    if (strcmp(name, "table") == 0)
        *out = FL_OUTPUT_TABLE;
    else if (strcmp(name, "csv") == 0)
        *out = FL_OUTPUT_CSV;
    else if (strcmp(name, "json") == 0)
        *out = FL_OUTPUT_JSON;
    else
        return FL_ECONFIG;
    return FL_OK;
}


/* ------------------------------------------------------------------------
 * Column types, resolved once per result
 * --------------------------------------------------------------------- */

struct tnode {
    duckdb_logical_type  lt;         /* owned */
    duckdb_type          id;
    duckdb_type          internal;   /* DECIMAL storage, ENUM index type */
    uint8_t              scale;      /* DECIMAL */
    idx_t                array_size; /* ARRAY */
    idx_t                nchild;
    struct tnode        *child;      /* LIST/ARRAY: 1, MAP: 2 (key, value),
                                      * STRUCT/UNION: one per member */
    char               **names;      /* STRUCT/UNION member names */
    char               **dict;       /* ENUM dictionary */
    idx_t                ndict;
};


static void
tnode_free(struct tnode *t)
{
    if (t->child != NULL) {
        for (idx_t i = 0; i < t->nchild; i++)
            tnode_free(&t->child[i]);
        fl_free(t->child);
    }
    if (t->names != NULL) {
        for (idx_t i = 0; i < t->nchild; i++)
            fl_free(t->names[i]);
        fl_free(t->names);
    }
    if (t->dict != NULL) {
        for (idx_t i = 0; i < t->ndict; i++)
            fl_free(t->dict[i]);
        fl_free(t->dict);
    }
    if (t->lt != NULL)
        duckdb_destroy_logical_type(&t->lt);
    memset(t, 0, sizeof *t);
}


/* Copies a string DuckDB allocated, and frees DuckDB's copy. */
static char *
take_duck_str(char *s)
{
    char *r = fl_strdup(s != NULL ? s : "");
    if (s != NULL)
        duckdb_free(s);
    return r;
}


/* Fills *t from lt, taking ownership of lt. 0 or FL_ENOMEM (t is then
 * still safe to tnode_free). */
static int
tnode_build(struct tnode *t, duckdb_logical_type lt)
{
    memset(t, 0, sizeof *t);
    t->lt = lt;
    if (lt == NULL)
        return FL_ENOMEM;
    t->id = duckdb_get_type_id(lt);
    switch (t->id) {
    case DUCKDB_TYPE_DECIMAL:
        t->internal = duckdb_decimal_internal_type(lt);
        t->scale = duckdb_decimal_scale(lt);
        return FL_OK;
    case DUCKDB_TYPE_ENUM:
        t->internal = duckdb_enum_internal_type(lt);
        t->ndict = duckdb_enum_dictionary_size(lt);
        t->dict = fl_calloc(t->ndict ? t->ndict : 1, sizeof *t->dict);
        if (t->dict == NULL)
            return FL_ENOMEM;
        for (idx_t i = 0; i < t->ndict; i++) {
            t->dict[i] = take_duck_str(duckdb_enum_dictionary_value(lt, i));
            if (t->dict[i] == NULL)
                return FL_ENOMEM;
        }
        return FL_OK;
    case DUCKDB_TYPE_LIST:
    case DUCKDB_TYPE_ARRAY:
        t->nchild = 1;
        t->child = fl_calloc(1, sizeof *t->child);
        if (t->child == NULL)
            return FL_ENOMEM;
        if (t->id == DUCKDB_TYPE_ARRAY) {
            t->array_size = duckdb_array_type_array_size(lt);
            return tnode_build(&t->child[0],
                               duckdb_array_type_child_type(lt));
        }
        return tnode_build(&t->child[0], duckdb_list_type_child_type(lt));
    case DUCKDB_TYPE_MAP:
        t->nchild = 2;
        t->child = fl_calloc(2, sizeof *t->child);
        if (t->child == NULL)
            return FL_ENOMEM;
        if (tnode_build(&t->child[0], duckdb_map_type_key_type(lt)) < 0)
            return FL_ENOMEM;
        return tnode_build(&t->child[1], duckdb_map_type_value_type(lt));
    case DUCKDB_TYPE_STRUCT:
    case DUCKDB_TYPE_UNION: {
        int is_union = t->id == DUCKDB_TYPE_UNION;
        idx_t n = is_union ? duckdb_union_type_member_count(lt)
                           : duckdb_struct_type_child_count(lt);
        t->child = fl_calloc(n ? n : 1, sizeof *t->child);
        t->names = fl_calloc(n ? n : 1, sizeof *t->names);
        if (t->child == NULL || t->names == NULL)
            return FL_ENOMEM;
        t->nchild = n;
        for (idx_t i = 0; i < n; i++) {
            t->names[i] = take_duck_str(is_union
                ? duckdb_union_type_member_name(lt, i)
                : duckdb_struct_type_child_name(lt, i));
            if (t->names[i] == NULL)
                return FL_ENOMEM;
            if (tnode_build(&t->child[i], is_union
                            ? duckdb_union_type_member_type(lt, i)
                            : duckdb_struct_type_child_type(lt, i)) < 0)
                return FL_ENOMEM;
        }
        return FL_OK;
    }
    default:
        return FL_OK;
    }
}


static int
type_is_numeric(duckdb_type id)
{
    switch (id) {
    case DUCKDB_TYPE_TINYINT: case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER: case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UTINYINT: case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER: case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_HUGEINT: case DUCKDB_TYPE_UHUGEINT:
    case DUCKDB_TYPE_FLOAT: case DUCKDB_TYPE_DOUBLE:
    case DUCKDB_TYPE_DECIMAL:
        return 1;
    default:
        return 0;
    }
}


/* ------------------------------------------------------------------------
 * Scalar formatting, as DuckDB's CAST(x AS VARCHAR) does
 * --------------------------------------------------------------------- */

/* Unsigned 128-bit value hi:lo in decimal. */
static void
fmt_u128(struct buf *b, uint64_t hi, uint64_t lo)
{
    if (hi == 0) {
        buf_printf(b, "%llu", (unsigned long long)lo);
        return;
    }
    uint32_t limb[4] = {
        (uint32_t)(hi >> 32), (uint32_t)hi, (uint32_t)(lo >> 32), (uint32_t)lo
    };
    uint32_t chunk[6];      /* base 10^9 digits, least significant first */
    int nchunk = 0;
    for (;;) {
        int nonzero = 0;
        uint64_t rem = 0;
        for (int i = 0; i < 4; i++) {
            uint64_t cur = (rem << 32) | limb[i];
            limb[i] = (uint32_t)(cur / 1000000000u);
            rem = cur % 1000000000u;
            nonzero |= limb[i] != 0;
        }
        chunk[nchunk++] = (uint32_t)rem;
        if (!nonzero)
            break;
    }
    buf_printf(b, "%u", chunk[nchunk - 1]);
    for (int i = nchunk - 2; i >= 0; i--)
        buf_printf(b, "%09u", chunk[i]);
}


/* Signed 128-bit (two's complement hi:lo) in decimal. */
static void
fmt_i128(struct buf *b, int64_t hi, uint64_t lo)
{
    uint64_t uhi = (uint64_t)hi;
    if (hi < 0) {
        buf_putc(b, '-');
        lo = ~lo + 1;
        uhi = ~uhi + (lo == 0 ? 1 : 0);
    }
    fmt_u128(b, uhi, lo);
}


/* DECIMAL: an integer (given as 128 bits) scaled by 10^scale. */
static void
fmt_decimal(struct buf *b, int64_t hi, uint64_t lo, uint8_t scale)
{
    struct buf d = { 0 };
    if (scale == 0) {
        fmt_i128(b, hi, lo);
        return;
    }
    fmt_i128(&d, hi, lo);
    if (d.oom) {
        b->oom = 1;
        buf_free(&d);
        return;
    }
    const char *digits = d.p;
    if (*digits == '-') {
        buf_putc(b, '-');
        digits++;
    }
    size_t n = strlen(digits);
    if (n <= scale) {
        buf_puts(b, "0.");
        for (size_t i = n; i < scale; i++)
            buf_putc(b, '0');
        buf_puts(b, digits);
    } else {
        buf_put(b, digits, n - scale);
        buf_putc(b, '.');
        buf_puts(b, digits + n - scale);
    }
    buf_free(&d);
}


/* Shortest text that reads back as the same double (float when is_float),
 * in Python repr style as DuckDB prints it: positional notation with at
 * least one decimal for exponents -4 .. 15 ("1700000000.0", "0.1"),
 * scientific otherwise ("1e+20", "1.5e-07"). */
static void
fmt_double(struct buf *b, double x, int is_float)
{
    char tmp[48];
    int prec;

    if (isnan(x)) {
        buf_puts(b, "nan");
        return;
    }
    if (isinf(x)) {
        buf_puts(b, x < 0 ? "-inf" : "inf");
        return;
    }
    for (prec = 1; prec < 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, x);
        if (is_float ? strtof(tmp, NULL) == (float)x : strtod(tmp, NULL) == x)
            break;
    }
    snprintf(tmp, sizeof tmp, "%.*e", prec - 1, x);

    /* tmp is [-]d[.ddd]e(+|-)XX: split into sign, digits, exponent. */
    char digits[24];
    size_t nd = 0;
    const char *p = tmp;
    int neg = 0;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    for (; *p != 'e' && *p != '\0'; p++)
        if (*p >= '0' && *p <= '9' && nd < sizeof digits - 1)
            digits[nd++] = *p;
    int exp = *p == 'e' ? (int)strtol(p + 1, NULL, 10) : 0;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';

    if (neg)
        buf_putc(b, '-');
    if (exp >= -4 && exp < 16) {
        if (exp >= 0) {
            size_t ni = (size_t)exp + 1;
            for (size_t i = 0; i < ni; i++)
                buf_putc(b, i < nd ? digits[i] : '0');
            buf_putc(b, '.');
            if (nd > ni)
                buf_put(b, digits + ni, nd - ni);
            else
                buf_putc(b, '0');
        } else {
            buf_puts(b, "0.");
            for (int i = -1; i > exp; i--)
                buf_putc(b, '0');
            buf_put(b, digits, nd);
        }
    } else {
        buf_putc(b, digits[0]);
        if (nd > 1) {
            buf_putc(b, '.');
            buf_put(b, digits + 1, nd - 1);
        }
        buf_printf(b, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    }
}


static void
fmt_date_struct(struct buf *b, duckdb_date_struct d)
{
    int32_t y = d.year;
    int bc = y <= 0;
    if (bc)
        y = 1 - y;
    buf_printf(b, "%04d-%02d-%02d", (int)y, (int)d.month, (int)d.day);
    if (bc)
        buf_puts(b, " (BC)");
}


/* Fractional seconds: `frac` in units of 10^-digits, trailing zeros cut. */
static void
fmt_fraction(struct buf *b, int64_t frac, int digits)
{
    if (frac == 0)
        return;
    char tmp[16];
    snprintf(tmp, sizeof tmp, "%0*lld", digits, (long long)frac);
    size_t n = strlen(tmp);
    while (n > 0 && tmp[n - 1] == '0')
        n--;
    buf_putc(b, '.');
    buf_put(b, tmp, n);
}


static void
fmt_clock(struct buf *b, int h, int m, int s)
{
    buf_printf(b, "%02d:%02d:%02d", h, m, s);
}


/* A timestamp: micros since the epoch plus, for TIMESTAMP_NS
 * (ns_precision set), extra nanoseconds 0 .. 999; with_tz adds "+00" (the
 * session time zone is UTC). */
static void
fmt_timestamp(struct buf *b, int64_t micros, int nanos, int ns_precision,
              int with_tz)
{
    duckdb_timestamp ts = { micros };
    duckdb_timestamp_struct s = duckdb_from_timestamp(ts);
    /* Print the date without its " (BC)" tag first; the tag goes last. */
    int32_t y = s.date.year;
    int bc = y <= 0;
    if (bc)
        y = 1 - y;
    buf_printf(b, "%04d-%02d-%02d ", (int)y, (int)s.date.month,
               (int)s.date.day);
    fmt_clock(b, s.time.hour, s.time.min, s.time.sec);
    if (ns_precision)
        fmt_fraction(b, (int64_t)s.time.micros * 1000 + nanos, 9);
    else
        fmt_fraction(b, s.time.micros, 6);
    if (with_tz)
        buf_puts(b, "+00");
    if (bc)
        buf_puts(b, " (BC)");
}


static void
fmt_time_micros(struct buf *b, int64_t micros)
{
    duckdb_time t = { micros };
    duckdb_time_struct s = duckdb_from_time(t);
    fmt_clock(b, s.hour, s.min, s.sec);
    fmt_fraction(b, s.micros, 6);
}


static void
fmt_interval(struct buf *b, duckdb_interval iv)
{
    int any = 0;
    int32_t years = iv.months / 12, months = iv.months % 12;

    if (years != 0) {
        buf_printf(b, "%d year%s", (int)years,
                   years == 1 || years == -1 ? "" : "s");
        any = 1;
    }
    if (months != 0) {
        buf_printf(b, "%s%d month%s", any ? " " : "", (int)months,
                   months == 1 || months == -1 ? "" : "s");
        any = 1;
    }
    if (iv.days != 0) {
        buf_printf(b, "%s%d day%s", any ? " " : "", (int)iv.days,
                   iv.days == 1 || iv.days == -1 ? "" : "s");
        any = 1;
    }
    if (iv.micros != 0 || !any) {
        uint64_t us = iv.micros < 0 ? (uint64_t)0 - (uint64_t)iv.micros
                                    : (uint64_t)iv.micros;
        if (any)
            buf_putc(b, ' ');
        if (iv.micros < 0)
            buf_putc(b, '-');
        uint64_t h = us / 3600000000u;
        us %= 3600000000u;
        buf_printf(b, "%02llu:%02llu:%02llu", (unsigned long long)h,
                   (unsigned long long)(us / 60000000u),
                   (unsigned long long)(us / 1000000u % 60u));
        fmt_fraction(b, (int64_t)(us % 1000000u), 6);
    }
}


/* BLOB as DuckDB prints it: printable ASCII kept, the rest as \xNN. */
static void
fmt_blob(struct buf *b, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c >= 32 && c <= 126 && c != '\\' && c != '\'' && c != '"')
            buf_putc(b, (char)c);
        else
            buf_printf(b, "\\x%02X", c);
    }
}


/* BIT: the first byte counts the padding bits of the second. */
static void
fmt_bit(struct buf *b, const unsigned char *p, size_t n)
{
    if (n == 0)
        return;
    unsigned pad = p[0];
    for (size_t i = 1; i < n; i++)
        for (int bit = 7; bit >= 0; bit--) {
            if (i == 1 && (unsigned)(7 - bit) < pad)
                continue;
            buf_putc(b, (p[i] >> bit) & 1 ? '1' : '0');
        }
}


static void
fmt_uuid(struct buf *b, duckdb_hugeint h)
{
    /* DuckDB flips the top bit so that UUIDs sort as unsigned. */
    uint64_t hi = (uint64_t)h.upper ^ ((uint64_t)1 << 63);
    uint64_t lo = h.lower;
    buf_printf(b, "%08llx-%04llx-%04llx-%04llx-%012llx",
               (unsigned long long)(hi >> 32),
               (unsigned long long)((hi >> 16) & 0xffff),
               (unsigned long long)(hi & 0xffff),
               (unsigned long long)(lo >> 48),
               (unsigned long long)(lo & 0xffffffffffffull));
}


/* ------------------------------------------------------------------------
 * Value rendering: TEXT (CSV cells, table cells) or JSON
 * --------------------------------------------------------------------- */

enum rmode {
    R_TEXT,
    R_JSON
};

static int
row_is_valid(duckdb_vector v, idx_t row)
{
    uint64_t *valid = duckdb_vector_get_validity(v);
    return valid == NULL || duckdb_validity_row_is_valid(valid, row);
}


/* JSON string body (no quotes): " and \ escaped, control chars as \u00XX.
 * DuckDB strings are valid UTF-8, which JSON carries as is. */
static void
json_escape(struct buf *b, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        buf_put(b, s + run, i - run);
        if (c == '"' || c == '\\') {
            buf_putc(b, '\\');
            buf_putc(b, (char)c);
        } else {
            buf_printf(b, "\\u%04x", c);
        }
        run = i + 1;
    }
    buf_put(b, s + run, n - run);
}


static void
json_string(struct buf *b, const char *s, size_t n)
{
    buf_putc(b, '"');
    json_escape(b, s, n);
    buf_putc(b, '"');
}


static int64_t
read_int_of(duckdb_type internal, const void *data, idx_t row)
{
    switch (internal) {
    case DUCKDB_TYPE_SMALLINT: return ((const int16_t *)data)[row];
    case DUCKDB_TYPE_INTEGER:  return ((const int32_t *)data)[row];
    case DUCKDB_TYPE_BIGINT:   return ((const int64_t *)data)[row];
    case DUCKDB_TYPE_UTINYINT: return ((const uint8_t *)data)[row];
    case DUCKDB_TYPE_USMALLINT: return ((const uint16_t *)data)[row];
    case DUCKDB_TYPE_UINTEGER: return ((const uint32_t *)data)[row];
    default: return 0;
    }
}


/* Scratch space shared by the renderers of one result. */
struct rctx {
    struct buf tmp;     /* text of a leaf before JSON quoting */
};

static void render(struct rctx *cx, struct buf *b, const struct tnode *t,
                   duckdb_vector v, idx_t row, enum rmode m, int nested);


/* Text of a leaf value that is neither a number, a boolean nor a string:
 * dates, times, intervals, UUIDs, blobs, enums, bits. */
static void
render_leaf_text(struct buf *b, const struct tnode *t, duckdb_vector v,
                 idx_t row)
{
    void *data = duckdb_vector_get_data(v);

    switch (t->id) {
    case DUCKDB_TYPE_DATE: {
        duckdb_date d = ((duckdb_date *)data)[row];
        if (!duckdb_is_finite_date(d))
            buf_puts(b, d.days < 0 ? "-infinity" : "infinity");
        else
            fmt_date_struct(b, duckdb_from_date(d));
        break;
    }
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_TZ: {
        duckdb_timestamp ts = ((duckdb_timestamp *)data)[row];
        if (!duckdb_is_finite_timestamp(ts))
            buf_puts(b, ts.micros < 0 ? "-infinity" : "infinity");
        else
            fmt_timestamp(b, ts.micros, 0, 0,
                          t->id == DUCKDB_TYPE_TIMESTAMP_TZ);
        break;
    }
    case DUCKDB_TYPE_TIMESTAMP_S: {
        duckdb_timestamp_s ts = ((duckdb_timestamp_s *)data)[row];
        if (!duckdb_is_finite_timestamp_s(ts))
            buf_puts(b, ts.seconds < 0 ? "-infinity" : "infinity");
        else
            fmt_timestamp(b, ts.seconds * 1000000, 0, 0, 0);
        break;
    }
    case DUCKDB_TYPE_TIMESTAMP_MS: {
        duckdb_timestamp_ms ts = ((duckdb_timestamp_ms *)data)[row];
        if (!duckdb_is_finite_timestamp_ms(ts))
            buf_puts(b, ts.millis < 0 ? "-infinity" : "infinity");
        else
            fmt_timestamp(b, ts.millis * 1000, 0, 0, 0);
        break;
    }
    case DUCKDB_TYPE_TIMESTAMP_NS: {
        duckdb_timestamp_ns ts = ((duckdb_timestamp_ns *)data)[row];
        if (!duckdb_is_finite_timestamp_ns(ts)) {
            buf_puts(b, ts.nanos < 0 ? "-infinity" : "infinity");
        } else {
            int64_t us = ts.nanos / 1000, ns = ts.nanos % 1000;
            if (ns < 0) {
                us--;
                ns += 1000;
            }
            fmt_timestamp(b, us, (int)ns, 1, 0);
        }
        break;
    }
    case DUCKDB_TYPE_TIME:
        fmt_time_micros(b, ((duckdb_time *)data)[row].micros);
        break;
    case DUCKDB_TYPE_TIME_NS: {
        int64_t ns = ((int64_t *)data)[row];
        fmt_clock(b, (int)(ns / 3600000000000LL),
                  (int)(ns / 60000000000LL % 60),
                  (int)(ns / 1000000000LL % 60));
        fmt_fraction(b, ns % 1000000000LL, 9);
        break;
    }
    case DUCKDB_TYPE_TIME_TZ: {
        duckdb_time_tz_struct s =
            duckdb_from_time_tz(((duckdb_time_tz *)data)[row]);
        fmt_clock(b, s.time.hour, s.time.min, s.time.sec);
        fmt_fraction(b, s.time.micros, 6);
        int32_t off = s.offset;
        buf_putc(b, off < 0 ? '-' : '+');
        if (off < 0)
            off = -off;
        buf_printf(b, "%02d", (int)(off / 3600));
        if (off % 3600 != 0)
            buf_printf(b, ":%02d", (int)(off / 60 % 60));
        if (off % 60 != 0)
            buf_printf(b, ":%02d", (int)(off % 60));
        break;
    }
    case DUCKDB_TYPE_INTERVAL:
        fmt_interval(b, ((duckdb_interval *)data)[row]);
        break;
    case DUCKDB_TYPE_UUID:
        fmt_uuid(b, ((duckdb_hugeint *)data)[row]);
        break;
    case DUCKDB_TYPE_BLOB:
    case DUCKDB_TYPE_BIT: {
        duckdb_string_t *s = &((duckdb_string_t *)data)[row];
        const unsigned char *p =
            (const unsigned char *)duckdb_string_t_data(s);
        if (t->id == DUCKDB_TYPE_BLOB)
            fmt_blob(b, p, duckdb_string_t_length(*s));
        else
            fmt_bit(b, p, duckdb_string_t_length(*s));
        break;
    }
    case DUCKDB_TYPE_ENUM: {
        int64_t k = read_int_of(t->internal, data, row);
        if (k >= 0 && (idx_t)k < t->ndict)
            buf_puts(b, t->dict[k]);
        break;
    }
    default: {
        /* BIGNUM and types newer than this code: say so, do not guess. */
        char *name = duckdb_logical_type_get_alias(t->lt);
        buf_printf(b, "(unsupported type %d%s%s)", (int)t->id,
                   name ? " " : "", name ? name : "");
        if (name != NULL)
            duckdb_free(name);
        break;
    }
    }
}


static void
render_number(struct buf *b, const struct tnode *t, const void *data,
              idx_t row, enum rmode m)
{
    switch (t->id) {
    case DUCKDB_TYPE_TINYINT:
        buf_printf(b, "%d", (int)((const int8_t *)data)[row]);
        break;
    case DUCKDB_TYPE_SMALLINT:
        buf_printf(b, "%d", (int)((const int16_t *)data)[row]);
        break;
    case DUCKDB_TYPE_INTEGER:
        buf_printf(b, "%ld", (long)((const int32_t *)data)[row]);
        break;
    case DUCKDB_TYPE_BIGINT:
        buf_printf(b, "%lld", (long long)((const int64_t *)data)[row]);
        break;
    case DUCKDB_TYPE_UTINYINT:
        buf_printf(b, "%u", (unsigned)((const uint8_t *)data)[row]);
        break;
    case DUCKDB_TYPE_USMALLINT:
        buf_printf(b, "%u", (unsigned)((const uint16_t *)data)[row]);
        break;
    case DUCKDB_TYPE_UINTEGER:
        buf_printf(b, "%lu", (unsigned long)((const uint32_t *)data)[row]);
        break;
    case DUCKDB_TYPE_UBIGINT:
        buf_printf(b, "%llu",
                   (unsigned long long)((const uint64_t *)data)[row]);
        break;
    case DUCKDB_TYPE_HUGEINT: {
        duckdb_hugeint h = ((const duckdb_hugeint *)data)[row];
        fmt_i128(b, h.upper, h.lower);
        break;
    }
    case DUCKDB_TYPE_UHUGEINT: {
        duckdb_uhugeint h = ((const duckdb_uhugeint *)data)[row];
        fmt_u128(b, h.upper, h.lower);
        break;
    }
    case DUCKDB_TYPE_FLOAT:
    case DUCKDB_TYPE_DOUBLE: {
        double x = t->id == DUCKDB_TYPE_FLOAT
                   ? (double)((const float *)data)[row]
                   : ((const double *)data)[row];
        if (m == R_JSON && !isfinite(x))
            buf_puts(b, "null");    /* JSON has no NaN or Infinity */
        else
            fmt_double(b, x, t->id == DUCKDB_TYPE_FLOAT);
        break;
    }
    case DUCKDB_TYPE_DECIMAL:
        if (t->internal == DUCKDB_TYPE_HUGEINT) {
            duckdb_hugeint h = ((const duckdb_hugeint *)data)[row];
            fmt_decimal(b, h.upper, h.lower, t->scale);
        } else {
            int64_t x = read_int_of(t->internal, data, row);
            fmt_decimal(b, x < 0 ? -1 : 0, (uint64_t)x, t->scale);
        }
        break;
    default:
        break;
    }
}


static void
render_list(struct rctx *cx, struct buf *b, const struct tnode *t,
            duckdb_vector v, idx_t row, enum rmode m)
{
    idx_t off, len;
    duckdb_vector child;
    const struct tnode *ct = &t->child[0];

    if (t->id == DUCKDB_TYPE_ARRAY) {
        child = duckdb_array_vector_get_child(v);
        off = row * t->array_size;
        len = t->array_size;
    } else {
        duckdb_list_entry e = ((duckdb_list_entry *)
                               duckdb_vector_get_data(v))[row];
        child = duckdb_list_vector_get_child(v);
        off = e.offset;
        len = e.length;
    }
    buf_putc(b, '[');
    for (idx_t i = 0; i < len; i++) {
        if (i > 0)
            buf_puts(b, m == R_JSON ? "," : ", ");
        render(cx, b, ct, child, off + i, m, 1);
    }
    buf_putc(b, ']');
}


static void
render_map(struct rctx *cx, struct buf *b, const struct tnode *t,
           duckdb_vector v, idx_t row, enum rmode m)
{
    duckdb_list_entry e = ((duckdb_list_entry *)
                           duckdb_vector_get_data(v))[row];
    duckdb_vector kv = duckdb_list_vector_get_child(v);
    duckdb_vector keys = duckdb_struct_vector_get_child(kv, 0);
    duckdb_vector vals = duckdb_struct_vector_get_child(kv, 1);

    buf_putc(b, '{');
    for (idx_t i = 0; i < e.length; i++) {
        idx_t r = e.offset + i;
        if (i > 0)
            buf_puts(b, m == R_JSON ? "," : ", ");
        if (m == R_JSON) {
            /* JSON keys are strings: the key's text, quoted. */
            size_t start = b->len;
            render(cx, b, &t->child[0], keys, r, R_TEXT, 1);
            if (b->oom)
                return;
            buf_reset(&cx->tmp);
            buf_put(&cx->tmp, b->p + start, b->len - start);
            b->len = start;
            if (!cx->tmp.oom)
                json_string(b, cx->tmp.p, cx->tmp.len);
            else
                b->oom = 1;
            buf_putc(b, ':');
        } else {
            render(cx, b, &t->child[0], keys, r, m, 1);
            buf_putc(b, '=');
        }
        render(cx, b, &t->child[1], vals, r, m, 1);
    }
    buf_putc(b, '}');
}


static void
render_struct(struct rctx *cx, struct buf *b, const struct tnode *t,
              duckdb_vector v, idx_t row, enum rmode m)
{
    buf_putc(b, '{');
    for (idx_t i = 0; i < t->nchild; i++) {
        if (i > 0)
            buf_puts(b, m == R_JSON ? "," : ", ");
        if (m == R_JSON) {
            json_string(b, t->names[i], strlen(t->names[i]));
            buf_putc(b, ':');
        } else {
            buf_putc(b, '\'');
            buf_puts(b, t->names[i]);
            buf_puts(b, "': ");
        }
        render(cx, b, &t->child[i], duckdb_struct_vector_get_child(v, i),
               row, m, 1);
    }
    buf_putc(b, '}');
}


/* A UNION is a struct vector: child 0 the member tag, child k+1 member k. */
static void
render_union(struct rctx *cx, struct buf *b, const struct tnode *t,
             duckdb_vector v, idx_t row, enum rmode m, int nested)
{
    duckdb_vector tags = duckdb_struct_vector_get_child(v, 0);
    uint8_t tag = ((uint8_t *)duckdb_vector_get_data(tags))[row];
    if (tag >= t->nchild) {
        buf_puts(b, m == R_JSON ? "null" : "NULL");
        return;
    }
    render(cx, b, &t->child[tag], duckdb_struct_vector_get_child(v, tag + 1),
           row, m, nested);
}


/* Appends the value at row of vector v. Text mode prints what DuckDB's
 * cast to VARCHAR prints (strings raw, NULL as "NULL" inside nested
 * values); JSON mode prints a JSON value. */
static void
render(struct rctx *cx, struct buf *b, const struct tnode *t, duckdb_vector v,
       idx_t row, enum rmode m, int nested)
{
    if (!row_is_valid(v, row)) {
        buf_puts(b, m == R_JSON ? "null" : "NULL");
        return;
    }
    void *data = duckdb_vector_get_data(v);

    if (type_is_numeric(t->id)) {
        render_number(b, t, data, row, m);
        return;
    }
    switch (t->id) {
    case DUCKDB_TYPE_BOOLEAN:
        buf_puts(b, ((bool *)data)[row] ? "true" : "false");
        return;
    case DUCKDB_TYPE_VARCHAR: {
        duckdb_string_t *s = &((duckdb_string_t *)data)[row];
        const char *p = duckdb_string_t_data(s);
        uint32_t n = duckdb_string_t_length(*s);
        if (m == R_JSON)
            json_string(b, p, n);
        else
            buf_put(b, p, n);
        return;
    }
    case DUCKDB_TYPE_LIST:
    case DUCKDB_TYPE_ARRAY:
        render_list(cx, b, t, v, row, m);
        return;
    case DUCKDB_TYPE_MAP:
        render_map(cx, b, t, v, row, m);
        return;
    case DUCKDB_TYPE_STRUCT:
        render_struct(cx, b, t, v, row, m);
        return;
    case DUCKDB_TYPE_UNION:
        render_union(cx, b, t, v, row, m, nested);
        return;
    default:
        break;
    }
    if (m == R_TEXT) {
        render_leaf_text(b, t, v, row);
        return;
    }
    buf_reset(&cx->tmp);
    render_leaf_text(&cx->tmp, t, v, row);
    if (cx->tmp.oom)
        b->oom = 1;
    else
        json_string(b, cx->tmp.p ? cx->tmp.p : "", cx->tmp.len);
}


/* ------------------------------------------------------------------------
 * Result writers
 * --------------------------------------------------------------------- */

struct result {
    duckdb_result       *res;
    idx_t                ncol;
    struct tnode        *types;     /* ncol entries */
    const char         **names;     /* ncol entries, owned by res */
    struct rctx          cx;
    struct buf           line;      /* one output row */
};


/* Fetches the next chunk: 1 with *out set, 0 at the end, FL_EDB when the
 * query failed while streaming. */
static int
next_chunk(struct result *r, duckdb_data_chunk *out, char **out_err)
{
    *out = duckdb_fetch_chunk(*r->res);
    if (*out != NULL)
        return 1;
    const char *e = duckdb_result_error(r->res);
    if (e != NULL) {
        set_err(out_err, e);
        return FL_EDB;
    }
    return 0;
}


static int
flush_line(struct result *r, FILE *out)
{
    if (r->line.oom)
        return FL_ENOMEM;
    if (r->line.len > 0 && fwrite(r->line.p, 1, r->line.len, out)
        != r->line.len)
        return -EIO;
    buf_reset(&r->line);
    return FL_OK;
}


static void
csv_field(struct buf *b, const char *s, size_t n)
{
    int quote = n == 0;     /* "" is the empty string; nothing is NULL */
    for (size_t i = 0; i < n && !quote; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
            quote = 1;
    if (!quote) {
        buf_put(b, s, n);
        return;
    }
    buf_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') {
            buf_put(b, s + run, i + 1 - run);
            buf_putc(b, '"');
            run = i + 1;
        }
    }
    buf_put(b, s + run, n - run);
    buf_putc(b, '"');
}


static int
write_csv(struct result *r, FILE *out, char **out_err)
{
    struct buf cell = { 0 };
    duckdb_data_chunk chunk = NULL;
    int rc;

    for (idx_t c = 0; c < r->ncol; c++) {
        if (c > 0)
            buf_putc(&r->line, ',');
        csv_field(&r->line, r->names[c], strlen(r->names[c]));
    }
    buf_putc(&r->line, '\n');
    rc = flush_line(r, out);
    while (rc == FL_OK && (rc = next_chunk(r, &chunk, out_err)) == 1) {
        rc = FL_OK;
        idx_t n = duckdb_data_chunk_get_size(chunk);
        for (idx_t row = 0; row < n && rc == FL_OK; row++) {
            for (idx_t c = 0; c < r->ncol; c++) {
                duckdb_vector v = duckdb_data_chunk_get_vector(chunk, c);
                if (c > 0)
                    buf_putc(&r->line, ',');
                if (!row_is_valid(v, row))
                    continue;
                buf_reset(&cell);
                render(&r->cx, &cell, &r->types[c], v, row, R_TEXT, 0);
                if (cell.oom) {
                    r->line.oom = 1;
                    break;
                }
                csv_field(&r->line, cell.p ? cell.p : "", cell.len);
            }
            buf_putc(&r->line, '\n');
            rc = flush_line(r, out);
        }
        duckdb_destroy_data_chunk(&chunk);
    }
    buf_free(&cell);
    return rc;
}


static int
write_json(struct result *r, FILE *out, char **out_err)
{
    duckdb_data_chunk chunk = NULL;
    struct buf keys = { 0 };   /* "name": for every column, NUL-separated */
    size_t *key_off = fl_calloc(r->ncol ? r->ncol : 1, sizeof *key_off);
    long long rows = 0;
    int rc;

    if (key_off == NULL)
        return FL_ENOMEM;
    for (idx_t c = 0; c < r->ncol; c++) {
        key_off[c] = keys.len;
        json_string(&keys, r->names[c], strlen(r->names[c]));
        buf_putc(&keys, ':');
        buf_putc(&keys, '\0');
    }
    if (keys.oom) {
        rc = FL_ENOMEM;
        goto out;
    }
    buf_putc(&r->line, '[');
    rc = flush_line(r, out);
    while (rc == FL_OK && (rc = next_chunk(r, &chunk, out_err)) == 1) {
        rc = FL_OK;
        idx_t n = duckdb_data_chunk_get_size(chunk);
        for (idx_t row = 0; row < n && rc == FL_OK; row++) {
            buf_puts(&r->line, rows++ == 0 ? "\n{" : ",\n{");
            for (idx_t c = 0; c < r->ncol; c++) {
                if (c > 0)
                    buf_putc(&r->line, ',');
                buf_puts(&r->line, keys.p + key_off[c]);
                render(&r->cx, &r->line, &r->types[c],
                       duckdb_data_chunk_get_vector(chunk, c), row,
                       R_JSON, 0);
            }
            buf_putc(&r->line, '}');
            rc = flush_line(r, out);
        }
        duckdb_destroy_data_chunk(&chunk);
    }
    if (rc == FL_OK) {
        buf_puts(&r->line, rows > 0 ? "\n]\n" : "]\n");
        rc = flush_line(r, out);
    }
out:
    buf_free(&keys);
    fl_free(key_off);
    return rc;
}


/* Table cells: control characters made visible so that every row stays on
 * one line, and at most FL_QUERY_TABLE_MAX_CELL characters. */
static size_t
cell_sanitize(struct buf *dst, const char *s, size_t n)
{
    size_t width = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xc0) == 0x80) {       /* UTF-8 continuation byte */
            buf_putc(dst, (char)c);
            continue;
        }
        if (width >= FL_QUERY_TABLE_MAX_CELL) {
            buf_puts(dst, "...");
            return width + 3;
        }
        if (c == '\n') {
            buf_puts(dst, "\\n");
            width += 2;
        } else if (c == '\r') {
            buf_puts(dst, "\\r");
            width += 2;
        } else if (c == '\t') {
            buf_puts(dst, "\\t");
            width += 2;
        } else if (c < 0x20 || c == 0x7f) {
            buf_printf(dst, "\\x%02X", c);
            width += 4;
        } else {
            buf_putc(dst, (char)c);
            width++;
        }
    }
    return width;
}


static void
pad(struct buf *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf_putc(b, ' ');
}


#define NULL_CELL ((size_t)-1)

/* The rows kept for the table format; row 0 is the header. */
struct table {
    struct buf  text;       /* sanitized cells, each NUL-terminated */
    struct buf  cell;       /* scratch: one rendered value */
    size_t     *off;        /* nrows * ncol offsets into text, or NULL_CELL */
    size_t     *cw;         /* display width of each stored cell */
    size_t      cap;        /* rows off and cw have room for */
    size_t      nrows;
    size_t     *width;      /* per column */
    int        *right;      /* per column: right-aligned (numbers) */
};


/* Stores row `row` of chunk, or the header when chunk is NULL. */
static int
table_store(struct table *t, struct result *r, duckdb_data_chunk chunk,
            idx_t row)
{
    idx_t nc = r->ncol;

    if (t->nrows == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 64;
        size_t *o = fl_realloc(t->off, ncap * nc * sizeof *o);
        if (o == NULL)
            return FL_ENOMEM;
        t->off = o;
        size_t *w = fl_realloc(t->cw, ncap * nc * sizeof *w);
        if (w == NULL)
            return FL_ENOMEM;
        t->cw = w;
        t->cap = ncap;
    }
    for (idx_t c = 0; c < nc; c++) {
        size_t k = t->nrows * nc + c;
        const char *s;
        size_t len;
        if (chunk == NULL) {
            s = r->names[c];
            len = strlen(s);
        } else {
            duckdb_vector v = duckdb_data_chunk_get_vector(chunk, c);
            if (!row_is_valid(v, row)) {
                t->off[k] = NULL_CELL;
                t->cw[k] = 4;   /* "NULL" */
                if (t->width[c] < 4)
                    t->width[c] = 4;
                continue;
            }
            buf_reset(&t->cell);
            render(&r->cx, &t->cell, &r->types[c], v, row, R_TEXT, 0);
            s = t->cell.p != NULL ? t->cell.p : "";
            len = t->cell.len;
        }
        t->off[k] = t->text.len;
        t->cw[k] = cell_sanitize(&t->text, s, len);
        buf_putc(&t->text, '\0');
        if (t->cw[k] > t->width[c])
            t->width[c] = t->cw[k];
    }
    if (t->text.oom || t->cell.oom || r->cx.tmp.oom)
        return FL_ENOMEM;
    t->nrows++;
    return FL_OK;
}


static int
table_print(struct table *t, struct result *r, long long total, FILE *out)
{
    idx_t nc = r->ncol;
    int rc = FL_OK;

    for (size_t row = 0; row < t->nrows && rc == FL_OK; row++) {
        for (idx_t c = 0; c < nc; c++) {
            size_t k = row * nc + c;
            const char *s = t->off[k] == NULL_CELL ? "NULL"
                                                    : t->text.p + t->off[k];
            size_t fill = t->width[c] - t->cw[k];
            if (c > 0)
                buf_puts(&r->line, " | ");
            if (t->right[c])
                pad(&r->line, fill);
            buf_puts(&r->line, s);
            if (!t->right[c] && c + 1 < nc)
                pad(&r->line, fill);
        }
        buf_putc(&r->line, '\n');
        if (row == 0) {
            for (idx_t c = 0; c < nc; c++) {
                if (c > 0)
                    buf_puts(&r->line, "-+-");
                for (size_t i = 0; i < t->width[c]; i++)
                    buf_putc(&r->line, '-');
            }
            buf_putc(&r->line, '\n');
        }
        rc = flush_line(r, out);
    }
    if (rc == FL_OK) {
        if (total > FL_QUERY_TABLE_MAX_ROWS)
            buf_printf(&r->line, "(%lld rows, first %d shown)\n", total,
                       FL_QUERY_TABLE_MAX_ROWS);
        else
            buf_printf(&r->line, "(%lld row%s)\n", total,
                       total == 1 ? "" : "s");
        rc = flush_line(r, out);
    }
    return rc;
}


/* EXPLAIN [ANALYZE]: DuckDB already drew the plan; print it as is. */
static int
write_explain(struct result *r, FILE *out, char **out_err)
{
    duckdb_data_chunk chunk = NULL;
    idx_t last = r->ncol - 1;
    int rc;

    while ((rc = next_chunk(r, &chunk, out_err)) == 1) {
        rc = FL_OK;
        duckdb_vector v = duckdb_data_chunk_get_vector(chunk, last);
        idx_t n = duckdb_data_chunk_get_size(chunk);
        for (idx_t row = 0; row < n && rc == FL_OK; row++) {
            if (row_is_valid(v, row))
                render(&r->cx, &r->line, &r->types[last], v, row, R_TEXT, 0);
            if (r->line.len == 0 || r->line.p[r->line.len - 1] != '\n')
                buf_putc(&r->line, '\n');
            rc = flush_line(r, out);
        }
        duckdb_destroy_data_chunk(&chunk);
        if (rc < 0)
            break;
    }
    return rc;
}


static int
write_table(struct result *r, FILE *out, char **out_err)
{
    struct table t;
    duckdb_data_chunk chunk = NULL;
    long long total = 0;
    int rc;

    memset(&t, 0, sizeof t);
    t.width = fl_calloc(r->ncol, sizeof *t.width);
    t.right = fl_calloc(r->ncol, sizeof *t.right);
    if (t.width == NULL || t.right == NULL) {
        rc = FL_ENOMEM;
        goto out;
    }
    for (idx_t c = 0; c < r->ncol; c++)
        t.right[c] = type_is_numeric(r->types[c].id);
    rc = table_store(&t, r, NULL, 0);
    while (rc == FL_OK && (rc = next_chunk(r, &chunk, out_err)) == 1) {
        rc = FL_OK;
        idx_t n = duckdb_data_chunk_get_size(chunk);
        for (idx_t row = 0; row < n && rc == FL_OK; row++) {
            total++;
            if (t.nrows <= FL_QUERY_TABLE_MAX_ROWS)   /* + the header */
                rc = table_store(&t, r, chunk, row);
        }
        duckdb_destroy_data_chunk(&chunk);
    }
    if (rc == FL_OK)
        rc = table_print(&t, r, total, out);
out:
    buf_free(&t.text);
    buf_free(&t.cell);
    fl_free(t.off);
    fl_free(t.cw);
    fl_free(t.width);
    fl_free(t.right);
    return rc;
}


/* Statements whose result is only a status: nothing is printed for them. */
static int
stmt_prints_nothing(duckdb_statement_type t)
{
    switch (t) {
    case DUCKDB_STATEMENT_TYPE_CREATE:
    case DUCKDB_STATEMENT_TYPE_DROP:
    case DUCKDB_STATEMENT_TYPE_ALTER:
    case DUCKDB_STATEMENT_TYPE_TRANSACTION:
    case DUCKDB_STATEMENT_TYPE_VARIABLE_SET:
    case DUCKDB_STATEMENT_TYPE_SET:
    case DUCKDB_STATEMENT_TYPE_CREATE_FUNC:
    case DUCKDB_STATEMENT_TYPE_LOAD:
    case DUCKDB_STATEMENT_TYPE_ATTACH:
    case DUCKDB_STATEMENT_TYPE_DETACH:
    case DUCKDB_STATEMENT_TYPE_VACUUM:
    case DUCKDB_STATEMENT_TYPE_ANALYZE:
    case DUCKDB_STATEMENT_TYPE_PREPARE:
    case DUCKDB_STATEMENT_TYPE_EXPORT:
    case DUCKDB_STATEMENT_TYPE_EXTENSION:
        return 1;
    default:
        return 0;
    }
}


/* Executes the last statement of a script, streaming, and prints it. */
static int
run_last(duckdb_prepared_statement stmt, enum fl_output fmt, FILE *out,
         char **out_err)
{
    duckdb_result res;
    struct result r;
    int rc = FL_OK;

    memset(&r, 0, sizeof r);
    memset(&res, 0, sizeof res);
    if (duckdb_execute_prepared_streaming(stmt, &res) == DuckDBError) {
        set_err(out_err, duckdb_result_error(&res));
        rc = FL_EDB;
        goto out;
    }
    r.res = &res;
    r.ncol = duckdb_column_count(&res);
    duckdb_statement_type st = duckdb_prepared_statement_type(stmt);
    if (r.ncol == 0 || stmt_prints_nothing(st)) {
        duckdb_data_chunk chunk;
        while ((rc = next_chunk(&r, &chunk, out_err)) == 1)
            duckdb_destroy_data_chunk(&chunk);
        goto out;
    }
    r.types = fl_calloc(r.ncol, sizeof *r.types);
    r.names = fl_calloc(r.ncol, sizeof *r.names);
    if (r.types == NULL || r.names == NULL) {
        rc = FL_ENOMEM;
        goto out;
    }
    for (idx_t c = 0; c < r.ncol; c++) {
        const char *name = duckdb_column_name(&res, c);
        r.names[c] = name != NULL ? name : "";
        if (tnode_build(&r.types[c], duckdb_column_logical_type(&res, c)) < 0) {
            rc = FL_ENOMEM;
            goto out;
        }
    }
    switch (fmt) {
    case FL_OUTPUT_CSV:
        rc = write_csv(&r, out, out_err);
        break;
    case FL_OUTPUT_JSON:
        rc = write_json(&r, out, out_err);
        break;
    case FL_OUTPUT_TABLE:
    default:
        if (st == DUCKDB_STATEMENT_TYPE_EXPLAIN)
            rc = write_explain(&r, out, out_err);
        else
            rc = write_table(&r, out, out_err);
        break;
    }
out:
    if (rc == FL_OK && (fflush(out) != 0 || ferror(out)))
        rc = -EIO;
    if (r.types != NULL) {
        for (idx_t c = 0; c < r.ncol; c++)
            tnode_free(&r.types[c]);
        fl_free(r.types);
    }
    fl_free(r.names);
    buf_free(&r.cx.tmp);
    buf_free(&r.line);
    duckdb_destroy_result(&res);
    return rc < 0 ? rc : FL_OK;
}


int
fl_query_run(struct fl_query *q, const char *sql, enum fl_output fmt,
             FILE *out, char **out_err)
{
    duckdb_extracted_statements ext = NULL;
    duckdb_prepared_statement stmt = NULL;
    int rc = FL_OK;

    if (q->stale) {
        rc = fl_query_refresh(q, out_err);
        if (rc < 0)
            return rc;
    }
    q->stale = 1;

    idx_t n = duckdb_extract_statements(q->con, sql, &ext);
    if (n == 0) {
        const char *e = duckdb_extract_statements_error(ext);
        set_err(out_err, e != NULL ? e : "no SQL statement to run");
        rc = FL_EDB;
        goto out;
    }
    for (idx_t i = 0; i < n && rc == FL_OK; i++) {
        if (duckdb_prepare_extracted_statement(q->con, ext, i, &stmt)
            == DuckDBError) {
            set_err(out_err, duckdb_prepare_error(stmt));
            rc = FL_EDB;
            break;
        }
        if (i + 1 < n) {
            duckdb_result res;
            memset(&res, 0, sizeof res);
            if (duckdb_execute_prepared(stmt, &res) == DuckDBError) {
                set_err(out_err, duckdb_result_error(&res));
                rc = FL_EDB;
            }
            duckdb_destroy_result(&res);
        } else {
            rc = run_last(stmt, fmt, out, out_err);
        }
        duckdb_destroy_prepare(&stmt);
    }
out:
    if (stmt != NULL)
        duckdb_destroy_prepare(&stmt);
    duckdb_destroy_extracted(&ext);
    return rc;
}


int
fl_query_files_scanned(struct fl_query *q, const char *sql,
                       long *out_files_read, char **out_err)
{
    static const char key[] = "Total Files Read:";
    struct buf full = { 0 };
    struct buf plan = { 0 };
    duckdb_result res;
    duckdb_data_chunk chunk = NULL;
    long files = 0;
    int rc = FL_OK;

    memset(&res, 0, sizeof res);
    if (q->stale) {
        rc = fl_query_refresh(q, out_err);
        if (rc < 0)
            return rc;
    }
    q->stale = 1;
    buf_puts(&full, "EXPLAIN ANALYZE ");
    buf_puts(&full, sql);
    if (full.oom) {
        rc = FL_ENOMEM;
        goto out;
    }
    if (duckdb_query(q->con, full.p, &res) == DuckDBError) {
        set_err(out_err, duckdb_result_error(&res));
        rc = FL_EDB;
        goto out;
    }
    /* Columns: explain_key, explain_value (the drawn plan). */
    if (duckdb_column_count(&res) < 2
        || duckdb_column_type(&res, 1) != DUCKDB_TYPE_VARCHAR) {
        set_err(out_err, "EXPLAIN ANALYZE returned no plan");
        rc = FL_EDB;
        goto out;
    }
    while ((chunk = duckdb_fetch_chunk(res)) != NULL) {
        duckdb_vector v = duckdb_data_chunk_get_vector(chunk, 1);
        duckdb_string_t *data = duckdb_vector_get_data(v);
        idx_t n = duckdb_data_chunk_get_size(chunk);
        for (idx_t row = 0; row < n; row++) {
            if (!row_is_valid(v, row))
                continue;
            buf_reset(&plan);
            buf_put(&plan, duckdb_string_t_data(&data[row]),
                    duckdb_string_t_length(data[row]));
            if (plan.oom) {
                rc = FL_ENOMEM;
                break;
            }
            for (const char *p = plan.p; (p = strstr(p, key)) != NULL;) {
                p += sizeof key - 1;
                files += strtol(p, NULL, 10);
            }
        }
        duckdb_destroy_data_chunk(&chunk);
        if (rc < 0)
            goto out;
    }
    *out_files_read = files;
out:
    duckdb_destroy_result(&res);
    buf_free(&plan);
    buf_free(&full);
    return rc;
}
