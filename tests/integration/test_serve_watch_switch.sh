#!/usr/bin/env bash
# A watched file that switches format mid-file (concatenated S3 objects of
# different custom formats: a header line naming other fields): the lines
# after the header are in its format, and so are lines appended after a
# restart -- the governing header's offset is kept in tail.db (version 2;
# docs/serve.md) -- and after a crash between the write-ahead log and the
# journal. A .log.gz file switches too. Every row exactly once, each with
# its fields; the headers are neither records nor rejections.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
A=$TMP/archive
W=$TMP/logs
mkdir -p "$W"

start() { start_server --watch "$W" --set watch.interval=1s --set archive.buffer_interval=1h; }
sq() { "$FLOWLAKE" query --server "$URL" --output csv "$1"; }
q() { "$FLOWLAKE" query --archive "$A" --output csv "$1"; }
count() { sq "SELECT count(*) FROM flow_logs WHERE srcaddr LIKE '$1'" | tail -1; }
wait_count() {   # wait_count LIKE N: until N records match (20 s max)
    local end=$((SECONDS + 20))
    while [ $SECONDS -lt $end ]; do [ "$(count "$1")" = "$2" ] && return 0; sleep 0.1; done
    return 1
}
dflt() { echo "2 $1 eni-$2 $3 10.9.0.1 40000 443 6 1 100 1714521600 1714521660 ACCEPT OK"; }
H1="version srcaddr dstaddr start end action"
c1() { echo "2 $1 $2 1714521600 1714521660 $3"; }
H0="version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
COLS="version, account_id, interface_id, srcaddr, dstaddr, srcport, dstport, action, log_status"
rows() { sq "SELECT $COLS FROM flow_logs WHERE srcaddr LIKE '$1' ORDER BY srcaddr"; }
D="2,111111111111,eni-a"   # the fields a default line of dflt 111111111111 a has
HEAD="version,account_id,interface_id,srcaddr,dstaddr,srcport,dstport,action,log_status"

start

# a.log: default lines, then a custom header and custom lines.
{ dflt 111111111111 a 10.0.1.1; dflt 111111111111 a 10.0.1.2; echo "$H1"; c1 10.0.1.3 10.8.0.3 REJECT; } > "$W/a.log"
# b.log: a custom header first, then the default header and default lines.
{ echo "$H1"; c1 10.0.2.1 10.8.0.1 ACCEPT; echo "$H0"; dflt 111111111111 a 10.0.2.2; } > "$W/b.log"
wait_count '10.0.%' 5 || fail "the two files were not taken" "$(count '10.0.%')"
expect_eq "a.log: default lines, then the custom format" "$(rows '10.0.1.%')" "$HEAD
$D,10.0.1.1,10.9.0.1,40000,443,ACCEPT,OK
$D,10.0.1.2,10.9.0.1,40000,443,ACCEPT,OK
2,,,10.0.1.3,10.8.0.3,,,REJECT,"
expect_eq "b.log: the custom format, then the default one" "$(rows '10.0.2.%')" "$HEAD
2,,,10.0.2.1,10.8.0.1,,,ACCEPT,
$D,10.0.2.2,10.9.0.1,40000,443,ACCEPT,OK"

# Appends while the server runs go on in the switched format.
c1 10.0.1.4 10.8.0.4 ACCEPT >> "$W/a.log"
wait_count '10.0.1.%' 4 || fail "a.log: the appended line was not taken" "$(count '10.0.1.%')"
expect_eq "a.log: an appended line is in the switched format" "$(rows '10.0.1.4')" "$HEAD
2,,,10.0.1.4,10.8.0.4,,,ACCEPT,"

# A restart: lines appended after it are in the switched format (not the
# first line's, nor the default).
kill -TERM "$PID"; wait "$PID"
expect_contains "tail.db is version 2" "$(head -1 "$A/_flowlake/tail.db")" "flowlake-tail 2"
c1 10.0.1.5 10.8.0.5 ACCEPT >> "$W/a.log"
dflt 111111111111 a 10.0.2.3 >> "$W/b.log"
start
wait_count '10.0.%' 8 || fail "after the restart: the appended lines were not taken" "$(count '10.0.%')"
expect_eq "after a restart, a.log goes on in its switched format" "$(rows '10.0.1.5')" "$HEAD
2,,,10.0.1.5,10.8.0.5,,,ACCEPT,"
expect_eq "after a restart, b.log goes on in its switched format" "$(rows '10.0.2.3')" "$HEAD
$D,10.0.2.3,10.9.0.1,40000,443,ACCEPT,OK"
sleep 2
expect_eq "after a restart: every row once" "$(count '10.0.%')" 8

# A crash after the write-ahead log, before the journal records the new
# offset (and header): the restart takes the pending piece as in, with
# the header it switched to.
kill -TERM "$PID"; wait "$PID"
{ dflt 111111111111 a 10.0.3.1; echo "$H1"; c1 10.0.3.2 10.8.0.2 ACCEPT; } > "$W/c.log"
FLOWLAKE_TEST_WATCH_CRASH=after-wal start
for _ in $(seq 1 150); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
wait "$PID"; st=$?
expect_status "crash after the write-ahead log: the server died there" 99 $st
c1 10.0.3.3 10.8.0.3 REJECT >> "$W/c.log"
start
wait_count '10.0.3.%' 3 || fail "c.log: not all taken after the crash" "$(count '10.0.3.%')"
expect_eq "after the crash, c.log goes on in its switched format, each row once" "$(rows '10.0.3.%')" "$HEAD
$D,10.0.3.1,10.9.0.1,40000,443,ACCEPT,OK
2,,,10.0.3.2,10.8.0.2,,,ACCEPT,
2,,,10.0.3.3,10.8.0.3,,,REJECT,"

# A .log.gz whole file with a switch.
{ dflt 111111111111 a 10.0.4.1; echo "$H1"; c1 10.0.4.2 10.8.0.2 ACCEPT; echo "$H1"; c1 10.0.4.3 10.8.0.3 ACCEPT; } | gzip -c > "$TMP/d.log.gz"
mv "$TMP/d.log.gz" "$W/d.log.gz"
wait_count '10.0.4.%' 3 || fail "d.log.gz: not taken" "$(count '10.0.4.%')"
expect_eq "a .log.gz file switches too (a repeated header is skipped)" "$(rows '10.0.4.%')" "$HEAD
$D,10.0.4.1,10.9.0.1,40000,443,ACCEPT,OK
2,,,10.0.4.2,10.8.0.2,,,ACCEPT,
2,,,10.0.4.3,10.8.0.3,,,ACCEPT,"

expect_eq "no line rejected (headers are not records)" "$(cat "$A"/_errors/serve-*.jsonl 2>/dev/null)" ""
# SIGTERM publishes: the same rows, once, in the Parquet files.
BEFORE=$(rows '10.0.%')
kill -TERM "$PID"; wait "$PID"; st=$?
expect_status "SIGTERM exits 0" 0 $st
expect_eq "published Parquet: the same rows, each once" \
    "$(q "SELECT $COLS FROM flow_logs WHERE srcaddr LIKE '10.0.%' ORDER BY srcaddr")" "$BEFORE"
expect_eq "published: 14 rows" "$(q "SELECT count(*) FROM flow_logs" | tail -1)" 14
finish
