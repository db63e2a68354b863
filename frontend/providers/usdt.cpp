// usdt:PATH:NAME and usdt:PATH:PROVIDER:NAME: a statically defined probe
// (sys/sdt.h) in a binary or library; either name may hold '*' wildcards.
// The attach point keeps PROVIDER:NAME as its function (":NAME" without a
// provider: NAME in whichever provider has it, which must be one, as bpftrace
// requires; "*:NAME" attaches to it in every provider).
#include "provider.h"

namespace dptrace {
namespace {

void read(SpecReader& spec) {
  ast::AttachPoint& ap = spec.attachPoint();
  if (spec.size() == 1) {
    spec.errorWhole("'" + ap.raw + "' names no probe",
                    "a usdt probe names a binary or library and a probe in it: usdt:" + spec.part(0) +
                        ":PROVIDER:NAME (list them with: dptrace -l 'usdt:" + spec.part(0) + ":*')");
    return;
  }
  if (!spec.expectParts(2, 3)) return;
  if (!spec.expectNonEmpty(0, "binary path")) return;
  for (size_t i = 1; i < spec.size(); ++i)
    if (!spec.expectNonEmpty(i, i + 1 == spec.size() ? "probe name" : "provider name")) return;
  ap.target = spec.part(0);
  ap.function = (spec.size() == 3 ? spec.part(1) : std::string()) + ":" + spec.part(spec.size() - 1);
}

}  // namespace

const ProviderInfo& usdtProvider() {
  static const ProviderInfo info{ProbeKind::Usdt, "usdt", {"U"}, "usdt:PATH:PROVIDER:NAME or usdt:PATH:NAME",
                                 "a statically defined probe (USDT, sys/sdt.h); arg0..arg9 as its note describes them",
                                 "binary", "probe", read};
  return info;
}

}  // namespace dptrace
