// State shared by the lexer and the parser while one script is parsed, and
// the helpers their actions call. Private to the parse stage.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "ast.h"
#include "diagnostics.h"
#include "parser.hh"

namespace dptrace {

struct ParseContext {
  enum class Mode { TopLevel, Predicate, Body };

  ParseContext(const SourceFile& f, Diagnostics& d) : file(f), diags(d) {}

  const SourceFile& file;
  Diagnostics& diags;
  std::vector<std::string> positional;  // $1, $2, ...
  ast::Program program;
  void* scanner = nullptr;

  // ---- lexer state
  Mode mode = Mode::TopLevel;
  uint32_t offset = 0;  // byte offset of the next character the lexer reads
  int parenDepth = 0;
  std::vector<SourceRange> openBraces;  // the outermost is the probe's
  SourceRange predicateStart;
  bool afterPredicate = false;  // a predicate just closed: only '{' may follow
  int commentReturnState = 0;
  SourceRange commentStart;
  SourceRange cDefinitionStart;
  std::string cDefinition;
  int cDefinitionDepth = 0;
  std::optional<Parser::symbol_type> pending;  // a token to hand out next

  // ---- parser-facing history: kinds of the last tokens, most recent first
  std::array<Parser::symbol_kind_type, 5> history{
      Parser::symbol_kind::S_YYEMPTY, Parser::symbol_kind::S_YYEMPTY, Parser::symbol_kind::S_YYEMPTY,
      Parser::symbol_kind::S_YYEMPTY, Parser::symbol_kind::S_YYEMPTY};
  std::array<SourceRange, 5> historyRange{};
  bool tooDeepReported = false;

  // ---- lexer actions
  Parser::symbol_type attachSpec(const char* text, SourceRange loc);
  Parser::symbol_type openProbe(SourceRange loc);
  Parser::symbol_type openPredicate(SourceRange loc);
  Parser::symbol_type openBrace(SourceRange loc);
  Parser::symbol_type closeBrace(SourceRange loc);
  Parser::symbol_type slash(SourceRange loc);
  Parser::symbol_type strayBrace(SourceRange loc);
  Parser::symbol_type preprocessorLine(const char* text, SourceRange loc);
  Parser::symbol_type integer(const char* text, SourceRange loc);
  Parser::symbol_type string(const char* text, SourceRange loc, bool terminated);
  Parser::symbol_type badVariable(const char* text, SourceRange loc);
  Parser::symbol_type endOfInput();
  void shebang(SourceRange loc);
  void junkAfterPredicate(SourceRange loc);
  void unexpectedTopLevel(const char* text, SourceRange loc);
  void unexpectedCharacter(const char* text, SourceRange loc);
  void beginComment(SourceRange loc, int returnState);
  void unterminatedComment();
  void beginCDefinition(SourceRange loc, const char* keyword);
  void cDefinitionText(const char* text, int depthChange);
  std::optional<Parser::symbol_type> cDefinitionSemicolon();
  // $N (a number or a string), $# (their count), str($N) (the text).
  Parser::symbol_type positionalParameter(const char* text, SourceRange loc);
  Parser::symbol_type positionalString(const char* text, SourceRange loc);
  // A '}' that ends a struct, union or enum without a ';' after it (not a typedef).
  std::optional<Parser::symbol_type> cDefinitionBrace();
  void unterminatedCDefinition();

  // ---- parser actions
  ast::ExprPtr checked(ast::ExprPtr e);
  ast::StmtPtr checked(ast::StmtPtr s);
  ast::ExprPtr binary(ast::BinaryOp op, ast::ExprPtr l, ast::ExprPtr r, SourceRange loc);
  ast::ExprPtr unary(ast::UnaryOp op, ast::ExprPtr e, SourceRange loc);
  ast::ExprPtr increment(ast::UnaryOp op, ast::ExprPtr e, SourceRange loc);
  ast::ExprPtr tupleIndex(ast::ExprPtr base, IntegerToken index, SourceRange indexLoc, SourceRange loc);
  ast::StmtPtr assignment(ast::AssignOp op, ast::ExprPtr target, ast::ExprPtr value, SourceRange loc);
  void reportSyntaxError(const Parser::context& yyctx);

  void remember(Parser::symbol_kind_type kind, SourceRange range);
  std::string_view textOf(SourceRange r) const;
};

Parser::symbol_type scanToken(void* scanner, ParseContext& ctx);
void* createScanner(ParseContext& ctx);
void destroyScanner(void* scanner);

}  // namespace dptrace
