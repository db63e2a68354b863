#include "breakpoint_hazard.h"

#include <cstdio>
#include <fstream>

namespace dptrace {

namespace {

// The one-byte opcodes the kernel's good_insns_64 leaves out (0f, the escape
// to two-byte opcodes, aside): invalid in 64-bit mode, in/out, int, hlt,
// cli/sti, and prefixes.
bool refusedOpcode(uint8_t b) {
  switch (b) {
    case 0x06: case 0x07: case 0x0e: case 0x16: case 0x17: case 0x1e: case 0x1f: case 0x26: case 0x27:
    case 0x2e: case 0x2f: case 0x36: case 0x37: case 0x3e: case 0x3f: case 0x60: case 0x61: case 0x62:
    case 0x66: case 0x67: case 0x6c: case 0x6d: case 0x6e: case 0x6f: case 0x82: case 0xc4: case 0xc5:
    case 0xcc: case 0xcd: case 0xce: case 0xcf: case 0xd4: case 0xd5: case 0xd6: case 0xe4: case 0xe5:
    case 0xe6: case 0xe7: case 0xec: case 0xed: case 0xee: case 0xef: case 0xf0: case 0xf1: case 0xf4:
    case 0xfa: case 0xfb:
      return true;
    default:
      return b >= 0x40 && b <= 0x4f;  // REX, never an opcode in 64-bit mode
  }
}

// The one-byte opcodes the kernel emulates instead of running them: jumps,
// call, nop.
bool emulatedOpcode(uint8_t b) { return (b >= 0x70 && b <= 0x7f) || b == 0xe8 || b == 0xe9 || b == 0xeb || b == 0x90; }

std::string hexByte(uint8_t b) {
  char text[3];
  std::snprintf(text, sizeof text, "%02x", b);
  return text;
}

}  // namespace

std::string breakpointHazard(const std::string& binary, uint64_t fileOffset) {
  std::ifstream in(binary, std::ios::binary);
  return breakpointHazard(in, fileOffset);
}

std::string breakpointHazard(std::istream& in, uint64_t fileOffset) {
  uint8_t code[16] = {};
  in.clear();  // a read before may have stopped at the end of the file
  in.seekg(static_cast<std::streamoff>(fileOffset));
  in.read(reinterpret_cast<char*>(code), sizeof code);
  size_t n = static_cast<size_t>(in.gcount()), i = 0;
  const std::string never = "which Linux's x86 uprobes refuse when they install the breakpoint (with -c, before the program "
                            "runs, without an error): the probe would never fire";
  for (; i < n; ++i) {
    uint8_t b = code[i];
    if (b == 0xf0 || b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e)
      return "its instruction there has a" + std::string(b == 0xf0 ? " lock" : b == 0x26 ? "n es" : b == 0x2e ? " cs" : b == 0x36 ? "n ss" : " ds") +
             " prefix (" + hexByte(b) + "), " + never;
    if (b != 0x64 && b != 0x65 && b != 0x66 && b != 0x67 && b != 0xf2 && b != 0xf3) break;
  }
  if (i >= n || (code[i] != 0xc4 && code[i] != 0xc5 && code[i] != 0x62)) return "";
  // In 64-bit code c5 starts a 2-byte VEX prefix, c4 a 3-byte one, 62 a 4-byte EVEX one.
  size_t at = i + (code[i] == 0xc5 ? 2 : code[i] == 0xc4 ? 3 : 4);
  if (at >= n) return "";
  uint8_t opcode = code[at];
  std::string what = "its instruction there is AVX-encoded (" + std::string(code[i] == 0x62 ? "EVEX" : "VEX") +
                     " prefix, opcode byte " + hexByte(opcode) + "), ";
  if (emulatedOpcode(opcode))
    return what + "which Linux's x86 uprobes emulate as the " + (opcode == 0x90 ? "nop" : opcode == 0xe8 ? "call" : "jump") +
           " that byte is alone, without running it: the traced process would compute wrong results";
  if (refusedOpcode(opcode)) return what + never;
  return "";
}

}  // namespace dptrace
