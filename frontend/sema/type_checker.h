// The type checker's state while it walks one program. Private to sema/.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "type_check.h"
#include "writes.h"
#include "visitor.h"

namespace dptrace {

// An integer constant as written: 5, -1, 0x10.
struct Constant {
  bool negative = false;
  uint64_t magnitude = 0;
};

class TypeChecker : public ast::Visitor<TypeChecker, true> {
public:
  TypeChecker(Diagnostics& diags, TypeTable& types) : diags_(diags), types_(types) {}
  using Visitor::visit;

  void checkProgram(const ast::Program& program);

  // ---- expressions (type_check.cpp)
  void visit(const ast::Integer& e);
  void visit(const ast::String& e);
  void visit(const ast::Identifier& e);
  void visit(const ast::Variable& e);
  void visit(const ast::Map& e);
  void visit(const ast::Unary& e);
  void visit(const ast::Binary& e);
  void visit(const ast::Ternary& e);
  void visit(const ast::Field& e);
  void visit(const ast::TupleIndex& e);
  void visit(const ast::Index& e);
  void visit(const ast::Cast& e);
  void visit(const ast::Tuple& e);
  void visit(const ast::Call& e);  // calls.cpp

  // ---- statements (type_check.cpp)
  void visit(const ast::Block& b);
  void visit(const ast::ExprStmt& s);
  void visit(const ast::Assign& s);
  void visit(const ast::If& s);
  void visit(const ast::While& s);
  void visit(const ast::Unroll& s);
  void visit(const ast::Jump& s);

private:
  friend struct CallTyping;

  // The type of an expression, checking it first. Errors yield nullopt.
  std::optional<Type> typeOf(const ast::Expr& e);
  void set(const ast::Expr& e, Type t) { types_.exprs[&e] = std::move(t); }
  void error(SourceRange r, std::string message, std::string hint = {});

  bool allowedHere(ProbeKinds onlyIn) const;  // does every kind of this probe offer it?
  std::string providersText() const;
  bool inPacketProbe() const;
  bool fibAllowedHere(const std::string& view, SourceRange r);

  void condition(const ast::Expr& e, const char* what);
  std::optional<Type> storeInto(const Type& existing, const ast::Expr& value, const Type& valueType,
                                const std::string& what, SourceRange at);
  std::optional<Type> plainValue(const ast::Expr& e, const char* role);
  // struct NAME read through a pointer, as a value: its bytes with the fields
  // dptrace reads (nested structs as records too, those of unknown layout
  // left out). Null, reported at `at`, when its layout is not known.
  std::optional<Type> recordOf(const Type& structType, SourceRange at, int depth = 0);
  bool checkMapKeys(const ast::Map& m, MapInfo& info);
  MapInfo& mapInfo(const ast::Map& m);
  void assignToMap(const ast::Map& target, const ast::Assign& s);
  void assignToVariable(const ast::Variable& target, const ast::Assign& s);
  bool frameLengthWritable(const WritePlace& place, SourceRange r);
  const ast::Map* wholeMapArgument(const ast::Call& c, size_t i);
  void checkCallArguments(const ast::Call& c);
  void argsOfTracepoints(const ast::Field& e);

  Diagnostics& diags_;
  TypeTable& types_;

  // ---- per probe
  const ast::Probe* probe_ = nullptr;
  ProbeKinds kinds_;
  std::vector<const TracepointFormat*> tracepoints_;  // every tracepoint of an all-tracepoint probe (wildcards expanded)
  const FunctionSignature* signature_ = nullptr;  // a uprobe's function (DWARF), or a BTF probe's
  const std::vector<InlinedSite>* inlinedSites_ = nullptr;  // a uprobe on a function DWARF knows only inlined
  const KernelSignature* kernelSignature_ = nullptr;  // a BTF probe's (fentry, fexit, rawtracepoint)
  // A block of several BTF attach points: each one's signature (argN, args.NAME
  // and retval must mean a value of one kind in all of them).
  std::vector<std::pair<const ast::AttachPoint*, const KernelSignature*>> kernelSignatures_;
  // argN, args.NAME (by index or name) or retval in every signature of kernelSignatures_, unified.
  // False (with a located error) when parameter i of an inlined function is
  // not readable at one of the inlined calls the probe attaches to.
  bool readableAtInlinedSites(const ast::Expr& e, size_t i);
  std::optional<Type> acrossSignatures(const ast::Expr& e, const std::string& what, std::optional<size_t> index,
                                       const std::string& name);
  std::map<std::string, Type> variables_;
  std::set<std::string> failedVariables_;  // assignments with errors: their uses say nothing more
  int loopDepth_ = 0;
  const ast::Call* aggregationSite_ = nullptr;  // the call of @m = agg(...) being checked
  const ast::Map* aggregationMap_ = nullptr;    // and its map
};

std::optional<Constant> constantOf(const ast::Expr& e);
bool fits(const Constant& c, const Type& t);
std::string constantText(const Constant& c);
bool isZero(const ast::Expr& e);  // the constant 0 (or -0)
struct PacketField;
bool fitsField(const Constant& c, const PacketField& f);  // in the field's range (vlan.id: 0..4095)
std::string fieldRange(const PacketField& f);              // "0 to 4095", "u16"

}  // namespace dptrace
