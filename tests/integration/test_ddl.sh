#!/usr/bin/env bash
# flowlake ddl: the archive declared to other engines. DuckDB's statement is
# executed by plain DuckDB (build/bench/sqlrun, the same pinned libduckdb)
# over a real archive -- default-format records delivered under an
# AWSLogs/ S3 path (provenance columns), a custom format with an extra
# field -- and must give exactly flowlake's own rows and every column's
# Parquet type. Athena's, Trino's and Spark's cannot run here: they are
# pinned by their exact text, and every column of the files must appear in
# each with the engine's type for its Parquet type. Then the errors.
. "$(dirname "$0")/lib.sh"
SQLRUN=${SQLRUN:-$(cd "$(dirname "$0")/../.." && pwd)/${BUILD:-build}/bench/sqlrun}
EXPECTED=$(cd "$(dirname "$0")" && pwd)/expected
cd "$TMP" || exit 1

in=in/AWSLogs/123456789012/vpcflowlogs/eu-west-1/2024/05/01
mkdir -p "$in" custom
"$FLOWLAKE" generate --seed 3 --records 2000 --start 1714521600 --span 2h \
    -o "$in/123456789012_vpcflowlogs_eu-west-1_fl-1_20240501T0000Z_a1.log" 2>/dev/null
cat >custom/tagged.log <<'EOF'
version vpc-id srcaddr start end x-tag bytes
5 vpc-1 10.0.0.1 1714525200 1714525260 blue 10
5 vpc-2 10.0.0.2 1714528800 1714528860 - 20
EOF
"$FLOWLAKE" convert --quiet --archive A in custom >/dev/null 2>&1
st=$?
expect_status "the archive is written" 0 $st

# ---- DuckDB: executed -------------------------------------------------
"$FLOWLAKE" ddl --engine duckdb --archive A >duck.sql 2>err.txt; st=$?
expect_status "ddl --engine duckdb exits 0" 0 $st
expect_eq "nothing on stderr" "$(cat err.txt)" ""
# The rows through the engine's table equal flowlake's, field by field
# (start and end are epoch seconds in the files, TIMESTAMP in flowlake's
# view; the extra field and the provenance columns included).
cols="interface_id, srcaddr, dstport, protocol, packets, bytes, action, vpc_id, x_tag, source_file, account_id, region, year, month, day, hour"
want=$("$FLOWLAKE" query --archive A --output csv \
    "SELECT count(*), sum(hash($cols, epoch(start)::BIGINT, epoch(\"end\")::BIGINT)) FROM flow_logs" | tail -n 1)
got=$("$SQLRUN" "$(cat duck.sql)" \
    "SELECT count(*), sum(hash($cols, start, \"end\")) FROM vpc_flow_logs" 2>/dev/null | tail -n 1 | tr '\t' ',')
expect_eq "DuckDB over the statement sees flowlake's rows exactly" "$got" "$want"
case "$want" in 2002,*) ok "all 2,002 records" ;; *) fail "all 2,002 records" "got $want" ;; esac
expect_eq "the extra field and the provenance reach the engine" \
    "$("$SQLRUN" "$(cat duck.sql)" "SELECT count(x_tag), count(DISTINCT source_file), min(vpc_id) FROM vpc_flow_logs" 2>/dev/null | tail -n 1)" \
    "$(printf '1\t2\tvpc-1')"
# Every column of every file, with the SQL type of its exact Parquet
# type; and the fields no file has yet are there too, typed.
types=$("$SQLRUN" "SELECT DISTINCT name, CASE type WHEN 'INT32' THEN 'INTEGER' WHEN 'INT64' THEN 'BIGINT' ELSE 'VARCHAR' END FROM parquet_schema('A/year=*/month=*/day=*/hour=*/*.parquet') WHERE num_children IS NULL ORDER BY 1" 2>/dev/null)
described=$("$SQLRUN" "$(cat duck.sql)" "SELECT column_name, column_type FROM (DESCRIBE vpc_flow_logs) ORDER BY 1" 2>/dev/null)
missing=$(comm -23 <(echo "$types" | sort) <(echo "$described" | sort))
expect_eq "every file column with its Parquet type" "$missing" ""
expect_eq "the fields no file has yet are declared" \
    "$(echo "$described" | grep -E '^(reject_reason|tcp_flags|traffic_path)	' | tr '\t' ' ')" \
    "reject_reason VARCHAR
tcp_flags INTEGER
traffic_path INTEGER"
expect_eq "50 columns: 40 fields, 5 provenance, 1 extra, 4 partitions" \
    "$(echo "$described" | wc -l)" "50"
expect_eq "protocol is INT32 in the files, INTEGER here (not AWS's bigint)" \
    "$(echo "$described" | grep '^protocol	')" "$(printf 'protocol\tINTEGER')"

# The AWS blog's three queries as docs/engines.md writes them for DuckDB
# over this table (start in epoch seconds), against flowlake's own answers
# to the blog's text; "now" fixed at 2024-05-10 so the 14 days hold the
# data, and a tie-break added so that LIMIT picks the same rows.
now="TIMESTAMPTZ '2024-05-10 00:00:00+00'"
today="DATE '2024-05-10'"
duck_q=(
    "SELECT protocol, sum(packets) AS rejected_packets FROM vpc_flow_logs WHERE action = 'REJECT' GROUP BY protocol ORDER BY rejected_packets DESC, protocol"
    "SELECT srcaddr, sum(packets) AS rejected_packets FROM vpc_flow_logs WHERE start >= epoch($now - INTERVAL 14 DAY) AND concat(year, '-', month, '-', day) >= strftime($today - INTERVAL 14 DAY, '%Y-%m-%d') GROUP BY srcaddr ORDER BY rejected_packets DESC, srcaddr LIMIT 10"
    "SELECT dstaddr, sum(packets) AS packet_count FROM vpc_flow_logs WHERE dstport = 443 GROUP BY dstaddr ORDER BY packet_count DESC, dstaddr LIMIT 10"
)
fl_q=(
    "select protocol, sum(packets) as rejected_packets from flow_logs where action = 'REJECT' group by protocol order by rejected_packets desc, protocol"
    "SELECT srcaddr, SUM(packets) AS rejected_packets FROM flow_logs WHERE start >= $now - interval '14' day GROUP BY srcaddr ORDER BY rejected_packets DESC, srcaddr LIMIT 10"
    "SELECT dstaddr, SUM(packets) AS packet_count FROM flow_logs WHERE dstport = '443' GROUP BY dstaddr ORDER BY packet_count DESC, dstaddr LIMIT 10"
)
for i in 0 1 2; do
    want=$("$FLOWLAKE" query --archive A --output csv "${fl_q[$i]}" | tail -n +2)
    got=$("$SQLRUN" "$(cat duck.sql)" "${duck_q[$i]}" 2>/dev/null | tr '\t' ',')
    expect_eq "the blog's query $((i + 1)) as DuckDB writes it: flowlake's answer" "$got" "$want"
    if [ -n "$want" ]; then ok "the blog's query $((i + 1)) has rows to compare"
    else fail "the blog's query $((i + 1)) has rows to compare"; fi
done

# ---- Athena, Trino, Spark: their exact text ----------------------------
for e in athena trino spark; do
    loc=s3://flowlake-test/archive/
    [ $e = spark ] && loc=s3a://flowlake-test/archive/
    "$FLOWLAKE" ddl --engine $e --location $loc --archive A --years 2024,2034 >$e.sql 2>err.txt; st=$?
    expect_status "ddl --engine $e exits 0" 0 $st
    expect_eq "ddl --engine $e: the statement as pinned" "$(cat $e.sql)" "$(cat "$EXPECTED/ddl_$e.sql")"
    # Independent of the pinned text: each file column with the engine's
    # type for its Parquet type.
    bad=0
    while IFS=$'\t' read -r name ptype; do
        case "$e:$ptype" in
            athena:INTEGER) t=int ;; athena:BIGINT) t=bigint ;; athena:VARCHAR) t=string ;;
            trino:INTEGER) t=integer ;; trino:BIGINT) t=bigint ;; trino:VARCHAR) t=varchar ;;
            spark:INTEGER) t=INT ;; spark:BIGINT) t=BIGINT ;; spark:VARCHAR) t=STRING ;;
        esac
        q='`'; [ $e = trino ] && q='"'
        grep -qxF "  $q$name$q $t," $e.sql || grep -qxF "  $q$name$q $t" $e.sql \
            || { bad=$((bad + 1)); echo "  $e: no line for $name $t"; }
    done <<<"$types"
    expect_eq "ddl --engine $e: every file column with its type" "$bad" "0"
done
expect_contains "Athena projects the folders' zero-padded hours" "$(cat athena.sql)" \
    "'storage.location.template' = 's3://flowlake-test/archive/year=\${year}/month=\${month}/day=\${day}/hour=\${hour}/'"
expect_contains "Athena's years start at the archive's first by default" \
    "$("$FLOWLAKE" ddl --engine athena --location s3://b/p --archive A)" "'projection.year.range' = '2024,"

# ---- errors ------------------------------------------------------------
"$FLOWLAKE" ddl --engine oracle >out.txt 2>err.txt; st=$?
expect_status "an unknown engine is a usage error" 2 $st
expect_eq "and says which engines there are" "$(head -n 1 err.txt)" \
    "flowlake ddl: unknown engine 'oracle' (athena, trino, spark or duckdb)"
"$FLOWLAKE" ddl --engine athena --archive A >out.txt 2>err.txt; st=$?
expect_status "Athena without an s3:// location is a usage error" 2 $st
expect_eq "and says so" "$(head -n 1 err.txt)" \
    "flowlake ddl: Athena reads S3 only: give --location s3://bucket/prefix/"
"$FLOWLAKE" ddl --engine athena --location s3://b/ --years 2030,2024 >out.txt 2>err.txt; st=$?
expect_status "years out of order are a usage error" 2 $st
"$FLOWLAKE" ddl --engine duckdb --table a.b.c >out.txt 2>err.txt; st=$?
expect_status "a three-part table name is a usage error" 2 $st
"$FLOWLAKE" ddl --engine duckdb --archive no-such-dir >out.txt 2>err.txt; st=$?
expect_status "no archive and no --location: exit 1" 1 $st
expect_contains "and says what to do" "$(cat err.txt)" "give --location"
# A file whose column has another type than the archive writes is named.
mkdir -p A/year=2024/month=05/day=02/hour=00
"$SQLRUN" "COPY (SELECT 6::BIGINT AS protocol) TO 'A/year=2024/month=05/day=02/hour=00/odd.parquet' (FORMAT parquet)" >/dev/null 2>&1
"$FLOWLAKE" ddl --engine duckdb --archive A >out.txt 2>err.txt; st=$?
expect_status "a column of the wrong type fails the command" 1 $st
expect_eq "naming the column and both types" "$(cat err.txt)" \
    "flowlake ddl: A: column protocol has Parquet type INT64 in some file, not the INTEGER the archive writes"
finish
