#!/usr/bin/env python3
"""xdp_property.py DPTRACE WORKDIR [--seed S] [--scripts N] [--packets M]

Property test of xdp blocks: scripts generated at random over the packet
views, predicates, if/else, variables, printf and actions all compile, load
and run under BPF_PROG_TEST_RUN (dptrace --pcap) on random and malformed
frames; a verifier refusal is a failure. For every frame, what the script
printed and the verdict are compared with an independent evaluation of the
same script over packet_model.views() of that frame (whose fields are
themselves checked against scapy's parse for the well-formed frames).
"""
import argparse
import json
import logging
import os
import random
import subprocess
import sys

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import packet_model  # noqa: E402
import packets  # noqa: E402
from scapy.all import wrpcap, Ether  # noqa: E402
import socket  # noqa: E402

FIELDS = {  # view.field -> (bits, interesting constants)
    "pkt.len": (32, [60, 64, 100]), "eth.type": (16, [0x0800, 0x86DD, 0x8100, 0x88A8]),
    "vlan.id": (16, packets.VLANS), "ip.proto": (8, [1, 6, 17, 47]), "ip.ttl": (8, [1, 64, 255]),
    "ip.len": (16, [20, 28, 60]), "ip6.nexthdr": (8, [6, 17, 58]), "tcp.sport": (16, packets.PORTS),
    "tcp.dport": (16, packets.PORTS), "tcp.flags": (8, [2, 16, 18, 17, 4]), "udp.sport": (16, packets.PORTS),
    "udp.dport": (16, packets.PORTS), "udp.len": (16, [8, 12, 38]), "icmp.type": (8, [0, 3, 8]),
    "icmp.code": (8, [0, 1]), "icmp.seq": (16, [0, 1, 1000]), "icmp6.type": (8, [128, 129]),
    "icmp6.seq": (16, [0, 7]), "gtp.type": (8, [255, 1]), "gtp.teid": (32, [0, 1, 0xFFFFFFFF]),
}
VIEWS = ["eth", "vlan", "ip", "ip6", "tcp", "udp", "icmp", "icmp6", "gtp"]
ADDRESSES = [("ip.src", a) for a in packets.IPS] + [("ip.dst", a) for a in packets.IPS] + \
            [("ip6.src", a) for a in packets.IP6S] + [("ip6.dst", a) for a in packets.IP6S]
ACTIONS = {"pass()": "pass", "drop()": "drop", "tx()": "tx", "abort()": "abort"}
AFXDP_ACTIONS = {"drop()": "drop", "tx()": "tx"}


class Absent(Exception):
    pass


def field(v, name):
    view, f = name.split(".")
    if view not in v:
        raise Absent()
    return v[view][f]


def address_bytes(text):
    return socket.inet_pton(socket.AF_INET6 if ":" in text else socket.AF_INET, text)


# An expression: (source text, evaluate(views) -> value, raises Absent)
def gen_bool(rng, depth=0):
    r = rng.random()
    if depth > 2 or r < 0.45:
        kind = rng.choice(["present", "cmp", "cmp", "mask", "addr"])
        if kind == "present":
            view = rng.choice(VIEWS)
            if rng.random() < 0.3:
                return "!" + view, lambda v, w=view: w not in v
            return view, lambda v, w=view: w in v
        if kind == "addr":
            name, text = rng.choice(ADDRESSES)
            op = rng.choice(["==", "!="])
            want = address_bytes(text)
            return ('%s %s pton("%s")' % (name, op, text),
                    lambda v, n=name, w=want, o=op: (field(v, n) == w) == (o == "=="))
        name = rng.choice(list(FIELDS))
        bits, pool = FIELDS[name]
        const = rng.choice(pool) if rng.random() < 0.8 else rng.randrange(1 << min(bits, 16))
        if kind == "mask":
            mask = rng.choice([1, 2, 0xF, 0xF0, 0xFF])
            return ("(%s & %d) == %d" % (name, mask, const & mask),
                    lambda v, n=name, m=mask, c=const & mask: (field(v, n) & m) == c)
        op = rng.choice(["==", "!=", "<", ">", "<=", ">="])
        ops = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
               ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b}
        return "%s %s %d" % (name, op, const), lambda v, n=name, f=ops[op], c=const: f(field(v, n), c)
    a_text, a = gen_bool(rng, depth + 1)
    if r < 0.6:
        return "!(%s)" % a_text, lambda v, a=a: not a(v)
    b_text, b = gen_bool(rng, depth + 1)
    if r < 0.8:
        return "(%s && %s)" % (a_text, b_text), lambda v, a=a, b=b: a(v) and b(v)
    return "(%s || %s)" % (a_text, b_text), lambda v, a=a, b=b: a(v) or b(v)


MAPS = {}  # map name -> {key text: count}, filled by the model as it runs


def keyed_count(map_name, name):
    def run(v, scope, out):
        key = str(field(v, name))
        counts = MAPS.setdefault(map_name, {})
        counts[key] = counts.get(key, 0) + 1
    return run


def gen_block(rng, i, afxdp=False):
    """Returns (source, run(views, out) -> verdict or None). An afxdp block's
    predicate runs in the kernel and its body in dptrace; a frame its
    predicate takes ends there, with tx() or drop() (the default)."""
    pred = gen_bool(rng) if rng.random() < 0.8 else None
    stmts = []  # (source, run(views, scope, out) -> verdict or None)
    for j in range(rng.randrange(1, 4)):
        kind = rng.choice(["printf", "printf", "var", "if", "count", "keyed"])
        if kind == "printf":
            names = rng.sample(list(FIELDS), rng.randrange(1, 3))
            fmt = "B%d.%d" % (i, j) + "".join(" %u" for _ in names)

            def run(v, scope, out, names=names, fmt=fmt):
                values = [field(v, n) for n in names]
                out.append(fmt.replace(" %u", " {}").format(*values))
            stmts.append(('printf("%s\\n", %s);' % (fmt, ", ".join(names)), run))
        elif kind == "var":
            name = rng.choice(list(FIELDS))
            var = "$v%d" % j

            def assign(v, scope, out, name=name, var=var):
                scope[var] = field(v, name)

            def show(v, scope, out, var=var, tag="V%d.%d" % (i, j)):
                if var not in scope:
                    raise Absent()
                out.append("%s %d" % (tag, scope[var]))
            stmts.append(("%s = %s;" % (var, name), assign))
            stmts.append(('printf("V%d.%d %%u\\n", %s);' % (i, j, var), show))
        elif kind == "if":
            cond_text, cond = gen_bool(rng)
            tag = "I%d.%d" % (i, j)

            def run(v, scope, out, cond=cond, tag=tag):
                out.append(tag + (" then" if cond(v) else " else"))
            stmts.append(('if (%s) { printf("%s then\\n"); } else { printf("%s else\\n"); }' % (cond_text, tag, tag), run))
        elif kind == "keyed":  # a map keyed by one field: compared with the model's counts
            name = rng.choice(list(FIELDS))
            stmts.append(("@k%d_%d[%s] = count();" % (i, j, name), keyed_count("@k%d_%d" % (i, j), name)))
        else:
            stmts.append(("@c%d = count();" % i, lambda v, scope, out: None))
    action = None
    actions = AFXDP_ACTIONS if afxdp else ACTIONS
    if rng.random() < (0.6 if afxdp else 0.4):
        action = rng.choice(list(actions))
        tag = "A%d" % i

        def act(v, scope, out, verdict=actions[action], tag=tag):
            out.append(tag)
            return verdict
        stmts.append(('printf("%s\\n"); %s' % (tag, action), act))
    source = "%s:any %s{ %s }" % ("afxdp" if afxdp else "xdp", "/%s/ " % pred[0] if pred else "",
                                   " ".join(s for s, _ in stmts))

    def run(v, out):
        if pred:
            try:
                if not pred[1](v):
                    return None
            except Absent:
                return None
        scope = {}
        for _, stmt in stmts:
            try:
                verdict = stmt(v, scope, out)
            except Absent:
                continue  # a statement that reads an absent field does not run
            if verdict:
                return verdict
        return "drop" if afxdp else None
    return source, run


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dptrace")
    ap.add_argument("workdir")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("DPTRACE_PROPERTY_SEED", "20261122")))
    ap.add_argument("--scripts", type=int, default=30)
    ap.add_argument("--packets", type=int, default=200)
    ap.add_argument("--afxdp", action="store_true", help="the last block of each script is an afxdp block")
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    frames = packets.frames(args.seed, args.packets)
    pcap = os.path.join(args.workdir, "frames.pcap")
    wrpcap(pcap, [Ether(f) for f in frames])
    model = [packet_model.views(f) for f in frames]
    rng = random.Random(args.seed)
    failures = 0
    checked = 0
    for s in range(args.scripts):
        MAPS.clear()
        if s % 4 == 3:  # one block, one field: the shape where the verifier is most easily lost
            name = rng.choice(list(FIELDS))
            def single(v, out, f=keyed_count("@k0_0", name)):
                try:
                    f(v, {}, out)
                except Absent:
                    pass
            def taken(v, out, f=single):
                f(v, out)
                return "drop"
            blocks = [("afxdp:any { @k0_0[%s] = count(); }" % name, taken) if args.afxdp else
                      ("xdp:any { @k0_0[%s] = count(); }" % name, single)]
        else:
            n = rng.randrange(1, 5)
            blocks = [gen_block(rng, i, afxdp=args.afxdp and i == n - 1) for i in range(n)]
        alone = s % 4 == 3  # no printf blocks around it: only its map and the verdicts are compared
        source = "\n".join(b[0] for b in blocks) + "\n"
        if not alone:
            source = "xdp:any { printf(\"P\\n\"); }\n" + source + "xdp:any { printf(\"Z\\n\"); }\n"
        path = os.path.join(args.workdir, "script%d.dpt" % s)
        with open(path, "w") as f:
            f.write(source)
        proc = subprocess.run([args.dptrace, "--pcap", pcap, "-f", "json", path], capture_output=True, text=True,
                              timeout=120)
        if proc.returncode != 0:
            print("FAIL: script %d was refused (exit %d):\n%s\n%s" % (s, proc.returncode, source, proc.stderr))
            failures += 1
            continue
        lines, verdicts, maps = [], {}, {}
        for line in proc.stdout.splitlines():
            record = json.loads(line)
            if record["type"] == "printf":
                lines.extend(record["data"].splitlines())
            elif record["type"] == "map" and "@verdict" in record["data"]:
                verdicts = record["data"]["@verdict"]
            elif record["type"] == "map":
                maps.update({k: v for k, v in record["data"].items() if k.startswith("@k")})
        # split per frame at the "P" each frame prints first
        per_frame, current = [], None
        for line in lines:
            if line == "P":
                current = []
                per_frame.append(current)
            elif current is not None:
                current.append(line)
        expected_verdicts = {}
        mismatch = None
        if alone:
            per_frame = [[] if args.afxdp else ["Z"] for _ in frames]
        if len(per_frame) != len(frames):
            mismatch = "printed %d frames, the capture has %d" % (len(per_frame), len(frames))
        for k, v in enumerate(model):
            out, verdict = [], None
            for _, run in blocks:
                verdict = run(v, out)
                if verdict:
                    break
            if not verdict:
                out.append("Z")
                verdict = "pass"
            expected_verdicts[verdict] = expected_verdicts.get(verdict, 0) + 1
            if mismatch is None and k < len(per_frame) and per_frame[k] != out:
                mismatch = "frame %d (%s): dptrace printed %r, the model expects %r" % (k, frames[k].hex(), per_frame[k], out)
        if mismatch is None and verdicts != expected_verdicts:
            mismatch = "verdicts %r, the model expects %r" % (verdicts, expected_verdicts)
        if mismatch is None and maps != MAPS:
            mismatch = "maps %r, the model expects %r" % (maps, MAPS)
        if mismatch:
            print("FAIL: script %d:\n%s%s" % (s, source, mismatch))
            failures += 1
        checked += len(frames)
    print("%d %sscripts x %d frames (seed %d): %d failures, %d frame results compared"
          % (args.scripts, "afxdp " if args.afxdp else "", len(frames), args.seed, failures, checked))
    sys.exit(1 if failures else 0)


main()
