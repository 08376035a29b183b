#!/usr/bin/env bash
# The README's test command: installs dependencies, builds, and runs the
# whole test suite twice -- a normal -O2 build and an ASan+UBSan build --
# then prints one total line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --test || exit 1
jobs=$(nproc 2>/dev/null || echo 2)

total_p=0 total_f=0
run_suite() {   # run_suite LABEL MAKE-ARGS...
    local label=$1; shift
    echo "=== $label"
    local log; log=$(mktemp)
    make -j"$jobs" "$@" all >/dev/null || { echo "build failed ($label)"; total_f=$((total_f + 1)); return; }
    make "$@" check 2>&1 | tee "$log"
    local p f
    read -r p f < <(awk '/^[0-9]+ passed, [0-9]+ failed$/ {p=$1; f=$3} END {print p+0, f+0}' "$log")
    if [ "${PIPESTATUS[0]:-0}" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    total_p=$((total_p + p)); total_f=$((total_f + f))
    rm -f "$log"
}

run_suite "release build (-O2)"
# libduckdb is not instrumented; its own allocations are not ours to check.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
FL_TEST_TIMEOUT_MULTIPLIER=${FL_TEST_TIMEOUT_MULTIPLIER:-4} \
    run_suite "ASan+UBSan build" SANITIZE=address,undefined
echo "${total_p} passed, ${total_f} failed"
[ "$total_f" -eq 0 ]
