// uprobe:PATH:FUNC and uretprobe:PATH:FUNC: entry and return of user functions.
// FUNC may hold '*' wildcards, be an offset into the binary (0x2090), or a
// function and an offset into it (main+4, main+0x10).
#include "provider.h"

namespace dptrace {
namespace {

void read(SpecReader& spec) {
  ast::AttachPoint& ap = spec.attachPoint();
  if (spec.size() == 1) {
    spec.errorWhole("'" + ap.raw + "' names no function",
                    "a uprobe names a binary or library and a function in it: " + std::string(spec.providerWord()) +
                        ":" + spec.part(0) + ":main (list them with: dptrace -l '" + std::string(spec.providerWord()) +
                        ":" + spec.part(0) + ":*')");
    return;
  }
  if (!spec.expectParts(2, 2)) return;
  if (!spec.expectNonEmpty(0, "binary path") || !spec.expectNonEmpty(1, "function name")) return;
  ap.target = spec.part(0);
  const std::string& func = spec.part(1);
  if (func.size() > 2 && func[0] == '0' && (func[1] == 'x' || func[1] == 'X')) {
    uint64_t offset = 0;
    if (!parseUnsigned(std::string_view(func).substr(2), offset, 16)) {
      spec.error(1, "'" + func + "' is not a hexadecimal offset", "offsets look like 0x2090");
      return;
    }
    ap.offset = offset;
    return;
  }
  if (size_t plus = func.find('+'); plus != std::string::npos) {
    std::string name = func.substr(0, plus), off = func.substr(plus + 1);
    uint64_t offset = 0;
    bool hex = off.size() > 2 && off[0] == '0' && (off[1] == 'x' || off[1] == 'X');
    if (name.empty() || name.find_first_of("*?") != std::string::npos ||
        !parseUnsigned(hex ? std::string_view(off).substr(2) : std::string_view(off), offset, hex ? 16 : 10)) {
      spec.error(1, "'" + func + "' is not a function and an offset into it",
                 "write FUNCTION+OFFSET, e.g. main+4 or main+0x10 (no wildcards)");
      return;
    }
    if (ap.kind == ProbeKind::Uretprobe && offset != 0) {
      // The kernel catches a return by swapping the return address on the
      // stack when the probe fires: inside the function, that slot holds
      // something else, and the process breaks (bpftrace refuses it too).
      spec.error(1, "a uretprobe cannot take an offset into the function ('" + func + "')",
                 "it must fire at the function's entry to catch its return: uretprobe:" + ap.target + ":" + name);
      return;
    }
    ap.function = name;
    ap.offset = offset;
    return;
  }
  ap.function = func;
}

}  // namespace

const ProviderInfo& uprobeProvider() {
  static const ProviderInfo info{ProbeKind::Uprobe, "uprobe", {"u"}, "uprobe:PATH:FUNCTION, uprobe:PATH:FUNCTION+OFFSET or uprobe:PATH:0xOFFSET",
                                 "entry of a function in a binary or library; arg0..arg9, args from DWARF",
                                 "binary", "function", read};
  return info;
}

const ProviderInfo& uretprobeProvider() {
  static const ProviderInfo info{ProbeKind::Uretprobe, "uretprobe", {"ur"}, "uretprobe:PATH:FUNCTION or uretprobe:PATH:0xOFFSET",
                                 "return of a function in a binary or library; retval", "binary", "function", read};
  return info;
}

}  // namespace dptrace
