#include "interfaces.h"

#include <net/if.h>

#include <set>

#include "suggest.h"
#include "visitor.h"

namespace dptrace {
namespace {

std::vector<std::string> interfaceNames() {
  std::vector<std::string> names;
  if (struct if_nameindex* all = if_nameindex()) {
    for (struct if_nameindex* i = all; i->if_index != 0; ++i) names.push_back(i->if_name);
    if_freenameindex(all);
  }
  return names;
}

// redirect("IF") calls.
struct RedirectTargets : ast::Visitor<RedirectTargets, true> {
  using Visitor::visit;
  std::vector<const ast::String*> targets;
  void visit(const ast::Call& c) {
    if (c.callee == "redirect" && c.args.size() == 1 && c.args[0].value->kind == ast::ExprKind::String)
      targets.push_back(static_cast<const ast::String*>(c.args[0].value.get()));
    Visitor::visit(c);
  }
};

}  // namespace

std::map<std::string, uint32_t> resolveInterfaces(const ast::Program& program, bool pcap, bool attaching,
                                                  Diagnostics& diags) {
  std::map<std::string, uint32_t> found;
  std::set<std::string> missing;
  auto resolve = [&](const std::string& name, SourceRange where, const char* what) {
    if (found.count(name) || missing.count(name)) return;
    if (unsigned index = if_nametoindex(name.c_str())) {
      found[name] = index;
      return;
    }
    std::vector<std::string> names = interfaceNames();
    std::string close = closestMatch(name, names);
    std::string hint = close.empty() ? "" : "did you mean '" + close + "'?";
    if (hint.empty()) {
      hint = "this host's interfaces:";
      for (const std::string& n : names) hint += " " + n;
    }
    missing.insert(name);
    diags.error(where, std::string("no network interface '") + name + "' " + what, hint);
  };
  for (const ast::Probe& probe : program.probes)
    for (const ast::AttachPoint& ap : probe.attachPoints) {
      if (pcap && ap.provider != "xdp" && ap.provider != "afxdp" && ap.provider != "BEGIN" && ap.provider != "END" &&
          ap.provider != "interval") {
        diags.error(ap.range, "--pcap replays packets through xdp blocks; " + ap.provider + " probes cannot run with it",
                    "run this probe without --pcap, or remove it");
        continue;
      }
      if (ap.provider != "xdp" || pcap || !attaching) continue;
      if (ap.target == "any") {
        diags.error(ap.range, "xdp:any names no interface: it runs only on a capture",
                    "replay one with --pcap FILE, or name an interface: xdp:veth0");
        continue;
      }
      // the caret under the interface: xdp:IFACE
      size_t colon = ap.raw.find(':');
      SourceRange where = ap.range;
      if (colon != std::string::npos && ap.range.end - ap.range.begin == ap.raw.size())
        where.begin += static_cast<uint32_t>(colon + 1);
      resolve(ap.target, where, "to attach to");
    }
  RedirectTargets redirects;
  redirects.visitProgram(program);
  for (const ast::String* s : redirects.targets) {
    if (pcap) {  // the capture's packets go nowhere: redirect() is a verdict
      if (unsigned index = if_nametoindex(s->value.c_str())) found[s->value] = index;
      continue;
    }
    resolve(s->value, s->range, "to redirect to");
  }
  return found;
}

}  // namespace dptrace
