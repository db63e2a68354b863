#include "listing.h"
#include "interfaces.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <net/if.h>

#include <algorithm>
#include <fstream>
#include <ostream>
#include <sstream>
#include <vector>

#include "elf_symbols.h"
#include "sema/tracepoint_format.h"
#include "sema/dwarf_signatures.h"
#include "uprobe_targets.h"

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

size_t listUprobes(const std::string& pattern, bool verbose, std::ostream& out, std::ostream& err) {
  // uprobe:BIN:PAT (the binary part may not hold ':')
  size_t first = pattern.find(':'), last = pattern.rfind(':');
  std::string kind = pattern.substr(0, first);
  std::string binary = last == first ? pattern.substr(first + 1) : pattern.substr(first + 1, last - first - 1);
  std::string functions = last == first ? "*" : pattern.substr(last + 1);
  std::string error;
  auto symbols = readFunctionSymbols(findBinary(binary), error);
  if (!symbols) {
    err << "dptrace: error: cannot read '" << binary << "': " << error << "\n";
    return 0;
  }
  size_t n = 0;
  for (const FunctionSymbol& s : *symbols) {
    if (!wildcardMatch(functions, s.name)) continue;
    out << kind << ":" << binary << ":" << s.name << "\n";
    ++n;
    if (!verbose) continue;
    std::string dwarfError;
    auto signature = readDwarfSignature(findBinary(binary), s.name, dwarfError);
    if (!signature) continue;
    for (const Parameter& p : signature->params)
      out << "    " << (p.unreadable.empty() ? p.type.str() : "(" + p.unreadable + ")") << " " << p.name << "\n";
    if (kind == "uretprobe" && !signature->ret.is(TypeKind::Void)) out << "    " << signature->ret.str() << " retval\n";
  }
  return n;
}

size_t listKernelFunctions(const std::string& pattern, std::ostream& out) {
  size_t n = 0;
  std::string kind = pattern.substr(0, pattern.find(':'));
  auto list = [&](btf* b, const std::string& module, uint32_t from) {
    for (uint32_t id = from; id < btf__type_cnt(b); ++id) {
      const btf_type* t = btf__type_by_id(b, id);
      if (!btf_is_func(t)) continue;
      std::string probe = kind + ":" + (module.empty() ? "" : module + ":") + btf__name_by_offset(b, t->name_off);
      if (matches(pattern, probe)) out << probe << "\n", ++n;
    }
  };
  btf* vmlinux = btf__load_vmlinux_btf();
  if (vmlinux == nullptr) return 0;
  list(vmlinux, "", 1);
  if (DIR* dir = opendir("/sys/kernel/btf")) {
    while (dirent* d = readdir(dir)) {
      std::string m = d->d_name;
      if (m[0] == '.' || m == "vmlinux") continue;
      if (btf* split = btf__load_module_btf(m.c_str(), vmlinux)) {
        list(split, m, btf__type_cnt(vmlinux));
        btf__free(split);
      }
    }
    closedir(dir);
  }
  btf__free(vmlinux);
  return n;
}

}  // namespace

int listProbes(const std::string& pattern, bool verbose, std::ostream& out, std::ostream& err) {
  size_t n = 0;
  if (pattern.rfind("uprobe:", 0) == 0 || pattern.rfind("uretprobe:", 0) == 0) {
    n = listUprobes(pattern, verbose, out, err);
  } else if (pattern.rfind("fentry:", 0) == 0 || pattern.rfind("fexit:", 0) == 0) {
    n = listKernelFunctions(pattern, out);
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
  }
  out.flush();
  if (n == 0) {
    err << "dptrace: error: no probes match '" << pattern << "'\n"
        << "hint: patterns look like 'tracepoint:syscalls:*', 'uprobe:./upf:rte_*', 'fentry:*', 'xdp:*' or 'afxdp:*'\n";
    return 1;
  }
  return 0;
}

}  // namespace dptrace
