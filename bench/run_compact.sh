#!/usr/bin/env bash
# What compaction buys: a day of 10-second publishes (360 files per hour,
# 8,640 in the day, as `flowlake serve` with archive.buffer_interval = 10s
# leaves it) queried before and after `flowlake compact`, through
# `flowlake query` and through plain DuckDB (build/bench/sqlrun, the DuckDB
# shell's stand-in) over read_parquet(glob, hive_partitioning = true).
# Both layouts must give the same answers before any figure is printed.
#
# The small-files day is made from one converted day: each hour's file is
# cut, in start order, into 360 files of consecutive records (DuckDB COPY
# ... PARTITION_BY a bucket number), which is what 360 publishes of that
# hour's records in arrival order write. Printed: the compaction's own
# wall time and CPU, files and bytes before and after, then warm medians
# of RUNS runs of each query on both layouts (alternating), with the ratio
# before/after.
#
# usage: bench/run_compact.sh [RECORDS_PER_DAY] [RUNS]   (4800000, 5)
set -euo pipefail
cd "$(dirname "$0")/.."
PER_DAY=${1:-4800000}
RUNS=${2:-5}
make -s -j2 flowlake build/bench/sqlrun
FL=${FL:-$PWD/flowlake}
SQLRUN=$PWD/build/bench/sqlrun
out=bench/out/compact
rm -rf "$out"; mkdir -p "$out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# The day: 2024-05-01, converted once (one file per hour).
"$FL" generate --seed 11 --records "$PER_DAY" --start 2024-05-01 --span 1d -o "$out/day.log"
"$FL" convert --quiet --archive "$out/one" "$out/day.log" >/dev/null
rm -f "$out/day.log"

# The small-files layout: every hour cut into 360 files.
small=$out/small
for h in $(seq -w 0 23); do
    src="$out/one/year=2024/month=05/day=01/hour=$h"
    dst="$small/year=2024/month=05/day=01/hour=$h"
    mkdir -p "$dst"
    "$SQLRUN" "COPY (SELECT *, (row_number() OVER (ORDER BY start) - 1) * 360 // count(*) OVER () AS b
               FROM read_parquet('$src/*.parquet', hive_partitioning = false))
               TO '$out/cut' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, PARTITION_BY (b))" >/dev/null 2>&1
    for d in "$out"/cut/b=*; do
        mv "$d"/*.parquet "$dst/part-${d##*=}.parquet"
    done
    rm -rf "$out/cut"
done
rm -rf "$out/one"
files() { find "$1" -path '*/hour=*' -name '*.parquet' | wc -l; }
bytes() { find "$1" -path '*/hour=*' -name '*.parquet' -printf '%s\n' | awk '{s += $1} END {printf "%.1f", s / 1e6}'; }
echo "day of 10-second publishes: $PER_DAY records, $(files "$small") files, $(bytes "$small") MB"

# Compaction: a copy of the small-files day, compacted.
cp -r "$small" "$out/compacted"
/usr/bin/time -f '%e %U %S' -o "$out/time.txt" \
    "$FL" compact --archive "$out/compacted" --after 0s >"$out/compact.txt"
read -r wall user sys <"$out/time.txt"
cat "$out/compact.txt"
echo "compaction: $wall s wall, $(echo "$user + $sys" | bc) s CPU, $(echo "scale=2; $PER_DAY / $wall / 1000" | bc) k records/s;" \
     "after: $(files "$out/compacted") files, $(bytes "$out/compacted") MB"

agg="count(*) AS n, sum(bytes) AS b"
names=("count the day" "top 10 talkers" "rejects per hour" "one hour by its folder" "one port, one hour by start")
fl_sql=(
    "SELECT $agg FROM flow_logs WHERE day = '01'"
    "SELECT srcaddr, sum(bytes) AS b FROM flow_logs GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10"
    "SELECT hour, count(*) AS n FROM flow_logs WHERE action = 'REJECT' GROUP BY 1 ORDER BY 1"
    "SELECT $agg FROM flow_logs WHERE hour = '05'"
    "SELECT $agg FROM flow_logs WHERE dstport = 443 AND start >= TIMESTAMP '2024-05-01 05:00:00' AND start < TIMESTAMP '2024-05-01 06:00:00'"
)
rp() { echo "read_parquet('$1/year=*/month=*/day=*/hour=*/*.parquet', hive_partitioning = true)"; }
duck_sql() {   # duck_sql I ARCHIVE
    case $1 in
    0) echo "SELECT $agg FROM $(rp "$2") WHERE day = '01'" ;;
    1) echo "SELECT srcaddr, sum(bytes) AS b FROM $(rp "$2") GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10" ;;
    2) echo "SELECT hour, count(*) AS n FROM $(rp "$2") WHERE action = 'REJECT' GROUP BY 1 ORDER BY 1" ;;
    3) echo "SELECT $agg FROM $(rp "$2") WHERE hour = '05'" ;;
    4) echo "SELECT $agg FROM $(rp "$2") WHERE dstport = 443 AND start >= 1714539600 AND start < 1714543200" ;;
    esac
}
fl_run() { "$FL" query --archive "$1" --output csv "$2"; }
duck_run() { "$SQLRUN" "$2" 2>/dev/null | tr '\t' ','; }

# Same answers first.
for i in "${!names[@]}"; do
    a=$(fl_run "$small" "${fl_sql[$i]}" | tail -n +2)
    b=$(fl_run "$out/compacted" "${fl_sql[$i]}" | tail -n +2)
    c=$(duck_run "$small" "$(duck_sql "$i" "$small")")
    d=$(duck_run "$out/compacted" "$(duck_sql "$i" "$out/compacted")")
    if [ "$a" != "$b" ] || [ "$c" != "$d" ]; then
        echo "different answers for '${names[$i]}':"; printf '%s\n---\n%s\n' "$a" "$b"; exit 1
    fi
done
echo "same answers on both layouts, through flowlake and DuckDB"

secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
median() { sort -g | awk '{v[NR] = $1} END {printf "%.3f", v[int((NR + 1) / 2)]}'; }
printf '\nwarm medians of %s runs, seconds (before = 360 files per hour, after = compacted)\n' "$RUNS"
printf '%-30s %9s %9s %7s | %9s %9s %7s\n' "query" "fl before" "fl after" "ratio" "duck bef" "duck aft" "ratio"
for i in "${!names[@]}"; do
    fb="" fa="" db="" da=""
    fl_run "$small" "${fl_sql[$i]}" >/dev/null; fl_run "$out/compacted" "${fl_sql[$i]}" >/dev/null   # warm
    for _ in $(seq 1 "$RUNS"); do
        fb+=" $(secs fl_run "$small" "${fl_sql[$i]}")"
        fa+=" $(secs fl_run "$out/compacted" "${fl_sql[$i]}")"
        db+=" $(secs duck_run "$small" "$(duck_sql "$i" "$small")")"
        da+=" $(secs duck_run "$out/compacted" "$(duck_sql "$i" "$out/compacted")")"
    done
    m() { tr ' ' '\n' <<<"$1" | grep . | median; }
    FB=$(m "$fb") FA=$(m "$fa") DB=$(m "$db") DA=$(m "$da")
    printf '%-30s %9s %9s %6.1fx | %9s %9s %6.1fx\n' "${names[$i]}" "$FB" "$FA" \
        "$(echo "$FB / $FA" | bc -l)" "$DB" "$DA" "$(echo "$DB / $DA" | bc -l)"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
