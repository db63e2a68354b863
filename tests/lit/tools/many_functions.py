#!/usr/bin/env python3
"""many_functions.py N: C source of a program with N small functions fn_0 ..
fn_(N-1), each out of line; main calls fn_i (i % 5) + 1 times with k = 0, 1,
..., and fn_i returns k + i. For wildcard uprobe tests and bench/wildcards.py:
counts and sums per function are known."""
import sys

n = int(sys.argv[1])
print("#include <stdlib.h>")
for i in range(n):
    print('__attribute__((noinline, used)) int fn_%d(int x) { __asm__ volatile("" ::: "memory"); return x + %d; }' % (i, i))
print("int main(void) {\n  int s = 0;")
for i in range(n):
    print("  for (int k = 0; k < %d; k++) s += fn_%d(k);" % (i % 5 + 1, i))
print("  return s == 42;\n}")
