// The abstract syntax tree: plain data, owned top-down by unique_ptr.
//
// Nodes carry the source range they came from and, for expressions and
// statements, their nesting depth (so that the parser can refuse absurdly deep
// input before any recursive pass walks it). Later stages annotate nodes in
// their own tables rather than by adding behaviour here.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "probe_kind.h"
#include "source.h"

namespace dptrace::ast {

// Deeper trees than this are refused by the parser with a located error.
constexpr uint32_t kMaxNesting = 256;

// ---------------------------------------------------------------- expressions

enum class ExprKind {
  Integer, String, Identifier, Variable, Map, Unary, Binary, Ternary,
  Field, TupleIndex, Index, Call, Cast, Tuple,
};

struct Expr {
  virtual ~Expr() = default;
  const ExprKind kind;
  SourceRange range;
  uint32_t depth = 1;

protected:
  Expr(ExprKind k, SourceRange r) : kind(k), range(r) {}
};
using ExprPtr = std::unique_ptr<Expr>;

struct Integer final : Expr {
  Integer(uint64_t v, std::string t, SourceRange r)
      : Expr(ExprKind::Integer, r), value(v), text(std::move(t)) {}
  uint64_t value;
  std::string text;  // as written: 0x10, 1_000
};

struct String final : Expr {
  String(std::string v, SourceRange r) : Expr(ExprKind::String, r), value(std::move(v)) {}
  std::string value;  // escapes already decoded
};

// A bare name: a builtin (pid, retval, arg0), a packet view (ip, udp) or args.
// Which one it is, is decided by the type checker with the probe's provider.
struct Identifier final : Expr {
  Identifier(std::string n, SourceRange r) : Expr(ExprKind::Identifier, r), name(std::move(n)) {}
  std::string name;
};

struct Variable final : Expr {  // $name
  Variable(std::string n, SourceRange r) : Expr(ExprKind::Variable, r), name(std::move(n)) {}
  std::string name;  // without the '$'
};

struct Map final : Expr {  // @name, @name[k1, k2], and the anonymous @
  Map(std::string n, std::vector<ExprPtr> k, SourceRange r);
  std::string name;  // without the '@'; empty for the anonymous map
  std::vector<ExprPtr> keys;
};

enum class UnaryOp { Negate, Not, BitNot, Deref, PreIncrement, PreDecrement, PostIncrement, PostDecrement };

struct Unary final : Expr {
  Unary(UnaryOp o, ExprPtr e, SourceRange r);
  UnaryOp op;
  ExprPtr operand;
};

enum class BinaryOp {
  Add, Sub, Mul, Div, Mod, BitAnd, BitOr, BitXor, Shl, Shr,
  Eq, Ne, Lt, Le, Gt, Ge, LogicalAnd, LogicalOr,
};

struct Binary final : Expr {
  Binary(BinaryOp o, ExprPtr l, ExprPtr rr, SourceRange r);
  BinaryOp op;
  ExprPtr lhs, rhs;
};

struct Ternary final : Expr {
  Ternary(ExprPtr c, ExprPtr t, ExprPtr e, SourceRange r);
  ExprPtr cond, then, otherwise;
};

struct Field final : Expr {  // base.name, base->name
  Field(ExprPtr b, std::string f, bool arrow, SourceRange r);
  ExprPtr base;
  std::string field;
  bool arrow;
};

struct TupleIndex final : Expr {  // base.0
  TupleIndex(ExprPtr b, uint32_t i, SourceRange r);
  ExprPtr base;
  uint32_t index;
};

struct Index final : Expr {  // base[index]
  Index(ExprPtr b, ExprPtr i, SourceRange r);
  ExprPtr base, index;
};

struct Argument {
  std::string name;  // set for emit(name = expr); empty for positional arguments
  SourceRange nameRange;
  ExprPtr value;
};

struct TypeName {
  enum class Kind { Builtin, Struct, Union, Enum };
  Kind kind = Kind::Builtin;
  std::string name;  // u32, uint16_t, bool; or the tag name of struct/union/enum
  uint32_t pointers = 0;
  SourceRange range;
  std::string spelling() const;  // "struct rte_mbuf **"
};

struct Call final : Expr {
  Call(std::string c, SourceRange cr, std::vector<Argument> a, SourceRange r);
  std::string callee;
  SourceRange calleeRange;
  std::vector<Argument> args;
  std::optional<TypeName> typeArgument;  // sizeof(struct task_struct): a type where args are empty
};

struct Cast final : Expr {
  Cast(TypeName t, ExprPtr e, SourceRange r);
  TypeName type;
  ExprPtr operand;
};

struct Tuple final : Expr {
  Tuple(std::vector<ExprPtr> e, SourceRange r);
  std::vector<ExprPtr> elements;
};

// ---------------------------------------------------------------- statements

enum class StmtKind { Expr, Assign, If, While, Unroll, Jump };

struct Stmt {
  virtual ~Stmt() = default;
  const StmtKind kind;
  SourceRange range;
  uint32_t depth = 1;

protected:
  Stmt(StmtKind k, SourceRange r) : kind(k), range(r) {}
};
using StmtPtr = std::unique_ptr<Stmt>;

struct Block {
  std::vector<StmtPtr> stmts;
  SourceRange range;
  uint32_t depth() const;
};

struct ExprStmt final : Stmt {
  ExprStmt(ExprPtr e, SourceRange r);
  ExprPtr expr;
};

enum class AssignOp { Set, Add, Sub, Mul, Div, Mod, BitAnd, BitOr, BitXor, Shl, Shr };

struct Assign final : Stmt {  // target op value;  target is a variable, map, field or index
  Assign(AssignOp o, ExprPtr t, ExprPtr v, SourceRange r);
  AssignOp op;
  ExprPtr target, value;
};

struct If final : Stmt {
  If(ExprPtr c, Block t, std::optional<Block> e, SourceRange r);
  ExprPtr cond;
  Block then;
  std::optional<Block> otherwise;  // `else if` is an else block holding one If
};

struct While final : Stmt {
  While(ExprPtr c, Block b, SourceRange r);
  ExprPtr cond;
  Block body;
};

struct Unroll final : Stmt {
  Unroll(ExprPtr n, Block b, SourceRange r);
  ExprPtr count;
  Block body;
};

enum class JumpKind { Break, Continue, Return };

struct Jump final : Stmt {
  Jump(JumpKind k, SourceRange r) : Stmt(StmtKind::Jump, r), jump(k) {}
  JumpKind jump;
};

// ---------------------------------------------------------------- top level

// One attach point as written, and what ResolveAttachPoints made of it.
struct AttachPoint {
  std::string raw;  // "uprobe:./upf:rte_eth_rx_burst"
  SourceRange range;

  // Filled by ResolveAttachPoints; the provider decides which are used.
  ProbeKind kind = ProbeKind::None;
  std::string target;    // binary path, interface, tracepoint category, kernel module
  std::string function;  // function, symbol pattern or tracepoint name
  // uprobe:BIN:0x2090 (a file offset; function empty), or uprobe:BIN:FUNC+4
  // (an offset into FUNC; function set)
  std::optional<uint64_t> offset;
  std::string unit;                // interval: "s" or "ms"
  uint64_t period = 0;             // interval
  std::optional<uint32_t> queue;   // afxdp:IFACE:QUEUE
  bool operator==(const AttachPoint&) const = default;
};

// C text handed to the type importer as it is: a #include or #define line, or a
// struct/union/enum/typedef definition.
struct CDefinition {
  std::string text;
  SourceRange range;
};

struct Probe {
  std::vector<AttachPoint> attachPoints;
  ExprPtr predicate;  // null when absent
  Block body;
  SourceRange range;
};

struct Program {
  std::vector<CDefinition> cDefinitions;
  std::vector<Probe> probes;
};

const char* spelling(UnaryOp op);
const char* spelling(BinaryOp op);
const char* spelling(AssignOp op);
const char* spelling(JumpKind kind);

}  // namespace dptrace::ast
