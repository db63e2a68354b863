"""Frames for the XDP tests, built with scapy: well-formed ones over every
packet view, and malformed ones (truncated at every header, bad IHL, lying
length fields, VLAN-only frames, non-first fragments)."""
import random

from scapy.all import (Ether, Dot1Q, Dot1AD, IP, IPv6, TCP, UDP, ICMP, ICMPv6EchoRequest, ICMPv6EchoReply, Raw,
                       IPOption_NOP, IPOption_RR)
from scapy.contrib.gtp import GTP_U_Header

PORTS = [9, 53, 80, 443, 2152, 4242, 65535]
VLANS = [1, 42, 100, 4095]
IPS = ["10.0.0.1", "10.0.0.2", "192.0.2.7", "127.0.0.1"]
IP6S = ["fc00::1", "fc00::2", "2001:db8::7"]


def writable_frames():
    """One frame per view with writable fields (UDP, TCP, ICMP over IPv4;
    ICMPv6 and UDP over IPv6; GTP-U; UDP without a checksum; VLAN-tagged),
    for the field-write tests."""
    eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    return [eth / IP(src="10.0.0.1", dst="10.0.0.2", ttl=64) / UDP(sport=1000, dport=4242) / Raw(b"hello world"),
            eth / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1000, dport=4242, flags="S") / Raw(b"abc"),
            eth / IP(src="10.0.0.1", dst="10.0.0.2") / ICMP(type=8, seq=3) / Raw(b"ping"),
            eth / IPv6(src="fc00::1", dst="fc00::2") / ICMPv6EchoRequest(seq=5) / Raw(b"p6"),
            eth / IPv6(src="fc00::1", dst="fc00::2") / UDP(sport=7, dport=4242) / Raw(b"u6"),
            eth / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2152) /
            Raw(bytes([0x30, 0xff, 0, 8, 0, 0, 0, 5]) + b"12345678"),
            eth / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=5, dport=6, chksum=0) / Raw(b"no checksum"),
            eth / Dot1Q(vlan=42) / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2)]


def well_formed(rng):
    l2 = Ether(src="02:00:00:00:00:%02x" % rng.randrange(256), dst="02:00:00:00:01:%02x" % rng.randrange(256))
    for _ in range(rng.choice([0, 0, 1, 2])):
        l2 = l2 / (Dot1AD(vlan=rng.choice(VLANS)) if rng.random() < 0.2 else Dot1Q(vlan=rng.choice(VLANS)))
    v6 = rng.random() < 0.3
    if v6:
        l3 = IPv6(src=rng.choice(IP6S), dst=rng.choice(IP6S), hlim=rng.choice([1, 64, 255]))
    else:
        options = [IPOption_NOP()] * rng.choice([0, 0, 4]) + ([IPOption_RR()] if rng.random() < 0.1 else [])
        l3 = IP(src=rng.choice(IPS), dst=rng.choice(IPS), ttl=rng.choice([1, 64, 255]), options=options)
    kind = rng.choice(["tcp", "udp", "udp", "icmp", "gtp", "other"])
    payload = Raw(bytes(rng.randrange(256) for _ in range(rng.choice([0, 4, 30]))))
    if kind == "tcp":
        l4 = TCP(sport=rng.choice(PORTS), dport=rng.choice(PORTS), flags=rng.choice(["S", "SA", "A", "FA", "R"]))
    elif kind == "udp":
        l4 = UDP(sport=rng.choice(PORTS), dport=rng.choice(PORTS))
    elif kind == "gtp":
        l4 = UDP(sport=2152, dport=2152) / GTP_U_Header(teid=rng.randrange(1 << 32), gtp_type=255) / IP(dst="10.9.9.9") / UDP()
    elif kind == "icmp":
        seq = rng.randrange(65536)
        if v6:
            l4 = (ICMPv6EchoRequest if rng.random() < 0.5 else ICMPv6EchoReply)(seq=seq)
        else:
            l4 = ICMP(type=rng.choice([0, 8, 3]), code=rng.choice([0, 1]), seq=seq)
    else:
        l4 = None
    frame = l2 / l3 / l4 / payload if l4 is not None else l2 / l3 / payload
    if not v6 and kind == "other":
        frame[IP].proto = rng.choice([47, 50, 132])
    return bytes(frame)


def malformed(rng):
    frame = bytearray(well_formed(rng))
    way = rng.choice(["truncate", "truncate", "ihl", "total", "udplen", "fragment", "vlan_only", "version", "doff"])
    # where IP starts (after up to two tags)
    l3 = 14
    while l3 + 2 <= len(frame) and frame[l3 - 2:l3] in (b"\x81\x00", b"\x88\xa8"):
        l3 += 4
    is_ip4 = frame[l3 - 2:l3] == b"\x08\x00"
    if way == "truncate" or not is_ip4:
        return bytes(frame[:rng.randrange(14, max(15, len(frame)))])
    ihl = (frame[l3] & 15) * 4
    if way == "ihl":
        frame[l3] = (frame[l3] & 0xF0) | rng.choice([0, 3, 4, 15])
    elif way == "version":
        frame[l3] = (rng.choice([5, 6, 0]) << 4) | (frame[l3] & 15)
    elif way == "total":
        total = rng.choice([ihl - 1, len(frame) - l3 + 1, 65535, 0])
        frame[l3 + 2:l3 + 4] = max(0, total).to_bytes(2, "big")
    elif way == "udplen" and frame[l3 + 9] == 17:
        l4 = l3 + ihl
        frame[l4 + 4:l4 + 6] = rng.choice([0, 7, len(frame) - l4 + 1, 65535]).to_bytes(2, "big")
    elif way == "doff" and frame[l3 + 9] == 6:
        l4 = l3 + ihl
        frame[l4 + 12] = (rng.choice([0, 4, 15]) << 4) | (frame[l4 + 12] & 15)
    elif way == "fragment":
        frame[l3 + 6:l3 + 8] = (rng.choice([1, 100, 0x1FFF]) | rng.choice([0, 0x2000])).to_bytes(2, "big")
    elif way == "vlan_only":
        return bytes(Ether() / Dot1Q(vlan=rng.choice(VLANS)))[:rng.choice([14, 16, 17, 18])] or bytes(14)
    return bytes(frame)


def frames(seed, count):
    rng = random.Random(seed)
    return [well_formed(rng) if rng.random() < 0.6 else malformed(rng) for _ in range(count)]
