// The .note.stapsdt notes of an ELF file (usdt.h). Each NT_STAPSDT (3) note
// of owner "stapsdt" holds three addresses -- the nop, the link-time
// address of the .stapsdt.base section, the semaphore -- then the provider,
// the name and the arguments as NUL-ended strings.
#include "usdt.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <sstream>

namespace dptrace {
namespace {

constexpr uint32_t kNtStapsdt = 3;

// x86-64 register names as DWARF numbers (dwarf_signatures.h), and the
// width of each spelling: %rax %eax %ax %al are register 0.
struct RegisterName {
  const char* name;
  uint32_t dwarf;
};

// The width of a register's spelling: %rax 64, %eax and %r8d 32, %ax and
// %r8w 16, %al, %sil and %r8b 8.
uint32_t registerBits(const std::string& name) {
  if (name.size() > 1 && name[0] == 'r' && std::isdigit(static_cast<unsigned char>(name[1]))) {  // r8 .. r15
    char last = name.back();
    return last == 'd' ? 32 : last == 'w' ? 16 : last == 'b' ? 8 : 64;
  }
  if (name[0] == 'r') return 64;                         // rax rsi ...
  if (name[0] == 'e') return 32;                         // eax esi ...
  if (name.size() == 3 || name.back() == 'l') return 8;  // al sil dil bpl spl
  return 16;                                             // ax si di bp sp
}
constexpr RegisterName kRegisters[] = {
    {"rax", 0},  {"eax", 0},  {"ax", 0},   {"al", 0},   {"rdx", 1},  {"edx", 1},  {"dx", 1},   {"dl", 1},
    {"rcx", 2},  {"ecx", 2},  {"cx", 2},   {"cl", 2},   {"rbx", 3},  {"ebx", 3},  {"bx", 3},   {"bl", 3},
    {"rsi", 4},  {"esi", 4},  {"si", 4},   {"sil", 4},  {"rdi", 5},  {"edi", 5},  {"di", 5},   {"dil", 5},
    {"rbp", 6},  {"ebp", 6},  {"bp", 6},   {"bpl", 6},  {"rsp", 7},  {"esp", 7},  {"sp", 7},   {"spl", 7},
    {"r8", 8},   {"r8d", 8},  {"r8w", 8},  {"r8b", 8},  {"r9", 9},   {"r9d", 9},  {"r9w", 9},  {"r9b", 9},
    {"r10", 10}, {"r10d", 10}, {"r10w", 10}, {"r10b", 10}, {"r11", 11}, {"r11d", 11}, {"r11w", 11}, {"r11b", 11},
    {"r12", 12}, {"r12d", 12}, {"r12w", 12}, {"r12b", 12}, {"r13", 13}, {"r13d", 13}, {"r13w", 13}, {"r13b", 13},
    {"r14", 14}, {"r14d", 14}, {"r14w", 14}, {"r14b", 14}, {"r15", 15}, {"r15d", 15}, {"r15w", 15}, {"r15b", 15},
    {"rip", 16},
};

std::optional<uint32_t> registerNumber(const std::string& name) {
  for (const RegisterName& r : kRegisters)
    if (name == r.name) return r.dwarf;
  return std::nullopt;
}

bool parseInteger(const std::string& text, int64_t& out) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 0);
  if (errno != 0 || *end != '\0') return false;
  out = v;
  return true;
}

struct Segment {
  uint64_t vaddr, memsz, offset;
};

}  // namespace

std::string parseUsdtArgument(const std::string& spec, ParameterLocation& at, Type& type, std::string& symbol) {
  size_t atSign = spec.find('@');
  int64_t size = 0;
  if (atSign == std::string::npos || !parseInteger(spec.substr(0, atSign), size) || size < -8 || size > 8 ||
      (std::abs(size) != 1 && std::abs(size) != 2 && std::abs(size) != 4 && std::abs(size) != 8))
    return "an operand without a size dptrace knows ('" + spec + "')";
  type = Type::integer(static_cast<uint32_t>(std::abs(size) * 8), size < 0);
  std::string operand = spec.substr(atSign + 1);
  if (!operand.empty() && operand[0] == '$') {  // an immediate
    int64_t value = 0;
    if (!parseInteger(operand.substr(1), value)) return "an immediate dptrace cannot read ('" + spec + "')";
    at = {ParameterLocation::Kind::Constant, 0, 0, static_cast<uint64_t>(value)};
    return "";
  }
  if (!operand.empty() && operand[0] == '%') {  // a register
    auto reg = registerNumber(operand.substr(1));
    if (!reg || *reg == 16) return "a register dptrace cannot read ('" + spec + "')";
    // A narrower spelling than the size (8@%eax) holds only its own bits.
    uint32_t bits = registerBits(operand.substr(1));
    if (bits < 64) at = {ParameterLocation::Kind::RegisterOffset, *reg, 0, (uint64_t{1} << bits) - 1};
    else at = {ParameterLocation::Kind::Register, *reg, 0, 0};
    return "";
  }
  // Memory: DISPLACEMENT(%REG), the displacement a number, a symbol
  // (with %rip), or a symbol plus or minus a number.
  size_t open = operand.find('('), close = operand.find(')');
  if (open == std::string::npos || close != operand.size() - 1 || operand[open + 1] != '%')
    return "an operand dptrace cannot read ('" + spec + "')";
  std::string inside = operand.substr(open + 2, close - open - 2);
  if (size_t comma = inside.find(','); comma != std::string::npos) {  // (%BASE,%INDEX,SCALE), after a number
    auto base = registerNumber(inside.substr(0, comma));
    size_t second = inside.find(',', comma + 1);
    std::string index = inside.substr(comma + 1, second == std::string::npos ? std::string::npos : second - comma - 1);
    int64_t scale = 1, displacement = 0;
    auto indexReg = index.size() > 1 && index[0] == '%' ? registerNumber(index.substr(1)) : std::nullopt;
    if (!base || *base == 16 || !indexReg || *indexReg == 16 ||
        (second != std::string::npos && !parseInteger(inside.substr(second + 1), scale)) ||
        (scale != 1 && scale != 2 && scale != 4 && scale != 8) ||
        (open > 0 && !parseInteger(operand.substr(0, open), displacement)))
      return "an indexed operand dptrace cannot read ('" + spec + "')";
    at = {ParameterLocation::Kind::IndexedMemory, *base, displacement, *indexReg | static_cast<uint64_t>(scale) << 8};
    return "";
  }
  auto reg = registerNumber(inside);
  if (!reg) return "a register dptrace cannot read ('" + spec + "')";
  std::string displacement = operand.substr(0, open);
  int64_t offset = 0;
  if (!displacement.empty() && !parseInteger(displacement, offset)) {
    size_t sign = displacement.find_first_of("+-", 1);
    symbol = displacement.substr(0, sign);
    if (sign != std::string::npos && !parseInteger(displacement.substr(sign), offset))
      return "an operand dptrace cannot read ('" + spec + "')";
    if (*reg != 16) return "a symbol relative to a register other than %rip ('" + spec + "')";
  }
  at = {ParameterLocation::Kind::Memory, *reg, offset, 0};
  return "";
}

namespace {

// An ELF file open for reading, closed with it; `elf` is null (and `error`
// says why) when the file cannot be opened or is not ELF.
struct ElfFile {
  int fd = -1;
  Elf* elf = nullptr;
  GElf_Ehdr ehdr{};
  ElfFile(const std::string& path, std::string& error) {
    fd = openBinary(path);
    if (fd < 0) {
      error = openBinaryError(errno);
      return;
    }
    elf_version(EV_CURRENT);
    elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
    if (elf && (elf_kind(elf) != ELF_K_ELF || gelf_getehdr(elf, &ehdr) == nullptr || gelf_getclass(elf) != ELFCLASS64)) {
      elf_end(elf);
      elf = nullptr;
    }
    if (!elf) error = "not a 64-bit ELF file";
  }
  ~ElfFile() {
    if (elf) elf_end(elf);
    if (fd >= 0) close(fd);
  }
  ElfFile(const ElfFile&) = delete;
  ElfFile& operator=(const ElfFile&) = delete;

  // Each defined symbol of .symtab and .dynsym with a name, until `visit` returns false.
  template <typename Visit>
  void symbols(Visit visit) const {
    for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
      GElf_Shdr sh;
      if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM)) continue;
      Elf_Data* data = elf_getdata(scn, nullptr);
      size_t count = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
      for (size_t i = 0; data && i < count; ++i) {
        GElf_Sym sym;
        if (!gelf_getsym(data, static_cast<int>(i), &sym) || sym.st_shndx == SHN_UNDEF) continue;
        const char* name = elf_strptr(elf, sh.sh_link, sym.st_name);
        if (name && *name && !visit(name, sym)) return;
      }
    }
  }
};

}  // namespace

std::optional<ElfSymbol> findElfSymbol(const std::string& path, const std::string& name, std::vector<std::string>& names,
                                       std::string& error) {
  ElfFile file(path, error);
  if (!file.elf) return std::nullopt;
  std::optional<ElfSymbol> found;
  file.symbols([&](const char* s, const GElf_Sym& sym) {
    int type = GELF_ST_TYPE(sym.st_info);
    if (type != STT_OBJECT && type != STT_FUNC && type != STT_TLS && type != STT_NOTYPE) return true;
    if (name == s) {
      found = ElfSymbol{sym.st_value, sym.st_size, file.ehdr.e_type == ET_DYN};
      return false;
    }
    names.push_back(s);
    return true;
  });
  return found;
}

std::optional<std::vector<UsdtProbe>> readUsdtProbes(const std::string& path, std::string& error) {
  ElfFile file(path, error);
  if (!file.elf) return std::nullopt;
  Elf* elf = file.elf;
  std::vector<Segment> segments;
  size_t phnum = 0;
  elf_getphdrnum(elf, &phnum);
  for (size_t i = 0; i < phnum; ++i) {
    GElf_Phdr ph;
    if (gelf_getphdr(elf, static_cast<int>(i), &ph) && ph.p_type == PT_LOAD) segments.push_back({ph.p_vaddr, ph.p_memsz, ph.p_offset});
  }
  size_t shstrndx = 0;
  elf_getshdrstrndx(elf, &shstrndx);
  std::optional<uint64_t> base;  // where .stapsdt.base is now (after prelink)
  std::vector<Elf_Scn*> notes;
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) continue;
    const char* name = elf_strptr(elf, shstrndx, sh.sh_name);
    if (name && std::strcmp(name, ".stapsdt.base") == 0) base = sh.sh_addr;
    if (name && std::strcmp(name, ".note.stapsdt") == 0 && sh.sh_type == SHT_NOTE) notes.push_back(scn);
  }
  // %rip-relative operands name symbols: the table is read at the first one.
  std::optional<std::map<std::string, uint64_t>> symbols;
  auto symbolAddress = [&](const std::string& name) -> std::optional<uint64_t> {
    if (!symbols) {
      symbols.emplace();
      file.symbols([&](const char* s, const GElf_Sym& sym) { return symbols->emplace(s, sym.st_value), true; });
    }
    auto it = symbols->find(name);
    return it == symbols->end() ? std::nullopt : std::optional<uint64_t>(it->second);
  };
  auto fileOffset = [&](uint64_t address) -> uint64_t {
    for (const Segment& s : segments)
      if (address >= s.vaddr && address < s.vaddr + s.memsz) return address - s.vaddr + s.offset;
    return 0;
  };
  std::vector<UsdtProbe> probes;
  for (Elf_Scn* scn : notes) {
    Elf_Data* data = elf_getdata(scn, nullptr);
    size_t offset = 0, nameAt = 0, descAt = 0;
    GElf_Nhdr nh;
    while (data && (offset = gelf_getnote(data, offset, &nh, &nameAt, &descAt)) > 0) {
      const char* bytes = static_cast<const char*>(data->d_buf);
      if (nh.n_type != kNtStapsdt || nh.n_namesz != 8 || std::memcmp(bytes + nameAt, "stapsdt", 8) != 0 || nh.n_descsz < 24 + 3)
        continue;
      const char* desc = bytes + descAt;
      uint64_t addresses[3];
      std::memcpy(addresses, desc, sizeof addresses);
      std::vector<std::string> strings;
      for (size_t at = 24; at < nh.n_descsz && strings.size() < 3;) {
        size_t len = strnlen(desc + at, nh.n_descsz - at);
        strings.emplace_back(desc + at, len);
        at += len + 1;
      }
      if (strings.size() < 2) continue;
      UsdtProbe probe;
      probe.provider = strings[0];
      probe.name = strings[1];
      probe.arguments = strings.size() > 2 ? strings[2] : "";
      // A prelinked file moved its sections: the note's base says by how much.
      uint64_t shift = base ? *base - addresses[1] : 0;
      probe.site.address = addresses[0] + shift;
      probe.site.caller = probe.provider + ":" + probe.name;
      if (addresses[2]) probe.site.semaphore = fileOffset(addresses[2] + shift);
      std::istringstream in(probe.arguments);
      for (std::string spec; in >> spec;) {
        ParameterLocation location;
        Type type = Type::u64();
        std::string symbol;
        std::string why = parseUsdtArgument(spec, location, type, symbol);
        if (why.empty() && !symbol.empty()) {
          if (auto address = symbolAddress(symbol))
            location.offset += static_cast<int64_t>(*address - (addresses[0] + shift));  // from the nop, where %rip is at the probe
          else
            why = "the symbol '" + symbol + "' of the operand '" + spec + "' is not in the symbol table";
        }
        probe.site.params.push_back(location);
        probe.site.types.push_back(type);
        probe.site.unavailable.push_back(why);
      }
      probes.push_back(std::move(probe));
    }
  }
  return probes;
}

}  // namespace dptrace
