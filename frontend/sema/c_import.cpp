#include "c_import.h"

#include <dlfcn.h>
#include <unistd.h>

#include <filesystem>

#include "c_import_paths.h"

namespace dptrace {
namespace {

namespace fs = std::filesystem;

fs::path executableDir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

// The installed layout (bin/dptrace, lib/dptrace/..., share/dptrace/...) is
// tried first, relative to the executable; then this build tree.
std::string firstExisting(const std::vector<fs::path>& candidates) {
  std::error_code ec;
  for (const fs::path& p : candidates)
    if (!p.empty() && fs::exists(p, ec)) return p.string();
  return {};
}

}  // namespace

std::vector<std::string> stdlibIncludeDirs() {
  std::string dir = firstExisting({executableDir() / "../share/dptrace/stdlib", DPTRACE_STDLIB_INSTALL_DIR,
                                   DPTRACE_STDLIB_BUILD_DIR});
  if (dir.empty()) return {};
  return {fs::weakly_canonical(dir).string()};
}

bool importCDefinitions(const std::string& fileName, const std::string& script,
                        const std::vector<std::pair<uint32_t, uint32_t>>& cRanges,
                        const std::vector<std::string>& userIncludeDirs, CImportResult& result, std::string& error) {
  std::string module = firstExisting({executableDir() / "../lib/dptrace/libdptrace_cimport.so",
                                      DPTRACE_CIMPORT_INSTALL_PATH, DPTRACE_CIMPORT_BUILD_PATH});
  if (module.empty()) {
    error = "dptrace's C importer (libdptrace_cimport.so) is not installed";
    return false;
  }
  // The module stays loaded: Clang's globals must outlive every use.
  void* handle = dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL);
  auto entry = handle ? reinterpret_cast<CImportFunction>(dlsym(handle, kCImportSymbol)) : nullptr;
  if (entry == nullptr) {
    error = "dptrace's C importer cannot be loaded: " + std::string(dlerror());
    return false;
  }

  CImportRequest request;
  // #include "x.h" searches the script's directory; -e scripts live in the current one.
  std::error_code ec;
  request.fileName = fs::is_regular_file(fileName, ec) ? fs::absolute(fileName).string()
                                                       : (fs::current_path() / "command-line.dpt").string();
  request.code.assign(script.size(), ' ');
  for (size_t i = 0; i < script.size(); ++i)
    if (script[i] == '\n') request.code[i] = '\n';
  for (const auto& [begin, end] : cRanges)
    for (uint32_t i = begin; i < end && i < script.size(); ++i) request.code[i] = script[i];
  request.includeDirs = userIncludeDirs;
  for (std::string& dir : stdlibIncludeDirs()) request.includeDirs.push_back(std::move(dir));
  request.resourceDir = DPTRACE_CLANG_RESOURCE_DIR;
  entry(request, result);
  return true;
}

}  // namespace dptrace
