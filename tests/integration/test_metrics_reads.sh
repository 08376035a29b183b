#!/usr/bin/env bash
# Metric reads answered from memory (metrics/metric_reads.c over
# metrics/metric_cache.c) give, byte for byte, the documents the SQL path
# gives: the same archive is read by a server as it runs and by one started
# with FLOWLAKE_METRICS_READ=sql, through the same reads -- series reads,
# aggregate=sum with and without top and with, open ranges, ISO times,
# ranges holding final values in store files and open windows in memory, a
# metric with NULL and 'other' dimensions (records_in, counted by arrival
# time, is compared by its totals: its window may close between the two). /api/status's reads counters
# show which path answered. A range older than the cache's horizon is
# answered through SQL by both; new store files are picked up.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
A=$TMP/archive
cat > metrics.sql <<'EOF2'
CREATE METRIC port_pairs AS
  SELECT action, dstport, COUNT(*) AS flows, SUM(bytes) AS bytes
  FROM flows
  GROUP BY action, dstport, TUMBLE(start, INTERVAL '15' MINUTE)
  ORDER BY flows DESC LIMIT 3;
EOF2
cat > flowlake.ini <<EOF2
[metrics]
file = $TMP/metrics.sql
persist_interval = 1s
EOF2

now=$(date +%s)
hour=$((now - now % 3600))
# Three days of generated flows up to this hour, in two parts, and a few
# with no action (a NULL dimension) in the hour before.
"$FLOWLAKE" generate --records 6000 --start $((hour - 3 * 86400)) --span 2d > part1.log
"$FLOWLAKE" generate --seed 2 --records 3000 --start $((hour - 86400)) --span 1d > part2.log
for i in 1 2 3; do
    echo "2 123456789012 eni-0a1 10.0.0.$i 10.9.0.1 40001 443 6 1 10 $((hour - 1800)) $((hour - 1790)) - OK"
done > nulls.log

status_reads() {   # the "reads" object of /api/status
    curl -s "$URL/api/status" | grep -o '"reads":{[^}]*}'
}
wait_files() {     # until the metric store has at least $1 files
    for _ in $(seq 1 100); do
        n=$(curl -s "$URL/api/status" | grep -o '"metric_files":[0-9]*' | cut -d: -f2)
        [ "${n:-0}" -ge "$1" ] && return 0
        sleep 0.1
    done
    return 1
}
stop_server() {
    kill "$PID"
    wait "$PID" 2>/dev/null
}

# The reads: 11 kinds over 4 ranges, as POST /api/metrics/batch bodies of
# one read each, then a few as GET.
TO=$((hour + 3600))
reads() {          # reads DIR: every answer into DIR/N.json
    mkdir -p "$1"
    local i=0 from r
    for range in 3600 86400 172800 345600; do
        from=$((TO - range))
        for r in \
            "{\"metric\":\"rejected_tcp_packets\",\"from\":$from,\"to\":$TO}" \
            "{\"metric\":\"rejected_packets_by_protocol\",\"from\":$from,\"to\":$TO}" \
            "{\"metric\":\"rejected_packets_by_protocol\",\"from\":$from}" \
            "{\"metric\":\"traffic_by_action_flows\",\"from\":$from,\"to\":$TO,\"aggregate\":\"sum\",\"with\":[\"traffic_by_action_bytes\",\"traffic_by_action_packets\"]}" \
            "{\"metric\":\"traffic_by_action_bytes\",\"from\":$from,\"to\":$TO}" \
            "{\"metric\":\"top_talkers_bytes\",\"from\":$from,\"to\":$TO,\"aggregate\":\"sum\",\"top\":10,\"with\":[\"top_talkers_flows\"]}" \
            "{\"metric\":\"top_talkers_flows\",\"from\":$from,\"aggregate\":\"sum\"}" \
            "{\"metric\":\"port_pairs_flows\",\"from\":$from,\"to\":$TO}" \
            "{\"metric\":\"port_pairs_flows\",\"from\":$from,\"to\":$TO,\"aggregate\":\"sum\",\"top\":2,\"with\":[\"port_pairs_bytes\"]}" \
            "{\"metric\":\"port_pairs_bytes\",\"from\":$from,\"to\":$TO,\"aggregate\":\"sum\"}" \
            "{\"metric\":\"records_in\",\"from\":$from,\"to\":$TO}"; do
            i=$((i + 1))
            # records_in counts by arrival time: its open window may close
            # between the two servers' reads, so it is kept apart.
            case "$r" in *records_in*) out="$1/$i.arrival" ;; *) out="$1/$i.json" ;; esac
            curl -s --data-binary "[$r]" "$URL/api/metrics/batch" > "$out"
        done
    done
    iso=$(date -u -d @$((TO - 7200)) +%Y-%m-%dT%H:%M:%SZ)
    curl -s "$URL/api/metrics?metric=port_pairs_flows&from=$iso" > "$1/get1.json"
    curl -s "$URL/api/metrics?metric=top_rejected_sources_packets&from=$((TO - 86400))&aggregate=sum&top=5&with=top_rejected_sources_flows" > "$1/get2.json"
    curl -s "$URL/api/metrics?metric=rejected_tcp_packets" > "$1/get3.json"
}
same() {           # same NAME DIR1 DIR2: every answer equal, byte for byte
    local bad="" f
    for f in "$2"/*.json; do
        cmp -s "$f" "$3/$(basename "$f")" || bad="$bad $(basename "$f")"
    done
    if [ -z "$bad" ]; then ok "$1 ($(ls "$2"/*.json | wc -l) answers)"; else
        fail "$1" "differ:$bad"
        for f in $bad; do echo "  memory: $(head -c 600 "$2/$f")"; echo "  sql:    $(head -c 600 "$3/$f")"; done
    fi
}

start_server --config flowlake.ini
for f in part1.log part2.log nulls.log; do
    curl -s -o /dev/null --data-binary @"$f" "$URL/ingest"
done
wait_files 1 && ok "the metric store has written its first file" || fail "no metric store file"
sleep 1.5                         # one more persist: no value still moving
reads mem1
expect_eq "every read was answered from memory" "$(status_reads | grep -o '"memory":[0-9]*,"sql":[0-9]*')" '"memory":47,"sql":0'
expect_contains "the answers hold final values from the store" "$(cat mem1/*.json)" '"final":true'
expect_contains "... and open windows from memory" "$(cat mem1/*.json)" '"final":false'
expect_contains "... and a NULL dimension" "$(cat mem1/37.json)" '{"action":null}'
expect_contains "... and the 'other' group of a LIMIT metric" "$(cat mem1/41.json)" '"dstport":"other"'
expect_contains "/api/status counts the cache's rows" "$(status_reads)" '"cache_files":'
rows=$(status_reads | grep -o '"cache_rows":[0-9]*' | cut -d: -f2)
[ "${rows:-0}" -gt 1000 ] && ok "the cache holds the store's rows ($rows)" || fail "cache rows: $rows"
expect_contains "/metrics counts reads by path" "$(curl -s "$URL/metrics")" 'flowlake_metric_reads_total{path="memory"} 47'
stop_server

FLOWLAKE_METRICS_READ=sql start_server --config flowlake.ini
reads sql1
expect_eq "FLOWLAKE_METRICS_READ=sql: every read through SQL" "$(status_reads | grep -o '"memory":[0-9]*,"sql":[0-9]*')" '"memory":0,"sql":47'
same "memory and SQL answer the same" mem1 sql1
stop_server

# A range that starts before the horizon (32 days) is SQL's in both.
start_server --config flowlake.ini
old=$(curl -s "$URL/api/metrics?metric=records_in&from=$((now - 40 * 86400))")
expect_eq "a range older than the cache's horizon is answered through SQL" \
    "$(status_reads | grep -o '"memory":[0-9]*,"sql":[0-9]*')" '"memory":0,"sql":1'
expect_eq "... with the values: every record counted once" \
    "$(echo "$old" | grep -o '"value":[0-9.]*' | cut -d: -f2 | awk '{s += $1} END {print s}')" 9003

# New values, a new store file: the cache picks it up.
"$FLOWLAKE" generate --seed 3 --records 2000 --start $((hour - 7200)) --span 2h > part3.log
next0=$(curl -s "$URL/api/status" | grep -o '"next_file":[0-9]*' | cut -d: -f2)
curl -s -o /dev/null --data-binary @part3.log "$URL/ingest"
for _ in $(seq 1 100); do
    n=$(curl -s "$URL/api/status" | grep -o '"next_file":[0-9]*' | cut -d: -f2)
    [ "$n" != "$next0" ] && break
    sleep 0.1
done
sleep 2.5                         # persisted, with nothing still moving
reads mem2
stop_server
FLOWLAKE_METRICS_READ=sql start_server --config flowlake.ini
reads sql2
same "after more records and store files, memory and SQL still agree" mem2 sql2
total() { grep -o '"value":[0-9.]*' "$1" | cut -d: -f2 | awk '{s += $1} END {print s}'; }
expect_eq "records_in from memory: every record once, before" "$(total mem1/44.arrival)" 9003
expect_eq "... and after the new records" "$(total mem2/44.arrival)" 11003
stop_server
finish
