// The entry of libdptrace_net.so (net_module.h).
#include "net_module.h"

#include "curl_exporter.h"
#include "metrics_server.h"

namespace {

const dptrace::NetModule kModule{
    [] { return std::unique_ptr<dptrace::Exporter>(new dptrace::CurlExporter); },
    &dptrace::parseExportUrlWithCurl,
    [] { return std::unique_ptr<dptrace::MetricsServer>(new dptrace::MhdMetricsServer); },
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const dptrace::NetModule* dptrace_net_module() { return &kModule; }
