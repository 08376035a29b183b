#!/usr/bin/env bash
# Kafka -> archive: how fast does `flowlake serve` consume a topic, against
# its own HTTP ingest rate? RECORDS flow-log lines (one per message, as
# Fluent Bit's and Vector's Kafka outputs write them) are produced into
# librdkafka's mock cluster (build/tools/kafka_mock, a 3-broker cluster in
# one process on this machine) over PARTITIONS partitions before the server
# starts; then the server consumes them, every batch made durable in the
# WAL before its offsets are committed, and the time from start to the
# last record visible in POST /api/query is taken. Printed: records/s,
# the server's CPU per record, its peak RSS; then bench/run_ingest.sh runs
# for the HTTP rate of the same build, and the ratio is printed.
#
# The mock cluster shares the two cores with the server (a real broker
# would not): the figure is a floor.
#
# The mock cluster keeps only so much per partition and drops older
# messages: with 8 partitions, a consumer found 332,804 of 2 M produced
# (about 4.8 MB of messages per partition). 64 partitions hold the default
# 2 M records; the script checks that every one arrives.
#
# SKIP_HTTP=1 leaves out the HTTP run; SERVE_ARGS='--set ...' tunes the
# server (kafka.batch_records, say).
#
# usage: bench/run_kafka.sh [RECORDS] [PARTITIONS]   (2000000, 64)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000000}
PARTS=${2:-64}
make -s -j2 flowlake build/tools/kafka_mock build/bench/bench_ingest
out=$(mktemp -d)
trap 'kill -KILL ${PID:-} ${MPID:-} 2>/dev/null || true; rm -rf "$out"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

./flowlake generate --seed 41 --records "$N" --start 2024-05-01 --span 1d -o "$out/m.log"
mkfifo "$out/ctl"
build/tools/kafka_mock flows "$PARTS" <"$out/ctl" >"$out/mock.out" 2>"$out/mock.err" &
MPID=$!
exec 9>"$out/ctl"
for _ in $(seq 1 100); do grep -q '^bootstrap' "$out/mock.out" && break; sleep 0.05; done
brokers=$(sed -n 's/^bootstrap //p' "$out/mock.out")
t0=$(date +%s.%N)
echo "produce $out/m.log" >&9
until grep -q '^produced' "$out/mock.out"; do sleep 0.2; done
echo "produced $N messages into $PARTS partitions in $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-5) s"

t0=$(date +%s.%N)
./flowlake serve --listen 127.0.0.1:0 --archive "$out/archive" --set server.threads=8 \
    --set archive.buffer_size=32MiB --set archive.buffer_interval=60s \
    --set "kafka.brokers=$brokers" --set kafka.topics=flows ${SERVE_ARGS:-} \
    >"$out/serve.out" 2>"$out/serve.err" &
PID=$!
for _ in $(seq 1 200); do grep -q 'listening on' "$out/serve.out" 2>/dev/null && break; sleep 0.05; done
url=http://127.0.0.1:$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\),.*/\1/p' "$out/serve.out")
until grep -q 'kafka: assigned' "$out/serve.err"; do sleep 0.01; done
ta=$(date +%s.%N)
mcpu0=$(awk '{print $14 + $15}' /proc/$MPID/stat)
until [ "$(curl -s "$url/api/status" | sed -n 's/.*"kafka":{"requests":[0-9]*,"records":\([0-9]*\).*/\1/p')" = "$N" ]; do
    sleep 0.05
done
t1=$(date +%s.%N)
mcpu1=$(awk '{print $14 + $15}' /proc/$MPID/stat)
secs=$(echo "$t1 - $ta" | bc)
echo "joining the group took $(echo "$ta - $t0" | bc | cut -c1-5) s (the mock cluster's initial rebalance delay is 3 s)"
cpu=$(awk '{print $14 + $15}' /proc/$PID/stat)
tck=$(getconf CLK_TCK)
rate=$(echo "$N / $secs" | bc)
echo "kafka -> WAL: $N records in $(echo "$secs" | cut -c1-5) s from the partitions' assignment to the last one durable: $rate records/s;" \
     "server CPU $(echo "scale=2; $cpu * 1000000 / $tck / $N" | bc) us per record; peak RSS $(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' /proc/$PID/status)"
echo "the mock cluster's own CPU meanwhile: $(echo "scale=2; ($mcpu1 - $mcpu0) / $tck" | bc) s of the $(echo "$secs * $(nproc)" | bc | cut -c1-5) core-seconds"
visible=$(curl -s -X POST --data-binary "SELECT count(*) FROM flow_logs" "$url/api/query?format=csv" | tail -n 1)
kill -TERM "$PID"; wait "$PID"
got=$(./flowlake query --archive "$out/archive" --output csv "SELECT count(*) FROM flow_logs" | tail -n 1)
echo "visible to queries at that moment: $visible; archive after SIGTERM: $got -- $( [ "$got" = "$N" ] && echo ok || echo WRONG)"
exec 9>&-
wait "$MPID" 2>/dev/null || true

if [ -n "${SKIP_HTTP:-}" ]; then exit 0; fi
echo "--- the HTTP rate of the same build (bench/run_ingest.sh $N 8):"
http=$( (bench/run_ingest.sh "$N" 8 2>/dev/null || true) | tee "$out/ingest.txt" | sed -n 's/.*, \([0-9]*\) records\/s,.*/\1/p')
grep -E 'records/s|us per record' "$out/ingest.txt" || true
echo "kafka / HTTP: $(echo "scale=2; $rate / $http" | bc)"
