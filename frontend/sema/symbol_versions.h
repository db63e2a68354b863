// Which of a name's versioned ELF symbols is the one a program linked today
// calls: glibc defines memcpy@GLIBC_2.2.5 (kept for programs of 2011) and
// memcpy@@GLIBC_2.14, the default. .symtab spells the version in the name
// ("@@" the default); .dynsym keeps it in .gnu.version, whose hidden bit
// marks every version but the default.
#pragma once

#include <gelf.h>

#include <cstring>

namespace dptrace {

// The .gnu.version data of `elf` (one entry per .dynsym symbol), or null.
inline Elf_Data* symbolVersions(Elf* elf) {
  for (Elf_Scn* s = nullptr; (s = elf_nextscn(elf, s)) != nullptr;) {
    GElf_Shdr header;
    if (gelf_getshdr(s, &header) != nullptr && header.sh_type == SHT_GNU_versym) return elf_getdata(s, nullptr);
  }
  return nullptr;
}

// Whether symbol `index` of a symbol table, named `name` there, is its
// name's default version (an unversioned symbol is).
inline bool isDefaultVersion(const char* name, bool dynsym, Elf_Data* versions, size_t index) {
  if (const char* at = std::strchr(name, '@')) return at[1] == '@';
  GElf_Versym version;
  if (dynsym && versions != nullptr && gelf_getversym(versions, static_cast<int>(index), &version)) return (version & 0x8000) == 0;
  return true;
}

}  // namespace dptrace
