// The visitor every pass derives from (CRTP). A pass overrides only the nodes
// it cares about (`void visit(ast::Call&)`, with `using Visitor::visit;`);
// every other node is traversed into its children by default.
//
//   struct CountCalls : ast::Visitor<CountCalls, /*Const=*/true> {
//     using Visitor::visit;
//     int calls = 0;
//     void visit(const ast::Call& c) { ++calls; visitChildren(c); }
//   };
#pragma once

#include <type_traits>

#include "ast.h"

namespace dptrace::ast {

template <typename Derived, bool Const = false>
class Visitor {
protected:
  template <typename T>
  using Ref = std::conditional_t<Const, const T&, T&>;

public:
  void visitProgram(Ref<Program> p) {
    for (auto& probe : p.probes) self().visit(probe);
  }

  void visit(Ref<Probe> p) {
    for (auto& ap : p.attachPoints) self().visit(ap);
    if (p.predicate) self().visitExpr(*p.predicate);
    self().visit(p.body);
  }
  void visit(Ref<AttachPoint>) {}
  void visit(Ref<Block> b) {
    for (auto& s : b.stmts) self().visitStmt(*s);
  }

  // ----- dispatch
  void visitExpr(Ref<Expr> e) {
    switch (e.kind) {
      case ExprKind::Integer: return self().visit(static_cast<Ref<Integer>>(e));
      case ExprKind::String: return self().visit(static_cast<Ref<String>>(e));
      case ExprKind::Identifier: return self().visit(static_cast<Ref<Identifier>>(e));
      case ExprKind::Variable: return self().visit(static_cast<Ref<Variable>>(e));
      case ExprKind::Map: return self().visit(static_cast<Ref<Map>>(e));
      case ExprKind::Unary: return self().visit(static_cast<Ref<Unary>>(e));
      case ExprKind::Binary: return self().visit(static_cast<Ref<Binary>>(e));
      case ExprKind::Ternary: return self().visit(static_cast<Ref<Ternary>>(e));
      case ExprKind::Field: return self().visit(static_cast<Ref<Field>>(e));
      case ExprKind::TupleIndex: return self().visit(static_cast<Ref<TupleIndex>>(e));
      case ExprKind::Index: return self().visit(static_cast<Ref<Index>>(e));
      case ExprKind::Call: return self().visit(static_cast<Ref<Call>>(e));
      case ExprKind::Cast: return self().visit(static_cast<Ref<Cast>>(e));
      case ExprKind::Tuple: return self().visit(static_cast<Ref<Tuple>>(e));
    }
  }

  void visitStmt(Ref<Stmt> s) {
    switch (s.kind) {
      case StmtKind::Expr: return self().visit(static_cast<Ref<ExprStmt>>(s));
      case StmtKind::Assign: return self().visit(static_cast<Ref<Assign>>(s));
      case StmtKind::If: return self().visit(static_cast<Ref<If>>(s));
      case StmtKind::While: return self().visit(static_cast<Ref<While>>(s));
      case StmtKind::Unroll: return self().visit(static_cast<Ref<Unroll>>(s));
      case StmtKind::Jump: return self().visit(static_cast<Ref<Jump>>(s));
    }
  }

  // ----- default behaviour: visit the children
  void visit(Ref<Integer>) {}
  void visit(Ref<String>) {}
  void visit(Ref<Identifier>) {}
  void visit(Ref<Variable>) {}
  void visit(Ref<Map> m) { each(m.keys); }
  void visit(Ref<Unary> u) { self().visitExpr(*u.operand); }
  void visit(Ref<Binary> b) {
    self().visitExpr(*b.lhs);
    self().visitExpr(*b.rhs);
  }
  void visit(Ref<Ternary> t) {
    self().visitExpr(*t.cond);
    self().visitExpr(*t.then);
    self().visitExpr(*t.otherwise);
  }
  void visit(Ref<Field> f) { self().visitExpr(*f.base); }
  void visit(Ref<TupleIndex> t) { self().visitExpr(*t.base); }
  void visit(Ref<Index> i) {
    self().visitExpr(*i.base);
    self().visitExpr(*i.index);
  }
  void visit(Ref<Call> c) {
    for (auto& a : c.args) self().visitExpr(*a.value);
  }
  void visit(Ref<Cast> c) { self().visitExpr(*c.operand); }
  void visit(Ref<Tuple> t) { each(t.elements); }

  void visit(Ref<ExprStmt> s) { self().visitExpr(*s.expr); }
  void visit(Ref<Assign> a) {
    self().visitExpr(*a.target);
    self().visitExpr(*a.value);
  }
  void visit(Ref<If> i) {
    self().visitExpr(*i.cond);
    self().visit(i.then);
    if (i.otherwise) self().visit(*i.otherwise);
  }
  void visit(Ref<While> w) {
    self().visitExpr(*w.cond);
    self().visit(w.body);
  }
  void visit(Ref<Unroll> u) {
    self().visitExpr(*u.count);
    self().visit(u.body);
  }
  void visit(Ref<Jump>) {}

private:
  Derived& self() { return static_cast<Derived&>(*this); }
  template <typename V>
  void each(V& exprs) {
    for (auto& e : exprs) self().visitExpr(*e);
  }
};

}  // namespace dptrace::ast
