#!/usr/bin/env bash
# One command for every benchmark of the batch pipeline, side by
# side with what a user would run instead -- DuckDB (the same pinned
# libduckdb, through bench/sqlrun) reading the raw gzip text itself:
#
#   1. parser alone: lines/s and MB/s on one core (bench_parse);
#   2. convert: flowlake convert vs the COPY a careful DuckDB user writes
#      (bench/duck_sql.sh: typed read_csv, integer partition key, the same
#      Parquet settings and threads):
#      records/s, the ratio, output bytes per record, peak RSS;
#   3. memory: flowlake's peak RSS at two input sizes;
#   4. the three AWS-blog queries: flowlake query on the archive vs DuckDB
#      on the raw .gz, with the results compared (a mismatch aborts).
#
# usage: bench/run.sh [RECORDS]      (default 10000000; needs ~3 GB of disk)
# Results are printed, never asserted. Machines are shared and noisy: read
# the ratios, and rerun before believing a small difference.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000000}
SMALL=$((N / 10))
out=bench/out
mkdir -p "$out"
# SKIP_BOOTSTRAP=1: a worktree that shares an already built .deps.
[ -n "${SKIP_BOOTSTRAP:-}" ] || scripts/bootstrap.sh --all >/dev/null
make -s -j"$(nproc)" flowlake build/bench/bench_parse build/bench/sqlrun
# FL=path: another flowlake binary to measure (e.g. an older build).
FL=${FL:-$PWD/flowlake}
SQLRUN=$PWD/build/bench/sqlrun
TIME=/usr/bin/time

now() { date +%s.%N; }
# run_timed LABEL CMD... : wall seconds and peak RSS (KB) into $secs $rss
run_timed() {
    local label=$1; shift
    local t0 t1
    t0=$(now)
    "$TIME" -f '%M' -o "$out/rss.$label" "$@" >"$out/stdout.$label" 2>"$out/stderr.$label" \
        || { echo "benchmark step '$label' failed:"; cat "$out/stderr.$label"; exit 1; }
    t1=$(now)
    secs=$(echo "$t1 - $t0" | bc -l)
    rss=$(tail -1 "$out/rss.$label")
}
fmt() { printf '%.2f' "$1"; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# Input: N records over the last 24 hours (so the "last 14 days" query has
# data), S3-style header, gzip level 6 as AWS's files are.
start=$(( $(date +%s) / 3600 * 3600 - 86400 ))
input="$out/flows-$N.log.gz"
small="$out/flows-$SMALL.log.gz"
echo "generating $N and $SMALL records (gzip, header) ..."
"$FL" generate --seed 42 --records "$N" --start "$start" --span 24h --header --gzip-level 6 -o "$input"
"$FL" generate --seed 43 --records "$SMALL" --start "$start" --span 24h --header --gzip-level 6 -o "$small"
in_bytes=$(stat -c %s "$input")
echo "input: $(fmt "$(echo "$in_bytes / 1000000" | bc -l)") MB gzip"
echo

echo "== 1. parser alone (one core, default format, in memory)"
./build/bench/bench_parse --records 2000000 --rounds 5
echo

echo "== 2. convert: $N records, gzip with header -> Parquet (zstd), hourly Hive partitions"
rm -rf "$out/fl-archive" "$out/duck-archive"
run_timed flowlake "$FL" convert --quiet --threads "$(nproc)" --archive "$out/fl-archive" "$input"
fl_secs=$secs fl_rss=$rss
# The SQL a careful DuckDB user writes (bench/duck_sql.sh): typed columns,
# integer partition key, flowlake's Parquet settings, same thread count.
. bench/duck_sql.sh
duck_sql=$(duck_convert_sql "$input" "$out/duck-archive" $((start / 3600)) $((start / 3600 + 23)))
run_timed duckdb "$SQLRUN" --threads "$(nproc)" "SET preserve_insertion_order = false" "$duck_sql"
duck_secs=$secs duck_rss=$rss
# Both archives must hold the same records before any time is reported.
check='SELECT count(*), sum(bytes), sum(packets), sum(start), count(DISTINCT srcaddr), sum(hash(interface_id, dstaddr, srcport, "end"))'
check_fl=$("$SQLRUN" "$check FROM read_parquet('$out/fl-archive/year=*/month=*/day=*/hour=*/*.parquet')")
check_duck=$("$SQLRUN" "$check FROM read_parquet('$out/duck-archive/year=*/month=*/day=*/hour=*/*.parquet')")
if [ "$check_fl" != "$check_duck" ]; then
    echo "MISMATCH: flowlake archive ($check_fl) != DuckDB archive ($check_duck); no figures reported"
    exit 1
fi
echo "checksum (count, sum bytes, sum packets, sum start, distinct srcaddr, row hash): $check_fl -- identical"
fl_bytes=$(find "$out/fl-archive" -name '*.parquet' -printf '%s\n' | awk '{s+=$1} END {print s}')
duck_bytes=$(find "$out/duck-archive" -name '*.parquet' -printf '%s\n' | awk '{s+=$1} END {print s}')
fl_files=$(find "$out/fl-archive" -name '*.parquet' | wc -l)
duck_files=$(find "$out/duck-archive" -name '*.parquet' | wc -l)
printf '%-28s %10s %14s %10s %14s %8s\n' "" "seconds" "records/s" "files" "bytes/record" "peak RSS"
printf '%-28s %10s %14s %10s %14s %8s\n' "flowlake convert" "$(fmt "$fl_secs")" \
    "$(printf '%.0f' "$(echo "$N / $fl_secs" | bc -l)")" "$fl_files" \
    "$(fmt "$(echo "$fl_bytes / $N" | bc -l)")" "$((fl_rss / 1024)) MB"
printf '%-28s %10s %14s %10s %14s %8s\n' "DuckDB read_csv -> COPY" "$(fmt "$duck_secs")" \
    "$(printf '%.0f' "$(echo "$N / $duck_secs" | bc -l)")" "$duck_files" \
    "$(fmt "$(echo "$duck_bytes / $N" | bc -l)")" "$((duck_rss / 1024)) MB"
echo "throughput ratio flowlake / DuckDB: $(fmt "$(echo "$duck_secs / $fl_secs" | bc -l)")x"
echo "output size ratio flowlake / DuckDB: $(fmt "$(echo "$fl_bytes / $duck_bytes" | bc -l)")"
echo

echo "== 3. memory: flowlake convert peak RSS at two input sizes"
rm -rf "$out/fl-small"
run_timed flowlake-small "$FL" convert --quiet --archive "$out/fl-small" "$small"
echo "$SMALL records: peak RSS $((rss / 1024)) MB;  $N records: peak RSS $((fl_rss / 1024)) MB"
echo

echo "== 4. the AWS blog's three queries: flowlake (archive) vs DuckDB (raw .gz)"
names="['version','account_id','interface_id','srcaddr','dstaddr','srcport','dstport','protocol','packets','bytes','start','end','action','log_status']"
raw_view="CREATE VIEW flow_logs AS SELECT * REPLACE (make_timestamp(start * 1000000) AS start, make_timestamp(\"end\" * 1000000) AS \"end\")
  FROM read_csv('$input', delim=' ', header=true, nullstr='-', names=$names)"
queries=(
"select protocol, sum(packets) as rejected_packets from flow_logs where action = 'REJECT' group by protocol order by rejected_packets desc"
"SELECT srcaddr, SUM(packets) AS rejected_packets FROM flow_logs WHERE start >= current_timestamp - interval '14' day GROUP BY srcaddr ORDER BY rejected_packets DESC, srcaddr LIMIT 10"
"SELECT dstaddr, SUM(packets) AS packet_count FROM flow_logs WHERE dstport = '443' GROUP BY dstaddr ORDER BY packet_count DESC, dstaddr LIMIT 10"
)
printf '%-6s %14s %14s %8s\n' "query" "flowlake s" "DuckDB raw s" "ratio"
for i in "${!queries[@]}"; do
    q=${queries[$i]}
    run_timed "q$i-fl" "$FL" query --archive "$out/fl-archive" --output csv "$q"
    fl_q=$secs
    run_timed "q$i-duck" "$SQLRUN" "$raw_view" "$q"
    duck_q=$secs
    # Same rows? (flowlake prints CSV with a header; sqlrun prints TSV.)
    a=$(tail -n +2 "$out/stdout.q$i-fl" | tr ',' '\t')
    b=$(cat "$out/stdout.q$i-duck")
    if [ "$a" != "$b" ]; then
        echo "MISMATCH in query $((i + 1)):"; diff <(echo "$a") <(echo "$b") | head; exit 1
    fi
    printf '%-6s %14s %14s %7sx\n' "Q$((i + 1))" "$(fmt "$fl_q")" "$(fmt "$duck_q")" "$(fmt "$(echo "$duck_q / $fl_q" | bc -l)")"
done
echo "(Q2 and Q3 add a tie-break on the address so that LIMIT 10 is deterministic; results compared row by row)"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
