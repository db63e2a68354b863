// The BTF importer (kernel_btf.h) over any bytes given as the kernel's BTF
// (--btf FILE), or as a module's split BTF over a base (--btf FILE
// --btf-module mod=FILE): libbpf's parser, then what dptrace reads of it --
// function and tracepoint signatures (fentry, rawtracepoint), their names for
// hints and -l, struct layouts with anonymous members flattened, enum
// constants.
//
// An input that starts with "SPLT" and a 32-bit little-endian length N is
// N bytes of base BTF followed by the module's split BTF; any other input is
// the kernel's BTF alone. Seeds: small BTF files from pahole
// (tests/fuzz/btf/), not the 5 MB vmlinux; one has a tracepoint (btf_trace_NAME
// and __probestub_NAME), one a module's split BTF over a small base (pahole
// --btf_base=base.btf --btf_encode_detached=mod.btf mod.o, both files joined).
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "kernel_btf.h"
#include "memory_file.h"

namespace {

// What one BTF (vmlinux's or the module's) is asked, as dptrace asks it.
void readAll(dptrace::KernelBtf& btf, const std::string& module) {
  std::string error;
  if (!btf.types(module, error)) return;
  std::vector<std::string> functions = btf.functionNames(module);
  std::vector<std::string> tracepoints = btf.tracepointNames(module);
  for (size_t i = 0; i < functions.size() && i < 8; ++i) (void)btf.function(module, functions[i], error);
  for (size_t i = 0; i < tracepoints.size() && i < 8; ++i) (void)btf.tracepoint(module, tracepoints[i], error);
  std::vector<std::string> modules;
  if (!module.empty()) modules.push_back(module);
  for (const char* s : {"pkt", "pdr", "far", "gtp5g_pktinfo", "flowi4", "list_head", "sk_buff", "gtp5g_dev"})
    (void)btf.structLayout(s, modules);
  (void)btf.enumConstants({"R_NONE", "R_DROP", "R_BIG", "SKB_DROP_REASON_NOT_SPECIFIED"});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint32_t baseSize = 0;
  bool split = size >= 8 && std::memcmp(data, "SPLT", 4) == 0;
  if (split) {
    std::memcpy(&baseSize, data + 4, 4);  // little-endian, as the machines this runs on
    split = baseSize <= size - 8;
  }
  if (!split) {
    MemoryFile file("btf", data, size);
    if (!file.ok()) return 0;
    dptrace::KernelBtf btf({file.path(), {}});
    readAll(btf, "");
    return 0;
  }
  MemoryFile base("base-btf", data + 8, baseSize);
  MemoryFile module("module-btf", data + 8 + baseSize, size - 8 - baseSize);
  if (!base.ok() || !module.ok()) return 0;
  dptrace::KernelBtf btf({base.path(), {{"mod", module.path()}}});
  readAll(btf, "mod");
  readAll(btf, "");
  return 0;
}
