#!/usr/bin/env bash
# Pruning: a query's filters on start, end, date and the partition columns
# read only the hour folders they can match (files read, from EXPLAIN
# ANALYZE), with exactly the rows of --no-prune; what must not prune reads
# everything; the 'yyyy/MM/dd' habit is refused; the Athena user guide's
# date habits work; the same through a running server, buffered rows
# included.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
A=$TMP/archive
q() { "$FLOWLAKE" query --archive "$A" --output csv "$@"; }
# files SQL [ARGS]: the files DuckDB read for SQL (summed over the scans).
files() {
    local sql=$1; shift
    "$FLOWLAKE" query --archive "$A" "$@" "EXPLAIN ANALYZE $sql" \
        | grep -o 'Total Files Read: [0-9]*' | awk '{n += $4} END {print n + 0}'
}
# same NAME SQL: the rows with pruning are those of --no-prune (and some).
same() {
    local got want
    got=$(q "$2"); want=$(q --no-prune "$2")
    if [ "$got" == "$want" ] && [ "$(printf '%s\n' "$got" | wc -l)" -gt 1 ]; then
        ok "$1"
    else
        fail "$1"; printf '  pruned:\n%s\n  --no-prune:\n%s\n' "$got" "$want"
    fi
}

# Seven records, one hour folder each: four around 2020-05-04 (a Monday),
# three near now (30 days, 3 days and half an hour ago).
now=$(date +%s)
d=1588550400        # 2020-05-04 00:00:00 UTC
{
echo "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
echo "2 111 eni-1 10.0.0.1 10.0.1.1 40000 443 6 10 1000 $((d + 600)) $((d + 660)) ACCEPT OK"
echo "2 111 eni-1 10.0.0.2 10.0.1.1 40001 22 6 20 2000 $((d + 3660)) $((d + 3720)) REJECT OK"
echo "2 111 eni-1 10.0.0.3 10.0.1.1 40002 443 6 30 3000 $((d + 86370)) $((d + 86430)) ACCEPT OK"
echo "2 111 eni-1 10.0.0.4 10.0.1.1 40003 80 6 40 4000 $((d + 93600)) $((d + 93660)) ACCEPT OK"
echo "2 111 eni-1 10.0.0.5 10.0.1.1 40004 80 6 50 5000 $((now - 2592000)) $((now - 2591940)) ACCEPT OK"
echo "2 111 eni-1 10.0.0.6 10.0.1.1 40005 80 6 60 6000 $((now - 259200)) $((now - 259140)) ACCEPT OK"
echo "2 111 eni-1 10.0.0.7 10.0.1.1 40006 80 6 70 7000 $((now - 1800)) $((now - 1740)) ACCEPT OK"
} > f.log
"$FLOWLAKE" convert --quiet --archive "$A" f.log >/dev/null 2>&1
expect_eq "seven hour folders" "$(find "$A" -name '*.parquet' | wc -l)" "7"

# ---- the Athena user guide's habits on the date column
expect_eq "date = DATE('2020-05-04'), day_of_week(date)" \
    "$(q "SELECT srcaddr, date, day_of_week(date) AS dow FROM flow_logs WHERE date = DATE('2020-05-04') ORDER BY srcaddr")" \
"srcaddr,date,dow
10.0.0.1,2020-05-04,1
10.0.0.2,2020-05-04,1
10.0.0.3,2020-05-04,1"
expect_eq "date = DATE('2020-05-04') reads that day's three files" \
    "$(files "SELECT count(*) FROM flow_logs WHERE date = DATE('2020-05-04')")" "3"
expect_eq "--no-prune reads all seven for it" \
    "$(files "SELECT count(*) FROM flow_logs WHERE date = DATE('2020-05-04')" --no-prune)" "7"
expect_eq "date > current_date - interval '7' day" \
    "$(q "SELECT srcaddr FROM flow_logs WHERE date > current_date - interval '7' day ORDER BY srcaddr")" \
"srcaddr
10.0.0.6
10.0.0.7"
expect_eq "... reads two files" \
    "$(files "SELECT srcaddr FROM flow_logs WHERE date > current_date - interval '7' day")" "2"
expect_eq "day_of_week(date) over every day" \
    "$(q "SELECT day_of_week(date) AS dow, count(*) AS n FROM flow_logs WHERE year = '2020' GROUP BY 1 ORDER BY 1")" \
"dow,n
1,3
2,1"

# ---- start: =, range, BETWEEN, the clock
s1="SELECT srcaddr FROM flow_logs WHERE start = TIMESTAMP '2020-05-04 01:01:00' ORDER BY srcaddr"
expect_eq "start = T" "$(q "$s1")" "srcaddr
10.0.0.2"
expect_eq "start = T reads one file" "$(files "$s1")" "1"
same "start = T: rows of --no-prune" "$s1"
s2="SELECT srcaddr FROM flow_logs WHERE start >= TIMESTAMP '2020-05-04 00:00:00' AND start < TIMESTAMP '2020-05-04 02:00:00' ORDER BY srcaddr"
expect_eq "start range" "$(q "$s2")" "srcaddr
10.0.0.1
10.0.0.2"
expect_eq "start range reads two files" "$(files "$s2")" "2"
same "start range: rows of --no-prune" "$s2"
s3="SELECT srcaddr FROM flow_logs WHERE start BETWEEN TIMESTAMP '2020-05-04 23:00:00' AND TIMESTAMP '2020-05-05 03:00:00' ORDER BY srcaddr"
expect_eq "start BETWEEN" "$(q "$s3")" "srcaddr
10.0.0.3
10.0.0.4"
expect_eq "start BETWEEN reads two files" "$(files "$s3")" "2"
same "start BETWEEN: rows of --no-prune" "$s3"
s4="SELECT srcaddr FROM flow_logs WHERE start >= current_timestamp - interval '1' hour"
expect_eq "start >= current_timestamp - interval '1' hour" "$(q "$s4")" "srcaddr
10.0.0.7"
expect_eq "... reads one file" "$(files "$s4")" "1"
s5="SELECT srcaddr FROM flow_logs WHERE start >= to_timestamp(1588550400) AND start < to_timestamp(1588554000)"
expect_eq "start >= to_timestamp(epoch seconds)" "$(q "$s5")" "srcaddr
10.0.0.1"
expect_eq "... reads one file" "$(files "$s5")" "1"

# ---- end: a record ends after it starts, within the flow-length margin
s6="SELECT srcaddr, start, \"end\" FROM flow_logs WHERE \"end\" >= TIMESTAMP '2020-05-05 00:00:00' AND \"end\" < TIMESTAMP '2020-05-05 00:01:00'"
expect_eq "end range: a flow that started the day before" "$(q "$s6")" "srcaddr,start,end
10.0.0.3,2020-05-04 23:59:30,2020-05-05 00:00:30"
expect_eq "end range reads the hour before too (one file)" "$(files "$s6")" "1"
same "end range: rows of --no-prune" "$s6"

# ---- partition columns
s7="SELECT srcaddr FROM flow_logs WHERE year = '2020' AND month = '05' AND day = '05'"
expect_eq "year/month/day" "$(q "$s7")" "srcaddr
10.0.0.4"
expect_eq "year/month/day reads one file" "$(files "$s7")" "1"
s8="SELECT srcaddr FROM flow_logs WHERE year = '2020' AND hour IN ('00', '01') ORDER BY srcaddr"
expect_eq "hour IN" "$(q "$s8")" "srcaddr
10.0.0.1
10.0.0.2"
expect_eq "hour IN reads two files" "$(files "$s8")" "2"
same "hour IN: rows of --no-prune" "$s8"
s9="SELECT count(*) AS n FROM flow_logs WHERE date BETWEEN DATE '2020-05-01' AND DATE '2020-05-31' AND hour >= '01'"
expect_eq "date BETWEEN and hour >=" "$(q "$s9")" "n
3"
expect_eq "... reads three files" "$(files "$s9")" "3"

# ---- the 'yyyy/MM/dd' habit is refused, with or without pruning
out=$(q "SELECT count(*) FROM flow_logs WHERE day >= '2026/11/01'" 2>&1); st=$?
expect_status "day >= 'yyyy/MM/dd' refused" 1 $st
expect_eq "... with a message that says what to write" "$out" \
"flowlake query: day is compared with '2026/11/01': the partition columns hold zero-padded numbers without '/' (year 'YYYY', month 'MM', day 'DD', hour 'HH'); for a day written 'yyyy/MM/dd' filter on the date column instead, e.g. date >= DATE '2026-11-01' rather than day >= '2026/11/01'"
out=$(q --no-prune "SELECT count(*) FROM flow_logs WHERE day >= '2026/11/01'" 2>&1); st=$?
expect_status "... also with --no-prune" 1 $st
expect_eq "the suggested rewrite runs" \
    "$(q "SELECT count(*) AS n FROM flow_logs WHERE date >= DATE '2026-11-01' AND date < current_date + 1")" "n
3"

# ---- what must not prune reads every file and gives the rows of --no-prune
j="SELECT a.srcaddr, b.dstport FROM flow_logs a JOIN flow_logs b ON a.srcaddr = b.srcaddr WHERE a.date = DATE '2020-05-04' ORDER BY 1"
same "self-join: rows of --no-prune" "$j"
expect_eq "self-join reads every file twice" "$(files "$j")" "14"
c="WITH flow_logs AS (SELECT * FROM vpc_flow_logs.flow_logs WHERE srcaddr IN ('10.0.0.1', '10.0.0.7')) SELECT srcaddr FROM flow_logs WHERE hour = '00' OR start > current_timestamp - interval '1' hour ORDER BY 1"
expect_eq "CTE named flow_logs" "$(q "$c")" "srcaddr
10.0.0.1
10.0.0.7"
same "CTE named flow_logs: rows of --no-prune" "$c"
expect_eq "CTE named flow_logs reads every file" "$(files "$c")" "7"
o="SELECT srcaddr FROM flow_logs WHERE date = DATE '2020-05-04' OR dstport = 80 ORDER BY 1"
same "OR across columns: rows of --no-prune" "$o"
expect_eq "OR across columns reads every file" "$(files "$o")" "7"
expect_eq "a table name built at run time still sees the view" \
    "$(q "SELECT count(*) AS n FROM query_table('flow_' || 'logs')")" "n
7"
out=$("$FLOWLAKE" query --server http://127.0.0.1:1 --no-prune "SELECT 1" 2>&1); st=$?
expect_status "--no-prune with --server is a usage error" 2 $st
expect_contains "... said so" "$out" "flowlake query: --no-prune goes with a local archive, not --server"

# ---- the same through a running server, with rows still in its buffer:
# one in an archived hour (2020-05-04 01), one in a new day (2020-05-06).
TO=$((10 * ${FL_TEST_TIMEOUT_MULTIPLIER:-1}))
start_server --set archive.buffer_interval=1h --set query.timeout=${TO}s
sq() { "$FLOWLAKE" query --server "$URL" --output csv "$@"; }
sfiles() {
    "$FLOWLAKE" query --server "$URL" "EXPLAIN ANALYZE $1" \
        | grep -o 'Total Files Read: [0-9]*' | awk '{n += $4} END {print n + 0}'
}
# live_rows SQL: the rows the buffered part (the FLOWLAKE_LIVE scan) gave,
# read in the columns of its box (other boxes share its lines); the box
# drawing is made ASCII first so that columns are bytes.
live_rows() {
    "$FLOWLAKE" query --server "$URL" "EXPLAIN ANALYZE $1" \
        | sed -e 's/│/|/g' -e 's/─/-/g' -e 's/[┌┐└┘├┤┬┴┼]/+/g' | awk '
        !on && (i = index($0, "FLOWLAKE_LIVE")) > 0 {
            l = i; while (l > 1 && substr($0, l, 1) != "|") l--
            r = i; while (r < length($0) && substr($0, r, 1) != "|") r++
            on = 1; next }
        on && match(substr($0, l, r - l + 1), /[0-9,]+ rows?/) {
            s = substr(substr($0, l, r - l + 1), RSTART, RLENGTH)
            gsub(/[, a-z]/, "", s); print s; exit }'
}
# Two requests: two buffered blocks, one per day.
printf '2 111 eni-2 10.9.0.1 10.0.1.1 50000 443 6 1 100 %s %s ACCEPT OK\n' \
    $((d + 3900)) $((d + 3960)) | curl -s --data-binary @- "$URL/ingest" >/dev/null
printf '2 111 eni-2 10.9.0.2 10.0.1.1 50001 443 6 2 200 %s %s ACCEPT OK\n' \
    $((d + 172800)) $((d + 172860)) | curl -s --data-binary @- "$URL/ingest" >/dev/null
expect_eq "server: still nothing published" "$(find "$A" -name '*.parquet' | wc -l)" "7"
expect_eq "server: date filter, archived and buffered rows" \
    "$(sq "SELECT srcaddr, date FROM flow_logs WHERE date = DATE('2020-05-04') ORDER BY srcaddr")" \
"srcaddr,date
10.0.0.1,2020-05-04
10.0.0.2,2020-05-04
10.0.0.3,2020-05-04
10.9.0.1,2020-05-04"
expect_eq "server: ... reads the day's three files" \
    "$(sfiles "SELECT count(*) FROM flow_logs WHERE date = DATE('2020-05-04')")" "3"
expect_eq "server: start range over an archived and a buffered row" \
    "$(sq "SELECT srcaddr, start FROM flow_logs WHERE start >= TIMESTAMP '2020-05-04 01:00:00' AND start < TIMESTAMP '2020-05-04 02:00:00' ORDER BY srcaddr")" \
"srcaddr,start
10.0.0.2,2020-05-04 01:01:00
10.9.0.1,2020-05-04 01:05:00"
expect_eq "server: ... reads one file" \
    "$(sfiles "SELECT count(*) FROM flow_logs WHERE start >= TIMESTAMP '2020-05-04 01:00:00' AND start < TIMESTAMP '2020-05-04 02:00:00'")" "1"
expect_eq "server: a day only the buffer has" \
    "$(sq "SELECT srcaddr, year, month, day, hour, date FROM flow_logs WHERE year = '2020' AND month = '05' AND day = '06'")" \
"srcaddr,year,month,day,hour,date
10.9.0.2,2020,05,06,00,2020-05-06"
expect_eq "server: ... reads no file" \
    "$(sfiles "SELECT count(*) FROM flow_logs WHERE year = '2020' AND month = '05' AND day = '06'")" "0"
expect_eq "server: ... and parses only that day's buffered block" \
    "$(live_rows "SELECT count(*) FROM flow_logs WHERE year = '2020' AND month = '05' AND day = '06'")" "1"
expect_eq "server: a filter on start parses only its hour's block" \
    "$(live_rows "SELECT count(*) FROM flow_logs WHERE start >= TIMESTAMP '2020-05-04 01:00:00' AND start < TIMESTAMP '2020-05-04 02:00:00'")" "1"
expect_eq "server: a day no block has parses none" \
    "$(live_rows "SELECT count(*) FROM flow_logs WHERE date = DATE '2020-05-05'")" "0"
expect_eq "server: without a time filter both blocks are parsed" \
    "$(live_rows "SELECT count(*) FROM flow_logs WHERE dstport = 443")" "2"
expect_eq "server: self-join, every row" \
    "$(sq "SELECT count(*) AS n FROM flow_logs a JOIN flow_logs b USING (srcaddr)")" "n
9"
out=$("$FLOWLAKE" query --server "$URL" "SELECT count(*) FROM flow_logs WHERE hour = '2020/05/04'" 2>&1); st=$?
expect_status "server: 'yyyy/MM/dd' refused" 1 $st
expect_contains "server: ... with the message" "$out" \
    "hour is compared with '2020/05/04': the partition columns hold zero-padded numbers without '/'"
kill -TERM "$PID"; wait "$PID"; st=$?
expect_status "server: exits 0 on SIGTERM" 0 $st
expect_eq "server: the buffered rows were published on the way out" \
    "$(q "SELECT count(*) AS n FROM flow_logs WHERE srcaddr LIKE '10.9.%'")" "n
2"
finish
