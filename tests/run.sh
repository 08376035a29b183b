#!/usr/bin/env bash
# The test runner behind `make check`: runs every unit-test binary, every
# integration script (tests/integration/*.sh) and the fuzz-corpus replays,
# then prints one summary line "N passed, N failed" over all of them.
# Usage: tests/run.sh [all|unit|integration|fuzz] (`make unit` etc.: one
# kind only; checksrc runs with every kind).
# Environment: BUILD (build folder), FLOWLAKE (binary under test).
set -u
kind=${1:-all}
case "$kind" in
    all|unit|integration|fuzz) ;;
    *) echo "usage: tests/run.sh [all|unit|integration|fuzz]" >&2; exit 2 ;;
esac
want() { [ "$kind" = all ] || [ "$kind" = "$1" ]; }
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
BUILD=${BUILD:-build}
export FLOWLAKE=${FLOWLAKE:-$here/flowlake}
passed=0 failed=0 failed_names=()
ran_unit=0 ran_integration=0 ran_fuzz=0   # programs run, by kind

count() {   # count NAME LOGFILE STATUS
    local p f
    read -r p f < <(awk '/^[0-9]+ passed, [0-9]+ failed$/ {p=$1; f=$3} END {print p+0, f+0}' "$2")
    if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed before its summary
    passed=$((passed + p)); failed=$((failed + f))
    [ "$f" -ne 0 ] && failed_names+=("$1")
}

log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "$BUILD"/tests/test_*; do
    want unit && [ -x "$t" ] || continue
    echo "== $(basename "$t")"
    ran_unit=$((ran_unit + 1))
    "$t" >"$log" 2>&1; st=$?
    grep -v '^ok ' "$log"
    count "$(basename "$t")" "$log" $st
done
for t in tests/integration/test_*.sh; do
    want integration && [ -f "$t" ] || continue
    echo "== $(basename "$t")"
    ran_integration=$((ran_integration + 1))
    bash "$t" >"$log" 2>&1; st=$?
    grep -v '^ok ' "$log"
    count "$(basename "$t")" "$log" $st
done
for r in "$BUILD"/fuzz/*-replay; do
    want fuzz && [ -x "$r" ] || continue
    name=$(basename "$r" -replay)
    echo "== fuzz corpus $name"
    ran_fuzz=$((ran_fuzz + 1))
    "$r" "fuzz/corpus/$name" >"$log" 2>&1; st=$?
    cat "$log"
    count "$name" "$log" $st
done
echo "== checksrc"
scripts/checksrc.sh >"$log" 2>&1; st=$?
grep -v '^ok ' "$log"
count checksrc "$log" $st
# A kind asked for that ran nothing (no test binary built in $BUILD, no
# script found) is a failure, not a silent "0 failed".
for k in unit integration fuzz; do
    want "$k" || continue
    n=ran_$k
    if [ "${!n}" -eq 0 ]; then
        echo "no $k test ran (BUILD=$BUILD): build them first (make $k)"
        failed=$((failed + 1)); failed_names+=("$k")
    fi
done
if [ ${#failed_names[@]} -gt 0 ]; then
    echo "failing: ${failed_names[*]}"
fi
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
