"""An independent model of dptrace's packet views, for the XDP tests.

views(frame) parses the raw bytes with struct (not with dptrace's rules in C++)
and returns {view: {field: value}} for the views that are present, following
DESIGN.md: up to two VLAN tags skipped on the way to IP, IPv4 with options
(version 4, IHL >= 5, options and total length within the frame, total >=
header), IPv6 fixed header (payload within the frame), L4 over IPv4 first
fragments only and over IPv6 when the next header names it, TCP data offset
>= 5 and within the frame, UDP length >= 8 and within the frame, ICMP over
IPv4 and ICMPv6 over IPv6 with 8 bytes, GTP-U v1 on UDP destination port 2152.
Numbers are host order; addresses are bytes. check_with_scapy() compares the
model's fields with scapy's own parse for well-formed frames.
"""
import struct


def be16(b, o):
    return struct.unpack_from("!H", b, o)[0]


def be32(b, o):
    return struct.unpack_from("!I", b, o)[0]


VLAN_TYPES = (0x8100, 0x88A8)


def views(frame, ifindex=1, queue=0):
    n = len(frame)
    v = {"pkt": {"len": n, "ifindex": ifindex, "queue": queue}}
    if n < 14:
        return v
    eth = {"dst": frame[0:6], "src": frame[6:12]}
    v["eth"] = eth
    etype = be16(frame, 12)
    l3 = 14
    eth["type"] = etype
    if etype in VLAN_TYPES:
        if n < 18:
            return v
        v["vlan"] = {"id": be16(frame, 14) & 0xFFF}
        etype = be16(frame, 16)
        eth["type"] = etype
        l3 = 18
        if etype in VLAN_TYPES:
            if n < 22:
                return v
            etype = be16(frame, 20)
            eth["type"] = etype
            l3 = 22
    if etype == 0x0800:
        if n < l3 + 20 or frame[l3] >> 4 != 4:
            return v
        hlen = (frame[l3] & 15) * 4
        total = be16(frame, l3 + 2)
        if hlen < 20 or l3 + hlen > n or total < hlen or l3 + total > n:
            return v
        v["ip"] = {"src": frame[l3 + 12:l3 + 16], "dst": frame[l3 + 16:l3 + 20], "proto": frame[l3 + 9],
                   "ttl": frame[l3 + 8], "len": total}
        if be16(frame, l3 + 6) & 0x1FFF:
            return v
        l4_views(frame, l3 + hlen, frame[l3 + 9], False, v)
    elif etype == 0x86DD:
        if n < l3 + 40 or frame[l3] >> 4 != 6 or l3 + 40 + be16(frame, l3 + 4) > n:
            return v
        v["ip6"] = {"src": frame[l3 + 8:l3 + 24], "dst": frame[l3 + 24:l3 + 40], "nexthdr": frame[l3 + 6]}
        l4_views(frame, l3 + 40, frame[l3 + 6], True, v)
    return v


def l4_views(frame, l4, proto, v6, v):
    n = len(frame)
    if proto == 6:
        if n >= l4 + 20 and frame[l4 + 12] >> 4 >= 5 and l4 + (frame[l4 + 12] >> 4) * 4 <= n:
            v["tcp"] = {"sport": be16(frame, l4), "dport": be16(frame, l4 + 2), "flags": frame[l4 + 13]}
    elif proto == 17:
        if n >= l4 + 8 and be16(frame, l4 + 4) >= 8 and l4 + be16(frame, l4 + 4) <= n:
            v["udp"] = {"sport": be16(frame, l4), "dport": be16(frame, l4 + 2), "len": be16(frame, l4 + 4)}
            g = l4 + 8
            if v["udp"]["dport"] == 2152 and n >= g + 8 and frame[g] >> 5 == 1:
                v["gtp"] = {"type": frame[g + 1], "teid": be32(frame, g + 4)}
    elif proto == 1 and not v6:
        if n >= l4 + 8:
            v["icmp"] = {"type": frame[l4], "code": frame[l4 + 1], "seq": be16(frame, l4 + 6)}
    elif proto == 58 and v6:
        if n >= l4 + 8:
            v["icmp6"] = {"type": frame[l4], "seq": be16(frame, l4 + 6)}


def check_with_scapy(frame):
    """For a well-formed frame: scapy's parse gives the same fields. Returns a
    list of disagreements (empty when they agree)."""
    from scapy.all import Ether, IP, IPv6, TCP, UDP, ICMP, Dot1Q, Dot1AD
    import socket
    p = Ether(frame)
    v = views(frame)
    bad = []

    def same(what, ours, theirs):
        if ours != theirs:
            bad.append("%s: model %r, scapy %r" % (what, ours, theirs))
    if "ip" in v and IP in p:
        same("ip.src", socket.inet_ntoa(v["ip"]["src"]), p[IP].src)
        same("ip.proto", v["ip"]["proto"], p[IP].proto)
        same("ip.ttl", v["ip"]["ttl"], p[IP].ttl)
        same("ip.len", v["ip"]["len"], p[IP].len)
    if "ip6" in v and IPv6 in p:
        same("ip6.dst", socket.inet_ntop(socket.AF_INET6, v["ip6"]["dst"]), p[IPv6].dst)
        same("ip6.nexthdr", v["ip6"]["nexthdr"], p[IPv6].nh)
    if "tcp" in v and TCP in p:
        same("tcp.dport", v["tcp"]["dport"], p[TCP].dport)
        same("tcp.flags", v["tcp"]["flags"], int(p[TCP].flags))
    if "udp" in v and UDP in p:
        same("udp.sport", v["udp"]["sport"], p[UDP].sport)
        same("udp.len", v["udp"]["len"], p[UDP].len)
    if "icmp" in v and ICMP in p:
        same("icmp.type", v["icmp"]["type"], p[ICMP].type)
        if p[ICMP].type in (0, 8):
            same("icmp.seq", v["icmp"]["seq"], p[ICMP].seq)
    if "vlan" in v:
        outer = p.getlayer(1)
        if isinstance(outer, (Dot1Q, Dot1AD)):
            same("vlan.id", v["vlan"]["id"], outer.vlan)
    return bad
