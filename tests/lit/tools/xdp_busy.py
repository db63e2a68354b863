#!/usr/bin/env python3
"""xdp_busy.py DPTRACE: two namespaces joined by a veth (netns.Net). A first
dptrace in B attaches tx() to b, whose peer a is in namespace A without an
XDP program: its warning must say so. A second dptrace on b then finds the
interface busy: its error must name the first one's process. Names are
printed with the test's tag replaced by TAG."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from netns import Net  # noqa: E402

dptrace = sys.argv[1]
with Net(dptrace) as net:
    tag = net.if_["a"][2:]
    first = subprocess.Popen(["ip", "netns", "exec", net.ns["B"], dptrace, "-e", "xdp:%s /udp/ { tx(); }" % net.if_["b"]],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    said = []
    deadline = time.time() + 20
    for line in first.stderr:  # what it says while attaching, up to "Attaching"
        said.append(line)
        if line.startswith("Attaching") or time.time() > deadline:
            break
    time.sleep(0.3)
    second = net.run("B", dptrace, "-e", "xdp:%s { drop(); }" % net.if_["b"], check=False)
    print("second exit", second.returncode)
    print(second.stderr.replace(tag, "TAG").replace(str(first.pid), "PID"))
    first.send_signal(signal.SIGINT)
    out, err = first.communicate(timeout=30)
    print("".join(said).replace(tag, "TAG"))
