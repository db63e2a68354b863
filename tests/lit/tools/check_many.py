#!/usr/bin/env python3
"""check_many.py N < dptrace output: checks the maps of a wildcard trace of
many_functions.py's program against what it does: @calls[func] = (i % 5) + 1,
@sums[func] = sum of k + i over those calls, @probes[probe] the same counts
under "uprobe:BIN:fn_i" names. Prints one line per map: entries and mismatches."""
import re
import sys

n = int(sys.argv[1])
maps = {}
for line in sys.stdin:
    m = re.match(r"@(\w+)\[(.*)\]: (\d+)$", line.strip())
    if m:
        maps.setdefault(m.group(1), {})[m.group(2)] = int(m.group(3))
for name, entries in sorted(maps.items()):
    bad = 0
    for key, value in entries.items():
        i = int(re.search(r"fn_(\d+)$", key).group(1))
        calls = i % 5 + 1
        want = calls if name in ("calls", "probes") else sum(k + i for k in range(calls))
        if value != want or (name == "probes" and not key.startswith("uprobe:")):
            bad += 1
    print("@%s: %d entries, %d wrong" % (name, len(entries), bad))
