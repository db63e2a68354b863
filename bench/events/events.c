/* events N STARTFILE: writes CLOCK_MONOTONIC (ns) to STARTFILE, then calls
 * ev(i) N times. Built twice by bench/events.py: at -O2, where ev's first
 * instruction is one the kernel single-steps, and at -O0, where it is
 * `push %rbp`, which the kernel emulates. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

__attribute__((noinline, used)) uint64_t ev(uint64_t i) {
  __asm__ volatile("" ::: "memory");
  return i * 3 + 1;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  if (argc > 2) {
    FILE *f = fopen(argv[2], "w");
    if (f) {
      fprintf(f, "%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
      fclose(f);
    }
  }
  uint64_t sum = 0;
  for (long i = 0; i < n; i++) sum += ev((uint64_t)i);
  return sum == 42;  /* keeps the calls */
}
