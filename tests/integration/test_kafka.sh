#!/usr/bin/env bash
# The Kafka source against librdkafka's mock cluster (build/tools/
# kafka_mock: three brokers in a process, reached over TCP; no broker is
# installed): every message stored exactly once -- checked against
# `flowlake convert` of the same lines (count and a hash of every row) --
# when the server dies in the window between a batch made durable and its
# offsets committed (a test hook makes that certain), when it is killed
# with SIGKILL at a random moment, and across a clean restart; two
# instances in one group share the partitions, each message in one of
# them; a CloudWatch Logs payload is decoded with its provenance, an
# undecodable one goes to the errors file; bad settings stop the start.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kafka_lib.sh"
KAFKA_SETS=(--set kafka.session_timeout=6s --set kafka.batch_records=500
            --set archive.buffer_interval=2s)

# ---- exactly once through crashes ----------------------------------------
"$FLOWLAKE" generate --seed 21 --records 30000 --start 2024-05-01 --span 2h >m1.log 2>/dev/null
"$FLOWLAKE" generate --seed 22 --records 30000 --start 2024-05-01 --span 2h >m2.log 2>/dev/null
want=$(truth 1 m1.log m2.log)
start_mock one flows 4
[ -n "$BROKERS" ] && ok "the mock cluster runs" || fail "the mock cluster runs" "$(cat one.err)"
produce one m1.log && ok "30,000 messages produced" || fail "30,000 messages produced"

A=S1
KSET=(--set "kafka.brokers=$BROKERS" --set kafka.topics=flows "${KAFKA_SETS[@]}")
# 1. Dies after its 5th durable batch, before committing it.
FLOWLAKE_KAFKA_DIE_BEFORE_COMMIT=5 start_server "${KSET[@]}"
wait "$PID"; st=$?
expect_status "the hook kills the server between durable and committed" 137 $st
# 2. Restarted: the held batch is dropped, Kafka delivers it again.
start_server "${KSET[@]}"
wait_count 30000 && ok "after the crash, all 30,000 are there" \
    || fail "after the crash, all 30,000 are there" "$(query 'SELECT count(*) FROM flow_logs')"
grep -q 'stored before the last stop: its commit did not go through; dropped' serve.err \
    && ok "the batch held at the crash was dropped (its commit never happened)" \
    || fail "the batch held at the crash was dropped (its commit never happened)" "$(grep kafka serve.err | tail -5)"
status=$(curl -s "$URL/api/status")
expect_contains "/api/status counts it dropped, nothing held now" "$status" '"held_requests":0,"held_records":0,'
# (One batch, or two: two are stored at once, and the next may have been
# durable too.)
dropped=$(curl -s "$URL/metrics" | sed -n 's/^flowlake_held_settled_total{outcome="dropped"} //p')
case "$dropped" in
    1|2) ok "... as /metrics does ($dropped)" ;;
    *) fail "... as /metrics does" "dropped: $dropped" ;;
esac
# 3. SIGKILL at a random moment while the second half is consumed.
produce one m2.log
sleep 0.$((RANDOM % 9 + 1))
kill -KILL "$PID"; wait "$PID" 2>/dev/null
start_server "${KSET[@]}"
wait_count 60000 && ok "after SIGKILL, all 60,000 are there" \
    || fail "after SIGKILL, all 60,000 are there" "$(query 'SELECT count(*) FROM flow_logs')"
# 4. A clean stop publishes everything; a clean restart reads nothing new.
kill -TERM "$PID"; wait "$PID"; st=$?
expect_status "the server stops cleanly" 0 $st
start_server "${KSET[@]}"
sleep 2
expect_eq "a clean restart adds nothing" "$(query 'SELECT count(*) FROM flow_logs')" "60000"
kill -TERM "$PID"; wait "$PID"
got=$("$FLOWLAKE" query --archive S1 --output csv "$rows" | tail -n 1)
expect_eq "the archive holds every message exactly once (count, row hash)" "$got" "$want"

# ---- two instances in one group share the partitions ---------------------
"$FLOWLAKE" generate --seed 31 --records 20000 --start 2024-05-01 --span 1h >m3.log 2>/dev/null
want3=$(truth 3 m3.log)
start_mock two flows 4
KSET=(--set "kafka.brokers=$BROKERS" --set kafka.topics=flows --set kafka.group=pair "${KAFKA_SETS[@]}")
A=P1 start_server "${KSET[@]}"; P1=$PID U1=$URL
mv serve.err p1.err
A=P2 start_server "${KSET[@]}"; P2=$PID U2=$URL
for _ in $(seq 1 300); do
    grep -q 'assigned [1-9]' p1.err && grep -q 'assigned [1-9]' serve.err && break
    sleep 0.1
done
produce two m3.log
for _ in $(seq 1 300); do
    n1=$(URL=$U1 query 'SELECT count(*) FROM flow_logs') n2=$(URL=$U2 query 'SELECT count(*) FROM flow_logs')
    [ "$((n1 + n2))" -ge 20000 ] && break
    sleep 0.1
done
kill -TERM "$P1" "$P2"; wait "$P1" "$P2"
expect_eq "the two together hold 20,000" "$((n1 + n2))" "20000"
[ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] && ok "each instance took some partitions ($n1 + $n2)" \
    || fail "each instance took some partitions" "$n1 + $n2"
# Counts and hash sums add up across the two archives.
IFS=, read -r c1 h1 < <("$FLOWLAKE" query --archive P1 --output csv "$rows" | tail -n 1)
IFS=, read -r c2 h2 < <("$FLOWLAKE" query --archive P2 --output csv "$rows" | tail -n 1)
expect_eq "each message in exactly one of them (count, row hash)" \
    "$((c1 + c2)),$(echo "$h1 + $h2" | bc)" "$want3"

# ---- storing fails for a while: read again, nothing lost or doubled -----
# A 1 MiB write-ahead log, cut only by the publish every 3 s, fills
# several times over with 20,000 records of batches of 2,000: each time,
# the batch is not committed, read again a second later, and stored once.
"$FLOWLAKE" generate --seed 51 --records 20000 --start 2024-05-01 --span 1h >m5.log 2>/dev/null
want5=$(truth 5 m5.log)
start_mock five flows 4
produce five m5.log
A=F start_server --set "kafka.brokers=$BROKERS" --set kafka.topics=flows \
    --set kafka.batch_records=2000 --set wal.max_size=1MiB \
    --set wal.segment_size=256KiB --set archive.buffer_interval=3s \
    --set archive.buffer_size=16MiB
wait_count 20000 && ok "a full write-ahead log delays the messages, loses none" \
    || fail "a full write-ahead log delays the messages, loses none" "$(query 'SELECT count(*) FROM flow_logs')"
expect_contains "the failure is logged" "$(cat serve.err)" "reading it again every 1 s"
expect_contains "... and the recovery" "$(cat serve.err)" "kafka: storing works again"
kill -TERM "$PID"; wait "$PID"
expect_eq "every message once after the retries (count, row hash)" \
    "$("$FLOWLAKE" query --archive F --output csv "$rows" | tail -n 1)" "$want5"

# ---- commits that fail: refused (dropped, read again) or timed out ------
# The group refuses the first commit (ILLEGAL_GENERATION, as when the
# partitions went to another consumer): the batch is asked about, dropped
# and read again, and so is the batch stored beside it. Then two commits
# time out (REQUEST_TIMED_OUT; librdkafka retries those itself): nothing
# lost or doubled either way.
"$FLOWLAKE" generate --seed 71 --records 6000 --start 2024-05-01 --span 1h >m7.log 2>/dev/null
start_mock seven flows 4
mock_cmd seven "fail_commits 22 1" "failing 1" || fail "the cluster takes fail_commits"
A=R start_server --set "kafka.brokers=$BROKERS" --set kafka.topics=flows "${KAFKA_SETS[@]}" --set kafka.batch_records=1000
produce seven m7.log
wait_count 6000 && ok "a refused commit: every message there" \
    || fail "a refused commit: every message there" "$(query 'SELECT count(*) FROM flow_logs')"
expect_contains "... the group was asked" "$(cat serve.err)" "asking the group whether it went through"
expect_contains "... and the batch dropped, read again" "$(cat serve.err)" "its commit did not go through; dropped, Kafka delivers it again"
mock_cmd seven "fail_commits 7 2" "failing 2"
"$FLOWLAKE" generate --seed 72 --records 3000 --start 2024-05-01 --span 1h >m8.log 2>/dev/null
produce seven m8.log
wait_count 9000 && ok "timed-out commits: every message there" \
    || fail "timed-out commits: every message there" "$(query 'SELECT count(*) FROM flow_logs')"
kill -TERM "$PID"; wait "$PID"
expect_eq "... each once (count, row hash)" \
    "$("$FLOWLAKE" query --archive R --output csv "$rows" | tail -n 1)" "$(truth 78 m7.log m8.log)"

# ---- CloudWatch Logs payloads, and one that is not -----------------------
start_mock three cwl 1
printf '%s\n' '{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/vpc/flows","logStream":"eni-0a1b2c3d-all","subscriptionFilters":["f"],"logEvents":[{"id":"1","timestamp":1714521600000,"message":"2 123456789012 eni-0a1b2c3d 10.0.0.1 10.0.0.2 443 49152 6 10 840 1714521600 1714521660 ACCEPT OK"},{"id":"2","timestamp":1714521600000,"message":"2 123456789012 eni-0a1b2c3d 10.0.0.3 10.0.0.2 443 49153 6 1 40 1714521600 1714521660 REJECT OK"}]}' \
    '{"messageType":"DATA_MESSAGE", "truncated' >cwl.log
produce three cwl.log
A=C start_server --set "kafka.brokers=$BROKERS" --set kafka.topics=cwl "${KAFKA_SETS[@]}"
wait_count 2 && ok "a CloudWatch Logs payload in a message is decoded" || fail "a CloudWatch Logs payload in a message is decoded"
expect_eq "... with its log group and owner" \
    "$(query "SELECT DISTINCT log_group, account_id FROM flow_logs")" "/vpc/flows,123456789012"
for _ in $(seq 1 100); do ls C/_errors/*.jsonl >/dev/null 2>&1 && break; sleep 0.05; done
expect_contains "the broken one goes to the errors file, named by its offset" \
    "$(cat C/_errors/*.jsonl 2>/dev/null)" '"source":"cwl/0@1"'
kill -TERM "$PID"; wait "$PID"

# ---- bad settings ---------------------------------------------------------
A=X
"$FLOWLAKE" serve --listen 127.0.0.1:0 --archive X --set "kafka.brokers=$BROKERS" >bad.out 2>bad.err; st=$?
expect_status "kafka.brokers without kafka.topics stops the start" 1 $st
expect_contains "... saying so" "$(cat bad.err)" "kafka.topics names no topic"
"$FLOWLAKE" serve --listen 127.0.0.1:0 --archive X --set "kafka.brokers=$BROKERS" \
    --set kafka.topics=flows --set kafka.options=fetch.max.bytes >bad.out 2>bad.err; st=$?
expect_status "a kafka.options entry that is not KEY=VALUE stops the start" 1 $st
expect_contains "... naming it" "$(cat bad.err)" "kafka.options: 'fetch.max.bytes' is not KEY=VALUE"
"$FLOWLAKE" serve --listen 127.0.0.1:0 --archive X --set "kafka.brokers=$BROKERS" \
    --set kafka.topics=flows --set kafka.options=no.such.setting=1 >bad.out 2>bad.err; st=$?
expect_status "a setting librdkafka does not know stops the start" 1 $st
expect_contains "... with librdkafka's reason" "$(cat bad.err)" "no.such.setting"
finish
