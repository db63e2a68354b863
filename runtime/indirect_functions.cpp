#include "indirect_functions.h"

#include <dlfcn.h>
#include <link.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>

#include "elf_symbols.h"
#include "sema/dwarf_signatures.h"  // elfBuildId

namespace dptrace {

namespace {

// A library of dptrace's own process: the name its dynamic linker knows it
// by, where it is loaded, and the address ranges of its segments.
struct LoadedObject {
  std::string name;
  uint64_t bias = 0;
  std::vector<std::pair<uint64_t, uint64_t>> segments;  // [start, end) virtual addresses in the file
};

std::vector<LoadedObject> loadedObjects() {
  std::vector<LoadedObject> out;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        if (info->dlpi_name == nullptr || info->dlpi_name[0] == '\0') return 0;  // dptrace itself, the vDSO
        LoadedObject o{info->dlpi_name, info->dlpi_addr, {}};
        for (int i = 0; i < info->dlpi_phnum; ++i)
          if (info->dlpi_phdr[i].p_type == PT_LOAD)
            o.segments.emplace_back(info->dlpi_phdr[i].p_vaddr, info->dlpi_phdr[i].p_vaddr + info->dlpi_phdr[i].p_memsz);
        static_cast<std::vector<LoadedObject>*>(data)->push_back(std::move(o));
        return 0;
      },
      &out);
  return out;
}

// The library of dptrace's process that is the file `binary`: the same inode,
// or another copy of the same build (a container's libc).
std::optional<LoadedObject> loadedAs(const std::string& binary) {
  struct stat want {};
  if (stat(binary.c_str(), &want) != 0) return std::nullopt;
  std::vector<LoadedObject> objects = loadedObjects();
  for (const LoadedObject& o : objects) {
    struct stat have {};
    if (stat(o.name.c_str(), &have) == 0 && have.st_dev == want.st_dev && have.st_ino == want.st_ino) return o;
  }
  std::string id = elfBuildId(binary);
  if (id.empty()) return std::nullopt;
  for (const LoadedObject& o : objects)
    if (elfBuildId(o.name) == id) return o;
  return std::nullopt;
}

// What dptrace knows of one binary's indirect functions.
struct Resolved {
  std::string why;                          // for all of them, when the binary is not one dptrace loaded
  std::map<std::string, uint64_t> code;     // name -> the implementation's address
  std::map<std::string, std::string> lost;  // name -> why dlsym gave none
  std::map<std::string, uint64_t> resolver;  // name -> its symbol's address
};

Resolved resolve(const std::string& binary) {
  Resolved r;
  std::string error;
  auto symbols = readFunctionSymbols(binary, error);
  if (!symbols) {
    r.why = "cannot read it: " + error;
    return r;
  }
  std::optional<LoadedObject> loaded = loadedAs(binary);
  if (!loaded) {
    r.why = "dptrace finds the code an indirect function picks only in a library it has loaded itself (libc, libm), "
            "and it has not loaded '" + binary + "'";
    return r;
  }
  void* handle = dlopen(loaded->name.c_str(), RTLD_LAZY | RTLD_NOLOAD);  // no load, nothing runs
  if (handle == nullptr) {
    r.why = "the dynamic linker does not open '" + loaded->name + "' again";
    return r;
  }
  for (const FunctionSymbol& s : *symbols) {
    if (!s.indirect) continue;
    r.resolver[s.name] = s.address;
    // dlsym runs the resolver (already run for dptrace's own calls): a pure
    // choice over the CPU's features.
    void* at = dlsym(handle, s.name.c_str());
    if (at == nullptr) {
      r.lost[s.name] = "the dynamic linker does not give it by name (it is not exported, or only in an old version, "
                       "for programs linked against an older library)";
      continue;
    }
    uint64_t address = reinterpret_cast<uint64_t>(at) - loaded->bias;
    bool inside = false;
    for (const auto& [start, end] : loaded->segments) inside = inside || (address >= start && address < end);
    if (inside)
      r.code[s.name] = address;
    else if (Dl_info where{}; dladdr(at, &where) != 0 && where.dli_fname && std::strstr(where.dli_fname, "vdso"))
      r.lost[s.name] = "its resolver picks the kernel's vDSO code (" + std::string(where.dli_fname) + "), which no uprobe reaches";
    else
      r.lost[s.name] = "its resolver picks code outside '" + binary + "'";
  }
  dlclose(handle);
  return r;
}

}  // namespace

std::optional<IndirectCode> indirectCode(const std::string& binary, const std::string& name, std::string& why) {
  static std::map<std::string, Resolved> known;
  auto it = known.find(binary);
  if (it == known.end()) it = known.emplace(binary, resolve(binary)).first;
  const Resolved& r = it->second;
  if (!r.why.empty()) {
    why = r.why;
    return std::nullopt;
  }
  auto code = r.code.find(name);
  if (code == r.code.end()) {
    auto lost = r.lost.find(name);
    why = lost != r.lost.end() ? lost->second : "it is not an indirect function of '" + binary + "'";
    return std::nullopt;
  }
  IndirectCode out{code->second, {}};
  // Aliases (index for strchr) share the resolver and say nothing new; other
  // indirect functions whose resolvers chose the same code do.
  for (const auto& [other, address] : r.code)
    if (address == code->second && r.resolver.at(other) != r.resolver.at(name)) out.sharedWith.push_back(other);
  return out;
}

std::string hwcapsTunable(std::string_view value) {
  // Entries are NAME=VALUE, split by ':'; the last glibc.cpu.hwcaps is the one
  // glibc keeps.
  std::string_view hwcaps;
  size_t start = 0;
  while (start <= value.size()) {
    size_t end = std::min(value.find(':', start), value.size());
    std::string_view entry = value.substr(start, end - start);
    if (entry.starts_with("glibc.cpu.hwcaps=")) hwcaps = entry.substr(17);
    start = end + 1;
  }
  // Its words, "-AVX2" or "Prefer_ERMS", split by ',': glibc applies them in
  // order, so the last word for a feature stands.
  std::map<std::string, std::string> words;
  start = 0;
  while (start < hwcaps.size()) {
    size_t end = std::min(hwcaps.find(',', start), hwcaps.size());
    std::string_view word = hwcaps.substr(start, end - start);
    std::string_view feature = word.starts_with('-') ? word.substr(1) : word;
    if (!feature.empty()) words[std::string(feature)] = std::string(word);
    start = end + 1;
  }
  std::string out;
  for (const auto& [feature, word] : words) out += (out.empty() ? "" : ",") + word;
  return out;
}

std::optional<std::string> processHwcaps(const std::string& pid) {
  std::string dir = "/proc/" + pid + "/";
  std::ifstream auxv(dir + "auxv", std::ios::binary);
  if (!auxv) return std::nullopt;
  uint64_t entry[2];
  constexpr uint64_t kAtSecure = 23;  // AT_SECURE: setuid or the like; glibc ignores GLIBC_TUNABLES
  while (auxv.read(reinterpret_cast<char*>(entry), sizeof entry) && entry[0] != 0)
    if (entry[0] == kAtSecure && entry[1] != 0) return std::string();
  std::ifstream in(dir + "environ", std::ios::binary);
  if (!in) return std::nullopt;
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  // glibc 2.36 reads the value in place and ends each tunable it knows with
  // a NUL where its ':' was: the pieces after GLIBC_TUNABLES= that end in a
  // glibc tunable ("foo=1:glibc.cpu.hwcaps=-AVX2", an unknown entry keeping
  // its ':') are the rest of its value. Newer glibc leaves it whole.
  std::string value;
  bool inTunables = false;
  std::string_view rest = all;
  while (!rest.empty()) {
    std::string_view piece = rest.substr(0, rest.find('\0'));
    rest.remove_prefix(std::min(rest.size(), piece.size() + 1));
    if (inTunables) {
      size_t last = piece.rfind(':');
      if (!piece.substr(last == std::string_view::npos ? 0 : last + 1).starts_with("glibc.")) break;
      value += ":" + std::string(piece);
    } else if (piece.starts_with("GLIBC_TUNABLES=")) {
      value = piece.substr(15);
      inTunables = true;
    }
  }
  return hwcapsTunable(value);
}

}  // namespace dptrace
