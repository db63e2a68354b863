// compileInModule(): the code generator, loaded from libdptrace_codegen.so
// when dptrace compiles (codegen/codegen_module.h).
#include "codegen_module.h"
#include "c_import_paths.h"
#include "modules.h"

namespace dptrace {

std::string codegenModulePath() {
  return firstExistingPath({"../lib/dptrace/libdptrace_codegen.so", DPTRACE_CODEGEN_INSTALL_PATH, DPTRACE_CODEGEN_BUILD_PATH});
}

std::optional<CompiledScript> compileInModule(const ast::Program& program, const TypeTable& types,
                                              const CodegenOptions& options, Diagnostics& diags, CodegenOutput output,
                                              std::ostream* text) {
  std::string path = codegenModulePath();
  std::string error = "libdptrace_codegen.so is not installed";
  auto entry = path.empty() ? nullptr : reinterpret_cast<CodegenFunction>(loadModuleSymbol(path, kCodegenSymbol, error));
  if (entry == nullptr) {
    diags.systemError({0, 0}, "dptrace's code generator cannot be loaded: " + error, "reinstall dptrace (cmake --install)");
    return std::nullopt;
  }
  std::optional<CompiledScript> result;
  entry(CodegenCall{&program, &types, &options, &diags, output, text, &result});
  return result;
}

std::optional<std::vector<uint64_t>> instructionStarts(const std::vector<uint8_t>& code, std::string& error) {
  std::string path = codegenModulePath();
  error = "libdptrace_codegen.so is not installed";
  auto entry = path.empty() ? nullptr
                            : reinterpret_cast<InstructionStartsFunction>(loadModuleSymbol(path, kInstructionStartsSymbol, error));
  if (entry == nullptr) return std::nullopt;
  std::vector<uint64_t> starts;
  if (!entry(code.data(), code.size(), &starts)) {
    error = "its bytes do not disassemble as x86-64 instructions";
    return std::nullopt;
  }
  return starts;
}

}  // namespace dptrace
