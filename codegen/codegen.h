// Stages 6-7: typed AST -> LLVM IR -> the LLVM BPF back end -> an ELF object
// libbpf loads (BTF-defined maps in .maps, one program per attach point in a
// section libbpf understands, BTF for every program, a license).
#pragma once

#include <iosfwd>
#include <map>
#include <optional>
#include <set>

#include "ast.h"
#include "diagnostics.h"
#include "program_info.h"
#include "sema/type_check.h"

namespace dptrace {

struct CodegenOptions {
  uint32_t mapSize = 4096;
  std::map<const ast::AttachPoint*, UprobeTarget> uprobes;  // from resolveUprobeTargets
  std::map<std::string, uint32_t> interfaces;               // xdp interfaces and redirect() targets -> ifindex
  bool pcap = false;  // --pcap: every xdp block is one program, whatever its interface
  // -k (1): report failed map updates and deletes, stack and signal helpers;
  // -kk (2): failed reads of memory too, as bpftrace's -k and -kk.
  int helperChecks = 0;
  bool demangle = true;  // `func` of a C++ function as the source spells it (BPFTRACE_NO_CPP_DEMANGLE=1: as mangled)
  bool hashMaps = false;  // every map a hash (DPTRACE_MAP_LAYOUT=hash), no arrays chosen by the compiler
  bool pinned = false;    // --pin: only map layouts that the key types fix (no arrays sized by constant keys)
  // Functions (by name) that went over the 512-byte stack with their
  // temporaries on it: compiled again with them in the heap.
  std::set<std::string> heapArenas;
};

// IrAndAssembly (-dd): the optimised IR, kAssemblyFollows, then the assembly
// of that same module (LLVM's BPF struct-access pass cannot run on a second
// module in one process: see compileScript).
enum class CodegenOutput { Object, LlvmIr, Assembly, IrAndAssembly };
inline constexpr const char* kAssemblyFollows = "\n; ---- the BPF assembly of this IR\n";

// Compiles the checked program. For LlvmIr and Assembly the text is written
// to `text`; for Object, CompiledScript::object holds the ELF. Constructs the
// code generator cannot lower yet are reported as located errors.
std::optional<CompiledScript> compileScript(const ast::Program& program, const TypeTable& types,
                                            const CodegenOptions& options, Diagnostics& diags,
                                            CodegenOutput output, std::ostream* text);

}  // namespace dptrace
