// Stage 3: every call names a known function with a fitting number of
// arguments, and every bare name is a known builtin or packet view. (With C
// definitions in the script, bare names may be their enum constants; those
// are left to the type checker.)
#pragma once

#include <set>
#include <string>

#include "ast.h"
#include "diagnostics.h"

namespace dptrace {

void checkNames(const ast::Program& program, Diagnostics& diags, const std::set<std::string>& constants = {});

// The identifiers of `program` that name no builtin, packet view or
// function: C constants, or the kernel's enum constants (BTF) when no C
// text defines them.
std::set<std::string> unknownIdentifiers(const ast::Program& program);

}  // namespace dptrace
