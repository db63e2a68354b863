// Stage 5b: the side each map lives on -- the kernel, or dptrace for the maps
// afxdp bodies write (MapInfo::userSpace) -- with located errors for a map
// used across the boundary.
#pragma once

#include "ast.h"
#include "diagnostics.h"
#include "type_check.h"

namespace dptrace {

void checkMapSides(const ast::Program& program, Diagnostics& diags, TypeTable& types);

}  // namespace dptrace
