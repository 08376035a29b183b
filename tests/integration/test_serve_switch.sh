#!/usr/bin/env bash
# A header line anywhere in a POST /ingest body is a header (docs/serve.md,
# docs/ingest-formats.md): concatenated S3 objects of different custom
# formats put a header naming other fields mid-body, and the lines after
# it are in that format -- also when the request gave ?format=. The header
# is neither a record nor a rejection; one repeated as it is is skipped; a
# line that looks like a header but is no format is rejected with a reason
# naming the line. Exact rows before publish (the buffer, through POST
# /api/query), after kill -9 and the WAL replay (each run of lines comes
# back with its own format, once), and in the published Parquet. A
# header reaches the later records of one Firehose request, not the next
# request.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
A=$TMP/archive

start() { start_server --set archive.buffer_interval=1h; }
ingest() {   # ingest FILE [QUERY]: "STATUS BODY" of POST /ingest
    local st
    st=$(curl -s -o resp -w '%{http_code}' --data-binary @"$1" "$URL/ingest${2:-}")
    echo "$st $(cat resp)"
}
sq() { "$FLOWLAKE" query --server "$URL" --output csv "$1"; }
q() { "$FLOWLAKE" query --archive "$A" --output csv "$1"; }
count() { sq "SELECT count(*) FROM flow_logs" | tail -1; }

dflt() { echo "2 $1 eni-$2 $3 10.9.0.1 40000 443 6 1 100 1714521600 1714521660 ACCEPT OK"; }
H1="version srcaddr dstaddr start end action"
c1() { echo "2 $1 $2 1714521600 1714521660 $3"; }
H0="version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
# ${version} ${srcaddr} ${start} ${end}, URL-encoded
SHORT='?format=%24%7Bversion%7D%20%24%7Bsrcaddr%7D%20%24%7Bstart%7D%20%24%7Bend%7D'

start

# Default lines, a custom header, custom lines (its header repeated
# between them is skipped), a malformed header-looking line (a name twice:
# rejected, the format stays), then the default header and a default line.
{
    dflt 111111111111 a 10.0.1.1
    dflt 111111111111 a 10.0.1.2
    echo "$H1"
    c1 10.0.2.1 10.8.0.1 REJECT
    echo "$H1"
    c1 10.0.2.2 10.8.0.2 ACCEPT
    echo "version srcaddr srcaddr start"
    c1 10.0.2.3 10.8.0.3 ACCEPT
    echo "$H0"
    dflt 222222222222 b 10.0.3.1
} > body1
expect_eq "a body with format switches" "$(ingest body1)" '200 {"accepted":6,"rejected":1}'
expect_contains "the malformed header is rejected, naming its line" \
    "$(cat "$A"/_errors/serve-*.jsonl)" "bad header line 7: "
expect_eq "only the malformed header is rejected" "$(cat "$A"/_errors/serve-*.jsonl | wc -l)" 1

# A forced format (?format=) is switched by a header in the body too: the
# header is what the producer wrote. The first line, a header, already
# overrides it.
{
    echo "2 10.0.4.1 1714521600 1714521660"
    echo "$H0"
    dflt 333333333333 c 10.0.4.2
} > body2
expect_eq "?format= then a header in the body" "$(ingest body2 "$SHORT")" '200 {"accepted":2,"rejected":0}'
{
    echo "$H1"
    c1 10.0.5.1 10.8.0.5 ACCEPT
} > body3
expect_eq "a header as the first line wins over ?format=" "$(ingest body3 "$SHORT")" '200 {"accepted":1,"rejected":0}'

# A gzip body switches the same way.
{
    echo "$H1"
    c1 10.0.6.1 10.8.0.6 REJECT
    echo "$H0"
    dflt 444444444444 d 10.0.6.2
} | gzip -c > body4.gz
expect_eq "a gzip body with a switch" "$(ingest body4.gz)" '200 {"accepted":2,"rejected":0}'

COLS="version, account_id, interface_id, srcaddr, dstaddr, srcport, dstport, protocol, packets, bytes, start, \"end\", action, log_status"
SQL="SELECT $COLS FROM flow_logs ORDER BY srcaddr"
WANT="version,account_id,interface_id,srcaddr,dstaddr,srcport,dstport,protocol,packets,bytes,start,end,action,log_status
2,111111111111,eni-a,10.0.1.1,10.9.0.1,40000,443,6,1,100,2024-05-01 00:00:00,2024-05-01 00:01:00,ACCEPT,OK
2,111111111111,eni-a,10.0.1.2,10.9.0.1,40000,443,6,1,100,2024-05-01 00:00:00,2024-05-01 00:01:00,ACCEPT,OK
2,,,10.0.2.1,10.8.0.1,,,,,,2024-05-01 00:00:00,2024-05-01 00:01:00,REJECT,
2,,,10.0.2.2,10.8.0.2,,,,,,2024-05-01 00:00:00,2024-05-01 00:01:00,ACCEPT,
2,,,10.0.2.3,10.8.0.3,,,,,,2024-05-01 00:00:00,2024-05-01 00:01:00,ACCEPT,
2,222222222222,eni-b,10.0.3.1,10.9.0.1,40000,443,6,1,100,2024-05-01 00:00:00,2024-05-01 00:01:00,ACCEPT,OK
2,,,10.0.4.1,,,,,,,2024-05-01 00:00:00,2024-05-01 00:01:00,,
2,333333333333,eni-c,10.0.4.2,10.9.0.1,40000,443,6,1,100,2024-05-01 00:00:00,2024-05-01 00:01:00,ACCEPT,OK
2,,,10.0.5.1,10.8.0.5,,,,,,2024-05-01 00:00:00,2024-05-01 00:01:00,ACCEPT,
2,,,10.0.6.1,10.8.0.6,,,,,,2024-05-01 00:00:00,2024-05-01 00:01:00,REJECT,
2,444444444444,eni-d,10.0.6.2,10.9.0.1,40000,443,6,1,100,2024-05-01 00:00:00,2024-05-01 00:01:00,ACCEPT,OK"
expect_eq "buffered rows, each in its own format (POST /api/query)" "$(sq "$SQL")" "$WANT"
expect_eq "nothing published yet" "$(find "$A" -name '*.parquet' | wc -l)" 0

# kill -9 after the 200s, before any publish: the WAL replay brings each
# run back with its format, once.
kill -KILL "$PID"; wait "$PID" 2>/dev/null
start
expect_eq "after kill -9 and WAL replay: the same rows" "$(sq "$SQL")" "$WANT"
expect_eq "after kill -9 and WAL replay: each once" "$(count)" 11

# SIGTERM publishes the buffer: the same rows from the Parquet files.
kill -TERM "$PID"; wait "$PID"; st=$?
expect_status "SIGTERM exits 0" 0 $st
expect_eq "published Parquet: each row's fields in its format" "$(q "$SQL")" "$WANT"

# A header's reach (docs/ingest-formats.md): across the records of one
# Firehose request, as in the file they were cut from; not into the next
# request, which starts from the default again.
start_server --set archive.buffer_interval=1h --set firehose.access_key=k3y
{ echo "$H1"; c1 10.0.7.1 10.8.0.7 REJECT; } > rec1
c1 10.0.7.2 10.8.0.7 ACCEPT > rec2
printf '{"requestId":"r1","timestamp":1714521600000,"records":[{"data":"%s"},{"data":"%s"}]}' \
    "$(base64 -w0 < rec1)" "$(base64 -w0 < rec2)" > fh.json
expect_eq "a header in one Firehose record governs the next record" \
    "$(curl -s -o /dev/null -w '%{http_code}' --data-binary @fh.json -H 'X-Amz-Firehose-Request-Id: r1' \
        -H 'X-Amz-Firehose-Access-Key: k3y' -H 'Content-Type: application/json' "$URL/firehose")" 200
dflt 555555555555 e 10.0.7.3 > body5
expect_eq "the next request starts from the default format" "$(ingest body5)" '200 {"accepted":1,"rejected":0}'
expect_eq "... each line read in its format" \
    "$(sq "SELECT srcaddr, dstaddr, action, account_id FROM flow_logs WHERE srcaddr LIKE '10.0.7.%' ORDER BY srcaddr")" \
    "srcaddr,dstaddr,action,account_id
10.0.7.1,10.8.0.7,REJECT,
10.0.7.2,10.8.0.7,ACCEPT,
10.0.7.3,10.9.0.1,ACCEPT,555555555555"
kill -TERM "$PID"; wait "$PID"; st=$?
expect_status "the server stops cleanly" 0 $st
finish
