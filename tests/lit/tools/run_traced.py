#!/usr/bin/env python3
"""run_traced.py [options] -- DPTRACE ARGS...

Starts dptrace, waits for its "Attaching" line, runs the workload, then
(optionally) signals it, and passes its stdout and stderr through. Exits with
dptrace's status (128+N if a signal N ended it). Every wait is bounded.

  --workload CMD   shell command to run once dptrace is attached
  --signal NAME    INT, TERM or KILL after the workload; default: wait for exit
  --usr1           SIGUSR1 after the workload, before --signal (maps print)
  --stall          do not read dptrace's stdout until it was signalled
                   (a full pipe makes dptrace slow, so its ring buffer fills)
  --after-kill CMD shell command run after a KILL (e.g. to list what is left)
  --check-gone     with --signal KILL: list the program and link ids dptrace
                   owns (bpftool's "pids"), then wait up to 5 s for all of them
                   to disappear, and report how many remain
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time

parser = argparse.ArgumentParser()
parser.add_argument("--workload")
parser.add_argument("--signal", choices=["INT", "TERM", "KILL"])
parser.add_argument("--stall", action="store_true")
parser.add_argument("--usr1", action="store_true")
parser.add_argument("--after-kill")
parser.add_argument("--check-gone", action="store_true")
parser.add_argument("--timeout", type=float, default=30)
parser.add_argument("command", nargs=argparse.REMAINDER)
args = parser.parse_args()
command = args.command[1:] if args.command and args.command[0] == "--" else args.command

proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
stderr_lines = []
attached = threading.Event()


def read_stderr():
    for line in proc.stderr:
        text = line.decode(errors="replace")
        stderr_lines.append(text)
        if text.startswith("Attaching"):
            attached.set()
    attached.set()


stdout_chunks = []


def read_stdout():
    for chunk in iter(lambda: proc.stdout.read(4096), b""):
        stdout_chunks.append(chunk)


err_thread = threading.Thread(target=read_stderr, daemon=True)
err_thread.start()
out_thread = threading.Thread(target=read_stdout, daemon=True)
if not args.stall:
    out_thread.start()

if not attached.wait(args.timeout):
    proc.kill()
    sys.exit("run_traced: dptrace did not attach within %ss" % args.timeout)
if args.workload:
    subprocess.run(args.workload, shell=True, check=True, timeout=args.timeout)


def owned(kind, pid):
    """Ids of the BPF programs or links whose fds the process holds (fdinfo)."""
    key = "prog_id:" if kind == "prog" else "link_id:"
    ids = set()
    fdinfo = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fdinfo):
        try:
            text = open(os.path.join(fdinfo, fd)).read()
        except OSError:
            continue
        if kind == "prog" and "link_id:" in text:
            continue  # a link's fdinfo names its program too; count programs by their own fds
        for line in text.splitlines():
            if line.startswith(key):
                ids.add(int(line.split()[1]))
    return ids


def existing(kind):
    out = subprocess.run(["bpftool", "-j", kind, "show"], capture_output=True, text=True, timeout=args.timeout)
    return {item["id"] for item in json.loads(out.stdout or "[]")}


if args.check_gone:
    time.sleep(0.2)
    progs, links = owned("prog", proc.pid), owned("link", proc.pid)
    print("owned: %d programs, %d links" % (len(progs), len(links)), file=sys.stderr)
if args.usr1:
    time.sleep(0.2)
    proc.send_signal(signal.SIGUSR1)
if args.signal:
    time.sleep(0.2)
    proc.send_signal(getattr(signal, "SIG" + args.signal))
    if args.stall:
        time.sleep(1.0)
        out_thread.start()
try:
    proc.wait(timeout=args.timeout)
except subprocess.TimeoutExpired:
    proc.kill()
    sys.exit("run_traced: dptrace did not end within %ss" % args.timeout)
if args.stall and not out_thread.is_alive() and not stdout_chunks:
    pass
out_thread.join(args.timeout) if out_thread.is_alive() or args.stall else None
err_thread.join(args.timeout)
sys.stdout.write(b"".join(stdout_chunks).decode(errors="replace"))
sys.stderr.write("".join(stderr_lines))
if args.signal == "KILL" and args.check_gone:
    deadline = time.time() + 5
    while True:
        left = (progs & existing("prog")) | (links & existing("link"))
        if not left or time.time() > deadline:
            break
        time.sleep(0.1)
    print("after SIGKILL: %d remain" % len(left), file=sys.stderr)
if args.signal == "KILL" and args.after_kill:
    time.sleep(0.5)
    subprocess.run(args.after_kill, shell=True, timeout=args.timeout)
code = proc.returncode
sys.exit(128 - code if code < 0 else code)
