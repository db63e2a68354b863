// rawtracepoint:[MODULE:]NAME (alias rt): a kernel tracepoint with its
// arguments typed from BTF (btf_trace_NAME), loaded as a BTF raw tracepoint.
#include "provider.h"

namespace dptrace {
namespace {

void read(SpecReader& spec) {
  readModuleAndName(spec, "tracepoint", "NAME", "rawtracepoint:netif_receive_skb");
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
