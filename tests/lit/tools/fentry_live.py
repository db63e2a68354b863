#!/usr/bin/env python3
"""fentry_live.py DPTRACE: fentry and fexit, live where the kernel runs BPF
trampolines, else a visible SKIP and the check of what dptrace says.

Where they run: 40 UDP datagrams of 77 bytes to a port on 127.0.0.1 are 40
udp_rcv entries whose skb->len is 8 + 77 (the UDP header and payload; the IP
header is pulled by then) and 40 exits that return 0. Where the kernel
refuses trampolines (EPERM as root): exit status 1, the refusal in words,
and no advice about `ulimit -l`. Prints one line per check; exit 1 on a
mismatch."""
import socket
import subprocess
import sys
import threading
import time

DPTRACE = sys.argv[1]
SCRIPT = ('fentry:udp_rcv /args.skb->len == 85/ { @entries = count(); } '
          'fexit:udp_rcv /args.skb->len == 85/ { @exits[retval] = count(); }')


def check(what, ok, detail):
    print(("ok " if ok else "MISMATCH ") + what + ": " + detail)
    if not ok:
        sys.exit(1)


proc = subprocess.Popen([DPTRACE, "-e", SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
err_lines = []
attached = threading.Event()


def read_err():
    for line in proc.stderr:
        err_lines.append(line)
        if line.startswith("Attaching"):
            attached.set()
    attached.set()


threading.Thread(target=read_err, daemon=True).start()
attached.wait(60)
if proc.poll() is not None or not any(l.startswith("Attaching") for l in err_lines):
    proc.wait(30)
    err = "".join(err_lines)
    if "refuses fentry programs" in err or "refuses fexit programs" in err:
        print("SKIP: this kernel refuses BPF trampolines (fentry/fexit) to root; checking what dptrace says instead")
        check("exit status", proc.returncode == 1, str(proc.returncode))
        check("the refusal names the missing feature", "a missing kernel feature, not a missing privilege" in err,
              err.strip().splitlines()[0])
        check("no ulimit advice", "ulimit" not in err, "")
        verbose = subprocess.run([DPTRACE, "-v", "-e", "fexit:udp_rcv { @[retval] = count(); }"], capture_output=True,
                                 text=True, timeout=60)
        check("fexit refused too, exit 1", verbose.returncode == 1 and "refuses fexit programs" in verbose.stderr,
              str(verbose.returncode))
        check("no ulimit advice in libbpf's log (-v)", "ulimit" not in verbose.stderr, "")
        sys.exit(0)
    sys.exit("dptrace neither attached nor refused the trampolines:\n" + err)

receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
receiver.bind(("127.0.0.1", 0))
sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(40):
    sender.sendto(b"f" * 77, receiver.getsockname())
time.sleep(0.3)
proc.send_signal(2)
out, _ = proc.communicate(timeout=30)
check("udp_rcv entries with skb->len 85", "@entries: 40" in out, out.strip())
check("udp_rcv exits returning 0", "@exits[0]: 40" in out, out.strip())
