// Stages 4-5: import the types a script needs (tracepoint formats now; BTF,
// DWARF and C via Clang with their issues), then type-check every probe.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "ast.h"
#include "diagnostics.h"
#include "dwarf_signatures.h"
#include "c_import.h"
#include "kernel_btf.h"
#include "tracepoint_format.h"
#include "type.h"

namespace dptrace {

// The constant arguments of a map's lhist(): one set per map.
struct LinearBounds {
  int64_t min = 0, max = 0, step = 1;
  SourceRange at;  // the lhist() call that set them first
  bool operator==(const LinearBounds& o) const { return min == o.min && max == o.max && step == o.step; }
};

struct MapInfo {
  Type value;               // void until the first assignment
  std::vector<Type> keys;   // the key shape; empty for @x
  bool keysKnown = false;   // the first use fixed the shape
  bool used = false;        // seen at all
  bool assigned = false;    // some statement stores into it
  bool aggregated = false;  // some statement stores an aggregation (count(), hist(), ...) into it
  SourceRange firstUse;
  SourceRange firstStore;   // the first statement that stores into it (for --metrics' HELP)
  std::optional<LinearBounds> lhist;  // set when it holds an lhist()
  bool userSpace = false;   // written by an afxdp body: kept in dptrace (map_sides.h)
};

// The types a script's probes and casts need, from outside the script's
// code: tracepoint formats, DWARF signatures and layouts, C definitions.
inline constexpr uint64_t kUaddrRelocatable = 1ull << 63;

struct ImportedTypes {
  std::map<std::string, TracepointFormat> tracepoints;  // "category:name" -> format
  // "category:name" of every tracepoint a wildcard attach point matches, by its pattern "cat*:sys_enter_*"
  std::map<std::string, std::vector<std::string>> tracepointMatches;
  std::map<std::string, FunctionSignature> signatures;  // "binary:function" -> DWARF signature (uprobes)
  std::map<std::string, std::string> signatureErrors;   // "binary:function" -> why there is none
  // "binary:function" -> the inlined instances of a function that DWARF
  // knows only inlined (uprobes at each one's entry; dwarf_signatures.h)
  std::map<std::string, std::vector<InlinedSite>> inlinedSites;
  std::map<std::string, StructLayout> structs;          // struct name -> layout (C definitions, then DWARF)
  std::map<std::string, Type> enums;                    // enum name -> its integer type (C definitions)
  std::map<std::string, CConstant> constants;           // enum constants and integer #defines (C definitions)
  bool command = false;                                 // -c: cpid has a value
  bool unsafe = false;                                  // --unsafe
  bool userSymbols = true;                              // BPFTRACE_NO_USER_SYMBOLS unset
  uint32_t strLength = 64;                              // str()'s default size
  uint32_t maxProbes = 512;                             // a kprobe wildcard's matches at most (BPFTRACE_MAX_PROBES)

  // Kernel types (BTF): the signatures of fentry/fexit functions and of
  // rawtracepoints, by kernelProbeKey(); structs the C text and DWARF do not
  // define come from the kernel's BTF when the script probes the kernel.
  std::shared_ptr<KernelBtf> kernel;                     // null: the script reads no kernel types
  std::vector<std::string> kernelModules;                // searched for struct names before vmlinux
  std::map<std::string, KernelSignature> kernelSignatures;
  std::set<std::string> kernelModulesReported;           // modules whose missing BTF was said
  // A BTF attach point with a pattern (rawtracepoint:sched_*): by its
  // kernelProbeKey, one attach point per function or tracepoint it matched.
  std::map<std::string, std::deque<ast::AttachPoint>> kernelMatches;

  // A struct or union by name: the script's C, the probed binaries' DWARF,
  // then (imported at the first use) the kernel's BTF. Null when unknown.
  const StructLayout* findStruct(const std::string& name) const;

private:
  mutable std::map<std::string, std::optional<StructLayout>> kernelStructs_;
};

// The parameters a uprobe block reads (argN, args.NAME): what a uretprobe's
// entry half records, what must be readable at inlined calls. `signature`
// names them (null: argN only).
std::vector<unsigned> parametersRead(const ast::Probe& probe, const FunctionSignature* signature);

// "fentry:MODULE:FUNC" (fentry and fexit share it) or
// "rawtracepoint:MODULE:NAME": the key of a BTF probe's signature.
std::string kernelProbeKey(const ast::AttachPoint& ap);

// What the type checker learned: the type of every expression, and each map's
// key and value types. Later stages read it; the AST is left untouched.
struct TypeTable {
  explicit TypeTable(const ImportedTypes& imports) : imported(&imports) {}
  const ImportedTypes* imported;
  std::unordered_map<const ast::Expr*, Type> exprs;
  std::map<std::string, MapInfo> maps;
  // Calls whose value the checker knows: sizeof(), kaddr(); uaddr()'s
  // symbol address, with kUaddrRelocatable when it moves with the load address.
  std::unordered_map<const ast::Expr*, uint64_t> values;

  const Type& of(const ast::Expr& e) const;
};

struct ImportOptions {
  std::vector<std::string> includeDirs;  // -I, searched before stdlib/
  bool cDefinitions = true;              // false: C text is skipped (the fuzzer: Clang is not under test)
  std::shared_ptr<KernelBtf> kernel;     // --btf, --btf-module: read already; else made when a probe needs it
  bool kernelTypes = true;               // false: no BTF is read (the fuzzer)
  bool process = false;                  // -p or -c: DPDK's burst functions go through rte_eth_fp_ops, not DWARF's inlined calls
  bool command = false;                  // -c: cpid has a value
  bool unsafe = false;                   // --unsafe: system() and signal() are allowed
  bool userSymbols = true;               // false (BPFTRACE_NO_USER_SYMBOLS): a uprobe's func is its address
  uint32_t strLength = 64;               // str()'s default size (BPFTRACE_STRLEN)
  uint32_t maxProbes = 512;              // BPFTRACE_MAX_PROBES
  std::vector<std::string> includes;     // --include FILE: headers before the script's C text
};

// Reads the types the probes need: C definitions and #include (Clang), the
// tracepoint formats (args.FIELD), uprobe signatures and struct layouts
// (DWARF). Reports probes whose tracepoint does not exist and C that Clang
// refuses.
void importTypes(const ast::Program& program, const ImportOptions& options, Diagnostics& diags, ImportedTypes& types);

void typeCheck(const ast::Program& program, Diagnostics& diags, TypeTable& types);

// The kernel's functions: the text symbols of /proc/kallsyms, read once per
// run, as (module, name); the module is "" for vmlinux's.
const std::vector<std::pair<std::string, std::string>>& kernelFunctions();
// Whether this kernel attaches kprobes: a kprobe event source, or
// kprobe_events in tracefs (CONFIG_KPROBE_EVENTS).
bool kernelHasKprobes();

}  // namespace dptrace
