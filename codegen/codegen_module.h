// The code generator runs in a module (libdptrace_codegen.so) that dptrace
// loads only when it compiles: libLLVM is loaded with it, not at every start.
// This is the module's one entry point, looked up with dlsym.
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
// in the module): for uprobe:BIN:FUNC+OFFSET, which must land on one. False
// when a byte sequence is not an instruction.
using InstructionStartsFunction = bool (*)(const uint8_t* code, size_t size, std::vector<uint64_t>* starts);
inline constexpr const char* kInstructionStartsSymbol = "dptrace_instruction_starts";

// Loads the module and disassembles; nullopt with `error` when it cannot.
std::optional<std::vector<uint64_t>> instructionStarts(const std::vector<uint8_t>& code, std::string& error);

// The module's path (empty when it is not found).
std::string codegenModulePath();

// Loads the module (once) and compiles. An unloadable module is a located
// system error in `diags` and no result.
std::optional<CompiledScript> compileInModule(const ast::Program& program, const TypeTable& types,
                                              const CodegenOptions& options, Diagnostics& diags, CodegenOutput output,
                                              std::ostream* text);

}  // namespace dptrace
