#!/usr/bin/env python3
"""write_capture.py KIND FILE: captures for the --pcap tests.
  mixed   12 UDP, 5 TCP, 6 ICMP echo requests (seq 1..6), 2 ARP, one 10-byte
          frame (skipped) and one 4000-byte UDP frame (run truncated)
  raw-ip  a capture of IP packets without Ethernet headers (link type RAW)
  afxdp   UDP to port 4242: 3 from 10.0.0.1, 2 from 10.0.0.2; 4 UDP to port
          53; one ICMP echo request"""
import logging
import sys

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import Ether, IP, UDP, TCP, ICMP, ARP, Raw, wrpcap  # noqa: E402

kind, path = sys.argv[1], sys.argv[2]
eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
if kind == "mixed":
    frames = [eth / IP(dst="10.0.0.2") / UDP(dport=4242) / Raw(b"u" * 20) for _ in range(12)]
    frames += [eth / IP(dst="10.0.0.2") / TCP(dport=80, flags="S") for _ in range(5)]
    frames += [eth / IP(dst="10.0.0.2") / ICMP(type=8, seq=s) for s in range(1, 7)]
    frames += [Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst="10.0.0.2") for _ in range(2)]
    frames += [Raw(b"\x02" * 10), eth / IP(dst="10.0.0.2") / UDP(dport=9) / Raw(b"b" * 3958)]
    wrpcap(path, frames)
elif kind == "afxdp":
    frames = [eth / IP(src="10.0.0.1", dst="10.0.0.9") / UDP(sport=1000 + i, dport=4242) / Raw(b"a") for i in range(3)]
    frames += [eth / IP(src="10.0.0.2", dst="10.0.0.9") / UDP(sport=2000 + i, dport=4242) / Raw(b"b") for i in range(2)]
    frames += [eth / IP(src="10.0.0.1", dst="10.0.0.9") / UDP(sport=5, dport=53) for _ in range(4)]
    frames += [eth / IP(src="10.0.0.1", dst="10.0.0.9") / ICMP(type=8)]
    wrpcap(path, frames)
elif kind == "raw-ip":
    wrpcap(path, [IP(dst="10.0.0.2") / UDP()], linktype=101)
