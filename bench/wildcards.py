#!/usr/bin/env python3
"""wildcards.py [--runs N] [--bpftrace-runs N] [--sizes 10,100,1000]: start to
exit of a wildcard uprobe one-liner over binaries of 10, 100 and 1,000 small
functions (tests/lit/tools/many_functions.py), dptrace cold (DPTRACE_CACHE=off)
and warm against bpftrace 0.17 with BPFTRACE_MAX_PROBES raised, in the same
run (needs root and a built tree):

  uprobe:BIN:fn_* { @ = count(); } interval:ms:10 { exit(); }

and the same with uretprobe. Medians; bpftrace takes minutes at 1,000
functions (each of its links is released one by one), so it runs
--bpftrace-runs times (default 1)."""
import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DPTRACE = os.path.join(ROOT, "build", "tools", "dptrace")
GENERATOR = os.path.join(ROOT, "tests", "lit", "tools", "many_functions.py")
WORK = os.path.join(ROOT, "build", "bench-wildcards")

parser = argparse.ArgumentParser()
parser.add_argument("--runs", type=int, default=5)
parser.add_argument("--bpftrace-runs", type=int, default=1)
parser.add_argument("--sizes", default="10,100,1000")
args = parser.parse_args()


def build(n):
    os.makedirs(WORK, exist_ok=True)
    source, binary = os.path.join(WORK, "many%d.c" % n), os.path.join(WORK, "many%d" % n)
    with open(source, "w") as f:
        subprocess.run([sys.executable, GENERATOR, str(n)], stdout=f, check=True)
    subprocess.run(["clang-19", "-O1", "-o", binary, source], check=True)
    return binary


def once(command, env):
    t0 = time.perf_counter()
    r = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        sys.exit("%s failed: %s" % (command[0], r.stderr[-2000:]))
    return time.perf_counter() - t0


def main():
    if os.geteuid() != 0:
        sys.exit("run as root")
    sizes = [int(s) for s in args.sizes.split(",")]
    print("start to exit of `KIND:BIN:fn_* { @ = count(); } interval:ms:10 { exit(); }`, seconds (medians)")
    print("%-10s %6s %12s %12s %12s %10s" % ("kind", "funcs", "dptrace cold", "dptrace warm", "bpftrace", "ratio"))
    for n in sizes:
        binary = build(n)
        for kind in ("uprobe", "uretprobe"):
            script = "%s:%s:fn_* { @ = count(); } interval:ms:10 { exit(); }" % (kind, binary)
            env = dict(os.environ, BPFTRACE_MAX_PROBES=str(n + 10))
            cold = statistics.median(once([DPTRACE, "-e", script], dict(env, DPTRACE_CACHE="off")) for _ in range(args.runs))
            once([DPTRACE, "-e", script], env)  # fills the cache
            warm = statistics.median(once([DPTRACE, "-e", script], env) for _ in range(args.runs))
            ref = statistics.median(once(["bpftrace", "-e", script], env) for _ in range(args.bpftrace_runs))
            print("%-10s %6d %12.3f %12.3f %12.3f %9.4fx" % (kind, n, cold, warm, ref, cold / ref))
            sys.stdout.flush()


main()
