#!/usr/bin/env python3
"""map_layout_property.py DPTRACE SEED COUNT: random scripts storing count()s,
sum()s, min()s, max()s, avg()s and stats() (of values that may be negative or
add up to zero) into maps under random key kinds (small constants in branches, bool, 8- and
16-bit casts of a loop counter, 64-bit values: fewer distinct keys than the
map size), each run twice under BPF_PROG_TEST_RUN (BEGIN): with the map
layouts the compiler chooses and with DPTRACE_MAP_LAYOUT=hash. The printed
maps, text and JSON, must be the same. Prints one line per difference and a
summary."""
import os
import random
import subprocess
import sys


AGGREGATIONS = ["count()", "sum(%s)", "min(%s)", "max(%s)", "avg(%s)", "stats(%s)"]


def script(rng):
    stores = []
    for m in range(rng.randint(1, 4)):
        kind = rng.choice(["const", "bool", "u8", "s8", "u16", "s16", "wide", "keyless"])
        mul, add = rng.randint(1, 97), rng.randint(0, 50)
        name = "@m%d" % m
        aggregation = rng.choice(AGGREGATIONS)
        if "%s" in aggregation:  # -2..2 sums to 0 over each 5 values; or a value from the loop counter
            aggregation %= rng.choice(["$i % 5 - 2", "$i * " + str(mul) + " % 13", "0", "-(int64)$i"])
        if kind == "const":
            keys = rng.sample(range(0, 3000), rng.randint(1, 5))
            for j, k in enumerate(keys):
                stores.append("if ($i %% %d == %d) { %s[%d] = %s; }" % (len(keys), j, name, k, aggregation))
        elif kind == "bool":
            stores.append("%s[$i %% %d == 0] = %s;" % (name, rng.randint(2, 5), aggregation))
        elif kind == "keyless":
            stores.append("if ($i %% %d == 0) { %s = %s; }" % (rng.randint(1, 7), name, aggregation))
        elif kind == "wide":
            stores.append("%s[$i * %d + %d] = %s;" % (name, mul * 100003, add, aggregation))
        else:
            cast = {"u8": "uint8", "s8": "int8", "u16": "uint16", "s16": "int16"}[kind]
            stores.append("%s[(%s)($i * %d + %d)] = %s;" % (name, cast, mul * 37, add, aggregation))
    n = rng.randint(1, 150)
    return "BEGIN { $i = 0; while ($i < %d) { %s $i++; } exit(); }" % (n, " ".join(stores))


def run(dptrace, text, fmt, hash_maps):
    env = dict(os.environ)
    if hash_maps:
        env["DPTRACE_MAP_LAYOUT"] = "hash"
    r = subprocess.run([dptrace, "-f", fmt, "-e", text], capture_output=True, text=True, env=env, timeout=60)
    return r.returncode, r.stdout


def main():
    dptrace, seed, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    differ = 0
    for n in range(count):
        text = script(rng)
        for fmt in ("text", "json"):
            a, b = run(dptrace, text, fmt, False), run(dptrace, text, fmt, True)
            if a != b or a[0] != 0:
                differ += 1
                print("DIFFER (%s): %s\n--- chosen\n%s--- hash\n%s" % (fmt, text, a[1], b[1]))
    print("%d scripts, %d differences" % (count, differ))


if __name__ == "__main__":
    main()
