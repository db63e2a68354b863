// Placing a relocatable object: its allocated sections in one mapping (code
// first, then data, on separate pages), a stub per undefined function (an
// absolute jump, since a library may lie beyond a 32-bit displacement) and a
// GOT slot per symbol, then the x86-64 relocations LLVM emits for
// position-independent small-model code. Anything else is refused by name.
#include "native_code.h"

#include <gelf.h>
#include <libelf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <memory>

namespace dptrace {
namespace {

// x86-64 relocation types (ELF x86-64 psABI).
constexpr uint32_t kR64 = 1, kPc32 = 2, kPlt32 = 4, kGotPcRel = 9, kPc64 = 24, kGotPcRelX = 41, kRexGotPcRelX = 42;
constexpr size_t kStubBytes = 16;  // jmp *0(%rip); .quad target

size_t alignUp(size_t v, size_t a) { return a > 1 ? (v + a - 1) / a * a : v; }

struct Placed {
  size_t offset = 0;  // in the mapping
  bool placed = false;
};

}  // namespace

NativeCode::~NativeCode() {
  if (memory_) munmap(memory_, size_);
}

bool NativeCode::load(const std::vector<char>& object, const std::map<std::string, void*>& externals, std::string& error) {
  elf_version(EV_CURRENT);
  std::unique_ptr<Elf, decltype(&elf_end)> elf(
      elf_memory(const_cast<char*>(object.data()), object.size()), elf_end);
  GElf_Ehdr ehdr;
  if (!elf || !gelf_getehdr(elf.get(), &ehdr) || ehdr.e_type != ET_REL || ehdr.e_machine != EM_X86_64) {
    error = "the afxdp host code is not an x86-64 relocatable object";
    return false;
  }
  size_t sectionCount = 0;
  elf_getshdrnum(elf.get(), &sectionCount);
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));

  Elf_Scn* symtab = nullptr;
  GElf_Shdr symtabHeader{};
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf.get(), scn));) {
    GElf_Shdr sh;
    gelf_getshdr(scn, &sh);
    if (sh.sh_type == SHT_SYMTAB) symtab = scn, symtabHeader = sh;
  }
  if (!symtab) {
    error = "the afxdp host code has no symbol table";
    return false;
  }
  Elf_Data* symbols = elf_getdata(symtab, nullptr);
  size_t symbolCount = symtabHeader.sh_entsize ? symtabHeader.sh_size / symtabHeader.sh_entsize : 0;

  // Layout: the executable sections and a stub per symbol, then from the next
  // page the other allocated sections and a GOT slot per symbol.
  std::vector<Placed> placed(sectionCount);
  size_t size = 0, stubs = 0, dataStart = 0;
  for (int pass = 0; pass < 2; ++pass) {
    for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf.get(), scn));) {
      GElf_Shdr sh;
      gelf_getshdr(scn, &sh);
      if (!(sh.sh_flags & SHF_ALLOC) || sh.sh_size == 0) continue;
      if (((sh.sh_flags & SHF_EXECINSTR) != 0) != (pass == 0)) continue;
      if (sh.sh_flags & SHF_TLS) {
        error = "the afxdp host code has thread-local data, which dptrace cannot place";
        return false;
      }
      size = alignUp(size, std::max<size_t>(sh.sh_addralign, 1));
      placed[elf_ndxscn(scn)] = {size, true};
      size += sh.sh_size;
    }
    if (pass == 0) {
      stubs = alignUp(size, kStubBytes);
      dataStart = alignUp(stubs + symbolCount * kStubBytes, page);
      size = dataStart;
    }
  }
  size_t got = alignUp(size, 8);
  size_ = alignUp(got + symbolCount * 8, page);
  void* memory = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    error = std::string("cannot map memory for the afxdp host code: ") + std::strerror(errno);
    return false;
  }
  memory_ = memory;
  auto* base = static_cast<uint8_t*>(memory);

  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf.get(), scn));) {
    size_t index = elf_ndxscn(scn);
    if (!placed[index].placed) continue;
    GElf_Shdr sh;
    gelf_getshdr(scn, &sh);
    if (sh.sh_type == SHT_NOBITS) continue;  // already zero
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (data && data->d_buf) std::memcpy(base + placed[index].offset, data->d_buf, std::min<size_t>(data->d_size, sh.sh_size));
  }

  // Every symbol's address: defined ones in their section, undefined ones resolved.
  std::vector<uint8_t*> address(symbolCount, nullptr);
  std::vector<uint8_t*> callTarget(symbolCount, nullptr);  // a stub for an undefined function
  for (size_t i = 1; i < symbolCount; ++i) {
    GElf_Sym sym;
    gelf_getsym(symbols, static_cast<int>(i), &sym);
    const char* name = elf_strptr(elf.get(), symtabHeader.sh_link, sym.st_name);
    std::string symbolName = name ? name : "";
    if (sym.st_shndx == SHN_UNDEF) {
      if (symbolName.empty()) continue;
      auto it = externals.find(symbolName);
      if (it == externals.end()) {
        error = "the afxdp host code calls '" + symbolName + "', which dptrace does not provide";
        return false;
      }
      address[i] = static_cast<uint8_t*>(it->second);
      uint8_t* stub = base + stubs + i * kStubBytes;
      const uint8_t jump[6] = {0xff, 0x25, 0, 0, 0, 0};  // jmp *0(%rip)
      std::memcpy(stub, jump, sizeof jump);
      uint64_t target = reinterpret_cast<uint64_t>(it->second);
      std::memcpy(stub + 6, &target, 8);
      callTarget[i] = stub;
      continue;
    }
    if (sym.st_shndx == SHN_ABS) {
      address[i] = reinterpret_cast<uint8_t*>(sym.st_value);
      continue;
    }
    if (sym.st_shndx >= sectionCount || !placed[sym.st_shndx].placed) continue;  // debug sections
    address[i] = base + placed[sym.st_shndx].offset + sym.st_value;
    callTarget[i] = address[i];
    if (!symbolName.empty() && GELF_ST_BIND(sym.st_info) != STB_LOCAL && GELF_ST_TYPE(sym.st_info) != STT_SECTION)
      symbols_[symbolName] = address[i];
  }

  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf.get(), scn));) {
    GElf_Shdr sh;
    gelf_getshdr(scn, &sh);
    if (sh.sh_type == SHT_REL) {
      error = "the afxdp host code has REL relocations; dptrace places RELA only";
      return false;
    }
    if (sh.sh_type != SHT_RELA || sh.sh_info >= sectionCount || !placed[sh.sh_info].placed) continue;
    Elf_Data* relocations = elf_getdata(scn, nullptr);
    size_t count = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
    uint8_t* section = base + placed[sh.sh_info].offset;
    for (size_t r = 0; r < count; ++r) {
      GElf_Rela rela;
      gelf_getrela(relocations, static_cast<int>(r), &rela);
      size_t sym = GELF_R_SYM(rela.r_info);
      uint32_t type = static_cast<uint32_t>(GELF_R_TYPE(rela.r_info));
      if (sym >= symbolCount || (!address[sym] && sym != 0)) {
        error = "the afxdp host code relocates against a symbol dptrace did not place";
        return false;
      }
      uint8_t* place = section + rela.r_offset;
      auto pc32 = [&](const uint8_t* target) {
        int64_t v = reinterpret_cast<int64_t>(target) + rela.r_addend - reinterpret_cast<int64_t>(place);
        if (v < INT32_MIN || v > INT32_MAX) return false;
        int32_t narrow = static_cast<int32_t>(v);
        std::memcpy(place, &narrow, 4);
        return true;
      };
      bool ok = true;
      switch (type) {
        case kR64: {
          uint64_t v = reinterpret_cast<uint64_t>(address[sym]) + static_cast<uint64_t>(rela.r_addend);
          std::memcpy(place, &v, 8);
          break;
        }
        case kPc64: {
          int64_t v = reinterpret_cast<int64_t>(address[sym]) + rela.r_addend - reinterpret_cast<int64_t>(place);
          std::memcpy(place, &v, 8);
          break;
        }
        case kPc32:
        case kPlt32: ok = pc32(callTarget[sym] ? callTarget[sym] : address[sym]); break;
        case kGotPcRel:
        case kGotPcRelX:
        case kRexGotPcRelX: {
          uint8_t* slot = base + got + sym * 8;
          uint64_t v = reinterpret_cast<uint64_t>(address[sym]);
          std::memcpy(slot, &v, 8);
          ok = pc32(slot);
          break;
        }
        default:
          error = "the afxdp host code has an x86-64 relocation of type " + std::to_string(type) +
                  ", which dptrace does not place";
          return false;
      }
      if (!ok) {
        error = "the afxdp host code has a relocation out of 32-bit reach";
        return false;
      }
    }
  }
  if (mprotect(base, dataStart, PROT_READ | PROT_EXEC) != 0) {
    error = std::string("cannot make the afxdp host code executable: ") + std::strerror(errno);
    return false;
  }
  return true;
}

void* NativeCode::symbol(const std::string& name) const {
  auto it = symbols_.find(name);
  return it == symbols_.end() ? nullptr : it->second;
}

}  // namespace dptrace
