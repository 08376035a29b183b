#!/usr/bin/env bash
# Would leading account_id= / region= partition levels pay off? An S3 sync
# of ACCOUNTS x REGIONS flow logs over DAYS days (AWSLogs/<account>/
# vpcflowlogs/<region>/YYYY/MM/DD/, one file per account, region and day,
# spread over its 24 hours; the records carry no account_id field, so it
# comes from the path as for any S3 delivery), then three archives of the
# same rows:
#   time     -- `flowlake convert` of the bucket: year=/month=/day=/hour=
#               (what flowlake writes today);
#   levels   -- the same rows under account_id=/region=/year=/month=/day=/
#               hour=, written by one DuckDB COPY (AWS's own Hive-compatible
#               prefixes put the account and region first);
#   compact  -- the same rows under year=/month=/day=/hour=, one file per
#               hour, written by one DuckDB COPY (what a single group, the
#               server's publish or a compaction writes);
# and the query of a user who filters one account, one region, one day:
# warm median wall time, files read (EXPLAIN ANALYZE), the same answer
# checked on every side first. The write side: files, partitions, seconds.
#
# usage: bench/run_partition_levels.sh [RECORDS_PER_FILE] [RUNS]
#        (defaults 2400 -- 100 an hour, 2,880,000 records -- and 5)
# ACCOUNTS (10), REGIONS (4), DAYS (30) from the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
PER=${1:-2400}
RUNS=${2:-5}
ACCOUNTS=${ACCOUNTS:-10}
REGIONS=${REGIONS:-4}
DAYS=${DAYS:-30}
out=bench/out
in="$out/levels-in-$ACCOUNTS-$REGIONS-$DAYS-$PER"
mkdir -p "$out"
make -s -j2 flowlake build/bench/sqlrun
FL=${FL:-$PWD/flowlake}
SQLRUN=$PWD/build/bench/sqlrun
THREADS=$(nproc)
all_regions=(us-east-1 us-west-2 eu-west-1 ap-southeast-1 eu-central-1 ap-northeast-1 sa-east-1 ca-central-1)
[ "$REGIONS" -le ${#all_regions[@]} ] || { echo "REGIONS: at most ${#all_regions[@]}"; exit 2; }
account() { printf '1%011d' "$1"; }

echo "machine: $(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# The v2 fields but account-id: account_id is filled from the path.
fmt='${version} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}'
day0=$(date -u -d 2024-01-01 +%s)
if [ ! -f "$in/.done" ]; then
    echo "generating $((ACCOUNTS * REGIONS * DAYS)) daily files of $PER records into $in ..."
    for a in $(seq 0 $((ACCOUNTS - 1))); do
        for r in $(seq 0 $((REGIONS - 1))); do
            echo "$a $r"
        done
    done | FL="$FL" IN="$in" DAYS="$DAYS" DAY0="$day0" PER="$PER" FMT="$fmt" \
        REGION_LIST="${all_regions[*]}" xargs -P "$THREADS" -n 2 sh -c '
        a=$0 r=$1
        acct=$(printf "1%011d" "$a")
        set -- $REGION_LIST
        shift "$r"; reg=$1
        for d in $(seq 0 $((DAYS - 1))); do
            t=$((DAY0 + d * 86400))
            dir=$IN/AWSLogs/$acct/vpcflowlogs/$reg/$(date -u -d "@$t" +%Y/%m/%d)
            f=$dir/${acct}_vpcflowlogs_${reg}_fl-0123456789abcdef0_$(date -u -d "@$t" +%Y%m%dT0000Z)_$(printf %08x $((a * 100000 + r * 1000 + d))).log.gz
            [ -f "$f" ] && continue
            mkdir -p "$dir"
            "$FL" generate --seed $((a * 100000 + r * 1000 + d + 1)) --records "$PER" \
                --start "$t" --span 24h --header --gzip-level 6 --format "$FMT" \
                -o "$f.tmp" && mv "$f.tmp" "$f"
        done'
    touch "$in/.done"
fi
n_files=$(find "$in" -name '*.log.gz' | wc -l)
N=$((n_files * PER))
echo "input: $n_files files, $N records ($ACCOUNTS accounts x $REGIONS regions x $DAYS days)"

now() { date +%s.%N; }
fmt2() { printf '%.2f' "$1"; }
files() { find "$1" -name '*.parquet' | wc -l; }
parts() { find "$1" -path '*hour=*' -type d | wc -l; }
mb() { find "$1" -name '*.parquet' -printf '%s\n' | awk '{s+=$1} END {printf "%.1f", s / 1e6}'; }
timed() { # CMD... : wall seconds into $secs
    local t0 t1
    t0=$(now); "$@" >/dev/null; t1=$(now)
    secs=$(echo "$t1 - $t0" | bc -l)
}

time_a="$out/levels-time" levels_a="$out/levels-levels" compact_a="$out/levels-compact"
hive="hive_partitioning = true, hive_types = {'year': VARCHAR, 'month': VARCHAR, 'day': VARCHAR, 'hour': VARCHAR"
# SKIP_WRITE=1: query the archives of an earlier run again.
if [ "${SKIP_WRITE:-}" = 1 ] && [ -d "$compact_a" ]; then
    w_time=0 w_levels=0 w_compact=0
else
    rm -rf "$time_a" "$levels_a" "$compact_a"
    sync
    timed "$FL" convert --quiet --threads "$THREADS" --archive "$time_a" "$in"
    w_time=$secs
    src="read_parquet('$time_a/year=*/month=*/day=*/hour=*/*.parquet', $hive})"
    cols="* EXCLUDE (year, month, day, hour), year, month, day, hour"
    sync
    timed "$SQLRUN" --threads "$THREADS" "SET preserve_insertion_order = false" \
        "COPY (SELECT $cols FROM $src) TO '$levels_a' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1,
           PARTITION_BY (account_id, region, year, month, day, hour), FILENAME_PATTERN 'part-{i}')"
    w_levels=$secs
    sync
    timed "$SQLRUN" --threads "$THREADS" "SET preserve_insertion_order = false" \
        "COPY (SELECT $cols FROM $src) TO '$compact_a' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1,
           PARTITION_BY (year, month, day, hour), FILENAME_PATTERN 'part-{i}')"
    w_compact=$secs
fi

# One account, one region, one day (the middle of the range).
acct=$(account $((ACCOUNTS / 2))) reg=${all_regions[$((REGIONS - 1))]}
qday=$(date -u -d "@$((day0 + DAYS / 2 * 86400))" +%Y-%m-%d)
y=${qday:0:4} m=${qday:5:2} d=${qday:8:2}
where="account_id = '$acct' AND region = '$reg' AND year = '$y' AND month = '$m' AND day = '$d'"
what="count(*) AS n, sum(bytes) AS bytes, count(DISTINCT srcaddr) AS src"
fl_sql="SELECT $what FROM vpc_flow_logs.flow_logs WHERE $where"
duck_sql() { # ARCHIVE GLOB [MORE HIVE TYPES]
    echo "SELECT $what FROM read_parquet('$1/$2', $hive${3:-}}) WHERE $where"
}
q_time=$(duck_sql "$time_a" 'year=*/month=*/day=*/hour=*/*.parquet')
q_levels=$(duck_sql "$levels_a" 'account_id=*/region=*/year=*/month=*/day=*/hour=*/*.parquet' \
           ", 'account_id': VARCHAR, 'region': VARCHAR")
q_compact=$(duck_sql "$compact_a" 'year=*/month=*/day=*/hour=*/*.parquet')

fl_run()   { "$FL" query --archive "$time_a" --output csv "$1" | tail -n +2; }
duck_run() { "$SQLRUN" --threads "$THREADS" "$1" 2>/dev/null | tr '\t' ','; }
want=$(fl_run "$fl_sql")
for q in "$q_time" "$q_levels" "$q_compact"; do
    got=$(duck_run "$q")
    if [ "$got" != "$want" ]; then
        echo "MISMATCH: '$got' != flowlake's '$want' for: $q; no figures reported"
        exit 1
    fi
done
echo "query: one account ($acct), one region ($reg), one day ($qday): n, bytes, distinct srcaddr = $want on every side"

files_read() {
    awk '{gsub(/[│]/, "")}
         pending { n += $1; pending = 0 }
         /Total Files Read:/ { if ($4 != "") n += $4; else pending = 1 }
         END { print n + 0 }'
}
median() { # CMD... : warm median wall seconds of RUNS runs
    local t0 t1 times=()
    "$@" >/dev/null
    for _ in $(seq 1 "$RUNS"); do
        t0=$(now); "$@" >/dev/null; t1=$(now)
        times+=("$(echo "$t1 - $t0" | bc -l)")
    done
    printf '%s\n' "${times[@]}" | sort -g | awk '{v[NR] = $1} END {printf "%.3f", v[int((NR + 1) / 2)]}'
}

printf '%-44s | %8s %6s %11s %7s | %8s %10s\n' "archive (writer)" "write s" "files" "partitions" "MB" "query s" "files read"
row() { # LABEL WRITE_S ARCHIVE QUERY_S FILES_READ
    printf '%-44s | %8s %6s %11s %7s | %8s %10s\n' "$1" "$(fmt2 "$2")" "$(files "$3")" "$(parts "$3")" "$(mb "$3")" "$4" "$5"
}
row "time (flowlake convert), flowlake query" "$w_time" "$time_a" \
    "$(median fl_run "$fl_sql")" "$("$FL" query --archive "$time_a" "EXPLAIN ANALYZE $fl_sql" | files_read)"
row "time (flowlake convert), DuckDB glob" "$w_time" "$time_a" \
    "$(median duck_run "$q_time")" "$("$SQLRUN" "EXPLAIN ANALYZE $q_time" 2>/dev/null | files_read)"
row "levels (DuckDB COPY), DuckDB glob" "$w_levels" "$levels_a" \
    "$(median duck_run "$q_levels")" "$("$SQLRUN" "EXPLAIN ANALYZE $q_levels" 2>/dev/null | files_read)"
row "compact (DuckDB COPY), DuckDB glob" "$w_compact" "$compact_a" \
    "$(median duck_run "$q_compact")" "$("$SQLRUN" "EXPLAIN ANALYZE $q_compact" 2>/dev/null | files_read)"
echo "(write s: flowlake convert from the .log.gz bucket; the two DuckDB COPYs from the time archive's Parquet)"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
