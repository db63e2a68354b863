// The BTF importer (kernel_btf.h) over any bytes given as the kernel's BTF
// (--btf FILE): libbpf's parser, then what dptrace reads of it -- function
// and tracepoint signatures (fentry, rawtracepoint), their names for hints
// and -l, struct layouts with anonymous members flattened, enum constants.
// Seeds: small standalone BTF files from pahole (tests/fuzz/btf/), not the
// 5 MB vmlinux; one has a tracepoint (btf_trace_NAME and __probestub_NAME).
#include <cstdint>
#include <string>

#include "kernel_btf.h"
#include "memory_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  MemoryFile file("btf", data, size);
  if (!file.ok()) return 0;
  {
    dptrace::KernelBtf btf({file.path(), {}});
    std::string error;
    if (btf.types("", error)) {
      std::vector<std::string> functions = btf.functionNames("");
      std::vector<std::string> tracepoints = btf.tracepointNames("");
      for (size_t i = 0; i < functions.size() && i < 8; ++i) (void)btf.function("", functions[i], error);
      for (size_t i = 0; i < tracepoints.size() && i < 8; ++i) (void)btf.tracepoint("", tracepoints[i], error);
      for (const char* s : {"pkt", "pdr", "far", "gtp5g_pktinfo", "flowi4", "list_head", "sk_buff"})
        (void)btf.structLayout(s, {});
      (void)btf.enumConstants({"R_NONE", "R_DROP", "R_BIG", "SKB_DROP_REASON_NOT_SPECIFIED"});
    }
  }
  return 0;
}
