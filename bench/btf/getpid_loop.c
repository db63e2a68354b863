/* getpid_loop N START: writes the wall-clock time in ns to START, then makes
 * exactly N getpid() system calls (the event source of bench/btf.py). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
  if (argc > 2) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    FILE* f = fopen(argv[2], "w");
    if (f) fprintf(f, "%lld\n", (long long)now.tv_sec * 1000000000LL + now.tv_nsec), fclose(f);
  }
  for (long i = 0; i < n; i++) syscall(SYS_getpid);
  return 0;
}
