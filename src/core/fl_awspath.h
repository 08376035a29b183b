/* SPDX-License-Identifier: MIT
 *
 * fl_awspath.h -- what the path of a flow-log file says about where its
 * records came from: the account and region of the S3 key AWS delivered
 * it under, and the UTC day of the delivery.
 *
 * AWS writes flow logs to S3 under one of two prefixes
 * (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-path.html):
 *
 *   .../AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/<file>
 *   .../AWSLogs/aws-account-id=<account>/aws-service=vpcflowlogs/
 *       aws-region=<region>/year=YYYY/month=MM/day=DD/hour=HH/<file>
 *       (with "Hive-compatible S3 prefixes" on)
 *
 * and names each file
 *   <account>_vpcflowlogs_<region>_<flow-log-id>_<YYYYMMDDTHHmmZ>_<hash>.log.gz
 *
 * The folders are read first; the file name fills what they did not give
 * (a file copied out of its folders still names its account and region).
 * An account is 12 digits; a region is 1 to 31 of [a-z0-9-]. Anything
 * else is "not an AWS path" rather than a guess.
 *
 * Thread: any (no state).
 */
#ifndef FL_AWSPATH_H
#define FL_AWSPATH_H

#include <stddef.h>

struct fl_awspath {
    char        account[13];    /* "" when the path does not say */
    char        region[32];     /* "" when the path does not say */
    /* The day of the folders (YYYY/MM/DD, or year=/month=/day=) after
     * the region, else of the file name's time: YYYYMMDD, or 0 when the
     * path does not say. AWS files a delivery under the day it was
     * written, so a day's files of every account and region belong
     * together (convert groups them into one COPY). */
    unsigned    day;
    /* Offset of "AWSLogs/" in the path (the S3 key from there on), or -1
     * when the path has no AWSLogs folder. */
    long        awslogs_at;
};

/* Reads path[0..len). Always fills *out; returns 1 when an account or a
 * region was found, else 0. out->day is set only with them: digits in a
 * folder name alone are no AWS path. */
int fl_awspath_parse(const char *path, size_t len, struct fl_awspath *out);

#endif /* FL_AWSPATH_H */
