#!/usr/bin/env bash
# Metric and alarm definitions are checked before anything runs: `flowlake
# config check` compiles metrics.file and checks every [alarm.NAME] against
# the metrics, naming file and line; `flowlake serve` refuses to start with
# the same message.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
out=$(cd "$ROOT" && "$FLOWLAKE" config check docs/examples/flowlake.ini 2>&1)
expect_eq "the example configuration and metrics file in docs/examples check" \
    "$out" "docs/examples/flowlake.ini: ok"
cd "$TMP"

cat > good.sql <<'SQL'
-- flows and bytes per destination port
CREATE METRIC port_traffic AS
  SELECT dstport, COUNT(*) AS flows, SUM(bytes) AS bytes
  FROM flows GROUP BY dstport, TUMBLE(start, INTERVAL '5' MINUTE);
SQL
cat > good.ini <<'INI'
[metrics]
file = good.sql

[alarm.ssh_flows]
metric = port_traffic_flows
dimensions = dstport=22
comparison = GreaterThanThreshold
threshold = 1000
evaluation_periods = 3
datapoints_to_alarm = 2
INI
out=$("$FLOWLAKE" config check good.ini 2>&1); st=$?
expect_status "a valid metrics file and alarm pass" 0 $st
expect_eq "config check says ok" "$out" "good.ini: ok"

printf 'CREATE METRIC a AS\n  SELECT srcaddr, COUNT(*) FROM flows\n  GROUP BY srcaddr HAVING COUNT(*) > 1;\n' > having.sql
printf '[metrics]\nfile = having.sql\n' > having.ini
out=$("$FLOWLAKE" config check having.ini 2>&1); st=$?
expect_status "a metric the engine cannot run is refused" 1 $st
expect_eq "the message names file, line, column and the construct" "$out" \
    "having.sql:3:20: HAVING is not supported in a metric: filter rows with WHERE (a metric keeps one value per group and window)"

printf '[metrics]\nfile = good.sql\n\n[alarm.x]\nmetric = port_traffic_flows\ncomparison = >\nthreshold = 5\n' > dims.ini
out=$("$FLOWLAKE" config check dims.ini 2>&1); st=$?
expect_status "an alarm without the metric's dimensions is refused" 1 $st
expect_eq "named with its section's file and line" "$out" \
    "dims.ini:5: alarm x: metric 'port_traffic_flows' has the dimensions (dstport); give a value for each of them and no other"

printf '[alarm.y]\nmetric = nope\ncomparison = >\nthreshold = 5\n' > nope.ini
out=$("$FLOWLAKE" config check nope.ini 2>&1)
expect_eq "an alarm on an unknown metric" "$out" "nope.ini:2: alarm y: no metric is named 'nope'"

printf '[alarm.z]\nmetric = rejected_tcp_packets\ncomparison = sideways\nthreshold = 5\n' > cmp.ini
out=$("$FLOWLAKE" config check cmp.ini 2>&1); st=$?
expect_status "a bad comparison operator is refused" 1 $st
expect_contains "naming the key and the line" "$out" "cmp.ini:3: [alarm.z]"

out=$("$FLOWLAKE" serve --config having.ini --listen 127.0.0.1:0 --archive "$TMP/a" 2>&1); st=$?
expect_status "serve refuses to start with a bad metric" 1 $st
expect_contains "with the same message" "$out" "having.sql:3:20: HAVING is not supported"

out=$("$FLOWLAKE" serve --config nope.ini --listen 127.0.0.1:0 --archive "$TMP/a" 2>&1); st=$?
expect_status "serve refuses to start with a bad alarm" 1 $st
expect_contains "naming the alarm" "$out" "alarm y: no metric is named 'nope'"

finish
