#!/usr/bin/env python3
"""check_man.py HELP MAN8 MAN7: every option in HELP appears in MAN8, and every
probe kind and builtin name appears in MAN7. Prints what is missing."""
import re
import subprocess
import sys

help_text, man8, man7 = (open(p).read() for p in sys.argv[1:4])

def rendered(path):
    out = subprocess.run(["groff", "-man", "-Tutf8", "-P", "-cbou", path], capture_output=True, text=True).stdout
    return out.replace("\u2010", "-").replace("\u2212", "-")

text8, text7 = rendered(sys.argv[2]), rendered(sys.argv[3])
missing = []
for option in sorted(set(re.findall(r"(?:^|[\s,])(--?[a-zA-Z][a-zA-Z-]*)", help_text))):
    if option not in text8:
        missing.append(f"dptrace.8 lacks option {option}")
kinds = ["BEGIN", "END", "interval", "uprobe", "uretprobe", "fentry", "fexit", "kfunc", "kretfunc",
         "tracepoint", "xdp", "afxdp"]
builtins = ["pid", "tid", "uid", "comm", "cpu", "nsecs", "elapsed", "func", "probe", "retval", "arg0", "args",
            "printf", "print", "time", "str", "ntop", "pton", "exit", "emit", "count", "sum", "avg", "min", "max",
            "stats", "hist", "lhist", "clear", "zero", "delete", "pass", "drop", "tx", "redirect", "abort", "swap",
            "vlan_pop", "vlan_push", "pkt.len", "eth.type", "vlan.id", "ip.src", "ip6.nexthdr", "tcp.flags",
            "udp.dport", "icmp.seq", "icmp6.type", "gtp.teid"]
for name in kinds + builtins:
    if not re.search(r"(?<![\w.])" + re.escape(name) + r"(?![\w])", text7):
        missing.append(f"dptrace-lang.7 lacks {name}")
for m in missing:
    print(m)
sys.exit(1 if missing else 0)
