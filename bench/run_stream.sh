#!/usr/bin/env bash
# The stream-engine benchmark: bench_stream on one core --
# the two default metrics (checked against DuckDB GROUP BY on the same
# records), eight user metrics one by one, all ten together, and memory
# per group with a million groups (then bounded by max_groups).
#
# usage: bench/run_stream.sh [RECORDS] [ROUNDS]   (default 5000000 3)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000000}
ROUNDS=${2:-3}
BUILD=${BUILD:-build}
make -s -j2 BUILD="$BUILD" "$BUILD/bench/bench_stream"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BUILD/bench/bench_stream" --records "$N" --rounds "$ROUNDS"
