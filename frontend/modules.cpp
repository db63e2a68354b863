#include "modules.h"

#include <dlfcn.h>

#include <algorithm>
#include <filesystem>

namespace dptrace {

std::string firstExistingPath(const std::vector<std::string>& candidates) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  for (const std::string& c : candidates) {
    fs::path p = fs::path(c).is_relative() && !ec ? exe.parent_path() / c : fs::path(c);
    if (!c.empty() && fs::exists(p, ec)) return fs::weakly_canonical(p, ec).string();
  }
  return {};
}

std::string ifRunFromBuildTree(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  fs::path build = fs::path(path).parent_path().parent_path().parent_path();  // BUILD/lib/dptrace/NAME
  if (ec || build.empty()) return {};
  auto [end, at] = std::mismatch(build.begin(), build.end(), exe.begin(), exe.end());
  return end == build.end() ? path : std::string();
}

void* loadModuleSymbol(const std::string& path, const char* symbol, std::string& error) {
  // Modules stay loaded: their globals (LLVM's, Clang's) must outlive every use.
  void* handle = dlopen(path.c_str(), RTLD_LAZY | RTLD_LOCAL);
  void* entry = handle ? dlsym(handle, symbol) : nullptr;
  if (entry == nullptr) error = dlerror();
  return entry;
}

}  // namespace dptrace
