// The one type of every expression: a small value class.
//
//   integers by width and sign (u8..u64, s8..s64), bool, fixed-size strings,
//   IPv4/IPv6/MAC addresses, pointers, structs (by name, from the C/BTF/DWARF
//   importers), fixed-size arrays of integers (u8 saddr[4]), tuples,
//   aggregations (the value of @x = count()), void; records (a struct's
//   bytes copied into a value: $st = *p), with their fields' names and places.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dptrace {

enum class TypeKind { Void, Integer, Bool, String, Ipv4, Ipv6, Mac, Pointer, Struct, Tuple, Aggregation, Array, Deferred, Buffer, Record, Inet };
enum class Aggregation { Count, Sum, Avg, Min, Max, Stats, Hist, Lhist };

// A value that dptrace turns into text when it prints it, as bpftrace does:
// usym(addr), ksym(addr), username, strftime(fmt, ns), strerror(errno).
// Two slots: the raw value, and the process (usym) or the format (strftime).
// kstack and ustack: a stack id in the script's stack-trace map (and the process).
// cgroup_path(id[, filter]): the id, and 1 + the filter's index among the formats (0: none).
enum class Deferred : uint8_t { Usym, Ksym, Username, Strftime, Strerror, Kstack, Ustack, CgroupPath };

// Where the memory a pointer (or an address held in an integer, or a struct
// read through one) points to lies, as bpftrace tracks it: curtask points
// into the kernel even in a uprobe; a syscall's pointer arguments into the
// process. Probe: the probe's own rule (codegen's userMemory()). Not part of
// a type's identity: maps and variables unify across spaces.
enum class AddressSpace : uint8_t { Probe, Kernel, User };

// A field of a record: where its bits are in the struct's bytes (bitSize 0:
// the whole of its type's bytes; else a bit-field) and whether the kernel
// keeps it big-endian (read into host order). Its type is the record's element.
struct RecordField {
  std::string name;
  uint32_t bitOffset = 0;
  uint32_t bitSize = 0;
  bool bigEndian = false;
  bool operator==(const RecordField&) const = default;
};

class Type {
public:
  Type() = default;  // void

  static Type voidType() { return Type(); }
  static Type integer(uint32_t bits, bool isSigned);
  static Type u64() { return integer(64, false); }
  static Type s64() { return integer(64, true); }
  static Type boolean();
  static Type string(uint32_t capacity);  // capacity in bytes, including the NUL
  static Type ipv4();
  static Type ipv6();
  // An IPv4 or an IPv6 address, which one known when it runs (bpftrace's
  // inet): what a variable or map holds when given both kinds.
  static Type inet();
  static Type mac();
  static Type pointer(Type pointee);
  static Type structure(std::string name);
  static Type tuple(std::vector<Type> elements);
  static Type aggregation(Aggregation a, Type argument);
  static Type array(Type element, uint32_t length);  // C layout: `length` elements one after another
  static Type deferred(Deferred d);
  // buf(p, n): up to `capacity` bytes and how many of them were read
  // (a slot of a 64-bit length, then the bytes), printed with %r.
  static Type buffer(uint32_t capacity);
  // struct NAME by value: `size` bytes in C layout, as the traced memory held
  // them; `types` and `fields` side by side (the fields dptrace can read).
  static Type record(std::string name, uint32_t size, std::vector<Type> types, std::vector<RecordField> fields);

  TypeKind kind() const { return kind_; }
  bool is(TypeKind k) const { return kind_ == k; }
  bool isIntegerLike() const { return kind_ == TypeKind::Integer || kind_ == TypeKind::Bool; }
  bool isAddress() const { return kind_ == TypeKind::Ipv4 || kind_ == TypeKind::Ipv6 || kind_ == TypeKind::Inet; }
  uint32_t bits() const { return bits_; }
  bool isSigned() const { return signed_; }
  uint32_t capacity() const { return bits_ / 8; }  // strings, buffers; arrays, records: their size in bytes
  const Type& pointee() const { return elements_.at(0); }
  const Type& element() const { return elements_.at(0); }                 // arrays
  uint32_t length() const { return bits_ / (elements_.at(0).bits_ ? elements_.at(0).bits_ : 8); }  // arrays
  const std::vector<Type>& elements() const { return elements_; }  // tuple elements; aggregation argument
  const std::string& name() const { return name_; }                // struct and record name
  const std::vector<RecordField>& fields() const { return fields_; }  // records; their types are elements()
  Aggregation aggregationKind() const { return aggregation_; }
  Deferred deferredKind() const { return deferred_; }
  // An integer read from a big-endian kernel value (BTF __be16, __be32,
  // __be64) into host order. ntop() and comparisons with pton() addresses
  // turn it back; every other use sees the host-order number.
  bool fromNetworkOrder() const { return fromNetwork_; }
  Type withNetworkOrigin() const {
    Type t = *this;
    t.fromNetwork_ = kind_ == TypeKind::Integer;
    return t;
  }

  AddressSpace space() const { return space_; }
  // This type, read through memory of `space`: pointers, structs, arrays and
  // integers (an address held in a u64) take it unless they have one.
  Type in(AddressSpace space) const;
  Type onlyIn(AddressSpace space) const;  // whatever it had: uptr(), kptr()

  // Same kind of value, as maps and variables require ("an integer", "a
  // string"): widths and string sizes may differ, tuples compare elementwise.
  bool sameKind(const Type& other) const;
  bool operator==(const Type& other) const;

  std::string str() const;    // u16, string[16], ipv4, struct rte_mbuf *, (u32, string[16]), sum(u64)
  std::string kindName() const;  // "an integer", "a string", "a count() aggregation" -- for messages

private:
  static Type sized(TypeKind kind, uint32_t bits);

  TypeKind kind_ = TypeKind::Void;
  uint32_t bits_ = 0;
  bool signed_ = false;
  bool fromNetwork_ = false;
  AddressSpace space_ = AddressSpace::Probe;
  Deferred deferred_ = Deferred::Usym;
  Aggregation aggregation_ = Aggregation::Count;
  std::string name_;
  std::vector<Type> elements_;
  std::vector<RecordField> fields_;
};

// How many pointer levels a type may have (`char ***` is 3). A cast or a
// tracepoint field deeper than it is refused rather than built (a type's copy
// costs its depth, and a damaged format file may hold thousands of stars);
// the C, DWARF and BTF importers cut a type at depth 16 (typedefs and
// qualifiers count), its base read as void.
inline constexpr uint32_t kMaxPointerDepth = 16;

// Integers of different widths unify to the wider, unsigned if either is;
// strings to the larger; tuples elementwise. Returns false if the kinds differ.
bool unify(const Type& a, const Type& b, Type& out);
// Where a value is stored (a variable, a map, a '?:'): an IPv4 and an IPv6
// address make an inet; the rest as unify().
bool unifyStored(const Type& a, const Type& b, Type& out);

const char* aggregationName(Aggregation a);
const char* deferredName(Deferred d);

}  // namespace dptrace
