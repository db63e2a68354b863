// Sampling probes on perf events, on every CPU: profile:hz:N (N times a
// second) and profile:s|ms|us:N (every N units of CPU time), software:EVENT[:N]
// and hardware:EVENT[:N] (every N events; bpftrace's default N without it).
#include "perf_events.h"
#include "provider.h"

namespace dptrace {
namespace {

// A whole number, or one in scientific notation as bpftrace takes it in
// attach points (hardware:cache-misses:1e6).
bool parseCount(const std::string& text, uint64_t& out) {
  size_t e = text.find_first_of("eE");
  bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
  if (e == std::string::npos || hex) return parseNumber(text, out);
  uint64_t mantissa = 0, exponent = 0;
  if (!parseUnsigned(std::string_view(text).substr(0, e), mantissa) || !parseUnsigned(std::string_view(text).substr(e + 1), exponent))
    return false;
  for (out = mantissa; exponent > 0; --exponent) {
    if (out > UINT64_MAX / 10) return false;
    out *= 10;
  }
  return true;
}

bool readCount(SpecReader& spec, size_t part, const char* what, uint64_t& out) {
  if (!parseCount(spec.part(part), out) || out == 0) {
    spec.error(part, std::string("the ") + what + " must be a whole number above 0, not '" + spec.part(part) + "'");
    return false;
  }
  return true;
}

void readProfile(SpecReader& spec) {
  if (!spec.expectParts(2, 2)) return;
  ast::AttachPoint& ap = spec.attachPoint();
  const std::string& unit = spec.part(0);
  if (unit != "hz" && unit != "s" && unit != "ms" && unit != "us") {
    uint64_t ignored;
    spec.error(0, parseUnsigned(unit, ignored) ? "the unit comes before the rate in '" + ap.raw + "'"
                                               : "unknown profile unit '" + unit + "'",
               "use hz (samples a second), s, ms or us (a period): profile:hz:99");
    return;
  }
  uint64_t period = 0;
  if (!readCount(spec, 1, unit == "hz" ? "rate" : "period", period)) return;
  ap.unit = unit;
  ap.period = period;
}

void readEvent(SpecReader& spec, bool hardware) {
  if (!spec.expectParts(1, 2) || !spec.expectNonEmpty(0, "an event name")) return;
  ast::AttachPoint& ap = spec.attachPoint();
  const PerfEventInfo* e = findPerfEvent(spec.part(0), hardware);
  if (e == nullptr) {
    std::string names;
    for (const PerfEventInfo& x : perfEvents())
      if (x.hardware == hardware) names += (names.empty() ? "" : ", ") + std::string(x.name);
    spec.error(0, std::string("unknown ") + (hardware ? "hardware" : "software") + " event '" + spec.part(0) + "'",
               "events: " + names);
    return;
  }
  uint64_t period = e->defaultPeriod;
  if (spec.size() == 2 && !readCount(spec, 1, "count", period)) return;
  ap.target = e->name;
  ap.period = period;
}

}  // namespace

const ProviderInfo& profileProvider() {
  static const ProviderInfo info{ProbeKind::Profile, "profile", {"p"}, "profile:hz:N | profile:s|ms|us:N",
                                 "samples every CPU N times a second (hz) or every N units of its time", nullptr,
                                 nullptr, readProfile};
  return info;
}

const ProviderInfo& softwareProvider() {
  static const ProviderInfo info{ProbeKind::Software, "software", {"s"}, "software:EVENT[:N]",
                                 "every N of a kernel software event (cpu-clock, page-faults, ...) on every CPU",
                                 "event", nullptr, [](SpecReader& spec) { readEvent(spec, false); }};
  return info;
}

const ProviderInfo& hardwareProvider() {
  static const ProviderInfo info{ProbeKind::Hardware, "hardware", {"h"}, "hardware:EVENT[:N]",
                                 "every N of a CPU counter event (cycles, cache-misses, ...) on every CPU; needs a PMU",
                                 "event", nullptr, [](SpecReader& spec) { readEvent(spec, true); }};
  return info;
}

}  // namespace dptrace
