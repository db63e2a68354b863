#include "aggregation.h"

#include <algorithm>

namespace dptrace {

MapRole roleOf(const Type& value) {
  if (!value.is(TypeKind::Aggregation)) return MapRole::Value;
  switch (value.aggregationKind()) {
    case Aggregation::Count: return MapRole::Count;
    case Aggregation::Sum: return MapRole::Sum;
    case Aggregation::Min: return MapRole::Min;
    case Aggregation::Max: return MapRole::Max;
    case Aggregation::Avg: return MapRole::Avg;
    case Aggregation::Stats: return MapRole::Stats;
    case Aggregation::Hist: return MapRole::Hist;
    case Aggregation::Lhist: return MapRole::Lhist;
  }
  return MapRole::Value;
}

uint32_t aggregationValueSize(MapRole role, bool array) {
  switch (role) {
    case MapRole::Sum: return array ? 16 : 8;
    case MapRole::Count:
    case MapRole::Hist:
    case MapRole::Lhist: return 8;
    case MapRole::Min:
    case MapRole::Max: return 16;
    case MapRole::Avg:
    case MapRole::Stats: return array ? 32 : 24;
    case MapRole::Value: return 0;  // the value's own slot size
  }
  return 0;
}

uint32_t presenceWord(MapRole role, bool array) {
  switch (role) {
    case MapRole::Min:
    case MapRole::Max: return kSetWord;
    case MapRole::Sum: return array ? 8 : 0;
    case MapRole::Avg:
    case MapRole::Stats: return array ? 24 : 0;
    default: return 0;
  }
}

namespace {

uint32_t keySlots(const std::vector<Type>& keys, std::optional<uint64_t> largestConstant) {
  if (keys.empty()) return 1;
  if (keys.size() != 1) return 0;
  const Type& k = keys[0];
  if (k.is(TypeKind::Bool)) return 2;
  if (!k.is(TypeKind::Integer)) return 0;
  if (k.bits() <= 8) return 256;
  if (k.bits() <= 16) return kArraySlotsMost;
  if (largestConstant && *largestConstant < kArraySlotsMost) return static_cast<uint32_t>(*largestConstant) + 1;
  return 0;
}

}  // namespace

uint32_t arraySlots(MapRole role, const std::vector<Type>& keys, bool deleted, std::optional<uint64_t> largestConstant) {
  bool aggregates = role == MapRole::Count || role == MapRole::Sum || role == MapRole::Min || role == MapRole::Max ||
                    role == MapRole::Avg || role == MapRole::Stats;
  if (!aggregates || deleted) return 0;
  uint64_t slots = keySlots(keys, largestConstant);
  return slots * aggregationValueSize(role, true) <= kArrayBytesMost ? static_cast<uint32_t>(slots) : 0;
}

bool arrayIndexedByBits(const std::vector<Type>& keys) {
  return !keys.empty() && (keys[0].is(TypeKind::Bool) || (keys[0].is(TypeKind::Integer) && keys[0].bits() <= 16));
}

uint32_t histogramBucket(uint64_t value, bool isSigned) {
  if (isSigned && static_cast<int64_t>(value) < 0) return 0;
  if (value == 0) return 1;
  uint32_t log = 63 - static_cast<uint32_t>(__builtin_clzll(value));
  return log + 2;
}

BucketRange histogramRange(uint32_t bucket) {
  if (bucket == 0) return {BucketRange::Kind::Below, 0, 0};
  if (bucket == 1) return {BucketRange::Kind::Single, 0, 0};
  if (bucket == 2) return {BucketRange::Kind::Single, 1, 0};
  __int128 low = static_cast<__int128>(1) << (bucket - 2);
  return {BucketRange::Kind::Range, low, low * 2};
}

uint32_t linearBuckets(int64_t min, int64_t max, int64_t step) {
  step = std::max<int64_t>(step, 1);
  return static_cast<uint32_t>((max - min + step - 1) / step) + 2;
}

BucketRange linearRange(int64_t min, int64_t max, int64_t step, uint32_t bucket, uint32_t buckets) {
  if (bucket == 0) return {BucketRange::Kind::Below, 0, min};
  if (bucket + 1 >= buckets) return {BucketRange::Kind::AtLeast, max, 0};
  __int128 low = static_cast<__int128>(min) + static_cast<__int128>(bucket - 1) * step;
  // The last step may be cut short by max: lhist(x, 0, 25, 10) has [20, 25).
  return {BucketRange::Kind::Range, low, std::min<__int128>(low + step, max)};
}

__int128 averageOf(uint64_t count, __int128 total) {
  return count == 0 ? 0 : total / static_cast<__int128>(count);
}

std::string int128Text(__int128 v) {
  if (v == 0) return "0";
  bool negative = v < 0;
  unsigned __int128 u = negative ? -static_cast<unsigned __int128>(v) : static_cast<unsigned __int128>(v);
  std::string digits;
  while (u != 0) {
    digits += static_cast<char>('0' + static_cast<int>(u % 10));
    u /= 10;
  }
  if (negative) digits += '-';
  std::reverse(digits.begin(), digits.end());
  return digits;
}

}  // namespace dptrace
