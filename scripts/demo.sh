#!/usr/bin/env bash
# The README's "set up and run" command. On a fresh Debian 12 machine it
# installs the dependencies, builds flowlake, lays out a day of realistic
# VPC flow logs the way an `aws s3 sync` of a flow-log bucket does
# (AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/*.log.gz, each file
# with its header line), converts them into the Parquet archive
# ./flowlake-data, runs the AWS blog's Athena queries on it, and then
# keeps running `flowlake serve --demo`: the live server, fed generated
# traffic, publishing into the same archive every 10 seconds -- query it
# from another terminal; Ctrl-C stops it cleanly.
# Running it again converts nothing twice (the files are recognised).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
make -s -j"$(nproc 2>/dev/null || echo 2)" flowlake

account=123456789012 region=us-east-1
hour0=$(( $(date +%s) / 3600 * 3600 - 24 * 3600 ))
echo
echo "== generating 24 hourly flow-log files (50,000 records each) under demo/AWSLogs/ ..."
for h in $(seq 0 23); do
    t=$((hour0 + h * 3600))
    d=$(date -u -d "@$t" +%Y/%m/%d)
    stamp=$(date -u -d "@$t" +%Y%m%dT%H%MZ)
    dir="demo/AWSLogs/$account/vpcflowlogs/$region/$d"
    f="$dir/${account}_vpcflowlogs_${region}_fl-0123456789abcdef0_${stamp}_$(printf '%08x' $((h * 2654435761 % 4294967296))).log.gz"
    mkdir -p "$dir"
    [ -f "$f" ] || ./flowlake generate --seed $((1000 + h)) --records 50000 \
        --start "$t" --span 1h --header --gzip -o "$f"
done

echo
echo "== ./flowlake convert --archive flowlake-data demo/AWSLogs"
./flowlake convert --archive flowlake-data demo/AWSLogs

run() {
    echo
    echo "== ./flowlake query \"$1\""
    ./flowlake query --archive flowlake-data "$1"
}
run "select protocol, sum(packets) as rejected_packets from flow_logs where action = 'REJECT' group by protocol order by rejected_packets desc"
run "SELECT srcaddr, SUM(packets) AS rejected_packets FROM flow_logs WHERE start >= current_timestamp - interval '14' day GROUP BY srcaddr ORDER BY rejected_packets DESC LIMIT 10"
run "SELECT dstaddr, SUM(packets) AS packet_count FROM flow_logs WHERE dstport = '443' GROUP BY dstaddr ORDER BY packet_count DESC LIMIT 10"
cat <<'TXT'

The archive is in ./flowlake-data (year=/month=/day=/hour= folders of Parquet).
Ask it anything, for example:
  ./flowlake query "SELECT action, count(*) FROM vpc_flow_logs.flow_logs GROUP BY action"
  ./flowlake query --output csv "SELECT * FROM flow_logs WHERE dstport = 22 LIMIT 20"
  ./flowlake query --help

While the server below runs, open http://127.0.0.1:8080/ in a browser for the
VPC-Flow-Log-Analysis dashboard, or from another terminal:
  curl -s localhost:8080/metrics | grep -v '^#' | head -20      # Prometheus text
  curl -s 'localhost:8080/api/metrics?metric=rejected_packets_by_protocol'
  ./flowlake query --server http://127.0.0.1:8080 \
      "SELECT metric, dimensions, window_start, value, final FROM vpc_flow_logs.metrics ORDER BY window_start DESC LIMIT 10"
Windows are 15 minutes on the flows' start time; values are provisional until
the watermark (newest flow time - 15 minutes) passes a window's end.

== starting the live server with generated traffic: ./flowlake serve --demo
TXT
exec ./flowlake serve --demo --archive flowlake-data
