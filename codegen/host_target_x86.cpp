// The host target of libdptrace_codegen_host.so: LLVM's x86-64 back end, for
// afxdp bodies, and its disassembler, for uprobes at an offset inside a
// function (codegen_module.h).
#include <llvm-c/Disassembler.h>
#include <llvm-c/Target.h>

#include <mutex>

#include "codegen_module.h"
#include "host_target.h"
#include "x86_prefixes.h"

extern "C" void LLVMInitializeX86TargetInfo();
extern "C" void LLVMInitializeX86Target();
extern "C" void LLVMInitializeX86TargetMC();
extern "C" void LLVMInitializeX86AsmPrinter();
extern "C" void LLVMInitializeX86Disassembler();

namespace dptrace {

bool initializeHostTarget() {
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeX86TargetInfo();
    LLVMInitializeX86Target();
    LLVMInitializeX86TargetMC();
    LLVMInitializeX86AsmPrinter();
  });
  return true;
}

}  // namespace dptrace

extern "C" __attribute__((visibility("default"))) bool dptrace_instruction_starts(const uint8_t* code, size_t size,
                                                                                std::vector<uint64_t>* starts) {
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeX86TargetInfo();
    LLVMInitializeX86TargetMC();
    LLVMInitializeX86Disassembler();
  });
  LLVMDisasmContextRef disasm = LLVMCreateDisasm("x86_64-linux-gnu", nullptr, 0, nullptr, nullptr);
  if (disasm == nullptr) return false;
  char text[256];
  bool ok = true;
  // LLVM gives a lock prefix (and other prefixes before some opcodes) as an
  // instruction of its own, "lock" then "incq (%rdi)": the prefix starts the
  // instruction, and the byte after it is inside it (a breakpoint there is a
  // SIGILL in the traced process).
  bool afterPrefix = false;
  for (uint64_t at = 0; at < size;) {
    size_t n = LLVMDisasmInstruction(disasm, const_cast<uint8_t*>(code + at), size - at, at, text, sizeof text);
    if (n == 0) {
      ok = false;
      break;
    }
    if (!afterPrefix) starts->push_back(at);
    afterPrefix = n == 1 && dptrace::isX86LegacyPrefix(code[at]) && at + 1 < size;
    at += n;
  }
  LLVMDisasmDispose(disasm);
  return ok;
}
