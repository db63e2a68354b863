#include "breakpoint_hazard.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "x86_prefixes.h"

namespace dptrace {

namespace {

// The one-byte opcodes the kernel's good_insns_64 leaves out (recent kernels'
// table; measured on 6.18: VEX opcode bytes 41 kandw, 2e vucomiss, c4 vpinsrw, c5
// vpextrw and f0 vlddqu are probed, ea vpminsw and 9a vfmsub132ps refused):
// instructions invalid in 64-bit mode, ins/outs, in/out, int3, int N, into,
// iret, int1, hlt, cli/sti. 0f (two-byte opcodes) is accepted whatever
// follows, as the kernel checks its second byte only when the first is bad.
bool refusedOpcode(uint8_t b) {
  switch (b) {
    case 0x06: case 0x07: case 0x0e: case 0x16: case 0x17: case 0x1e: case 0x1f: case 0x27: case 0x2f:
    case 0x37: case 0x3f: case 0x60: case 0x61: case 0x62: case 0x6c: case 0x6d: case 0x6e: case 0x6f:
    case 0x82: case 0x9a: case 0xcc: case 0xcd: case 0xce: case 0xcf: case 0xd4: case 0xd5: case 0xd6:
    case 0xe4: case 0xe5: case 0xe6: case 0xe7: case 0xea: case 0xec: case 0xed: case 0xee: case 0xef:
    case 0xf1: case 0xf4: case 0xfa: case 0xfb:
      return true;
    default:
      return false;
  }
}

// The one-byte opcodes the kernel emulates instead of running them: jumps,
// call, nop.
bool emulatedOpcode(uint8_t b) { return (b >= 0x70 && b <= 0x7f) || b == 0xe8 || b == 0xe9 || b == 0xeb || b == 0x90; }

// What the kernel's insn_masking_exception() refuses: opcode byte 8e with
// ModRM.reg 2 (mov to %ss, which masks interrupts for one instruction),
// whatever prefix (a VEX vpmaskmovd store has it too).
bool masksInterrupts(const uint8_t* code, size_t n, size_t opcode) {
  return code[opcode] == 0x8e && opcode + 1 < n && ((code[opcode + 1] >> 3) & 7) == 2;
}

std::string hexByte(uint8_t b) {
  char text[3];
  std::snprintf(text, sizeof text, "%02x", b);
  return text;
}

}  // namespace

BreakpointHazard breakpointHazard(const std::string& binary, uint64_t fileOffset) {
  std::ifstream in(binary, std::ios::binary);
  return breakpointHazard(in, fileOffset);
}

BreakpointHazard breakpointHazard(std::istream& in, uint64_t fileOffset) {
  // Off: the kernel's refusals are left to the kernel; an emulation that
  // would corrupt the process is still refused. Read once a run.
  static const bool refusals = [] {
    const char* check = std::getenv("DPTRACE_BREAKPOINT_CHECK");
    return check == nullptr || std::string(check) != "off";
  }();
  uint8_t code[16] = {};
  in.clear();  // a read before may have stopped at the end of the file
  in.seekg(static_cast<std::streamoff>(fileOffset));
  in.read(reinterpret_cast<char*>(code), sizeof code);
  size_t n = static_cast<size_t>(in.gcount()), i = 0;
  const std::string never = "which Linux's x86 uprobes refuse when they install the breakpoint (with -c, before the program "
                            "runs, without an error): the probe would never fire";
  bool operand16 = false, repeated = false;  // a 66 prefix; a rep (f3) or repne (f2) prefix
  for (; i < n; ++i) {
    uint8_t b = code[i];
    operand16 = operand16 || b == 0x66;
    repeated = repeated || b == 0xf2 || b == 0xf3;
    if (!isX86LegacyPrefix(b)) break;
    if (b == 0xf0 || b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e) {
      // The kernel refuses the instruction for this prefix, whatever follows
      // (a rep string instruction, an AVX jump's opcode byte): off leaves
      // that to it.
      if (!refusals) return {};
      return {"its instruction there has a" + std::string(b == 0xf0 ? " lock" : b == 0x26 ? "n es" : b == 0x2e ? " cs" : b == 0x36 ? "n ss" : " ds") +
              " prefix (" + hexByte(b) + "), " + never};
    }
  }
  if (i >= n) return {};
  if (code[i] != 0xc4 && code[i] != 0xc5 && code[i] != 0x62) {  // not AVX-encoded
    if (code[i] >= 0x40 && code[i] <= 0x4f) ++i;  // REX
    if (i >= n) return {};
    // A string instruction repeated by rep (rep stos, repne scas): each
    // repetition traps again at the same address (50 calls of a rep stos of
    // 10 bytes counted 500).
    if (repeated && ((code[i] >= 0xa4 && code[i] <= 0xa7) || (code[i] >= 0xaa && code[i] <= 0xaf)))
      return {"its instruction there is a repeated string instruction (rep prefix, opcode byte " + hexByte(code[i]) +
              "), on which a uprobe fires once per repetition, not once per pass"};
    if (!refusals) return {};
    if (refusedOpcode(code[i])) return {"its instruction there (opcode byte " + hexByte(code[i]) + ") is one " + never};
    if (masksInterrupts(code, n, i)) return {"its instruction there loads %ss, " + never};
    // A jump or call with a 16-bit operand size (callw: 66 e8): the kernel does
    // not emulate those.
    uint8_t b = code[i];
    bool branch = b == 0xe8 || b == 0xe9 || b == 0xeb || (b >= 0x70 && b <= 0x7f) ||
                  (b == 0x0f && i + 1 < n && code[i + 1] >= 0x80 && code[i + 1] <= 0x8f);
    if (operand16 && branch) return {"its instruction there is a jump or call with a 16-bit operand (66 prefix), " + never};
    return {};
  }
  // In 64-bit code c5 starts a 2-byte VEX prefix, c4 a 3-byte one, 62 a 4-byte EVEX one.
  size_t at = i + (code[i] == 0xc5 ? 2 : code[i] == 0xc4 ? 3 : 4);
  if (at >= n) return {};
  uint8_t opcode = code[at];
  std::string what = "its instruction there is AVX-encoded (" + std::string(code[i] == 0x62 ? "EVEX" : "VEX") +
                     " prefix, opcode byte " + hexByte(opcode) + "), ";
  if (emulatedOpcode(opcode))
    return {what + "which Linux's x86 uprobes emulate as the " + (opcode == 0x90 ? "nop" : opcode == 0xe8 ? "call" : "jump") +
                " that byte is alone, without running it: the traced process would compute wrong results",
            true};
  if (refusals && refusedOpcode(opcode)) return {what + never, true};
  if (refusals && masksInterrupts(code, n, at)) return {what + "taken for a load of %ss (8e /2), " + never, true};
  return {};
}

}  // namespace dptrace
