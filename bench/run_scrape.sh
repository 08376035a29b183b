#!/usr/bin/env bash
# GET /metrics under load, bounded and unbounded side by side: two servers
# with the example metrics file (docs/examples/metrics.sql: per-port,
# per-source and per-destination series) fed by --demo=RATE for SECONDS,
# one with the default metrics.prometheus_max_series (2000), one with the
# bound lifted (what a scrape cost before the bound). For each: samples
# per scrape, bytes, scrape time p50/max over 20 scrapes (curl's
# time_total), and the server's CPU per scrape (its CPU over the 20
# scrapes minus its CPU over as long without: the demo keeps ingesting).
# Target: under 100 ms.
#
# usage: bench/run_scrape.sh [SECONDS] [RATE]   (default 60 2000)
#        FL=/path/to/other/flowlake bench/run_scrape.sh   (another build)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_RUN=${1:-60}
RATE=${2:-2000}
make -s -j2 flowlake
FL=${FL:-./flowlake}
W=$(mktemp -d)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
start() {   # start NAME MAX_SERIES -> URL in $W/NAME.url
    "$FL" serve --listen 127.0.0.1:0 --archive "$W/$1" --demo="$RATE" \
        --set metrics.file=docs/examples/metrics.sql \
        --set metrics.prometheus_max_series="$2" >"$W/$1.out" 2>"$W/$1.err" &
    PIDS+=($!)
    echo $! > "$W/$1.pid"
    for _ in $(seq 1 200); do grep -q 'listening on' "$W/$1.out" 2>/dev/null && break; sleep 0.05; done
    sed -n 's/.*listening on \(http:[^,]*\),.*/\1/p' "$W/$1.out" > "$W/$1.url"
}
start bounded 2000
start unbounded 10000000
echo "machine: $(nproc) cores; two servers, each with --demo=$RATE and docs/examples/metrics.sql, for $SECONDS_RUN s"
sleep "$SECONDS_RUN"
cpu() { awk '{print $14 + $15}' "/proc/$(cat "$W/$1.pid")/stat"; }
for name in bounded unbounded; do
    url=$(cat "$W/$name.url")
    kill -STOP "$(cat "$W/$( [ $name = bounded ] && echo unbounded || echo bounded ).pid")"
    # The server keeps ingesting its demo traffic meanwhile: its CPU over
    # as long without scrapes is taken off.
    t0=$(date +%s.%N); c0=$(cpu $name)
    for _ in $(seq 1 20); do
        curl -s -o "$W/scrape" -w '%{time_total}\n' "$url/metrics"
    done | sort -n > "$W/times"
    c1=$(cpu $name); t1=$(date +%s.%N)
    sleep "$(echo "$t0 $t1" | awk '{print $2-$1}')"
    c2=$(cpu $name)
    kill -CONT "$(cat "$W/$( [ $name = bounded ] && echo unbounded || echo bounded ).pid")"
    samples=$(grep -vc '^#' "$W/scrape")
    bytes=$(stat -c %s "$W/scrape")
    printf '%-9s max_series %-8s: %7d samples, %8d bytes, scrape p50 %.1f ms, max %.1f ms, server CPU %.1f ms per scrape\n' \
        "$name" "$( [ $name = bounded ] && echo 2000 || echo none)" "$samples" "$bytes" \
        "$(awk 'NR==10 {print $1*1000}' "$W/times")" "$(tail -1 "$W/times" | awk '{print $1*1000}')" \
        "$(echo "$c0 $c1 $c2" | awk '{d=($2-$1)-($3-$2); if (d<0) d=0; print d*10/20}')"
done
