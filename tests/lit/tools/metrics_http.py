#!/usr/bin/env python3
"""metrics_http.py DPTRACE SCRIPT: runs dptrace --metrics on a free loopback
port with SCRIPT, and prints what plain HTTP requests get: status and
content type of GET /metrics, GET /, HEAD, a POST, an unknown path and a
header too large; then
the scrape's lines without HELP. Bounded waits; dptrace stopped at the end."""
import http.client
import signal
import socket
import subprocess
import sys
import time

DPTRACE, SCRIPT = sys.argv[1], sys.argv[2]
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
dp = subprocess.Popen([DPTRACE, "--metrics", str(port), "-e", SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                      text=True)
try:
    deadline = time.time() + 30
    attached = False
    for line in dp.stderr:
        if line.startswith("dptrace: serving"):
            print(line.strip().replace(str(port), "PORT"))
        attached = line.startswith("Attaching")
        if attached or time.time() > deadline:
            break
    if not attached:
        sys.exit("dptrace did not attach: " + line + dp.stderr.read())
    time.sleep(1.2)  # interval:ms blocks ran
    body = ""
    for method, path in (("GET", "/metrics"), ("GET", "/"), ("HEAD", "/metrics"), ("POST", "/metrics"), ("GET", "/x")):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request(method, path, body="x=1" if method == "POST" else None)
        r = c.getresponse()
        data = r.read().decode()
        print(method, path, r.status, r.getheader("Content-Type"))
        if method == "GET" and path == "/metrics":
            body = data
        c.close()
    # A request whose header is past MHD's memory limit: refused within the
    # wait (it was answered after 64 s, a buffer a second).
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40960 + b"\r\n\r\n")
        print("GET /metrics with a 40 KiB header:", c.recv(64).split(b"\r\n")[0].decode())
    for line in body.splitlines():
        if not line.startswith("# HELP") or "@" in line:
            print(line)
finally:
    dp.send_signal(signal.SIGINT)
    dp.communicate(timeout=20)
