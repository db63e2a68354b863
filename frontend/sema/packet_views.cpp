#include "packet_views.h"

#include <vector>

namespace dptrace {

std::span<const PacketField> allPacketFields() {
  // view, field, type, writable, offset in the header, size (eth.type is the
  // ethertype after any VLAN tags; vlan.id the low 12 bits of the TCI).
  static const std::vector<PacketField> fields = {
      {"pkt", "len", Type::integer(32, false), true},
      {"pkt", "ifindex", Type::integer(32, false), false},
      {"pkt", "queue", Type::integer(32, false), false},
      {"eth", "src", Type::mac(), true, 6, 6},
      {"eth", "dst", Type::mac(), true, 0, 6},
      {"eth", "type", Type::integer(16, false), false, 12, 2},
      {"vlan", "id", Type::integer(16, false), true, 0, 2, 4095},
      {"ip", "src", Type::ipv4(), true, 12, 4},
      {"ip", "dst", Type::ipv4(), true, 16, 4},
      {"ip", "proto", Type::integer(8, false), false, 9, 1},
      {"ip", "ttl", Type::integer(8, false), true, 8, 1},
      {"ip", "len", Type::integer(16, false), true, 2, 2},
      {"ip6", "src", Type::ipv6(), true, 8, 16},
      {"ip6", "dst", Type::ipv6(), true, 24, 16},
      {"ip6", "nexthdr", Type::integer(8, false), false, 6, 1},
      {"ip6", "hlim", Type::integer(8, false), true, 7, 1},
      {"tcp", "sport", Type::integer(16, false), true, 0, 2},
      {"tcp", "dport", Type::integer(16, false), true, 2, 2},
      {"tcp", "flags", Type::integer(8, false), true, 13, 1},
      {"udp", "sport", Type::integer(16, false), true, 0, 2},
      {"udp", "dport", Type::integer(16, false), true, 2, 2},
      {"udp", "len", Type::integer(16, false), true, 4, 2},
      {"icmp", "type", Type::integer(8, false), true, 0, 1},
      {"icmp", "code", Type::integer(8, false), true, 1, 1},
      {"icmp", "seq", Type::integer(16, false), false, 6, 2},
      {"icmp6", "type", Type::integer(8, false), true, 0, 1},
      {"icmp6", "seq", Type::integer(16, false), false, 6, 2},
      {"gtp", "teid", Type::integer(32, false), true, 4, 4},
      {"gtp", "type", Type::integer(8, false), false, 1, 1},
      // fib_lookup()'s answer: offsets in struct bpf_fib_lookup, host order.
      {"fib", "ifindex", Type::integer(32, false), false, 8, 4},
      {"fib", "smac", Type::mac(), false, 52, 6},
      {"fib", "dmac", Type::mac(), false, 58, 6},
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
