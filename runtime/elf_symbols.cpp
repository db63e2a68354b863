#include "elf_symbols.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "sema/dwarf_signatures.h"
#include "sema/symbol_versions.h"

namespace dptrace {

std::optional<std::vector<FunctionSymbol>> readFunctionSymbols(const std::string& path, std::string& error) {
  int fd = openBinary(path);
  if (fd < 0) {
    error = openBinaryError(errno);
    return std::nullopt;
  }
  elf_version(EV_CURRENT);
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  if (elf == nullptr || elf_kind(elf) != ELF_K_ELF) {
    if (elf) elf_end(elf);
    close(fd);
    error = "not an ELF binary or library";
    return std::nullopt;
  }
  // Code for another machine: its functions would be probed with this one's
  // breakpoints and registers.
  if (GElf_Ehdr header; gelf_getehdr(elf, &header) != nullptr && header.e_machine != EM_X86_64) {
    std::string machine = header.e_machine == EM_AARCH64 ? "aarch64"
                          : header.e_machine == EM_386   ? "32-bit x86"
                          : header.e_machine == EM_ARM   ? "32-bit arm"
                          : header.e_machine == EM_RISCV ? "riscv"
                          : header.e_machine == EM_PPC64 ? "ppc64"
                          : header.e_machine == EM_S390  ? "s390"
                                                         : "machine " + std::to_string(header.e_machine);
    elf_end(elf);
    close(fd);
    error = "it is built for " + machine + ", and dptrace probes x86-64 code";
    return std::nullopt;
  }
  std::vector<FunctionSymbol> out;
  // A name defined in several versions is the default one's, the one a
  // program linked today calls: glibc's memcpy@@GLIBC_2.14, not the
  // memcpy@GLIBC_2.2.5 kept for programs of 2011.
  std::map<std::string, std::pair<size_t, bool>> seen;  // name -> its index in out, from a default version
  Elf_Data* versions = symbolVersions(elf);
  Elf_Scn* section = nullptr;
  while ((section = elf_nextscn(elf, section)) != nullptr) {
    GElf_Shdr header;
    if (gelf_getshdr(section, &header) == nullptr) continue;
    if (header.sh_type != SHT_SYMTAB && header.sh_type != SHT_DYNSYM) continue;
    Elf_Data* data = elf_getdata(section, nullptr);
    if (data == nullptr || header.sh_entsize == 0) continue;
    // As many entries as the data read holds: a header's size may lie.
    size_t count = std::min<uint64_t>(header.sh_size, data->d_size) / header.sh_entsize;
    for (size_t i = 0; i < count; ++i) {
      GElf_Sym sym;
      if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) continue;
      if (GELF_ST_TYPE(sym.st_info) != STT_FUNC && GELF_ST_TYPE(sym.st_info) != STT_GNU_IFUNC) continue;
      if (sym.st_value == 0 || sym.st_shndx == SHN_UNDEF) continue;
      const char* name = elf_strptr(elf, header.sh_link, sym.st_name);
      if (name == nullptr || *name == '\0') continue;
      std::string n(name, std::strcspn(name, "@"));  // .symtab names the version: memcpy@@GLIBC_2.14
      bool byDefault = isDefaultVersion(name, header.sh_type == SHT_DYNSYM, versions, i);
      FunctionSymbol symbol{n, sym.st_value, sym.st_size, GELF_ST_TYPE(sym.st_info) == STT_GNU_IFUNC};
      auto [it, added] = seen.emplace(n, std::make_pair(out.size(), byDefault));
      if (added) {
        out.push_back(std::move(symbol));
      } else if (byDefault && !it->second.second) {
        out[it->second.first] = std::move(symbol);
        it->second.second = true;
      }
    }
  }
  elf_end(elf);
  close(fd);
  std::sort(out.begin(), out.end(), [](const FunctionSymbol& a, const FunctionSymbol& b) { return a.name < b.name; });
  return out;
}

bool usesDpdkEthdev(const std::string& path) {
  int fd = openBinary(path);
  if (fd < 0) return false;
  elf_version(EV_CURRENT);
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  bool uses = false;
  for (Elf_Scn* scn = elf ? elf_nextscn(elf, nullptr) : nullptr; scn && !uses; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_DYNAMIC && sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
      continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (data == nullptr || sh.sh_entsize == 0) continue;
    // As many entries as the data read holds: a header's size may lie (a
    // fuzzed one made this loop run for hours).
    size_t count = std::min<uint64_t>(sh.sh_size, data->d_size) / sh.sh_entsize;
    for (size_t i = 0; i < count && !uses; ++i) {
      const char* name = nullptr;
      if (sh.sh_type == SHT_DYNAMIC) {
        GElf_Dyn dyn;
        if (gelf_getdyn(data, static_cast<int>(i), &dyn) && dyn.d_tag == DT_NEEDED) name = elf_strptr(elf, sh.sh_link, dyn.d_un.d_val);
        uses = name && std::strncmp(name, "librte_ethdev.so", 16) == 0;
      } else if (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM) {
        GElf_Sym sym;
        if (gelf_getsym(data, static_cast<int>(i), &sym)) name = elf_strptr(elf, sh.sh_link, sym.st_name);
        uses = name && std::strncmp(name, "rte_eth_fp_ops", 14) == 0;
      }
    }
  }
  if (elf) elf_end(elf);
  close(fd);
  return uses;
}

}  // namespace dptrace
