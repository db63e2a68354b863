// xdp:IFACE: per packet, in the kernel, at the driver. xdp:any only with --pcap.
#include "provider.h"

namespace dptrace {
namespace {

void read(SpecReader& spec) {
  if (spec.size() == 0) {
    spec.errorWhole("'xdp' needs an interface", "write xdp:IFACE, e.g. xdp:veth0 (or xdp:any with --pcap)");
    return;
  }
  if (!spec.expectParts(1, 1)) return;
  if (checkInterfaceName(spec, 0)) spec.attachPoint().target = spec.part(0);
}

}  // namespace

const ProviderInfo& xdpProvider() {
  static const ProviderInfo info{ProbeKind::Xdp, "xdp", {}, "xdp:IFACE",
                                 "every packet received on IFACE, in the kernel; packet views and actions",
                                 "interface", nullptr, read};
  return info;
}

}  // namespace dptrace
