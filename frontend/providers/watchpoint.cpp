// watchpoint:ADDRESS:LENGTH:MODE: a hardware breakpoint on an address of the
// traced process (-p or -c), as bpftrace has it: LENGTH 1, 2, 4 or 8 bytes,
// MODE r, w, rw or x. The attach point keeps the address in `offset`, the
// length in `period` and the mode in `unit`.
#include "provider.h"

namespace dptrace {
namespace {

void read(SpecReader& spec) {
  if (!spec.expectParts(3, 3)) return;
  ast::AttachPoint& ap = spec.attachPoint();
  const std::string& at = spec.part(0);
  uint64_t address = 0;
  bool hex = at.size() > 2 && at[0] == '0' && (at[1] == 'x' || at[1] == 'X');
  if (!parseUnsigned(hex ? std::string_view(at).substr(2) : std::string_view(at), address, hex ? 16 : 10) || address == 0) {
    spec.error(0, "'" + at + "' is not an address",
               at.find('+') != std::string::npos ? "a watchpoint on a function's argument (FUNC+argN) is not supported by dptrace yet"
                                                 : "write it in hex: watchpoint:0x7ffd1234:8:w");
    return;
  }
  uint64_t length = 0;
  if (!parseUnsigned(spec.part(1), length) || (length != 1 && length != 2 && length != 4 && length != 8)) {
    spec.error(1, "a watchpoint covers 1, 2, 4 or 8 bytes, not '" + spec.part(1) + "'");
    return;
  }
  const std::string& mode = spec.part(2);
  if (mode != "r" && mode != "w" && mode != "rw" && mode != "wr" && mode != "x") {
    spec.error(2, "'" + mode + "' is no watchpoint mode", "r (read), w (write), rw (either) or x (execute)");
    return;
  }
  if (mode == "x" && length != 8) {
    spec.error(1, "an execute watchpoint is 8 bytes long (the kernel's rule)");
    return;
  }
  ap.offset = address;
  ap.period = length;
  ap.unit = mode == "wr" ? "rw" : mode;
}

}  // namespace

const ProviderInfo& watchpointProvider() {
  static const ProviderInfo info{ProbeKind::Watchpoint, "watchpoint", {"w", "asyncwatchpoint"}, "watchpoint:ADDRESS:LENGTH:MODE",
                                 "a read, write or execution of an address of the traced process (-p or -c): a hardware breakpoint",
                                 nullptr, nullptr, read};
  return info;
}

}  // namespace dptrace
