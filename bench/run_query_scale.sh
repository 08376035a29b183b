#!/usr/bin/env bash
# Does a query's cost follow what it selects, not the archive's size? A
# 1-day and a 1-year hourly archive (the year's last day is the day
# archive's, and the year ends at the current hour, so that the AWS blog's
# "last 14 days" selects 14 days), the same queries on both, through
# `flowlake query` and through plain DuckDB (build/bench/sqlrun, the DuckDB
# shell's stand-in) over read_parquet('ARCHIVE/year=*/.../*.parquet',
# hive_partitioning = true), filtering the integer `start` column as a
# careful user would. Prints warm medians (wall time of the whole command,
# process start included), the files each query read (EXPLAIN ANALYZE),
# the ratios year/day and flowlake/DuckDB. Both sides must give the same
# answer before any figure is printed.
#
# Queries over records still in the server's buffer: run_buffer_query.sh.
#
# usage: bench/run_query_scale.sh [RECORDS_PER_DAY] [RUNS]
#        (default 10968 per day: ~4 M records over the year; 5 runs)
# The archives are made once into bench/out/qscale-* and reused for the
# same hour and size; FL=path measures another flowlake binary.
set -euo pipefail
cd "$(dirname "$0")/.."
PER_DAY=${1:-10968}
RUNS=${2:-5}
DAYS=365
out=bench/out
mkdir -p "$out"
make -s -j2 flowlake build/bench/sqlrun
FL=${FL:-$PWD/flowlake}
SQLRUN=$PWD/build/bench/sqlrun
THREADS=$(nproc)

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# The year ends at the start of the current hour: [end - 365 days, end).
end=$(( $(date -u +%s) / 3600 * 3600 ))
first=$((end - DAYS * 86400))
year="$out/qscale-year-$PER_DAY-$end" day="$out/qscale-day-$PER_DAY-$end"
in="$out/qscale-in-$PER_DAY-$end"
if [ ! -f "$year/.done" ]; then
    rm -rf "$out"/qscale-*
    echo "generating $DAYS days of $PER_DAY records (one input per day) ..."
    mkdir -p "$in"
    seq 0 $((DAYS - 1)) | xargs -P "$THREADS" -n 40 sh -c '
        for i in "$@"; do
            t=$(('"$first"' + i * 86400))
            d=$(date -u -d "@$t" +%Y/%m/%d)
            mkdir -p '"$in"'/$d
            '"$FL"' generate --seed $((i + 1)) --records '"$PER_DAY"' --start "$t" \
                --span 1d --header -o '"$in"'/$d/flows.log
        done' sh
    "$FL" convert --quiet --threads "$THREADS" --archive "$year" "$in" >/dev/null
    last=$(date -u -d "@$((end - 86400))" +%Y/%m/%d)
    "$FL" convert --quiet --threads "$THREADS" --archive "$day" "$in/$last" >/dev/null
    rm -rf "$in"
    touch "$year/.done"
fi
nfiles() { find "$1" -name '*.parquet' | wc -l; }
echo "year archive: $(nfiles "$year") files; day archive: $(nfiles "$day") files; ~$((PER_DAY * DAYS)) records in the year"

# One hour of the last day, by start and by its folders.
h0=$((end - 6 * 3600))
ts() { date -u -d "@$1" '+%Y-%m-%d %H:%M:%S'; }
Y=$(date -u -d "@$h0" +%Y) M=$(date -u -d "@$h0" +%m) D=$(date -u -d "@$h0" +%d) H=$(date -u -d "@$h0" +%H)
agg="count(*) AS n, sum(bytes) AS b"
names=(select1 hour_by_start hour_by_partition last_14_days)
fl_sql=(
    "SELECT 1"
    "SELECT $agg FROM flow_logs WHERE start >= TIMESTAMP '$(ts $h0)' AND start < TIMESTAMP '$(ts $((h0 + 3600)))'"
    "SELECT $agg FROM flow_logs WHERE year = '$Y' AND month = '$M' AND day = '$D' AND hour = '$H'"
    "SELECT $agg FROM flow_logs WHERE start >= current_timestamp - interval '14' day"
)
rp() { echo "read_parquet('$1/year=*/month=*/day=*/hour=*/*.parquet', hive_partitioning = true)"; }
duck_sql() {   # duck_sql I ARCHIVE
    case $1 in
    0) echo "SELECT 1" ;;
    1) echo "SELECT $agg FROM $(rp "$2") WHERE start >= $h0 AND start < $((h0 + 3600))" ;;
    2) echo "SELECT $agg FROM $(rp "$2") WHERE year = '$Y' AND month = '$M' AND day = '$D' AND hour = '$H'" ;;
    3) echo "SELECT $agg FROM $(rp "$2") WHERE start >= epoch(current_timestamp - interval '14' day)" ;;
    esac
}
fl_run()   { "$FL" query --archive "$1" --output csv "$2" | tail -n +2; }
duck_run() { "$SQLRUN" --threads "$THREADS" "$2" 2>/dev/null; }
# files_read: sums the "Total Files Read" of an EXPLAIN ANALYZE on stdin
# (a large count wraps onto the next line of the plan's box).
files_read() {
    awk '{gsub(/[│]/, "")}
         pending { n += $1; pending = 0 }
         /Total Files Read:/ { if ($4 != "") n += $4; else pending = 1 }
         END { print n + 0 }'
}
fl_files()   { "$FL" query --archive "$1" "EXPLAIN ANALYZE $2" | files_read; }
duck_files() { "$SQLRUN" --threads "$THREADS" "EXPLAIN ANALYZE $2" 2>/dev/null | files_read; }
# median WHO ARCHIVE SQL: warm median wall seconds of RUNS runs (one more
# run first, not counted, to warm the page cache).
median() {
    local who=$1 a=$2 sql=$3 t0 t1 times=()
    "$who" "$a" "$sql" >/dev/null
    for _ in $(seq 1 "$RUNS"); do
        t0=$(date +%s.%N); "$who" "$a" "$sql" >/dev/null; t1=$(date +%s.%N)
        times+=("$(echo "$t1 - $t0" | bc -l)")
    done
    printf '%s\n' "${times[@]}" | sort -g | awk '{v[NR] = $1} END {printf "%.3f", v[int((NR + 1) / 2)]}'
}

printf '%-18s | %8s %8s %6s %6s | %8s %8s %6s %6s | %9s %9s\n' "" "flowlake" "" "" "" "DuckDB" "" "" "" "fl/DuckDB" "fl/DuckDB"
printf '%-18s | %8s %8s %6s %6s | %8s %8s %6s %6s | %9s %9s\n' "query" "day s" "year s" "yr/day" "files" "day s" "year s" "yr/day" "files" "day" "year"
for i in 0 1 2 3; do
    for a in "$day" "$year"; do
        # The answers are compared at one frozen instant: the clock moves
        # between the two runs.
        frozen="TIMESTAMP '$(date -u '+%Y-%m-%d %H:%M:%S')'"
        fsql=${fl_sql[$i]//current_timestamp/$frozen}; dsql=$(duck_sql $i "$a")
        got=$(fl_run "$a" "$fsql"); want=$(duck_run "$a" "${dsql//current_timestamp/$frozen}" | tr '\t' ',')
        if [ "$got" != "$want" ]; then
            echo "MISMATCH on ${names[$i]} over $a: flowlake '$got', DuckDB '$want'; no figures reported"
            exit 1
        fi
    done
    fd=$(median fl_run "$day" "${fl_sql[$i]}"); fy=$(median fl_run "$year" "${fl_sql[$i]}")
    dd=$(median duck_run "$day" "$(duck_sql $i "$day")"); dy=$(median duck_run "$year" "$(duck_sql $i "$year")")
    ff=$(fl_files "$year" "${fl_sql[$i]}"); df=$(duck_files "$year" "$(duck_sql $i "$year")")
    printf '%-18s | %8s %8s %6.2f %6s | %8s %8s %6.2f %6s | %9.2f %9.2f\n' "${names[$i]}" \
        "$fd" "$fy" "$(echo "$fy / $fd" | bc -l)" "$ff" "$dd" "$dy" "$(echo "$dy / $dd" | bc -l)" "$df" \
        "$(echo "$fd / $dd" | bc -l)" "$(echo "$fy / $dy" | bc -l)"
done
echo "(files: read by the query on the year archive, from EXPLAIN ANALYZE; same answers on both sides checked)"

# The same hour over records still in the server's buffer:
# bench/run_buffer_query.sh.
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
