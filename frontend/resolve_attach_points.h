// Stage 2: read every attach spec with its provider; the AttachPoint fields
// (provider, target, function, ...) are filled in, problems reported.
#pragma once

#include "ast.h"
#include "diagnostics.h"

namespace dptrace {

void resolveAttachPoints(ast::Program& program, Diagnostics& diags);

}  // namespace dptrace
