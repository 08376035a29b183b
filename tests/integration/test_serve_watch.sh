#!/usr/bin/env bash
# The folder source: files that appear under --watch (as an S3 sync leaves
# them) are ingested once -- not again when copied, renamed or when the
# server restarts -- gzip or plain, header line or not, big files in pieces.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
A=$TMP/archive
W=$TMP/s3/AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/05/01
mkdir -p "$W"

start_server() {
    "$FLOWLAKE" serve --listen 127.0.0.1:0 --archive "$A" --watch "$TMP/s3" \
        --set watch.interval=1s "$@" >serve.out 2>>serve.err &
    PID=$!
    for _ in $(seq 1 100); do grep -q 'listening on' serve.out 2>/dev/null && break; sleep 0.05; done
    PORT=$(sed -n 's/.*:\([0-9]*\), archive.*/\1/p' serve.out)
    URL=http://127.0.0.1:$PORT
}
count() { "$FLOWLAKE" query --server "$URL" --output csv "SELECT count(*) FROM flow_logs" | tail -1; }
wait_count() {   # wait_count N: until the server sees N records (10 s max)
    for _ in $(seq 1 100); do [ "$(count)" = "$1" ] && return 0; sleep 0.1; done
    return 1
}

"$FLOWLAKE" generate --records 3000 --seed 1 --header --gzip -o "$W/a.log.gz"
"$FLOWLAKE" generate --records 1000 --seed 2 -o "$W/b.log"
echo "not a flow log" > "$W/notes.txt"
start_server --set archive.buffer_interval=1h
wait_count 4000 && ok "existing .log.gz (with header) and .log files ingested" \
    || fail "existing files not ingested: $(count)"
"$FLOWLAKE" generate --records 500 --seed 3 --gzip -o "$TMP/c.log.gz"
mv "$TMP/c.log.gz" "$W/c.log.gz"
wait_count 4500 && ok "a file appearing later is ingested" || fail "new file not ingested: $(count)"
cp "$W/b.log" "$W/b-copy.log"
sleep 2.5
expect_eq "a copy of a file already taken is not ingested again" "$(count)" "4500"
# Big enough for several pieces (4 MiB of text each).
"$FLOWLAKE" generate --records 100000 --seed 4 -o "$TMP/big.log"
mv "$TMP/big.log" "$W/big.log"
wait_count 104500 && ok "a large file is ingested in pieces" || fail "large file: $(count)"
expect_eq "the offset of big.log is recorded at its end" \
    "$(awk '$2 == "T" && $NF ~ /big.log$/ {o = $7} END {print o}' "$A/_flowlake/tail.db")" \
    "$(stat -c %s "$W/big.log")"
kill -TERM "$PID"; wait "$PID"; st=$?
expect_status "SIGTERM exits 0" 0 $st

start_server
sleep 2.5
expect_eq "after a restart nothing is taken twice" "$(count)" "104500"
status=$(curl -s "$URL/api/status")
expect_contains "status shows the watch source" "$status" '"watch":{"requests":0,'
kill -TERM "$PID"; wait "$PID"
expect_eq "the archive holds every record once" \
    "$("$FLOWLAKE" query --archive "$A" --output csv "SELECT count(*) FROM flow_logs" | tail -1)" "104500"
finish
