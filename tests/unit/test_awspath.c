/* SPDX-License-Identifier: MIT
 *
 * test_awspath.c -- account, region and day from AWS flow-log S3 paths
 * (src/core/fl_awspath.c): both folder layouts, the file-name convention,
 * a bucket prefix in front, and the paths that must say nothing.
 */
#include "../../src/core/fl_config.h"

#include "harness.h"
#include "core/fl_awspath.h"

static int
parse(const char *path, struct fl_awspath *a)
{
    return fl_awspath_parse(path, strlen(path), a);
}


static void
test_awspath_plain_layout(void)
{
    struct fl_awspath a;
    const char *p = "sync/AWSLogs/123456789012/vpcflowlogs/eu-west-1/2026/"
                    "12/05/flows.log.gz";
    CHECK_EQ_INT(parse(p, &a), 1);
    CHECK_EQ_STR(a.account, "123456789012");
    CHECK_EQ_STR(a.region, "eu-west-1");
    CHECK_EQ_INT(a.awslogs_at, 5);
    CHECK_EQ_INT(a.day, 20261205);
    /* AWSLogs at the very start; no day folders, no day */
    CHECK_EQ_INT(parse("AWSLogs/123456789012/vpcflowlogs/us-east-1/x.log",
                       &a), 1);
    CHECK_EQ_STR(a.region, "us-east-1");
    CHECK_EQ_INT(a.awslogs_at, 0);
    CHECK_EQ_INT(a.day, 0);
    /* folders that are no date: no day (the account and region stay) */
    CHECK_EQ_INT(parse("AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/13/"
                       "05/x.log", &a), 1);
    CHECK_EQ_INT(a.day, 0);
    CHECK_EQ_INT(parse("AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/1/"
                       "05/x.log", &a), 1);
    CHECK_EQ_INT(a.day, 0);
    /* two day folders and the file: not three folders */
    CHECK_EQ_INT(parse("AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/12/"
                       "x.log", &a), 1);
    CHECK_EQ_INT(a.day, 0);
}


static void
test_awspath_hive_layout(void)
{
    struct fl_awspath a;
    const char *p = "/data/AWSLogs/aws-account-id=210987654321/"
                    "aws-service=vpcflowlogs/aws-region=ap-southeast-2/"
                    "year=2026/month=12/day=05/hour=21/x.log.gz";
    CHECK_EQ_INT(parse(p, &a), 1);
    CHECK_EQ_STR(a.account, "210987654321");
    CHECK_EQ_STR(a.region, "ap-southeast-2");
    CHECK_EQ_INT(a.awslogs_at, 6);
    CHECK_EQ_INT(a.day, 20261205);
    /* the plain day folders under the Hive prefixes are not its layout */
    CHECK_EQ_INT(parse("AWSLogs/aws-account-id=210987654321/aws-service="
                       "vpcflowlogs/aws-region=us-east-1/2026/12/05/x.log",
                       &a), 1);
    CHECK_EQ_INT(a.day, 0);
    /* another service under AWSLogs: nothing */
    CHECK_EQ_INT(parse("AWSLogs/aws-account-id=210987654321/aws-service="
                       "elasticloadbalancing/aws-region=us-east-1/x.log",
                       &a), 0);
    CHECK_EQ_STR(a.account, "");
    CHECK_EQ_INT(a.awslogs_at, 0);
}


static void
test_awspath_file_name(void)
{
    struct fl_awspath a;
    const char *p = "flat/123456789012_vpcflowlogs_us-west-2_fl-0abc123_"
                    "20261205T2115Z_a1b2c3d4.log.gz";
    CHECK_EQ_INT(parse(p, &a), 1);
    CHECK_EQ_STR(a.account, "123456789012");
    CHECK_EQ_STR(a.region, "us-west-2");
    CHECK_EQ_INT(a.awslogs_at, -1);
    CHECK_EQ_INT(a.day, 20261205);
    /* four fields and no time: the account and region, no day */
    CHECK_EQ_INT(parse("123456789012_vpcflowlogs_us-west-2_fl-0abc123_x.log",
                       &a), 1);
    CHECK_EQ_STR(a.region, "us-west-2");
    CHECK_EQ_INT(a.day, 0);
    /* a time that is not YYYYMMDDTHHmmZ: no day */
    CHECK_EQ_INT(parse("123456789012_vpcflowlogs_us-west-2_fl-1_2026-12-05_h"
                       ".log", &a), 1);
    CHECK_EQ_INT(a.day, 0);
    /* the folders win over the name, the folders' day too */
    CHECK_EQ_INT(parse("AWSLogs/111111111111/vpcflowlogs/eu-north-1/2026/12/"
                       "05/222222222222_vpcflowlogs_us-west-2_fl-1_"
                       "20261205T2115Z_h.log.gz", &a), 1);
    CHECK_EQ_STR(a.account, "111111111111");
    CHECK_EQ_STR(a.region, "eu-north-1");
    CHECK_EQ_INT(a.day, 20261205);
    CHECK_EQ_INT(parse("AWSLogs/111111111111/vpcflowlogs/eu-north-1/2026/11/"
                       "30/222222222222_vpcflowlogs_us-west-2_fl-1_"
                       "20261201T0005Z_h.log.gz", &a), 1);
    CHECK_EQ_INT(a.day, 20261130);
    /* a file copied out of its folders: the name's day */
    CHECK_EQ_INT(parse("copy/AWSLogs/111111111111/vpcflowlogs/eu-north-1/"
                       "111111111111_vpcflowlogs_eu-north-1_fl-1_"
                       "20261201T0005Z_h.log.gz", &a), 1);
    CHECK_EQ_INT(a.day, 20261201);
}


static void
test_awspath_not_aws(void)
{
    static const char *const paths[] = {
        "", "/", "flows.log", "/tmp/x/flows.log.gz", "AWSLogs",
        "AWSLogs/", "AWSLogs/123456789012/vpcflowlogs",
        "AWSLogs/12345678901/vpcflowlogs/us-east-1/x.log",     /* 11 digits */
        "AWSLogs/12345678901a/vpcflowlogs/us-east-1/x.log",
        "AWSLogs/123456789012/cloudtrail/us-east-1/x.log",
        "AWSLogs/123456789012/vpcflowlogs/US-EAST-1/x.log",
        "AWSLogs/123456789012/vpcflowlogs//x.log",
        "awslogs/123456789012/vpcflowlogs/us-east-1/x.log",
        "123456789012_vpcflowlogs_us-east-1.log",             /* too short */
        "123456789012_elb_us-east-1_fl-1_t_h.log",
        "123456789012_vpcflowlogs_us-east-1__t_h.log",        /* empty id */
        "AWSLogs/123456789012/vpcflowlogs/" /* region too long */
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/x.log",
        "logs/2026/12/05/x.log",                 /* a day alone */
        "AWSLogs/123456789012/cloudtrail/us-east-1/2026/12/05/x.log",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct fl_awspath a;
        if (parse(paths[i], &a) != 0) {
            fprintf(stderr, "  path '%s' parsed\n", paths[i]);
            CHECK(0);
        }
        CHECK_EQ_STR(a.account, "");
        CHECK_EQ_STR(a.region, "");
        CHECK_EQ_INT(a.day, 0);
    }
}


static void
test_awspath_length_bound(void)
{
    /* Only [0, len) is read: the same text with a shorter length is not
     * an AWS path any more. */
    const char *p = "AWSLogs/123456789012/vpcflowlogs/us-east-1/x.log";
    struct fl_awspath a;
    CHECK_EQ_INT(fl_awspath_parse(p, 30, &a), 0);
    CHECK_EQ_INT(a.awslogs_at, 0);
}


FL_TEST_MAIN(
    FL_TEST(test_awspath_plain_layout),
    FL_TEST(test_awspath_hive_layout),
    FL_TEST(test_awspath_file_name),
    FL_TEST(test_awspath_not_aws),
    FL_TEST(test_awspath_length_bound)
)
