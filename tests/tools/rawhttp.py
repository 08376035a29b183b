#!/usr/bin/env python3
# rawhttp.py -- a raw-socket HTTP client for the integration tests, for
# what curl cannot show: that the server answers from the headers alone
# (the body is never sent), how many idle connections it keeps, and from
# which source address. Every wait is bounded.
#
#   rawhttp.py head PORT METHOD TARGET [HEADER ...]
#       sends the request line and headers only, never a body; prints the
#       status of the first response ("100" if the server asked for the
#       body), then each response header line given with -H NAME as
#       "NAME: value", or "none" when no answer came within 5 s.
#   rawhttp.py conns PORT COUNT SRC
#       opens COUNT idle connections from address SRC ("connected COUNT",
#       flushed, once they are open); prints how many the
#       server closed within 1 s ("closed_at_once N"), then the status and
#       time of GET /healthz from 127.0.0.2 ("other 200 fast" when < 2 s),
#       then the seconds until the rest were closed ("all_closed_after S",
#       at most 15 s, "all_closed_after never" otherwise).
#   rawhttp.py inflight PORT PATH SIZE
#       a request with Content-Length SIZE (headers only, body held back),
#       then a second one: prints its status and Retry-After ("second");
#       then a chunked body of 90% of SIZE ("chunked" and its status);
#       then sends the first body (newline-terminated filler) and prints
#       its status ("first"), then one more request of SIZE with its body
#       ("after").
import socket
import sys
import time


def connect(port, src=None, timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if src:
        s.bind((src, 0))
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    return s


def read_head(s, deadline=5.0):
    """Reads one response head; returns (status, {name: value}) or None."""
    data = b""
    end = time.monotonic() + deadline
    while b"\r\n\r\n" not in data:
        left = end - time.monotonic()
        if left <= 0:
            return None
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            return None
        if not chunk:
            return None
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    hdrs = {}
    for line in head[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs


def request_head(method, target, headers):
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: 127.0.0.1"]
    lines += headers
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def cmd_head(port, method, target, args):
    show, headers = [], []
    i = 0
    while i < len(args):
        if args[i] == "-H":
            show.append(args[i + 1])
            i += 2
        else:
            headers.append(args[i])
            i += 1
    s = connect(port)
    s.sendall(request_head(method, target, headers))
    r = read_head(s)
    if r is None:
        print("none")
        return
    print(r[0])
    for name in show:
        print("%s: %s" % (name, r[1].get(name.lower(), "(absent)")))
    s.close()


def is_closed(s):
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except (ConnectionResetError, OSError):
        return True
    finally:
        s.setblocking(True)


def cmd_conns(port, count, src):
    socks = []
    for _ in range(count):
        try:
            socks.append(connect(port, src))
        except OSError:
            socks.append(None)
    print("connected", count, flush=True)
    time.sleep(1.0)
    closed = [s is None or is_closed(s) for s in socks]
    print("closed_at_once", sum(closed))
    t0 = time.monotonic()
    try:
        o = connect(port, "127.0.0.2")
        o.sendall(request_head("GET", "/healthz", ["Connection: close"]))
        r = read_head(o)
        o.close()
    except OSError:
        r = None
    took = time.monotonic() - t0
    print("other", r[0] if r else "none", "fast" if took < 2.0 else "slow")
    start = time.monotonic() - 1.0 - took
    while time.monotonic() - start < 15:
        if all(c or is_closed(s) for s, c in zip(socks, closed)):
            print("all_closed_after", int(time.monotonic() - start))
            break
        time.sleep(0.2)
    else:
        print("all_closed_after never")
    for s in socks:
        if s is not None:
            s.close()


def cmd_inflight(port, path, size):
    hdr = ["Content-Length: %d" % size, "Content-Type: text/plain"]
    body = (b"x" * 99 + b"\n") * (size // 100) + b"\n" * (size % 100)
    a = connect(port)
    a.sendall(request_head("POST", path, hdr))
    time.sleep(0.5)           # a is past its first callback: SIZE counted
    b = connect(port)
    b.sendall(request_head("POST", path, hdr))
    r = read_head(b)
    print("second", r[0] if r else "none",
          "retry-after", r[1].get("retry-after", "(absent)") if r else "")
    b.close()
    # A chunked body has no length to judge: it is counted as it grows.
    c = connect(port)
    c.sendall(request_head("POST", path, ["Transfer-Encoding: chunked"]))
    piece = (b"y" * 99 + b"\n") * 655
    sent = 0
    try:
        while sent < size * 9 // 10:
            c.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            sent += len(piece)
        c.sendall(b"0\r\n\r\n")
        r = read_head(c, 30.0)
    except OSError:
        r = None
    print("chunked", r[0] if r else "none")
    c.close()
    a.sendall(body)
    r = read_head(a, 30.0)
    print("first", r[0] if r else "none")
    a.close()
    d = connect(port)
    d.sendall(request_head("POST", path, hdr) + body)
    r = read_head(d, 30.0)
    print("after", r[0] if r else "none")
    d.close()


def main():
    a = sys.argv[1:]
    if a[0] == "head":
        cmd_head(int(a[1]), a[2], a[3], a[4:])
    elif a[0] == "conns":
        cmd_conns(int(a[1]), int(a[2]), a[3])
    elif a[0] == "inflight":
        cmd_inflight(int(a[1]), a[2], int(a[3]))
    else:
        sys.exit("usage: see the top of rawhttp.py")


main()
