/* SPDX-License-Identifier: MIT
 *
 * kafka_mock.c -- a Kafka cluster for the integration tests, with no
 * broker installed: librdkafka's built-in mock cluster (rdkafka_mock.h),
 * held by this process and reached over TCP like a real one.
 *
 * usage: kafka_mock TOPIC PARTITIONS
 *
 * Creates a 3-broker mock cluster and TOPIC with PARTITIONS partitions,
 * prints "bootstrap HOST:PORT,..." on stdout, then reads commands from
 * stdin, one per line, answering each on stdout:
 *
 *   produce FILE   each line of FILE becomes one message, line i going
 *                  to partition i % PARTITIONS; answers "produced N"
 *                  once every message is acknowledged by the cluster
 *   consume N      reads N messages of TOPIC with a bare consumer of its
 *                  own (a new group, from the earliest offset, doing
 *                  nothing with them) and answers "consumed N in S s":
 *                  the cluster's own pace, for the benchmarks
 *   fail_commits CODE N
 *                  the next N offset commits of any consumer are answered
 *                  with Kafka error CODE (22 ILLEGAL_GENERATION: refused;
 *                  7 REQUEST_TIMED_OUT: no answer); answers "failing N"
 *
 * It ends (and the cluster with it) at end of input.
 */
#include "../../src/core/fl_config.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


static int
produce_file(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int partitions,
             const char *path, long *out_n)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long n = 0;
    if (f == NULL)
        return -1;
    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] == '\n')
            len--;
        while (rd_kafka_produce(rkt, (int32_t)(n % partitions),
                                RD_KAFKA_MSG_F_COPY, line, (size_t)len, NULL,
                                0, NULL) != 0) {
            if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                free(line);
                fclose(f);
                return -1;
            }
            rd_kafka_poll(rk, 100);
        }
        rd_kafka_poll(rk, 0);
        n++;
    }
    free(line);
    fclose(f);
    *out_n = n;
    return rd_kafka_flush(rk, 60000) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}


static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}


/* Reads want messages of topic from the start in a group of its own;
 * *secs from the first message to the last. */
static int
consume(const char *bootstraps, const char *topic, long want, double *secs)
{
    char err[512], group[64];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    snprintf(group, sizeof group, "bare-%ld", (long)now_s());
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err,
                          sizeof err) != RD_KAFKA_CONF_OK
        || rd_kafka_conf_set(conf, "group.id", group, err, sizeof err)
               != RD_KAFKA_CONF_OK
        || rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err,
                             sizeof err) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (rk == NULL)
        return -1;
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(t, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, t);
    rd_kafka_topic_partition_list_destroy(t);
    rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(rk);
    rd_kafka_message_t *msgs[1024];
    long got = 0;
    double t0 = 0;
    while (got < want) {
        ssize_t n = rd_kafka_consume_batch_queue(q, 1000, msgs, 1024);
        for (ssize_t i = 0; i < n; i++) {
            if (msgs[i]->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                if (got++ == 0)
                    t0 = now_s();
            }
            rd_kafka_message_destroy(msgs[i]);
        }
    }
    *secs = now_s() - t0;
    rd_kafka_queue_destroy(q);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return 0;
}


/* "CODE N": the next N OffsetCommit requests fail with CODE. */
static int
fail_commits(rd_kafka_mock_cluster_t *mc, const char *args, long *n)
{
    char *end;
    long code = strtol(args, &end, 10);
    *n = strtol(end, &end, 10);
    if (code <= 0 || *n <= 0 || *n > 100 || *end != '\0')
        return -1;
    rd_kafka_resp_err_t errs[100];
    for (long i = 0; i < *n; i++)
        errs[i] = (rd_kafka_resp_err_t)code;
    rd_kafka_mock_push_request_errors_array(mc, 8 /* OffsetCommit */,
                                            (size_t)*n, errs);
    return 0;
}


int
main(int argc, char **argv)
{
    char err[512];
    if (argc != 3 || atoi(argv[2]) < 1) {
        fprintf(stderr, "usage: kafka_mock TOPIC PARTITIONS\n");
        return 2;
    }
    const char *topic = argv[1];
    int partitions = atoi(argv[2]);

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "test.mock.num.brokers", "3", err,
                          sizeof err) != RD_KAFKA_CONF_OK
        || rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof err)
               != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "kafka_mock: %s\n", err);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk == NULL) {
        fprintf(stderr, "kafka_mock: %s\n", err);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(rk);
    if (mc == NULL
        || rd_kafka_mock_topic_create(mc, topic, partitions, 3)
               != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "kafka_mock: cannot create the mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    printf("bootstrap %s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    char cmd[4096];
    int status = 0;
    while (fgets(cmd, sizeof cmd, stdin) != NULL) {
        cmd[strcspn(cmd, "\n")] = '\0';
        long n = 0;
        double secs;
        if (strncmp(cmd, "produce ", 8) == 0
            && produce_file(rk, rkt, partitions, cmd + 8, &n) == 0) {
            printf("produced %ld\n", n);
        } else if (strncmp(cmd, "consume ", 8) == 0
                   && (n = strtol(cmd + 8, NULL, 10)) > 0
                   && consume(rd_kafka_mock_cluster_bootstraps(mc), topic, n,
                              &secs) == 0) {
            printf("consumed %ld in %.3f s\n", n, secs);
        } else if (strncmp(cmd, "fail_commits ", 13) == 0
                   && fail_commits(mc, cmd + 13, &n) == 0) {
            printf("failing %ld\n", n);
        } else {
            printf("error %s\n", cmd);
            status = 1;
        }
        fflush(stdout);
    }
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return status;
}
