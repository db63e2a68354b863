// Stage 1 of the pipeline: script text -> AST.
#pragma once

#include "ast.h"
#include "diagnostics.h"
#include "source.h"

#include <string>
#include <vector>

namespace dptrace {

// Parses the whole script. Every syntax error is reported to `diags` (the
// parser recovers at statement and probe boundaries); the returned program is
// only meaningful when `diags.hasErrors()` is false.
// `args` are the positional parameters ($1, $2, ... and $#): a number is an
// integer, anything else a string; a missing one is 0, and "" in str($N).
ast::Program parse(const SourceFile& file, Diagnostics& diags, const std::vector<std::string>& args = {});

}  // namespace dptrace
