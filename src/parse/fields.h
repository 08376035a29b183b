/* SPDX-License-Identifier: MIT
 *
 * fields.h -- the VPC flow log field catalogue (versions 2 to 8).
 *
 * One row per field AWS documents
 * (https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html), in
 * AWS's table order, so that the first 14 rows are the default v2 format.
 * Each field has its AWS name (as written in ${...} and in S3 header lines),
 * its SQL/Parquet column name ("-" replaced by "_"), the flow-log version
 * that introduced it, and the Parquet type AWS gives it (INT_32, INT_64 or
 * STRING). Every record batch and every Parquet file carries all of these
 * columns, NULL where a format does not include them, so that one schema
 * serves every version.
 */
#ifndef FL_FIELDS_H
#define FL_FIELDS_H

#include <stddef.h>

enum fl_type {
    FL_TYPE_INT32,
    FL_TYPE_INT64,
    FL_TYPE_STRING
};

enum fl_field_id {
    FL_F_VERSION = 0,
    FL_F_ACCOUNT_ID,
    FL_F_INTERFACE_ID,
    FL_F_SRCADDR,
    FL_F_DSTADDR,
    FL_F_SRCPORT,
    FL_F_DSTPORT,
    FL_F_PROTOCOL,
    FL_F_PACKETS,
    FL_F_BYTES,
    FL_F_START,
    FL_F_END,
    FL_F_ACTION,
    FL_F_LOG_STATUS,
    FL_F_VPC_ID,
    FL_F_SUBNET_ID,
    FL_F_INSTANCE_ID,
    FL_F_TCP_FLAGS,
    FL_F_TYPE,
    FL_F_PKT_SRCADDR,
    FL_F_PKT_DSTADDR,
    FL_F_REGION,
    FL_F_AZ_ID,
    FL_F_SUBLOCATION_TYPE,
    FL_F_SUBLOCATION_ID,
    FL_F_PKT_SRC_AWS_SERVICE,
    FL_F_PKT_DST_AWS_SERVICE,
    FL_F_FLOW_DIRECTION,
    FL_F_TRAFFIC_PATH,
    FL_F_ECS_CLUSTER_ARN,
    FL_F_ECS_CLUSTER_NAME,
    FL_F_ECS_CONTAINER_INSTANCE_ARN,
    FL_F_ECS_CONTAINER_INSTANCE_ID,
    FL_F_ECS_CONTAINER_ID,
    FL_F_ECS_SECOND_CONTAINER_ID,
    FL_F_ECS_SERVICE_NAME,
    FL_F_ECS_TASK_DEFINITION_ARN,
    FL_F_ECS_TASK_ARN,
    FL_F_ECS_TASK_ID,
    FL_F_REJECT_REASON,
    FL_FIELD_COUNT
};

/* Number of fields in the default (version 2) format. */
#define FL_DEFAULT_FIELD_COUNT 14

struct fl_field_def {
    const char  *aws_name;   /* "account-id" */
    const char  *sql_name;   /* "account_id" */
    int          version;    /* flow-log version that introduced it */
    enum fl_type type;
};

/* The catalogue, indexed by enum fl_field_id. */
const struct fl_field_def *fl_field_get(int id);

/* Finds a field by its AWS name ("pkt-srcaddr") or its SQL name
 * ("pkt_srcaddr"), ignoring ASCII case (AWS documents lower case, but
 * ${Version} in a hand-written format means the same field). Returns the
 * fl_field_id, or -1 when the name is not a known field. */
int fl_field_lookup(const char *name, size_t len);

/* Largest value an INT32 field accepts (all are unsigned on the wire):
 * 65535 for the ports, 255 for protocol (an IANA protocol number),
 * tcp-flags (one TCP header byte) and traffic-path (AWS documents codes
 * 1 to 8); INT32_MAX for version and for non-INT32 fields. */
int fl_field_max(int id);

/* SQL type name of a field type: "INTEGER", "BIGINT" or "VARCHAR". */
const char *fl_type_sql(enum fl_type type);

#endif /* FL_FIELDS_H */
