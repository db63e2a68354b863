"""Writes a damaged BTF file whose alignments a walk that stops early gets
wrong, for btf/alignment-order.test:

  mutual OUT     struct A { long big; struct B b; }, struct B { int x; struct A a; }
                 (each contains the other: both hold a long, so both align to 8)
  chain N OUT    struct S0 { int x; struct S1 s; } ... struct S(N-1) { int x; long v; }
                 (every one holds the long at the bottom: all align to 8)

A C compiler makes neither; BTF can say both.

usage: alignment_cases.py mutual OUT | alignment_cases.py chain N OUT"""
import struct
import sys

KIND_INT, KIND_STRUCT = 1, 4


class Btf:
    def __init__(self):
        self.strings = b"\0"
        self.types = b""
        self.count = 0

    def name(self, text):
        at = len(self.strings)
        self.strings += text.encode() + b"\0"
        return at

    def add_int(self, name, size):
        self.types += struct.pack("<IIII", self.name(name), KIND_INT << 24, size, size * 8)
        self.count += 1
        return self.count

    def add_struct(self, name, size, members):  # members: (name, type id, bit offset)
        self.types += struct.pack("<III", self.name(name), (KIND_STRUCT << 24) | len(members), size)
        for member, type_id, bits in members:
            self.types += struct.pack("<III", self.name(member), type_id, bits)
        self.count += 1
        return self.count

    def write(self, path):
        header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(self.types), len(self.types), len(self.strings))
        with open(path, "wb") as out:
            out.write(header + self.types + self.strings)


btf = Btf()
integer, long = btf.add_int("int", 4), btf.add_int("long", 8)
if sys.argv[1] == "mutual":
    a = btf.count + 1
    btf.add_struct("A", 16, [("big", long, 0), ("b", a + 1, 64)])
    btf.add_struct("B", 16, [("x", integer, 0), ("a", a, 64)])
    btf.write(sys.argv[2])
elif sys.argv[1] == "chain":
    n = int(sys.argv[2])
    first = btf.count + 1
    for i in range(n):
        last = i == n - 1
        btf.add_struct("S%d" % i, 16, [("x", integer, 0), ("v", long, 64) if last else ("s", first + i + 1, 64)])
    btf.write(sys.argv[3])
else:
    sys.exit(__doc__)
