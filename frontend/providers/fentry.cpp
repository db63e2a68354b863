// fentry:[MODULE:]FUNC and fexit:[MODULE:]FUNC: kernel functions through BTF
// trampolines; kfunc and kretfunc are accepted as their old names.
#include "provider.h"

namespace dptrace {
namespace {

void read(SpecReader& spec) {
  readModuleAndName(spec, "kernel function", "FUNCTION", "fentry:gtp5g:gtp5g_dev_xmit");
}

}  // namespace

const ProviderInfo& fentryProvider() {
  static const ProviderInfo info{ProbeKind::Fentry, "fentry", {"kfunc"}, "fentry:FUNCTION or fentry:MODULE:FUNCTION",
                                 "entry of a kernel function (BTF trampoline); args typed from BTF",
                                 "module", "function", read};
  return info;
}

const ProviderInfo& fexitProvider() {
  static const ProviderInfo info{ProbeKind::Fexit, "fexit", {"kretfunc"}, "fexit:FUNCTION or fexit:MODULE:FUNCTION",
                                 "return of a kernel function (BTF trampoline); args and retval typed from BTF",
                                 "module", "function", read};
  return info;
}

}  // namespace dptrace
