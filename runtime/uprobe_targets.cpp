#include "uprobe_targets.h"

#include <unistd.h>

#include "elf_symbols.h"
#include "sema/dwarf_signatures.h"
#include "suggest.h"

namespace dptrace {

namespace {

// The part of an attach point's text that names the binary, or the function.
SourceRange binaryRange(const ast::AttachPoint& ap) {
  size_t start = ap.raw.find(':') + 1;
  size_t end = ap.raw.rfind(':');
  if (end <= start) end = ap.raw.size();
  return {ap.range.begin + static_cast<uint32_t>(start), ap.range.begin + static_cast<uint32_t>(end)};
}

SourceRange functionRange(const ast::AttachPoint& ap) {
  size_t start = ap.raw.rfind(':') + 1;
  return {ap.range.begin + static_cast<uint32_t>(start), ap.range.end};
}

}  // namespace

std::map<const ast::AttachPoint*, UprobeTarget> resolveUprobeTargets(const ast::Program& program, Diagnostics& diags) {
  std::map<const ast::AttachPoint*, UprobeTarget> out;
  // uprobe and uretprobe on one binary read its symbols once.
  std::map<std::string, std::pair<std::optional<std::vector<FunctionSymbol>>, std::string>> read;
  for (const ast::Probe& probe : program.probes)
    for (const ast::AttachPoint& ap : probe.attachPoints) {
      if (!isUserProbe(ap.kind)) continue;
      UprobeTarget target;
      target.binary = findBinary(ap.target);
      auto cached = read.find(target.binary);
      if (cached == read.end()) {
        std::string error;
        auto symbols = readFunctionSymbols(target.binary, error);
        cached = read.emplace(target.binary, std::make_pair(std::move(symbols), error)).first;
      }
      const auto& symbols = cached->second.first;
      const std::string& error = cached->second.second;
      if (!symbols) {
        std::string hint = error.find("Permission") != std::string::npos
                               ? "dptrace needs to read the binary: run it as root"
                               : "give the path of a binary or library, e.g. uprobe:/usr/bin/bash:readline";
        diags.error(binaryRange(ap), "cannot read '" + ap.target + "': " + error, hint);
        continue;
      }
      if (ap.offset) {
        out[&ap] = target;
        continue;
      }
      if (symbols->empty()) {
        diags.error(binaryRange(ap), "'" + ap.target + "' has no symbol table (it was stripped)",
                    std::string("probe by offset, e.g. ") + probeKindName(ap.kind) + ":" + ap.target + ":0x1139, or use a build with symbols");
        continue;
      }
      bool wildcard = ap.function.find_first_of("*?") != std::string::npos;
      for (const FunctionSymbol& s : *symbols)
        if (wildcard ? wildcardMatch(ap.function, s.name) : s.name == ap.function) target.functions.push_back(s.name);
      if (target.functions.empty() && !wildcard) {
        std::string dwarfError;
        auto signature = readDwarfSignature(target.binary, ap.function, dwarfError);
        if (signature && !signature->outOfLine) {
          diags.error(functionRange(ap), "'" + ap.function + "' is inlined into its callers in '" + ap.target +
                                    "': there is no function to probe",
                      "probe what it calls: the PMD's burst function (" + std::string(probeKindName(ap.kind)) + ":LIB:SYMBOL or " + std::string(probeKindName(ap.kind)) +
                          ":LIB:0xOFFSET) or rte_eth_call_rx_callbacks, or build with -fno-inline or -O0");
          continue;
        }
      }
      if (target.functions.empty()) {
        std::vector<std::string> names;
        for (const FunctionSymbol& s : *symbols) names.push_back(s.name);
        std::string guess = wildcard ? "" : closestMatch(ap.function, names);
        diags.error(functionRange(ap),
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
