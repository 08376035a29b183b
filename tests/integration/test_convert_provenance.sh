#!/usr/bin/env bash
# End-to-end: where a converted record came from. account_id and region
# from an AWSLogs path (both S3 layouts AWS delivers flow logs in, and the
# file-name convention) when the record's format lacks them, the record's
# own value winning when it has them; the source_file column (from
# AWSLogs/ on, else the path as given; NULL for stdin); exact rows.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
A=$TMP/archive
q() { "$FLOWLAKE" query --archive "$A" --output csv "$@"; }

REC1='2 111111111111 eni-a 10.0.0.1 10.0.1.1 40000 443 6 5 500 1733389200 1733389260 ACCEPT OK'
REC2='2 - eni-b 10.0.0.2 10.0.1.2 40001 22 6 7 700 1733389300 1733389360 REJECT OK'

# Plain layout, default format: region from the path; the record's own
# account (111111111111) wins over the path's, and a "-" stays NULL: the
# format has account-id, so the record's own value is used, even absent.
P=in/AWSLogs/123456789012/vpcflowlogs/eu-west-1/2024/12/05
mkdir -p "$P"
printf '%s\n%s\n' "$REC1" "$REC2" | gzip > "$P/flows.log.gz"

# Hive-compatible layout, with a header that has region: the record's
# region (us-east-2) wins, the account comes from the path.
H=in/AWSLogs/aws-account-id=210987654321/aws-service=vpcflowlogs/aws-region=ap-southeast-2/year=2024/month=12/day=05/hour=08
mkdir -p "$H"
printf 'version region srcaddr start end\n2 us-east-2 10.0.0.3 1733389400 1733389460\n2 - 10.0.0.4 1733389500 1733389560\n' > "$H/h.log"

# The file-name convention outside any AWSLogs folder (default format:
# the account is the record's, "-" here; the region the name's).
mkdir -p flat
printf '2 - eni-c 10.0.0.5 10.0.1.5 1 2 6 1 40 1733389600 1733389660 ACCEPT OK\n' \
    > flat/333333333333_vpcflowlogs_sa-east-1_fl-0abc_20241205T0800Z_f00d.log

# Not an AWS path: source_file only.
printf '2 444444444444 eni-d 10.0.0.6 10.0.1.6 1 2 6 1 40 1733389700 1733389760 ACCEPT OK\n' > plain.log

out=$("$FLOWLAKE" convert --quiet --archive "$A" in flat ./plain.log 2>&1); st=$?
expect_status "convert AWS and plain paths" 0 $st
expect_contains "summary" "$out" "convert: 6 records read, 6 written, 0 rejected"
expect_eq "account/region from the path, the record's own value wins" \
    "$(q "SELECT srcaddr, account_id, region, source_file FROM flow_logs ORDER BY srcaddr")" \
"srcaddr,account_id,region,source_file
10.0.0.1,111111111111,eu-west-1,AWSLogs/123456789012/vpcflowlogs/eu-west-1/2024/12/05/flows.log.gz
10.0.0.2,,eu-west-1,AWSLogs/123456789012/vpcflowlogs/eu-west-1/2024/12/05/flows.log.gz
10.0.0.3,210987654321,us-east-2,AWSLogs/aws-account-id=210987654321/aws-service=vpcflowlogs/aws-region=ap-southeast-2/year=2024/month=12/day=05/hour=08/h.log
10.0.0.4,210987654321,,AWSLogs/aws-account-id=210987654321/aws-service=vpcflowlogs/aws-region=ap-southeast-2/year=2024/month=12/day=05/hour=08/h.log
10.0.0.5,,sa-east-1,flat/333333333333_vpcflowlogs_sa-east-1_fl-0abc_20241205T0800Z_f00d.log
10.0.0.6,444444444444,,./plain.log"
expect_eq "provenance columns last in DESCRIBE" \
    "$(q "SELECT column_name, column_type FROM (DESCRIBE flow_logs)" | tail -5)" \
"source_file,VARCHAR
log_group,VARCHAR
log_stream,VARCHAR
delivery_stream,VARCHAR
delivery_attributes,VARCHAR"

# A custom format's extra column comes before the provenance columns.
printf 'version srcaddr start x-tag\n2 10.0.0.9 1733389900 t1\n' > in/AWSLogs/123456789012/vpcflowlogs/eu-west-1/2024/12/05/extra.log
out=$("$FLOWLAKE" convert --quiet --archive "$A" in/AWSLogs/123456789012/vpcflowlogs/eu-west-1/2024/12/05/extra.log 2>&1); st=$?
expect_status "convert a custom format" 0 $st
expect_eq "extra column, then provenance" \
    "$(q "SELECT column_name FROM (DESCRIBE flow_logs)" | tail -7 | paste -sd' ')" \
    "date x_tag source_file log_group log_stream delivery_stream delivery_attributes"
expect_eq "extra column row" \
    "$(q "SELECT srcaddr, x_tag, account_id, region, source_file FROM flow_logs WHERE srcaddr = '10.0.0.9'")" \
"srcaddr,x_tag,account_id,region,source_file
10.0.0.9,t1,123456789012,eu-west-1,AWSLogs/123456789012/vpcflowlogs/eu-west-1/2024/12/05/extra.log"

# stdin: no file, so no source_file and nothing from a path.
out=$(printf '2 555555555555 eni-e 10.0.0.7 10.0.1.7 1 2 6 1 40 1733389800 1733389860 ACCEPT OK\n' \
      | "$FLOWLAKE" convert --quiet --archive "$A" - 2>&1); st=$?
expect_status "convert stdin" 0 $st
expect_eq "stdin: source_file NULL" \
    "$(q "SELECT srcaddr, account_id, region, source_file IS NULL AS no_source FROM flow_logs WHERE srcaddr = '10.0.0.7'")" \
"srcaddr,account_id,region,no_source
10.0.0.7,555555555555,,true"

# Many chunks from several inputs of one run: every row keeps its own
# file's name and fill (a chunk never mixes inputs).
B=$TMP/big
for i in 1 2 3; do
    d=in2/AWSLogs/12345678901$i/vpcflowlogs/us-west-$i/2024/05/01
    mkdir -p "$d"
    "$FLOWLAKE" generate --seed $i --records 5000 --header --format '${version} ${srcaddr} ${dstaddr} ${start} ${end}' --output "$d/f$i.log" || fail "generate $i"
done
out=$("$FLOWLAKE" convert --quiet --threads 2 --archive "$B" in2 2>&1); st=$?
expect_status "convert three AWSLogs inputs" 0 $st
expect_eq "per-input provenance over many chunks" \
    "$("$FLOWLAKE" query --archive "$B" --output csv "SELECT account_id, region, source_file, count(*) AS n FROM flow_logs GROUP BY ALL ORDER BY ALL")" \
"account_id,region,source_file,n
123456789011,us-west-1,AWSLogs/123456789011/vpcflowlogs/us-west-1/2024/05/01/f1.log,5000
123456789012,us-west-2,AWSLogs/123456789012/vpcflowlogs/us-west-2/2024/05/01/f2.log,5000
123456789013,us-west-3,AWSLogs/123456789013/vpcflowlogs/us-west-3/2024/05/01/f3.log,5000"

# Across both archives' runs, only the stdin record has no source_file.
expect_eq "only stdin: source_file NULL" \
    "$(q "SELECT count(*) FILTER (WHERE source_file IS NULL) AS n FROM flow_logs")" \
"n
1"
finish
