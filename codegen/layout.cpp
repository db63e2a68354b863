#include "program_info.h"

namespace dptrace {

uint32_t slotSize(const Type& t) {
  switch (t.kind()) {
    case TypeKind::String: return (t.capacity() + 7) / 8 * 8;
    case TypeKind::Ipv6: return 16;
    case TypeKind::Tuple: return slotsSize(t.elements());
    case TypeKind::Void: return 0;
    default: return 8;
  }
}

uint32_t slotsSize(const std::vector<Type>& types) {
  uint32_t size = 0;
  for (const Type& t : types) size += slotSize(t);
  return size;
}

}  // namespace dptrace
