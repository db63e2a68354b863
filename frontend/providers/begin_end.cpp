// BEGIN and END: run once, when the probes are attached and when the run ends.
#include "provider.h"

namespace dptrace {
namespace {

void readNothing(SpecReader& spec) {
  if (spec.attachPoint().raw.find(':') != std::string::npos) spec.expectParts(0, 0);
}

}  // namespace

const ProviderInfo& beginProvider() {
  static const ProviderInfo info{ProbeKind::Begin, "BEGIN", {}, "BEGIN", "runs once, after every probe is attached",
                                 nullptr, nullptr, readNothing};
  return info;
}

const ProviderInfo& endProvider() {
  static const ProviderInfo info{ProbeKind::End, "END", {}, "END", "runs once at the end: exit(), Ctrl-C, or the traced command ends",
                                 nullptr, nullptr, readNothing};
  return info;
}

}  // namespace dptrace
