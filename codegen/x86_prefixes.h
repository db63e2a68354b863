// The legacy prefixes of x86-64 instructions: bytes that start an
// instruction before its opcode (lock, rep and repne, the es/cs/ss/ds/fs/gs
// segment overrides, operand and address size). Both readers of x86 code step
// over them: the disassembler's instruction starts (host_target_x86.cpp) and
// the breakpoint check (runtime/breakpoint_hazard.cpp).
#pragma once

#include <cstdint>

namespace dptrace {

inline bool isX86LegacyPrefix(uint8_t b) {
  return b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65 ||
         b == 0x66 || b == 0x67;
}

}  // namespace dptrace
