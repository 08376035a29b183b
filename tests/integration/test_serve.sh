#!/usr/bin/env bash
# The live server as a sender and a user see it: the real `flowlake serve`
# on a loopback port in a temporary folder, driven with curl.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
A=$TMP/archive
command -v curl >/dev/null || { echo "curl is required"; exit 1; }

stop_server() {
    kill -TERM "$PID" 2>/dev/null
    wait "$PID"
}
q() { "$FLOWLAKE" query --archive "$A" --output csv "$1" | tail -n +2; }
# http METHOD PATH [curl args...] -> "STATUS BODY"
http() {
    local m=$1 p=$2; shift 2
    curl -s -o body.out -w '%{http_code}' -X "$m" "$@" "$URL$p" > code.out
    echo "$(cat code.out) $(cat body.out)"
}

start_server --set archive.buffer_interval=1s --set server.max_body=64KiB \
             --set server.max_decompressed=1MiB
expect_contains "prints its address" "$(cat serve.out)" "listening on http://127.0.0.1:"
expect_eq "GET /healthz" "$(http GET /healthz)" "200 ok"
expect_eq "unknown endpoint is 404" "$(http GET /nope)" '404 {"error":"no such endpoint"}'
expect_eq "GET /ingest is 405" "$(http GET /ingest)" '405 {"error":"use POST"}'

"$FLOWLAKE" generate --records 300 --seed 3 --header -o g.log
expect_eq "POST /ingest with a header line" \
    "$(http POST /ingest --data-binary @g.log)" '200 {"accepted":300,"rejected":0}'
gzip -c g.log > g.log.gz
expect_eq "POST /ingest gzip (detected by magic bytes)" \
    "$(http POST /ingest --data-binary @g.log.gz)" '200 {"accepted":300,"rejected":0}'
printf '3 vpc-9 10.9.9.9 1714521700\n3 vpc-9 bad\n' > custom.log
expect_eq "POST /ingest ?format= with a bad line" \
    "$(http POST '/ingest?format=%24%7Bversion%7D%20%24%7Bvpc-id%7D%20%24%7Bsrcaddr%7D%20%24%7Bstart%7D' --data-binary @custom.log)" \
    '200 {"accepted":1,"rejected":1}'
expect_eq "bad format parameter is 400" \
    "$(http POST '/ingest?format=%24%7Bversion' --data-binary @custom.log)" \
    "400 {\"error\":\"format: field 1: '\${' at offset 0 is never closed by '}'\"}"
head -c 70000 /dev/zero | tr '\0' 'x' > big.txt
expect_eq "body over server.max_body is 413" \
    "$(http POST /ingest --data-binary @big.txt)" '413 {"error":"request body exceeds 65536 bytes"}'
head -c 20000000 /dev/zero | gzip -9 > bomb.gz
expect_eq "gzip bomb is 413, not expanded" \
    "$(http POST /ingest --data-binary @bomb.gz)" '413 {"error":"decompressed body exceeds 1048576 bytes"}'
head -c 200 g.log.gz > trunc.gz
expect_contains "truncated gzip is 400 naming the problem" \
    "$(http POST /ingest --data-binary @trunc.gz)" '400 {"error":"body: gzip stream truncated at compressed byte'

# Published within the interval, queryable, rejected line in _errors.
for _ in $(seq 1 50); do
    [ "$(q "SELECT count(*) FROM flow_logs" 2>/dev/null)" = "601" ] && break
    sleep 0.1
done
expect_eq "published after buffer_interval" "$(q "SELECT count(*) FROM flow_logs")" "601"
expect_eq "custom-format record kept its fields" \
    "$(q "SELECT version, vpc_id, srcaddr FROM flow_logs WHERE vpc_id = 'vpc-9'")" "3,vpc-9,10.9.9.9"
expect_contains "rejected line in the errors folder" "$(cat "$A"/_errors/serve-*.jsonl)" \
    '"line":2,"reason":"expected 4 fields, found 3","raw":"3 vpc-9 bad"}'
status=$(http GET /api/status)
expect_contains "status counts requests" "$status" '"ingest":{"requests":6,"records":601,'
expect_contains "status counts rejected" "$status" '"rejected":1,"duplicates":0}'
expect_contains "status shows published records" "$status" '"records":601,'

# SIGTERM: stop accepting, publish what is buffered, exit 0.
stop_server
start_server --set archive.buffer_interval=1h
expect_eq "second server accepts" "$(http POST /ingest --data-binary @g.log)" '200 {"accepted":300,"rejected":0}'
kill -TERM "$PID"; wait "$PID"; st=$?
expect_status "SIGTERM exits 0" 0 $st
expect_contains "SIGTERM logged" "$(cat serve.err)" "SIGTERM received, publishing the buffer"
expect_eq "buffer published on SIGTERM" "$(q "SELECT count(*) FROM flow_logs")" "901"

# --demo: generated traffic through the real ingestion path, published.
rm -rf "$A"
start_server --demo=500 --set archive.buffer_interval=1s
for _ in $(seq 1 60); do
    n=$(q "SELECT count(*) FROM flow_logs" 2>/dev/null)
    [ "${n:-0}" -gt 0 ] && break
    sleep 0.1
done
expect_contains "demo feeds the demo source" "$(http GET /api/status)" '"demo":{"requests":'
[ "${n:-0}" -gt 0 ] && ok "demo records are published and queryable ($n)" || fail "no demo records published"
# Traffic worth opening: one network (a few hundred interfaces, not a new
# population every second), flows as old as a delivery makes them.
for _ in $(seq 1 100); do
    n=$(q "SELECT count(*) FROM flow_logs" 2>/dev/null)
    [ "${n:-0}" -ge 2500 ] && break
    sleep 0.1
done
[ "${n:-0}" -ge 2500 ] && ok "demo: 5 rounds published" || fail "demo: 5 rounds published" "$n records"
enis=$(q "SELECT count(DISTINCT interface_id) FROM flow_logs")
[ "$enis" -le 600 ] && ok "demo: one network ($enis interfaces in $n records)" ||
    fail "demo: one network" "$enis interfaces in $n records"
expect_eq "demo: no flow ends in the last 9 s or later" \
    "$(q "SELECT count(*) FROM flow_logs WHERE epoch(\"end\") > epoch(now()) - 9")" "0"
lag=$(curl -s "$URL/metrics" | sed -n 's/^flowlake_ingest_lag_seconds \([0-9-]*\)$/\1/p')
[ "${lag:--1}" -ge 10 ] && ok "demo: the ingest lag is positive, as with real deliveries ($lag s)" ||
    fail "demo: the ingest lag is positive" "flowlake_ingest_lag_seconds $lag"
kill -TERM "$PID"; wait "$PID"; st=$?
expect_status "demo server exits 0 on SIGTERM" 0 $st
"$FLOWLAKE" serve --demo=0 >/dev/null 2>err.txt; st=$?
expect_status "bad --demo rate is a usage error" 2 $st

# Back-pressure: a full write-ahead log answers 503 + Retry-After, loses
# nothing acknowledged, and drains on publish.
rm -rf "$A"
start_server --set archive.buffer_interval=1h --set wal.max_size=1MiB --set wal.segment_size=256KiB
"$FLOWLAKE" generate --records 250 --seed 8 -o w.log
codes=""
accepted=0
for i in $(seq 1 60); do
    c=$(curl -s -o body.out -w '%{http_code}' -D hdr.out --data-binary @w.log "$URL/ingest")
    codes="$codes $c"
    [ "$c" = 200 ] && accepted=$((accepted + 250))
    [ "$c" = 503 ] && break
done
expect_contains "a full WAL answers 503" "$codes" "503"
expect_contains "with Retry-After" "$(cat hdr.out)" "Retry-After: 5"
expect_contains "and says why" "$(cat body.out)" "the write-ahead log is full (wal.max_size 1048576 bytes); retry later"
kill -TERM "$PID"; wait "$PID"; st=$?
expect_status "SIGTERM with a full WAL exits 0" 0 $st
expect_eq "every acknowledged record was published" "$(q "SELECT count(*) FROM flow_logs")" "$accepted"

"$FLOWLAKE" serve --listen 127.0.0.1:0 --archive "$A" --set wal.segment_size=64KiB >/dev/null 2>err.txt; st=$?
expect_status "a WAL segment too small for a line is refused" 1 $st
expect_contains "and explained" "$(cat err.txt)" "wal.segment_size 65536 is too small for server.max_line 65536"

# Usage errors.
"$FLOWLAKE" serve --set nope=1 >/dev/null 2>err.txt; st=$?
expect_status "unknown --set key is a usage error" 2 $st
expect_contains "unknown key named" "$(cat err.txt)" "unknown key 'nope'"
"$FLOWLAKE" serve --help | grep -q 'POST /ingest' && ok "serve --help" || fail "serve --help"
finish
