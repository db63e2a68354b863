#include "probe_kind.h"

namespace dptrace {

const char* probeKindName(ProbeKind kind) {
  switch (kind) {
    case ProbeKind::None: return "?";
    case ProbeKind::Begin: return "BEGIN";
    case ProbeKind::End: return "END";
    case ProbeKind::Interval: return "interval";
    case ProbeKind::Uprobe: return "uprobe";
    case ProbeKind::Uretprobe: return "uretprobe";
    case ProbeKind::Fentry: return "fentry";
    case ProbeKind::Fexit: return "fexit";
    case ProbeKind::Tracepoint: return "tracepoint";
    case ProbeKind::RawTracepoint: return "rawtracepoint";
    case ProbeKind::Xdp: return "xdp";
    case ProbeKind::Afxdp: return "afxdp";
    case ProbeKind::Profile: return "profile";
    case ProbeKind::Software: return "software";
    case ProbeKind::Hardware: return "hardware";
    case ProbeKind::Usdt: return "usdt";
    case ProbeKind::Kprobe: return "kprobe";
    case ProbeKind::Kretprobe: return "kretprobe";
    case ProbeKind::Watchpoint: return "watchpoint";
  }
  return "?";
}

std::string canonicalAttachPoint(ProbeKind kind, const std::string& raw) {
  size_t colon = raw.find(':');
  if (kind == ProbeKind::None || colon == std::string::npos) return raw;
  return probeKindName(kind) + raw.substr(colon);
}

std::string ProbeKinds::text(const char* separator) const {
  std::string s;
  for (int i = 1; i < kProbeKinds; ++i)
    if (contains(static_cast<ProbeKind>(i))) s += (s.empty() ? "" : separator) + std::string(probeKindName(static_cast<ProbeKind>(i)));
  return s;
}

}  // namespace dptrace
