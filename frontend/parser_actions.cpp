// What the grammar's actions call: node construction with the nesting limit,
// the checks on assignment targets, and the parse stage's entry point.
#include <cctype>

#include "parse.h"
#include "parse_context.h"
#include "sema/writes.h"

namespace dptrace {

ast::ExprPtr ParseContext::checked(ast::ExprPtr e) {
  if (e->depth <= ast::kMaxNesting) return e;
  if (!tooDeepReported)
    diags.error(e->range, "expression nested more than " + std::to_string(ast::kMaxNesting) + " levels deep",
                "split it into steps with scratch variables");
  tooDeepReported = true;
  return std::make_unique<ast::Integer>(0, "0", e->range);
}

ast::StmtPtr ParseContext::checked(ast::StmtPtr s) {
  if (s->depth <= ast::kMaxNesting) return s;
  if (!tooDeepReported)
    diags.error(s->range, "statements nested more than " + std::to_string(ast::kMaxNesting) + " levels deep",
                "flatten the nested blocks");
  tooDeepReported = true;
  return std::make_unique<ast::Jump>(ast::JumpKind::Return, s->range);
}

ast::ExprPtr ParseContext::binary(ast::BinaryOp op, ast::ExprPtr l, ast::ExprPtr r, SourceRange loc) {
  return checked(std::make_unique<ast::Binary>(op, std::move(l), std::move(r), loc));
}

ast::ExprPtr ParseContext::unary(ast::UnaryOp op, ast::ExprPtr e, SourceRange loc) {
  return checked(std::make_unique<ast::Unary>(op, std::move(e), loc));
}

ast::ExprPtr ParseContext::increment(ast::UnaryOp op, ast::ExprPtr e, SourceRange loc) {
  if (!hasWritableShape(*e)) {
    bool increments = op == ast::UnaryOp::PreIncrement || op == ast::UnaryOp::PostIncrement;
    diags.error(e->range, std::string("cannot ") + (increments ? "increment" : "decrement") + " this expression",
                notWritableHint(*e));
  }
  return unary(op, std::move(e), loc);
}

ast::ExprPtr ParseContext::tupleIndex(ast::ExprPtr base, IntegerToken index, SourceRange indexLoc,
                                      SourceRange loc) {
  if (index.value > 255 || index.text.size() > 3 || index.text.find_first_not_of("0123456789") != std::string::npos)
    diags.error(indexLoc, "invalid tuple index '" + index.text + "'",
                "tuple elements are numbered from 0 in decimal: $t.0, $t.1");
  return checked(std::make_unique<ast::TupleIndex>(std::move(base), static_cast<uint32_t>(index.value & 0xff), loc));
}

ast::StmtPtr ParseContext::assignment(ast::AssignOp op, ast::ExprPtr target, ast::ExprPtr value, SourceRange loc) {
  if (!hasWritableShape(*target))
    diags.error(target->range, std::string("cannot assign to this expression with '") + ast::spelling(op) + "'",
                notWritableHint(*target));
  return checked(std::make_unique<ast::Assign>(op, std::move(target), std::move(value), loc));
}

Parser::symbol_type yylex(ParseContext& ctx) {
  Parser::symbol_type token = ctx.pending ? std::move(*ctx.pending) : scanToken(ctx.scanner, ctx);
  ctx.pending.reset();
  ctx.remember(token.kind(), token.location);
  return token;
}

ast::Program parse(const SourceFile& file, Diagnostics& diags, const std::vector<std::string>& args) {
  ParseContext ctx(file, diags);
  ctx.positional = args;
  struct ScannerGuard {
    void* scanner;
    ~ScannerGuard() { destroyScanner(scanner); }
  } guard{createScanner(ctx)};
  ctx.scanner = guard.scanner;
  Parser parser(ctx);
  parser.parse();
  // $N in an attach point stands for the parameter's text, as in bpftrace:
  // uprobe:$1:malloc, tracepoint:syscalls:sys_enter_$2.
  for (ast::Probe& probe : ctx.program.probes)
    for (ast::AttachPoint& ap : probe.attachPoints) {
      std::string out;
      for (size_t i = 0; i < ap.raw.size(); ++i) {
        if (ap.raw[i] != '$' || i + 1 >= ap.raw.size() || !std::isdigit(static_cast<unsigned char>(ap.raw[i + 1]))) {
          out += ap.raw[i];
          continue;
        }
        size_t end = i + 1;
        while (end < ap.raw.size() && std::isdigit(static_cast<unsigned char>(ap.raw[end]))) ++end;
        size_t n = std::stoul(ap.raw.substr(i + 1, std::min<size_t>(end - i - 1, 9)));
        if (n == 0 || n > args.size()) {
          SourceRange where{ap.range.begin + static_cast<uint32_t>(i), ap.range.begin + static_cast<uint32_t>(end)};
          diags.error(where, "there is no positional parameter $" + std::to_string(n) + " for this attach point",
                      args.empty() ? "give it after the script: dptrace script.bt WORD..."
                                   : args.size() == 1 ? "there is one: $1"
                                                      : "there are " + std::to_string(args.size()) + ": $1 to $" + std::to_string(args.size()));
        } else {
          out += args[n - 1];
        }
        i = end - 1;
      }
      ap.raw = out;
    }
  return std::move(ctx.program);
}

}  // namespace dptrace
