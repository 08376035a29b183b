# Sourced, after lib.sh, by the integration tests that consume Kafka: the
# mock cluster, producing into it, and what the archive must hold.
# The mock cluster is test scaffolding, not what is tested: the plain
# build's when there is one (a ThreadSanitizer build of it crashes inside
# the uninstrumented librdkafka), else the one of $BUILD.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MOCK=${MOCK:-$root/build/tools/kafka_mock}
[ -x "$MOCK" ] || MOCK=$root/${BUILD:-build}/tools/kafka_mock
cd "$TMP" || exit 1

# start_mock NAME TOPIC PARTITIONS: the cluster, fed commands through the
# fifo NAME.ctl; sets BROKERS.
start_mock() {
    mkfifo "$1.ctl"
    "$MOCK" "$2" "$3" <"$1.ctl" >"$1.out" 2>"$1.err" &
    exec {ctl}>"$1.ctl"
    eval "CTL_$1=$ctl"
    for _ in $(seq 1 100); do grep -q '^bootstrap' "$1.out" && break; sleep 0.05; done
    BROKERS=$(sed -n 's/^bootstrap //p' "$1.out")
}
# produce NAME FILE: every line of FILE a message; waits for the acks.
produce() {
    local fd n before
    fd=$(eval echo "\$CTL_$1")
    before=$(grep -c '^produced' "$1.out")
    echo "produce $PWD/$2" >&"$fd"
    for _ in $(seq 1 600); do
        n=$(grep -c '^produced' "$1.out")
        [ "$n" -gt "$before" ] && return 0
        sleep 0.05
    done
    return 1
}
# mock_cmd NAME COMMAND ANSWER: a command to the cluster; waits for its answer.
mock_cmd() {
    local fd
    fd=$(eval echo "\$CTL_$1")
    echo "$2" >&"$fd"
    for _ in $(seq 1 100); do grep -q "^$3" "$1.out" && return 0; sleep 0.05; done
    return 1
}
rows="SELECT count(*), sum(hash(account_id, interface_id, srcaddr, dstaddr, srcport, dstport, protocol, packets, bytes, start, \"end\", action))::VARCHAR FROM flow_logs"
# truth N FILE...: count and row hash of the lines through `convert`.
truth() {
    local n=$1; shift
    "$FLOWLAKE" convert --quiet --archive "truth-$n" "$@" >/dev/null 2>&1
    "$FLOWLAKE" query --archive "truth-$n" --output csv "$rows" | tail -n 1
}
query() { curl -s -X POST --data-binary "$1" "$URL/api/query?format=csv" | tail -n 1; }
# wait_count N: until the running server's view holds N records.
wait_count() {
    for _ in $(seq 1 $((400 * ${FL_TEST_TIMEOUT_MULTIPLIER:-1}))); do
        [ "$(query 'SELECT count(*) FROM flow_logs')" = "$1" ] && return 0
        sleep 0.05
    done
    return 1
}
