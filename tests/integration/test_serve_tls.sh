#!/usr/bin/env bash
# HTTPS built in (Firehose delivers only over HTTPS): a certificate the
# test makes, a Firehose request over TLS, plain HTTP refused, bad
# certificate settings reported.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
command -v openssl >/dev/null || { echo "openssl is required"; exit 1; }
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.pem -out other-cert.pem -days 2 \
    -subj /CN=other 2>/dev/null

"$FLOWLAKE" serve --listen 127.0.0.1:0 --archive a --set server.tls_cert=cert.pem \
    --set server.tls_key=key.pem >serve.out 2>serve.err &
PID=$!
for _ in $(seq 1 100); do grep -q 'listening on' serve.out 2>/dev/null && break; sleep 0.05; done
expect_contains "announces https" "$(cat serve.out)" "listening on https://127.0.0.1:"
PORT=$(sed -n 's/.*:\([0-9]*\), archive.*/\1/p' serve.out)
expect_eq "GET /healthz over TLS, certificate verified" \
    "$(curl -s --cacert cert.pem "https://127.0.0.1:$PORT/healthz")" "ok"
data=$(printf '2 1 eni-tls 10.0.0.1 10.0.0.2 1 443 6 1 100 1714521600 1714521660 ACCEPT OK\n' | base64 -w0)
printf '{"requestId":"tls-1","timestamp":1714521600000,"records":[{"data":"%s"}]}' "$data" > req.json
out=$(curl -s --cacert cert.pem -H 'X-Amz-Firehose-Request-Id: tls-1' --data-binary @req.json \
      "https://127.0.0.1:$PORT/firehose")
expect_contains "Firehose request over TLS" "$out" '{"requestId":"tls-1","timestamp":'
curl -s -m 3 "http://127.0.0.1:$PORT/healthz" >/dev/null; st=$?
[ "$st" -ne 0 ] && ok "plain HTTP is not served on the TLS port" || fail "plain HTTP answered"
kill -TERM "$PID"; wait "$PID"; st=$?
expect_status "TLS server exits 0 on SIGTERM" 0 $st
expect_eq "the record reached the archive" \
    "$("$FLOWLAKE" query --archive a --output csv "SELECT count(*) FROM flow_logs WHERE interface_id = 'eni-tls'" | tail -1)" "1"

"$FLOWLAKE" serve --listen 127.0.0.1:0 --archive a --set server.tls_cert=cert.pem >/dev/null 2>err.txt; st=$?
expect_status "certificate without key fails" 1 $st
expect_contains "says they go together" "$(cat err.txt)" "server.tls_cert and server.tls_key go together"
"$FLOWLAKE" serve --listen 127.0.0.1:0 --archive a --set server.tls_cert=cert.pem \
    --set server.tls_key=other.pem >/dev/null 2>err.txt; st=$?
expect_status "mismatched key fails" 1 $st
expect_contains "names the files" "$(cat err.txt)" "check that cert.pem and other.pem are a matching PEM certificate and key"
"$FLOWLAKE" serve --listen 127.0.0.1:0 --archive a --set server.tls_cert=missing.pem \
    --set server.tls_key=key.pem >/dev/null 2>err.txt; st=$?
expect_status "missing certificate fails" 1 $st
expect_contains "names the missing file" "$(cat err.txt)" "cannot read missing.pem: No such file or directory"
finish
