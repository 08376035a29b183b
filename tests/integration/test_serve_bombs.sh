#!/usr/bin/env bash
# Gzip bombs against the real server: a 2 MB body that would inflate to
# 2 GB is refused with 413 as it is inflated -- quickly, and with the
# server's peak memory (VmHWM) growing by a few MiB, not by
# server.max_decompressed -- on /ingest, on POST /firehose (Content-Encoding
# gzip and inside a record) and on POST /cwl; four at once likewise. Real
# gzip'd flow logs (several members, too) still go in.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
A=$TMP/archive
command -v curl >/dev/null || { echo "curl is required"; exit 1; }

post() {   # post PATH FILE [curl args] -> "STATUS BODY" (timestamps masked)
    local p=$1 f=$2; shift 2
    curl -s -o body.out -w '%{http_code}' --data-binary @"$f" "$@" "$URL$p" > code.out
    echo "$(cat code.out) $(sed -E 's/"timestamp":[0-9]+/"timestamp":T/' body.out)"
}
hwm_kb() { awk '/^VmHWM:/ {print $2}' /proc/"$PID"/status; }
now_ms() { date +%s%3N; }

# 100 MB of zeros is ~100 KB of gzip; twenty such members make a valid
# 2 MB stream that inflates to 2 GB.
head -c 100000000 /dev/zero | gzip -9 > one.gz
for _ in $(seq 1 20); do cat one.gz; done > bomb.gz
size=$(stat -c %s bomb.gz)
[ "$size" -gt 1900000 ] && [ "$size" -lt 2200000 ] && ok "bomb is ~2 MB" || fail "bomb is ~2 MB" "$size bytes"

# Under AddressSanitizer freed blocks wait in a quarantine (256 MB by
# default) that would count in VmHWM; keep it small so that the figure is
# the server's own. No effect on a normal build.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4" \
    start_server --set archive.buffer_interval=1h --set server.max_decompressed=512MiB
hwm0=$(hwm_kb)
t0=$(now_ms)
expect_contains "/ingest: 2 GB bomb is 413 for its ratio" \
    "$(post /ingest bomb.gz)" '413 {"error":"body: gzip data inflates to more than 100 times its compressed size ('
t1=$(now_ms)
[ $((t1 - t0)) -lt 2000 ] && ok "/ingest: refused within 2 s ($((t1 - t0)) ms)" \
    || fail "/ingest: refused within 2 s" "$((t1 - t0)) ms"

# Four at once.
pids=()
for i in 1 2 3 4; do
    curl -s -o par$i.out -w '%{http_code}' --data-binary @bomb.gz "$URL/ingest" > parcode$i.out &
    pids+=($!)
done
wait "${pids[@]}"
expect_eq "four bombs at once: all 413" "$(cat parcode1.out parcode2.out parcode3.out parcode4.out)" "413413413413"

# Firehose: the whole body gzip'd (Content-Encoding: gzip), and a bomb
# inside a record (gzip inside base64 inside JSON).
expect_contains "/firehose Content-Encoding gzip bomb is 413 in Firehose's shape" \
    "$(post /firehose bomb.gz -H 'X-Amz-Firehose-Request-Id: b-1' -H 'Content-Encoding: gzip')" \
    '413 {"requestId":"b-1","timestamp":T,"errorMessage":"gzip data inflates to more than 100 times its compressed size ('
printf '{"requestId":"b-2","timestamp":1714521600000,"records":[{"data":"%s"}]}' \
    "$(base64 -w0 one.gz)" > rec.json
# A record that does not decode is the record's error, not the request's:
# acknowledged, and the record goes to the errors folder.
expect_eq "/firehose: bomb inside a record: request acknowledged" \
    "$(post /firehose rec.json -H 'X-Amz-Firehose-Request-Id: b-2')" '200 {"requestId":"b-2","timestamp":T}'
expect_contains "/firehose: bomb inside a record is refused in the errors folder" \
    "$(cat "$A"/_errors/serve-*.jsonl)" \
    'records[0].data: gzip data inflates to more than 100 times its compressed size ('
expect_contains "/cwl: gzip bomb is 413" "$(post /cwl bomb.gz)" \
    'gzip data inflates to more than 100 times its compressed size ('
hwm1=$(hwm_kb)
grow=$(( (hwm1 - hwm0) / 1024 ))
[ "$grow" -lt 64 ] && ok "peak RSS grew by less than 64 MiB (${grow} MiB)" \
    || fail "peak RSS grew by less than 64 MiB" "${grow} MiB (VmHWM $hwm0 -> $hwm1 kB)"

# Real flow logs, gzip'd in two members, still go in.
"$FLOWLAKE" generate --records 20000 --seed 5 -o a.log
"$FLOWLAKE" generate --records 20000 --seed 6 -o b.log
{ gzip -c a.log; gzip -c b.log; } > two.gz
expect_eq "/ingest: two-member gzip of real flow logs is accepted" \
    "$(post /ingest two.gz)" '200 {"accepted":40000,"rejected":0}'
echo "generated flow logs compress $(( $(stat -c %s a.log) / $(gzip -c a.log | wc -c) ))x with gzip -6"
kill -TERM "$PID"; wait "$PID"

# A lower ratio ceiling refuses those too (past the 1 MiB floor).
start_server --set archive.buffer_interval=1h --set server.max_compression_ratio=2
expect_contains "server.max_compression_ratio=2 refuses 10x text" \
    "$(post /ingest two.gz)" '413 {"error":"body: gzip data inflates to more than 2 times its compressed size ('
kill -TERM "$PID"; wait "$PID"
finish
