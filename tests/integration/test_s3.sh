#!/usr/bin/env bash
# The archive copied to S3-compatible object storage, as a user runs it:
# against a signature-checking S3 server of our own (tests/tools/
# s3_sigcheck.py: botocore's signer recomputes every request's AWS
# Signature Version 4 and the body's SHA-256) -- `flowlake upload` of an
# archive, every object byte for byte the local file, the change manifest
# written, the outbox emptied; a wrong secret refused and the files kept;
# 503s and dropped connections retried; retries running out; a multipart
# upload; compaction and retention carried over (merged files up, small
# files deleted, expired hours gone) -- and against s3rver (npm), with
# `flowlake serve` uploading what it publishes, a kill -9 in the middle of
# uploads and the store being down for a while: in the end the bucket
# holds exactly the archive's files.
. "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
SIGCHECK=$root/tests/tools/s3_sigcheck.py
S3RVER=$root/web/node_modules/s3rver/bin/s3rver.js
cd "$TMP" || exit 1

# Outside CI a machine without the test tools skips; in CI they are
# installed by scripts/bootstrap.sh --test, and missing is a failure.
missing() {
    if [ -n "${CI:-}" ]; then fail "$1" "$2"; else skip "$1" "$2"; fi
    finish; exit $?
}
python3 -c 'import botocore' 2>/dev/null \
    || missing "object storage" "python3-botocore is not installed (scripts/bootstrap.sh --test)"

AK=AKIDFLOWLAKETEST
SK=flowlake-test-secret
# start_sigcheck NAME ARGS...: the checking server; sets S3PORT, S3PID.
start_sigcheck() {
    local name=$1; shift
    python3 "$SIGCHECK" --port 0 --root "$name.root" --bucket flows \
        --access-key "$AK" --secret "$SK" --log "$name.jsonl" "$@" >"$name.out" 2>&1 &
    S3PID=$!
    for _ in $(seq 1 100); do grep -q listening "$name.out" 2>/dev/null && break; sleep 0.05; done
    S3PORT=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$name.out")
}
stop_s3() { kill "$S3PID" 2>/dev/null; wait "$S3PID" 2>/dev/null; }
# s3ini FILE PORT [MORE KEY LINES]: an [s3] section for the store on PORT.
s3ini() {
    local f=$1 port=$2; shift 2
    { echo "[s3]"; echo "url = s3://flows/vpc/"; echo "endpoint = http://127.0.0.1:$port"
      echo "path_style = true"; echo "access_key_id = $AK"; echo "secret_access_key = $SK"
      echo "max_backoff = 1s"; for l in "$@"; do echo "$l"; done; } >"$f"
}
# same_tree ARCHIVE STOREDIR: every Parquet file of the archive's data (not
# its _flowlake/ or _metrics/ folders) is in the store, byte for byte, and
# the store has no other data object.
same_tree() {
    local a=$1 s=$2 f bad=0
    for f in $(cd "$a" && find . -path './_*' -prune -o -name '*.parquet' -print | sort); do
        cmp -s "$a/$f" "$s/$f" || { echo "differs or missing: $f"; bad=1; }
    done
    local want got
    want=$(cd "$a" && find . -path './_*' -prune -o -name '*.parquet' -print | sort)
    got=$(cd "$s" && find . -path './_*' -prune -o -type f -print | sort)
    [ "$want" = "$got" ] || { echo "the store's objects:"; echo "$got"; echo "the archive's files:"; echo "$want"; bad=1; }
    return $bad
}

# ---- usage -----------------------------------------------------------------
"$FLOWLAKE" upload --help >help.txt 2>&1; st=$?
expect_status "upload --help exits 0" 0 $st
expect_contains "--help shows the usage" "$(head -n 1 help.txt)" "usage: flowlake upload"
"$FLOWLAKE" upload --archive A >out.txt 2>&1; st=$?
expect_status "no store is a usage error" 2 $st
expect_contains "... saying what to give" "$(cat out.txt)" "no object store: give --url"
mkdir -p A
"$FLOWLAKE" upload --archive A --url http://flows/x >out.txt 2>&1; st=$?
expect_status "a URL that is not s3:// is refused" 2 $st
expect_contains "... naming the key" "$(cat out.txt)" 's3.url "http://flows/x" is not s3://BUCKET/PREFIX/'
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$FLOWLAKE" upload --archive A --url s3://flows/ >out.txt 2>&1; st=$?
expect_status "no credentials is refused" 2 $st
expect_contains "... saying where they come from" "$(cat out.txt)" "no S3 credentials"

# ---- an archive uploaded, signatures checked -------------------------------
for i in 1 2 3; do
    "$FLOWLAKE" generate --seed "$i" --records 20000 --start 2024-05-01 --span 3h >"p$i.log" 2>/dev/null
done
"$FLOWLAKE" convert --quiet --archive A p1.log p2.log >/dev/null 2>&1
count_before=$("$FLOWLAKE" query --archive A --output csv "SELECT count(*) FROM flow_logs" | tail -n 1)
start_sigcheck sc
s3ini good.ini "$S3PORT"
s3ini bad.ini "$S3PORT" "secret_access_key = not-the-secret"

"$FLOWLAKE" upload --archive A --config bad.ini >out.txt 2>&1; st=$?
expect_status "a wrong secret: upload fails" 1 $st
expect_contains "... with the store's reason" "$(cat out.txt)" "HTTP 403 SignatureDoesNotMatch"
expect_contains "... and the change still pending" "$(cat out.txt)" "1 change pending"
expect_eq "... its files kept in the outbox" "$(ls A/_flowlake/outbox/*-initial/files | wc -l)" "3"

"$FLOWLAKE" upload --archive A --config good.ini >out.txt 2>&1; st=$?
expect_status "upload exits 0" 0 $st
expect_contains "it reports what it sent" "$(cat out.txt)" "1 change, 3 files"
expect_contains "... and that nothing is left" "$(cat out.txt)" "0 changes pending"
out=$(same_tree A sc.root/flows/vpc) && ok "the store holds the archive, byte for byte" \
    || fail "the store holds the archive, byte for byte" "$out"
expect_eq "the outbox is empty" "$(ls A/_flowlake/outbox | wc -l)" "0"
manifest=$(ls sc.root/flows/vpc/_flowlake/runs/*-initial.json 2>/dev/null | head -n 1)
[ -n "$manifest" ] && ok "the change's manifest is written" || fail "the change's manifest is written"
expect_eq "... listing the three objects with their sizes" \
    "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["objects"]), all(o["bytes"] > 0 for o in d["objects"]), d["deletes"])' "$manifest")" "3 True []"
expect_eq "the manifest was the change's last upload" \
    "$(grep '"PUT"' sc.jsonl | grep '"status": 200' | tail -n 1 | grep -c '_flowlake/runs/')" "1"
expect_eq "every accepted request signed x-amz-content-sha256, host, x-amz-date" \
    "$(python3 -c '
import json, sys
n = bad = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["status"] >= 400: continue
    n += 1
    if not {"host", "x-amz-content-sha256", "x-amz-date"} <= set(r["signed_headers"] or []): bad += 1
print(n > 0, bad)' sc.jsonl)" "True 0"
expect_eq "the keys are percent-encoded as signed (year%3D)" \
    "$(grep -c 'year%3D2024/month%3D05' sc.jsonl | awk '{print ($1 > 0)}')" "1"
"$FLOWLAKE" upload --archive A --config good.ini >out.txt 2>&1
expect_contains "a second run has nothing to do" "$(cat out.txt)" "0 changes, 0 files"

# A later convert is recorded and carried over on its own.
"$FLOWLAKE" convert --quiet --archive A p3.log >/dev/null 2>&1
expect_eq "a publish after that is one change in the outbox" "$(ls A/_flowlake/outbox | wc -l)" "1"
AWS_SESSION_TOKEN=temporary-token "$FLOWLAKE" upload --archive A --config good.ini >out.txt 2>&1
expect_contains "... uploaded as one change of 3 files" "$(cat out.txt)" "1 change, 3 files"
expect_eq "temporary credentials: x-amz-security-token sent and signed" \
    "$(tail -n 1 sc.jsonl | python3 -c 'import json,sys; print("x-amz-security-token" in json.load(sys.stdin)["signed_headers"])')" "True"
out=$(same_tree A sc.root/flows/vpc) && ok "... and the store matches again" || fail "... and the store matches again" "$out"
stop_s3

# ---- failures on the way: retried ---------------------------------------------
rm -rf B && cp -r A B && rm -rf B/_flowlake/outbox
start_sigcheck flaky --fail-first 2 --drop-first 1
s3ini flaky.ini "$S3PORT"
"$FLOWLAKE" upload --archive B --config flaky.ini >out.txt 2>&1; st=$?
expect_status "503s and dropped connections: upload still succeeds" 0 $st
retried=$(sed -n 's/.*(\([0-9]*\) retried).*/\1/p' out.txt)
[ "${retried:-0}" -ge 20 ] && ok "... after retrying each request ($retried retries)" \
    || fail "... after retrying each request" "$(cat out.txt)"
out=$(same_tree B flaky.root/flows/vpc) && ok "... and the store holds every file" || fail "... and the store holds every file" "$out"
stop_s3

rm -rf C && cp -r A C && rm -rf C/_flowlake/outbox
start_sigcheck down --fail-first 5
s3ini few.ini "$S3PORT" "retries = 2"
"$FLOWLAKE" upload --archive C --config few.ini >out.txt 2>&1; st=$?
expect_status "retries running out: upload fails" 1 $st
expect_contains "... with the store's last answer" "$(cat out.txt)" "HTTP 503 SlowDown"
expect_contains "... everything still pending" "$(cat out.txt)" "1 change pending"
s3ini more.ini "$S3PORT" "retries = 8"
"$FLOWLAKE" upload --archive C --config more.ini >out.txt 2>&1; st=$?
expect_status "... and a later run finishes it" 0 $st
out=$(same_tree C down.root/flows/vpc) && ok "... the store then holding every file" || fail "... the store then holding every file" "$out"
stop_s3

# ---- multipart ---------------------------------------------------------------
"$FLOWLAKE" generate --seed 9 --records 1000000 --start 2024-05-02 --span 50m >big.log 2>/dev/null
"$FLOWLAKE" convert --quiet --archive M big.log >/dev/null 2>&1
big=$(find M -name '*.parquet' | head -n 1)
size=$(stat -c %s "$big")
[ "$size" -gt $((10 * 1024 * 1024)) ] && ok "a file of more than two 5 MiB parts ($size bytes)" \
    || fail "a file of more than two 5 MiB parts" "$size bytes"
start_sigcheck mp
s3ini mp.ini "$S3PORT" "part_size = 5MiB"
"$FLOWLAKE" upload --archive M --config mp.ini >out.txt 2>&1; st=$?
expect_status "a multipart upload" 0 $st
expect_eq "... started with POST ?uploads=" "$(grep '"POST"' mp.jsonl | grep -c '"query": "uploads="')" "1"
parts=$(( (size + 5242879) / 5242880 ))
expect_eq "... $parts parts of 5 MiB" "$(grep '"PUT"' mp.jsonl | grep -c 'partNumber=')" "$parts"
expect_eq "... completed once" "$(grep '"POST"' mp.jsonl | grep '"status": 200' | grep -c '"query": "uploadId=')" "1"
out=$(same_tree M mp.root/flows/vpc) && ok "... and the object is the file, byte for byte" || fail "... and the object is the file, byte for byte" "$out"
stop_s3

# ---- compaction and retention carried over -------------------------------------
start_sigcheck cr
s3ini cr.ini "$S3PORT"
"$FLOWLAKE" upload --archive A --config cr.ini >/dev/null 2>&1
"$FLOWLAKE" compact --archive A --after 0s >out.txt 2>&1
expect_contains "the archive's hours compacted" "$(cat out.txt)" "3 hours compacted, 6 files -> 3"
expect_eq "... recorded in the outbox" "$(ls A/_flowlake/outbox | grep -c compact-)" "3"
"$FLOWLAKE" upload --archive A --config cr.ini >out.txt 2>&1; st=$?
expect_status "the compacted hours uploaded" 0 $st
expect_contains "... the small files deleted from the store" "$(cat out.txt)" "6 objects deleted"
out=$(same_tree A cr.root/flows/vpc) && ok "... the store holding exactly the compacted files" \
    || fail "... the store holding exactly the compacted files" "$out"
expect_eq "queries keep working on the local copy" \
    "$("$FLOWLAKE" query --archive A --output csv "SELECT count(*) FROM flow_logs" | tail -n 1)" "60000"
"$FLOWLAKE" compact --archive A --retention 1d >out.txt 2>&1
expect_contains "retention expires the hours" "$(cat out.txt)" "3 hours expired"
"$FLOWLAKE" upload --archive A --config cr.ini >out.txt 2>&1; st=$?
expect_status "retention carried over" 0 $st
expect_eq "... no data object left in the store" \
    "$(cd cr.root/flows/vpc && find . -path './_*' -prune -o -type f -print | wc -l)" "0"
# (6: the three compacted hours and the three expired ones, each a change.)
sleep 2.2
s3ini prune.ini "$S3PORT" "manifest_retention = 1s"
"$FLOWLAKE" upload --archive A --config prune.ini >out.txt 2>&1; st=$?
expect_status "manifests past s3.manifest_retention are deleted" 0 $st
n_runs=$(find cr.root/flows/vpc/_flowlake/runs -name '*.json' | wc -l)
expect_contains "... said in the output" "$(cat out.txt)" "0 changes, 0 files (0.0 MB) uploaded, 0 objects deleted, 6 old manifests deleted"
expect_eq "... and gone from the store" "$n_runs" "0"
stop_s3
expect_eq "(the local count before any of this)" "$count_before" "40000"

# ---- serve, against s3rver ------------------------------------------------------
[ -f "$S3RVER" ] \
    || missing "serve against s3rver" "web/node_modules/s3rver is not installed (scripts/bootstrap.sh --test)"
node "$S3RVER" -d s3rver.d -a 127.0.0.1 -p 0 --configure-bucket flows >s3rver.out 2>&1 &
RVPID=$!
for _ in $(seq 1 100); do grep -q listening s3rver.out 2>/dev/null && break; sleep 0.05; done
RVPORT=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' s3rver.out)
[ -n "$RVPORT" ] && ok "s3rver runs" || fail "s3rver runs" "$(cat s3rver.out)"
# list_rv: the bucket's data keys under vpc/, sorted, through ListObjectsV2.
list_rv() {
    local empty=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 token="" page
    : >keys.txt
    while :; do
        q="list-type=2&prefix=vpc%2Fyear"
        [ -n "$token" ] && q="continuation-token=$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1],safe=""))' "$token")&$q"
        page=$(curl -s --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER \
            -H "x-amz-content-sha256: $empty" "http://127.0.0.1:$RVPORT/flows?$q")
        echo "$page" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g' >>keys.txt
        token=$(echo "$page" | sed -n 's/.*<NextContinuationToken>\([^<]*\)<.*/\1/p')
        [ -n "$token" ] || break
    done
    sed 's/^vpc\///' keys.txt | sort
}
local_keys() { (cd "$1" && find . -path './_*' -prune -o -name '*.parquet' -print | sed 's/^\.\///' | sort); }
status_upload() { curl -s "$URL/api/status" | python3 -c "import json,sys; u=json.load(sys.stdin)['upload']; print(u['$1'])"; }
# wait_uploaded: until the server's outbox is empty.
wait_uploaded() {
    for _ in $(seq 1 $((600 * ${FL_TEST_TIMEOUT_MULTIPLIER:-1}))); do
        [ "$(ls "$A/_flowlake/outbox" 2>/dev/null | wc -l)" = 0 ] && return 0
        sleep 0.05
    done
    return 1
}
{ echo "[s3]"; echo "url = s3://flows/vpc/"; echo "endpoint = http://127.0.0.1:$RVPORT"
  echo "path_style = true"; echo "access_key_id = S3RVER"; echo "secret_access_key = S3RVER"
  echo "max_backoff = 1s"; } >rv.ini
A=S
"$FLOWLAKE" serve --listen 127.0.0.1:0 --archive S --set server.instance_id=no_underscores >bad.out 2>&1; st=$?
expect_status "a bad instance id stops serve" 2 $st
expect_contains "... saying what an id is" "$(cat bad.out)" "server.instance_id: 'no_underscores' is not 1 to 32 of A-Z a-z 0-9 and '-'"
SETS=(--config rv.ini --set server.allow_unauthenticated=true --set archive.buffer_interval=1s
      --set server.instance_id=collector-a)
start_server "${SETS[@]}"
[ -n "$PORT" ] && ok "serve starts with s3.url set" || fail "serve starts with s3.url set" "$(cat serve.err)"
expect_eq "/api/status: instance" "$(curl -s "$URL/api/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["instance"])')" "collector-a"
for i in 1 2 3; do
    curl -s -X POST --data-binary @"p$i.log" "$URL/ingest" >/dev/null
    sleep 1.2
done
sleep 1.5
wait_uploaded && ok "what the server publishes is uploaded" || fail "what the server publishes is uploaded" "$(ls $A/_flowlake/outbox)"
expect_eq "the bucket holds exactly the archive's files" "$(list_rv)" "$(local_keys S)"
expect_eq "every key carries the instance id" "$(list_rv | grep -vc -- '/part-[0-9]*T[0-9]*Z-collector-a-[0-9a-f]*-0.parquet$')" "0"
expect_eq "/api/status: upload.pending_changes" "$(status_upload pending_changes)" "0"
[ "$(status_upload files_uploaded)" -ge 3 ] && ok "/api/status: upload.files_uploaded" || fail "/api/status: upload.files_uploaded" "$(curl -s $URL/api/status)"
expect_eq "/api/status: upload.last_error" "$(status_upload last_error)" "None"
curl -s "$URL/metrics" >prom.txt
expect_contains "/metrics: flowlake_upload_pending_changes" "$(cat prom.txt)" "flowlake_upload_pending_changes 0"
files_up=$(sed -n 's/^flowlake_upload_files_total //p' prom.txt)
[ "${files_up:-0}" -ge 3 ] && ok "/metrics: flowlake_upload_files_total ($files_up)" || fail "/metrics: flowlake_upload_files_total" "$(grep upload prom.txt)"
last=$(sed -n 's/^flowlake_upload_last_success_seconds //p' prom.txt)
[ $(( $(date +%s) - ${last:-0} )) -lt 120 ] && ok "/metrics: flowlake_upload_last_success_seconds is recent" \
    || fail "/metrics: flowlake_upload_last_success_seconds is recent" "$last"
one=$(local_keys S | head -n 1)
curl -s --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
    "http://127.0.0.1:$RVPORT/flows/vpc/$(echo "$one" | sed 's/=/%3D/g')" -o got.parquet
cmp -s got.parquet "S/$one" && ok "an object read back is the file" || fail "an object read back is the file" "$one"

# The store goes away: ingestion goes on, uploads wait and report why.
kill "$RVPID"; wait "$RVPID" 2>/dev/null
"$FLOWLAKE" generate --seed 31 --records 20000 --start 2024-05-03 --span 2h >q1.log 2>/dev/null
curl -s -X POST --data-binary @q1.log "$URL/ingest" >/dev/null
for _ in $(seq 1 $((200 * ${FL_TEST_TIMEOUT_MULTIPLIER:-1}))); do [ "$(status_upload pending_changes)" != 0 ] && [ "$(status_upload last_error)" != None ] && break; sleep 0.1; done
expect_contains "the store down: /api/status says why" "$(status_upload last_error)" "Couldn't connect"
fails=$(curl -s "$URL/metrics" | sed -n 's/^flowlake_upload_failures_total //p')
[ "${fails:-0}" -ge 1 ] && ok "... and /metrics counts the failed attempts ($fails)" \
    || fail "... and /metrics counts the failed attempts" "$fails"
expect_eq "... and the query still sees every record" \
    "$(curl -s -X POST --data-binary 'SELECT count(*) FROM flow_logs' "$URL/api/query?format=csv" | tail -n 1)" "80000"
# kill -9 with uploads pending; the store comes back; a restart sends them.
kill -9 "$PID"; wait "$PID" 2>/dev/null
node "$S3RVER" -d s3rver.d -a 127.0.0.1 -p "$RVPORT" --configure-bucket flows >s3rver2.out 2>&1 &
RVPID=$!
for _ in $(seq 1 100); do grep -q listening s3rver2.out 2>/dev/null && break; sleep 0.05; done
start_server "${SETS[@]}"
"$FLOWLAKE" generate --seed 32 --records 20000 --start 2024-05-03 --span 2h >q2.log 2>/dev/null
curl -s -X POST --data-binary @q2.log "$URL/ingest" >/dev/null
sleep 2.5
wait_uploaded && ok "after kill -9 and the store's return, everything is uploaded" \
    || fail "after kill -9 and the store's return, everything is uploaded" "$(ls $A/_flowlake/outbox)"
expect_eq "... the bucket holding exactly the archive's files" "$(list_rv)" "$(local_keys S)"
expect_eq "... which hold every record once" \
    "$("$FLOWLAKE" query --archive S --output csv "SELECT count(*) FROM flow_logs" | tail -n 1)" "100000"
kill "$PID"; wait "$PID" 2>/dev/null
kill "$RVPID"; wait "$RVPID" 2>/dev/null

finish
