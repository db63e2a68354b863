#!/usr/bin/env python3
"""xdp_veth.py DPTRACE MODE: end-to-end XDP on a veth pair between two network
namespaces (netns.Net: created with names unique to the run, removed at the end).

  count    dptrace counts by protocol on the receiver while the sender sends
           exactly 20 UDP datagrams, 7 TCP SYNs and 5 pings; prints the map
  drop     an ICMP drop rule: the sender's pings all fail while 10 UDP
           datagrams still reach a socket on the receiver
  sigkill  after SIGKILL of dptrace, the interface has no XDP program
Every wait is bounded; traffic stays inside the two namespaces."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netns import Net, receiver, send_udp  # noqa: E402

DPTRACE, MODE = sys.argv[1], sys.argv[2]
ADDR_B = "10.61.0.2"
SEND_TCP = ("import socket\n"
            "for i in range(%d):\n"
            "    s = socket.socket(); s.settimeout(1)\n"
            "    try: s.connect(('%s', 9998))\n"
            "    except OSError: pass\n"
            "    s.close()")


def main():
    with Net(DPTRACE) as net:
        net.run("A", "ping", "-c", "1", "-W", "2", ADDR_B)  # ARP resolved before counting
        if_b = net.if_["b"]
        has_xdp = lambda: "xdp" in net.run("B", "ip", "link", "show", if_b).stdout  # noqa: E731
        if MODE == "count":
            proc = net.dptrace("-e", "xdp:%s { @proto[ip.proto] = count(); @tcp_syn[tcp.flags] = count(); "
                                     "@udp_port[udp.dport] = count(); }" % if_b)
            send_udp(net, "A", ADDR_B, 9999, 20)
            net.run("A", "/usr/bin/python3", "-c", SEND_TCP % (7, ADDR_B))
            net.run("A", "ping", "-c", "5", "-i", "0.05", "-W", "1", ADDR_B)
            time.sleep(0.2)
            print(net.stop(proc)[0])
        elif MODE == "drop":
            proc = net.dptrace("-e", "xdp:%s /icmp/ { @dropped = count(); drop(); } xdp:%s /udp/ { @udp = count(); }"
                               % (if_b, if_b))
            rx = receiver(net, "B", ADDR_B, 9999, 10)
            ping = net.run("A", "ping", "-c", "4", "-i", "0.05", "-W", "1", ADDR_B, check=False)
            print("ping exit status", ping.returncode)
            print([l for l in ping.stdout.splitlines() if "transmitted" in l][0])
            send_udp(net, "A", ADDR_B, 9999, 10)
            print(rx.communicate(timeout=10)[0].strip())
            print(net.stop(proc)[0])
        elif MODE == "sigkill":
            proc = net.dptrace("-e", "xdp:%s { @n = count(); }" % if_b)
            print("while running:", has_xdp())
            proc.kill()
            proc.wait(timeout=10)
            deadline = time.time() + 5
            while has_xdp() and time.time() < deadline:
                time.sleep(0.05)
            print("after SIGKILL:", has_xdp())
            ping = net.run("A", "ping", "-c", "1", "-W", "2", ADDR_B, check=False)
            print("ping after SIGKILL exit status", ping.returncode)


main()
