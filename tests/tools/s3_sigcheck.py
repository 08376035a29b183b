#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# s3_sigcheck.py -- a small S3-compatible server for the tests that checks
# every request's AWS Signature Version 4 the way S3 does, with botocore's
# own signer (Debian's python3-botocore): the canonical request is built
# from the request as it arrived (path as sent, query sorted, the signed
# headers), so a client that signs unsorted parameters or a path encoded
# otherwise than it sends is refused (403 SignatureDoesNotMatch), and a
# body whose SHA-256 is not the signed x-amz-content-sha256 too
# (400 XAmzContentSHA256Mismatch). s3rver, the behaviour reference, does
# not check signatures.
#
# It keeps objects under --root/BUCKET/KEY and implements what flowlake's
# uploader sends: PUT, HEAD, GET, DELETE of objects, multipart uploads
# (POST ?uploads=, PUT ?partNumber=&uploadId=, POST ?uploadId=, DELETE
# ?uploadId=) and ListObjectsV2. Every request is logged as one JSON line
# to --log. Faults for the retry tests: --fail-first N answers the first N
# requests for each object 503 SlowDown; --drop-first N closes the
# connection without an answer instead.
#
# usage: s3_sigcheck.py --port P (0: any; the line it prints names it) --root DIR --bucket B [--access-key K]
#        [--secret S] [--region R] [--log FILE] [--fail-first N]
#        [--drop-first N]
import argparse
import datetime
import hashlib
import json
import os
import sys
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MIN_PART = 5 * 1024 * 1024


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.uploads = {}          # upload id -> {"key":, "parts": {n: (etag, bytes)}}
        self.seen = {}             # (method, path) -> requests so far
        self.log = open(args.log, "a", buffering=1) if args.log else None


def xml_error(code, message):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code>'
            '<Message>%s</Message></Error>' % (code, escape(message))).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "s3sigcheck"

    def log_message(self, fmt, *a):   # quiet: the JSON log says it all
        pass

    # ---- helpers ----------------------------------------------------------
    def answer(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.command != "HEAD" or "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.note(status)

    def note(self, status, extra=None):
        st = self.server.state
        if st.log:
            rec = {"method": self.command, "path": self.raw_path,
                   "query": self.raw_query, "status": status,
                   "signed_headers": getattr(self, "signed_headers", None),
                   "bytes": len(getattr(self, "body", b""))}
            if extra:
                rec.update(extra)
            with st.lock:
                st.log.write(json.dumps(rec) + "\n")

    def check_signature(self):
        """None when the request is signed right, else (status, code, msg)."""
        args = self.server.state.args
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return (403, "AccessDenied", "no AWS4-HMAC-SHA256 Authorization")
        fields = {}
        for part in auth[len("AWS4-HMAC-SHA256 "):].split(","):
            k, _, v = part.strip().partition("=")
            fields[k] = v
        cred = fields.get("Credential", "").split("/")
        if len(cred) != 5 or cred[0] != args.access_key:
            return (403, "InvalidAccessKeyId", "unknown access key")
        if cred[2] != args.region or cred[3] != "s3" or cred[4] != "aws4_request":
            return (403, "AuthorizationHeaderMalformed", "bad credential scope")
        signed = fields.get("SignedHeaders", "").split(";")
        self.signed_headers = signed
        for must in ("host", "x-amz-content-sha256", "x-amz-date"):
            if must not in signed:
                return (403, "AccessDenied", "%s is not signed" % must)
        amz_date = self.headers.get("X-Amz-Date", "")
        if not amz_date.startswith(cred[1]):
            return (403, "AccessDenied", "X-Amz-Date is not the credential's day")
        try:
            when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
        except ValueError:
            return (403, "AccessDenied", "bad X-Amz-Date")
        skew = abs((datetime.datetime.utcnow() - when).total_seconds())
        if skew > 900:
            return (403, "RequestTimeTooSkewed", "X-Amz-Date is %d s off" % skew)
        # The request as botocore would have signed it: only the signed
        # headers, the path as sent, the query as sent (botocore sorts it).
        headers = {h: self.headers.get(h, "") for h in signed}
        url = "http://%s%s" % (self.headers.get("Host", ""), self.path)
        req = AWSRequest(method=self.command, url=url, headers=headers,
                         data=self.body)
        req.context["timestamp"] = amz_date
        signer = S3SigV4Auth(Credentials(args.access_key, args.secret),
                             "s3", args.region)
        canonical = signer.canonical_request(req)
        sts = signer.string_to_sign(req, canonical)
        want = signer.signature(sts, req)
        if want != fields.get("Signature"):
            return (403, "SignatureDoesNotMatch",
                    "The request signature we calculated does not match the "
                    "signature you provided. Canonical request: " + canonical)
        declared = self.headers.get("x-amz-content-sha256", "")
        if declared != "UNSIGNED-PAYLOAD" and declared != hashlib.sha256(self.body).hexdigest():
            return (400, "XAmzContentSHA256Mismatch",
                    "The provided 'x-amz-content-sha256' header does not "
                    "match what was computed.")
        return None

    def fault(self):
        args, st = self.server.state.args, self.server.state
        key = (self.command, self.raw_path, self.raw_query)
        with st.lock:
            n = st.seen.get(key, 0)
            st.seen[key] = n + 1
        if n < args.drop_first:
            self.note(0, {"fault": "drop"})
            self.close_connection = True
            self.connection.shutdown(2)
            return True
        if n < args.drop_first + args.fail_first:
            self.answer(503, xml_error("SlowDown", "Please reduce your request rate."))
            return True
        return False

    def object_path(self, bucket, key):
        return os.path.join(self.server.state.args.root, bucket, key)

    # ---- dispatch ---------------------------------------------------------
    def handle_any(self):
        self.raw_path, _, self.raw_query = self.path.partition("?")
        length = int(self.headers.get("Content-Length", "0") or 0)
        self.body = self.rfile.read(length) if length else b""
        bad = self.check_signature()
        if bad:
            return self.answer(bad[0], xml_error(bad[1], bad[2]))
        if self.fault():
            return None
        parts = urllib.parse.unquote(self.raw_path).lstrip("/").split("/", 1)
        bucket, key = parts[0], (parts[1] if len(parts) > 1 else "")
        if bucket != self.server.state.args.bucket:
            return self.answer(404, xml_error("NoSuchBucket", bucket))
        q = urllib.parse.parse_qs(self.raw_query, keep_blank_values=True)
        if key == "":
            if self.command == "GET" and q.get("list-type") == ["2"]:
                return self.list_objects(bucket, q)
            return self.answer(400, xml_error("InvalidRequest", "bucket operation"))
        if self.command == "POST" and "uploads" in q:
            return self.create_upload(key)
        if "uploadId" in q:
            return self.multipart(key, q)
        if self.command == "PUT":
            return self.put_object(bucket, key)
        path = self.object_path(bucket, key)
        if self.command in ("GET", "HEAD"):
            if not os.path.isfile(path):
                return self.answer(404, xml_error("NoSuchKey", key))
            with open(path, "rb") as f:
                data = f.read()
            etag = '"%s"' % hashlib.md5(data).hexdigest()
            if self.command == "HEAD":
                return self.answer(200, b"", {"Content-Length": str(len(data)), "ETag": etag})
            return self.answer(200, data, {"ETag": etag})
        if self.command == "DELETE":
            if os.path.isfile(path):
                os.unlink(path)
            return self.answer(204)
        return self.answer(405, xml_error("MethodNotAllowed", self.command))

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

    def put_object(self, bucket, key):
        path = self.object_path(bucket, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".tmp-" + uuid.uuid4().hex
        with open(tmp, "wb") as f:
            f.write(self.body)
        os.replace(tmp, path)
        return self.answer(200, b"", {"ETag": '"%s"' % hashlib.md5(self.body).hexdigest()})

    def create_upload(self, key):
        uid = uuid.uuid4().hex
        with self.server.state.lock:
            self.server.state.uploads[uid] = {"key": key, "parts": {}}
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult>'
                '<Bucket>%s</Bucket><Key>%s</Key><UploadId>%s</UploadId>'
                '</InitiateMultipartUploadResult>' % (self.server.state.args.bucket,
                                                       escape(key), uid)).encode()
        return self.answer(200, body)

    def multipart(self, key, q):
        st = self.server.state
        uid = q["uploadId"][0]
        with st.lock:
            up = st.uploads.get(uid)
        if up is None or up["key"] != key:
            return self.answer(404, xml_error("NoSuchUpload", uid))
        if self.command == "PUT" and "partNumber" in q:
            n = int(q["partNumber"][0])
            etag = '"%s"' % hashlib.md5(self.body).hexdigest()
            with st.lock:
                up["parts"][n] = (etag, self.body)
            return self.answer(200, b"", {"ETag": etag})
        if self.command == "DELETE":
            with st.lock:
                st.uploads.pop(uid, None)
            return self.answer(204)
        if self.command == "POST":
            text = self.body.decode()
            listed = []
            for chunk in text.split("<Part>")[1:]:
                num = int(chunk.split("<PartNumber>")[1].split("</PartNumber>")[0])
                etag = chunk.split("<ETag>")[1].split("</ETag>")[0].replace("&quot;", '"')
                listed.append((num, etag))
            if not listed or [n for n, _ in listed] != sorted(n for n, _ in listed):
                return self.answer(400, xml_error("InvalidPartOrder", "parts out of order"))
            data, md5s = b"", b""
            for i, (num, etag) in enumerate(listed):
                have = up["parts"].get(num)
                if have is None or have[0] != etag:
                    return self.answer(400, xml_error("InvalidPart", "part %d" % num))
                if i < len(listed) - 1 and len(have[1]) < MIN_PART:
                    return self.answer(400, xml_error("EntityTooSmall", "part %d" % num))
                data += have[1]
                md5s += hashlib.md5(have[1]).digest()
            path = self.object_path(st.args.bucket, key)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
            with st.lock:
                st.uploads.pop(uid, None)
            etag = '"%s-%d"' % (hashlib.md5(md5s).hexdigest(), len(listed))
            body = ('<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUploadResult>'
                    '<Key>%s</Key><ETag>%s</ETag></CompleteMultipartUploadResult>'
                    % (escape(key), escape(etag))).encode()
            return self.answer(200, body)
        return self.answer(405, xml_error("MethodNotAllowed", self.command))

    def list_objects(self, bucket, q):
        prefix = q.get("prefix", [""])[0]
        start = q.get("continuation-token", [""])[0]
        root = os.path.join(self.server.state.args.root, bucket)
        keys = []
        for d, _, files in os.walk(root):
            for f in files:
                if ".tmp-" in f:
                    continue
                k = os.path.relpath(os.path.join(d, f), root)
                if k.startswith(prefix):
                    keys.append(k)
        keys.sort()
        keys = [k for k in keys if k > start] if start else keys
        page, more = keys[:2], len(keys) > 2     # small pages: paging is exercised
        out = ['<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult>',
               "<Name>%s</Name><Prefix>%s</Prefix><KeyCount>%d</KeyCount>"
               % (bucket, escape(prefix), len(page))]
        for k in page:
            out.append("<Contents><Key>%s</Key><Size>%d</Size></Contents>"
                       % (escape(k), os.path.getsize(os.path.join(root, k))))
        out.append("<IsTruncated>%s</IsTruncated>" % ("true" if more else "false"))
        if more:
            out.append("<NextContinuationToken>%s</NextContinuationToken>" % escape(page[-1]))
        out.append("</ListBucketResult>")
        return self.answer(200, "".join(out).encode())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--access-key", default="AKIDFLOWLAKETEST")
    ap.add_argument("--secret", default="flowlake-test-secret")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--log")
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--drop-first", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(os.path.join(args.root, args.bucket), exist_ok=True)
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.state = State(args)
    print("s3_sigcheck listening on 127.0.0.1:%d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
