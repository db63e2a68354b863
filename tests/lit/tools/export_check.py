#!/usr/bin/env python3
"""dptrace --export against collector.py on loopback, in one of these cases:

up        the collector is up: every record arrives once, in order, in
          batches whose sequence numbers count 1, 2, 3 ...; a record waits
          at most --export-interval while dptrace runs on
restart   the collector starts after dptrace and loses its first reply: the
          batches are sent again, and after it drops the repeated sequence
          number, every record is stored exactly once
overflow  the collector is down while 1000 records come into a queue of 100:
          the dropped count dptrace reports is what never arrived
refused   the collector answers 404: the batch is not sent again, counted
unanswered  the collector never answers: at exit, after 5 s, the batch is
          unconfirmed, neither sent nor dropped
small_queue  --export-queue below --export-batch: batches leave as the queue
          fills
fleet PCAP SCRIPT  the script run over a capture, its records as the
          collector stored them
Prints what it found, one fact per line, for FileCheck.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Collector:
    def __init__(self, tmp, port=0, extra=()):
        self.out = os.path.join(tmp, "records.ndjson")
        self.log = os.path.join(tmp, "batches.log")
        port_file = os.path.join(tmp, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "collector.py"), "--port", str(port),
                                      "--port-file", port_file, "--out", self.out, "--log", self.log, *extra])
        for _ in range(200):
            if os.path.exists(port_file):
                self.port = int(open(port_file).read())
                return
            time.sleep(0.05)
        raise SystemExit("collector did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def records(tmp):
    path = os.path.join(tmp, "records.ndjson")
    return [json.loads(l) for l in open(path)] if os.path.exists(path) else []


def batches(tmp):
    path = os.path.join(tmp, "batches.log")
    return open(path).read().splitlines() if os.path.exists(path) else []


def printed(recs):
    return [r["data"] for r in recs if r.get("type") == "printf"]


def wait_for(condition, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def report(stdout):
    for line in stdout.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            if r.get("type") == "export":
                return r["data"]
    return None


def in_order(values, expected):
    return "in order" if values == expected else "NOT in order: %r ... (%d)" % (values[:5], len(values))


def loop_script(n, end):
    return 'BEGIN { $i = 0; while ($i < %d) { printf("%%d\\n", $i); $i++; } %s }' % (n, end)


def check_problems(tmp):
    bad = [b for b in batches(tmp) if "PROBLEM" in b]
    print("batch problems:", len(bad), *bad[:3])


def up(dptrace, tmp):
    c = Collector(tmp, 0, ["--log-header", "Authorization"])
    url = "http://127.0.0.1:%d/ingest" % c.port
    r = subprocess.run([dptrace, "-f", "json", "--export", url, "--export-batch", "100", "--export-header",
                        "Authorization: Bearer t0ken", "-e", loop_script(2000, "exit();")],
                       capture_output=True, text=True, timeout=60)
    print("exit", r.returncode)
    got = records(tmp)
    local = printed([json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")])
    want = ["%d\n" % i for i in range(2000)]
    print("local output:", in_order(local, want))
    print("collector printf records:", len(printed(got)), in_order(printed(got), want))
    print("first record:", got[0]["type"] if got else None)
    logged = batches(tmp)
    sequences = [int(b.split()[1]) for b in logged]
    print("sequences count from 1:", sequences == list(range(1, len(sequences) + 1)), "duplicates:",
          sum("duplicate" in b for b in logged))
    check_problems(tmp)
    print("every batch with the header:", all(b.endswith("Authorization=Bearer t0ken") for b in logged))
    rep = report(r.stdout)
    print("report: sent == stored:", rep["sent"] == len(got), "batches == requests:", rep["batches"] == len(logged),
          "retried", rep["retried"], "dropped", rep["dropped"], "records == sent:", rep["records"] == rep["sent"])
    # Below a batch, a record leaves after --export-interval while the run goes on.
    p = subprocess.Popen([dptrace, "--export", url, "--export-interval", "200", "-e", 'BEGIN { printf("early\\n"); }'],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    arrived = wait_for(lambda: "early\n" in printed(records(tmp)), 3)
    print("a lone record arrived while dptrace runs:", arrived and p.poll() is None)
    p.send_signal(signal.SIGINT)
    print("stderr:", p.communicate(timeout=20)[1].strip().splitlines()[-1])
    c.stop()


def restart(dptrace, tmp):
    port = free_port()
    url = "http://127.0.0.1:%d/" % port
    p = subprocess.Popen([dptrace, "-f", "json", "--export", url, "--export-batch", "50", "-e", loop_script(500, "")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    c = Collector(tmp, port, ["--lose-replies", "1"])
    want = ["%d\n" % i for i in range(500)]
    wait_for(lambda: len(printed(records(tmp))) >= 500, 30)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    c.stop()
    got = printed(records(tmp))
    print("collector printf records:", len(got), in_order(got, want))
    logged = batches(tmp)
    print("repeated batches dropped by the collector:", sum("duplicate" in b for b in logged) >= 1)
    check_problems(tmp)
    rep = report(out)
    print("report: sent == stored:", rep["sent"] == len(records(tmp)), "retried > 0:", rep["retried"] > 0,
          "dropped", rep["dropped"])
    notices = [json.loads(l)["type"] for l in out.splitlines() if l.startswith("{")]
    print("notices:", "export_failing" in notices, "export_resumed" in notices)


def overflow(dptrace, tmp):
    port = free_port()
    url = "http://127.0.0.1:%d/" % port
    p = subprocess.Popen([dptrace, "-f", "json", "--export", url, "--export-batch", "10", "--export-queue", "100",
                          "-e", loop_script(1000, "")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    c = Collector(tmp, port)
    last = [-1, time.time()]

    def settled():  # nothing new for a second
        n = len(records(tmp))
        if n != last[0]:
            last[0], last[1] = n, time.time()
        return n > 0 and time.time() - last[1] > 1.0
    wait_for(settled, 30)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    c.stop()
    got = records(tmp)
    rep = report(out)
    numbers = [int(s) for s in printed(got)]
    print("received", "fewer than 1000:", len(numbers) < 1000, "increasing:", numbers == sorted(set(numbers)))
    print("the newest arrived:", numbers[-1] if numbers else None)
    print("report: dropped == never arrived:", rep["dropped"] == rep["records"] - len(got), "sent == stored:",
          rep["sent"] == len(got), "dropped >= 800:", rep["dropped"] >= 800)
    notices = [json.loads(l)["type"] for l in out.splitlines() if l.startswith("{")]
    print("said it dropped:", "export_dropping" in notices)


def refused(dptrace, tmp):
    c = Collector(tmp, 0, ["--status", "404"])
    url = "http://127.0.0.1:%d/wrong/path" % c.port
    r = subprocess.run([dptrace, "--export", url, "-e", loop_script(5, "exit();")], capture_output=True, text=True,
                       timeout=60)
    print("exit", r.returncode)
    for line in r.stderr.splitlines():
        if "export" in line:
            print(line.replace(str(c.port), "PORT"))
    # Its own notices are not exported: a refusal does not make the next batch.
    before = len(batches(tmp))
    p = subprocess.Popen([dptrace, "--export", url, "--export-interval", "1", "-e", 'BEGIN { printf("one\\n"); }'],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    p.send_signal(signal.SIGINT)
    err = p.communicate(timeout=20)[1]
    c.stop()
    print("requests while it ran on:", len(batches(tmp)) - before, "refusals said:", err.count("refused a batch"))


def unanswered(dptrace, tmp):
    # A collector that never answers, then one that stores each batch and
    # closes the connection unanswered.
    for mode in (["--hang"], ["--lose-replies", "1000"]):
        c = Collector(tmp, 0, mode)
        url = "http://127.0.0.1:%d/" % c.port
        r = subprocess.run([dptrace, "--export", url, "-e", loop_script(3, "exit();")], capture_output=True, text=True,
                           timeout=60)
        c.stop()
        print("exit", r.returncode)
        print(r.stderr.strip().splitlines()[-1].replace(str(c.port), "PORT"))
    print("the collector stored them:", len(printed(records(tmp))) == 3)


def small_queue(dptrace, tmp):
    c = Collector(tmp)
    url = "http://127.0.0.1:%d/" % c.port
    script = 'interval:ms:2 { @n = @n + 1; printf("%d\\n", @n); if (@n >= 1000) { exit(); } }'
    r = subprocess.run([dptrace, "-f", "json", "--export", url, "--export-queue", "50", "-e", script],
                       capture_output=True, text=True, timeout=60)
    c.stop()
    rep = report(r.stdout)
    print("exit", r.returncode, "most sent during the run:", rep["sent"] >= 500, "records == sent + dropped:",
          rep["records"] == rep["sent"] + rep["dropped"], "stored == sent:", len(records(tmp)) == rep["sent"])


def fleet(dptrace, tmp, pcap, script):
    c = Collector(tmp)
    url = "http://127.0.0.1:%d/ingest" % c.port
    r = subprocess.run([dptrace, "--pcap", pcap, "--export", url, script], capture_output=True, text=True, timeout=60)
    c.stop()
    print("exit", r.returncode)
    for rec in records(tmp):
        if rec["type"] == "event":
            d = rec["data"]
            print("event", rec["probe"], d["src"], d["dst"], d["teid"], d["type"], d["len"])
        elif rec["type"] == "map":
            print("map", json.dumps(rec["data"], sort_keys=True))


def main():
    dptrace, case = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        if case == "fleet":
            fleet(dptrace, tmp, sys.argv[3], sys.argv[4])
            return
        {"up": up, "restart": restart, "overflow": overflow, "refused": refused, "unanswered": unanswered,
         "small_queue": small_queue}[case](dptrace, tmp)


if __name__ == "__main__":
    main()
