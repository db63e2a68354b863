// Calls glibc's indirect functions a known number of times: strlen on a
// 23-byte string, memcpy of 37 bytes and memmove of 41 (built with
// -fno-builtin, so that each is a call). Usage: calls STRLEN MEMCPY MEMMOVE
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  static const char text[] = "twenty-three characters";
  char to[64], from[64] = "0123456789012345678901234567890123456789012345";
  volatile size_t total = 0;
  for (int i = 0; i < atoi(argv[1]); ++i) total += strlen(text);
  for (int i = 0; i < atoi(argv[2]); ++i) memcpy(to, from, 37);
  for (int i = 0; i < atoi(argv[3]); ++i) memmove(to, from, 41);
  return total == 0 && argv[1][0] != '0';
}
