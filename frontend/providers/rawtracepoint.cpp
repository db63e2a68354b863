// rawtracepoint:[MODULE:]NAME (alias rt): a kernel tracepoint with its
// arguments typed from BTF (btf_trace_NAME), loaded as a BTF raw tracepoint.
#include "provider.h"

namespace dptrace {
namespace {

void read(SpecReader& spec) {
  ast::AttachPoint& ap = spec.attachPoint();
  if (spec.size() == 0) {
    spec.errorWhole("'" + ap.raw + "' names no tracepoint",
                    "write rawtracepoint:NAME or rawtracepoint:MODULE:NAME, e.g. rawtracepoint:netif_receive_skb");
    return;
  }
  if (!spec.expectParts(1, 2)) return;
  size_t name = spec.size() - 1;
  if (spec.size() == 2 && !spec.expectNonEmpty(0, "kernel module")) return;
  if (!spec.expectNonEmpty(name, "tracepoint name")) return;
  if (spec.size() == 2) ap.target = spec.part(0);
  ap.function = spec.part(name);
}

}  // namespace

const ProviderInfo& rawTracepointProvider() {
  static const ProviderInfo info{ProbeKind::RawTracepoint, "rawtracepoint", {"rt"},
                                 "rawtracepoint:NAME or rawtracepoint:MODULE:NAME",
                                 "a kernel tracepoint with BTF-typed args (args.skb->len), run as tp_btf",
                                 "module", "tracepoint", read};
  return info;
}

}  // namespace dptrace
