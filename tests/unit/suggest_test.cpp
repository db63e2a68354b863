#include <gtest/gtest.h>

#include "suggest.h"

namespace dptrace {
namespace {

TEST(EditDistance, CountsEditsAndSwaps) {
  EXPECT_EQ(editDistance("", ""), 0u);
  EXPECT_EQ(editDistance("abc", ""), 3u);
  EXPECT_EQ(editDistance("printf", "printf"), 0u);
  EXPECT_EQ(editDistance("prnitf", "printf"), 1u);  // one swap
  EXPECT_EQ(editDistance("xpd", "xdp"), 1u);
  EXPECT_EQ(editDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(editDistance("begin", "BEGIN"), 0u);  // case is ignored
}

TEST(ClosestMatch, SuggestsOnlyLikelyTypos) {
  std::vector<std::string> names = {"count", "sum", "hist", "lhist", "printf"};
  EXPECT_EQ(closestMatch("cuont", names), "count");
  EXPECT_EQ(closestMatch("hsit", names), "hist");
  EXPECT_EQ(closestMatch("printk", names), "printf");
  EXPECT_EQ(closestMatch("frobnicate", names), "");
  EXPECT_EQ(closestMatch("x", names), "");
  EXPECT_EQ(closestMatch(std::string(100, 'a'), names), "");
}

}  // namespace
}  // namespace dptrace
