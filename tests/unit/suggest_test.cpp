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

// The length filter leaves the answer as a measure of every candidate gives
// it: the same word for each of many misspellings over a large list.
TEST(ClosestMatch, SkipsOnlyCandidatesTooFarApart) {
  std::vector<std::string> names;
  for (int i = 0; i < 3000; ++i) names.push_back("fn_" + std::to_string(i * 7919 % 100000) + std::string(i % 13, 'x'));
  names.insert(names.end(), {"vfs_read", "vfs_readv", "tcp_v4_rcv", "netif_receive_skb", "a", "ab"});
  auto everyOne = [&](std::string_view word) {
    std::string best;
    size_t bestDistance = SIZE_MAX;
    for (const std::string& c : names)
      if (size_t d = editDistance(word, c); d < bestDistance) bestDistance = d, best = c;
    return bestDistance <= std::max<size_t>(1, std::min(word.size(), best.size()) / 3) ? best : std::string();
  };
  for (std::string_view word : {"vfs_raed", "vfsread", "tcp_v4_rvc", "netif_recieve_skb", "fn_7919xx", "fn_1234",
                                "b", "abc", "x", "netif_receive_skb_list_internal", "fn_15838xxxxxxxxxxx"})
    EXPECT_EQ(closestMatch(word, names), everyOne(word)) << word;
  EXPECT_EQ(closestMatch("vfs_raed", names), "vfs_read");
}

}  // namespace
}  // namespace dptrace
