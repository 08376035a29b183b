#!/usr/bin/env bash
# Streaming metrics and alarms on the real server: data in through
# /firehose, metrics out through GET /metrics (Prometheus), GET /api/metrics
# and SQL, an alarm firing a webhook to a receiver on loopback that fails
# once and then succeeds, alarm state and history across a restart, and a
# "no data arriving" alarm.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SINK=$ROOT/${BUILD:-build}/tools/http_sink
cd "$TMP"
A=$TMP/archive
KEY=k3y

"$SINK" sink.port hooks.txt 1 &
SINK_PID=$!
for _ in $(seq 1 100); do [ -s sink.port ] && break; sleep 0.05; done
HOOK=http://127.0.0.1:$(cat sink.port)/hook

cat > flowlake.ini <<EOF
[metrics]
file = $TMP/metrics.sql
allowed_lateness = 0s
persist_interval = 1s

[archive]
buffer_interval = 1h

[alarm.tcp_rejects]
description = rejected TCP packets above 100 in a 15-minute window
metric = rejected_tcp_packets
comparison = GreaterThanThreshold
threshold = 100
evaluation_periods = 1
webhook = $HOOK
webhook_backoff = 100ms
command = printf '%s %s>%s\n' "\$FLOWLAKE_ALARM" "\$FLOWLAKE_OLD_STATE" "\$FLOWLAKE_NEW_STATE" >> $TMP/commands.txt

[alarm.udp_rejects]
metric = rejected_packets_by_protocol
dimensions = protocol=17
comparison = >=
threshold = 1
evaluation_periods = 3
datapoints_to_alarm = 2

[alarm.no_data]
metric = heartbeat
comparison = LessThanThreshold
threshold = 1
treat_missing_data = breaching
evaluation_range = 1
EOF
cat > metrics.sql <<'EOF'
-- records per 1-second window of arrival: a quick "no data arriving" signal
CREATE METRIC heartbeat AS SELECT COUNT(*) FROM flows GROUP BY TUMBLE(arrival, INTERVAL '1' SECOND);
EOF

serve() { start_server --config flowlake.ini --set firehose.access_key=$KEY; }
# firehose ID LINES-FILE: one Firehose request whose record is a gzip'd
# CloudWatch Logs payload with one event per line.
firehose() {
    local id=$1 f=$2 i=0 sep=""
    {
        printf '{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"vpc","logStream":"eni","subscriptionFilters":["f"],"logEvents":['
        while IFS= read -r l; do
            i=$((i + 1))
            printf '%s{"id":"%s-%d","timestamp":1714521600000,"message":"%s"}' "$sep" "$id" "$i" "$l"
            sep=","
        done < "$f"
        printf ']}'
    } | gzip -c | base64 -w0 > rec.b64
    printf '{"requestId":"%s","timestamp":1714521600000,"records":[{"data":"%s"}]}' "$id" "$(cat rec.b64)" > req.json
    curl -s -o /dev/null -w '%{http_code}' -H "X-Amz-Firehose-Request-Id: $id" \
        -H "X-Amz-Firehose-Access-Key: $KEY" -H 'Content-Type: application/json' \
        --data-binary @req.json "$URL/firehose"
}
line() {   # line START ACTION PROTOCOL PACKETS
    echo "2 123456789012 eni-0a1 10.0.0.5 10.0.1.9 40001 22 $3 $4 $(( $4 * 60 )) $1 $(( $1 + 30 )) $2 OK"
}
wait_for() {   # wait_for FILE PATTERN [tries]
    for _ in $(seq 1 "${3:-100}"); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    return 1
}
sq() { "$FLOWLAKE" query --server "$URL" --output csv "$1" | tail -n +2; }

serve
alarm_state() {   # alarm_state NAME -> its state from GET /api/alarms
    curl -s "$URL/api/alarms" | tr -d '\n' | grep -o "\"name\":\"$1\".*" |
        grep -o '"state":"[A-Z_]*"' | head -1
}
expect_eq "no data yet: an alarm starts in INSUFFICIENT_DATA" \
    "$(alarm_state tcp_rejects)" '"state":"INSUFFICIENT_DATA"'

# Window 00:00-00:15: 500 rejected TCP packets, 2 rejected UDP packets.
{
    line 1714521600 REJECT 6 300
    line 1714521700 REJECT 6 200
    line 1714521800 ACCEPT 6 999
    line 1714521900 REJECT 17 2
} > w0.log
expect_eq "Firehose delivery acknowledged" "$(firehose req-w0 w0.log)" "200"
curl -s "$URL/metrics" > prom.txt
expect_contains "provisional value on /metrics at once" "$(cat prom.txt)" \
    'flowlake_window_rejected_tcp_packets{final="false"} 500'
expect_contains "by protocol, with the dimension as a label" "$(cat prom.txt)" \
    'flowlake_window_rejected_packets_by_protocol{protocol="17",final="false"} 2'
expect_contains "own counters: records in per source" "$(cat prom.txt)" \
    'flowlake_records_in_total{source="firehose"} 4'
expect_contains "own counters: WAL bytes" "$(cat prom.txt)" 'flowlake_wal_bytes '
expect_contains "own counters: ingest lag" "$(cat prom.txt)" 'flowlake_ingest_lag_seconds '

# A record at 00:16 moves the watermark (lateness 0) past 00:15.
line 1714522560 ACCEPT 6 1 > w1.log
expect_eq "next window's record acknowledged" "$(firehose req-w1 w1.log)" "200"
# The first delivery is answered 500; the retry comes 100 ms later.
for _ in $(seq 1 100); do
    [ "$(cat hooks.txt 2>/dev/null | grep -c '"new_state":"ALARM"')" -ge 2 ] && break
    sleep 0.1
done
expect_eq "webhook: failed once (500), delivered on the retry" \
    "$(grep -c '"alarm":"tcp_rejects"' hooks.txt)" "2"
hook=$(tail -1 hooks.txt)
expect_contains "webhook body: the alarm" "$hook" '"alarm":"tcp_rejects"'
expect_contains "webhook body: old state" "$hook" '"old_state":"INSUFFICIENT_DATA"'
expect_contains "webhook body: new state" "$hook" '"new_state":"ALARM"'
expect_contains "webhook body: the value" "$hook" '500'
wait_for commands.txt 'tcp_rejects' 50
expect_eq "command action ran once with the states in its environment" \
    "$(cat commands.txt)" "tcp_rejects INSUFFICIENT_DATA>ALARM"

expect_contains "GET /api/alarms shows ALARM" "$(curl -s "$URL/api/alarms")" '"state":"ALARM"'
curl -s "$URL/metrics" > prom.txt
expect_contains "final value on /metrics, stamped at its window's end" "$(cat prom.txt)" \
    'flowlake_window_rejected_tcp_packets{final="true"} 500 1714522500000'
api=$(curl -s "$URL/api/metrics?metric=rejected_tcp_packets&from=2024-05-01T00:00:00Z&to=1714525200")
expect_contains "GET /api/metrics: the final point" "$api" \
    '{"window_start":"2024-05-01T00:00:00Z","window_end":"2024-05-01T00:15:00Z","value":500.0,"final":true'
expect_contains "GET /api/metrics lists the metrics" "$(curl -s "$URL/api/metrics")" '"name":"heartbeat"'
expect_eq "GET /api/metrics with a malformed time is 400" \
    "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/metrics?metric=rejected_tcp_packets&from=2024-13-01")" "400"
expect_contains "GET /api/metrics takes a zone offset" \
    "$(curl -s "$URL/api/metrics?metric=rejected_tcp_packets&from=2024-05-01T02:00:00%2B02:00&to=2024-05-01T00:15:00Z")" \
    '"value":500.0,"final":true'
expect_eq "GET /api/metrics of an unknown metric is 404" \
    "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/metrics?metric=nope")" "404"
expect_eq "SQL through the server: vpc_flow_logs.metrics" \
    "$(sq "SELECT value, final FROM vpc_flow_logs.metrics WHERE metric = 'rejected_packets_by_protocol' AND dimensions['protocol'] = '17' AND window_start = TIMESTAMP '2024-05-01 00:00:00'")" \
    "2.0,true"
expect_eq "SQL through the server: vpc_flow_logs.alarm_history" \
    "$(sq "SELECT alarm, old_state, new_state FROM vpc_flow_logs.alarm_history WHERE alarm = 'tcp_rejects'")" \
    "tcp_rejects,INSUFFICIENT_DATA,ALARM"

# Window 00:15-00:30 has 5 rejected TCP packets (the record at 00:16 is in
# it too); a record at 00:31 makes it final: below the threshold -> OK.
line 1714522800 REJECT 6 5 > w2.log
firehose req-w2 w2.log >/dev/null
line 1714523460 ACCEPT 6 1 > w3.log
firehose req-w3 w3.log >/dev/null
wait_for hooks.txt '"new_state":"OK"' 100
expect_eq "back to OK: one more webhook" "$(grep -c '"new_state":"OK"' hooks.txt)" "1"
expect_eq "the command ran for each change" "$(cat commands.txt)" \
    "tcp_rejects INSUFFICIENT_DATA>ALARM
tcp_rejects ALARM>OK"

# The "no data arriving" alarm: heartbeat windows without records are
# missing, treated as breaching.
for _ in $(seq 1 100); do
    [ "$(alarm_state no_data)" = '"state":"ALARM"' ] && break
    sleep 0.1
done
expect_eq "no data arriving -> ALARM" "$(alarm_state no_data)" '"state":"ALARM"'
expect_contains "the change is in the history" \
    "$(sq "SELECT DISTINCT new_state FROM alarm_history WHERE alarm = 'no_data'")" "ALARM"

# Restart: state and history survive; nothing fires again.
kill -TERM "$PID"; wait "$PID"
expect_status "SIGTERM exits 0" 0 $?
before=$(wc -l < hooks.txt)
serve
sleep 1.5
expect_contains "state survives a restart" "$(curl -s "$URL/api/alarms")" '"name":"tcp_rejects"'
expect_eq "tcp_rejects still OK after restart" "$(alarm_state tcp_rejects)" '"state":"OK"'
expect_eq "no webhook fired again by the restart" "$(wc -l < hooks.txt)" "$before"
expect_eq "history kept across the restart" \
    "$(sq "SELECT old_state || '>' || new_state FROM alarm_history WHERE alarm = 'tcp_rejects' ORDER BY time, window_end")" \
    "INSUFFICIENT_DATA>ALARM
ALARM>OK"
expect_eq "final metric values kept across the restart (SQL on the archive)" \
    "$("$FLOWLAKE" query --archive "$A" --output csv "SELECT value FROM vpc_flow_logs.metrics WHERE metric = 'rejected_tcp_packets' AND final ORDER BY window_start" | tail -n +2)" \
    "500.0
5.0"
# The heartbeat's 1-second windows make a final file per save: they are
# merged by levels (10 files of a level make one of the next), so the
# folder stays small while every value stays queryable.
for i in $(seq 1 14); do
    line $((1714523460 + i)) ACCEPT 6 1 > hb.log
    firehose "req-hb-$i" hb.log >/dev/null
    sleep 1.1
done
sleep 2
files=$(ls "$A/_metrics" | grep -c '^final-.*\.parquet$')
saved=$(curl -s "$URL/api/status" | grep -o '"next_file":[0-9]*' | cut -d: -f2)
[ "$saved" -gt 12 ] && [ "$files" -lt 10 ] && ok "final files merged: $((saved - 1)) written, $files live" ||
    fail "final files merged" "$((saved - 1)) written, $files live"
expect_eq "every heartbeat window is in SQL once" \
    "$(sq "SELECT count(*) = count(DISTINCT window_start) FROM vpc_flow_logs.metrics WHERE metric = 'heartbeat'")" "true"
kill -TERM "$PID"; wait "$PID"
kill "$SINK_PID"
finish
