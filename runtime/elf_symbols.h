// The functions a binary or library defines (.symtab and .dynsym), for
// uprobe attach points: existence checks, close matches and wildcards.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "suggest.h"  // wildcardMatch

namespace dptrace {

struct FunctionSymbol {
  std::string name;
  uint64_t address = 0;
  uint64_t size = 0;
  bool indirect = false;  // STT_GNU_IFUNC: the address is its resolver's (indirect_functions.h)
};

// Every defined function symbol of the ELF file at `path`, by name, without
// duplicates. On failure returns nullopt and sets `error` (missing file, no
// permission, not an ELF file).
std::optional<std::vector<FunctionSymbol>> readFunctionSymbols(const std::string& path, std::string& error);

// Whether the ELF file at `path` is a DPDK application (or library) that
// calls the ethdev burst functions: it needs librte_ethdev, or names
// rte_eth_fp_ops (a static build with symbols, or a copy of the array).
bool usesDpdkEthdev(const std::string& path);


}  // namespace dptrace
