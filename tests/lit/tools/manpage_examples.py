#!/usr/bin/env python3
"""bpftrace 0.17's own examples under dptrace: every program of the installed
bpftrace(8) manual (the reference guide as Debian ships it), read at test
time.

Each example (a `bpftrace -e '...'` line, or a block that holds a probe) is
compiled by bpftrace (--emit-elf, a dry run) and by dptrace (--emit obj).
Those both compile, and that run here without a workload and print the same
at every run (BEGIN, END and interval probes only, no random numbers, times,
pids or kernel addresses), run under each tracer in turn -- SIGINT 1.5 s
after it attached, so that an interval:s:1 probe fires once -- and their
outputs are compared.

Prints one line per example that only one tracer compiles (with the other's
error) and per run compared (SAME or DIFFERENT, with a diff), then a
summary. Exits 1 when fewer than --min-share of the examples bpftrace
compiles compile under dptrace, or when a compared run differs.
"""
import argparse
import difflib
import gzip
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time

MANUAL = "/usr/share/man/man8/bpftrace.8.gz"

# groff escapes the manual uses in its examples
ESCAPES = [("\\*(Aq", "'"), ("\\(aq", "'"), ("\\(rs", "\\"), ("\\(dq", '"'), ("\\-", "-"), ("\\e", "\\"),
           ("\\~", " "), ("\\&", ""), ("\\(ga", "`"), ("\\(ti", "~"), ("\\(ha", "^")]

PROBE = re.compile(r"^\s*(BEGIN|END|[A-Za-z]+:\S*)\s*(\{|,|/|$)", re.M)
RUNNABLE = re.compile(r"^\s*(BEGIN|END|i:|interval:)")
UNSTABLE = re.compile(r"\b(rand|nsecs|elapsed|strftime|time|pid|tid|cpu|comm|kaddr|cgroup|kstack|ustack|system|cat)\b"
                      r"|\b(i|interval):(ms|us|hz):")  # a count of fast ticks in 1.5 s is not exact


def unescape(line):
    for a, b in ESCAPES:
        line = line.replace(a, b)
    return line


def examples():
    """(line in the manual, program) for each example that is a program."""
    lines = gzip.open(MANUAL, "rt").read().split("\n")
    out = []
    i = 0
    while i < len(lines):
        if lines[i].startswith(".nf"):
            start = i + 1
            body = []
            i += 1
            while i < len(lines) and not lines[i].startswith(".fi"):
                if not lines[i].startswith(".fam"):
                    body.append(unescape(lines[i]))
                i += 1
            text = "\n".join(body)
            one = re.search(r"bpftrace\s+(?:-\S+\s+)*-e\s+'(.*)'", text, re.S)
            if one:
                out.append((start, one.group(1)))
            elif PROBE.search(text) and "{" in text:
                out.append((start, text))
        i += 1
    return out


def compiles(command):
    r = subprocess.run(command, capture_output=True, text=True, timeout=120)
    errors = [l for l in r.stderr.splitlines() if "RLIMIT" not in l and "WARNING" not in l and l.strip()]
    return r.returncode == 0, (errors[0] if errors else "exit %d" % r.returncode)


def run(command, settle):
    """stdout of the tracer, SIGINT `settle` s after it said it attached
    (bpftrace says so on stdout, dptrace on stderr)."""
    p = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    out, err = b"", b""
    deadline = time.time() + 30
    attached = None
    try:
        streams = [p.stdout, p.stderr]
        while streams and time.time() < deadline:
            ready, _, _ = select.select(streams, [], [], 0.05)
            for stream in ready:
                chunk = os.read(stream.fileno(), 65536)
                if not chunk:
                    streams.remove(stream)
                elif stream is p.stdout:
                    out += chunk
                else:
                    err += chunk
            if attached is None and (b"Attaching" in out or b"Attaching" in err):
                attached = time.time()
            if attached is not None and time.time() - attached >= settle and p.poll() is None:
                os.killpg(p.pid, signal.SIGINT)
                attached = float("inf")
    finally:
        if p.poll() is None:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    kept = [l.rstrip() for l in out.decode(errors="replace").splitlines() if not l.startswith("Attaching")]
    while kept and not kept[-1]:
        kept.pop()
    while kept and not kept[0]:
        kept.pop(0)
    return kept


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dptrace", required=True)
    ap.add_argument("--bpftrace", default="bpftrace")
    ap.add_argument("--min-share", type=float, default=0.9)
    ap.add_argument("--settle", type=float, default=1.5)
    args = ap.parse_args()
    if not os.path.exists(MANUAL):
        print("FAIL: %s is not installed (Debian's bpftrace package ships it)" % MANUAL)
        return 1
    found = examples()
    both = only_b = only_d = neither = 0
    compared = same = 0
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for line, program in found:
            b_ok, b_err = compiles([args.bpftrace, "--emit-elf", os.path.join(tmp, "b.o"), "-e", program])
            d_ok, d_err = compiles([args.dptrace, "--emit", "obj", "-o", os.path.join(tmp, "d.o"), "-e", program])
            flat = " ".join(program.split())[:100]
            if b_ok and d_ok:
                both += 1
            elif b_ok:
                only_b += 1
                print("ONLY BPFTRACE: line %d: %s\n    dptrace: %s" % (line, flat, d_err))
            elif d_ok:
                only_d += 1
                print("ONLY DPTRACE: line %d: %s\n    bpftrace: %s" % (line, flat, b_err))
            else:
                neither += 1
            probes = PROBE.findall(program)
            if not (b_ok and d_ok) or not probes or UNSTABLE.search(program):
                continue
            if not all(RUNNABLE.match(p[0] + ("" if p[0] in ("BEGIN", "END") else ":")) for p in probes):
                continue
            b_out = run([args.bpftrace, "-e", program], args.settle)
            d_out = run([args.dptrace, "-e", program], args.settle)
            if b_out != d_out:
                # An interval:s:1 probe fires once in the 1.5 s each run
                # is given; a loaded machine can start either tracer's
                # timer late, and then it fires no time at all. Both run
                # again: a difference of dptrace's is made every time.
                print("NOTE: line %d: the outputs differed; trying again" % line)
                b_out = run([args.bpftrace, "-e", program], args.settle)
                d_out = run([args.dptrace, "-e", program], args.settle)
            compared += 1
            if b_out == d_out:
                same += 1
                print("SAME: line %d: %s (%d lines)" % (line, flat, len(b_out)))
            else:
                failed = True
                print("DIFFERENT: line %d: %s" % (line, flat))
                for d in difflib.unified_diff(b_out, d_out, "bpftrace", "dptrace", lineterm=""):
                    print("    " + d)
    compiled_b = both + only_b
    share = both / compiled_b if compiled_b else 0.0
    print("EXAMPLES: %d programs in bpftrace(8); bpftrace compiles %d, dptrace %d of those (%.0f%%), "
          "dptrace alone %d, neither %d" % (len(found), compiled_b, both, 100 * share, only_d, neither))
    print("RUNS: %d compared, %d the same" % (compared, same))
    if share < args.min_share:
        print("FAIL: dptrace compiles %.0f%% of the examples bpftrace compiles, below %.0f%%" % (100 * share, 100 * args.min_share))
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
