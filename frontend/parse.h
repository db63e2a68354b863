// Stage 1 of the pipeline: script text -> AST.
#pragma once

#include "ast.h"
#include "diagnostics.h"
#include "source.h"

namespace dptrace {

// Parses the whole script. Every syntax error is reported to `diags` (the
// parser recovers at statement and probe boundaries); the returned program is
// only meaningful when `diags.hasErrors()` is false.
ast::Program parse(const SourceFile& file, Diagnostics& diags);

}  // namespace dptrace
