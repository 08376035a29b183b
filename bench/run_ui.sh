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
#   * first paint under 1 s with 30 days of 15-minute series and 20
#     widgets: with playwright-core and chromium installed
#     (scripts/bootstrap.sh --test), the page loaded at range=30d in
#     headless chromium, three times each for the default dashboard (7
#     widgets) and for "bench-20", a 20-widget dashboard this script PUTs
#     (no keys in the bench, so the PUT is allowed): first contentful
#     paint, and the time until every widget is drawn; then the server CPU
#     of one refresh of bench-20 (the batch body the browser sent,
#     replayed REFRESHES times with the status and alarms requests).
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
# The ingest's answer comes before the server is done with the records
# (metrics folded, their first save -- every metrics.persist_interval, 5 s
# -- writing a month of final values): measured then, that work would count
# as the first refreshes' CPU. Wait until the server has used under 2 clock
# ticks in each half second for 6 s in a row, longer than a save's period
# (at most 180 s).
settle() {
    local a b i quiet=0
    read -r a _ < <(cpu)
    for i in $(seq 1 360); do
        sleep 0.5
        read -r b _ < <(cpu)
        if [ $((b - a)) -lt 2 ]; then quiet=$((quiet + 1)); else quiet=0; fi
        a=$b
        [ "$quiet" -ge 12 ] && { echo "== server idle after $(awk "BEGIN{print $i/2}") s"; return; }
    done
    echo "== server still busy after 180 s; measuring anyway"
}
settle
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

# The 20-widget dashboard of the first-paint target: the default's seven
# widgets and 13 more of the same kinds over the built-in metrics (bars,
# per-action and per-protocol lines, more and longer top-N tables), no
# sql widget (a query process each: measured above). 19 metric reads, so
# still one POST /api/metrics/batch per refresh.
cat > "$W/bench-20.json" <<'JSON'
{"name": "bench-20", "title": "bench-20 (20 widgets)", "widgets": [
 {"id": "tcp", "type": "metric", "title": "Rejected TCP packets", "metric": "rejected_tcp_packets",
  "w": 8, "h": 4, "x": 0, "y": 0, "options": {"chart": "line", "total": true}},
 {"id": "actions", "type": "actions", "title": "Accepted vs rejected",
  "metrics": ["traffic_by_action_flows", "traffic_by_action_bytes", "traffic_by_action_packets"],
  "w": 4, "h": 2, "x": 8, "y": 0},
 {"id": "talkers", "type": "top", "title": "Top talkers", "metrics": ["top_talkers_bytes", "top_talkers_flows"],
  "w": 4, "h": 3, "x": 8, "y": 2, "options": {"top": 10}},
 {"id": "proto", "type": "dimension_lines", "title": "Rejected packets per protocol",
  "metric": "rejected_packets_by_protocol", "dims": {"protocol": []},
  "w": 8, "h": 4, "x": 0, "y": 4, "options": {"picker": true}},
 {"id": "rejected", "type": "top", "title": "Top rejected sources",
  "metrics": ["top_rejected_sources_packets", "top_rejected_sources_flows"],
  "w": 4, "h": 3, "x": 8, "y": 5, "options": {"top": 10}},
 {"id": "ingest", "type": "ingest", "title": "Ingest", "metric": "records_in", "w": 4, "h": 3, "x": 0, "y": 8},
 {"id": "alarms", "type": "alarms", "title": "Alarms", "w": 8, "h": 3, "x": 4, "y": 8, "options": {"history": 20}},
 {"id": "tcpbar", "type": "metric", "title": "Rejected TCP packets (bars)", "metric": "rejected_tcp_packets",
  "w": 6, "h": 4, "x": 0, "y": 11, "options": {"chart": "bar"}},
 {"id": "bytes", "type": "metric", "title": "Bytes per action", "metric": "traffic_by_action_bytes",
  "w": 6, "h": 4, "x": 6, "y": 11, "options": {"total": true}},
 {"id": "flows", "type": "dimension_lines", "title": "Flows per action", "metric": "traffic_by_action_flows",
  "dims": {"action": []}, "w": 6, "h": 4, "x": 0, "y": 15, "options": {"picker": true}},
 {"id": "packets", "type": "dimension_lines", "title": "Packets per action", "metric": "traffic_by_action_packets",
  "dims": {"action": []}, "w": 6, "h": 4, "x": 6, "y": 15},
 {"id": "tcpudp", "type": "dimension_lines", "title": "Rejected TCP and UDP packets",
  "metric": "rejected_packets_by_protocol", "dims": {"protocol": [6, 17]}, "w": 6, "h": 4, "x": 0, "y": 19},
 {"id": "pktbar", "type": "metric", "title": "Packets per action (bars)", "metric": "traffic_by_action_packets",
  "w": 6, "h": 4, "x": 6, "y": 19, "options": {"chart": "bar"}},
 {"id": "tcptotal", "type": "metric", "title": "Rejected TCP packets (total)", "metric": "rejected_tcp_packets",
  "w": 4, "h": 3, "x": 0, "y": 23, "options": {"total": true}},
 {"id": "byflows", "type": "top", "title": "Top talkers by flows", "metrics": ["top_talkers_flows", "top_talkers_bytes"],
  "w": 4, "h": 3, "x": 4, "y": 23, "options": {"top": 10}},
 {"id": "top20", "type": "top", "title": "Top 20 talkers", "metrics": ["top_talkers_bytes", "top_talkers_flows"],
  "w": 4, "h": 5, "x": 8, "y": 23, "options": {"top": 20}},
 {"id": "rejflows", "type": "top", "title": "Top rejected sources by flows",
  "metrics": ["top_rejected_sources_flows", "top_rejected_sources_packets"],
  "w": 4, "h": 3, "x": 0, "y": 26, "options": {"top": 10}},
 {"id": "rej5", "type": "top", "title": "Top 5 rejected sources", "metrics": ["top_rejected_sources_packets"],
  "w": 4, "h": 2, "x": 4, "y": 26, "options": {"top": 5}},
 {"id": "actpkts", "type": "actions", "title": "Packets and bytes per action",
  "metrics": ["traffic_by_action_packets", "traffic_by_action_bytes"], "w": 4, "h": 2, "x": 0, "y": 29},
 {"id": "actflows", "type": "actions", "title": "Flows per action", "metrics": ["traffic_by_action_flows"],
  "w": 4, "h": 2, "x": 4, "y": 29}
]}
JSON
echo "== dashboard bench-20 (20 widgets): PUT $(curl -s -o /dev/null -w '%{http_code}' -X PUT \
    --data-binary @"$W/bench-20.json" "$URL/api/dashboards/bench-20")"

if [ -x /usr/bin/chromium ] && [ -f web/node_modules/playwright-core/package.json ]; then
    # paint.mjs URL ROOT HASH WIDGETS [BATCH-FILE]: three loads of URL/HASH.
    # A load is timed until body[data-refreshed] (web/dashboard.js sets it
    # once every widget of a refresh has settled, drawn or failed), and
    # counts only if the page then shows WIDGETS cards, none with an error
    # or still loading: a name the server did not know would fall back to
    # the default's 7. The first load's POST /api/metrics/batch body goes
    # to BATCH-FILE, for the server CPU of that refresh below.
    cat > "$W/paint.mjs" <<'JS'
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
const [url, root, hash, widgets, batchFile] = process.argv.slice(2);
const require = createRequire(root + '/web/package.json');
const { chromium } = require('playwright-core');
const args = ['--headless'];
if (process.getuid?.() === 0) args.push('--no-sandbox');
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args });
for (let i = 0; i < 3; i++) {
  const p = await b.newPage({ viewport: { width: 1400, height: 1000 } });
  const batches = [];
  p.on('request', (r) => { if (r.url().endsWith('/api/metrics/batch')) batches.push(r.postData()); });
  const t0 = Date.now();
  await p.goto(url + '/' + hash);
  await p.waitForSelector('body[data-refreshed]', { timeout: 120000 });
  const all = Date.now() - t0;
  const fcp = await p.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime);
  const seen = await p.evaluate(() => ({
    cards: document.querySelectorAll('#widgets section.card').length,
    errors: [...document.querySelectorAll('#widgets .card p.err')]
      .map((e) => `${e.closest('.card').dataset.widget}: ${e.textContent}`),
    loading: document.querySelectorAll('#widgets .card.loading').length,
    charts: document.querySelectorAll('#widgets .card canvas').length,
  }));
  if (seen.cards !== Number(widgets) || seen.errors.length || seen.loading) {
    console.log(`  load ${i + 1}: NOT every widget drawn: ${JSON.stringify(seen)}`);
    process.exitCode = 1;
  } else {
    console.log(`  load ${i + 1}: first contentful paint ${Math.round(fcp)} ms, every widget drawn ${all} ms` +
      ` (${seen.cards} widgets, ${seen.charts} charts, ${batches.length} metrics batch)`);
  }
  if (i === 0 && batchFile) writeFileSync(batchFile, batches.length === 1 ? batches[0] : '');
  await p.close();
}
await b.close();
JS
    echo "== page load in headless chromium, default dashboard (7 widgets), range 30d (2880 windows per series)"
    node "$W/paint.mjs" "$URL" "$ROOT" '#range=30d&refresh=0' 7
    echo "== page load in headless chromium, dashboard bench-20 (20 widgets), range 30d (target: first paint under 1 s)"
    node "$W/paint.mjs" "$URL" "$ROOT" '#dashboard=bench-20&range=30d&refresh=0' 20 "$W/batch-20.json"
    # One refresh of bench-20 as the page makes it: status, alarms, alarm
    # history and the batch body the browser posted (19 reads over 30 d).
    if [ -s "$W/batch-20.json" ]; then
        refresh20() {
            curl -s -o /dev/null "$URL/api/status"
            curl -s -o /dev/null "$URL/api/alarms"
            curl -s -o /dev/null "$URL/api/alarms/history?limit=20"
            curl -s -o /dev/null --data-binary @"$W/batch-20.json" "$URL/api/metrics/batch"
        }
        refresh20   # warm up
        read -r s0 c0 < <(cpu)
        t0=$(date +%s.%N)
        for _ in $(seq 1 "$REFRESHES"); do refresh20; done
        t1=$(date +%s.%N)
        read -r s1 c1 < <(cpu)
        printf '== refresh of bench-20, range 30d: wall %.0f ms, server CPU %.1f ms, with query workers %.1f ms per refresh (%d refreshes, %d reads in one batch; target: under 50 ms)\n' \
            "$(echo "$t0 $t1 $REFRESHES" | awk '{print ($2-$1)*1000/$3}')" \
            "$(echo "$s0 $s1 $tick $REFRESHES" | awk '{print ($2-$1)*1000/$3/$4}')" \
            "$(echo "$s0 $s1 $c0 $c1 $tick $REFRESHES" | awk '{print ($2-$1+$4-$3)*1000/$5/$6}')" \
            "$REFRESHES" "$(grep -o '"metric"' "$W/batch-20.json" | wc -l)"
    else
        echo "== refresh of bench-20: skipped (its first load did not send exactly one metrics batch)"
    fi
else
    echo "== page load: skipped (scripts/bootstrap.sh --test installs chromium and playwright-core)"
fi
