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

# What the HTTP front checks at start: keys and key files, a role left
# unguarded beyond loopback, the in-flight budget, the descriptor limit.
printf 'k-e-y\n' >read.key
: >empty.key
cat >front.ini <<EOT
[server]
listen = 0.0.0.0:8080
read_key_file = $TMP/empty.key
ingest_key = has blank
max_body = 64MiB
max_inflight_bytes = 1MiB
[firehose]
access_key = abc
access_key_file = $TMP/read.key
EOT
elapsed timeout 20 "$FLOWLAKE" config check front.ini >out.txt 2>err.txt
expect_status "bad keys and budgets exit 1" 1 $ST
expect_eq "every one listed at its line" "$(cat err.txt)" \
"front.ini:3: server.read_key_file: $TMP/empty.key is empty
front.ini:4: server.ingest_key holds a blank (a bearer token has none)
front.ini:6: server.max_inflight_bytes (1048576) is below server.max_body (67108864): no body that size could be taken
front.ini:8: firehose.access_key and firehose.access_key_file both set: give the key one way only"
elapsed timeout 20 "$FLOWLAKE" serve --config front.ini >out.txt 2>serr.txt
expect_status "serve refuses it too" 1 $ST
expect_eq "with the same messages, before opening anything" "$(head -n 4 serr.txt)" "$(cat err.txt)"

cat >admin.ini <<EOT
[server]
admin_key = x
admin_key_file = $TMP/read.key
[ui]
dashboards_dir = $TMP/read.key
EOT
elapsed timeout 20 "$FLOWLAKE" config check admin.ini >out.txt 2>err.txt
expect_status "server.admin_key given twice, ui.dashboards_dir a file: exit 1" 1 $ST
expect_contains "the admin key named at its line" "$(cat err.txt)" \
"admin.ini:2: server.admin_key and server.admin_key_file both set: give the key one way only"
expect_contains "ui.dashboards_dir named at its line" "$(cat err.txt)" "admin.ini:5: ui.dashboards_dir"

cat >open.ini <<EOT
[server]
listen = 0.0.0.0:8080
read_key_file = $TMP/read.key
[archive]
dir = $TMP/open-archive
EOT
"$FLOWLAKE" config check open.ini >out.txt 2>err.txt; st=$?
expect_status "ingest left open beyond loopback exits 1" 1 $st
expect_eq "naming the endpoints and the keys to set" "$(cat err.txt)" \
"open.ini:2: server.listen = 0.0.0.0:8080 is not a loopback address, and these endpoints would answer anyone: POST /firehose (set firehose.access_key or server.ingest_key); POST /cwl and /ingest (set server.ingest_key). Set the keys (or their _file forms), or server.allow_unauthenticated = true if something in front of flowlake checks the callers"
[ ! -e open-archive ] && ok "and nothing was created" || fail "created open-archive"
sed -i 's/^listen = .*/&\nallow_unauthenticated = true/' open.ini
"$FLOWLAKE" config check open.ini >out.txt 2>err.txt; st=$?
expect_status "server.allow_unauthenticated = true overrides it" 0 $st
printf '[server]\nlisten = 127.0.0.1:0\nmax_connections = 5000\n' >fds.ini
(ulimit -n 1024 && ulimit -Hn 1024 && "$FLOWLAKE" config check fds.ini) >out.txt 2>err.txt; st=$?
expect_status "more connections than the descriptor limit allows exits 1" 1 $st
expect_eq "saying what to change" "$(cat err.txt)" \
"fds.ini:3: server.max_connections = 5000 needs 5256 file descriptors, and the limit is 1024 (ulimit -n): lower server.max_connections or raise the limit"
printf '[server]\nlisten = example.com:80\n' >listen.ini
"$FLOWLAKE" config check listen.ini >out.txt 2>err.txt; st=$?
expect_status "an unusable listen address exits 1" 1 $st
expect_eq "saying so" "$(cat err.txt)" \
"listen.ini:2: server.listen: cannot use 'example.com:80' (HOST:PORT with a numeric IPv4 or [IPv6] address)"

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
# The [alarm.NAME] keys come from one key table, like the other sections:
# `config defaults` shows every one of them (commented: there is no alarm
# by default), and `config check` lists every bad alarm key, not just the
# first, each with its line.
"$FLOWLAKE" config defaults >defaults.ini
for key in metric dimensions comparison threshold evaluation_periods \
           datapoints_to_alarm evaluation_range treat_missing_data \
           description log command webhook webhook_timeout webhook_retries \
           webhook_backoff; do
    grep -q "^#$key = " defaults.ini || fail "config defaults: no alarm key $key"
done
ok "config defaults lists every alarm key"
expect_contains "in a commented [alarm.NAME] section" "$(cat defaults.ini)" "#[alarm.NAME]"
expect_contains "with its default" "$(cat defaults.ini)" "#webhook_timeout = 5s"
"$FLOWLAKE" config check defaults.ini >out.txt 2>&1; st=$?
expect_status "what config defaults prints is valid" 0 $st
cat >alarms.ini <<EOT
[alarm.a]
metric = rejected_tcp_packets
colour = red
comparison = sideways
threshold = 5
webhook_retries = 101
[alarm.b]
metric = rejected_tcp_packets
comparison = >
EOT
"$FLOWLAKE" config check alarms.ini >out.txt 2>&1; st=$?
expect_status "bad alarm keys: exit 1" 1 $st
expect_eq "every bad alarm key, with its line" "$(cat out.txt)" \
"alarms.ini:3: [alarm.a] unknown key 'colour'
alarms.ini:4: [alarm.a] comparison: 'sideways' is not one of GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold, >=, >, <, <=
alarms.ini:6: [alarm.a] webhook_retries: '101' is not a whole number from 0 to 100
alarms.ini:8: [alarm.b] threshold is required"
finish
