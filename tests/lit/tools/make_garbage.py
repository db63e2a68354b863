#!/usr/bin/env python3
"""make_garbage.py DIR EXAMPLES: writes 300 inputs into DIR: random bytes,
random tokens, and the examples with bytes deleted, duplicated or flipped.
Seeded, so a failure can be reproduced."""
import glob
import os
import random
import sys

out, examples = sys.argv[1], sys.argv[2]
rng = random.Random(20261122)
scripts = [open(p, "rb").read() for p in sorted(glob.glob(os.path.join(examples, "*", "*.dpt")))]
tokens = [b"BEGIN", b"xdp:veth0", b"{", b"}", b"/", b"(", b")", b"[", b"]", b";", b",", b"@m", b"$x", b"=",
          b"==", b"if", b"else", b"while", b"unroll", b"count()", b"\"s", b"\"s\"", b"0x", b"1", b"->", b".",
          b"struct s {", b"#include", b"/*", b"*/", b"//", b"?", b":", b"\n", b" ", b"\x00", b"\xff"]
for i in range(300):
    kind = i % 3
    if kind == 0:
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 2048)))
    elif kind == 1:
        data = b" ".join(rng.choice(tokens) for _ in range(rng.randrange(1, 400)))
    else:
        data = bytearray(rng.choice(scripts))
        for _ in range(rng.randrange(1, 12)):
            pos = rng.randrange(len(data))
            op = rng.randrange(3)
            if op == 0:
                del data[pos:pos + rng.randrange(1, 8)]
            elif op == 1:
                data[pos:pos] = data[pos:pos + rng.randrange(1, 16)]
            else:
                data[pos] = rng.randrange(256)
        data = bytes(data)
    with open(os.path.join(out, f"g{i:03d}.dpt"), "wb") as f:
        f.write(data)
