// Calls add_one and twice of libindirect.so N times each. Usage: use_indirect N
#include <stdlib.h>
int add_one(int);
int twice(int);
int main(int argc, char** argv) {
  volatile int total = 0;
  for (int i = 0; argc == 2 && i < atoi(argv[1]); ++i) total += add_one(i) + twice(i);
  return 0;
}
