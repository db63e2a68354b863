"""Debian's dpdk-testpmd (stripped, -O2: no rte_eth_rx_burst of its own)
traced by dptrace through rte_eth_fp_ops, checked against testpmd's own
forward statistics.

  testpmd.py DPTRACE pid       -p PID: rx and tx per (port, queue) against testpmd's streams
  testpmd.py DPTRACE command   the same with -c (dptrace waits for the ports)
  testpmd.py DPTRACE stopped   -p on a testpmd whose ports are stopped: dptrace's
                               exit status and stderr, for FileCheck

testpmd runs with two net_null ports of two queues each, io forwarding on
one lcore, --no-flush-rx (else `start` drains the queues through
rte_eth_rx_burst calls that count no RX-packets), interactive on a pipe.
Every (port, queue) has its own stream, so `stop` prints the RX-packets of
each: dptrace's sum(retval) of rte_eth_rx_burst must equal them, its
sum(retval) of rte_eth_tx_burst the TX-packets of the stream whose TX port
and queue they are. Prints PASS lines; exits 1 on the first mismatch.
"""
import os
import re
import signal
import subprocess
import sys
import threading
import time

TESTPMD = ["stdbuf", "-o0", "dpdk-testpmd", "-l", "0,1", "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
           "--file-prefix", "dptrace%d" % os.getpid(), "--vdev=net_null0", "--vdev=net_null1", "--",
           "-i", "--no-flush-rx", "--rxq=2", "--txq=2", "--total-num-mbufs=8192", "--forward-mode=io"]
SCRIPT = ("uretprobe:/usr/bin/dpdk-testpmd:rte_eth_rx_burst { @rx[arg0, arg1] = sum(retval); @polls[arg0, arg1] = count(); } "
          "uretprobe:/usr/bin/dpdk-testpmd:rte_eth_tx_burst { @tx[args.port_id, args.queue_id] = sum(retval); } "
          "uprobe:/usr/bin/dpdk-testpmd:rte_eth_rx_burst { @entries[args.port_id, args.queue_id] = count(); "
          "@asked = lhist(args.nb_pkts, 0, 64, 32); }")
STREAM = re.compile(r"Forward Stats for RX Port= ?(\d+)/Queue= ?(\d+) -> TX Port= ?(\d+)/Queue= ?(\d+) -+\s+"
                    r"RX-packets: (\d+)\s+TX-packets: (\d+)")


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


class Reader:
    """Collects a pipe's text in a thread; wait_for() polls it."""

    def __init__(self, pipe):
        self.text = ""
        self.lock = threading.Lock()
        threading.Thread(target=self.run, args=(pipe,), daemon=True).start()

    def run(self, pipe):
        for chunk in iter(lambda: os.read(pipe.fileno(), 65536), b""):
            with self.lock:
                self.text += chunk.decode("utf-8", "replace")

    def wait_for(self, what, seconds, start=0):
        deadline = time.time() + seconds
        while time.time() < deadline:
            with self.lock:
                at = self.text.find(what, start)
            if at >= 0:
                return at
            time.sleep(0.05)
        fail("waited %d s for %r; got:\n%s" % (seconds, what, self.text[-3000:]))


def maps(text):
    out = {}
    for name, key, value in re.findall(r"^@(\w+)\[([\d, ]+)\]: (\d+)$", text, re.M):
        out[(name, tuple(int(k) for k in key.split(", ")))] = int(value)
    return out


def compare(streams, counted, stderr):
    if len(streams) != 4:
        fail("testpmd printed %d streams, not 4: %r" % (len(streams), streams))
    for rx_port, rx_queue, tx_port, tx_queue, rx, tx in streams:
        got = counted.get(("rx", (rx_port, rx_queue)))
        if got != rx:
            fail("port %d queue %d: dptrace sum(retval) of rte_eth_rx_burst %s, testpmd RX-packets %d\n%s"
                 % (rx_port, rx_queue, got, rx, stderr))
        got = counted.get(("tx", (tx_port, tx_queue)))
        if got != tx:
            fail("port %d queue %d: dptrace sum(retval) of rte_eth_tx_burst %s, testpmd TX-packets %d"
                 % (tx_port, tx_queue, got, tx))
        polls, entries = counted.get(("polls", (rx_port, rx_queue)), 0), counted.get(("entries", (rx_port, rx_queue)), 0)
        if polls <= 0 or rx == 0 or entries < polls:
            fail("port %d queue %d: %d polls, %d entries, %d packets" % (rx_port, rx_queue, polls, entries, rx))
        print("PASS port %d queue %d: rx %d = testpmd RX-packets, tx %d = TX-packets of port %d queue %d, %d polls"
              % (rx_port, rx_queue, rx, tx, tx_port, tx_queue, polls))


class Testpmd:
    """testpmd at its prompt, for a `with` block; quit (else killed) after it.
    `commands` are typed at the prompt first, each waiting for its `wait`."""

    def __init__(self, argv=None, commands=()):
        self.argv, self.commands = argv or TESTPMD, commands

    def __enter__(self):
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        self.out = Reader(self.proc.stdout)
        try:
            self.out.wait_for("testpmd> ", 30)
            for command, wait in self.commands:
                mark = len(self.out.text)
                self.send(command + "\n")
                self.out.wait_for(wait, 10, mark)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            try:
                self.send("quit\n")
                self.proc.wait(timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def forward(self, seconds=1.0):
        return forward(self.send, self.out, seconds)


def forward(send, out, seconds=1.0):
    """start, `seconds` of forwarding, stop; testpmd's per-stream statistics
    (RX port, RX queue, TX port, TX queue, RX-packets, TX-packets)."""
    mark = len(out.text)
    send("start\n")
    out.wait_for("io packet forwarding", 10, mark)
    time.sleep(seconds)
    mark = len(out.text)
    send("stop\n")
    end = out.wait_for("Accumulated forward statistics", 10, mark)
    return [tuple(int(x) for x in m) for m in STREAM.findall(out.text[mark:end])]


def by_pid(dptrace):
    with Testpmd() as tp:
        dp = subprocess.Popen([dptrace, "-p", str(tp.pid), "-e", SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = Reader(dp.stderr)
        err.wait_for("Attaching", 30)
        streams = tp.forward()
        dp.send_signal(signal.SIGINT)
        stdout, _ = dp.communicate(timeout=20)
        print(err.text, end="")
        if dp.returncode != 0:
            fail("dptrace exit status %d" % dp.returncode)
        compare(streams, maps(stdout.decode()), err.text)


def by_command(dptrace):
    command = " ".join(TESTPMD)
    dp = subprocess.Popen([dptrace, "-c", command, "-e", SCRIPT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    out, err = Reader(dp.stdout), Reader(dp.stderr)
    try:
        try:
            # Attached once testpmd started both ports: it starts them one
            # after the other, and dptrace reads rte_eth_fp_ops again on its
            # timer; a burst before that is skipped (and said), not counted.
            err.wait_for("rte_eth_tx_burst -> ", 30)
            both = "port 0 (queues 0, 1), port 1 (queues 0, 1)"  # on the rx line, then the tx line
            at = err.wait_for(both, 30)
            err.wait_for(both, 30, at + 1)
        except SystemExit:
            print("testpmd's output:\n" + out.text[-3000:])  # why it ended before dptrace found its ports
            raise
        out.wait_for("testpmd> ", 30)
        send = lambda s: (dp.stdin.write(s.encode()), dp.stdin.flush())
        streams = forward(send, out)
        mark = len(out.text)
        send("quit\n")
        dp.wait(timeout=30)
        time.sleep(0.2)
        print(err.text, end="")
        if dp.returncode != 0:
            fail("dptrace exit status %d" % dp.returncode)
        compare(streams, maps(out.text[mark:]), err.text)
    finally:
        if dp.poll() is None:
            dp.kill()
            dp.wait()


def stopped(dptrace):
    with Testpmd(commands=[("port stop all", "Done")]) as tp:
        dp = subprocess.run([dptrace, "-p", str(tp.pid), "-e", SCRIPT], capture_output=True, timeout=30)
        print("exit status %d" % dp.returncode)
        print(dp.stderr.decode(), end="")


if __name__ == "__main__":
    {"pid": by_pid, "command": by_command, "stopped": stopped}[sys.argv[2]](sys.argv[1])
