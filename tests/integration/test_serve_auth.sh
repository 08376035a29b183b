#!/usr/bin/env bash
# Who may call what (docs/security.md), against the real server: bearer
# keys per role on /cwl, /ingest (ingest) and /api/*, /metrics (read), the
# Firehose access key on /firehose, /healthz open; keys from files; the
# refusal to serve unguarded roles off loopback; non-canonical request
# targets; and refusals that come from the headers alone -- with
# Expect: 100-continue, before any of the body is sent (tests/tools/
# rawhttp.py never sends it).
RAW="python3 $(cd "$(dirname "$0")/../tools" && pwd)/rawhttp.py"
. "$(dirname "$0")/lib.sh"
cd "$TMP"
A=$TMP/archive
READ=read-key-0123
ING=ingest-key-4567
FH=firehose-key-89ab
line() { echo "2 123456789012 eni-auth 10.0.0.$1 10.1.0.1 4000$1 443 6 1 100 1714521600 1714521660 ACCEPT OK"; }
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
stop() { kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; }

printf '%s\n' "$READ" > read.key          # trailing newline: stripped
line 1 > one.log
printf '{"requestId":"auth-1","timestamp":1714521600000,"records":[{"data":"%s"}]}' \
    "$(line 2 | base64 -w0)" > fh.json

start_server --set server.read_key_file="$TMP/read.key" \
    --set server.ingest_key=$ING --set firehose.access_key=$FH

# /healthz stays open.
expect_eq "GET /healthz needs no key" "$(code "$URL/healthz")" 200

# Read role.
for p in /api/status /metrics /api/metrics /api/alarms /api/alarms/history /api/publishes /api/rejects; do
    expect_eq "GET $p without a key is 401" "$(code "$URL$p")" 401
    expect_eq "GET $p with the ingest key is 401" \
        "$(code -H "Authorization: Bearer $ING" "$URL$p")" 401
    expect_eq "GET $p with the read key (from its file) is 200" \
        "$(code -H "Authorization: Bearer $READ" "$URL$p")" 200
done
curl -s -D h.out -o b.out "$URL/api/status"
expect_contains "401 says WWW-Authenticate: Bearer" "$(tr -d '\r' < h.out)" \
    'WWW-Authenticate: Bearer realm="flowlake"'
expect_eq "401 body is a JSON error" "$(cat b.out)" \
    '{"error":"invalid or missing Authorization: Bearer key"}'
expect_eq "a key one byte short is 401" \
    "$(code -H "Authorization: Bearer ${READ%?}" "$URL/api/status")" 401
expect_eq "a key with one more byte is 401" \
    "$(code -H "Authorization: Bearer ${READ}x" "$URL/api/status")" 401
expect_eq "the key without the Bearer scheme is 401" \
    "$(code -H "Authorization: $READ" "$URL/api/status")" 401
expect_eq "the scheme is case-insensitive" \
    "$(code -H "Authorization: bearer $READ" "$URL/api/status")" 200
expect_eq "POST /api/query without a key is 401" \
    "$(code --data-binary 'SELECT 1' "$URL/api/query")" 401
expect_eq "POST /api/query with the ingest key is 401" \
    "$(code -H "Authorization: Bearer $ING" --data-binary 'SELECT 1' "$URL/api/query")" 401
expect_eq "POST /api/query with the read key runs the query" \
    "$(curl -s -H "Authorization: Bearer $READ" --data-binary 'SELECT 41+1 AS x' "$URL/api/query" | tr -d ' \n')" \
    '[{"x":42}]'

# Ingest role.
expect_eq "POST /ingest without a key is 401" "$(code --data-binary @one.log "$URL/ingest")" 401
expect_eq "POST /ingest with the read key is 401" \
    "$(code -H "Authorization: Bearer $READ" --data-binary @one.log "$URL/ingest")" 401
expect_eq "POST /ingest with the Firehose key as bearer is 401" \
    "$(code -H "Authorization: Bearer $FH" --data-binary @one.log "$URL/ingest")" 401
expect_eq "POST /ingest with the ingest key takes the line" \
    "$(curl -s -H "Authorization: Bearer $ING" --data-binary @one.log "$URL/ingest")" \
    '{"accepted":1,"rejected":0}'
expect_eq "POST /cwl without a key is 401" "$(code --data-binary @one.log "$URL/cwl")" 401
expect_eq "POST /cwl with the ingest key gets past the key check (400: not a CWL payload)" \
    "$(code -H "Authorization: Bearer $ING" --data-binary @one.log "$URL/cwl")" 400

# Firehose.
fh() { curl -s -H 'X-Amz-Firehose-Request-Id: auth-1' --data-binary @fh.json "$@" "$URL/firehose" |
       sed -E 's/"timestamp":[0-9]+/"timestamp":T/'; }
expect_eq "POST /firehose without the access key is a Firehose-shaped 401" "$(fh)" \
    '{"requestId":"auth-1","timestamp":T,"errorMessage":"invalid or missing X-Amz-Firehose-Access-Key"}'
expect_eq "POST /firehose with the ingest key in the header is 401 (access_key is set)" \
    "$(fh -H "X-Amz-Firehose-Access-Key: $ING")" \
    '{"requestId":"auth-1","timestamp":T,"errorMessage":"invalid or missing X-Amz-Firehose-Access-Key"}'
expect_eq "POST /firehose with the bearer ingest key is 401" \
    "$(fh -H "Authorization: Bearer $ING" -o /dev/null -w '%{http_code}')" 401
expect_eq "POST /firehose with the access key is taken" \
    "$(fh -H "X-Amz-Firehose-Access-Key: $FH")" '{"requestId":"auth-1","timestamp":T}'

# Non-canonical targets: 400 before routing, even for a real endpoint.
for t in '/api/query%00.css' '/ingest%00/x' '/api/%71uery' '//healthz' '/api/../api/status' \
         '/./healthz' '/api/status%2F' '/healthz\x' '/healthz#x'; do
    expect_eq "target $t is 400" \
        "$($RAW head "$PORT" GET "$t" "Authorization: Bearer $READ")" 400
done
expect_eq "target with a raw control byte is 400" \
    "$($RAW head "$PORT" GET $'/healthz\x01' )" 400
expect_eq "a query string may be percent-encoded" \
    "$(curl -s -H "Authorization: Bearer $ING" --data-binary @one.log \
        "$URL/ingest?format=%24%7Bversion%7D%20%24%7Baccount-id%7D%20%24%7Binterface-id%7D%20%24%7Bsrcaddr%7D%20%24%7Bdstaddr%7D%20%24%7Bsrcport%7D%20%24%7Bdstport%7D%20%24%7Bprotocol%7D%20%24%7Bpackets%7D%20%24%7Bbytes%7D%20%24%7Bstart%7D%20%24%7Bend%7D%20%24%7Baction%7D%20%24%7Blog-status%7D")" \
    '{"accepted":1,"rejected":0}'
expect_eq "unknown path is 404" "$(code "$URL/api/nothing")" 404
expect_eq "a trailing slash is another path: 404" "$(code "$URL/healthz/")" 404
expect_eq "wrong method is 405" "$(code -X DELETE "$URL/ingest")" 405

# Answers from the headers alone: the body is never sent. With
# Expect: 100-continue the refusal comes instead of "100 Continue".
big='Content-Length: 1073741824'
expect_eq "Expect: 100-continue, 1 GiB, unknown path: 404, no 100" \
    "$($RAW head "$PORT" POST /upload "$big" 'Expect: 100-continue')" 404
expect_eq "Expect: 100-continue, 1 GiB, no key: 401, no 100" \
    "$($RAW head "$PORT" POST /ingest "$big" 'Expect: 100-continue')" 401
expect_eq "Expect: 100-continue, 1 GiB, right key: 413, no 100" \
    "$($RAW head "$PORT" POST /ingest "$big" 'Expect: 100-continue' "Authorization: Bearer $ING")" 413
expect_eq "Expect: 100-continue, /firehose, no key: 401, no 100" \
    "$($RAW head "$PORT" POST /firehose "$big" 'Expect: 100-continue')" 401
expect_eq "Expect: 100-continue, /api/query, wrong key: 401" \
    "$($RAW head "$PORT" POST /api/query 'Content-Length: 100' 'Expect: 100-continue' 'Authorization: Bearer nope')" 401
expect_eq "Expect: 100-continue, a request that will be taken: 100 Continue" \
    "$($RAW head "$PORT" POST /ingest 'Content-Length: 100' 'Expect: 100-continue' "Authorization: Bearer $ING")" 100
expect_eq "60 MB to an unknown path, headers only: 404 without the body" \
    "$($RAW head "$PORT" POST /x/y 'Content-Length: 60000000')" 404
expect_eq "wrong method with a body announced: 405 without the body" \
    "$($RAW head "$PORT" PUT /ingest 'Content-Length: 60000000')" 405
stop

# Only server.ingest_key: /firehose takes it in X-Amz-Firehose-Access-Key.
start_server --set server.ingest_key=$ING
expect_eq "no firehose.access_key: /firehose takes server.ingest_key" \
    "$(fh -H "X-Amz-Firehose-Access-Key: $ING")" '{"requestId":"auth-1","timestamp":T}'
expect_eq "... and refuses another key" \
    "$(fh -H "X-Amz-Firehose-Access-Key: $FH" -o /dev/null -w '%{http_code}')" 401
expect_eq "no read key on loopback: /api/status is open" "$(code "$URL/api/status")" 200
stop

# Start-up checks (the server refuses before it listens).
refuse() {   # refuse NAME WANT-SUBSTRING ARGS...
    local name=$1 want=$2; shift 2
    "$FLOWLAKE" serve --archive "$A" "$@" > r.out 2> r.err; local st=$?
    if [ $st -ne 0 ] && grep -qF -- "$want" r.err; then ok "$name"; else
        fail "$name" "exit $st, stderr: $(cat r.err)"; fi
}
: > empty.key
refuse "a key and its _file together is an error" \
    "server.read_key and server.read_key_file both set" \
    --listen 127.0.0.1:0 --set server.read_key=x --set server.read_key_file="$TMP/read.key"
refuse "an empty key file is an error naming it" \
    "server.ingest_key_file: $TMP/empty.key is empty" \
    --listen 127.0.0.1:0 --set server.ingest_key_file="$TMP/empty.key"
refuse "a missing key file is an error naming it" \
    "firehose.access_key_file: cannot read $TMP/nope.key" \
    --listen 127.0.0.1:0 --set firehose.access_key_file="$TMP/nope.key"
printf 'two\nlines\n' > twolines.key
refuse "a key file of two lines is an error" \
    "server.read_key_file: the key in $TMP/twolines.key holds a control byte" \
    --listen 127.0.0.1:0 --set server.read_key_file="$TMP/twolines.key"
refuse "a bearer key with a blank is an error" \
    "server.ingest_key holds a blank (a bearer token has none)" \
    --listen 127.0.0.1:0 --set 'server.ingest_key=a b'
refuse "server.admin_key and its _file together is an error" \
    "server.admin_key and server.admin_key_file both set" \
    --listen 127.0.0.1:0 --set server.admin_key=x --set server.admin_key_file="$TMP/read.key"
refuse "an empty admin key file is an error naming it" \
    "server.admin_key_file: $TMP/empty.key is empty" \
    --listen 127.0.0.1:0 --set server.admin_key_file="$TMP/empty.key"
refuse "an admin key with a blank is an error" \
    "server.admin_key holds a blank (a bearer token has none)" \
    --listen 127.0.0.1:0 --set 'server.admin_key=a b'
refuse "0.0.0.0 with no keys refuses, saying what to set" \
    "set server.ingest_key); /api/* and /metrics (set server.read_key)" \
    --listen 0.0.0.0:0
grep -qF "server.allow_unauthenticated = true" r.err &&
    ok "the refusal names server.allow_unauthenticated" ||
    fail "the refusal names server.allow_unauthenticated" "$(cat r.err)"
refuse "0.0.0.0 with only firehose.access_key: /cwl, /ingest and the read role are unguarded" \
    "these endpoints would answer anyone: POST /cwl and /ingest (set server.ingest_key); /api/* and /metrics" \
    --listen 0.0.0.0:0 --set firehose.access_key=$FH
refuse "[::] with ingest and firehose keys but no read key refuses" \
    "would answer anyone: /api/* and /metrics (set server.read_key)" \
    --listen '[::]:0' --set firehose.access_key=$FH --set server.ingest_key=$ING
refuse "max_inflight_bytes below max_body is an error" \
    "server.max_inflight_bytes (1048576) is below server.max_body (2097152)" \
    --listen 127.0.0.1:0 --set server.max_body=2MiB --set server.max_inflight_bytes=1MiB

# Loopback without keys works as before (tests and serve --demo rely on it);
# localhost counts as loopback.
"$FLOWLAKE" serve --listen localhost:0 --archive "$A" > lo.out 2>> serve.err &
PID=$!
for _ in $(seq 1 200); do grep -q 'listening on' lo.out 2>/dev/null && break; sleep 0.05; done
expect_contains "localhost with no keys starts" "$(cat lo.out)" "listening on"
stop

finish
