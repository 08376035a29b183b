#!/usr/bin/env bash
# The SQL console (docs/ui.md "SQL console") and what it needs of the
# server: POST /api/query's X-Flowlake-* headers with exact values over
# known data (archive files after pruning, buffered blocks, rows, columns),
# an error's line and column, X-Flowlake-Query-Id + POST
# /api/query/cancel (frees the query.max_concurrent slot at once; 404 for
# an unknown id; the read key; a client that closes its connection), then
# the page in a real browser
# (tests/browser/console.test.mjs: Debian's chromium driven by
# playwright-core under `node --test`). The screenshot is kept in $FL_SHOTS
# (default build/ui-shots).
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHOTS=${FL_SHOTS:-$ROOT/${BUILD:-build}/ui-shots}
[ -x /usr/bin/chromium ] || { echo "chromium missing: run scripts/bootstrap.sh --test"; exit 1; }
[ -f "$ROOT/web/node_modules/playwright-core/package.json" ] \
    || { echo "playwright-core missing: run scripts/bootstrap.sh --test"; exit 1; }
cd "$TMP"
A=$TMP/archive
KEY=c0ns0le-k3y
mkdir -p "$SHOTS"

# The known records of the browser tests (hour 00 of 2024-05-01) go into
# the archive as one file; two more records (hour 01) stay in the
# server's buffer as one block.
bash "$ROOT/tests/browser/data.sh" > data.log
"$FLOWLAKE" convert --archive "$A" data.log > convert.out 2>&1
expect_eq "the known records are one archive file" \
    "$(find "$A" -name '*.parquet' | wc -l)" 1
start_server --set server.read_key=$KEY --set query.max_concurrent=1 \
    --set query.timeout=60
H="Authorization: Bearer $KEY"
t1=$((1714521600 + 3600))
printf '%s\n' "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status" \
    "2 123456789012 eni-0a1 10.0.0.8 10.9.0.1 40001 443 6 9 900 $((t1 + 60)) $((t1 + 90)) REJECT OK" \
    "2 123456789012 eni-0a1 10.0.0.9 10.9.0.1 40001 443 6 4 400 $((t1 + 120)) $((t1 + 150)) ACCEPT OK" > live.log
expect_eq "two live records are accepted" \
    "$(curl -s -H "$H" --data-binary @live.log "$URL/ingest")" '{"accepted":2,"rejected":0}'

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
# q SQL [?QUERY]: prints the status; the answer's headers in h.txt (CR
# removed), its body in b.txt.
q() {
    curl -s -D h.txt -o b.txt -H "$H" --data-binary "$1" -w '%{http_code}' \
        "$URL/api/query${2:-}"
    sed -i 's/\r$//' h.txt
}
hdr() { sed -n "s/^$1: //Ip" h.txt; }

# ---- the headers over known data -----------------------------------------
expect_eq "the page is served" "$(code "$URL/console")" 200
expect_eq "its script is served" "$(code "$URL/ui/console.js")" 200
expect_eq "count over archive + buffer: 200" \
    "$(q "SELECT count(*) AS n, sum(packets) AS p FROM flow_logs")" 200
expect_eq "  the body is as before (JSON rows)" "$(cat b.txt)" $'[\n{"n":25,"p":301}\n]'
expect_eq "  X-Flowlake-Rows" "$(hdr X-Flowlake-Rows)" 1
expect_eq "  X-Flowlake-Files: the archive's one file" "$(hdr X-Flowlake-Files)" 1
expect_eq "  X-Flowlake-Blocks: the one buffered block" "$(hdr X-Flowlake-Blocks)" 1
expect_eq "  X-Flowlake-Columns: names and types" "$(hdr X-Flowlake-Columns)" \
    '[{"name":"n","type":"BIGINT"},{"name":"p","type":"HUGEINT"}]'
expect_eq "  X-Flowlake-Elapsed-Ms: a number of milliseconds" \
    "$(hdr X-Flowlake-Elapsed-Ms | grep -cE '^[0-9]+$')" 1
q "SELECT srcaddr, packets FROM flow_logs WHERE hour = '01' ORDER BY srcaddr" > /dev/null
expect_eq "hour 01: no archive file after pruning, the block" \
    "$(hdr X-Flowlake-Rows) $(hdr X-Flowlake-Files) $(hdr X-Flowlake-Blocks)" "2 0 1"
q "SELECT srcaddr FROM flow_logs WHERE hour = '00' AND action = 'ACCEPT' LIMIT 5" > /dev/null
expect_eq "hour 00: the archive file, the block pruned" \
    "$(hdr X-Flowlake-Rows) $(hdr X-Flowlake-Files) $(hdr X-Flowlake-Blocks)" "5 1 0"
q "SELECT 1 AS \"é\", NULL AS x WHERE false" > /dev/null
expect_eq "no rows, no flow_logs: 0 rows, files, blocks; columns ASCII-escaped" \
    "$(hdr X-Flowlake-Rows) $(hdr X-Flowlake-Files) $(hdr X-Flowlake-Blocks) $(hdr X-Flowlake-Columns)" \
    '0 0 0 [{"name":"\u00E9","type":"INTEGER"},{"name":"x","type":"INTEGER"}]'
q "SELECT action, count(*) AS n FROM flow_logs GROUP BY 1 ORDER BY 1" "?format=csv" > /dev/null
expect_eq "format=csv: the same headers, the body CSV" \
    "$(hdr X-Flowlake-Rows) $(hdr X-Flowlake-Files) $(hdr X-Flowlake-Blocks) $(cat b.txt | tr '\n' ' ')" \
    "2 1 1 action,n ACCEPT,17 REJECT,8 "

wide=$(seq -f '%04g' 0 299 | sed 's/.*/& AS column_with_a_rather_long_name_&/' | paste -sd, -)
expect_eq "300 columns: answered, without X-Flowlake-Columns (over 12 KiB)" \
    "$(q "SELECT $wide") $(hdr X-Flowlake-Rows) [$(hdr X-Flowlake-Columns)]" "200 1 []"

# ---- an error's position --------------------------------------------------
expect_eq "a syntax error: 400" "$(q "SELECT srcaddr FORM flow_logs")" 400
expect_eq "  error as before, line and column of flow_logs" "$(cat b.txt)" \
    '{"error":"syntax error at or near \"flow_logs\"","line":1,"column":21}'
expect_eq "a binder error on line 2: 400" \
    "$(q $'SELECT srcaddr,\n  dstaddr, nosuch\nFROM flow_logs')" 400
expect_eq "  line and column of nosuch" "$(jq -c '[.line, .column]' b.txt)" '[2,12]'
expect_contains "  the error is DuckDB's message, unchanged" "$(jq -r .error b.txt)" \
    $'Binder Error: Referenced column "nosuch" not found in FROM clause!'
expect_contains "  with its excerpt" "$(jq -r .error b.txt)" $'LINE 2:   dstaddr, nosuch\n                   ^'
expect_eq "a refused statement has no position" "$(q "DROP TABLE flow_logs"; jq -c 'keys' b.txt)" '403["error"]'

# ---- cancel --------------------------------------------------------------
expect_eq "cancel without the key: 401" "$(code -X POST "$URL/api/query/cancel?id=abc")" 401
expect_eq "cancel of an unknown id: 404" \
    "$(code -X POST -H "$H" "$URL/api/query/cancel?id=no-such-query")" 404
expect_eq "cancel without an id: 400" "$(code -X POST -H "$H" "$URL/api/query/cancel")" 400
expect_eq "cancel with GET: 405" "$(code -H "$H" "$URL/api/query/cancel?id=abc")" 405
expect_eq "a query id with a space: 400" \
    "$(code -H "$H" -H 'X-Flowlake-Query-Id: a b' --data-binary 'SELECT 1' "$URL/api/query")" 400
LONG="SELECT sum(a.range * b.range) FROM range(1000000) a, range(1000000) b"
curl -s -o long.txt -w '%{http_code}' -H "$H" -H 'X-Flowlake-Query-Id: long-1' \
    --data-binary "$LONG" "$URL/api/query" > long.code &
LONG_PID=$!
for _ in $(seq 1 100); do
    [ -n "$(pgrep -P "$PID" -f query-worker)" ] && break
    sleep 0.05
done
expect_eq "the long query's worker runs" "$(pgrep -P "$PID" -f query-worker | wc -l)" 1
expect_eq "query.max_concurrent = 1 is taken: another query is 429" \
    "$(code -H "$H" --data-binary 'SELECT 1' "$URL/api/query")" 429
t0=$(date +%s%N)
expect_eq "cancel the running query: 200" \
    "$(curl -s -X POST -H "$H" "$URL/api/query/cancel?id=long-1")" '{"cancelled":1}'
wait "$LONG_PID"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "the cancelled query is answered 499" "$(cat long.code)" 499
expect_eq "  with a clear message" "$(cat long.txt)" \
    '{"error":"the query was cancelled (POST /api/query/cancel)"}'
expect_eq "  promptly (under 3 s)" "$([ "$ms" -lt 3000 ] && echo yes || echo "no: $ms ms")" yes
expect_eq "its worker is gone" "$(pgrep -P "$PID" -f query-worker | wc -l)" 0
expect_eq "the slot is free: the next query runs" \
    "$(curl -s -H "$H" --data-binary 'SELECT 42 AS x' "$URL/api/query")" $'[\n{"x":42}\n]'
expect_eq "cancel of the ended query: 404" \
    "$(code -X POST -H "$H" "$URL/api/query/cancel?id=long-1")" 404

# A client that goes away: the server sees its connection close (it
# watches the socket while the worker runs) and frees the slot.
curl -s -m 1 -o /dev/null -H "$H" --data-binary "$LONG" "$URL/api/query"
expect_eq "a client gone after 1 s (curl -m 1): curl timed out" "$?" 28
for _ in $(seq 1 40); do
    [ -z "$(pgrep -P "$PID" -f query-worker)" ] && break
    sleep 0.05
done
expect_eq "  its worker is killed at once" "$(pgrep -P "$PID" -f query-worker | wc -l)" 0
expect_eq "  the slot is free" \
    "$(curl -s -H "$H" --data-binary 'SELECT 43 AS x' "$URL/api/query")" $'[\n{"x":43}\n]'

# ---- the browser -------------------------------------------------------
FL_URL=$URL FL_KEY=$KEY FL_SHOTS=$SHOTS \
    node --test --test-reporter=tap "$ROOT/tests/browser/console.test.mjs" > tap.txt 2>&1
st=$?
grep -E '^(not )?ok ' tap.txt | sed 's/^/  browser: /'
np=$(sed -n 's/^# pass //p' tap.txt)
nf=$(sed -n 's/^# fail //p' tap.txt)
if [ -z "$np" ] || [ -z "$nf" ]; then
    fail "node --test ran" "$(tail -30 tap.txt)"
else
    T_PASSED=$((T_PASSED + np))
    T_FAILED=$((T_FAILED + nf))
    [ "$nf" -eq 0 ] && [ "$st" -eq 0 ] || { echo "browser tests failed:"; grep -vE '^ok |^# ' tap.txt | head -80; }
    [ "$st" -ne 0 ] && [ "$nf" -eq 0 ] && fail "node --test exit status" "exit status $st"
fi
expect_eq "the console screenshot is saved" "$([ -s "$SHOTS/console.png" ] && echo yes)" yes
echo "screenshots: $SHOTS"
kill "$PID" 2>/dev/null
wait "$PID" 2>/dev/null
# A sanitizer build (FLOWLAKE=build-san/flowlake) reports into the server's
# stderr, the workers' included.
expect_eq "no sanitizer report from the server or its workers" \
    "$(grep -cE 'Sanitizer|runtime error' serve.err)" 0
finish
