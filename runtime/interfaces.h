// The network interfaces a script names: xdp attach points and redirect()
// targets, resolved to ifindexes before code generation, with located errors.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "ast.h"
#include "diagnostics.h"

namespace dptrace {

// With `pcap` the xdp blocks run on a capture: their interfaces are not
// needed (xdp:any is allowed only there), and other probe kinds cannot run.
// Without `attaching` (--emit) the object may be for another host: only
// redirect() targets, compiled into the program, must exist here.
std::map<std::string, uint32_t> resolveInterfaces(const ast::Program& program, bool pcap, bool attaching,
                                                  Diagnostics& diags);

// A veth sends what XDP transmits through it (tx(), or redirect() into it)
// to its peer, which takes XDP frames only with NAPI running. redirect()
// kicks the peer's NAPI itself, so GRO on the peer is enough; tx() kicks it
// only when the peer has an XDP program (with GRO alone the frames wait for
// other traffic to wake the peer). Without, frames are lost or late, and
// silently. The peer when it cannot take them (here or in another network
// namespace); nothing when it can, or when `ifname` is no veth.
struct VethPeer {
  std::string name;
  std::string where;    // "" here, " (in network namespace labB1)" elsewhere
  std::string command;  // the prefix that runs a command there: "ip netns exec labB1 "
  bool known = true;    // false: its GRO could not be read (a namespace not under /run/netns)
};
std::optional<VethPeer> peerRefusingXdpFrames(const std::string& ifname, bool transmit);

// The rx queues of an interface, as sysfs lists them (0 when it lists none).
uint32_t rxQueueCount(const std::string& ifname);

// Why an XDP attach found the interface busy, and what to do: the process
// that holds the bpf_link there (bpftool link), or a program attached
// without a link (ip link set dev IF xdp off).
std::string xdpHolder(const std::string& ifname, uint32_t ifindex);

}  // namespace dptrace
