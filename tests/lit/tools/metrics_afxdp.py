#!/usr/bin/env python3
"""metrics_afxdp.py DPTRACE: an afxdp script with --metrics on a veth pair
between namespaces made here; 20 UDP datagrams to port 4242 go to the
AF_XDP socket; a scrape from inside B prints the body's count and the
socket's counters (dptrace_afxdp_*_total), names made stable for FileCheck."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netns import Net, send_udp  # noqa: E402

DPTRACE = sys.argv[1]
SCRAPE = "import urllib.request, sys; print(urllib.request.urlopen('http://127.0.0.1:%s/metrics', timeout=10).read().decode())"
with Net(DPTRACE) as net:
    net.run("A", "ip", "neigh", "replace", "10.61.0.2", "lladdr", net.mac("B", "b"), "dev", net.if_["a"], "nud", "permanent")
    port = str(19000 + os.getpid() % 1000)
    proc = net.dptrace("--metrics", port, "-e", "afxdp:%s /udp && udp.dport == 4242/ { @rx = count(); drop(); }" % net.if_["b"])
    send_udp(net, "A", "10.61.0.2", 4242, 20)
    time.sleep(0.5)
    text = net.run("B", "/usr/bin/python3", "-c", SCRAPE % port).stdout
    net.stop(proc)
    for line in text.splitlines():
        if re.match(r"dptrace_(rx_total|afxdp_(rx_packets|body_dropped|tx_packets|rx_dropped)_total)", line):
            print(line.replace(net.if_["b"], "IFACE"))
