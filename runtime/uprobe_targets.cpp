#include "uprobe_targets.h"

#include <unistd.h>

#include "elf_symbols.h"
#include "suggest.h"

namespace dptrace {

std::string findBinary(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  for (const char* dir : {"/lib/x86_64-linux-gnu/", "/usr/lib/x86_64-linux-gnu/", "/lib64/", "/usr/lib64/", "/lib/",
                          "/usr/lib/", "/usr/local/lib/"})
    if (access((std::string(dir) + name).c_str(), F_OK) == 0) return std::string(dir) + name;
  return name;
}

std::map<const ast::AttachPoint*, UprobeTarget> resolveUprobeTargets(const ast::Program& program, Diagnostics& diags) {
  std::map<const ast::AttachPoint*, UprobeTarget> out;
  for (const ast::Probe& probe : program.probes)
    for (const ast::AttachPoint& ap : probe.attachPoints) {
      if (ap.provider != "uprobe" && ap.provider != "uretprobe") continue;
      UprobeTarget target;
      target.binary = findBinary(ap.target);
      std::string error;
      auto symbols = readFunctionSymbols(target.binary, error);
      if (!symbols) {
        std::string hint = error.find("Permission") != std::string::npos
                               ? "dptrace needs to read the binary: run it as root"
                               : "give the path of a binary or library, e.g. uprobe:/usr/bin/bash:readline";
        diags.error(ap.range, "cannot read '" + ap.target + "': " + error, hint);
        continue;
      }
      if (ap.offset) {
        out[&ap] = target;
        continue;
      }
      if (symbols->empty()) {
        diags.error(ap.range, "'" + ap.target + "' has no symbol table (it was stripped)",
                    "probe by offset, e.g. " + ap.provider + ":" + ap.target + ":0x1139, or use a build with symbols");
        continue;
      }
      bool wildcard = ap.function.find_first_of("*?") != std::string::npos;
      for (const FunctionSymbol& s : *symbols)
        if (wildcard ? wildcardMatch(ap.function, s.name) : s.name == ap.function) target.functions.push_back(s.name);
      if (target.functions.empty()) {
        std::vector<std::string> names;
        for (const FunctionSymbol& s : *symbols) names.push_back(s.name);
        std::string guess = wildcard ? "" : closestMatch(ap.function, names);
        diags.error(ap.range,
                    std::string(wildcard ? "no function of '" : "no function '") + (wildcard ? ap.target + "' matches '" + ap.function + "'"
                                                                                          : ap.function + "' in '" + ap.target + "'"),
                    guess.empty() ? "the functions it defines are listed by: nm -D --defined-only " + ap.target
                                  : "did you mean '" + guess + "'?");
        continue;
      }
      out[&ap] = target;
    }
  return out;
}

}  // namespace dptrace
