#!/usr/bin/env python3
"""events.py [--runs N] [--calls-leaf N] [--calls-push N]: events per second
that a uprobe printf delivers to a file, dptrace against bpftrace 0.17 in the
same run (needs root and a built tree).

The workload (bench/events/events.c) calls ev(i) in a loop, built twice: -O2,
where ev's first instruction is one the kernel must single-step (~10 us a
hit here), and -O0, where it is `push %rbp`, which the kernel emulates. Each
tool runs it with -c and writes `printf("%d\\n", arg0)` to a file with -o.
Rate = lines delivered / (workload start .. tool exit): the consumer's drain
counts, its start-up does not. Losses each tool reports are parsed and shown.
Medians of --runs, tools interleaved."""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import workload

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DPTRACE = os.path.join(ROOT, "build", "tools", "dptrace")
WORK = os.path.join(ROOT, "build", "bench-events")

parser = argparse.ArgumentParser()
parser.add_argument("--runs", type=int, default=5)
parser.add_argument("--calls-leaf", type=int, default=200000)
parser.add_argument("--calls-push", type=int, default=1000000)
args = parser.parse_args()


def build():
    binaries = {}
    for name, opt in (("leaf", "-O2"), ("push", "-O0")):
        path = workload.events_binary(WORK, opt, "events-" + name)
        first = subprocess.run(["objdump", "-d", "--no-show-raw-insn", path], capture_output=True, text=True).stdout
        m = re.search(r"<ev>:\n\s+[0-9a-f]+:\s+(\S+)", first)
        binaries[name] = (path, m.group(1) if m else "?")
    return binaries


def run(tool, binary, calls, tmp):
    out = os.path.join(tmp, "out.txt")
    start = os.path.join(tmp, "start")
    for f in (out, start):
        if os.path.exists(f):
            os.unlink(f)
    script = 'uprobe:%s:ev { printf("%%d\\n", arg0); }' % binary
    command = [DPTRACE if tool == "dptrace" else "bpftrace", "-o", out, "-c", "%s %d %s" % (binary, calls, start), "-e", script]
    proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    end = time.monotonic_ns()
    if proc.returncode != 0:
        sys.exit("%s failed: %s" % (tool, proc.stderr))
    with open(start) as f:
        began = int(f.read())
    delivered, lost = 0, 0
    with open(out) as f:
        text = f.read()
    delivered = sum(1 for line in text.splitlines() if line.isdigit())
    for m in re.finditer(r"(\d+) events lost|Lost (\d+) events", text + proc.stdout + proc.stderr):
        lost += int(m.group(1) or m.group(2))
    return delivered / ((end - began) / 1e9), delivered, lost


def main():
    if os.geteuid() != 0:
        sys.exit("run as root")
    binaries = build()
    print("events per second a uprobe printf delivers to a file (median of %d runs)" % args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        for name, calls in (("leaf", args.calls_leaf), ("push", args.calls_push)):
            path, first = binaries[name]
            results = {"dptrace": [], "bpftrace": []}
            for _ in range(args.runs):
                for tool in results:
                    results[tool].append(run(tool, path, calls, tmp))
            print("\n%s build (-%s, ev starts with `%s`), %d calls:" % (name, "O2" if name == "leaf" else "O0", first, calls))
            medians = {}
            for tool, rows in results.items():
                medians[tool] = statistics.median(r[0] for r in rows)
                print("  %-8s %9.0f events/s   delivered %s   lost %s" % (
                    tool, medians[tool], "/".join(str(r[1]) for r in rows), "/".join(str(r[2]) for r in rows)))
            print("  ratio dptrace/bpftrace: %.2fx" % (medians["dptrace"] / medians["bpftrace"]))


main()
