// The code generator runs in a module (libdptrace_codegen.so) that dptrace
// loads only when it compiles: libLLVM is loaded with it, not at every start.
// This is the module's one entry point, looked up with dlsym.
#pragma once

#include <iosfwd>
#include <optional>

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

// The module's path (empty when it is not found).
std::string codegenModulePath();

// Loads the module (once) and compiles. An unloadable module is a located
// system error in `diags` and no result.
std::optional<CompiledScript> compileInModule(const ast::Program& program, const TypeTable& types,
                                              const CodegenOptions& options, Diagnostics& diags, CodegenOutput output,
                                              std::ostream* text);

}  // namespace dptrace
