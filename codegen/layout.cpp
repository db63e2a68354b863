#include "program_info.h"

#include <cctype>

namespace dptrace {

uint32_t slotSize(const Type& t) {
  switch (t.kind()) {
    case TypeKind::String:
    case TypeKind::Array:
    case TypeKind::Record: return (t.capacity() + 7) / 8 * 8;
    case TypeKind::Ipv6:
    case TypeKind::Deferred: return 16;
    case TypeKind::Inet: return 24;  // the family (4 or 6), then the address's 16 bytes
    case TypeKind::Buffer: return 8 + (t.capacity() + 7) / 8 * 8;
    case TypeKind::Tuple: return slotsSize(t.elements());
    case TypeKind::Void: return 0;
    default: return 8;
  }
}

bool heldInMemory(const Type& t) {
  switch (t.kind()) {
    case TypeKind::String:
    case TypeKind::Tuple:
    case TypeKind::Array:
    case TypeKind::Record:
    case TypeKind::Buffer:
    case TypeKind::Deferred:
    case TypeKind::Ipv6:
    case TypeKind::Inet: return true;
    default: return false;
  }
}

uint32_t slotsSize(const std::vector<Type>& types) {
  uint32_t size = 0;
  for (const Type& t : types) size += slotSize(t);
  return size;
}

// The XDP program of an interface: xdp_ and its name with letters and digits
// kept, '_' doubled and every other byte as _XX (hex), so that names stay
// distinct (a-b is xdp_a_2db, a.b is xdp_a_2eb, a_b is xdp_a__b); --pcap's
// one program is xdp_pcap.
std::string xdpProgramName(const std::string& interface) {
  if (interface.empty()) return "xdp_pcap";
  std::string name = "xdp_";
  for (char c : interface) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      name += c;
    } else if (c == '_') {
      name += "__";
    } else {
      static const char* const kHex = "0123456789abcdef";
      name += '_';
      name += kHex[u >> 4];
      name += kHex[u & 15];
    }
  }
  return name;
}

}  // namespace dptrace
