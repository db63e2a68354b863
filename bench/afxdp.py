#!/usr/bin/env python3
"""afxdp.py [--rounds N] [--seconds S] [--below PPS]: dptrace's afxdp echo
against a hand-written C forwarder on libxdp's xsk API doing the same work
(bench/afxdp/fwd_kern.c + fwd_user.c: same parse, same swaps, batch 64,
need_wakeup, copy mode), on a veth pair between two network namespaces made
here (needs root, a built tree, clang-19, libxdp-dev).

The generator is tests/fixtures/xdpgen (XDP live frames through
BPF_PROG_RUN, in the kernel), pinned to CPU 0, the forwarder to CPU 1. Two
offered loads: as fast as the generator goes (several Mpps, far above what
copy mode takes) and --below pps. Echoes are counted by an XDP counter on
the generator's side (dptrace: xdp /udp && udp.sport == 4242/ { count();
drop(); }). Per run: echoed pps (echoes / generator time), drops by cause
(the veth's redirect drops = the socket's rx ring full or fill ring empty;
the forwarder's own), and the forwarder's CPU seconds (utime + stime, read
just before and after the generator) per million echoes. Forwarders
interleave within each round; medians and ranges over rounds. Then the time
from starting dptrace to its first echoed packet, cold (DPTRACE_CACHE=off)
and warm (object cache).

dptrace runs the pure echo (the C forwarder's work) and, reported beside it,
the issue's one-liner with @rx[ip.src] = count() as well."""
import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DPTRACE = os.path.join(ROOT, "build", "tools", "dptrace")
XDPGEN = os.path.join(ROOT, "build", "tests", "fixtures", "xdpgen")
sys.path.insert(0, os.path.join(ROOT, "tests", "lit", "tools"))
from netns import Net, sh  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--rounds", type=int, default=5)
parser.add_argument("--seconds", type=float, default=2.0)
parser.add_argument("--below", type=int, default=200000)
parser.add_argument("--above", type=int, default=2000000)
parser.add_argument("--loads", default="above,below", help="which offered loads to run")
parser.add_argument("--kinds", default="dptrace,c,dptrace+count", help="which forwarders to run")
parser.add_argument("--no-start", action="store_true", help="skip the start-to-first-echo measurement")
args = parser.parse_args()

ECHO = ("afxdp:%s /ip && udp && udp.dport == 4242/ { swap(eth.src, eth.dst); swap(ip.src, ip.dst); "
        "swap(udp.sport, udp.dport); tx(); }")
ECHO_COUNT = ("afxdp:%s /ip && udp && udp.dport == 4242/ { @rx[ip.src] = count(); swap(eth.src, eth.dst); "
              "swap(ip.src, ip.dst); swap(udp.sport, udp.dport); tx(); }")
HZ = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def ethtool(net, ns, ifname):
    out = net.run(ns, "ethtool", "-S", ifname).stdout
    return {k.strip(): int(v) for k, v in (l.split(":") for l in out.splitlines()[1:] if ":" in l)}


def wait_line(proc, stream, pattern, seconds=30):
    deadline = time.time() + seconds
    lines = []
    while time.time() < deadline:
        line = stream.readline()
        if not line:
            break
        lines.append(line)
        if pattern in line:
            return
    proc.kill()
    sys.exit("did not start: " + "".join(lines))


def start(net, kind, cobjs, env=None):
    if_b = net.if_["b"]
    if kind == "c":
        cmd = ["ip", "netns", "exec", net.ns["B"], "taskset", "-c", "1", cobjs[1], if_b, cobjs[0]]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_line(proc, proc.stderr, "ready")
    else:
        script = ECHO_COUNT if kind == "dptrace+count" else ECHO
        cmd = ["ip", "netns", "exec", net.ns["B"], "taskset", "-c", "1", DPTRACE, "-e", script % if_b]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        wait_line(proc, proc.stderr, "Attaching")
    return proc


def counter(net):
    proc = subprocess.Popen(["ip", "netns", "exec", net.ns["A"], DPTRACE, "-e",
                             "xdp:%s /udp && udp.sport == 4242/ { @echo = count(); drop(); }" % net.if_["a"]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_line(proc, proc.stderr, "Attaching")
    return proc


def one_run(net, kind, cobjs, rate):
    count_proc = counter(net)
    fwd = start(net, kind, cobjs)
    b0 = ethtool(net, "B", net.if_["b"])
    n = int(rate * args.seconds)
    cpu0 = cpu_seconds(fwd.pid)
    gen = net.run("A", "taskset", "-c", "0", XDPGEN, net.if_["a"], net.mac("B", "b"), "10.61.0.1", "10.61.0.2",
                  "4242", str(n), str(rate), timeout=120)
    cpu1 = cpu_seconds(fwd.pid)
    took = float(re.search(r"in ([0-9.]+) s", gen.stdout).group(1))
    time.sleep(0.3)
    b1 = ethtool(net, "B", net.if_["b"])
    fwd.send_signal(signal.SIGINT)
    out, err = fwd.communicate(timeout=30)
    count_proc.send_signal(signal.SIGINT)
    counted, _ = count_proc.communicate(timeout=30)
    m = re.search(r"@echo: (\d+)", counted)
    echoes = int(m.group(1)) if m else 0
    if kind == "c":
        rx, tx = (int(x) for x in re.search(r"rx (\d+) tx (\d+)", out).groups())
        ring_full = rx - tx
    else:
        rx = int(re.search(r"AF_XDP RX: (\d+)", err).group(1))
        tx = int(re.search(r"TX: (\d+)", err).group(1))
        ring_full = int(re.search(r"tx ring full (\d+)", err).group(1))
    return {"offered_pps": n / took, "echo_pps": echoes / took, "echoes": echoes, "sent": n,
            "redirect_drops": b1["rx_queue_0_drops"] - b0["rx_queue_0_drops"], "tx_ring_full": ring_full,
            "lost_after_tx": tx - echoes, "cpu_per_M": (cpu1 - cpu0) / (echoes / 1e6) if echoes else float("nan")}


def first_echo(net, env):
    """Seconds from starting dptrace to the first echo a client receives."""
    client = ("import socket, time, sys\n"
              "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.002)\n"
              "t0 = float(sys.argv[1])\n"
              "while time.time() - t0 < 30:\n"
              "    s.sendto(b'x', ('10.61.0.2', 4242))\n"
              "    try:\n"
              "        s.recvfrom(64); print(time.time() - t0); break\n"
              "    except socket.timeout: pass\n")
    t0 = time.time()
    proc = subprocess.Popen(["ip", "netns", "exec", net.ns["B"], DPTRACE, "-e", ECHO % net.if_["b"]],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    r = net.run("A", "/usr/bin/python3", "-c", client, repr(t0), timeout=60)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    return float(r.stdout.strip())


def summary(values):
    return "%s (%s-%s)" % tuple(fmt(v) for v in (statistics.median(values), min(values), max(values)))


def fmt(v):
    return "%.0f" % v if v >= 100 else "%.3f" % v


def main():
    work = tempfile.mkdtemp(prefix="dptrace-afxdp-bench-")
    kern, user = os.path.join(work, "fwd_kern.o"), os.path.join(work, "fwd_user")
    sh("clang-19", "-O2", "-g", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu", "-c",
       os.path.join(ROOT, "bench", "afxdp", "fwd_kern.c"), "-o", kern)
    sh("clang-19", "-O2", "-o", user, os.path.join(ROOT, "bench", "afxdp", "fwd_user.c"), "-lxdp", "-lbpf")
    kinds = args.kinds.split(",")
    loads = [(load, args.above if load == "above" else args.below) for load in args.loads.split(",")]
    with Net(DPTRACE) as net:
        net.run("A", "ping", "-c", "1", "-W", "2", "10.61.0.2")
        results = {}
        for load, rate in loads:
            for r in range(args.rounds):
                for kind in kinds if r % 2 == 0 else list(reversed(kinds)):
                    res = one_run(net, kind, (kern, user), rate)
                    results.setdefault((load, kind), []).append(res)
                    print("%s %s round %d: %s" % (load, kind, r, {k: round(v, 3) for k, v in res.items()}), flush=True)
        print()
        for load, _ in loads:
            print("offered load %s the copy-mode ceiling: %s pps" % (
                load, summary([x["offered_pps"] for k in kinds for x in results[(load, k)]])))
            for kind in kinds:
                rs = results[(load, kind)]
                print("  %-14s echoed %s pps; CPU %s s per M echoes; drops at the redirect %s, tx ring full %s, "
                      "lost after tx %s" % (kind, summary([x["echo_pps"] for x in rs]), summary([x["cpu_per_M"] for x in rs]),
                                             summary([x["redirect_drops"] for x in rs]), summary([x["tx_ring_full"] for x in rs]),
                                             summary([x["lost_after_tx"] for x in rs])))
            if "dptrace" not in kinds or "c" not in kinds:
                continue
            d = statistics.median(x["echo_pps"] for x in results[(load, "dptrace")])
            c = statistics.median(x["echo_pps"] for x in results[(load, "c")])
            dc = statistics.median(x["cpu_per_M"] for x in results[(load, "dptrace")])
            cc = statistics.median(x["cpu_per_M"] for x in results[(load, "c")])
            print("  ratio dptrace/C: echoed pps %.3f, CPU per packet %.3f" % (d / c, dc / cc))
        if args.no_start:
            sh("rm", "-rf", work)
            return
        cache = os.path.join(work, "cache")
        cold = [first_echo(net, dict(os.environ, DPTRACE_CACHE="off")) for _ in range(args.rounds)]
        first_echo(net, dict(os.environ, DPTRACE_CACHE_DIR=cache))  # fills the cache
        warm = [first_echo(net, dict(os.environ, DPTRACE_CACHE_DIR=cache)) for _ in range(args.rounds)]
        print("start to first echo: cold %s ms, warm (object cache) %s ms" % (
            summary([x * 1000 for x in cold]), summary([x * 1000 for x in warm])))
    sh("rm", "-rf", work)


main()
