#include <gtest/gtest.h>

#include "source.h"

namespace dptrace {
namespace {

TEST(SourceFile, LineAndColumnOfOffsets) {
  SourceFile f("s.dpt", "ab\ncde\n\nf");
  EXPECT_EQ(f.lineColumn(0).line, 1u);
  EXPECT_EQ(f.lineColumn(0).column, 1u);
  EXPECT_EQ(f.lineColumn(2).column, 3u);  // the '\n' itself ends line 1
  EXPECT_EQ(f.lineColumn(3).line, 2u);
  EXPECT_EQ(f.lineColumn(5).column, 3u);
  EXPECT_EQ(f.lineColumn(7).line, 3u);
  EXPECT_EQ(f.lineColumn(8).line, 4u);
  EXPECT_EQ(f.lineCount(), 4u);
}

TEST(SourceFile, OffsetsPastTheEndAreClamped) {
  SourceFile f("s.dpt", "ab");
  EXPECT_EQ(f.lineColumn(100).line, 1u);
  EXPECT_EQ(f.lineColumn(100).column, 3u);
}

TEST(SourceFile, ColumnsCountCharactersNotBytes) {
  SourceFile f("s.dpt", "\"\xc3\xa9t\xc3\xa9\" x");  // "été" x
  EXPECT_EQ(f.lineColumn(8).column, 7u);  // the x: 7 bytes of quotes and letters before it, 6 characters
}

TEST(SourceFile, LineTextDropsLineBreaks) {
  SourceFile f("s.dpt", "one\r\ntwo\nthree");
  EXPECT_EQ(f.lineText(1), "one");
  EXPECT_EQ(f.lineText(2), "two");
  EXPECT_EQ(f.lineText(3), "three");
  EXPECT_EQ(f.lineText(4), "");
  EXPECT_EQ(f.lineText(0), "");
}

TEST(SourceRange, JoinCoversBoth) {
  SourceRange r = SourceRange::join({4, 6}, {1, 2});
  EXPECT_EQ(r.begin, 1u);
  EXPECT_EQ(r.end, 6u);
}

TEST(CountCharacters, SkipsContinuationBytes) {
  EXPECT_EQ(countCharacters(""), 0u);
  EXPECT_EQ(countCharacters("abc"), 3u);
  EXPECT_EQ(countCharacters("\xe2\x82\xac"), 1u);  // one euro sign, three bytes
}

}  // namespace
}  // namespace dptrace
