#include "decode.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "symbolize.h"

namespace dptrace {

Value decodeSlot(const Type& t, const uint8_t* p, bool key) {
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
    case TypeKind::Inet: {  // the family, then the address
      if (word == 4) {
        Ipv4Address a;
        std::memcpy(a.bytes.data(), p + 8, 4);
        return Value{a};
      }
      if (word == 6) {
        Ipv6Address a;
        std::memcpy(a.bytes.data(), p + 8, 16);
        return Value{a};
      }
      return Value::str("");  // never given an address
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
        a.items.push_back(decodeSlot(t.element(), element, key));
      }
      return Value{a};
    }
    case TypeKind::Record: {  // C layout: each field where the struct has it
      RecordValue r;
      for (size_t i = 0; i < t.fields().size() && i < t.elements().size(); ++i) {
        const RecordField& f = t.fields()[i];
        const Type& ft = t.elements()[i];
        uint32_t start = f.bitOffset / 8;
        uint32_t bytes = f.bitSize ? (f.bitOffset % 8 + f.bitSize + 7) / 8 : std::max<uint32_t>(slotSize(ft), 8);
        // A copy of the field's bytes, zero past the record's end: decodeSlot reads whole words.
        std::vector<uint8_t> field(std::max<uint32_t>(bytes, 8), 0);
        if (start < t.capacity()) std::memcpy(field.data(), p + start, std::min(bytes, t.capacity() - start));
        Value v;
        if (f.bitSize) {
          uint64_t word = 0;
          std::memcpy(&word, field.data(), 8);
          word = f.bitSize >= 64 ? word >> (f.bitOffset % 8) : (word >> (f.bitOffset % 8)) & ((uint64_t{1} << f.bitSize) - 1);
          if (ft.isSigned() && f.bitSize < 64 && (word >> (f.bitSize - 1)) != 0) word |= ~((uint64_t{1} << f.bitSize) - 1);
          v = ft.isSigned() ? Value::sint(static_cast<int64_t>(word)) : Value::uint(word);
        } else if (f.bigEndian && ft.is(TypeKind::Integer)) {
          uint32_t n = ft.bits() / 8;
          std::reverse(field.begin(), field.begin() + std::min<uint32_t>(n, 8));
          v = decodeSlot(ft, field.data(), key);
        } else {
          v = decodeSlot(ft, field.data(), key);
        }
        r.names.push_back(f.name);
        r.values.push_back(std::move(v));
      }
      return Value{std::move(r)};
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
        elements.push_back(decodeSlot(e, p + off, key));
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
    case TypeKind::Pointer: {
      if (!key) return Value::uint(word);
      char hex[24];
      std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(word));
      return Value::str(hex);
    }
    default: return Value::uint(word);
  }
}

}  // namespace dptrace
