/* SPDX-License-Identifier: MIT
 *
 * fields.c -- the VPC flow log field catalogue (see fields.h).
 *
 * Types follow the Parquet types AWS documents for flow logs delivered as
 * Parquet (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3.html):
 * INT_32 for version, ports, protocol, tcp-flags
 * and traffic-path; INT_64 for packets, bytes, start and end; STRING for
 * everything else, addresses included (IPv4 and IPv6 both occur).
 */
#include "../core/fl_config.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "fields.h"

static const struct fl_field_def fields[FL_FIELD_COUNT] = {
    { "version",                    "version",                    2, FL_TYPE_INT32 },
    { "account-id",                 "account_id",                 2, FL_TYPE_STRING },
    { "interface-id",               "interface_id",               2, FL_TYPE_STRING },
    { "srcaddr",                    "srcaddr",                    2, FL_TYPE_STRING },
    { "dstaddr",                    "dstaddr",                    2, FL_TYPE_STRING },
    { "srcport",                    "srcport",                    2, FL_TYPE_INT32 },
    { "dstport",                    "dstport",                    2, FL_TYPE_INT32 },
    { "protocol",                   "protocol",                   2, FL_TYPE_INT32 },
    { "packets",                    "packets",                    2, FL_TYPE_INT64 },
    { "bytes",                      "bytes",                      2, FL_TYPE_INT64 },
    { "start",                      "start",                      2, FL_TYPE_INT64 },
    { "end",                        "end",                        2, FL_TYPE_INT64 },
    { "action",                     "action",                     2, FL_TYPE_STRING },
    { "log-status",                 "log_status",                 2, FL_TYPE_STRING },
    { "vpc-id",                     "vpc_id",                     3, FL_TYPE_STRING },
    { "subnet-id",                  "subnet_id",                  3, FL_TYPE_STRING },
    { "instance-id",                "instance_id",                3, FL_TYPE_STRING },
    { "tcp-flags",                  "tcp_flags",                  3, FL_TYPE_INT32 },
    { "type",                       "type",                       3, FL_TYPE_STRING },
    { "pkt-srcaddr",                "pkt_srcaddr",                3, FL_TYPE_STRING },
    { "pkt-dstaddr",                "pkt_dstaddr",                3, FL_TYPE_STRING },
    { "region",                     "region",                     4, FL_TYPE_STRING },
    { "az-id",                      "az_id",                      4, FL_TYPE_STRING },
    { "sublocation-type",           "sublocation_type",           4, FL_TYPE_STRING },
    { "sublocation-id",             "sublocation_id",             4, FL_TYPE_STRING },
    { "pkt-src-aws-service",        "pkt_src_aws_service",        5, FL_TYPE_STRING },
    { "pkt-dst-aws-service",        "pkt_dst_aws_service",        5, FL_TYPE_STRING },
    { "flow-direction",             "flow_direction",             5, FL_TYPE_STRING },
    { "traffic-path",               "traffic_path",               5, FL_TYPE_INT32 },
    { "ecs-cluster-arn",            "ecs_cluster_arn",            7, FL_TYPE_STRING },
    { "ecs-cluster-name",           "ecs_cluster_name",           7, FL_TYPE_STRING },
    { "ecs-container-instance-arn", "ecs_container_instance_arn", 7, FL_TYPE_STRING },
    { "ecs-container-instance-id",  "ecs_container_instance_id",  7, FL_TYPE_STRING },
    { "ecs-container-id",           "ecs_container_id",           7, FL_TYPE_STRING },
    { "ecs-second-container-id",    "ecs_second_container_id",    7, FL_TYPE_STRING },
    { "ecs-service-name",           "ecs_service_name",           7, FL_TYPE_STRING },
    { "ecs-task-definition-arn",    "ecs_task_definition_arn",    7, FL_TYPE_STRING },
    { "ecs-task-arn",               "ecs_task_arn",               7, FL_TYPE_STRING },
    { "ecs-task-id",                "ecs_task_id",                7, FL_TYPE_STRING },
    { "reject-reason",              "reject_reason",              8, FL_TYPE_STRING },
};


const struct fl_field_def *
fl_field_get(int id)
{
    if (id < 0 || id >= FL_FIELD_COUNT)
        return NULL;
    return &fields[id];
}


int
fl_field_lookup(const char *name, size_t len)
{
    for (int i = 0; i < FL_FIELD_COUNT; i++) {
        const struct fl_field_def *f = &fields[i];
        if (strlen(f->aws_name) == len
            && strncasecmp(f->aws_name, name, len) == 0)
            return i;
        if (strlen(f->sql_name) == len
            && strncasecmp(f->sql_name, name, len) == 0)
            return i;
    }
    return -1;
}


int
fl_field_max(int id)
{
    switch (id) {
    case FL_F_SRCPORT:
    case FL_F_DSTPORT:
        return 65535;
    case FL_F_PROTOCOL:
    case FL_F_TCP_FLAGS:
    case FL_F_TRAFFIC_PATH:
        return 255;
    default:
        return INT32_MAX;
    }
}


const char *
fl_type_sql(enum fl_type type)
{
    switch (type) {
    case FL_TYPE_INT32: return "INTEGER";
    case FL_TYPE_INT64: return "BIGINT";
    case FL_TYPE_STRING: break;
    }
    return "VARCHAR";
}
