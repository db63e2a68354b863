/* Four functions for a wildcard uprobe: fn_lock starts with a lock-prefixed
 * instruction and fn_int3 with an int3 (never called), which the kernel
 * cannot uprobe (ENOTSUPP when the file is mapped by a process as the probe
 * is made: run it with an argument and it waits to be killed; dptrace
 * refuses both itself, runtime/breakpoint_hazard.h); fn_a is called once
 * and fn_b twice. */
#include <unistd.h>

__attribute__((naked, noinline, used)) void fn_lock(int *p) {
  __asm__("lock decl (%rdi)\n\tret");
}
__attribute__((naked, noinline, used)) void fn_int3(void) {
  __asm__("int3");
}
__attribute__((noinline, used)) int fn_a(int x) {
  __asm__ volatile("" ::: "memory");
  return x;
}
__attribute__((noinline, used)) int fn_b(int x) {
  __asm__ volatile("" ::: "memory");
  return x;
}
int main(int argc, char **argv) {
  (void)argv;
  if (argc > 1) pause();
  int v = 5;
  fn_lock(&v);
  return fn_a(1) + fn_b(2) + fn_b(3) - 6;
}
