#!/usr/bin/env python3
"""startup.py [--runs N] [--dptrace PATH] [--script TEXT] [--cold]: wall time
from start to exit of a script that must load a map and attach a probe, under
dptrace and under bpftrace, in the same run; prints each median and the ratio.

  tracepoint:syscalls:sys_enter_getpid { @n = count(); } interval:ms:1 { exit(); }

--script runs another script (the same text under both tools); --cold runs
dptrace with DPTRACE_CACHE=off, so that every run compiles.

Needs root. Runs alternate (dptrace, bpftrace, dptrace, ...) so that both
see the same machine state."""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

SCRIPT = "tracepoint:syscalls:sys_enter_getpid { @n = count(); } interval:ms:1 { exit(); }"

parser = argparse.ArgumentParser()
parser.add_argument("--runs", type=int, default=10)
parser.add_argument("--dptrace", default=os.path.join(os.path.dirname(__file__), "..", "build", "tools", "dptrace"))
parser.add_argument("--bpftrace", default=shutil.which("bpftrace") or "/usr/bin/bpftrace")
parser.add_argument("--script", default=SCRIPT)
parser.add_argument("--cold", action="store_true")
args = parser.parse_args()
if args.cold:
    os.environ["DPTRACE_CACHE"] = "off"


def once(command):
    start = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit("%s failed (%d): %s" % (command[0], result.returncode, result.stderr.decode()[-500:]))
    return elapsed


tools = {"dptrace": [args.dptrace, "-e", args.script], "bpftrace": [args.bpftrace, "-e", args.script]}
for command in tools.values():
    once(command)  # warm the page cache and tracefs
times = {name: [] for name in tools}
for _ in range(args.runs):
    for name, command in tools.items():
        times[name].append(once(command))
medians = {name: statistics.median(t) for name, t in times.items()}
for name, m in medians.items():
    print("%-9s median %7.1f ms  (min %.1f, max %.1f, %d runs)" % (name, m * 1000, min(times[name]) * 1000,
                                                                 max(times[name]) * 1000, args.runs))
print("ratio dptrace/bpftrace: %.3f  (target: at most 0.2)" % (medians["dptrace"] / medians["bpftrace"]))
