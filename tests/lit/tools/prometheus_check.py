#!/usr/bin/env python3
"""prometheus_check.py DPTRACE GETPIDS: dptrace --metrics scraped by a real
Prometheus server (Debian's prometheus, started here on loopback with a 1 s
scrape interval and storage of its own in a temporary directory), after the
getpids fixture made exactly 100 getpid() calls: prints what Prometheus's
query API answers for the counter and the histogram's buckets, and what
promtool check metrics says of a scrape of a script that uses every
aggregation and key type. Every wait is bounded; everything started here is
stopped and removed."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

DPTRACE, GETPIDS = sys.argv[1], sys.argv[2]

# @depth: each call's running number in its process, 1..100: a known distribution.
SCRIPT = r'''
tracepoint:syscalls:sys_enter_getpid /comm == "getpids"/
{
  @calls = count();
  @seen[pid]++;
  @depth = hist(@seen[pid]);
  @linear = lhist(@seen[pid], 0, 100, 25);
  @bytes = sum((uint64)7);
  @balance = sum(-1);
  @lowest = min(@seen[pid]);
  @highest[comm] = max(@seen[pid]);
  @mean[comm, cpu] = avg(@seen[pid]);
  @call_stats = stats(@seen[pid]);
  @by_address[pton("10.0.0.1"), pton("fc00::1")] = count();
  @name = comm;
  @quoted["a \"b\" \\ c"] = count();
}
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def query(prom, expr):
    data = json.loads(get("http://%s/api/v1/query?%s" % (prom, urllib.parse.urlencode({"query": expr}))))
    return data["data"]["result"]


def main():
    work = tempfile.mkdtemp(prefix="dptrace-prom-")
    procs = []
    try:
        port, prom_port = free_port(), free_port()
        script = os.path.join(work, "metrics.dpt")
        open(script, "w").write(SCRIPT)
        dp = subprocess.Popen([DPTRACE, "--metrics", "127.0.0.1:%d" % port, script], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        procs.append(dp)
        deadline = time.time() + 30
        for line in dp.stderr:
            if line.startswith("Attaching") or time.time() > deadline:
                break
        subprocess.run([GETPIDS, "100"], check=True, timeout=30)
        # promtool on a scrape of every aggregation and key type
        text = get("http://127.0.0.1:%d/metrics" % port)
        r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
        print("promtool check metrics: exit %d %s" % (r.returncode, (r.stdout + r.stderr).strip()))
        for line in text.splitlines():
            if line.startswith(("dptrace_quoted", "dptrace_by_address", "dptrace_name", "dptrace_mean")):
                print("scraped:", line)
        config = os.path.join(work, "prometheus.yml")
        open(config, "w").write("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: dptrace\n"
                                "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % port)
        prom = "127.0.0.1:%d" % prom_port
        ps = subprocess.Popen(["prometheus", "--config.file=" + config, "--storage.tsdb.path=" + os.path.join(work, "data"),
                               "--web.listen-address=" + prom], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(ps)
        calls = None
        deadline = time.time() + 40
        while time.time() < deadline:
            try:
                result = query(prom, "dptrace_calls_total")
                if result:
                    calls = result[0]["value"][1]
                    break
            except OSError:
                pass
            time.sleep(0.5)
        print("prometheus dptrace_calls_total:", calls)
        buckets = {b["metric"]["le"]: b["value"][1] for b in query(prom, "dptrace_depth_bucket")}
        shown = ["0", "1", "3", "7", "15", "31", "63", "127", "255", "+Inf"]
        print("prometheus dptrace_depth_bucket:", ", ".join("le=%s: %s" % (le, buckets.get(le)) for le in shown))
        print("prometheus dptrace_depth_count:", [r["value"][1] for r in query(prom, "dptrace_depth_count")])
        linear = {b["metric"]["le"]: b["value"][1] for b in query(prom, "dptrace_linear_bucket")}
        print("prometheus dptrace_linear_bucket:", ", ".join("le=%s: %s" % (le, linear.get(le))
                                                               for le in ["-1", "24", "49", "74", "99", "+Inf"]))
        print("prometheus up:", [r["value"][1] for r in query(prom, 'up{job="dptrace"}')])
    finally:
        for p in procs:
            p.send_signal(signal.SIGINT if p is procs[0] else signal.SIGTERM)
        for p in procs:
            try:
                p.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


main()
