#include <gtest/gtest.h>

#include <sstream>

#include "diagnostics.h"

namespace dptrace {
namespace {

TEST(RenderDiagnostic, LocationLineCaretAndHint) {
  SourceFile f("x.dpt", "BEGIN { @x = ; }\n");
  std::string out = renderDiagnostic(f, {Severity::Error, {13, 14}, "unexpected ';'", "write a value", {}}, false);
  EXPECT_EQ(out,
            "x.dpt:1:14: error: unexpected ';'\n"
            "BEGIN { @x = ; }\n"
            "             ^\n"
            "hint: write a value\n");
}

TEST(RenderDiagnostic, UnderlinesTheRestOfTheRange) {
  SourceFile f("x.dpt", "xpd:veth0 { }");
  std::string out = renderDiagnostic(f, {Severity::Error, {0, 3}, "unknown probe type 'xpd'", "", {}}, false);
  EXPECT_NE(out.find("\n^~~\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("hint:"), std::string::npos) << "no hint line without a hint";
}

TEST(RenderDiagnostic, RangeOverSeveralLinesUnderlinesToTheEndOfTheFirst) {
  SourceFile f("x.dpt", "ab cd\nef");
  std::string out = renderDiagnostic(f, {Severity::Error, {3, 8}, "m", "", {}}, false);
  EXPECT_NE(out.find("ab cd\n   ^~\n"), std::string::npos) << out;
}

TEST(RenderDiagnostic, TabsAreExpandedAndTheCaretFollows) {
  SourceFile f("x.dpt", "\tBEGIN\t{ x }");
  // 'x' is byte 9; on screen the line is "        BEGIN   { x }"
  std::string out = renderDiagnostic(f, {Severity::Error, {9, 10}, "m", "", {}}, false);
  EXPECT_NE(out.find("x.dpt:1:10:"), std::string::npos) << out;
  EXPECT_NE(out.find("\n        BEGIN   { x }\n                  ^\n"), std::string::npos) << out;
}

TEST(RenderDiagnostic, MultiByteCharactersTakeOneColumn) {
  SourceFile f("x.dpt", "\"\xc3\xa9\xc3\xa9\" bad");
  std::string out = renderDiagnostic(f, {Severity::Error, {7, 10}, "m", "", {}}, false);
  EXPECT_NE(out.find("x.dpt:1:6:"), std::string::npos) << out;
  EXPECT_NE(out.find("\n     ^~~\n"), std::string::npos) << out;
}

TEST(RenderDiagnostic, ControlCharactersAreNotEchoed) {
  SourceFile f("x.dpt", std::string("a\x1b[2Jb", 6));
  std::string out = renderDiagnostic(f, {Severity::Error, {1, 2}, "m", "", {}}, false);
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
}

TEST(RenderDiagnostic, EndOfFileOnAnEmptyLastLine) {
  SourceFile f("x.dpt", "BEGIN {\n");
  std::string out = renderDiagnostic(f, {Severity::Error, {8, 8}, "missing '}'", "", {}}, false);
  EXPECT_NE(out.find("x.dpt:2:1: error: missing '}'\n\n^\n"), std::string::npos) << out;
}

TEST(RenderDiagnostic, WarningsAndColour) {
  SourceFile f("x.dpt", "a");
  std::string plain = renderDiagnostic(f, {Severity::Warning, {0, 1}, "careful", "", {}}, false);
  EXPECT_NE(plain.find("x.dpt:1:1: warning: careful"), std::string::npos);
  std::string coloured = renderDiagnostic(f, {Severity::Error, {0, 1}, "m", "h", {}}, true);
  EXPECT_NE(coloured.find("\033[1;31merror:\033[0m"), std::string::npos);
  EXPECT_NE(coloured.find("\033[1;36mhint:\033[0m"), std::string::npos);
}

TEST(Diagnostics, KeepsOrderAndCountsErrorsOnly) {
  SourceFile f("x.dpt", "abc\ndef");
  Diagnostics d(f);
  d.warning({0, 1}, "first");
  EXPECT_FALSE(d.hasErrors());
  d.error({4, 5}, "second");
  d.error({1, 2}, "third");
  EXPECT_EQ(d.errorCount(), 2u);
  std::ostringstream out;
  d.print(out, false);
  std::string s = out.str();
  EXPECT_LT(s.find("first"), s.find("second"));
  EXPECT_LT(s.find("second"), s.find("third"));
  EXPECT_NE(s.find("x.dpt:2:1: error: second"), std::string::npos);
}

}  // namespace
}  // namespace dptrace
