#include "listing.h"
#include "interfaces.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <ostream>
#include <set>
#include <sstream>
#include <vector>

#include "elf_symbols.h"
#include "sema/tracepoint_format.h"
#include "sema/dpdk_api.h"
#include "sema/dwarf_signatures.h"
#include "sema/kernel_btf.h"
#include "sema/type_check.h"
#include "uprobe_targets.h"
#include "usdt.h"
#include "providers/provider.h"

namespace dptrace {
namespace {

bool matches(const std::string& pattern, const std::string& probe) {
  return pattern.empty() || wildcardMatch(pattern, probe);
}

void tracepointFields(const std::string& category, const std::string& name, std::ostream& out) {
  std::string error;
  if (auto format = loadTracepointFormat(category, name, error))
    for (const TracepointField& f : format->fields) out << "    " << f.declaration << "\n";
}

// Where a parameter is at an inlined call, in words.
std::string whereIs(const ParameterLocation& at) {
  static const char* kRegisters[17] = {"rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8",
                                       "r9",  "r10", "r11", "r12", "r13", "r14", "r15", "rip"};
  std::string reg = kRegisters[std::min<uint32_t>(at.index, 16)];
  std::string off = at.offset < 0 ? std::to_string(at.offset) : "+" + std::to_string(at.offset);
  switch (at.kind) {
    case ParameterLocation::Kind::Register: return "in " + reg;
    case ParameterLocation::Kind::RegisterOffset:
      return reg + off + (at.value ? " & " + hexNumber(at.value) : "");
    case ParameterLocation::Kind::Memory: return "in memory at " + reg + off;
    case ParameterLocation::Kind::IndexedMemory:
      return "in memory at " + reg + " + " + kRegisters[std::min<uint64_t>(at.value & 0xff, 16)] + " * " +
             std::to_string(at.value >> 8) + off;
    case ParameterLocation::Kind::Constant: return "constant " + std::to_string(at.value);
    default: return "elsewhere";
  }
}

// -lv: a uprobe's parameters as C spells their types, as bpftrace lists
// them ("const char* name"); a uretprobe's return value too.
void printSignature(const std::string& kind, const FunctionSignature& signature, std::ostream& out) {
  auto spelled = [](const std::string& c, const Type& t) { return c.empty() ? t.str() : c; };
  for (const Parameter& p : signature.params) out << "    " << spelled(p.cType, p.type) << " " << p.name << "\n";
  if (kind == "uretprobe" && !signature.retCType.empty() && signature.retCType != "void")
    out << "    " << signature.retCType << " retval\n";
}

// A function with no copy of its own: its inlined calls (DWARF), each an
// entry probe; DPDK's burst functions also through rte_eth_fp_ops.
// What libdw could not read (it crashed or hung in its child process), said
// once per binary on `err`: the listing goes on without the DWARF.
void sayDwarfFailure(const std::string& binary, const std::string& failure, std::ostream& err) {
  static std::set<std::string> said;
  if (failure.empty() || !said.insert(binary).second) return;
  err << "dptrace: warning: '" << binary << "': " << failure << "; listed without it\n";
}

size_t listInlined(const std::string& kind, const std::string& binary, const std::string& function, bool verbose,
                   std::ostream& out, std::ostream& err) {
  std::map<std::string, std::string> why;
  std::string failure;
  auto found = readDwarfSignatures(findBinary(binary), {function}, true, &why, &failure);
  sayDwarfFailure(binary, failure, err);
  std::optional<FunctionSignature> signature;
  if (auto it = found.find(function); it != found.end()) signature = std::move(it->second);
  std::vector<InlinedSite> sites;
  if (signature && !signature->outOfLine) {
    std::vector<std::string> names;
    for (const Parameter& p : signature->params) names.push_back(p.name);
    sites = readInlinedSites(findBinary(binary), function, names, &failure);
    sayDwarfFailure(binary, failure, err);
  }
  bool fastPath = fastPathOf(function) != FastPath::None;
  if (sites.empty() && !fastPath) return 0;
  out << kind << ":" << binary << ":" << function << "\n";
  if (!verbose) return 1;
  if (!signature) signature = fastPathSignature(fastPathOf(function));
  printSignature(kind, *signature, out);
  for (const InlinedSite& site : sites) {
    out << "    inlined into " << (site.caller.empty() ? "?" : site.caller) << "() at "
        << site.file.substr(site.file.find_last_of('/') + 1) << ":" << site.line << ", address " << hexNumber(site.address)
        << ":";
    if (!site.unknownEntry.empty()) out << " cannot be probed: " << site.unknownEntry << ";";
    for (size_t i = 0; i < site.params.size() && i < signature->params.size(); ++i)
      out << (i ? "," : "") << " " << signature->params[i].name << " "
          << (site.unavailable[i].empty() ? whereIs(site.params[i]) : site.unavailable[i]);
    out << "\n";
  }
  if (kind == "uretprobe" && !sites.empty())
    out << "    (an inlined call has no return: uretprobes need -p PID or -c CMD"
        << (fastPath ? ", and go through rte_eth_fp_ops)" : "; this one cannot be return-probed)") << "\n";
  else if (fastPath)
    out << "    (with -p PID or -c CMD: attached to the PMD burst functions of the process's rte_eth_fp_ops)\n";
  return 1;
}

constexpr size_t kAlreadySaid = SIZE_MAX;  // nothing listed, and why was said

size_t listUprobes(const std::string& pattern, bool verbose, std::ostream& out, std::ostream& err) {
  // uprobe:BIN:PAT (the binary part may not hold ':')
  size_t first = pattern.find(':'), last = pattern.rfind(':');
  std::string kind = pattern.substr(0, first);
  std::string binary = last == first ? pattern.substr(first + 1) : pattern.substr(first + 1, last - first - 1);
  std::string functions = last == first ? "*" : pattern.substr(last + 1);
  std::string error;
  auto symbols = readFunctionSymbols(findBinary(binary), error);
  if (!symbols) {
    err << "dptrace: error: cannot read '" << binary << "': " << error << "\n"
        << "hint: give the path of a binary or library, e.g. -l 'uprobe:/usr/bin/bash:*'\n";
    return kAlreadySaid;
  }
  // A library or program named without a path (libc, bash) lists by the
  // file it resolved to, as bpftrace lists it; a path as it was given.
  if (binary.find('/') == std::string::npos) binary = findBinary(binary);
  size_t n = 0;
  if (!hasWildcard(functions) &&
      std::none_of(symbols->begin(), symbols->end(), [&](const FunctionSymbol& s) { return s.name == functions; }))
    return listInlined(kind, binary, functions, verbose, out, err);
  // DPDK's burst functions, which a production build has no symbol for.
  if (usesDpdkEthdev(findBinary(binary)))
    for (const char* burst : {"rte_eth_rx_burst", "rte_eth_tx_burst"})
      if (wildcardMatch(functions, burst) &&
          std::none_of(symbols->begin(), symbols->end(), [&](const FunctionSymbol& s) { return s.name == burst; }))
        n += listInlined(kind, binary, burst, verbose, out, err);
  std::map<std::string, FunctionSignature> signatures;
  if (verbose) {
    std::set<std::string> listed;
    for (const FunctionSymbol& s : *symbols)
      if (wildcardMatch(functions, s.name)) listed.insert(s.name);
    std::string failure;
    signatures = readDwarfSignatures(findBinary(binary), listed, true, nullptr, &failure);
    sayDwarfFailure(binary, failure, err);
  }
  for (const FunctionSymbol& s : *symbols) {
    if (!wildcardMatch(functions, s.name)) continue;
    out << kind << ":" << binary << ":" << s.name << "\n";
    ++n;
    auto it = signatures.find(s.name);
    if (it == signatures.end()) continue;
    printSignature(kind, it->second, out);
  }
  return n;
}

// usdt:BIN[:PAT]: BIN's USDT probes as usdt:BIN:PROVIDER:NAME, PAT matched
// against PROVIDER:NAME or NAME; -v adds each site's address, semaphore and
// arguments (their type and the note's operand).
size_t listUsdt(const std::string& pattern, bool verbose, std::ostream& out, std::ostream& err) {
  size_t first = pattern.find(':'), second = pattern.find(':', first + 1);
  std::string binary = pattern.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
  std::string probes = second == std::string::npos ? "*" : pattern.substr(second + 1);
  std::string error;
  auto found = readUsdtProbes(findBinary(binary), error);
  if (!found) {
    err << "dptrace: error: cannot read '" << binary << "': " << error << "\n";
    return kAlreadySaid;
  }
  size_t n = 0;
  std::set<std::string> listed;
  for (const UsdtProbe& p : *found) {
    std::string full = p.provider + ":" + p.name;
    if (!wildcardMatch(probes, full) && !wildcardMatch(probes, p.name)) continue;
    if (listed.insert(full).second) out << "usdt:" << binary << ":" << full << "\n", ++n;  // a probe at several places lists once
    if (!verbose) continue;
    out << "    at " << hexNumber(p.site.address);
    if (p.site.semaphore) out << ", semaphore at file offset " << hexNumber(p.site.semaphore);
    out << "\n";
    std::istringstream operands(p.arguments);
    std::string operand;
    for (size_t i = 0; i < p.site.types.size() && operands >> operand; ++i)
      out << "    " << p.site.types[i].str() << " arg" << i << " (" << operand
          << (p.site.unavailable[i].empty() ? "" : ": " + p.site.unavailable[i]) << ")\n";
  }
  return n;
}

// fentry/fexit functions and rawtracepoint tracepoints from BTF: vmlinux's,
// each loaded module's, and the --btf-module ones; -v adds the typed arguments.

size_t listKernelProbes(const std::string& pattern, bool verbose, KernelBtf& kernel, std::ostream& out,
                        std::ostream& err) {
  std::string kind = pattern.substr(0, pattern.find(':'));
  bool tracepoints = kind == "rawtracepoint";
  std::vector<std::string> modules{""};
  if (DIR* dir = opendir("/sys/kernel/btf")) {
    while (dirent* d = readdir(dir)) {
      std::string m = d->d_name;
      if (m[0] != '.' && m != "vmlinux" && !kernel.sources().modules.count(m)) modules.push_back(m);
    }
    closedir(dir);
  }
  for (const auto& [m, file] : kernel.sources().modules) modules.push_back(m);
  std::sort(modules.begin() + 1, modules.end());
  // 'fentry:gtp5g:*' names a module: one without BTF here is said, not "no probes match".
  size_t first = pattern.find(':'), second = pattern.find(':', first + 1);
  if (second != std::string::npos) {
    std::string named = pattern.substr(first + 1, second - first - 1);
    std::string error;
    if (!named.empty() && !hasWildcard(named) && !kernel.types(named, error)) {
      err << "dptrace: error: " << error << "\n"
          << "hint: give its BTF: dptrace --btf-module " << named << "=FILE -l '" << pattern << "'\n";
      return kAlreadySaid;
    }
  }
  size_t n = 0;
  for (const std::string& module : modules) {
    for (const std::string& name : tracepoints ? kernel.tracepointNames(module) : kernel.functionNames(module)) {
      std::string probe = kind + ":" + (module.empty() ? "" : module + ":") + name;
      if (!matches(pattern, probe)) continue;
      out << probe << "\n";
      ++n;
      if (!verbose) continue;
      std::string error;
      auto k = tracepoints ? kernel.tracepoint(module, name, error) : kernel.function(module, name, error);
      if (!k) continue;
      // A __be value reads in host order: say so, or a user bswap()s it twice.
      auto typeText = [](const Type& t) {
        return t.fromNetworkOrder() ? "__be" + std::to_string(t.bits()) + " (read in host order)" : t.str();
      };
      for (const Parameter& p : k->signature.params)
        out << "    " << (p.unreadable.empty() ? typeText(p.type) : "(" + p.unreadable + ")") << " " << p.name << "\n";
      if (kind == "fexit" && (!k->signature.ret.is(TypeKind::Void) || !k->signature.retUnreadable.empty()))
        out << "    " << (k->signature.retUnreadable.empty() ? typeText(k->signature.ret) : "(" + k->signature.retUnreadable + ")")
            << " retval\n";
    }
  }
  return n;
}

}  // namespace

// 'struct path', 'union *', 'enum sock_type': the kernel's named types of
// that kind from BTF (vmlinux's, or --btf's), sorted, as bpftrace lists
// them; -v prints each definition as libbpf's btf_dump writes it (the types
// it needs by value come first in its output and are left out here).
size_t listTypes(const std::string& pattern, bool verbose, KernelBtf& kernel, std::ostream& out, std::ostream& err) {
  std::string error;
  const struct btf* types = kernel.types("", error);
  if (!types) {
    err << "dptrace: error: " << error << "\n";
    return kAlreadySaid;
  }
  std::map<std::string, uint32_t> named;  // "struct path" -> its id
  for (uint32_t id = 1; id < btf__type_cnt(types); ++id) {
    const btf_type* t = btf__type_by_id(types, id);
    const char* kind = btf_is_struct(t) ? "struct" : btf_is_union(t) ? "union" : btf_is_any_enum(t) ? "enum" : nullptr;
    std::string name = btf__name_by_offset(types, t->name_off);
    if (kind && !name.empty() && wildcardMatch(pattern, std::string(kind) + " " + name))
      named.emplace(std::string(kind) + " " + name, id);
  }
  auto print = [](void* ctx, const char* format, va_list args) {
    va_list again;
    va_copy(again, args);
    int size = std::vsnprintf(nullptr, 0, format, again);
    va_end(again);
    std::string piece(static_cast<size_t>(std::max(size, 0)) + 1, '\0');
    std::vsnprintf(piece.data(), piece.size(), format, args);
    piece.pop_back();
    *static_cast<std::string*>(ctx) += piece;
  };
  if (!verbose) {
    for (const auto& [name, id] : named) out << name << "\n";
    return named.size();
  }
  // One dump for all: a type another one needed by value is written once,
  // where it was first needed; each definition is found by its first line.
  std::string text;
  btf_dump* dump = btf_dump__new(types, print, &text, nullptr);
  for (const auto& [name, id] : named)
    if (!dump || btf_dump__dump_type(dump, id) != 0) {
      err << "dptrace: error: cannot print " << name << " from BTF: " << std::strerror(errno) << "\n";
      btf_dump__free(dump);
      return kAlreadySaid;
    }
  btf_dump__free(dump);
  std::map<std::string, size_t> starts;  // "struct path" -> where its definition begins
  for (size_t line = 0; line < text.size();) {
    size_t end = text.find('\n', line);
    if (end == std::string::npos) end = text.size();
    size_t brace = text.find(" {", line);
    if (brace != std::string::npos && (brace + 2 == end || text.compare(brace, end - brace, " {};") == 0))
      starts.emplace(text.substr(line, brace - line), line);  // (an empty struct: "struct x {};")
    line = end + 1;
  }
  for (const auto& [name, id] : named) {
    auto at = starts.find(name);
    if (at == starts.end()) continue;
    // It ends at the first line that starts with '}' ("};", "} __attribute__((packed));").
    size_t end = text.find('\n', at->second);
    if (text.compare(end - 3, 3, "{};") != 0) {
      end = text.find("\n}", at->second);
      end = end == std::string::npos ? text.size() : text.find('\n', end + 1);
    }
    out << text.substr(at->second, end == std::string::npos ? std::string::npos : end + 1 - at->second) << "\n";
  }
  return named.size();
}

// kprobe:FUNC and kretprobe:FUNC (kprobe:MODULE:FUNC for a module's): the
// kernel's text symbols of /proc/kallsyms, the set kprobe wildcards match.
// A kernel without kprobes has the functions but cannot attach to them: said
// after the list.
size_t listKprobes(const std::string& pattern, std::ostream& out, std::ostream& err) {
  std::string kind = pattern.substr(0, pattern.find(':'));
  std::set<std::string> probes;
  for (const auto& [module, name] : kernelFunctions()) {
    if (module == "bpf" || module.rfind("__builtin", 0) == 0) continue;  // BPF programs, ftrace trampolines
    // static-call trampolines and the cold parts of split functions: no function entries
    if (name.rfind("__SCT__", 0) == 0 || name.find(".cold") != std::string::npos) continue;
    std::string probe = kind + ":" + (module.empty() ? "" : module + ":") + name;
    if (matches(pattern, probe)) probes.insert(probe);
  }
  for (const std::string& p : probes) out << p << "\n";
  if (!probes.empty() && !kernelHasKprobes())
    err << "dptrace: note: this kernel has no kprobes (CONFIG_KPROBE_EVENTS): these functions cannot be attached "
           "here; fentry:/fexit: reach them where the kernel has BPF trampolines\n";
  return probes.size();
}

int listProbes(std::string pattern, bool verbose, KernelBtf& kernel, std::ostream& out, std::ostream& err) {
  // 'k:*socket*,tracepoint:syscalls:*' lists each pattern, as bpftrace does.
  if (pattern.find(',') != std::string::npos) {
    int status = 1;
    std::ostringstream none;
    for (size_t at = 0; at <= pattern.size();) {
      size_t comma = pattern.find(',', at);
      std::string one = pattern.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
      if (!one.empty() && listProbes(one, verbose, kernel, out, none) == 0) status = 0;
      if (comma == std::string::npos) break;
      at = comma + 1;
    }
    if (status != 0) err << "dptrace: error: no probes match '" << pattern << "'\n";
    return status;
  }
  size_t n = 0;
  // Aliases list as their canonical kind: t:* is tracepoint:*, rt:* rawtracepoint:*, kfunc:* fentry:*.
  if (size_t colon = pattern.find(':'); colon != std::string::npos)
    if (const ProviderInfo* p = findProvider(pattern.substr(0, colon))) pattern = p->name + pattern.substr(colon);
  if (pattern.rfind("uprobe:", 0) == 0 || pattern.rfind("uretprobe:", 0) == 0) {
    n = listUprobes(pattern, verbose, out, err);
    if (n == kAlreadySaid) return 1;
  } else if (pattern.rfind("struct ", 0) == 0 || pattern.rfind("union ", 0) == 0 || pattern.rfind("enum ", 0) == 0) {
    n = listTypes(pattern, verbose, kernel, out, err);
    if (n == kAlreadySaid) return 1;
  } else if (pattern.rfind("kprobe:", 0) == 0 || pattern.rfind("kretprobe:", 0) == 0) {
    n = listKprobes(pattern, out, err);
  } else if (pattern.rfind("usdt:", 0) == 0) {
    n = listUsdt(pattern, verbose, out, err);
    if (n == kAlreadySaid) return 1;
  } else if (pattern.rfind("fentry:", 0) == 0 || pattern.rfind("fexit:", 0) == 0 ||
             pattern.rfind("rawtracepoint:", 0) == 0) {
    n = listKernelProbes(pattern, verbose, kernel, out, err);
    if (n == kAlreadySaid) return 1;
  } else {
    std::string error;
    for (const auto& [category, name] : listTracepoints(error)) {
      std::string probe = "tracepoint:" + category + ":" + name;
      if (!matches(pattern, probe)) continue;
      out << probe << "\n";
      if (verbose) tracepointFields(category, name, out);
      ++n;
    }
    if (struct if_nameindex* interfaces = if_nameindex()) {
      for (struct if_nameindex* i = interfaces; i->if_index != 0; ++i) {
        std::string probe = std::string("xdp:") + i->if_name;
        if (matches(pattern, probe)) out << probe << "\n", ++n;
        // afxdp:IF, and afxdp:IF:Q for each of its rx queues
        std::string afxdp = std::string("afxdp:") + i->if_name;
        if (matches(pattern, afxdp)) out << afxdp << "\n", ++n;
        uint32_t queues = rxQueueCount(i->if_name);
        for (uint32_t q = 0; q < queues; ++q)
          if (matches(pattern, afxdp + ":" + std::to_string(q))) out << afxdp << ":" << q << "\n", ++n;
      }
      if_freenameindex(interfaces);
    }
    if (!error.empty() && n == 0) err << "dptrace: error: " << error << "\n";
    // A pattern that names no probe type ('*vfs_read*') searches the kernel's
    // functions too, as bpftrace's does.
    bool typed = pattern.rfind("tracepoint:", 0) == 0 || pattern.rfind("xdp:", 0) == 0 || pattern.rfind("afxdp:", 0) == 0;
    if (!pattern.empty() && !typed) n += listKprobes(pattern.find(':') == std::string::npos ? "kprobe:" + pattern : pattern, out, err);
  }
  out.flush();
  if (n == 0) {
    err << "dptrace: error: no probes match '" << pattern << "'\n"
        << "hint: patterns look like 'tracepoint:syscalls:*', 'uprobe:./upf:rte_*', 'usdt:/usr/bin/python3:*', 'fentry:*', "
           "'rawtracepoint:*', 'kprobe:*', 'xdp:*', 'afxdp:*' or 'struct task_*'\n";
    return 1;
  }
  return 0;
}

}  // namespace dptrace
