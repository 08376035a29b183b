#!/usr/bin/env bash
# The folder source follows .log files as they grow, are truncated, rotated
# or replaced, and takes every line once -- across a restart and across
# kill -9 too; a last line without a newline waits for it; .log.gz files
# are whole files taken once. Each scenario writes its own interface id
# (eni-NAME) and unique source ports, so counts per interface and
# count(DISTINCT srcport) show lines taken twice or lost.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
A=$TMP/archive
W=$TMP/logs
mkdir -p "$W"

start_watch() {
    "$FLOWLAKE" serve --listen 127.0.0.1:0 --archive "$A" --watch "$W" \
        --set watch.interval=1s --set archive.buffer_interval=1h "$@" >serve.out 2>>serve.err &
    PID=$!
    for _ in $(seq 1 200); do grep -q 'listening on' serve.out 2>/dev/null && break; sleep 0.05; done
    PORT=$(sed -n 's/.*:\([0-9]*\), archive.*/\1/p' serve.out)
    URL=http://127.0.0.1:$PORT
}
sql() { "$FLOWLAKE" query --server "$URL" --output csv "$1" | tail -n +2; }
n_of() { sql "SELECT count(*) FROM flow_logs WHERE interface_id = 'eni-$1'"; }
distinct_of() { sql "SELECT count(DISTINCT srcport) FROM flow_logs WHERE interface_id = 'eni-$1'"; }
wait_n() {   # wait_n NAME N: until eni-NAME has N records (20 s max)
    local end=$((SECONDS + 20))
    while [ $SECONDS -lt $end ]; do [ "$(n_of "$1")" = "$2" ] && return 0; sleep 0.1; done
    return 1
}
# lines NAME FIRST COUNT: flow-log lines with source ports FIRST..
lines() {
    local i
    for i in $(seq "$2" $(($2 + $3 - 1))); do
        echo "2 123456789012 eni-$1 10.0.0.1 10.0.0.2 $i 443 6 1 100 1714521600 1714521660 ACCEPT OK"
    done
}
# check NAME N WHAT: exactly N records of eni-NAME, all distinct
check() {
    wait_n "$1" "$2"
    expect_eq "$3" "$(n_of "$1"),$(distinct_of "$1")" "$2,$2"
}

start_watch

# Append after take: 200 lines, then 100 more -> 300, not 500.
lines app 1 200 > "$W/app.log"
wait_n app 200 && ok "append: first 200 lines taken" || fail "append: first 200" "$(n_of app)"
lines app 201 100 >> "$W/app.log"
check app 300 "append: 100 more lines -> 300 records, each once"

# Truncate: 100 lines, then truncated and 50 new ones written -> 150.
lines trunc 1 100 > "$W/trunc.log"
wait_n trunc 100 && ok "truncate: first 100 lines taken" || fail "truncate: first 100" "$(n_of trunc)"
lines trunc 101 50 > "$W/trunc.log"          # same inode, shorter
check trunc 150 "truncate: 50 new lines after truncation -> 150 records"
expect_contains "truncation is logged" "$(cat serve.err)" "trunc.log: truncated"

# Replace via rename (new inode at the same name): the new file from 0.
lines repl 1 100 > "$W/repl.log"
wait_n repl 100 && ok "replace: first file taken" || fail "replace: first file" "$(n_of repl)"
lines repl 101 80 > "$TMP/repl.new"
mv "$TMP/repl.new" "$W/repl.log"
check repl 180 "replace: the new inode is read from the start -> 180"

# Rotation: lines appended just before app2.log is renamed to app2.log.1
# (not a watched name) are read from the rotated file; the new app2.log
# from 0.
lines rot 1 40 > "$W/app2.log"
wait_n rot 40 && ok "rotate: first 40 lines taken" || fail "rotate: first 40" "$(n_of rot)"
lines rot 41 5 >> "$W/app2.log"
mv "$W/app2.log" "$W/app2.log.1"
lines rot 46 7 > "$W/app2.log"
check rot 52 "rotate: the rotated file's rest and the new file -> 52"

# A partial last line waits until it is completed.
{ lines part 1 10; printf '2 123456789012 eni-part 10.0.0.1 10.0.0.2 11 44'; } > "$W/part.log"
wait_n part 10 && ok "partial: the 10 complete lines are taken" || fail "partial: 10 lines" "$(n_of part)"
printf '3 6 1 100 1714521600 1714521660 ACCEPT OK\n' >> "$W/part.log"
check part 11 "partial: the completed line is taken whole -> 11"
expect_eq "partial: the completed line has its fields" \
    "$(sql "SELECT dstport, packets FROM flow_logs WHERE interface_id = 'eni-part' AND srcport = 11")" "443,1"
# ... and a last line that is never completed is taken once the file has
# been still for a few scans.
{ lines tail 1 3; printf '2 123456789012 eni-tail 10.0.0.1 10.0.0.2 4 443 6 1 100 1714521600 1714521660 ACCEPT OK'; } > "$W/tail.log"
check tail 4 "partial: a last line without newline, never completed, is taken"

# A gzip file is a whole file, taken once.
lines gz 1 100 | gzip -c > "$TMP/g.log.gz"
mv "$TMP/g.log.gz" "$W/g.log.gz"
wait_n gz 100 && ok "gzip file taken" || fail "gzip file taken" "$(n_of gz)"
sleep 3
expect_eq "gzip file taken once" "$(n_of gz)" "100"
expect_eq "no line rejected" "$(cat "$A"/_errors/serve-*.jsonl 2>/dev/null)" ""

# Restart: offsets survive, nothing is read again, appends go on.
kill -TERM "$PID"; wait "$PID"
start_watch
sleep 3
expect_eq "restart: nothing taken twice" \
    "$(sql "SELECT count(*) FROM flow_logs")" "$((300 + 150 + 180 + 52 + 11 + 4 + 100))"
lines app 301 20 >> "$W/app.log"
check app 320 "restart: lines appended after the restart are taken from the saved offset"

# kill -9 while a writer appends: every line once.
lines crash 1 0 > "$W/crash.log"
( for b in $(seq 0 39); do lines crash $((b * 25 + 1)) 25 >> "$W/crash.log"; sleep 0.1; done ) &
WRITER=$!
for round in 1 2 3; do
    sleep 1.3
    kill -9 "$PID"; wait "$PID" 2>/dev/null
    start_watch
done
wait "$WRITER"
check crash 1000 "kill -9 three times during appends: 1000 lines, each once"
expect_eq "restart after kill -9: tail.db read" "$(grep -c 'tail.db: line' serve.err)" "0"

# Both crash points of a piece, deterministically: the server exits right
# after journalling the piece as pending (before the write-ahead log), or
# right after the write-ahead log (before journalling the new offset).
kill -TERM "$PID"; wait "$PID"
for at in before-wal after-wal; do
    lines "$at" 1 100 > "$W/$at.log"
    FLOWLAKE_TEST_WATCH_CRASH=$at start_watch
    for _ in $(seq 1 150); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    wait "$PID"; st=$?
    expect_status "crash $at: the server died there" 99 $st
    start_watch
    check "$at" 100 "crash $at: after the restart, 100 lines, each once"
    kill -TERM "$PID"; wait "$PID"
done
expect_contains "crash points were reached" "$(cat serve.err)" \
    "exiting after the write-ahead log, before journalling the offset"
start_watch

# A damaged state file is a clear error, not a crash and not a re-read.
kill -TERM "$PID"; wait "$PID"
printf 'flowlake-tail 1\n0000zzzz T 1 2\n00000000 D 1 2\n' > "$A/_flowlake/tail.db"
"$FLOWLAKE" serve --listen 127.0.0.1:0 --archive "$A" --watch "$W" >bad.out 2>bad.err; st=$?
expect_status "damaged tail.db: serve refuses to start" 1 $st
expect_contains "damaged tail.db: the error names the file and line" "$(cat bad.err)" \
    "_flowlake/tail.db: line 2: checksum mismatch (the file is damaged)"
finish
