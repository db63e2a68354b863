// The stage that checks uprobe targets against the file system: the binary
// or library exists and is readable, the function exists (close matches
// when it does not), wildcards expand to the functions they match, a
// stripped binary is explained. Its result tells the code generator how many
// programs to build and the runtime where to attach them.
#pragma once

#include <map>

#include "ast.h"
#include "diagnostics.h"
#include "program_info.h"

namespace dptrace {

std::map<const ast::AttachPoint*, UprobeTarget> resolveUprobeTargets(const ast::Program& program, Diagnostics& diags);

}  // namespace dptrace
