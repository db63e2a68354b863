#!/usr/bin/env python3
"""doc_examples.py DPTRACE REPO FIXTURES: runs every example of README.md and
of both manual pages as a user would, in the fixture it needs, and checks its
outcome.

Examples are found, not listed: every `$ sudo build/tools/dptrace ...` line and
every other code block of README.md, and every .nf/.fi block of dptrace(8) and
dptrace-lang(7) as groff renders it (a `\\"` that truncates an example shows
there). Each must have an entry in EXAMPLES below -- its fixture and expected
outcome -- and each entry must still have its example: a new example without an
entry, or an entry whose example is gone, fails the test.

Fixtures (all made and removed here; traffic only inside namespaces made here):
  testpmd Debian's dpdk-testpmd (tools/testpmd.py) forwarding between two net_null
          ports for a second; its RX-packets are the truth
  veth    network namespaces X and Y; veth0 and veth1 in X (dptrace runs there)
          with their peers in Y; pings, UDP to ports 9 and 5000 from Y
  upf     a directory holding ./upf, a copy of the mbufburst fixture (an
          exported rte_eth_rx_burst filling DPDK's struct rte_mbuf); it prints
          its own totals, which the probes' maps must equal
  pcap    a directory with lab1.pcap and traffic.pcap (scapy) and examples/
  none    the repository as working directory, some openat() calls meanwhile
Prints one line per example: PASS or FAIL with why; exits 1 on any FAIL."""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

dptrace, repo, fixtures = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
tag = "%x" % (os.getpid() & 0xFFFF)
NS_X, NS_Y = "dpdocX" + tag, "dpdocY" + tag


def sh(*cmd, check=True, **kw):
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True, timeout=60, **kw)


# ---------------------------------------------------------------- finding the examples

def readme_examples():
    text = open(os.path.join(repo, "README.md")).read()
    out = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
        lines = [l.strip() for l in block.splitlines()]
        commands = [l[len("$ sudo build/tools/"):] for l in lines if l.startswith("$ sudo build/tools/dptrace")]
        out += commands if commands else ["\n".join(lines).strip()]
    return out


def man_examples(page):
    source = open(os.path.join(repo, "man", page)).read().split("\n")
    out, block = [], None
    for line in source:
        if line.startswith(".nf"):
            block = []
        elif line.startswith(".fi") and block is not None:
            roff = ".TH T 7\n.nf\n" + "\n".join(block) + "\n.fi\n"
            r = subprocess.run(["groff", "-man", "-Tutf8", "-P-cbou"], input=roff, capture_output=True, text=True)
            lines = [l[7:] if l.startswith("       ") else l for l in r.stdout.split("\n") if "T(7)" not in l]
            out.append("\n".join(l.rstrip() for l in lines).strip("\n"))
            block = None
        elif block is not None:
            block.append(line)
    return out


# ---------------------------------------------------------------- fixtures

class Veth:
    """dptrace runs in X on veth0/veth1; Y holds the peers and sends."""

    def __enter__(self):
        self.down()
        for ns in (NS_X, NS_Y):
            sh("ip", "netns", "add", ns)
            self.run(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
            self.run(ns, "ip", "link", "set", "lo", "up")
        for i, (x, y) in enumerate((("veth0", "peer0"), ("veth1", "peer1"))):
            sh("ip", "link", "add", x, "netns", NS_X, "type", "veth", "peer", "name", y, "netns", NS_Y)
            self.run(NS_X, "ip", "addr", "add", "10.7%d.0.1/24" % i, "dev", x)
            self.run(NS_Y, "ip", "addr", "add", "10.7%d.0.2/24" % i, "dev", y)
            self.run(NS_X, "ip", "link", "set", x, "up")
            self.run(NS_Y, "ip", "link", "set", y, "up")
            self.run(NS_Y, "ethtool", "-K", y, "tx", "off")
        self.run(NS_Y, "ethtool", "-K", "peer1", "gro", "on")
        self.run(NS_Y, "ping", "-c", "1", "-W", "2", "10.70.0.1", check=False)
        return self

    def __exit__(self, *exc):
        self.down()

    def down(self):
        for ns in (NS_X, NS_Y):
            sh("ip", "netns", "del", ns, check=False)

    def run(self, ns, *cmd, check=True):
        return sh("ip", "netns", "exec", ns, *cmd, check=check)

    def prefix(self):
        return ["ip", "netns", "exec", NS_X]

    def traffic(self):
        self.run(NS_Y, "ping", "-c", "6", "-i", "0.1", "-W", "1", "10.70.0.1", check=False)
        udp = ("import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
               "for port in (9, 9, 9, 5000, 5000, 4242, 4242): s.sendto(b'x' * 20, ('10.70.0.1', port))")
        self.run(NS_Y, "/usr/bin/python3", "-c", udp)
        return ""


class Upf:
    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="dpdoc-upf-")
        sh("cp", os.path.join(fixtures, "mbufburst"), os.path.join(self.dir, "upf"))
        self.totals = ""
        return self

    def __exit__(self, *exc):
        sh("rm", "-rf", self.dir)

    def traffic(self):
        self.totals = sh("./upf", "300", cwd=self.dir).stdout
        return self.totals


class Pcap:
    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="dpdoc-pcap-")
        for name in ("lab1.pcap", "traffic.pcap"):
            sh("/usr/bin/python3", os.path.join(repo, "tests", "lit", "tools", "write_capture.py"), "mixed",
               os.path.join(self.dir, name))
        os.symlink(os.path.join(repo, "examples"), os.path.join(self.dir, "examples"))
        return self

    def __exit__(self, *exc):
        sh("rm", "-rf", self.dir)


def totals(text):
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", text)}


def map_sum(out, name):
    return sum(int(v) for v in re.findall(r"^@%s(?:\[[^\]]*\])?: (\d+)$" % name, out, re.M))


# ---------------------------------------------------------------- running one

def start(argv, cwd, prefix=()):
    p = subprocess.Popen(list(prefix) + argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err = []
    deadline = time.time() + 30
    for line in p.stderr:
        err.append(line)
        if line.startswith("Attaching") or time.time() > deadline:
            break
    return p, err


def finish(p, err, wait_only=False):
    if not wait_only:
        time.sleep(0.3)
        p.send_signal(signal.SIGINT)
    try:
        out, rest = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        out, rest = p.communicate()
        rest += "\n(did not end within 60 s)"
    return p.returncode, out, "".join(err) + rest


def argv_of(command):
    """`dptrace -e '...' --pcap F` as a user's shell splits it."""
    import shlex
    words = shlex.split(command)
    assert words[0] == "dptrace", command
    return [dptrace] + words[1:]


def with_testpmd(command):
    """Debian's dpdk-testpmd forwarding for a second while the command traces
    it ($(pidof dpdk-testpmd) is its pid); the truth is its own RX-packets."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import testpmd
    with testpmd.Testpmd() as tp:
        p, err = start(argv_of(command.replace("$(pidof dpdk-testpmd)", str(tp.pid))), repo)
        streams = tp.forward()
        return finish(p, err) + ("packets=%d" % sum(s[4] for s in streams),)


def run_command(command, fixture):
    if fixture == "testpmd":
        return with_testpmd(command)
    if fixture == "veth":
        with Veth() as net:
            p, err = start(argv_of(command), repo, net.prefix())
            net.traffic()
            return finish(p, err) + ("",)
    if fixture == "upf":
        with Upf() as upf:
            argv = argv_of(command)
            if "-c" in argv:  # the command runs ./upf itself and ends with it
                p, err = start(argv, upf.dir)
                code, out, err = finish(p, err, wait_only=True)
                return code, out, err, out
            p, err = start(argv, upf.dir)
            upf.traffic()
            return finish(p, err) + (upf.totals,)
    if fixture == "pcap":
        with Pcap() as pcap:
            r = subprocess.run(argv_of(command), cwd=pcap.dir, capture_output=True, text=True, timeout=60)
            return r.returncode, r.stdout, r.stderr, ""
    # none: a few openat() calls while it runs
    p, err = start(argv_of(command), repo)
    for _ in range(5):
        sh("cat", "/etc/hostname")
        time.sleep(0.1)
    return finish(p, err, wait_only="exit()" in command) + ("",)


def run_script(text, fixture):
    path = tempfile.mktemp(prefix="dpdoc-", suffix=".dpt")
    with open(path, "w") as f:
        f.write(text + "\n")
    try:
        if fixture == "veth+upf":
            with Veth() as net, Upf() as upf:
                p, err = start([dptrace, path], upf.dir, net.prefix())
                net.traffic()
                upf.traffic()
                return finish(p, err) + (upf.totals,)
        if fixture == "upf":
            with Upf() as upf:
                p, err = start([dptrace, path], upf.dir)
                upf.traffic()
                return finish(p, err) + (upf.totals,)
        if fixture == "veth":
            with Veth() as net:
                p, err = start([dptrace, path], repo, net.prefix())
                net.traffic()
                return finish(p, err) + ("",)
        raise ValueError(fixture)
    finally:
        os.unlink(path)


# ---------------------------------------------------------------- what each example must do
#
# kind: "command" (a dptrace command line), "script" (a script's text, run as a
# file), "sample" (text that dptrace prints: `reproduce` is the command whose
# output must contain it), "other" (not an example of a run: why).
# check(code, out, err, truth) returns "" when the outcome is the documented one.

def ok(code, err):
    return "" if code == 0 else "exit status %s: %s" % (code, err[-400:])


def expect_counts(name, at_least=1):
    def check(code, out, err, truth):
        return ok(code, err) or ("" if map_sum(out, name) >= at_least else "no @%s counts in:\n%s" % (name, out))
    return check


def upf_packets(name):
    """sum(retval) over the probe's keys equals the packets ./upf says it received."""
    def check(code, out, err, truth):
        want = totals(truth).get("packets")
        got = map_sum(out, name)
        return ok(code, err) or ("" if want is not None and got == want else "@%s sums to %s, ./upf received %s" % (name, got, want))
    return check


def upf_bytes(code, out, err, truth):
    want, got = totals(truth).get("bytes"), map_sum(out, "bytes")
    return ok(code, err) or ("" if want is not None and got == want else "@bytes %s, ./upf's bytes %s" % (got, want))


def pcap_counter(code, out, err, truth):
    return ok(code, err) or ("" if "@packets[UDP]: 12" in out and "@verdict[pass]: 26" in out else "wrong counts:\n" + out)


def pcap_hist(code, out, err, truth):
    return ok(code, err) or ("" if "@len:" in out and "@verdict[pass]: 26" in out else "no histogram:\n" + out)


def parses(code, out, err, truth):
    return ok(code, err) or ("" if out.startswith("program") else "no syntax tree:\n" + out)


def lab_lines(code, out, err, truth):
    return ok(code, err) or ("" if "error" not in err else err)


def veth_and_upf(code, out, err, truth):
    return ok(code, err) or ("" if "@dropped: 3" in out else "expected @dropped: 3 (three UDP to port 9):\n" + out) or \
        upf_packets("pkts")(code, out, err, truth)


def veth_afxdp_and_upf(code, out, err, truth):
    """The man page's three blocks: three UDP to port 9 dropped, the two to
    port 4242 taken by the afxdp block, and the upf's packets summed."""
    return veth_and_upf(code, out, err, truth) or \
        ("" if "@rx[10.70.0.2]: 2" in out else "expected @rx[10.70.0.2]: 2 (two UDP to port 4242):\n" + out)


def wildcard_syscalls(code, out, err, truth):
    return ok(code, err) or ("" if re.search(r"^@\[tracepoint:syscalls:sys_enter_\w+\]: \d+$", out, re.M) else out)


EXAMPLES = {
    # ---- README.md
    "sudo scripts/demo.sh    # installs the Debian 12 packages, builds, and runs the demo\n"
    "sudo scripts/test.sh    # runs every test: lit + FileCheck, unit tests, install check, ~7 min of fuzzing (7 targets, two at a time)":
        ("other", "the demo runs in demo.test; test.sh runs this test"),
    "scripts/install-deps.sh                       # apt-get update + install (idempotent)\n"
    "CC=clang-19 CXX=clang++-19 cmake -G Ninja -S . -B build\n"
    "ninja -C build -j2\n"
    "cd build && ctest --output-on-failure          # or: python3 /usr/lib/llvm-19/build/utils/lit/lit.py -v tests/lit":
        ("other", "the build by hand: test.sh runs these steps"),
    "dptrace -e 'tracepoint:syscalls:sys_enter_openat { @[comm] = count(); } interval:s:1 { exit(); }'":
        ("command", "none", expect_counts("")),
    "dptrace -c './upf' -e 'uretprobe:./upf:rte_eth_rx_burst { @pkts[pid, cpu] = sum(retval); }'":
        ("command", "upf", upf_packets("pkts")),
    "dptrace -p $(pidof dpdk-testpmd) -e 'uretprobe:/usr/bin/dpdk-testpmd:rte_eth_rx_burst { @pkts[arg0, arg1] = sum(retval); @polls = count(); }'":
        ("command", "testpmd", upf_packets("pkts")),
    "dptrace -e 'xdp:veth0 { @proto[ip.proto] = count(); }'":
        ("command", "veth", expect_counts("proto", 6)),
    "dptrace -e 'xdp:veth0 /icmp && icmp.type == 8 && (icmp.seq % 2) == 0/ { drop(); }'":
        ("command", "veth", lab_lines),
    "dptrace --pcap traffic.pcap examples/xdp_counter.dpt":
        ("command", "pcap", pcap_counter),
    "<stdin>:1:1: error: unknown probe type 'xpd'\nxpd:veth0 { @n = count(); }\n^~~\nhint: did you mean 'xdp'?":
        ("sample", ["-e", "xpd:veth0 { @n = count(); }"]),
    # ---- dptrace(8)
    "script.dpt:3:1: error: unknown probe type 'xpd'\nxpd:veth0 { @n = count(); }\n^~~\nhint: did you mean 'xdp'?":
        ("sample", ["script.dpt"], "// line 1\n// line 2\nxpd:veth0 { @n = count(); }\n"),
    "dptrace -e 'xdp:veth0 { @proto[ip.proto] = count(); }'\n"
    "dptrace -e 'uretprobe:./upf:rte_eth_rx_burst { @pkts[pid, cpu] = sum(retval); }'\n"
    "dptrace --pcap lab1.pcap -e 'xdp:any { @len = hist(pkt.len); }'\n"
    "dptrace -e 'tracepoint:syscalls:sys_enter_* { @[probe] = count(); } interval:s:1 { exit(); }'\n"
    "dptrace --emit ast examples/xdp/count-protocols.dpt":
        ("commands", [("veth", expect_counts("proto", 6)), ("upf", upf_packets("pkts")), ("pcap", pcap_hist),
                      ("none", wildcard_syscalls), ("pcap", parses)]),
    # ---- dptrace-lang(7)
    "#include <dpdk.h>\nstruct NAME { ... };\nattach-point[, attach-point ...] [/predicate/] { statements }":
        ("other", "the synopsis: the shape of a script"),
    "#include <dpdk.h>\n"
    "uprobe:./upf:rte_eth_rx_burst { @rx[tid] = arg2; }\n"
    "uretprobe:./upf:rte_eth_rx_burst {\n"
    "  $n = (u16)retval; $p = (struct rte_mbuf **)@rx[tid]; $i = 0;\n"
    "  while ($i < $n && $i < 32) { @bytes = sum($p[$i]->pkt_len); $i++; }\n"
    "}":
        ("script", "upf", upf_bytes),
    "xdp:veth0 /udp/ { udp.dport = udp.dport - 1; }\n"
    "xdp:veth0 /icmp && icmp.type == 8/ {\n"
    "  swap(eth.src, eth.dst); swap(ip.src, ip.dst); icmp.type = 0; tx(); }\n"
    "xdp:veth0 /vlan/ { vlan_pop(); pass(); } xdp:veth0 { vlan_push(100); }\n"
    "xdp:veth0 /udp && udp.dport == 5000/ { redirect(\"veth1\"); }\n"
    "xdp:veth0 /ip && !vlan && pkt.len > ip.len + 14/ { pkt.len = ip.len + 14; }\n"
    "xdp:veth0, xdp:veth1 /ip && ip.ttl > 1/ { if (fib_lookup() == 0) {\n"
    "  eth.src = fib.smac; eth.dst = fib.dmac; ip.ttl--; redirect(fib.ifindex); } }":
        ("script", "veth", lab_lines),
    "xdp:veth0 /udp && udp.dport == 9/ { @dropped = count(); drop(); }\n\n"
    "afxdp:veth0 /ip && udp && udp.dport == 4242/ {\n"
    "  @rx[ip.src] = count();\n"
    "  swap(eth.src, eth.dst); swap(ip.src, ip.dst); swap(udp.sport, udp.dport);\n"
    "  tx();\n"
    "}\n\n"
    "uretprobe:./upf:rte_eth_rx_burst {\n"
    "  @pkts[pid, cpu] = sum(retval);\n"
    "  @polls = count();\n"
    "}":
        ("script", "veth+upf", veth_afxdp_and_upf),
    "AF_XDP RX: 1000 pkts (499 pps) 53 Kbytes (0 Mbits/s) period:2.004847  [veth0 queue 0]\n"
    "TX: 1000 pkts (499 pps) 53 Kbytes (0 Mbits/s) period:2.004847\n"
    "dropped by the body 0, tx ring full 0; XDP_STATISTICS: rx dropped 0, ...":
        ("other", "the shape of the AF_XDP counters; runtime/afxdp-veth.test checks real ones line by line"),
    "dptrace -p $(pidof dpdk-testpmd) -e 'uretprobe:/usr/bin/dpdk-testpmd:rte_eth_rx_burst\n"
    "    { @pkts[arg0, arg1] = sum(retval); @polls = count(); }'\n"
    "dptrace: DPDK 22.11 (ABI 23, librte_ethdev.so.23): rte_eth_fp_ops (32 port slots) shows ports 0, 1 started\n"
    "dptrace: rte_eth_rx_burst -> librte_net_null.so.23.0+0x2090 for port 0 (queues 0, 1), port 1 (queues 0, 1)\n"
    "dptrace: retval of rte_eth_rx_burst is the PMD's count, before any RX callbacks (rte_eth_add_rx_callback) change it; none are installed\n"
    "Attaching 1 probe...":
        ("other", "a session with testpmd: README's example runs the command against testpmd's own counts, "
                  "and runtime/dpdk-testpmd.test checks these lines"),
}


def grammar_block(text):
    return text.startswith("script     ::=")


def main():
    found = readme_examples() + man_examples("dptrace.8") + man_examples("dptrace-lang.7")
    failures = 0
    seen = set()
    for example in found:
        if grammar_block(example):
            continue  # the grammar of dptrace-lang(7): no example
        seen.add(example)
        entry = EXAMPLES.get(example)
        first = example.split("\n")[0][:90]
        if entry is None:
            print("FAIL unannotated example (add it to EXAMPLES in doc_examples.py):\n" + example)
            failures += 1
            continue
        kind = entry[0]
        if kind == "other":
            print("PASS (%s) %s" % (entry[1], first))
            continue
        if kind == "sample":
            cwd = tempfile.mkdtemp(prefix="dpdoc-sample-")
            if len(entry) > 2:
                open(os.path.join(cwd, "script.dpt"), "w").write(entry[2])
            r = subprocess.run([dptrace] + entry[1], cwd=cwd, capture_output=True, text=True, timeout=60,
                               env=dict(os.environ, NO_COLOR="1"))
            sh("rm", "-rf", cwd)
            why = "" if r.returncode == 1 and example in r.stderr else "dptrace printed:\n" + r.stderr
        elif kind == "command":
            code, out, err, truth = run_command(example, entry[1])
            why = entry[2](code, out, err, truth)
        elif kind == "commands":
            lines = example.split("\n")
            why = ""
            for line, (fixture, check) in zip(lines, entry[1]):
                code, out, err, truth = run_command(line, fixture)
                why = why or check(code, out, err, truth)
                if why:
                    why = line + ": " + why
            if len(lines) != len(entry[1]):
                why = why or "%d commands, %d annotations" % (len(lines), len(entry[1]))
        else:
            code, out, err, truth = run_script(example, entry[1])
            why = entry[2](code, out, err, truth)
        print(("PASS " if not why else "FAIL ") + first + ("" if not why else "\n  " + why.replace("\n", "\n  ")))
        failures += bool(why)
    for example in EXAMPLES:
        if example not in seen:
            print("FAIL annotation without an example (the docs changed):\n" + example)
            failures += 1
    print("%d examples, %d failed" % (len(seen), failures))
    sys.exit(1 if failures else 0)


main()
