#include "resolve_attach_points.h"

#include "providers/provider.h"
#include "suggest.h"

namespace dptrace {
namespace {

struct Unsupported {
  const char* name;
  const char* hint;
};

// Probe kinds a bpftrace user may try, and what dptrace offers instead.
constexpr Unsupported kUnsupported[] = {
    {"iter", "dptrace has no iterator probes"},
    {"tc", "dptrace runs packet code at XDP: xdp:IFACE"},
};

void resolve(ast::AttachPoint& ap, Diagnostics& diags) {
  std::string word = ap.raw.substr(0, ap.raw.find(':'));
  const ProviderInfo* provider = findProvider(word);
  if (size_t slash = word.find('/'); provider == nullptr && slash != std::string::npos && slash > 0 &&
                                       findProvider(word.substr(0, slash)) != nullptr) {
    SourceRange wordRange{ap.range.begin, ap.range.begin + static_cast<uint32_t>(word.size())};
    return diags.error(wordRange, "'" + word + "' runs a predicate into the attach point",
                       "put a space between them: " + word.substr(0, slash) + " " + word.substr(slash) + " { ... }");
  }
  if (provider == nullptr) {
    SourceRange wordRange{ap.range.begin, ap.range.begin + static_cast<uint32_t>(word.size())};
    for (const Unsupported& u : kUnsupported)
      if (word == u.name) return diags.error(wordRange, "'" + word + "' probes are not supported by dptrace", u.hint);
    std::vector<std::string> names;
    for (const ProviderInfo* p : allProviders()) names.push_back(p->name);
    std::string guess = closestMatch(word, names);
    std::string hint = guess.empty() ? "probe types: BEGIN, END, interval, profile, software, hardware, uprobe, "
                                       "uretprobe, usdt, kprobe, kretprobe, fentry, fexit, tracepoint, rawtracepoint, xdp, afxdp"
                                     : "did you mean '" + guess + "'?";
    return diags.error(wordRange, "unknown probe type '" + word + "'", hint);
  }
  ap.kind = provider->kind;
  SpecReader spec(ap, diags, provider->syntax);
  provider->read(spec);
}

}  // namespace

void resolveAttachPoints(ast::Program& program, Diagnostics& diags) {
  for (ast::Probe& probe : program.probes)
    for (ast::AttachPoint& ap : probe.attachPoints) resolve(ap, diags);
  if (program.probes.empty() && !diags.hasErrors()) {
    diags.error({0, 0}, "the script has no probes",
                "a probe is an attach point and a block: BEGIN { printf(\"hello\\n\"); }");
  }
}

}  // namespace dptrace
