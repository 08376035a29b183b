#!/usr/bin/env bash
# Exactly once under the retries AWS senders make: Firehose retries a
# delivery with the same X-Amz-Firehose-Request-Id when it times out while
# the first may still be in flight, CloudWatch Logs events carry ids. Here
# N identical deliveries race each other, ids of one source meet the same
# text from another, a retry comes after a restart that followed a WAL
# checkpoint, and senders keep retrying across a kill -9 of the server:
# every record must be stored exactly once.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
A=$TMP/archive
N=8            # concurrent identical deliveries
ROUNDS=5
LINES=40

# (awk, not a shell loop: thousands of lines are made in a blink.)
line() { lines "$1" 1 "$2"; }
# lines ENI N [FIRST]: N flow-log lines of interface eni-ENI
lines() {
    awk -v e="$1" -v n="$2" -v f="${3:-1}" 'BEGIN { for (i = f; i < f + n; i++)
        printf "2 123456789012 eni-%s 10.0.%d.%d 10.1.0.1 %d 443 6 1 100 1714521600 1714521660 ACCEPT OK\n",
               e, int(i / 256), i % 256, 1024 + i }'
}
b64() { base64 -w0; }
# firehose_body REQUEST-ID ENI: one record of LINES plain lines.
firehose_body() {
    printf '{"requestId":"%s","timestamp":1714521600000,"records":[{"data":"%s"}]}' \
        "$1" "$(lines "$2" $LINES | b64)"
}
# cwl ID-PREFIX N ENI -> a DATA_MESSAGE with N events (ids PREFIX00001...)
cwl() {
    printf '{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"vpc-flow-logs","logStream":"%s","subscriptionFilters":["f"],"logEvents":[' "$3"
    lines "$3" "$2" | awk -v p="$1" '{ printf "%s{\"id\":\"%s%05d\",\"timestamp\":1714521600000,\"message\":\"%s\"}",
                                       (NR > 1 ? "," : ""), p, NR, $0 }'
    printf ']}'
}
fh() {   # fh URL REQUEST-ID FILE -> HTTP status
    curl -s -o /dev/null -w '%{http_code}' --max-time 30 --data-binary @"$3" \
        -H "X-Amz-Firehose-Request-Id: $2" -H 'Content-Type: application/json' \
        "$1/firehose" 2>/dev/null
}
# count ENI-PATTERN: records stored (archive + buffer) whose interface id
# matches the LIKE pattern, asked of the running server.
count() {
    "$FLOWLAKE" query --server "$URL" --output csv \
        "SELECT count(*) FROM flow_logs WHERE interface_id LIKE '$1'" | tail -n +2
}

start_server --set server.threads=16 --set archive.buffer_interval=1h

# ---- N identical Firehose deliveries at once, several rounds ------------
dup_rounds=0
codes_all=""
for r in $(seq 1 $ROUNDS); do
    firehose_body "race-$r" "fh$r" > fh.$r
    pids=""
    for i in $(seq 1 $N); do fh "$URL" "race-$r" fh.$r > code.$r.$i & pids="$pids $!"; done
    wait $pids
    codes_all="$codes_all$(for f in code.$r.*; do cat "$f"; echo; done | sort -u | tr '\n' ' ')"
    [ "$(count "eni-fh$r")" = "$LINES" ] || dup_rounds=$((dup_rounds + 1))
done
expect_eq "every concurrent Firehose retry is answered 200" "$codes_all" "$(printf '200 %.0s' $(seq 1 $ROUNDS))"
expect_eq "each of $ROUNDS rounds of $N identical deliveries stored once" "$dup_rounds" "0"
expect_eq "the stored records of all rounds" "$(count 'eni-fh%')" "$((ROUNDS * LINES))"

# ---- N identical CloudWatch Logs payloads of 3,000 events at once --------
cwl 3650000000000000000000000000000000000000000000000 3000 cwpar | gzip -c > cw.gz
pids=""
for i in $(seq 1 $N); do
    curl -s --max-time 30 --data-binary @cw.gz "$URL/cwl" > cw.out.$i & pids="$pids $!"
done
wait $pids
accepted=$(cat cw.out.* | sed -n 's/.*"accepted":\([0-9]*\).*/\1/p' | awk '{s+=$1} END {print s+0}')
dups=$(cat cw.out.* | sed -n 's/.*"duplicates":\([0-9]*\).*/\1/p' | awk '{s+=$1} END {print s+0}')
expect_eq "$N concurrent payloads of 3,000 events: 3,000 accepted in all" "$accepted" "3000"
expect_eq "... and the other copies counted as duplicates" "$dups" "$(((N - 1) * 3000))"
expect_eq "... 3,000 records stored" "$(count 'eni-cwpar')" "3000"

# Overlapping payloads at once: events 1-200 and 101-300 (from 300 sent
# as three payloads of 200 sharing halves).
cwl 3651000000000000000000000000000000000000000000000 300 cwov > all.json
python3 - <<'EOF'
import json, gzip
d = json.load(open("all.json"))
ev = d["logEvents"]
for i, (a, b) in enumerate([(0, 200), (100, 300), (50, 250)]):
    d["logEvents"] = ev[a:b]
    open("ov.%d.gz" % i, "wb").write(gzip.compress(json.dumps(d).encode()))
EOF
pids=""
for i in 0 1 2; do for j in 1 2 3; do
    curl -s --max-time 30 --data-binary @ov.$i.gz "$URL/cwl" > ov.out.$i.$j & pids="$pids $!"
done; done
wait $pids
expect_eq "overlapping payloads at once: every event once" "$(count 'eni-cwov')" "300"

# ---- ids of one source never match another's ---------------------------
printf '{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":["f"],"logEvents":[{"id":"same-id-1","timestamp":1714521600000,"message":"%s"}]}' \
    "$(line cwsame 1)" > same.cwl
expect_eq "a CWL event with id same-id-1" \
    "$(curl -s --data-binary @same.cwl "$URL/cwl")" '{"accepted":1,"rejected":0,"duplicates":0}'
firehose_body same-id-1 fhsame > same.fh
expect_eq "a Firehose request with request id same-id-1 is taken" "$(fh "$URL" same-id-1 same.fh)" "200"
expect_eq "... and stored, not dropped as a duplicate" "$(count 'eni-fhsame')" "$LINES"
expect_eq "... its retry is still a duplicate" "$(fh "$URL" same-id-1 same.fh)" "200"
expect_eq "... stored once" "$(count 'eni-fhsame')" "$LINES"

status=$(curl -s "$URL/api/status")
expect_contains "/api/status reports the dedupe memory" "$status" '"dedupe":{"keys":'
expect_contains "... with nothing evicted or claimed" "$status" '"claimed":0,"evicted":0,"expired":0'
kill -TERM "$PID"; wait "$PID"; st=$?
expect_status "server exits 0 on SIGTERM" 0 $st

# ---- a retry after a restart that followed a checkpoint -----------------
# Publishing every second and small WAL segments: the records go to
# Parquet, more traffic fills later segments, and the checkpoint deletes
# the segment that held the two requests -- their ids live on only in the
# dedupe file.
SMALL_WAL="--set wal.segment_size=64KiB --set server.max_line=1KiB"
start_server --set archive.buffer_interval=1s $SMALL_WAL
firehose_body ckpt-1 fhckpt > ckpt.fh
cwl 3652000000000000000000000000000000000000000000000 50 cwckpt | gzip -c > ckpt.gz
expect_eq "a Firehose delivery before the checkpoint" "$(fh "$URL" ckpt-1 ckpt.fh)" "200"
expect_eq "a CWL payload before the checkpoint" "$(curl -s --data-binary @ckpt.gz "$URL/cwl")" \
    '{"accepted":50,"rejected":0,"duplicates":0}'
first_segment=$(ls "$A/_flowlake/wal" | grep '^wal-' | sort | head -1)
for f in 1 2 3 4 5 6; do
    lines "filler$f" 300 > filler.$f
    curl -s -o /dev/null --data-binary @filler.$f "$URL/ingest"
done
for _ in $(seq 1 100); do
    [ -e "$A/_flowlake/wal/$first_segment" ] || break
    sleep 0.1
done
[ -n "$first_segment" ] && [ ! -e "$A/_flowlake/wal/$first_segment" ] \
    && ok "the checkpoint deleted the WAL segment of both requests" \
    || fail "the checkpoint deleted the WAL segment of both requests" "$(ls "$A/_flowlake/wal")"
[ -s "$A/_flowlake/dedupe" ] && ok "the dedupe file is written" \
    || fail "the dedupe file is written"
kill -KILL "$PID"; wait "$PID" 2>/dev/null
start_server --set archive.buffer_interval=1s $SMALL_WAL
expect_eq "after the restart, the Firehose retry is acknowledged" "$(fh "$URL" ckpt-1 ckpt.fh)" "200"
expect_eq "after the restart, the CWL retry is all duplicates" "$(curl -s --data-binary @ckpt.gz "$URL/cwl")" \
    '{"accepted":0,"rejected":0,"duplicates":50}'
expect_eq "... the Firehose records are stored once" "$(count 'eni-fhckpt')" "$LINES"
expect_eq "... the CWL records are stored once" "$(count 'eni-cwckpt')" "50"
kill -TERM "$PID"; wait "$PID"

# A damaged dedupe file: the server refuses to start and names the file.
cp "$A/_flowlake/dedupe" dedupe.good
printf 'X' | dd of="$A/_flowlake/dedupe" bs=1 seek=40 conv=notrunc 2>/dev/null
"$FLOWLAKE" serve --listen 127.0.0.1:0 --archive "$A" > bad.out 2> bad.err & BPID=$!
for _ in $(seq 1 100); do kill -0 $BPID 2>/dev/null || break; sleep 0.05; done
if kill -0 $BPID 2>/dev/null; then kill -KILL $BPID; fi
wait $BPID; st=$?
[ "$st" -ne 0 ] && ok "a damaged dedupe file stops the start" \
    || fail "a damaged dedupe file stops the start" "exit status $st"
expect_contains "... the error names the file and the way out" "$(cat bad.err)" \
    "the dedupe file $A/_flowlake/dedupe is damaged (checksum mismatch)"
expect_contains "... and says how to go on" "$(cat bad.err)" "move the file aside"
cp dedupe.good "$A/_flowlake/dedupe"

# ---- identical deliveries racing across a kill -9 -----------------------
# SENDERS senders each deliver the same REQS Firehose requests (so every
# request is sent SENDERS times at once), retrying until they get a 200.
# The server is killed in the middle and restarted on the same port.
SENDERS=4
REQS=25
start_server --set archive.buffer_interval=1s --set server.threads=16
echo "$URL" > url
for q in $(seq 1 $REQS); do firehose_body "kill-$q" "kill$q" > kill.$q; done
sender() {
    local s=$1 q code tries
    for q in $(seq 1 $REQS); do
        for tries in $(seq 1 100); do
            code=$(fh "$(cat url)" "kill-$q" kill.$q)
            [ "$code" = "200" ] && { echo "kill-$q" >> acked.$s; break; }
            sleep 0.1
        done
    done
}
for s in $(seq 1 $SENDERS); do sender "$s" & SPIDS="${SPIDS:-} $!"; done
sleep 1.5
kill -KILL "$PID"; wait "$PID" 2>/dev/null
sleep 0.5
start_server --listen "127.0.0.1:$PORT" --set archive.buffer_interval=1s --set server.threads=16
echo "$URL" > url
wait $SPIDS
acked=$(cat acked.* 2>/dev/null | sort -u | grep -c . || true)
expect_eq "every request acknowledged in the end" "$acked" "$REQS"
counts=$("$FLOWLAKE" query --server "$URL" --output csv \
    "SELECT interface_id, count(*) FROM flow_logs WHERE interface_id LIKE 'eni-kill%' GROUP BY 1" | tail -n +2)
lost=0; duplicated=0
for q in $(seq 1 $REQS); do
    n=$(echo "$counts" | grep "^eni-kill$q," | cut -d, -f2)
    if [ "${n:-0}" -lt "$LINES" ]; then lost=$((lost + 1)); fi
    if [ "${n:-0}" -gt "$LINES" ]; then duplicated=$((duplicated + 1)); fi
done
echo "  requests acknowledged: $acked of $REQS; lost: $lost; duplicated: $duplicated"
expect_eq "across kill -9: no request lost" "$lost" "0"
expect_eq "across kill -9: no request duplicated" "$duplicated" "0"
kill -TERM "$PID"; wait "$PID"; st=$?
expect_status "restarted server exits 0 on SIGTERM" 0 $st
finish
