#!/usr/bin/env bash
# flowlake compact and serve's compaction thread, as a user runs them: an
# archive of many small files per hour (one convert per piece, as a server
# publishing every few seconds leaves it) is compacted to one file per hour
# with every row kept exactly (a hash of all columns before and after);
# --dry-run changes nothing; --retention deletes whole hours and the folders
# they leave; the usage errors. Then a running server compacts by itself
# while queries run against it, and every query answers the full count.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

# ---- the command's usage ----------------------------------------------
"$FLOWLAKE" compact --help >help.txt 2>&1; st=$?
expect_status "compact --help exits 0" 0 $st
expect_contains "--help shows the usage" "$(head -n 1 help.txt)" "usage: flowlake compact"
"$FLOWLAKE" compact --bogus >out.txt 2>&1; st=$?
expect_status "an unknown option is a usage error" 2 $st
"$FLOWLAKE" compact --archive A --target-size lots >out.txt 2>&1; st=$?
expect_status "a bad size is a usage error" 2 $st
expect_contains "... naming the key" "$(cat out.txt)" "archive.target_file_size"

# ---- an archive of small files ------------------------------------------
# 12 pieces of 2,000 records over the same two hours of 2024-05-01: 12
# files in each hour folder.
for i in $(seq 1 12); do
    "$FLOWLAKE" generate --seed "$i" --records 2000 --start 2024-05-01 \
        --span 2h >"piece$i.log" 2>/dev/null
    "$FLOWLAKE" convert --quiet --archive A "piece$i.log" >/dev/null 2>&1
done
h0=A/year=2024/month=05/day=01/hour=00
h1=A/year=2024/month=05/day=01/hour=01
expect_eq "12 files in each hour before" "$(ls $h0 | wc -l) $(ls $h1 | wc -l)" "12 12"
rows="SELECT count(*), sum(hash(version, account_id, interface_id, srcaddr, dstaddr, srcport, dstport, protocol, packets, bytes, start, \"end\", action, log_status, source_file))::VARCHAR FROM flow_logs"
before=$("$FLOWLAKE" query --archive A --output csv "$rows" | tail -n 1)
case "$before" in 24000,*) ok "24,000 records before" ;; *) fail "24,000 records before" "$before" ;; esac

"$FLOWLAKE" compact --archive A --dry-run >out.txt 2>&1; st=$?
expect_status "--dry-run exits 0" 0 $st
expect_contains "--dry-run says what it would do" "$(cat out.txt)" "compact (dry run): 2 hours compacted, 24 files"
expect_eq "--dry-run changes nothing" "$(ls $h0 | wc -l) $(ls $h1 | wc -l)" "12 12"

"$FLOWLAKE" compact --archive A >out.txt 2>&1; st=$?
expect_status "compact exits 0" 0 $st
expect_contains "it reports the merge" "$(cat out.txt)" "compact: 2 hours compacted, 24 files -> 2"
expect_contains "... and the records" "$(cat out.txt)" "24000 records"
expect_eq "one file in each hour after" "$(ls $h0 | wc -l) $(ls $h1 | wc -l)" "1 1"
after=$("$FLOWLAKE" query --archive A --output csv "$rows" | tail -n 1)
expect_eq "every row kept exactly" "$after" "$before"
expect_eq "the files are sorted by start" \
    "$("$FLOWLAKE" query --archive A --output csv "SELECT count(*) FROM (SELECT start, lag(start) OVER () AS p FROM read_parquet('$h0/*.parquet')) WHERE start < p" | tail -n 1)" "0"
expect_eq "the replaced folders wait in _flowlake/retired" "$(ls A/_flowlake/retired | wc -l)" "2"

"$FLOWLAKE" compact --archive A >out.txt 2>&1
expect_contains "a second pass finds nothing to do" "$(cat out.txt)" "compact: 0 hours compacted"
"$FLOWLAKE" compact --archive A --grace 0s >out.txt 2>&1
expect_contains "--grace 0s removes the retired folders" "$(cat out.txt)" "2 retired folders removed"
expect_eq "... and they are gone" "$(ls A/_flowlake/retired | wc -l)" "0"

# ---- retention ----------------------------------------------------------
"$FLOWLAKE" compact --archive A --retention 1d >out.txt 2>&1; st=$?
expect_status "compact --retention exits 0" 0 $st
expect_contains "hours past retention expire" "$(cat out.txt)" "2 hours expired (2 files"
expect_eq "the year folder left empty is gone" "$(ls A | grep -c '^year=')" "0"
expect_eq "nothing is left to query" \
    "$("$FLOWLAKE" query --archive A --output csv 'SELECT count(*) FROM flow_logs' | tail -n 1)" "0"

# ---- the server compacts by itself ---------------------------------------
# Records of an old hour, one file per publish (every second); the
# compaction thread runs every second on hours that ended any time ago.
A=S
start_server --set archive.buffer_interval=1s --set archive.compact_interval=1s \
    --set archive.compact_after=0s
if [ -z "$PORT" ]; then
    fail "serve starts" "$(cat serve.err)"
    finish
    exit 1
fi
total=0
for i in $(seq 1 6); do
    "$FLOWLAKE" generate --seed "$((100 + i))" --records 500 --start 2024-05-01 \
        --span 1h >"req$i.log" 2>/dev/null
    curl -s -o /dev/null -X POST --data-binary @"req$i.log" "$URL/ingest"
    total=$((total + 500))
    sleep 1.2
done
# Queries all along: each must see every record once.
bad=0
for _ in $(seq 1 40); do
    n=$(curl -s -X POST --data-binary "SELECT count(*) AS n FROM flow_logs" \
        "$URL/api/query?format=csv" | tail -n 1)
    [ "$n" = "$total" ] || bad=$((bad + 1))
    files=$(ls S/year=2024/month=05/day=01/hour=00 2>/dev/null | wc -l)
    [ "$files" = 1 ] && break
    sleep 0.25
done
expect_eq "the server compacted the hour to one file" "$files" "1"
expect_eq "every query during compaction counted every record once" "$bad" "0"
status=$(curl -s "$URL/api/status")
expect_contains "GET /api/status shows the compaction" "$status" '"compaction":{"interval_seconds":1,'
case "$status" in *'"hours_compacted":0,'*) fail "status counts the hours compacted" "$status" ;; *) ok "status counts the hours compacted" ;; esac
expect_contains "the server logs the compaction" "$(cat serve.err)" "hour compacted"
kill -TERM "$PID"; wait "$PID"; st=$?
expect_status "the server stops cleanly" 0 $st
expect_eq "after the stop, every record is in the archive once" \
    "$("$FLOWLAKE" query --archive S --output csv 'SELECT count(*) FROM flow_logs' | tail -n 1)" "$total"
finish
