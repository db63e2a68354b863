#include "interfaces.h"

#include <bpf/libbpf.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include <set>

#include "suggest.h"
#include "visitor.h"

namespace dptrace {
namespace {

std::vector<std::string> interfaceNames() {
  std::vector<std::string> names;
  if (struct if_nameindex* all = if_nameindex()) {
    for (struct if_nameindex* i = all; i->if_index != 0; ++i) names.push_back(i->if_name);
    if_freenameindex(all);
  }
  return names;
}

// redirect("IF") calls.
struct RedirectTargets : ast::Visitor<RedirectTargets, true> {
  using Visitor::visit;
  std::vector<const ast::String*> targets;
  void visit(const ast::Call& c) {
    if (c.callee == "redirect" && c.args.size() == 1 && c.args[0].value->kind == ast::ExprKind::String)
      targets.push_back(static_cast<const ast::String*>(c.args[0].value.get()));
    Visitor::visit(c);
  }
};

}  // namespace

std::map<std::string, uint32_t> resolveInterfaces(const ast::Program& program, bool pcap, bool attaching,
                                                  Diagnostics& diags) {
  std::map<std::string, uint32_t> found;
  std::set<std::string> missing;
  auto resolve = [&](const std::string& name, SourceRange where, const char* what) {
    if (found.count(name) || missing.count(name)) return;
    if (unsigned index = if_nametoindex(name.c_str())) {
      found[name] = index;
      return;
    }
    std::vector<std::string> names = interfaceNames();
    std::string close = closestMatch(name, names);
    std::string hint = close.empty() ? "" : "did you mean '" + close + "'?";
    if (hint.empty()) {
      hint = "this host's interfaces:";
      for (const std::string& n : names) hint += " " + n;
    }
    missing.insert(name);
    diags.error(where, std::string("no network interface '") + name + "' " + what, hint);
  };
  for (const ast::Probe& probe : program.probes)
    for (const ast::AttachPoint& ap : probe.attachPoints) {
      static constexpr ProbeKinds kWithCapture{ProbeKind::Xdp, ProbeKind::Afxdp, ProbeKind::Begin, ProbeKind::End,
                                               ProbeKind::Interval};
      if (pcap && !kWithCapture.contains(ap.kind)) {
        diags.error(ap.range, "--pcap replays packets through xdp blocks; " + std::string(probeKindName(ap.kind)) + " probes cannot run with it",
                    "run this probe without --pcap, or remove it");
        continue;
      }
      if (ap.kind != ProbeKind::Xdp || pcap || !attaching) continue;
      if (ap.target == "any") {
        diags.error(ap.range, "xdp:any names no interface: it runs only on a capture",
                    "replay one with --pcap FILE, or name an interface: xdp:veth0");
        continue;
      }
      // the caret under the interface: xdp:IFACE
      size_t colon = ap.raw.find(':');
      SourceRange where = ap.range;
      if (colon != std::string::npos && ap.range.end - ap.range.begin == ap.raw.size())
        where.begin += static_cast<uint32_t>(colon + 1);
      resolve(ap.target, where, "to attach to");
    }
  RedirectTargets redirects;
  redirects.visitProgram(program);
  for (const ast::String* s : redirects.targets) {
    if (pcap) {  // the capture's packets go nowhere: redirect() is a verdict
      if (unsigned index = if_nametoindex(s->value.c_str())) found[s->value] = index;
      continue;
    }
    resolve(s->value, s->range, "to redirect to");
  }
  return found;
}

namespace {

long sysfsNumber(const std::string& ifname, const char* file) {
  std::ifstream in("/sys/class/net/" + ifname + "/" + file);
  long v = -1;
  in >> v;
  return in ? v : -1;
}

// One SIOCETHTOOL request (`request` starts with its ETHTOOL_* command).
bool ethtool(const std::string& ifname, void* request) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ifreq req{};
  std::strncpy(req.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  req.ifr_data = static_cast<char*>(request);
  int r = ioctl(fd, SIOCETHTOOL, &req);
  close(fd);
  return r == 0;
}

bool isVeth(const std::string& ifname) {
  ethtool_drvinfo info{};
  info.cmd = ETHTOOL_GDRVINFO;
  return ethtool(ifname, &info) && std::strcmp(info.driver, "veth") == 0;
}

}  // namespace

std::optional<std::string> peerRefusingXdpFrames(const std::string& ifname, bool transmit) {
  if (!isVeth(ifname)) return std::nullopt;
  long self = sysfsNumber(ifname, "ifindex"), peerIndex = sysfsNumber(ifname, "iflink");
  char name[IF_NAMESIZE] = {};
  if (peerIndex <= 0 || peerIndex == self || !if_indextoname(static_cast<unsigned>(peerIndex), name)) return std::nullopt;
  std::string peer = name;
  // The interface with that index here is the peer only if it links back (else the peer is in another namespace).
  if (!isVeth(peer) || sysfsNumber(peer, "iflink") != self) return std::nullopt;
  bpf_xdp_query_opts query{};
  query.sz = sizeof query;
  if (bpf_xdp_query(static_cast<int>(peerIndex), 0, &query) == 0 && query.attach_mode != 0) return std::nullopt;
  if (transmit) return peer;
  ethtool_value gro{};
  gro.cmd = ETHTOOL_GGRO;
  if (!ethtool(peer, &gro) || gro.data) return std::nullopt;
  return peer;
}

}  // namespace dptrace
