// What the runtime reads out of BPF maps and ring buffers, as typed values.
// Readers build these; the text and JSON printers render them. Printers never
// read maps, readers never format.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace dptrace {

struct Ipv4Address {
  std::array<uint8_t, 4> bytes{};
  auto operator<=>(const Ipv4Address&) const = default;  // network order, as in the packet
};
struct Ipv6Address {
  std::array<uint8_t, 16> bytes{};
  auto operator<=>(const Ipv6Address&) const = default;
};
struct MacAddress {
  std::array<uint8_t, 6> bytes{};
  auto operator<=>(const MacAddress&) const = default;
};

struct Value;
// The elements of a C array (u8 saddr[4]): printed [1,2,3,4], as bpftrace does.
struct ArrayValue {
  std::vector<Value> items;
  bool operator==(const ArrayValue& o) const;
  bool operator<(const ArrayValue& o) const;
};

// A struct copied into a value ($st = *p): its readable fields by name, in
// the struct's order. Printed as bpftrace prints it: { .a = 1, .b = xyz } as
// a value, {.a=1,.b=xyz} in a map key; JSON { "a": 1, "b": "xyz" }.
struct RecordValue {
  std::vector<std::string> names;
  std::vector<Value> values;
  bool operator==(const RecordValue& o) const;
  bool operator<(const RecordValue& o) const;
};

// A stack trace (kstack, ustack): its frames, innermost first, as text
// ("vfs_read+5"). Printed as bpftrace prints it: each frame on a line of its
// own, after a line break, indented by 8 spaces (4 in a map key).
// buf(): bytes, printed as bpftrace prints them (%r): printable ASCII as
// it is, every other byte as \xNN.
struct BufferValue {
  std::string bytes;
  auto operator<=>(const BufferValue&) const = default;
  std::string text() const;
  std::string hex(bool spaced) const;  // %rx: \xNN for every byte; %rh: "NN NN"
};

struct StackValue {
  std::vector<std::string> frames;
  bool perf = false;  // kstack(perf): frames are "\tADDRESS function+offset", not indented
  auto operator<=>(const StackValue&) const = default;
  std::string text(int indent) const;
};

// One key or value: a number, a string, an address, an array, a tuple of values or a stack.
struct Value {
  using Tuple = std::vector<Value>;
  std::variant<int64_t, uint64_t, std::string, Ipv4Address, Ipv6Address, MacAddress, Tuple, ArrayValue, StackValue, BufferValue,
               RecordValue>
      v;

  static Value sint(int64_t x) { return {x}; }
  static Value uint(uint64_t x) { return {x}; }
  static Value str(std::string s) { return {std::move(s)}; }
  static Value tuple(Tuple t) { return {std::move(t)}; }

  // 42, -3, abc, 10.0.0.1, fc00::1, 02:00:00:00:00:01, (1, abc), [1,2,3,4], { .a = 1 };
  // in a map key (`key`) a record is written without spaces, as bpftrace does.
  std::string text(bool key = false) const;
  bool operator<(const Value& o) const;
  bool operator==(const Value& o) const { return v == o.v; }
};

// The value of one map entry. Totals are 128-bit (aggregation.h): the sum of
// the values as they are, signed or unsigned.
struct Stats {
  uint64_t count = 0;
  __int128 total = 0;
};
struct Average {
  uint64_t count = 0;
  __int128 total = 0;
};
// Buckets as aggregation.h defines them (histogramRange, linearRange).
struct Histogram {
  std::vector<uint64_t> counts;
};
struct LinearHistogram {
  int64_t min = 0, max = 0, step = 1;
  std::vector<uint64_t> counts;
};
using MapValue = std::variant<Value, Stats, Average, Histogram, LinearHistogram>;

struct MapEntry {
  std::vector<Value> key;  // empty for @x
  MapValue value;
};

struct MapSnapshot {
  std::string name;  // without '@'
  std::vector<MapEntry> entries;
  // How bpftrace 0.17 prints it (text): a keyless count() with no entry as
  // "@n: 0" (JSON: 0), another map with none as an empty line; avg() and
  // stats() maps with one more empty line after them, entries or not.
  bool keylessCount = false;
  bool averages = false;
};

}  // namespace dptrace
