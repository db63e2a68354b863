// tracepoint:CATEGORY:NAME: static kernel tracepoints; args from the format file.
#include "provider.h"

namespace dptrace {
namespace {

void read(SpecReader& spec) {
  ast::AttachPoint& ap = spec.attachPoint();
  if (spec.size() == 1) {
    spec.errorWhole("'" + ap.raw + "' names no tracepoint in category '" + spec.part(0) + "'",
                    "write tracepoint:CATEGORY:NAME, e.g. tracepoint:syscalls:sys_enter_getpid "
                    "(list them with: dptrace -l 'tracepoint:" + spec.part(0) + ":*')");
    return;
  }
  if (!spec.expectParts(2, 2)) return;
  if (!spec.expectNonEmpty(0, "tracepoint category") || !spec.expectNonEmpty(1, "tracepoint name")) return;
  ap.target = spec.part(0);
  ap.function = spec.part(1);
}

}  // namespace

const ProviderInfo& tracepointProvider() {
  static const ProviderInfo info{ProbeKind::Tracepoint, "tracepoint", {"t"}, "tracepoint:CATEGORY:NAME",
                                 "a static kernel tracepoint; args.FIELD from its format", "category", "name", read};
  return info;
}

}  // namespace dptrace
