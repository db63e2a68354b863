#include "packet_views.h"

#include <vector>

namespace dptrace {

std::span<const PacketField> allPacketFields() {
  static const std::vector<PacketField> fields = {
      {"pkt", "len", Type::integer(32, false), false},
      {"pkt", "ifindex", Type::integer(32, false), false},
      {"pkt", "queue", Type::integer(32, false), false},
      {"eth", "src", Type::mac(), true},
      {"eth", "dst", Type::mac(), true},
      {"eth", "type", Type::integer(16, false), false},
      {"vlan", "id", Type::integer(16, false), true},
      {"ip", "src", Type::ipv4(), true},
      {"ip", "dst", Type::ipv4(), true},
      {"ip", "proto", Type::integer(8, false), false},
      {"ip", "ttl", Type::integer(8, false), true},
      {"ip", "len", Type::integer(16, false), false},
      {"ip6", "src", Type::ipv6(), true},
      {"ip6", "dst", Type::ipv6(), true},
      {"ip6", "nexthdr", Type::integer(8, false), false},
      {"tcp", "sport", Type::integer(16, false), true},
      {"tcp", "dport", Type::integer(16, false), true},
      {"tcp", "flags", Type::integer(8, false), true},
      {"udp", "sport", Type::integer(16, false), true},
      {"udp", "dport", Type::integer(16, false), true},
      {"udp", "len", Type::integer(16, false), false},
      {"icmp", "type", Type::integer(8, false), true},
      {"icmp", "code", Type::integer(8, false), true},
      {"icmp", "seq", Type::integer(16, false), false},
      {"icmp6", "type", Type::integer(8, false), true},
      {"icmp6", "seq", Type::integer(16, false), false},
      {"gtp", "teid", Type::integer(32, false), true},
      {"gtp", "type", Type::integer(8, false), false},
  };
  return fields;
}

const PacketField* findPacketField(std::string_view view, std::string_view field) {
  for (const PacketField& f : allPacketFields())
    if (view == f.view && field == f.name) return &f;
  return nullptr;
}

bool isPacketView(std::string_view name) {
  for (const PacketField& f : allPacketFields())
    if (name == f.view) return true;
  return false;
}

}  // namespace dptrace
