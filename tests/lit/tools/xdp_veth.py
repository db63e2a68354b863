#!/usr/bin/env python3
"""xdp_veth.py DPTRACE MODE: end-to-end XDP on a veth pair between two network
namespaces this script creates (names unique to the run) and removes.

  count    dptrace counts by protocol on the receiver while the sender sends
           exactly 20 UDP datagrams, 7 TCP SYNs and 5 pings; prints the map
  drop     an ICMP drop rule: the sender's pings all fail while 10 UDP
           datagrams still reach a socket on the receiver
  sigkill  after SIGKILL of dptrace, the interface has no XDP program
Every wait is bounded; traffic stays inside the two namespaces."""
import os
import signal
import subprocess
import sys
import time

DPTRACE, MODE = sys.argv[1], sys.argv[2]
tag = "%x" % (os.getpid() & 0xFFFFF)
NS_A, NS_B = "dpA" + tag, "dpB" + tag
IF_A, IF_B = "va" + tag, "vb" + tag
ADDR_A, ADDR_B = "10.199.%d.1" % (os.getpid() % 250), "10.199.%d.2" % (os.getpid() % 250)


def sh(*cmd, check=True, **kw):
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True, timeout=30, **kw)


def in_ns(ns, *cmd, **kw):
    return sh("ip", "netns", "exec", ns, *cmd, **kw)


def setup():
    sh("ip", "netns", "add", NS_A)
    sh("ip", "netns", "add", NS_B)
    sh("ip", "link", "add", IF_A, "netns", NS_A, "type", "veth", "peer", "name", IF_B, "netns", NS_B)
    for ns, ifname, addr in ((NS_A, IF_A, ADDR_A), (NS_B, IF_B, ADDR_B)):
        in_ns(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        in_ns(ns, "ip", "addr", "add", addr + "/24", "dev", ifname)
        in_ns(ns, "ip", "link", "set", ifname, "up")
        in_ns(ns, "ip", "link", "set", "lo", "up")
    # Resolve ARP now, so that no ARP or retransmission is left to race the counts.
    in_ns(NS_A, "ping", "-c", "1", "-W", "2", ADDR_B)


def teardown():
    for ns in (NS_A, NS_B):
        sh("ip", "netns", "del", ns, check=False)


def start_dptrace(script):
    proc = subprocess.Popen(["ip", "netns", "exec", NS_B, DPTRACE, "-e", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 20
    for line in proc.stderr:
        if line.startswith("Attaching"):
            return proc
        if time.time() > deadline:
            break
    proc.kill()
    sys.exit("dptrace did not attach: " + proc.stderr.read())


def stop(proc, sig=signal.SIGINT):
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    return out, err


SEND_UDP = ("import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "for i in range(%d): s.sendto(b'x' * 10, ('%s', 9999))")
SEND_TCP = ("import socket\n"
            "for i in range(%d):\n"
            "    s = socket.socket(); s.settimeout(1)\n"
            "    try: s.connect(('%s', 9998))\n"
            "    except OSError: pass\n"
            "    s.close()")
RECV_UDP = ("import socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('%s', 9999));"
            " s.settimeout(3); n = 0\n"
            "try:\n"
            "    while n < %d: s.recv(100); n += 1\n"
            "except OSError: pass\n"
            "print('received', n)")


def main():
    teardown()
    setup()
    try:
        if MODE == "count":
            proc = start_dptrace("xdp:%s { @proto[ip.proto] = count(); @tcp_syn[tcp.flags] = count(); "
                                 "@udp_port[udp.dport] = count(); }" % IF_B)
            in_ns(NS_A, "/usr/bin/python3", "-c", SEND_UDP % (20, ADDR_B))
            in_ns(NS_A, "/usr/bin/python3", "-c", SEND_TCP % (7, ADDR_B))
            in_ns(NS_A, "ping", "-c", "5", "-i", "0.05", "-W", "1", ADDR_B)
            time.sleep(0.2)
            out, err = stop(proc)
            print(out)
        elif MODE == "drop":
            proc = start_dptrace("xdp:%s /icmp/ { @dropped = count(); drop(); } xdp:%s /udp/ { @udp = count(); }"
                                 % (IF_B, IF_B))
            receiver = subprocess.Popen(["ip", "netns", "exec", NS_B, "/usr/bin/python3", "-c", RECV_UDP % (ADDR_B, 10)],
                                        stdout=subprocess.PIPE, text=True)
            time.sleep(0.3)
            ping = in_ns(NS_A, "ping", "-c", "4", "-i", "0.05", "-W", "1", ADDR_B, check=False)
            print("ping exit status", ping.returncode)
            print([l for l in ping.stdout.splitlines() if "transmitted" in l][0])
            in_ns(NS_A, "/usr/bin/python3", "-c", SEND_UDP % (10, ADDR_B))
            print(receiver.communicate(timeout=10)[0].strip())
            out, err = stop(proc)
            print(out)
        elif MODE == "sigkill":
            proc = start_dptrace("xdp:%s { @n = count(); }" % IF_B)
            print("while running:", "xdp" in in_ns(NS_B, "ip", "link", "show", IF_B).stdout)
            proc.kill()
            proc.wait(timeout=10)
            deadline = time.time() + 5
            while "xdp" in in_ns(NS_B, "ip", "link", "show", IF_B).stdout and time.time() < deadline:
                time.sleep(0.05)
            print("after SIGKILL:", "xdp" in in_ns(NS_B, "ip", "link", "show", IF_B).stdout)
            ping = in_ns(NS_A, "ping", "-c", "1", "-W", "2", ADDR_B, check=False)
            print("ping after SIGKILL exit status", ping.returncode)
    finally:
        teardown()


main()
