#!/usr/bin/env python3
"""labs.py DPTRACE LAB {live|pcap}: runs an examples/labs lab the way a
student would, and prints what proves it worked, for FileCheck.

live: on veth pairs between network namespaces created here (names unique to
      the run) and removed at the end: the sender's TX checksum offload is off,
      so that the frames carry full checksums; receivers prove the checksums
      right by accepting the frames (replies arrive, sockets receive).
pcap: the lab over a capture written with scapy (dptrace --pcap), verdicts and
      output bytes checked.
Every wait is bounded."""
import logging
import os
import re
import signal
import subprocess
import sys
import time

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netns import Net, ping, receiver, send_udp, sh  # noqa: E402
from scapy.all import (Ether, Dot1Q, IP, IPv6, UDP, TCP, ICMP, ICMPv6EchoRequest, Raw, Padding, wrpcap, rdpcap,  # noqa: E402
                       conf)

conf.verb = 0
DPTRACE, LAB, MODE = sys.argv[1], sys.argv[2], sys.argv[3]
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
LABS = {"1": "lab1-pass-drop/lab1.dpt", "2": "lab2-action-stats/lab2.dpt", "3": "lab3-parse-drop/lab3.dpt",
        "4": "lab4-rewrite-port/lab4.dpt", "5": "lab5-vlan/lab5.dpt", "6": "lab6-echo/lab6.dpt",
        "7": "lab7-redirect/lab7.dpt", "8": "lab8-xdp-tracepoints/lab8.dpt",
        "9": "lab9-afxdp/lab9.dpt", "10": "lab10-programs-by-name/lab10.dpt",
        "11": "lab11-pinned-maps/lab11.dpt",
        "12": "lab12-xdp-monitor/lab12.dpt", "13": "lab13-debug-print/lab13.dpt",
        "14": "lab14-capture/lab14.dpt", "15": "lab15-router/lab15.dpt",
        "16": "lab16-tail-growth/lab16.dpt", "17": "lab17-xdp-vs-iptables/lab17.dpt"}
SCRIPT = os.path.join(ROOT, "examples", "labs", LABS[LAB])
TAG = "%x" % (os.getpid() & 0xFFFF)
WORK = "/tmp/dptrace-lab%s-%s" % (LAB, TAG)
os.makedirs(WORK, exist_ok=True)


def lab_script(net):
    """The lab's script with veth0 (and veth1) replaced by this run's interfaces."""
    text = open(SCRIPT).read().replace("veth0", net.if_["b"]).replace("veth1", net.if_["c"])
    path = os.path.join(WORK, "lab.dpt")
    open(path, "w").write(text)
    return path


def replay(frames, *extra, script=None):
    pcap = os.path.join(WORK, "in.pcap")
    out = os.path.join(WORK, "out.pcap")
    wrpcap(pcap, frames)
    text = open(SCRIPT).read()
    if script:
        text = script(text)
    path = os.path.join(WORK, "lab-pcap.dpt")
    open(path, "w").write(text)
    r = subprocess.run([DPTRACE, "--pcap", pcap, "--pcap-out", out, *extra, path], capture_output=True, text=True,
                       timeout=60)
    print(r.stdout.strip())
    if r.returncode:
        print("dptrace failed:", r.stderr)
    written = rdpcap(out) if os.path.exists(out) and os.path.getsize(out) > 24 else []
    return written


def checksums_ok(frames):
    """Every written frame's checksums equal what scapy computes afresh."""
    bad = 0
    for p in frames:
        fresh = p.copy()
        for layer in (IP, TCP, UDP, ICMP, IPv6, ICMPv6EchoRequest):
            if layer in fresh:
                for f in ("chksum", "cksum"):
                    if hasattr(fresh[layer], f):
                        delattr(fresh[layer], f)
        bad += bytes(Ether(bytes(fresh))) != bytes(p)
    return "checksums: %d of %d frames wrong" % (bad, len(frames))


ETH = Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b")


def lab13_frames():
    """40 frames of known source MACs (02:00:00:00:13:NN) and ethertypes."""
    kinds = [lambda: IP(src="10.61.0.1", dst="10.61.0.2") / UDP(dport=9), lambda: IPv6(dst="fc61::2") / ICMPv6EchoRequest(),
             lambda: Raw(b"\x00\x01\x08\x00\x06\x04\x00\x01" + bytes(20)), lambda: Raw(b"lab13 " * 4)]
    types = [0x0800, 0x86DD, 0x0806, 0x88B5]
    return [Ether(src="02:00:00:00:13:%02x" % i, dst="02:00:00:00:13:ff" if i % 3 else "ff:ff:ff:ff:ff:ff",
                  type=types[i % 4]) / kinds[i % 4]() for i in range(40)]


def lab13_lines(frames):
    return ["src: %s dst: %s proto: 0x%04x" % (f[Ether].src, f[Ether].dst, f[Ether].type) for f in frames]


def lab14_frames():
    """30 frames of known bytes from 02:00:00:00:14:NN, 60 to 1400 bytes long
    (those past 1024 are cut by capture(1024))."""
    sizes = [60, 100, 500, 1024, 1025, 1400]
    frames = []
    for i in range(30):
        head = Ether(src="02:00:00:00:14:%02x" % i, dst="02:00:00:00:14:ff") / IP(src="10.61.0.1", dst="10.61.0.2") / UDP(
            sport=1400 + i, dport=9)
        frames.append(head / Raw(bytes((i + j) & 0xFF for j in range(sizes[i % len(sizes)] - len(head)))))
    return frames


def lab14_check(frames, captured):
    """captured: (bytes, wire length) of our frames, in order."""
    print("captured %d of %d frames" % (len(captured), len(frames)))
    print("bytes equal the sent frames' first 1024:", [c[0] for c in captured] == [bytes(f)[:1024] for f in frames])
    print("wire lengths equal:", [c[1] for c in captured] == [len(f) for f in frames])
    print("cut:", sum(len(c[0]) < c[1] for c in captured))


def read_capture(path, prefix=b"\x02\x00\x00\x00\x14"):
    from scapy.utils import RawPcapReader
    return [(data, meta.wirelen) for data, meta in RawPcapReader(path) if data[6:11] == prefix]


def lab_live(n):
    if n == "1":
        with Net(DPTRACE) as net:
            for mode in ("native", "generic"):
                proc = net.dptrace("--xdp-mode", mode, lab_script(net))
                print(mode, "pass:", ping(net, "A", "10.61.0.2", 3))
                print(net.stop(proc)[0].strip())
            drop = lab_script(net)
            text = open(drop).read().replace("pass();", "drop();")
            open(drop, "w").write(text)
            proc = net.dptrace(drop)
            print("drop:", ping(net, "A", "10.61.0.2", 3))
            print(net.stop(proc)[0].strip())
    elif n == "2":
        with Net(DPTRACE) as net:
            net.run("A", "ip", "neigh", "replace", "10.61.0.2", "lladdr", net.mac("B", "b"), "dev", net.if_["a"], "nud", "permanent")
            net.run("B", "ip", "neigh", "replace", "10.61.0.1", "lladdr", net.mac("A", "a"), "dev", net.if_["b"], "nud", "permanent")
            proc = net.dptrace(lab_script(net))
            print(ping(net, "A", "10.61.0.2", 4))
            send_udp(net, "A", "10.61.0.2", 9999, 5)
            time.sleep(2.5)
            out, _ = net.stop(proc)
            # The traffic may fall on both sides of a 2 s print (a loaded
            # machine), and what is left is printed at the exit: the totals
            # of every print, in the lab's order.
            totals = {}
            for name, action, value in re.findall(r"^@(packets|bytes)\[(drop|pass)\]: (\d+)$", out, re.M):
                totals[(name, action)] = totals.get((name, action), 0) + int(value)
            for name in ("packets", "bytes"):
                for action in ("drop", "pass"):
                    print("@%s[%s]: %d" % (name, action, totals.get((name, action), 0)))
            print("prints every 2 s:", len(re.findall(r"^\d\d:\d\d:\d\d$", out, re.M)))
    elif n == "3":
        with Net(DPTRACE, ipv6=True) as net:
            net.run("A", "ping", "-6", "-c", "1", "-W", "2", "fc61::2", check=False)  # neighbours first
            proc = net.dptrace(lab_script(net))
            print("v4:", ping(net, "A", "10.61.0.2", 6))
            print("v6:", ping(net, "A", "fc61::2", 6, v6=True))
            print(net.stop(proc)[0].strip())
    elif n == "4":
        with Net(DPTRACE) as net:
            net.run("A", "ping", "-c", "1", "-W", "2", "10.61.0.2")
            proc = net.dptrace(lab_script(net))
            rx = receiver(net, "B", "10.61.0.2", 4242, 5)
            send_udp(net, "A", "10.61.0.2", 4243, 5)
            print(rx.communicate(timeout=10)[0].strip())
            # TCP: a SYN to 8080 reaches the listener on 8079, whose SYN-ACK comes back from 8079
            listener = subprocess.Popen(["ip", "netns", "exec", net.ns["B"], "/usr/bin/python3", "-c",
                                         "import socket, time; s = socket.socket(); s.bind(('10.61.0.2', 8079)); "
                                         "s.listen(); time.sleep(4)"])
            time.sleep(0.3)
            syn = net.run("A", "/usr/bin/python3", "-c",
                          "import logging; logging.getLogger('scapy.runtime').setLevel(logging.ERROR)\n"
                          "from scapy.all import *; conf.verb = 0\n"
                          "s = AsyncSniffer(iface='%s', lfilter=lambda p: TCP in p and p[TCP].sport == 8079 and p[TCP].flags.S and p[TCP].flags.A)\n"
                          "s.start(); time.sleep(0.3)\n"
                          "send(IP(dst='10.61.0.2')/TCP(sport=40000, dport=8080, flags='S'), iface='%s')\n"
                          "time.sleep(1); s.stop(); print('SYN-ACK from port 8079:', len(s.results))" % (net.if_["a"], net.if_["a"]),
                          check=False, timeout=20)
            print(syn.stdout.strip() or syn.stderr)
            listener.kill()
            print(net.stop(proc)[0].strip())
            print("TCP checksum errors at the receiver:", re.findall(r"Tcp:.*", net.run("B", "cat", "/proc/net/snmp").stdout)[1].split()[-2])
    elif n == "6":
        with Net(DPTRACE, ipv6=True) as net:
            for knob in ("net.ipv4.icmp_echo_ignore_all=1", "net.ipv6.icmp.echo_ignore_all=1"):
                net.run("B", "sysctl", "-qw", knob)  # only XDP answers
            # tx() frames reach the peer only when it runs an XDP program (GRO alone leaves them waiting)
            pass_obj = os.path.join(WORK, "pass.o")
            sh(DPTRACE, "--emit", "obj", "-o", pass_obj, "-e", "xdp:peer { pass(); }")
            net.run("A", "ip", "link", "set", "dev", net.if_["a"], "xdpdrv", "obj", pass_obj, "sec", "xdp")
            net.run("A", "ip", "neigh", "replace", "fc61::2", "lladdr", net.mac("B", "b"), "dev", net.if_["a"], "nud", "permanent")
            net.run("A", "ip", "neigh", "replace", "10.61.0.2", "lladdr", net.mac("B", "b"), "dev", net.if_["a"], "nud", "permanent")
            print("without XDP:", ping(net, "A", "10.61.0.2", 2))
            proc = net.dptrace(lab_script(net))
            print("v4:", ping(net, "A", "10.61.0.2", 5))
            print("v6:", ping(net, "A", "fc61::2", 5, v6=True))
            print(net.stop(proc)[0].strip())
    elif n == "9":
        with Net(DPTRACE, ipv6=True) as net:
            def kernel_replies():
                out = net.run("B", "cat", "/proc/net/snmp6").stdout
                return int(re.search(r"Icmp6OutEchoReplies\s+(\d+)", out).group(1))
            for _ in range(3):  # neighbours resolved (a loaded machine may take a first try for it)
                if net.run("A", "ping", "-6", "-c", "1", "-W", "2", "fc61::2", check=False).returncode == 0:
                    break
            before = kernel_replies()
            proc = net.dptrace(lab_script(net))
            print("v6:", ping(net, "A", "fc61::2", 10, v6=True))
            print("kernel's echo replies:", kernel_replies() - before)
            out, err = net.stop(proc)
            print(out.strip())
            print([l.split(" (")[0] for l in err.splitlines() if l.startswith("AF_XDP RX")][0])
    elif n == "7":
        with Net(DPTRACE, third=True) as net:
            # A reaches 10.62.0.2 through B's MAC; C's interface takes B's MAC so that the
            # redirected frames are addressed to it; NAPI (GRO) on C's side takes them.
            net.run("C", "ip", "link", "set", net.if_["d"], "address", net.mac("B", "b"))
            net.run("C", "ethtool", "-K", net.if_["d"], "gro", "on")
            net.run("A", "ip", "route", "add", "10.62.0.0/24", "dev", net.if_["a"])
            net.run("A", "ip", "neigh", "replace", "10.62.0.2", "lladdr", net.mac("B", "b"), "dev", net.if_["a"], "nud", "permanent")
            net.run("C", "ip", "route", "add", "10.61.0.0/24", "dev", net.if_["d"])
            proc = net.dptrace(lab_script(net))
            rx = receiver(net, "C", "10.62.0.2", 5000, 6)
            send_udp(net, "A", "10.62.0.2", 5000, 6)
            print(rx.communicate(timeout=10)[0].strip())
            print(net.stop(proc)[0].strip())
    elif n == "10":  # one object; each program loaded by name, by ip and by xdp-loader
        obj = os.path.join(WORK, "lab10.o")
        r = subprocess.run([DPTRACE, "--emit", "obj", "-o", obj, SCRIPT], capture_output=True, text=True, timeout=60)
        if r.returncode:
            sys.exit("dptrace --emit obj failed: " + r.stderr)
        symbols = subprocess.run(["llvm-objdump-19", "-t", obj], capture_output=True, text=True, timeout=30).stdout
        print("programs:", " ".join(sorted(set(re.findall(r"\bxdp_veth\d\b", symbols)))))
        with Net(DPTRACE) as net:
            dev = net.if_["b"]
            # Neighbours known, so that no ARP frame meets the drop and abort programs: the counts are the pings.
            net.run("A", "ip", "neigh", "replace", "10.61.0.2", "lladdr", net.mac("B", "b"), "dev", net.if_["a"], "nud", "permanent")
            net.run("B", "ip", "neigh", "replace", "10.61.0.1", "lladdr", net.mac("A", "a"), "dev", dev, "nud", "permanent")
            net.run("B", "ip", "link", "set", "dev", dev, "xdp", "obj", obj, "sec", "xdp", "program", "xdp_veth1")
            print("ip xdp_veth1:", ping(net, "A", "10.61.0.2", 3))
            net.run("B", "ip", "link", "set", "dev", dev, "xdp", "off")
            r = net.run("B", "xdp-loader", "load", "-m", "native", "--prog-name", "xdp_veth0", dev, obj, check=False)
            status = net.run("B", "xdp-loader", "status", dev, check=False).stdout
            print("xdp-loader xdp_veth0: exit %d, %s" % (r.returncode, "listed" if "xdp_veth0" in status else "not listed"),
                  ping(net, "A", "10.61.0.2", 3))
            net.run("B", "xdp-loader", "unload", dev, "--all", check=False)
            net.run("B", "ip", "link", "set", "dev", dev, "xdp", "off", check=False)
            net.run("B", "ip", "link", "set", "dev", dev, "xdp", "obj", obj, "sec", "xdp", "program", "xdp_veth2")
            ifindex = net.run("B", "cat", "/sys/class/net/%s/ifindex" % dev).stdout.strip()
            watch = net.dptrace("-e", "tracepoint:xdp:xdp_exception /args->ifindex == %s/ { @exceptions[args->act] = count(); }"
                                % ifindex)
            print("ip xdp_veth2:", ping(net, "A", "10.61.0.2", 3))
            time.sleep(0.3)
            print(net.stop(watch)[0].strip())
            net.run("B", "ip", "link", "set", "dev", dev, "xdp", "off")
    elif n == "11":  # pinned counters: a restart goes on counting, a reader prints the writer's numbers
        # `ip netns exec` gives each command a /sys of its own, without the host's
        # /sys/fs/bpf: the pins go on a BPF file system mounted here, outside /sys.
        bpffs = os.path.join(WORK, "bpf")
        os.makedirs(bpffs)
        sh("mount", "-t", "bpf", "bpf", bpffs)
        pin = os.path.join(bpffs, "lab11")
        try:
            with Net(DPTRACE) as net:
                net.run("A", "ip", "neigh", "replace", "10.61.0.2", "lladdr", net.mac("B", "b"), "dev", net.if_["a"], "nud", "permanent")
                net.run("B", "ip", "neigh", "replace", "10.61.0.1", "lladdr", net.mac("A", "a"), "dev", net.if_["b"], "nud", "permanent")
                script = lab_script(net)
                proc = net.dptrace("--pin", pin, script)
                print("first run:", ping(net, "A", "10.61.0.2", 3))
                print(" ".join(net.stop(proc)[0].split()))
                print("pinned:", " ".join(sorted(os.listdir(pin))))
                proc = net.dptrace("--pin", pin, script)
                print("second run:", ping(net, "A", "10.61.0.2", 2))
                time.sleep(0.2)
                reader = sh(DPTRACE, "--maps", pin)
                print("reader:", " ".join(reader.stdout.split()))
                ticker = subprocess.Popen([DPTRACE, "--maps", pin, "--interval", "1"], stdout=subprocess.PIPE, text=True)
                time.sleep(2.5)
                ticker.send_signal(signal.SIGINT)
                ticks = ticker.communicate(timeout=10)[0]
                writer = " ".join(net.stop(proc)[0].split())
                print("writer:", writer)
                print("reader equals writer:", " ".join(reader.stdout.split()) == writer)
                print("interval prints:", min(3, ticks.count("@packets: 5")), "or more, exit", ticker.returncode)
                # The same name filled another way, or a map size that differs: refused, nothing reused.
                other = script + ".sum"
                open(other, "w").write(open(script).read().replace("@packets = count()", "@packets = sum(1)"))
                # A map pinned there by another tool is not taken for one of the script's.
                sh("bpftool", "map", "create", os.path.join(pin, "foreign"), "type", "array", "key", "4", "value", "8",
                   "entries", "1", "name", "foreign")
                third = script + ".foreign"
                open(third, "w").write(open(script).read().replace("@bytes", "@foreign"))
                # --map-size sizes hashes: the lab's keyless counters are one-slot arrays, so a
                # hash keyed by source address is pinned beside them for the size check.
                keyed = "BEGIN { @seen[(uint64)nsecs] = count(); exit(); }"
                sh(DPTRACE, "--pin", pin, "-e", keyed)
                for args in (["--pin", pin, other], ["--pin", pin, "--map-size", "100", "-e", keyed], ["--pin", pin, third]):
                    r = net.run("B", DPTRACE, *args, check=False)
                    print("exit %d:" % r.returncode, r.stderr.strip().splitlines()[0].replace(pin, "PIN"))
        finally:
            sh("umount", bpffs, check=False)
    elif n == "12":  # redirects to a veth that cannot take XDP frames, and aborts: the tracepoints' counts, summed over CPUs
        # The tracepoints see every namespace, and tests that run beside this
        # one abort and redirect too: B's interface gets an ifindex no other
        # namespace is likely to have, and each tracepoint block keeps its
        # events only (the wildcard becomes the three tracepoints that have
        # an ifindex field).
        index = 40000 + os.getpid() % 20000
        with Net(DPTRACE, third=True, index_b=index) as net:
            net.run("A", "ip", "neigh", "replace", "10.61.0.2", "lladdr", net.mac("B", "b"), "dev", net.if_["a"], "nud", "permanent")
            script = lab_script(net)
            text = open(script).read().replace("interval:s:1", "END")  # one table, at the end
            text = text.replace("tracepoint:xdp:* {", "tracepoint:xdp:xdp_exception, tracepoint:xdp:xdp_redirect, "
                                "tracepoint:xdp:xdp_redirect_err {")
            text = re.sub(r"^(tracepoint:xdp:[^{]*?) \{", r"\1 /args.ifindex == %d/ {" % index, text, flags=re.M)
            open(script, "w").write(text)
            proc = net.dptrace(script)
            send_udp(net, "A", "10.61.0.2", 7000, 7)
            send_udp(net, "A", "10.61.0.2", 7001, 7)
            time.sleep(0.3)
            out = net.stop(proc)[0]
        totals = {}
        for name, key, count in re.findall(r"^@(\w+)\[(.*)\]: (\d+)$", out, re.M):
            label = name + "[" + (key if name == "events" else key.split(", ", 1)[1]) + "]"  # without the CPU
            totals[label] = totals.get(label, 0) + int(count)
        for label in sorted(totals):
            print("%s: %d" % (label, totals[label]))
    elif n == "13":  # frames of known MACs and ethertypes, sent by scapy from A
        frames = lab13_frames()
        pcap = os.path.join(WORK, "lab13.pcap")
        wrpcap(pcap, frames)
        with Net(DPTRACE) as net:
            proc = net.dptrace(lab_script(net))
            net.run("A", "/usr/bin/python3", "-c", "import sys\nfrom scapy.all import rdpcap, sendp, conf\nconf.verb = 0\n"
                    "sendp(rdpcap(sys.argv[1]), iface=sys.argv[2], inter=0.002)", pcap, net.if_["a"])
            time.sleep(0.3)
            out = net.stop(proc)[0]
        mine = [l for l in out.splitlines() if l.startswith("src: 02:00:00:00:13:")]
        print("lines %d of %d frames, equal: %s" % (len(mine), len(frames), mine == lab13_lines(frames)))
        print(mine[0] if mine else "")
    elif n == "14":  # frames of known bytes from A, captured in B; tcpdump reads the file
        frames = lab14_frames()
        pcap = os.path.join(WORK, "lab14-sent.pcap")
        wrpcap(pcap, frames)
        out_file = os.path.join(WORK, "captured.pcap")
        with Net(DPTRACE) as net:
            proc = net.dptrace("--capture", out_file, lab_script(net))
            net.run("A", "/usr/bin/python3", "-c", "import sys\nfrom scapy.all import rdpcap, sendp, conf\nconf.verb = 0\n"
                    "sendp(rdpcap(sys.argv[1]), iface=sys.argv[2], inter=0.002)", pcap, net.if_["a"])
            time.sleep(0.3)
            print("readable while dptrace runs: %d frames" % len(read_capture(out_file)))
            out, err = net.stop(proc)
        lab14_check(frames, read_capture(out_file))
        print([l for l in err.splitlines() if "captured to" in l][0].replace(out_file, "FILE"))
        r = subprocess.run(["tcpdump", "-r", out_file, "-nn", "ether src 02:00:00:00:14:1d"], capture_output=True,
                           text=True, timeout=30)
        print("tcpdump:", r.stdout.strip().split(" ", 1)[-1])
        # A ring buffer of one page per CPU cannot hold a burst: every frame is captured or counted lost.
        with Net(DPTRACE) as net:
            burst = os.path.join(WORK, "burst.pcap")
            wrpcap(burst, [lab14_frames()[3]] * 400)
            env = dict(os.environ, BPFTRACE_PERF_RB_PAGES="1")
            proc = subprocess.Popen(["ip", "netns", "exec", net.ns["B"], DPTRACE, "--capture", out_file, "-e",
                                     "xdp:%s /udp && udp.dport == 9/ { capture(1024); @frames = count(); }" % net.if_["b"]],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            for line in proc.stderr:
                if line.startswith("Attaching"):
                    break
            net.run("A", "/usr/bin/python3", "-c", "import sys\nfrom scapy.all import rdpcap, sendpfast, sendp, conf\n"
                    "conf.verb = 0\nsendp(rdpcap(sys.argv[1]), iface=sys.argv[2])", burst, net.if_["a"])
            time.sleep(0.3)
            out, err = net.stop(proc)
            seen = int(re.search(r"@frames: (\d+)", out).group(1))
            captured = len(read_capture(out_file))
            lost = re.search(r"(\d+) events? lost", err)
            lost = int(lost.group(1)) if lost else 0
            print("burst: %d frames seen, captured + lost = %d, some lost: %s" % (seen, captured + lost, lost > 0))
    elif n == "15":  # A -- B (the router, XDP on both sides) -- C
        with Net(DPTRACE, third=True) as net:
            net.run("B", "sysctl", "-qw", "net.ipv4.conf.all.forwarding=1")
            net.run("A", "ip", "route", "add", "10.62.0.0/24", "via", "10.61.0.2")
            net.run("A", "ip", "route", "add", "10.99.0.0/24", "via", "10.61.0.2")  # B has no route there
            net.run("C", "ip", "route", "add", "10.61.0.0/24", "via", "10.62.0.1")
            # Neighbours known, so that the FIB has the next hop's MAC from the first packet on.
            for ns, addr, peer, dev in (("A", "10.61.0.2", ("B", "b"), "a"), ("B", "10.61.0.1", ("A", "a"), "b"),
                                        ("B", "10.62.0.2", ("C", "d"), "c"), ("C", "10.62.0.1", ("B", "c"), "d")):
                net.run(ns, "ip", "neigh", "replace", addr, "lladdr", net.mac(*peer), "dev", net.if_[dev], "nud", "permanent")
            for ns, dev in (("A", "a"), ("C", "d")):  # redirected frames arrive through NAPI: GRO on
                net.run(ns, "ethtool", "-K", net.if_[dev], "gro", "on")
            def forwarded():
                return int(re.findall(r"Ip:.*", net.run("B", "cat", "/proc/net/snmp").stdout)[1].split()[6])
            before = forwarded()
            print("without XDP:", ping(net, "A", "10.62.0.2", 2), "- forwarded by B's stack:", forwarded() - before)
            before = forwarded()
            proc = net.dptrace(lab_script(net))
            r = net.run("A", "ping", "-c", "5", "-i", "0.1", "-W", "1", "10.62.0.2", check=False)
            print("ttl of the replies:", sorted(set(re.findall(r"ttl=(\d+)", r.stdout))))
            print(ping(net, "A", "10.62.0.2", 5))
            rx = receiver(net, "C", "10.62.0.2", 5015, 6)
            send_udp(net, "A", "10.62.0.2", 5015, 6)
            print(rx.communicate(timeout=10)[0].strip())
            r = net.run("A", "ping", "-c", "2", "-i", "0.1", "-W", "1", "10.99.0.1", check=False)
            print("no route:", "Destination Net Unreachable" if "Net Unreachable" in r.stdout else r.stdout)
            print("forwarded by B's stack:", forwarded() - before)
            # Policy routing by port: B blackholes UDP to port 5016. The FIB lookup carries the
            # ports, so it says "blackhole" (1) as the stack would, and nothing reaches C.
            net.run("B", "ip", "rule", "add", "ipproto", "udp", "dport", "5016", "table", "100")
            net.run("B", "ip", "route", "add", "blackhole", "10.62.0.0/24", "table", "100")
            rx = receiver(net, "C", "10.62.0.2", 5016, 3)
            send_udp(net, "A", "10.62.0.2", 5016, 3)
            print("port 5016 blackholed:", rx.communicate(timeout=10)[0].strip())
            # With GRO off in C, B's veth to C cannot take redirected frames: the kernel says so,
            # dptrace takes it out of the device map at once, fib_lookup() answers 100, and B's
            # stack forwards what XDP would have lost -- a ping 50 ms later included.
            net.run("C", "ethtool", "-K", net.if_["d"], "gro", "off")
            time.sleep(0.05)
            before = forwarded()
            print("GRO off in C:", ping(net, "A", "10.62.0.2", 3), "- forwarded by B's stack:", forwarded() - before)
            out = net.stop(proc)[0]
            names = {net.run("B", "cat", "/sys/class/net/%s/ifindex" % net.if_[i]).stdout.strip(): i for i in "bc"}
            for key, count in re.findall(r"^@routed\[(\d+)\]: (\d+)$", out, re.M):
                print("routed out of %s: %s" % (names.get(key, key), count))
            print("\n".join(re.findall(r"^@not_forwarded.*$", out, re.M)))
    elif n == "17":  # the lab's own measurement, short: a bounded flood, every packet dropped by each mode
        r = subprocess.run(["/usr/bin/python3", os.path.join(os.path.dirname(SCRIPT), "measure.py"), "--dptrace", DPTRACE,
                            "--count", "50000", "--plot", os.path.join(WORK, "lab17.png")],
                           capture_output=True, text=True, timeout=300)
        if r.returncode:
            sys.exit("measure.py failed:\n" + r.stdout + r.stderr)
        for line in r.stdout.splitlines()[1:]:
            mode, sent, dropped = line.split()[:3]
            print("%s: sent %s, dropped %s, all: %s" % (mode, sent, dropped, sent == dropped))
        print("plot:", open(os.path.join(WORK, "lab17.png"), "rb").read(8) == b"\x89PNG\r\n\x1a\n")
    elif n == "16":  # datagrams to 7016 arrive 8 bytes longer, accepted by B's socket (checksums right)
        with Net(DPTRACE) as net:
            net.run("A", "ping", "-c", "1", "-W", "2", "10.61.0.2")
            proc = net.dptrace(lab_script(net))
            rx = subprocess.Popen(["ip", "netns", "exec", net.ns["B"], "/usr/bin/python3", "-c",
                                   "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                                   "s.bind(('10.61.0.2', 7016)); s.settimeout(3)\n"
                                   "for i in range(4): print('payload', s.recv(100).hex())"],
                                  stdout=subprocess.PIPE, text=True)
            time.sleep(0.3)
            send_udp(net, "A", "10.61.0.2", 7016, 4)
            print(rx.communicate(timeout=10)[0].strip())
            print(ping(net, "A", "10.61.0.2", 3))
            print("UDP checksum errors at the receiver:", re.findall(r"Udp:.*", net.run("B", "cat", "/proc/net/snmp").stdout)[1].split()[6])
            print(net.stop(proc)[0].strip())
    elif n == "8":
        # The tracepoints see every namespace, and tests beside this one abort
        # too: B's interface gets an ifindex of its own, and the tracepoint
        # blocks keep its events only.
        index = 40000 + os.getpid() % 20000
        with Net(DPTRACE, index_b=index) as net:
            net.run("A", "ping", "-c", "1", "-W", "2", "10.61.0.2")
            script = lab_script(net)
            text = re.sub(r"^(tracepoint:xdp:[^{]*?) \{", r"\1 /args.ifindex == %d/ {" % index, open(script).read(), flags=re.M)
            open(script, "w").write(text)
            proc = net.dptrace(script)
            send_udp(net, "A", "10.61.0.2", 6000, 7)
            send_udp(net, "A", "10.61.0.2", 6001, 3)
            time.sleep(0.3)
            print(net.stop(proc)[0].strip())


def lab_pcap(n):
    udp = [ETH / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1000 + i, dport=4243) / Raw(b"u" * 10) for i in range(3)]
    tcp = [ETH / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=2000, dport=8080, flags="S")]
    pings = [ETH / IP(src="10.0.0.1", dst="10.0.0.2") / ICMP(type=8, seq=s) / Raw(b"p" * 8) for s in range(1, 5)]
    pings6 = [ETH / IPv6(src="fc00::1", dst="fc00::2") / ICMPv6EchoRequest(seq=s) for s in range(1, 5)]
    tagged = [ETH / Dot1Q(vlan=42) / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(dport=7) / Raw(b"t"),
              ETH / Dot1Q(vlan=43) / Dot1Q(vlan=44) / IP() / ICMP()]
    if n == "1":
        out = replay(udp + pings)
        print("written:", len(out))
    elif n == "2":
        out = replay(udp + pings, script=lambda t: t.replace("interval:s:2", "END"))
        print("written:", len(out))
    elif n == "3":
        out = replay(pings + pings6 + tagged)
        print("written seqs:", sorted((p[ICMP].seq if ICMP in p else p[ICMPv6EchoRequest].seq) for p in out
                                      if (ICMP in p and p[ICMP].type == 8 and Dot1Q not in p) or ICMPv6EchoRequest in p))
    elif n == "4":
        out = replay(udp + tcp)
        print("ports:", sorted(p[UDP].dport if UDP in p else p[TCP].dport for p in out))
        print(checksums_ok(out))
    elif n == "5":
        out = replay(tagged + udp[:1] + pings6[:1])
        for p in out:
            tags = []
            layer = p
            while Dot1Q in layer:
                layer = layer[Dot1Q]
                tags.append(layer.vlan)
                layer = layer.payload
            print("tags", tags)
        # the inner frames are unchanged: the popped frame equals the original without its tag
        popped = out[0]
        want = ETH / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(dport=7) / Raw(b"t")
        print("popped frame bytes equal the untagged original:", bytes(popped) == bytes(want))
        pushed = out[2]
        want = ETH / Dot1Q(vlan=100) / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1000, dport=4243) / Raw(b"u" * 10)
        print("pushed frame bytes equal scapy's tagged frame:", bytes(pushed) == bytes(want))
    elif n == "6":
        out = replay(pings + pings6)
        print("replies:", sorted((p[ICMP].type if ICMP in p else p.getlayer(2).type) for p in out))
        print("addresses swapped:", all((p[IP].dst == "10.0.0.1") if IP in p else (p[IPv6].dst == "fc00::1") for p in out))
        print(checksums_ok(out))
    elif n == "7":
        out = replay([ETH / IP(dst="10.0.0.2") / UDP(dport=5000)] * 3 + udp,
                     script=lambda t: t.replace('redirect("veth1")', 'redirect("lo")'))
        print("written:", len(out))
    elif n == "9":  # ten ICMPv6 echo requests, sequence numbers 1..10, and a UDP datagram
        requests = [ETH / IPv6(src="fc00::1", dst="fc00::2") / ICMPv6EchoRequest(id=7, seq=s) / Raw(b"lab9")
                    for s in range(1, 11)]
        out = replay(requests + [ETH / IP(dst="10.0.0.2") / UDP(dport=9)])
        replies = [p for p in out if IPv6 in p and p.getlayer(2).type == 129]
        print("replies from dptrace, by sequence number:", [p.getlayer(2).seq for p in replies])
        print("addresses swapped:", all(p[IPv6].src == "fc00::2" and p[IPv6].dst == "fc00::1" and
                                        p[Ether].dst == ETH.src for p in replies))
        print(checksums_ok(replies))
    elif n == "13":
        frames = lab13_frames()
        pcap = os.path.join(WORK, "in13.pcap")
        wrpcap(pcap, frames)
        r = subprocess.run([DPTRACE, "--pcap", pcap, SCRIPT], capture_output=True, text=True, timeout=60)
        mine = [l for l in r.stdout.splitlines() if l.startswith("src: ")]
        print("pcap lines %d of %d frames, equal: %s" % (len(mine), len(frames), mine == lab13_lines(frames)))
    elif n == "14":  # the capture's frames captured again, cut at 1024 bytes
        frames = lab14_frames()
        pcap = os.path.join(WORK, "in14.pcap")
        out_file = os.path.join(WORK, "captured.pcap")
        wrpcap(pcap, frames)
        r = subprocess.run([DPTRACE, "--pcap", pcap, "--capture", out_file, SCRIPT], capture_output=True, text=True,
                           timeout=60)
        print(r.stdout.strip())
        lab14_check(frames, read_capture(out_file))
    elif n == "16":  # grown, trimmed and untouched frames, byte for byte against scapy's
        grown = ETH / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1000, dport=7016) / Raw(b"grow me")
        other = ETH / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1000, dport=7017) / Raw(b"leave me")
        ping4 = ETH / IP(src="10.0.0.1", dst="10.0.0.2") / ICMP(seq=1) / Raw(b"p")
        syn = ETH / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=2000, dport=80, flags="S")
        pad = Padding(b"\xaa" * 12)
        short = ETH / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1001, dport=7016) / Raw(b"hello")
        tagged = ETH / Dot1Q(vlan=5) / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1002, dport=7016) / Raw(b"tag")
        v6 = ETH / IPv6(src="fc00::1", dst="fc00::2") / UDP(sport=1003, dport=7016) / Raw(b"six")
        # a datagram shorter than its IP payload (bytes after it, inside ip.len): left alone
        inner = UDP(sport=1004, dport=7016) / Raw(b"abcd")
        trailer = ETH / IP(src="10.0.0.1", dst="10.0.0.2", len=40) / Raw(bytes(UDP(bytes(inner))) + b"XXXXXXXX")
        trailer = Ether(bytes(trailer))
        out = replay([grown, other, ping4 / pad, syn / pad, short / Padding(b"\xee" * 13), tagged, v6, trailer])
        want = [ETH / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1000, dport=7016) / Raw(b"grow me" + bytes(8)), other,
                ping4, syn, ETH / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1001, dport=7016) / Raw(b"hello" + bytes(8)),
                tagged, v6, trailer]
        print("lengths:", [len(p) for p in out])
        print("bytes equal scapy's frames:", [bytes(p) == bytes(w) for p, w in zip(out, want)])
        print(checksums_ok(out))
    elif n == "8":  # tracepoints cannot run on a capture: its xdp block alone
        out = replay([ETH / IP(dst="10.0.0.2") / UDP(dport=6000)] * 4 + udp,
                     script=lambda t: "\n".join(l for l in t.splitlines() if not l.startswith("tracepoint:")))
        print("written:", len(out))


try:
    (lab_live if MODE == "live" else lab_pcap)(LAB)
finally:
    subprocess.run(["rm", "-rf", WORK])
