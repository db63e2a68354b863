#!/usr/bin/env python3
"""xdp_loaders.py OBJECT: the object dptrace emitted, loaded by the tools
users know, on a veth pair in a network namespace this script creates (and
removes): ip link ... xdp obj OBJECT sec xdp; xdp-loader load (in native
mode; this kernel refuses the dispatcher's freplace programs, so xdp-loader
falls back to loading the program alone); bpftool prog load. Prints one line
per tool."""
import os
import subprocess
import sys

obj = sys.argv[1]
tag = "%x" % (os.getpid() & 0xFFFFF)
ns, veth, peer = "dpo" + tag, "xo" + tag, "xp" + tag


def run(*cmd, check=False):
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=30, check=check)


def in_ns(*cmd):
    return run("ip", "netns", "exec", ns, *cmd)


run("ip", "netns", "del", ns)
run("ip", "netns", "add", ns, check=True)
try:
    run("ip", "-n", ns, "link", "add", veth, "type", "veth", "peer", "name", peer, check=True)
    run("ip", "-n", ns, "link", "set", veth, "up", check=True)
    run("ip", "-n", ns, "link", "set", peer, "up", check=True)

    r = run("ip", "-n", ns, "link", "set", "dev", veth, "xdp", "obj", obj, "sec", "xdp")
    shown = run("ip", "-n", ns, "link", "show", veth).stdout
    print("ip link: exit %d, attached %s" % (r.returncode, "prog/xdp" in shown or "xdp" in shown.split("\n")[0]), r.stderr.strip()[:200])
    run("ip", "-n", ns, "link", "set", "dev", veth, "xdp", "off")

    r = in_ns("xdp-loader", "load", "-m", "native", veth, obj)
    status = in_ns("xdp-loader", "status", veth).stdout
    print("xdp-loader: exit %d, loaded %s" % (r.returncode, "xdp_" in status), r.stderr.strip().splitlines()[-1:] if r.returncode else "")
    in_ns("xdp-loader", "unload", veth, "--all")

    mounted = "/sys/fs/bpf" in open("/proc/mounts").read()
    if not mounted:
        run("mount", "-t", "bpf", "bpf", "/sys/fs/bpf", check=True)
    pin = "/sys/fs/bpf/dptrace-xdp-" + tag
    r = run("bpftool", "prog", "load", obj, pin, "type", "xdp")
    print("bpftool prog load: exit %d" % r.returncode, r.stderr.strip()[:200])
    if os.path.exists(pin):
        os.unlink(pin)
finally:
    run("ip", "netns", "del", ns)
