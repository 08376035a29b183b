#!/usr/bin/env bash
# Top-N metrics (ORDER BY <aggregate> DESC LIMIT n, docs/metrics.md) and
# GET /api/metrics?aggregate=sum[&top=N][&with=...] on the real server: the built-in
# traffic_by_action, top_talkers and top_rejected_sources over the known
# records of the web UI's tests (tests/browser/data.sh), checked against
# the values SQL over flow_logs gives; a metrics file's LIMIT 2 keeping two
# groups per window and one "other"; and the refusals.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TMP"
A=$TMP/archive
cat > metrics.sql <<'EOF2'
CREATE METRIC two_ports AS
  SELECT dstport, COUNT(*) AS flows, SUM(bytes) AS bytes
  FROM flows
  GROUP BY dstport, TUMBLE(start, INTERVAL '1' HOUR)
  ORDER BY flows DESC LIMIT 2;
EOF2
cat > flowlake.ini <<EOF2
[metrics]
file = $TMP/metrics.sql
EOF2
start_server --config flowlake.ini
bash "$ROOT/tests/browser/data.sh" > data.log
# Four more flows on other ports in the first hour: 443 has 23, 22 has 2,
# 3389 and 8080 one each.
t0=1714521600
for p in 22 22 3389 8080; do
    echo "2 123456789012 eni-0a1 10.0.0.8 10.9.0.1 40001 $p 6 1 10 $((t0 + 600)) $((t0 + 630)) ACCEPT OK"
done >> data.log
expect_eq "the records are accepted" \
    "$(curl -s --data-binary @data.log "$URL/ingest")" '{"accepted":27,"rejected":0}'

R="from=2024-05-01T00:00:00Z&to=2024-05-01T02:00:00Z"
agg() { curl -s "$URL/api/metrics?metric=$1&$R&aggregate=sum${2:-}"; }
sq() { curl -s --data-binary "$1" "$URL/api/query?format=csv" | tail -n +2; }

expect_eq "top_talkers_bytes, top 3: the three largest sources and 'other'" \
    "$(agg top_talkers_bytes '&top=3')" \
    '{"metric":"top_talkers_bytes","aggregate":"sum","series":[{"dimensions":{"srcaddr":"10.0.0.3"},"value":56000.0,"records":2,"final":true},{"dimensions":{"srcaddr":"10.0.0.1"},"value":10200.0,"records":3,"final":false},{"dimensions":{"srcaddr":"10.0.0.6"},"value":2000.0,"records":1,"final":false},{"dimensions":{"srcaddr":"other"},"value":3358.0,"records":21,"final":false}]}'
expect_eq "the same from SQL over flow_logs" \
    "$(sq "SELECT CASE WHEN n <= 3 THEN srcaddr ELSE 'other' END AS k, SUM(b), SUM(c) FROM (SELECT srcaddr, SUM(bytes) AS b, COUNT(*) AS c, row_number() OVER (ORDER BY SUM(bytes) DESC) AS n FROM flow_logs GROUP BY srcaddr) GROUP BY k ORDER BY MIN(n)")" \
    "10.0.0.3,56000,2
10.0.0.1,10200,3
10.0.0.6,2000,1
other,3358,21"
expect_eq "traffic_by_action_flows equals SQL's count by action" \
    "$(agg traffic_by_action_flows | grep -o '"action":"[A-Z]*"},"value":[0-9.]*' | tr -d '"{}' | sed 's/action://; s/,value:/,/; s/\.0$//')" \
    "$(sq "SELECT action, COUNT(*) FROM flow_logs GROUP BY action ORDER BY COUNT(*) DESC")"
expect_eq "traffic_by_action_bytes equals SQL's sum by action" \
    "$(agg traffic_by_action_bytes | grep -o '"action":"[A-Z]*"},"value":[0-9.]*' | tr -d '"{}' | sed 's/action://; s/,value:/,/; s/\.0$//')" \
    "$(sq "SELECT action, SUM(bytes) FROM flow_logs GROUP BY action ORDER BY SUM(bytes) DESC")"
expect_eq "top_rejected_sources_packets: every rejected source, largest first" \
    "$(agg top_rejected_sources_packets | grep -o '"srcaddr":"[0-9.]*"},"value":[0-9.]*' | tr -d '"{}' | sed 's/srcaddr://; s/,value:/,/; s/\.0$//')" \
    "$(sq "SELECT srcaddr, SUM(packets) FROM flow_logs WHERE action = 'REJECT' GROUP BY srcaddr ORDER BY SUM(packets) DESC, srcaddr")"

# The file's LIMIT 2: in the one hour window, ports 443 (23 flows) and 22
# (2 flows) are kept; 3389 and 8080 are one "other" group of 2 flows.
expect_eq "LIMIT 2: two groups and 'other' per window (SQL over vpc_flow_logs.metrics)" \
    "$(sq "SELECT dimensions['dstport'], value, records FROM vpc_flow_logs.metrics WHERE metric = 'two_ports_flows' ORDER BY value DESC, 1")" \
    "443,23.0,23
22,2.0,2
other,2.0,2"
expect_eq "the other aggregate of the same groups: bytes of 443, 22 and the rest" \
    "$(sq "SELECT dimensions['dstport'], value FROM vpc_flow_logs.metrics WHERE metric = 'two_ports_bytes' ORDER BY value DESC, 1")" \
    "443,71518.0
22,20.0
other,20.0"
expect_eq "aggregate=sum&top=1 of a LIMIT metric: its 'other' groups join the rest" \
    "$(agg two_ports_flows '&top=1')" \
    '{"metric":"two_ports_flows","aggregate":"sum","series":[{"dimensions":{"dstport":"443"},"value":23.0,"records":23,"final":false},{"dimensions":{"dstport":"other"},"value":4.0,"records":4,"final":false}]}'

expect_eq "with=: the same statement's other aggregates, summed for the same series" \
    "$(agg top_talkers_bytes '&top=2&with=top_talkers_flows')" \
    '{"metric":"top_talkers_bytes","aggregate":"sum","series":[{"dimensions":{"srcaddr":"10.0.0.3"},"value":56000.0,"records":2,"final":true,"with":{"top_talkers_flows":2.0}},{"dimensions":{"srcaddr":"10.0.0.1"},"value":10200.0,"records":3,"final":false,"with":{"top_talkers_flows":3.0}},{"dimensions":{"srcaddr":"other"},"value":5358.0,"records":22,"final":false,"with":{"top_talkers_flows":22.0}}]}'
expect_eq "with= two metrics: accepted vs rejected flows, bytes, packets in one answer" \
    "$(agg traffic_by_action_flows '&with=traffic_by_action_bytes,traffic_by_action_packets' | grep -o '"action":"[A-Z]*"},"value":[0-9.]*,"records":[0-9]*,"final":[a-z]*,"with":{[^}]*}' | tr -d '"{}' | sed 's/action://; s/,value:/,/; s/,records:[0-9]*,final:[a-z]*,with:traffic_by_action_bytes:/,/; s/,traffic_by_action_packets:/,/; s/\.0//g')" \
    "$(sq "SELECT action, COUNT(*), SUM(bytes), SUM(packets) FROM flow_logs GROUP BY action ORDER BY COUNT(*) DESC")"

# POST /api/metrics/batch: several reads, one answer, each as its GET.
batch=$(curl -s --data-binary '[{"metric":"top_talkers_bytes","from":"2024-05-01T00:00:00Z","to":1714528800,"aggregate":"sum","top":2,"with":["top_talkers_flows"]},{"metric":"rejected_tcp_packets","from":1714521600,"to":"2024-05-01T02:00:00Z"},{"metric":"nope"},{"metric":"records_in","top":3},{"metric":"records_in","x":1},5]' "$URL/api/metrics/batch")
expect_eq "batch: the answers in order, each the GET's; refusals in place" "$batch" \
"[$(agg top_talkers_bytes '&top=2&with=top_talkers_flows'),
$(curl -s "$URL/api/metrics?metric=rejected_tcp_packets&$R"),
{\"error\":\"no metric named 'nope' (GET /api/metrics lists them)\",\"status\":404},
{\"error\":\"top needs aggregate=sum\",\"status\":400},
{\"error\":\"unknown member 'x' (a read takes metric, from, to, aggregate, top, with)\",\"status\":400},
{\"error\":\"each read is an object such as {\\\"metric\\\": \\\"records_in\\\", \\\"from\\\": 1714521600}\",\"status\":400}]"
bcode() { curl -s -o body.txt -w '%{http_code}' --data-binary "$1" "$URL/api/metrics/batch"; }
expect_eq "batch: an empty body is 400" "$(bcode '') $(cat body.txt)" '400 {"error":"the body is a JSON array of reads"}'
expect_eq "batch: not JSON is 400 naming where" "$(bcode 'x') $(cat body.txt)" \
    "400 {\"error\":\"the body is not JSON: '[' or '{' expected near 'x' at line 1 column 1\"}"
expect_eq "batch: an object, not an array, is 400" "$(bcode '{}')" 400
expect_eq "batch: no reads is 400" "$(bcode '[]') $(cat body.txt)" '400 {"error":"a batch holds from 1 to 32 reads"}'
expect_eq "batch: 33 reads is 400" "$(bcode "[$(printf '{"metric":"records_in"},%.0s' $(seq 32)){\"metric\":\"records_in\"}]")" 400
expect_eq "batch: a member of a wrong type is refused in its place" "$(bcode '[{"metric":"records_in","from":[1]}]') $(cat body.txt)" \
    '200 [{"error":"from: epoch seconds or an ISO 8601 UTC time","status":400}]'
expect_eq "batch: GET is 405" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/metrics/batch")" 405

code() { curl -s -o body.txt -w '%{http_code}' "$@"; }
expect_eq "with= a metric of another statement: 400" \
    "$(code "$URL/api/metrics?metric=top_talkers_flows&aggregate=sum&with=rejected_tcp_packets") $(cat body.txt)" \
    '400 {"error":"with: rejected_tcp_packets is not another aggregate of the statement of top_talkers_flows"}'
expect_eq "with= the metric itself: 400" \
    "$(code "$URL/api/metrics?metric=top_talkers_flows&aggregate=sum&with=top_talkers_flows")" 400
expect_eq "with= empty: 400" \
    "$(code "$URL/api/metrics?metric=top_talkers_flows&aggregate=sum&with=,") $(cat body.txt)" \
    '400 {"error":"with: name one metric or more, separated by commas"}'
expect_eq "with without aggregate=sum: 400" \
    "$(code "$URL/api/metrics?metric=top_talkers_flows&with=top_talkers_bytes") $(cat body.txt)" \
    '400 {"error":"with needs aggregate=sum"}'
expect_eq "aggregate=max: 400" "$(code "$URL/api/metrics?metric=records_in&aggregate=max") $(cat body.txt)" \
    '400 {"error":"aggregate must be sum (one value per series over the range)"}'
expect_eq "top without aggregate: 400" "$(code "$URL/api/metrics?metric=records_in&top=3") $(cat body.txt)" \
    '400 {"error":"top needs aggregate=sum"}'
for bad in 0 1001 -1 3x ''; do
    expect_eq "top=$bad: 400" "$(code "$URL/api/metrics?metric=records_in&aggregate=sum&top=$bad")" 400
done
kill -TERM "$PID"; wait "$PID"
expect_status "the server stops cleanly" 0 $?
finish
