// What each network interface can do with XDP, as the kernel says it
// (the "netdev" generic netlink family, kernel 6.3 and later): whether it
// can take frames redirected to it (ndo_xdp_xmit). A veth can only while
// its peer runs NAPI (an XDP program or GRO on), so the answer changes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

namespace dptrace {

inline constexpr uint64_t kXdpActNdoXmit = 4;  // NETDEV_XDP_ACT_NDO_XMIT

// ifindex -> NETDEV_XDP_ACT_* flags of every interface of this network
// namespace; nullopt where the kernel has no netdev family (before 6.3).
std::optional<std::map<uint32_t, uint64_t>> xdpFeatures();

}  // namespace dptrace
