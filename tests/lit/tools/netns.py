"""Network namespaces for the XDP tests: veth pairs between namespaces
created with names unique to the process, removed at the end, and the
traffic helpers the tests share (ping, UDP sender and receiver). Every wait
is bounded."""
import os
import signal
import subprocess
import sys
import time


def sh(*cmd, check=True, timeout=30):
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True, timeout=timeout)


class Net:
    """Namespaces A (sender) and B (dptrace) joined by veth a<->b; with
    `third`, namespace C joined to B by veth c<->d (B's c, C's d)."""

    def __init__(self, dptrace, third=False, ipv6=False, index_b=None):
        tag = "%x" % (os.getpid() & 0xFFFF)
        self.dptrace_path = dptrace
        self.ns = {"A": "labA" + tag, "B": "labB" + tag, "C": "labC" + tag}
        self.if_ = {"a": "la" + tag, "b": "lb" + tag, "c": "lc" + tag, "d": "ld" + tag}
        self.teardown()
        for n in ("A", "B") + (("C",) if third else ()):
            sh("ip", "netns", "add", self.ns[n])
            if not ipv6:
                self.run(n, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
            self.run(n, "ip", "link", "set", "lo", "up")
        if index_b:  # b with this ifindex: events of B's interface told from other namespaces' by it
            sh("ip", "link", "add", self.if_["b"], "netns", self.ns["B"], "index", str(index_b), "type", "veth", "peer",
               "name", self.if_["a"], "netns", self.ns["A"])
        else:
            sh("ip", "link", "add", self.if_["a"], "netns", self.ns["A"], "type", "veth", "peer", "name", self.if_["b"],
               "netns", self.ns["B"])
        self.setup("A", "a", "10.61.0.1/24", "fc61::1/64" if ipv6 else None)
        self.setup("B", "b", "10.61.0.2/24", "fc61::2/64" if ipv6 else None)
        self.run("A", "ethtool", "-K", self.if_["a"], "tx", "off")
        if third:
            sh("ip", "link", "add", self.if_["c"], "netns", self.ns["B"], "type", "veth", "peer", "name", self.if_["d"],
               "netns", self.ns["C"])
            self.setup("B", "c", "10.62.0.1/24", None)
            self.setup("C", "d", "10.62.0.2/24", None)

    def setup(self, n, i, addr, addr6):
        self.run(n, "ip", "addr", "add", addr, "dev", self.if_[i])
        if addr6:
            self.run(n, "ip", "addr", "add", addr6, "dev", self.if_[i], "nodad")
        self.run(n, "ip", "link", "set", self.if_[i], "up")

    def mac(self, n, i):
        return self.run(n, "cat", "/sys/class/net/%s/address" % self.if_[i]).stdout.strip()

    def run(self, n, *cmd, check=True, timeout=30):
        return sh("ip", "netns", "exec", self.ns[n], *cmd, check=check, timeout=timeout)

    def teardown(self):
        for n in self.ns.values():
            sh("ip", "netns", "del", n, check=False)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.teardown()

    def dptrace(self, *arguments):
        """Starts dptrace in namespace B and returns once it has attached."""
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns["B"], self.dptrace_path, *arguments],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 20
        err = []
        for line in proc.stderr:
            err.append(line)
            if line.startswith("Attaching"):
                return proc
            if time.time() > deadline:
                break
        proc.kill()
        sys.exit("dptrace did not attach:\n" + "".join(err) + proc.stderr.read())

    @staticmethod
    def stop(proc):
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        return out, err


def ping(net, ns, addr, count, v6=False):
    r = net.run(ns, "ping", "-6" if v6 else "-4", "-c", str(count), "-i", "0.1", "-W", "1", addr, check=False)
    line = [l for l in r.stdout.splitlines() if "transmitted" in l]
    return line[0].split(", time")[0] if line else r.stdout + r.stderr


UDP_SEND = ("import socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "for i in range(int(sys.argv[3])): s.sendto(b'x' * 10, (sys.argv[1], int(sys.argv[2])))")
UDP_RECV = ("import socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
            "s.bind((sys.argv[1], int(sys.argv[2]))); s.settimeout(3); n = 0\n"
            "try:\n"
            "    while n < int(sys.argv[3]): s.recv(100); n += 1\n"
            "except OSError: pass\n"
            "print('received', n, 'on port', sys.argv[2])")


def receiver(net, ns, addr, port, count):
    p = subprocess.Popen(["ip", "netns", "exec", net.ns[ns], "/usr/bin/python3", "-c", UDP_RECV, addr, str(port),
                          str(count)], stdout=subprocess.PIPE, text=True)
    time.sleep(0.3)
    return p


def send_udp(net, ns, addr, port, count):
    net.run(ns, "/usr/bin/python3", "-c", UDP_SEND, addr, str(port), str(count))
