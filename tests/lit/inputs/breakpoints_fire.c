/* Exits 0 when this machine's hardware breakpoints fire: a write breakpoint
 * (perf_event_open, PERF_TYPE_BREAKPOINT) on the program's own variable,
 * written 5 times, must count 5. Some hypervisors take the event and never
 * fire it; then it prints what it counted and exits 1 (2: no such event). */
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

volatile long target;

int main(void) {
  struct perf_event_attr a;
  memset(&a, 0, sizeof a);
  a.size = sizeof a;
  a.type = PERF_TYPE_BREAKPOINT;
  a.bp_addr = (unsigned long)&target;
  a.bp_len = HW_BREAKPOINT_LEN_8;
  a.bp_type = HW_BREAKPOINT_W;
  a.exclude_kernel = 1;
  int fd = (int)syscall(__NR_perf_event_open, &a, 0, -1, -1, 0);
  if (fd < 0) {
    perror("perf_event_open");
    return 2;
  }
  for (int i = 0; i < 5; i++) target += i;
  long long n = 0;
  if (read(fd, &n, sizeof n) != sizeof n) return 2;
  printf("a breakpoint written 5 times counted %lld\n", n);
  return n == 5 ? 0 : 1;
}
