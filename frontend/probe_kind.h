// The probe kinds of the language as one enum, and sets of them.
//
// Every layer asks "which kind is this attach point?" through ProbeKind, never
// by comparing names: a `switch` over it without a default makes the compiler
// name every place a new kind has not been handled yet.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

namespace dptrace {

enum class ProbeKind : uint8_t {
  None,  // not resolved (an unknown probe type)
  Begin, End, Interval, Uprobe, Uretprobe, Fentry, Fexit, Tracepoint, RawTracepoint, Xdp, Afxdp,
  Profile, Software, Hardware,  // perf-event sampling on every CPU
  Usdt,                         // a uprobe at a USDT probe's nop (usdt.h)
  Kprobe, Kretprobe,            // kernel functions through kprobes (where the kernel has them)
  Watchpoint,                   // a hardware breakpoint on an address of the traced process (perf event)
};
inline constexpr int kProbeKinds = static_cast<int>(ProbeKind::Watchpoint) + 1;

// The canonical name, as scripts write it: "uprobe", "BEGIN".
const char* probeKindName(ProbeKind kind);

// An attach point as written, with its probe kind's canonical name in place
// of an alias: "rt:netif_receive_skb" is "rawtracepoint:netif_receive_skb"
// (what `probe` and emit()'s records say, as bpftrace says "tracepoint:" for "t:").
std::string canonicalAttachPoint(ProbeKind kind, const std::string& raw);

// A set of probe kinds (where a builtin exists, which kinds a block mixes).
class ProbeKinds {
public:
  constexpr ProbeKinds() = default;
  constexpr ProbeKinds(std::initializer_list<ProbeKind> kinds) {
    for (ProbeKind k : kinds) bits_ |= bit(k);
  }
  static constexpr ProbeKinds all() {
    ProbeKinds s;
    s.bits_ = ((1u << kProbeKinds) - 1) & ~bit(ProbeKind::None);
    return s;
  }
  constexpr bool contains(ProbeKind k) const { return (bits_ & bit(k)) != 0; }
  // Every kind of `other` is in this set (an empty `other` is).
  constexpr bool covers(ProbeKinds other) const { return (other.bits_ & ~bits_) == 0; }
  constexpr bool empty() const { return bits_ == 0; }
  constexpr bool isAll() const { return bits_ == all().bits_; }
  void add(ProbeKind k) { bits_ |= bit(k); }
  constexpr bool operator==(const ProbeKinds&) const = default;

  // "uprobe uretprobe" -- or with another separator, "uprobe/uretprobe".
  std::string text(const char* separator = " ") const;

private:
  static constexpr uint32_t bit(ProbeKind k) { return 1u << static_cast<unsigned>(k); }
  uint32_t bits_ = 0;
};

inline constexpr ProbeKinds kUserProbes{ProbeKind::Uprobe, ProbeKind::Uretprobe, ProbeKind::Usdt};
inline constexpr ProbeKinds kPacketProbes{ProbeKind::Xdp, ProbeKind::Afxdp};
inline constexpr ProbeKinds kKernelFunctionProbes{ProbeKind::Fentry, ProbeKind::Fexit};
inline constexpr ProbeKinds kKprobes{ProbeKind::Kprobe, ProbeKind::Kretprobe};
inline bool isKprobe(ProbeKind k) { return kKprobes.contains(k); }
// Probes whose arguments are typed from BTF (kernel_btf.h): a context of 64-bit slots.
inline constexpr ProbeKinds kBtfProbes{ProbeKind::Fentry, ProbeKind::Fexit, ProbeKind::RawTracepoint};
inline bool isBtfProbe(ProbeKind k) { return kBtfProbes.contains(k); }

inline bool isUserProbe(ProbeKind k) { return kUserProbes.contains(k); }
inline bool isPacketProbe(ProbeKind k) { return kPacketProbes.contains(k); }

}  // namespace dptrace
