// The only file of the driver that includes LLVM and Clang headers. Clang is
// not linked: its library costs ~6 ms at every start, so the C type importer
// will bring it in only where it is needed.
#include <bpf/libbpf.h>
#include <clang/Basic/Version.inc>
#include <llvm/Config/llvm-config.h>

#include <CLI/Version.hpp>

#include "options.h"

namespace dptrace {

std::string versionText() {
  std::string text = "dptrace " DPTRACE_VERSION "\n";
  text += "  LLVM " LLVM_VERSION_STRING " (BPF back end)\n";
  text += "  Clang " CLANG_VERSION_STRING " (headers; the C importer will load it)\n";
  text += std::string("  libbpf ") + libbpf_version_string() + "\n";
  text += "  libxdp " DPTRACE_LIBXDP_VERSION "\n";
  text += "  CLI11 " CLI11_VERSION "\n";
  return text;
}

}  // namespace dptrace
