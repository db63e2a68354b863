#!/usr/bin/env python3
"""under_trace.py DPTRACE CALLS NAP WORKDIR: what changes under a running
trace, and two dptrace processes on the same things. Prints one line per
check ("ok ..." or "MISMATCH ..."), and the runs' warnings.

- two runs with uprobes on one binary: each counts every call;
- two runs on one pin directory: the second is refused, naming the first,
  which counts exactly;
- two runs on one interface: the second is refused (busy), the first counts
  every frame sent before and after;
- the traced binary replaced (a new file renamed over it, or unlinked and
  made again, as a linker does: said once), deleted, or rewritten in place
  with other code: said at the attach point; a rewrite ends the run with an
  error (status 1), the others do not; touched, rewritten with the same
  bytes, or moved away and back: nothing is said;
- the interface of an xdp block deleted: said, and the run ends (status 0)
  with its maps printed."""
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns  # noqa: E402

dptrace, calls, nap, work = sys.argv[1:5]
os.makedirs(work, exist_ok=True)


def check(ok, text):
    print(("ok " if ok else "MISMATCH ") + text, flush=True)


def start(*arguments, prefix=()):
    """dptrace started, returned once it has attached (or ended)."""
    proc = subprocess.Popen(list(prefix) + [dptrace] + list(arguments), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 20
    err = []
    while time.time() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        err.append(line)
        if line.startswith("Attaching"):
            break
    proc.err_head = "".join(err)
    return proc


def stop(proc, sig=signal.SIGINT):
    if proc.poll() is None:
        proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, proc.err_head + err


def value(out, name):
    for line in out.splitlines():
        if line.startswith(name + ": "):
            return int(line.split(": ")[1])
    return None


# Two runs with uprobes on one binary.
binary = os.path.join(work, "calls_two")
shutil.copy(calls, binary)
script = "uprobe:%s:work { @n = count(); }" % binary
a, b = start("-e", script), start("-e", script)
subprocess.run([binary, "300"], stdout=subprocess.DEVNULL, check=True)
(ra, oa, _), (rb, ob, _) = stop(a), stop(b)
check(value(oa, "@n") == 300 and value(ob, "@n") == 300 and ra == rb == 0,
      "two runs on one binary each count its 300 calls: %s, %s" % (value(oa, "@n"), value(ob, "@n")))

# Two runs on one pin directory.
pin = "dptrace-lit-two-%d" % os.getpid()
subprocess.run(["rm", "-rf", "/sys/fs/bpf/" + pin])
script = "uprobe:%s:work { @n = count(); }" % binary
a = start("--pin", pin, "-e", script)
second = subprocess.run([dptrace, "--pin", pin, "-e", script], capture_output=True, text=True, timeout=30)
subprocess.run([binary, "120"], stdout=subprocess.DEVNULL, check=True)
ra, oa, _ = stop(a)
check(second.returncode == 1 and ("in use by another dptrace (process %d)" % a.pid) in second.stderr,
      "a second run on one pin directory is refused, naming the first: exit %d" % second.returncode)
print(second.stderr.strip().replace(str(a.pid), "PID").replace(pin, "PIN"))
check(value(oa, "@n") == 120, "the first run counts its 120 calls alone: %s" % value(oa, "@n"))
subprocess.run(["rm", "-rf", "/sys/fs/bpf/" + pin])

# Two runs on one interface.
with netns.Net(dptrace) as net:
    iface = net.if_["b"]
    prefix = ("ip", "netns", "exec", net.ns["B"])
    script = "xdp:%s /udp/ { @n = count(); }" % iface
    a = start("-e", script, prefix=prefix)
    netns.send_udp(net, "A", "10.61.0.2", 9, 50)
    busy = subprocess.run(list(prefix) + [dptrace, "-e", script], capture_output=True, text=True, timeout=30)
    netns.send_udp(net, "A", "10.61.0.2", 9, 70)
    time.sleep(0.3)
    ra, oa, _ = stop(a)
    check(busy.returncode == 1 and "Device or resource busy" in busy.stderr,
          "a second run on one interface is refused (busy): exit %d" % busy.returncode)
    check(value(oa, "@n") == 120, "the first counts all 120 frames, before and after: %s" % value(oa, "@n"))

    # The interface deleted under the xdp block.
    a = start("-e", "xdp:%s { @frames = count(); } END { printf(\"end\\n\"); }" % iface, prefix=prefix)
    netns.send_udp(net, "A", "10.61.0.2", 9, 10)
    time.sleep(0.2)
    net.run("B", "ip", "link", "del", iface)
    try:
        a.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    ended = a.poll() is not None
    ra, oa, ea = stop(a)
    check(ended and ra == 0 and "end" in oa and (value(oa, "@frames") or 0) >= 10,
          "the interface deleted: the run ends by itself, status %s, END ran, maps printed" % ra)
    print(ea.strip().replace(iface, "IFACE"))

# Changes that are none: touched, opened for writing and closed, the same
# bytes written again (its build id unchanged), renamed away and back.
target = os.path.join(work, "calls_same")
shutil.copy(calls, target)
a = start("-e", "uprobe:%s:work { @n = count(); }" % target)
subprocess.run(["touch", target], check=True)
open(target, "r+b").close()
shutil.copy(calls, target)
os.rename(target, target + ".away")
os.rename(target + ".away", target)
time.sleep(0.8)
subprocess.run([target, "4"], stdout=subprocess.DEVNULL, check=True)
ra, oa, ea = stop(a)
check(ra == 0 and "while traced" not in ea and value(oa, "@n") == 4,
      "touched, rewritten with the same bytes, moved away and back: nothing said, status %s, @n %s" % (ra, value(oa, "@n")))

# A rebuild as a linker does it (the name unlinked, a new file made): one change.
target = os.path.join(work, "calls_rebuilt")
shutil.copy(calls, target)
a = start("-e", "uprobe:%s:work { @n = count(); }" % target)
os.unlink(target)
shutil.copy(calls, target)
time.sleep(0.8)
ra, oa, ea = stop(a)
check(ea.count("while traced") == 1 and "was replaced while traced" in ea,
      "a rebuild (unlink, then a new file) is said once, as replaced: %d warnings" % ea.count("while traced"))

# The traced binary replaced, deleted, rewritten in place.
for change in ("replaced", "deleted", "rewritten"):
    target = os.path.join(work, "calls_" + change)
    shutil.copy(calls, target)
    a = start("-e", "uprobe:%s:work { @n = count(); }" % target)
    subprocess.run([target, "5"], stdout=subprocess.DEVNULL, check=True)
    if change == "replaced":
        shutil.copy(calls, target + ".new")
        os.rename(target + ".new", target)
    elif change == "deleted":
        os.unlink(target)
    else:
        shutil.copy(nap, target)  # the same inode, other code
    try:
        a.wait(timeout=3)
    except subprocess.TimeoutExpired:
        pass
    ended = a.poll() is not None
    ra, oa, ea = stop(a)
    expected = (True, 1) if change == "rewritten" else (False, 0)
    said = {"deleted": "was deleted or moved away while traced"}.get(change, "was %s while traced" % change)
    check((ended, ra) == expected and said in ea and value(oa, "@n") == 5,
          "the binary %s: said; the run %s, status %s, @n %s" % (change, "ended" if ended else "went on", ra,
                                                                value(oa, "@n")))
    print(ea.strip().replace(target, "BIN"))
