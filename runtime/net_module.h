// libdptrace_net.so: the parts of dptrace that link libcurl (--export) and
// libmicrohttpd (--metrics). They are a module that dptrace loads only when
// one of these options is given: linked into the binary, the ~35 libraries
// they pull in (GnuTLS, Kerberos, LDAP, ...) cost ~8 ms of every start.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "export.h"
#include "metrics.h"

namespace dptrace {

// What the module gives; its versions of the makers in export.h and metrics.h.
struct NetModule {
  std::unique_ptr<Exporter> (*makeExporter)();
  std::optional<ExportUrl> (*parseExportUrl)(const std::string& text, std::string& error);
  std::unique_ptr<MetricsServer> (*makeMetricsServer)();
};

// The module's one exported function, extern "C": returns its NetModule.
inline constexpr const char* kNetModuleSymbol = "dptrace_net_module";
using NetModuleFunction = const NetModule* (*)();

// Loads the module once; null with `error` (a whole sentence) when it cannot.
const NetModule* netModule(std::string& error);

}  // namespace dptrace
