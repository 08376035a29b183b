#!/usr/bin/env bash
# AWS deliveries to the real server: POST /firehose exactly as Kinesis Data
# Firehose sends it (access key, base64 records holding gzip'd CloudWatch
# Logs payloads or plain lines, retries with the same request id) and
# POST /cwl as a CloudWatch Logs subscription sends it.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
A=$TMP/archive
KEY=s3cret-key

start_server_aws() { start_server --set firehose.access_key=$KEY "$@"; }
post() {   # post PATH FILE [curl args] -> "STATUS BODY" (timestamps masked)
    local p=$1 f=$2; shift 2
    curl -s -o body.out -w '%{http_code}' --data-binary @"$f" "$@" "$URL$p" > code.out
    echo "$(cat code.out) $(sed -E 's/"timestamp":[0-9]+/"timestamp":T/' body.out)"
}
fh() {   # fh REQUEST-ID FILE [more curl args]
    local id=$1 f=$2; shift 2
    post /firehose "$f" -H "X-Amz-Firehose-Request-Id: $id" -H "X-Amz-Firehose-Access-Key: $KEY" \
        -H 'Content-Type: application/json' "$@"
}
q() { "$FLOWLAKE" query --archive "$A" --output csv "$1" | tail -n +2; }
line() { echo "2 123456789012 eni-$1 10.0.0.$2 10.1.0.1 4000$2 443 6 1 100 1714521600 1714521660 ACCEPT OK"; }
cwl() {   # cwl ID-PREFIX N -> a DATA_MESSAGE JSON with N events
    local i sep=""
    printf '{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"vpc-flow-logs","logStream":"eni-cw-all","subscriptionFilters":["to-flowlake"],"logEvents":['
    for i in $(seq 1 "$2"); do
        # timestamps as a number and as a string (AWS's own fixtures do both)
        if [ $((i % 2)) -eq 0 ]; then ts="\"1714521600000\""; else ts=1714521600000; fi
        printf '%s{"id":"%s%05d","timestamp":%s,"message":"%s"}' "$sep" "$1" "$i" "$ts" "$(line cw "$i")"
        sep=","
    done
    printf ']}'
}
b64() { base64 -w0; }

start_server_aws --set archive.buffer_interval=1h

# A Firehose request: plain lines, a gzip'd CWL payload, a CONTROL_MESSAGE,
# and one record that is not base64.
printf '%s\n%s\n' "$(line fh 1)" "$(line fh 2)" | b64 > r1
cwl 3554000000000000000000000000000000000000000000000 3 | gzip -c | b64 > r2
printf '{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1714521600000,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}' | gzip -c | b64 > r3
printf '{"requestId":"req-1","timestamp":1714521600000,"records":[{"data":"%s"},{"data":"%s"},{"data":"%s"},{"data":"not*base64"}]}' \
    "$(cat r1)" "$(cat r2)" "$(cat r3)" > req1.json

expect_eq "wrong access key is 401 with a Firehose error body" \
    "$(post /firehose req1.json -H 'X-Amz-Firehose-Request-Id: req-1' -H 'X-Amz-Firehose-Access-Key: nope')" \
    '401 {"requestId":"req-1","timestamp":T,"errorMessage":"invalid or missing X-Amz-Firehose-Access-Key"}'
expect_eq "Firehose request acknowledged with requestId and timestamp" \
    "$(fh req-1 req1.json)" '200 {"requestId":"req-1","timestamp":T}'
expect_contains "undecodable record goes to the errors folder" "$(cat "$A"/_errors/serve-*.jsonl)" \
    '{"source":"firehose request req-1","line":4,"reason":"records[3].data: '
expect_eq "retry with the same request id is acknowledged" \
    "$(fh req-1 req1.json)" '200 {"requestId":"req-1","timestamp":T}'
status=$(curl -s "$URL/api/status")
expect_contains "the retry is counted as a duplicate, its records are not" "$status" \
    '"firehose":{"requests":2,"records":5,'
expect_contains "duplicates counted" "$status" '"duplicates":1}'

printf '{"requestId":"req-2",\n"timestamp": 1\n"records":[]}' > bad.json
expect_eq "broken JSON is 400 naming line and column" "$(fh req-2 bad.json)" \
    "400 {\"requestId\":\"req-2\",\"timestamp\":T,\"errorMessage\":\"invalid JSON at line 3, column 9: '}' expected near '\\\"records\\\"'\"}"
expect_contains "the JSON error says where" "$(cat body.out)" 'line 3'

printf '{"requestId":"req-3","timestamp":1714521600000,"records":[{"data":"%s"}]}' \
    "$(printf '%s\n' "$(line gz 9)" | b64)" | gzip -c > req3.json.gz
expect_eq "Content-Encoding: gzip request" \
    "$(fh req-3 req3.json.gz -H 'Content-Encoding: gzip')" '200 {"requestId":"req-3","timestamp":T}'

# POST /cwl: gzip'd payload, the same events again, the Lambda form.
cwl 3555000000000000000000000000000000000000000000000 4 | gzip -c > cw1.gz
expect_eq "POST /cwl gzip'd DATA_MESSAGE" "$(post /cwl cw1.gz)" \
    '200 {"accepted":4,"rejected":0,"duplicates":0}'
expect_eq "POST /cwl same events again: duplicates, nothing added" "$(post /cwl cw1.gz)" \
    '200 {"accepted":0,"rejected":0,"duplicates":4}'
cwl 3555000000000000000000000000000000000000000000000 5 | gzip -c > cw2.gz
expect_eq "POST /cwl with 4 old events and 1 new: only the new one is taken" "$(post /cwl cw2.gz)" \
    '200 {"accepted":1,"rejected":0,"duplicates":4}'
printf '{"awslogs":{"data":"%s"}}' "$(cwl 3556000000000000000000000000000000000000000000000 2 | gzip -c | b64)" > lambda.json
expect_eq "POST /cwl Lambda event form" "$(post /cwl lambda.json)" \
    '200 {"accepted":2,"rejected":0,"duplicates":0}'
head -c 40 cw1.gz > trunc.gz
expect_contains "POST /cwl truncated gzip is 400" "$(post /cwl trunc.gz)" '400 {"error":'

# Dedupe survives a crash while the records are still in the log.
kill -KILL "$PID"; wait "$PID" 2>/dev/null
start_server_aws --set archive.buffer_interval=1h
expect_eq "after kill -9, the retried request is still recognised" \
    "$(fh req-1 req1.json)" '200 {"requestId":"req-1","timestamp":T}'
expect_eq "after kill -9, CWL events are still recognised" "$(post /cwl cw1.gz)" \
    '200 {"accepted":0,"rejected":0,"duplicates":4}'
kill -TERM "$PID"; wait "$PID"; st=$?
expect_status "SIGTERM exits 0" 0 $st
expect_eq "archive holds each record once" \
    "$(q "SELECT interface_id, count(*) FROM flow_logs GROUP BY 1 ORDER BY 1")" \
"eni-cw,10
eni-fh,2
eni-gz,1"
finish
