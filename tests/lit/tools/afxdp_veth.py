#!/usr/bin/env python3
"""afxdp_veth.py DPTRACE MODE: afxdp blocks live, on a veth pair between two
network namespaces (netns.Net: names unique to the run, removed at the end).

  echo      examples/xdp/afxdp-echo.dpt echoes UDP to port 4242 in an afxdp body; a client in the
            other namespace sends 1,000 datagrams one by one and checks each
            echo (payload, addresses and ports swapped); every echo frame is
            also captured raw there and its IPv4 and UDP checksums recomputed
            by scapy; pings still get the kernel's replies
  sigkill   after SIGKILL of dptrace: no XDP program, no AF_XDP socket
  json      10 echoes with -f json: the map and the afxdp_stats line
  zerocopy  --zerocopy on a veth: exit 1 and why
  flood     XDPGEN (a generator in the kernel, several Mpps) floods the echo
            body far above what copy mode takes; every frame is accounted
            for: echoed (counted by an XDP counter on the sender's side) or
            dropped with a counted cause, and dptrace exits cleanly
Every wait is bounded; traffic stays inside the two namespaces."""
import json
import logging
import os
import re
import select
import subprocess
import sys
import time

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netns import Net, ping  # noqa: E402

DPTRACE, MODE = sys.argv[1], sys.argv[2]
XDPGEN = sys.argv[3] if len(sys.argv) > 3 else None
ADDR_A, ADDR_B = "10.61.0.1", "10.61.0.2"
ECHO = ("afxdp:%s /ip && udp && udp.dport == 4242/ { @rx[ip.src] = count(); swap(eth.src, eth.dst); "
        "swap(ip.src, ip.dst); swap(udp.sport, udp.dport); tx(); }")

# The client: N datagrams, each waiting for its echo; a raw socket keeps the
# echo frames for the checksum check.
CLIENT = r"""
import socket, sys
from scapy.all import Ether, IP, UDP
n, ifname = int(sys.argv[1]), sys.argv[2]
raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
raw.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE: keep every echo
raw.bind((ifname, 0))
raw.settimeout(0.5)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("%s", 5555))
s.settimeout(1.0)
good = bad = 0
for i in range(n):
    msg = b"echo-%%06d-" %% i + bytes(range(32))
    s.sendto(msg, ("%s", 4242))
    try:
        data, peer = s.recvfrom(2048)
    except socket.timeout:
        continue
    if data == msg and peer == ("%s", 4242):
        good += 1
    else:
        bad += 1
frames = valid = 0
while True:
    try:
        f = raw.recv(4096)
    except socket.timeout:
        break
    p = Ether(f)
    if UDP not in p or p[UDP].sport != 4242 or p[IP].src != "%s":
        continue
    frames += 1
    ip_sum, udp_sum = p[IP].chksum, p[UDP].chksum
    q = p.copy()
    del q[IP].chksum
    del q[UDP].chksum
    q = Ether(bytes(q))
    valid += ip_sum == q[IP].chksum and udp_sum == q[UDP].chksum
print("echoes %%d of %%d intact, %%d wrong" %% (good, n, bad))
print("echo frames captured %%d, checksums valid %%d" %% (frames, valid))
""" % (ADDR_A, ADDR_B, ADDR_B, ADDR_B)


def xsk_maps(ids=None):
    """The ids of the XSKMAPs that exist (of `ids` only, when given): an
    XSKMAP holds its sockets; it goes when the last program and fd go."""
    r = subprocess.run(["bpftool", "-j", "map", "show"], capture_output=True, text=True, timeout=30)
    found = [m["id"] for m in json.loads(r.stdout or "[]") if m.get("type") == "xskmap"]
    return [i for i in found if ids is None or i in ids]


def ethtool(net, ns, ifname):
    out = net.run(ns, "ethtool", "-S", ifname).stdout
    return {k.strip(): int(v) for k, v in (l.split(":") for l in out.splitlines()[1:] if ":" in l)}


def stats_line(err, key):
    m = re.search(r"%s (\d+)" % key, err)
    return int(m.group(1)) if m else -1


def main():
    with Net(DPTRACE) as net:
        net.run("A", "ping", "-c", "1", "-W", "2", ADDR_B)  # ARP resolved
        if_b = net.if_["b"]
        if MODE == "echo":
            example = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "examples", "xdp",
                                   "afxdp-echo.dpt")
            script = os.path.join("/tmp", "afxdp-echo-%d.dpt" % os.getpid())
            with open(script, "w") as f:
                f.write(open(example).read().replace("veth0", if_b))
            proc = net.dptrace(script)
            os.unlink(script)
            client = net.run("A", "/usr/bin/python3", "-c", CLIENT, "1000", net.if_["a"], timeout=120)
            print(client.stdout.strip())
            print("ping:", ping(net, "A", ADDR_B, 3))
            out, err = net.stop(proc)
            print(out.strip())
            for line in err.splitlines():
                if line.startswith("AF_XDP") or line.strip().startswith(("TX:", "dropped")):
                    print(re.sub(r"\(\d+ pps\).*", "", line.strip()))
        elif MODE == "json":
            proc = subprocess.Popen(["ip", "netns", "exec", net.ns["B"], DPTRACE, "-f", "json", "-e", ECHO % if_b],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            first = []
            deadline = time.time() + 20
            while time.time() < deadline:  # JSON: the attached_probes line is on stdout
                ready, _, _ = select.select([proc.stdout], [], [], 1)
                if ready:
                    line = proc.stdout.readline()
                    first.append(line)
                    if "attached_probes" in line or not line:
                        break
            client = net.run("A", "/usr/bin/python3", "-c", CLIENT, "10", net.if_["a"], timeout=60)
            print(client.stdout.splitlines()[0])
            out, err = net.stop(proc)
            for line in "".join(first).splitlines() + out.splitlines():
                record = json.loads(line)
                if record["type"] == "afxdp_stats":
                    d = record["data"]
                    print("afxdp_stats:", {k: d[k] for k in ("interface", "queue", "final", "rx_packets", "tx_packets",
                                                               "body_dropped", "rx_dropped", "in_flight")})
                else:
                    print(line)
        elif MODE == "sigkill":
            before = set(xsk_maps())
            proc = net.dptrace("-e", ECHO % if_b)
            mine = [i for i in xsk_maps() if i not in before]
            has_xdp = lambda: "xdp" in net.run("B", "ip", "link", "show", if_b).stdout  # noqa: E731
            print("while running: xdp", has_xdp(), "xskmaps", len(mine))
            proc.kill()
            proc.wait(timeout=10)
            deadline = time.time() + 10
            while (has_xdp() or xsk_maps(mine)) and time.time() < deadline:
                time.sleep(0.05)
            print("after SIGKILL: xdp", has_xdp(), "xskmaps", len(xsk_maps(mine)))
            print("ping after SIGKILL:", ping(net, "A", ADDR_B, 2))
        elif MODE == "flood":
            n = 2000000
            proc = net.dptrace("-e", ECHO % if_b)
            counter = subprocess.Popen(["ip", "netns", "exec", net.ns["A"], DPTRACE, "-e",
                                        "xdp:%s /udp && udp.sport == 4242/ { @echo = count(); drop(); }" % net.if_["a"]],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(1.0)
            gen = net.run("A", XDPGEN, net.if_["a"], net.mac("B", "b"), ADDR_A, ADDR_B, "4242", str(n), timeout=120)
            print("generator:", gen.stdout.split(" in ")[0])
            time.sleep(0.5)
            out, err = net.stop(proc)
            echoed_out, _ = net.stop(counter)
            print("dptrace exit status", proc.returncode)
            a, b = ethtool(net, "A", net.if_["a"]), ethtool(net, "B", if_b)
            rx = int(re.search(r"AF_XDP RX: (\d+) pkts", err).group(1))
            tx = int(re.search(r"TX: (\d+) pkts", err).group(1))
            m = re.search(r"@echo: (\d+)", echoed_out)
            echoed = int(m.group(1)) if m else 0
            sent = a["tx_queue_0_xdp_xmit"]
            body, ring = stats_line(err, "dropped by the body"), stats_line(err, "tx ring full")
            flight, tx_invalid = stats_line(err, "in flight at exit"), stats_line(err, "tx invalid")
            print("sent by the generator's veth %d of %d (xmit errors %d)" % (sent, n, a["tx_queue_0_xdp_xmit_errors"]))
            print("to the socket %d + dropped at the redirect %d = %s" % (b["rx_queue_0_xdp_redirect"], b["rx_queue_0_drops"],
                  b["rx_queue_0_xdp_redirect"] + b["rx_queue_0_drops"] == sent))
            print("received by dptrace = redirected: %s" % (rx == b["rx_queue_0_xdp_redirect"]))
            xsk_drops = stats_line(err, "XDP_STATISTICS: rx dropped") + stats_line(err, "rx ring full")
            print("dropped at the redirect = XDP_STATISTICS rx dropped + rx ring full: %s" % (xsk_drops == b["rx_queue_0_drops"]))
            print("received %d = sent back %d + dropped by the body %d + tx ring full %d: %s" % (
                rx, tx, body, ring, rx == tx + body + ring))
            print("sent back = echoes counted %d + dropped on the sender's side %d + tx invalid %d + in flight %d: %s" % (
                echoed, a["rx_queue_0_drops"], tx_invalid, flight, tx == echoed + a["rx_queue_0_drops"] + tx_invalid + flight))
            print("echoed some: %s" % (echoed > 1000))
        elif MODE == "zerocopy":
            r = subprocess.run(["ip", "netns", "exec", net.ns["B"], DPTRACE, "--zerocopy", "-e", ECHO % if_b],
                               capture_output=True, text=True, timeout=60)
            print("exit status", r.returncode)
            print(r.stderr.replace(if_b, "IF").strip())
            print("after: xdp", "xdp" in net.run("B", "ip", "link", "show", if_b).stdout)


main()
