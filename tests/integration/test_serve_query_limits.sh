#!/usr/bin/env bash
# Queries from the network cannot hurt the server: each runs in a worker
# process that is killed at query.timeout (+1 s) whatever DuckDB is doing,
# whose memory is capped at query.max_memory (huge strings included), whose
# result is capped at query.max_result_bytes; at most query.max_concurrent
# run (429 + Retry-After beyond); /healthz and ingest keep answering and the
# publisher keeps publishing while queries run.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
A=$TMP/archive
q() {   # q SQL -> "STATUS BODY" (one line); the seconds it took in time.txt
    local out
    out=$(curl -s -o body.txt -w '%{http_code} %{time_total}' --data-binary "$1" "$URL/api/query")
    echo "${out#* }" >time.txt
    echo "${out%% *} $(tr -d '\n' <body.txt)"
}
slow_sql="SELECT len(list_sort(range(60000000)))"         # one uninterruptible function call
busy_sql="SELECT count(*) FROM range(1000000000) a, range(1000) b WHERE (a.range * b.range) % 7 = 3"
sanitized=0
ldd "$FLOWLAKE" 2>/dev/null | grep -q libasan && sanitized=1

# A sanitizer build starts each query's worker process several times slower.
TO=$((2 * ${FL_TEST_TIMEOUT_MULTIPLIER:-1}))
start_server --set query.timeout=${TO}s --set query.max_concurrent=2 \
    --set query.memory_limit=256MB --set query.max_memory=768MiB \
    --set query.max_result_bytes=4KiB --set archive.buffer_interval=1s

# 1. Time limit: an interruptible query stops itself; one stuck in a
#    single function call is killed one second later.
out=$(q "$busy_sql")
expect_contains "a runaway query is 408" "$out" "408 {\"error\":\"query interrupted after $TO s (query.timeout)\"}"
out=$(q "$slow_sql")
expect_contains "a query stuck in one function call is killed: 408" "$out" "408 {\"error\":\"query interrupted after $TO s (query.timeout)\"}"
T=$(cat time.txt)
echo "  killed after ${T}s (query.timeout = $TO s)"
if awk -v t="$T" -v to="$TO" 'BEGIN { exit !(t < to + 2.5) }'; then ok "killed within the limit and its grace second (+ slack)"
else fail "killed within the limit and its grace second (+ slack)" "took ${T}s"; fi

# 2. Memory: strings DuckDB's buffer manager does not track.
hwm() { awk '/VmHWM/ {print $2}' "/proc/$PID/status"; }
before=$(hwm)
if [ "$sanitized" -eq 1 ]; then
    skip "memory ceiling" "a sanitizer's shadow memory rules out RLIMIT_DATA in this build"
else
    out=$(q "SELECT string_agg(repeat('x', 1000000000), ',') FROM range(3)")
    expect_contains "a query beyond query.max_memory fails" "$out" '400 {"error":"the query ran out of memory (query.max_memory = 805306368 bytes'
fi
after=$(hwm)
echo "  server peak RSS ${before} kB before, ${after} kB after"
if [ $((after - before)) -lt 65536 ]; then ok "the server's own memory did not grow with the query"
else fail "the server's own memory did not grow with the query" "$before -> $after kB"; fi

# 3. Result size.
out=$(q "SELECT range AS n FROM range(100000)")
expect_contains "a result beyond query.max_result_bytes fails" "$out" \
    '400 {"error":"the result is larger than query.max_result_bytes (4096 bytes): add a LIMIT'
out=$(q "SELECT range AS n FROM range(3)")
expect_eq "a small result still comes back" "$out" '200 [{"n":0},{"n":1},{"n":2}]'

# 4. Concurrency: two running, the third is refused at once with 429.
curl -s -o /dev/null --data-binary "$busy_sql" "$URL/api/query" &
c1=$!
curl -s -o /dev/null --data-binary "$busy_sql" "$URL/api/query" &
c2=$!
for _ in $(seq 1 100); do
    running=$(curl -s "$URL/api/status" | sed -n 's/.*"queries":{"running":\([0-9]*\).*/\1/p')
    [ "${running:-0}" -ge 2 ] && break
    sleep 0.02
done
expect_eq "two queries run" "$running" "2"
curl -s -D hdr.txt -o body.txt --data-binary "SELECT 1" "$URL/api/query"
expect_contains "a third query is 429" "$(head -1 hdr.txt)" "429"
expect_contains "429 says when to retry" "$(tr -d '\r' <hdr.txt)" "Retry-After: 1"
expect_contains "429 says why" "$(cat body.txt)" "query.max_concurrent"
# The command-line client waits as Retry-After says and tries again.
"$FLOWLAKE" query --server "$URL" --output csv "SELECT 42 AS n" >cli.out 2>cli.err &
cli=$!

# 5. Meanwhile ingest, /healthz and publishing are not held up.
t=$(curl -s -o /dev/null -w '%{time_total}' "$URL/healthz")
echo "  /healthz answered in ${t}s with two queries running"
if awk -v t="$t" 'BEGIN { exit !(t < 1.0) }'; then ok "/healthz answers while queries run"
else fail "/healthz answers while queries run" "took ${t}s"; fi
"$FLOWLAKE" generate --records 300 --seed 9 --header -o g.log
res=$(curl -s -w ' %{time_total}' --data-binary @g.log "$URL/ingest")
expect_contains "ingest answers while queries run" "$res" '{"accepted":300,"rejected":0}'
echo "  ingest answered in ${res##* }s"
published=0
for _ in $(seq 1 60); do
    published=$(curl -s "$URL/api/status" | sed -n 's/.*"published":{"files":[0-9]*,"records":\([0-9]*\).*/\1/p')
    [ "${published:-0}" -ge 300 ] && break
    sleep 0.05
done
expect_eq "the publisher publishes while queries run" "$published" "300"
wait $c1 $c2
wait $cli; st=$?
expect_status "query --server retries a 429 until it runs" 0 $st
expect_eq "and prints the answer" "$(cat cli.out)" "n
42"
refused=$(curl -s "$URL/api/status" | sed -n 's/.*"queries":{[^}]*"refused":\([0-9]*\)}.*/\1/p')
if [ "${refused:-0}" -ge 2 ]; then ok "/api/status counts the refused queries ($refused)"
else fail "/api/status counts the refused queries" "refused=$refused"; fi

# 6. The worker holds none of the server's descriptors (no socket, no WAL).
curl -s -o /dev/null --data-binary "$busy_sql" "$URL/api/query" &
c1=$!
worker=""
for _ in $(seq 1 100); do
    worker=$(pgrep -P "$PID" | head -1)
    [ -n "$worker" ] && break
    sleep 0.02
done
if [ -n "$worker" ]; then
    sockets=$(ls -l "/proc/$worker/fd" 2>/dev/null | grep -c 'socket:')
    wal=$(ls -l "/proc/$worker/fd" 2>/dev/null | grep -c '_flowlake/wal')
    expect_eq "the worker inherits no socket" "$sockets" "0"
    expect_eq "the worker inherits no WAL file" "$wal" "0"
    # A server that dies takes its queries with it.
    kill -9 "$PID"; wait "$PID" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$worker" 2>/dev/null || break; sleep 0.02; done
    if kill -0 "$worker" 2>/dev/null; then fail "a worker does not outlive its server"
    else ok "a worker does not outlive its server"; fi
else
    fail "a worker process was seen"
    kill -9 "$PID"; wait "$PID" 2>/dev/null
fi
wait $c1 2>/dev/null

# 7. Still counted once after the kill: everything acknowledged is there.
start_server --set query.timeout=10s
out=$(q "SELECT count(*) AS n FROM flow_logs")
expect_eq "after a kill -9 mid-query, every acknowledged record once" "$out" '200 [{"n":300}]'
kill -TERM "$PID"; wait "$PID"
finish
