#!/usr/bin/env bash
# SQL from the network cannot write: a catalogue of hostile statements is
# sent to POST /api/query of a real `flowlake serve` holding published data;
# each must be refused (403 naming what) or fail harmlessly, and afterwards
# the archive -- Parquet files, _flowlake/ with the WAL, the metric store --
# must be byte for byte as before, with no new file anywhere the statements
# name. Symlinks planted inside the archive are not read through.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
A=$TMP/archive
OUT=$TMP/outside            # a folder next to the archive, not in it
mkdir -p "$OUT"

# Metrics on event time only: a window on arrival time would close (and
# write a file) while the catalogue runs, by itself.
cat >metrics.sql <<'SQL'
CREATE METRIC bytes_by_action AS
  SELECT action, SUM(bytes) FROM flows GROUP BY action, TUMBLE(start, INTERVAL '1' HOUR);
SQL
start_server --set archive.buffer_interval=1s --set metrics.persist_interval=1s \
    --set metrics.defaults=false --set metrics.file="$TMP/metrics.sql"
"$FLOWLAKE" generate --records 300 --seed 11 -o g.log
expect_eq "ingest acknowledged" "$(curl -s --data-binary @g.log "$URL/ingest")" \
    '{"accepted":300,"rejected":0}'
# Wait (bounded) for the publish.
for _ in $(seq 1 100); do
    [ -n "$(find "$A" -name '*.parquet' -path '*year=*' 2>/dev/null)" ] && break
    sleep 0.1
done
PART=$(find "$A" -name '*.parquet' -path '*year=*' | sort | head -1)
HOURDIR=$(dirname "$PART")
[ -n "$PART" ] && ok "data published" || fail "data published"

# post SQL: sets ST (HTTP status) and BODY.
post() {
    BODY=$(curl -s -o - -w '\n%{http_code}' --data-binary "$1" "$URL/api/query")
    ST=${BODY##*$'\n'}
    BODY=${BODY%$'\n'*}
}
count() { post "$1"; printf '%s' "$BODY" | tr -d '\n ' ; }

# Symlinks inside the archive: to /etc/passwd, to /etc, to a real Parquet
# file outside (a copy of a published one: if it were read, counts would
# double), and a symlinked partition folder leading to it.
cp "$PART" "$OUT/secret.parquet"
ln -s /etc/passwd "$HOURDIR/passwd.parquet"
ln -s /etc "$A/etc"
ln -s "$OUT/secret.parquet" "$HOURDIR/zz-outside.parquet"
mkdir -p "$A/year=2031/month=01/day=01"
ln -s "$OUT" "$A/year=2031/month=01/day=01/hour=00"
mkdir -p "$A/_metrics"
ln -s "$OUT/secret.parquet" "$A/_metrics/final-999.parquet"

expect_eq "only the published rows, not the symlinked copies" \
    "$(count "SELECT count(*) AS n FROM flow_logs")" '[{"n":300}]'

# The state to compare: every path with type, size, mtime and symlink
# target, and every regular file's SHA-256 (including _flowlake/ and its
# WAL folder, and the metric store).
snapshot() {
    (cd "$A" && find . -printf '%p %y %s %T@ %l\n' | sort \
        && find . -type f -exec sha256sum {} + | sort -k2)
}
tmp_listing() { (cd "$TMP" && find . -path ./archive -prune -o -printf '%p %y\n' | sort); }
# The server settles after the publish (WAL checkpoint, metric state):
# wait until both exist and three snapshots a second apart agree (at most
# 30 s); idle, it writes nothing more.
for _ in $(seq 1 100); do
    [ -f "$A/_flowlake/wal/checkpoint" ] && [ -f "$A/_metrics/state" ] && break
    sleep 0.1
done
BEFORE=$(snapshot) same=0
for _ in $(seq 1 30); do
    sleep 1
    NOW=$(snapshot)
    if [ "$NOW" == "$BEFORE" ]; then same=$((same + 1)); else same=0; fi
    BEFORE=$NOW
    [ "$same" -ge 2 ] && break
done
BEFORE_TMP=$(tmp_listing)
SUM_BEFORE=$(find "$A" -name '*.parquet' -type f | wc -l)

N_CAT=0
# refused NAME-SUFFIX WANT-SUBSTRING SQL: 403 and the error names it.
refused() {
    N_CAT=$((N_CAT + 1))
    post "$2"
    local name=${2//$'\n'/ }
    if [ "$ST" == 403 ] && [[ "$BODY" == *"$1"* ]]; then ok "403: $name"
    else fail "403: $name" "status $ST: $BODY" "want 403 with: $1"; fi
}
# denied WANT-SUBSTRING SQL: 400, DuckDB refused it (files, syntax).
denied() {
    N_CAT=$((N_CAT + 1))
    post "$2"
    local name=${2//$'\n'/ }
    if [ "$ST" == 400 ] && [[ "$BODY" == *"$1"* ]]; then ok "400: $name"
    else fail "400: $name" "status $ST: $BODY" "want 400 with: $1"; fi
}
# statement KEYWORD SQL: refused as a statement alone, wrapped in EXPLAIN
# and EXPLAIN ANALYZE, after a harmless SELECT, and in odd case with
# comments. DuckDB's grammar cannot EXPLAIN some (EXPORT, ATTACH ...):
# those wrapped forms are syntax errors (400), which run nothing either.
statement() {
    local kw=$1 sql=$2
    refused "statement 1 is $kw" "$sql"
    for pre in "EXPLAIN" "EXPLAIN ANALYZE"; do
        N_CAT=$((N_CAT + 1))
        post "$pre $sql"
        if { [ "$ST" == 403 ] && [[ "$BODY" == *"statement 1 is $pre $kw"* ]]; } \
           || { [ "$ST" == 400 ] && [[ "$BODY" == *"syntax error"* ]]; }; then
            ok "$ST: $pre $sql"
        else fail "$pre $sql" "status $ST: $BODY"; fi
    done
    refused "statement 2 is $kw" "SELECT 42; $sql"
    local first=${sql%% *} odd="" i c
    for ((i = 0; i < ${#first}; i++)); do
        c=${first:i:1}
        if ((i % 2)); then odd+=${c,,}; else odd+=${c^^}; fi
    done
    refused "statement 2 is $kw" "select 1 /* ; */ ; -- harmless
 /* a comment */ $odd${sql:${#first}}"
}

P=$PART
statement COPY "COPY (SELECT 1 AS version) TO '$P' (FORMAT parquet)"
statement COPY "COPY (SELECT * FROM flow_logs) TO '$A' (FORMAT parquet, PARTITION_BY (year, month, day, hour), APPEND)"
statement COPY "COPY (SELECT 'x') TO '$P' (FORMAT csv)"
# allowed_paths lets DuckDB write a listed file as well as read it: only
# the parse check stands between this and the published file.
statement COPY "COPY (SELECT 1 AS version) TO '$P' (FORMAT parquet, USE_TMP_FILE false)"
statement COPY "COPY (SELECT 'x') TO '$A/_flowlake/wal/checkpoint' (FORMAT csv)"
statement COPY "COPY (SELECT 1) TO '$TMP/pwned.csv'"
statement COPY "COPY flow_logs TO 'pwned-cwd.csv'"
statement COPY "COPY flow_logs FROM '$TMP/g.log'"
statement EXPORT "EXPORT DATABASE '$TMP/exported'"
statement EXPORT "EXPORT DATABASE '$A/exported'"
statement IMPORT "IMPORT DATABASE '$TMP/exported'"
statement ATTACH "ATTACH '$TMP/pwned.duckdb' AS pwned"
statement ATTACH "ATTACH ':memory:' AS m"
statement DETACH "DETACH memory"
statement INSTALL "INSTALL httpfs"
statement FORCE "FORCE INSTALL httpfs"
statement LOAD "LOAD httpfs"
statement LOAD "LOAD '$TMP/pwned.so'"
statement SET "SET enable_external_access = true"
statement SET "SET lock_configuration = false"
statement SET "SET GLOBAL allowed_directories = ['/']"
statement SET "SET temp_directory = '$TMP/spill'"
statement SET "SET VARIABLE v = 1"
statement RESET "RESET memory_limit"
statement PRAGMA "PRAGMA enable_profiling"
statement PRAGMA "PRAGMA database_list"
statement CREATE "CREATE TABLE t AS SELECT 1 AS a"
statement CREATE "CREATE OR REPLACE VIEW vpc_flow_logs.flow_logs AS SELECT 1 AS a"
statement CREATE "CREATE MACRO m() AS 1"
statement CREATE "CREATE SECRET (TYPE s3, KEY_ID 'k', SECRET 's')"
statement CREATE "CREATE PERSISTENT SECRET p (TYPE s3, KEY_ID 'k', SECRET 's')"
statement INSERT "INSERT INTO flowlake_metrics_live SELECT * FROM flowlake_metrics_live"
statement UPDATE "UPDATE t SET a = 2"
statement DELETE "DELETE FROM t"
statement DROP "DROP VIEW vpc_flow_logs.flow_logs"
statement ALTER "ALTER VIEW flow_logs RENAME TO gone"
statement CHECKPOINT "CHECKPOINT"
statement FORCE "FORCE CHECKPOINT"
statement VACUUM "VACUUM"
statement ANALYZE "ANALYZE"
statement CALL "CALL checkpoint()"
statement CALL "CALL enable_logging()"
statement PREPARE "PREPARE p AS SELECT 1"
statement EXECUTE "EXECUTE p"
statement DEALLOCATE "DEALLOCATE p"
statement USE "USE memory"
statement BEGIN "BEGIN TRANSACTION"
statement PIVOT "PIVOT flow_logs ON action USING count(*)"

# EXPLAIN: only plain or ANALYZE, alone.
refused "statement 1 is EXPLAIN COPY" "EXPLAIN (FORMAT json) COPY (SELECT 1) TO '$TMP/pwned.csv'"
refused "without options" "EXPLAIN (FORMAT json) SELECT 1"
refused "without options" "EXPLAIN VERBOSE SELECT 1"
refused "EXPLAIN must be the only statement" "SELECT 1; EXPLAIN SELECT 1"
refused "statement 1 is EXPLAIN ANALYZE COPY" "/* x */ eXpLaIn /* y */ AnAlYzE -- z
 CoPy (SELECT 1) TO '$TMP/pwned.csv'"

# Queries with effects: table functions off the read-only list, scalar
# functions that act, SQL in a string; wherever they hide.
refused "table function checkpoint()" "SELECT * FROM checkpoint()"
refused "table function force_checkpoint()" "SELECT * FROM force_checkpoint()"
refused "table function checkpoint()" "SELECT * FROM system.main.checkpoint()"
refused "table function query()" "SELECT * FROM query('COPY (SELECT 1) TO ''$TMP/pwned.csv''')"
refused "table function query_table()" "SELECT * FROM query_table('flow_logs')"
refused "table function json_execute_serialized_sql()" "SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT 1'))"
refused "table function enable_logging()" "SELECT * FROM enable_logging()"
refused "table function truncate_duckdb_logs()" "SELECT * FROM truncate_duckdb_logs()"
refused "table function duckdb_secrets()" "SELECT * FROM duckdb_secrets()"
refused "table function glob()" "SELECT * FROM glob('/etc/*')"
refused "table function glob()" "SELECT * FROM glob('$A/**')"
refused "table function sniff_csv()" "SELECT * FROM sniff_csv('/etc/passwd')"
refused "table function histogram_values()" "SELECT * FROM histogram_values(flow_logs, bytes)"
refused "table function arrow_scan()" "SELECT * FROM arrow_scan(0, 0, 0)"
refused "function setseed()" "SELECT setseed(0.5)"
refused "function nextval()" "SELECT nextval('s')"
refused "function write_log()" "SELECT write_log('x')"
refused "function getenv()" "SELECT GETENV('HOME')"
refused "function json_serialize_plan()" "SELECT json_serialize_plan('SELECT 1')"
refused "table function checkpoint()" "SELECT (SELECT count(*) FROM checkpoint()) AS n"
refused "table function checkpoint()" "WITH c AS (SELECT * FROM checkpoint()) SELECT * FROM c"
refused "table function checkpoint()" "SELECT 1 UNION ALL SELECT 1 FROM checkpoint()"
refused "table function checkpoint()" "EXPLAIN ANALYZE SELECT * FROM checkpoint()"
refused "table function query()" "DESCRIBE SELECT * FROM query('SELECT 1')"
refused "function setseed()" "SELECT list_transform([1], x -> setseed(0.1))"
refused "function setseed()" "SELECT 1; SELECT setseed(0.1)"
refused "statement 1 is WITH" "WITH c AS (COPY (SELECT 1) TO '$TMP/pwned.csv') SELECT 1"
denied "syntax error" "SELECT * FROM (COPY (SELECT 1) TO '$TMP/pwned.csv')"
denied "SELECT INTO not supported" "SELECT 1 INTO pwned"

# Reading outside the listed files: DuckDB refuses the open.
for f in "read_csv('/etc/passwd')" "read_text('/etc/passwd')" "read_blob('/etc/passwd')" \
         "read_parquet('/etc/passwd')" "read_json('/etc/passwd')" \
         "read_csv('$A/../g.log')" "read_text('$HOURDIR/../../../../../g.log')" \
         "read_text('$HOURDIR/passwd.parquet')" "read_parquet('$HOURDIR/zz-outside.parquet')" \
         "read_text('$A/etc/passwd')" "read_parquet('$A/year=2031/month=01/day=01/hour=00/secret.parquet')" \
         "read_parquet('$A/_metrics/final-999.parquet')" "read_parquet('$A/year=*/*/*/*/*.parquet')" \
         "read_csv('$TMP/g.log', store_rejects = true)"; do
    denied "file system operations are disabled" "SELECT * FROM $f"
done
post "SELECT * FROM '/etc/passwd'"
N_CAT=$((N_CAT + 1))
[ "$ST" == 400 ] && [[ "$BODY" != *root:* ]] && ok "400: a path as a table name" \
    || fail "a path as a table name" "status $ST: $BODY"

# Harmless: settings can be read, not changed.
N_CAT=$((N_CAT + 1))
expect_eq "settings are locked" \
    "$(count "SELECT current_setting('lock_configuration') AS l, current_setting('enable_external_access') AS e, current_setting('temp_directory') AS t")" \
    '[{"l":true,"e":false,"t":""}]'

echo "  catalogue: $N_CAT statements"
[ "$N_CAT" -ge 50 ] && ok "at least 50 hostile statements" || fail "at least 50 hostile statements"

AFTER=$(snapshot)
if [ "$AFTER" == "$BEFORE" ]; then ok "archive unchanged, byte for byte"
else fail "archive unchanged, byte for byte"; diff <(echo "$BEFORE") <(echo "$AFTER") | head -20; fi
expect_eq "no new file or folder next to the server or the archive" "$(tmp_listing)" "$BEFORE_TMP"
for f in "$TMP/pwned.csv" "$TMP/pwned-cwd.csv" "$TMP/exported" "$A/exported" "$TMP/pwned.duckdb" \
         "$TMP/spill" "$HOME/.duckdb/stored_secrets/p.duckdb_secret"; do
    [ -e "$f" ] && fail "not created: $f" || ok "not created: $f"
done

# Useful things still work.
expect_eq "a SELECT over flow_logs" \
    "$(count "SELECT count(*) AS n, count(DISTINCT year) AS y FROM vpc_flow_logs.flow_logs")" '[{"n":300,"y":1}]'
LIST=$(find "$A" -path '*year=*' -name '*.parquet' -type f | sort | sed "s/.*/'&'/" | paste -sd,)
expect_eq "reading the listed files directly" \
    "$(count "SELECT count(*) AS n FROM read_parquet([$LIST])")" '[{"n":300}]'
post "EXPLAIN SELECT count(*) FROM flow_logs"
[ "$ST" == 200 ] && [[ "$BODY" == *physical_plan* ]] && ok "EXPLAIN of a SELECT" || fail "EXPLAIN of a SELECT" "$ST $BODY"
post "-- how many
EXPLAIN ANALYZE SELECT count(*) FROM flow_logs"
[ "$ST" == 200 ] && [[ "$BODY" == *analyzed_plan* ]] && ok "EXPLAIN ANALYZE of a SELECT" || fail "EXPLAIN ANALYZE of a SELECT" "$ST $BODY"
expect_eq "cidr_contains" \
    "$(count "SELECT cidr_contains('10.0.0.0/8', '10.1.2.3') AS a, cidr_contains('10.0.0.0/8', '11.0.0.1') AS b, count(*) FILTER (WHERE cidr_contains('0.0.0.0/0', srcaddr)) = count(*) FILTER (WHERE srcaddr LIKE '%.%.%.%') AS c FROM flow_logs")" \
    '[{"a":true,"b":false,"c":true}]'
expect_eq "the metrics view" \
    "$(count "SELECT metric, sum(value) AS v FROM vpc_flow_logs.metrics GROUP BY 1")" \
    "$(count "SELECT 'bytes_by_action' AS metric, sum(bytes) AS v FROM flow_logs" | sed 's/\.0}/}/; s/"v":\([0-9]*\)}/"v":\1.0}/')"
expect_eq "WITH, VALUES, set operations, DESCRIBE" \
    "$(count "WITH v(a) AS (VALUES (1), (2)) SELECT a FROM v UNION ALL SELECT 3 ORDER BY 1")" '[{"a":1},{"a":2},{"a":3}]'
post "DESCRIBE flow_logs"
[ "$ST" == 200 ] && [[ "$BODY" == *'"column_name":"srcaddr"'* ]] && ok "DESCRIBE" || fail "DESCRIBE" "$ST $BODY"

# The archive is still one the server restarts on, with every record.
kill -TERM "$PID"; wait "$PID"
start_server --set archive.buffer_interval=1s --set metrics.defaults=false \
    --set metrics.file="$TMP/metrics.sql"
expect_eq "restart: all records still there" "$(count "SELECT count(*) AS n FROM flow_logs")" '[{"n":300}]'
kill -TERM "$PID"; wait "$PID"
finish
