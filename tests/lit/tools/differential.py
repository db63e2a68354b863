#!/usr/bin/env python3
"""Runs one bpftrace script under dptrace and under bpftrace 0.17 at the same
time, on one workload, and compares what they print (issue 14).

    differential.py --dptrace BIN SCRIPT [options]

Both tracers attach first; then the workload runs once (each --workload in
turn), so that both see the same events; then both get SIGINT, print their
maps and exit. Their standard outputs are compared after normalising what
legitimately differs:
  - lines matching --mask REGEX have each match replaced by '*' (times,
    latencies, elapsed: the two tracers started at different moments);
  - with --keep REGEX, only the lines that match it (a histogram's buckets
    with its @name[key] line) are compared: the Debian tools print every process's events, and only
    the workload's are the same in both;
  - the entries of one map are compared as a set where their values tie
    (bpftrace orders them by value and leaves ties unspecified);
  - JSON lines are compared as parsed objects; bpftrace's empty lines (no
    JSON: dptrace writes one object per line, DESIGN.md), the attached_probes line and
    stderr (bpftrace's RLIMIT_MEMLOCK complaint, "Attaching ...") are not
    compared.
The workload's programs run under the names --as gives (a symlink), so
that a script can pick its events by comm and tests that run at the same
time do not see each other's.

Exit status 0 when the outputs are the same, 1 with a diff when not, 2 when
a tracer failed to start. Prints the normalised output, so that the test can
also check that events were seen at all (two empty outputs are the same).
"""
import argparse
import difflib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BPFTRACE = "bpftrace"


def start(argv, workdir, name, env=None):
    # Tools print what other processes do: paths of any bytes (a fuzzer's
    # files, say), which are compared as text with replacement characters.
    out = open(os.path.join(workdir, name + ".out"), "w+", errors="replace")
    err = open(os.path.join(workdir, name + ".err"), "w+", errors="replace")
    proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
    return proc, out, err


def read(f):
    f.flush()
    f.seek(0)
    return f.read()


def wait_attached(procs, timeout):
    """Until every tracer printed its "Attaching N probes..." line."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        done = True
        for name, (proc, out, err) in procs.items():
            attached = "Attaching" in read(err) + read(out) or '"attached_probes"' in read(out)
            if proc.poll() is not None and not attached:
                return name  # it ended without attaching (a script that exit()s in BEGIN attached first)
            if not attached:
                done = False
        if done:
            return None
        time.sleep(0.05)
    return "timeout"


def map_blocks(lines):
    """Sorts the lines of each printed map among entries of equal value."""
    out, block = [], []

    def flush():
        # "@name[key]: value": bpftrace sorts by value; ties in any order.
        def value(line):
            m = re.search(r":\s*(-?\d+)\s*$", line)
            return int(m.group(1)) if m else 0
        block.sort(key=lambda l: (value(l), l))
        out.extend(block)
        block.clear()

    for line in lines:
        entry = re.match(r"^(@[A-Za-z_0-9]*)\[.*\]: ", line)
        if entry and block and not block[0].startswith(entry.group(1) + "["):
            flush()  # another map's entries
        if entry:
            block.append(line)
        else:
            flush()
            out.append(line)
    flush()
    return out


def normalise_json(line):
    try:
        obj = json.loads(line)
    except ValueError:
        return line
    if isinstance(obj, dict) and obj.get("type") == "attached_probes":
        return None
    return json.dumps(obj, sort_keys=True)


def normalise(text, args, fmt):
    # bpftrace prints "Attaching N probes..." on stdout, dptrace on stderr.
    lines = [l for l in text.splitlines() if not re.match(r"^Attaching \d+ probes?\.\.\.$", l)]
    masked = []
    for line in lines:
        for pattern in args.mask:
            line = re.sub(pattern, "*", line)
        masked.append(line.rstrip())
    if args.keep:
        kept, inside = [], False  # a histogram's bucket lines go with its "@name[key]:" line
        for l in masked:
            matches = any(re.search(k, l) for k in args.keep)
            if l.startswith("@"):
                inside = matches and l.endswith(":")
            elif (l.startswith("[") or l.startswith("(")) and inside:
                matches = True
            else:
                inside = False
            if matches:
                kept.append(l)
        masked = kept
    if fmt == "json":  # bpftrace writes two empty lines before the maps at exit, which are no JSON
        masked = [n for n in (normalise_json(l) for l in masked if l) if n is not None]
        if args.unordered:
            masked.sort()
        return masked
    if args.unordered:
        return sorted(masked)
    return map_blocks(masked)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dptrace", required=True)
    p.add_argument("script", help="a .bt file, or a Debian tool's name with --tool")
    p.add_argument("--tool", action="store_true", help="SCRIPT is /usr/sbin/SCRIPT.bt, read at test time")
    p.add_argument("--workload", action="append", default=[], help="a command (repeatable)")
    p.add_argument("--as", dest="names", action="append", default=[],
                   help="run the workload's first program under this name (one per --workload)")
    p.add_argument("--linger", action="store_true",
                   help="the workloads close their stdout when done and live on until the tracers exit "
                        "(bpftrace resolves user symbols when it prints, in a process that must still exist)")
    p.add_argument("--mask", action="append", default=[], help="a regex whose matches become *")
    p.add_argument("--keep", action="append", default=[], help="compare only lines matching one of these")
    p.add_argument("--format", default="text", choices=["text", "json"])
    p.add_argument("--unordered", action="store_true", help="compare the lines as a multiset")
    p.add_argument("--settle", type=float, default=1.5, help="seconds between attaching and the workload")
    p.add_argument("--after", type=float, default=0.5, help="seconds between the workload and SIGINT")
    p.add_argument("script_args", nargs="*", help="positional parameters")
    args = p.parse_args()

    script = "/usr/sbin/%s.bt" % args.script if args.tool else args.script
    if not os.path.exists(script):
        print("FAIL: no script %s" % script)
        return 2
    # bpftrace 0.17 now and then fails to start or to stop under load, or
    # garbles its own output (a join() record seen without its argv, once in
    # a CI run): that run says nothing about dptrace, and is tried again
    # (three runs at most). A difference dptrace makes is made every time.
    for attempt in (1, 2, 3):
        code, report, reference = run_once(args, script)
        if code == 0 or (code == 2 and not reference) or attempt == 3:
            break
        print("NOTE: %s; trying again" % ("bpftrace failed (%s)" % report[-1] if code == 2 else "the outputs differed"))
    for line in report:
        print(line)
    return code


def run_once(args, script):
    """(exit status, lines to print, whether bpftrace was the one that failed)"""
    workdir = tempfile.mkdtemp(prefix="differential.")
    fmt = ["-f", "json"] if args.format == "json" else []
    env = dict(os.environ, BPFTRACE_NO_CPP_DEMANGLE="1")
    procs = {
        "dptrace": start([args.dptrace] + fmt + [script] + args.script_args, workdir, "dptrace", env),
        "bpftrace": start([BPFTRACE] + fmt + [script] + args.script_args, workdir, "bpftrace", env),
    }
    report, lingering = [], []
    try:
        return compare(args, script, workdir, procs, report, lingering)
    finally:  # whatever happened (a workload that raised), no tracer stays attached
        for proc, out, err in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for w in lingering:
            if w.poll() is None:
                w.kill()
                w.wait()


def compare(args, script, workdir, procs, report, lingering):
    failed = wait_attached(procs, 60)
    if not failed:
        time.sleep(args.settle)
        for i, command in enumerate(args.workload):
            argv = shlex.split(command)
            if i < len(args.names):
                link = os.path.join(workdir, args.names[i])
                if not os.path.lexists(link):
                    os.symlink(os.path.abspath(argv[0]) if os.path.exists(argv[0]) else shutil.which(argv[0]),
                               link)
                argv[0] = link
            if args.linger:  # done when it closes its stdout; it stays until the tracers have printed
                w = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                w.stdout.read()
                lingering.append(w)
            else:
                subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        time.sleep(args.after)
    for proc, out, err in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    hung = None
    for name, (proc, out, err) in procs.items():
        # bpftrace 0.17 may miss a SIGINT that arrives while it still attaches
        # (it says "Attaching" first) on a loaded machine: say it again.
        for _ in range(6):
            try:
                proc.wait(timeout=5)
                break
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGINT)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            hung = hung or name
    for w in lingering:
        w.kill()
        w.wait()
    if failed or hung:
        for name, (proc, out, err) in procs.items():
            report.append("---- %s stderr\n%s" % (name, read(err)))
        who = failed if failed and failed != "timeout" else hung or "a tracer"
        report.append("FAIL: %s %s" % (who, "did not attach" if failed else "did not exit within 30 s of SIGINT"))
        return 2, report, who == "bpftrace"
    for name, (proc, out, err) in procs.items():
        if proc.returncode not in (0, -signal.SIGINT):
            report.append("---- %s stderr\n%s" % (name, read(err)))
            report.append("FAIL: %s exited with %d" % (name, proc.returncode))
            return 2, report, name == "bpftrace"
    results = {name: normalise(read(out), args, args.format) for name, (proc, out, err) in procs.items()}
    if results["dptrace"] != results["bpftrace"]:
        report.extend(l.rstrip("\n") for l in difflib.unified_diff([l + "\n" for l in results["bpftrace"]],
                                                                    [l + "\n" for l in results["dptrace"]],
                                                                    "bpftrace", "dptrace"))
        report.append("DIFFERENT: %s (%s)" % (os.path.basename(script), args.format))
        return 1, report, False
    report.extend(results["dptrace"])
    report.append("SAME: %s (%s), %d lines" % (os.path.basename(script), args.format, len(results["dptrace"])))
    return 0, report, False


if __name__ == "__main__":
    sys.exit(main())
