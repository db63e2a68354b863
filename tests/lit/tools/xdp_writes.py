#!/usr/bin/env python3
"""xdp_writes.py DPTRACE WORKDIR SCRIPT: frames over every view that has
writable fields (UDP, TCP, ICMP over IPv4; ICMPv6 and UDP over IPv6; GTP-U;
a VLAN-tagged frame) through dptrace --pcap with SCRIPT, then every frame
--pcap-out wrote is compared with scapy's rebuild of it, checksums computed
afresh: "OK" when the bytes are equal."""
import logging
import os
import subprocess
import sys

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import packets  # noqa: E402
from scapy.all import (Ether, IP, IPv6, UDP, TCP, ICMP, ICMPv6EchoRequest, ICMPv6EchoReply,  # noqa: E402
                       wrpcap, rdpcap)

dptrace, work, script = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(work, exist_ok=True)
frames = packets.writable_frames()
pcap, out = os.path.join(work, "in.pcap"), os.path.join(work, "out.pcap")
wrpcap(pcap, frames)
r = subprocess.run([dptrace, "--pcap", pcap, "--pcap-out", out, "-e", script], capture_output=True, text=True)
print(r.stdout.strip())
if r.returncode:
    sys.exit("dptrace failed: " + r.stderr)
for p in rdpcap(out):
    fresh = p.copy()
    for layer in (IP, TCP, UDP, ICMP, IPv6, ICMPv6EchoRequest, ICMPv6EchoReply):
        if layer in fresh and not (layer is UDP and p[UDP].chksum == 0):
            for f in ("chksum", "cksum"):
                if hasattr(fresh[layer], f):
                    delattr(fresh[layer], f)
    rebuilt = Ether(bytes(fresh))
    ok = bytes(rebuilt) == bytes(p)
    print("OK " if ok else "BAD", p.summary(), "" if ok else "\n  got  %s\n  want %s" % (bytes(p).hex(), bytes(rebuilt).hex()))
