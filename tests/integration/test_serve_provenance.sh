#!/usr/bin/env bash
# Where the server's records came from (docs/archive.md, "Provenance"):
# Firehose's X-Amz-Firehose-Source-Arn (delivery_stream, and the stream's
# account and region as fills) and X-Amz-Firehose-Common-Attributes
# (delivery_attributes); CloudWatch Logs' logGroup, logStream and owner
# (account fill), inside Firehose records and on /cwl; a watched file's
# path (source_file, account and region of an AWSLogs path). A record's own
# account_id / region always wins. Exact rows before publish (the buffer,
# through POST /api/query), after a SIGKILL and the WAL replay, and in the
# published Parquet; retried events and rejected lines do not shift the
# provenance of the lines around them; a WAL record written by the
# previous version (no provenance; tests/tools/wal_v2.c) is recovered
# after an upgrade. POST /ingest takes its provenance from the optional
# X-Flowlake-Source (source_file), X-Flowlake-Account-Id and
# X-Flowlake-Region headers (fills, as a path's), validated: 400 naming
# the header.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WAL_V2=$ROOT/${BUILD:-build}/tools/wal_v2
. "$(dirname "$0")/lib.sh"
cd "$TMP"
A=$TMP/archive
KEY=k3y
W=$TMP/s3/AWSLogs/777777777777/vpcflowlogs/ap-south-1/2024/05/01
mkdir -p "$W"
ARN=arn:aws:firehose:us-east-1:123456789012:deliverystream/vpc-to-flowlake
ATTRS='{"commonAttributes":{"team":"net","env":"prod"}}'
# ${version} ${srcaddr} ${start} ${end}: no account-id, no region.
SHORT='format=%24%7Bversion%7D%20%24%7Bsrcaddr%7D%20%24%7Bstart%7D%20%24%7Bend%7D'

start() {
    start_server --watch "$TMP/s3" --set watch.interval=1s \
        --set firehose.access_key=$KEY --set archive.buffer_interval=1h
}
fh() {   # fh REQUEST-ID FILE [curl args]: status code of POST /firehose
    local id=$1 f=$2; shift 2
    curl -s -o /dev/null -w '%{http_code}' --data-binary @"$f" \
        -H "X-Amz-Firehose-Request-Id: $id" -H "X-Amz-Firehose-Access-Key: $KEY" \
        -H 'Content-Type: application/json' "$@"
}
line() { echo "2 $1 eni-x $2 10.1.0.1 40000 443 6 1 100 1714521600 1714521660 ACCEPT OK"; }
short() { echo "2 $1 1714521600 1714521660"; }
# cwl OWNER GROUP STREAM ID:MESSAGE... -> a DATA_MESSAGE
cwl() {
    local owner=$1 group=$2 stream=$3 sep="" e; shift 3
    printf '{"messageType":"DATA_MESSAGE","owner":"%s","logGroup":"%s","logStream":"%s","subscriptionFilters":["f"],"logEvents":[' \
        "$owner" "$group" "$stream"
    for e in "$@"; do
        printf '%s{"id":"%s","timestamp":1714521600000,"message":"%s"}' "$sep" "${e%%:*}" "${e#*:}"
        sep=","
    done
    printf ']}'
}
b64() { base64 -w0; }
request() {   # request ID RECORD-FILE... -> a Firehose request body
    local id=$1 sep="" f; shift
    printf '{"requestId":"%s","timestamp":1714521600000,"records":[' "$id"
    for f in "$@"; do printf '%s{"data":"%s"}' "$sep" "$(b64 < "$f")"; sep=","; done
    printf ']}'
}
ev() { printf '3600000000000000000000000000000000000000000000000000%04d' "$1"; }
COLS="srcaddr, account_id, region, source_file, log_group, log_stream, delivery_stream, delivery_attributes"
SQL="SELECT $COLS FROM flow_logs ORDER BY srcaddr"
sq() { "$FLOWLAKE" query --server "$URL" --output csv "$1"; }
count() { sq "SELECT count(*) FROM flow_logs" | tail -1; }
wait_count() {   # wait_count N: until the server sees N records (10 s max)
    for _ in $(seq 1 100); do [ "$(count)" = "$1" ] && return 0; sleep 0.1; done
    return 1
}

start

# Request a: the stream's ARN and attributes; default format (account-id,
# no region). A text record; CWL records of two log groups, /vpc/a twice
# with /vpc/b between; a bad line inside /vpc/b.
line 111111111111 10.0.1.1 > t1
cwl 210987654321 /vpc/a eni-a-all "$(ev 1):$(line - 10.0.1.2)" "$(ev 2):$(line 222222222222 10.0.1.3)" | gzip -c > c1
cwl 210987654321 /vpc/b eni-b-all "$(ev 3):$(line 210987654321 10.0.1.4)" "$(ev 4):garbage" "$(ev 5):$(line 210987654321 10.0.1.5)" | gzip -c > c2
cwl 210987654321 /vpc/a eni-a-all "$(ev 6):$(line 210987654321 10.0.1.6)" | gzip -c > c3
request req-a t1 c1 c2 c3 > ra.json
expect_eq "request a acknowledged" \
    "$(fh req-a ra.json -H "X-Amz-Firehose-Source-Arn: $ARN" -H "X-Amz-Firehose-Common-Attributes: $ATTRS" "$URL/firehose")" 200

# Request b: a format without account-id and region: the text record's
# account is the stream's, the CWL record's its owner; region the stream's.
short 10.0.2.1 > t2
cwl 333333333333 /vpc/c eni-c-all "$(ev 7):$(short 10.0.2.2)" | gzip -c > c4
request req-b t2 c4 > rb.json
expect_eq "request b acknowledged" \
    "$(fh req-b rb.json -H "X-Amz-Firehose-Source-Arn: $ARN" "$URL/firehose?$SHORT")" 200

# Request c: headers not of the documented shape are ignored (and the
# request taken); an event already taken (ev 1, /vpc/a) between a text
# record and /vpc/d: the retried line goes, /vpc/d keeps its provenance.
line 444444444444 10.0.3.1 > t3
cwl 210987654321 /vpc/a eni-a-all "$(ev 1):$(line - 10.0.1.2)" | gzip -c > c5
cwl 210987654321 /vpc/d eni-d-all "$(ev 8):$(line 210987654321 10.0.3.2)" | gzip -c > c6
request req-c t3 c5 c6 > rc.json
expect_eq "request c acknowledged" \
    "$(fh req-c rc.json -H "X-Amz-Firehose-Source-Arn: arn:aws:s3:::bucket" -H "X-Amz-Firehose-Common-Attributes: nope" "$URL/firehose")" 200
expect_contains "the bad ARN is logged" "$(cat serve.err)" \
    "request req-c: X-Amz-Firehose-Source-Arn is not a delivery stream ARN; ignored"
expect_contains "the bad attributes are logged" "$(cat serve.err)" \
    "request req-c: X-Amz-Firehose-Common-Attributes is not"

# POST /cwl: the owner fills account_id when the format lacks it.
cwl 555555555555 /vpc/direct eni-e-all "$(ev 9):$(short 10.0.4.1)" | gzip -c > c7
expect_eq "POST /cwl, short format" \
    "$(curl -s --data-binary @c7 "$URL/cwl?$SHORT")" '{"accepted":1,"rejected":0,"duplicates":0}'
cwl 555555555555 /vpc/direct eni-e-all "$(ev 10):$(line 666666666666 10.0.4.2)" | gzip -c > c8
expect_eq "POST /cwl, default format" \
    "$(curl -s --data-binary @c8 "$URL/cwl")" '{"accepted":1,"rejected":0,"duplicates":0}'

# A watched file in an AWSLogs folder; a plain POST /ingest.
line - 10.0.5.1 > "$W/w.log"
line 888888888888 10.0.6.1 > i.log
curl -s --data-binary @i.log "$URL/ingest" >/dev/null
wait_count 14 || fail "watched file not ingested: $(count)"

WANT="srcaddr,account_id,region,source_file,log_group,log_stream,delivery_stream,delivery_attributes
10.0.1.1,111111111111,us-east-1,,,,vpc-to-flowlake,\"{\"\"env\"\":\"\"prod\"\",\"\"team\"\":\"\"net\"\"}\"
10.0.1.2,,us-east-1,,/vpc/a,eni-a-all,vpc-to-flowlake,\"{\"\"env\"\":\"\"prod\"\",\"\"team\"\":\"\"net\"\"}\"
10.0.1.3,222222222222,us-east-1,,/vpc/a,eni-a-all,vpc-to-flowlake,\"{\"\"env\"\":\"\"prod\"\",\"\"team\"\":\"\"net\"\"}\"
10.0.1.4,210987654321,us-east-1,,/vpc/b,eni-b-all,vpc-to-flowlake,\"{\"\"env\"\":\"\"prod\"\",\"\"team\"\":\"\"net\"\"}\"
10.0.1.5,210987654321,us-east-1,,/vpc/b,eni-b-all,vpc-to-flowlake,\"{\"\"env\"\":\"\"prod\"\",\"\"team\"\":\"\"net\"\"}\"
10.0.1.6,210987654321,us-east-1,,/vpc/a,eni-a-all,vpc-to-flowlake,\"{\"\"env\"\":\"\"prod\"\",\"\"team\"\":\"\"net\"\"}\"
10.0.2.1,123456789012,us-east-1,,,,vpc-to-flowlake,
10.0.2.2,333333333333,us-east-1,,/vpc/c,eni-c-all,vpc-to-flowlake,
10.0.3.1,444444444444,,,,,,
10.0.3.2,210987654321,,,/vpc/d,eni-d-all,,
10.0.4.1,555555555555,,,/vpc/direct,eni-e-all,,
10.0.4.2,666666666666,,,/vpc/direct,eni-e-all,,
10.0.5.1,,ap-south-1,AWSLogs/777777777777/vpcflowlogs/ap-south-1/2024/05/01/w.log,,,,"
expect_eq "buffered rows carry their provenance (POST /api/query)" "$(sq "$SQL" | grep -v '^10.0.6.1,')" "$WANT"
expect_eq "a plain POST /ingest has none" "$(sq "SELECT $COLS FROM flow_logs WHERE srcaddr = '10.0.6.1'" | tail -1)" \
    "10.0.6.1,888888888888,,,,,,"
expect_eq "nothing published yet" "$(find "$A" -name '*.parquet' | wc -l)" 0

# SIGKILL: the write-ahead log brings the rows back with their provenance.
kill -KILL "$PID"; wait "$PID" 2>/dev/null
start
expect_eq "after SIGKILL and WAL replay" "$(sq "$SQL" | grep -v '^10.0.6.1,')" "$WANT"
expect_eq "the watched file is not taken twice" "$(count)" 14

# SIGTERM publishes the buffer: the same rows from the Parquet files.
kill -TERM "$PID"; wait "$PID"; st=$?
expect_status "SIGTERM exits 0" 0 $st
q() { "$FLOWLAKE" query --archive "$A" --output csv "$1"; }
expect_eq "published Parquet carries the provenance" "$(q "$SQL" | grep -v '^10.0.6.1,')" "$WANT"
expect_eq "delivery_attributes is JSON SQL can read" \
    "$(q "SELECT DISTINCT json_extract_string(delivery_attributes, '\$.team') AS team FROM flow_logs WHERE delivery_attributes IS NOT NULL")" \
    "team
net"
# The examples of docs/archive.md ("Provenance").
expect_eq "docs: records per account, region and origin" \
    "$(q "SELECT account_id, region, coalesce(log_group, source_file) AS origin, delivery_stream, count(*) AS records FROM flow_logs GROUP BY ALL ORDER BY records DESC, account_id, region, origin")" \
"account_id,region,origin,delivery_stream,records
210987654321,us-east-1,/vpc/b,vpc-to-flowlake,2
111111111111,us-east-1,,vpc-to-flowlake,1
123456789012,us-east-1,,vpc-to-flowlake,1
210987654321,us-east-1,/vpc/a,vpc-to-flowlake,1
210987654321,,/vpc/d,,1
222222222222,us-east-1,/vpc/a,vpc-to-flowlake,1
333333333333,us-east-1,/vpc/c,vpc-to-flowlake,1
444444444444,,,,1
555555555555,,/vpc/direct,,1
666666666666,,/vpc/direct,,1
888888888888,,,,1
,ap-south-1,AWSLogs/777777777777/vpcflowlogs/ap-south-1/2024/05/01/w.log,,1
,us-east-1,/vpc/a,vpc-to-flowlake,1"
expect_eq "docs: one attribute of the stream's destination" \
    "$(q "SELECT json_extract_string(delivery_attributes, '\$.team') AS team, count(*) FROM flow_logs WHERE delivery_attributes IS NOT NULL GROUP BY ALL")" \
"team,count_star()
net,6"
expect_eq "provenance columns last" \
    "$(q "SELECT column_name FROM (DESCRIBE flow_logs)" | tail -5 | paste -sd' ')" \
    "source_file log_group log_stream delivery_stream delivery_attributes"

# An upgrade: the WAL holds a record of the previous version (no
# provenance) that was never published. The new server replays it (NULL
# provenance), takes new requests with theirs, and publishes both.
A=$TMP/archive2
line 999999999999 10.0.7.1 > old.txt
"$WAL_V2" "$A/_flowlake/wal" old.txt || fail "wal_v2 could not write the old WAL"
start
# (The watched folder is this server's too: w.log comes again, into this
# archive; only the 10.0.7.x records are looked at.)
OLD="SELECT $COLS FROM flow_logs WHERE srcaddr LIKE '10.0.7.%' ORDER BY srcaddr"
expect_eq "the old record is replayed" "$(sq "$OLD" | tail -n +2)" \
    "10.0.7.1,999999999999,,,,,,"
cwl 210987654321 /vpc/new eni-n-all "$(ev 11):$(line - 10.0.7.2)" | gzip -c > c9
expect_eq "a new /cwl request next to it" \
    "$(curl -s --data-binary @c9 "$URL/cwl")" '{"accepted":1,"rejected":0,"duplicates":0}'
# A log group name longer than any of AWS's (1,100 bytes): left out.
cwl 210987654321 "$(printf 'g%.0s' $(seq 1 1100))" eni-l-all "$(ev 12):$(line - 10.0.7.3)" | gzip -c > c10
expect_eq "an over-long log group is taken" \
    "$(curl -s --data-binary @c10 "$URL/cwl")" '{"accepted":1,"rejected":0,"duplicates":0}'
kill -TERM "$PID"; wait "$PID"; st=$?
expect_status "SIGTERM after the upgrade exits 0" 0 $st
expect_eq "all published, each with its own provenance" "$(q "$OLD" | tail -n +2)" \
"10.0.7.1,999999999999,,,,,,
10.0.7.2,,,,/vpc/new,eni-n-all,,
10.0.7.3,,,,,eni-l-all,,"
# POST /ingest with the X-Flowlake-* headers: a free source name (in
# source_file), an account and a region filling what the format lacks (a
# record's own account wins, even over the header).
A=$TMP/archive3
start
NEW="SELECT $COLS FROM flow_logs WHERE srcaddr LIKE '10.0.8.%' ORDER BY srcaddr"
pi() {   # pi FILE [curl args]: "STATUS BODY" of POST /ingest
    local st
    st=$(curl -s -o resp -w '%{http_code}' --data-binary @"$1" "${@:2}")
    echo "$st $(cat resp)"
}
line 101010101010 10.0.8.1 > p1
expect_eq "POST /ingest with all three headers" \
    "$(pi p1 -H 'X-Flowlake-Source: forwarder-7/bucket/obj 1.log' -H 'X-Flowlake-Account-Id: 121212121212' \
        -H 'X-Flowlake-Region: eu-west-3' "$URL/ingest")" '200 {"accepted":1,"rejected":0}'
short 10.0.8.2 > p2
expect_eq "POST /ingest, a format without account and region" \
    "$(pi p2 -H 'X-Flowlake-Account-Id: 121212121212' -H 'X-Flowlake-Region: us-gov-west-1' "$URL/ingest?$SHORT")" \
    '200 {"accepted":1,"rejected":0}'
line - 10.0.8.3 > p3
expect_eq "POST /ingest with only a source name" \
    "$(pi p3 -H 'X-Flowlake-Source: edge' "$URL/ingest")" '200 {"accepted":1,"rejected":0}'
# Bad values: 400 naming the header, nothing taken.
line 101010101010 10.0.8.9 > p9
LONG=$(printf 's%.0s' $(seq 1 257))
expect_contains "a source name over 256 bytes" "$(pi p9 -H "X-Flowlake-Source: $LONG" "$URL/ingest")" \
    "X-Flowlake-Source: expected 1 to 256 bytes"
expect_contains "an account of 11 digits" "$(pi p9 -H 'X-Flowlake-Account-Id: 12121212121' "$URL/ingest")" \
    "X-Flowlake-Account-Id: expected an AWS account id (12 digits)"
expect_contains "an account with a letter: 400" "$(pi p9 -H 'X-Flowlake-Account-Id: 12121212121x' "$URL/ingest")" "400 "
for r in useast1 us-east us-east-100 US-EAST-1 'us east 1'; do
    expect_contains "region '$r' refused" "$(pi p9 -H "X-Flowlake-Region: $r" "$URL/ingest")" \
        "X-Flowlake-Region: expected an AWS region name (such as us-east-1)"
done
P="10.0.8.1,101010101010,eu-west-3,forwarder-7/bucket/obj 1.log,,,,
10.0.8.2,121212121212,us-gov-west-1,,,,,
10.0.8.3,,,edge,,,,"
expect_eq "buffered /ingest rows carry the headers' provenance, refused requests none" "$(sq "$NEW" | tail -n +2)" "$P"
kill -KILL "$PID"; wait "$PID" 2>/dev/null
start
expect_eq "after SIGKILL and WAL replay (archive 3)" "$(sq "$NEW" | tail -n +2)" "$P"
kill -TERM "$PID"; wait "$PID"; st=$?
expect_status "SIGTERM exits 0 (archive 3)" 0 $st
expect_eq "published Parquet: the /ingest provenance" "$(q "$NEW" | tail -n +2)" "$P"
finish
