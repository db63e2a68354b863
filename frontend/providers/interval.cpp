// interval:s:N and interval:ms:N: periodically, on one CPU.
#include "provider.h"

namespace dptrace {
namespace {

void read(SpecReader& spec) {
  if (!spec.expectParts(2, 2)) return;
  ast::AttachPoint& ap = spec.attachPoint();
  const std::string& unit = spec.part(0);
  if (unit != "s" && unit != "ms") {
    uint64_t ignored;
    if (parseUnsigned(unit, ignored))
      spec.error(0, "the unit comes before the period in '" + ap.raw + "'", "write interval:s:" + unit + " or interval:ms:" + unit);
    else
      spec.error(0, "unknown interval unit '" + unit + "'", "use s (seconds) or ms (milliseconds): interval:ms:100");
    return;
  }
  uint64_t period = 0;
  if (!parseNumber(spec.part(1), period)) {
    spec.error(1, "the period of an interval must be a whole number, not '" + spec.part(1) + "'",
               "for example interval:s:1 or interval:ms:250");
    return;
  }
  if (period == 0) {
    spec.error(1, "the period of an interval cannot be 0", "for example interval:s:1 or interval:ms:250");
    return;
  }
  ap.unit = unit;
  ap.period = period;
}

}  // namespace

const ProviderInfo& intervalProvider() {
  static const ProviderInfo info{ProbeKind::Interval, "interval", {"i"}, "interval:s:N | interval:ms:N",
                                 "runs every N seconds or milliseconds, on one CPU", nullptr, nullptr, read};
  return info;
}

}  // namespace dptrace
