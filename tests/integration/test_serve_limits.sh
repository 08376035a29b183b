#!/usr/bin/env bash
# Limits of the HTTP front against the real server, from raw sockets
# (tests/tools/rawhttp.py): connections per client address and overall,
# the idle timeout, the memory of request bodies in flight
# (server.max_inflight_bytes, 503 + Retry-After), and the file-descriptor
# limit raised (or found too low) at start.
RAW="python3 $(cd "$(dirname "$0")/../tools" && pwd)/rawhttp.py"
. "$(dirname "$0")/lib.sh"
cd "$TMP"
A=$TMP/archive
stop() { kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; }

# Per-address limit 20; 40 idle connections from 127.0.0.1.
start_server --set server.max_connections_per_ip=20 --set server.idle_timeout=2s
$RAW conns "$PORT" 40 127.0.0.1 > conns.out
expect_eq "past server.max_connections_per_ip, connections are closed at once" \
    "$(grep closed_at_once conns.out)" "closed_at_once 20"
expect_eq "another address is still served, quickly" "$(grep ^other conns.out)" "other 200 fast"
n=$(sed -n 's/^all_closed_after //p' conns.out)
if [ "$n" != never ] && [ "$n" -ge 1 ] && [ "$n" -le 8 ]; then
    ok "idle connections are closed after server.idle_timeout = 2s ($n s)"
else fail "idle connections are closed after server.idle_timeout = 2s" "$(cat conns.out)"; fi
expect_eq "the first address is served again afterwards" \
    "$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")" 200
stop

# Overall limit 8 (two threads of 4): the ones past it are not accepted
# (they wait in the kernel's listen queue, holding no descriptor of ours)
# until idle ones are closed.
sockets() { find /proc/"$PID"/fd -lname 'socket:*' 2>/dev/null | wc -l; }
start_server --set server.threads=2 --set server.max_connections=8 --set server.idle_timeout=2s
base=$(sockets)
$RAW conns "$PORT" 20 127.0.0.1 > conns.out &
RPID=$!
for _ in $(seq 1 100); do grep -q connected conns.out && break; sleep 0.1; done
sleep 0.3
held=$(( $(sockets) - base ))
expect_eq "20 idle connections, server.max_connections = 8: 8 sockets held" "$held" 8
wait $RPID
n=$(sed -n 's/^all_closed_after //p' conns.out)
[ "$n" != never ] && ok "the waiting ones are taken and time out in turn ($n s)" ||
    fail "the waiting ones are taken and time out in turn" "$(cat conns.out)"
expect_eq "and the server answers again" \
    "$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")" 200
stop

# Bodies in flight: 1 MiB held by one request, the budget 1.5 MiB.
start_server --set server.max_body=1MiB --set server.max_inflight_bytes=1536KiB
$RAW inflight "$PORT" /ingest 1048576 > inflight.out
expect_eq "a second 1 MiB body would pass max_inflight_bytes: 503 with Retry-After, from its headers" \
    "$(sed -n 1p inflight.out)" "second 503 retry-after 5"
expect_eq "a chunked body is counted as it grows: 503 once it would pass" \
    "$(sed -n 2p inflight.out)" "chunked 503"
expect_eq "the first body is taken" "$(sed -n 3p inflight.out)" "first 200"
expect_eq "its bytes are given back: the next 1 MiB body is taken" \
    "$(sed -n 4p inflight.out)" "after 200"
stop

# The file-descriptor limit: raised to fit max_connections, or refused.
( ulimit -Sn 300; ulimit -Hn 2000
  exec "$FLOWLAKE" serve --listen 127.0.0.1:0 --archive "$A" \
      --set server.max_connections=512 > fd.out 2>> serve.err ) &
PID=$!
for _ in $(seq 1 200); do grep -q 'listening on' fd.out 2>/dev/null && break; sleep 0.05; done
expect_eq "the soft fd limit is raised for max_connections = 512" \
    "$(awk '/^Max open files/ {print $4}' /proc/$PID/limits)" 768
stop
( ulimit -n 1000
  exec "$FLOWLAKE" serve --listen 127.0.0.1:0 --archive "$A" \
      --set server.max_connections=5000 > fd.out 2> fd.err ); st=$?
if [ $st -ne 0 ] && grep -qF "server.max_connections = 5000 needs 5256 file descriptors, and the limit is 1000" fd.err; then
    ok "max_connections beyond the hard fd limit refuses to start"
else fail "max_connections beyond the hard fd limit refuses to start" "exit $st: $(cat fd.err)"; fi

finish
