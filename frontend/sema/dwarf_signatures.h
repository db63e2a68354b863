// Function signatures from a binary's DWARF: the typed parameters of a
// uprobe's function (args.NAME, argN) and its return type (retval).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "type.h"

namespace dptrace {

struct FunctionSignature {
  std::vector<std::pair<std::string, Type>> params;  // void types: not readable yet
  Type ret;
  bool outOfLine = false;  // false: DWARF knows it only inlined into callers
};

// The signature of `function` in the ELF file at `path`. nullopt when the
// file has no DWARF or no entry for the function (`error` says which).
std::optional<FunctionSignature> readDwarfSignature(const std::string& path, const std::string& function,
                                                    std::string& error);

// A library named without a directory (libc.so.6) is looked up in the
// standard library directories; a path is used as given.
std::string findBinary(const std::string& name);

}  // namespace dptrace
