#!/usr/bin/env bash
# A one-year backfill: 8,760 hourly .log.gz files laid out as `aws s3 sync`
# leaves a flow-log bucket (AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/,
# https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-path.html),
# converted once by `flowlake convert` and once by the SQL a careful DuckDB
# user would write for the same archive (explicit column types, an integer
# partition key, the same Parquet settings and thread count). Prints for each
# side: wall time, peak RSS, files written, partitions, and the ratios.
# Both archives must hold the same records (count and checksums) before any
# figure is printed.
#
# usage: bench/run_backfill.sh [RECORDS_PER_FILE]   (default 457: ~4 M records)
# The input is generated once into bench/out/backfill-in and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
PER=${1:-457}
HOURS=8760
out=bench/out
in="$out/backfill-in-$PER"
mkdir -p "$out"
make -s -j2 flowlake build/bench/sqlrun
# FL=path: another flowlake binary to measure (e.g. an older build).
# FL_BASE=path: also measure that build in the same run (after FL, before
# DuckDB), checked to write the same rows, with its ratio to FL.
FL=${FL:-$PWD/flowlake}
FL_BASE=${FL_BASE:-}
SQLRUN=$PWD/build/bench/sqlrun
THREADS=$(nproc)

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# Input: one file per hour of 2024 (a leap year: 8,784 hours; the first
# 8,760 are taken), each with the S3 header, gzip level 6 as AWS writes.
year_start=$(date -u -d 2024-01-01 +%s)
if [ ! -f "$in/.done" ]; then
    echo "generating $HOURS hourly files of $PER records into $in ..."
    mkdir -p "$in"
    # Each file is written under a temporary name and renamed: a rerun
    # after an interruption makes only the missing ones.
    seq 0 $((HOURS - 1)) | xargs -P "$THREADS" -n 200 sh -c '
        for h in "$@"; do
            t=$(('"$year_start"' + h * 3600))
            d=$(date -u -d "@$t" +%Y/%m/%d)
            stamp=$(date -u -d "@$t" +%Y%m%dT%H%MZ)
            dir='"$in"'/AWSLogs/123456789012/vpcflowlogs/us-east-1/$d
            f=$dir/123456789012_vpcflowlogs_us-east-1_fl-0123456789abcdef0_${stamp}_$(printf %08x "$h").log.gz
            [ -f "$f" ] && continue
            mkdir -p "$dir"
            '"$FL"' generate --seed $((h + 1)) --records '"$PER"' --start "$t" \
                --span 1h --header --gzip-level 6 -o "$f.tmp" && mv "$f.tmp" "$f"
        done' sh
    touch "$in/.done"
fi
n_files=$(find "$in" -name '*.log.gz' | wc -l)
in_bytes=$(find "$in" -name '*.log.gz' -printf '%s\n' | awk '{s+=$1} END {print s}')
N=$((n_files * PER))
echo "input: $n_files files, $N records, $(printf '%.1f' "$(echo "$in_bytes / 1000000" | bc -l)") MB gzip"

now() { date +%s.%N; }
# run_timed LABEL CMD... : wall seconds, CPU seconds (user + system) and
# peak RSS (KB) into $secs $cpu $rss. On a shared machine the CPU seconds
# move less than the wall time.
run_timed() {
    local label=$1; shift
    local t0 t1
    t0=$(now)
    /usr/bin/time -f '%U %S %M' -o "$out/rss.$label" "$@" >"$out/stdout.$label" 2>"$out/stderr.$label" \
        || { echo "benchmark step '$label' failed:"; cat "$out/stderr.$label"; exit 1; }
    t1=$(now)
    secs=$(echo "$t1 - $t0" | bc -l)
    rss=$(tail -1 "$out/rss.$label" | awk '{print $3}')
    cpu=$(tail -1 "$out/rss.$label" | awk '{print $1 + $2}')
}
fmt() { printf '%.2f' "$1"; }

fl_arch="$out/backfill-fl" duck_arch="$out/backfill-duck" base_arch="$out/backfill-base"
rm -rf "$fl_arch" "$duck_arch" "$base_arch"
sync
run_timed bf-flowlake "$FL" convert --quiet --threads "$THREADS" --archive "$fl_arch" "$in"
fl_secs=$secs fl_rss=$rss fl_cpu=$cpu
if [ -n "$FL_BASE" ]; then
    sync
    run_timed bf-base "$FL_BASE" convert --quiet --threads "$THREADS" --archive "$base_arch" "$in"
    base_secs=$secs base_rss=$rss base_cpu=$cpu
fi
sync

# The careful DuckDB user: the bench's own column types (no sniffing), the
# partition key from integer arithmetic on the epoch (no time zone), zero-
# padded only for the folder names, zstd level 1 and the default row group
# size as flowlake writes, insertion order not preserved, same threads.
. bench/duck_sql.sh
sql=$(duck_convert_sql "$in/AWSLogs/*/vpcflowlogs/*/*/*/*/*.log.gz" "$duck_arch" \
    $((year_start / 3600)) $((year_start / 3600 + HOURS - 1)))
run_timed bf-duckdb "$SQLRUN" --threads "$THREADS" "SET preserve_insertion_order = false" "$sql"
duck_secs=$secs duck_rss=$rss duck_cpu=$cpu

check='SELECT count(*), sum(bytes), sum(packets), sum(start), count(DISTINCT srcaddr), sum(hash(interface_id, dstaddr, srcport, "end"))'
check_fl=$("$SQLRUN" "$check FROM read_parquet('$fl_arch/year=*/month=*/day=*/hour=*/*.parquet')")
check_duck=$("$SQLRUN" "$check FROM read_parquet('$duck_arch/year=*/month=*/day=*/hour=*/*.parquet')")
if [ -n "$FL_BASE" ]; then
    check_base=$("$SQLRUN" "$check FROM read_parquet('$base_arch/year=*/month=*/day=*/hour=*/*.parquet')")
    if [ "$check_base" != "$check_fl" ]; then
        echo "MISMATCH: FL_BASE archive ($check_base) != flowlake archive ($check_fl); no figures reported"
        exit 1
    fi
fi
if [ "$check_fl" != "$check_duck" ]; then
    echo "MISMATCH: flowlake archive ($check_fl) != DuckDB archive ($check_duck); no figures reported"
    exit 1
fi
# Same rows in the same partitions: per-folder counts must match too.
per_part='SELECT regexp_extract(filename, '"'"'(year=.*)/[^/]*$'"'"', 1) AS p, count(*) FROM read_parquet('
part_fl=$("$SQLRUN" "$per_part'$fl_arch/year=*/month=*/day=*/hour=*/*.parquet', filename=true) GROUP BY p ORDER BY p" | md5sum)
part_duck=$("$SQLRUN" "$per_part'$duck_arch/year=*/month=*/day=*/hour=*/*.parquet', filename=true) GROUP BY p ORDER BY p" | md5sum)
if [ "$part_fl" != "$part_duck" ]; then
    echo "MISMATCH: rows per partition differ between the two archives"
    exit 1
fi
echo "checksum (count, sum bytes, sum packets, sum start, distinct srcaddr, row hash): $check_fl -- identical; rows per partition identical"

files() { find "$1" -name '*.parquet' | wc -l; }
parts() { find "$1" -path '*hour=*' -type d | wc -l; }
bytes() { find "$1" -name '*.parquet' -printf '%s\n' | awk '{s+=$1} END {print s}'; }
row() { # LABEL SECS CPU RSS ARCHIVE
    printf '%-26s %9s %8s %12s %9s %8s %11s %9s\n' "$1" "$(fmt "$2")" "$(fmt "$3")" \
        "$(printf '%.0f' "$(echo "$N / $2" | bc -l)")" "$(($4 / 1024)) MB" \
        "$(files "$5")" "$(parts "$5")" "$(fmt "$(echo "$(bytes "$5") / 1000000" | bc -l)")"
}
printf '%-26s %9s %8s %12s %9s %8s %11s %9s\n' "" "seconds" "CPU s" "records/s" "peak RSS" "files" "partitions" "MB out"
row "flowlake convert" "$fl_secs" "$fl_cpu" "$fl_rss" "$fl_arch"
[ -n "$FL_BASE" ] && row "flowlake convert (FL_BASE)" "$base_secs" "$base_cpu" "$base_rss" "$base_arch"
row "DuckDB read_csv -> COPY" "$duck_secs" "$duck_cpu" "$duck_rss" "$duck_arch"
echo "speed ratio flowlake / DuckDB: $(fmt "$(echo "$duck_secs / $fl_secs" | bc -l)")x (CPU: $(fmt "$(echo "$duck_cpu / $fl_cpu" | bc -l)")x); peak RSS ratio: $(fmt "$(echo "$fl_rss / $duck_rss" | bc -l)")"
if [ -n "$FL_BASE" ]; then
    echo "FL_BASE / DuckDB: $(fmt "$(echo "$duck_secs / $base_secs" | bc -l)")x; flowlake / FL_BASE: $(fmt "$(echo "$base_secs / $fl_secs" | bc -l)")x faster (CPU: $(fmt "$(echo "$base_cpu / $fl_cpu" | bc -l)")x)"
fi
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
