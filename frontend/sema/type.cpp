#include "type.h"

#include <algorithm>

namespace dptrace {

Type Type::sized(TypeKind kind, uint32_t bits) {
  Type t;
  t.kind_ = kind;
  t.bits_ = bits;
  return t;
}

Type Type::integer(uint32_t bits, bool isSigned) {
  Type t = sized(TypeKind::Integer, bits);
  t.signed_ = isSigned;
  return t;
}

Type Type::boolean() { return sized(TypeKind::Bool, 8); }

Type Type::string(uint32_t capacity) { return sized(TypeKind::String, capacity * 8); }

Type Type::buffer(uint32_t capacity) { return sized(TypeKind::Buffer, capacity * 8); }

Type Type::ipv4() { return sized(TypeKind::Ipv4, 32); }

Type Type::ipv6() { return sized(TypeKind::Ipv6, 128); }

Type Type::mac() { return sized(TypeKind::Mac, 48); }

Type Type::inet() { return sized(TypeKind::Inet, 128); }

Type Type::pointer(Type pointee) {
  Type t = sized(TypeKind::Pointer, 64);
  t.elements_.push_back(std::move(pointee));
  return t;
}

Type Type::structure(std::string name) {
  Type t;
  t.kind_ = TypeKind::Struct;
  t.name_ = std::move(name);
  return t;
}

Type Type::tuple(std::vector<Type> elements) {
  Type t;
  t.kind_ = TypeKind::Tuple;
  t.elements_ = std::move(elements);
  return t;
}

Type Type::aggregation(Aggregation a, Type argument) {
  Type t;
  t.kind_ = TypeKind::Aggregation;
  t.aggregation_ = a;
  t.elements_.push_back(std::move(argument));
  return t;
}

Type Type::array(Type element, uint32_t length) {
  Type t = sized(TypeKind::Array, element.bits() * length);
  t.elements_.push_back(std::move(element));
  return t;
}

Type Type::record(std::string name, uint32_t size, std::vector<Type> types, std::vector<RecordField> fields) {
  Type t = sized(TypeKind::Record, size * 8);
  t.name_ = std::move(name);
  t.elements_ = std::move(types);
  t.fields_ = std::move(fields);
  return t;
}

Type Type::in(AddressSpace space) const {
  Type t = *this;
  bool holdsAddress = kind_ == TypeKind::Pointer || kind_ == TypeKind::Struct || kind_ == TypeKind::Array ||
                      kind_ == TypeKind::Integer;
  if (holdsAddress && space_ == AddressSpace::Probe) t.space_ = space;
  return t;
}

Type Type::onlyIn(AddressSpace space) const {
  Type t = *this;
  t.space_ = space;
  return t;
}

Type Type::deferred(Deferred d) {
  Type t = sized(TypeKind::Deferred, 128);
  t.deferred_ = d;
  return t;
}

const char* deferredName(Deferred d) {
  switch (d) {
    case Deferred::Usym: return "usym";
    case Deferred::Ksym: return "ksym";
    case Deferred::Username: return "username";
    case Deferred::Strftime: return "strftime";
    case Deferred::Strerror: return "strerror";
    case Deferred::Kstack: return "kstack";
    case Deferred::Ustack: return "ustack";
    case Deferred::CgroupPath: return "cgroup_path";
  }
  return "?";
}

bool Type::sameKind(const Type& o) const {
  if (isIntegerLike() && o.isIntegerLike()) return true;
  if (kind_ != o.kind_) return false;
  switch (kind_) {
    case TypeKind::Pointer: return pointee().sameKind(o.pointee());
    case TypeKind::Struct: return name_ == o.name_;
    case TypeKind::Aggregation: return aggregation_ == o.aggregation_;
    case TypeKind::Deferred: return deferred_ == o.deferred_;
    case TypeKind::Array:
    case TypeKind::Record: return *this == o;  // arrays of one element type and length; one struct's records
    case TypeKind::Tuple:
      if (elements_.size() != o.elements_.size()) return false;
      for (size_t i = 0; i < elements_.size(); ++i)
        if (!elements_[i].sameKind(o.elements_[i])) return false;
      return true;
    default: return true;
  }
}

bool Type::operator==(const Type& o) const {
  return kind_ == o.kind_ && bits_ == o.bits_ && signed_ == o.signed_ && aggregation_ == o.aggregation_ &&
         deferred_ == o.deferred_ &&
         name_ == o.name_ && elements_ == o.elements_ && fields_ == o.fields_;
}

std::string Type::str() const {
  switch (kind_) {
    case TypeKind::Void: return "void";
    case TypeKind::Integer: return (signed_ ? "s" : "u") + std::to_string(bits_);
    case TypeKind::Bool: return "bool";
    case TypeKind::String: return "string[" + std::to_string(capacity()) + "]";
    case TypeKind::Ipv4: return "ipv4";
    case TypeKind::Ipv6: return "ipv6";
    case TypeKind::Inet: return "inet";
    case TypeKind::Mac: return "mac";
    case TypeKind::Pointer: {
      std::string p = pointee().str();
      return p + (p.back() == '*' ? "*" : " *");
    }
    case TypeKind::Struct:
    case TypeKind::Record: return "struct " + name_;
    case TypeKind::Deferred: return deferredName(deferred_);
    case TypeKind::Array: return element().str() + "[" + std::to_string(length()) + "]";
    case TypeKind::Buffer: return "buffer[" + std::to_string(capacity()) + "]";
    case TypeKind::Tuple: {
      std::string s = "(";
      for (size_t i = 0; i < elements_.size(); ++i) s += (i ? ", " : "") + elements_[i].str();
      return s + ")";
    }
    case TypeKind::Aggregation: {
      std::string s = aggregationName(aggregation_);
      if (aggregation_ == Aggregation::Count) return s + "()";
      return s + "(" + elements_[0].str() + ")";
    }
  }
  return "?";
}

std::string Type::kindName() const {
  switch (kind_) {
    case TypeKind::Void: return "nothing (void)";
    case TypeKind::Integer: return "an integer";
    case TypeKind::Bool: return "a boolean";
    case TypeKind::String: return "a string";
    case TypeKind::Ipv4: return "an IPv4 address";
    case TypeKind::Ipv6: return "an IPv6 address";
    case TypeKind::Inet: return "an IP address (IPv4 or IPv6)";
    case TypeKind::Mac: return "a MAC address";
    case TypeKind::Pointer: return "a pointer";
    case TypeKind::Struct: return "a struct";
    case TypeKind::Record: return "a struct value";
    case TypeKind::Tuple: return "a tuple";
    case TypeKind::Array: return "an array";
    case TypeKind::Buffer: return "a buf() buffer";
    case TypeKind::Deferred: return std::string("a ") + deferredName(deferred_) + "() value (text when printed)";
    case TypeKind::Aggregation: return std::string("a ") + aggregationName(aggregation_) + "() aggregation";
  }
  return "?";
}

bool unify(const Type& a, const Type& b, Type& out) {
  if (!a.sameKind(b)) return false;
  if (a.isIntegerLike() && b.isIntegerLike()) {
    if (a.is(TypeKind::Bool) && b.is(TypeKind::Bool)) return out = a, true;
    uint32_t bits = std::max(a.is(TypeKind::Bool) ? 8u : a.bits(), b.is(TypeKind::Bool) ? 8u : b.bits());
    bool isSigned = (a.is(TypeKind::Bool) || a.isSigned()) && (b.is(TypeKind::Bool) || b.isSigned());
    if (a.is(TypeKind::Bool) && b.is(TypeKind::Integer)) isSigned = b.isSigned();
    if (b.is(TypeKind::Bool) && a.is(TypeKind::Integer)) isSigned = a.isSigned();
    out = Type::integer(bits, isSigned);
    // An address kept where both sides agree on its memory (@t = curtask in
    // every store) keeps it; where they differ the probe's rule decides.
    if (a.space() == b.space()) out = out.onlyIn(a.space());
    return true;
  }
  if (a.is(TypeKind::String) || a.is(TypeKind::Buffer)) return out = a.capacity() >= b.capacity() ? a : b, true;
  if (a.is(TypeKind::Tuple)) {
    std::vector<Type> elements(a.elements().size());
    for (size_t i = 0; i < elements.size(); ++i)
      if (!unify(a.elements()[i], b.elements()[i], elements[i])) return false;
    out = Type::tuple(std::move(elements));
    return true;
  }
  if (a.is(TypeKind::Aggregation)) {
    Type arg;
    if (!unify(a.elements()[0], b.elements()[0], arg)) return false;
    out = Type::aggregation(a.aggregationKind(), arg);
    return true;
  }
  out = a.space() == b.space() ? a : a.onlyIn(AddressSpace::Probe);
  return true;
}

const char* aggregationName(Aggregation a) {
  switch (a) {
    case Aggregation::Count: return "count";
    case Aggregation::Sum: return "sum";
    case Aggregation::Avg: return "avg";
    case Aggregation::Min: return "min";
    case Aggregation::Max: return "max";
    case Aggregation::Stats: return "stats";
    case Aggregation::Hist: return "hist";
    case Aggregation::Lhist: return "lhist";
  }
  return "?";
}

}  // namespace dptrace

namespace dptrace {

bool unifyStored(const Type& a, const Type& b, Type& out) {
  if (a.isAddress() && b.isAddress() && a.kind() != b.kind()) return out = Type::inet(), true;
  if (a.is(TypeKind::Tuple) && b.is(TypeKind::Tuple) && a.elements().size() == b.elements().size()) {
    std::vector<Type> elements(a.elements().size());
    for (size_t i = 0; i < elements.size(); ++i)
      if (!unifyStored(a.elements()[i], b.elements()[i], elements[i])) return false;
    return out = Type::tuple(std::move(elements)), true;
  }
  return unify(a, b, out);
}

}  // namespace dptrace
