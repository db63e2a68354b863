// The code generator runs in a module that dptrace loads only when it
// compiles: LLVM is loaded with it, not at every start. It is built twice:
// libdptrace_codegen.so with the BPF back end only, and
// libdptrace_codegen_host.so with x86-64's too, for scripts with afxdp
// blocks (their bodies run in dptrace) and for uprobes at an offset inside a
// function (its disassembler). The x86-64 back end doubles the time the
// module takes to load. These are the modules' entry points, looked up with
// dlsym.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "codegen.h"

namespace dptrace {

struct CodegenCall {
  const ast::Program* program;
  const TypeTable* types;
  const CodegenOptions* options;
  Diagnostics* diags;
  CodegenOutput output;
  std::ostream* text;
  std::optional<CompiledScript>* result;
};

using CodegenFunction = void (*)(const CodegenCall&);
inline constexpr const char* kCodegenSymbol = "dptrace_compile_script";

// Where x86-64 instructions start in `code` (LLVM's disassembler, which lives
// in libdptrace_codegen_host.so): for uprobe:BIN:FUNC+OFFSET, which must land on one. False
// when a byte sequence is not an instruction.
using InstructionStartsFunction = bool (*)(const uint8_t* code, size_t size, std::vector<uint64_t>* starts);
inline constexpr const char* kInstructionStartsSymbol = "dptrace_instruction_starts";

// Loads the module and disassembles; nullopt with `error` when it cannot.
std::optional<std::vector<uint64_t>> instructionStarts(const std::vector<uint8_t>& code, std::string& error);

// Whether `program` needs libdptrace_codegen_host.so: it has afxdp blocks.
bool needsHostTarget(const ast::Program& program);
// The module's path (empty when it is not found): with the host target or not.
std::string codegenModulePath(bool host);

// Loads the module `program` needs (once), so that -v can time it apart
// from the compilation; compileInModule() says why when it cannot.
void preloadCodegenModule(const ast::Program& program);

// Loads the module (once) and compiles. An unloadable module is a located
// system error in `diags` and no result.
std::optional<CompiledScript> compileInModule(const ast::Program& program, const TypeTable& types,
                                              const CodegenOptions& options, Diagnostics& diags, CodegenOutput output,
                                              std::ostream* text);

}  // namespace dptrace
