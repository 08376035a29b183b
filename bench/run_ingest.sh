#!/usr/bin/env bash
# The live-server benchmark: starts `flowlake serve` on loopback
# with a temporary archive, publishing to Parquet every 32 MiB of text while
# the load runs, drives it with bench_ingest (concurrent Firehose
# requests carrying CloudWatch Logs payloads, durable acks, a freshness
# probe), reports the server's peak RSS, then stops it and checks that the
# archive holds every record exactly once.
#
# usage: bench/run_ingest.sh [RECORDS] [CLIENTS]   (default 2000000 8)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000000}
CLIENTS=${2:-8}
scripts/bootstrap.sh --all >/dev/null
make -s -j"$(nproc)" flowlake build/bench/bench_ingest
out=$(mktemp -d)
trap 'kill -KILL $PID 2>/dev/null; rm -rf "$out"' EXIT
./flowlake serve --listen 127.0.0.1:0 --archive "$out/archive" --set server.threads=8 \
    --set archive.buffer_size=32MiB --set archive.buffer_interval=60s ${SERVE_ARGS:-} \
    >"$out/serve.out" 2>"$out/serve.err" &
PID=$!
for _ in $(seq 1 100); do grep -q 'listening on' "$out/serve.out" 2>/dev/null && break; sleep 0.05; done
PORT=$(sed -n 's/.*:\([0-9]*\), archive.*/\1/p' "$out/serve.out")
echo "machine: $(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
# The server's own CPU over the load (user + system, from /proc): less
# sensitive than records/s to what else the machine runs.
cpu0=$(awk '{print $14 + $15}' /proc/$PID/stat)
build/bench/bench_ingest "http://127.0.0.1:$PORT" "$N" "$CLIENTS"
cpu1=$(awk '{print $14 + $15}' /proc/$PID/stat)
tck=$(getconf CLK_TCK)
echo "server CPU during the load: $(echo "scale=2; ($cpu1 - $cpu0) / $tck" | bc) s, $(echo "scale=2; ($cpu1 - $cpu0) * 1000000 / $tck / $N" | bc) us per record (publishing included)"
status=$(curl -s "http://127.0.0.1:$PORT/api/status")
echo "server: peak RSS $(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' /proc/$PID/status); WAL $(echo "$status" | sed -n 's/.*"commits":\([0-9]*\),"syncs":\([0-9]*\).*/\1 commits, \2 fsyncs/p')"
kill -TERM "$PID"; wait "$PID"
got=$(./flowlake query --archive "$out/archive" --output csv "SELECT count(*) FROM flow_logs WHERE interface_id NOT LIKE 'eni-probe%'" | tail -1)
echo "archive after SIGTERM: $got records (sent: the figure above) -- $( [ "$got" -ge "$N" ] && echo ok || echo MISSING)"
