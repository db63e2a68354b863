#include "interfaces.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

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
      if ((ap.kind != ProbeKind::Xdp && ap.kind != ProbeKind::Afxdp) || pcap || !attaching) continue;
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
      else if (!missing.count(s->value)) {
        missing.insert(s->value);
        diags.warning(s->range, "no network interface '" + s->value + "' here: with --pcap, frames redirect()ed to it are counted as @verdict[redirect]",
                      "a live run refuses it; name an interface of the host that will run the script");
      }
      continue;
    }
    resolve(s->value, s->range, "to redirect to");
  }
  return found;
}

uint32_t rxQueueCount(const std::string& ifname) {
  std::error_code ec;
  uint32_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/class/net/" + ifname + "/queues", ec))
    n += entry.path().filename().string().rfind("rx-", 0) == 0;
  return n;
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

// ---- rtnetlink, for a veth peer in another namespace

// One request, its first reply: the reply's attributes after its fixed header.
std::vector<std::pair<uint16_t, std::string>> rtnetlink(uint16_t type, const void* header, size_t headerSize,
                                                         const std::vector<std::pair<uint16_t, std::string>>& attrs,
                                                         size_t replyHeaderSize) {
  std::vector<std::pair<uint16_t, std::string>> out;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return out;
  timeval tv{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string msg(NLMSG_HDRLEN + NLMSG_ALIGN(headerSize), '\0');
  std::memcpy(msg.data() + NLMSG_HDRLEN, header, headerSize);
  for (const auto& [t, value] : attrs) {
    rtattr a{static_cast<unsigned short>(RTA_LENGTH(value.size())), t};
    std::string bytes(RTA_SPACE(value.size()), '\0');
    std::memcpy(bytes.data(), &a, sizeof a);
    std::memcpy(bytes.data() + RTA_LENGTH(0), value.data(), value.size());
    msg += bytes;
  }
  nlmsghdr h{static_cast<uint32_t>(msg.size()), type, NLM_F_REQUEST, 1, 0};
  std::memcpy(msg.data(), &h, sizeof h);
  char reply[16384];
  ssize_t n = -1;
  if (send(fd, msg.data(), msg.size(), 0) == static_cast<ssize_t>(msg.size())) n = recv(fd, reply, sizeof reply, 0);
  close(fd);
  auto* r = reinterpret_cast<nlmsghdr*>(reply);
  if (n < static_cast<ssize_t>(NLMSG_HDRLEN) || !NLMSG_OK(r, static_cast<uint32_t>(n)) || r->nlmsg_type == NLMSG_ERROR)
    return out;
  size_t start = NLMSG_HDRLEN + NLMSG_ALIGN(replyHeaderSize);
  if (r->nlmsg_len < start) return out;
  auto* attr = reinterpret_cast<rtattr*>(reply + start);
  int left = static_cast<int>(r->nlmsg_len - start);
  for (; RTA_OK(attr, left); attr = RTA_NEXT(attr, left))
    out.emplace_back(attr->rta_type, std::string(static_cast<char*>(RTA_DATA(attr)), RTA_PAYLOAD(attr)));
  return out;
}

struct LinkFacts {
  std::string name;
  int peerIndex = -1;   // IFLA_LINK
  int peerNetns = -1;   // IFLA_LINK_NETNSID: the peer is in another namespace
  bool hasXdp = false;  // IFLA_XDP: a program attached
};

// The link `ifindex`, in this namespace or (nsid >= 0) in the namespace with that id here.
std::optional<LinkFacts> linkFacts(int ifindex, int nsid) {
  ifinfomsg info{};
  info.ifi_family = AF_UNSPEC;
  info.ifi_index = ifindex;
  std::vector<std::pair<uint16_t, std::string>> attrs;
  if (nsid >= 0) attrs.emplace_back(IFLA_TARGET_NETNSID, std::string(reinterpret_cast<const char*>(&nsid), sizeof nsid));
  auto reply = rtnetlink(RTM_GETLINK, &info, sizeof info, attrs, sizeof(ifinfomsg));
  if (reply.empty()) return std::nullopt;
  LinkFacts f;
  auto s32 = [](const std::string& v) {
    int32_t x = -1;
    if (v.size() >= 4) std::memcpy(&x, v.data(), 4);
    return x;
  };
  for (const auto& [type, value] : reply) {
    if (type == IFLA_IFNAME) f.name = value.c_str();
    if (type == IFLA_LINK) f.peerIndex = s32(value);
    if (type == IFLA_LINK_NETNSID) f.peerNetns = s32(value);
    if (type == IFLA_XDP) {  // nested: IFLA_XDP_ATTACHED is not XDP_ATTACHED_NONE
      auto* a = reinterpret_cast<const rtattr*>(value.data());
      int left = static_cast<int>(value.size());
      for (; RTA_OK(a, left); a = RTA_NEXT(a, left))
        if (a->rta_type == IFLA_XDP_ATTACHED && RTA_PAYLOAD(a) >= 1)
          f.hasXdp = *static_cast<const uint8_t*>(RTA_DATA(const_cast<rtattr*>(a))) != XDP_ATTACHED_NONE;
    }
  }
  return f;
}

// The name under /run/netns of the namespace with id `nsid` here (ip netns
// add makes them there), or empty.
std::string namespaceName(int nsid) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/run/netns", ec)) {
    int fd = open(entry.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    rtgenmsg g{AF_UNSPEC};
    auto reply = rtnetlink(RTM_GETNSID, &g, sizeof g,
                           {{NETNSA_FD, std::string(reinterpret_cast<const char*>(&fd), sizeof fd)}}, sizeof(rtgenmsg));
    close(fd);
    for (const auto& [type, value] : reply) {
      int32_t id = -1;
      if (type == NETNSA_NSID && value.size() >= 4) std::memcpy(&id, value.data(), 4);
      if (type == NETNSA_NSID && id == nsid) return entry.path().filename().string();
    }
  }
  return {};
}

// Whether GRO is on for `ifname` in the named namespace: asked from a thread
// that enters it (setns moves only the calling thread).
std::optional<bool> groInNamespace(const std::string& ns, const std::string& ifname) {
  std::optional<bool> gro;
  std::thread([&] {
    int fd = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    bool entered = setns(fd, CLONE_NEWNET) == 0;
    close(fd);
    ethtool_value value{};
    value.cmd = ETHTOOL_GGRO;
    if (entered && ethtool(ifname, &value)) gro = value.data != 0;
  }).join();
  return gro;
}

}  // namespace

std::optional<VethPeer> peerRefusingXdpFrames(const std::string& ifname, bool transmit) {
  if (!isVeth(ifname)) return std::nullopt;
  long self = sysfsNumber(ifname, "ifindex");
  if (self <= 0) return std::nullopt;
  auto facts = linkFacts(static_cast<int>(self), -1);
  if (!facts || facts->peerIndex <= 0) return std::nullopt;
  VethPeer peer;
  if (facts->peerNetns < 0) {  // here
    char name[IF_NAMESIZE] = {};
    if (!if_indextoname(static_cast<unsigned>(facts->peerIndex), name)) return std::nullopt;
    peer.name = name;
    bpf_xdp_query_opts query{};
    query.sz = sizeof query;
    if (bpf_xdp_query(facts->peerIndex, 0, &query) == 0 && query.attach_mode != 0) return std::nullopt;
    if (transmit) return peer;
    ethtool_value gro{};
    gro.cmd = ETHTOOL_GGRO;
    if (!ethtool(peer.name, &gro) || gro.data) return std::nullopt;
    return peer;
  }
  // In another namespace (the labs' setup): netlink reaches it by its id.
  auto other = linkFacts(facts->peerIndex, facts->peerNetns);
  if (!other) return std::nullopt;
  if (other->hasXdp) return std::nullopt;
  peer.name = other->name;
  std::string ns = namespaceName(facts->peerNetns);
  peer.where = ns.empty() ? " (in another network namespace)" : " (in network namespace " + ns + ")";
  if (!ns.empty()) peer.command = "ip netns exec " + ns + " ";
  if (transmit) return peer;
  std::optional<bool> gro = ns.empty() ? std::nullopt : groInNamespace(ns, peer.name);
  if (gro && *gro) return std::nullopt;
  peer.known = gro.has_value();
  return peer;
}

// Who holds the XDP attachment of an interface, for the EBUSY hint.
std::string xdpHolder(const std::string& ifname, uint32_t ifindex) {
  // A bpf_link on the interface: find it, then the process that holds its fd.
  uint32_t id = 0;
  while (bpf_link_get_next_id(id, &id) == 0) {
    int fd = bpf_link_get_fd_by_id(id);
    if (fd < 0) continue;
    bpf_link_info info{};
    uint32_t len = sizeof info;
    bool mine = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.type == BPF_LINK_TYPE_XDP && info.xdp.ifindex == ifindex;
    close(fd);
    if (!mine) continue;
    std::string holder;
    std::error_code ec;
    for (const auto& proc : std::filesystem::directory_iterator("/proc", ec)) {
      std::string pid = proc.path().filename().string();
      if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
      for (const auto& f : std::filesystem::directory_iterator(proc.path() / "fdinfo", ec)) {
        std::ifstream in(f.path());
        std::string line;
        while (std::getline(in, line))
          if (line.rfind("link_id:", 0) == 0 && std::strtoul(line.c_str() + 8, nullptr, 10) == id) holder = pid;
        if (!holder.empty()) break;
      }
      if (!holder.empty()) break;
    }
    std::string link = "bpf_link " + std::to_string(id) + " (bpftool link show id " + std::to_string(id) + ")";
    if (holder.empty()) return ifname + " has an XDP program through " + link + ", which is pinned or held elsewhere";
    std::string comm;
    std::ifstream commFile("/proc/" + holder + "/comm");
    std::getline(commFile, comm);
    return "process " + holder + " (" + comm + ") holds the XDP program of " + ifname + " through " + link +
           ": end it (kill " + holder + ") first; a link cannot be removed with ip link";
  }
  // `xdp off` removes a driver-mode program only: name the mode attached.
  std::string off = "xdp";
  bpf_xdp_query_opts query{};
  query.sz = sizeof query;
  if (bpf_xdp_query(static_cast<int>(ifindex), 0, &query) == 0) {
    if (query.attach_mode == XDP_ATTACHED_SKB) off = "xdpgeneric";
    else if (query.attach_mode == XDP_ATTACHED_HW) off = "xdpoffload";
  }
  return "another XDP program is attached to " + ifname + ": remove it with 'ip link set dev " + ifname + " " + off +
         " off' (or xdp-loader unload " + ifname + " --all)";
}

}  // namespace dptrace
