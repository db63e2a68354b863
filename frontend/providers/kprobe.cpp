// kprobe:[MODULE:]FUNC[+OFFSET] and kretprobe:[MODULE:]FUNC: kernel
// functions through kprobes, as bpftrace has them; FUNC may hold '*'
// wildcards (each match its own program). Where the kernel has no kprobes
// (CONFIG_KPROBE_EVENTS off) they compile and are refused when attached.
#include "provider.h"
#include "suggest.h"

namespace dptrace {
namespace {

void read(SpecReader& spec) {
  readModuleAndName(spec, "kernel function", "FUNCTION", "kprobe:do_nanosleep");
  ast::AttachPoint& ap = spec.attachPoint();
  size_t plus = ap.function.find('+');
  if (plus == std::string::npos) return;
  std::string off = ap.function.substr(plus + 1);
  bool hex = off.size() > 2 && off[0] == '0' && (off[1] == 'x' || off[1] == 'X');
  uint64_t offset = 0;
  if (plus == 0 || hasWildcard(ap.function) ||
      !parseUnsigned(hex ? std::string_view(off).substr(2) : std::string_view(off), offset, hex ? 16 : 10)) {
    spec.error(spec.size() - 1, "'" + ap.function + "' is not a function and an offset into it",
               "write FUNCTION+OFFSET, e.g. do_nanosleep+4 (no wildcards)");
    return;
  }
  if (ap.kind == ProbeKind::Kretprobe) {
    spec.error(spec.size() - 1, "a kretprobe cannot take an offset into the function",
               "it must fire at the function's entry to catch its return");
    return;
  }
  ap.function = ap.function.substr(0, plus);
  ap.offset = offset;
}

}  // namespace

const ProviderInfo& kprobeProvider() {
  static const ProviderInfo info{ProbeKind::Kprobe, "kprobe", {"k"}, "kprobe:FUNCTION, kprobe:MODULE:FUNCTION or kprobe:FUNCTION+OFFSET",
                                 "entry of a kernel function (a kprobe); arg0..arg5 from its registers",
                                 "module", "function", read};
  return info;
}

const ProviderInfo& kretprobeProvider() {
  static const ProviderInfo info{ProbeKind::Kretprobe, "kretprobe", {"kr"}, "kretprobe:FUNCTION or kretprobe:MODULE:FUNCTION",
                                 "return of a kernel function (a kretprobe); retval", "module", "function", read};
  return info;
}

}  // namespace dptrace
