#!/usr/bin/env bash
# GET /metrics as a real Prometheus lives with it: promtool accepts the
# exposition; flowlake_build_info and process_start_time_seconds are there;
# metrics.prometheus_max_series bounds each metric's series, keeping the
# largest values and counting what it left out; and a real Prometheus
# server on loopback scrapes flowlake and stores a final window value at
# its window's end, not at the scrape.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
cd "$TMP"
A=$TMP/archive
PROMBIN=$ROOT/.deps/prometheus/usr/bin
command -v curl >/dev/null || { echo "curl is required"; exit 1; }
[ -x "$PROMBIN/promtool" ] || { echo "promtool missing: run scripts/bootstrap.sh --test"; exit 1; }

now=$(date +%s)
# A 15-minute window that is final once a record 15 minutes after its end
# arrives (metrics.allowed_lateness defaults to 900 s): recent, so that
# Prometheus takes its timestamp (it drops samples older than about 1 h).
w0=$(( (now - 3600) / 900 * 900 ))
line() {   # line START ACTION PROTOCOL PACKETS
    echo "2 123456789012 eni-p 10.0.0.1 10.0.0.2 40000 22 $3 $4 100 $1 $(( $1 + 5 )) $2 OK"
}

start_server --set metrics.prometheus_max_series=3
{
    line $((w0 + 10)) REJECT 6 300
    line $((w0 + 20)) REJECT 17 40
    line $((w0 + 30)) REJECT 1 7
    line $((w0 + 2000)) ACCEPT 6 1      # the watermark passes w0's window
} | curl -s -o /dev/null --data-binary @- "$URL/ingest"
for _ in $(seq 1 100); do
    curl -s "$URL/metrics" > prom.txt
    grep -q '^flowlake_window_rejected_tcp_packets{final="true"}' prom.txt && break
    sleep 0.1
done
"$PROMBIN/promtool" check metrics < prom.txt > promtool.out 2>&1; st=$?
expect_status "promtool check metrics accepts GET /metrics" 0 $st
[ $st -eq 0 ] || cat promtool.out
expect_eq "the final value, stamped at its window's end (ms)" \
    "$(grep '^flowlake_window_rejected_tcp_packets{final="true"}' prom.txt)" \
    "flowlake_window_rejected_tcp_packets{final=\"true\"} 300 $(( (w0 + 900) * 1000 ))"
expect_contains "flowlake_build_info" "$(cat prom.txt)" 'flowlake_build_info{version="'
start=$(sed -n 's/^process_start_time_seconds \([0-9]*\)\..*/\1/p' prom.txt)
[ -n "$start" ] && [ "$start" -ge $((now - 60)) ] && [ "$start" -le "$(date +%s)" ] &&
    ok "process_start_time_seconds is this server's start ($start)" ||
    fail "process_start_time_seconds" "got '$start', now $now"
# Three metrics, max_series 3: one sample each. By protocol, three final
# series (6, 17, 1): the largest stays, two are counted as left out.
expect_eq "max_series: one series of rejected_packets_by_protocol, the largest" \
    "$(grep '^flowlake_window_rejected_packets_by_protocol{' prom.txt)" \
    "flowlake_window_rejected_packets_by_protocol{protocol=\"6\",final=\"true\"} 300 $(( (w0 + 900) * 1000 ))"
expect_contains "max_series: what was left out is counted" "$(cat prom.txt)" \
    'flowlake_prometheus_omitted_series{metric="rejected_packets_by_protocol"} 2'
expect_eq "no more window twins" "$(grep -c '_window_start_seconds' prom.txt)" "0"

# A real Prometheus scrapes it every second.
PPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > prometheus.yml <<EOF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: flowlake
    static_configs:
      - targets: ['127.0.0.1:$PORT']
EOF
"$PROMBIN/prometheus" --config.file=prometheus.yml --storage.tsdb.path=tsdb \
    --web.listen-address="127.0.0.1:$PPORT" >prometheus.log 2>&1 &
PROM=$!
pq() {   # pq QUERY [TIME] -> the first value, or ""
    curl -s -G "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1" \
        ${2:+--data-urlencode "time=$2"} |
        sed -n 's/.*"value":\[[0-9.]*,"\([^"]*\)"\].*/\1/p'
}
for _ in $(seq 1 150); do
    [ "$(pq 'up{job="flowlake"}')" = "1" ] && break
    sleep 0.2
done
expect_eq "Prometheus scrapes flowlake (up == 1)" "$(pq 'up{job="flowlake"}')" "1"
expect_eq "... and stores flowlake_build_info" "$(pq 'flowlake_build_info')" "1"
# The final value sits at the window's end: an instant query just after it
# finds it; one just before the window's end does not (with the lookback
# of 5 minutes, a sample stamped at the scrape would be found by neither).
expect_eq "... the final window value at its window's end" \
    "$(pq 'flowlake_window_rejected_tcp_packets{final="true"}' $((w0 + 901)))" "300"
expect_eq "... and not before it" \
    "$(pq 'flowlake_window_rejected_tcp_packets{final="true"}' $((w0 + 899)))" ""
kill "$PROM"; wait "$PROM" 2>/dev/null
kill -TERM "$PID"; wait "$PID"

# Label values are escaped as the text format says (\" and \\), and the
# exposition still passes promtool; of two open windows of a series, the
# newer one is the provisional sample.
cat > eni.sql <<'EOF'
CREATE METRIC packets_by_eni AS
  SELECT interface_id, SUM(packets) FROM flows
  GROUP BY interface_id, TUMBLE(start, INTERVAL '15' MINUTE);
EOF
A=$TMP/archive2     # a fresh watermark
start_server --set metrics.file="$TMP/eni.sql" --set metrics.defaults=false
printf '2 123456789012 %s 10.0.0.1 10.0.0.2 1 2 6 %s 100 %s %s ACCEPT OK\n' \
    'eni-q"uote' 5 $((w0 + 10)) $((w0 + 15)) 'eni-back\slash' 7 $((w0 + 10)) $((w0 + 15)) \
    'eni-q"uote' 9 $((w0 + 1000)) $((w0 + 1005)) \
    | curl -s -o /dev/null --data-binary @- "$URL/ingest"
for _ in $(seq 1 100); do
    curl -s "$URL/metrics" > prom2.txt
    [ "$(grep -c '^flowlake_window_packets_by_eni{' prom2.txt)" = 2 ] && break
    sleep 0.1
done
expect_eq "label values escaped" "$(grep '^flowlake_window_packets_by_eni{' prom2.txt | sort)" \
'flowlake_window_packets_by_eni{interface_id="eni-back\\slash",final="false"} 7
flowlake_window_packets_by_eni{interface_id="eni-q\"uote",final="false"} 9'
"$PROMBIN/promtool" check metrics < prom2.txt > promtool2.out 2>&1
expect_status "promtool accepts escaped labels" 0 $?
kill -TERM "$PID"; wait "$PID"

finish
