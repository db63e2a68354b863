// Calls the functions of avx_entry.s N times each and checks their results:
// a breakpoint the kernel runs wrongly shows as bad results. evex_first runs
// only where the CPU has AVX-512VL (else its count is 0). Usage: avx_calls N
#include <stdio.h>
#include <stdlib.h>

int evex_first(int);
int vex_first(int);
int vxorps_first(int);
int vucomiss_first(int);
int vpminsw_first(int);
int lock_first(int);
void rep_fill(char*, long);
int plain_first(int);

int main(int argc, char** argv) {
  int n = argc == 2 ? atoi(argv[1]) : 0, bad = 0, evex = 0;
  int avx512 = __builtin_cpu_supports("avx512vl");
  for (int i = 0; i < n; ++i) {
    int b = i & 0x7f;
    if (avx512) {
      bad += evex_first(b) != b * 0x01010101;
      ++evex;
    }
    bad += vex_first(i) != i;
    bad += vxorps_first(i) != i;
    bad += vucomiss_first(i) != i;
    bad += vpminsw_first(i) != i;
    bad += lock_first(i) != i;
    bad += plain_first(i) != i;
    char fill[16] = {0};
    rep_fill(fill, 10);
    bad += fill[9] != 'x' || fill[10] != 0;
  }
  printf("evex_calls=%d calls=%d bad=%d\n", evex, n, bad);
  return 0;
}
