// What each aggregation means, defined once: the layout of its BPF value,
// when a map is a per-CPU array instead of a hash, the buckets of hist() and
// lhist(), and the average. The code generator writes what this says, the
// map reader reads it, and every printer (text, JSON) labels with it.
// No LLVM here: the runtime links it.
#pragma once

#include <cstdint>
#include <string>
#include <optional>
#include <vector>

#include "sema/type.h"

namespace dptrace {

// How a map's BPF value is used.
enum class MapRole { Value, Count, Sum, Min, Max, Avg, Stats, Hist, Lhist };

MapRole roleOf(const Type& mapValue);  // Value for plain values; the aggregation's role otherwise

// ---- the BPF value of each role (per CPU for aggregations), in 8-byte words
//   count, hist, lhist: [0] the count
//   sum:                [0] the total (wraps at 64 bits, signed or not as its argument);
//                       in a per-CPU array also [1] the presence word (below)
//   min, max:           [0] the value, [1] the presence word: a value is held only
//                       where it is kPresent (min() and max() take the next value
//                       over anything else)
//   avg, stats:         [0] the count, [1] the total's low 64 bits, [2] its high 64 bits
//                       (a 128-bit total: the average of values >= 2^63 stays exact);
//                       in a per-CPU array also [3] the presence word
// A presence word is 0 in a slot nothing was stored in (not printed),
// kPresent once a value was stored, kZeroed after zero() (printed as 0, as a
// hash's zeroed entry is, by dptrace and by any reader of a pinned map). A
// count() has none: a zeroed count slot looks untouched to another reader.
uint32_t aggregationValueSize(MapRole role, bool array = false);
inline constexpr uint32_t kTotalLowWord = 8, kTotalHighWord = 16, kSetWord = 8;
inline constexpr uint64_t kPresent = 1, kZeroed = 2;
// Where the presence word of a role's value is, or 0 for none (count, hist,
// lhist; sum, avg and stats in a hash).
uint32_t presenceWord(MapRole role, bool array);

// ---- per-CPU arrays
// An aggregation (count, sum, min, max, avg, stats) keyed by nothing, by a
// bool or by one integer of up to 16 bits, or by constants only, is a per-CPU
// array indexed by the key (a signed key's two's complement: -1 is index 255
// of an 8-bit key), whose untouched slots are not printed: a count is zero
// there, the others have a word that says a value was stored (above). Maps a
// probe delete()s from stay hashes (a program cannot reset another CPU's
// slot), and so do hist() and lhist() (their key holds the bucket).
// The slots of the per-CPU array such a map becomes, or 0 for a hash:
// keyless 1; a bool key 2; an integer key of up to 8 bits 256, up to 16 bits
// 65,536 (its bits index the array); a wider integer key that every store
// into the map names by a constant below 65,536 (`largestConstant`, from all
// the script's stores), the largest + 1 (a read of another key finds no slot,
// as a hash finds no entry). An array takes at most kArrayBytesMost per CPU
// (slots times the value's size), whatever --map-size says: 65,536 counts
// take 512 KiB, 65,536 sums, mins or maxes 1 MiB; averages and stats of a
// 16-bit key (32 bytes a slot: 2 MiB) stay hashes.
uint32_t arraySlots(MapRole role, const std::vector<Type>& keys, bool deleted, std::optional<uint64_t> largestConstant);
inline constexpr uint64_t kArrayBytesMost = 1 << 20;
inline constexpr uint32_t kArraySlotsMost = 65536;
// Whether the key's own bits index the array (bool and up to 16-bit keys),
// rather than its value checked against the slots (constant keys).
bool arrayIndexedByBits(const std::vector<Type>& keys);

// ---- hist(): 66 buckets
//   [0] negative values (signed arguments only), [1] zero, [2] one,
//   [i] for i >= 3 the values in [2^(i-2), 2^(i-1)); [65] is [2^63, 2^64).
inline constexpr uint32_t kHistBuckets = 66;
uint32_t histogramBucket(uint64_t value, bool isSigned);  // the bucket a value goes to (the IR does the same)

struct BucketRange {
  enum class Kind { Below, Single, Range, AtLeast } kind;
  __int128 low = 0;   // Single: the value; Range: first value; AtLeast: first value
  __int128 high = 0;  // Range: one past the last value; Below: one past the last value
};
BucketRange histogramRange(uint32_t bucket);

// ---- lhist(value, min, max, step): buckets [0] below min, [1..n] the steps,
// [n+1] at or above max.
uint32_t linearBuckets(int64_t min, int64_t max, int64_t step);
BucketRange linearRange(int64_t min, int64_t max, int64_t step, uint32_t bucket, uint32_t buckets);

// ---- averages: the total divided by the count, rounded toward zero, in the
// argument's signedness (0 for no values).
__int128 averageOf(uint64_t count, __int128 total);

// Decimal text of a 128-bit integer.
std::string int128Text(__int128 v);

}  // namespace dptrace
