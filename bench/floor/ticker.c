/* ticker: calls tick() every 100 us until killed, for bench/uprobes.py to
 * measure when a tracer's uprobe is really attached: the time of its first hit. */
#include <unistd.h>

__attribute__((noinline, used)) int tick(int i) {
  __asm__ volatile("" ::: "memory");
  return i + 1;
}

int main(void) {
  for (int i = 0;; i = tick(i)) usleep(100);
}
