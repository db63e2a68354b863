#!/usr/bin/env python3
"""btf.py [--runs N] [--calls N]: BTF-typed kernel probes, measured (needs
root and a built tree).

1. Start-up, start to exit, of a rawtracepoint script that reads kernel
   structs (CO-RE) against a tracepoint script of the same work, under
   dptrace warm (cached object) and cold (DPTRACE_CACHE=off), and the
   tracepoint script under bpftrace 0.17:
     rt:netif_receive_skb { @[args.skb->len] = count(); } interval:ms:1 { exit(); }
     tracepoint:net:netif_receive_skb { @[args->len] = count(); } interval:ms:1 { exit(); }
2. Event stream: records per second delivered as JSON lines to a file, from
   emit() on rawtracepoint:sys_enter against bpftrace's printf in -f json on
   tracepoint:raw_syscalls:sys_enter, for a workload of --calls getpid()
   calls (bench/btf/getpid_loop.c, named btfbench_gp, filtered by comm). Rate = events delivered / (workload start .. tool exit); losses
   either tool reports are parsed and shown; every event must arrive.
Medians of --runs, tools interleaved."""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DPTRACE = os.path.join(ROOT, "build", "tools", "dptrace")
LOOP = os.path.join(ROOT, "bench", "btf", "getpid_loop.c")

parser = argparse.ArgumentParser()
parser.add_argument("--runs", type=int, default=7)
parser.add_argument("--calls", type=int, default=300000)
args = parser.parse_args()

RT = "rt:netif_receive_skb { @[args.skb->len] = count(); } interval:ms:1 { exit(); }"
TP = "tracepoint:net:netif_receive_skb { @[args->len] = count(); } interval:ms:1 { exit(); }"


def once(command, env=None):
    start = time.perf_counter()
    r = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120, env=env)
    if r.returncode != 0:
        sys.exit("%s failed: %s" % (" ".join(command), r.stderr.decode()[-400:]))
    return (time.perf_counter() - start) * 1000


def startup():
    cold = dict(os.environ, DPTRACE_CACHE="off")
    cases = {
        "dptrace rawtracepoint, warm": ([DPTRACE, "-e", RT], None),
        "dptrace tracepoint, warm": ([DPTRACE, "-e", TP], None),
        "dptrace rawtracepoint, cold": ([DPTRACE, "-e", RT], cold),
        "dptrace tracepoint, cold": ([DPTRACE, "-e", TP], cold),
        "bpftrace tracepoint": (["bpftrace", "-e", TP], None),
    }
    for command, env in cases.values():
        once(command, env)  # page cache, tracefs, the object cache
    times = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, (command, env) in cases.items():
            times[name].append(once(command, env))
    m = {name: statistics.median(t) for name, t in times.items()}
    print("start to exit (median of %d runs)" % args.runs)
    for name, t in times.items():
        print("  %-28s %7.1f ms  (min %.1f, max %.1f)" % (name, m[name], min(t), max(t)))
    print("  rawtracepoint - tracepoint, warm: %+.1f ms; cold: %+.1f ms" %
          (m["dptrace rawtracepoint, warm"] - m["dptrace tracepoint, warm"],
           m["dptrace rawtracepoint, cold"] - m["dptrace tracepoint, cold"]))
    print("  dptrace rawtracepoint / bpftrace tracepoint: warm %.3f, cold %.3f" %
          (m["dptrace rawtracepoint, warm"] / m["bpftrace tracepoint"],
           m["dptrace rawtracepoint, cold"] / m["bpftrace tracepoint"]))


def stream(tool, tmp):
    out = os.path.join(tmp, "out.json")
    startfile = os.path.join(tmp, "start")
    for f in (out, startfile):
        if os.path.exists(f):
            os.unlink(f)
    work = "%s/btfbench_gp %d %s" % (tmp, args.calls, startfile)
    if tool == "dptrace":
        script = ('rt:sys_enter /comm == "btfbench_gp" && args.id == 39/ '
                  '{ emit(ts = nsecs, pid = pid, id = args.id); }')
        command = [DPTRACE, "-f", "json", "-o", out, "-c", work, "-e", script]
    else:
        script = ('tracepoint:raw_syscalls:sys_enter /comm == "btfbench_gp" && args->id == 39/ '
                  '{ printf("{\\"ts\\": %llu, \\"pid\\": %d, \\"id\\": %d}", nsecs, pid, args->id); }')
        command = ["bpftrace", "-f", "json", "-o", out, "-c", work, "-e", script]
    proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    end = time.time_ns()
    if proc.returncode != 0:
        sys.exit("%s failed: %s" % (tool, proc.stderr[-400:]))
    with open(startfile) as f:
        began = int(f.read())
    delivered, lost = 0, 0
    with open(out) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            record = json.loads(line)
            if record.get("type") in ("event", "printf"):
                delivered += 1
    for m in re.finditer(r"(\d+) (?:ring-buffer )?events? (?:were )?lost|Lost (\d+) events",
                         proc.stdout + proc.stderr):
        lost += int(m.group(1) or m.group(2))
    return delivered / ((end - began) / 1e9), delivered, lost


def events():
    results = {"dptrace": [], "bpftrace": []}
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        subprocess.run(["cc", "-O2", "-o", os.path.join(tmp, "btfbench_gp"), LOOP], check=True)
        for _ in range(args.runs):
            for tool in results:
                results[tool].append(stream(tool, tmp))
    print("JSON records per second to a file, %d getpid() calls (median of %d runs)" % (args.calls, args.runs))
    rates = {}
    for tool, runs in results.items():
        rates[tool] = statistics.median(r[0] for r in runs)
        print("  %-9s %9.0f events/s  delivered %s  lost %s" %
              (tool, rates[tool], sorted({r[1] for r in runs}), sorted({r[2] for r in runs})))
    print("  ratio dptrace/bpftrace: %.2f  (target: at least 2, with every event delivered)" %
          (rates["dptrace"] / rates["bpftrace"]))


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("run as root")
    startup()
    events()
