#!/usr/bin/env python3
"""A collector for dptrace --export, as a fleet would run one: it takes POSTed
newline-delimited JSON, checks each batch's first line against its
X-Dptrace-Sequence header, drops a batch whose (run, sequence) it stored
already, and appends the records of the others to --out, one per line.

--port-file F   where the port it listens on is written (0: any free port)
--port P        listen on this port of 127.0.0.1 (default: any)
--out F         the records stored, in the order they arrived
--log F         one line per request: sequence, records, stored or duplicate
--status N      answer every request with status N, storing nothing
--hang          read each request and never answer it
--lose-replies N  close the connection of the first N requests unanswered (the
                batch stored first: a reply lost on the way back)
--log-header NAME  add NAME=VALUE (the request's header) to each log line
--raw           store each batch's records as they came, unchecked (for
                bench/export.py: the collector must not be what limits it)
"""
import argparse
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--out", required=True)
    ap.add_argument("--log")
    ap.add_argument("--status", type=int)
    ap.add_argument("--lose-replies", type=int, default=0)
    ap.add_argument("--raw", action="store_true")
    ap.add_argument("--hang", action="store_true")
    ap.add_argument("--log-header")
    args = ap.parse_args()

    lock = threading.Lock()
    seen = set()
    out = open(args.out, "a", buffering=1) if not args.raw else None
    raw = open(args.out, "ab") if args.raw else None
    log = open(args.log, "a", buffering=1) if args.log else None
    lose = [args.lose_replies]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body leave at once, not 40 ms apart

        def log_message(self, *a):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            if args.status or args.hang:
                self.rfile.read(length)
                if log:
                    log.write("request %s\n" % ("hang" if args.hang else args.status))
                if args.hang:
                    threading.Event().wait()
                self.answer(args.status)
                return
            if args.raw:
                body = self.rfile.read(length)
                newline = body.index(b"\n")
                key = (self.headers.get("X-Dptrace-Run"), self.headers.get("X-Dptrace-Sequence"))
                with lock:
                    if key not in seen:
                        seen.add(key)
                        raw.write(body[newline + 1:])
                        raw.flush()
                self.answer(200)
                return
            body = self.rfile.read(length).decode("utf-8")
            lines = body.split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            problems = []
            if self.headers.get("Content-Type") != "application/x-ndjson":
                problems.append("content-type " + str(self.headers.get("Content-Type")))
            head = json.loads(lines[0])
            data = head.get("data", {})
            sequence = self.headers.get("X-Dptrace-Sequence")
            run = self.headers.get("X-Dptrace-Run")
            if head.get("type") != "batch" or str(data.get("sequence")) != sequence:
                problems.append("sequence header %s, body %s" % (sequence, data.get("sequence")))
            if data.get("run") != run:
                problems.append("run header %s, body %s" % (run, data.get("run")))
            records = lines[1:]
            if data.get("records") != len(records):
                problems.append("records %s, body has %d" % (data.get("records"), len(records)))
            for r in records:
                json.loads(r)  # each one JSON
            with lock:
                duplicate = (run, sequence) in seen
                if not duplicate:
                    seen.add((run, sequence))
                    for r in records:
                        out.write(r + "\n")
                if log:
                    extra = " %s=%s" % (args.log_header, self.headers.get(args.log_header)) if args.log_header else ""
                    log.write("sequence %s records %d dropped-before %s %s%s%s\n" % (
                        sequence, len(records), data.get("dropped"), "duplicate" if duplicate else "stored", extra,
                        "".join(" PROBLEM " + p for p in problems)))
                if lose[0] > 0:
                    lose[0] -= 1
                    self.close_connection = True
                    return  # no reply at all
            self.answer(200)

        def answer(self, status):
            payload = b"ok\n"
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(server.server_address[1]))
        os.rename(args.port_file + ".tmp", args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
