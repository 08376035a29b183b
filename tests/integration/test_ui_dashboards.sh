#!/usr/bin/env bash
# The web UI's dashboards as data (docs/ui.md#dashboards-as-data) over HTTP:
# GET /api/dashboards (the list), GET /api/dashboards/NAME (the embedded
# default, then the saved one byte for byte), PUT (valid; invalid bodies --
# not JSON, too big, a bad name, an unknown widget type or chart kind,
# 101 widgets --
# each 400 or 413 with its message), DELETE (the default comes back; 404
# when nothing is saved), the read and admin keys (401), the folder
# (0700, no temporary file left behind), ui.dashboards_dir, and
# server.admin_key_file with `config check`.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TMP"
A=$TMP/archive
KEY=r3ad-k3y
ADMIN=adm1n-k3y
D=$A/_flowlake/dashboards
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
R=(-H "Authorization: Bearer $KEY")
W=(-H "Authorization: Bearer $ADMIN")
# put NAME FILE [curl args]: "STATUS BODY"
put() {
    local n=$1 f=$2
    shift 2
    curl -s -o put.out -w '%{http_code}' -X PUT --data-binary @"$f" "$@" \
        "$URL/api/dashboards/$n"
    printf ' %s' "$(cat put.out)"
}
# js EXPR: EXPR over the JSON on stdin (bound to d).
js() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# ---- no admin key: PUT and DELETE take the read key -----------------------
start_server --set server.read_key=$KEY
expect_eq "GET /api/dashboards without the key: 401" "$(code "$URL/api/dashboards")" 401
expect_eq "GET /api/dashboards/default without the key: 401" \
    "$(code "$URL/api/dashboards/default")" 401
expect_eq "the list: the default only" \
    "$(curl -s "${R[@]}" "$URL/api/dashboards" | js '[(e["name"], e["title"], e["source"], e["modified"]) for e in d]')" \
    "[('VPC-Flow-Log-Analysis', 'VPC-Flow-Log-Analysis', 'default', None)]"
curl -s "${R[@]}" -o def.json "$URL/api/dashboards/VPC-Flow-Log-Analysis"
expect_eq "GET the default: web/dashboard-default.json as it is" \
    "$(cmp -s def.json "$ROOT/web/dashboard-default.json" && echo same)" same
expect_eq "\"default\" names it too" \
    "$(curl -s "${R[@]}" "$URL/api/dashboards/default" | cmp -s - def.json && echo same)" same
expect_eq "the default's widgets" \
    "$(js '[w["id"] for w in d["widgets"]]' < def.json)" \
    "['tcp', 'proto', 'actions', 'talkers', 'rejected', 'ingest', 'alarms']"
expect_eq "GET an unknown dashboard: 404" \
    "$(code "${R[@]}" "$URL/api/dashboards/nope")" 404
expect_eq "GET /ui/dashboard-default.json: the same bytes, no key" \
    "$(curl -s "$URL/ui/dashboard-default.json" | cmp -s - def.json && echo same)" same
expect_eq "POST /api/dashboards/x: 405" \
    "$(code "${R[@]}" -X POST --data x "$URL/api/dashboards/x")" 405
expect_eq "PUT /api/dashboards (no name): 405" \
    "$(code "${R[@]}" -X PUT --data x "$URL/api/dashboards")" 405

# A saved dashboard: a title changed and one sql widget added.
python3 - <<'EOF'
import json
d = json.load(open("def.json"))
d["name"] = "ops"
d["title"] = "Ops view"
d["widgets"][0]["title"] = "TCP refused"
d["widgets"].append({"id": "w8", "type": "sql", "title": "Ports",
    "sql": "SELECT dstport, COUNT(*) AS n FROM flow_logs GROUP BY 1 ORDER BY 2 DESC LIMIT 5",
    "w": 6, "h": 3, "x": 0, "y": 11})
open("ops.json", "w").write(json.dumps(d, indent=1) + "\n")
EOF
expect_eq "PUT without the key: 401" "$(put ops ops.json | head -c3)" 401
expect_eq "no folder before the first save" "$([ -e "$D" ] && echo yes || echo no)" no
expect_eq "PUT with the read key (no admin key set): 200" "$(put ops ops.json "${R[@]}" | head -c3)" 200
expect_eq "the answer is the stored document" "$(cmp -s put.out ops.json && echo same)" same
expect_eq "GET it back: byte-exact" \
    "$(curl -s "${R[@]}" "$URL/api/dashboards/ops" | cmp -s - ops.json && echo same)" same
expect_eq "the folder: ARCHIVE/_flowlake/dashboards, mode 0700" "$(stat -c %a "$D")" 700
expect_eq "the folder holds ops.json only (no temporary file)" "$(ls -A "$D")" ops.json
list=$(curl -s "${R[@]}" "$URL/api/dashboards")
expect_eq "the list: the default and ops" \
    "$(echo "$list" | js '[(e["name"], e["title"], e["source"]) for e in d]')" \
    "[('VPC-Flow-Log-Analysis', 'VPC-Flow-Log-Analysis', 'default'), ('ops', 'Ops view', 'saved')]"
expect_eq "the list: ops's modified time is ISO 8601 UTC" \
    "$(echo "$list" | js 'd[1]["modified"]' | grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$')" 1

# ---- invalid bodies ------------------------------------------------------
printf '{"widgets": [' > bad1.json
r=$(put ops bad1.json "${R[@]}")
expect_eq "not JSON: 400" "${r%% *}" 400
expect_contains "not JSON: the message" "$r" "not JSON:"
python3 -c 'import json; print(json.dumps({"title": "x" * (300 * 1024), "widgets": []}))' > big.json
r=$(put ops big.json "${R[@]}")
expect_eq "over 256 KiB: 413" "${r%% *}" 413
expect_contains "over 256 KiB: the message" "$r" "a dashboard is at most 262144 bytes"
r=$(put ops big.json "${R[@]}" -H 'Transfer-Encoding: chunked')
expect_eq "over 256 KiB, chunked (no Content-Length): 413" "${r%% *}" 413
expect_contains "over 256 KiB, chunked: the message" "$r" "a dashboard is at most 262144 bytes"
r=$(curl -s -w ' %{http_code}' -X PUT --path-as-is --data-binary @ops.json "${R[@]}" "$URL/api/dashboards/../x")
expect_eq "a name ../x: 400 (not a plain path)" "${r##* }" 400
r=$(put .hidden ops.json "${R[@]}")
expect_eq "a name with a leading dot: 400" "${r%% *}" 400
expect_contains "a bad name: the rule" "$r" "a dashboard name is 1 to 64 of A-Z a-z 0-9 . _ -, not starting with a dot"
r=$(put "$(printf 'n%.0s' $(seq 1 65))" ops.json "${R[@]}")
expect_eq "a name of 65 characters: 400" "${r%% *}" 400
r=$(put 'a%2Fb' ops.json "${R[@]}")
expect_eq "a name with a percent-encoded slash: 400" "${r%% *}" 400
python3 -c 'import json; print(json.dumps({"widgets": [{"type": "pie", "w": 1, "h": 1, "x": 0, "y": 0}]}))' > pie.json
r=$(put ops pie.json "${R[@]}")
expect_eq "an unknown widget type: 400" "${r%% *}" 400
expect_contains "an unknown widget type: the message" "$r" 'widget 0: unknown type \"pie\"'
python3 -c 'import json; print(json.dumps({"widgets": [{"type": "sql", "sql": "SELECT 1", "w": 1, "h": 1, "x": 0, "y": i} for i in range(101)]}))' > many.json
r=$(put ops many.json "${R[@]}")
expect_eq "101 widgets: 400" "${r%% *}" 400
expect_contains "101 widgets: the message" "$r" "101 widgets: at most 100"
python3 -c 'import json; print(json.dumps({"widgets": [{"type": "sql", "sql": "SELECT 1", "w": 1, "h": 1, "x": 0, "y": i} for i in range(100)]}))' > hundred.json
expect_eq "100 widgets: 200" "$(put hundred hundred.json "${R[@]}" | head -c3)" 200
python3 -c 'import json; print(json.dumps({"widgets": [{"type": "metric", "metric": "records_in", "w": "4", "h": 1, "x": 0, "y": 0}]}))' > str.json
r=$(put ops str.json "${R[@]}")
expect_eq "a size that is a string: 400" "${r%% *}" 400
expect_contains "a size that is a string: the message" "$r" 'widget 0: \"w\" must be a number'
python3 -c 'import json; print(json.dumps({"widgets": [{"type": "alarms", "w": 1, "h": 1, "x": 0, "y": 0}, {"type": "metric", "metric": "records_in", "w": 4, "h": 1, "x": 0, "y": 1, "options": {"chart": "pie"}}]}))' > chart.json
r=$(put ops chart.json "${R[@]}")
expect_eq "an unknown options.chart: 400" "${r%% *}" 400
expect_contains "an unknown options.chart: the message" "$r" 'widget 1: \"options.chart\" must be \"line\" or \"bar\"'
python3 -c 'import json; print(json.dumps({"widgets": [{"type": "metric", "metric": "records_in", "w": 4, "h": 1, "x": 0, "y": 0, "options": {"chart": "bar"}}]}))' > bars.json
expect_eq "options.chart bar: 200" "$(put bars bars.json "${R[@]}" | head -c3)" 200
echo '[1, 2]' > arr.json
r=$(put ops arr.json "${R[@]}")
expect_contains "an array: 400, a dashboard is an object" "$r" "400 "
expect_contains "an array: the message" "$r" "a dashboard is a JSON object"
echo '{"title": "t"}' > nowidgets.json
expect_contains "no widgets: 400" "$(put ops nowidgets.json "${R[@]}")" 'the dashboard needs a \"widgets\" array'
expect_eq "after the refused PUTs ops is unchanged" \
    "$(curl -s "${R[@]}" "$URL/api/dashboards/ops" | cmp -s - ops.json && echo same)" same
expect_eq "no temporary file left behind" "$(ls -A "$D" | sort | tr '\n' ' ')" "bars.json hundred.json ops.json "

# ---- the default, saved over and reverted ----------------------------------
expect_eq "PUT default: saved under the default's name" \
    "$(put default ops.json "${R[@]}" | head -c3)" 200
expect_eq "GET the default now: the saved one" \
    "$(curl -s "${R[@]}" "$URL/api/dashboards/VPC-Flow-Log-Analysis" | cmp -s - ops.json && echo same)" same
expect_eq "the list: the default's entry is saved" \
    "$(curl -s "${R[@]}" "$URL/api/dashboards" | js '[(e["name"], e["source"]) for e in d if e["name"] == "VPC-Flow-Log-Analysis"]')" \
    "[('VPC-Flow-Log-Analysis', 'saved')]"
expect_eq "DELETE default: 200" "$(code "${R[@]}" -X DELETE "$URL/api/dashboards/default")" 200
expect_eq "the embedded default is back" \
    "$(curl -s "${R[@]}" "$URL/api/dashboards/default" | cmp -s - def.json && echo same)" same
expect_eq "DELETE default again: 404" "$(code "${R[@]}" -X DELETE "$URL/api/dashboards/default")" 404
expect_eq "DELETE ops: 200" "$(code "${R[@]}" -X DELETE "$URL/api/dashboards/ops")" 200
expect_eq "GET ops: 404" "$(code "${R[@]}" "$URL/api/dashboards/ops")" 404
expect_eq "DELETE without the key: 401" "$(code -X DELETE "$URL/api/dashboards/hundred")" 401
kill "$PID"; wait "$PID" 2>/dev/null

# ---- an admin key: PUT and DELETE take it, not the read key ---------------
printf '%s\n' "$ADMIN" > admin.key
chmod 600 admin.key
mkdir -p elsewhere
start_server --set server.read_key=$KEY --set server.admin_key_file=admin.key \
    --set ui.dashboards_dir="$TMP/elsewhere/dash"
expect_eq "PUT with the read key when an admin key is set: 401" \
    "$(put ops ops.json "${R[@]}" | head -c3)" 401
expect_eq "PUT with the admin key: 200" "$(put ops ops.json "${W[@]}" | head -c3)" 200
expect_eq "ui.dashboards_dir: the file is there" \
    "$(cmp -s "$TMP/elsewhere/dash/ops.json" ops.json && echo same)" same
expect_eq "GET with the read key: 200" "$(code "${R[@]}" "$URL/api/dashboards/ops")" 200
expect_eq "GET with the admin key only: 401 (reading takes the read key)" \
    "$(code "${W[@]}" "$URL/api/dashboards/ops")" 401
expect_eq "DELETE with the read key: 401" "$(code "${R[@]}" -X DELETE "$URL/api/dashboards/ops")" 401
expect_eq "DELETE with the admin key: 200" "$(code "${W[@]}" -X DELETE "$URL/api/dashboards/ops")" 200
expect_eq "the folder is empty after the delete" "$(ls -A "$TMP/elsewhere/dash")" ""
kill "$PID"; wait "$PID" 2>/dev/null

# ---- config check ------------------------------------------------------------
printf '[server]\nadmin_key = x\nadmin_key_file = %s\n[archive]\ndir = %s\n' "$TMP/admin.key" "$A" > both.ini
out=$("$FLOWLAKE" config check both.ini 2>&1)
expect_contains "config check: admin_key and admin_key_file both set" "$out" \
    "server.admin_key and server.admin_key_file both set"
printf '[server]\nadmin_key = a b\n[archive]\ndir = %s\n' "$A" > blank.ini
out=$("$FLOWLAKE" config check blank.ini 2>&1)
expect_contains "config check: a blank in the admin key" "$out" "server.admin_key holds a blank"
expect_contains "config defaults: server.admin_key" "$("$FLOWLAKE" config defaults)" "admin_key ="
expect_contains "config defaults: [ui] dashboards_dir" "$("$FLOWLAKE" config defaults)" "dashboards_dir ="
finish
