"""Writes a damaged BTF file: struct pkt { int x; } with, at each of LEVELS
levels, WIDTH anonymous members all of the next level's one struct (the
last level's is pkt itself when --cycle is given). Flattened as written that
is WIDTH^LEVELS members; a C compiler makes neither the sharing nor the cycle.

usage: shared_members.py WIDTH LEVELS [--cycle] OUT"""
import struct
import sys

args = [a for a in sys.argv[1:] if a != "--cycle"]
width, levels, out = int(args[0]), int(args[1]), args[2]
cycle = "--cycle" in sys.argv
strings = b"\0int\0pkt\0x\0"
INT, PKT = 1, 2
types = struct.pack("<IIII", 1, 1 << 24, 4, 32)  # 1: int, 32 bits
# 2: struct pkt { int x; WIDTH x anonymous level-1 struct }, then one struct a level.
for level in range(levels):
    name = 5 if level == 0 else 0
    inner = PKT + level + 1
    if level == levels - 1:
        inner = PKT if cycle else 0
    members = [(9, INT, 0)] if level == 0 else []
    if inner:
        members += [(0, inner, 32)] * width
    types += struct.pack("<III", name, (4 << 24) | len(members), 8)
    for m in members:
        types += struct.pack("<III", *m)
header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
open(out, "wb").write(header + types + strings)
