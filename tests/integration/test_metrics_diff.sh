#!/usr/bin/env bash
# The differential test of the stream engine: several generated
# inputs, shuffled, cut into requests sent concurrently (so out of order),
# with a kill -9 of the server in the middle of the windows. Afterwards
# every final value of every metric must equal what DuckDB computes with
# GROUP BY over the same records in the archive, for the same windows --
# exactly. DuckDB is the oracle.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
A=$TMP/archive

# Every aggregate, every kind of predicate, both event times, one metric
# with several aggregates (named METRIC_ALIAS), windows of 5, 10, 15 min.
cat > metrics.sql <<'EOF'
-- flows per destination port, 5-minute windows on start
CREATE METRIC flows_by_dstport AS
  SELECT dstport, COUNT(*) FROM flows GROUP BY dstport, TUMBLE(start, INTERVAL '5' MINUTE);
CREATE METRIC traffic AS
  SELECT action, SUM(bytes) AS bytes, MIN(bytes) AS min_bytes, MAX(bytes) AS max_bytes,
         AVG(packets) AS avg_packets, COUNT(bytes) AS with_bytes
  FROM flows WHERE protocol IN (6, 17) GROUP BY action, STEP(flows.start BY INTERVAL '10' MINUTE);
CREATE METRIC sources_per_destination AS
  SELECT dstaddr, COUNT(DISTINCT srcaddr) FROM flows
  WHERE cidr_contains('10.0.0.0/8', dstaddr) GROUP BY dstaddr, TUMBLE(start, INTERVAL '15' MINUTE);
CREATE METRIC odd_flows AS
  SELECT protocol, COUNT(*) FROM flows
  WHERE NOT (dstport BETWEEN 1024 AND 65535) OR log_status <> 'OK' OR srcport IS NULL
  GROUP BY protocol, TUMBLE(start, INTERVAL '15' MINUTE);
CREATE METRIC packets_by_end AS
  SELECT protocol, SUM(packets) FROM flows GROUP BY protocol, TUMBLE("end", INTERVAL '15' MINUTE);
EOF

serve() {
    start_server --set metrics.file=metrics.sql --set metrics.allowed_lateness=2d \
        --set metrics.persist_interval=1s --set archive.buffer_interval=1h
}
send() {   # send CHUNK-FILES...: 4 concurrent senders
    printf '%s\n' "$@" | xargs -P 4 -I{} curl -s -o /dev/null -w '%{http_code}\n' \
        --data-binary @{} "$URL/ingest" | sort | uniq -c | awk '{print $2 ":" $1}' | tr '\n' ' '
}

# Three inputs: overlapping time ranges, different seeds and sizes.
"$FLOWLAKE" generate --seed 11 --records 20000 --start 2024-05-01T00:00:00Z --span 2h > in1.log
"$FLOWLAKE" generate --seed 12 --records 15000 --start 2024-05-01T01:30:00Z --span 3h > in2.log
"$FLOWLAKE" generate --seed 13 --records 8000 --start 2024-05-01T00:07:00Z --span 45m > in3.log
cat in1.log in2.log in3.log | shuf --random-source=<(yes flowlake) > all.log
TOTAL=$(wc -l < all.log)
split -l 700 -d -a 3 all.log chunk.
CHUNKS=(chunk.*)
HALF=$(( ${#CHUNKS[@]} / 2 ))

serve
got=$(send "${CHUNKS[@]:0:$HALF}")
expect_eq "first half acknowledged" "$got" "200:$HALF "
sleep 1.5       # at least one metric-state save in between
kill -9 "$PID"; wait "$PID" 2>/dev/null
serve
got=$(send "${CHUNKS[@]:$HALF}")
expect_eq "second half acknowledged after kill -9" "$got" "200:$(( ${#CHUNKS[@]} - HALF )) "

# A record days later moves the watermark past every window above.
echo "2 999999999999 eni-pusher 10.9.9.9 10.9.9.8 1 2 6 1 1 1715000000 1715000001 ACCEPT OK" > pusher.log
curl -s -o /dev/null --data-binary @pusher.log "$URL/ingest"
sleep 1.5
# A record for a window that is final by now: late, counted, archived.
echo "2 999999999999 eni-late 10.9.9.9 10.9.9.8 1 2 6 1 1 1714521600 1714521601 ACCEPT OK" > late.log
curl -s -o /dev/null --data-binary @late.log "$URL/ingest"
for _ in $(seq 1 50); do
    curl -s "$URL/metrics" > prom.txt
    grep -q 'flowlake_late_records_total{metric="flows_by_dstport"} 1' prom.txt && break
    sleep 0.1
done
expect_contains "the late record is counted per metric" "$(cat prom.txt)" \
    'flowlake_late_records_total{metric="flows_by_dstport"} 1'
expect_contains "GET /api/status counts late records too" \
    "$(curl -s "$URL/api/status" | grep -o '"late_records":[1-9][0-9]*')" '"late_records":'
kill -TERM "$PID"; wait "$PID"
expect_status "SIGTERM after ingestion exits 0" 0 $?

q() { "$FLOWLAKE" query --archive "$A" --output csv "$1" | tail -n +2; }
expect_eq "the archive holds every record exactly once" \
    "$(q "SELECT count(*) FROM flow_logs")" "$((TOTAL + 2))"

# check LABEL METRIC TIMECOL WINDOW "dims" "AGG" "WHERE": the engine's
# final values against DuckDB's GROUP BY, window by window, group by group.
check() {
    local label=$1 metric=$2 tcol=$3 w=$4 dims=$5 agg=$6 where=$7 d
    local osel="" msel="" on=""
    for d in $dims; do
        osel+="CAST(\"$d\" AS VARCHAR) AS $d, "
        msel+="dimensions['$d'] AS $d, "
        on+=" AND o.$d IS NOT DISTINCT FROM m.$d"
    done
    local ctes="
WITH o AS (
  SELECT $osel make_timestamp(CAST(floor(epoch(\"$tcol\") / $w) AS BIGINT) * $w * 1000000) AS ws,
         CAST($agg AS DOUBLE) AS v
  FROM flow_logs
  WHERE \"$tcol\" IS NOT NULL AND account_id <> '999999999999' AND ($where)
  GROUP BY ALL),
m AS (
  SELECT $msel window_start AS ws, value AS v, final
  FROM vpc_flow_logs.metrics
  WHERE metric = '$metric' AND window_start < TIMESTAMP '2024-05-05'),
d AS (SELECT o.*, m.* FROM o FULL JOIN m ON o.ws = m.ws $on
      WHERE o.v IS DISTINCT FROM m.v OR o.ws IS NULL OR m.ws IS NULL)"
    local got
    got=$(q "$ctes SELECT (SELECT count(*) FROM o) > 5, (SELECT count(*) FROM m WHERE NOT final), (SELECT count(*) FROM d)" 2>&1)
    expect_eq "$label: every final value equals DuckDB's GROUP BY" "$got" "true,0,0"
    [ "$got" = "true,0,0" ] || q "$ctes SELECT * FROM d LIMIT 5" 2>&1 | head -6
}
check "COUNT(*) by dstport" flows_by_dstport start 300 "dstport" "count(*)" "true"
check "SUM" traffic_bytes start 600 "action" "sum(bytes)" "protocol IN (6, 17)"
check "MIN" traffic_min_bytes start 600 "action" "min(bytes)" "protocol IN (6, 17)"
check "MAX" traffic_max_bytes start 600 "action" "max(bytes)" "protocol IN (6, 17)"
check "AVG" traffic_avg_packets start 600 "action" "avg(packets)" "protocol IN (6, 17)"
check "COUNT(col)" traffic_with_bytes start 600 "action" "count(bytes)" "protocol IN (6, 17)"
check "COUNT(DISTINCT) with a CIDR predicate" sources_per_destination start 900 "dstaddr" \
    "count(DISTINCT srcaddr)" "cidr_contains('10.0.0.0/8', dstaddr)"
check "NOT / BETWEEN / OR / IS NULL with NULLs" odd_flows start 900 "protocol" "count(*)" \
    "NOT (dstport BETWEEN 1024 AND 65535) OR log_status <> 'OK' OR srcport IS NULL"
check "windows on end" packets_by_end end 900 "protocol" "sum(packets)" "true"
check "built-in rejected_tcp_packets" rejected_tcp_packets start 900 "" "sum(packets)" \
    "action = 'REJECT' AND protocol = 6"
check "built-in rejected_packets_by_protocol" rejected_packets_by_protocol start 900 "protocol" \
    "sum(packets)" "action = 'REJECT'"
expect_eq "COUNT(DISTINCT) below the limit says exact" \
    "$(q "SELECT bool_and(exact) FROM metrics WHERE metric = 'sources_per_destination'")" "true"

finish
