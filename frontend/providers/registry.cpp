// The list of probe kinds. Adding a kind adds a file and one line here.
#include <array>

#include "provider.h"

namespace dptrace {

std::span<const ProviderInfo* const> allProviders() {
  static const std::array<const ProviderInfo*, 18> providers = {
      &beginProvider(),  &endProvider(),     &intervalProvider(),   &uprobeProvider(), &uretprobeProvider(),
      &fentryProvider(), &fexitProvider(),   &tracepointProvider(), &rawTracepointProvider(), &xdpProvider(), &afxdpProvider(),
      &profileProvider(), &softwareProvider(), &hardwareProvider(), &usdtProvider(), &kprobeProvider(), &kretprobeProvider(), &watchpointProvider(),
  };
  return providers;
}

const ProviderInfo* findProvider(std::string_view word) {
  for (const ProviderInfo* p : allProviders()) {
    if (word == p->name) return p;
    for (const char* alias : p->aliases)
      if (word == alias) return p;
  }
  return nullptr;
}

const ProviderInfo& providerOf(ProbeKind kind) {
  for (const ProviderInfo* p : allProviders())
    if (p->kind == kind) return *p;
  return beginProvider();  // ProbeKind::None has no provider; callers check the kind first
}

}  // namespace dptrace
