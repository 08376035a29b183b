/* SPDX-License-Identifier: MIT
 *
 * test_parse.c -- the field catalogue, formats (default, custom, S3
 * header) and the line parser, including the traps real files hold.
 */
#include "../../src/core/fl_config.h"

#include <stdint.h>

#include "harness.h"
#include "core/fl_error.h"
#include "core/fl_mem.h"
#include "parse/batch.h"
#include "parse/fields.h"
#include "parse/format.h"
#include "parse/line.h"
#include "parse/utf8.h"

static struct fl_batch *
new_batch(size_t n_extra)
{
    struct fl_batch *b = NULL;
    CHECK(fl_batch_create(16, n_extra, &b) == 0);
    fl_batch_reset(b);
    return b;
}

static void
check_str(const struct fl_batch *b, int col, size_t row, const char *want)
{
    if (want == NULL) {
        if (fl_batch_is_valid(b, (size_t)col, row)) {
            fprintf(stderr, "  column %s row %zu: want NULL\n",
                    col < FL_FIELD_COUNT ? fl_field_get(col)->sql_name : "extra", row);
            exit(1);
        }
        return;
    }
    CHECK(fl_batch_is_valid(b, (size_t)col, row));
    CHECK_EQ_MEM(b->col[col].v.str[row].p, b->col[col].v.str[row].len, want);
}

static void
check_int(const struct fl_batch *b, int col, size_t row, long long want)
{
    CHECK(fl_batch_is_valid(b, (size_t)col, row));
    if (b->col[col].type == FL_TYPE_INT32)
        CHECK_EQ_INT(b->col[col].v.i32[row], want);
    else
        CHECK_EQ_INT(b->col[col].v.i64[row], want);
}

static void
check_null(const struct fl_batch *b, int col, size_t row)
{
    CHECK(!fl_batch_is_valid(b, (size_t)col, row));
}

static int
parse(const struct fl_parser *p, struct fl_batch *b, const char *line,
      struct fl_parse_err *err)
{
    memset(err, 0, sizeof *err);
    return fl_parse_line(p, b, line, strlen(line), err);
}


static void
test_catalogue(void)
{
    CHECK_EQ_INT(FL_FIELD_COUNT, 40);
    CHECK_EQ_STR(fl_field_get(FL_F_ACCOUNT_ID)->aws_name, "account-id");
    CHECK_EQ_STR(fl_field_get(FL_F_ACCOUNT_ID)->sql_name, "account_id");
    CHECK_EQ_STR(fl_field_get(FL_F_LOG_STATUS)->sql_name, "log_status");
    CHECK_EQ_STR(fl_field_get(FL_F_PKT_SRCADDR)->sql_name, "pkt_srcaddr");
    CHECK_EQ_STR(fl_field_get(FL_F_REJECT_REASON)->aws_name, "reject-reason");
    CHECK_EQ_INT(fl_field_get(FL_F_REJECT_REASON)->version, 8);
    CHECK_EQ_INT(fl_field_get(FL_F_ECS_TASK_ID)->version, 7);
    CHECK_EQ_INT(fl_field_get(FL_F_TRAFFIC_PATH)->version, 5);
    CHECK_EQ_INT(fl_field_get(FL_F_REGION)->version, 4);
    CHECK_EQ_INT(fl_field_get(FL_F_TCP_FLAGS)->version, 3);
    /* Parquet types as AWS documents them for Parquet delivery to S3. */
    CHECK_EQ_INT(fl_field_get(FL_F_VERSION)->type, FL_TYPE_INT32);
    CHECK_EQ_INT(fl_field_get(FL_F_PROTOCOL)->type, FL_TYPE_INT32);
    CHECK_EQ_INT(fl_field_get(FL_F_TCP_FLAGS)->type, FL_TYPE_INT32);
    CHECK_EQ_INT(fl_field_get(FL_F_TRAFFIC_PATH)->type, FL_TYPE_INT32);
    CHECK_EQ_INT(fl_field_get(FL_F_PACKETS)->type, FL_TYPE_INT64);
    CHECK_EQ_INT(fl_field_get(FL_F_END)->type, FL_TYPE_INT64);
    CHECK_EQ_INT(fl_field_get(FL_F_SRCADDR)->type, FL_TYPE_STRING);
    CHECK_EQ_INT(fl_field_lookup("pkt-dst-aws-service", 19), FL_F_PKT_DST_AWS_SERVICE);
    CHECK_EQ_INT(fl_field_lookup("pkt_dst_aws_service", 19), FL_F_PKT_DST_AWS_SERVICE);
    CHECK_EQ_INT(fl_field_lookup("nosuch", 6), -1);
    /* Every field: SQL name is the AWS name with '-' -> '_'. */
    for (int i = 0; i < FL_FIELD_COUNT; i++) {
        const struct fl_field_def *f = fl_field_get(i);
        CHECK_EQ_INT(strlen(f->aws_name), strlen(f->sql_name));
        for (size_t k = 0; f->aws_name[k]; k++)
            CHECK(f->sql_name[k] == (f->aws_name[k] == '-' ? '_' : f->aws_name[k]));
    }
}


static void
test_default_line(void)
{
    struct fl_format *fmt = NULL;
    struct fl_batch *b = new_batch(0);
    struct fl_parser p;
    struct fl_parse_err err;

    CHECK(fl_format_default(&fmt) == 0);
    CHECK_EQ_INT(fmt->n, 14);
    CHECK_EQ_INT(fmt->version, 2);
    fl_parser_init(&p, fmt, NULL, NULL);
    CHECK_EQ_INT(parse(&p, b, "2 123456789010 eni-1235b8ca123456789 172.31.16.139 "
                       "172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
                       &err), 0);
    CHECK_EQ_INT(b->n, 1);
    check_int(b, FL_F_VERSION, 0, 2);
    check_str(b, FL_F_ACCOUNT_ID, 0, "123456789010");
    check_str(b, FL_F_INTERFACE_ID, 0, "eni-1235b8ca123456789");
    check_str(b, FL_F_SRCADDR, 0, "172.31.16.139");
    check_str(b, FL_F_DSTADDR, 0, "172.31.16.21");
    check_int(b, FL_F_SRCPORT, 0, 20641);
    check_int(b, FL_F_DSTPORT, 0, 22);
    check_int(b, FL_F_PROTOCOL, 0, 6);
    check_int(b, FL_F_PACKETS, 0, 20);
    check_int(b, FL_F_BYTES, 0, 4249);
    check_int(b, FL_F_START, 0, 1418530010);
    check_int(b, FL_F_END, 0, 1418530070);
    check_str(b, FL_F_ACTION, 0, "ACCEPT");
    check_str(b, FL_F_LOG_STATUS, 0, "OK");
    for (int c = FL_DEFAULT_FIELD_COUNT; c < FL_FIELD_COUNT; c++)
        check_null(b, c, 0);

    /* NODATA: '-' is NULL for strings and integers alike. */
    CHECK_EQ_INT(parse(&p, b, "2 123456789010 eni-1235b8ca123456789 - - - - - - - "
                       "1431280876 1431280934 - NODATA", &err), 0);
    CHECK_EQ_INT(b->n, 2);
    check_null(b, FL_F_SRCADDR, 1);
    check_null(b, FL_F_SRCPORT, 1);
    check_null(b, FL_F_PACKETS, 1);
    check_null(b, FL_F_ACTION, 1);
    check_int(b, FL_F_START, 1, 1431280876);
    check_str(b, FL_F_LOG_STATUS, 1, "NODATA");

    /* IPv6 addresses stay text. */
    CHECK_EQ_INT(parse(&p, b, "2 123456789010 eni-1 2001:db8:1234:a100:8d6e:3477:df66:f105 "
                       "2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 "
                       "1477913708 1477913820 ACCEPT OK", &err), 0);
    check_str(b, FL_F_SRCADDR, 2, "2001:db8:1234:a100:8d6e:3477:df66:f105");
    fl_batch_destroy(b);
    fl_format_destroy(fmt);
}


static void
test_whitespace_tolerance(void)
{
    struct fl_format *fmt = NULL;
    struct fl_batch *b = new_batch(0);
    struct fl_parser p;
    struct fl_parse_err err;

    CHECK(fl_format_default(&fmt) == 0);
    fl_parser_init(&p, fmt, NULL, NULL);
    /* A record with a double space; CRLF; trailing blanks;
     * leading blanks; a tab. */
    CHECK_EQ_INT(parse(&p, b, "2 123456789010 eni-1  10.0.0.1 10.0.0.2 1 2 6 3 4 5 6 ACCEPT OK", &err), 0);
    CHECK_EQ_INT(parse(&p, b, "2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 3 4 5 6 ACCEPT OK\r", &err), 0);
    CHECK_EQ_INT(parse(&p, b, "2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 3 4 5 6 ACCEPT OK  \t ", &err), 0);
    CHECK_EQ_INT(parse(&p, b, "  2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 3 4 5 6 ACCEPT OK", &err), 0);
    CHECK_EQ_INT(parse(&p, b, "2\t123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 3 4 5 6 ACCEPT OK", &err), 0);
    CHECK_EQ_INT(b->n, 5);
    for (size_t r = 0; r < 5; r++) {
        check_str(b, FL_F_SRCADDR, r, "10.0.0.1");
        check_str(b, FL_F_LOG_STATUS, r, "OK");
        check_int(b, FL_F_END, r, 6);
    }
    /* Blank lines add nothing. */
    CHECK_EQ_INT(parse(&p, b, "", &err), 1);
    CHECK_EQ_INT(parse(&p, b, "   \r", &err), 1);
    CHECK_EQ_INT(b->n, 5);
    fl_batch_destroy(b);
    fl_format_destroy(fmt);
}


static void
test_bad_lines(void)
{
    struct fl_format *fmt = NULL;
    struct fl_batch *b = new_batch(0);
    struct fl_parser p;
    struct fl_parse_err err;

    CHECK(fl_format_default(&fmt) == 0);
    fl_parser_init(&p, fmt, NULL, NULL);
    CHECK_EQ_INT(parse(&p, b, "2 123456789010 eni-1 10.0.0.1", &err), FL_EPARSE);
    CHECK_EQ_STR(err.reason, "expected 14 fields, found 4");
    CHECK_EQ_INT(parse(&p, b, "2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 3 4 5 6 ACCEPT OK extra more", &err), FL_EPARSE);
    CHECK_EQ_STR(err.reason, "expected 14 fields, found 16");
    CHECK_EQ_INT(parse(&p, b, "2 1 eni-1 10.0.0.1 10.0.0.2 1 2x 6 3 4 5 6 ACCEPT OK", &err), FL_EPARSE);
    CHECK_EQ_STR(err.reason, "field 7 (dstport): '2x' is not a number");
    CHECK_EQ_INT(err.field, 7);
    CHECK_EQ_INT(parse(&p, b, "2 1 eni-1 10.0.0.1 10.0.0.2 -1 2 6 3 4 5 6 ACCEPT OK", &err), FL_EPARSE);
    CHECK_EQ_STR(err.reason, "field 6 (srcport): '-1' is not a number");
    CHECK_EQ_INT(parse(&p, b, "2 1 eni-1 10.0.0.1 10.0.0.2 2147483648 2 6 3 4 5 6 ACCEPT OK", &err), FL_EPARSE);
    CHECK_EQ_STR(err.reason, "field 6 (srcport): '2147483648' overflows a 32-bit integer");
    CHECK_EQ_INT(parse(&p, b, "2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 9223372036854775808 4 5 6 ACCEPT OK", &err), FL_EPARSE);
    CHECK_EQ_STR(err.reason, "field 9 (packets): '9223372036854775808' overflows a 64-bit integer");
    CHECK_EQ_INT(parse(&p, b, "2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 99999999999999999999 4 5 6 ACCEPT OK", &err), FL_EPARSE);
    CHECK_EQ_STR(err.reason, "field 9 (packets): '99999999999999999999' overflows a 64-bit integer");
    CHECK_EQ_INT(parse(&p, b, "2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 3 4 253402300800 6 ACCEPT OK", &err), FL_EPARSE);
    CHECK_EQ_STR(err.reason, "field 11 (start): '253402300800' is past year 9999 (epoch seconds)");
    /* The largest values still fit. */
    CHECK_EQ_INT(parse(&p, b, "2147483647 1 eni-1 10.0.0.1 10.0.0.2 65535 2 6 9223372036854775807 4 253402300799 6 ACCEPT OK", &err), 0);
    check_int(b, FL_F_VERSION, 0, 2147483647);
    check_int(b, FL_F_SRCPORT, 0, 65535);
    check_int(b, FL_F_PACKETS, 0, INT64_MAX);
    CHECK_EQ_INT(b->n, 1);
    fl_batch_destroy(b);
    fl_format_destroy(fmt);
}


static void
test_rejected_line_leaves_no_trace(void)
{
    struct fl_format *fmt = NULL;
    struct fl_batch *b = new_batch(0);
    struct fl_parser p;
    struct fl_parse_err err;

    CHECK(fl_format_default(&fmt) == 0);
    fl_parser_init(&p, fmt, NULL, NULL);
    /* Fails at the last field after setting many validity bits. */
    CHECK_EQ_INT(parse(&p, b, "2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 3 4 5 6 ACCEPT OK x", &err), FL_EPARSE);
    CHECK_EQ_INT(b->n, 0);
    for (int c = 0; c < FL_FIELD_COUNT; c++)
        check_null(b, c, 0);
    /* The next good line, with NULLs, takes row 0 cleanly. */
    CHECK_EQ_INT(parse(&p, b, "2 1 eni-1 - - - - - - - 5 6 - NODATA", &err), 0);
    check_null(b, FL_F_SRCADDR, 0);
    check_null(b, FL_F_PACKETS, 0);
    check_int(b, FL_F_START, 0, 5);
    fl_batch_destroy(b);
    fl_format_destroy(fmt);
}


static void
test_batch_full(void)
{
    struct fl_format *fmt = NULL;
    struct fl_batch *b = NULL;
    struct fl_parser p;
    struct fl_parse_err err;

    CHECK(fl_format_default(&fmt) == 0);
    CHECK(fl_batch_create(2, 0, &b) == 0);
    fl_batch_reset(b);
    fl_parser_init(&p, fmt, NULL, NULL);
    const char *line = "2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 3 4 5 6 ACCEPT OK";
    CHECK_EQ_INT(parse(&p, b, line, &err), 0);
    CHECK_EQ_INT(parse(&p, b, line, &err), 0);
    CHECK_EQ_INT(parse(&p, b, line, &err), FL_ETOOBIG);
    CHECK_EQ_INT(b->n, 2);
    fl_batch_reset(b);
    CHECK_EQ_INT(b->n, 0);
    check_null(b, FL_F_SRCADDR, 0);
    fl_batch_destroy(b);
    fl_format_destroy(fmt);
}


/* Every field of versions 2 to 8 through one custom format. */
static void
test_all_fields_custom_format(void)
{
    struct fl_format *fmt = NULL;
    struct fl_batch *b = new_batch(0);
    struct fl_parser p;
    struct fl_parse_err err;
    char spec[4096] = "", line[4096] = "";

    for (int i = 0; i < FL_FIELD_COUNT; i++) {
        const struct fl_field_def *f = fl_field_get(i);
        strcat(spec, i ? " ${" : "${");
        strcat(spec, f->aws_name);
        strcat(spec, "}");
        char v[64];
        if (f->type == FL_TYPE_STRING)
            snprintf(v, sizeof v, "%sv%d", i ? " " : "", i);
        else
            snprintf(v, sizeof v, "%s%d", i ? " " : "", 100 + i);
        strcat(line, v);
    }
    CHECK_EQ_INT(fl_format_parse(spec, &fmt, &err), 0);
    CHECK_EQ_INT(fmt->n, 40);
    CHECK_EQ_INT(fmt->version, 8);
    fl_parser_init(&p, fmt, NULL, NULL);
    CHECK_EQ_INT(parse(&p, b, line, &err), 0);
    for (int i = 0; i < FL_FIELD_COUNT; i++) {
        if (fl_field_get(i)->type == FL_TYPE_STRING) {
            char v[16];
            snprintf(v, sizeof v, "v%d", i);
            check_str(b, i, 0, v);
        } else {
            check_int(b, i, 0, 100 + i);
        }
    }
    char *back = fl_format_to_string(fmt);
    CHECK_EQ_STR(back, spec);
    fl_free(back);
    fl_batch_destroy(b);
    fl_format_destroy(fmt);
}


/* The AWS documentation's own custom-format example
 * (https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html). */
static void
test_aws_example_custom_format(void)
{
    struct fl_format *fmt = NULL;
    struct fl_batch *b = new_batch(0);
    struct fl_parser p;
    struct fl_parse_err err;

    CHECK_EQ_INT(fl_format_parse("${version} ${vpc-id} ${subnet-id} ${instance-id} "
        "${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${tcp-flags} "
        "${type} ${pkt-srcaddr} ${pkt-dstaddr}", &fmt, &err), 0);
    CHECK_EQ_INT(fmt->version, 3);
    fl_parser_init(&p, fmt, NULL, NULL);
    CHECK_EQ_INT(parse(&p, b, "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 "
        "i-01234567890123456 10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5 "
        "6 19 IPv4 10.0.1.5 203.0.113.5", &err), FL_EPARSE);
    CHECK_EQ_STR(err.reason, "field 7 (srcport): '10.0.1.5' is not a number");
    CHECK_EQ_INT(parse(&p, b, "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 "
        "- 10.0.1.5 10.0.0.220 49152 443 6 19 IPv4 10.0.1.5 203.0.113.5", &err), 0);
    check_str(b, FL_F_VPC_ID, 0, "vpc-abcdefab012345678");
    check_null(b, FL_F_INSTANCE_ID, 0);
    check_int(b, FL_F_TCP_FLAGS, 0, 19);
    check_str(b, FL_F_TYPE, 0, "IPv4");
    check_str(b, FL_F_PKT_DSTADDR, 0, "203.0.113.5");
    check_null(b, FL_F_ACCOUNT_ID, 0);
    fl_batch_destroy(b);
    fl_format_destroy(fmt);
}


static void
test_format_errors(void)
{
    struct fl_format *fmt = NULL;
    struct fl_parse_err err;

    CHECK_EQ_INT(fl_format_parse("", &fmt, &err), FL_ECONFIG);
    CHECK_EQ_STR(err.reason, "a format needs at least one ${field}");
    CHECK_EQ_INT(fl_format_parse("${version} srcaddr", &fmt, &err), FL_ECONFIG);
    CHECK_EQ_STR(err.reason, "field 2: expected '${' at offset 11, found 's'");
    CHECK_EQ_INT(fl_format_parse("${version} ${srcaddr", &fmt, &err), FL_ECONFIG);
    CHECK_EQ_STR(err.reason, "field 2: '${' at offset 11 is never closed by '}'");
    CHECK_EQ_INT(fl_format_parse("${version} ${}", &fmt, &err), FL_ECONFIG);
    CHECK_EQ_STR(err.reason, "field 2: empty field name");
    CHECK_EQ_INT(fl_format_parse("${version} ${srcaddr} ${version}", &fmt, &err), FL_ECONFIG);
    CHECK_EQ_STR(err.reason, "field 3: 'version' appears twice");
    CHECK_EQ_INT(fl_format_parse("${version}${srcaddr}", &fmt, &err), FL_ECONFIG);
    CHECK_EQ_STR(err.reason, "field 1: expected a space after '}' at offset 10");
    CHECK_EQ_INT(fl_format_parse("${ver sion}", &fmt, &err), FL_ECONFIG);
    CHECK_EQ_STR(err.reason, "field 1: invalid character ' ' in field name");
    CHECK(fmt == NULL);
}


/* An S3 header listing bytes before packets (field order follows the
 * header, not the catalogue). */
static void
test_header_bytes_before_packets(void)
{
    const char *hdr = "version account-id interface-id srcaddr dstaddr srcport "
                      "dstport protocol bytes packets start end action log-status";
    struct fl_format *fmt = NULL;
    struct fl_batch *b = new_batch(0);
    struct fl_parser p;
    struct fl_parse_err err;

    CHECK(fl_format_is_header(hdr, strlen(hdr)));
    CHECK_EQ_INT(fl_format_from_header(hdr, strlen(hdr), &fmt, &err), 0);
    fl_parser_init(&p, fmt, NULL, NULL);
    CHECK_EQ_INT(parse(&p, b, "2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 9000 12 5 6 ACCEPT OK", &err), 0);
    check_int(b, FL_F_BYTES, 0, 9000);
    check_int(b, FL_F_PACKETS, 0, 12);
    fl_batch_destroy(b);
    fl_format_destroy(fmt);
}


static void
test_header_detection(void)
{
    const char *yes[] = {
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status",
        "version vpc-id subnet-id instance-id srcaddr dstaddr srcport dstport protocol tcp-flags type pkt-srcaddr pkt-dstaddr\r\n",
        "account_id srcaddr",                   /* SQL spellings */
        "version my-custom-field srcaddr",      /* unknown names allowed */
        "Version Account-Id",                   /* names match in any case */
    };
    const char *no[] = {
        "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
        "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
        "vpc-0abc eni-0def",                    /* looks like names, none known */
        "",
        "   ",
    };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        CHECK(fl_format_is_header(yes[i], strlen(yes[i])));
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        CHECK(!fl_format_is_header(no[i], strlen(no[i])));
}


static int
extra_lookup(void *ctx, const char *name)
{
    (void)ctx;
    if (strcmp(name, "flow-tag") == 0)
        return 0;
    if (strcmp(name, "encryption-status") == 0)
        return 1;
    return -1;
}


/* Unknown fields (e.g. newer versions' ${encryption-status}) are kept as
 * text in extra columns, not rejected. */
static void
test_unknown_fields_kept(void)
{
    struct fl_format *fmt = NULL;
    struct fl_batch *b = new_batch(2);
    struct fl_parser p;
    struct fl_parse_err err;

    CHECK_EQ_INT(fl_format_parse("${version} ${encryption-status} ${srcaddr} ${flow-tag}",
                                 &fmt, &err), 0);
    CHECK_EQ_INT(fmt->field[1], -1);
    CHECK_EQ_INT(fmt->field[3], -1);
    fl_parser_init(&p, fmt, extra_lookup, NULL);
    CHECK_EQ_INT(parse(&p, b, "10 1 10.1.1.1 blue", &err), 0);
    check_int(b, FL_F_VERSION, 0, 10);
    check_str(b, FL_F_SRCADDR, 0, "10.1.1.1");
    check_str(b, FL_FIELD_COUNT + 0, 0, "blue");
    check_str(b, FL_FIELD_COUNT + 1, 0, "1");
    /* Without a place for extras they are dropped, the rest still parses. */
    fl_parser_init(&p, fmt, NULL, NULL);
    CHECK_EQ_INT(parse(&p, b, "10 1 10.1.1.2 red", &err), 0);
    check_str(b, FL_F_SRCADDR, 1, "10.1.1.2");
    check_null(b, FL_FIELD_COUNT + 0, 1);
    fl_batch_destroy(b);
    fl_format_destroy(fmt);
}


/* The full v2-v5 order includes ${region}; a parser that
 * dropped it would shift every later column. */
static void
test_region_does_not_shift(void)
{
    struct fl_format *fmt = NULL;
    struct fl_batch *b = new_batch(0);
    struct fl_parser p;
    struct fl_parse_err err;
    char spec[2048] = "";

    for (int i = 0; i <= FL_F_TRAFFIC_PATH; i++) {
        strcat(spec, i ? " ${" : "${");
        strcat(spec, fl_field_get(i)->aws_name);
        strcat(spec, "}");
    }
    CHECK_EQ_INT(fl_format_parse(spec, &fmt, &err), 0);
    CHECK_EQ_INT(fmt->version, 5);
    fl_parser_init(&p, fmt, NULL, NULL);
    CHECK_EQ_INT(parse(&p, b,
        "5 123456789012 eni-1 10.0.0.1 52.95.1.1 49152 443 6 10 840 1620000000 1620000060 "
        "ACCEPT OK vpc-1 subnet-1 i-1 18 IPv4 10.0.0.1 52.95.1.1 us-east-1 use1-az1 - - "
        "- S3 egress 8", &err), 0);
    check_str(b, FL_F_REGION, 0, "us-east-1");
    check_str(b, FL_F_AZ_ID, 0, "use1-az1");
    check_null(b, FL_F_SUBLOCATION_TYPE, 0);
    check_str(b, FL_F_PKT_DST_AWS_SERVICE, 0, "S3");
    check_str(b, FL_F_FLOW_DIRECTION, 0, "egress");
    check_int(b, FL_F_TRAFFIC_PATH, 0, 8);
    fl_batch_destroy(b);
    fl_format_destroy(fmt);
}


/* The 8-bytes-at-a-time integer path against strtoull, for every length,
 * with and without bytes after the number (the fast path needs 8 bytes of
 * line left), leading zeros and a non-digit at every position. */
static void
test_integer_conversion(void)
{
    struct fl_format *fmt = NULL;
    struct fl_batch *b = NULL;
    struct fl_parser p;
    struct fl_parse_err err;
    uint64_t x = 0x9e3779b97f4a7c15u;

    CHECK_EQ_INT(fl_format_parse("${packets} ${action}", &fmt, &err), 0);
    CHECK(fl_batch_create(1, 0, &b) == 0);
    fl_parser_init(&p, fmt, NULL, NULL);
    for (int len = 1; len <= 19; len++) {
        for (int round = 0; round < 200; round++) {
            char num[32], line[64];
            for (int k = 0; k < len; k++) {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                num[k] = (char)('0' + x % 10);
            }
            num[len] = '\0';
            if (round % 5 == 0)
                num[0] = '0';
            unsigned long long want = strtoull(num, NULL, 10);
            const char *tails[] = { " ACCEPT", " ACCEPTACCEPT", " A" };
            for (int t = 0; t < 3; t++) {
                snprintf(line, sizeof line, "%s%s", num, tails[t]);
                fl_batch_reset(b);
                int rc = fl_parse_line(&p, b, line, strlen(line), &err);
                if (want > INT64_MAX) {
                    CHECK_EQ_INT(rc, FL_EPARSE);
                    continue;
                }
                CHECK_EQ_INT(rc, 0);
                if ((unsigned long long)b->col[FL_F_PACKETS].v.i64[0] != want) {
                    fprintf(stderr, "  '%s': got %lld\n", line,
                            (long long)b->col[FL_F_PACKETS].v.i64[0]);
                    exit(1);
                }
            }
            /* A letter inside the number makes it "not a number". */
            int pos = (int)(x % (unsigned)len);
            num[pos] = 'x';
            snprintf(line, sizeof line, "%s ACCEPTACCEPT", num);
            fl_batch_reset(b);
            CHECK_EQ_INT(fl_parse_line(&p, b, line, strlen(line), &err), FL_EPARSE);
            CHECK(strstr(err.reason, "is not a number") != NULL);
        }
    }
    fl_batch_destroy(b);
    fl_format_destroy(fmt);
}


/* Allocation failures inside format building leak nothing and fail
 * cleanly (run under ASan to see leaks). */
static void
test_format_alloc_failures(void)
{
    struct fl_parse_err err;
    for (uint64_t n = 1; n < 200; n++) {
        struct fl_format *fmt = NULL;
        fl_mem_fail_after(n);
        int rc = fl_format_parse("${version} ${srcaddr} ${x-unknown}", &fmt, &err);
        fl_mem_fail_after(0);
        if (rc == 0) {
            fl_format_destroy(fmt);
            break;
        }
        CHECK_EQ_INT(rc, FL_ENOMEM);
        CHECK(fmt == NULL);
    }
    CHECK_EQ_INT(fl_mem_used(), 0);
}


/* Strings reach Parquet only as well-formed UTF-8 without control bytes;
 * the reason names the field, the byte and its offset in the line. */
static void
test_bad_text(void)
{
    struct fl_format *fmt = NULL;
    struct fl_parser p;
    struct fl_parse_err err;
    struct fl_batch *b = new_batch(0);
    CHECK_EQ_INT(fl_format_default(&fmt), 0);
    fl_parser_init(&p, fmt, NULL, NULL);

    CHECK_EQ_INT(parse(&p, b, "2 1 eni-caf\xe9 10.0.0.1 10.0.0.2 1 2 6 3 4 5 6 ACCEPT OK", &err), FL_EPARSE);
    CHECK_EQ_STR(err.reason, "field 3 (interface-id): invalid UTF-8 byte 0xe9 at byte offset 11 of the line");
    CHECK_EQ_INT(err.field, 3);
    char nul[] = "2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 3 4 5 6 ACC\0EPT OK";
    CHECK_EQ_INT(fl_parse_line(&p, b, nul, sizeof nul - 1, &err), FL_EPARSE);
    CHECK_EQ_STR(err.reason, "field 13 (action): control byte 0x00 at byte offset 45 of the line");
    CHECK_EQ_INT(parse(&p, b, "2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 3 4 5 6 ACCEPT O\x7fK", &err), FL_EPARSE);
    CHECK_EQ_STR(err.reason, "field 14 (log-status): control byte 0x7f at byte offset 50 of the line");
    /* An overlong encoding of '/' and a lone surrogate are not UTF-8. */
    CHECK_EQ_INT(parse(&p, b, "2 1 eni-\xc0\xaf 10.0.0.1 10.0.0.2 1 2 6 3 4 5 6 ACCEPT OK", &err), FL_EPARSE);
    CHECK_EQ_STR(err.reason, "field 3 (interface-id): invalid UTF-8 byte 0xc0 at byte offset 8 of the line");
    CHECK_EQ_INT(parse(&p, b, "2 1 eni-\xed\xa0\x80 10.0.0.1 10.0.0.2 1 2 6 3 4 5 6 ACCEPT OK", &err), FL_EPARSE);
    CHECK_EQ_STR(err.reason, "field 3 (interface-id): invalid UTF-8 byte 0xed at byte offset 8 of the line");
    CHECK_EQ_INT(b->n, 0);
    /* Well-formed UTF-8 goes through unchanged. */
    CHECK_EQ_INT(parse(&p, b, "2 1 eni-caf\xc3\xa9-\xf0\x9f\x98\x80 10.0.0.1 10.0.0.2 1 2 6 3 4 5 6 ACCEPT OK", &err), 0);
    check_str(b, FL_F_INTERFACE_ID, 0, "eni-caf\xc3\xa9-\xf0\x9f\x98\x80");
    fl_batch_destroy(b);
    fl_format_destroy(fmt);
}


static void
test_utf8_validator(void)
{
    size_t off = 99;
    CHECK_EQ_INT(fl_text_check("", 0, &off), FL_TEXT_OK);
    CHECK_EQ_INT(off, 0);
    CHECK_EQ_INT(fl_text_check("plain ascii text, long", 22, &off), FL_TEXT_OK);
    CHECK_EQ_INT(off, 22);
    CHECK_EQ_INT(fl_text_check("abcdefgh\x01", 9, &off), FL_TEXT_CONTROL);
    CHECK_EQ_INT(off, 8);
    CHECK_EQ_INT(fl_text_check("abc\x1f" "defgh", 8, &off), FL_TEXT_CONTROL);
    CHECK_EQ_INT(off, 3);
    CHECK_EQ_INT(fl_text_check("\xc3", 1, &off), FL_TEXT_BAD_UTF8);     /* cut short */
    CHECK_EQ_INT(off, 0);
    CHECK_EQ_INT(fl_text_check("ab\x80", 3, &off), FL_TEXT_BAD_UTF8);   /* lone continuation */
    CHECK_EQ_INT(off, 2);
    CHECK_EQ_INT(fl_text_check("\xf4\x90\x80\x80", 4, &off), FL_TEXT_BAD_UTF8); /* past U+10FFFF */
    CHECK_EQ_INT(fl_text_check("\xe0\x80\x80", 3, &off), FL_TEXT_BAD_UTF8);     /* overlong */
    CHECK_EQ_INT(fl_text_check("\xf5\x80\x80\x80", 4, &off), FL_TEXT_BAD_UTF8);
    CHECK_EQ_INT(fl_text_check("\xef\xbb\xbf\xf4\x8f\xbf\xbf", 7, &off), FL_TEXT_OK);
    CHECK_EQ_INT(fl_utf8_valid_prefix("a\tb\xc3\xa9", 5), 5);           /* controls allowed */
    CHECK_EQ_INT(fl_utf8_valid_prefix("a\xff" "b", 3), 1);
}


/* Fields with a natural range: ports 0-65535, protocol, tcp-flags and
 * traffic-path 0-255; version keeps the 32-bit range. */
static void
test_ranges(void)
{
    struct fl_format *fmt = NULL;
    struct fl_parser p;
    struct fl_parse_err err;
    struct fl_batch *b = new_batch(0);
    CHECK_EQ_INT(fl_format_parse("${srcport} ${dstport} ${protocol} ${tcp-flags} ${traffic-path} ${version}", &fmt, &err), 0);
    fl_parser_init(&p, fmt, NULL, NULL);
    CHECK_EQ_INT(parse(&p, b, "65535 0 255 255 255 99999", &err), 0);
    CHECK_EQ_INT(parse(&p, b, "65536 0 255 255 255 2", &err), FL_EPARSE);
    CHECK_EQ_STR(err.reason, "field 1 (srcport): '65536' is out of range (0 to 65535)");
    CHECK_EQ_INT(parse(&p, b, "1 70000 6 2 1 2", &err), FL_EPARSE);
    CHECK_EQ_STR(err.reason, "field 2 (dstport): '70000' is out of range (0 to 65535)");
    CHECK_EQ_INT(parse(&p, b, "1 2 256 2 1 2", &err), FL_EPARSE);
    CHECK_EQ_STR(err.reason, "field 3 (protocol): '256' is out of range (0 to 255)");
    CHECK_EQ_INT(parse(&p, b, "1 2 6 300 1 2", &err), FL_EPARSE);
    CHECK_EQ_STR(err.reason, "field 4 (tcp-flags): '300' is out of range (0 to 255)");
    CHECK_EQ_INT(parse(&p, b, "1 2 6 2 256 2", &err), FL_EPARSE);
    CHECK_EQ_STR(err.reason, "field 5 (traffic-path): '256' is out of range (0 to 255)");
    CHECK_EQ_INT(b->n, 1);
    check_int(b, FL_F_SRCPORT, 0, 65535);
    check_int(b, FL_F_VERSION, 0, 99999);
    fl_batch_destroy(b);
    fl_format_destroy(fmt);
}


/* ${Version} is the version field, not an unknown extra. */
static void
test_case_insensitive_names(void)
{
    struct fl_format *fmt = NULL;
    struct fl_parse_err err;
    CHECK_EQ_INT(fl_format_parse("${Version} ${ACCOUNT-ID} ${SrcPort}", &fmt, &err), 0);
    CHECK_EQ_INT(fmt->field[0], FL_F_VERSION);
    CHECK_EQ_INT(fmt->field[1], FL_F_ACCOUNT_ID);
    CHECK_EQ_INT(fmt->field[2], FL_F_SRCPORT);
    fl_format_destroy(fmt);
    CHECK_EQ_INT(fl_format_parse("${version} ${Version}", &fmt, &err), FL_ECONFIG);
    CHECK_EQ_STR(err.reason, "field 2: 'Version' appears twice");
    CHECK_EQ_INT(fl_field_lookup("LOG-STATUS", 10), FL_F_LOG_STATUS);
    CHECK_EQ_INT(fl_field_lookup("log-statu", 9), -1);
}


FL_TEST_MAIN(
    FL_TEST(test_catalogue),
    FL_TEST(test_default_line),
    FL_TEST(test_whitespace_tolerance),
    FL_TEST(test_bad_lines),
    FL_TEST(test_rejected_line_leaves_no_trace),
    FL_TEST(test_batch_full),
    FL_TEST(test_all_fields_custom_format),
    FL_TEST(test_aws_example_custom_format),
    FL_TEST(test_format_errors),
    FL_TEST(test_header_bytes_before_packets),
    FL_TEST(test_header_detection),
    FL_TEST(test_unknown_fields_kept),
    FL_TEST(test_region_does_not_shift),
    FL_TEST(test_integer_conversion),
    FL_TEST(test_format_alloc_failures),
    FL_TEST(test_bad_text),
    FL_TEST(test_utf8_validator),
    FL_TEST(test_ranges),
    FL_TEST(test_case_insensitive_names)
)
