#!/usr/bin/env bash
# A disk that fills up is reported, not crashed on, and loses nothing
# acknowledged: the archive and its write-ahead log on a 2 MiB tmpfs.
# Needs root (mount); said as SKIP elsewhere.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
SMALL=$TMP/small
mkdir -p "$SMALL"
if ! mount -t tmpfs -o size=2m tmpfs "$SMALL" 2>/dev/null; then
    skip "disk full" "cannot mount a tmpfs here (not root?)"
    finish
    exit $?
fi
trap 'umount "$SMALL" 2>/dev/null; rm -rf "$TMP"' EXIT
A=$SMALL/archive

start_server() {
    "$FLOWLAKE" serve --listen 127.0.0.1:0 --archive "$A" --set wal.segment_size=256KiB "$@" \
        >serve.out 2>serve.err &
    PID=$!
    for _ in $(seq 1 100); do grep -q 'listening on' serve.out 2>/dev/null && break; sleep 0.05; done
    PORT=$(sed -n 's/.*:\([0-9]*\), archive.*/\1/p' serve.out)
    URL=http://127.0.0.1:$PORT
}

"$FLOWLAKE" generate --records 2000 --seed 11 -o g.log
start_server --set archive.buffer_interval=1h
accepted=0 last=""
for i in $(seq 1 40); do
    last=$(curl -s -o body.out -w '%{http_code}' --data-binary @g.log "$URL/ingest")
    [ "$last" = 200 ] && accepted=$((accepted + 2000))
    [ "$last" = 503 ] && break
done
expect_eq "a full disk answers 503" "$last" "503"
expect_eq "and says why" "$(cat body.out)" '{"error":"the write-ahead log failed: No space left on device"}'
[ "$accepted" -gt 0 ] && ok "requests were acknowledged before the disk filled ($accepted records)" \
    || fail "nothing was acknowledged"
expect_eq "the server is still up" "$(curl -s "$URL/healthz")" "ok"
kill -TERM "$PID"; wait "$PID"; st=$?
expect_status "SIGTERM with nowhere to publish exits 1" 1 $st
expect_contains "and says so" "$(cat serve.err)" "stopped with records not published"

# Room again: everything acknowledged comes back from the log, once.
mount -o remount,size=64m "$SMALL"
start_server --set archive.buffer_interval=1h
expect_contains "the log is replayed" "$(cat serve.err)" "recovered $accepted records from the write-ahead log"
kill -TERM "$PID"; wait "$PID"; st=$?
expect_status "then SIGTERM publishes and exits 0" 0 $st
expect_eq "every acknowledged record is in the archive, once" \
    "$("$FLOWLAKE" query --archive "$A" --output csv "SELECT count(*) FROM flow_logs" | tail -1)" "$accepted"
finish
