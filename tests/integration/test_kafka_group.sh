#!/usr/bin/env bash
# Exactly once across two consumers of one group (librdkafka's mock
# cluster, 4 partitions), checked on the union of their two archives
# against `flowlake convert` of the same lines (count and a hash of every
# row):
#   1. Q1 dies between a batch made durable and its offsets committed (a
#      test hook makes that certain); Q2 gets its partitions and reads the
#      batch again; Q1, restarted, drops its held copy.
#   2. Q2 dies after its commit went through, before the batch counted;
#      Q1 takes over from after it; Q2, restarted, keeps its copy -- the
#      group's tenure history (in the commits' metadata) says so.
#   3. Q1 is killed with SIGKILL at a random moment while consuming.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kafka_lib.sh"

for i in 1 2 3 4; do
    "$FLOWLAKE" generate --seed $((60 + i)) --records 20000 --start 2024-05-01 --span 2h >g$i.log 2>/dev/null
done
start_mock grp flows 4
[ -n "$BROKERS" ] && ok "the mock cluster runs" || fail "the mock cluster runs" "$(cat grp.err)"
KSET=(--set "kafka.brokers=$BROKERS" --set kafka.topics=flows --set kafka.group=exact
      --set kafka.session_timeout=6s --set kafka.batch_records=500 --set archive.buffer_interval=2s)

# start_q NAME RUN: a consumer with archive NAME, its log in NAME-RUN.log;
# sets PID_NAME and URL_NAME.
start_q() {
    A=$1 start_server "${KSET[@]}"
    mv serve.err "$1-$2.log"
    eval "PID_$1=$PID URL_$1=$URL"
}
count() { URL=$1 query 'SELECT count(*) FROM flow_logs'; }
# wait_log FILE TEXT [N]: until FILE says TEXT (N times).
wait_log() {
    for _ in $(seq 1 $((600 * ${FL_TEST_TIMEOUT_MULTIPLIER:-1}))); do
        [ "$(grep -c "$2" "$1" 2>/dev/null)" -ge "${3:-1}" ] && return 0
        sleep 0.1
    done
    return 1
}
# wait_total N: until the two running consumers hold N records between
# them (prints the last counts when they never do).
wait_total() {
    local c1 c2
    for _ in $(seq 1 $((900 * ${FL_TEST_TIMEOUT_MULTIPLIER:-1}))); do
        c1=$(count "$URL_Q1") c2=$(count "$URL_Q2")
        [ "$((c1 + c2))" = "$1" ] && return 0
        sleep 0.1
    done
    echo "$c1 + $c2"
    return 1
}
# wait_settled URL: until URL's count has not moved for 2 s.
wait_settled() {
    local last=-1 same=0 c
    for _ in $(seq 1 $((600 * ${FL_TEST_TIMEOUT_MULTIPLIER:-1}))); do
        c=$(count "$1")
        if [ "$c" = "$last" ]; then same=$((same + 1)); else same=0; last=$c; fi
        [ "$same" -ge 20 ] && return 0
        sleep 0.1
    done
    return 1
}
# after_death DEAD LIVE LIVE_LOG RUN: LIVE is given all four partitions and
# reads what is left; then DEAD starts again, as run RUN.
after_death() {
    wait_log "$3" 'assigned 4 partition' \
        && ok "$2 takes $1's partitions" || fail "$2 takes $1's partitions" "$(tail -5 "$3")"
    wait_settled "$(eval echo "\$URL_$2")"
    start_q "$1" "$4"
}
# union: count and row hash of the two archives together.
union() {
    local c1 h1 c2 h2
    IFS=, read -r c1 h1 < <("$FLOWLAKE" query --archive Q1 --output csv "$rows" | tail -n 1)
    IFS=, read -r c2 h2 < <("$FLOWLAKE" query --archive Q2 --output csv "$rows" | tail -n 1)
    echo "$((c1 + c2)),$(echo "${h1:-0} + ${h2:-0}" | bc)"
}

# ---- 1. dies before its commit: the other reads the batch again ----------
FLOWLAKE_KAFKA_DIE_BEFORE_COMMIT=3 start_q Q1 1
start_q Q2 1
wait_log Q1-1.log 'assigned [1-9]' && wait_log Q2-1.log 'assigned [1-9]'
produce grp g1.log
wait "$PID_Q1"; st=$?
expect_status "Q1 dies between its batch durable and committed" 137 $st
# After the session timeout the group gives Q2 all four partitions.
after_death Q1 Q2 Q2-1.log 2
wait_log Q1-2.log 'stored before the last stop: its commit did not go through; dropped' \
    && ok "restarted, Q1 drops the batch Q2 stored (its commit never happened)" \
    || fail "restarted, Q1 drops the batch Q2 stored (its commit never happened)" "$(grep kafka Q1-2.log | tail -5)"
got=$(wait_total 20000) && ok "the two hold the 20,000 messages" \
    || fail "the two hold the 20,000 messages" "$got"

# ---- 2. dies after its commit: it keeps the batch ------------------------
kill -TERM "$PID_Q2"; wait "$PID_Q2"
FLOWLAKE_KAFKA_DIE_AFTER_COMMIT=2 start_q Q2 2
wait_log Q2-2.log 'assigned [1-9]'
wait_log Q1-2.log 'assigned [1-9] partition' 2
produce grp g2.log
wait "$PID_Q2"; st=$?
expect_status "Q2 dies after its commit went through, before the batch counted" 137 $st
after_death Q2 Q1 Q1-2.log 3
wait_log Q2-3.log 'stored before the last stop: its commit went through; kept' \
    && ok "restarted, Q2 keeps its batch (the tenure after its own began past it)" \
    || fail "restarted, Q2 keeps its batch" "$(grep kafka Q2-3.log | tail -5)"
got=$(wait_total 40000) && ok "the two hold the 40,000 messages" \
    || fail "the two hold the 40,000 messages" "$got"

# ---- 3. SIGKILL at a random moment while consuming ----------------------
wait_log Q1-2.log 'assigned [1-9] partition' 3
produce grp g3.log
sleep 0.$((RANDOM % 9 + 1))
kill -KILL "$PID_Q1"; wait "$PID_Q1" 2>/dev/null
wait_log Q2-3.log 'assigned 4 partition' \
    && ok "Q2 takes the partitions of the killed Q1" || fail "Q2 takes the partitions of the killed Q1" "$(tail -5 Q2-3.log)"
start_q Q1 3
produce grp g4.log
got=$(wait_total 80000) && ok "the two hold the 80,000 messages" \
    || fail "the two hold the 80,000 messages" "$got"
kill -TERM "$PID_Q1" "$PID_Q2"; wait "$PID_Q1"; st1=$?; wait "$PID_Q2"; st2=$?
expect_eq "both stop cleanly" "$st1 $st2" "0 0"
expect_eq "every message in exactly one of the two archives (count, row hash)" \
    "$(union)" "$(truth all g1.log g2.log g3.log g4.log)"
finish
