#!/usr/bin/env python3
"""rawtracepoint_live.py DPTRACE: known UDP traffic between two namespaces
(static neighbours, IPv6 off: no ARP or ND frames), seen through
rawtracepoint:netif_receive_skb with kernel struct reads (CO-RE), counted and
streamed with emit() as JSON lines; every value is compared with what was
sent. Prints one line per check; exits 1 on the first mismatch."""
import json
import subprocess
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from netns import Net  # noqa: E402

PORT = 47811
SIZES = [10, 100, 555, 1000, 1400]  # UDP payloads, each sent once as unicast
BROADCASTS = 3                      # and this many 20-byte broadcasts

SCRIPT = r"""
rawtracepoint:netif_receive_skb /str(args.skb->dev->name) == "%(dev)s"/ {
  $d = args.skb->data;
  $dport = ((u16)*($d + 22) << 8) | *($d + 23);
  @frames[args.skb->pkt_type] = count();
  if ($dport == %(port)d) {
    @len = hist(args.skb->len);
    emit(len = args.skb->len, dev = str(args.skb->dev->name), ifindex = args.skb->dev->ifindex,
         proto = args.skb->protocol, pkt_type = args.skb->pkt_type, port = $dport, cpu = cpu);
  }
}
"""

SEND = ("import socket, sys\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)\n"
        "for n in map(int, sys.argv[3].split(',')): s.sendto(b'u' * n, (sys.argv[1], int(sys.argv[2])))\n"
        "for i in range(int(sys.argv[4])): s.sendto(b'b' * 20, (sys.argv[5], int(sys.argv[2])))\n")


def check(what, got, want):
    ok = got == want
    print(("ok " if ok else "MISMATCH ") + what + ": " + repr(got) + ("" if ok else " (want " + repr(want) + ")"))
    if not ok:
        sys.exit(1)


with Net(sys.argv[1]) as net:
    a, b = net.if_["a"], net.if_["b"]
    net.run("A", "ip", "neigh", "replace", "10.61.0.2", "lladdr", net.mac("B", "b"), "dev", a, "nud", "permanent")
    net.run("B", "ip", "neigh", "replace", "10.61.0.1", "lladdr", net.mac("A", "a"), "dev", b, "nud", "permanent")
    ifindex = int(net.run("B", "cat", "/sys/class/net/%s/ifindex" % b).stdout)
    # -f json says it attached on stdout, as {"type": "attached_probes", ...}
    proc = subprocess.Popen(["ip", "netns", "exec", net.ns["B"], net.dptrace_path, "-f", "json", "-e",
                             SCRIPT % {"dev": b, "port": PORT}], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()  # bounded: dptrace exits (EOF) if it cannot attach
    if '"attached_probes"' not in first:
        proc.kill()
        sys.exit("dptrace did not attach: " + first + proc.stderr.read())
    net.run("A", "/usr/bin/python3", "-c", SEND, "10.61.0.2", str(PORT), ",".join(map(str, SIZES)), str(BROADCASTS),
            "10.61.0.255")
    time.sleep(0.2)
    out, err = net.stop(proc)

lines = [json.loads(line) for line in out.splitlines() if line.strip()]
events = [e["data"] for e in lines if e["type"] == "event"]
maps = {k: v for e in lines if e["type"] in ("map", "hist") for k, v in e["data"].items()}
check("stderr reports no lost events", "lost" in err, False)
check("events (one per frame)", len(events), len(SIZES) + BROADCASTS)
check("probe of the events", sorted({e["probe"] for e in lines if e["type"] == "event"}),
      ["rawtracepoint:netif_receive_skb"])
# skb->len at netif_receive_skb: the IPv4 packet (the Ethernet header is pulled already)
check("skb->len of the unicast frames", sorted(e["len"] for e in events if e["pkt_type"] == 0),
      sorted(20 + 8 + n for n in SIZES))
check("skb->len of the broadcasts", [e["len"] for e in events if e["pkt_type"] == 1], [20 + 8 + 20] * BROADCASTS)
check("device name through skb->dev", sorted({e["dev"] for e in events}), [b])
check("skb->dev->ifindex", sorted({e["ifindex"] for e in events}), [ifindex])
check("skb->protocol (__be16) in host order", sorted({e["proto"] for e in events}), [0x0800])
check("destination port read from skb->data", sorted({e["port"] for e in events}), [PORT])
check("pkt_type bit-field counts (0 host, 1 broadcast)", maps.get("@frames"), {"0": len(SIZES), "1": BROADCASTS})
check("hist of skb->len holds every unicast and broadcast frame",
      sum(b["count"] for b in maps["@len"]), len(SIZES) + BROADCASTS)
