#!/usr/bin/env python3
"""xdp.py [--rounds N] [--repeat N]: dptrace's XDP code against the same
programs written by hand in C (bench/xdp/counters.c, clang-19 -O2), in the
same run (needs root, a built tree and scapy under /usr/bin/python3).

Programs: a protocol counter (@proto[ip.proto] = count(); C: per-CPU array),
a per-UDP-destination-port counter (@port[udp.dport] = count()) against C
with a per-CPU hash and C with a 65,536-slot per-CPU array, and a counter
with constant keys (if (tcp) { @c[0] = count(); } else if (udp) ...; C: a
4-slot per-CPU array). First the benchmark checks that both versions give the same
verdict on every test frame and the same map contents; then it measures ns
per packet with BPF_PROG_TEST_RUN (bpftool prog run, --repeat 1,000,000) on
64-byte UDP and TCP frames, rounds interleaved, and reads the translated
(xlated) instruction count of each program. Reports ratios of medians."""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DPTRACE = os.path.join(ROOT, "build", "tools", "dptrace")
sys.path.insert(0, os.path.join(ROOT, "tests", "lit", "tools"))

parser = argparse.ArgumentParser()
parser.add_argument("--rounds", type=int, default=5)
parser.add_argument("--repeat", type=int, default=1000000)
args = parser.parse_args()

SCRIPTS = {"proto_counter": "xdp:lo { @proto[ip.proto] = count(); }",
           "port_counter": "xdp:lo { @port[udp.dport] = count(); }",
           "port_counter_array": "xdp:lo { @port[udp.dport] = count(); }",
           "const_counter": "xdp:lo { if (tcp) { @c[0] = count(); } else if (udp) { @c[1] = count(); } "
                            "else if (icmp || icmp6) { @c[2] = count(); } else { @c[3] = count(); } }"}
# program: (dptrace's map, C's map, C's key bytes)
MAPS = {"proto_counter": ("m0_proto", "protos", 4), "port_counter": ("m0_port", "ports", 2),
        "port_counter_array": ("m0_port", "ports_array", 4), "const_counter": ("m0_c", "kinds", 4)}


def run(*cmd, **kw):
    return subprocess.run(list(cmd), check=True, capture_output=True, text=True, **kw)


def xlated(pin):
    info = json.loads(run("bpftool", "-j", "prog", "show", "pinned", pin).stdout)
    return info["bytes_xlated"] // 8, info.get("bytes_jited", 0)


def test_run(pin, frame_file, repeat):
    out = run("bpftool", "prog", "run", "pinned", pin, "data_in", frame_file, "repeat", str(repeat)).stdout
    m = re.search(r"Return value: (\d+), duration(?: \(average\))?: (\d+)ns", out)
    return int(m.group(1)), int(m.group(2))


def map_counts(pin_dir, name, key_bytes):
    """Sums a per-CPU map's values per key, from bpftool's JSON dump."""
    maps = json.loads(run("bpftool", "-j", "map", "show").stdout)
    ids = [m["id"] for m in maps if m.get("name") == name]
    counts = {}
    for entry in json.loads(run("bpftool", "-j", "map", "dump", "id", str(ids[-1])).stdout):
        key = int.from_bytes(bytes(int(b, 16) for b in entry["key"][:key_bytes]), "little")
        total = sum(int.from_bytes(bytes(int(b, 16) for b in v["value"]), "little") for v in entry["values"])
        if total:
            counts[key] = total
    return counts


def main():
    if os.geteuid() != 0:
        sys.exit("run as root")
    import logging
    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    from scapy.all import Ether, IP, UDP, TCP, Raw  # noqa: F401
    import packets
    work = tempfile.mkdtemp(prefix="dptrace-bench-xdp-")
    pins = "/sys/fs/bpf/dptrace-bench-%d" % os.getpid()
    if "/sys/fs/bpf" not in open("/proc/mounts").read():
        run("mount", "-t", "bpf", "bpf", "/sys/fs/bpf")
    try:
        c_obj = os.path.join(work, "counters.o")
        run("clang-19", "-O2", "-g", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu", "-c",
            os.path.join(ROOT, "bench", "xdp", "counters.c"), "-o", c_obj)
        frames = {"udp": bytes(Ether() / IP(dst="10.0.0.2") / UDP(dport=53) / Raw(b"x" * 22)),
                  "tcp": bytes(Ether() / IP(dst="10.0.0.2") / TCP(dport=80) / Raw(b"x" * 10))}
        files = {}
        for name, f in frames.items():
            assert len(f) == 64
            files[name] = os.path.join(work, name + ".bin")
            open(files[name], "wb").write(f)
        test_frames = packets.frames(7, 300)
        results = {}
        for prog, script in SCRIPTS.items():
            ours = os.path.join(work, prog + ".o")
            run(DPTRACE, "--emit", "obj", "-o", ours, "-e", script)
            d_pin, c_pin = pins + "-d-" + prog, pins + "-c-" + prog
            run("bpftool", "prog", "loadall", ours, d_pin)
            run("bpftool", "prog", "loadall", c_obj, c_pin)
            d_prog, c_prog = d_pin + "/xdp_lo", c_pin + "/" + prog
            # same verdicts and map contents on the test frames
            for k, f in enumerate(test_frames):
                if len(f) < 14:
                    continue
                path = os.path.join(work, "frame.bin")
                open(path, "wb").write(f)
                vd, _ = test_run(d_prog, path, 1)
                vc, _ = test_run(c_prog, path, 1)
                if vd != vc:
                    sys.exit("%s: frame %d (%s): dptrace verdict %d, C verdict %d" % (prog, k, f.hex(), vd, vc))
            ours_map, c_map, c_key = MAPS[prog]
            d_counts = map_counts(d_pin, ours_map, 8)
            c_counts = map_counts(c_pin, c_map, c_key)
            if d_counts != c_counts:
                sys.exit("%s: map contents differ: dptrace %s, C %s" % (prog, d_counts, c_counts))
            print("%s: same verdicts on %d frames, same map (%d keys, %d packets counted)"
                  % (prog, len(test_frames), len(d_counts), sum(d_counts.values())))
            times = {("dptrace", n): [] for n in files}
            times.update({("C", n): [] for n in files})
            for _ in range(args.rounds):
                for name, path in files.items():
                    times[("dptrace", name)].append(test_run(d_prog, path, args.repeat)[1])
                    times[("C", name)].append(test_run(c_prog, path, args.repeat)[1])
            results[prog] = {"insns": (xlated(d_prog), xlated(c_prog)),
                             "ns": {k: statistics.median(v) for k, v in times.items()}, "all": times}
            shutil.rmtree(d_pin)
            shutil.rmtree(c_pin)
        print("\nns per packet (BPF_PROG_TEST_RUN, repeat %d, median of %d rounds) and xlated instructions"
              % (args.repeat, args.rounds))
        for prog, r in results.items():
            (di, dj), (ci, cj) = r["insns"]
            print("%s: instructions dptrace %d, C %d, ratio %.2f (jited bytes %d vs %d)" % (prog, di, ci, di / ci, dj, cj))
            for name in files:
                d, c = r["ns"][("dptrace", name)], r["ns"][("C", name)]
                print("  %s 64 B: dptrace %s ns, C %s ns, ratio %.2f   (rounds %s / %s)"
                      % (name, d, c, d / c, r["all"][("dptrace", name)], r["all"][("C", name)]))
    finally:
        for p in os.listdir("/sys/fs/bpf"):
            if p.startswith(os.path.basename(pins)):
                shutil.rmtree(os.path.join("/sys/fs/bpf", p), ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


main()
