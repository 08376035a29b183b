#!/usr/bin/env bash
# Fault suite: a kill -9 loop. Firehose senders deliver requests the way
# Firehose does -- a request id each, the same request retried until it
# gets a 200 -- while the server is killed with SIGKILL at a random moment
# and restarted, FL_KILL_CYCLES times (default 20). Some requests are in
# flight at every kill; their senders retry them, with the same id, after
# the restart. At the end every request has been acknowledged, and the
# archive must hold each request's records exactly once: the summary
# prints requests acknowledged, lost and duplicated.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
A=$TMP/archive
CYCLES=${FL_KILL_CYCLES:-20}
SENDERS=3
LINES=20
KEY=fault-suite-key

# The Firehose request body of sender s, request r: LINES records whose
# interface-id names the request.
make_body() {
    local s=$1 r=$2 i recs=""
    for i in $(seq 1 $LINES); do
        line="2 123456789012 eni-s$s-r$r 10.0.$s.$i 10.1.0.1 $((1024 + i)) 443 6 1 100 $((1714521600 + r)) $((1714521660 + r)) ACCEPT OK"
        recs="$recs${recs:+,}{\"data\":\"$(printf '%s\n' "$line" | base64 -w0)\"}"
    done
    printf '{"requestId":"s%s-r%s","timestamp":1714521600000,"records":[%s]}' "$s" "$r" "$recs" > "body.$s.$r"
}
# Sends sender s's requests from its next one on until the server is gone
# (or stop is asked): a request is retried (same id, same body) until 200.
sender() {
    local s=$1 r code tries
    r=$(cat "next.$s" 2>/dev/null || echo 1)
    # Its body exists: sent before a kill, never acknowledged -- in doubt.
    [ -e "body.$s.$r" ] && echo "s$s-r$r" >> in_doubt
    while [ ! -e stop ]; do
        [ -e "body.$s.$r" ] || make_body "$s" "$r"
        tries=0
        while :; do
            code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
                   -H "X-Amz-Firehose-Request-Id: s$s-r$r" \
                   -H "X-Amz-Firehose-Access-Key: $KEY" \
                   -H 'Content-Type: application/json' \
                   --data-binary @"body.$s.$r" "$URL/firehose" 2>/dev/null)
            [ "$code" = 200 ] && break
            # 000: the server is gone -- the request is in doubt; the next
            # cycle retries it first, as Firehose would.
            [ "$code" = 000 ] && { echo "$r" > "next.$s"; return; }
            tries=$((tries + 1)); [ $tries -ge 50 ] && { echo "$r" > "next.$s"; return; }
            sleep 0.1
        done
        echo "s$s-r$r" >> acked
        r=$((r + 1))
        echo "$r" > "next.$s"
    done
}

start() { start_server --set firehose.access_key=$KEY --set archive.buffer_interval=1s; }
kills=0
for cycle in $(seq 1 "$CYCLES"); do
    start
    [ -n "$PORT" ] || { fail "server restarted (cycle $cycle)" "$(tail -3 serve.err)"; break; }
    for s in $(seq 1 $SENDERS); do sender "$s" & done
    # A random moment: 0.2 .. 1.4 s into the cycle, publishes included.
    sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.2 + (r % 120) / 100 }')"
    kill -KILL "$PID"; wait "$PID" 2>/dev/null
    kills=$((kills + 1))
    wait
done

# Last start: every sender retries what is in doubt and sends one more.
start
touch stop
for s in $(seq 1 $SENDERS); do sender "$s"; done
rm -f stop
for s in $(seq 1 $SENDERS); do
    r=$(cat "next.$s"); make_body "$s" "$r"
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Amz-Firehose-Request-Id: s$s-r$r" \
           -H "X-Amz-Firehose-Access-Key: $KEY" --data-binary @"body.$s.$r" "$URL/firehose")
    [ "$code" = 200 ] && echo "s$s-r$r" >> acked
done
kill -TERM "$PID"; wait "$PID"; st=$?
expect_status "the last server exits 0 on SIGTERM (everything published)" 0 $st

sent=$(ls body.* | wc -l)
n_acked=$(sort -u acked | wc -l)
counts=$("$FLOWLAKE" query --archive "$A" --output csv \
    "SELECT interface_id, count(*) FROM flow_logs GROUP BY interface_id ORDER BY 1" | tail -n +2)
lost=0 dup=0 partial=0
for id in $(sort -u acked); do
    n=$(echo "$counts" | grep "^eni-$id," | cut -d, -f2)
    n=${n:-0}
    if [ "$n" -eq 0 ]; then lost=$((lost + 1)); echo "  lost: $id"
    elif [ "$n" -gt "$LINES" ]; then dup=$((dup + 1)); echo "  duplicated: $id ($n records, want $LINES)"
    elif [ "$n" -lt "$LINES" ]; then partial=$((partial + 1)); echo "  partial: $id ($n records)"; fi
done
unacked_stored=$(echo "$counts" | cut -d, -f1 | sed 's/^eni-//' | grep -vxF -f <(sort -u acked) | grep -c . || true)
echo "  kill -9 cycles: $kills; requests sent: $sent; retried after a kill (in doubt): $(sort -u in_doubt 2>/dev/null | wc -l); acknowledged: $n_acked; lost: $lost; duplicated: $dup; partial: $partial; stored without an ack: $unacked_stored"
expect_eq "every request was acknowledged in the end" "$n_acked" "$sent"
expect_eq "no acknowledged request lost" "$lost" "0"
expect_eq "no request stored twice" "$dup" "0"
expect_eq "no request stored in part" "$partial" "0"
finish
