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

// The kernel's notices of interfaces added, removed or changed (their XDP
// features included): a socket of the netdev family's "mgmt" group, for an
// epoll set. -1 where there is none (a kernel before 6.3).
class XdpFeatureEvents {
public:
  XdpFeatureEvents() = default;
  XdpFeatureEvents(const XdpFeatureEvents&) = delete;
  XdpFeatureEvents& operator=(const XdpFeatureEvents&) = delete;
  ~XdpFeatureEvents();
  bool open();
  int fd() const { return fd_; }
  void drain();  // reads what is pending (the caller then reads xdpFeatures() afresh)

private:
  int fd_ = -1;
};

}  // namespace dptrace
