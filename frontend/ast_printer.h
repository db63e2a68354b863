// --emit ast: the tree in a stable, indented text form, one node a line.
#pragma once

#include <iosfwd>

#include "ast.h"

namespace dptrace {

struct TypeTable;

void printAst(const ast::Program& program, std::ostream& out);
// --emit typed-ast: the same tree with " : TYPE" after every typed expression,
// then every map with its key and value types.
void printTypedAst(const ast::Program& program, const TypeTable& types, std::ostream& out);

// A string literal as it would be written in a script: "a\n\"b\"".
std::string quoteString(const std::string& value);

}  // namespace dptrace
