// compileInModule(): the code generator, loaded from libdptrace_codegen.so
// (or libdptrace_codegen_host.so) when dptrace compiles (codegen/codegen_module.h).
#include "codegen_module.h"
#include "c_import_paths.h"
#include "modules.h"

namespace dptrace {

bool needsHostTarget(const ast::Program& program) {
  for (const ast::Probe& probe : program.probes)
    for (const ast::AttachPoint& ap : probe.attachPoints)
      if (ap.kind == ProbeKind::Afxdp) return true;
  return false;
}

std::string codegenModulePath(bool host) {
  if (host)
    return firstExistingPath({"../lib/dptrace/libdptrace_codegen_host.so", DPTRACE_CODEGEN_HOST_INSTALL_PATH,
                              ifRunFromBuildTree(DPTRACE_CODEGEN_HOST_BUILD_PATH)});
  return firstExistingPath({"../lib/dptrace/libdptrace_codegen.so", DPTRACE_CODEGEN_INSTALL_PATH,
                            ifRunFromBuildTree(DPTRACE_CODEGEN_BUILD_PATH)});
}

void preloadCodegenModule(const ast::Program& program) {
  std::string path = codegenModulePath(needsHostTarget(program)), error;
  if (!path.empty()) loadModuleSymbol(path, kCodegenSymbol, error);
}

std::optional<CompiledScript> compileInModule(const ast::Program& program, const TypeTable& types,
                                              const CodegenOptions& options, Diagnostics& diags, CodegenOutput output,
                                              std::ostream* text) {
  bool host = needsHostTarget(program);
  std::string path = codegenModulePath(host);
  std::string error = host ? "libdptrace_codegen_host.so is not installed" : "libdptrace_codegen.so is not installed";
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
  std::string path = codegenModulePath(true);
  error = "libdptrace_codegen_host.so is not installed";
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
