// Turns bison's "unexpected X, expected Y" into a message and a hint a
// student can act on. The parser calls this once per error it recovers from.
#include <algorithm>

#include "parse_context.h"

namespace dptrace {
namespace {

using Kind = Parser::symbol_kind_type;
using S = Parser::symbol_kind;

bool startsExpression(Kind k) {
  switch (k) {
    case S::S_INTEGER: case S::S_STRING: case S::S_IDENT: case S::S_VARIABLE: case S::S_MAP:
    case S::S_LPAREN: case S::S_MINUS: case S::S_NOT: case S::S_BNOT: case S::S_STAR:
    case S::S_INC: case S::S_DEC:
      return true;
    default:
      return false;
  }
}

bool startsStatement(Kind k) {
  switch (k) {
    case S::S_IF: case S::S_WHILE: case S::S_UNROLL: case S::S_BREAK: case S::S_CONTINUE:
    case S::S_RETURN:
      return true;
    default:
      return startsExpression(k);
  }
}

bool isAssignOp(Kind k) {
  switch (k) {
    case S::S_ASSIGN: case S::S_ADD_ASSIGN: case S::S_SUB_ASSIGN: case S::S_MUL_ASSIGN:
    case S::S_DIV_ASSIGN: case S::S_MOD_ASSIGN: case S::S_AND_ASSIGN: case S::S_OR_ASSIGN:
    case S::S_XOR_ASSIGN: case S::S_SHL_ASSIGN: case S::S_SHR_ASSIGN:
      return true;
    default:
      return false;
  }
}

// "a ',' or ')'" style list of what would have been accepted.
std::string describeExpected(const std::vector<Kind>& expected) {
  std::vector<std::string> parts;
  bool expression = std::any_of(expected.begin(), expected.end(), [](Kind k) { return k == S::S_IDENT; }) &&
                    std::any_of(expected.begin(), expected.end(), [](Kind k) { return k == S::S_INTEGER; });
  bool statement = expression &&
                   std::any_of(expected.begin(), expected.end(), [](Kind k) { return k == S::S_IF; });
  bool assignment = std::any_of(expected.begin(), expected.end(), [](Kind k) { return k == S::S_ADD_ASSIGN; });
  bool binaryOperator = std::any_of(expected.begin(), expected.end(), [](Kind k) { return k == S::S_LOR; });
  if (statement) parts.push_back("a statement");
  else if (expression) parts.push_back("an expression");
  if (binaryOperator) parts.push_back("an operator");
  for (Kind k : expected) {
    if ((expression && (startsExpression(k) || startsStatement(k))) || (assignment && isAssignOp(k))) continue;
    if (binaryOperator && k != S::S_SEMI && k != S::S_COMMA && k != S::S_RPAREN && k != S::S_RBRACKET &&
        k != S::S_PRED_END && k != S::S_COLON && k != S::S_RBRACE && k != S::S_PROBE_END && !isAssignOp(k))
      continue;
    if (isAssignOp(k) && k != S::S_ASSIGN) continue;
    parts.push_back(Parser::symbol_name(k));
  }
  if (assignment) parts.push_back("an assignment");
  if (parts.empty() || parts.size() > 5) return "";
  std::string out = parts[0];
  for (size_t i = 1; i < parts.size(); ++i) out += (i + 1 == parts.size() ? " or " : ", ") + parts[i];
  return out;
}

}  // namespace

void ParseContext::reportSyntaxError(const Parser::context& yyctx) {
  Kind found = yyctx.token();
  SourceRange at = yyctx.location();
  Kind buffer[64];
  int n = yyctx.expected_tokens(buffer, 64);
  std::vector<Kind> expected(buffer, buffer + std::max(n, 0));
  auto expects = [&](Kind k) { return std::find(expected.begin(), expected.end(), k) != expected.end(); };
  Kind previous = history[1];
  SourceRange previousRange = historyRange[1];

  std::string foundText;
  switch (found) {
    case S::S_YYEOF: foundText = "end of script"; break;
    case S::S_STRING: foundText = "string"; break;
    case S::S_ATTACH_SPEC: foundText = "attach point '" + std::string(textOf(at)) + "'"; break;
    default: {
      std::string t(textOf(at).substr(0, 32));
      foundText = t.empty() ? Parser::symbol_name(found) : "'" + t + "'";
    }
  }
  auto located = [&](SourceRange r, const std::string& message, const std::string& hint) {
    diags.error(r, message, hint);
  };
  SourceRange afterPrevious{previousRange.end, previousRange.end};

  // ---- the end of the script came too early
  if (found == S::S_YYEOF && mode == Mode::Predicate) {
    LineColumn p = file.lineColumn(predicateStart.begin);
    return located(at, "missing '/' at the end of the predicate that starts at line " + std::to_string(p.line) +
                           ", column " + std::to_string(p.column),
                   "a predicate is written between two slashes: /udp && udp.dport == 53/");
  }
  if (found == S::S_YYEOF && !openBraces.empty()) {
    LineColumn b = file.lineColumn(openBraces.back().begin);
    return located(at, "missing '}': the block opened at line " + std::to_string(b.line) + ", column " +
                           std::to_string(b.column) + " is not closed",
                   "every '{' needs a matching '}'");
  }

  // ---- top level
  if (found == S::S_PROBE_BEGIN && expects(S::S_ATTACH_SPEC) && !expects(S::S_COMMA))
    return located(at, "a probe needs an attach point before '{'",
                   "for example: BEGIN { ... }, xdp:veth0 { ... } or uprobe:./app:main { ... }");
  if (found == S::S_PRED_BEGIN && expects(S::S_ATTACH_SPEC) && !expects(S::S_COMMA))
    return located(at, "a predicate needs an attach point before it", "for example: xdp:veth0 /udp/ { ... }");
  if (found == S::S_ATTACH_SPEC && expects(S::S_COMMA))
    return located(afterPrevious, "expected ',' or '{' after attach point '" +
                                      std::string(textOf(previousRange)) + "'",
                   "attach points of one probe are separated by ',' (BEGIN, END { ... }); "
                   "each probe has its own { ... } block");
  if (found == S::S_RBRACE && expects(S::S_ATTACH_SPEC))
    return located(at, "unmatched '}' at the top level of the script", "remove it, or add the '{' it closes");

  // ---- predicates
  if (found == S::S_PRED_END && previous == S::S_PRED_BEGIN)
    return located(SourceRange::join(previousRange, at), "empty predicate",
                   "write a condition between the slashes, /pid == 42/, or remove them");
  if (found == S::S_PRED_END)
    return located(at, "expected an expression before the '/' that ends the predicate",
                   "a '/' inside a predicate ends it; to divide there, use parentheses: /(x / 2) == 1/");

  // ---- statements
  if (found == S::S_ELSE)
    return located(at, "'else' without a matching 'if'",
                   "'else' comes right after the '}' of an if block, with no ';' in between");
  if ((previous == S::S_IF || previous == S::S_WHILE || previous == S::S_UNROLL) && expects(S::S_LPAREN)) {
    std::string keyword(textOf(previousRange));
    std::string example = keyword == "unroll" ? "unroll (4) { ... }" : keyword + " (x > 0) { ... }";
    return located(at, "expected '(' after '" + keyword + "'", "the condition goes in parentheses: " + example);
  }
  if (expected.size() == 1 && expected[0] == S::S_LBRACE)
    return located(at, "expected '{' after the condition, found " + foundText,
                   "the body of if, else, while and unroll is always a block in braces, even for one statement");
  if (found == S::S_ASSIGN && !expects(S::S_ASSIGN))
    return located(at, "'=' assigns a value and cannot be used here", "to compare two values, use '=='");
  if (previous == S::S_IDENT && (found == S::S_STRING || found == S::S_INTEGER || found == S::S_VARIABLE) &&
      expects(S::S_SEMI))
    return located(at, "unexpected " + foundText + " after '" + std::string(textOf(previousRange)) + "'",
                   "a function call needs parentheses: printf(\"%d\\n\", x)");
  // "(name) x" where name is no type; "f(name) x" is a call and falls through to the ';' rule.
  if (history[4] != S::S_IDENT && history[3] == S::S_LPAREN && history[2] == S::S_IDENT &&
      previous == S::S_RPAREN && startsExpression(found))
    return located(at, "unexpected " + foundText + " after '(" + std::string(textOf(historyRange[2])) + ")'",
                   "'" + std::string(textOf(historyRange[2])) +
                       "' is not a type, so this is not a cast: cast to u8..u64, s8..s64, uint8_t..int64_t, "
                       "bool, or 'struct NAME *'");
  if (expects(S::S_SEMI) && startsStatement(found))
    return located(afterPrevious, "expected ';' after the statement, before " + foundText,
                   "statements in a block are separated by ';'");
  if (found == S::S_RBRACKET && previous == S::S_LBRACKET)
    return located(at, "empty '[]'", "a map without keys is written @name; with keys, @name[key1, key2]");
  if ((previous == S::S_ARROW || previous == S::S_DOT) && !startsExpression(found) && found != S::S_YYEOF)
    return located(at, "expected a field name after '" + std::string(textOf(previousRange)) + "', found " + foundText,
                   "for example: ip.src, args->skb, $t.0");
  if ((previous == S::S_ARROW || previous == S::S_DOT) && startsExpression(found) && !expects(found))
    return located(at, "expected a field name after '" + std::string(textOf(previousRange)) + "', found " + foundText,
                   "field names start with a letter or '_'");
  if (found == S::S_PROBE_END && expects(S::S_RPAREN))
    return located(at, "missing ')' before the end of the probe", "every '(' needs a matching ')'");

  std::string message = "unexpected " + foundText;
  std::string wanted = describeExpected(expected);
  if (!wanted.empty()) message += ", expected " + wanted;
  std::string hint;
  if (found == S::S_TYPE_NAME) hint = "'" + std::string(textOf(at)) + "' is a type name; it can only be used in a cast like (u32)x";
  else if (found == S::S_IF || found == S::S_WHILE || found == S::S_RETURN || found == S::S_BREAK)
    hint = "'" + std::string(textOf(at)) + "' is a keyword and starts a statement";
  located(at, message, hint);
}

}  // namespace dptrace
