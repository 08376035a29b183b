/* SPDX-License-Identifier: MIT
 *
 * kafka.h -- the Kafka source (kafka.brokers): a consumer in the group
 * kafka.group reading kafka.topics, whose messages are flow-log lines or
 * CloudWatch Logs subscription payloads (kafka.format). Offsets are
 * committed only once the messages' records are durable in the write-ahead
 * log, and every message's topic/partition/offset is remembered (its own
 * dedupe memory, saved with the log), so that what Kafka delivers again --
 * after a crash, a restart or a rebalance back to this instance -- is
 * stored once. kafka.c says how; docs/kafka.md what it guarantees.
 */
#ifndef FL_KAFKA_H
#define FL_KAFKA_H

#include "source.h"

struct fl_kafka;

/* Starts the consumer thread over env->cfg's kafka.* keys; env is copied
 * (its dedupe must be the Kafka memory: fl_pipeline_dedupe_for). Returns
 * 0, or <0 with err set (a bad setting librdkafka refuses, no topic). */
int  fl_kafka_start(const struct fl_source_env *env, struct fl_kafka **out,
                    struct fl_err *err);

/* Waits for the thread to end (env->running has turned 0: what was read
 * and not yet durable is left to Kafka, uncommitted), leaves the group
 * and frees it. NULL: no-op. */
void fl_kafka_stop(struct fl_kafka *k);

#endif /* FL_KAFKA_H */
