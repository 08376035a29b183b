# Sourced by the integration tests (tests/integration/test_*.sh): a temp dir,
# assertions that print "ok NAME" / "FAIL NAME", and the closing summary line.
# Each test script: `. "$(dirname "$0")/lib.sh"`, assertions, then `finish`.
set -u
FLOWLAKE=${FLOWLAKE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/flowlake}
T_PASSED=0
T_FAILED=0
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

ok()   { T_PASSED=$((T_PASSED + 1)); echo "ok   $1"; }
# A check this machine cannot run (said, not counted).
skip() { echo "SKIP $1: $2"; }
fail() { T_FAILED=$((T_FAILED + 1)); echo "FAIL $1"; shift; [ $# -gt 0 ] && printf '  %s\n' "$@"; return 0; }

# expect_eq NAME GOT WANT
expect_eq() {
    if [ "$2" == "$3" ]; then ok "$1"; else
        fail "$1"; printf '  got:\n%s\n  want:\n%s\n' "$2" "$3"; fi
}
# expect_contains NAME HAYSTACK NEEDLE
expect_contains() {
    case "$2" in *"$3"*) ok "$1" ;; *) fail "$1"; printf '  %s\n  does not contain: %s\n' "$2" "$3" ;; esac
}
# expect_status NAME WANT_STATUS GOT_STATUS
expect_status() {
    if [ "$3" -eq "$2" ]; then ok "$1"; else fail "$1" "exit status $3, want $2"; fi
}
finish() {
    echo "${T_PASSED} passed, ${T_FAILED} failed"
    [ "$T_FAILED" -eq 0 ]
}
