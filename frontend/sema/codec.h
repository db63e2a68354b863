// A length-prefixed binary encoding of dptrace's own structures, for what
// it writes and reads back itself: the object cache (runtime/object_cache.cpp)
// and the C importer's answer from its child process (c_import.cpp). Integers
// as 64-bit words, strings and vectors length-prefixed, Type by its kind.
// A struct is encoded by walking its fields, listed once in a specialisation
// of CodecFields<T> with `template <class Codec, class V> static void
// walk(Codec& c, V& v) { c(v.a), c(v.b); }`: the Writer and the Reader walk
// the same list. The Reader checks every count against the bytes left and
// fails (ok() false) instead of reading past them.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "type.h"

namespace dptrace {

template <class T>
struct CodecFields;  // specialised for each encoded struct

template <class T>
concept HasCodecFields = requires { sizeof(CodecFields<std::remove_const_t<T>>); };

class Writer {
public:
  void u64(uint64_t v) { out_.write(reinterpret_cast<const char*>(&v), sizeof v); }
  void operator()(const std::string& s) {
    u64(s.size());
    out_.write(s.data(), static_cast<std::streamsize>(s.size()));
  }
  void operator()(const std::vector<char>& bytes) { (*this)(std::string(bytes.begin(), bytes.end())); }
  template <class T>
  void operator()(const T& v) requires std::is_integral_v<T> || std::is_enum_v<T> {
    u64(static_cast<uint64_t>(v));
  }
  template <class T>
  void operator()(const std::optional<T>& v) {
    u64(v.has_value());
    if (v) (*this)(*v);
  }
  template <class T>
  void operator()(const std::vector<T>& v) {
    u64(v.size());
    for (const T& x : v) (*this)(x);
  }
  template <class K, class V>
  void operator()(const std::map<K, V>& m) {
    u64(m.size());
    for (const auto& [k, v] : m) (*this)(k), (*this)(v);
  }
  template <class T>
  void operator()(const T& v) requires HasCodecFields<T> {
    CodecFields<std::remove_const_t<T>>::walk(*this, v);
  }
  void operator()(const Type& t) {
    u64(static_cast<uint64_t>(t.kind()));
    switch (t.kind()) {
      case TypeKind::Integer: u64(t.bits()), u64(t.isSigned()); break;
      case TypeKind::String:
      case TypeKind::Buffer: u64(t.capacity()); break;
      case TypeKind::Pointer: (*this)(t.pointee()); break;
      case TypeKind::Struct: (*this)(t.name()); break;
      case TypeKind::Tuple: (*this)(t.elements()); break;
      case TypeKind::Aggregation: u64(static_cast<uint64_t>(t.aggregationKind())), (*this)(t.elements()[0]); break;
      case TypeKind::Array: (*this)(t.element()), u64(t.length()); break;
      case TypeKind::Deferred: u64(static_cast<uint64_t>(t.deferredKind())); break;
      case TypeKind::Record:
        (*this)(t.name()), u64(t.capacity()), (*this)(t.elements());
        for (const RecordField& f : t.fields()) (*this)(f.name), u64(f.bitOffset), u64(f.bitSize), u64(f.bigEndian);
        break;
      case TypeKind::Void:
      case TypeKind::Bool:
      case TypeKind::Ipv4:
      case TypeKind::Ipv6:
      case TypeKind::Inet:
      case TypeKind::Mac: break;
    }
  }
  std::string text() const { return out_.str(); }

private:
  std::ostringstream out_;
};

class Reader {
public:
  explicit Reader(const std::string& bytes) : bytes_(bytes) {}
  bool ok() const { return ok_; }
  uint64_t u64() {
    uint64_t v = 0;
    if (pos_ + sizeof v > bytes_.size()) return fail(), 0;
    std::memcpy(&v, bytes_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  void operator()(std::string& s) {
    uint64_t n = u64();
    if (!ok_ || n > bytes_.size() - pos_) return fail();
    s = bytes_.substr(pos_, n);
    pos_ += n;
  }
  void operator()(std::vector<char>& bytes) {
    std::string s;
    (*this)(s);
    bytes.assign(s.begin(), s.end());
  }
  template <class T>
  void operator()(T& v) requires std::is_integral_v<T> || std::is_enum_v<T> {
    v = static_cast<T>(u64());
  }
  template <class T>
  void operator()(std::optional<T>& v) {
    v.reset();
    if (u64()) (*this)(v.emplace());
  }
  template <class T>
  void operator()(std::vector<T>& v) {
    uint64_t n = u64();
    if (!ok_ || n > bytes_.size() - pos_) return fail();  // every element takes at least a byte
    // Grown as elements are read: a count the bytes do not back costs no memory.
    v.clear();
    for (uint64_t i = 0; i < n && ok_; ++i) (*this)(v.emplace_back());
  }
  template <class K, class V>
  void operator()(std::map<K, V>& m) {
    uint64_t n = u64();
    if (!ok_ || n > bytes_.size() - pos_) return fail();
    m.clear();
    for (uint64_t i = 0; i < n && ok_; ++i) {
      K k{};
      V v{};
      (*this)(k), (*this)(v);
      m.insert_or_assign(std::move(k), std::move(v));
    }
  }
  template <class T>
  void operator()(T& v) requires HasCodecFields<T> {
    CodecFields<std::remove_const_t<T>>::walk(*this, v);
  }
  void operator()(Type& t) { t = type(0); }

private:
  Type type(int depth) {
    if (depth > 32) return fail(), Type();
    auto kind = static_cast<TypeKind>(u64());
    switch (kind) {
      case TypeKind::Void: return Type();
      case TypeKind::Integer: {
        uint32_t bits = static_cast<uint32_t>(u64());
        if (bits == 0 || bits > 64) return fail(), Type();  // DWARF gives other widths too (a 3-byte enum)
        return Type::integer(bits, u64() != 0);
      }
      case TypeKind::Bool: return Type::boolean();
      case TypeKind::String: return Type::string(static_cast<uint32_t>(std::min<uint64_t>(u64(), 1u << 16)));
      case TypeKind::Buffer: return Type::buffer(static_cast<uint32_t>(std::min<uint64_t>(u64(), 1u << 16)));
      case TypeKind::Ipv4: return Type::ipv4();
      case TypeKind::Ipv6: return Type::ipv6();
      case TypeKind::Inet: return Type::inet();
      case TypeKind::Mac: return Type::mac();
      case TypeKind::Deferred: {
        uint64_t d = u64();
        if (d > static_cast<uint64_t>(Deferred::CgroupPath)) return fail(), Type();
        return Type::deferred(static_cast<Deferred>(d));
      }
      case TypeKind::Pointer: return Type::pointer(type(depth + 1));
      case TypeKind::Struct: {
        std::string name;
        (*this)(name);
        return Type::structure(name);
      }
      case TypeKind::Tuple: {
        uint64_t n = u64();
        if (n > 64) return fail(), Type();
        std::vector<Type> elements(static_cast<size_t>(n));
        for (Type& e : elements) e = type(depth + 1);
        return Type::tuple(std::move(elements));
      }
      case TypeKind::Aggregation: {
        auto a = static_cast<Aggregation>(u64());
        return Type::aggregation(a, type(depth + 1));
      }
      case TypeKind::Array: {
        Type element = type(depth + 1);
        return Type::array(element, static_cast<uint32_t>(std::min<uint64_t>(u64(), 65536)));
      }
      case TypeKind::Record: {
        std::string name;
        (*this)(name);
        uint64_t size = u64();
        uint64_t n = u64();
        if (size > (1u << 16) || n > 4096) return fail(), Type();
        std::vector<Type> types(static_cast<size_t>(n));
        for (Type& e : types) e = type(depth + 1);
        std::vector<RecordField> fields(types.size());
        for (RecordField& f : fields) {
          (*this)(f.name);
          uint64_t bitOffset = u64(), bitSize = u64();
          f.bigEndian = u64() != 0;
          if (bitSize > 64 || bitOffset + bitSize > size * 8) return fail(), Type();
          f.bitOffset = static_cast<uint32_t>(bitOffset);
          f.bitSize = static_cast<uint32_t>(bitSize);
        }
        return Type::record(std::move(name), static_cast<uint32_t>(size), std::move(types), std::move(fields));
      }
    }
    return fail(), Type();
  }
  void fail() { ok_ = false; }
  const std::string& bytes_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace dptrace
