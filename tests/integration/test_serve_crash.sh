#!/usr/bin/env bash
# Nothing acknowledged is lost, nothing is duplicated: several clients
# send requests, the server is killed with SIGKILL in the middle, restarted,
# and the archive must hold every acknowledged request's records exactly
# once (unacknowledged ones: all or nothing, never twice).
. "$(dirname "$0")/lib.sh"
cd "$TMP"
A=$TMP/archive
CLIENTS=4
REQUESTS=60
LINES=50


# One request body: LINES records whose interface-id names client and request.
body() {
    local c=$1 r=$2 i
    for i in $(seq 1 $LINES); do
        echo "2 123456789012 eni-c$c-r$r 10.0.$c.$i 10.1.0.1 $((1024 + i)) 443 6 1 100 $((1714521600 + r)) $((1714521660 + r)) ACCEPT OK"
    done
}
client() {
    local c=$1 r
    for r in $(seq 1 $REQUESTS); do
        body "$c" "$r" > "body.$c"
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
               --data-binary @"body.$c" "$URL/ingest" 2>/dev/null)
        [ "$code" = "200" ] && echo "eni-c$c-r$r" >> "acked.$c"
    done
}

# Publishing every second, so that at the kill some records are in Parquet
# and some only in the write-ahead log.
start_server --set archive.buffer_interval=1s
for c in $(seq 1 $CLIENTS); do client "$c" & done
sleep 1.5
kill -KILL "$PID"
wait "$PID" 2>/dev/null
wait
acked=$(cat acked.* 2>/dev/null | sort)
n_acked=$(echo "$acked" | grep -c . || true)
[ "$n_acked" -gt 0 ] && ok "some requests acknowledged before the kill ($n_acked)" \
    || fail "no request was acknowledged before the kill"

start_server --set archive.buffer_interval=1h
kill -TERM "$PID"; wait "$PID"; st=$?
expect_status "restarted server exits 0 on SIGTERM" 0 $st

counts=$("$FLOWLAKE" query --archive "$A" --output csv \
    "SELECT interface_id, count(*) FROM flow_logs GROUP BY interface_id ORDER BY 1" | tail -n +2)
missing=0
for id in $acked; do
    n=$(echo "$counts" | grep "^$id," | cut -d, -f2)
    [ "${n:-0}" = "$LINES" ] || { missing=$((missing + 1)); echo "  $id: ${n:-0} records, want $LINES"; }
done
expect_eq "every acknowledged request is in the archive exactly once" "$missing" "0"
bad=$(echo "$counts" | awk -F, -v L=$LINES '$2 != L {print}')
expect_eq "no request partial or duplicated" "$bad" ""
echo "  acknowledged requests: $n_acked; requests in the archive: $(echo "$counts" | grep -c .)"
finish
