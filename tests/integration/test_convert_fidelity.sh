#!/usr/bin/env bash
# Imperfect input must never poison the archive: a byte that is not UTF-8
# or a control byte rejects its line (the rest goes through and stays
# queryable), a UTF-8 byte-order mark is skipped, a header line repeated
# inside a file (concatenated S3 objects) is skipped and one naming other
# fields switches the format of the lines after it, out-of-range numbers
# are rejected, field names match in any case, and the rejects file gives
# back the exact raw bytes. Also the live /ingest path, which runs the
# same parser checks.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
q() { "$FLOWLAKE" query --archive "$1" --output csv "$2"; }
H='version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status'
L() { printf '2 123456789010 %s 10.0.0.1 10.0.0.2 %s %s %s 1 1 1418530010 1418530070 ACCEPT OK\n' "$@"; }

# ---- a byte that is not UTF-8, a NUL, a DEL: rejected, the rest kept.
{ L eni-good1 1 2 6; L $'eni-caf\xe9' 1 2 6; L $'eni-n\x01ul' 1 2 6; L 'eni-café' 1 2 6; L $'eni-d\x7fel' 1 2 6; } > bad.log
printf '2 123456789010 eni-z\0z 10.0.0.1 10.0.0.2 1 2 6 1 1 1418530010 1418530070 ACCEPT OK\n' >> bad.log
out=$("$FLOWLAKE" convert --quiet --archive A bad.log 2>&1); st=$?
expect_status "bad bytes: convert exits 0" 0 $st
expect_contains "bad bytes: summary" "$out" "convert: 6 records read, 2 written, 4 rejected"
expect_eq "bad bytes: the archive reads, good rows only (UTF-8 kept)" \
    "$(q A "SELECT interface_id FROM flow_logs ORDER BY interface_id")" \
"interface_id
eni-café
eni-good1"
expect_eq "bad bytes: rejects file, exact reasons, raw or raw_base64" \
    "$(cat A/_errors/*.jsonl)" \
'{"source":"bad.log","line":2,"reason":"field 3 (interface-id): invalid UTF-8 byte 0xe9 at byte offset 22 of the line","raw_base64":"MiAxMjM0NTY3ODkwMTAgZW5pLWNhZukgMTAuMC4wLjEgMTAuMC4wLjIgMSAyIDYgMSAxIDE0MTg1MzAwMTAgMTQxODUzMDA3MCBBQ0NFUFQgT0s="}
{"source":"bad.log","line":3,"reason":"field 3 (interface-id): control byte 0x01 at byte offset 20 of the line","raw":"2 123456789010 eni-n\u0001ul 10.0.0.1 10.0.0.2 1 2 6 1 1 1418530010 1418530070 ACCEPT OK"}
{"source":"bad.log","line":5,"reason":"field 3 (interface-id): control byte 0x7f at byte offset 20 of the line","raw":"2 123456789010 eni-d\u007fel 10.0.0.1 10.0.0.2 1 2 6 1 1 1418530010 1418530070 ACCEPT OK"}
{"source":"bad.log","line":6,"reason":"field 3 (interface-id): control byte 0x00 at byte offset 20 of the line","raw":"2 123456789010 eni-z\u0000z 10.0.0.1 10.0.0.2 1 2 6 1 1 1418530010 1418530070 ACCEPT OK"}'
expect_eq "bad bytes: raw_base64 gives back the exact line" \
    "$(sed -n 1p A/_errors/*.jsonl | sed 's/.*"raw_base64":"\([^"]*\)".*/\1/' | base64 -d | od -An -c | tr -s ' ' | head -2)" \
    "$(sed -n 2p bad.log | od -An -c | tr -s ' ' | head -2)"
out=$("$FLOWLAKE" convert --quiet --strict --archive S bad.log 2>&1); st=$?
expect_status "bad bytes: --strict fails the run" 1 $st
expect_eq "bad bytes: --strict names file, line, field and offset" "$out" \
    "flowlake convert: bad.log:2: field 3 (interface-id): invalid UTF-8 byte 0xe9 at byte offset 22 of the line"
expect_eq "bad bytes: --strict publishes nothing" "$(find S -name '*.parquet' | wc -l)" "0"

# ---- a byte-order mark: with a header in another order, and without one.
{ printf '\xef\xbb\xbf'; echo 'version srcaddr dstaddr start end action interface-id'; echo '2 1.1.1.1 2.2.2.2 1418530010 1418530070 ACCEPT eni-bom1'; } > bom1.log
{ printf '\xef\xbb\xbf'; L eni-bom2 1 2 6; } > bom2.log
out=$("$FLOWLAKE" convert --quiet --archive B bom1.log bom2.log 2>&1); st=$?
expect_status "BOM: convert exits 0" 0 $st
expect_contains "BOM: nothing rejected" "$out" "convert: 2 records read, 2 written, 0 rejected"
expect_eq "BOM: header and first record read" \
    "$(q B "SELECT version, interface_id, srcaddr FROM flow_logs ORDER BY interface_id")" \
"version,interface_id,srcaddr
2,eni-bom1,1.1.1.1
2,eni-bom2,10.0.0.1"
{ printf '\xef\xbb\xbf'; L eni-bom3 1 2 6; } | gzip > bom3.log.gz
out=$("$FLOWLAKE" convert --quiet --strict --archive B2 - < bom3.log.gz 2>&1); st=$?
expect_status "BOM: gzip on stdin, --strict passes" 0 $st

# ---- a header repeated inside a file (concatenated S3 objects).
{ echo "$H"; L eni-cat1 1 2 6; echo "$H"; L eni-cat2 1 2 6; printf '%s\r\n' "$H"; L eni-cat3 1 2 6; } > cat.log
out=$("$FLOWLAKE" convert --quiet --strict --archive C cat.log 2>&1); st=$?
expect_status "repeated header: --strict passes" 0 $st
expect_contains "repeated header: not counted as records" "$out" "convert: 3 records read, 3 written, 0 rejected"
expect_eq "repeated header: every record kept" \
    "$(q C "SELECT interface_id FROM flow_logs ORDER BY 1")" \
"interface_id
eni-cat1
eni-cat2
eni-cat3"
{ L eni-x1 1 2 6; echo "$H"; L eni-x2 1 2 6; } > nohead.log
out=$("$FLOWLAKE" convert --quiet --strict --archive C2 nohead.log 2>&1); st=$?
expect_status "header matching the default format mid-file: skipped" 0 $st
# A header naming other fields switches the format for the lines after it
# (S3 objects of two flow logs with different formats, concatenated).
{ echo "$H"; L eni-d1 1 2 6; echo 'version srcaddr'; echo '2 9.9.9.9'; echo 'version interface-id srcaddr'; echo '2 eni-d3 8.8.8.8'; echo "$H"; L eni-d4 3 4 17; } > diff.log
out=$("$FLOWLAKE" convert --quiet --strict --archive D diff.log 2>&1); st=$?
expect_status "different header: --strict passes" 0 $st
expect_contains "different header: headers are not records" "$out" "convert: 4 records read, 4 written, 0 rejected"
expect_eq "different header: each line read with the header above it" \
    "$(q D "SELECT version, interface_id, srcaddr, srcport, protocol FROM flow_logs ORDER BY srcaddr, interface_id")" \
"version,interface_id,srcaddr,srcport,protocol
2,eni-d1,10.0.0.1,1,6
2,eni-d4,10.0.0.1,3,17
2,eni-d3,8.8.8.8,,
2,,9.9.9.9,,"
# A field that no input's first line names has no column in the run: its
# lines are rejected (not cut), the rest goes through.
{ echo "$H"; L eni-e1 1 2 6; echo 'version srcaddr flow-direction'; echo; echo '2 9.9.9.9 ingress'; echo 'version version'; echo "$H"; L eni-e2 1 2 6; } > newcol.log
out=$("$FLOWLAKE" convert --quiet --archive E newcol.log 2>&1); st=$?
expect_status "header with a new field: convert exits 0" 0 $st
expect_eq "header with a new field: its lines rejected, clear reasons" \
    "$(cat E/_errors/*.jsonl)" \
'{"source":"newcol.log","line":5,"reason":"the header line above names flow-direction, which is not a column of this run: convert this input on its own","raw":"2 9.9.9.9 ingress"}
{"source":"newcol.log","line":6,"reason":"bad header line: field 2: '"'"'version'"'"' appears twice","raw":"version version"}'
expect_eq "header with a new field: the lines under other headers kept" \
    "$(q E "SELECT interface_id FROM flow_logs ORDER BY 1")" \
"interface_id
eni-e1
eni-e2"
out=$("$FLOWLAKE" convert --quiet --strict --archive E2 newcol.log 2>&1); st=$?
expect_status "header with a new field: --strict fails" 1 $st
expect_eq "header with a new field: --strict names file and line" "$out" \
    "flowlake convert: newcol.log:5: the header line above names flow-direction, which is not a column of this run: convert this input on its own"
# Converted on its own, the file's first line names it: every line goes in.
{ echo 'version srcaddr flow-direction'; echo '2 9.9.9.9 ingress'; echo "$H"; L eni-e3 1 2 6; } > first.log
out=$("$FLOWLAKE" convert --quiet --archive E3 first.log newcol.log 2>&1); st=$?
expect_contains "header with a new field: only the bad header rejected then" "$out" "convert: 6 records read, 5 written, 1 rejected"
expect_eq "header with a new field: named by another input's first line, it has its column" \
    "$(q E3 "SELECT interface_id, srcaddr, flow_direction FROM flow_logs WHERE srcaddr = '9.9.9.9' OR interface_id = 'eni-e3' ORDER BY 1, 3")" \
"interface_id,srcaddr,flow_direction
eni-e3,10.0.0.1,
,9.9.9.9,ingress
,9.9.9.9,ingress"

# ---- ranges.
{ L eni-r1 65535 0 255; L eni-r2 70000 2 6; L eni-r3 1 65536 6; L eni-r4 1 2 256; } > range.log
"$FLOWLAKE" convert --quiet --archive R range.log >/dev/null 2>&1
expect_eq "ranges: reasons" "$(sed 's/.*"reason":"\([^"]*\)".*/\1/' R/_errors/*.jsonl)" \
"field 6 (srcport): '70000' is out of range (0 to 65535)
field 7 (dstport): '65536' is out of range (0 to 65535)
field 8 (protocol): '256' is out of range (0 to 255)"
expect_eq "ranges: the limits themselves are kept" \
    "$(q R "SELECT srcport, dstport, protocol FROM flow_logs")" "srcport,dstport,protocol
65535,0,255"
printf '3 vpc-1 300 1418530010\n3 vpc-2 2 1418530010\n' > flags.log
"$FLOWLAKE" convert --quiet --archive F --format '${version} ${vpc-id} ${tcp-flags} ${start}' flags.log >/dev/null 2>&1
expect_eq "ranges: tcp-flags 0 to 255" "$(sed 's/.*"reason":"\([^"]*\)".*/\1/' F/_errors/*.jsonl)" \
    "field 3 (tcp-flags): '300' is out of range (0 to 255)"

# ---- field names in any case.
printf '3 vpc-7 1418530010\n' > case.log
out=$("$FLOWLAKE" convert --quiet --archive K --format '${Version} ${VPC-ID} ${Start}' case.log 2>&1); st=$?
expect_status "capitalised names: convert exits 0" 0 $st
expect_eq "capitalised names are the known fields, not extras" \
    "$(q K "SELECT version, vpc_id, start FROM flow_logs")" "version,vpc_id,start
3,vpc-7,2014-12-14 04:06:50"
{ echo 'Version VPC-ID Start'; echo '3 vpc-8 1418530010'; } > casehdr.log
"$FLOWLAKE" convert --quiet --archive K casehdr.log >/dev/null 2>&1
expect_eq "capitalised header line is a header" \
    "$(q K "SELECT vpc_id FROM flow_logs ORDER BY 1")" "vpc_id
vpc-7
vpc-8"

# ---- a bad --format is a usage error.
"$FLOWLAKE" convert --archive U --format '${version} ${srcaddr' case.log >/dev/null 2>&1; st=$?
expect_status "bad --format exits 2" 2 $st

# ---- the live path: /ingest runs the same checks, 200 for the rest.
if command -v curl >/dev/null; then
    A=$TMP/live
    start_server --set archive.buffer_interval=1h --set firehose.access_key=k1
    { printf '\xef\xbb\xbf%s\n' "$H"; L eni-live1 1 2 6; L $'eni-caf\xe9' 1 2 6; echo "$H"; L eni-live2 1 70000 6; } > live.log
    code=$(curl -s -o body.out -w '%{http_code}' --data-binary @live.log "http://127.0.0.1:$PORT/ingest")
    expect_eq "/ingest: 200, bad byte and bad port rejected, BOM and repeated header skipped" \
        "$code $(cat body.out)" '200 {"accepted":1,"rejected":2}'
    { L eni-fh1 1 2 6; L $'eni-fh\xff' 1 2 6; } | base64 -w0 > fh.b64
    printf '{"requestId":"fh-1","timestamp":1418530010000,"records":[{"data":"%s"}]}' "$(cat fh.b64)" > fh.json
    code=$(curl -s -o body.out -w '%{http_code}' --data-binary @fh.json -H 'X-Amz-Firehose-Request-Id: fh-1' \
        -H 'X-Amz-Firehose-Access-Key: k1' -H 'Content-Type: application/json' "http://127.0.0.1:$PORT/firehose")
    expect_contains "/firehose: 200 with a bad byte in a record" "$code $(cat body.out)" '200 {"requestId":"fh-1"'
    kill -TERM "$PID"; wait "$PID"
    expect_eq "/ingest, /firehose: rejects file" \
        "$(sed 's/.*"source":"\([^"]*\)","line":\([0-9]*\),"reason":"\([^"]*\)".*/\1:\2 \3/' "$A"/_errors/*.jsonl)" \
"POST /ingest from 127.0.0.1:3 field 3 (interface-id): invalid UTF-8 byte 0xe9 at byte offset 22 of the line
POST /ingest from 127.0.0.1:5 field 7 (dstport): '70000' is out of range (0 to 65535)
firehose request fh-1:2 field 3 (interface-id): invalid UTF-8 byte 0xff at byte offset 21 of the line"
    expect_eq "/ingest, /firehose: the published archive reads" \
        "$(q "$A" "SELECT interface_id FROM flow_logs ORDER BY 1")" "interface_id
eni-fh1
eni-live1"
else
    skip "/ingest checks" "curl is not installed"
fi
finish
