#!/usr/bin/env bash
# The web UI's status page (docs/ui.md#status-page) and the endpoints it
# reads: known deliveries over /ingest, /firehose and /cwl -- rejected
# lines among them (a bad field count, a byte that is not UTF-8, a line
# holding <script>) -- published by size into two publishes, then
# GET /api/rejects, GET /api/publishes, GET /api/alarms/history and the
# status page's fields of GET /api/status checked with curl against the
# exact values the deliveries give (the alarm history also against SQL),
# then the page itself in a real browser (tests/browser/status.test.mjs:
# Debian's chromium driven by playwright-core under `node --test`); then a
# fuller errors folder (the reading stays bounded) and a publish that fails
# and is retried. The screenshot status.png is kept in $FL_SHOTS (default
# build/ui-shots).
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

# The two alarms of test_ui_browser.sh: tcp_high goes to ALARM on the known
# records of tests/browser/data.sh, gre_quiet stays without data.
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
# Publishes come by size only (1 KiB), never by time: which deliveries
# share a publish is then known.
start_server --config flowlake.ini --set server.read_key=$KEY \
    --set archive.buffer_size=1KiB --set archive.buffer_interval=1h
AUTH=(-H "Authorization: Bearer $KEY")
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
get() { curl -s "${AUTH[@]}" "$URL$1"; }
# js PATH EXPR: EXPR over the JSON answer of GET PATH (bound to d).
js() { get "$1" | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"; }
publishes() { js /api/publishes 'd["attempts"]'; }
wait_publishes() {   # wait_publishes N
    for _ in $(seq 1 100); do
        [ "$(publishes)" = "$1" ] && return 0
        sleep 0.1
    done
    return 1
}

# ---- the key -------------------------------------------------------------
for p in /api/rejects /api/publishes /api/alarms/history /api/status; do
    expect_eq "GET $p without the key: 401" "$(code "$URL$p")" 401
    expect_eq "GET $p with a wrong key: 401" "$(code -H 'Authorization: Bearer nope' "$URL$p")" 401
done
expect_eq "GET /status (the page) without a key: 200" "$(code "$URL/status")" 200
curl -s -o status.plain "$URL/status"
expect_eq "GET /status: web/status.html as it is" \
    "$(cmp -s status.plain "$ROOT/web/status.html" && echo same)" same
expect_eq "GET /ui/status.js: web/status.js" \
    "$(curl -s "$URL/ui/status.js" | cmp -s - "$ROOT/web/status.js" && echo same)" same
expect_eq "POST /api/rejects is 405" "$(code "${AUTH[@]}" -X POST --data x "$URL/api/rejects")" 405
expect_eq "an empty errors folder: no samples, no files" \
    "$(js /api/rejects '[d["files_total"], d["samples"], d["reasons"], d["complete"]]')" "[0, [], [], True]"
expect_eq "no publish yet" "$(js /api/publishes 'd["publishes"]')" "[]"

# ---- delivery 1: the known records, over 1 KiB: publish 1 -------------------
bash "$ROOT/tests/browser/data.sh" > data.log
expect_eq "delivery 1 (POST /ingest): 23 records" \
    "$(curl -s --data-binary @data.log "$URL/ingest")" '{"accepted":23,"rejected":0}'
wait_publishes 1 || fail "publish 1 came" "$(get /api/publishes)"

# ---- delivery 2: 2 good lines and 4 rejected, under 1 KiB: buffered -------
good() {   # good MINUTE SRC: an accepted flow in the open 00:45 window
    echo "2 123456789012 eni-0b2 10.0.2.$2 10.9.0.1 40001 443 6 1 100 $((1714521600 + $1 * 60)) $((1714521630 + $1 * 60)) ACCEPT OK"
}
BAD1='2 123456789012 eni-0b2 10.0.2.1'
BAD2=$(printf '2 123456789012 eni-\xe9 10.0.2.2 10.9.0.1 40001 443 6 1 100 1714524000 1714524030 ACCEPT OK')
BAD3='<script>alert(1)</script> 123456789012 eni-0b2 10.0.2.3 10.9.0.1 40001 443 6 1 100 1714524000 1714524030 ACCEPT OK'
{ good 45 1; echo "$BAD1"; echo "$BAD1"; printf '%s\n' "$BAD2"; echo "$BAD3"; good 46 2; } > bad.log
expect_eq "delivery 2 (POST /ingest): 2 accepted, 4 rejected" \
    "$(curl -s --data-binary @bad.log "$URL/ingest")" '{"accepted":2,"rejected":4}'
expect_eq "the buffer holds delivery 2: records, blocks, not yet published" \
    "$(js /api/status '[d["buffer"]["records"], d["buffer"]["blocks"], d["wal"]["unpublished_records"], d["wal"]["published_seq"], d["buffer"]["oldest_age_seconds"] is not None, 0 < d["buffer"]["next_publish_in_seconds"] <= 3600]')" \
    "[2, 1, 2, 1, True, True]"

# ---- the rejected lines ------------------------------------------------------
R1='expected 14 fields, found 4'
R2='field 3 (interface-id): invalid UTF-8 byte 0xe9 at byte offset 19 of the line'
R3="field 1 (version): '<script>alert(1)</script>' is not a number"
SRC='POST /ingest from 127.0.0.1'
expect_eq "GET /api/rejects: counts by reason (most first; ties by reason)" \
    "$(js /api/rejects '"\n".join("%d %s" % (r["count"], r["reason"]) for r in d["reasons"])')" \
    "2 $R1
1 $R3
1 $R2"
expect_eq "GET /api/rejects: one file, 3 lines, all read" \
    "$(js /api/rejects '[d["files_total"], d["files_read"], d["lines_read"], d["unreadable"], d["complete"], d["files"][0]["name"].startswith("serve-")]')" \
    "[1, 1, 4, 0, True, True]"
expect_eq "GET /api/rejects?limit=2: the 2 newest samples, newest first" \
    "$(js '/api/rejects?limit=2' '"\n".join("%s|%s|%s|%s" % (s["source"], s["line"], s["reason"], s.get("raw", "b64:" + s.get("raw_base64", ""))) for s in d["samples"])')" \
    "$SRC|5|$R3|$BAD3
$SRC|4|$R2|b64:$(printf '%s' "$BAD2" | base64 -w0)"
expect_eq "the line that is not UTF-8 has raw_base64 only, its exact bytes" \
    "$(js '/api/rejects?limit=2' '"raw" in d["samples"][1]')" False
expect_eq "GET /api/rejects?limit=10: all 4, newest first; limit=1: the counts still over all lines" \
    "$(js '/api/rejects?limit=10' '[s["line"] for s in d["samples"]]') $(js '/api/rejects?limit=1' '[len(d["samples"]), sum(r["count"] for r in d["reasons"])]')" \
    "[5, 4, 3, 2] [1, 4]"
expect_eq "GET /api/rejects?limit=0 is 400" "$(code "${AUTH[@]}" "$URL/api/rejects?limit=0")" 400
expect_eq "GET /api/rejects?limit=x is 400" "$(code "${AUTH[@]}" "$URL/api/rejects?limit=x")" 400

# ---- delivery 3: 12 lines over Firehose, past 1 KiB: publish 2 -------------
for i in $(seq 1 12); do good 47 $((10 + i)); done | base64 -w0 > fh.b64
printf '{"requestId":"st-1","timestamp":1714524000000,"records":[{"data":"%s"}]}' "$(cat fh.b64)" > fh.json
expect_contains "delivery 3 (POST /firehose): 200" \
    "$(curl -s -w ' %{http_code}' -H 'X-Amz-Firehose-Request-Id: st-1' -H 'Content-Type: application/json' \
        --data-binary @fh.json "$URL/firehose")" '"requestId":"st-1"'
wait_publishes 2 || fail "publish 2 came" "$(get /api/publishes)"

# ---- delivery 4: one CloudWatch Logs event, stays buffered -----------------
printf '{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"vpc-flow-logs","logStream":"eni-cw-all","subscriptionFilters":["f"],"logEvents":[{"id":"36000000000000000000000000000000000000000000000001","timestamp":1714524000000,"message":"%s"}]}' \
    "$(good 48 30)" > cw.json
expect_eq "delivery 4 (POST /cwl): 1 event" \
    "$(curl -s --data-binary @cw.json "$URL/cwl")" '{"accepted":1,"rejected":0,"duplicates":0}'

# ---- publishes -------------------------------------------------------------
expect_eq "GET /api/publishes: 2 attempts, newest first: records, files, blocks, WAL position" \
    "$(js /api/publishes '[[p["ok"], p["records"], p["files"], p["blocks"], p["wal_seq"], p["error"]] for p in d["publishes"]]')" \
    "[[True, 14, 1, 2, 3, None], [True, 23, 1, 1, 1, None]]"
expect_eq "GET /api/publishes: bytes and durations are there" \
    "$(js /api/publishes 'all(p["bytes"] > 0 and p["seconds"] >= 0 and p["time"] > 1700000000 for p in d["publishes"])')" True
expect_eq "GET /api/publishes?limit=1: the newest only" \
    "$(js '/api/publishes?limit=1' '[p["records"] for p in d["publishes"]]')" "[14]"
expect_eq "published bytes in /api/status: the sum of the publishes'" \
    "$(js /api/status 'd["published"]["bytes"]')" "$(js /api/publishes 'sum(p["bytes"] for p in d["publishes"])')"

# ---- /api/status: the sources, WAL and buffer -------------------------------
expect_eq "sources: requests, records, rejected, duplicates, last minute" \
    "$(js /api/status '"\n".join("%s %d %d %d %d %d %d %.3f %s %d" % (k, s["requests"], s["records"], s["rejected"], s["duplicates"], r["records_last_minute"], r["rejected_last_minute"], r["records_per_second"], r["last_request"] is not None, sum(r["per_minute"]["records"])) for (k, s), r in zip(d["sources"].items(), d["source_rates"].values()))')" \
    "ingest 2 25 4 0 25 4 0.417 True 25
firehose 1 12 0 0 12 0 0.200 True 12
cwl 1 1 0 0 1 0 0.017 True 1
watch 0 0 0 0 0 0 0.000 False 0
demo 0 0 0 0 0 0 0.000 False 0
kafka 0 0 0 0 0 0 0.000 False 0"
expect_contains "the source objects of /api/status keep their text: requests first, duplicates last" \
    "$(get /api/status)" '"rejected":4,"duplicates":0},"firehose":{"requests":1,"records":12,'
expect_eq "source_rates: every source; per_minute: 60 minutes ending with this one" \
    "$(js /api/status '[list(d["source_rates"]) == list(d["sources"]), len(d["source_rates"]["ingest"]["per_minute"]["records"]), len(d["source_rates"]["ingest"]["per_minute"]["rejected"]), d["source_rates"]["ingest"]["per_minute"]["start"] % 60]')" \
    "[True, 60, 60, 0]"
expect_eq "WAL and buffer after the two publishes: 1 record waits" \
    "$(js /api/status '[d["wal"]["durable_seq"], d["wal"]["published_seq"], d["wal"]["unpublished_records"], d["buffer"]["records"], d["buffer"]["blocks"], d["buffer"]["interval_seconds"], d["buffer"]["max_bytes"], d["buffer"]["publishing_records"], d["published"]["records"], d["published"]["files"]]')" \
    "[4, 3, 1, 1, 1, 3600, 1024, 0, 37, 2]"
# The known records' newest start is 00:50 (data.sh), so the watermark of
# the start-time metrics is 00:35 and their newest final window ends 00:30.
expect_eq "metrics.per_metric: watermark, newest final window, window" \
    "$(js /api/status '"\n".join("%s %s %s %s" % (m["metric"], m["window"], m["watermark"], m["final_through"]) for m in d["metrics"]["per_metric"] if m["time"] == "start")')" \
    "rejected_tcp_packets 900 1714523700 1714523400
rejected_packets_by_protocol 900 1714523700 1714523400
traffic_by_action_flows 900 1714523700 1714523400
traffic_by_action_bytes 900 1714523700 1714523400
traffic_by_action_packets 900 1714523700 1714523400
top_talkers_bytes 900 1714523700 1714523400
top_talkers_flows 900 1714523700 1714523400
top_rejected_sources_packets 900 1714523700 1714523400
top_rejected_sources_flows 900 1714523700 1714523400"

expect_eq "metrics.per_metric: every metric, none omitted" \
    "$(js /api/status '[len(d["metrics"]["per_metric"]), d["metrics"]["metrics"], d["metrics"]["per_metric_omitted"]]')" "[10, 10, 0]"

# ---- alarm history -----------------------------------------------------------
for _ in $(seq 1 100); do
    get /api/alarms | grep -q '"state":"ALARM"' && break
    sleep 0.1
done
expect_eq "GET /api/alarms/history: tcp_high INSUFFICIENT_DATA -> ALARM, only" \
    "$(js /api/alarms/history '[[h["alarm"], h["old_state"], h["new_state"], h["window_end"], h["threshold"], h["values"]] for h in d["history"]] + [d["complete"]]')" \
    "[['tcp_high', 'INSUFFICIENT_DATA', 'ALARM', '2024-05-01T00:30:00Z', 20.0, [None, 100.0, 30.0]], True]"
expect_eq "GET /api/alarms/history: the rows of vpc_flow_logs.alarm_history" \
    "$(js /api/alarms/history '[[h["time"], h["alarm"], h["old_state"], h["new_state"], h["reason"]] for h in d["history"]]')" \
    "$(curl -s "${AUTH[@]}" --data-binary "SELECT strftime(time, '%Y-%m-%dT%H:%M:%SZ') AS time, alarm, old_state, new_state, reason FROM vpc_flow_logs.alarm_history ORDER BY time DESC, alarm" "$URL/api/query?format=json" \
        | python3 -c 'import json,sys; print([[r["time"], r["alarm"], r["old_state"], r["new_state"], r["reason"]] for r in json.load(sys.stdin)])')"
expect_eq "GET /api/alarms/history?limit=abc is 400" "$(code "${AUTH[@]}" "$URL/api/alarms/history?limit=abc")" 400

# ---- the browser -------------------------------------------------------
FL_URL=$URL FL_KEY=$KEY FL_SHOTS=$SHOTS FL_BAD2_B64=$(printf '%s' "$BAD2" | base64 -w0) \
    node --test --test-reporter=tap "$ROOT/tests/browser/status.test.mjs" > tap.txt 2>&1
st=$?
grep -E '^(not )?ok ' tap.txt | sed 's/^/  browser: /'
np=$(sed -n 's/^# pass //p' tap.txt)
nf=$(sed -n 's/^# fail //p' tap.txt)
if [ -z "$np" ] || [ -z "$nf" ]; then
    fail "node --test ran" "$(tail -30 tap.txt)"
else
    T_PASSED=$((T_PASSED + np))
    T_FAILED=$((T_FAILED + nf))
    [ "$nf" -eq 0 ] && [ "$st" -eq 0 ] || { echo "browser tests failed:"; grep -vE '^ok |^# ' tap.txt | head -60; }
    [ "$st" -ne 0 ] && [ "$nf" -eq 0 ] && fail "node --test exit status" "exit status $st"
fi
expect_eq "the status screenshot is saved" "$([ -s "$SHOTS/status.png" ] && echo yes)" yes
echo "screenshots: $SHOTS"

# ---- a fuller errors folder: the reading stays bounded ----------------------
# 20 older files (one holding a line that is not JSON), and a file with a
# line over 1 MiB and a last line still being written (no newline): only
# the 16 newest files are read, the long line is skipped, the torn one
# left for later.
E=$A/_errors
for i in $(seq -w 1 20); do
    { [ "$i" = 20 ] && echo 'not json'
      printf '{"source":"old-%s.log","line":1,"reason":"old %s","raw":"x"}\n' "$i" "$i"; } > "$E/convert-old-$i.jsonl"
    touch -d "2020-01-01 00:00:$i" "$E/convert-old-$i.jsonl"
done
{ printf '{"source":"big.log","line":1,"reason":"big","raw":"%s"}\n' "$(head -c 1100000 /dev/zero | tr '\0' a)"
  printf '{"source":"big.log","line":2,"reason":"after the big one","raw":"y"}\n'
  printf '{"source":"big.log","line":3,"reason":"torn","raw":"z' ; } > "$E/convert-big.jsonl"
touch -d "2020-01-02 00:00:00" "$E/convert-big.jsonl"
expect_eq "GET /api/rejects over 22 files: the 16 newest read, newest first, bounded" \
    "$(js '/api/rejects?limit=200' '[d["files_total"], d["files_read"], len(d["files"]), d["files"][0]["name"].startswith("serve-"), d["files"][1]["name"], d["files"][15]["name"], d["lines_read"], d["unreadable"], d["too_long"], d["complete"], len(d["samples"])]')" \
    "[22, 16, 16, True, 'convert-big.jsonl', 'convert-old-07.jsonl', 20, 1, 1, False, 19]"
expect_eq "the samples: the server's lines, then the newer files' ones" \
    "$(js '/api/rejects?limit=7' '[s["reason"][:12] for s in d["samples"]]')" \
    "['field 1 (ver', 'field 3 (int', 'expected 14 ', 'expected 14 ', 'after the bi', 'old 20', 'old 19']"
# Lines that straddle the 64 KiB pieces the files are read in: 3000 lines
# of varying length (about 270 KiB) are each read whole, once.
rm "$E"/convert-old-*.jsonl "$E/convert-big.jsonl"
awk 'BEGIN { for (i = 1; i <= 3000; i++) { r = sprintf("%*s", i % 97, ""); gsub(/ /, "r", r);
    printf "{\"source\":\"many.log\",\"line\":%d,\"reason\":\"many\",\"raw\":\"%s%d\"}\n", i, r, i } }' \
    > "$E/convert-many.jsonl"
touch -d "2020-01-03 00:00:00" "$E/convert-many.jsonl"
expect_eq "GET /api/rejects over a file read in pieces: every line whole" \
    "$(js '/api/rejects?limit=6' '[d["lines_read"], d["unreadable"], d["complete"], [r["count"] for r in d["reasons"] if r["reason"] == "many"], [s["line"] for s in d["samples"]], d["samples"][5]["raw"] == "r" * (2999 % 97) + "2999"]')" \
    "[3004, 0, True, [3000], [5, 4, 3, 2, 3000, 2999], True]"

# ---- a publish that fails, then works again --------------------------------
# A file where the partition folder of 2023 would go: the publish of 12
# records of 2023 (with the CloudWatch Logs record still buffered) fails,
# is kept in the list with its error, and is retried every 5 s until the
# file is gone.
touch "$A/year=2023"
for i in $(seq 1 12); do
    echo "2 123456789012 eni-0c3 10.0.3.$i 10.9.0.1 40001 443 6 1 100 1700000000 1700000030 ACCEPT OK"
done > y2023.log
expect_eq "delivery 5 (POST /ingest): 12 records of 2023" \
    "$(curl -s --data-binary @y2023.log "$URL/ingest")" '{"accepted":12,"rejected":0}'
wait_publishes 3 || fail "publish 3 was tried" "$(get /api/publishes)"
expect_eq "the failed attempt is listed first, with its error and no records" \
    "$(js /api/publishes '[d["publishes"][0]["ok"], d["publishes"][0]["records"], d["publishes"][0]["blocks"], d["publishes"][0]["wal_seq"], "Not a directory" in (d["publishes"][0]["error"] or "")]')" \
    "[False, 0, 2, 5, True]"
expect_eq "/api/status: the failure counted, its error, the records still waiting" \
    "$(js /api/status '[d["published"]["failures"], "Not a directory" in d["published"]["last_error"], d["wal"]["unpublished_records"]]')" \
    "[1, True, 13]"
rm "$A/year=2023"
for _ in $(seq 1 80); do
    [ "$(js /api/publishes 'd["publishes"][0]["ok"]')" = True ] && break
    sleep 0.1
done
expect_eq "the retry publishes the same 13 records" \
    "$(js /api/publishes '[[p["ok"], p["records"], p["wal_seq"]] for p in d["publishes"][:2]]')" \
    "[[True, 13, 5], [False, 0, 5]]"

# SIGTERM: the server exits 0 -- with a sanitizer build, also without a
# report (a leak makes the exit status non-zero).
kill "$PID" 2>/dev/null
wait "$PID" 2>/dev/null
rc=$?
expect_eq "the server stops cleanly (exit 0, no sanitizer report)" \
    "$rc $(grep -c 'Sanitizer' serve.err)" "0 0"
finish
