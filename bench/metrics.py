#!/usr/bin/env python3
"""metrics.py [--runs N] [--calls N] [--keys N]: what --metrics costs
(needs root and a built tree).

1. Events per second of bench/events.py's -O0 workload (ev(i) called in a
   loop, `uprobe:BIN:ev { printf(...); @bucket[arg0 % 1000] = count(); }`
   written to a file), with --metrics scraped every 100 ms by a client here,
   against the same run without --metrics, interleaved; medians of --runs.
   The target: scraped at most 5% slower.
2. The time one scrape of a map of --keys keys takes (GET /metrics, the
   whole text read), median of 20 scrapes, and the size of the text."""
import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import workload

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DPTRACE = os.path.join(ROOT, "build", "tools", "dptrace")
WORK = os.path.join(ROOT, "build", "bench-metrics")

parser = argparse.ArgumentParser()
parser.add_argument("--runs", type=int, default=5)
parser.add_argument("--calls", type=int, default=5000000)
parser.add_argument("--keys", type=int, default=100000)
args = parser.parse_args()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build():
    return workload.events_binary(WORK)


def scraper(port, stop, times):
    url = "http://127.0.0.1:%d/metrics" % port
    while not stop.is_set():
        t = time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                r.read()
            times.append(time.monotonic() - t)
        except OSError:
            stop.wait(0.01)  # not listening yet, or gone
            continue
        stop.wait(0.1)


def events_run(binary, scraped, tmp):
    out, start = os.path.join(tmp, "out.txt"), os.path.join(tmp, "start")
    for f in (out, start):
        if os.path.exists(f):
            os.unlink(f)
    script = 'uprobe:%s:ev { printf("%%d\\n", arg0); @bucket[arg0 %% 1000] = count(); }' % binary
    command = [DPTRACE, "-o", out, "-c", "%s %d %s" % (binary, args.calls, start), "-e", script]
    port = free_port()
    if scraped:
        command[1:1] = ["--metrics", str(port)]
    stop, times = threading.Event(), []
    thread = threading.Thread(target=scraper, args=(port, stop, times))
    if scraped:
        thread.start()
    proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    end = time.monotonic_ns()
    stop.set()
    if scraped:
        thread.join()
    if proc.returncode != 0:
        sys.exit("dptrace failed: " + proc.stderr)
    with open(start) as f:
        began = int(f.read())
    with open(out) as f:
        delivered = sum(1 for line in f if line.strip().isdigit())
    lost = sum(int(m.group(1)) for m in re.finditer(r"(\d+) events lost", proc.stderr))
    return delivered / ((end - began) / 1e9), delivered, lost, len(times), times


def scrape_time(binary):
    """A map of --keys keys, filled by the workload, then scraped 20 times."""
    port = free_port()
    script = 'uprobe:%s:ev { @key[arg0] = count(); }' % binary
    proc = subprocess.Popen([DPTRACE, "--metrics", str(port), "--map-size", str(args.keys * 2), "-e", script],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:
            if line.startswith("Attaching"):
                break
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([binary, str(args.keys), os.path.join(tmp, "start")], check=True, timeout=600)
        times, size = [], 0
        for _ in range(20):
            t = time.monotonic()
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=60) as r:
                size = len(r.read())
            times.append(time.monotonic() - t)
        return statistics.median(times), size
    finally:
        proc.terminate()
        proc.communicate(timeout=60)


def main():
    if os.geteuid() != 0:
        sys.exit("run as root")
    binary = build()
    rows = {False: [], True: []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.runs):
            for scraped in (False, True):
                rows[scraped].append(events_run(binary, scraped, tmp))
    print("uprobe printf + count() events per second, %d calls (median of %d runs)" % (args.calls, args.runs))
    medians = {}
    for scraped, name in ((False, "not scraped"), (True, "scraped every 100 ms")):
        medians[scraped] = statistics.median(r[0] for r in rows[scraped])
        print("  %-22s %9.0f events/s   lost %s   scrapes %s" % (
            name, medians[scraped], "/".join(str(r[2]) for r in rows[scraped]), "/".join(str(r[3]) for r in rows[scraped])))
    print("  ratio scraped/not: %.3f" % (medians[True] / medians[False]))
    # The first scrape of a run connects while dptrace still compiles and
    # attaches (it listens from the start, to refuse a port in use at once).
    first = [r[4][0] for r in rows[True] if r[4]]
    latencies = sorted(t for r in rows[True] for t in r[4][1:])
    if latencies:
        print("  scrape time under that load: median %.1f ms, 90th %.1f ms, max %.1f ms (%d scrapes; the client "
              "waits 100 ms between them); first scrapes, made during start-up: %s ms" % (
                  statistics.median(latencies) * 1000, latencies[int(len(latencies) * 0.9)] * 1000,
                  latencies[-1] * 1000, len(latencies), "/".join("%.0f" % (t * 1000) for t in first)))
    seconds, size = scrape_time(binary)
    print("one scrape of a %d-key map: %.1f ms (median of 20), %d bytes" % (args.keys, seconds * 1000, size))


main()
