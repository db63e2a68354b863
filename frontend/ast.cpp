#include "ast.h"

#include <algorithm>

namespace dptrace::ast {
namespace {

uint32_t depthOf(const ExprPtr& e) { return e ? e->depth : 0; }

uint32_t deepest(const std::vector<ExprPtr>& es) {
  uint32_t d = 0;
  for (const ExprPtr& e : es) d = std::max(d, depthOf(e));
  return d;
}

}  // namespace

Map::Map(std::string n, std::vector<ExprPtr> k, SourceRange r)
    : Expr(ExprKind::Map, r), name(std::move(n)), keys(std::move(k)) {
  depth = 1 + deepest(keys);
}

Unary::Unary(UnaryOp o, ExprPtr e, SourceRange r)
    : Expr(ExprKind::Unary, r), op(o), operand(std::move(e)) {
  depth = 1 + depthOf(operand);
}

Binary::Binary(BinaryOp o, ExprPtr l, ExprPtr rr, SourceRange r)
    : Expr(ExprKind::Binary, r), op(o), lhs(std::move(l)), rhs(std::move(rr)) {
  depth = 1 + std::max(depthOf(lhs), depthOf(rhs));
}

Ternary::Ternary(ExprPtr c, ExprPtr t, ExprPtr e, SourceRange r)
    : Expr(ExprKind::Ternary, r), cond(std::move(c)), then(std::move(t)), otherwise(std::move(e)) {
  depth = 1 + std::max({depthOf(cond), depthOf(then), depthOf(otherwise)});
}

Field::Field(ExprPtr b, std::string f, bool a, SourceRange r)
    : Expr(ExprKind::Field, r), base(std::move(b)), field(std::move(f)), arrow(a) {
  depth = 1 + depthOf(base);
}

TupleIndex::TupleIndex(ExprPtr b, uint32_t i, SourceRange r)
    : Expr(ExprKind::TupleIndex, r), base(std::move(b)), index(i) {
  depth = 1 + depthOf(base);
}

Index::Index(ExprPtr b, ExprPtr i, SourceRange r)
    : Expr(ExprKind::Index, r), base(std::move(b)), index(std::move(i)) {
  depth = 1 + std::max(depthOf(base), depthOf(index));
}

Call::Call(std::string c, SourceRange cr, std::vector<Argument> a, SourceRange r)
    : Expr(ExprKind::Call, r), callee(std::move(c)), calleeRange(cr), args(std::move(a)) {
  for (const Argument& arg : args) depth = std::max(depth, 1 + depthOf(arg.value));
}

Cast::Cast(TypeName t, ExprPtr e, SourceRange r)
    : Expr(ExprKind::Cast, r), type(std::move(t)), operand(std::move(e)) {
  depth = 1 + depthOf(operand);
}

Tuple::Tuple(std::vector<ExprPtr> e, SourceRange r)
    : Expr(ExprKind::Tuple, r), elements(std::move(e)) {
  depth = 1 + deepest(elements);
}

std::string TypeName::spelling() const {
  std::string s;
  switch (kind) {
    case Kind::Builtin: break;
    case Kind::Struct: s = "struct "; break;
    case Kind::Union: s = "union "; break;
    case Kind::Enum: s = "enum "; break;
  }
  s += name;
  if (pointers > 0) s += " " + std::string(pointers, '*');
  return s;
}

uint32_t Block::depth() const {
  uint32_t d = 0;
  for (const StmtPtr& s : stmts) d = std::max(d, s ? s->depth : 0);
  return d;
}

ExprStmt::ExprStmt(ExprPtr e, SourceRange r) : Stmt(StmtKind::Expr, r), expr(std::move(e)) {
  depth = 1 + depthOf(expr);
}

Assign::Assign(AssignOp o, ExprPtr t, ExprPtr v, SourceRange r)
    : Stmt(StmtKind::Assign, r), op(o), target(std::move(t)), value(std::move(v)) {
  depth = 1 + std::max(depthOf(target), depthOf(value));
}

If::If(ExprPtr c, Block t, std::optional<Block> e, SourceRange r)
    : Stmt(StmtKind::If, r), cond(std::move(c)), then(std::move(t)), otherwise(std::move(e)) {
  depth = 1 + std::max({depthOf(cond), then.depth(), otherwise ? otherwise->depth() : 0});
}

While::While(ExprPtr c, Block b, SourceRange r)
    : Stmt(StmtKind::While, r), cond(std::move(c)), body(std::move(b)) {
  depth = 1 + std::max(depthOf(cond), body.depth());
}

Unroll::Unroll(ExprPtr n, Block b, SourceRange r)
    : Stmt(StmtKind::Unroll, r), count(std::move(n)), body(std::move(b)) {
  depth = 1 + std::max(depthOf(count), body.depth());
}

const char* spelling(UnaryOp op) {
  switch (op) {
    case UnaryOp::Negate: return "-";
    case UnaryOp::Not: return "!";
    case UnaryOp::BitNot: return "~";
    case UnaryOp::Deref: return "*";
    case UnaryOp::PreIncrement: return "++ (prefix)";
    case UnaryOp::PreDecrement: return "-- (prefix)";
    case UnaryOp::PostIncrement: return "++ (postfix)";
    case UnaryOp::PostDecrement: return "-- (postfix)";
  }
  return "?";
}

const char* spelling(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: return "+";
    case BinaryOp::Sub: return "-";
    case BinaryOp::Mul: return "*";
    case BinaryOp::Div: return "/";
    case BinaryOp::Mod: return "%";
    case BinaryOp::BitAnd: return "&";
    case BinaryOp::BitOr: return "|";
    case BinaryOp::BitXor: return "^";
    case BinaryOp::Shl: return "<<";
    case BinaryOp::Shr: return ">>";
    case BinaryOp::Eq: return "==";
    case BinaryOp::Ne: return "!=";
    case BinaryOp::Lt: return "<";
    case BinaryOp::Le: return "<=";
    case BinaryOp::Gt: return ">";
    case BinaryOp::Ge: return ">=";
    case BinaryOp::LogicalAnd: return "&&";
    case BinaryOp::LogicalOr: return "||";
  }
  return "?";
}

const char* spelling(AssignOp op) {
  switch (op) {
    case AssignOp::Set: return "=";
    case AssignOp::Add: return "+=";
    case AssignOp::Sub: return "-=";
    case AssignOp::Mul: return "*=";
    case AssignOp::Div: return "/=";
    case AssignOp::Mod: return "%=";
    case AssignOp::BitAnd: return "&=";
    case AssignOp::BitOr: return "|=";
    case AssignOp::BitXor: return "^=";
    case AssignOp::Shl: return "<<=";
    case AssignOp::Shr: return ">>=";
  }
  return "?";
}

const char* spelling(JumpKind kind) {
  switch (kind) {
    case JumpKind::Break: return "break";
    case JumpKind::Continue: return "continue";
    case JumpKind::Return: return "return";
  }
  return "?";
}

}  // namespace dptrace::ast
