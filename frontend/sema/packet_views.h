// The packet views of xdp and afxdp blocks and their fields: types in host
// byte order, which fields a script may assign (checksums are fixed by the
// code generator), and where each lies in its header.
#pragma once

#include <span>
#include <string_view>

#include "type.h"

namespace dptrace {

struct PacketField {
  const char* view;
  const char* name;
  Type type;
  bool writable;
  uint32_t offset = 0;  // where it lies in its header (network order), for the code generator
  uint32_t size = 0;    // in bytes; pkt.* are not in the packet
  uint64_t max = 0;     // the largest value it holds when smaller than its type's (vlan.id: 4095)
};

std::span<const PacketField> allPacketFields();
const PacketField* findPacketField(std::string_view view, std::string_view field);
bool isPacketView(std::string_view name);

}  // namespace dptrace
