#!/usr/bin/env python3
"""export.py [--runs N] [--calls N]: records per second that --export
delivers to a collector on loopback, against writing the same JSON lines to
a file (-f json -o FILE), in the same run (needs root and a built tree).

The workload is bench/events.py's -O0 build (ev starts with `push %rbp`,
which the kernel emulates), traced with `uprobe:BIN:ev { printf("%d\\n",
arg0); }` through -c. File: -f json -o FILE. Export: -f json -o FILE --export http://127.0.0.1:PORT/ to tests/lit/tools/collector.py --raw (a
threaded Python HTTP server storing each batch's body, dropping repeated
sequence numbers). Rate = printf records stored / (workload start .. the
later of tool exit and the last record stored). Records dptrace drops (its
queue full) or loses (the ring buffer full) are shown. Medians of --runs,
the two ways interleaved."""
import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import workload

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DPTRACE = os.path.join(ROOT, "build", "tools", "dptrace")
COLLECTOR = os.path.join(ROOT, "tests", "lit", "tools", "collector.py")
WORK = os.path.join(ROOT, "build", "bench-export")

parser = argparse.ArgumentParser()
parser.add_argument("--runs", type=int, default=5)
parser.add_argument("--calls", type=int, default=1000000)
parser.add_argument("--batch", type=int, default=1000)
args = parser.parse_args()


def build():
    return workload.events_binary(WORK)


def count_printfs(path):
    with open(path, "rb") as f:
        return sum(1 for line in f if line.startswith(b'{"type": "printf"'))


def run(way, binary, tmp):
    out = os.path.join(tmp, "out.ndjson")
    start = os.path.join(tmp, "start")
    for f in (out, start):
        if os.path.exists(f):
            os.unlink(f)
    script = 'uprobe:%s:ev { printf("%%d\\n", arg0); }' % binary
    command = [DPTRACE, "-f", "json", "-c", "%s %d %s" % (binary, args.calls, start)]
    collector = None
    if way == "file":
        command += ["-o", out]
    else:
        port_file = os.path.join(tmp, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        collector = subprocess.Popen([sys.executable, COLLECTOR, "--raw", "--out", out, "--port-file", port_file])
        while not os.path.exists(port_file):
            time.sleep(0.02)
        port = int(open(port_file).read())
        command += ["-o", os.path.join(tmp, "local.ndjson"), "--export", "http://127.0.0.1:%d/" % port, "--export-batch", str(args.batch)]
    proc = subprocess.run(command + ["-e", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    end = time.monotonic_ns()
    if collector:
        collector.send_signal(signal.SIGINT)
        collector.wait()
    if proc.returncode != 0:
        sys.exit("dptrace failed: %s" % proc.stderr)
    with open(start) as f:
        began = int(f.read())
    delivered = count_printfs(out)
    text = proc.stdout + proc.stderr
    if way == "export":  # -f json: the notices (lost events, the export's report) are in the local output
        with open(os.path.join(tmp, "local.ndjson")) as f:
            text += "".join(line for line in f if not line.startswith('{"type": "printf"'))
    lost = sum(int(m.group(1)) for m in re.finditer(r'"type": "lost_events", "data": \{"events": (\d+)', text))
    dropped = sum(int(m.group(1)) for m in re.finditer(r'"dropped": (\d+)\}', text))
    return delivered / ((end - began) / 1e9), delivered, lost, dropped


def main():
    if os.geteuid() != 0:
        sys.exit("run as root")
    binary = build()
    print("JSON records per second: --export to a loopback collector against -o FILE "
          "(%d calls, batches of %d, median of %d runs)" % (args.calls, args.batch, args.runs))
    results = {"file": [], "export": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.runs):
            for way in results:
                results[way].append(run(way, binary, tmp))
    medians = {}
    for way, rows in results.items():
        medians[way] = statistics.median(r[0] for r in rows)
        print("  %-7s %9.0f records/s   delivered %s   lost %s   dropped %s" % (
            way, medians[way], "/".join(str(r[1]) for r in rows), "/".join(str(r[2]) for r in rows),
            "/".join(str(r[3]) for r in rows)))
    print("  ratio export/file: %.2fx (target >= 0.5x)" % (medians["export"] / medians["file"]))


main()
