#!/usr/bin/env python3
"""measure.py [--dptrace PATH] [--seconds S | --count N] [--plot FILE.png] [--csv FILE]

Lab 17's measurement: a UDP flood from namespace A into namespace B over a
veth pair, dropped in B three ways in one run: by lab17.dpt's xdp block, by
an nftables rule in the raw table (prerouting, before conntrack), and not at
all (the stack takes each datagram to UDP, which finds no socket on port 9).
The flood (flood.c) is the kernel's own traffic generator: frames sent as
xdp_frames, without an skb, into A's veth, so that B receives them as from a
NIC driver: XDP runs on the bare frame, nftables and the stack after an skb
is built for it. For each mode: packets sent, packets dropped and where,
packets per second, and the CPU time of both cores (/proc/stat: user,
system, irq, softirq) per packet sent. On veth the receiving work runs in
the sender's softirq, on the sender's core: the CPU figures hold sender and
receiver together, and a real NIC's per-packet costs (DMA, descriptors, its
own skb allocation) are missing, so veth understates XDP's advantage.

Namespaces, interfaces and rules are made here with names unique to the run
and removed at the end; every wait is bounded."""
import argparse
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def sh(*cmd, check=True, timeout=60):
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True, timeout=timeout)


class Pair:
    """Namespace A (the flood) and B (the dropper), joined by veth."""

    def __init__(self):
        tag = "%x" % (os.getpid() & 0xFFFF)
        self.a, self.b = "l17a" + tag, "l17b" + tag
        self.if_a, self.if_b = "fa" + tag, "fb" + tag
        self.close()
        for ns in (self.a, self.b):
            sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", self.if_a, "netns", self.a, "type", "veth", "peer", "name", self.if_b, "netns", self.b)
        for ns, dev, addr in ((self.a, self.if_a, "10.61.0.1/24"), (self.b, self.if_b, "10.61.0.2/24")):
            self.run(ns, "ip", "addr", "add", addr, "dev", dev)
            self.run(ns, "ip", "link", "set", dev, "up")
            self.run(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        self.mac_b = self.run(self.b, "cat", "/sys/class/net/%s/address" % self.if_b).stdout.strip()
        # The flood arrives as xdp_frames (flood.c): B's veth takes them through NAPI, on with GRO
        # when no XDP program is attached.
        self.run(self.b, "ethtool", "-K", self.if_b, "gro", "on")

    def run(self, ns, *cmd, check=True, timeout=60):
        return sh("ip", "netns", "exec", ns, *cmd, check=check, timeout=timeout)

    def close(self):
        for ns in (self.a, self.b):
            sh("ip", "netns", "del", ns, check=False)


def busy_jiffies():
    """user + nice + system + irq + softirq + steal of all cores."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]


def udp_no_ports(pair):
    lines = re.findall(r"Udp:.*", pair.run(pair.b, "cat", "/proc/net/snmp").stdout)
    names, values = lines[0].split()[1:], lines[1].split()[1:]
    return int(dict(zip(names, values))["NoPorts"])


def measure(pair, flood, mode, args):
    """One mode: returns (sent, dropped, seconds, busy CPU seconds)."""
    proc = None
    if mode == "xdp":
        script = os.path.join(args.work, "lab17.dpt")
        with open(os.path.join(HERE, "lab17.dpt")) as f:
            text = f.read().replace("veth0", pair.if_b)
        with open(script, "w") as f:
            f.write(text)
        proc = subprocess.Popen(["ip", "netns", "exec", pair.b, args.dptrace, script], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        deadline = time.time() + 30
        seen = []
        while time.time() < deadline:  # a line at a time, never waiting past the deadline
            ready, _, _ = select.select([proc.stderr], [], [], max(0.0, deadline - time.time()))
            if not ready:
                break
            line = proc.stderr.readline()
            if not line:
                break
            seen.append(line)
            if line.startswith("Attaching"):
                break
        if not seen or not seen[-1].startswith("Attaching"):
            os.killpg(proc.pid, signal.SIGKILL)  # and whatever it started
            proc.communicate(timeout=10)
            sys.exit("measure.py: dptrace did not attach lab17.dpt within 30 s:\n" + "".join(seen))
    elif mode == "nftables":
        pair.run(pair.b, "nft", "add", "table", "ip", "raw")
        pair.run(pair.b, "nft", "add", "chain", "ip", "raw", "prerouting",
                 "{ type filter hook prerouting priority raw; policy accept; }")
        pair.run(pair.b, "nft", "add", "rule", "ip", "raw", "prerouting", "udp", "dport", "9", "counter", "drop")
    no_ports = udp_no_ports(pair)
    cpu = busy_jiffies()
    r = pair.run(pair.a, flood, pair.if_a, pair.mac_b, str(args.count), str(args.seconds),
                 timeout=max(60, args.seconds * 4))
    m = re.match(r"sent (\d+) in ([\d.]+) s", r.stdout)
    sent, seconds = int(m.group(1)), float(m.group(2))
    time.sleep(0.3)  # what is still queued is taken
    busy = (busy_jiffies() - cpu) / os.sysconf("SC_CLK_TCK")
    if mode == "xdp":
        proc.send_signal(signal.SIGINT)
        out = proc.communicate(timeout=30)[0]
        found = re.search(r"^@dropped: (\d+)$", out, re.M)
        if not found:
            sys.exit("measure.py: dptrace printed no @dropped:\n" + out)
        dropped = int(found.group(1))
    elif mode == "nftables":
        rules = pair.run(pair.b, "nft", "list", "chain", "ip", "raw", "prerouting").stdout
        dropped = int(re.search(r"counter packets (\d+)", rules).group(1))
        pair.run(pair.b, "nft", "delete", "table", "ip", "raw")
    else:
        dropped = udp_no_ports(pair) - no_ports
    return sent, dropped, seconds, busy


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dptrace", default=shutil.which("dptrace") or "dptrace")
    p.add_argument("--seconds", type=float, default=0, help="flood each mode for S seconds")
    p.add_argument("--count", type=int, default=0, help="or send N packets in each mode")
    p.add_argument("--plot", help="write a PNG of the three modes (matplotlib)")
    p.add_argument("--csv", help="write the figures as CSV")
    args = p.parse_args()
    if args.seconds <= 0 and args.count <= 0:
        args.seconds = 5
    if args.plot:
        try:
            import matplotlib  # noqa: F401 -- before measuring, not after
        except ImportError:
            sys.exit("measure.py: --plot needs matplotlib (apt-get install python3-matplotlib; run /usr/bin/python3)")
    try:
        subprocess.run([args.dptrace, "--version"], capture_output=True, check=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        sys.exit("measure.py: cannot run dptrace as '%s' (give --dptrace PATH)" % args.dptrace)
    args.work = tempfile.mkdtemp(prefix="dptrace-lab17-")
    pair = None
    try:
        flood = os.path.join(args.work, "flood")
        sh("cc", "-O2", "-o", flood, os.path.join(HERE, "flood.c"), "-lbpf")
        pair = Pair()
        rows = []
        for mode in ("xdp", "nftables", "none"):
            sent, dropped, seconds, busy = measure(pair, flood, mode, args)
            rows.append((mode, sent, dropped, seconds, dropped / seconds if seconds else 0,
                         busy * 1e9 / sent if sent else 0))
        print("%-9s %10s %10s %8s %12s %14s" % ("mode", "sent", "dropped", "seconds", "dropped pps", "CPU ns/packet"))
        for mode, sent, dropped, seconds, pps, ns in rows:
            print("%-9s %10d %10d %8.3f %12.0f %14.0f" % (mode, sent, dropped, seconds, pps, ns))
        if args.csv:
            with open(args.csv, "w") as f:
                f.write("mode,sent,dropped,seconds,dropped_pps,cpu_ns_per_packet\n")
                for row in rows:
                    f.write("%s,%d,%d,%.3f,%.0f,%.0f\n" % row)
        if args.plot:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
            names = [r[0] for r in rows]
            colors = ["#2a7", "#c73", "#888"]
            left.bar(names, [r[4] / 1e6 for r in rows], color=colors)
            left.set_title("packets dropped per second (M)")
            right.bar(names, [r[5] for r in rows], color=colors)
            right.set_title("CPU ns per packet, both cores")
            fig.suptitle("UDP flood over veth, one sender core: XDP vs nftables raw vs no filter")
            fig.tight_layout()
            fig.savefig(args.plot, dpi=100)
    finally:
        if pair:
            pair.close()
        shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
