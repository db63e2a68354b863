#!/usr/bin/env python3
"""afxdp_equivalence.py DPTRACE WORKDIR BODY: the same statements as the body
of an xdp block and of an afxdp block (both ending in tx()), each run by
dptrace --pcap on the frames of xdp_writes.py's set plus malformed ones; what
they printed, their maps and every frame --pcap-out kept must be identical,
frame by frame and byte by byte."""
import logging
import os
import subprocess
import sys

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import packets  # noqa: E402
from scapy.all import Ether, Dot1Q, IP, IPv6, UDP, TCP, Raw, wrpcap, rdpcap  # noqa: E402

dptrace, work, body = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(work, exist_ok=True)
eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
frames = packets.writable_frames() + [
    eth / Dot1Q(vlan=7) / Dot1Q(vlan=8) / IPv6(src="fc00::3", dst="fc00::4") / TCP(sport=9, dport=10),
    eth / IP(src="10.0.0.1", dst="10.0.0.2", ihl=6, options=b"\x01\x01\x01\x01") / UDP(sport=3, dport=4),
    eth / IP(src="10.0.0.1", dst="10.0.0.2", frag=10) / UDP(sport=3, dport=4),
    Ether(bytes(eth / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=3, dport=4) / Raw(b"x" * 40))[:40]),
    Ether(bytes(eth / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=3, dport=4))[:30]),
    Ether(bytes(eth)[:14] + b"\x45")]
pcap = os.path.join(work, "in.pcap")
wrpcap(pcap, frames)
runs = {}
for kind in ("xdp", "afxdp"):
    out = os.path.join(work, kind + ".pcap")
    r = subprocess.run([dptrace, "--pcap", pcap, "--pcap-out", out, "-e", "%s:any { %s tx(); }" % (kind, body)],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        sys.exit("%s block refused (%d):\n%s" % (kind, r.returncode, r.stderr))
    runs[kind] = (r.stdout, [bytes(p) for p in rdpcap(out)])
(xout, xframes), (aout, aframes) = runs["xdp"], runs["afxdp"]
print("frames kept: xdp %d afxdp %d" % (len(xframes), len(aframes)))
same = 0
for i, (x, a) in enumerate(zip(xframes, aframes)):
    if x == a:
        same += 1
    else:
        print("DIFFERENT frame %d:\n  xdp   %s\n  afxdp %s" % (i, x.hex(), a.hex()))
print("identical frames: %d" % same)
print("output identical: %s" % (xout == aout))
if xout != aout:
    print("xdp:\n" + xout + "afxdp:\n" + aout)
print(aout.strip())
