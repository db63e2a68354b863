// The text and JSON renderers from typed values. Expected texts are what
// bpftrace 0.17 printed on this machine for the same values.
#include <gtest/gtest.h>

#include <sstream>

#include "output.h"

namespace dptrace {
namespace {

std::string text(const MapSnapshot& m) {
  std::ostringstream out, err;
  makeTextOutput(out, err)->map(m);
  return out.str();
}

std::string json(const MapSnapshot& m) {
  std::ostringstream out;
  makeJsonOutput(out)->map(m);
  return out.str();
}

Histogram hist(std::initializer_list<std::pair<size_t, uint64_t>> buckets) {
  Histogram h;
  h.counts.assign(66, 0);
  for (auto [i, c] : buckets) h.counts[i] = c;
  return h;
}

TEST(TextOutput, ScalarAndKeyedMapsSortedByValue) {
  EXPECT_EQ(text({"c", {{{}, Value::uint(1)}}}), "@c: 1\n");
  EXPECT_EQ(text({"neg", {{{}, Value::sint(-5)}}}), "@neg: -5\n");
  MapSnapshot k{"k", {{{Value::uint(2), Value::str("cd")}, Value::uint(2)},
                      {{Value::uint(1), Value::str("ab")}, Value::uint(1)}}};
  EXPECT_EQ(text(k), "@k[1, ab]: 1\n@k[2, cd]: 2\n");
  MapSnapshot s{"str", {{{Value::str("x")}, Value::uint(3)}, {{Value::str("yy")}, Value::uint(1)}}};
  EXPECT_EQ(text(s), "@str[yy]: 1\n@str[x]: 3\n");
}

TEST(TextOutput, StatsAndAverage) {
  EXPECT_EQ(text({"st", {{{}, Stats{2, 30}}}}), "@st: count 2, average 15, total 30\n");
  EXPECT_EQ(text({"a", {{{}, Average{2, 15}}}}), "@a: 7\n");
}

TEST(TextOutput, HistogramFromFirstToLastNonEmptyBucket) {
  // hist(0), hist(1), hist(5) twice, hist(1000): bpftrace 0.17 printed these lines
  MapSnapshot h{"h", {{{}, hist({{1, 1}, {2, 1}, {4, 2}, {11, 1}})}}};
  std::string expected =
      "@h: \n"
      "[0]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n"
      "[1]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n"
      "[2, 4)                 0 |                                                    |\n"
      "[4, 8)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
      "[8, 16)                0 |                                                    |\n"
      "[16, 32)               0 |                                                    |\n"
      "[32, 64)               0 |                                                    |\n"
      "[64, 128)              0 |                                                    |\n"
      "[128, 256)             0 |                                                    |\n"
      "[256, 512)             0 |                                                    |\n"
      "[512, 1K)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n"
      "\n";
  EXPECT_EQ(text(h), expected);
}

TEST(TextOutput, KeyedHistogramsOnePerKey) {
  MapSnapshot h{"hk", {{{Value::uint(2)}, hist({{8, 2}})}, {{Value::uint(1)}, hist({{3, 1}})}}};
  EXPECT_EQ(text(h),
            "@hk[1]: \n"
            "[2, 4)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
            "\n"
            "@hk[2]: \n"
            "[64, 128)              2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
            "\n");
}

TEST(TextOutput, LinearHistogramWithBothOverflowBuckets) {
  LinearHistogram l{0, 100, 10, std::vector<uint64_t>(12, 0)};
  l.counts[0] = 1;   // -1
  l.counts[1] = 1;   // 5
  l.counts[6] = 1;   // 55
  l.counts[11] = 1;  // 150
  std::string out = text({"l", {{{}, l}}});
  EXPECT_EQ(out.substr(0, out.find('\n', out.find('\n') + 1) + 1),
            "@l: \n(..., 0)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n");
  EXPECT_NE(out.find("\n[50, 60)               1 |"), std::string::npos);
  EXPECT_NE(out.find("\n[100, ...)             1 |"), std::string::npos);
  EXPECT_NE(out.find("\n[90, 100)              0 |"), std::string::npos);
}

TEST(HistogramLabels, PowersOfTwoWithSuffixes) {
  EXPECT_EQ(histogramLabel(0), "(..., 0)");
  EXPECT_EQ(histogramLabel(1), "[0]");
  EXPECT_EQ(histogramLabel(2), "[1]");
  EXPECT_EQ(histogramLabel(3), "[2, 4)");
  EXPECT_EQ(histogramLabel(11), "[512, 1K)");
  EXPECT_EQ(histogramLabel(22), "[1M, 2M)");
}

TEST(JsonOutput, MapShapesOfBpftrace) {
  EXPECT_EQ(json({"c", {{{}, Value::uint(1)}}}), "{\"type\": \"map\", \"data\": {\"@c\": 1}}\n");
  MapSnapshot k{"k", {{{Value::uint(1), Value::str("ab")}, Value::uint(1)}, {{Value::uint(2), Value::str("cd")}, Value::uint(2)}}};
  EXPECT_EQ(json(k), "{\"type\": \"map\", \"data\": {\"@k\": {\"1,ab\": 1, \"2,cd\": 2}}}\n");
  EXPECT_EQ(json({"a", {{{}, Average{1, 7}}}}), "{\"type\": \"stats\", \"data\": {\"@a\": 7}}\n");
  EXPECT_EQ(json({"st", {{{}, Stats{1, 10}}}}),
            "{\"type\": \"stats\", \"data\": {\"@st\": {\"count\": 1, \"average\": 10, \"total\": 10}}}\n");
  Ipv4Address lo{{127, 0, 0, 1}};
  EXPECT_EQ(json({"ip", {{{}, Value{lo}}}}), "{\"type\": \"map\", \"data\": {\"@ip\": \"127.0.0.1\"}}\n");
  EXPECT_EQ(json({"empty", {}}), "");
}

TEST(JsonOutput, HistogramBucketsWithOpenEnds) {
  EXPECT_EQ(json({"h", {{{}, hist({{1, 1}, {4, 1}})}}}),
            "{\"type\": \"hist\", \"data\": {\"@h\": [{\"min\": 0, \"max\": 0, \"count\": 1}, "
            "{\"min\": 1, \"max\": 1, \"count\": 0}, {\"min\": 2, \"max\": 3, \"count\": 0}, "
            "{\"min\": 4, \"max\": 7, \"count\": 1}]}}\n");
  EXPECT_EQ(json({"hk", {{{Value::uint(1)}, hist({{3, 1}})}}}),
            "{\"type\": \"hist\", \"data\": {\"@hk\": {\"1\": [{\"min\": 2, \"max\": 3, \"count\": 1}]}}}\n");
  LinearHistogram l{0, 100, 10, std::vector<uint64_t>(12, 0)};
  l.counts[0] = 1;
  l.counts[11] = 1;
  std::string out = json({"l", {{{}, l}}});
  EXPECT_EQ(out.find("{\"type\": \"hist\", \"data\": {\"@l\": [{\"max\": -1, \"count\": 1}, {\"min\": 0, \"max\": 9, \"count\": 0}"), 0u);
  EXPECT_NE(out.find("{\"min\": 100, \"count\": 1}]}}\n"), std::string::npos);
}

TEST(JsonOutput, PrintfEventsAndAttachLinesAreOneObjectPerLine) {
  std::ostringstream out;
  auto o = makeJsonOutput(out);
  o->attached(1);
  o->printf("hi 5\n\"q\"\t");
  o->event("fentry:gtp5g:gtp5g_dev_xmit", {{"len", Value::uint(60)}, {"comm", Value::str("ping")}});
  EXPECT_EQ(out.str(),
            "{\"type\": \"attached_probes\", \"data\": {\"probes\": 1}}\n"
            "{\"type\": \"printf\", \"data\": \"hi 5\\n\\\"q\\\"\\t\"}\n"
            "{\"type\": \"event\", \"probe\": \"fentry:gtp5g:gtp5g_dev_xmit\", \"data\": {\"len\": 60, \"comm\": \"ping\"}}\n");
}

TEST(TextOutput, AttachingGoesToStderrAndEventsArePairs) {
  std::ostringstream out, err;
  auto o = makeTextOutput(out, err);
  o->attached(2);
  Ipv4Address src{{10, 0, 0, 1}};
  o->event("x", {{"teid", Value::uint(7)}, {"src", Value{src}}});
  EXPECT_EQ(err.str(), "Attaching 2 probes...\n");
  EXPECT_EQ(out.str(), "teid=7 src=10.0.0.1\n");
}

TEST(Values, Text) {
  MacAddress mac{{2, 0, 0, 0, 0, 1}};
  EXPECT_EQ(Value{mac}.text(), "02:00:00:00:00:01");
  Ipv6Address v6{};
  v6.bytes[0] = 0xfc;
  v6.bytes[15] = 1;
  EXPECT_EQ(Value{v6}.text(), "fc00::1");
  EXPECT_EQ(Value::tuple({Value::uint(1), Value::str("ab")}).text(), "(1, ab)");
}

TEST(FormatPrintf, ConversionsFlagsAndSizes) {
  EXPECT_EQ(formatPrintf("%d %s\n", {Value::sint(-3), Value::str("ab")}), "-3 ab\n");
  EXPECT_EQ(formatPrintf("%5lld|%-4u|%x|%08X", {Value::sint(42), Value::uint(7), Value::uint(255), Value::uint(48879)}),
            "   42|7   |ff|0000BEEF");
  EXPECT_EQ(formatPrintf("100%% %c %p", {Value::uint('A'), Value::uint(0x1000)}), "100% A 0x1000");
  Ipv4Address a{{10, 0, 0, 1}};
  EXPECT_EQ(formatPrintf("%s", {Value{a}}), "10.0.0.1");
  EXPECT_EQ(formatPrintf("%.2s|%5s", {Value::str("abcdef"), Value::str("x")}), "ab|    x");
  EXPECT_EQ(formatPrintf("%llu", {Value::uint(18446744073709551615ull)}), "18446744073709551615");
}

}  // namespace
}  // namespace dptrace
