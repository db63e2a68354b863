// aggregation.h: the one definition of buckets and averages that the code
// generator, the map reader and both printers follow.
#include <gtest/gtest.h>

#include "aggregation.h"
#include "output.h"

namespace dptrace {
namespace {

TEST(Aggregation, HistogramBucketOfEveryPowerOfTwo) {
  EXPECT_EQ(histogramBucket(0, false), 1u);
  EXPECT_EQ(histogramBucket(1, false), 2u);
  EXPECT_EQ(histogramBucket(static_cast<uint64_t>(-1), true), 0u);
  EXPECT_EQ(histogramBucket(static_cast<uint64_t>(-1), false), kHistBuckets - 1);
  for (uint32_t bit = 1; bit < 64; ++bit) {
    uint64_t v = uint64_t{1} << bit;
    uint32_t b = histogramBucket(v, false);
    BucketRange r = histogramRange(b);
    ASSERT_EQ(r.kind, BucketRange::Kind::Range) << v;
    EXPECT_TRUE(r.low <= v && v < r.high) << v;
    EXPECT_EQ(histogramBucket(v - 1, false), b - 1) << v;  // the bucket below ends right before
  }
}

TEST(Aggregation, TopBucketEndsAtTwoToThe64) {
  BucketRange top = histogramRange(kHistBuckets - 1);
  EXPECT_EQ(int128Text(top.low), "9223372036854775808");
  EXPECT_EQ(int128Text(top.high), "18446744073709551616");
  EXPECT_EQ(histogramLabel(kHistBuckets - 1), "[8E, 16E)");
}

TEST(Aggregation, LinearBucketsCutTheLastStepAtMax) {
  uint32_t n = linearBuckets(0, 25, 10);
  EXPECT_EQ(n, 5u);  // below, [0,10), [10,20), [20,25), at or above 25
  EXPECT_EQ(linearRange(0, 25, 10, 0, n).kind, BucketRange::Kind::Below);
  BucketRange last = linearRange(0, 25, 10, 3, n);
  EXPECT_EQ(int128Text(last.low) + " " + int128Text(last.high), "20 25");
  EXPECT_EQ(linearRange(0, 25, 10, 4, n).kind, BucketRange::Kind::AtLeast);
}

TEST(Aggregation, AveragesRoundTowardZeroIn128Bits) {
  EXPECT_EQ(int128Text(averageOf(2, -13)), "-6");
  EXPECT_EQ(int128Text(averageOf(0, 5)), "0");
  __int128 two = static_cast<__int128>(UINT64_MAX) * 2;
  EXPECT_EQ(int128Text(averageOf(2, two)), "18446744073709551615");
}

TEST(Aggregation, SmallKeysMakeAnArray) {
  EXPECT_EQ(arraySlots(MapRole::Count, {}, false, std::nullopt), 1u);
  EXPECT_EQ(arraySlots(MapRole::Count, {Type::boolean()}, false, std::nullopt), 2u);
  EXPECT_EQ(arraySlots(MapRole::Count, {Type::integer(8, true)}, false, std::nullopt), 256u);
  EXPECT_EQ(arraySlots(MapRole::Count, {Type::integer(16, false)}, false, std::nullopt), 65536u);
  EXPECT_EQ(arraySlots(MapRole::Count, {Type::integer(8, true)}, true, std::nullopt), 0u);  // delete() needs a hash
  EXPECT_EQ(arraySlots(MapRole::Count, {Type::integer(32, false)}, false, std::nullopt), 0u);
  EXPECT_EQ(arraySlots(MapRole::Count, {Type::integer(64, true)}, false, 3), 4u);  // stored under 0..3 only
  EXPECT_EQ(arraySlots(MapRole::Count, {Type::integer(64, true)}, false, 65536), 0u);
  // The other aggregations too, within 1 MiB a CPU; hist() and lhist() keep the bucket in the key.
  EXPECT_EQ(arraySlots(MapRole::Sum, {}, false, std::nullopt), 1u);
  EXPECT_EQ(arraySlots(MapRole::Sum, {Type::integer(16, false)}, false, std::nullopt), 65536u);  // 16 B: 1 MiB
  EXPECT_EQ(arraySlots(MapRole::Max, {Type::integer(16, true)}, false, std::nullopt), 65536u);
  EXPECT_EQ(arraySlots(MapRole::Avg, {Type::integer(16, false)}, false, std::nullopt), 0u);  // 32 B: 2 MiB
  EXPECT_EQ(arraySlots(MapRole::Stats, {Type::integer(8, false)}, false, std::nullopt), 256u);
  EXPECT_EQ(arraySlots(MapRole::Avg, {Type::integer(64, false)}, false, 30000), 30001u);  // 938 KiB
  EXPECT_EQ(arraySlots(MapRole::Avg, {Type::integer(64, false)}, false, 40000), 0u);
  EXPECT_EQ(arraySlots(MapRole::Hist, {}, false, std::nullopt), 0u);
  EXPECT_EQ(arraySlots(MapRole::Value, {}, false, std::nullopt), 0u);
  EXPECT_EQ(aggregationValueSize(MapRole::Sum, true), 16u);  // the total and its "stored" word
  EXPECT_EQ(aggregationValueSize(MapRole::Sum), 8u);
  EXPECT_EQ(aggregationValueSize(MapRole::Avg, true), 32u);  // and its presence word
  EXPECT_EQ(presenceWord(MapRole::Avg, true), 24u);
  EXPECT_EQ(presenceWord(MapRole::Count, true), 0u);
  EXPECT_TRUE(arrayIndexedByBits({Type::integer(16, true)}));
  EXPECT_FALSE(arrayIndexedByBits({Type::integer(64, true)}));
}

}  // namespace
}  // namespace dptrace
