#!/usr/bin/env bash
# The server's event log, read as an operator or a log shipper would:
# with server.log_format = json every stderr line of a run (start, a
# Firehose delivery, a refused one, rejected lines, a publish, a slow
# query, SIGTERM) is
# one JSON object with time, level, component and msg, and the events
# carry what matters (the Firehose request id, the records published, the
# slow query's SQL and status); text lines start with a UTC time and a
# level; server.log_level = warn drops the info lines; config check names
# a bad log_format.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
A=$TMP/archive
command -v curl >/dev/null || { echo "curl is required"; exit 1; }
command -v python3 >/dev/null || { echo "python3 is required"; exit 1; }

LINE='2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1418530010 1418530070 ACCEPT OK'
firehose() {   # firehose REQUEST_ID -> HTTP status
    local data
    data=$(printf '%s\n' "$LINE" | base64 -w0)
    curl -s -o /dev/null -w '%{http_code}' -H "X-Amz-Firehose-Request-Id: $1" \
        -H 'Content-Type: application/json' \
        --data "{\"requestId\":\"$1\",\"timestamp\":1,\"records\":[{\"data\":\"$data\"}]}" \
        "$URL/firehose"
}

# JSON run.
start_server --set server.log_format=json --set archive.buffer_interval=1s \
    --set query.slow_log=1s --set query.timeout=1s
expect_eq "a Firehose delivery is acknowledged" "$(firehose rid-logs-1)" "200"
# Two bad lines and a good one in one request: the rejects are counted
# before the publish that takes the good one, which sums them up.
expect_eq "plain lines with two bad ones are acknowledged" "$(printf '%s\nbad line one\n2 1 eni-2 x\n' "$LINE" |
    curl -s -o /dev/null -w '%{http_code}' --data-binary @- "$URL/ingest")" "200"
expect_eq "a broken one is refused" "$(curl -s -o /dev/null -w '%{http_code}' \
    -H 'X-Amz-Firehose-Request-Id: rid-bad' --data '{not json' "$URL/firehose")" "400"
for _ in $(seq 1 100); do grep -q '"component":"rejects","msg":"2 lines' serve.err && break; sleep 0.1; done
# Interrupted at its 1 s limit, so it ran at least query.slow_log.
curl -s -o /dev/null --data "SELECT len(list_sort(range(60000000)))" "$URL/api/query"
kill -TERM "$PID"; wait "$PID"

# Every line is one object with exactly these keys, in this order.
python3 - serve.err > parsed.txt <<'EOF'
import json, re, sys
for n, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    try:
        o = json.loads(line)
    except ValueError as e:
        print(f"line {n} is not JSON: {line.rstrip()}")
        continue
    if list(o) != ["time", "level", "component", "msg"]:
        print(f"line {n} keys: {list(o)}")
    elif not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", o["time"]):
        print(f"line {n} time: {o['time']}")
    else:
        print(o["level"], o["component"], o["msg"])
EOF
expect_eq "every line is a JSON event" "$(grep -c '^line ' parsed.txt)" "0"
expect_contains "start is logged with the address" "$(cat parsed.txt)" \
    "info serve listening on http://127.0.0.1:$PORT, archive $A, version"
expect_contains "the Firehose request id is logged" "$(cat parsed.txt)" \
    "info firehose request rid-logs-1: 200"
expect_contains "a refused delivery is a warning with the reason" "$(cat parsed.txt)" \
    "warn firehose request rid-bad: 400: "
expect_eq "the publishes say what they wrote: both good records" \
    "$(sed -n 's/^info publish \([0-9]*\) records\{0,1\} in [0-9]* files\{0,1\} (.* MB) in .* s, up to WAL record [0-9]*$/\1/p' parsed.txt | awk '{n += $1} END {print n + 0}')" "2"
expect_contains "a rejected line is a warning naming where" "$(cat parsed.txt)" \
    "warn rejects rejected "
expect_eq "the publish after them sums the rejects up, with the file" \
    "$(grep -c "^warn rejects 2 lines rejected since the last publish (2 since start); they are in $A/_errors/serve-.*\.jsonl$" parsed.txt)" "1"
expect_eq "the slow query is logged once, with its status and SQL" \
    "$(grep -c '^warn query slow query: [0-9.]* s, status 408, 0 bytes of result: SELECT len(list_sort(range(60000000)))$' parsed.txt)" "1"
expect_contains "SIGTERM is logged" "$(cat parsed.txt)" "info serve SIGTERM received, publishing the buffer"
expect_contains "and the stop" "$(cat parsed.txt)" "info serve stopped"

# Text run, warnings only.
: > serve.err
start_server --set server.log_level=warn
expect_eq "a delivery is acknowledged" "$(firehose rid-logs-2)" "200"
curl -s -o /dev/null -H 'X-Amz-Firehose-Request-Id: rid-bad-2' --data '{not json' "$URL/firehose"
kill -TERM "$PID"; wait "$PID"
expect_eq "log_level=warn: no info line" "$(grep -c ' INFO  ' serve.err)" "0"
expect_eq "text: the warning starts with its UTC time and level" \
    "$(grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z WARN  firehose: request rid-bad-2: 400: ' serve.err)" "1"

# config check refuses a format it does not know.
printf '[server]\nlog_format = xml\n' > bad.ini
out=$("$FLOWLAKE" config check bad.ini 2>&1); st=$?
expect_status "config check: log_format = xml is refused" 1 $st
expect_contains "... naming the key, its line and the choices" "$out" "bad.ini:2"
expect_contains "... and the choices" "$out" "text|json"

finish
