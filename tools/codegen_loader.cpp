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

}  // namespace dptrace
