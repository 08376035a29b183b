/* SPDX-License-Identifier: MIT
 *
 * output.c -- result rendering: the result of the last statement of a
 * script as a table, CSV or JSON (enum fl_output, query.h).
 *
 * Results are rendered here, not by DuckDB, straight from the data chunks:
 * CSV and JSON one chunk at a time (bounded memory whatever the result
 * size), the table format after buffering at most FL_QUERY_TABLE_MAX_ROWS
 * rows. Values print as DuckDB's CAST(... AS VARCHAR) would, with the
 * session in UTC; JSON keeps numbers and booleans as JSON values and nests
 * lists, structs and maps. tests/unit/test_output_types.c compares every
 * type with DuckDB's own casts (and to_json) over generated values and
 * lists the few deliberate differences (a DECIMAL(w,w) keeps its leading
 * zero, NaN is null in JSON, ...), so a DuckDB upgrade that changes a
 * cast fails there. FLOAT and DOUBLE are printed by DuckDB itself
 * (fmt_float(), fmt_double(): faster and exact); every other type is
 * rendered here from the vector's memory, which keeps a large result's
 * output fast (no DuckDB value per cell).
 *
 * Called by fl_query_run() (query.c) through fl_query_run_last();
 * fl_query_files_scanned() uses fl_query_row_is_valid().
 */
#include "../core/fl_config.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <duckdb.h>

#include "../core/fl_error.h"
#include "../core/fl_json.h"
#include "../core/fl_mem.h"
#include "query.h"
#include "query_int.h"


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
fmt_u128(struct fl_buf *b, uint64_t hi, uint64_t lo)
{
    if (hi == 0) {
        fl_buf_addf(b, "%llu", (unsigned long long)lo);
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
    fl_buf_addf(b, "%u", chunk[nchunk - 1]);
    for (int i = nchunk - 2; i >= 0; i--)
        fl_buf_addf(b, "%09u", chunk[i]);
}


/* Signed 128-bit (two's complement hi:lo) in decimal. */
static void
fmt_i128(struct fl_buf *b, int64_t hi, uint64_t lo)
{
    uint64_t uhi = (uint64_t)hi;
    if (hi < 0) {
        fl_buf_addc(b, '-');
        lo = ~lo + 1;
        uhi = ~uhi + (lo == 0 ? 1 : 0);
    }
    fmt_u128(b, uhi, lo);
}


/* DECIMAL: an integer (given as 128 bits) scaled by 10^scale. */
static void
fmt_decimal(struct fl_buf *b, int64_t hi, uint64_t lo, uint8_t scale)
{
    struct fl_buf d = { 0 };
    if (scale == 0) {
        fmt_i128(b, hi, lo);
        return;
    }
    fmt_i128(&d, hi, lo);
    if (d.err) {
        fl_buf_fail(b, d.err);
        fl_buf_free(&d);
        return;
    }
    const char *digits = d.p;
    if (*digits == '-') {
        fl_buf_addc(b, '-');
        digits++;
    }
    size_t n = strlen(digits);
    if (n <= scale) {
        fl_buf_adds(b, "0.");
        for (size_t i = n; i < scale; i++)
            fl_buf_addc(b, '0');
        fl_buf_adds(b, digits);
    } else {
        fl_buf_add(b, digits, n - scale);
        fl_buf_addc(b, '.');
        fl_buf_adds(b, digits + n - scale);
    }
    fl_buf_free(&d);
}


/* The text of v (consumed) as DuckDB's cast to VARCHAR prints it. */
static void
add_duck_text(struct fl_buf *b, duckdb_value v)
{
    if (v == NULL) {
        fl_buf_fail(b, FL_ENOMEM);
        return;
    }
    char *s = duckdb_get_varchar(v);
    duckdb_destroy_value(&v);
    if (s == NULL) {
        fl_buf_fail(b, FL_ENOMEM);
        return;
    }
    fl_buf_adds(b, s);
    duckdb_free(s);
}


/* FLOAT and DOUBLE are printed by DuckDB's own cast, one DuckDB value per
 * cell. A re-creation here (the shortest "%.*e" that strtod reads back,
 * in Python repr style) was both wrong and slow: DuckDB's FLOAT digits are
 * not always the shortest round-trip ones (the float 288737.375, equally
 * near "288737.37" and "288737.38", prints in full), which
 * tests/unit/test_output_types.c found; and trying up to 17 precisions
 * with snprintf and strtod per value made a column of 1,000,000 random
 * DOUBLEs take 6-8 s of CPU to write as CSV, against 1.4-1.8 s through
 * DuckDB. The other types stay rendered here from the vector's memory:
 * there the per-cell DuckDB value is what costs (a SELECT * of flow_logs,
 * integers, strings and timestamps, wrote 2.7 times slower delegated). */
static void
fmt_float(struct fl_buf *b, float x)
{
    add_duck_text(b, duckdb_create_float(x));
}


static void
fmt_double(struct fl_buf *b, double x)
{
    add_duck_text(b, duckdb_create_double(x));
}


static void
fmt_date_struct(struct fl_buf *b, duckdb_date_struct d)
{
    int32_t y = d.year;
    int bc = y <= 0;
    if (bc)
        y = 1 - y;
    fl_buf_addf(b, "%04d-%02d-%02d", (int)y, (int)d.month, (int)d.day);
    if (bc)
        fl_buf_adds(b, " (BC)");
}


/* Fractional seconds: `frac` in units of 10^-digits, trailing zeros cut. */
static void
fmt_fraction(struct fl_buf *b, int64_t frac, int digits)
{
    if (frac == 0)
        return;
    char tmp[16];
    snprintf(tmp, sizeof tmp, "%0*lld", digits, (long long)frac);
    size_t n = strlen(tmp);
    while (n > 0 && tmp[n - 1] == '0')
        n--;
    fl_buf_addc(b, '.');
    fl_buf_add(b, tmp, n);
}


static void
fmt_clock(struct fl_buf *b, int h, int m, int s)
{
    fl_buf_addf(b, "%02d:%02d:%02d", h, m, s);
}


/* A timestamp: micros since the epoch plus, for TIMESTAMP_NS
 * (ns_precision set), extra nanoseconds 0 .. 999; with_tz adds "+00" (the
 * session time zone is UTC). */
static void
fmt_timestamp(struct fl_buf *b, int64_t micros, int nanos, int ns_precision,
              int with_tz)
{
    duckdb_timestamp ts = { micros };
    duckdb_timestamp_struct s = duckdb_from_timestamp(ts);
    /* The " (BC)" tag follows the date, before the time, as DuckDB 1.4
     * prints it ("0100-01-01 (BC) 01:02:03.5+00"). */
    fmt_date_struct(b, s.date);
    fl_buf_addc(b, ' ');
    fmt_clock(b, s.time.hour, s.time.min, s.time.sec);
    if (ns_precision)
        fmt_fraction(b, (int64_t)s.time.micros * 1000 + nanos, 9);
    else
        fmt_fraction(b, s.time.micros, 6);
    if (with_tz)
        fl_buf_adds(b, "+00");
}


static void
fmt_time_micros(struct fl_buf *b, int64_t micros)
{
    duckdb_time t = { micros };
    duckdb_time_struct s = duckdb_from_time(t);
    fmt_clock(b, s.hour, s.min, s.sec);
    fmt_fraction(b, s.micros, 6);
}


static void
fmt_interval(struct fl_buf *b, duckdb_interval iv)
{
    int any = 0;
    int32_t years = iv.months / 12, months = iv.months % 12;

    if (years != 0) {
        fl_buf_addf(b, "%d year%s", (int)years,
                            years == 1 || years == -1 ? "" : "s");
        any = 1;
    }
    if (months != 0) {
        fl_buf_addf(b, "%s%d month%s", any ? " " : "", (int)months,
                            months == 1 || months == -1 ? "" : "s");
        any = 1;
    }
    if (iv.days != 0) {
        fl_buf_addf(b, "%s%d day%s", any ? " " : "", (int)iv.days,
                            iv.days == 1 || iv.days == -1 ? "" : "s");
        any = 1;
    }
    if (iv.micros != 0 || !any) {
        uint64_t us = iv.micros < 0 ? (uint64_t)0 - (uint64_t)iv.micros
                                    : (uint64_t)iv.micros;
        if (any)
            fl_buf_addc(b, ' ');
        if (iv.micros < 0)
            fl_buf_addc(b, '-');
        uint64_t h = us / 3600000000u;
        us %= 3600000000u;
        fl_buf_addf(b, "%02llu:%02llu:%02llu", (unsigned long long)h,
                            (unsigned long long)(us / 60000000u),
                            (unsigned long long)(us / 1000000u % 60u));
        fmt_fraction(b, (int64_t)(us % 1000000u), 6);
    }
}


/* BLOB as DuckDB prints it: printable ASCII kept, the rest as \xNN. */
static void
fmt_blob(struct fl_buf *b, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c >= 32 && c <= 126 && c != '\\' && c != '\'' && c != '"')
            fl_buf_addc(b, (char)c);
        else
            fl_buf_addf(b, "\\x%02X", c);
    }
}


/* BIT: the first byte counts the padding bits of the second. */
static void
fmt_bit(struct fl_buf *b, const unsigned char *p, size_t n)
{
    if (n == 0)
        return;
    unsigned pad = p[0];
    for (size_t i = 1; i < n; i++)
        for (int bit = 7; bit >= 0; bit--) {
            if (i == 1 && (unsigned)(7 - bit) < pad)
                continue;
            fl_buf_addc(b, (p[i] >> bit) & 1 ? '1' : '0');
        }
}


static void
fmt_uuid(struct fl_buf *b, duckdb_hugeint h)
{
    /* DuckDB flips the top bit so that UUIDs sort as unsigned. */
    uint64_t hi = (uint64_t)h.upper ^ ((uint64_t)1 << 63);
    uint64_t lo = h.lower;
    fl_buf_addf(b, "%08llx-%04llx-%04llx-%04llx-%012llx",
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

int
fl_query_row_is_valid(duckdb_vector v, idx_t row)
{
    uint64_t *valid = duckdb_vector_get_validity(v);
    return valid == NULL || duckdb_validity_row_is_valid(valid, row);
}


/* A JSON string: " and \ escaped, control chars as \u00XX (fl_json.h's
 * MINIMAL style). DuckDB strings are valid UTF-8, which JSON carries as
 * is. */
static void
json_string(struct fl_buf *b, const char *s, size_t n)
{
    fl_json_add_str(b, s, n, FL_JSON_MINIMAL);
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
    struct fl_buf tmp;     /* text of a leaf before JSON quoting */
};

static void render(struct rctx *cx, struct fl_buf *b, const struct tnode *t,
                   duckdb_vector v, idx_t row, enum rmode m, int quote);


/* Text of a leaf value that is neither a number, a boolean nor a string:
 * dates, times, intervals, UUIDs, blobs, enums, bits. */
static void
render_leaf_text(struct fl_buf *b, const struct tnode *t, duckdb_vector v,
                 idx_t row)
{
    void *data = duckdb_vector_get_data(v);

    switch (t->id) {
    case DUCKDB_TYPE_DATE: {
        duckdb_date d = ((duckdb_date *)data)[row];
        if (!duckdb_is_finite_date(d))
            fl_buf_adds(b, d.days < 0 ? "-infinity" : "infinity");
        else
            fmt_date_struct(b, duckdb_from_date(d));
        break;
    }
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_TZ: {
        duckdb_timestamp ts = ((duckdb_timestamp *)data)[row];
        if (!duckdb_is_finite_timestamp(ts))
            fl_buf_adds(b, ts.micros < 0 ? "-infinity" : "infinity");
        else
            fmt_timestamp(b, ts.micros, 0, 0,
                          t->id == DUCKDB_TYPE_TIMESTAMP_TZ);
        break;
    }
    case DUCKDB_TYPE_TIMESTAMP_S: {
        duckdb_timestamp_s ts = ((duckdb_timestamp_s *)data)[row];
        if (!duckdb_is_finite_timestamp_s(ts))
            fl_buf_adds(b, ts.seconds < 0 ? "-infinity" : "infinity");
        else
            fmt_timestamp(b, ts.seconds * 1000000, 0, 0, 0);
        break;
    }
    case DUCKDB_TYPE_TIMESTAMP_MS: {
        duckdb_timestamp_ms ts = ((duckdb_timestamp_ms *)data)[row];
        if (!duckdb_is_finite_timestamp_ms(ts))
            fl_buf_adds(b, ts.millis < 0 ? "-infinity" : "infinity");
        else
            fmt_timestamp(b, ts.millis * 1000, 0, 0, 0);
        break;
    }
    case DUCKDB_TYPE_TIMESTAMP_NS: {
        duckdb_timestamp_ns ts = ((duckdb_timestamp_ns *)data)[row];
        if (!duckdb_is_finite_timestamp_ns(ts)) {
            fl_buf_adds(b, ts.nanos < 0 ? "-infinity" : "infinity");
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
        fl_buf_addc(b, off < 0 ? '-' : '+');
        if (off < 0)
            off = -off;
        fl_buf_addf(b, "%02d", (int)(off / 3600));
        if (off % 3600 != 0)
            fl_buf_addf(b, ":%02d", (int)(off / 60 % 60));
        if (off % 60 != 0)
            fl_buf_addf(b, ":%02d", (int)(off % 60));
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
            fl_buf_adds(b, t->dict[k]);
        break;
    }
    default: {
        /* BIGNUM and types newer than this code: say so, do not guess. */
        char *name = duckdb_logical_type_get_alias(t->lt);
        fl_buf_addf(b, "(unsupported type %d%s%s)", (int)t->id,
                            name ? " " : "", name ? name : "");
        if (name != NULL)
            duckdb_free(name);
        break;
    }
    }
}


static void
render_number(struct fl_buf *b, const struct tnode *t, const void *data,
              idx_t row, enum rmode m)
{
    switch (t->id) {
    case DUCKDB_TYPE_TINYINT:
        fl_buf_addf(b, "%d", (int)((const int8_t *)data)[row]);
        break;
    case DUCKDB_TYPE_SMALLINT:
        fl_buf_addf(b, "%d", (int)((const int16_t *)data)[row]);
        break;
    case DUCKDB_TYPE_INTEGER:
        fl_buf_addf(b, "%ld", (long)((const int32_t *)data)[row]);
        break;
    case DUCKDB_TYPE_BIGINT:
        fl_buf_addf(b, "%lld", (long long)((const int64_t *)data)[row]);
        break;
    case DUCKDB_TYPE_UTINYINT:
        fl_buf_addf(b, "%u", (unsigned)((const uint8_t *)data)[row]);
        break;
    case DUCKDB_TYPE_USMALLINT:
        fl_buf_addf(b, "%u", (unsigned)((const uint16_t *)data)[row]);
        break;
    case DUCKDB_TYPE_UINTEGER:
        fl_buf_addf(b, "%lu",
                            (unsigned long)((const uint32_t *)data)[row]);
        break;
    case DUCKDB_TYPE_UBIGINT:
        fl_buf_addf(b, "%llu",
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
    case DUCKDB_TYPE_FLOAT: {
        float x = ((const float *)data)[row];
        if (m == R_JSON && !isfinite(x))
            fl_buf_adds(b, "null");    /* JSON has no NaN or Infinity */
        else
            fmt_float(b, x);
        break;
    }
    case DUCKDB_TYPE_DOUBLE: {
        double x = ((const double *)data)[row];
        if (m == R_JSON && !isfinite(x))
            fl_buf_adds(b, "null");
        else
            fmt_double(b, x);
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


/* s in single quotes, ' and \ escaped with a backslash: how DuckDB's
 * cast writes a STRUCT member name, and a nested string that needs it. */
static void
add_quoted(struct fl_buf *b, const char *s, size_t n)
{
    size_t run = 0;

    fl_buf_addc(b, '\'');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\'' || s[i] == '\\') {
            fl_buf_add(b, s + run, i - run);
            fl_buf_addc(b, '\\');
            run = i;
        }
    }
    fl_buf_add(b, s + run, n - run);
    fl_buf_addc(b, '\'');
}


static int
nested_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f'
           || c == '\r';
}


/* A text value inside a LIST, MAP or STRUCT as DuckDB's cast writes it
 * (since DuckDB 1.1): quoted when it would otherwise be ambiguous -- empty,
 * blank at either end, "null" in any case, or holding one of "'(),:=[]{}
 * -- and as it is otherwise. This covers strings and the text of dates,
 * enums, blobs and the like alike ("0001-12-31 (BC)" is quoted). */
void
fl_query_add_nested_text(struct fl_buf *b, const char *s, size_t n)
{
    int q = n == 0 || nested_blank(s[0]) || nested_blank(s[n - 1])
            || (n == 4 && strncasecmp(s, "null", 4) == 0);
    for (size_t i = 0; i < n && !q; i++)
        q = strchr("\"'(),:=[]{}", s[i]) != NULL && s[i] != '\0';
    if (q)
        add_quoted(b, s, n);
    else
        fl_buf_add(b, s, n);
}


static void
render_list(struct rctx *cx, struct fl_buf *b, const struct tnode *t,
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
    fl_buf_addc(b, '[');
    for (idx_t i = 0; i < len; i++) {
        if (i > 0)
            fl_buf_adds(b, m == R_JSON ? "," : ", ");
        /* DuckDB quotes the strings of a LIST, not of an ARRAY. */
        render(cx, b, ct, child, off + i, m, t->id != DUCKDB_TYPE_ARRAY);
    }
    fl_buf_addc(b, ']');
}


static void
render_map(struct rctx *cx, struct fl_buf *b, const struct tnode *t,
           duckdb_vector v, idx_t row, enum rmode m)
{
    duckdb_list_entry e = ((duckdb_list_entry *)
                           duckdb_vector_get_data(v))[row];
    duckdb_vector kv = duckdb_list_vector_get_child(v);
    duckdb_vector keys = duckdb_struct_vector_get_child(kv, 0);
    duckdb_vector vals = duckdb_struct_vector_get_child(kv, 1);

    fl_buf_addc(b, '{');
    for (idx_t i = 0; i < e.length; i++) {
        idx_t r = e.offset + i;
        if (i > 0)
            fl_buf_adds(b, m == R_JSON ? "," : ", ");
        if (m == R_JSON) {
            /* JSON keys are strings: the key's text, quoted. */
            size_t start = b->len;
            render(cx, b, &t->child[0], keys, r, R_TEXT, 0);
            if (b->err)
                return;
            fl_buf_reset(&cx->tmp);
            fl_buf_add(&cx->tmp, b->p + start, b->len - start);
            b->len = start;
            if (!cx->tmp.err)
                json_string(b, cx->tmp.p, cx->tmp.len);
            else
                fl_buf_fail(b, cx->tmp.err);
            fl_buf_addc(b, ':');
        } else {
            render(cx, b, &t->child[0], keys, r, m, 1);
            fl_buf_addc(b, '=');
        }
        render(cx, b, &t->child[1], vals, r, m, 1);
    }
    fl_buf_addc(b, '}');
}


static void
render_struct(struct rctx *cx, struct fl_buf *b, const struct tnode *t,
              duckdb_vector v, idx_t row, enum rmode m)
{
    fl_buf_addc(b, '{');
    for (idx_t i = 0; i < t->nchild; i++) {
        if (i > 0)
            fl_buf_adds(b, m == R_JSON ? "," : ", ");
        if (m == R_JSON) {
            json_string(b, t->names[i], strlen(t->names[i]));
            fl_buf_addc(b, ':');
        } else {
            /* Member names are always quoted. */
            add_quoted(b, t->names[i], strlen(t->names[i]));
            fl_buf_adds(b, ": ");
        }
        render(cx, b, &t->child[i], duckdb_struct_vector_get_child(v, i),
               row, m, 1);
    }
    fl_buf_addc(b, '}');
}


/* A UNION is a struct vector: child 0 the member tag, child k+1 member k.
 * It prints as its member's value in every format: what DuckDB's cast
 * prints in text, and in JSON on purpose the same value rather than
 * to_json's {"tag": value} -- the tag is type information, which the CSV
 * and the table do not carry either (tests/unit/test_output_types.c). */
static void
render_union(struct rctx *cx, struct fl_buf *b, const struct tnode *t,
             duckdb_vector v, idx_t row, enum rmode m)
{
    duckdb_vector tags = duckdb_struct_vector_get_child(v, 0);
    uint8_t tag = ((uint8_t *)duckdb_vector_get_data(tags))[row];
    if (tag >= t->nchild) {
        fl_buf_adds(b, m == R_JSON ? "null" : "NULL");
        return;
    }
    /* DuckDB does not quote a UNION's string, even in a LIST. */
    render(cx, b, &t->child[tag], duckdb_struct_vector_get_child(v, tag + 1),
           row, m, 0);
}


/* Appends the value at row of vector v. Text mode prints what DuckDB's
 * cast to VARCHAR prints (NULL as "NULL" inside nested values; with quote,
 * a string or other text value inside a LIST, MAP or STRUCT as
 * fl_query_add_nested_text() says); JSON mode prints a JSON value. */
static void
render(struct rctx *cx, struct fl_buf *b, const struct tnode *t, duckdb_vector v,
       idx_t row, enum rmode m, int quote)
{
    if (!fl_query_row_is_valid(v, row)) {
        fl_buf_adds(b, m == R_JSON ? "null" : "NULL");
        return;
    }
    void *data = duckdb_vector_get_data(v);

    if (type_is_numeric(t->id)) {
        render_number(b, t, data, row, m);
        return;
    }
    switch (t->id) {
    case DUCKDB_TYPE_BOOLEAN:
        fl_buf_adds(b, ((bool *)data)[row] ? "true" : "false");
        return;
    case DUCKDB_TYPE_VARCHAR: {
        duckdb_string_t *s = &((duckdb_string_t *)data)[row];
        const char *p = duckdb_string_t_data(s);
        uint32_t n = duckdb_string_t_length(*s);
        if (m == R_JSON)
            json_string(b, p, n);
        else if (quote)
            fl_query_add_nested_text(b, p, n);
        else
            fl_buf_add(b, p, n);
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
        render_union(cx, b, t, v, row, m);
        return;
    default:
        break;
    }
    if (m == R_TEXT && !quote) {
        render_leaf_text(b, t, v, row);
        return;
    }
    fl_buf_reset(&cx->tmp);
    render_leaf_text(&cx->tmp, t, v, row);
    if (cx->tmp.err)
        fl_buf_fail(b, cx->tmp.err);
    else if (m == R_TEXT)
        fl_query_add_nested_text(b, cx->tmp.p ? cx->tmp.p : "", cx->tmp.len);
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
    struct fl_buf           line;      /* one output row */
    long long            rows;      /* fetched so far */
};


/* Fetches the next chunk: 1 with *out set, 0 at the end, FL_EDB when the
 * query failed while streaming. */
static int
next_chunk(struct result *r, duckdb_data_chunk *out, char **out_err)
{
    *out = duckdb_fetch_chunk(*r->res);
    if (*out != NULL) {
        r->rows += (long long)duckdb_data_chunk_get_size(*out);
        return 1;
    }
    const char *e = duckdb_result_error(r->res);
    if (e != NULL) {
        fl_query_set_err(out_err, e);
        return FL_EDB;
    }
    return 0;
}


static int
flush_line(struct result *r, FILE *out)
{
    if (r->line.err)
        return FL_ENOMEM;
    if (r->line.len > 0 && fwrite(r->line.p, 1, r->line.len, out)
        != r->line.len)
        return -EIO;
    fl_buf_reset(&r->line);
    return FL_OK;
}


static void
csv_field(struct fl_buf *b, const char *s, size_t n)
{
    int quote = n == 0;     /* "" is the empty string; nothing is NULL */
    for (size_t i = 0; i < n && !quote; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
            quote = 1;
    if (!quote) {
        fl_buf_add(b, s, n);
        return;
    }
    fl_buf_addc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') {
            fl_buf_add(b, s + run, i + 1 - run);
            fl_buf_addc(b, '"');
            run = i + 1;
        }
    }
    fl_buf_add(b, s + run, n - run);
    fl_buf_addc(b, '"');
}


static int
write_csv(struct result *r, FILE *out, char **out_err)
{
    struct fl_buf cell = { 0 };
    duckdb_data_chunk chunk = NULL;
    int rc;

    for (idx_t c = 0; c < r->ncol; c++) {
        if (c > 0)
            fl_buf_addc(&r->line, ',');
        csv_field(&r->line, r->names[c], strlen(r->names[c]));
    }
    fl_buf_addc(&r->line, '\n');
    rc = flush_line(r, out);
    while (rc == FL_OK && (rc = next_chunk(r, &chunk, out_err)) == 1) {
        rc = FL_OK;
        idx_t n = duckdb_data_chunk_get_size(chunk);
        for (idx_t row = 0; row < n && rc == FL_OK; row++) {
            for (idx_t c = 0; c < r->ncol; c++) {
                duckdb_vector v = duckdb_data_chunk_get_vector(chunk, c);
                if (c > 0)
                    fl_buf_addc(&r->line, ',');
                if (!fl_query_row_is_valid(v, row))
                    continue;
                fl_buf_reset(&cell);
                render(&r->cx, &cell, &r->types[c], v, row, R_TEXT, 0);
                if (cell.err) {
                    fl_buf_fail(&r->line, cell.err);
                    break;
                }
                csv_field(&r->line, cell.p ? cell.p : "", cell.len);
            }
            fl_buf_addc(&r->line, '\n');
            rc = flush_line(r, out);
        }
        duckdb_destroy_data_chunk(&chunk);
    }
    fl_buf_free(&cell);
    return rc;
}


static int
write_json(struct result *r, FILE *out, char **out_err)
{
    duckdb_data_chunk chunk = NULL;
    struct fl_buf keys = { 0 };   /* "name": for every column, NUL-separated */
    size_t *key_off = fl_calloc(r->ncol ? r->ncol : 1, sizeof *key_off);
    long long rows = 0;
    int rc;

    if (key_off == NULL)
        return FL_ENOMEM;
    for (idx_t c = 0; c < r->ncol; c++) {
        key_off[c] = keys.len;
        json_string(&keys, r->names[c], strlen(r->names[c]));
        fl_buf_addc(&keys, ':');
        fl_buf_addc(&keys, '\0');
    }
    if (keys.err) {
        rc = FL_ENOMEM;
        goto out;
    }
    fl_buf_addc(&r->line, '[');
    rc = flush_line(r, out);
    while (rc == FL_OK && (rc = next_chunk(r, &chunk, out_err)) == 1) {
        rc = FL_OK;
        idx_t n = duckdb_data_chunk_get_size(chunk);
        for (idx_t row = 0; row < n && rc == FL_OK; row++) {
            fl_buf_adds(&r->line, rows++ == 0 ? "\n{" : ",\n{");
            for (idx_t c = 0; c < r->ncol; c++) {
                if (c > 0)
                    fl_buf_addc(&r->line, ',');
                fl_buf_adds(&r->line, keys.p + key_off[c]);
                render(&r->cx, &r->line, &r->types[c],
                       duckdb_data_chunk_get_vector(chunk, c), row,
                       R_JSON, 0);
            }
            fl_buf_addc(&r->line, '}');
            rc = flush_line(r, out);
        }
        duckdb_destroy_data_chunk(&chunk);
    }
    if (rc == FL_OK) {
        fl_buf_adds(&r->line, rows > 0 ? "\n]\n" : "]\n");
        rc = flush_line(r, out);
    }
out:
    fl_buf_free(&keys);
    fl_free(key_off);
    return rc;
}


/* Table cells: control characters made visible so that every row stays on
 * one line, and at most FL_QUERY_TABLE_MAX_CELL characters. */
static size_t
cell_sanitize(struct fl_buf *dst, const char *s, size_t n)
{
    size_t width = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xc0) == 0x80) {       /* UTF-8 continuation byte */
            fl_buf_addc(dst, (char)c);
            continue;
        }
        if (width >= FL_QUERY_TABLE_MAX_CELL) {
            fl_buf_adds(dst, "...");
            return width + 3;
        }
        if (c == '\n') {
            fl_buf_adds(dst, "\\n");
            width += 2;
        } else if (c == '\r') {
            fl_buf_adds(dst, "\\r");
            width += 2;
        } else if (c == '\t') {
            fl_buf_adds(dst, "\\t");
            width += 2;
        } else if (c < 0x20 || c == 0x7f) {
            fl_buf_addf(dst, "\\x%02X", c);
            width += 4;
        } else {
            fl_buf_addc(dst, (char)c);
            width++;
        }
    }
    return width;
}


static void
pad(struct fl_buf *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fl_buf_addc(b, ' ');
}


#define NULL_CELL ((size_t)-1)

/* The rows kept for the table format; row 0 is the header. */
struct table {
    struct fl_buf  text;       /* sanitized cells, each NUL-terminated */
    struct fl_buf  cell;       /* scratch: one rendered value */
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
            if (!fl_query_row_is_valid(v, row)) {
                t->off[k] = NULL_CELL;
                t->cw[k] = 4;   /* "NULL" */
                if (t->width[c] < 4)
                    t->width[c] = 4;
                continue;
            }
            fl_buf_reset(&t->cell);
            render(&r->cx, &t->cell, &r->types[c], v, row, R_TEXT, 0);
            s = t->cell.p != NULL ? t->cell.p : "";
            len = t->cell.len;
        }
        t->off[k] = t->text.len;
        t->cw[k] = cell_sanitize(&t->text, s, len);
        fl_buf_addc(&t->text, '\0');
        if (t->cw[k] > t->width[c])
            t->width[c] = t->cw[k];
    }
    if (t->text.err || t->cell.err || r->cx.tmp.err)
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
                fl_buf_adds(&r->line, " | ");
            if (t->right[c])
                pad(&r->line, fill);
            fl_buf_adds(&r->line, s);
            if (!t->right[c] && c + 1 < nc)
                pad(&r->line, fill);
        }
        fl_buf_addc(&r->line, '\n');
        if (row == 0) {
            for (idx_t c = 0; c < nc; c++) {
                if (c > 0)
                    fl_buf_adds(&r->line, "-+-");
                for (size_t i = 0; i < t->width[c]; i++)
                    fl_buf_addc(&r->line, '-');
            }
            fl_buf_addc(&r->line, '\n');
        }
        rc = flush_line(r, out);
    }
    if (rc == FL_OK) {
        if (total > FL_QUERY_TABLE_MAX_ROWS)
            fl_buf_addf(&r->line, "(%lld rows, first %d shown)\n",
                                total, FL_QUERY_TABLE_MAX_ROWS);
        else
            fl_buf_addf(&r->line, "(%lld row%s)\n", total,
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
            if (fl_query_row_is_valid(v, row))
                render(&r->cx, &r->line, &r->types[last], v, row, R_TEXT, 0);
            if (r->line.len == 0 || r->line.p[r->line.len - 1] != '\n')
                fl_buf_addc(&r->line, '\n');
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
    fl_buf_free(&t.text);
    fl_buf_free(&t.cell);
    fl_free(t.off);
    fl_free(t.cw);
    fl_free(t.width);
    fl_free(t.right);
    return rc;
}


/* A column type's name as DuckDB writes it, for a client that draws or
 * sorts the result (the server's X-Flowlake-Columns). */
static const char *
type_name(duckdb_type id)
{
    switch (id) {
    case DUCKDB_TYPE_BOOLEAN:      return "BOOLEAN";
    case DUCKDB_TYPE_TINYINT:      return "TINYINT";
    case DUCKDB_TYPE_SMALLINT:     return "SMALLINT";
    case DUCKDB_TYPE_INTEGER:      return "INTEGER";
    case DUCKDB_TYPE_BIGINT:       return "BIGINT";
    case DUCKDB_TYPE_UTINYINT:     return "UTINYINT";
    case DUCKDB_TYPE_USMALLINT:    return "USMALLINT";
    case DUCKDB_TYPE_UINTEGER:     return "UINTEGER";
    case DUCKDB_TYPE_UBIGINT:      return "UBIGINT";
    case DUCKDB_TYPE_HUGEINT:      return "HUGEINT";
    case DUCKDB_TYPE_UHUGEINT:     return "UHUGEINT";
    case DUCKDB_TYPE_FLOAT:        return "FLOAT";
    case DUCKDB_TYPE_DOUBLE:       return "DOUBLE";
    case DUCKDB_TYPE_DECIMAL:      return "DECIMAL";
    case DUCKDB_TYPE_DATE:         return "DATE";
    case DUCKDB_TYPE_TIME:         return "TIME";
    case DUCKDB_TYPE_TIME_TZ:      return "TIME WITH TIME ZONE";
    case DUCKDB_TYPE_TIMESTAMP:    return "TIMESTAMP";
    case DUCKDB_TYPE_TIMESTAMP_S:  return "TIMESTAMP_S";
    case DUCKDB_TYPE_TIMESTAMP_MS: return "TIMESTAMP_MS";
    case DUCKDB_TYPE_TIMESTAMP_NS: return "TIMESTAMP_NS";
    case DUCKDB_TYPE_TIMESTAMP_TZ: return "TIMESTAMP WITH TIME ZONE";
    case DUCKDB_TYPE_INTERVAL:     return "INTERVAL";
    case DUCKDB_TYPE_VARCHAR:      return "VARCHAR";
    case DUCKDB_TYPE_BLOB:         return "BLOB";
    case DUCKDB_TYPE_UUID:         return "UUID";
    case DUCKDB_TYPE_ENUM:         return "ENUM";
    case DUCKDB_TYPE_LIST:         return "LIST";
    case DUCKDB_TYPE_ARRAY:        return "ARRAY";
    case DUCKDB_TYPE_STRUCT:       return "STRUCT";
    case DUCKDB_TYPE_MAP:          return "MAP";
    case DUCKDB_TYPE_UNION:        return "UNION";
    case DUCKDB_TYPE_BIT:          return "BIT";
    default:                       return "OTHER";
    }
}


/* s as a JSON string in ASCII: what is not is written \uXXXX (a pair of
 * them beyond the BMP; U+FFFD for a byte that is not UTF-8). */
static void
json_ascii(struct fl_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    fl_buf_addc(b, '"');
    while (*p != '\0') {
        uint32_t cp = *p;
        size_t n = 1;
        if (cp >= 0x80) {
            size_t want = cp >= 0xf0 ? 4 : cp >= 0xe0 ? 3 : cp >= 0xc0 ? 2 : 0;
            uint32_t v = want == 4 ? cp & 0x07 : want == 3 ? cp & 0x0f
                                                           : cp & 0x1f;
            for (n = 1; n < want && (p[n] & 0xc0) == 0x80; n++)
                v = v << 6 | (p[n] & 0x3f);
            cp = want != 0 && n == want && v <= 0x10ffff ? v : 0xfffd;
        }
        if (cp == '"' || cp == '\\')
            fl_buf_addf(b, "\\%c", (char)cp);
        else if (cp < 0x20 || cp == 0x7f)
            fl_buf_addf(b, "\\u%04x", (unsigned)cp);
        else if (cp < 0x80)
            fl_buf_addc(b, (char)cp);
        else if (cp < 0x10000)
            fl_buf_addf(b, "\\u%04x", (unsigned)cp);
        else
            fl_buf_addf(b, "\\u%04x\\u%04x",
                                (unsigned)(0xd800 + ((cp - 0x10000) >> 10)),
                                (unsigned)(0xdc00 + ((cp - 0x10000) & 0x3ff)));
        p += n;
    }
    fl_buf_addc(b, '"');
}


/* The columns as a JSON array of {"name", "type"}, ASCII only (it goes
 * into an HTTP header). Returns NULL when out of memory. */
static char *
columns_json(const struct result *r)
{
    struct fl_buf b = { 0 };
    fl_buf_addc(&b, '[');
    for (idx_t c = 0; c < r->ncol; c++) {
        fl_buf_adds(&b, c ? ",{\"name\":" : "{\"name\":");
        json_ascii(&b, r->names[c]);
        fl_buf_addf(&b, ",\"type\":\"%s\"}",
                            type_name(r->types[c].id));
    }
    fl_buf_addc(&b, ']');
    if (b.err) {
        fl_buf_free(&b);
        return NULL;
    }
    return b.p;
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
int
fl_query_run_last(duckdb_prepared_statement stmt, enum fl_output fmt,
                  FILE *out, struct fl_query_info *info, char **out_err)
{
    duckdb_result res;
    struct result r;
    int rc = FL_OK;

    memset(&r, 0, sizeof r);
    memset(&res, 0, sizeof res);
    if (duckdb_execute_prepared_streaming(stmt, &res) == DuckDBError) {
        fl_query_set_err(out_err, duckdb_result_error(&res));
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
    /* Out of memory here only costs the header. */
    if (info != NULL)
        info->columns = columns_json(&r);
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
    if (info != NULL && rc == FL_OK)
        info->rows = r.rows;
    if (r.types != NULL) {
        for (idx_t c = 0; c < r.ncol; c++)
            tnode_free(&r.types[c]);
        fl_free(r.types);
    }
    fl_free(r.names);
    fl_buf_free(&r.cx.tmp);
    fl_buf_free(&r.line);
    duckdb_destroy_result(&res);
    return rc < 0 ? rc : FL_OK;
}
