#!/usr/bin/env bash
# The web UI (docs/ui.md): its files as HTTP serves them (curl: open without
# the key, gzip with an ETag, 304 on If-None-Match, HEAD, the bytes of
# web/ and uPlot), then the dashboard in a real browser
# (tests/browser/dashboard.test.mjs: Debian's chromium driven by
# playwright-core under `node --test`) on a server holding known records and
# two alarms, its figures checked against SQL (and edit mode, a "new…"
# dashboard, a bar widget); then, on a server with an
# admin key, saving a dashboard (tests/browser/dashboards.test.mjs: the key
# dialog asks for the admin key). The screenshots are kept in
# the folder printed at the end ($FL_SHOTS, default build/ui-shots).
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHOTS=${FL_SHOTS:-$ROOT/${BUILD:-build}/ui-shots}
[ -x /usr/bin/chromium ] || { echo "chromium missing: run scripts/bootstrap.sh --test"; exit 1; }
[ -f "$ROOT/web/node_modules/playwright-core/package.json" ] \
    || { echo "playwright-core missing: run scripts/bootstrap.sh --test"; exit 1; }
cd "$TMP"
A=$TMP/archive
KEY=r3ad-k3y
mkdir -p "$SHOTS"

cat > flowlake.ini <<'EOF'
[alarm.tcp_high]
description = more than 20 rejected TCP packets in 15 minutes
metric = rejected_tcp_packets
comparison = GreaterThanThreshold
threshold = 20

[alarm.gre_quiet]
metric = rejected_packets_by_protocol
dimensions = protocol=47
comparison = >
threshold = 0
EOF
start_server --config flowlake.ini --set server.read_key=$KEY

# ---- the files, over plain HTTP ------------------------------------------
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
expect_eq "GET / without a key: 200 (the page holds no data)" "$(code "$URL/")" 200
expect_eq "GET /api/status without the key: 401" "$(code "$URL/api/status")" 401
expect_eq "GET /api/status with the key: 200" \
    "$(code -H "Authorization: Bearer $KEY" "$URL/api/status")" 200
curl -s -D h.txt -o index.plain "$URL/"
expect_eq "GET / without Accept-Encoding: web/index.html as it is" \
    "$(cmp -s index.plain "$ROOT/web/index.html" && echo same)" same
expect_contains "GET /: Content-Type" "$(cat h.txt)" "Content-Type: text/html; charset=utf-8"
expect_eq "GET /: no Content-Encoding without Accept-Encoding" \
    "$(grep -ci '^Content-Encoding' h.txt)" 0
expect_contains "GET /: Cache-Control: no-cache (revalidated by ETag)" "$(cat h.txt)" "Cache-Control: no-cache"
expect_contains "GET /: a Content-Security-Policy" "$(cat h.txt)" "Content-Security-Policy: default-src 'none'; script-src 'self'"
for f in common.js dashboard.js dashboard-default.json style.css; do
    curl -s -D h.txt -H 'Accept-Encoding: gzip, deflate, br' -o "$f.gz" "$URL/ui/$f"
    expect_contains "GET /ui/$f with Accept-Encoding: gzip is gzip-encoded" "$(cat h.txt)" "Content-Encoding: gzip"
    expect_eq "GET /ui/$f: the gzip bytes are web/$f" \
        "$(gunzip -c "$f.gz" | cmp -s - "$ROOT/web/$f" && echo same)" same
done
for f in uPlot.iife.min.js uPlot.min.css; do
    expect_eq "GET /ui/$f: uPlot's dist file from web/node_modules" \
        "$(curl -s "$URL/ui/$f" | cmp -s - "$ROOT/web/node_modules/uplot/dist/$f" && echo same)" same
done
etag=$(curl -s -D - -o /dev/null -H 'Accept-Encoding: gzip' "$URL/ui/dashboard.js" | tr -d '\r' | sed -n 's/^ETag: //p')
expect_eq "the gzip form's ETag: a quoted content hash + -gz" \
    "$(printf '%s' "$etag" | grep -cE '^"[0-9a-f]{32}-gz"$')" 1
n=$(curl -s -D h.txt -o /dev/null -w '%{size_download}' -H 'Accept-Encoding: gzip' \
    -H "If-None-Match: $etag" "$URL/ui/dashboard.js")
expect_eq "If-None-Match with the ETag: 304 without a body" \
    "$(head -1 h.txt | tr -d '\r') $n" "HTTP/1.1 304 Not Modified 0"
expect_contains "the 304 repeats the ETag" "$(cat h.txt)" "ETag: $etag"
expect_eq "If-None-Match with another ETag: 200" \
    "$(code -H 'If-None-Match: "0000"' "$URL/ui/dashboard.js")" 200
expect_eq "HEAD /ui/dashboard.js: 200, no body" \
    "$(curl -s -I -o /dev/null -w '%{http_code} %{size_download}' "$URL/ui/dashboard.js")" "200 0"
expect_eq "POST / is 405" "$(code -X POST --data x "$URL/")" 405
expect_eq "GET /ui/ is 404" "$(code "$URL/ui/")" 404
expect_eq "GET /ui/../api/status is refused (400)" \
    "$(code --path-as-is "$URL/ui/../api/status")" 400

# ---- known data ---------------------------------------------------------
bash "$ROOT/tests/browser/data.sh" > data.log
expect_eq "the known records are accepted" \
    "$(curl -s --data-binary @data.log "$URL/ingest")" '{"accepted":23,"rejected":0}'
# tcp_high goes to ALARM once the watermark passes 00:30 (30 > 20).
for _ in $(seq 1 100); do
    curl -s -H "Authorization: Bearer $KEY" "$URL/api/alarms" | grep -q '"state":"ALARM"' && break
    sleep 0.1
done

# ---- the browser -------------------------------------------------------
# browser FILE [VAR=VALUE...]: runs one tests/browser file under node --test
# and counts its tests as this script's.
browser() {
    local f=$1
    shift
    env FL_URL=$URL FL_KEY=$KEY FL_SHOTS=$SHOTS "$@" \
        node --test --test-reporter=tap "$ROOT/tests/browser/$f" > tap.txt 2>&1
    local st=$? np nf
    # Each test's line, and its diagnostics when it failed.
    grep -E '^# Subtest|^(not )?ok ' tap.txt | grep -E '^(not )?ok ' | sed 's/^/  browser: /'
    np=$(sed -n 's/^# pass //p' tap.txt)
    nf=$(sed -n 's/^# fail //p' tap.txt)
    if [ -z "$np" ] || [ -z "$nf" ]; then
        fail "node --test ran $f" "$(tail -30 tap.txt)"
    else
        T_PASSED=$((T_PASSED + np))
        T_FAILED=$((T_FAILED + nf))
        [ "$nf" -eq 0 ] && [ "$st" -eq 0 ] || { echo "browser tests failed:"; grep -vE '^ok |^# ' tap.txt | head -60; }
        [ "$st" -ne 0 ] && [ "$nf" -eq 0 ] && fail "node --test exit status ($f)" "exit status $st"
    fi
}
browser dashboard.test.mjs
expect_eq "the dashboard screenshot is saved" "$([ -s "$SHOTS/dashboard.png" ] && echo yes)" yes
kill "$PID" 2>/dev/null
wait "$PID" 2>/dev/null

# ---- saving with an admin key: the key dialog asks for it -----------------
ADMIN=adm1n-k3y
start_server --config flowlake.ini --set server.read_key=$KEY --set server.admin_key=$ADMIN
browser dashboards.test.mjs FL_ADMIN=$ADMIN
expect_eq "the admin's save reached the server" \
    "$(curl -s -H "Authorization: Bearer $KEY" "$URL/api/dashboards/default" | python3 -c 'import json,sys; print(json.load(sys.stdin)["title"])')" \
    "Admin's view"
echo "screenshots: $SHOTS"
kill "$PID" 2>/dev/null
wait "$PID" 2>/dev/null
finish
