#!/usr/bin/env bash
# Ack -> updated provisional metric (target: <= 1 s). Starts
# `flowlake serve --demo=RATE` (generated traffic through the real ingest
# path, so the metrics thread is busy), then SAMPLES times: POST /ingest one
# rejected flow with a protocol number no other record has, note when the
# 200 arrives, and poll GET /metrics until rejected_packets_by_protocol
# shows that protocol. Prints p50 / p90 / max of the delay (an upper bound:
# it includes the polling request itself).
#
# usage: bench/run_metrics_latency.sh [SAMPLES] [DEMO_RATE]   (default 50 20000)
set -euo pipefail
cd "$(dirname "$0")/.."
SAMPLES=${1:-50}
RATE=${2:-20000}
[ "$SAMPLES" -le 50 ] || { echo "at most 50 samples (protocols 200-249)"; exit 2; }
make -s -j2 flowlake
W=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; rm -rf "$W"' EXIT
./flowlake serve --listen 127.0.0.1:0 --archive "$W/a" --demo="$RATE" >"$W/out" 2>"$W/err" &
PID=$!
for _ in $(seq 1 200); do grep -q 'listening on' "$W/out" 2>/dev/null && break; sleep 0.05; done
URL=$(sed -n 's/.*listening on \(http:[^,]*\),.*/\1/p' "$W/out")
sleep 2
echo "machine: $(nproc) cores; server with --demo=$RATE records/s of background traffic"
for i in $(seq 0 $((SAMPLES - 1))); do
    p=$((200 + i)); now=$(date +%s)
    echo "2 123456789012 eni-latency 10.0.0.1 10.0.0.2 1 2 $p 1 40 $now $now REJECT OK" >"$W/l"
    curl -s -o /dev/null --data-binary @"$W/l" "$URL/ingest"
    t0=$(date +%s%N)
    until curl -s "$URL/metrics" | grep -q "flowlake_window_rejected_packets_by_protocol{protocol=\"$p\",final=\"false\"}"; do
        [ $(( $(date +%s%N) - t0 )) -lt 10000000000 ] || { echo "protocol $p not visible after 10 s"; exit 1; }
    done
    echo $(( ($(date +%s%N) - t0) / 1000 ))
done >"$W/us"
sort -n "$W/us" | awk '{v[NR]=$1} END {
    printf "ack -> provisional metric visible on /metrics, %d samples: p50 %.1f ms, p90 %.1f ms, max %.1f ms\n",
        NR, v[int(NR*0.5)+1]/1000, v[int(NR*0.9)]/1000, v[NR]/1000 }'
