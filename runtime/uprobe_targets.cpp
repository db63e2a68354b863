#include "uprobe_targets.h"

#include <elf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>

#include "breakpoint_hazard.h"
#include "elf_symbols.h"
#include "indirect_functions.h"
#include "sema/dwarf_signatures.h"
#include "suggest.h"
#include "uprobe_multi.h"

namespace dptrace {

namespace {

// Whether a 64-bit ELF file ends before its section headers: a truncated copy,
// whose symbols are unread for that reason, not because it was stripped.
bool sectionHeadersCut(const std::string& path) {
  Elf64_Ehdr h{};
  std::ifstream in(path, std::ios::binary);
  struct stat st{};
  if (!in.read(reinterpret_cast<char*>(&h), sizeof h) || stat(path.c_str(), &st) != 0) return false;
  if (std::memcmp(h.e_ident, ELFMAG, SELFMAG) != 0 || h.e_ident[EI_CLASS] != ELFCLASS64 || h.e_shoff == 0) return false;
  return h.e_shoff + static_cast<uint64_t>(h.e_shnum) * h.e_shentsize > static_cast<uint64_t>(st.st_size);
}

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


// FUNC+OFFSET must land inside FUNC, on the first byte of an instruction: a
// breakpoint in the middle of one corrupts the traced process.
// The file offset of every function of a binary, read once for all its probes.
using FileOffsets = std::map<std::string, uint64_t>;

void checkFunctionOffset(const ast::AttachPoint& ap, const std::string& binary, const FunctionSymbol& function,
                         uint64_t offset, const FileOffsets& fileOffsets, Diagnostics& diags,
                         const InstructionStarts& instructionStarts) {
  if (offset >= function.size) {
    diags.error(functionRange(ap), "offset " + std::to_string(offset) + " is past the end of '" + function.name + "' (" +
                                       std::to_string(function.size) + " bytes)",
                "an offset into a function is from 0 to its size - 1");
    return;
  }
  std::string why = "cannot read its code";
  auto at = fileOffsets.find(function.name);
  std::optional<std::vector<uint64_t>> starts;
  if (at != fileOffsets.end()) {
    std::vector<uint8_t> code(static_cast<size_t>(function.size));
    std::ifstream in(binary, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(at->second));
    if (in.read(reinterpret_cast<char*>(code.data()), static_cast<std::streamsize>(code.size())))
      starts = instructionStarts(code, why);
  }
  if (!starts) {
    diags.error(functionRange(ap), "cannot check that offset " + std::to_string(offset) + " of '" + function.name +
                                       "' starts an instruction: " + why,
                "probe the function itself, or by file offset (uprobe:BIN:0x...)");
    return;
  }
  if (std::find(starts->begin(), starts->end(), offset) != starts->end()) return;
  auto next = std::upper_bound(starts->begin(), starts->end(), offset);
  std::string around = "instructions of '" + function.name + "' start at +" + std::to_string(*(next - 1));
  if (next != starts->end()) around += " and +" + std::to_string(*next);
  diags.error(functionRange(ap), "offset " + std::to_string(offset) + " of '" + function.name +
                                     "' is inside an instruction: a breakpoint there would corrupt the process",
              around);
}

// A file offset (uprobe:BIN:0x114a) lands inside some function of the
// binary: it must start one of its instructions too. Without a symbol that
// covers it (a stripped binary), dptrace cannot tell, and says so.
void checkFileOffset(const ast::AttachPoint& ap, const std::string& binary, const std::vector<FunctionSymbol>& symbols,
                     const FileOffsets& fileOffsets, Diagnostics& diags, const InstructionStarts& instructionStarts) {
  uint64_t offset = *ap.offset;
  for (const FunctionSymbol& s : symbols) {
    auto at = fileOffsets.find(s.name);
    // An indirect function's offset is its code's, but its size its resolver's: no measure of that code.
    if (s.indirect || at == fileOffsets.end() || offset < at->second || offset >= at->second + s.size) continue;
    if (offset == at->second) return;  // a function's entry
    return checkFunctionOffset(ap, binary, s, offset - at->second, fileOffsets, diags, instructionStarts);
  }
  diags.warning(functionRange(ap), std::string("no function of '") + ap.target + "' covers " + hexNumber(offset) +
                                       ": dptrace cannot check that it starts an instruction",
                "a breakpoint inside an instruction corrupts the process: give the offset of an instruction "
                "(objdump -d) or of a function's entry");
}

// A function without an out-of-line copy: probed at its inlined calls when
// DWARF has them (entry only), or for DPDK's burst functions at the PMD
// functions of the traced process. true: resolved into `target`; false:
// an error was reported; nullopt: neither applies (the usual "no function").
std::optional<bool> inlinedOrFastPath(const ast::AttachPoint& ap, const ImportedTypes& imported, bool process,
                                      const std::vector<FunctionSymbol>& symbols, const FileOffsets& fileOffsets,
                                      UprobeTarget& target, Diagnostics& diags, const InstructionStarts& instructionStarts) {
  auto sites = imported.inlinedSites.find(ap.target + ":" + ap.function);
  bool inlined = sites != imported.inlinedSites.end();  // DWARF knows it only inlined
  FastPath fastPath = fastPathOf(ap.function);
  std::string kind = probeKindName(ap.kind);
  if (ap.kind == ProbeKind::Uprobe && inlined && !sites->second.empty()) {
    for (const InlinedSite& site : sites->second)
      if (!site.unknownEntry.empty()) {
        diags.error(functionRange(ap), "'" + ap.function + "' is inlined into " + site.caller + "() at " + hexNumber(site.address) +
                                           ", but " + site.unknownEntry + ": a probe there could miss calls or count others",
                    fastPath != FastPath::None
                        ? "give the process with -p PID or -c CMD: dptrace then attaches through its rte_eth_fp_ops"
                        : "build it with gcc (which gives the entry), or with -fno-inline so that it has a copy of its own");
        return false;
      }
    for (const InlinedSite& site : sites->second) {
      std::optional<uint64_t> offset = codeFileOffset(target.binary, site.address);
      if (!offset) {
        diags.error(functionRange(ap), "the inlined call of '" + ap.function + "' at " + hexNumber(site.address) + " in " +
                                           site.caller + "() is outside the code of '" + ap.target + "'");
        return false;
      }
      if (BreakpointHazard hazard = breakpointHazard(target.binary, *offset)) {
        diags.error(functionRange(ap), "cannot probe the inlined call of '" + ap.function + "' at " + hexNumber(site.address) +
                                           " in " + site.caller + "(): " + hazard.reason,
                    "probe a function that calls it");
        return false;
      }
      // The entry DWARF gives must start an instruction of its caller.
      for (const FunctionSymbol& f : symbols)
        if (site.address > f.address && site.address < f.address + f.size) {
          size_t before = diags.errorCount();
          checkFunctionOffset(ap, target.binary, f, site.address - f.address, fileOffsets, diags, instructionStarts);
          if (diags.errorCount() > before) return false;
        }
      target.inlined.push_back(site);
      target.inlinedOffsets.push_back(*offset);
    }
    return true;
  }
  if (fastPath != FastPath::None && process) {
    target.fastPath = fastPath;
    return true;
  }
  std::string through = "dptrace can attach to the PMD burst function each started port uses instead, through the "
                        "application's rte_eth_fp_ops: give the running process with -p PID, or start it with -c CMD";
  if (ap.kind == ProbeKind::Uretprobe && inlined) {
    diags.error(functionRange(ap), "'" + ap.function + "' is inlined into its callers in '" + ap.target +
                                       "': an inlined call has no return for a uretprobe to catch",
                fastPath != FastPath::None ? through
                                           : "probe the entry of its inlined calls (uprobe:" + ap.target + ":" + ap.function +
                                                 "), or a function it returns to");
    return false;
  }
  if (fastPath != FastPath::None) {
    diags.error(functionRange(ap), "'" + ap.target + "' has no function '" + ap.function + "' to attach to: DPDK declares it "
                                       "static inline, and " + (inlined ? "DWARF shows no inlined call of it"
                                                                        : "there is no DWARF that shows its inlined calls"),
                through);
    return false;
  }
  if (inlined) {
    diags.error(functionRange(ap), "'" + ap.function + "' is inlined into its callers in '" + ap.target +
                                       "', and DWARF shows no call of it with code of its own",
                "probe a function that calls it, or build with -fno-inline or -O0");
    return false;
  }
  return std::nullopt;
}

// What one attach point's functions need said, in one word for all of them:
// indirect functions (IFUNC) and instructions a breakpoint cannot sit on.
struct MatchNotes {
  std::vector<std::string> unresolved;  // indirect functions left out of a wildcard
  std::string why;                      // why the last of them was
  std::vector<std::string> shared;      // "memcpy and memmove": each group once
  std::vector<std::string> hazardous;   // left out of a wildcard: breakpointHazard
  // Each reason once, with the functions it leaves out.
  std::vector<std::pair<std::string, std::vector<std::string>>> hazards;
  bool indirectHazard = false;          // one of them is AVX code an IFUNC picked
  bool failed = false;                  // an error was reported
};

// The names of `list` for a message: "a, b, c, d, e, and 2 more". At most
// `shown` of them; `last` joins the last two when all are shown ("a, b and
// c"), and then also the count of the rest ("a, b, c and 2 more").
std::string listed(const std::vector<std::string>& list, const std::string& separator = ", ", size_t shown = 5,
                   const std::string& last = "") {
  std::string out;
  for (size_t i = 0; i < list.size() && i < shown; ++i)
    out += (i == 0 ? "" : i + 1 == list.size() && !last.empty() ? last : separator) + list[i];
  if (list.size() > shown)
    out += (last.empty() ? separator + "and " : last) + std::to_string(list.size() - shown) + " more";
  return out;
}

// What to do about a breakpoint hazard at an IFUNC's code: glibc picks code
// without AVX under GLIBC_TUNABLES (dptrace asks its own glibc, so it needs
// them too).
std::string tunablesHint() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables && std::strstr(tunables, "glibc.cpu.hwcaps"))
    return std::string("the GLIBC_TUNABLES dptrace runs with (") + tunables + ") still pick that code: mask more CPU features there";
  return "glibc picks code without AVX for a process started with GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F,-AVX2,-AVX "
         "(give dptrace the same: it asks its own glibc)";
}

// What to do about a hazard at a function's entry. `avxInIndirect`: an AVX
// instruction in code a resolver picked, which glibc's tunables can avoid.
std::string hazardHint(const ast::AttachPoint& ap, bool avxInIndirect) {
  if (avxInIndirect) return tunablesHint();
  if (ap.kind == ProbeKind::Uretprobe) return "a uretprobe starts at the function's entry: probe the returns of its callers instead";
  return "probe a later instruction of it (FUNC+OFFSET; objdump -d shows them), or its callers";
}

void addOnce(std::vector<std::string>& list, const std::string& item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(item);
}

// Where a probe on the indirect function `s` goes: the code its resolver
// picks on this machine (indirect_functions.h). nullopt when dptrace cannot
// tell: an error for a function named, left out of a wildcard.
std::optional<uint64_t> indirectAddress(const ast::AttachPoint& ap, const std::string& binary, const FunctionSymbol& s,
                                        bool wildcard, MatchNotes& notes, Diagnostics& diags) {
  std::string why;
  std::optional<IndirectCode> code = indirectCode(binary, s.name, why);
  std::string what = "'" + s.name + "' in '" + ap.target + "' is a GNU indirect function (IFUNC): its symbol is the resolver, "
                     "which runs once when a process binds the name, not at each call";
  if (!code && wildcard) {
    notes.unresolved.push_back(s.name);
    notes.why = why;
    return std::nullopt;
  }
  if (!code) {
    diags.error(functionRange(ap), what + "; " + why,
                "probe the code it picks by file offset (gdb's 'info symbol " + s.name + "' in a running process names it), "
                "or by its name where the binary has a symbol for it");
    notes.failed = true;
    return std::nullopt;
  }
  if (ap.offset) {
    std::optional<uint64_t> start = codeFileOffset(binary, code->address);
    diags.error(functionRange(ap), what + ", and an offset into it is not an offset into the code it picks",
                start ? "on this machine its code starts at file offset " + hexNumber(*start) + " (objdump -d --start-address=" +
                            hexNumber(*start) + " shows its instructions): probe uprobe:" + ap.target + ":0x... at one of them"
                      : "probe the code it picks by file offset");
    notes.failed = true;
    return std::nullopt;
  }
  if (!code->sharedWith.empty()) {
    std::vector<std::string> group = code->sharedWith;
    group.push_back(s.name);
    std::sort(group.begin(), group.end());
    addOnce(notes.shared, listed(group, ", ", group.size(), " and "));
  }
  return code->address;
}

// A wildcard that matches several names of one function (strtol, strtoll,
// strtoq and strtoimax are one code in glibc) probes it once per name: each
// call fires every probe, and counts once per name (as in bpftrace).
void warnAliases(const ast::AttachPoint& ap, const UprobeTarget& target, Diagnostics& diags) {
  std::map<uint64_t, std::vector<std::string>> byAddress;
  for (size_t i = 0; i < target.functions.size(); ++i) byAddress[target.addresses[i]].push_back(target.functions[i]);
  std::vector<std::string> groups;
  for (auto& [address, names] : byAddress)
    if (names.size() > 1) {
      std::sort(names.begin(), names.end());
      groups.push_back(listed(names, " = "));
    }
  std::sort(groups.begin(), groups.end());
  if (groups.empty()) return;
  diags.warning(functionRange(ap), "'" + ap.raw + "' matches " + std::to_string(groups.size()) +
                                       (groups.size() == 1 ? " function" : " functions") + " under several names: " +
                                       listed(groups, "; ") + ". Each call fires a probe per name, and counts once under each",
                "narrow the pattern to one name of each");
}

// -p on a process whose glibc masks or prefers other CPU features than
// dptrace's (glibc.cpu.hwcaps of GLIBC_TUNABLES): its resolvers may have
// picked other code than dptrace's did, and a probe on the code dptrace found
// would see none of its calls (-c's command runs with dptrace's environment).
void warnOtherTunables(const ast::AttachPoint& ap, int pid, const std::vector<std::string>& names, Diagnostics& diags) {
  std::optional<std::string> theirs = processHwcaps(std::to_string(pid));
  std::optional<std::string> ours = processHwcaps("self");
  if (!theirs || !ours || *theirs == *ours) return;
  auto with = [](const std::string& t) { return t.empty() ? std::string("no glibc.cpu.hwcaps") : "glibc.cpu.hwcaps=" + t; };
  diags.warning(functionRange(ap), "process " + std::to_string(pid) + "'s glibc runs with " + with(*theirs) + ", and dptrace's with " +
                                       with(*ours) + " (GLIBC_TUNABLES): its glibc may have picked other code than dptrace's for " +
                                       listed(names) + " (indirect functions), and a probe there would count none of its calls",
                theirs->empty() ? "run dptrace without glibc.cpu.hwcaps in GLIBC_TUNABLES, as the process"
                                : "run dptrace with the process's: GLIBC_TUNABLES=glibc.cpu.hwcaps=" + *theirs + " dptrace ...");
}

// The warnings (or the error, when nothing is left) for one attach point's
// functions. `warned`: the groups of shared code said already (once a run).
// false: an error was reported.
bool reportNotes(const ast::AttachPoint& ap, const MatchNotes& notes, bool nothingLeft, std::set<std::string>& warned,
                 Diagnostics& diags) {
  // "at the entry of a and b, REASON; at the entry of c, REASON2"
  std::vector<std::string> reasons;
  for (const auto& [reason, names] : notes.hazards) reasons.push_back("at the entry of " + listed(names, ", ", 3, " and ") + ", " + reason);
  std::string hazardWhy = listed(reasons, "; ");
  if (nothingLeft && (!notes.unresolved.empty() || !notes.hazardous.empty())) {
    std::string why;
    if (!notes.unresolved.empty())
      why += " " + listed(notes.unresolved) + (notes.unresolved.size() == 1 ? " is an indirect function (IFUNC)" : " are indirect functions (IFUNC)") +
             ", whose code dptrace cannot find: " + notes.why + ".";
    if (!notes.hazardous.empty()) why += " " + hazardWhy + ".";
    diags.error(functionRange(ap), "none of the functions '" + ap.function + "' matches in '" + ap.target + "' can be probed:" + why,
                !notes.hazardous.empty() ? hazardHint(ap, notes.indirectHazard)
                : notes.why.find("vDSO") != std::string::npos ? "uprobes reach only code in files"
                                                              : "probe the code they pick by file offset");
    return false;
  }
  if (!notes.unresolved.empty())
    diags.warning(functionRange(ap), "'" + ap.raw + "' leaves out " + std::to_string(notes.unresolved.size()) +
                                         (notes.unresolved.size() == 1 ? " GNU indirect function (IFUNC), whose symbol is a resolver"
                                                                       : " GNU indirect functions (IFUNC), whose symbols are resolvers") +
                                         " run once per process, not at each call: " + listed(notes.unresolved) + ". Why: " + notes.why,
                  notes.why.find("vDSO") != std::string::npos ? "uprobes reach only code in files"
                                                              : "probe the code they pick by file offset, or by name where the binary has symbols for it");
  if (!notes.hazardous.empty())
    diags.warning(functionRange(ap), "'" + ap.raw + "' leaves out " + std::to_string(notes.hazardous.size()) + " of its functions: " +
                                         listed(notes.hazardous) + ". Why: " + hazardWhy,
                  hazardHint(ap, notes.indirectHazard));
  std::vector<std::string> fresh;
  for (const std::string& group : notes.shared)
    if (warned.insert(ap.target + ":" + group).second) fresh.push_back(group);
  if (!fresh.empty())
    diags.warning(functionRange(ap), "on this machine, the resolvers of " + listed(fresh, "; of ") + " in '" + ap.target +
                                         "' pick one code: a probe on one of them fires for calls of the others too",
                  "a uprobe cannot tell them apart; to count one of them, probe the functions that call it");
  return true;
}

}  // namespace

void dropFunctionsLibrariesLack(ast::Program& program, Diagnostics& diags) {
  bool dropped = false;
  for (ast::Probe& probe : program.probes) {
    std::erase_if(probe.attachPoints, [&](const ast::AttachPoint& ap) {
      if (!isUserProbe(ap.kind) || ap.kind == ProbeKind::Usdt || ap.target.find('/') != std::string::npos || ap.function.empty() ||
          ap.function.find_first_of("*?") != std::string::npos)
        return false;
      std::string binary = findBinary(ap.target), error;
      if (binary == ap.target || ap.target.find(".so") != std::string::npos) return false;  // not a short library name
      auto symbols = readFunctionSymbols(binary, error);
      if (!symbols || symbols->empty()) return false;  // said later, with the reason
      std::vector<std::string> names;
      for (const FunctionSymbol& s : *symbols) {
        if (s.name == ap.function) return false;
        names.push_back(s.name);
      }
      std::string where;
      if (std::string libc = findBinary("libc"); libc != binary)
        if (auto inLibc = readFunctionSymbols(libc, error))
          for (const FunctionSymbol& s : *inLibc)
            if (s.name == ap.function) where = "uprobe:libc:" + ap.function;
      std::string guess = closestMatch(ap.function, names);
      diags.warning(functionRange(ap), "'" + binary + "' has no function '" + ap.function + "': '" + ap.raw +
                                           "' is left out, as bpftrace leaves it out",
                    !where.empty()   ? "libc has it (glibc 2.34 moved libpthread's functions there): " + where
                    : !guess.empty() ? "did you mean '" + guess + "'?"
                                     : "dptrace -l '" + std::string(probeKindName(ap.kind)) + ":" + ap.target + ":*' lists its functions");
      dropped = true;
      return true;
    });
  }
  if (!dropped) return;
  std::erase_if(program.probes, [](const ast::Probe& p) { return p.attachPoints.empty(); });
  if (program.probes.empty()) diags.errorUnlocated("no probes to attach: every attach point was left out");
}

std::map<const ast::AttachPoint*, UprobeTarget> resolveUprobeTargets(const ast::Program& program, const ImportedTypes& imported,
                                                                     std::optional<int> pid, bool command, Diagnostics& diags,
                                                                     const InstructionStarts& instructionStarts) {
  bool process = pid || command;  // DPDK's burst functions can be found through the process
  std::map<const ast::AttachPoint*, UprobeTarget> out;
  // uprobe and uretprobe on one binary read its symbols once.
  std::map<std::string, FileOffsets> offsets;  // read only for offset probes
  auto fileOffsetsOf = [&](const std::string& binary) -> const FileOffsets& {
    auto it = offsets.find(binary);
    if (it == offsets.end()) it = offsets.emplace(binary, functionFileOffsets(binary)).first;
    return it->second;
  };
  std::map<std::string, std::pair<std::optional<std::vector<FunctionSymbol>>, std::string>> read;
  std::map<std::string, std::ifstream> code;  // opened once for the hazard checks of a wildcard's functions
  auto hazardAt = [&](const std::string& binary, uint64_t fileOffset) {
    auto it = code.find(binary);
    if (it == code.end()) it = code.emplace(binary, std::ifstream(binary, std::ios::binary)).first;
    return breakpointHazard(it->second, fileOffset);
  };
  std::set<std::string> warnedShared;  // groups of indirect functions with one code, said once
  std::vector<std::string> indirectProbed;   // indirect functions probed at the code dptrace's glibc picks
  const ast::AttachPoint* firstIndirect = nullptr;
  for (const ast::Probe& probe : program.probes)
    for (const ast::AttachPoint& ap : probe.attachPoints) {
      if (!isUserProbe(ap.kind)) continue;
      UprobeTarget target;
      target.binary = findBinary(ap.target);
      if (ap.kind == ProbeKind::Usdt) {  // the type checker found the probes (usdt.h)
        auto sites = imported.inlinedSites.find(ap.target + ":" + ap.function);
        if (sites == imported.inlinedSites.end()) continue;  // reported there
        for (const InlinedSite& site : sites->second) {
          std::optional<uint64_t> offset = codeFileOffset(target.binary, site.address);
          if (!offset) {
            diags.error(functionRange(ap), "the USDT probe " + site.caller + " at " + hexNumber(site.address) +
                                               " is outside the code of '" + ap.target + "'");
            break;
          }
          target.inlined.push_back(site);
          target.inlinedOffsets.push_back(*offset);
        }
        out[&ap] = target;
        continue;
      }
      auto cached = read.find(target.binary);
      if (cached == read.end()) {
        std::string error;
        auto symbols = readFunctionSymbols(target.binary, error);
        cached = read.emplace(target.binary, std::make_pair(std::move(symbols), error)).first;
      }
      const auto& symbols = cached->second.first;
      const std::string& error = cached->second.second;
      if (!symbols) {
        std::string hint = error.find("Permission") != std::string::npos ? "dptrace needs to read the binary: run it as root"
                           : error.find("built for") != std::string::npos ? "probe the x86-64 build of it, the one this machine runs"
                                                                           : "give the path of a binary or library, e.g. uprobe:/usr/bin/bash:readline";
        diags.error(binaryRange(ap), "cannot read '" + ap.target + "': " + error, hint);
        continue;
      }
      if (ap.offset && ap.function.empty()) {  // by file offset
        size_t before = diags.errorCount();
        checkFileOffset(ap, target.binary, *symbols, fileOffsetsOf(target.binary), diags, instructionStarts);
        if (diags.errorCount() > before) continue;
        if (BreakpointHazard hazard = breakpointHazard(target.binary, *ap.offset)) {
          diags.error(functionRange(ap), "cannot probe " + hexNumber(*ap.offset) + " of '" + ap.target + "': " + hazard.reason,
                      "probe another instruction (objdump -d shows them)");
          continue;
        }
        out[&ap] = target;
        continue;
      }
      bool wildcard = ap.function.find_first_of("*?") != std::string::npos;
      MatchNotes notes;
      for (const FunctionSymbol& s : *symbols) {
        if (notes.failed || !(wildcard ? wildcardMatch(ap.function, s.name) : s.name == ap.function)) continue;
        std::optional<uint64_t> address = s.indirect ? indirectAddress(ap, target.binary, s, wildcard, notes, diags) : s.address;
        if (!address) continue;
        // functionFileOffsets knows an indirect function at the code it picks, as `address` does.
        const FileOffsets& fileOffsets = fileOffsetsOf(target.binary);
        auto at = fileOffsets.find(s.name);
        // An offset is checked to start an instruction first (below).
        BreakpointHazard hazard = at == fileOffsets.end() || ap.offset ? BreakpointHazard{} : hazardAt(target.binary, at->second);
        if (hazard && wildcard) {
          notes.hazardous.push_back(s.name);
          auto same = std::find_if(notes.hazards.begin(), notes.hazards.end(), [&](const auto& h) { return h.first == hazard.reason; });
          if (same == notes.hazards.end()) notes.hazards.push_back({hazard.reason, {s.name}});
          else same->second.push_back(s.name);
          notes.indirectHazard = notes.indirectHazard || (s.indirect && hazard.avx);
          continue;
        }
        if (hazard) {
          diags.error(functionRange(ap), "cannot probe '" + s.name + "'" + (s.indirect ? " (the code its resolver picks on this machine)" : "") +
                                             ": " + hazard.reason,
                      hazardHint(ap, s.indirect && hazard.avx));
          notes.failed = true;
          continue;
        }
        target.functions.push_back(s.name);
        target.addresses.push_back(*address + ap.offset.value_or(0));
        if (s.indirect) {
          addOnce(indirectProbed, s.name);
          if (firstIndirect == nullptr) firstIndirect = &ap;
        }
      }
      if (notes.failed) continue;
      if (!reportNotes(ap, notes, target.functions.empty(), warnedShared, diags)) continue;
      warnAliases(ap, target, diags);
      if (target.functions.empty() && !wildcard && !ap.offset) {
        // No copy of its own: inlined calls (DWARF), or DPDK's burst functions through the process.
        if (std::optional<bool> found = inlinedOrFastPath(ap, imported, process, *symbols, fileOffsetsOf(target.binary), target,
                                                                 diags, instructionStarts)) {
          if (*found) out[&ap] = target;
          continue;
        }
      }
      if (symbols->empty() && sectionHeadersCut(target.binary)) {
        diags.error(binaryRange(ap), "'" + ap.target + "' is cut short: the file ends before its section headers, so no function '" +
                                         ap.function + "' can be found in it",
                    "a copy that did not finish, or a damaged file: use the whole binary");
        continue;
      }
      if (symbols->empty()) {
        // A near miss of DPDK's burst functions, which need no symbol.
        std::string guess = usesDpdkEthdev(target.binary) ? closestMatch(ap.function, {"rte_eth_rx_burst", "rte_eth_tx_burst"}) : "";
        diags.error(wildcard || guess.empty() ? binaryRange(ap) : functionRange(ap),
                    "'" + ap.target + "' has no symbol table (it was stripped): no function '" + ap.function + "' to find",
                    !guess.empty() ? "did you mean '" + guess + "'? (with -p or -c it needs no symbol)"
                                   : "probe by file offset (objdump -d shows where its code is), or use a build with symbols");
        continue;
      }
      if (target.functions.empty()) {
        std::vector<std::string> names;
        for (const FunctionSymbol& s : *symbols) names.push_back(s.name);
        std::string guess = wildcard ? "" : closestMatch(ap.function, names);
        diags.error(functionRange(ap),
                    std::string(wildcard ? "no function of '" : "no function '") + (wildcard ? ap.target + "' matches '" + ap.function + "'"
                                                                                          : ap.function + "' in '" + ap.target + "'"),
                    guess.empty() ? "its functions are listed by: dptrace -l '" + std::string(probeKindName(ap.kind)) + ":" + ap.target + ":*'"
                                  : "did you mean '" + guess + "'?");
        continue;
      }
      if (ap.offset) {  // FUNC+OFFSET: inside it, at an instruction, and one a breakpoint can sit on
        size_t before = diags.errorCount();
        for (const FunctionSymbol& s : *symbols)
          if (s.name == ap.function)
            checkFunctionOffset(ap, target.binary, s, *ap.offset, fileOffsetsOf(target.binary), diags, instructionStarts);
        const FileOffsets& fileOffsets = fileOffsetsOf(target.binary);
        auto at = fileOffsets.find(ap.function);
        if (diags.errorCount() > before) continue;
        if (BreakpointHazard hazard = at == fileOffsets.end() ? BreakpointHazard{} : breakpointHazard(target.binary, at->second + *ap.offset)) {
          diags.error(functionRange(ap), "cannot probe '" + ap.function + "+" + std::to_string(*ap.offset) + "': " + hazard.reason,
                      "probe another instruction of it (objdump -d shows them)");
          continue;
        }
      }
      out[&ap] = target;
    }
  if (pid && firstIndirect) warnOtherTunables(*firstIndirect, *pid, indirectProbed, diags);
  return out;
}

}  // namespace dptrace
