// The type checker: expressions and statements. Calls are in calls.cpp.
//
// Maps are global and may be stored in one probe and read in an earlier one,
// so the checker walks the program twice: a quiet pass learns every map's
// types, the second pass reports.
#include "type_check.h"
#include "usdt.h"

#include "map_sides.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "builtins.h"
#include "c_import.h"
#include "dpdk_api.h"
#include "packet_views.h"
#include "suggest.h"
#include "type_checker.h"
#include "writes.h"

namespace dptrace {
namespace {

std::string tracepointKey(const ast::AttachPoint& ap) { return ap.target + ":" + ap.function; }

// The tracepoints an attach point names: itself, or what its pattern matched.
std::vector<std::string> tracepointsOf(const ast::AttachPoint& ap, const ImportedTypes& types) {
  auto matched = types.tracepointMatches.find(tracepointKey(ap));
  if (matched != types.tracepointMatches.end()) return matched->second;
  return {tracepointKey(ap)};
}

std::vector<std::string> fieldNames(const std::vector<TracepointField>& fields) {
  std::vector<std::string> names;
  for (const auto& f : fields) names.push_back(f.name);
  return names;
}

}  // namespace

const Type& TypeTable::of(const ast::Expr& e) const {
  static const Type kVoid;
  auto it = exprs.find(&e);
  return it == exprs.end() ? kVoid : it->second;
}

// ------------------------------------------------------------ constants

std::optional<Constant> constantOf(const ast::Expr& e) {
  if (e.kind == ast::ExprKind::Integer) return Constant{false, static_cast<const ast::Integer&>(e).value};
  if (e.kind == ast::ExprKind::Unary) {
    const auto& u = static_cast<const ast::Unary&>(e);
    if (u.op == ast::UnaryOp::Negate && u.operand->kind == ast::ExprKind::Integer) {
      uint64_t v = static_cast<const ast::Integer&>(*u.operand).value;
      return Constant{v != 0, v};
    }
  }
  return std::nullopt;
}

bool fits(const Constant& c, const Type& t) {
  if (t.is(TypeKind::Bool)) return !c.negative && c.magnitude <= 1;
  if (!t.is(TypeKind::Integer)) return false;
  uint32_t bits = t.bits();
  if (c.negative) return t.isSigned() && c.magnitude <= (uint64_t{1} << (bits - 1));
  uint64_t max = t.isSigned() ? (uint64_t{1} << (bits - 1)) - 1 : (bits == 64 ? UINT64_MAX : (uint64_t{1} << bits) - 1);
  return c.magnitude <= max;
}

bool fitsField(const Constant& c, const PacketField& f) {
  return fits(c, f.type) && (f.max == 0 || c.magnitude <= f.max);
}

std::string fieldRange(const PacketField& f) {
  if (f.max != 0) return "0 to " + std::to_string(f.max);
  return f.type.str();
}

bool isZero(const ast::Expr& e) {
  auto c = constantOf(e);
  return c && c->magnitude == 0;
}

std::string constantText(const Constant& c) { return (c.negative ? "-" : "") + std::to_string(c.magnitude); }

// ------------------------------------------------------------ driver

// The structs a script reaches through uprobe arguments or casts, laid out
// from the DWARF of the binaries it probes.
struct StructNames : ast::Visitor<StructNames, true> {
  using Visitor::visit;
  std::set<std::string> names;
  void visit(const ast::Cast& c) {
    if (c.type.kind == ast::TypeName::Kind::Struct || c.type.kind == ast::TypeName::Kind::Union) names.insert(c.type.name);
    Visitor::visit(c);
  }
};

void structsOf(const Type& t, std::set<std::string>& out) {
  if (t.is(TypeKind::Pointer)) structsOf(t.pointee(), out);
  if (t.is(TypeKind::Struct)) out.insert(t.name());
}

void importStructs(const ast::Program& program, Diagnostics& diags, ImportedTypes& types) {
  StructNames wanted;
  wanted.visitProgram(program);
  const std::set<std::string> named = wanted.names;  // by the script itself, not only by a signature
  for (const auto& [key, signature] : types.signatures)
    for (const Parameter& p : signature.params) structsOf(p.type, wanted.names);
  std::map<std::string, const ast::AttachPoint*> binaries;  // each with the first attach point that names it
  for (const ast::Probe& probe : program.probes)
    for (const ast::AttachPoint& ap : probe.attachPoints)
      if (isUserProbe(ap.kind)) binaries.emplace(findBinary(ap.target), &ap);
  std::pair<const ast::AttachPoint*, std::string> failed;  // the first binary libdw could not read, and why
  for (const auto& [binary, ap] : binaries) {
    std::set<std::string> missing;
    for (const std::string& name : wanted.names)
      if (!types.structs.count(name)) missing.insert(name);
    if (missing.empty()) break;
    std::string failure;
    types.structs.merge(readDwarfStructs(binary, missing, &failure));
    if (!failure.empty() && !failed.first) failed = {ap, failure};
  }
  // An error only when a struct the script names is missing for it: one a
  // signature names is only looked up ahead.
  if (failed.first && std::any_of(named.begin(), named.end(), [&](const std::string& n) { return !types.structs.count(n); }))
    diags.error(failed.first->range, "the struct layouts of '" + failed.first->target + "' cannot be read: " + failed.second,
                "rebuild it, or define the structs in the script");
}

// The script's C text through Clang. Its layouts win over DWARF's: a script
// that defines or includes a struct says which layout it means.
void importC(const ast::Program& program, const ImportOptions& options, Diagnostics& diags, ImportedTypes& types) {
  if (program.cDefinitions.empty() || !options.cDefinitions) return;
  std::vector<std::pair<uint32_t, uint32_t>> ranges;
  for (const ast::CDefinition& c : program.cDefinitions) ranges.emplace_back(c.range.begin, c.range.end);
  CImportResult result;
  const SourceFile& file = diags.file();
  if (auto failed = importCDefinitions(file.name(), file.text(), ranges, options.includeDirs, result, options.includes)) {
    if (failed->system) diags.systemError(program.cDefinitions.front().range, failed->message, failed->hint);
    else diags.error(program.cDefinitions.front().range, failed->message, failed->hint);
    return;
  }
  for (const CImportMessage& m : result.messages) {
    SourceRange at{m.offset, m.offset + 1};
    for (const ast::CDefinition& c : program.cDefinitions)  // a header's error underlines the whole #include
      if (m.offset >= c.range.begin && m.offset < c.range.end && m.text.rfind("in ", 0) == 0) at = c.range;
    std::string hint;
    if (m.text.find("file not found") != std::string::npos) {
      hint = "searched";
      for (const std::string& dir : options.includeDirs) hint += " " + dir;
      for (const std::string& dir : stdlibIncludeDirs()) hint += " " + dir;
      hint += "; add a directory with -I DIR";
    }
    // About a header of --include (no place in the script led to it).
    if (m.error && !m.fromScript && !options.includes.empty()) diags.errorUnlocated("--include: C: " + m.text, hint);
    else if (m.error) diags.error(at, "C: " + m.text, hint);
  }
  types.structs.merge(result.structs);
  types.enums.merge(result.enums);
  types.constants.merge(result.constants);
}

// "did you mean ...?" for a tracepoint that does not exist: its category,
// else its name within the category.
std::string tracepointHint(const ast::AttachPoint& ap) {
  std::string error;
  std::vector<std::string> categories, names;
  for (const auto& [category, name] : listTracepoints(error)) {
    if (categories.empty() || categories.back() != category) categories.push_back(category);
    if (category == ap.target) names.push_back(name);
  }
  if (names.empty()) {
    std::string guess = closestMatch(ap.target, categories);
    if (!guess.empty()) return "did you mean 'tracepoint:" + guess + ":" + ap.function + "'?";
  } else if (std::find(names.begin(), names.end(), ap.function) != names.end()) {
    return "";  // it exists: its format is what failed, and the error says how
  } else if (std::string guess = closestMatch(ap.function, names); !guess.empty()) {
    return "did you mean 'tracepoint:" + ap.target + ":" + guess + "'?";
  }
  return "list them with: dptrace -l 'tracepoint:" + (names.empty() ? std::string("*") : ap.target + ":*") + "'";
}

bool isPrivilegeError(const std::string& error) {
  return error.find("not readable") != std::string::npos || error.find("not permitted") != std::string::npos;
}

// The formats of a tracepoint attach point; a pattern (tracepoint:syscalls:sys_enter_*)
// is expanded over tracefs first, and every tracepoint it matches is loaded.
void importTracepoints(const ast::AttachPoint& ap, Diagnostics& diags, ImportedTypes& types) {
  std::string key = tracepointKey(ap);
  if (types.tracepoints.count(key) || types.tracepointMatches.count(key)) return;
  bool wildcard = hasWildcard(ap.target) || hasWildcard(ap.function);
  std::vector<std::string> names;
  std::string error;
  if (wildcard) {
    auto all = listTracepoints(error);
    for (const auto& [category, name] : all)
      if (wildcardMatch(ap.target, category) && wildcardMatch(ap.function, name)) names.push_back(category + ":" + name);
    if (names.empty()) {
      if (!error.empty() && isPrivilegeError(error))
        return diags.systemError(ap.range, "tracepoints cannot be listed: " + error, "run dptrace as root");
      return diags.error(ap.range, "no tracepoint matches '" + key + "'" + (error.empty() ? "" : ": " + error),
                         "list them with: dptrace -l 'tracepoint:" + ap.target + ":*'");
    }
  } else {
    names.push_back(key);
  }
  std::vector<std::string> loaded;
  for (const std::string& name : names) {
    if (types.tracepoints.count(name)) {
      loaded.push_back(name);
      continue;
    }
    size_t colon = name.find(':');
    auto format = loadTracepointFormat(name.substr(0, colon), name.substr(colon + 1), error);
    if (format) {
      types.tracepoints.emplace(name, std::move(*format));
      loaded.push_back(name);
      continue;
    }
    std::string message = "tracepoint '" + name + "' cannot be used: " + error;
    if (isPrivilegeError(error)) return diags.systemError(ap.range, message, "run dptrace as root");
    if (!wildcard) return diags.error(ap.range, message, tracepointHint(ap));
    diags.warning(ap.range, message + "; '" + key + "' leaves it out", "");  // one unreadable format among many
  }
  if (wildcard) types.tracepointMatches[key] = loaded;
}

std::string kernelProbeKey(const ast::AttachPoint& ap) {
  if (isKprobe(ap.kind)) return std::string(probeKindName(ap.kind)) + ":" + ap.target + ":" + ap.function;
  return std::string(ap.kind == ProbeKind::RawTracepoint ? "rawtracepoint:" : "fentry:") + ap.target + ":" + ap.function;
}

const StructLayout* ImportedTypes::findStruct(const std::string& name) const {
  if (auto it = structs.find(name); it != structs.end()) return &it->second;
  if (!kernel) return nullptr;
  auto it = kernelStructs_.find(name);
  if (it == kernelStructs_.end()) it = kernelStructs_.emplace(name, kernel->structLayout(name, kernelModules)).first;
  return it->second ? &*it->second : nullptr;
}

// A BTF attach point with a pattern: one attach point per match (at most
// kMaxKernelMatches: each is a program of its own), each with its signature.
constexpr size_t kMaxKernelMatches = 256;

void importKernelMatches(const ast::AttachPoint& ap, Diagnostics& diags, ImportedTypes& types) {
  bool tracepoint = ap.kind == ProbeKind::RawTracepoint;
  std::string kind = probeKindName(ap.kind), module = ap.target.empty() ? "" : ap.target + ":";
  std::vector<std::string> names;
  for (const std::string& name :
       tracepoint ? types.kernel->tracepointNames(ap.target) : types.kernel->functionNames(ap.target))
    if (wildcardMatch(ap.function, name)) names.push_back(name);
  if (names.empty())
    return diags.error(ap.range, std::string("no ") + (tracepoint ? "tracepoint" : "function") + " matches '" +
                                     ap.function + "' in the BTF of " + (ap.target.empty() ? "the kernel" : "module " + ap.target),
                       "list them with: dptrace -l '" + kind + ":" + module + "*'");
  if (names.size() > kMaxKernelMatches)
    return diags.error(ap.range, "'" + ap.raw + "' matches " + std::to_string(names.size()) + " " +
                                     (tracepoint ? "tracepoints" : "functions") + ", one program each; at most " +
                                     std::to_string(kMaxKernelMatches) + " are attached",
                       "narrow the pattern; list its matches with: dptrace -l '" + kind + ":" + module + ap.function + "'");
  std::deque<ast::AttachPoint>& matches = types.kernelMatches[kernelProbeKey(ap)];
  for (const std::string& name : names) {
    std::string error;
    auto signature = tracepoint ? types.kernel->tracepoint(ap.target, name, error)
                                : types.kernel->function(ap.target, name, error);
    if (!signature) continue;  // a FUNC without a prototype cannot be traced
    ast::AttachPoint& one = matches.emplace_back(ap);
    one.function = name;
    one.raw = kind + ":" + module + name;
    types.kernelSignatures.emplace(kernelProbeKey(one), std::move(*signature));
  }
}

// The BTF signature of an fentry/fexit function or a rawtracepoint.
void importKernelSignature(const ast::AttachPoint& ap, Diagnostics& diags, ImportedTypes& types) {
  std::string key = kernelProbeKey(ap);
  if (types.kernelSignatures.count(key)) return;
  bool tracepoint = ap.kind == ProbeKind::RawTracepoint;
  const char* kind = tracepoint ? "rawtracepoint" : probeKindName(ap.kind);
  std::string module = ap.target.empty() ? "" : ap.target + ":";
  if (hasWildcard(ap.target))
    return diags.error(ap.range, std::string(kind) + " attach points name their module without wildcards",
                       std::string("list the modules' ") + (tracepoint ? "tracepoints" : "functions") +
                           " with: dptrace -l '" + kind + ":*'");
  std::string error;
  if (!types.kernel->types(ap.target, error)) {
    // Said once per module: a script of nine gtp5g probes gets one error.
    if (!types.kernelModulesReported.insert(ap.target).second) return;
    std::string hint;
    if (!ap.target.empty() && !types.kernel->sources().modules.count(ap.target))
      hint = "load the module to run this here; to compile for a host that has it, give its BTF: --btf-module " +
             ap.target + "=FILE --emit obj -o F.o (FILE from pahole --btf_base /sys/kernel/btf/vmlinux "
             "--btf_encode_detached=FILE " + ap.target + ".ko)";
    else if (ap.target.empty() && types.kernel->sources().vmlinux.empty())
      hint = "compile against another kernel's BTF with --btf FILE";
    return diags.error(ap.range, error + " (every probe on it is refused)", hint);
  }
  if (hasWildcard(ap.function)) return importKernelMatches(ap, diags, types);
  auto signature = tracepoint ? types.kernel->tracepoint(ap.target, ap.function, error)
                              : types.kernel->function(ap.target, ap.function, error);
  if (signature) {
    types.kernelSignatures.emplace(key, std::move(*signature));
    return;
  }
  std::vector<std::string> names =
      tracepoint ? types.kernel->tracepointNames(ap.target) : types.kernel->functionNames(ap.target);
  std::string guess = closestMatch(ap.function, names);
  std::string btfOption;  // the hint's command must find the module's BTF too
  if (auto given = types.kernel->sources().modules.find(ap.target); given != types.kernel->sources().modules.end())
    btfOption = "--btf-module " + ap.target + "=" + given->second + " ";
  std::string hint = guess.empty() ? "list them with: dptrace " + btfOption + "-l '" + std::string(kind) + ":" + module + "*'"
                                   : "did you mean '" + std::string(kind) + ":" + module + guess + "'?";
  if (!tracepoint) error += " (a function the compiler inlined everywhere has none)";
  diags.error(ap.range, error, hint);
}

// kprobe:tcp_* : the kernel's functions (text symbols of /proc/kallsyms,
// a module's when one is named) that the pattern matches, an attach point
// each, at most BPFTRACE_MAX_PROBES (512) of them, as bpftrace allows. A pattern that
// matches none is left out with a warning, as bpftrace leaves it out
// (dcsnoop.bt's kprobe:lookup_fast.constprop.*); kprobe:FUNC must name one.
const std::vector<std::pair<std::string, std::string>>& kernelFunctions() {
  static const std::vector<std::pair<std::string, std::string>> functions = [] {
    std::vector<std::pair<std::string, std::string>> out;
    std::ifstream in("/proc/kallsyms");
    for (std::string line; std::getline(in, line);) {
      // "ffffffff81234560 t tcp_reset\t[module]"
      std::istringstream fields(line);
      std::string address, kind, name, module;
      fields >> address >> kind >> name >> module;
      if ((kind != "t" && kind != "T") || name.rfind("__pfx_", 0) == 0) continue;
      out.emplace_back(module.empty() ? "" : module.substr(1, module.size() - 2), name);
    }
    return out;
  }();
  return functions;
}

bool kernelHasKprobes() {
  return access("/sys/bus/event_source/devices/kprobe", F_OK) == 0 || access("/sys/kernel/tracing/kprobe_events", F_OK) == 0 ||
         access("/sys/kernel/debug/tracing/kprobe_events", F_OK) == 0;
}

void expandKprobe(const ast::AttachPoint& ap, Diagnostics& diags, ImportedTypes& types) {
  std::string key = kernelProbeKey(ap);
  if (types.kernelMatches.count(key)) return;
  bool wildcard = hasWildcard(ap.function);
  const std::vector<std::pair<std::string, std::string>>& functions = kernelFunctions();
  std::set<std::string> names;
  for (const auto& [module, name] : functions) {
    if (module != ap.target) continue;
    if (wildcard ? wildcardMatch(ap.function, name) : name == ap.function) names.insert(name);
  }
  const size_t kMaxProbes = types.maxProbes;
  if (!wildcard) {  // as bpftrace, a warning: attaching it fails, with the kernel's reason
    if (names.empty()) {
      std::vector<std::string> all;  // for a close match
      for (const auto& [module, name] : functions)
        if (module == ap.target) all.push_back(name);
      std::string guess = closestMatch(ap.function, all);
      diags.warning(ap.range, "the kernel has no function '" + ap.function + "'" + (ap.target.empty() ? "" : " in module " + ap.target) +
                                  ": attaching it will fail",
                    guess.empty() ? "the kernel's functions are in /proc/kallsyms" : "did you mean '" + guess + "'?");
    }
    return;
  }
  if (names.empty()) {
    diags.warning(ap.range, "no kernel function matches '" + ap.function + "'" + (ap.target.empty() ? "" : " in " + ap.target) +
                                ": '" + ap.raw + "' is left out, as bpftrace leaves it out",
                  "the kernel's functions are in /proc/kallsyms");
    types.kernelMatches[key];  // no program
    return;
  }
  if (names.size() > kMaxProbes)
    return diags.error(ap.range, "'" + ap.raw + "' matches " + std::to_string(names.size()) + " kernel functions, more than " +
                                     std::to_string(kMaxProbes),
                       "narrow the pattern, or raise BPFTRACE_MAX_PROBES (" + std::to_string(kMaxProbes) +
                           ", as bpftrace's limit)");
  std::deque<ast::AttachPoint>& matches = types.kernelMatches[key];
  std::string kind = probeKindName(ap.kind);
  for (const std::string& name : names) {
    ast::AttachPoint& one = matches.emplace_back(ap);
    one.function = name;
    one.raw = kind + ":" + (ap.target.empty() ? "" : ap.target + ":") + name;
  }
}

// Two places (or probes) whose argument differs in width or sign: a type
// that holds both values, as bpftrace's 64-bit ones do: the wider, signed
// when one is, and wider still when an unsigned one as wide would not fit
// (u32 and s32 are s64).
Type unifyUsdtArgument(const Type& a, const Type& b) {
  if (a.isSigned() == b.isSigned()) return Type::integer(std::max(a.bits(), b.bits()), a.isSigned());
  const Type& u = a.isSigned() ? b : a;
  const Type& s = a.isSigned() ? a : b;
  return Type::integer(u.bits() >= s.bits() ? std::min(64u, u.bits() * 2) : s.bits(), true);
}

// usdt:BIN:PROVIDER:NAME: the probes of BIN's notes it matches, each an
// inlined-like site whose arguments the note locates (usdt.h); its
// "signature" types arg0..argN across the sites (the widest, signed when
// one is), as many as every site has.
void importUsdt(const ast::AttachPoint& ap, Diagnostics& diags, ImportedTypes& types) {
  std::string key = ap.target + ":" + ap.function, error;
  if (types.inlinedSites.count(key)) return;
  std::string binary = findBinary(ap.target);
  auto probes = readUsdtProbes(binary, error);
  if (!probes) {
    diags.error(ap.range, "cannot read '" + ap.target + "': " + error,
                error.find("Permission") != std::string::npos ? "dptrace needs to read the binary: run it as root"
                                                               : "give the path of a binary or library, e.g. usdt:/usr/bin/python3:function__entry");
    return;
  }
  size_t colon = ap.function.find(':');
  std::string provider = ap.function.substr(0, colon), name = ap.function.substr(colon + 1);
  std::vector<InlinedSite> sites;
  std::vector<std::string> names;
  for (const UsdtProbe& p : *probes) {
    names.push_back(p.provider + ":" + p.name);
    if ((provider.empty() || wildcardMatch(provider, p.provider)) && wildcardMatch(name, p.name)) sites.push_back(p.site);
  }
  if (provider.empty() && !hasWildcard(name)) {  // no provider given: the name must be one provider's
    std::set<std::string> providers;
    for (const InlinedSite& s : sites) providers.insert(s.caller.substr(0, s.caller.find(':')));
    if (providers.size() > 1) {
      std::string all;
      for (const std::string& p : providers) all += (all.empty() ? "" : ", ") + p;
      diags.error(ap.range, "'" + name + "' is a probe of " + std::to_string(providers.size()) + " providers of '" + ap.target +
                                "' (" + all + "): say which",
                  "usdt:" + ap.target + ":" + *providers.begin() + ":" + name + ", or usdt:" + ap.target + ":*:" + name +
                      " for every one");
      return;
    }
  }
  if (sites.empty()) {
    std::string shown = provider.empty() ? name : ap.function;
    if (probes->empty()) {
      diags.error(ap.range, "'" + ap.target + "'" + (binary != ap.target ? " (" + binary + ")" : "") +
                                " has no USDT probes (no .note.stapsdt section)",
                  "USDT probes are compiled in with <sys/sdt.h> (DTRACE_PROBE, STAP_PROBE); probe a function with uprobe:" +
                      ap.target + ":FUNCTION instead");
      return;
    }
    std::string guess = hasWildcard(ap.function) ? "" : closestMatch(ap.function, names);
    if (guess.empty() && provider.empty()) {
      std::vector<std::string> bare;
      for (const UsdtProbe& p : *probes) bare.push_back(p.name);
      if (std::string g = closestMatch(name, bare); !g.empty())
        for (const UsdtProbe& p : *probes)
          if (p.name == g) guess = p.provider + ":" + p.name;
    }
    diags.error(ap.range, "no USDT probe of '" + ap.target + "' matches '" + shown + "'",
                guess.empty() ? "list them with: dptrace -l 'usdt:" + ap.target + ":*'"
                              : "did you mean 'usdt:" + ap.target + ":" + guess + "'?");
    return;
  }
  FunctionSignature signature;
  size_t count = sites[0].types.size();
  for (const InlinedSite& s : sites) count = std::min(count, s.types.size());
  for (size_t i = 0; i < count; ++i) {
    Type type = sites[0].types[i];
    for (const InlinedSite& s : sites) type = unifyUsdtArgument(type, s.types[i]);
    signature.params.push_back({"arg" + std::to_string(i), "", type, {}, ""});
  }
  signature.outOfLine = false;
  types.signatures.emplace(key, std::move(signature));
  types.inlinedSites[key] = std::move(sites);
}

namespace {

struct ParametersRead : ast::Visitor<ParametersRead, true> {
  using Visitor::visit;
  const FunctionSignature* signature;
  std::set<unsigned> read;
  explicit ParametersRead(const FunctionSignature* s) : signature(s) {}
  void visit(const ast::Identifier& id) {
    const std::string& n = id.name;
    if (n.size() == 4 && n.rfind("arg", 0) == 0 && n[3] >= '0' && n[3] <= '9') read.insert(static_cast<unsigned>(n[3] - '0'));
  }
  void visit(const ast::Field& f) {
    if (f.base->kind == ast::ExprKind::Identifier && static_cast<const ast::Identifier&>(*f.base).name == "args" && signature)
      for (size_t i = 0; i < signature->params.size(); ++i)
        if (signature->params[i].name == f.field) read.insert(static_cast<unsigned>(i));
    Visitor::visit(f);
  }
};

}  // namespace

namespace {

// Whether a block reads args (args.NAME of a uprobe needs its DWARF).
struct ArgsRead : ast::Visitor<ArgsRead, true> {
  using Visitor::visit;
  bool read = false;
  void visit(const ast::Identifier& id) { read = read || id.name == "args"; }
};

bool readsArgs(const ast::Probe& probe) {
  ArgsRead v;
  v.visit(probe.body);
  if (probe.predicate) v.visitExpr(*probe.predicate);
  return v.read;
}

}  // namespace

std::vector<unsigned> parametersRead(const ast::Probe& probe, const FunctionSignature* signature) {
  ParametersRead v(signature);
  v.visit(probe.body);
  if (probe.predicate) v.visitExpr(*probe.predicate);
  return {v.read.begin(), v.read.end()};
}

void importTypes(const ast::Program& program, const ImportOptions& options, Diagnostics& diags, ImportedTypes& types) {
  importC(program, options, diags, types);
  // Kernel types for the probes that read kernel memory, and with --btf: the
  // BTF is read only when a signature or a struct the script names needs it.
  // curtask reads the kernel's struct task_struct from any probe; a struct
  // that a cast or sizeof() names may be the kernel's (BTF is read only if
  // the C text and DWARF do not define it).
  struct NamesKernelTypes : ast::Visitor<NamesKernelTypes, true> {
    using Visitor::visit;
    bool found = false;
    void visit(const ast::Identifier& e) { found |= e.name == "curtask"; }
    void visit(const ast::Cast& e) {
      found |= e.type.kind == ast::TypeName::Kind::Struct || e.type.kind == ast::TypeName::Kind::Union;
      Visitor::visit(e);
    }
    void visit(const ast::Call& e) {
      found |= e.typeArgument && (e.typeArgument->kind == ast::TypeName::Kind::Struct ||
                                  e.typeArgument->kind == ast::TypeName::Kind::Union);
      Visitor::visit(e);
    }
  } curtask;
  bool kernelProbes = options.kernel != nullptr;
  for (const ast::Probe& probe : program.probes) {
    for (const ast::AttachPoint& ap : probe.attachPoints)
      kernelProbes |= isBtfProbe(ap.kind) || ap.kind == ProbeKind::Tracepoint;
    curtask.visit(probe);
  }
  kernelProbes |= curtask.found;
  types.command = options.command;
  types.unsafe = options.unsafe;
  types.userSymbols = options.userSymbols;
  types.strLength = options.strLength;
  types.maxProbes = options.maxProbes;
  if (kernelProbes && options.kernelTypes) {
    types.kernel = options.kernel ? options.kernel : std::make_shared<KernelBtf>(BtfSources{});
    for (const auto& [module, file] : types.kernel->sources().modules) types.kernelModules.push_back(module);
    for (const ast::Probe& probe : program.probes)
      for (const ast::AttachPoint& ap : probe.attachPoints)
        if (isBtfProbe(ap.kind) && !ap.target.empty() &&
            std::find(types.kernelModules.begin(), types.kernelModules.end(), ap.target) == types.kernelModules.end())
          types.kernelModules.push_back(ap.target);
  }
  // The uprobes' signatures, one read of each binary's DWARF (a child
  // process: dwarf_signatures.h) for all its functions. The first probe of a
  // function says whether its separate debug file is read (only when the
  // block reads args: decompressing it costs more than the rest of the start).
  struct SignatureRead {
    std::optional<FunctionSignature> signature;
    std::string why, failure;  // failure: libdw gave no answer for the binary
  };
  std::map<std::string, SignatureRead> signatureReads;  // by "target:function"
  {
    std::map<std::pair<std::string, bool>, std::map<std::string, std::string>> wanted;  // (binary, separate) -> function -> key
    for (const ast::Probe& probe : program.probes)
      for (const ast::AttachPoint& ap : probe.attachPoints) {
        std::string key = ap.target + ":" + ap.function;
        if (!isUserProbe(ap.kind) || ap.offset || hasWildcard(ap.function) || types.signatures.count(key) ||
            types.signatureErrors.count(key) || signatureReads.count(key))
          continue;
        signatureReads[key];
        wanted[{findBinary(ap.target), readsArgs(probe)}][ap.function] = key;
      }
    for (const auto& [where, functions] : wanted) {
      std::set<std::string> names;
      for (const auto& [function, key] : functions) names.insert(function);
      std::map<std::string, std::string> why;
      std::string failure;
      auto found = readDwarfSignatures(where.first, names, where.second, &why, &failure);
      for (const auto& [function, key] : functions) {
        SignatureRead& r = signatureReads[key];
        if (auto it = found.find(function); it != found.end()) r.signature = std::move(it->second);
        r.why = why[function];
        r.failure = failure;
      }
    }
  }
  for (const ast::Probe& probe : program.probes)
    for (const ast::AttachPoint& ap : probe.attachPoints) {
      if (isBtfProbe(ap.kind)) {
        if (!types.kernel)
          diags.error(ap.range, "BTF probes need the kernel's types, which this run does not read");
        else
          importKernelSignature(ap, diags, types);
        continue;
      }
      if (ap.kind == ProbeKind::Usdt) {
        importUsdt(ap, diags, types);
        continue;
      }
      if (isKprobe(ap.kind)) {
        expandKprobe(ap, diags, types);
        continue;
      }
      if (isUserProbe(ap.kind) && !ap.offset && !hasWildcard(ap.function)) {
        std::string key = ap.target + ":" + ap.function;
        if (auto read = signatureReads.find(key); read != signatureReads.end()) {
          // No DWARF is no error: arg0..arg9 and retval stay raw 64-bit values,
          // except for DPDK's burst functions, whose signatures are its API.
          // DWARF that libdw could not read is: with it argN and retval
          // would have their declared types, and an inlined function its
          // calls; without it they would be other numbers, silently.
          std::string binary = findBinary(ap.target);
          std::optional<FunctionSignature> signature = std::move(read->second.signature);
          std::string error = read->second.why;
          const std::string failure = read->second.failure;
          signatureReads.erase(read);
          if (!failure.empty()) {
            diags.error(ap.range, "cannot probe '" + ap.function + "' in '" + ap.target + "': " + failure,
                        "without its DWARF (objcopy --strip-debug) arg0..arg9 and retval are raw registers; or rebuild it");
            types.signatureErrors[key] = error;
            continue;
          }
          if (signature && !signature->outOfLine) {  // only inlined: probed at each inlined call
            std::vector<std::string> names;
            for (const Parameter& p : signature->params) names.push_back(p.name);
            std::string sitesFailure;
            types.inlinedSites[key] = readInlinedSites(binary, ap.function, names, &sitesFailure);
            if (!sitesFailure.empty())
              diags.error(ap.range, "the inlined calls of '" + ap.function + "' in '" + ap.target +
                                        "' cannot be found: " + sitesFailure,
                          "rebuild it, or probe the functions it is inlined into");
          }
          if (!signature && fastPathOf(ap.function) != FastPath::None) signature = fastPathSignature(fastPathOf(ap.function));
          if (signature) types.signatures.emplace(key, std::move(*signature));
          else types.signatureErrors[key] = error;
        }
        // With -p or -c, DPDK's burst functions go through rte_eth_fp_ops
        // where DWARF's inlined calls cannot answer: a call whose entry is not
        // known, an argument a block reads that the compiler did not keep at
        // some call (returns always do).
        auto sites = types.inlinedSites.find(key);
        if (options.process && fastPathOf(ap.function) != FastPath::None && sites != types.inlinedSites.end() &&
            ap.kind == ProbeKind::Uprobe) {
          bool unknown = false;
          for (const InlinedSite& site : sites->second) unknown |= !site.unknownEntry.empty();
          for (unsigned i : parametersRead(probe, &types.signatures.at(key)))
            for (const InlinedSite& site : sites->second)
              unknown |= i >= site.unavailable.size() || !site.unavailable[i].empty();
          if (unknown) sites->second.clear();
        }
        continue;
      }
      if (ap.kind != ProbeKind::Tracepoint) continue;
      importTracepoints(ap, diags, types);
    }
  // kprobe patterns that matched nothing are left out; a script of nothing else has no probe.
  bool anyLeft = false;
  for (const ast::Probe& probe : program.probes)
    for (const ast::AttachPoint& ap : probe.attachPoints) {
      auto m = isKprobe(ap.kind) ? types.kernelMatches.find(kernelProbeKey(ap)) : types.kernelMatches.end();
      anyLeft |= m == types.kernelMatches.end() || !m->second.empty();
    }
  if (!anyLeft && !program.probes.empty()) diags.errorUnlocated("no probes to attach: every attach point was left out");
  importStructs(program, diags, types);
}

void typeCheck(const ast::Program& program, Diagnostics& diags, TypeTable& types) {
  // Quiet passes learn the maps' types until nothing new is learned: a value
  // may depend on a map stored later in the script (@gap = hist(nsecs -
  // @last); @last = nsecs;). Each round starts from what the last one knew.
  std::map<std::string, MapInfo> known;
  Diagnostics quiet(diags.file());
  for (int round = 0; round < 8; ++round) {
    TypeTable learned(*types.imported);
    for (auto& [name, info] : known) {
      learned.maps[name] = info;
      learned.maps[name].used = false;
    }
    TypeChecker(quiet, learned).checkProgram(program);
    size_t typedBefore = 0, typedAfter = 0;
    for (auto& [name, info] : known) typedBefore += !info.value.is(TypeKind::Void);
    for (auto& [name, info] : learned.maps) typedAfter += !info.value.is(TypeKind::Void);
    known = std::move(learned.maps);
    if (round > 0 && typedAfter == typedBefore) {
      // A plain value stored only through itself (@n = @n + 1) is an
      // integer (s64; bpftrace 0.17 makes it unsigned: see
      // docs/bpftrace-differences.md); then what is computed from it can
      // be typed (@h = hist(@n), @k[@n] = count()), in another round.
      bool seeded = false;
      for (auto& [name, info] : known)
        if (info.assigned && !info.aggregated && info.value.is(TypeKind::Void)) {
          info.value = Type::s64();
          seeded = true;
        }
      if (!seeded) break;
    }
  }
  for (auto& [name, info] : known) {
    MapInfo seeded = info;
    seeded.used = false;
    if (info.assigned && !info.aggregated && info.value.is(TypeKind::Void)) seeded.value = Type::s64();
    types.maps[name] = seeded;
  }
  TypeChecker(diags, types).checkProgram(program);
  for (const auto& [name, info] : types.maps)
    if (info.used && !info.assigned)
      diags.error(info.firstUse, "map @" + name + " is read but never assigned",
                  "store something in it first, e.g. @" + name + " = count();");
  if (!diags.hasErrors()) checkMapSides(program, diags, types);
}

void TypeChecker::checkProgram(const ast::Program& program) {
  for (const ast::Probe& probe : program.probes) {
    probe_ = &probe;
    kinds_ = {};
    tracepoints_.clear();
    for (const ast::AttachPoint& ap : probe.attachPoints) {
      kinds_.add(ap.kind);
      if (ap.kind != ProbeKind::Tracepoint) continue;
      for (const std::string& name : tracepointsOf(ap, *types_.imported))
        if (auto it = types_.imported->tracepoints.find(name); it != types_.imported->tracepoints.end())
          tracepoints_.push_back(&it->second);
    }
    if (!(kinds_ == ProbeKinds{ProbeKind::Tracepoint})) tracepoints_.clear();  // args of a mixed block are no tracepoint's
    signature_ = nullptr;
    inlinedSites_ = nullptr;
    kernelSignature_ = nullptr;
    kernelSignatures_.clear();
    // A block of several BTF attach points, or of a pattern's matches: each one's signature.
    bool patterns = false, allBtf = true;
    for (const ast::AttachPoint& ap : probe.attachPoints) {
      allBtf &= isBtfProbe(ap.kind);
      patterns |= types_.imported->kernelMatches.count(kernelProbeKey(ap)) > 0;
    }
    if (allBtf && (probe.attachPoints.size() > 1 || patterns))
      for (const ast::AttachPoint& ap : probe.attachPoints) {
        auto matched = types_.imported->kernelMatches.find(kernelProbeKey(ap));
        if (matched != types_.imported->kernelMatches.end()) {
          for (const ast::AttachPoint& one : matched->second)
            kernelSignatures_.emplace_back(&one, &types_.imported->kernelSignatures.at(kernelProbeKey(one)));
          continue;
        }
        auto kernel = types_.imported->kernelSignatures.find(kernelProbeKey(ap));
        if (kernel == types_.imported->kernelSignatures.end()) {
          kernelSignatures_.clear();
          break;
        }
        kernelSignatures_.emplace_back(&ap, &kernel->second);
      }
    if (probe.attachPoints.size() == 1 && kernelSignatures_.empty()) {
      const ast::AttachPoint& ap = probe.attachPoints[0];
      auto it = types_.imported->signatures.find(ap.target + ":" + ap.function);
      if (isUserProbe(ap.kind) && it != types_.imported->signatures.end())
        signature_ = &it->second;
      auto sites = types_.imported->inlinedSites.find(ap.target + ":" + ap.function);
      if ((ap.kind == ProbeKind::Uprobe || ap.kind == ProbeKind::Usdt) && sites != types_.imported->inlinedSites.end() &&
          !sites->second.empty())
        inlinedSites_ = &sites->second;
      auto kernel = types_.imported->kernelSignatures.find(kernelProbeKey(ap));
      if (isBtfProbe(ap.kind) && kernel != types_.imported->kernelSignatures.end()) {
        kernelSignature_ = &kernel->second;
        signature_ = &kernel->second.signature;
      }
    }
    variables_.clear();
    failedVariables_.clear();
    loopDepth_ = 0;
    if (probe.predicate) condition(*probe.predicate, "a predicate");
    visit(probe.body);
  }
}

void TypeChecker::error(SourceRange r, std::string message, std::string hint) {
  diags_.error(r, std::move(message), std::move(hint));
}

std::optional<Type> TypeChecker::typeOf(const ast::Expr& e) {
  size_t errorsBefore = diags_.errorCount();
  types_.exprs.erase(&e);
  visitExpr(e);
  auto it = types_.exprs.find(&e);
  if (it == types_.exprs.end() || diags_.errorCount() != errorsBefore) return std::nullopt;
  return it->second;
}

bool TypeChecker::allowedHere(ProbeKinds onlyIn) const { return onlyIn.covers(kinds_); }

std::string TypeChecker::providersText() const { return kinds_.text("/"); }

bool TypeChecker::inPacketProbe() const { return allowedHere(kPacketProbes); }

// fib is fib_lookup()'s answer, a kernel helper's: xdp blocks only.
bool TypeChecker::fibAllowedHere(const std::string& view, SourceRange r) {
  if (view != "fib" || !kinds_.contains(ProbeKind::Afxdp)) return true;
  error(r, "fib holds what fib_lookup() found, in xdp blocks only",
        "look the route up in an xdp block on the interface; an afxdp body runs in dptrace");
  return false;
}

void TypeChecker::condition(const ast::Expr& e, const char* what) {
  auto t = typeOf(e);
  if (t && !t->isIntegerLike() && !t->is(TypeKind::Pointer))
    error(e.range, std::string(what) + " must be true or false, not " + t->kindName(),
          t->is(TypeKind::String) ? "compare the string: $s == \"text\"" : "compare it: x != 0");
}

// A value stored in a map or variable: integers, booleans, strings, addresses,
// tuples of them; not void, not an aggregation.
std::optional<Type> TypeChecker::plainValue(const ast::Expr& e, const char* role) {
  auto t = typeOf(e);
  if (!t) return std::nullopt;
  if (t->is(TypeKind::Void)) {
    error(e.range, std::string("this has no value to use as ") + role, "printf(), exit() and the actions return nothing");
    return std::nullopt;
  }
  if (t->is(TypeKind::Struct)) {  // its bytes, copied: $st = *p, print(*p), @m[k] = p->inner
    auto r = recordOf(*t, e.range);
    if (r) set(e, *r);
    return r;
  }
  return t;
}

std::optional<Type> TypeChecker::recordOf(const Type& structType, SourceRange at, int depth) {
  const StructLayout* layout = types_.imported->findStruct(structType.name());
  if ((layout == nullptr || layout->size == 0) && depth > 0) return std::nullopt;  // a member: not shown
  if (layout == nullptr || layout->size == 0) {
    error(at, "the fields of struct " + structType.name() + " are not known, so it cannot be copied into a value",
          "define it in the script, or read its fields through the pointer: p->field");
    return std::nullopt;
  }
  if (depth > 16) return std::nullopt;  // a member that deep: not shown
  std::vector<Type> types;
  std::vector<RecordField> fields;
  for (const StructField& f : layout->fields) {
    Type ft = f.type.in(structType.space());
    if (ft.is(TypeKind::Void)) continue;  // not readable (an array of structs): its bytes are copied, not shown
    if (ft.is(TypeKind::Struct)) {
      auto nested = recordOf(ft, at, depth + 1);
      if (!nested) continue;  // its layout is not known: its bytes are copied, not shown
      ft = *nested;
    }
    RecordField rf{f.name, f.offset * 8, 0, f.bigEndian};
    if (f.bitField) {
      if (f.bitSize == 0 || (f.bitOffset % 8 + f.bitSize + 7) / 8 > 8) continue;  // spread over more than 8 bytes
      rf.bitOffset = f.bitOffset;
      rf.bitSize = f.bitSize;
    }
    uint32_t bytes = rf.bitSize ? (rf.bitOffset % 8 + rf.bitSize + 7) / 8 : ft.is(TypeKind::Record) || ft.is(TypeKind::String) || ft.is(TypeKind::Array) ? ft.capacity() : ft.isIntegerLike() ? std::max(ft.bits() / 8, 1u) : 8;
    if (rf.bitOffset / 8 + bytes > layout->size) continue;  // a flexible array member, or a layout that lies
    types.push_back(ft);
    fields.push_back(std::move(rf));
  }
  return Type::record(structType.name(), layout->size, std::move(types), std::move(fields));
}

// ------------------------------------------------------------ expressions

void TypeChecker::visit(const ast::Integer& e) {
  set(e, e.value > static_cast<uint64_t>(INT64_MAX) ? Type::u64() : Type::s64());
}

void TypeChecker::visit(const ast::String& e) {
  set(e, Type::string(static_cast<uint32_t>(e.value.size()) + 1));
}

void TypeChecker::visit(const ast::Identifier& e) {
  if (isPacketView(e.name)) {
    if (!inPacketProbe())
      return error(e.range, "packet view '" + e.name + "' is only available in xdp and afxdp blocks",
                   "this probe is " + providersText());
    if (!fibAllowedHere(e.name, e.range)) return;
    return set(e, Type::boolean());  // a view's name alone: is the header there?
  }
  const BuiltinInfo* b = findBuiltin(e.name);
  if (b == nullptr) {
    // Names the name check let through (with C definitions they may be C
    // constants) that no C constant replaced.
    return error(e.range, "unknown name '" + e.name + "'",
                 "it is no builtin, and no enum constant or #define of the script's C text stands for an integer "
                 "by that name (a #define must be an integer literal, maybe negated, or another such name)");
  }
  if (!allowedHere(b->onlyIn))
    return error(e.range, "'" + e.name + "' is not available in " + providersText() + " probes",
                 "it exists in: " + b->onlyIn.text());
  std::string n = b->name;
  if (n == "args")
    return error(e.range, "'args' has no value by itself", "read one argument: args.NAME");
  if (n == "pid" || n == "tid" || n == "uid" || n == "gid" || n == "cpu" || n == "rand" || n == "numaid")
    return set(e, Type::integer(32, false));
  if (n == "cgroup" || n == "jiffies") return set(e, Type::u64());
  if (n == "curtask") {  // as in bpftrace, a struct task_struct * (curtask->comm) where the kernel's BTF has it
    if (types_.imported->findStruct("task_struct"))
      return set(e, Type::pointer(Type::structure("task_struct")).in(AddressSpace::Kernel));
    return set(e, Type::u64().in(AddressSpace::Kernel));
  }
  if (n == "cpid") {
    if (!types_.imported->command)
      return error(e.range, "cpid is the pid of the command that -c starts, and there is none", "run with -c 'CMD ARGS'");
    return set(e, Type::integer(32, false));
  }
  if (n == "comm") return set(e, Type::string(16));
  if (n == "username") return set(e, Type::deferred(Deferred::Username));
  if (n == "kstack") return set(e, Type::deferred(Deferred::Kstack));
  if (n == "ustack") return set(e, Type::deferred(Deferred::Ustack));
  // With DWARF, argN and retval take the declared types (a uint16_t is 16 bits, not all of rax).
  // argN is the Nth parameter, where the calling convention put it.
  if (n == "argN" && signature_) {
    size_t i = static_cast<size_t>(e.name[3] - '0');
    if (i < signature_->params.size()) {
      const Parameter& p = signature_->params[i];
      if (!p.unreadable.empty())
        return error(e.range, e.name + " is parameter '" + p.name + "', " + p.unreadable + ": dptrace cannot read it yet",
                     "integers, enums and pointers are readable");
      if (!readableAtInlinedSites(e, i)) return;
      // A pointer parameter's argN is its address as a number, as in
      // bpftrace (@[arg0] prints decimal; args.NAME is the typed pointer).
      if (p.type.is(TypeKind::Pointer) && !kernelSignature_) return set(e, Type::u64().in(p.type.space()));
      return set(e, p.type);
    }
    if (kernelSignature_ || !signature_->outOfLine)  // past a BTF context's last slot; an inlined call's or a PMD's registers
      return error(e.range, "'" + probe_->attachPoints[0].function + "' has " + std::to_string(signature_->params.size()) +
                                " argument" + (signature_->params.size() == 1 ? "" : "s") + ": " + e.name + " is not one",
                   signature_->params.empty()      ? ""
                   : signature_->params.size() == 1 ? "it is arg0"
                                                    : "they are arg0 to arg" + std::to_string(signature_->params.size() - 1));
  }
  if (n == "argN" && probe_->attachPoints.size() > 1 &&
      std::all_of(probe_->attachPoints.begin(), probe_->attachPoints.end(),
                  [](const ast::AttachPoint& ap) { return ap.kind == ProbeKind::Usdt; })) {
    // Several usdt probes: argN of each, typed across them.
    size_t i = static_cast<size_t>(e.name[3] - '0');
    std::optional<Type> type;
    for (const ast::AttachPoint& ap : probe_->attachPoints) {
      std::string key = ap.target + ":" + ap.function;
      auto it = types_.imported->signatures.find(key);
      auto sites = types_.imported->inlinedSites.find(key);
      if (it == types_.imported->signatures.end() || sites == types_.imported->inlinedSites.end()) return;  // said at import
      if (i >= it->second.params.size())
        return error(e.range, "'" + ap.function + "' of '" + ap.raw + "' has " + std::to_string(it->second.params.size()) +
                                  " argument" + (it->second.params.size() == 1 ? "" : "s") + ": " + e.name + " is not one");
      for (const InlinedSite& site : sites->second)
        if (i < site.unavailable.size() && !site.unavailable[i].empty())
          return error(e.range, e.name + " of the USDT probe " + site.caller + " at " + hexNumber(site.address) + " is " +
                                    site.unavailable[i]);
      type = type ? unifyUsdtArgument(*type, it->second.params[i].type) : it->second.params[i].type;
    }
    return set(e, *type);
  }
  if (!kernelSignatures_.empty() && (n == "argN" || n == "retval")) {
    auto t = acrossSignatures(e, e.name, n == "argN" ? std::optional<size_t>(e.name[3] - '0') : std::nullopt, "");
    return t ? set(e, *t) : void();
  }
  if (n == "retval" && kernelSignature_ && signature_->ret.is(TypeKind::Void) && signature_->retUnreadable.empty())
    return error(e.range, "'" + probe_->attachPoints[0].function + "' returns nothing (void)");
  if (n == "retval" && signature_ && !signature_->retUnreadable.empty())
    return error(e.range, "'" + probe_->attachPoints[0].function + "' returns " + signature_->retUnreadable +
                              ": dptrace cannot read it yet",
                 "integers, enums and pointers are readable");
  if (n == "retval" && signature_ && !signature_->ret.is(TypeKind::Void)) return set(e, signature_->ret);
  if (n == "nsecs" || n == "elapsed" || n == "retval" || n == "argN" || n == "sargN" || n == "ctx") return set(e, Type::u64());
  if (n == "func" && allowedHere(kBtfProbes)) {  // the names are known: no longer than the longest
    size_t longest = 1;
    for (const ast::AttachPoint& ap : probe_->attachPoints) longest = std::max(longest, ap.function.size());
    for (const auto& [ap, k] : kernelSignatures_) longest = std::max(longest, ap->function.size());
    return set(e, Type::string(static_cast<uint32_t>(std::min<size_t>(longest, 63)) + 1));
  }
  if (n == "probe") {  // as long as the longest name it can hold (a usdt probe's path can be long), 64 at least
    size_t longest = 63;
    for (const ast::AttachPoint& ap : probe_->attachPoints) {
      // A library named without a path prints by its file (probeName()).
      size_t resolved = isUserProbe(ap.kind) && ap.target.find('/') == std::string::npos ? findBinary(ap.target).size() : 0;
      longest = std::max(longest, ap.raw.size() + resolved + (isUserProbe(ap.kind) && hasWildcard(ap.function) ? 64 : 0));
      if (ap.kind != ProbeKind::Usdt) continue;
      auto sites = types_.imported->inlinedSites.find(ap.target + ":" + ap.function);
      if (sites != types_.imported->inlinedSites.end())
        for (const InlinedSite& s : sites->second) longest = std::max(longest, 6 + ap.target.size() + s.caller.size());
    }
    return set(e, Type::string(static_cast<uint32_t>(std::min<size_t>(longest, 255)) + 1));
  }
  // Without user symbols (BPFTRACE_NO_USER_SYMBOLS=1) a uprobe's func is
  // the address it fired at, printed in hex, as bpftrace prints it.
  if (n == "func" && !types_.imported->userSymbols && allowedHere({ProbeKind::Uprobe}))
    return set(e, Type::deferred(Deferred::Usym));
  if (n == "func") return set(e, Type::string(64));
  error(e.range, "'" + e.name + "' is not a value");
}

void TypeChecker::visit(const ast::Variable& e) {
  auto it = variables_.find(e.name);
  if (it == variables_.end() && failedVariables_.count(e.name)) return;  // its assignment's error is said
  if (it == variables_.end())
    return error(e.range, "variable $" + e.name + " is used before it is assigned",
                 "assign it first in this probe: $" + e.name + " = 0; (scratch variables live in one probe)");
  set(e, it->second);
}

MapInfo& TypeChecker::mapInfo(const ast::Map& m) {
  MapInfo& info = types_.maps[m.name];
  if (!info.used) info.firstUse = m.range;
  info.used = true;
  return info;
}

bool TypeChecker::checkMapKeys(const ast::Map& m, MapInfo& info) {
  std::vector<Type> keys;
  for (const ast::ExprPtr& k : m.keys) {
    auto t = plainValue(*k, "a map key");
    if (!t) return false;
    if (t->is(TypeKind::Aggregation)) {
      error(k->range, "a map key cannot be " + t->kindName(), "use integers, strings, addresses or tuples as keys");
      return false;
    }
    keys.push_back(*t);
  }
  if (!info.keysKnown) {
    info.keys = keys;
    info.keysKnown = true;
    return true;
  }
  std::string name = "@" + m.name;
  if (keys.size() != info.keys.size()) {
    auto count = [](size_t n) { return n == 0 ? std::string("no key") : std::to_string(n) + (n == 1 ? " key" : " keys"); };
    error(m.range, name + " is used with " + count(keys.size()) + " here and with " + count(info.keys.size()) + " elsewhere",
          "every use of a map has the same key shape");
    return false;
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    if (auto c = constantOf(*m.keys[i]); c && fits(*c, info.keys[i])) {
      set(*m.keys[i], info.keys[i]);  // a constant key takes the map's key type
      continue;
    }
    Type unified;
    if (!unifyStored(info.keys[i], keys[i], unified)) {
      error(m.keys[i]->range, "key " + std::to_string(i + 1) + " of " + name + " is " + keys[i].kindName() +
                                  " here and " + info.keys[i].kindName() + " elsewhere",
            "every use of a map has the same key types");
      return false;
    }
    info.keys[i] = unified;
  }
  return true;
}

void TypeChecker::visit(const ast::Map& e) {
  MapInfo& info = mapInfo(e);
  if (!e.keys.empty() || info.keys.empty())
    if (!checkMapKeys(e, info)) return;
  if (e.keys.empty() && !info.keys.empty())
    return error(e.range, "@" + e.name + " has keys: read one entry with @" + e.name + "[key]",
                 "the whole map can be printed with print(@" + e.name + ")");
  if (info.value.is(TypeKind::Aggregation))
    return error(e.range, "@" + e.name + " holds " + info.value.kindName() + ", which can only be printed",
                 "aggregations are written in probes and read when they print; keep a plain value in another map");
  if (info.value.is(TypeKind::Void)) return;  // never assigned: reported once at the end
  set(e, info.value);
}

void TypeChecker::visit(const ast::Unary& e) {
  auto t = typeOf(*e.operand);
  if (!t) return;
  switch (e.op) {
    case ast::UnaryOp::Not:
      if (!t->isIntegerLike() && !t->is(TypeKind::Pointer))
        return error(e.range, "'!' needs a number or a condition, not " + t->kindName());
      return set(e, Type::boolean());
    case ast::UnaryOp::Negate:
    case ast::UnaryOp::BitNot:
      if (!t->isIntegerLike())
        return error(e.range, std::string("'") + ast::spelling(e.op) + "' needs an integer, not " + t->kindName());
      if (auto c = constantOf(e)) {
        if (c->negative && c->magnitude > (uint64_t{1} << 63))
          return error(e.range, "-" + std::to_string(c->magnitude) + " is below the smallest 64-bit integer");
        return set(e, Type::s64());
      }
      if (t->is(TypeKind::Bool)) return set(e, e.op == ast::UnaryOp::Negate ? Type::s64() : Type::integer(8, false));
      return set(e, *t);
    case ast::UnaryOp::Deref:
      if (!t->is(TypeKind::Pointer))
        return error(e.range, "'*' reads through a pointer, and this is " + t->kindName());
      if (t->pointee().is(TypeKind::Void))
        return error(e.range, "this pointer's target type is unknown", "cast it first: *(u32 *)p");
      return set(e, t->pointee().in(t->space()));
    default: {  // ++ and --
      const char* op = e.op == ast::UnaryOp::PreIncrement || e.op == ast::UnaryOp::PostIncrement ? "++" : "--";
      WriteRefusal why;
      auto place = writePlace(*e.operand, WriteOp::Increment, why);
      if (!place) return error(e.operand->range, why.message, why.hint);
      if (!frameLengthWritable(*place, e.operand->range)) return;
      if (!t->is(TypeKind::Integer) && !t->is(TypeKind::Pointer))  // a pointer steps by its target's size
        return error(e.range, std::string("'") + op + "' needs an integer or a pointer, not " + t->kindName());
      return set(e, *t);
    }
  }
}

void TypeChecker::visit(const ast::Binary& e) {
  auto l = typeOf(*e.lhs);
  auto r = typeOf(*e.rhs);
  if (!l || !r) return;
  const char* op = ast::spelling(e.op);
  bool comparison = e.op == ast::BinaryOp::Eq || e.op == ast::BinaryOp::Ne || e.op == ast::BinaryOp::Lt ||
                    e.op == ast::BinaryOp::Le || e.op == ast::BinaryOp::Gt || e.op == ast::BinaryOp::Ge;
  bool equality = e.op == ast::BinaryOp::Eq || e.op == ast::BinaryOp::Ne;

  if (e.op == ast::BinaryOp::LogicalAnd || e.op == ast::BinaryOp::LogicalOr) {
    for (const auto* side : {&*e.lhs, &*e.rhs}) {
      const Type& t = types_.of(*side);
      if (!t.isIntegerLike() && !t.is(TypeKind::Pointer))
        return error(side->range, std::string("'") + op + "' needs conditions, and this is " + t.kindName());
    }
    return set(e, Type::boolean());
  }

  // A __be32 kernel value (read into host order) compares with an IPv4 address.
  if (equality && ((l->is(TypeKind::Ipv4) && r->fromNetworkOrder() && r->bits() == 32) ||
                   (r->is(TypeKind::Ipv4) && l->fromNetworkOrder() && l->bits() == 32)))
    return set(e, Type::boolean());
  // A struct read through a pointer compares with a struct value as one:
  // its bytes copied ($a == *p, as bpftrace compares records).
  auto isStruct = [](const Type& t) { return t.is(TypeKind::Struct) || t.is(TypeKind::Record); };
  if (equality && isStruct(*l) && isStruct(*r) && (l->is(TypeKind::Struct) || r->is(TypeKind::Struct))) {
    if (l->is(TypeKind::Struct)) l = plainValue(*e.lhs, "a comparison's side");
    if (r->is(TypeKind::Struct)) r = plainValue(*e.rhs, "a comparison's side");
    if (!l || !r) return;
  }
  // Strings, addresses and MAC addresses: only == and != with their own kind.
  for (const Type* t : {&*l, &*r}) {
    if (t->isIntegerLike() || t->is(TypeKind::Pointer)) continue;
    if (!equality)
      return error(e.range, std::string("'") + op + "' cannot be used on " + t->kindName(),
                   t->is(TypeKind::String) ? "strings compare with == and !=" : "only == and != compare these values");
    if (!l->sameKind(*r))
      return error(e.range, "cannot compare " + (l->kind() == r->kind() ? l->str() : l->kindName()) + " with " +
                                (l->kind() == r->kind() ? r->str() : r->kindName()),
                   l->isAddress() || r->isAddress() ? "write the address with pton(\"10.0.0.1\")"
                                                    : "both sides of '" + std::string(op) + "' need the same kind of value");
    return set(e, Type::boolean());
  }

  // Pointer arithmetic, as in C and bpftrace: p + n, n + p and p - n move by
  // n of p's targets (a void pointer by bytes).
  if (l->is(TypeKind::Pointer) || r->is(TypeKind::Pointer)) {
    if (comparison) return set(e, Type::boolean());
    if ((e.op == ast::BinaryOp::Add || e.op == ast::BinaryOp::Sub) && l->is(TypeKind::Pointer) && r->isIntegerLike())
      return set(e, *l);
    if (e.op == ast::BinaryOp::Add && r->is(TypeKind::Pointer) && l->isIntegerLike()) return set(e, *r);
    return error(e.range, std::string("'") + op + "' cannot combine " + l->kindName() + " and " + r->kindName());
  }

  if ((e.op == ast::BinaryOp::Div || e.op == ast::BinaryOp::Mod) && isZero(*e.rhs))
    return error(e.rhs->range, std::string(e.op == ast::BinaryOp::Div ? "division" : "remainder") + " by a constant zero",
                 "x / 0 is 0 and x % 0 is x at run time (as the BPF instructions do), but a constant 0 is a mistake");

  // Integers: a constant takes the other side's type when it fits.
  auto lc = constantOf(*e.lhs);
  auto rc = constantOf(*e.rhs);
  Type result;
  auto adopt = [&](const std::optional<Constant>& c, const ast::Expr& constantSide, const ast::Expr& otherSide,
                   const Type& other) -> bool {
    if (!c || constantOf(otherSide)) return false;
    if (fits(*c, other)) {
      set(constantSide, other);
      result = other;
      return true;
    }
    if (c->negative && other.is(TypeKind::Integer) && !other.isSigned()) {
      error(constantSide.range, constantText(*c) + " cannot be " + (comparison ? "compared with" : "combined with") +
                                    " an unsigned value (" + other.str() + ")",
            "cast the other side to a signed type: (s64)x");
      result = Type();
      return true;
    }
    return false;
  };
  size_t errorsBefore = diags_.errorCount();
  if (!adopt(rc, *e.rhs, *e.lhs, *l) && !adopt(lc, *e.lhs, *e.rhs, *r)) unify(*l, *r, result);
  if (diags_.errorCount() != errorsBefore) return;
  set(e, comparison ? Type::boolean() : (result.is(TypeKind::Bool) ? Type::integer(8, false) : result));
}

void TypeChecker::visit(const ast::Ternary& e) {
  condition(*e.cond, "the condition of '?:'");
  auto a = plainValue(*e.then, "a branch of '?:'");
  auto b = plainValue(*e.otherwise, "a branch of '?:'");
  if (!a || !b) return;
  Type result;
  if (auto c = constantOf(*e.otherwise); c && fits(*c, *a)) return set(*e.otherwise, *a), set(e, *a);
  if (auto c = constantOf(*e.then); c && fits(*c, *b)) return set(*e.then, *b), set(e, *b);
  if (!unifyStored(*a, *b, result))
    return error(e.range, "the branches of '?:' are " + a->kindName() + " and " + b->kindName(),
                 "both branches need the same kind of value");
  set(e, result);
}

void TypeChecker::visit(const ast::Field& e) {
  if (e.base->kind == ast::ExprKind::Identifier) {
    const std::string& base = static_cast<const ast::Identifier&>(*e.base).name;
    if (isPacketView(base)) {
      if (!inPacketProbe())
        return error(e.base->range, "packet view '" + base + "' is only available in xdp and afxdp blocks",
                     "this probe is " + providersText());
      if (e.arrow) return error(e.range, "packet views use '.', not '->'", "write " + base + "." + e.field);
      if (!fibAllowedHere(base, e.base->range)) return;
      const PacketField* f = findPacketField(base, e.field);
      if (f == nullptr) {
        std::vector<std::string> names;
        for (const PacketField& p : allPacketFields())
          if (base == p.view) names.push_back(p.name);
        std::string guess = closestMatch(e.field, names);
        std::string all;
        for (const auto& n : names) all += (all.empty() ? "" : ", ") + base + "." + n;
        return error(e.range, "packet view '" + base + "' has no field '" + e.field + "'",
                     guess.empty() ? "its fields: " + all : "did you mean '" + base + "." + guess + "'?");
      }
      set(*e.base, Type::boolean());
      return set(e, f->type);
    }
    if (base == "args") {
      if (const BuiltinInfo* args = findBuiltin("args"); !allowedHere(args->onlyIn))
        return error(e.base->range, "'args' is not available in " + providersText() + " probes",
                     "it exists in: " + args->onlyIn.text());
      if (tracepoints_.empty() && signature_ != nullptr) {
        std::vector<std::string> names;
        for (const Parameter& p : signature_->params) {
          names.push_back(p.name);
          if (p.name != e.field) continue;
          if (!p.unreadable.empty())
            return error(e.range, "parameter '" + p.name + "' is " + p.unreadable + ": dptrace cannot read it yet",
                         "integers, enums and pointers are readable");
          if (!readableAtInlinedSites(e, names.size() - 1)) return;
          return set(e, p.type);
        }
        std::string guess = closestMatch(e.field, names);
        std::string all;
        for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
        return error(e.range, "'" + probe_->attachPoints[0].function + "' has no parameter '" + e.field + "'",
                     guess.empty() ? "its parameters: " + all : "did you mean 'args." + guess + "'?");
      }
      if (tracepoints_.empty()) {
        if (allowedHere(kUserProbes) && probe_->attachPoints.size() == 1) {
          const ast::AttachPoint& ap = probe_->attachPoints[0];
          if (ap.offset && !ap.function.empty())
            return error(e.base->range, "'args' are the parameters at the entry of '" + ap.function +
                                            "'; at an offset into it they may be elsewhere",
                         "probe the function itself for args, or read the registers (arg0..arg5) where you know them");
          auto why = types_.imported->signatureErrors.find(ap.target + ":" + ap.function);
          bool indirect = why != types_.imported->signatureErrors.end() && why->second.find("indirect") != std::string::npos;
          return error(e.base->range, "'args' needs DWARF for '" + ap.function + "' in '" + ap.target + "', and " +
                                          (why == types_.imported->signatureErrors.end() ? "there is none" : why->second),
                       indirect ? "read the raw registers arg0..arg9 (in the order of the function's C declaration)"
                                : "build it with -g, or read the raw registers arg0..arg9");
        }
        if (allowedHere({ProbeKind::Tracepoint}))
          return error(e.base->range, "'args' needs the format of this block's tracepoints, and none could be read");
        if (!kernelSignatures_.empty()) {
          auto t = acrossSignatures(e, "args." + e.field, std::nullopt, e.field);
          return t ? set(e, *t) : void();
        }
        if (allowedHere(kBtfProbes) && probe_->attachPoints.size() > 1)
          return error(e.base->range, "'args' of a block that mixes BTF probes with other kinds has no type",
                       "give the BTF probes a block of their own");
        return error(e.base->range, "'args' is not available in " + providersText() + " probes");
      }
      return argsOfTracepoints(e);
    }
  }
  auto t = typeOf(*e.base);
  if (!t) return;
  const Type* record = t->is(TypeKind::Struct) ? &*t : t->is(TypeKind::Pointer) && t->pointee().is(TypeKind::Struct) ? &t->pointee() : nullptr;
  if (record) {
    const StructLayout* layout = types_.imported->findStruct(record->name());
    if (layout == nullptr)
      return error(e.range, "the fields of struct " + record->name() + " are not known",
                   types_.imported->kernel ? "the kernel's BTF has no such struct either; define it in the script"
                   : record->name() == "rte_mbuf"
                       ? "they come from the probed binary's DWARF, and it has none: add #include <dpdk.h> (DPDK 22.11's layout)"
                       : "they come from the probed binary's DWARF (build it with -g)");
    const StructField* f = layout->field(e.field);
    if (f == nullptr) {
      std::vector<std::string> names;
      for (const StructField& x : layout->fields) names.push_back(x.name);
      std::string guess = closestMatch(e.field, names);
      return error(e.range, "struct " + record->name() + " has no field '" + e.field + "'",
                   guess.empty() ? "" : "did you mean '" + guess + "'?");
    }
    // A struct-valued member is its address: read on (prev->se.vruntime), or
    // copy it ($in = p->inner).
    if (f->type.is(TypeKind::Void))
      return error(e.range, "dptrace cannot read field '" + e.field + "' of struct " + record->name() + " yet",
                   "integers, pointers, enums, structs, and arrays of integers or chars are readable");
    return set(e, f->type.in(t->space()));
  }
  if (t->is(TypeKind::Record)) {  // $st.field of a struct copied into a value
    if (e.arrow) return error(e.range, "a struct value's fields are read with '.'", "write ." + e.field);
    std::vector<std::string> names;
    for (size_t i = 0; i < t->fields().size(); ++i) {
      if (t->fields()[i].name == e.field) return set(e, t->elements()[i]);
      names.push_back(t->fields()[i].name);
    }
    const StructLayout* layout = types_.imported->findStruct(t->name());
    if (layout && layout->field(e.field))
      return error(e.range, "dptrace cannot read field '" + e.field + "' of a struct " + t->name() + " value",
                   "integers, pointers, enums, structs, and arrays of integers or chars are readable; read it through the pointer");
    std::string guess = closestMatch(e.field, names);
    return error(e.range, "struct " + t->name() + " has no field '" + e.field + "'", guess.empty() ? "" : "did you mean '" + guess + "'?");
  }
  error(e.range, "'" + std::string(e.arrow ? "->" : ".") + e.field + "': " + t->kindName() + " has no fields",
        t->is(TypeKind::Tuple) ? "tuple elements are read by number: $t.0" : "");
}

bool TypeChecker::readableAtInlinedSites(const ast::Expr& e, size_t i) {
  if (inlinedSites_ == nullptr) return true;
  const ast::AttachPoint& ap = probe_->attachPoints[0];
  for (const InlinedSite& site : *inlinedSites_) {
    if (i >= site.unavailable.size() || site.unavailable[i].empty()) continue;
    if (ap.kind == ProbeKind::Usdt) {
      error(e.range, "arg" + std::to_string(i) + " of the USDT probe " + site.caller + " at " + hexNumber(site.address) + " is " +
                         site.unavailable[i] + ": dptrace cannot read it",
            "dptrace -lv 'usdt:" + ap.target + ":" + ap.function + "' shows each probe's arguments");
      return false;
    }
    std::string call = site.caller.empty() ? std::string("its call") : "its call in " + site.caller + "()";
    if (!site.file.empty()) call += " at " + site.file.substr(site.file.find_last_of('/') + 1) + ":" + std::to_string(site.line);
    std::string hint = fastPathOf(ap.function) != FastPath::None
                           ? "with -p PID or -c CMD dptrace attaches through the process's rte_eth_fp_ops instead, "
                             "where every argument is known"
                           : "the compiler did not keep it at that call: read another parameter, or build with -O0 or -fno-inline";
    error(e.range, "'" + ap.function + "' is inlined, and its parameter '" + signature_->params[i].name + "' is " +
                       site.unavailable[i] + " (" + call + ", address " + hexNumber(site.address) + ")",
          hint + "; dptrace -lv '" + std::string(probeKindName(ap.kind)) + ":" + ap.target + ":" + ap.function +
              "' shows each call");
    return false;
  }
  return true;
}

std::optional<Type> TypeChecker::acrossSignatures(const ast::Expr& e, const std::string& what,
                                                  std::optional<size_t> index, const std::string& name) {
  std::optional<Type> type;
  const ast::AttachPoint* typedBy = nullptr;
  for (const auto& [ap, k] : kernelSignatures_) {
    const FunctionSignature& s = k->signature;
    Type t;
    std::string why;
    if (what == "retval") {
      if (!s.retUnreadable.empty()) why = "returns " + s.retUnreadable;
      else if (s.ret.is(TypeKind::Void)) why = "returns nothing";
      t = s.ret;
    } else {
      const Parameter* p = nullptr;
      for (size_t i = 0; i < s.params.size(); ++i)
        if (index ? i == *index : s.params[i].name == name) p = &s.params[i];
      if (p == nullptr) why = "has no " + (index ? "argument " + std::to_string(*index) : "parameter '" + name + "'");
      else if (!p->unreadable.empty()) why = "passes it as " + p->unreadable;
      else t = p->type;
    }
    if (!why.empty()) {
      error(e.range, "'" + ap->raw + "' " + why + ", so " + what + " has no value in this block",
            "give '" + ap->raw + "' a block of its own");
      return std::nullopt;
    }
    Type unified;
    if (type && !unify(*type, t, unified)) {
      error(e.range, what + " is " + type->str() + " in '" + typedBy->raw + "' but " + t.str() + " in '" + ap->raw + "'",
            "read it in separate blocks");
      return std::nullopt;
    }
    if (!type) typedBy = ap;
    type = type ? unified : t;
  }
  return type;
}

// args.NAME in a block of tracepoints: every tracepoint (a wildcard's every
// match) must have the field; its type is the types of all of them unified.
void TypeChecker::argsOfTracepoints(const ast::Field& e) {
  std::optional<Type> type;
  const TracepointFormat* typedBy = nullptr;
  for (const TracepointFormat* format : tracepoints_) {
    const TracepointField* f = format->field(e.field);
    std::string where = format->category + ":" + format->name;
    if (f == nullptr) {
      std::string guess = closestMatch(e.field, fieldNames(format->fields));
      std::string all;
      for (const auto& n : fieldNames(format->fields)) all += (all.empty() ? "" : ", ") + n;
      std::string message = "tracepoint " + where + " has no field '" + e.field + "'";
      if (tracepoints_.size() > 1) message += " (args.NAME must be a field of every tracepoint the block attaches to)";
      return error(e.range, message, guess.empty() ? "its fields: " + all : "did you mean 'args." + guess + "'?");
    }
    if (f->type.is(TypeKind::Void)) {
      size_t stars = static_cast<size_t>(std::count(f->declaration.begin(), f->declaration.end(), '*'));
      if (stars > kMaxPointerDepth && !f->dataLoc)
        return error(e.range, "dptrace cannot read field '" + f->name + "' of " + where + ": a pointer " + std::to_string(stars) +
                                  " levels deep, and dptrace follows at most " + std::to_string(kMaxPointerDepth));
      return error(e.range, "dptrace cannot read field '" + f->name + "' (" + f->declaration + ") of " + where + " yet");
    }
    // A __data_loc string is as long as str()'s (BPFTRACE_STRLEN), as in bpftrace.
    Type fieldType = f->dataLoc && f->type.is(TypeKind::String) ? Type::string(types_.imported->strLength) : f->type;
    Type unified;
    if (type && !unify(*type, fieldType, unified))
      return error(e.range, "args." + e.field + " is " + type->str() + " in " + typedBy->category + ":" + typedBy->name +
                                " but " + fieldType.str() + " in " + where,
                   "read it in separate probes");
    if (!type) typedBy = format;
    type = type ? unified : fieldType;
  }
  set(e, *type);
}

void TypeChecker::visit(const ast::TupleIndex& e) {
  auto t = typeOf(*e.base);
  if (!t) return;
  if (!t->is(TypeKind::Tuple))
    return error(e.range, "'." + std::to_string(e.index) + "' reads a tuple element, and this is " + t->kindName());
  if (e.index >= t->elements().size())
    return error(e.range, "this tuple has " + std::to_string(t->elements().size()) + " elements; '." +
                              std::to_string(e.index) + "' is past its end",
                 "elements are numbered from 0");
  set(e, t->elements()[e.index]);
}

void TypeChecker::visit(const ast::Index& e) {
  auto base = typeOf(*e.base);
  auto index = typeOf(*e.index);
  if (!base || !index) return;
  if (!index->isIntegerLike()) return error(e.index->range, "an index must be an integer, not " + index->kindName());
  if (base->is(TypeKind::Array)) {
    if (auto c = constantOf(*e.index); c && (c->negative || c->magnitude >= base->length()))
      return error(e.index->range, "index " + constantText(*c) + " is outside " + base->str(),
                   "elements are numbered from 0 to " + std::to_string(base->length() - 1));
    return set(e, base->element().in(base->space()));
  }
  if (!base->is(TypeKind::Pointer))
    return error(e.range, "'[]' indexes a pointer or an array, and this is " + base->kindName(),
                 e.base->kind == ast::ExprKind::Map ? "map keys go right after the name: @m[k1, k2]" : "");
  if (base->pointee().is(TypeKind::Void))
    return error(e.range, "this pointer's target type is unknown", "cast it first: ((u32 *)p)[i]");
  set(e, base->pointee().in(base->space()));
}

void TypeChecker::visit(const ast::Cast& e) {
  auto t = typeOf(*e.operand);
  if (!t) return;
  if (e.type.pointers > kMaxPointerDepth)
    return error(e.type.range, "a pointer " + std::to_string(e.type.pointers) + " levels deep: dptrace follows at most " +
                                   std::to_string(kMaxPointerDepth));
  if (e.type.kind != ast::TypeName::Kind::Builtin) {
    if (e.type.kind == ast::TypeName::Kind::Enum) {
      auto it = types_.imported->enums.find(e.type.name);
      if (it == types_.imported->enums.end())
        return error(e.type.range, e.type.spelling() + " is not known", "define it in the script: enum " + e.type.name + " { ... };");
      if (e.type.pointers > 0) return error(e.type.range, "a pointer to an enum cannot be read yet", "cast to the enum itself");
      if (!t->isIntegerLike()) return error(e.range, "cannot cast " + t->kindName() + " to " + e.type.spelling());
      return set(e, it->second);
    }
    if (!types_.imported->findStruct(e.type.name))
      return error(e.type.range, e.type.spelling() + " is not known",
                   "define it in the script, #include a header that does (#include <dpdk.h> for rte_mbuf), or probe a "
                   "binary built with -g");
    if (e.type.pointers == 0) return error(e.type.range, "cast to a pointer: (" + e.type.spelling() + " *)");
    if (!t->isIntegerLike() && !t->is(TypeKind::Pointer))
      return error(e.range, "cannot cast " + t->kindName() + " to " + e.type.spelling());
    Type target = Type::structure(e.type.name);
    for (uint32_t i = 0; i < e.type.pointers; ++i) target = Type::pointer(target);
    return set(e, target.in(t->space()));  // (struct task_struct *)curtask points into the kernel
  }
  std::string n = e.type.name;
  Type target;
  if (n == "bool") target = Type::boolean();
  else {
    bool isSigned = n[0] == 's' || n.rfind("int", 0) == 0;
    uint32_t bits = static_cast<uint32_t>(std::stoul(n.substr(n.find_first_of("0123456789"))));
    target = Type::integer(bits, isSigned);
  }
  if (e.type.pointers > 0) {
    for (uint32_t i = 0; i < e.type.pointers; ++i) target = Type::pointer(target);
    if (!t->isIntegerLike() && !t->is(TypeKind::Pointer))
      return error(e.range, "cannot cast " + t->kindName() + " to " + target.str());
    return set(e, target.in(t->space()));
  }
  if (!t->isIntegerLike() && !t->is(TypeKind::Pointer))
    return error(e.range, "cannot cast " + t->kindName() + " to " + target.str(),
                 t->is(TypeKind::String) ? "strings cannot be turned into numbers" : "");
  set(e, target.in(t->space()));
}

void TypeChecker::visit(const ast::Tuple& e) {
  std::vector<Type> elements;
  for (const ast::ExprPtr& el : e.elements) {
    auto t = plainValue(*el, "a tuple element");
    if (!t) return;
    if (t->is(TypeKind::Aggregation)) return error(el->range, "a tuple cannot hold " + t->kindName());
    elements.push_back(*t);
  }
  set(e, Type::tuple(std::move(elements)));
}

// ------------------------------------------------------------ statements

void TypeChecker::visit(const ast::ExprStmt& s) {
  const ast::Expr& e = *s.expr;
  bool isIncrement = e.kind == ast::ExprKind::Unary && static_cast<const ast::Unary&>(e).op >= ast::UnaryOp::PreIncrement;
  if (isIncrement && static_cast<const ast::Unary&>(e).operand->kind == ast::ExprKind::Map) {
    // @m++ on its own may create the map, as an integer.
    const auto& m = static_cast<const ast::Map&>(*static_cast<const ast::Unary&>(e).operand);
    MapInfo& info = mapInfo(m);
    if (!info.assigned) info.firstStore = e.range;
    info.assigned = true;
    if (!checkMapKeys(m, info)) return;
    if (info.value.is(TypeKind::Void)) info.value = Type::s64();
    if (!info.value.is(TypeKind::Integer))
      return error(e.range, "@" + m.name + " holds " + info.value.kindName() + "; '++' and '--' need an integer");
    set(m, info.value);
    return set(e, info.value);
  }
  auto t = typeOf(e);
  if (!t || isIncrement) return;
  if (!t->is(TypeKind::Void))
    error(e.range, "the value of this expression is not used",
          e.kind == ast::ExprKind::Call ? "store it: @x = ...; or $x = ...;" : "assign it to a map or a variable, or remove it");
}

std::optional<Type> TypeChecker::storeInto(const Type& existing, const ast::Expr& value, const Type& valueType,
                                           const std::string& what, SourceRange at) {
  if (existing.is(TypeKind::Void)) return valueType;
  if (auto c = constantOf(value); c && existing.is(TypeKind::Integer)) {
    if (fits(*c, existing)) {
      set(value, existing);
      return existing;
    }
    if (c->negative && !existing.isSigned()) {
      error(value.range, constantText(*c) + " cannot be stored in " + what + ", which holds unsigned " + existing.str() +
                             " values",
            "store signed values from the start, e.g. (s64)x");
      return std::nullopt;
    }
  }
  Type unified;
  if (!unifyStored(existing, valueType, unified)) {
    bool sameKind = existing.kind() == valueType.kind();  // two structs, two arrays: name them
    error(at, what + " holds " + (sameKind ? existing.str() : existing.kindName()) + " elsewhere; here it is given " +
                  (sameKind ? valueType.str() : valueType.kindName()),
          "a variable or map keeps one kind of value; use another name for this one");
    return std::nullopt;
  }
  return unified;
}

void TypeChecker::assignToVariable(const ast::Variable& target, const ast::Assign& s) {
  std::string what = "$" + target.name;
  auto it = variables_.find(target.name);
  if (s.op != ast::AssignOp::Set && it == variables_.end())
    return error(target.range, "variable " + what + " is used before it is assigned",
                 "assign it first: " + what + " = 0;");
  if (s.value->kind == ast::ExprKind::Call)
    if (const BuiltinInfo* b = findBuiltin(static_cast<const ast::Call&>(*s.value).callee);
        b && b->kind == BuiltinKind::Aggregation)
      return error(s.value->range, std::string(b->name) + "() is an aggregation and is kept in a map, not in a variable",
                   "write @" + target.name + " = " + b->name + "(...);");
  auto v = plainValue(*s.value, "a variable's value");
  if (!v) {
    failedVariables_.insert(target.name);
    return;
  }
  if (s.op != ast::AssignOp::Set && (!v->isIntegerLike() || !it->second.is(TypeKind::Integer)))
    return error(s.range, std::string("'") + ast::spelling(s.op) + "' needs integers on both sides");
  auto stored = storeInto(it == variables_.end() ? Type() : it->second, *s.value, *v, what, s.range);
  if (!stored) return;
  variables_[target.name] = *stored;
  set(target, *stored);
}

void TypeChecker::assignToMap(const ast::Map& target, const ast::Assign& s) {
  MapInfo& info = mapInfo(target);
  if (!info.assigned) info.firstStore = s.range;
  info.assigned = true;  // even if its keys are wrong: that is the error to report, not "never assigned"
  const ast::Call* call = s.value->kind == ast::ExprKind::Call ? &static_cast<const ast::Call&>(*s.value) : nullptr;
  const BuiltinInfo* b = call ? findBuiltin(call->callee) : nullptr;
  // Known before its keys are checked: they may read a map not typed yet.
  if (b && b->kind == BuiltinKind::Aggregation) info.aggregated = true;
  if (!checkMapKeys(target, info)) return;
  std::string what = "@" + target.name;
  if (target.keys.empty() && !info.keys.empty())
    return error(target.range, what + " has keys: store into one entry with " + what + "[key]");

  Type value;
  if (b && b->kind == BuiltinKind::Aggregation) {
    if (s.op != ast::AssignOp::Set)
      return error(s.range, std::string("an aggregation is assigned with '=', not '") + ast::spelling(s.op) + "'");
    aggregationSite_ = call;
    aggregationMap_ = &target;
    auto agg = typeOf(*s.value);
    aggregationSite_ = nullptr;
    aggregationMap_ = nullptr;
    if (!agg) return;
    value = *agg;
  } else {
    if (info.value.is(TypeKind::Aggregation))
      return error(s.value->range, what + " holds " + info.value.kindName() + " elsewhere; it cannot also hold a plain value",
                   "keep the plain value in another map");
    auto v = plainValue(*s.value, "a map value");
    if (!v) return;
    if (s.op != ast::AssignOp::Set && !v->isIntegerLike())
      return error(s.range, std::string("'") + ast::spelling(s.op) + "' needs integers on both sides");
    if (s.op != ast::AssignOp::Set && info.value.is(TypeKind::Void)) info.value = Type::s64();
    value = *v;
  }
  auto stored = storeInto(info.value, *s.value, value, what, s.value->range);
  if (!stored) return;
  info.value = *stored;
  set(target, *stored);
}

// pkt.len is written by bpf_xdp_adjust_tail, in the kernel: not in an afxdp
// body, whose frame lies in dptrace's own buffer.
bool TypeChecker::frameLengthWritable(const WritePlace& place, SourceRange r) {
  if (!place.field || std::string_view(place.field->view) != "pkt" || !kinds_.contains(ProbeKind::Afxdp)) return true;
  error(r, "an afxdp body cannot change pkt.len", "grow or shrink the frame in an xdp block on the interface");
  return false;
}

void TypeChecker::visit(const ast::Assign& s) {
  const ast::Expr& target = *s.target;
  if ((s.op == ast::AssignOp::Div || s.op == ast::AssignOp::Mod) && isZero(*s.value))
    return error(s.value->range, std::string(s.op == ast::AssignOp::Div ? "division" : "remainder") + " by a constant zero",
                 "x / 0 is 0 and x % 0 is x at run time (as the BPF instructions do), but a constant 0 is a mistake");
  switch (target.kind) {
    case ast::ExprKind::Variable: return assignToVariable(static_cast<const ast::Variable&>(target), s);
    case ast::ExprKind::Map: return assignToMap(static_cast<const ast::Map&>(target), s);
    default: {
      auto t = typeOf(target);
      auto v = typeOf(*s.value);
      if (!t || !v) return;
      WriteRefusal why;
      auto place = writePlace(target, s.op == ast::AssignOp::Set ? WriteOp::Assign : WriteOp::Compound, why);
      if (!place) return error(target.range, why.message, why.hint);
      if (!frameLengthWritable(*place, target.range)) return;
      const PacketField& pf = *place->field;
      if (s.op != ast::AssignOp::Set && !v->isIntegerLike())
        return error(s.value->range, std::string("'") + ast::spelling(s.op) + "' needs an integer, not " + v->kindName());
      if (auto c = constantOf(*s.value); c && pf.type.is(TypeKind::Integer)) {
        if (s.op == ast::AssignOp::Set && !fitsField(*c, pf))
          return error(s.value->range, constantText(*c) + " does not fit in " + place->name + " (" + fieldRange(pf) + ")");
        if (fits(*c, pf.type)) return set(*s.value, pf.type);
      }
      Type unified;
      if (!unify(pf.type, *v, unified))
        return error(s.value->range, place->name + " is " + pf.type.kindName() + ", not " + v->kindName());
      return;
    }
  }
}

// What ends the block's run at this statement: a packet action, or a jump.
std::optional<std::string> endsBlock(const ast::Stmt& s) {
  if (s.kind == ast::StmtKind::Jump) return "'" + std::string(ast::spelling(static_cast<const ast::Jump&>(s).jump)) + "'";
  if (s.kind != ast::StmtKind::Expr) return std::nullopt;
  const ast::Expr& e = *static_cast<const ast::ExprStmt&>(s).expr;
  if (e.kind != ast::ExprKind::Call) return std::nullopt;
  const std::string& callee = static_cast<const ast::Call&>(e).callee;
  const BuiltinInfo* b = findBuiltin(callee);
  bool action = (b && b->kind == BuiltinKind::Action && callee != "swap" && callee != "vlan_pop" && callee != "vlan_push") ||
                callee == "exit";
  return action ? std::optional<std::string>(callee + "()") : std::nullopt;
}

void TypeChecker::visit(const ast::Block& b) {
  std::optional<std::string> endedBy;
  bool warned = false;
  for (const ast::StmtPtr& s : b.stmts) {
    if (endedBy && !warned) {
      diags_.warning(s->range, "this statement never runs: " + *endedBy + " above it ends the block",
                     "move it before " + *endedBy + ", or remove it");
      warned = true;
    }
    visitStmt(*s);
    if (!endedBy) endedBy = endsBlock(*s);
  }
}

void TypeChecker::visit(const ast::If& s) {
  condition(*s.cond, "the condition of 'if'");
  visit(s.then);
  if (s.otherwise) visit(*s.otherwise);
}

// Whether a loop's condition holds a limit the verifier can see: one of its
// top-level '&&' parts compares something with a constant (<, <=, >, >=).
// Without one (while ($p != 0), while ($i < pkt.len)) the verifier may walk
// the loop until its million-instruction limit, seconds later, and refuse it
// -- or prove it ends after all (while ($i != 10), a break): a warning, and
// the verifier's word (its time bounded) decides.
bool hasConstantBound(const ast::Expr& e) {
  if (e.kind != ast::ExprKind::Binary) return false;
  const auto& b = static_cast<const ast::Binary&>(e);
  if (b.op == ast::BinaryOp::LogicalAnd) return hasConstantBound(*b.lhs) || hasConstantBound(*b.rhs);
  bool relational = b.op == ast::BinaryOp::Lt || b.op == ast::BinaryOp::Le || b.op == ast::BinaryOp::Gt ||
                    b.op == ast::BinaryOp::Ge;
  return relational && (constantOf(*b.lhs).has_value() != constantOf(*b.rhs).has_value());
}

void TypeChecker::visit(const ast::While& s) {
  condition(*s.cond, "the condition of 'while'");
  // An afxdp body runs in dptrace: no verifier, its loops are capped instead.
  if (!hasConstantBound(*s.cond) && kinds_ == ProbeKinds{ProbeKind::Afxdp})
    diags_.warning(s.cond->range, "this loop has no constant limit in its condition: in an afxdp body a frame's loops "
                                  "stop after 1048576 iterations together (reported at exit)",
                   "compare a counter with a constant, e.g. while ($i < n && $i < 1000) { ...; $i++; }");
  else if (!hasConstantBound(*s.cond))
    diags_.warning(s.cond->range, "this loop has no constant limit in its condition: the kernel's verifier may refuse it",
                   "compare a counter with a constant, e.g. while ($i < n && $i < 32) { ...; $i++; }, or use unroll (N)");
  ++loopDepth_;
  visit(s.body);
  --loopDepth_;
}

void TypeChecker::visit(const ast::Unroll& s) {
  auto c = constantOf(*s.count);
  if (!c || c->negative || c->magnitude < 1 || c->magnitude > 100)
    error(s.count->range, "unroll needs a constant count from 1 to 100", "for example: unroll (8) { ... }");
  else
    set(*s.count, Type::integer(32, false));
  ++loopDepth_;
  visit(s.body);
  --loopDepth_;
}

void TypeChecker::visit(const ast::Jump& s) {
  if (s.jump != ast::JumpKind::Return && loopDepth_ == 0)
    error(s.range, std::string("'") + ast::spelling(s.jump) + "' outside a loop",
          "break and continue work inside while and unroll; 'return' ends the probe block");
}

}  // namespace dptrace
