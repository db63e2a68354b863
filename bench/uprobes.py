#!/usr/bin/env python3
"""uprobes.py [--runs N] [--calls N]: uprobe benchmarks against bpftrace 0.17,
in the same run (needs root and a built tree):

1. start to attached (the "Attaching" line) of a uprobe one-liner on the
   fixture, and the exit time after SIGINT: medians of --runs; dptrace cold
   (DPTRACE_CACHE=off: it compiles every time) and warm (its object cache
   holds the one-liner's object: libLLVM is never loaded);
   then start to the first hit: `uprobe:TICKER:tick { printf("%llu", nsecs);
   exit(); }` on a process that calls tick() every 100 us, the time the probe
   first ran (CLOCK_MONOTONIC, as bpf_ktime_get_ns) less the time the tracer
   was started; bpftrace 0.17 prints "Attaching" before it attaches, so this
   is the comparison that holds;
2. ns added per call by `uretprobe:BIN:work { @s = sum(retval); }` while the
   fixture calls work() --calls times: dptrace, bpftrace, and a hand-written
   libbpf uretprobe with a per-CPU array (the floor); medians of 5 runs."""
import argparse
import os
import shutil
import tempfile
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DPTRACE = os.path.join(ROOT, "build", "tools", "dptrace")
FIXTURE = os.path.join(ROOT, "build", "tests", "fixtures", "calls")
FLOOR_DIR = os.path.join(ROOT, "build", "bench-floor")

parser = argparse.ArgumentParser()
parser.add_argument("--runs", type=int, default=10)
parser.add_argument("--calls", type=int, default=200000)
args = parser.parse_args()


def start_tracer(command, marker, env=None):
    """Starts a tracer; returns (process, seconds until its marker line). bpftrace
    0.17 prints "Attaching" on stdout, dptrace and the floor on stderr."""
    t0 = time.perf_counter()
    on_stdout = os.path.basename(command[0]) == "bpftrace"
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, env=env,
                            stdout=subprocess.PIPE if on_stdout else subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL if on_stdout else subprocess.PIPE)
    for line in (proc.stdout if on_stdout else proc.stderr):
        if line.decode(errors="replace").startswith(marker):
            return proc, time.perf_counter() - t0
    sys.exit("%s never attached" % command[0])


def stop(proc):
    time.sleep(0.2)  # bpftrace 0.17 loses a SIGINT that comes right after "Attaching"
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    if proc.stdin:
        proc.stdin.close()
    proc.wait(timeout=60)
    return time.perf_counter() - t0


def workload():
    t0 = time.perf_counter()
    subprocess.run([FIXTURE, str(args.calls)], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def build_floor():
    os.makedirs(FLOOR_DIR, exist_ok=True)
    bpf = os.path.join(FLOOR_DIR, "floor.bpf.o")
    subprocess.run(["clang-19", "-O2", "-g", "-target", "bpf", "-D__TARGET_ARCH_x86", "-I/usr/include/x86_64-linux-gnu",
                    "-c", os.path.join(ROOT, "bench", "floor", "floor.bpf.c"), "-o", bpf], check=True)
    exe = os.path.join(FLOOR_DIR, "floor")
    subprocess.run(["cc", "-O2", os.path.join(ROOT, "bench", "floor", "floor.c"), "-o", exe, "-lbpf"], check=True)
    return [exe, bpf, FIXTURE, "work"]


def build_ticker():
    os.makedirs(FLOOR_DIR, exist_ok=True)
    exe = os.path.join(FLOOR_DIR, "ticker")
    subprocess.run(["cc", "-O2", os.path.join(ROOT, "bench", "floor", "ticker.c"), "-o", exe], check=True)
    return exe


def first_hit(command, env):
    """Seconds from starting the tracer to its probe's first run (the nsecs it prints)."""
    t0 = time.monotonic_ns()
    out = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=60).stdout
    for line in out.decode(errors="replace").splitlines():  # not "Attaching 1 probe..."
        line = line.strip()
        if line.isdigit():
            return (int(line) - t0) / 1e9
    sys.exit("%s printed no time" % command[0])


one_liner = "uprobe:%s:work { @n = count(); }" % FIXTURE
# dptrace cold: its object cache off, so every run compiles (loads libLLVM);
# warm: the object of the first run is reused (the code generator never loads).
cache_dir = tempfile.mkdtemp(prefix="dptrace-bench-cache-")
tools = {
    "dptrace (cold)": ([DPTRACE, "-e", one_liner], "Attaching", dict(os.environ, DPTRACE_CACHE="off")),
    "dptrace (warm)": ([DPTRACE, "-e", one_liner], "Attaching", dict(os.environ, DPTRACE_CACHE_DIR=cache_dir)),
    "bpftrace": (["bpftrace", "-e", one_liner], "Attaching", None),
}
print("1. start to attached, and exit after SIGINT (median of %d)" % args.runs)
medians = {}
stop(start_tracer(*tools["dptrace (warm)"])[0])  # fills the cache
for name, (command, marker, env) in tools.items():
    attach, leave = [], []
    for _ in range(args.runs):
        proc, t = start_tracer(command, marker, env)
        attach.append(t)
        leave.append(stop(proc))
    medians[name] = statistics.median(attach)
    print("   %-15s attached in %6.1f ms, exited in %6.1f ms" % (name, medians[name] * 1e3, statistics.median(leave) * 1e3))
for which in ("cold", "warm"):
    print("   ratio dptrace (%s)/bpftrace (attach): %.2f  (bpftrace 0.17 prints its line before attaching)"
          % (which, medians["dptrace (%s)" % which] / medians["bpftrace"]))

print("1b. start to the first hit of a uprobe (median of %d)" % args.runs)
ticker = subprocess.Popen([build_ticker()])
hit_script = 'uprobe:%s:tick { printf("%%llu\\n", nsecs); exit(); }' % ticker.args[0]
hits = {}
try:
    subprocess.run([DPTRACE, "-e", hit_script], env=dict(os.environ, DPTRACE_CACHE_DIR=cache_dir),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)  # fills the cache
    for name, command, env in (("dptrace (cold)", [DPTRACE, "-e", hit_script], dict(os.environ, DPTRACE_CACHE="off")),
                               ("dptrace (warm)", [DPTRACE, "-e", hit_script], dict(os.environ, DPTRACE_CACHE_DIR=cache_dir)),
                               ("bpftrace", ["bpftrace", "-e", hit_script], None)):
        hits[name] = statistics.median(first_hit(command, env) for _ in range(args.runs))
        print("   %-15s first hit at %6.1f ms" % (name, hits[name] * 1e3))
finally:
    ticker.kill()
    ticker.wait()
shutil.rmtree(cache_dir, ignore_errors=True)
for which in ("cold", "warm"):
    print("   ratio dptrace (%s)/bpftrace (first hit): %.2f  (target: at most 0.5)"
          % (which, hits["dptrace (%s)" % which] / hits["bpftrace"]))

print("2. ns added per call by uretprobe sum(retval), %d calls, median of 5" % args.calls)
ret_script = "uretprobe:%s:work { @s = sum(retval); }" % FIXTURE
tracers = {
    "floor": (build_floor(), "attached"),
    "dptrace": ([DPTRACE, "-e", ret_script], "Attaching"),
    "bpftrace": (["bpftrace", "-e", ret_script], "Attaching"),
}
base = statistics.median(workload() for _ in range(5))
added = {}
for name, (command, marker) in tracers.items():
    runs = []
    for _ in range(5):
        proc, _ = start_tracer(command, marker)
        time.sleep(1.0)  # bpftrace 0.17 says "Attaching" before it has attached
        runs.append(workload())
        stop(proc)
    added[name] = (statistics.median(runs) - base) / args.calls * 1e9
print("   untraced: %.1f ns per call" % (base / args.calls * 1e9))
for name, ns in added.items():
    print("   %-8s adds %7.1f ns per call" % (name, ns))
print("   dptrace above the floor: %.1f ns  (target: at most 50); bpftrace above the floor: %.1f ns"
      % (added["dptrace"] - added["floor"], added["bpftrace"] - added["floor"]))
