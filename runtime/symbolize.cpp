#include "symbolize.h"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <dirent.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "elf_symbols.h"
#include "sema/dwarf_signatures.h"
#include "program_info.h"

namespace dptrace {
namespace {

const std::vector<std::string>* strftimeFormats = nullptr;

std::string hex(uint64_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << v;
  return s.str();
}

std::function<int(const std::string&)> stackMapFd;  // a stack map's fd by name

// The function whose [address, address + size) holds `at`, in a list
// sorted by address; a symbol without a size holds up to the next one.
// `sized`: the symbols have sizes (an ELF file's), so one of size 0 (_fini)
// holds only its own address; /proc/kallsyms has none, and an address
// belongs to the symbol before it.
const FunctionSymbol* symbolAt(const std::vector<FunctionSymbol>& sorted, uint64_t at, bool sized = false) {
  auto next = std::upper_bound(sorted.begin(), sorted.end(), at,
                               [](uint64_t a, const FunctionSymbol& s) { return a < s.address; });
  if (next == sorted.begin()) return nullptr;
  const FunctionSymbol& s = *(next - 1);
  if (s.size != 0 && at >= s.address + s.size) return nullptr;
  if (s.size == 0 && sized && at != s.address) return nullptr;
  return &s;
}

bool demangling = true;

// "name", or with the offset into it "name+off"; else the address in hex.
// C++ names demangled, as bpftrace prints them (ns::K::boom(int)).
std::string named(const FunctionSymbol* s, uint64_t at, bool withOffset) {
  if (!s) return hex(at);
  std::string name = demangling ? demangled(s->name) : s->name;
  return withOffset ? name + "+" + std::to_string(at - s->address) : name;
}

// An ELF file's functions by address, and its loadable segments (offset,
// vaddr, size) to turn a file offset into an address.
struct ElfImage {
  std::vector<FunctionSymbol> functions;
  struct Segment {
    uint64_t offset, vaddr, size;
  };
  std::vector<Segment> segments;
};

const ElfImage& image(const std::string& path) {
  static std::map<std::string, ElfImage> cache;
  auto it = cache.find(path);
  if (it != cache.end()) return it->second;
  ElfImage img;
  std::string error;
  if (auto symbols = readFunctionSymbols(path, error)) img.functions = std::move(*symbols);
  // A stripped library's local functions (libc's __libc_start_call_main)
  // from its separate debug file's .symtab, at the same addresses.
  if (std::string debug = separateDebugFile(path); !debug.empty())
    if (auto local = readFunctionSymbols(debug, error)) {
      std::set<std::pair<uint64_t, std::string>> known;
      for (const FunctionSymbol& f : img.functions) known.insert({f.address, f.name});
      for (FunctionSymbol& f : *local)
        if (known.insert({f.address, f.name}).second) img.functions.push_back(std::move(f));
    }
  std::sort(img.functions.begin(), img.functions.end(),
            [](const FunctionSymbol& a, const FunctionSymbol& b) { return a.address < b.address; });
  elf_version(EV_CURRENT);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (Elf* elf = elf_begin(fd, ELF_C_READ, nullptr)) {
      size_t count = 0;
      if (elf_getphdrnum(elf, &count) == 0)
        for (size_t i = 0; i < count; ++i) {
          GElf_Phdr ph;
          if (gelf_getphdr(elf, static_cast<int>(i), &ph) && ph.p_type == PT_LOAD)
            img.segments.push_back({ph.p_offset, ph.p_vaddr, ph.p_filesz});
        }
      elf_end(elf);
    }
    close(fd);
  }
  return cache.emplace(path, std::move(img)).first->second;
}

bool userSymbols = true;

std::string userSymbol(uint64_t pid, uint64_t address, bool withOffset = false, std::string* module = nullptr) {
  if (!userSymbols) return hex(address);
  // The mapping of the process that holds the address: its file, and where in it.
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    uint64_t start = 0, end = 0, offset = 0;
    char perms[8] = {}, path[4096] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %7s %lx %*s %*s %4095[^\n]", &start, &end, perms, &offset, path) < 4) continue;
    if (address < start || address >= end || path[0] != '/') continue;
    if (module) *module = path;
    uint64_t fileOffset = address - start + offset;
    std::string file = "/proc/" + std::to_string(pid) + "/root" + path;  // the process's own view of the file
    if (access(file.c_str(), R_OK) != 0) file = path;
    const ElfImage& img = image(file);
    for (const ElfImage::Segment& s : img.segments)
      if (fileOffset >= s.offset && fileOffset < s.offset + s.size)
        if (const FunctionSymbol* f = symbolAt(img.functions, fileOffset - s.offset + s.vaddr, true))
          return named(f, fileOffset - s.offset + s.vaddr, withOffset);
    break;
  }
  return hex(address);
}

std::string kernelSymbol(uint64_t address, bool withOffset = false) {
  static std::vector<FunctionSymbol> sorted = [] {
    std::vector<FunctionSymbol> out;
    std::ifstream in("/proc/kallsyms");
    std::string line;
    while (std::getline(in, line)) {
      char type = 0, name[512] = {};
      uint64_t at = 0;
      if (std::sscanf(line.c_str(), "%lx %c %511s", &at, &type, name) == 3 && at != 0) out.push_back({name, at, 0});
    }
    std::sort(out.begin(), out.end(), [](const FunctionSymbol& a, const FunctionSymbol& b) { return a.address < b.address; });
    return out;
  }();
  return named(symbolAt(sorted, address), address, withOffset);
}

}  // namespace

void setStrftimeFormats(const std::vector<std::string>* formats) { strftimeFormats = formats; }

namespace {

// The directory under `dir` whose inode is `id` (a cgroup's id is its
// directory's inode number), as a path from `dir` ("/" for dir itself).
std::optional<std::string> findCgroup(const std::string& dir, uint64_t id, const std::string& relative, int depth) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) return std::nullopt;
  if (st.st_ino == id) return relative.empty() ? "/" : relative;
  if (depth > 32) return std::nullopt;
  DIR* d = opendir(dir.c_str());
  if (!d) return std::nullopt;
  std::optional<std::string> found;
  while (dirent* e = readdir(d)) {
    if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
    if ((found = findCgroup(dir + "/" + e->d_name, id, relative + "/" + e->d_name, depth + 1))) break;
  }
  closedir(d);
  return found;
}

}  // namespace

// As bpftrace 0.17: every cgroup hierarchy mounted under /sys/fs/cgroup
// (cgroup2 is "unified", a v1 hierarchy the name of its directory), unified
// first, the others by name; "NAME:PATH" for each that has a directory
// with that inode, joined by ','.
std::string cgroupPaths(uint64_t id, const std::string& filter) {
  std::vector<std::pair<std::string, std::string>> hierarchies;  // name, mount point
  std::ifstream mounts("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mounts, line)) {
    std::istringstream in(line);
    std::string field, point;
    for (int i = 0; i < 5 && in >> field; ++i)
      if (i == 4) point = field;
    while (in >> field && field != "-") {}
    std::string type;
    in >> type;
    if ((type != "cgroup" && type != "cgroup2") || point.rfind("/sys/fs/cgroup", 0) != 0) continue;
    hierarchies.emplace_back(type == "cgroup2" ? "unified" : point.substr(point.rfind('/') + 1), point);
  }
  std::sort(hierarchies.begin(), hierarchies.end(), [](const auto& a, const auto& b) {
    return (a.first == "unified") != (b.first == "unified") ? a.first == "unified" : a.first < b.first;
  });
  std::string out;
  for (const auto& [name, point] : hierarchies) {
    if (!wildcardMatch(filter, name)) continue;
    if (auto path = findCgroup(point, id, "", 0)) out += (out.empty() ? "" : ",") + name + ":" + *path;
  }
  return out;
}

void setStackMaps(std::function<int(const std::string&)> mapFd) { stackMapFd = std::move(mapFd); }
void setDemangling(bool on) { demangling = on; }
void setUserSymbols(bool on) { userSymbols = on; }

StackValue stackOf(Deferred kind, int64_t id, uint64_t extra) {
  StackValue stack;
  uint64_t pid = extra & 0xffffffff;
  uint32_t frames = static_cast<uint32_t>(extra >> 32 & 0xff);
  uint32_t depth = static_cast<uint32_t>(extra >> kStackMapDepthShift & 0xff);
  bool perf = (extra & kStackPerf) != 0;
  int fd = id >= 0 && stackMapFd && frames > 0 && depth >= frames ? stackMapFd(stackMapName(depth)) : -1;
  if (fd < 0) return stack;
  uint32_t key = static_cast<uint32_t>(id);
  std::vector<uint64_t> ips(depth, 0);
  if (bpf_map_lookup_elem(fd, &key, ips.data()) != 0) return stack;
  stack.perf = perf;
  std::vector<std::pair<uint64_t, std::string>> named;  // address, function+offset
  std::vector<std::string> modules;
  for (uint64_t ip : ips) {
    if (ip == 0) break;
    std::string module;
    named.emplace_back(ip, kind == Deferred::Kstack ? kernelSymbol(ip, true) : userSymbol(pid, ip, true, &module));
    modules.push_back(module);
  }
  // A raw tracepoint's program (and a syscall tracepoint's, which runs on the
  // raw sys_enter/sys_exit) sees its own frames first: the program, then the
  // kernel's tracepoint glue (bpf_trace_runN, __bpf_trace_EVENT, and
  // __traceiter_EVENT when more than one callback is attached). The kernel
  // skips the ones every such stack has (probe_context.cpp); the rest go
  // here, so that the stack starts where the event is. (A perf tracepoint's
  // stack keeps its __traceiter_EVENT frame, as bpftrace prints it.)
  size_t first = 0;
  if (kind == Deferred::Kstack && (extra & kStackGlue)) {
    auto glue = [](const std::string& f) {
      for (const char* prefix : {"bpf_prog_", "bpf_trace_run", "__bpf_trace_", "__traceiter_"})
        if (f.rfind(prefix, 0) == 0) return true;
      return false;
    };
    while (first < named.size() && glue(named[first].second)) ++first;
  }
  for (size_t i = first; i < named.size() && i < first + frames; ++i) {
    const auto& [ip, name] = named[i];
    if (!perf) {
      stack.frames.push_back(name);
      continue;
    }
    // bpftrace's perf mode, as perf script prints a stack: the address, the
    // function, and a user frame's file
    char address[24];
    std::snprintf(address, sizeof address, "%lx", static_cast<unsigned long>(ip));
    std::string frame = "\t" + std::string(address) + " " + name;
    if (kind == Deferred::Ustack)
      frame += " (" + (modules[i].empty() || name.rfind("0x", 0) == 0 ? std::string("[unknown]") : modules[i]) + ")";
    stack.frames.push_back(frame);
  }
  return stack;
}

std::string deferredText(Deferred kind, uint64_t value, uint64_t extra) {
  switch (kind) {
    case Deferred::Usym: return userSymbol(extra, value);
    case Deferred::Ksym: return kernelSymbol(value);
    case Deferred::Username: {
      passwd pw{}, *found = nullptr;
      char buf[4096];
      if (getpwuid_r(static_cast<uid_t>(value), &pw, buf, sizeof buf, &found) == 0 && found) return found->pw_name;
      return std::to_string(value);
    }
    case Deferred::Strerror: return std::strerror(static_cast<int>(value));
    case Deferred::CgroupPath: {
      std::string filter = "*";
      if (extra > 0 && strftimeFormats && extra - 1 < strftimeFormats->size()) filter = (*strftimeFormats)[extra - 1];
      return cgroupPaths(value, filter);
    }
    case Deferred::Kstack:
    case Deferred::Ustack: return stackOf(kind, static_cast<int64_t>(value), extra).text(8);
    case Deferred::Strftime: {
      if (!strftimeFormats || extra >= strftimeFormats->size()) return "";
      // ns is on the monotonic clock (nsecs): the wall clock is that plus
      // the distance between the two clocks now.
      timespec real{}, mono{};
      clock_gettime(CLOCK_REALTIME, &real);
      clock_gettime(CLOCK_MONOTONIC, &mono);
      __int128 wallNs = static_cast<__int128>(value) + (static_cast<__int128>(real.tv_sec) - mono.tv_sec) * 1000000000 +
                        (real.tv_nsec - mono.tv_nsec);
      time_t seconds = static_cast<time_t>(wallNs / 1000000000);
      tm local{};
      localtime_r(&seconds, &local);
      // %f: the microseconds, as bpftrace adds to strftime(3)'s conversions.
      std::string format;
      const std::string& given = (*strftimeFormats)[extra];
      for (size_t i = 0; i < given.size(); ++i) {
        if (given[i] == '%' && i + 1 < given.size() && given[i + 1] == 'f') {
          char micros[8];
          std::snprintf(micros, sizeof micros, "%06d", static_cast<int>((wallNs % 1000000000) / 1000));
          format += micros;
          ++i;
        } else if (given[i] == '%' && i + 1 < given.size()) {
          format += given.substr(i, 2);
          ++i;
        } else {
          format += given[i];
        }
      }
      char out[512];
      size_t n = std::strftime(out, sizeof out, format.c_str(), &local);
      return std::string(out, n);
    }
  }
  return "";
}

}  // namespace dptrace
