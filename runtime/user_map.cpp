// Open addressing with linear probing in a table of twice the capacity
// (rounded up to a power of two), deletion by backward shift: no tombstones,
// so a map that churns never slows down.
#include "user_map.h"

#include <cstring>

namespace dptrace {
namespace {

size_t alignUp8(size_t v) { return (v + 7) / 8 * 8; }

}  // namespace

UserMap::UserMap(uint32_t keySize, uint32_t valueSize, uint32_t capacity, bool array)
    : keySize_(keySize), valueSize_(valueSize), capacity_(capacity), array_(array) {
  if (array_) {
    stride_ = alignUp8(valueSize_);
    slots_.assign(stride_ * capacity_, 0);
    return;
  }
  stride_ = 8 + alignUp8(keySize_) + alignUp8(valueSize_);
  size_t table = 2;
  while (table < 2 * static_cast<size_t>(capacity_)) table *= 2;
  mask_ = table - 1;
  slots_.assign(stride_ * table, 0);
}

size_t UserMap::home(const void* key) const {
  // 64-bit words mixed with a multiply and a rotate; the tail byte by byte.
  const auto* p = static_cast<const uint8_t*>(key);
  uint64_t h = 0x9e3779b97f4a7c15ull ^ keySize_;
  size_t i = 0;
  for (; i + 8 <= keySize_; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h = (h << 31) | (h >> 33);
  }
  for (; i < keySize_; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  h ^= h >> 29;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 32;
  return static_cast<size_t>(h) & mask_;
}

size_t UserMap::find(const void* key, bool& found) const {
  for (size_t i = home(key);; i = (i + 1) & mask_) {
    const uint8_t* s = slot(i);
    if (s[0] == 0) {
      found = false;
      return i;
    }
    if (std::memcmp(s + 8, key, keySize_) == 0) {
      found = true;
      return i;
    }
  }
}

void* UserMap::lookup(const void* key) {
  if (array_) {
    uint32_t index;
    std::memcpy(&index, key, 4);
    return index < capacity_ ? slot(index) : nullptr;
  }
  bool found;
  size_t i = find(key, found);
  return found ? slot(i) + 8 + alignUp8(keySize_) : nullptr;
}

bool UserMap::update(const void* key, const void* value) {
  if (void* v = lookup(key)) {
    std::memcpy(v, value, valueSize_);
    return true;
  }
  if (array_ || count_ >= capacity_) return false;
  bool found;
  uint8_t* s = slot(find(key, found));
  s[0] = 1;
  std::memcpy(s + 8, key, keySize_);
  std::memcpy(s + 8 + alignUp8(keySize_), value, valueSize_);
  ++count_;
  return true;
}

bool UserMap::remove(const void* key) {
  if (array_) {
    void* v = lookup(key);
    if (v) std::memset(v, 0, valueSize_);
    return v != nullptr;
  }
  bool found;
  size_t hole = find(key, found);
  if (!found) return false;
  // Backward shift: pull later entries of the run into the hole when the
  // hole lies between their home and where they sit.
  for (size_t i = (hole + 1) & mask_;; i = (i + 1) & mask_) {
    uint8_t* s = slot(i);
    if (s[0] == 0) break;
    size_t h = home(s + 8);
    bool movable = ((i - h) & mask_) >= ((i - hole) & mask_);
    if (movable) {
      std::memcpy(slot(hole), s, stride_);
      hole = i;
    }
  }
  std::memset(slot(hole), 0, stride_);
  --count_;
  return true;
}

std::vector<std::vector<uint8_t>> UserMap::keys() const {
  std::vector<std::vector<uint8_t>> out;
  if (array_) {
    for (uint32_t i = 0; i < capacity_; ++i) {
      std::vector<uint8_t> k(keySize_, 0);
      std::memcpy(k.data(), &i, std::min<size_t>(4, keySize_));
      out.push_back(std::move(k));
    }
    return out;
  }
  for (size_t i = 0; i <= mask_; ++i)
    if (slot(i)[0]) out.emplace_back(slot(i) + 8, slot(i) + 8 + keySize_);
  return out;
}

}  // namespace dptrace
