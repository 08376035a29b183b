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
# start_server ARGS...: `flowlake serve --listen 127.0.0.1:0 --archive "$A"
# ARGS...` in the background (stdout to serve.out, stderr appended to
# serve.err), waits until it listens (10 s times FL_TEST_TIMEOUT_MULTIPLIER:
# a sanitizer build starts slower) or exits; sets PID, PORT and URL.
start_server() {
    "$FLOWLAKE" serve --listen 127.0.0.1:0 --archive "$A" "$@" >serve.out 2>>serve.err &
    PID=$!
    for _ in $(seq 1 $((200 * ${FL_TEST_TIMEOUT_MULTIPLIER:-1}))); do
        grep -q 'listening on' serve.out 2>/dev/null && break
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.05
    done
    PORT=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\),.*/\1/p' serve.out)
    URL=http://127.0.0.1:$PORT
}
finish() {
    echo "${T_PASSED} passed, ${T_FAILED} failed"
    [ "$T_FAILED" -eq 0 ]
}
