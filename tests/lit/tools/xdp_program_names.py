#!/usr/bin/env python3
"""xdp_program_names.py DPTRACE: two veth interfaces whose names differ only in
punctuation (x-TAG and x.TAG), in a namespace of this test, each with its own
xdp block; prints the XDP program name and id `ip link` shows on each."""
import json
import os
import subprocess
import sys
import time

dptrace = sys.argv[1]
tag = "%x" % (os.getpid() & 0xFFFF)
ns = "dptn" + tag
names = ["x-" + tag, "x." + tag]


def sh(*cmd, check=True):
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True, timeout=30)


sh("ip", "netns", "del", ns, check=False)
sh("ip", "netns", "add", ns)
try:
    for i, n in enumerate(names):
        sh("ip", "-n", ns, "link", "add", n, "type", "veth", "peer", "name", "p%d%s" % (i, tag))
        sh("ip", "-n", ns, "link", "set", n, "up")
    script = "xdp:%s { @a = count(); } xdp:%s { @b = count(); }" % tuple(names)
    p = subprocess.Popen(["ip", "netns", "exec", ns, dptrace, "--xdp-mode", "generic", "-e", script],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 20
    for line in p.stderr:
        if line.startswith("Attaching") or time.time() > deadline:
            break
    for n in names:
        info = json.loads(sh("ip", "-n", ns, "-j", "-d", "link", "show", n).stdout)[0]
        prog = info.get("xdp", {}).get("prog", {})
        print(n.split(tag)[0] + "TAG", "prog", prog.get("name"), "id", prog.get("id"))
    p.terminate()
    p.communicate(timeout=20)
finally:
    sh("ip", "netns", "del", ns, check=False)
