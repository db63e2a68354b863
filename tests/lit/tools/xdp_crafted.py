#!/usr/bin/env python3
"""xdp_crafted.py DPTRACE WORKDIR: crafted frames through dptrace --pcap
(BPF_PROG_TEST_RUN). For each frame, every field of every packet view is
printed when present; the values and the absent views are compared with the
expectations written below by hand. Then each action's verdict and output
bytes (--pcap-out) are checked."""
import json
import logging
import os
import subprocess
import sys

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import (Ether, Dot1Q, Dot1AD, IP, IPv6, TCP, UDP, ICMP, ICMPv6EchoRequest, Raw, IPOption_NOP,
                       wrpcap, rdpcap)
from scapy.contrib.gtp import GTP_U_Header

DPTRACE, WORK = sys.argv[1], sys.argv[2]
os.makedirs(WORK, exist_ok=True)
MAC_A, MAC_B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
FIELDS = ["pkt.len", "eth.type", "eth.src", "eth.dst", "vlan.id", "ip.src", "ip.dst", "ip.proto", "ip.ttl", "ip.len",
          "ip6.src", "ip6.dst", "ip6.nexthdr", "tcp.sport", "tcp.dport", "tcp.flags", "udp.sport", "udp.dport",
          "udp.len", "icmp.type", "icmp.code", "icmp.seq", "icmp6.type", "icmp6.seq", "gtp.teid", "gtp.type"]
ADDRESS = {"eth.src", "eth.dst", "ip.src", "ip.dst", "ip6.src", "ip6.dst"}

eth = Ether(src=MAC_A, dst=MAC_B)
udp4 = bytes(eth / IP(src="10.0.0.1", dst="10.0.0.2", ttl=63) / UDP(sport=1234, dport=53) / Raw(b"abcd"))


def patched(frame, offset, data):
    b = bytearray(frame)
    b[offset:offset + len(data)] = data
    return bytes(b)


# (name, frame, {field: expected}) -- fields not listed must be absent.
CASES = [
    ("udp over ipv4", udp4,
     {"pkt.len": 46, "eth.type": 0x0800, "eth.src": MAC_A, "eth.dst": MAC_B, "ip.src": "10.0.0.1",
      "ip.dst": "10.0.0.2", "ip.proto": 17, "ip.ttl": 63, "ip.len": 32, "udp.sport": 1234, "udp.dport": 53,
      "udp.len": 12}),
    ("tcp syn with ip options", bytes(eth / IP(src="10.0.0.3", dst="10.0.0.4", options=[IPOption_NOP()] * 8) /
                                      TCP(sport=4000, dport=80, flags="S")),
     {"pkt.len": 62, "eth.type": 0x0800, "eth.src": MAC_A, "eth.dst": MAC_B, "ip.src": "10.0.0.3",
      "ip.dst": "10.0.0.4", "ip.proto": 6, "ip.ttl": 64, "ip.len": 48, "tcp.sport": 4000, "tcp.dport": 80,
      "tcp.flags": 2}),
    ("icmp echo request, two vlan tags", bytes(eth / Dot1AD(vlan=100) / Dot1Q(vlan=42) / IP(src="10.0.0.5", dst="10.0.0.6") /
                                                ICMP(type=8, code=0, seq=7)),
     {"pkt.len": 50, "eth.type": 0x0800, "eth.src": MAC_A, "eth.dst": MAC_B, "vlan.id": 100, "ip.src": "10.0.0.5",
      "ip.dst": "10.0.0.6", "ip.proto": 1, "ip.ttl": 64, "ip.len": 28, "icmp.type": 8, "icmp.code": 0, "icmp.seq": 7}),
    ("icmpv6 echo over ipv6", bytes(eth / IPv6(src="fc00::1", dst="fc00::2") / ICMPv6EchoRequest(seq=9)),
     {"pkt.len": 62, "eth.type": 0x86DD, "eth.src": MAC_A, "eth.dst": MAC_B, "ip6.src": "fc00::1", "ip6.dst": "fc00::2",
      "ip6.nexthdr": 58, "icmp6.type": 128, "icmp6.seq": 9}),
    ("udp over ipv6", bytes(eth / IPv6(src="fc00::1", dst="fc00::2") / UDP(sport=5, dport=6)),
     {"pkt.len": 62, "eth.type": 0x86DD, "eth.src": MAC_A, "eth.dst": MAC_B, "ip6.src": "fc00::1", "ip6.dst": "fc00::2",
      "ip6.nexthdr": 17, "udp.sport": 5, "udp.dport": 6, "udp.len": 8}),
    ("gtp-u", bytes(eth / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=2152, dport=2152) /
                    GTP_U_Header(teid=0xDEADBEEF, gtp_type=255) / IP() / UDP()),
     {"pkt.len": 78, "eth.type": 0x0800, "eth.src": MAC_A, "eth.dst": MAC_B, "ip.src": "10.0.0.1", "ip.dst": "10.0.0.2",
      "ip.proto": 17, "ip.ttl": 64, "ip.len": 64, "udp.sport": 2152, "udp.dport": 2152, "udp.len": 44,
      "gtp.teid": 0xDEADBEEF, "gtp.type": 255}),
    # malformed: the views that cannot be trusted are absent
    ("truncated inside the ipv4 header", udp4[:30], {"pkt.len": 30, "eth.type": 0x0800, "eth.src": MAC_A, "eth.dst": MAC_B}),
    ("truncated inside the udp header", udp4[:38],
     {"pkt.len": 38, "eth.type": 0x0800, "eth.src": MAC_A, "eth.dst": MAC_B}),  # ip's total length now lies
    ("bad ihl (4)", patched(udp4, 14, b"\x44"), {"pkt.len": 46, "eth.type": 0x0800, "eth.src": MAC_A, "eth.dst": MAC_B}),
    ("ihl beyond the frame (15)", patched(udp4, 14, b"\x4f"),
     {"pkt.len": 46, "eth.type": 0x0800, "eth.src": MAC_A, "eth.dst": MAC_B}),
    ("ip total length beyond the frame", patched(udp4, 16, b"\x01\x00"),
     {"pkt.len": 46, "eth.type": 0x0800, "eth.src": MAC_A, "eth.dst": MAC_B}),
    ("udp length beyond the frame", patched(udp4, 38, b"\x00\x40"),
     {"pkt.len": 46, "eth.type": 0x0800, "eth.src": MAC_A, "eth.dst": MAC_B, "ip.src": "10.0.0.1", "ip.dst": "10.0.0.2",
      "ip.proto": 17, "ip.ttl": 63, "ip.len": 32}),
    ("udp length under 8", patched(udp4, 38, b"\x00\x04"),
     {"pkt.len": 46, "eth.type": 0x0800, "eth.src": MAC_A, "eth.dst": MAC_B, "ip.src": "10.0.0.1", "ip.dst": "10.0.0.2",
      "ip.proto": 17, "ip.ttl": 63, "ip.len": 32}),
    ("non-first fragment", patched(udp4, 20, b"\x00\x10"),
     {"pkt.len": 46, "eth.type": 0x0800, "eth.src": MAC_A, "eth.dst": MAC_B, "ip.src": "10.0.0.1", "ip.dst": "10.0.0.2",
      "ip.proto": 17, "ip.ttl": 63, "ip.len": 32}),
    ("vlan tag only", bytes(eth / Dot1Q(vlan=7))[:16],
     {"pkt.len": 16, "eth.type": 0x8100, "eth.src": MAC_A, "eth.dst": MAC_B}),
    ("vlan tag, nothing after it", bytes(eth / Dot1Q(vlan=7, type=0x0800)),
     {"pkt.len": 18, "eth.type": 0x0800, "eth.src": MAC_A, "eth.dst": MAC_B, "vlan.id": 7}),
    ("ethernet header only", bytes(eth)[:14], {"pkt.len": 14, "eth.type": 0x9000, "eth.src": MAC_A, "eth.dst": MAC_B}),
    ("tcp data offset under 5", patched(bytes(eth / IP() / TCP()), 46, b"\x40"),
     {"pkt.len": 54, "eth.type": 0x0800, "eth.src": MAC_A, "eth.dst": MAC_B, "ip.src": "127.0.0.1", "ip.dst": "127.0.0.1",
      "ip.proto": 6, "ip.ttl": 64, "ip.len": 40}),
    ("ipv6 payload beyond the frame", patched(bytes(eth / IPv6(src="fc00::1", dst="fc00::2") / UDP()), 18, b"\x00\x50"),
     {"pkt.len": 62, "eth.type": 0x86DD, "eth.src": MAC_A, "eth.dst": MAC_B}),
]


def run(script, pcap, out=None):
    cmd = [DPTRACE, "--pcap", pcap, "-f", "json", "-e", script] + (["--pcap-out", out] if out else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        sys.exit("dptrace failed: " + proc.stderr)
    records = [json.loads(l) for l in proc.stdout.splitlines()]
    return records


failures = 0
pcap = os.path.join(WORK, "crafted.pcap")
wrpcap(pcap, [Ether(f) for _, f, _ in CASES])
body = "".join('printf("%s=%s\\n", %s); ' % (f, "%s" if f in ADDRESS else "%u", "ntop(" + f + ")" if f in ADDRESS and not f.startswith("eth") else f)
               for f in FIELDS)
records = run('xdp:any { printf("FRAME\\n"); } xdp:any { ' + body + '}', pcap)
frames, current = [], None
for r in records:
    if r["type"] != "printf":
        continue
    for line in r["data"].splitlines():
        if line == "FRAME":
            current = {}
            frames.append(current)
        else:
            k, v = line.split("=", 1)
            current[k] = v
for (name, _, expected), got in zip(CASES, frames):
    want = {k: str(v) for k, v in expected.items()}
    if got != want:
        failures += 1
        print("FAIL %s:\n  dptrace %s\n  expected %s" % (name, got, want))
    else:
        print("ok %s: %d fields present" % (name, len(got)))
if len(frames) != len(CASES):
    failures += 1
    print("FAIL: %d frames printed, %d sent" % (len(frames), len(CASES)))

# Actions: the verdict of every frame, and the bytes --pcap-out keeps.
for action, verdict, kept in (("pass()", "pass", True), ("drop()", "drop", False), ("tx()", "tx", True),
                              ("abort()", "abort", False), ('redirect("lo")', "redirect", True)):
    out = os.path.join(WORK, "out.pcap")
    records = run("xdp:any /udp/ { %s } xdp:any { drop(); }" % action, pcap, out)
    verdicts = [r["data"]["@verdict"] for r in records if r["type"] == "map" and "@verdict" in r["data"]][0]
    udp_frames = [f for _, f, e in CASES if "udp.len" in e]
    others = len(CASES) - len(udp_frames)
    want = {verdict: len(udp_frames)}
    want["drop"] = want.get("drop", 0) + others
    written = [bytes(p) for p in rdpcap(out)] if os.path.exists(out) and os.path.getsize(out) > 24 else []
    ok = verdicts == want and written == (udp_frames if kept else [])
    failures += not ok
    print("%s %s: verdicts %s, %d frames written unchanged" % ("ok" if ok else "FAIL", action, verdicts, len(written)))
sys.exit(1 if failures else 0)
