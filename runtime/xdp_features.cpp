#include "xdp_features.h"

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

namespace dptrace {
namespace {

// The netdev family's numbers (include/uapi/linux/netdev.h, newer than Debian 12's headers).
constexpr uint8_t kNetdevCmdDevGet = 1;
constexpr uint16_t kNetdevAttrIfindex = 1, kNetdevAttrXdpFeatures = 3;

class GenlSocket {
public:
  GenlSocket() : fd_(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC)) {
    timeval timeout{1, 0};  // never hang the run on a kernel that does not answer
    if (fd_ >= 0) setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  ~GenlSocket() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

  // Sends one request; calls `each` with every attribute of every reply
  // message (type, payload, length) until the kernel says done. False on an error.
  template <class Each>
  bool request(uint16_t family, uint8_t cmd, uint16_t flags, const std::vector<char>& attrs, Each each) {
    std::vector<char> msg(NLMSG_HDRLEN + GENL_HDRLEN);
    auto* nh = reinterpret_cast<nlmsghdr*>(msg.data());
    nh->nlmsg_type = family;
    nh->nlmsg_flags = NLM_F_REQUEST | flags;
    nh->nlmsg_seq = ++seq_;
    auto* gh = reinterpret_cast<genlmsghdr*>(msg.data() + NLMSG_HDRLEN);
    gh->cmd = cmd;
    gh->version = 1;
    msg.insert(msg.end(), attrs.begin(), attrs.end());
    reinterpret_cast<nlmsghdr*>(msg.data())->nlmsg_len = static_cast<uint32_t>(msg.size());
    if (send(fd_, msg.data(), msg.size(), 0) < 0) return false;
    std::vector<char> buf(1 << 16);
    for (int rounds = 0; rounds < 1024; ++rounds) {
      ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
      if (n <= 0) return false;
      for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
        if (h->nlmsg_type == NLMSG_DONE) return true;
        if (h->nlmsg_type == NLMSG_ERROR) {
          auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
          if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(nlmsgerr)) && e->error == 0) return true;  // an ack
          return false;
        }
        if (h->nlmsg_len < NLMSG_LENGTH(GENL_HDRLEN)) continue;
        size_t left = h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
        const char* p = static_cast<const char*>(NLMSG_DATA(h)) + GENL_HDRLEN;
        each(nullptr, 0, 0);  // a new message begins
        while (left >= NLA_HDRLEN) {
          const auto* a = reinterpret_cast<const nlattr*>(p);
          if (a->nla_len < NLA_HDRLEN || a->nla_len > left) break;
          each(p + NLA_HDRLEN, a->nla_type & NLA_TYPE_MASK, a->nla_len - NLA_HDRLEN);
          size_t step = NLA_ALIGN(a->nla_len);
          if (step >= left) break;
          p += step, left -= step;
        }
        // A dump ends with NLMSG_DONE (the netdev family's parts do not say NLM_F_MULTI).
        if (!(flags & NLM_F_DUMP) && !(h->nlmsg_flags & NLM_F_MULTI)) return true;
      }
    }
    return false;
  }

private:
  int fd_;
  uint32_t seq_ = 0;
};

std::vector<char> stringAttr(uint16_t type, const std::string& s) {
  std::vector<char> a(NLA_ALIGN(NLA_HDRLEN + s.size() + 1), 0);
  auto* h = reinterpret_cast<nlattr*>(a.data());
  h->nla_type = type;
  h->nla_len = static_cast<uint16_t>(NLA_HDRLEN + s.size() + 1);
  std::memcpy(a.data() + NLA_HDRLEN, s.c_str(), s.size() + 1);
  return a;
}

// The netdev family's id and the id of its "mgmt" multicast group.
struct Family {
  uint16_t id = 0;
  uint32_t mgmt = 0;
};

std::optional<Family> netdevFamily(GenlSocket& sock) {
  Family f;
  bool found = sock.request(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0, stringAttr(CTRL_ATTR_FAMILY_NAME, "netdev"),
                            [&](const char* data, uint16_t type, size_t len) {
                              if (!data) return;
                              if (type == CTRL_ATTR_FAMILY_ID && len >= 2) std::memcpy(&f.id, data, 2);
                              if (type != CTRL_ATTR_MCAST_GROUPS) return;
                              // Nested: one nest per group, each with a name and an id.
                              for (size_t off = 0; off + NLA_HDRLEN <= len;) {
                                const auto* group = reinterpret_cast<const nlattr*>(data + off);
                                if (group->nla_len < NLA_HDRLEN || off + group->nla_len > len) break;
                                std::string name;
                                uint32_t id = 0;
                                for (size_t in = NLA_HDRLEN; in + NLA_HDRLEN <= group->nla_len;) {
                                  const auto* a = reinterpret_cast<const nlattr*>(data + off + in);
                                  if (a->nla_len < NLA_HDRLEN || in + a->nla_len > group->nla_len) break;
                                  const char* payload = data + off + in + NLA_HDRLEN;
                                  size_t size = a->nla_len - NLA_HDRLEN;
                                  if (a->nla_type == CTRL_ATTR_MCAST_GRP_NAME) name.assign(payload, strnlen(payload, size));
                                  if (a->nla_type == CTRL_ATTR_MCAST_GRP_ID && size >= 4) std::memcpy(&id, payload, 4);
                                  in += NLA_ALIGN(a->nla_len);
                                }
                                if (name == "mgmt") f.mgmt = id;
                                off += NLA_ALIGN(group->nla_len);
                              }
                            });
  if (!found || f.id == 0) return std::nullopt;
  return f;
}

}  // namespace

XdpFeatureEvents::~XdpFeatureEvents() {
  if (fd_ >= 0) close(fd_);
}

bool XdpFeatureEvents::open() {
  GenlSocket sock;
  auto family = sock.ok() ? netdevFamily(sock) : std::nullopt;
  if (!family || family->mgmt == 0) return false;
  fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_GENERIC);
  if (fd_ < 0) return false;
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  uint32_t group = family->mgmt;
  if (bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      setsockopt(fd_, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) != 0) {
    close(fd_);
    fd_ = -1;
    return false;
  }
  return true;
}

void XdpFeatureEvents::drain() {
  char buf[8192];
  for (int i = 0; i < 64 && fd_ >= 0; ++i)
    if (recv(fd_, buf, sizeof buf, MSG_DONTWAIT) <= 0) break;
}

std::optional<std::map<uint32_t, uint64_t>> xdpFeatures() {
  GenlSocket sock;
  if (!sock.ok()) return std::nullopt;
  auto netdev = netdevFamily(sock);
  if (!netdev) return std::nullopt;
  uint16_t family = netdev->id;
  std::map<uint32_t, uint64_t> features;
  uint32_t ifindex = 0;
  uint64_t flags = 0;
  bool have = false;
  auto flush = [&] {
    if (have && ifindex) features[ifindex] = flags;
    ifindex = 0, flags = 0, have = false;
  };
  bool ok = sock.request(family, kNetdevCmdDevGet, NLM_F_DUMP, {}, [&](const char* data, uint16_t type, size_t len) {
    if (!data) return flush();
    if (type == kNetdevAttrIfindex && len >= 4) std::memcpy(&ifindex, data, 4), have = true;
    if (type == kNetdevAttrXdpFeatures && len >= 8) std::memcpy(&flags, data, 8);
  });
  flush();
  if (!ok) return std::nullopt;
  return features;
}

}  // namespace dptrace
