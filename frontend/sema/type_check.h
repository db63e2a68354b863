// Stages 4-5: import the types a script needs (tracepoint formats now; BTF,
// DWARF and C via Clang with their issues), then type-check every probe.
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "ast.h"
#include "diagnostics.h"
#include "dwarf_signatures.h"
#include "tracepoint_format.h"
#include "type.h"

namespace dptrace {

struct MapInfo {
  Type value;               // void until the first assignment
  std::vector<Type> keys;   // the key shape; empty for @x
  bool keysKnown = false;   // the first use fixed the shape
  bool used = false;        // seen at all
  bool assigned = false;    // some statement stores into it
  SourceRange firstUse;
};

// What the type checker learned: the type of every expression, and each map's
// key and value types. Later stages read it; the AST is left untouched.
struct TypeTable {
  std::unordered_map<const ast::Expr*, Type> exprs;
  std::map<std::string, MapInfo> maps;
  std::map<std::string, TracepointFormat> tracepoints;  // "category:name" -> format
  std::map<std::string, FunctionSignature> signatures;  // "binary:function" -> DWARF signature (uprobes)
  std::map<std::string, std::string> signatureErrors;   // "binary:function" -> why there is none
  std::map<std::string, StructLayout> structs;          // struct name -> layout (from DWARF)

  const Type& of(const ast::Expr& e) const;
};

// Reads the tracepoint formats the probes need (args.FIELD); reports probes
// whose tracepoint does not exist.
void importTypes(const ast::Program& program, Diagnostics& diags, TypeTable& types);

void typeCheck(const ast::Program& program, Diagnostics& diags, TypeTable& types);

}  // namespace dptrace
