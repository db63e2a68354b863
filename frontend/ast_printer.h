// --emit ast: the tree in a stable, indented text form, one node a line.
#pragma once

#include <iosfwd>

#include "ast.h"

namespace dptrace {

void printAst(const ast::Program& program, std::ostream& out);

// A string literal as it would be written in a script: "a\n\"b\"".
std::string quoteString(const std::string& value);

}  // namespace dptrace
