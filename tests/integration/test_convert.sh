#!/usr/bin/env bash
# End-to-end: flowlake convert -> Parquet archive -> flowlake query, with
# exact expected results: headers (bytes before packets), custom formats
# and unknown fields, every version's fields, rejected records, strict
# mode, gzip edge cases, folders, stdin, and the duplicate-conversion rule.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
A=$TMP/archive
q() { "$FLOWLAKE" query --archive "$A" --output csv "$@"; }

# ---- a file as AWS delivers it to S3: header first, and (trap #7) a
# header listing bytes before packets, a double space, a CRLF line.
cat > s3.log <<'TXT'
version account-id interface-id srcaddr dstaddr srcport dstport protocol bytes packets start end action log-status
2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 4249 20 1418530010 1418530070 ACCEPT OK
2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 4249 20 1418530010 1418530070 REJECT OK
2 123456789010 eni-1235b8ca123456789  - - - - - - - 1431280876 1431280934 - NODATA
2 123456789010 eni-1235b8ca123456789 203.0.113.12 172.31.16.139 0 0 1 2000 10 1418530010 1418533000 REJECT OK
TXT
printf '2 123456789010 eni-1235b8ca123456789 2001:db8::1 2001:db8::2 443 49152 6 9000 6 1418533210 1418533270 ACCEPT OK\r\n' >> s3.log
gzip -k s3.log

out=$("$FLOWLAKE" convert --quiet --archive "$A" s3.log.gz 2>&1); st=$?
expect_status "convert s3 file" 0 $st
expect_contains "summary line" "$out" "convert: 5 records read, 5 written, 0 rejected, 3 files written, 1 inputs (0 skipped)"
expect_eq "hive partitions from start (UTC), zero-padded" \
    "$(cd "$A" && find . -name '*.parquet' | sed 's|/part-.*||' | sort -u)" \
"./year=2014/month=12/day=14/hour=04
./year=2014/month=12/day=14/hour=05
./year=2015/month=05/day=10/hour=18"
expect_eq "bytes and packets read by header, NULLs, IPv6" \
    "$(q "SELECT srcaddr, dstport, packets, bytes, action, log_status, start, \"end\" FROM flow_logs ORDER BY start, srcaddr NULLS LAST")" \
"srcaddr,dstport,packets,bytes,action,log_status,start,end
172.31.16.139,22,20,4249,ACCEPT,OK,2014-12-14 04:06:50,2014-12-14 04:07:50
172.31.9.69,3389,20,4249,REJECT,OK,2014-12-14 04:06:50,2014-12-14 04:07:50
203.0.113.12,0,10,2000,REJECT,OK,2014-12-14 04:06:50,2014-12-14 04:56:40
2001:db8::1,49152,6,9000,ACCEPT,OK,2014-12-14 05:00:10,2014-12-14 05:01:10
,,,,,NODATA,2015-05-10 18:01:16,2015-05-10 18:02:14"
expect_eq "blog query 1 (rejected packets by protocol)" \
    "$(q "select protocol, sum(packets) as rejected_packets from flow_logs where action = 'REJECT' group by protocol order by rejected_packets desc")" \
"protocol,rejected_packets
6,20
1,10"
expect_eq "blog query 3 (dstport = '443' as a string)" \
    "$(q "SELECT dstaddr, SUM(packets) AS packet_count FROM flow_logs WHERE dstport = '443' GROUP BY dstaddr ORDER BY packet_count DESC LIMIT 10")" \
"dstaddr,packet_count"
expect_eq "qualified name vpc_flow_logs.flow_logs, absent v3+ columns are NULL" \
    "$(q "SELECT count(*), count(vpc_id), count(reject_reason), count(packets) FROM vpc_flow_logs.flow_logs")" \
"count_star(),count(vpc_id),count(reject_reason),count(packets)
5,0,0,4"

# ---- the same file again, and the same content under another name:
# skipped, said so, nothing duplicated.
cp s3.log.gz copy-of-s3.log.gz
out=$("$FLOWLAKE" convert --quiet --archive "$A" s3.log.gz copy-of-s3.log.gz 2>&1); st=$?
expect_status "second conversion exits 0" 0 $st
expect_contains "second conversion says why it skipped" "$out" "skipping s3.log.gz: already converted"
expect_contains "copy under another name is recognised" "$out" "skipping copy-of-s3.log.gz: already converted"
expect_contains "nothing converted the second time" "$out" "0 records read, 0 written"
expect_eq "still 5 records" "$(q "SELECT count(*) AS n FROM flow_logs")" "n
5"

# ---- stdin, and stdin with content already converted.
out=$(cat s3.log.gz | "$FLOWLAKE" convert --quiet --archive "$A" - 2>&1); st=$?
expect_status "stdin with already-converted content fails" 1 $st
expect_contains "stdin duplicate message" "$out" "stdin: this content was already converted"
expect_eq "stdin duplicate published nothing" "$(q "SELECT count(*) AS n FROM flow_logs")" "n
5"
printf '2 1 eni-9 10.9.9.9 10.9.9.8 1 2 17 3 4 1700000000 1700000001 ACCEPT OK\n' > one.log
out=$("$FLOWLAKE" convert --quiet --archive "$A" - < one.log 2>&1); st=$?
expect_status "stdin new content" 0 $st
expect_contains "stdin record counted" "$out" "1 records read, 1 written"
out=$("$FLOWLAKE" convert --quiet --archive "$A" one.log 2>&1)
expect_contains "a file equal to what came on stdin is skipped" "$out" "skipping one.log: already converted"

# ---- bad lines: rejected with file, line, reason and raw text; the rest goes on.
cat > bad.log <<'TXT'
2 123456789010 eni-1 10.0.0.1 10.0.0.2 1024 80 6 10 840 1700000100 1700000160 ACCEPT OK
2 123456789010 eni-1 10.0.0.1 10.0.0.2 1024 80 6 10
2 123456789010 eni-1 10.0.0.1 10.0.0.2 1024 http 6 10 840 1700000100 1700000160 ACCEPT OK

2 123456789010 eni-1 10.0.0.1 10.0.0.2 1024 80 6 99999999999999999999 840 1700000100 1700000160 ACCEPT OK
2 123456789010 eni-1 10.0.0.3 10.0.0.2 1024 80 6 11 900 1700000100 1700000160 ACCEPT OK
TXT
out=$("$FLOWLAKE" convert --quiet --archive "$A" bad.log 2>&1); st=$?
expect_status "convert with bad lines exits 0" 0 $st
expect_contains "rejected count in summary" "$out" "5 records read, 2 written, 3 rejected"
expect_contains "stderr names file and line" "$out" "flowlake: rejected bad.log:3: field 7 (dstport): 'http' is not a number"
rej=$(ls "$A"/_errors/convert-*.jsonl 2>/dev/null | head -1)
expect_eq "rejected-records file content" "$(cat "$rej")" \
'{"source":"bad.log","line":2,"reason":"expected 14 fields, found 9","raw":"2 123456789010 eni-1 10.0.0.1 10.0.0.2 1024 80 6 10"}
{"source":"bad.log","line":3,"reason":"field 7 (dstport): '"'"'http'"'"' is not a number","raw":"2 123456789010 eni-1 10.0.0.1 10.0.0.2 1024 http 6 10 840 1700000100 1700000160 ACCEPT OK"}
{"source":"bad.log","line":5,"reason":"field 9 (packets): '"'"'99999999999999999999'"'"' overflows a 64-bit integer","raw":"2 123456789010 eni-1 10.0.0.1 10.0.0.2 1024 80 6 99999999999999999999 840 1700000100 1700000160 ACCEPT OK"}'
expect_eq "good lines around bad ones are kept" \
    "$(q "SELECT srcaddr, packets FROM flow_logs WHERE start = TIMESTAMP '2023-11-14 22:15:00' ORDER BY srcaddr")" \
"srcaddr,packets
10.0.0.1,10
10.0.0.3,11"

# ---- strict mode: first bad line stops, exit 1, nothing published.
sed 's/eni-1 /eni-2 /' bad.log > bad2.log
before=$(find "$A" -name '*.parquet' | wc -l)
out=$("$FLOWLAKE" convert --quiet --strict --archive "$A" bad2.log 2>&1); st=$?
expect_status "strict exits 1" 1 $st
expect_contains "strict names file:line and reason" "$out" "bad2.log:2: expected 14 fields, found 9"
expect_eq "strict published nothing" "$(find "$A" -name '*.parquet' | wc -l)" "$before"
out=$("$FLOWLAKE" convert --quiet --archive "$A" bad2.log 2>&1)
expect_contains "a strict failure does not mark the input converted" "$out" "5 records read, 2 written, 3 rejected"

# ---- gzip edge cases.
printf '2 1 eni-c 10.1.0.1 10.1.0.2 1 2 6 1 100 1600000000 1600000001 ACCEPT OK\n' | gzip -n > cat.log.gz
printf '2 1 eni-c 10.1.0.3 10.1.0.2 1 2 6 1 200 1600000000 1600000001 ACCEPT OK\n' | gzip -n >> cat.log.gz
out=$("$FLOWLAKE" convert --quiet --archive "$A" cat.log.gz 2>&1)
expect_contains "concatenated gzip members are all read" "$out" "2 records read, 2 written"
: > empty.log
gzip -n < /dev/null > empty.log.gz
out=$("$FLOWLAKE" convert --quiet --archive "$A" empty.log empty.log.gz 2>&1); st=$?
expect_status "empty inputs are fine" 0 $st
expect_contains "empty inputs give no records" "$out" "0 records read, 0 written, 0 rejected, 0 files written"
"$FLOWLAKE" generate --records 5000 --seed 9 --gzip -o big.log.gz
head -c 20000 big.log.gz > truncated.log.gz
out=$("$FLOWLAKE" convert --quiet --archive "$A" truncated.log.gz 2>&1); st=$?
expect_status "truncated gzip fails" 1 $st
expect_contains "truncated gzip is named" "$out" "truncated.log.gz: gzip stream truncated at compressed byte"
expect_eq "truncated gzip published nothing" "$(q "SELECT count(*) AS n FROM flow_logs WHERE interface_id LIKE 'eni-%' AND start >= TIMESTAMP '2024-05-01'")" "n
0"

# ---- folders, recursively, as an S3 sync leaves them; other files ignored.
mkdir -p s3/AWSLogs/1/vpcflowlogs/us-east-1/2024/05/01 s3/AWSLogs/1/vpcflowlogs/us-east-1/2024/05/02
"$FLOWLAKE" generate --records 300 --seed 1 --header --gzip -o s3/AWSLogs/1/vpcflowlogs/us-east-1/2024/05/01/a.log.gz
"$FLOWLAKE" generate --records 200 --seed 2 --start 2024-05-02T00:00:00Z --header -o s3/AWSLogs/1/vpcflowlogs/us-east-1/2024/05/02/b.log
echo "not a flow log" > s3/AWSLogs/1/README.md
out=$("$FLOWLAKE" convert --quiet --archive "$A" s3 2>&1); st=$?
expect_status "folder convert" 0 $st
expect_contains "folder: both log files, README ignored" "$out" "500 records read, 500 written, 0 rejected"
expect_contains "folder: two inputs" "$out" "2 inputs (0 skipped)"

# ---- every field of versions 2..8 and an unknown one, through --format
# and through a header, into one archive: one schema for all.
fmt='${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} ${subnet-id} ${instance-id} ${tcp-flags} ${type} ${pkt-srcaddr} ${pkt-dstaddr} ${region} ${az-id} ${sublocation-type} ${sublocation-id} ${pkt-src-aws-service} ${pkt-dst-aws-service} ${flow-direction} ${traffic-path} ${ecs-cluster-arn} ${ecs-cluster-name} ${ecs-container-instance-arn} ${ecs-container-instance-id} ${ecs-container-id} ${ecs-second-container-id} ${ecs-service-name} ${ecs-task-definition-arn} ${ecs-task-arn} ${ecs-task-id} ${reject-reason} ${encryption-status}'
printf '8 111122223333 eni-v8 10.8.0.1 10.8.0.2 40000 443 6 12 3400 1710000000 1710000050 REJECT OK vpc-8 subnet-8 i-8 2 IPv4 10.8.0.1 10.8.0.2 eu-west-1 euw1-az2 - - - S3 egress 2 arn:aws:ecs:eu-west-1:111122223333:cluster/web web arn:ci ci-1 c1 c2 svc arn:td arn:task task-1 BPA 1\n' > v8.log
out=$("$FLOWLAKE" convert --quiet --archive "$A" --format "$fmt" v8.log 2>&1); st=$?
expect_status "v8 custom format" 0 $st
expect_eq "v8 fields typed and named" \
    "$(q "SELECT version, tcp_flags, traffic_path, region, az_id, sublocation_type, pkt_dst_aws_service, flow_direction, ecs_cluster_name, ecs_task_id, reject_reason, encryption_status FROM flow_logs WHERE version = 8")" \
"version,tcp_flags,traffic_path,region,az_id,sublocation_type,pkt_dst_aws_service,flow_direction,ecs_cluster_name,ecs_task_id,reject_reason,encryption_status
8,2,2,eu-west-1,euw1-az2,,S3,egress,web,task-1,BPA,1"
expect_eq "column types follow AWS's Parquet types" \
    "$(q "SELECT column_name, column_type FROM (DESCRIBE flow_logs) WHERE column_name IN ('version','srcport','protocol','tcp_flags','traffic_path','packets','bytes','start','end','srcaddr') ORDER BY column_name")" \
"column_name,column_type
bytes,BIGINT
end,TIMESTAMP
packets,BIGINT
protocol,INTEGER
srcaddr,VARCHAR
srcport,INTEGER
start,TIMESTAMP
tcp_flags,INTEGER
traffic_path,INTEGER
version,INTEGER"
expect_eq "older records read NULL for v8 fields" \
    "$(q "SELECT count(*) FILTER (WHERE reject_reason IS NULL) > 500 AS ok FROM flow_logs")" "ok
true"

# ---- names never collide across runs: two runs into the same hour.
printf '2 1 eni-h 10.2.0.1 10.2.0.2 1 2 6 1 1 1500000000 1500000001 ACCEPT OK\n' > h1.log
printf '2 1 eni-h 10.2.0.3 10.2.0.2 1 2 6 1 1 1500000100 1500000101 ACCEPT OK\n' > h2.log
"$FLOWLAKE" convert --quiet --archive "$A" h1.log >/dev/null 2>&1
"$FLOWLAKE" convert --quiet --archive "$A" h2.log >/dev/null 2>&1
expect_eq "two runs, same hour: two files, both records" \
    "$(ls "$A"/year=2017/month=07/day=14/hour=02/ | wc -l) $(q "SELECT count(*) AS n FROM flow_logs WHERE interface_id = 'eni-h'" | tail -1)" "2 2"

# ---- usage errors.
"$FLOWLAKE" convert --archive "$A" >/dev/null 2>&1; st=$?
expect_status "no input is a usage error" 2 $st
out=$("$FLOWLAKE" convert --archive "$A" --format '${version' one.log 2>&1); st=$?
expect_status "bad --format is a usage error (exit 2, as --help says)" 2 $st
expect_contains "bad --format says why" "$out" "--format: field 1: '\${' at offset 0 is never closed by '}'"
out=$("$FLOWLAKE" convert --archive "$A" /nonexistent/x.log 2>&1); st=$?
expect_status "missing input exits 1" 1 $st
expect_contains "missing input named" "$out" "/nonexistent/x.log: No such file or directory"
"$FLOWLAKE" convert --help | grep -q -- '--archive DIR' && ok "convert --help" || fail "convert --help"
finish
