#!/usr/bin/env python3
"""soak.py [--minutes N] [--sample S] [--pps N]: dptrace for a long time
under load (needs root and a built tree; not part of CI).

One script with a uprobe on a process that calls tick() every 100 us
(bench/floor/ticker.c), a printf from every 100th of those calls, a
tracepoint (clock_nanosleep, which the ticker's usleep enters), an xdp
block on a veth pair in namespaces the run creates, under UDP traffic from
the peer, and an interval print every 100 ms. Every --sample seconds it
reads dptrace's resident memory (VmRSS), its open file descriptors and its
memory maps. At the end it stops dptrace with SIGINT and checks:

- resident memory after warm-up (the first sample after 60 s, or the
  second sample in shorter runs) grows by less than 1 MiB, and the file
  descriptors and maps are the same in number;
- every printf record is there or counted: the printed tick numbers step by
  100, so a gap of k steps is k-1 records missing; their sum must equal
  the lost events dptrace reports at exit;
- the xdp block's UDP count matches the packets sent, less nothing;
- the exit status is 0.

It prints a table of the samples and the checks, and exits 1 if one fails."""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DPTRACE = os.path.join(ROOT, "build", "tools", "dptrace")
sys.path.insert(0, os.path.join(ROOT, "tests", "lit", "tools"))
import netns  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--minutes", type=float, default=30)
parser.add_argument("--sample", type=float, default=30)
parser.add_argument("--pps", type=int, default=1000, help="UDP packets a second through the xdp block")
args = parser.parse_args()

# Paced UDP: COUNT packets at PPS to ADDR:PORT, then prints how many it sent.
UDP_PACED = ("import socket, sys, time\n"
             "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); addr = (sys.argv[1], int(sys.argv[2]))\n"
             "pps = int(sys.argv[3]); end = time.monotonic() + float(sys.argv[4]); n = 0; t0 = time.monotonic()\n"
             "while time.monotonic() < end:\n"
             "    s.sendto(b'x' * 32, addr); n += 1\n"
             "    ahead = t0 + n / pps - time.monotonic()\n"
             "    if ahead > 0: time.sleep(ahead)\n"
             "print(n)\n")


def status(pid):
    with open("/proc/%d/status" % pid) as f:
        rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
    fds = len(os.listdir("/proc/%d/fd" % pid))
    with open("/proc/%d/maps" % pid) as f:
        maps = sum(1 for _ in f)
    return rss, fds, maps


def main():
    work = tempfile.mkdtemp(prefix="dptrace-soak.")
    ticker = os.path.join(work, "ticker")
    subprocess.run(["cc", "-O2", "-o", ticker, os.path.join(ROOT, "bench", "floor", "ticker.c")], check=True)
    seconds = args.minutes * 60
    with netns.Net(DPTRACE) as net:
        tick = subprocess.Popen([ticker])
        script = ("uprobe:%s:tick { @calls = count(); }\n"
                  "uprobe:%s:tick /arg0 %% 100 == 0/ { printf(\"tick %%d\\n\", arg0); }\n"
                  "tracepoint:syscalls:sys_enter_clock_nanosleep /pid == %d/ { @sleeps = count(); }\n"
                  "xdp:%s { @proto[ip.proto] = count(); @len = hist(pkt.len); if (udp) { @udp = count(); } }\n"
                  "interval:ms:100 { print(@calls); print(@proto); }\n" % (ticker, ticker, tick.pid, net.if_["b"]))
        proc = net.dptrace("-e", script)
        pid = proc.pid  # ip netns exec execs dptrace
        counts = {"lines": 0, "missing": 0, "last": None, "udp": None, "lost": 0}

        def read_out():
            for line in proc.stdout:
                counts["lines"] += 1
                m = re.match(r"tick (\d+)$", line)
                if m:
                    v = int(m.group(1))
                    if counts["last"] is not None and v > counts["last"]:
                        counts["missing"] += (v - counts["last"]) // 100 - 1
                    counts["last"] = v
                m = re.match(r"@udp: (\d+)$", line)
                if m:
                    counts["udp"] = int(m.group(1))

        reader = threading.Thread(target=read_out, daemon=True)
        reader.start()
        sender = subprocess.Popen(["ip", "netns", "exec", net.ns["A"], "/usr/bin/python3", "-c", UDP_PACED,
                                   "10.61.0.2", "9", str(args.pps), str(seconds)],
                                  stdout=subprocess.PIPE, text=True)
        start = time.monotonic()
        samples = []
        print("%8s %10s %6s %6s %12s" % ("seconds", "RSS KiB", "fds", "maps", "output lines"))
        while True:
            elapsed = time.monotonic() - start
            rss, fds, maps = status(pid)
            samples.append((elapsed, rss, fds, maps))
            print("%8.0f %10d %6d %6d %12d" % (elapsed, rss, fds, maps, counts["lines"]), flush=True)
            if elapsed >= seconds or proc.poll() is not None:
                break
            time.sleep(min(args.sample, max(0.1, seconds - elapsed)))
        sent = int(sender.communicate(timeout=60)[0])
        time.sleep(0.5)
        out_end_rss = status(pid)
        proc.send_signal(signal.SIGINT)
        err = proc.stderr.read()
        rc = proc.wait(timeout=60)
        reader.join(timeout=30)
        tick.kill()
        tick.wait()
        m = re.search(r"(\d+) events? lost", err)
        lost = int(m.group(1)) if m else 0

    warm = next((s for s in samples if s[0] >= 60), samples[min(1, len(samples) - 1)])
    last = samples[-1]
    failures = []
    growth = last[1] - warm[1]
    if growth >= 1024:
        failures.append("resident memory grew by %d KiB after warm-up" % growth)
    if (last[2], last[3]) != (warm[2], warm[3]):
        failures.append("file descriptors %d -> %d, maps %d -> %d" % (warm[2], last[2], warm[3], last[3]))
    if counts["missing"] != lost:
        failures.append("%d printf records missing, %d reported lost" % (counts["missing"], lost))
    if counts["udp"] != sent:
        failures.append("the xdp block counted %s UDP packets, %d were sent" % (counts["udp"], sent))
    if rc != 0:
        failures.append("dptrace exited with %d: %s" % (rc, err[-500:]))
    print()
    print("run: %.1f min, %d samples; UDP sent %d at %d pps, counted %s" % (
        last[0] / 60, len(samples), sent, args.pps, counts["udp"]))
    print("resident memory: %d KiB at warm-up (%.0f s), %d KiB at the end (%+d KiB); %d KiB after traffic stopped" % (
        warm[1], warm[0], last[1], growth, out_end_rss[0]))
    print("file descriptors: %d -> %d; memory maps: %d -> %d" % (warm[2], last[2], warm[3], last[3]))
    print("printf records: last tick %s, %d missing, %d reported lost; %d output lines" % (
        counts["last"], counts["missing"], lost, counts["lines"]))
    for f in failures:
        print("FAIL:", f)
    print("soak: %s" % ("FAILED" if failures else "passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
