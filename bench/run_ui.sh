#!/usr/bin/env bash
# The web UI's costs (docs/ui.md), against its targets:
#   * embedded JS + CSS under 200 KB: each file's plain and gzip size as the
#     server sends them;
#   * a dashboard refresh under 50 ms of server CPU: a server fed RECORDS
#     generated records spread over the last 30 days, then REFRESHES times
#     the requests one refresh of the default dashboard makes (as
#     web/dashboard.js sends them: /api/status, /api/alarms,
#     /api/alarms/history and one POST /api/metrics/batch of its six reads)
#     for the 24 h and the 30 d range; CPU of the server process alone and
#     with its query workers (children, reaped per query; none since the
#     dashboard sends no SQL);
#   * first paint under 1 s with 30 days of 15-minute series: with
#     playwright-core and chromium installed (scripts/bootstrap.sh --test),
#     the page loaded at range=30d in headless chromium: first contentful
#     paint, and the time until every widget is drawn.
#
# usage: bench/run_ui.sh [RECORDS] [REFRESHES]   (default 500000 20)
#        FL=/path/to/other/flowlake bench/run_ui.sh   (another build)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RECORDS=${1:-500000}
REFRESHES=${2:-20}
make -s -j2 flowlake
# FL=path: another flowlake binary to measure (e.g. an older build).
FL=${FL:-./flowlake}
W=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT

"$FL" serve --listen 127.0.0.1:0 --archive "$W/archive" >"$W/serve.out" 2>"$W/serve.err" &
PID=$!
for _ in $(seq 1 200); do grep -q 'listening on' "$W/serve.out" 2>/dev/null && break; sleep 0.05; done
URL=$(sed -n 's/.*listening on \(http:[^,]*\),.*/\1/p' "$W/serve.out")

echo "== embedded files (bytes as served: plain / gzip)"
tp=0 tg=0
for f in /ui/common.js /ui/dashboard.js /ui/style.css /ui/uPlot.iife.min.js /ui/uPlot.min.css /; do
    p=$(curl -s -o /dev/null -w '%{size_download}' "$URL$f")
    g=$(curl -s -o /dev/null -w '%{size_download}' -H 'Accept-Encoding: gzip' "$URL$f")
    printf '  %-22s %7d / %6d\n' "$f" "$p" "$g"
    [ "$f" != / ] && { tp=$((tp + p)); tg=$((tg + g)); }
done
printf '  JS + CSS total         %7d / %6d   (target: under 200 KB = 204800)\n' "$tp" "$tg"

echo "== data: $RECORDS generated records over the last 30 days"
now=$(date +%s)
"$FL" generate --records "$RECORDS" --start $((now - 30 * 86400)) --span 30d --gzip > "$W/data.gz"
curl -s --data-binary @"$W/data.gz" "$URL/ingest"; echo

cpu() { awk '{print $14 + $15, $16 + $17}' "/proc/$PID/stat"; }
refresh() {   # refresh FROM TO: the requests of one refresh of web/dashboard.js
    # (the default dashboard: every metric widget in one batch, no SQL)
    local from=$1 to=$2 ifrom=$(( $2 - 6 * 3600 ))
    [ "$ifrom" -lt "$from" ] && ifrom=$from
    curl -s -o /dev/null "$URL/api/status"
    curl -s -o /dev/null "$URL/api/alarms"
    curl -s -o /dev/null "$URL/api/alarms/history?limit=20"
    printf '[{"metric":"rejected_tcp_packets","from":%d,"to":%d},{"metric":"rejected_packets_by_protocol","from":%d,"to":%d},{"metric":"traffic_by_action_flows","from":%d,"to":%d,"aggregate":"sum","with":["traffic_by_action_bytes","traffic_by_action_packets"]},{"metric":"top_talkers_bytes","from":%d,"to":%d,"aggregate":"sum","top":10,"with":["top_talkers_flows"]},{"metric":"top_rejected_sources_packets","from":%d,"to":%d,"aggregate":"sum","top":10,"with":["top_rejected_sources_flows"]},{"metric":"records_in","from":%d,"to":%d}]' \
        "$from" "$to" "$from" "$to" "$from" "$to" "$from" "$to" "$from" "$to" "$ifrom" "$to" |
        curl -s -o /dev/null --data-binary @- "$URL/api/metrics/batch"
}
tick=$(getconf CLK_TCK)
for range in 86400 2592000; do
    to=$(date +%s)
    from=$((to - range))
    refresh "$from" "$to"   # warm up
    read -r s0 c0 < <(cpu)
    t0=$(date +%s.%N)
    for _ in $(seq 1 "$REFRESHES"); do refresh "$from" "$to"; done
    t1=$(date +%s.%N)
    read -r s1 c1 < <(cpu)
    printf '== refresh, range %s: wall %.0f ms, server CPU %.1f ms, with query workers %.1f ms per refresh (%d refreshes; target: under 50 ms)\n' \
        "$([ $range = 86400 ] && echo 24h || echo 30d)" \
        "$(echo "$t0 $t1 $REFRESHES" | awk '{print ($2-$1)*1000/$3}')" \
        "$(echo "$s0 $s1 $tick $REFRESHES" | awk '{print ($2-$1)*1000/$3/$4}')" \
        "$(echo "$s0 $s1 $c0 $c1 $tick $REFRESHES" | awk '{print ($2-$1+$4-$3)*1000/$5/$6}')" \
        "$REFRESHES"
done

# Where a refresh's CPU goes: each kind of request alone, 5 times.
to=$(date +%s); from=$((to - 86400))
each() {   # each NAME CURL-ARGS...
    local name=$1; shift
    read -r s0 c0 < <(cpu)
    for _ in 1 2 3 4 5; do curl -s -o /dev/null "$@"; done
    read -r s1 c1 < <(cpu)
    printf '  %-34s server %6.1f ms, with query workers %6.1f ms per request\n' "$name" \
        "$(echo "$s0 $s1 $tick" | awk '{print ($2-$1)*1000/$3/5}')" \
        "$(echo "$s0 $s1 $c0 $c1 $tick" | awk '{print ($2-$1+$4-$3)*1000/$5/5}')"
}
echo "== per request (24 h range)"
each "GET /api/status" "$URL/api/status"
each "GET /api/metrics rejected_tcp_packets" "$URL/api/metrics?metric=rejected_tcp_packets&from=$from&to=$to"
each "GET /api/alarms" "$URL/api/alarms"
each "GET /api/alarms/history?limit=20" "$URL/api/alarms/history?limit=20"
each "POST /api/query SELECT 1" --data-binary "SELECT 1" "$URL/api/query?format=json"

if [ -x /usr/bin/chromium ] && [ -f web/node_modules/playwright-core/package.json ]; then
    cat > "$W/paint.mjs" <<'EOF'
import { createRequire } from 'node:module';
const require = createRequire(process.argv[3] + '/web/package.json');
const { chromium } = require('playwright-core');
const args = ['--headless'];
if (process.getuid?.() === 0) args.push('--no-sandbox');
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args });
for (let i = 0; i < 3; i++) {
  const p = await b.newPage({ viewport: { width: 1400, height: 1000 } });
  const t0 = Date.now();
  await p.goto(process.argv[2] + '/#range=30d&refresh=0');
  await p.waitForSelector('body[data-refreshed]', { timeout: 60000 });
  const all = Date.now() - t0;
  const fcp = await p.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime);
  console.log(`  load ${i + 1}: first contentful paint ${Math.round(fcp)} ms, every widget drawn ${all} ms`);
  await p.close();
}
await b.close();
EOF
    echo "== page load in headless chromium, range 30d (2880 windows per series)"
    node "$W/paint.mjs" "$URL" "$ROOT"
else
    echo "== page load: skipped (scripts/bootstrap.sh --test installs chromium and playwright-core)"
fi
