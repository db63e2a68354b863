// The readers of probed binaries over any bytes: ELF symbols (uprobe targets,
// -l 'uprobe:BIN:*'), the DPDK check, DWARF signatures, inlined sites and
// struct layouts (libelf and libdw). The input is a file in memory (a memfd,
// read through /proc/self/fd/N as dptrace reads a binary by path); the
// functions asked about are the first symbols the file names. Seeds: the
// project's own fixtures, small ELF files with DWARF (tests/fuzz/elf/).
#include <cstdint>
#include <set>
#include <string>

#include "dwarf_signatures.h"
#include "elf_symbols.h"
#include "memory_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  MemoryFile file("elf", data, size);
  if (!file.ok()) return 0;
  std::string path = file.path();
  std::string error;
  std::set<std::string> functions{"work", "main"};
  if (auto symbols = dptrace::readFunctionSymbols(path, error))
    for (size_t i = 0; i < symbols->size() && functions.size() < 6; ++i) functions.insert((*symbols)[i].name);
  (void)dptrace::usesDpdkEthdev(path);
  (void)dptrace::in_process::readDwarfSignatures(path, functions, /*separate=*/false, nullptr);
  for (const std::string& f : functions) (void)dptrace::in_process::readInlinedSites(path, f, {"a", "b", "port_id"});
  (void)dptrace::in_process::readDwarfStructs(path, {"rte_mbuf", "record", "s"});
  return 0;
}
