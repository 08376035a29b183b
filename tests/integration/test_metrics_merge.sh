#!/usr/bin/env bash
# Metrics across instances, as a user runs them: one Kafka topic (librdkafka's
# mock cluster, 4 partitions) consumed by one server alone (group "single")
# and by two servers sharing its partitions (group "pair"); `flowlake
# metrics merge` of the two gives, for every window final on both, exactly
# the values of the one that saw everything -- counts, sums, MIN, MAX, AVG,
# COUNT(DISTINCT) past its exact limit (HyperLogLog registers) and within
# it, and a top-N metric's groups and "other". Also the command's usage
# errors, a server that cannot be reached, and a server whose metrics are
# defined otherwise.
. "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
MOCK=${MOCK:-$root/build/tools/kafka_mock}
[ -x "$MOCK" ] || MOCK=$root/${BUILD:-build}/tools/kafka_mock
cd "$TMP" || exit 1

# ---- usage -----------------------------------------------------------------
"$FLOWLAKE" metrics merge --help >help.txt 2>&1; st=$?
expect_status "metrics merge --help exits 0" 0 $st
expect_contains "--help shows the usage" "$(head -n 1 help.txt)" "usage: flowlake metrics merge"
"$FLOWLAKE" metrics merge >out.txt 2>&1; st=$?
expect_status "no URL is a usage error" 2 $st
expect_contains "... saying what to give" "$(cat out.txt)" "give the servers' URLs"
"$FLOWLAKE" metrics frobnicate >out.txt 2>&1; st=$?
expect_status "an unknown subcommand is a usage error" 2 $st
"$FLOWLAKE" metrics merge --output xml http://127.0.0.1:1 >out.txt 2>&1; st=$?
expect_status "a bad --output is a usage error" 2 $st
"$FLOWLAKE" metrics merge http://127.0.0.1:1 >out.txt 2>&1; st=$?
expect_status "a server that cannot be reached: exit 1" 1 $st
expect_contains "... naming it" "$(cat out.txt)" "http://127.0.0.1:1: cannot reach"

# ---- the metrics, the topic, three servers -----------------------------------
cat >metrics.sql <<'EOF'
CREATE METRIC by_action AS
  SELECT action, COUNT(*) AS flows, SUM(bytes) AS bytes, MIN(packets) AS min_packets,
         MAX(packets) AS max_packets, AVG(bytes) AS avg_bytes
  FROM flows GROUP BY action, TUMBLE(start, INTERVAL '5' MINUTE);
CREATE METRIC sources AS
  SELECT protocol, COUNT(DISTINCT srcaddr) AS sources
  FROM flows GROUP BY protocol, TUMBLE(start, INTERVAL '5' MINUTE);
CREATE METRIC talkers AS
  SELECT srcaddr, SUM(bytes) AS bytes
  FROM flows GROUP BY srcaddr, TUMBLE(start, INTERVAL '5' MINUTE)
  ORDER BY bytes DESC LIMIT 5;
EOF
cat >m.ini <<EOF
[metrics]
file = $TMP/metrics.sql
defaults = false
allowed_lateness = 2h
distinct_exact_limit = 40
partials_retention = 1d
EOF
# Two hours, then two hours more after a gap. A consumer reads a topic
# partition by partition, so records come out of time order by up to the
# span: the lateness covers it (no record is late, on any server); the
# second part moves every server's watermark past the first part, whose
# windows become final everywhere.
"$FLOWLAKE" generate --seed 41 --records 20000 --start 2024-05-01 --span 2h >m1.log 2>/dev/null
"$FLOWLAKE" generate --seed 42 --records 20000 --start 2024-05-01T04:00:00Z --span 2h >m2.log 2>/dev/null
mkfifo ctl
"$MOCK" flows 4 <ctl >mock.out 2>mock.err &
exec {CTL}>ctl
for _ in $(seq 1 100); do grep -q '^bootstrap' mock.out && break; sleep 0.05; done
BROKERS=$(sed -n 's/^bootstrap //p' mock.out)
[ -n "$BROKERS" ] && ok "the mock cluster runs" || fail "the mock cluster runs" "$(cat mock.err)"
SETS=(--config m.ini --set server.allow_unauthenticated=true --set "kafka.brokers=$BROKERS"
      --set kafka.topics=flows --set kafka.session_timeout=6s --set kafka.batch_records=500
      --set archive.buffer_interval=2s)
A=S start_server "${SETS[@]}" --set kafka.group=single; PS=$PID US=$URL; mv serve.err s.err
A=P1 start_server "${SETS[@]}" --set kafka.group=pair; P1=$PID U1=$URL; mv serve.err p1.err
A=P2 start_server "${SETS[@]}" --set kafka.group=pair; P2=$PID U2=$URL; mv serve.err p2.err
for _ in $(seq 1 300); do
    grep -q 'assigned [1-9]' p1.err && grep -q 'assigned [1-9]' p2.err && grep -q 'assigned 4' s.err && break
    sleep 0.1
done
# metrics_records URL: records the server's metrics have folded in.
metrics_records() { curl -s "$1/api/status" | python3 -c 'import json,sys; m=json.load(sys.stdin)["metrics"]; print(m["records"], m["late_records"])'; }
# wait_folded N: until the single server and the pair have folded N.
wait_folded() {
    for _ in $(seq 1 $((600 * ${FL_TEST_TIMEOUT_MULTIPLIER:-1}))); do
        read -r rs ls < <(metrics_records "$US"); read -r r1 l1 < <(metrics_records "$U1"); read -r r2 l2 < <(metrics_records "$U2")
        [ "$rs" = "$1" ] && [ "$((r1 + r2))" = "$1" ] && return 0
        sleep 0.1
    done
    return 1
}
echo "produce $PWD/m1.log" >&"$CTL"
wait_folded 20000 || fail "the first part folded in" "$rs $r1 $r2"
echo "produce $PWD/m2.log" >&"$CTL"
wait_folded 40000
expect_eq "the single server's metrics saw 40,000" "$rs" "40000"
expect_eq "the pair's saw 40,000 between them" "$((r1 + r2))" "40000"
[ "$r1" -gt 0 ] && [ "$r2" -gt 0 ] && ok "each of the pair saw some ($r1 + $r2)" || fail "each of the pair saw some" "$r1 + $r2"
expect_eq "no record was late on any (else the values could not agree)" "$ls $l1 $l2" "0 0 0"

curl -s "$U1/api/metrics/partials" -o p1.bin -w '%{http_code} %{content_type}\n' >code.txt
expect_eq "GET /api/metrics/partials answers the state" "$(cat code.txt)" "200 application/octet-stream"
"$FLOWLAKE" metrics merge --config m.ini --final "$US" >single.csv 2>single.err; st=$?
expect_status "metrics merge of the single server" 0 $st
"$FLOWLAKE" metrics merge --config m.ini --final "$U1" "$U2" >pair.csv 2>pair.err; st=$?
expect_status "metrics merge of the pair" 0 $st
expect_eq "the header" "$(head -n 1 pair.csv)" "metric,window_start,window_end,final,exact,records,value,dimensions"
# For every (metric, window) final in the pair's merge: the same rows.
cmp_out=$(python3 - single.csv pair.csv <<'EOF'
import csv, sys
def rows(path):
    with open(path) as f:
        return [r for r in csv.DictReader(f)]
single, pair = rows(sys.argv[1]), rows(sys.argv[2])
windows = {(r["metric"], r["window_start"]) for r in pair}
metrics = {m for m, _ in windows}
key = lambda r: (r["metric"], r["window_start"], r["dimensions"])
want = sorted((tuple(r.values()) for r in single if (r["metric"], r["window_start"]) in windows))
got = sorted(tuple(r.values()) for r in pair)
hll = sum(1 for r in pair if r["metric"] == "sources" and r["exact"] == "false")
exact = sum(1 for r in pair if r["metric"] == "sources" and r["exact"] == "true")
other = sum(1 for r in pair if r["metric"].startswith("talkers") and r["dimensions"] == "srcaddr=other")
print(len(windows) >= 10, sorted(metrics), hll > 0, exact > 0, other > 0, want == got)
if want != got:
    for a, b in zip(want, got):
        if a != b:
            print(a, b, file=sys.stderr)
            break
EOF
)
expect_eq "the pair merged = the single server, row for row, on every window final for both" \
    "$cmp_out" "True ['by_action_avg_bytes', 'by_action_bytes', 'by_action_flows', 'by_action_max_packets', 'by_action_min_packets', 'sources', 'talkers'] True True True True"

# A server defining its metrics otherwise: its state is not merged, and said.
cat >other.sql <<'EOF'
CREATE METRIC sources AS
  SELECT protocol, COUNT(DISTINCT dstaddr) AS sources
  FROM flows GROUP BY protocol, TUMBLE(start, INTERVAL '5' MINUTE);
EOF
sed "s|metrics.sql|other.sql|" m.ini >other.ini
"$FLOWLAKE" metrics merge --config other.ini "$U1" >other.csv 2>other.err; st=$?
expect_status "different definitions: still exit 0" 0 $st
expect_contains "... saying what was not merged" "$(cat other.err)" "not merged, defined otherwise than --config"
expect_eq "... and nothing of it printed" "$(wc -l <other.csv)" "1"

kill -TERM "$PS" "$P1" "$P2"; wait "$PS" "$P1" "$P2" 2>/dev/null
exec {CTL}>&-
finish
