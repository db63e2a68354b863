// Instructions a uprobe must not sit on. Linux's x86 uprobes check and
// emulate the probed instruction by its first opcode byte, with the tables of
// one-byte instructions (arch/x86/kernel/uprobes.c: good_insns_64,
// branch_setup_xol_ops), and without looking at a VEX or EVEX prefix
// (AVX, AVX-512). So:
//  - an AVX instruction whose opcode byte is a jump's or a call's (70-7f, e8,
//    e9, eb) or a nop's (90) is emulated as that, and never runs: glibc's
//    __strchr_evex starts with vpbroadcastb (62 .. .. .. 7a, 7a being jp):
//    8,137 of 10,000 strchr results were wrong under a probe, and bash could
//    not run commands;
//  - one whose opcode byte is an instruction the kernel refuses (6e is outs:
//    vmovd; ef is out: vpxor; ea, once a far jump: vpminsw) is refused when
//    the breakpoint is installed, and so is any instruction with a lock or
//    es/cs/ss/ds prefix, and a plain one the kernel refuses (int3, hlt, in,
//    out, a mov to %ss). Installed in a running process, that is an error at
//    attach; with -c, before the program runs, it is silent, and the probe
//    never fires.
// Other AVX instructions (vmulsd 59, vxorps 57, vfmadd a9, kandw 41) run
// correctly. DPTRACE_BREAKPOINT_CHECK=off leaves the refusals to the kernel
// (one that takes more than this table; its refusal at attach stays); an
// emulation that would corrupt the process is refused still.
#pragma once

#include <cstdint>
#include <istream>
#include <string>

namespace dptrace {

// Why a breakpoint on an instruction would not do what it should.
struct BreakpointHazard {
  std::string reason;   // in words that follow "cannot probe X: "; empty when nothing is known against it
  bool avx = false;     // the instruction is AVX-encoded (for an IFUNC's code, glibc's tunables pick other code)
  explicit operator bool() const { return !reason.empty(); }
};

// The hazard of the instruction at `fileOffset` of the file `binary`.
BreakpointHazard breakpointHazard(const std::string& binary, uint64_t fileOffset);
// The same, read from `file` (the binary opened once for many functions: a
// wildcard over libc asks about 2,600 times).
BreakpointHazard breakpointHazard(std::istream& file, uint64_t fileOffset);

}  // namespace dptrace
