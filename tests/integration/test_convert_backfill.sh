#!/usr/bin/env bash
# A backfill as an S3 sync leaves it (one folder per day, one file per
# hour): every hour partition is written once, into exactly one file, with
# exactly the rows of that hour; 144 hours are more partitions than DuckDB
# keeps open at once (partitioned_write_max_open_files, 100), which used to
# split partitions across files. A record filed in the next day's folder
# (a flow that started before midnight) adds one file to its hour. A
# bucket of several accounts and regions still gets one file per hour.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
A=$TMP/archive
q() { "$FLOWLAKE" query --archive "$A" --output csv "$@"; }

base=$(date -u -d 2024-03-01 +%s)
for h in $(seq 0 143); do
    t=$((base + h * 3600))
    dir=bucket/AWSLogs/123456789012/vpcflowlogs/us-east-1/$(date -u -d "@$t" +%Y/%m/%d)
    mkdir -p "$dir"
    "$FLOWLAKE" generate --seed $((h + 1)) --records 20 --start "$t" --span 1h \
        --header -o "$dir/123456789012_vpcflowlogs_us-east-1_$(date -u -d "@$t" +%Y%m%dT%H%MZ).log.gz" \
        || fail "generate hour $h"
done

out=$("$FLOWLAKE" convert --quiet --threads 2 --archive "$A" bucket 2>&1); st=$?
expect_status "convert six days" 0 $st
expect_contains "summary" "$out" "convert: 2880 records read, 2880 written, 0 rejected, 144 files written, 144 inputs (0 skipped)"
expect_eq "one file per hour partition" \
    "$(cd "$A" && find . -name '*.parquet' | sed 's|/part-.*||' | sort | uniq -c | awk '{print $1}' | sort | uniq -c | sed 's/^ *//')" \
    "144 1"
expect_eq "partitions: 144 hours, 2024-03-01 00h to 2024-03-06 23h" \
    "$(cd "$A" && find . -name '*.parquet' | sed 's|^\./||; s|/part-.*||' | sort | sed -n '1p;$p')" \
"year=2024/month=03/day=01/hour=00
year=2024/month=03/day=06/hour=23"
expect_eq "every hour holds its 20 records and only them" \
    "$(q "SELECT count(*) AS hours, min(n) AS lo, max(n) AS hi FROM (SELECT date_trunc('hour', start) AS h, count(*) AS n FROM flow_logs GROUP BY h)")" \
"hours,lo,hi
144,20,20"
want=$(for f in $(find bucket -name '*.log.gz' | sort); do gzip -dc "$f" | tail -n +2; done \
    | awk '{b += $10; p += $9} END {print NR "," b "," p}')
expect_eq "same records as the input (count, sum bytes, sum packets)" \
    "$(q "SELECT count(*), sum(bytes), sum(packets) FROM flow_logs" | tail -1)" "$want"

# A second run into the same hours (other records): the hours exist, so
# its files join them one by one; each hour then has two files, 40 records.
for h in $(seq 0 143); do
    t=$((base + h * 3600))
    dir=bucket2/$(date -u -d "@$t" +%Y/%m/%d)
    mkdir -p "$dir"
    "$FLOWLAKE" generate --seed $((h + 1000)) --records 20 --start "$t" --span 1h \
        --header -o "$dir/$h.log.gz" || fail "generate hour $h again"
done
out=$("$FLOWLAKE" convert --quiet --threads 2 --archive "$A" bucket2 2>&1); st=$?
expect_status "second run into existing hours" 0 $st
expect_eq "two files in every hour" \
    "$(cd "$A" && find . -name '*.parquet' | sed 's|/part-.*||' | sort | uniq -c | awk '{print $1}' | sort | uniq -c | sed 's/^ *//')" \
    "144 2"
expect_eq "every hour holds 40 records" \
    "$(q "SELECT count(*) AS hours, min(n) AS lo, max(n) AS hi FROM (SELECT date_trunc('hour', start) AS h, count(*) AS n FROM flow_logs GROUP BY h)")" \
"hours,lo,hi
144,40,40"
expect_eq "no staging left behind" "$(ls "$A/_flowlake")" "inputs.tsv
lock"

# A flow that started at 23:59 on 03-06, delivered in 03-07's folder: its
# hour now has a file from each folder's COPY, and no row is lost.
mkdir -p bucket/AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/03/07
t=$(date -u -d 2024-03-06T23:59:00Z +%s)
{ echo "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
  echo "2 123456789012 eni-0a1b2c3d 10.0.0.1 10.0.0.2 443 50000 6 7 700 $t $((t + 120)) ACCEPT OK"
  echo "2 123456789012 eni-0a1b2c3d 10.0.0.1 10.0.0.2 443 50000 6 3 300 $((t + 70)) $((t + 130)) ACCEPT OK"
} | gzip > bucket/AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/03/07/late.log.gz
# One run over all seven folders: each folder is its own COPY, so 23h of
# 03-06 gets one file from each of the two.
A=$TMP/archive2
out=$("$FLOWLAKE" convert --quiet --threads 2 --archive "$A" bucket 2>&1); st=$?
expect_status "convert with the late file" 0 $st
expect_contains "summary with the late file" "$out" "convert: 2882 records read, 2882 written, 0 rejected, 146 files written, 145 inputs (0 skipped)"
expect_eq "files per partition: the late flow's hour has two, 00h of 03-07 one" \
    "$(cd "$A" && find . -name '*.parquet' | sed 's|^\./||; s|/part-.*||' | sort | uniq -c | awk '$1 != 1 || /day=07/ {print $1, $2}')" \
"2 year=2024/month=03/day=06/hour=23
1 year=2024/month=03/day=07/hour=00"
expect_eq "23h of 03-06 has 21 records, 00h of 03-07 has 1" \
    "$(q "SELECT strftime(date_trunc('hour', start), '%d %H') AS h, count(*) AS n FROM flow_logs WHERE start >= TIMESTAMP '2024-03-06 23:00:00' GROUP BY h ORDER BY h")" \
"h,n
06 23,21
07 00,1"

# A bucket of several accounts and regions (one of them with the
# Hive-compatible prefixes): a day's folders of every account and region
# are one group, so every hour partition is still one file, and every
# record keeps the account and region of its folder.
base=$(date -u -d 2024-05-01 +%s)
seed=0
for acct in 111111111111 222222222222; do
  for region in eu-west-1 us-east-2; do
    for h in $(seq 0 47); do
        t=$((base + h * 3600)); seed=$((seed + 1))
        if [ "$acct" = 222222222222 ]; then
            dir=multi/AWSLogs/aws-account-id=$acct/aws-service=vpcflowlogs/aws-region=$region/$(date -u -d "@$t" +year=%Y/month=%m/day=%d/hour=%H)
        else
            dir=multi/AWSLogs/$acct/vpcflowlogs/$region/$(date -u -d "@$t" +%Y/%m/%d)
        fi
        mkdir -p "$dir"
        "$FLOWLAKE" generate --seed $((seed + 5000)) --records 5 --start "$t" --span 1h \
            -o "$dir/${acct}_vpcflowlogs_${region}_fl-1_$(date -u -d "@$t" +%Y%m%dT%H%MZ)_h$h.log.gz" \
            || fail "generate $acct $region hour $h"
    done
  done
done
A=$TMP/archive3
out=$("$FLOWLAKE" convert --quiet --threads 2 --archive "$A" multi 2>&1); st=$?
expect_status "convert two accounts in two regions" 0 $st
expect_contains "multi summary" "$out" "convert: 960 records read, 960 written, 0 rejected, 48 files written, 192 inputs (0 skipped)"
expect_eq "multi: one file in each of the 48 hour partitions" \
    "$(cd "$A" && find . -name '*.parquet' | sed 's|/part-.*||' | sort | uniq -c | awk '{print $1}' | sort | uniq -c | sed 's/^ *//')" \
    "48 1"
# generate's default format has account-id (its own, kept) but no region:
# the region comes from the folder of each record's file.
expect_eq "multi: rows per region and source account folder" \
    "$(q "SELECT region, regexp_extract(source_file, '^AWSLogs/(aws-account-id=)?([0-9]+)', 2) AS folder_account, count(*) AS n, count(DISTINCT source_file) AS files FROM flow_logs GROUP BY ALL ORDER BY ALL")" \
"region,folder_account,n,files
eu-west-1,111111111111,240,48
eu-west-1,222222222222,240,48
us-east-2,111111111111,240,48
us-east-2,222222222222,240,48"

finish
