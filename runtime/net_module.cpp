// netModule(): libdptrace_net.so, loaded for --export and --metrics.
#include "net_module.h"

#include "c_import_paths.h"
#include "modules.h"

namespace dptrace {

const NetModule* netModule(std::string& error) {
  static const NetModule* loaded = nullptr;
  static std::string failure;
  if (!loaded && failure.empty()) {
    std::string path = firstExistingPath(
        {"../lib/dptrace/libdptrace_net.so", DPTRACE_NET_INSTALL_PATH, ifRunFromBuildTree(DPTRACE_NET_BUILD_PATH)});
    std::string why = "libdptrace_net.so is not installed";
    auto entry = path.empty() ? nullptr : reinterpret_cast<NetModuleFunction>(loadModuleSymbol(path, kNetModuleSymbol, why));
    if (entry) loaded = entry();
    if (!loaded) failure = "dptrace's HTTP module (for --export and --metrics) cannot be loaded: " + why + "; reinstall dptrace (cmake --install)";
  }
  if (!loaded) error = failure;
  return loaded;
}

std::unique_ptr<MetricsServer> makeMetricsServer(std::string& error) {
  const NetModule* net = netModule(error);
  return net ? net->makeMetricsServer() : nullptr;
}

}  // namespace dptrace
