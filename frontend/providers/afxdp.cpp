// afxdp:IFACE[:QUEUE]: the predicate runs in the kernel and redirects matching
// packets to an AF_XDP socket; the body runs in dptrace on each frame.
#include "provider.h"

namespace dptrace {
namespace {

void read(SpecReader& spec) {
  if (spec.size() == 0) {
    spec.errorWhole("'afxdp' needs an interface", "write afxdp:IFACE or afxdp:IFACE:QUEUE, e.g. afxdp:veth0");
    return;
  }
  if (!spec.expectParts(1, 2)) return;
  if (!checkInterfaceName(spec, 0)) return;
  ast::AttachPoint& ap = spec.attachPoint();
  ap.target = spec.part(0);
  if (spec.size() == 2) {
    uint64_t queue = 0;
    if (!parseUnsigned(spec.part(1), queue) || queue > 65535) {
      spec.error(1, "the queue of '" + ap.raw + "' must be a number from 0 to 65535, not '" + spec.part(1) + "'",
                 "write afxdp:" + ap.target + ":0 for queue 0, or leave the queue out for every queue");
      return;
    }
    ap.queue = static_cast<uint32_t>(queue);
  }
}

}  // namespace

const ProviderInfo& afxdpProvider() {
  static const ProviderInfo info{ProbeKind::Afxdp, "afxdp", {}, "afxdp:IFACE or afxdp:IFACE:QUEUE",
                                 "packets the predicate selects on IFACE, handed to dptrace through AF_XDP",
                                 "interface", nullptr, read};
  return info;
}

}  // namespace dptrace
