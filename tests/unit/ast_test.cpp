#include <gtest/gtest.h>

#include <sstream>

#include "ast.h"
#include "ast_printer.h"
#include "parse.h"

namespace dptrace {
namespace {

TEST(Ast, DepthGrowsWithNesting) {
  auto leaf = [] { return std::make_unique<ast::Integer>(1, "1", SourceRange{}); };
  auto sum = std::make_unique<ast::Binary>(ast::BinaryOp::Add, leaf(), leaf(), SourceRange{});
  EXPECT_EQ(sum->depth, 2u);
  auto neg = std::make_unique<ast::Unary>(ast::UnaryOp::Negate, std::move(sum), SourceRange{});
  EXPECT_EQ(neg->depth, 3u);
  ast::ExprStmt stmt(std::move(neg), {});
  EXPECT_EQ(stmt.depth, 4u);
}

TEST(Ast, TypeNameSpelling) {
  ast::TypeName t{ast::TypeName::Kind::Struct, "rte_mbuf", 2, {}};
  EXPECT_EQ(t.spelling(), "struct rte_mbuf **");
  ast::TypeName u{ast::TypeName::Kind::Builtin, "u32", 0, {}};
  EXPECT_EQ(u.spelling(), "u32");
}

TEST(AstPrinter, QuotesStringsAsScriptsWriteThem) {
  EXPECT_EQ(quoteString("a\n\"b\"\\"), "\"a\\n\\\"b\\\"\\\\\"");
  EXPECT_EQ(quoteString(std::string("\x01\xff", 2)), "\"\\x01\\xff\"");
}

TEST(AstPrinter, IndentsChildrenTwoSpacesPerLevel) {
  SourceFile f("t.dpt", "BEGIN { @x[1] = -2; }");
  Diagnostics d(f);
  ast::Program p = parse(f, d);
  ASSERT_FALSE(d.hasErrors());
  std::ostringstream out;
  printAst(p, out);
  EXPECT_EQ(out.str(),
            "program\n"
            "  probe\n"
            "    attach ?  (BEGIN)\n"  // attach points are not resolved here
            "    block\n"
            "      assign =\n"
            "        map @x\n"
            "          integer 1\n"
            "        unary -\n"
            "          integer 2\n");
}

}  // namespace
}  // namespace dptrace
