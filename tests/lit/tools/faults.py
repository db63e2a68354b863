#!/usr/bin/env python3
"""faults.py DPTRACE WORKDIR [--rounds N]: SIGINT, SIGTERM and SIGKILL at every
stage of a run, and what is left after it.

Stages, each hit by each signal at several delays after the start:
- compile: a cold compile (DPTRACE_CACHE=off) of a script with a tracepoint,
  a uprobe and an interval;
- wildcard: 500 uprobes attached by one wildcard (a generated program of
  500 functions);
- afxdp: an afxdp block on a veth in a namespace: its XDP program, the
  AF_XDP socket, its UMEM and rings being made;
- printing: the exit's print of a map of 60,000 entries (the first SIGINT
  starts it; the signal under test comes while it prints);
- pin: --pin DIR, SIGKILL at several delays: what is pinned is only what
  --pin asked for (maps and their layout), never a program or a link.

After each run it checks:
- dptrace ended within 10 s of the signal;
- its status says what happened: SIGINT 0 (ended cleanly) or 130 (before
  the probes were attached, as the signal's default), SIGTERM 0 or 143,
  SIGKILL killed; never another status, a crash, an internal error;
- nothing stays attached: every BPF program and link dptrace held (its
  fdinfo, sampled while it ran) is gone within 5 s, no program or link
  created during the run is left without an owning process, and the veth
  has no XDP program.
Prints a line per stage and a summary; exits 1 on a failure."""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("dptrace")
ap.add_argument("workdir")
ap.add_argument("--calls", required=True, help="the calls fixture")
ap.add_argument("--rounds", type=int, default=1, help="times each stage and signal is tried per delay")
args = ap.parse_args()
os.makedirs(args.workdir, exist_ok=True)
SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGKILL]
failures = []


def bpf_objects(kind):
    out = subprocess.run(["bpftool", "-j", kind, "show"], capture_output=True, text=True, timeout=30)
    # an object freed while bpftool lists it is an {"error": ...} item
    return {item["id"]: item for item in json.loads(out.stdout or "[]") if "id" in item}


class Sampler(threading.Thread):
    """The ids of the BPF programs and links a process holds, read from its
    fdinfo every few milliseconds until it ends."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.progs, self.links, self.stop = pid, set(), set(), False

    def run(self):
        fdinfo = "/proc/%d/fdinfo" % self.pid
        while not self.stop:
            try:
                fds = os.listdir(fdinfo)
            except OSError:
                return
            for fd in fds:
                try:
                    text = open(os.path.join(fdinfo, fd)).read()
                except OSError:
                    continue
                for line in text.splitlines():
                    if line.startswith("link_id:"):
                        self.links.add(int(line.split()[1]))
                    elif line.startswith("prog_id:") and "link_id:" not in text:
                        self.progs.add(int(line.split()[1]))
            time.sleep(0.003)


# The names dptrace gives its programs, as the kernel keeps them (15
# characters): the probe kind and an index (ModuleLowering::programName),
# with _entry for a uretprobe's argument-saving entry. An XDP program is xdp_
# and its interface (xdpProgramName): the afxdp stage names its own, as
# other tests' interfaces are not this run's.
DPTRACE_PROGRAM = re.compile(r"^(begin|end|interval|uprobe|uretprobe|usdt|tracepoint|rawtracepoint|xdp|afxdp|profile|"
                             r"software|hardware|watchpoint|fentry|fexit|kprobe|kretprobe)_[0-9]+(_e[ntry]*)?$|^xdp_pcap$")


def held_by_processes():
    """The ids of the programs and links some process holds an fd of, from
    every process's fdinfo (this bpftool lists no pids)."""
    progs, links = set(), set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            fds = os.listdir("/proc/%s/fdinfo" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                text = open("/proc/%s/fdinfo/%s" % (pid, fd)).read()
            except OSError:
                continue
            if "link_id:" in text:
                links.update(int(l.split()[1]) for l in text.splitlines() if l.startswith("link_id:"))
            elif "prog_id:" in text:
                progs.update(int(l.split()[1]) for l in text.splitlines() if l.startswith("prog_id:"))
    return progs, links


def left_behind(before, sampler, names=()):
    """What of the run is still there 5 s after it ended: (held ids, orphans).
    An orphan is a program named as dptrace names its programs, or one of
    `names` (or a link to one), made since the run started, that no process
    holds in every look for 5 s: others' tests come and go (a program is
    freed a moment after its last holder ends), and other tools' programs
    (bpftrace's are named after their probes) are not dptrace's."""
    deadline = time.time() + 5
    candidates = None
    while True:
        progs, links = bpf_objects("prog"), bpf_objects("link")
        held = (sampler.progs & set(progs)) | (sampler.links & set(links))
        held_progs, held_links = held_by_processes()
        held_progs |= {l.get("prog_id") for i, l in links.items() if i in held_links}
        ours = {i for i, p in progs.items() if DPTRACE_PROGRAM.match(p.get("name", "")) or p.get("name") in names}
        orphans = {("prog", i) for i in ours if i > before[0] and i not in held_progs} | \
                  {("link", i) for i, l in links.items() if i > before[1] and i not in held_links and l.get("prog_id") in ours}
        candidates = orphans if candidates is None else candidates & orphans
        if (not held and not candidates) or time.time() > deadline:
            return held, {(kind, i, (progs.get(i, {}) if kind == "prog" else links.get(i, {})).get("name", "")) for kind, i in candidates}
        time.sleep(0.1)


def run(stage, command, sig, delay, env=None, prefix=(), first=None, xdp_check=None, after=None, names=()):
    """Starts dptrace, sends `first` then `sig` `delay` s later, and checks
    how it ended and what it left. Returns the exit status."""
    before = (max(bpf_objects("prog"), default=0), max(bpf_objects("link"), default=0))
    # lit's workers ignore SIGINT, and a signal before dptrace's main() (which
    # undoes that) would be lost: start it as a shell would, SIGINT default.
    proc = subprocess.Popen(list(prefix) + [args.dptrace] + command, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ, **(env or {})),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    sampler = Sampler(proc.pid)
    sampler.start()
    err = []
    reader = threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True)
    reader.start()
    if first is not None:
        first(proc, err)
    time.sleep(delay)
    proc.send_signal(sig)
    try:
        rc = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
        failures.append("%s: %s after %.3f s: still running 10 s later" % (stage, sig.name, delay))
        return rc
    sampler.stop = True
    reader.join(timeout=5)
    text = "".join(err)
    what = "%s: %s after %.3f s" % (stage, sig.name, delay)
    allowed = {signal.SIGINT: (0, 130, -signal.SIGINT), signal.SIGTERM: (0, 143, -signal.SIGTERM),
               signal.SIGKILL: (-signal.SIGKILL,)}[sig]
    if rc not in allowed:
        failures.append("%s: exit status %s (allowed: %s)\n%s" % (what, rc, allowed, text[-1500:]))
    if "internal error" in text or "Assertion" in text or "Sanitizer" in text:
        failures.append("%s: %s" % (what, text[-1500:]))
    held, orphans = left_behind(before, sampler, names)
    if held:
        failures.append("%s: BPF programs or links it held remain: %s" % (what, sorted(held)))
    if orphans:
        failures.append("%s: programs or links without an owner remain: %s" % (what, sorted(orphans)))
    if xdp_check and xdp_check():
        failures.append("%s: an XDP program stays attached: %s" % (what, xdp_check()))
    if after:
        after(what, rc)
    return rc


def report(stage, statuses):
    counts = {}
    for s in statuses:
        counts[s] = counts.get(s, 0) + 1
    print("%s: %d runs, exit statuses %s" % (stage, len(statuses),
                                            ", ".join("%s x%d" % (k, v) for k, v in sorted(counts.items()))))


def compile_stage():
    script = ("tracepoint:syscalls:sys_enter_getpid { @n[comm] = count(); } "
              "uprobe:%s:work { @w[arg0] = hist(arg1); $i = 0; while ($i < 20) { @s[$i] = sum($i); $i++; } } "
              "interval:ms:100 { print(@n); }" % args.calls)
    statuses = []
    for sig in SIGNALS:
        for delay in (0.002, 0.01, 0.025, 0.05, 0.1):
            for _ in range(args.rounds):
                statuses.append(run("compile", ["-e", script], sig, delay, env={"DPTRACE_CACHE": "off"}))
    report("compile", statuses)


def wildcard_stage():
    source = os.path.join(args.workdir, "many.c")
    binary = os.path.join(args.workdir, "many500")
    with open(source, "w") as f:
        subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "many_functions.py"),
                        "500"], stdout=f, check=True)
    subprocess.run(["cc", "-O1", "-o", binary, source], check=True)
    statuses = []
    for sig in SIGNALS:
        for delay in (0.01, 0.03, 0.06, 0.12):
            for _ in range(args.rounds):
                statuses.append(run("wildcard", ["-e", "uprobe:%s:fn_* { @[func] = count(); }" % binary], sig, delay,
                                    env={"DPTRACE_CACHE": "off"}))
    report("wildcard (500 uprobes)", statuses)


def afxdp_stage():
    statuses = []
    with netns.Net(args.dptrace) as net:
        iface = net.if_["b"]

        def xdp_attached():
            r = net.run("B", "ip", "-d", "link", "show", "dev", iface, check=False)
            return [l.strip() for l in r.stdout.splitlines() if "prog/xdp" in l or l.strip().startswith("xdp")]

        for sig in SIGNALS:
            for delay in (0.01, 0.03, 0.06, 0.12, 0.25):
                for _ in range(args.rounds):
                    statuses.append(run("afxdp", ["-e", "afxdp:%s /udp/ { @n = count(); drop(); }" % iface], sig, delay,
                                        prefix=("ip", "netns", "exec", net.ns["B"]), xdp_check=xdp_attached,
                                        names={("xdp_" + iface)[:15]}))
    report("afxdp (socket, UMEM, rings)", statuses)


def printing_stage():
    statuses = []
    script = "uprobe:%s:work { @m[nsecs] = count(); }" % args.calls

    for sig in SIGNALS:
        def fill_then_interrupt(proc, err):
            # Attached first (a loaded machine may take seconds): a SIGINT
            # before that is the signal's default, not the exit's printing.
            deadline = time.time() + 20
            while time.time() < deadline and not any(l.startswith("Attaching") for l in err) and proc.poll() is None:
                time.sleep(0.01)
            subprocess.run([args.calls, "60000"], stdout=subprocess.DEVNULL, check=True, timeout=60)
            proc.send_signal(signal.SIGINT)  # the exit prints 60,000 entries

        for delay in (0.01, 0.05):
            statuses.append(run("printing", ["--map-size", "100000", "-e", script], sig, delay,
                                first=fill_then_interrupt))
    report("printing (60,000 entries)", statuses)


def pin_stage():
    statuses = []
    root = "/sys/fs/bpf"
    name = "dptrace-faults-%d" % os.getpid()
    path = os.path.join(root, name)

    def only_maps(what, rc):
        if not os.path.isdir(path):
            return
        for entry in os.listdir(path):
            info = subprocess.run(["bpftool", "-j", "map", "show", "pinned", os.path.join(path, entry)],
                                  capture_output=True, text=True)
            if entry != "dptrace-layout" and info.returncode != 0:
                failures.append("%s: %s pinned, which is not a map" % (what, entry))
        subprocess.run(["rm", "-rf", path])

    for delay in (0.01, 0.03, 0.06, 0.12, 0.3):
        statuses.append(run("pin", ["--pin", name, "-e", "tracepoint:syscalls:sys_enter_getpid { @n = count(); }"],
                            signal.SIGKILL, delay, env={"DPTRACE_CACHE": "off"}, after=only_maps))
    report("pin (SIGKILL)", statuses)


for stage in (compile_stage, wildcard_stage, afxdp_stage, printing_stage, pin_stage):
    stage()
for f in failures:
    print("FAILURE", f)
print("faults: %d failures" % len(failures))
sys.exit(1 if failures else 0)
