#!/usr/bin/env bash
# What does a query over records still in the server's buffer cost, and
# does it follow what the query selects? LIVE records (default 2 M) over
# the last day are posted in requests of 50,000 (one buffered block each)
# to a `flowlake serve` that publishes nothing meanwhile; then, through
# POST /api/query (`flowlake query --server`), warm medians of:
#   SELECT 1 (touches no block), a full count, one hour by its folders,
#   the same hour by start, the same hour written so that nothing prunes
#   (the folder names glued together), and a day no block holds.
# Printed per query: wall seconds of the whole command and the server's
# own CPU milliseconds for it (utime + stime from /proc/PID/stat; the
# query's worker process is not the server's), and the ratio to the full
# count. FL_BASE=path measures another build in the same run, side by
# side (each query alternates between the two servers), with the ratio
# base / this build.
#
# usage: bench/run_buffer_query.sh [LIVE_RECORDS] [RUNS]   (2000000, 5)
set -euo pipefail
cd "$(dirname "$0")/.."
LIVE=${1:-2000000}
RUNS=${2:-5}
make -s -j2 flowlake
FL=${FL:-$PWD/flowlake}
BASE=${FL_BASE:-}
out=bench/out/buffer-query
rm -rf "$out"; mkdir -p "$out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

end=$(( $(date -u +%s) / 3600 * 3600 ))
"$FL" generate --seed 7 --records "$LIVE" --start $((end - 86400)) --span 1d -o "$out/live.log"
(cd "$out" && split -l 50000 -d -a 4 live.log part-)
h0=$((end - 6 * 3600))
ts() { date -u -d "@$1" '+%Y-%m-%d %H:%M:%S'; }
Y=$(date -u -d "@$h0" +%Y) M=$(date -u -d "@$h0" +%m) D=$(date -u -d "@$h0" +%d) H=$(date -u -d "@$h0" +%H)
agg="count(*) AS n, sum(bytes) AS b"
names=("SELECT 1" "full count" "one hour by year/month/day/hour" "one hour by start"
       "one hour, not prunable (glued names)" "a day no block holds")
sqls=("SELECT 1"
      "SELECT $agg FROM flow_logs"
      "SELECT $agg FROM flow_logs WHERE year = '$Y' AND month = '$M' AND day = '$D' AND hour = '$H'"
      "SELECT $agg FROM flow_logs WHERE start >= TIMESTAMP '$(ts $h0)' AND start < TIMESTAMP '$(ts $((h0 + 3600)))'"
      "SELECT $agg FROM flow_logs WHERE year || month || day || hour = '$Y$M$D$H'"
      "SELECT $agg FROM flow_logs WHERE date = DATE '2001-01-01'")

# start_server NAME BINARY: a server on a free port, its buffer filled.
declare -A URL PID
start_server() {
    local name=$1 bin=$2 dir="$out/$1"
    mkdir -p "$dir"
    "$bin" serve --listen 127.0.0.1:0 --archive "$dir/archive" --set archive.buffer_interval=1h \
        --set archive.buffer_size=16GiB --set query.timeout=600s >"$dir/serve.out" 2>"$dir/serve.err" &
    PID[$name]=$!
    for _ in $(seq 1 200); do grep -q 'listening on' "$dir/serve.out" 2>/dev/null && break; sleep 0.05; done
    URL[$name]=http://127.0.0.1:$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\),.*/\1/p' "$dir/serve.out")
    for f in "$out"/part-*; do curl -sf --data-binary @"$f" "${URL[$name]}/ingest" >/dev/null; done
}
stop_servers() { for n in "${!PID[@]}"; do kill -TERM "${PID[$n]}" 2>/dev/null || true; wait "${PID[$n]}" 2>/dev/null || true; done; }
trap stop_servers EXIT

servers=(new)
start_server new "$FL"
if [ -n "$BASE" ]; then start_server base "$BASE"; servers=(base new); fi

cpu_ms() { awk '{print ($14 + $15) * 10}' "/proc/$1/stat"; }
run() { "$FL" query --server "${URL[$1]}" --output csv "$2" | tail -n +2; }

# The answers first: every query the same on every server, and the
# pruned hour the same as the unprunable one.
for i in "${!sqls[@]}"; do
    want=$(run new "${sqls[$i]}")
    for s in "${servers[@]}"; do
        got=$(run "$s" "${sqls[$i]}")
        [ "$got" = "$want" ] || { echo "MISMATCH on '${names[$i]}' ($s): '$got' vs '$want'; no figures reported"; exit 1; }
    done
done
[ "$(run new "${sqls[2]}")" = "$(run new "${sqls[4]}")" ] && [ "$(run new "${sqls[2]}")" = "$(run new "${sqls[3]}")" ] \
    || { echo "MISMATCH between the pruned and unpruned hour; no figures reported"; exit 1; }
echo "buffered: $(run new "SELECT count(*) FROM flow_logs") records in $(ls "$out"/part-* | wc -l) blocks, none published; one hour holds $(run new "${sqls[2]}" | cut -d, -f1)"

median() { sort -g | awk '{v[NR] = $1} END {printf "%.3f", v[int((NR + 1) / 2)]}'; }
declare -A WALL CPU
for i in "${!sqls[@]}"; do
    declare -A walls=() cpus=()
    for s in "${servers[@]}"; do run "$s" "${sqls[$i]}" >/dev/null; done     # warm
    for _ in $(seq 1 "$RUNS"); do
        for s in "${servers[@]}"; do
            c0=$(cpu_ms "${PID[$s]}"); t0=$(date +%s.%N)
            run "$s" "${sqls[$i]}" >/dev/null
            t1=$(date +%s.%N); c1=$(cpu_ms "${PID[$s]}")
            walls[$s]+="$(echo "$t1 - $t0" | bc -l) "
            cpus[$s]+="$((c1 - c0)) "
        done
    done
    for s in "${servers[@]}"; do
        WALL[$s,$i]=$(tr ' ' '\n' <<<"${walls[$s]}" | grep . | median)
        CPU[$s,$i]=$(tr ' ' '\n' <<<"${cpus[$s]}" | grep . | median)
    done
    unset walls cpus
done

echo "POST /api/query over the buffer: warm medians of $RUNS runs; server CPU in ms (10 ms ticks)"
if [ -n "$BASE" ]; then
    printf '%-38s | %8s %8s %9s | %8s %8s %9s | %9s\n' "query" "base s" "cpu ms" "vs count" "new s" "cpu ms" "vs count" "base/new"
else
    printf '%-38s | %8s %8s %9s\n' "query" "s" "cpu ms" "vs count"
fi
for i in "${!sqls[@]}"; do
    line=$(printf '%-38s' "${names[$i]}")
    for s in "${servers[@]}"; do
        line+=$(printf ' | %8s %8.0f %9.2f' "${WALL[$s,$i]}" "${CPU[$s,$i]}" "$(echo "${WALL[$s,$i]} / ${WALL[$s,1]}" | bc -l)")
    done
    [ -n "$BASE" ] && line+=$(printf ' | %9.2f' "$(echo "${WALL[base,$i]} / ${WALL[new,$i]}" | bc -l)")
    echo "$line"
done
for s in "${servers[@]}"; do echo "$s server VmRSS: $(awk '/VmRSS/ {print $2, $3}' "/proc/${PID[$s]}/status")"; done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
