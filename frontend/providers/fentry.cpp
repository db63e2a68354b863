// fentry:[MODULE:]FUNC and fexit:[MODULE:]FUNC: kernel functions through BTF
// trampolines; kfunc and kretfunc are accepted as their old names.
#include "provider.h"

namespace dptrace {
namespace {

void read(SpecReader& spec) {
  ast::AttachPoint& ap = spec.attachPoint();
  if (spec.size() == 0) {
    spec.errorWhole("'" + ap.raw + "' names no kernel function",
                    "write " + std::string(spec.providerWord()) + ":FUNCTION or " + std::string(spec.providerWord()) +
                        ":MODULE:FUNCTION, e.g. fentry:gtp5g:gtp5g_dev_xmit");
    return;
  }
  if (!spec.expectParts(1, 2)) return;
  size_t func = spec.size() - 1;
  if (spec.size() == 2 && !spec.expectNonEmpty(0, "kernel module")) return;
  if (!spec.expectNonEmpty(func, "function name")) return;
  if (spec.size() == 2) ap.target = spec.part(0);
  ap.function = spec.part(func);
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
