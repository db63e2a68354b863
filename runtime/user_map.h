// The maps afxdp bodies write, kept in dptrace: the same keys and values, in
// the same byte layout, as the BPF map the code generator would have made
// (one CPU's worth: the AF_XDP loop is one thread), with the same limits --
// an update that finds the map full is refused and counted. All memory is
// allocated up front: no allocation per packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dptrace {

class UserMap {
public:
  // An array map holds `capacity` entries indexed by a u32 key, all present
  // and zero; a hash map at most `capacity` entries.
  UserMap(uint32_t keySize, uint32_t valueSize, uint32_t capacity, bool array);

  // The value of `key`, or null (BPF map_lookup_elem).
  void* lookup(const void* key);
  // Creates or replaces; false when a new key finds the map full (or an array index beyond it).
  bool update(const void* key, const void* value);
  // False when the key is not there (an array's entries are set to zero instead).
  bool remove(const void* key);

  uint32_t keySize() const { return keySize_; }
  uint32_t valueSize() const { return valueSize_; }
  size_t size() const { return array_ ? capacity_ : count_; }
  // Every key, in no particular order.
  std::vector<std::vector<uint8_t>> keys() const;

private:
  uint8_t* slot(size_t i) { return slots_.data() + i * stride_; }
  const uint8_t* slot(size_t i) const { return slots_.data() + i * stride_; }
  size_t home(const void* key) const;
  // The slot holding `key`, or the empty slot where it would go.
  size_t find(const void* key, bool& found) const;

  uint32_t keySize_, valueSize_, capacity_;
  bool array_;
  size_t stride_;  // hash: a used byte, the key, the value, 8-aligned
  size_t mask_ = 0;
  size_t count_ = 0;
  std::vector<uint8_t> slots_;
};

}  // namespace dptrace
