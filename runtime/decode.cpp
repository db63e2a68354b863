#include "decode.h"

#include <algorithm>
#include <cstring>

#include "symbolize.h"

namespace dptrace {

Value decodeSlot(const Type& t, const uint8_t* p) {
  uint64_t word = 0;
  std::memcpy(&word, p, 8);
  switch (t.kind()) {
    case TypeKind::Integer: {
      // Only the type's bits count: an array map's index holds a key's low
      // 8 bits, and -1 as an s8 must read back as -1.
      uint32_t bits = std::min<uint32_t>(t.bits(), 64);
      if (bits < 64) {
        uint64_t mask = (uint64_t{1} << bits) - 1;
        word &= mask;
        if (t.isSigned() && (word >> (bits - 1)) != 0) word |= ~mask;
      }
      return t.isSigned() ? Value::sint(static_cast<int64_t>(word)) : Value::uint(word);
    }
    case TypeKind::Bool: return Value::uint(word != 0);
    case TypeKind::String: {
      const char* s = reinterpret_cast<const char*>(p);
      return Value::str(std::string(s, strnlen(s, t.capacity())));
    }
    case TypeKind::Ipv4: {
      Ipv4Address a;
      std::memcpy(a.bytes.data(), p, 4);
      return Value{a};
    }
    case TypeKind::Ipv6: {
      Ipv6Address a;
      std::memcpy(a.bytes.data(), p, 16);
      return Value{a};
    }
    case TypeKind::Mac: {
      MacAddress m;
      std::memcpy(m.bytes.data(), p, 6);
      return Value{m};
    }
    case TypeKind::Array: {  // C layout: elements of their own size, one after another
      ArrayValue a;
      uint32_t size = t.element().bits() / 8;
      for (uint32_t i = 0; i < t.length(); ++i) {
        uint8_t element[8] = {};
        std::memcpy(element, p + i * size, size);
        a.items.push_back(decodeSlot(t.element(), element));
      }
      return Value{a};
    }
    case TypeKind::Buffer: {  // the length read, then the bytes
      BufferValue b;
      b.bytes.assign(reinterpret_cast<const char*>(p + 8), std::min<uint64_t>(word, t.capacity()));
      return Value{b};
    }
    case TypeKind::Tuple: {
      Value::Tuple elements;
      uint32_t off = 0;
      for (const Type& e : t.elements()) {
        elements.push_back(decodeSlot(e, p + off));
        off += slotSize(e);
      }
      return Value::tuple(std::move(elements));
    }
    case TypeKind::Deferred: {
      uint64_t extra = 0;
      std::memcpy(&extra, p + 8, 8);
      if (t.deferredKind() == Deferred::Kstack || t.deferredKind() == Deferred::Ustack)
        return Value{stackOf(t.deferredKind(), static_cast<int64_t>(word), extra)};
      return Value::str(deferredText(t.deferredKind(), word, extra));
    }
    default: return Value::uint(word);
  }
}

}  // namespace dptrace
