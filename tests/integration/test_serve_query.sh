#!/usr/bin/env bash
# SQL on the running server: acknowledged records are visible at once (the
# archive plus the buffer, one view), a record is never counted twice or
# missed while a publish moves it, and SQL from the network is sandboxed.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
A=$TMP/archive
# A sanitizer build starts each query's worker process several times slower.
TO=$((1 * ${FL_TEST_TIMEOUT_MULTIPLIER:-1}))

"$FLOWLAKE" serve --listen 127.0.0.1:0 --archive "$A" --set archive.buffer_interval=1h \
    --set query.timeout=${TO}s >serve.out 2>serve.err &
PID=$!
for _ in $(seq 1 100); do grep -q 'listening on' serve.out 2>/dev/null && break; sleep 0.05; done
PORT=$(sed -n 's/.*:\([0-9]*\), archive.*/\1/p' serve.out)
URL=http://127.0.0.1:$PORT
sq() { "$FLOWLAKE" query --server "$URL" "$@"; }

"$FLOWLAKE" generate --records 500 --seed 5 --header -o g.log
curl -s --data-binary @g.log "$URL/ingest" >/dev/null
expect_eq "acknowledged records are queryable at once (nothing published yet)" \
    "$(sq --output csv "SELECT count(*) AS n FROM flow_logs")" "n
500"
expect_eq "no Parquet file was needed for that" "$(find "$A" -name '*.parquet' | wc -l)" "0"
expect_eq "table output through the server" \
    "$(sq "SELECT count(*) AS n FROM vpc_flow_logs.flow_logs")" "  n
---
500
(1 row)"
expect_eq "JSON output through the server" \
    "$(sq --output json "SELECT count(*) AS n FROM flow_logs")" '[
{"n":500}
]'
expect_eq "same answer as the generator's own file" \
    "$(sq --output csv "SELECT sum(bytes) AS b FROM flow_logs" | tail -1)" \
    "$(awk 'NR > 1 && $10 != "-" {s += $10} END {print s}' g.log)"

# Sandbox.
out=$(sq "COPY (SELECT 1) TO '$A/x.csv'" 2>&1); st=$?
expect_status "COPY refused" 1 $st
expect_contains "COPY refused with a reason" "$out" "flowlake query: "
out=$(sq "SELECT * FROM read_csv('/etc/passwd')" 2>&1)
expect_contains "no file access outside the archive" "$out" "file system operations are disabled"
out=$(sq "SET enable_external_access = true" 2>&1)
expect_contains "SET refused" "$out" "only SELECT and EXPLAIN are allowed here; statement 1 is SET"
out=$(sq "INSTALL httpfs" 2>&1)
expect_contains "INSTALL refused" "$out" "only SELECT and EXPLAIN are allowed here"
out=$(sq "SELECT count(*) FROM range(1000000000) a, range(1000) b WHERE (a.range * b.range) % 7 = 3" 2>&1); st=$?
expect_status "a runaway query fails" 1 $st
expect_contains "interrupted after query.timeout" "$out" "query interrupted after $TO s (query.timeout)"
out=$(sq "SELEC 1" 2>&1)
expect_contains "SQL errors are DuckDB's message" "$out" "syntax error"
out=$("$FLOWLAKE" query --server http://127.0.0.1:1 "SELECT 1" 2>&1); st=$?
expect_status "unreachable server exits 1" 1 $st
expect_contains "unreachable server named" "$out" "cannot reach http://127.0.0.1:1"
kill -TERM "$PID"; wait "$PID"

# While publishes move records from the buffer to the archive, a query
# sees each record exactly once.
"$FLOWLAKE" serve --listen 127.0.0.1:0 --archive "$A" --set archive.buffer_interval=1s \
    >serve.out 2>serve.err &
PID=$!
for _ in $(seq 1 100); do grep -q 'listening on' serve.out 2>/dev/null && break; sleep 0.05; done
PORT=$(sed -n 's/.*:\([0-9]*\), archive.*/\1/p' serve.out)
URL=http://127.0.0.1:$PORT
"$FLOWLAKE" generate --records 200 --seed 6 -o small.log
( for i in $(seq 1 25); do curl -s --data-binary @small.log "$URL/ingest" >/dev/null; sleep 0.1; done ) &
FEEDER=$!
bad=0 last=0
for i in $(seq 1 30); do
    acked_before=$(curl -s "$URL/api/status" | sed -n 's/.*"ingest":{"requests":[0-9]*,"records":\([0-9]*\),.*/\1/p')
    n=$(sq --output csv "SELECT count(*) FROM flow_logs" | tail -1)
    acked_after=$(curl -s "$URL/api/status" | sed -n 's/.*"ingest":{"requests":[0-9]*,"records":\([0-9]*\),.*/\1/p')
    # The view holds the 500 earlier records plus what was acknowledged.
    if [ "$n" -lt $((500 + acked_before)) ] || [ "$n" -gt $((500 + acked_after)) ] || [ "$n" -lt "$last" ]; then
        bad=$((bad + 1)); echo "  query $i: $n records, acknowledged $acked_before..$acked_after"
    fi
    last=$n
done
wait "$FEEDER"
expect_eq "no record missed or doubled while publishing" "$bad" "0"
sleep 1.5
expect_eq "everything published in the end, counted once" \
    "$(sq --output csv "SELECT count(*) FROM flow_logs" | tail -1)" "5500"
kill -TERM "$PID"; wait "$PID"
expect_eq "and the archive alone agrees" \
    "$("$FLOWLAKE" query --archive "$A" --output csv "SELECT count(*) FROM flow_logs" | tail -1)" "5500"
finish
