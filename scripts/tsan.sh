#!/usr/bin/env bash
# Runs integration tests against the ThreadSanitizer build (`make tsan`,
# build-tsan/flowlake), then prints every TSan report they produced.
# Usage: scripts/tsan.sh [test_NAME.sh ...]   (default: the server tests below)
# Reports go to files (TSAN_OPTIONS log_path), not to the server's stderr,
# so tests that read serve.err are not disturbed; the folder is printed and
# kept. Exit status: 0 when every test passed and TSan reported nothing.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ ! -x build-tsan/flowlake ]; then
    echo "scripts/tsan.sh: build-tsan/flowlake is missing: run make tsan" >&2
    exit 2
fi
[ $# -gt 0 ] || set -- test_serve.sh test_serve_limits.sh test_metrics_api.sh test_serve_query.sh
logdir=${TSAN_LOG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/flowlake-tsan.XXXXXX")}
mkdir -p "$logdir"
export BUILD=build-tsan FLOWLAKE=$root/build-tsan/flowlake
# TSan slows the server down several times: give the tests' waits room.
export FL_TEST_TIMEOUT_MULTIPLIER=${FL_TEST_TIMEOUT_MULTIPLIER:-4}
export TSAN_OPTIONS="suppressions=$root/tests/tsan.supp:log_path=$logdir/tsan:second_deadlock_stack=1:history_size=4${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
failed=()
for t in "$@"; do
    t=tests/integration/$(basename "$t")
    echo "== $(basename "$t")"
    if bash "$t" >"$logdir/$(basename "$t" .sh).out" 2>&1; then
        tail -n 1 "$logdir/$(basename "$t" .sh).out"
    else
        grep -v '^ok ' "$logdir/$(basename "$t" .sh).out"
        failed+=("$(basename "$t")")
    fi
done
reports=$(cat "$logdir"/tsan.* 2>/dev/null | grep -c '^WARNING: ThreadSanitizer' || true)
echo "TSan: $reports report(s) in $logdir/tsan.*"
cat "$logdir"/tsan.* 2>/dev/null | grep '^SUMMARY: ThreadSanitizer' | sort | uniq -c | sort -rn
[ ${#failed[@]} -eq 0 ] || echo "failed: ${failed[*]}"
[ ${#failed[@]} -eq 0 ] && [ "$reports" -eq 0 ]
