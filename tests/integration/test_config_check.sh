#!/usr/bin/env bash
# `flowlake config check` checks everything `serve` checks at start and
# lists every problem at once with its FILE:LINE; it never waits on a
# FIFO or reads a device; `serve` refuses the same file with the same
# messages, at start rather than at the first query.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
mkfifo fifo
echo "-----BEGIN CERTIFICATE-----" >cert.pem
echo "# not a config" >notes.txt

# elapsed CMD...: runs CMD, sets ST (its status) and SECS (whole seconds).
elapsed() {
    local t0=$SECONDS
    "$@"; ST=$?
    SECS=$((SECONDS - t0))
}

cat >bad.ini <<EOT
[server]
listen = 127.0.0.1:0
tls_cert = $TMP/cert.pem
max_body = 5
[archive]
dir = $TMP/notes.txt/archive
[query]
memory_limit = lots
[metrics]
file = $TMP/fifo
[watch]
dir = $TMP/notes.txt
EOT
elapsed timeout 20 "$FLOWLAKE" config check bad.ini >out.txt 2>err.txt
expect_status "a file with problems exits 1" 1 $ST
[ "$SECS" -lt 5 ] && ok "and returns at once (a FIFO named by a key is not opened)" \
    || fail "took $SECS s"
expect_eq "every problem is listed, each with its line, in file order" "$(cat err.txt)" \
"bad.ini:3: server.tls_cert and server.tls_key go together: set both, or neither (server.tls_key is not set)
bad.ini:4: server.max_body: 5 is out of range (1024 to 1073741824 bytes)
bad.ini:6: archive.dir: cannot use $TMP/notes.txt/archive: Not a directory
bad.ini:8: query.memory_limit: 'lots' is not a memory limit DuckDB accepts (a size such as 512MB, 4GB or 2GiB); DuckDB says: Parser Error: Memory limit must have a number (e.g. SET memory_limit=1GB
bad.ini:10: metrics.file: $TMP/fifo is a FIFO, not a regular file
bad.ini:12: watch.dir: $TMP/notes.txt is a regular file, not a folder"
expect_eq "nothing on stdout" "$(cat out.txt)" ""

# serve: the same checks, the same messages, before it listens.
elapsed timeout 20 "$FLOWLAKE" serve --config bad.ini >out.txt 2>serr.txt
expect_status "serve refuses the same file, exit 1" 1 $ST
expect_eq "with the same messages" "$(head -n 6 serr.txt)" "$(cat err.txt)"
expect_contains "and says it did not start" "$(cat serr.txt)" "the configuration has problems"
elapsed timeout 20 "$FLOWLAKE" serve --listen 127.0.0.1:0 --archive a --set query.memory_limit=80% \
    >out.txt 2>serr.txt
expect_status "a memory limit DuckDB refuses fails serve at start" 1 $ST
expect_eq "named as a flag, with DuckDB's reason" "$(head -n 1 serr.txt)" \
    "query.memory_limit: '80%' is not a memory limit DuckDB accepts (a size such as 512MB, 4GB or 2GiB); DuckDB says: Parser Error: Unknown unit for memory: '%' (expected: KB, MB, GB, TB for 1000^i units or KiB, MiB, GiB, TiB for 1024^i units)"
[ ! -e out.txt ] || expect_eq "and never listened" "$(cat out.txt)" ""

# The configuration file itself: a device, a FIFO, a folder, too big.
elapsed timeout 20 "$FLOWLAKE" config check /dev/zero >out.txt 2>err.txt
expect_status "/dev/zero exits 1" 1 $ST
[ "$SECS" -lt 3 ] && ok "at once" || fail "took $SECS s"
expect_eq "saying what it is" "$(cat err.txt)" "/dev/zero: is a character device, not a regular file"
elapsed timeout 20 "$FLOWLAKE" config check fifo >out.txt 2>err.txt
expect_status "a FIFO exits 1" 1 $ST
[ "$SECS" -lt 3 ] && ok "at once (no writer is waited for)" || fail "took $SECS s"
expect_eq "saying what it is" "$(cat err.txt)" "fifo: is a FIFO, not a regular file"
elapsed timeout 20 "$FLOWLAKE" serve --config fifo >out.txt 2>err.txt
expect_status "serve --config FIFO exits 1 at once" 1 $ST
expect_eq "with the same message" "$(head -n 1 err.txt)" "fifo: is a FIFO, not a regular file"
"$FLOWLAKE" config check "$TMP" >/dev/null 2>err.txt; st=$?
expect_status "a folder exits 1" 1 $st
expect_eq "saying so" "$(cat err.txt)" "$TMP: is a folder, not a regular file"
head -c 1048577 /dev/zero | tr '\0' '#' >big.ini
"$FLOWLAKE" config check big.ini >/dev/null 2>err.txt; st=$?
expect_status "a file over 1 MiB exits 1" 1 $st
expect_eq "saying so" "$(cat err.txt)" "big.ini: is larger than 1048576 bytes; not a configuration file"
"$FLOWLAKE" config check missing.ini >/dev/null 2>err.txt; st=$?
expect_status "a missing file exits 1" 1 $st
expect_eq "saying so" "$(cat err.txt)" "flowlake config: missing.ini: No such file or directory"

# A good file: ok, 0; --help works after check too; usage is 2.
cat >good.ini <<EOT
[server]
tls_cert = $TMP/cert.pem
tls_key = $TMP/cert.pem
[archive]
dir = $TMP/new/archive
[query]
memory_limit = 512MiB
EOT
"$FLOWLAKE" config check good.ini >out.txt 2>err.txt; st=$?
expect_status "a good file exits 0" 0 $st
expect_eq "and says ok" "$(cat out.txt)" "good.ini: ok"
[ ! -e new ] && ok "checking creates nothing" || fail "config check created $TMP/new"
"$FLOWLAKE" config check --help >out.txt 2>&1; st=$?
expect_status "config check --help exits 0" 0 $st
expect_contains "and prints the usage" "$(cat out.txt)" "usage: flowlake config check FILE"
"$FLOWLAKE" config check >/dev/null 2>&1; st=$?
expect_status "config check without a file is a usage error (2)" 2 $st
finish
