// USDT probes (statically defined tracing points, systemtap's <sys/sdt.h>):
// each one is a `nop` in the code and an ELF note (.note.stapsdt) that says
// where it is, its provider and name, its optional semaphore (a counter the
// program tests before computing the arguments) and where each argument is
// at the nop, as an assembler operand: "8@%rdi", "-4@-20(%rbp)", "8@$5".
// A usdt probe is a uprobe at the nop whose arguments are read there, like
// an inlined call's (dwarf_signatures.h): each site is an InlinedSite.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dwarf_signatures.h"

namespace dptrace {

struct UsdtProbe {
  std::string provider, name;
  std::string arguments;             // the note's text, "8@%rdi -4@%eax"
  InlinedSite site;                  // address (the nop), caller "provider:name", params, types, semaphore
};

// Every USDT probe of the ELF file at `path`, in note order; nullopt with
// `error` when the file cannot be read as ELF. An argument the reader
// cannot locate is kept with the reason in site.unavailable.
std::optional<std::vector<UsdtProbe>> readUsdtProbes(const std::string& path, std::string& error);

// A symbol of the ELF file at `path` (a variable or a function, .symtab or
// .dynsym), for uaddr(): its address and size, and whether the file is
// position-independent (its addresses move by the load address); nullopt
// when it has none by that name (`names` then holds the file's symbols, for
// a close match) or cannot be read (`error`).
struct ElfSymbol {
  uint64_t address = 0, size = 0;
  bool relocatable = false;
};
std::optional<ElfSymbol> findElfSymbol(const std::string& path, const std::string& name, std::vector<std::string>& names,
                                       std::string& error);

// One argument's operand, "-4@-20(%rbp)", as a location and a type (int32);
// the reason when dptrace cannot read it. A %rip-relative operand names a
// symbol (`symbol`), whose distance from the nop the caller adds to at.offset.
std::string parseUsdtArgument(const std::string& spec, ParameterLocation& at, Type& type, std::string& symbol);

}  // namespace dptrace
