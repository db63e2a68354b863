#include "c_import.h"

#include <unistd.h>

#include <filesystem>

#include "c_import_paths.h"
#include "modules.h"

namespace dptrace {

namespace fs = std::filesystem;
std::vector<std::string> stdlibIncludeDirs() {
  std::string dir = firstExistingPath({"../share/dptrace/stdlib", DPTRACE_STDLIB_INSTALL_DIR, DPTRACE_STDLIB_BUILD_DIR});
  if (dir.empty()) return {};
  return {dir};
}

bool importCDefinitions(const std::string& fileName, const std::string& script,
                        const std::vector<std::pair<uint32_t, uint32_t>>& cRanges,
                        const std::vector<std::string>& userIncludeDirs, CImportResult& result, std::string& error) {
  std::string module = firstExistingPath({"../lib/dptrace/libdptrace_cimport.so", DPTRACE_CIMPORT_INSTALL_PATH,
                                          DPTRACE_CIMPORT_BUILD_PATH});
  if (module.empty()) {
    error = "dptrace's C importer (libdptrace_cimport.so) is not installed";
    return false;
  }
  std::string why;
  auto entry = reinterpret_cast<CImportFunction>(loadModuleSymbol(module, kCImportSymbol, why));
  if (entry == nullptr) {
    error = "dptrace's C importer cannot be loaded: " + why;
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
