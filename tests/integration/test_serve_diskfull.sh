#!/usr/bin/env bash
# A disk that fills up is reported, not crashed on, and loses nothing
# acknowledged: the archive and its write-ahead log on a 2 MiB tmpfs.
# Then the failures are not sticky: with the disk full, rejected lines
# cannot be recorded and a publish fails; once space is freed, both work
# again without a restart, /api/status counted the failures and the log
# said so once each. Needs root (mount); said as SKIP elsewhere.
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

# Not sticky. A fresh archive on the same small disk, its write-ahead log
# elsewhere: with the archive's disk full (a filler file), requests are
# still acknowledged, but rejected lines, the metric state and the publish
# cannot be written. Then the filler goes: all three work again, without
# a restart.
status() { curl -s "$URL/api/status"; }
# field JSON OBJECT.KEY: one value of /api/status, as JSON text (a
# string keeps its quotes); the objects read here hold no nested '}'.
field() {
    printf '%s' "$1" | grep -o "\"${2%%.*}\":{[^}]*}" | head -1 \
        | grep -o "\"${2#*.}\":\(\"[^\"]*\"\|[^,}]*\)" | head -1 | cut -d: -f2-
}
# wait_field PATH NOT-VALUE: until /api/status's PATH is not NOT-VALUE (20 s max)
wait_field() {
    for _ in $(seq 1 100); do
        [ "$(field "$(status)" "$1")" != "$2" ] && return; sleep 0.2
    done
}
bad_lines() { for i in $(seq 1 "$1"); do echo "2 123456789012 eni-bad $i"; done; }
A=$SMALL/archive3
: >serve.err
start_server --set archive.buffer_interval=2s --set metrics.persist_interval=1s \
    --set wal.dir="$TMP/wal3"
wait_field metrics.persisted_seq null      # the metric store is up
dd if=/dev/zero of="$SMALL/filler" bs=1M 2>/dev/null
"$FLOWLAKE" generate --records 500 --seed 12 -o g2.log
expect_eq "a request is acknowledged (its log is on another disk)" \
    "$(curl -s -o /dev/null -w '%{http_code}' --data-binary @g2.log "$URL/ingest")" "200"
bad_lines 7 >bad1.log
expect_eq "bad lines on a full disk are still answered" \
    "$(curl -s --data-binary @bad1.log "$URL/ingest")" '{"accepted":0,"rejected":7}'
st=$(status)
expect_eq "the rejected lines not recorded are counted as lost" "$(field "$st" rejects.lost)" "7"
expect_eq "one failure episode" "$(field "$st" rejects.failures)" "1"
expect_eq "recording is failing" "$(field "$st" rejects.failing)" "true"
expect_contains "with the reason" "$(field "$st" rejects.last_error)" "No space left on device"
wait_field published.failures 0
wait_field metrics.store_failures 0
st=$(status)
expect_contains "the publish fails on the full disk" "$(field "$st" published.last_error)" \
    "publish failed"
[ "$(field "$st" metrics.store_failures)" -ge 1 ] && ok "saving the metric state fails, counted" \
    || fail "metrics.store_failures is $(field "$st" metrics.store_failures)"
sleep 3                                    # more retries of both: still one log line each

rm -f "$SMALL/filler"
bad_lines 5 >bad2.log
expect_eq "bad lines after space is freed" \
    "$(curl -s --data-binary @bad2.log "$URL/ingest")" '{"accepted":0,"rejected":5}'
st=$(status)
expect_eq "are recorded again" "$(field "$st" rejects.written)" "5"
expect_eq "lost stays as it was" "$(field "$st" rejects.lost)" "7"
expect_eq "recording works" "$(field "$st" rejects.failing)" "false"
ERR=$(ls "$A"/_errors/serve-*-"$PID".jsonl)
expect_eq "the errors file holds exactly the later lines, whole" \
    "$(sed 's/^{"source":"POST \/ingest from 127.0.0.1","line":\([0-9]\),"reason":"[^"]*","raw":"2 123456789012 eni-bad \([0-9]\)"}$/\1=\2/' "$ERR" | tr '\n' ' ')" \
    "1=1 2=2 3=3 4=4 5=5 "
for _ in $(seq 1 150); do
    [ "$(field "$(status)" published.records)" = 500 ] && break; sleep 0.2
done
expect_eq "the publish is retried and succeeds once space is freed" \
    "$(field "$(status)" published.records)" "500"
for _ in $(seq 1 50); do
    grep -q 'saving metric state works again' serve.err && break; sleep 0.2
done
expect_eq "rejects: one line when recording stops" \
    "$(grep -c 'cannot record rejected lines' serve.err)" "1"
expect_contains "and one when it works again" "$(cat serve.err)" \
    "rejected lines are recorded in $ERR again (7 lost so far)"
expect_eq "publish: one line when it stops working" "$(grep -c 'publish failed' serve.err)" "1"
expect_contains "and one when it works again" "$(cat serve.err)" "publishing works again"
expect_eq "metric store: one line when it stops working" \
    "$(grep -c 'saving metric state failed' serve.err)" "1"
expect_contains "and one when it works again" "$(cat serve.err)" "saving metric state works again"
kill -TERM "$PID"; wait "$PID"; st=$?
expect_status "SIGTERM exits 0" 0 $st
expect_eq "the archive has every acknowledged record" \
    "$("$FLOWLAKE" query --archive "$A" --output csv "SELECT count(*) FROM flow_logs" | tail -1)" "500"
finish
