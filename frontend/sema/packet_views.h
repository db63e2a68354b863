// The packet views of xdp and afxdp blocks and their fields: types in host
// byte order, and which fields a script may assign (checksums are fixed by
// the code generator).
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
};

std::span<const PacketField> allPacketFields();
const PacketField* findPacketField(std::string_view view, std::string_view field);
bool isPacketView(std::string_view name);

}  // namespace dptrace
