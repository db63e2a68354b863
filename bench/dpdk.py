#!/usr/bin/env python3
"""dpdk.py [--rounds N] [--seconds S]: the cost of tracing a DPDK poll loop,
side by side with bpftrace 0.17 in the same run (needs root, a built tree,
dpdk-testpmd and bpftrace).

Debian's dpdk-testpmd (stripped, -O2) forwards between two net_null ports of
two queues each on one lcore (io mode); its forward statistics give the rx
burst calls made in S seconds (net_null fills every 32-packet burst), so
ns per call = S / calls. Each round measures, interleaved:

  none             no tracer
  dptrace ret      the operators' one-liner through rte_eth_fp_ops:
                   uretprobe:...:rte_eth_rx_burst { @pkts[arg0, arg1] = sum(retval); @polls = count(); }
                   (an entry half records the queue, the return maps it to port and queue)
  bpftrace ret     the same work placed by hand at the PMD function's offset:
                   uprobe:LIB:0x2090 { @q[tid] = arg0; } uretprobe:LIB:0x2090 { @pkts[@q[tid]] = sum(retval); @polls = count(); }
  dptrace entry    uprobe:...:rte_eth_rx_burst { @polls[arg0, arg1] = count(); }
  bpftrace entry   uprobe:LIB:0x2090 { @polls[arg0] = count(); }
  bpftrace push    uprobe:LIB:0x2099 { @polls = count(); }: the same function 9 bytes
                   in, a `push %r14` the kernel emulates instead of single-stepping
                   the `test %rdi,%rdi` at its entry: what the probed instruction costs

It prints the medians of ns per call, the ns each tracer adds, and the
ratio dptrace / bpftrace of what they add."""
import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "lit", "tools"))
import testpmd  # noqa: E402  (the tests' testpmd driver)

DPTRACE = os.path.join(ROOT, "build", "tools", "dptrace")
LIB = "/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0/librte_net_null.so.23.0"

parser = argparse.ArgumentParser()
parser.add_argument("--rounds", type=int, default=3)
parser.add_argument("--seconds", type=float, default=2.0)
args = parser.parse_args()




def tracers(pid, offset):
    app = "/usr/bin/dpdk-testpmd"
    return {
        "dptrace ret": [DPTRACE, "-p", str(pid), "-e",
                        "uretprobe:%s:rte_eth_rx_burst { @pkts[arg0, arg1] = sum(retval); @polls = count(); }" % app],
        "bpftrace ret": ["bpftrace", "--unsafe", "-p", str(pid), "-e",
                         "uprobe:%s:%s { @q[tid] = arg0; } uretprobe:%s:%s { @pkts[@q[tid]] = sum(retval); @polls = count(); }"
                         % (LIB, offset, LIB, offset)],
        "dptrace entry": [DPTRACE, "-p", str(pid), "-e", "uprobe:%s:rte_eth_rx_burst { @polls[arg0, arg1] = count(); }" % app],
        "bpftrace entry": ["bpftrace", "--unsafe", "-p", str(pid), "-e", "uprobe:%s:%s { @polls[arg0] = count(); }" % (LIB, offset)],
        # The probed instruction's share: eth_null_rx starts with `test %rdi,%rdi`,
        # which the kernel single-steps; 9 bytes in is `push %r14`, which it emulates.
        "bpftrace push": ["bpftrace", "--unsafe", "-p", str(pid), "-e",
                          "uprobe:%s:%s { @polls = count(); }" % (LIB, hex(int(offset, 16) + 9))],
    }


def attach(command):
    on_stdout = command[0] == "bpftrace"
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader = testpmd.Reader(proc.stdout if on_stdout else proc.stderr)
    testpmd.Reader(proc.stderr if on_stdout else proc.stdout)  # drained
    reader.wait_for("Attaching", 60)
    time.sleep(0.3)
    return proc, reader


def main():
    results = {}
    with testpmd.Testpmd() as tp:
        # eth_null_rx's offset: from dptrace's own report of where it attached.
        probe = subprocess.run([DPTRACE, "-p", str(tp.pid), "-e",
                                "uprobe:/usr/bin/dpdk-testpmd:rte_eth_rx_burst { @n = count(); } BEGIN { exit(); }"],
                               capture_output=True, text=True, timeout=60)
        m = re.search(r"rte_eth_rx_burst -> librte_net_null\.so\.23\.0\+(0x[0-9a-f]+)", probe.stderr)
        if not m:
            sys.exit("dptrace did not find the PMD function:\n" + probe.stderr)
        offset = m.group(1)
        configs = ["none"] + list(tracers(tp.pid, offset))
        for r in range(args.rounds):
            for name in configs:
                proc = None
                if name != "none":
                    proc, _ = attach(tracers(tp.pid, offset)[name])
                streams = tp.forward(args.seconds)
                if proc:
                    proc.send_signal(signal.SIGINT)
                    proc.communicate(timeout=60)
                calls = sum(s[4] for s in streams) / 32.0
                results.setdefault(name, []).append(args.seconds * 1e9 / calls)
                print("round %d %-15s %10.0f rx calls  %8.1f ns/call" % (r + 1, name, calls, results[name][-1]), flush=True)
    med = {k: statistics.median(v) for k, v in results.items()}
    print("\nmedians (ns per rx burst call; added = minus 'none'):")
    for name in configs:
        print("  %-15s %8.1f ns  added %8.1f ns" % (name, med[name], med[name] - med["none"]))
    for kind in ("ret", "entry"):
        d, b = med["dptrace " + kind] - med["none"], med["bpftrace " + kind] - med["none"]
        print("dptrace / bpftrace, added cost (%s): %.3fx" % (kind, d / b))


if __name__ == "__main__":
    main()
