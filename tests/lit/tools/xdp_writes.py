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
from scapy.all import (Ether, Dot1Q, IP, IPv6, UDP, TCP, ICMP, ICMPv6EchoRequest, ICMPv6EchoReply, Raw,  # noqa: E402
                       wrpcap, rdpcap)

dptrace, work, script = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(work, exist_ok=True)
eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
frames = [eth / IP(src="10.0.0.1", dst="10.0.0.2", ttl=64) / UDP(sport=1000, dport=4242) / Raw(b"hello world"),
          eth / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1000, dport=4242, flags="S") / Raw(b"abc"),
          eth / IP(src="10.0.0.1", dst="10.0.0.2") / ICMP(type=8, seq=3) / Raw(b"ping"),
          eth / IPv6(src="fc00::1", dst="fc00::2") / ICMPv6EchoRequest(seq=5) / Raw(b"p6"),
          eth / IPv6(src="fc00::1", dst="fc00::2") / UDP(sport=7, dport=4242) / Raw(b"u6"),
          eth / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2152) / Raw(bytes([0x30, 0xff, 0, 8, 0, 0, 0, 5]) + b"12345678"),
          eth / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=5, dport=6, chksum=0) / Raw(b"no checksum"),
          eth / Dot1Q(vlan=42) / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2)]
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
