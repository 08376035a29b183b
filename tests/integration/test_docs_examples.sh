#!/usr/bin/env bash
# Every doc example runs as written: the ```sh, ```ini and ```sql blocks of
# README.md and docs/*.md (tests/tools/doc_examples.py pulls them out;
# docs/development.md says how to mark a block that cannot run) run
# against real data -- an archive made with `flowlake generate` and
# `flowlake convert`, and a `flowlake serve` on a free loopback port fed
# through POST /ingest.
#
#   ```sh    runs with `bash -e` (each command must succeed, not only the
#            last), exit 0, nothing on stderr, and no {"error" answer from
#            the server on stdout
#   ```ini   is written to flowlake.ini and passes `flowlake config check`
#   ```sql   CREATE METRIC statements pass `flowlake config check` as a
#            metrics.file (with metrics.defaults = false: the docs also show
#            the built-in metrics' own statements, whose names a file may
#            not take again beside them); any other SQL runs with
#            `flowlake query -f` (exit 0, nothing on stderr)
#
# What the docs assume of the reader's machine, and what the test puts in
# its place (nothing else in a block is changed):
#   * `flowlake` on the PATH and `./flowlake`: both are the binary under
#     test ($FLOWLAKE); `curl` on the PATH is curl itself, which also says
#     on stderr when it fails (curl -s keeps quiet when it cannot connect,
#     and in a pipe its exit status is lost);
#   * a server on port 8080: the text "localhost:8080" and "127.0.0.1:8080"
#     becomes "127.0.0.1:PORT" of the server the test started;
#   * the archive ./flowlake-data (the default of --archive), flowlake.ini
#     (a copy of docs/examples/flowlake.ini) and docs/examples/ in the
#     working directory: each block runs in a folder of its own that holds
#     them, so what one block writes never changes the next;
#   * $READ_KEY and $QUERY_ID, the shell variables the serve docs use; a
#     block that cancels a query ("/api/query/cancel") finds a query with
#     the id $QUERY_ID running.
# Blocks marked "<!-- example: not run (REASON) -->" are skipped and
# listed with their reason.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TMP"

# The examples, and the marker check: a malformed marker fails the test.
if (cd "$ROOT" && python3 tests/tools/doc_examples.py "$TMP/ex" README.md docs/*.md) \
        >extract.out 2>&1; then
    ok "examples extracted ($(wc -l <"$TMP/ex/index.tsv") blocks)"
else
    fail "examples extracted" "$(cat extract.out)"
    finish; exit
fi

# Real data: two days the docs' queries name (2024-03-07, 2024-05-01),
# converted into the archive the server then serves.
A=$TMP/flowlake-data
"$FLOWLAKE" generate --seed 1 --records 20000 --start 2024-03-07 --span 24h --header -o d1.log.gz
"$FLOWLAKE" generate --seed 2 --records 20000 --start 2024-05-01 --span 24h --header -o d2.log.gz
"$FLOWLAKE" convert --archive "$A" d1.log.gz d2.log.gz >convert.out; st=$?
expect_status "the archive is converted" 0 $st

# archive.buffer_interval = 1h: live records stay in the server's buffer, so
# the archive's files do not change while the examples read them.
start_server --set archive.buffer_interval=1h --set query.timeout=60s
if [ -z "$PORT" ]; then
    fail "the server starts" "$(cat serve.err)"
    finish; exit
fi
# Live records too, which queries through the server see (the buffer).
"$FLOWLAKE" generate --seed 3 --records 2000 --start now --span 5m -o live.log
expect_contains "records ingested" "$(curl -s --data-binary @live.log "$URL/ingest")" '"accepted":2000'

# What the docs assume, in one place (see the top of this file).
mkdir bin
ln -s "$FLOWLAKE" bin/flowlake
cat >bin/curl <<EOF
#!/usr/bin/env bash
$(command -v curl) "\$@"; st=\$?
[ \$st -eq 0 ] || echo "curl \$*: exit status \$st" >&2
exit \$st
EOF
chmod +x bin/curl
export PATH=$TMP/bin:$PATH
export READ_KEY=doc-example-read-key QUERY_ID=doc-example-query
# substitute FILE: the docs' port 8080 becomes the test server's port.
substitute() {
    sed -i -e "s/localhost:8080/127.0.0.1:$PORT/g" -e "s/127\.0\.0\.1:8080/127.0.0.1:$PORT/g" "$1"
}
# workdir N: a fresh folder for example N, with what the docs assume.
workdir() {
    local d=$TMP/run/$1
    mkdir -p "$d"
    ln -s "$A" "$d/flowlake-data"
    ln -s "$FLOWLAKE" "$d/flowlake"
    ln -s "$ROOT/docs" "$d/docs"
    cp "$ROOT/docs/examples/flowlake.ini" "$d/flowlake.ini"
    echo "$d"
}
# workers: the server's query worker processes, one per running query.
workers() { pgrep -P "$PID" -f query-worker | wc -l; }
# slow_query: a query with the id $QUERY_ID, running until cancelled;
# waits until its worker runs (after the workers of earlier queries have
# gone). Its answer goes to slow.code / slow.txt.
slow_query() {
    local i
    for i in $(seq 1 $((200 * ${FL_TEST_TIMEOUT_MULTIPLIER:-1}))); do
        [ "$(workers)" -eq 0 ] && break
        sleep 0.05
    done
    curl -s -m $((30 * ${FL_TEST_TIMEOUT_MULTIPLIER:-1})) -o "$TMP/slow.txt" -w '%{http_code}' -H "X-Flowlake-Query-Id: $QUERY_ID" \
        --data-binary "SELECT sum(a.range * b.range) FROM range(1000000) a, range(1000000) b" \
        "$URL/api/query" >"$TMP/slow.code" &
    SLOW_PID=$!
    for _ in $(seq 1 $((200 * ${FL_TEST_TIMEOUT_MULTIPLIER:-1}))); do
        [ "$(workers)" -eq 1 ] && break
        sleep 0.05
    done
}

# A block runs for at most LIMIT seconds (status 124 beyond); its stdin is
# empty, never this loop's index.
LIMIT=$((60 * ${FL_TEST_TIMEOUT_MULTIPLIER:-1}))
ran=0 skipped=0 ran_sh=0 ran_ini=0 ran_sql=0
while IFS=$'\t' read -r n lang where what reason; do
    f=$TMP/ex/$n.$lang
    if [ "$what" = skip ]; then
        skipped=$((skipped + 1))
        echo "SKIP $where ($lang): $reason"
        continue
    fi
    ran=$((ran + 1))
    eval "ran_$lang=\$((ran_$lang + 1))"
    d=$(workdir "$n")
    substitute "$f"
    case $lang in
    sh)
        SLOW_PID=
        grep -q '/api/query/cancel' "$f" && slow_query
        (cd "$d" && timeout "$LIMIT" bash -e "$f") </dev/null >"$d/out.txt" 2>"$d/err.txt"; st=$?
        if [ $st -ne 0 ] || [ -s "$d/err.txt" ] || grep -q '{"error"' "$d/out.txt"; then
            fail "$where: the sh example runs" "exit status $st" "stderr: $(head -c 2000 "$d/err.txt")" \
                "stdout: $(head -c 2000 "$d/out.txt")"
        else
            ok "$where: the sh example runs"
        fi
        if [ -n "$SLOW_PID" ]; then
            wait "$SLOW_PID"
            expect_eq "$where: the query it cancels is answered 499" "$(cat "$TMP/slow.code")" 499
        fi
        ;;
    ini)
        cp "$f" "$d/flowlake.ini"
        out=$(cd "$d" && flowlake config check flowlake.ini 2>&1 </dev/null); st=$?
        if [ $st -eq 0 ] && [ "$out" = "flowlake.ini: ok" ]; then
            ok "$where: the ini example passes config check"
        else
            fail "$where: the ini example passes config check" "exit status $st" "$out"
        fi
        ;;
    sql)
        # CREATE METRIC is a metrics file (docs/metrics.md); the rest is a
        # query script. Comment lines are not statements.
        if grep -v '^[[:space:]]*--' "$f" | grep -qi '^[[:space:]]*create[[:space:]]\+metric'; then
            cp "$f" "$d/metrics.sql"
            printf '[archive]\ndir = ./flowlake-data\n[metrics]\nfile = metrics.sql\ndefaults = false\n' >"$d/check.ini"
            out=$(cd "$d" && flowlake config check check.ini 2>&1 </dev/null); st=$?
            if [ $st -eq 0 ] && [ "$out" = "check.ini: ok" ]; then
                ok "$where: the metrics compile"
            else
                fail "$where: the metrics compile" "exit status $st" "$out"
            fi
        else
            (cd "$d" && timeout "$LIMIT" flowlake query -f "$f") </dev/null >"$d/out.txt" 2>"$d/err.txt"; st=$?
            if [ $st -eq 0 ] && [ ! -s "$d/err.txt" ]; then
                ok "$where: the SQL runs"
            else
                fail "$where: the SQL runs" "exit status $st" "$(head -c 2000 "$d/err.txt")"
            fi
        fi
        ;;
    esac
done <"$TMP/ex/index.tsv"
echo "examples: $ran run, $skipped not run (marked in the docs)"
# An extractor that found nothing would leave nothing tested: the docs
# have examples of each kind.
expect_eq "examples of each kind ran" "sh $([ $ran_sh -gt 0 ] && echo yes), ini $([ $ran_ini -gt 0 ] && echo yes), sql $([ $ran_sql -gt 0 ] && echo yes)" \
    "sh yes, ini yes, sql yes"

kill -TERM "$PID"; wait "$PID"
expect_status "the server stops cleanly" 0 $?
finish
