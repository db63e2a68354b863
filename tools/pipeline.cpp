// The pipeline, stage by stage:
//
//   parse -> resolve attach points -> check names -> import types (tracepoint
//   formats; BTF / DWARF / C via Clang to come) -> type check -> lower to LLVM
//   IR -> BPF object (+ host code for afxdp) -> load & attach -> run & print
//
// Each stage is one pass over the AST that reports to one Diagnostics sink;
// the run stops after the first stage with errors. `--emit STAGE` stops after
// that stage and prints its result. Stages not built yet say so.
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "ast_printer.h"
#include "codegen_module.h"
#include "object_cache.h"
#include "output.h"
#include "listing.h"
#include "runner.h"
#include "uprobe_targets.h"
#include "interfaces.h"
#include "check_names.h"
#include "diagnostics.h"
#include "options.h"
#include "parse.h"
#include "resolve_attach_points.h"
#include "suggest.h"
#include "sema/c_import.h"
#include "sema/kernel_btf.h"
#include "sema/type_check.h"

namespace dptrace {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitScript = 1;
constexpr int kExitSystem = 2;

bool colorOn() { return isatty(STDERR_FILENO) && std::getenv("NO_COLOR") == nullptr; }

void fail(const std::string& message, const std::string& hint = {}) {
  std::cerr << "dptrace: error: " << message << "\n";
  if (!hint.empty()) std::cerr << "hint: " << hint << "\n";
}

// Whether two paths name one file (which need not exist yet).
bool sameFile(const std::optional<std::string>& a, const std::optional<std::string>& b) {
  if (!a || !b) return false;
  std::error_code ec;
  if (std::filesystem::equivalent(*a, *b, ec)) return true;
  auto normal = [](const std::string& given) {  // symlinks followed, dangling ones too (they would be written through)
    std::error_code e;
    std::filesystem::path p = std::filesystem::absolute(given, e);
    for (int hops = 0; hops < 40 && std::filesystem::is_symlink(p, e); ++hops) {
      std::filesystem::path target = std::filesystem::read_symlink(p, e);
      if (e) break;
      p = target.is_absolute() ? target : p.parent_path() / target;
    }
    return std::filesystem::weakly_canonical(p, e).lexically_normal();
  };
  return normal(*a) == normal(*b);
}

// Options whose stage this build does not have yet: refused, never ignored.
std::optional<std::string> unavailableOption(const Options& o) {
  struct Rule {
    bool given;
    const char* option;
    const char* stage;
  };
  const Rule rules[] = {
      {o.pid.has_value() && o.command.has_value(), "-p together with -c", "one target process, not two"},
      {o.emit == "obj" && !o.outputFile, "--emit obj", "-o FILE to write the object to"},
      {o.pcapOut.has_value() && !o.pcap.has_value(), "--pcap-out", "--pcap FILE: it writes the replayed packets"},
      {o.interval.has_value() && !o.maps.has_value(), "--interval", "--maps DIR: it sets how often pinned maps print"},
      {o.maps.has_value() && (o.program.has_value() || !o.script.empty()), "--maps",
       "no script: it prints pinned maps and loads nothing (run the script with --pin DIR)"},
      {o.pin.has_value() && o.pcap.has_value(), "--pin with --pcap", "an interface: a replay's maps are its own"},
      {o.maps.has_value() && (o.pin || o.capture || o.pcap || o.pcapOut || o.pid || o.command || o.metrics), "--maps",
       "no other run option (--pin, --capture, --pcap, -p, -c, --metrics): it only prints what another run pinned"},
      {o.metrics.has_value() && o.pcap.has_value(), "--metrics with --pcap", "a live run: a replay ends before a scrape"},
      {(o.exportBatch || o.exportInterval || o.exportQueue || !o.exportHeaders.empty()) && !o.exportUrl,
       "--export-batch, --export-interval, --export-queue or --export-header",
       "--export URL: they set how its batches are made"},
      {o.exportUrl.has_value() && o.maps.has_value(), "--export with --maps", "a run of a script (pinned maps print locally)"},
      {(o.exportUrl || o.metrics) && (o.emit || o.list || o.debug), "--export or --metrics",
       "a run of the script (--emit, -l and -d run nothing)"},
      {sameFile(o.capture, o.pcap) || sameFile(o.capture, o.pcapOut) || sameFile(o.pcap, o.pcapOut),
       "each of --capture, --pcap and --pcap-out", "a file of its own: one written over another is lost"},
      {o.pcap.has_value() && (o.pid.has_value() || o.command.has_value()), "--pcap with -p or -c",
       "no process: a capture replay traces no process"},
  };
  for (const Rule& r : rules)
    if (r.given) {
      std::string need = r.stage;
      if (need.rfind("the ", 0) == 0) return std::string(r.option) + " needs " + need + ", which this build of dptrace does not have yet";
      return std::string(r.option) + " needs " + need;
    }
  return std::nullopt;
}

std::optional<SourceFile> loadScript(const Options& o) {
  if (o.program) return SourceFile("<stdin>", *o.program);  // the words after it are $1, $2, ...
  if (o.script.empty()) {
    fail("no program given", "dptrace -e 'BEGIN { printf(\"hello\\n\"); }' or dptrace script.dpt (see --help)");
    return std::nullopt;
  }
  std::stringstream text;
  if (o.script == "-") {
    text << std::cin.rdbuf();
    return SourceFile("<stdin>", text.str());
  }
  std::error_code ec;
  if (std::filesystem::is_directory(o.script, ec)) {  // an ifstream opens one, and reads nothing
    fail("cannot read script '" + o.script + "': it is a directory", "give a script file, or the script with -e");
    return std::nullopt;
  }
  std::ifstream in(o.script, std::ios::binary);
  if (!in) {
    fail("cannot read script '" + o.script + "': " + std::strerror(errno));
    return std::nullopt;
  }
  text << in.rdbuf();
  return SourceFile(o.script, text.str());
}

class StageTimer {
public:
  explicit StageTimer(bool verbose) : verbose_(verbose) {}
  void done(const char* stage) {
    auto now = std::chrono::steady_clock::now();
    if (verbose_)
      std::cerr << "dptrace: " << stage << ": "
                << std::chrono::duration<double, std::milli>(now - start_).count() << " ms\n";
    start_ = now;
  }

private:
  bool verbose_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// Writes what `print` produces to -o FILE, or to stdout.
template <typename Print>
int emitTo(const Options& o, Print print) {
  if (!o.outputFile) {
    print(std::cout);
    return std::cout.flush() ? kExitOk : kExitSystem;
  }
  std::ofstream out(*o.outputFile);
  if (!out) {
    fail("cannot write '" + *o.outputFile + "': " + std::strerror(errno));
    return kExitScript;
  }
  print(out);
  return out.flush() ? kExitOk : kExitSystem;
}

// A --btf-module that no probe names is most likely a typo of one that does
// (its types are still searched for the script's struct names).
void warnUnusedBtfModules(const Options& o, const ast::Program& program) {
  std::vector<std::string> named;
  for (const ast::Probe& probe : program.probes)
    for (const ast::AttachPoint& ap : probe.attachPoints)
      if (isBtfProbe(ap.kind) && !ap.target.empty()) named.push_back(ap.target);
  for (const std::string& m : o.btfModules) {
    std::string name = m.substr(0, m.find('='));
    if (std::find(named.begin(), named.end(), name) != named.end()) continue;
    std::string guess = closestMatch(name, named);
    std::cerr << "dptrace: warning: --btf-module " << name << ": no probe of the script is on module " << name
              << (guess.empty() ? std::string() : "; did you mean --btf-module " + guess + "=...?") << "\n";
  }
}

// A script whose only imported types are BTF's (no C text, no DWARF, no
// tracepoint formats): its cached object can be found before any type is
// read, so a warm start parses no BTF (libbpf still does, to load it).
bool typedByBtfOnly(const ast::Program& program) {
  if (!program.cDefinitions.empty()) return false;
  bool btf = false;
  for (const ast::Probe& probe : program.probes)
    for (const ast::AttachPoint& ap : probe.attachPoints) {
      if (isBtfProbe(ap.kind)) btf = true;
      else if (ap.kind != ProbeKind::Begin && ap.kind != ProbeKind::End && ap.kind != ProbeKind::Interval) return false;
    }
  return btf;
}

// --btf FILE and --btf-module NAME=FILE, each read now: a file that is not
// BTF is the command line's error, whatever the script holds.
std::shared_ptr<KernelBtf> readBtfOptions(const Options& o) {
  BtfSources sources;
  if (o.btf) sources.vmlinux = *o.btf;
  for (const std::string& m : o.btfModules) {
    size_t eq = m.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == m.size()) {
      fail("--btf-module takes NAME=FILE, not '" + m + "'", "e.g. --btf-module gtp5g=gtp5g.btf");
      return nullptr;
    }
    std::string name = m.substr(0, eq);
    if (name == "vmlinux") {
      fail("--btf-module vmlinux: the kernel's own BTF is given with --btf FILE");
      return nullptr;
    }
    if (!sources.modules.emplace(name, m.substr(eq + 1)).second) {
      fail("--btf-module " + name + " is given twice", "give each module's BTF once");
      return nullptr;
    }
  }
  auto kernel = std::make_shared<KernelBtf>(sources);
  std::string error;
  if (o.btf && !kernel->types("", error)) {
    fail(error, "--btf takes a BTF file: /sys/kernel/btf/vmlinux of the target kernel, or a vmlinux with a .BTF section");
    return nullptr;
  }
  for (const auto& [module, file] : sources.modules)
    if (!kernel->types(module, error)) {
      fail(error, "--btf-module takes a module's split BTF over the kernel's: pahole --btf_base "
                  "/sys/kernel/btf/vmlinux --btf_encode_detached=FILE MODULE.ko");
      return nullptr;
    }
  return kernel;
}

}  // namespace

// The positional parameters, which the parser wrote into the program.
std::string argsKey(const std::vector<std::string>& args) {
  std::string key = "\nargs " + std::to_string(args.size());
  for (const std::string& a : args) key += "\n" + std::to_string(a.size()) + ":" + a;
  return key;
}

std::string bootId() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

// Whether -c starts a command: cpid is refused without one, so a script
// type-checked with -c is not reused without it.
std::string commandKey(const Options& o) {
  return std::string(o.command ? "\ncommand" : "") + (o.unsafe ? "\nunsafe" : "") + "\nstrlen " + std::to_string(o.strLength);
}

// Everything a compiled object depends on besides dptrace's own build: the
// script, the options, the interfaces and the probed binaries (their DWARF
// types), and the kernel (tracepoint formats).
std::string cacheKey(const SourceFile& script, const ast::Program& program, const CodegenOptions& codegen,
                     const ImportedTypes& imported) {
  std::ostringstream key;
  utsname kernel{};
  uname(&kernel);
  key << "dptrace " << DPTRACE_VERSION << '\n'
      << fileIdentity(std::filesystem::read_symlink("/proc/self/exe").string()) << '\n'
      << fileIdentity(codegenModulePath(needsHostTarget(program))) << '\n'
      << kernel.release << ' ' << kernel.version << '\n'
      << "boot " << bootId() << '\n'  // kaddr()'s addresses move at each boot (KASLR)
      << "map-size " << codegen.mapSize << " pcap " << codegen.pcap << " helper-checks " << codegen.helperChecks
      << " demangle " << codegen.demangle << " hash-maps " << codegen.hashMaps << " pinned " << codegen.pinned << '\n';
  for (const auto& [name, index] : codegen.interfaces) key << "interface " << name << ' ' << index << '\n';
  for (const ast::Probe& probe : program.probes)
    for (const ast::AttachPoint& ap : probe.attachPoints)
      if (auto it = codegen.uprobes.find(&ap); it != codegen.uprobes.end()) {
        key << "uprobe " << ap.raw << " -> " << fileIdentity(it->second.binary);
        for (const std::string& f : it->second.functions) key << ' ' << f;
        for (uint64_t offset : it->second.inlinedOffsets) key << " inlined@" << offset;
        if (it->second.fastPath != FastPath::None) key << " rte_eth_fp_ops";
        key << '\n';
      }
  // The tracepoints the script reads, as they are now: what each pattern
  // matched (a module loaded since adds some) and every format's layout.
  if (const char* fixture = std::getenv("DPTRACE_TRACEFS")) key << "tracefs " << fixture << '\n';
  for (const auto& [pattern, matches] : imported.tracepointMatches) {
    key << "tracepoints " << pattern << " ->";
    for (const std::string& m : matches) key << ' ' << m;
    key << '\n';
  }
  for (const auto& [name, format] : imported.tracepoints) {
    key << "format " << name << ' ' << format.id;
    for (const TracepointField& f : format.fields) key << ' ' << f.declaration << '@' << f.offset << '+' << f.size;
    key << '\n';
  }
  // The kernel types it was compiled against: --btf and --btf-module files,
  // and the BTF of each loaded module a probe names.
  for (const ast::Probe& probe : program.probes)
    for (const ast::AttachPoint& ap : probe.attachPoints)
      if (isBtfProbe(ap.kind) && !ap.target.empty())
        key << "module " << ap.target << ' ' << fileIdentity("/sys/kernel/btf/" + ap.target) << '\n';
  if (imported.kernel) {
    const BtfSources& btf = imported.kernel->sources();
    if (!btf.vmlinux.empty()) key << "btf " << fileIdentity(std::filesystem::absolute(btf.vmlinux).string()) << '\n';
    for (const auto& [module, file] : btf.modules)
      key << "btf-module " << module << ' ' << fileIdentity(std::filesystem::absolute(file).string()) << '\n';
  }
  key << "script " << script.name() << '\n' << script.text();
  return key.str();
}

// The run's output (-f, -o FILE, into `file`), or null when FILE cannot be written (said).
std::unique_ptr<Output> openOutput(const Options& o, std::ofstream& file) {
  if (o.outputFile) {
    file.open(*o.outputFile);
    if (!file) {
      fail("cannot write '" + *o.outputFile + "': " + std::strerror(errno));
      return nullptr;
    }
  }
  std::ostream& sink = o.outputFile ? static_cast<std::ostream&>(file) : std::cout;
  return o.format == "json" ? makeJsonOutput(sink) : makeTextOutput(sink, std::cerr);
}

// Runs a compiled script with the options of the command line.
int runCompiled(const Options& o, const CompiledScript& compiled, const std::map<std::string, uint32_t>& interfaces,
                Diagnostics& diags) {
  std::ofstream file;
  std::unique_ptr<Output> output = openOutput(o, file);
  if (!output) return kExitScript;
  RunOptions run;
  run.verbose = o.verbose;
  run.quiet = o.quiet;
  run.noWarnings = o.noWarnings;
  run.pid = o.pid;
  run.command = o.command;
  run.xdpMode = o.xdpMode.value_or("auto");
  run.interfaces = interfaces;
  run.pcap = o.pcap;
  run.pcapOut = o.pcapOut;
  run.capture = o.capture;
  run.pin = o.pin;
  if (o.metrics) {
    std::string error;
    run.metrics = parseMetricsAddress(*o.metrics, error);
    if (!run.metrics) {
      fail("--metrics: " + error, "--metrics 9100 (127.0.0.1:9100), or --metrics 0.0.0.0:9100 for every address");
      return kExitScript;
    }
  }
  if (o.exportUrl) {
    ExportConfig e;
    e.url = *o.exportUrl;
    e.batch = o.exportBatch.value_or(e.batch);
    e.intervalMs = o.exportInterval.value_or(e.intervalMs);
    e.queue = o.exportQueue.value_or(e.queue);
    e.headers = o.exportHeaders;
    run.exportTo = e;
  }
  run.mapSize = o.mapSize.value_or(CodegenOptions().mapSize);
  run.demangle = o.demangle;
  run.userSymbols = o.userSymbols;
  run.catBytes = o.catBytes;
  // --export formats each record twice (the local output and the export): a
  // ring of 8 MiB rides out bursts the loop drains more slowly than they come.
  if (o.exportUrl && !o.eventPages) run.eventBytes = kExportRingBytes;
  if (o.eventPages) {  // bpftrace's per-CPU pages, as one ring for every CPU (a power of 2)
    uint64_t bytes = uint64_t{*o.eventPages} * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) *
                     static_cast<uint64_t>(std::max(1L, sysconf(_SC_NPROCESSORS_CONF)));
    run.eventBytes = static_cast<uint32_t>(std::min<uint64_t>(std::bit_ceil(bytes), 1u << 30));
  }
  // bpftrace's limits on what one run attaches and loads.
  size_t attachPoints = 0;
  // A wildcard's uprobes that share one program (and one uprobe_multi link)
  // count once: what the limit guards, a program and a link each, they do not cost.
  for (const ProgramInfo& p : compiled.programs) attachPoints += p.symbols.empty() ? p.attachPoints : 1;
  if (attachPoints > o.maxProbes) {
    fail("the script attaches " + std::to_string(attachPoints) + " probes, more than BPFTRACE_MAX_PROBES (" +
             std::to_string(o.maxProbes) + ")",
         "narrow its wildcards, or raise BPFTRACE_MAX_PROBES (each probe costs the traced code time, as in bpftrace)");
    return kExitScript;
  }
  if (compiled.programs.size() > o.maxPrograms) {
    fail("the script makes " + std::to_string(compiled.programs.size()) + " BPF programs, more than BPFTRACE_MAX_BPF_PROGS (" +
             std::to_string(o.maxPrograms) + ")",
         "narrow its wildcards, or raise BPFTRACE_MAX_BPF_PROGS");
    return kExitScript;
  }
  if (o.afxdpFrames) run.afxdp.frames = *o.afxdpFrames;
  if (o.afxdpBatch) run.afxdp.batch = *o.afxdpBatch;
  run.afxdp.zerocopy = o.zerocopy;
  int status = runScript(compiled, run, *output, diags);
  diags.print(std::cerr, colorOn());
  return status;
}

// bpftrace 0.17's environment variables (and DPTRACE_ spellings beside them):
// BPFTRACE_STRLEN (str()'s default size, up to 200 as in bpftrace 0.17),
// BPFTRACE_MAP_KEYS_MAX (entries per map where --map-size is not given),
// BPFTRACE_MAX_PROBES and BPFTRACE_MAX_BPF_PROGS (attach points and programs
// at most, 512 each), BPFTRACE_NO_CPP_DEMANGLE, BPFTRACE_NO_USER_SYMBOLS,
// BPFTRACE_PERF_RB_PAGES (the event buffer: pages per CPU, a power of 2),
// BPFTRACE_CAT_BYTES_MAX (cat()'s bytes), BPFTRACE_BTF (as --btf).
// BPFTRACE_LOG_SIZE, BPFTRACE_VMLINUX and BPFTRACE_CACHE_USER_SYMBOLS are
// accepted (a number for the first): libbpf's verifier log holds 16 MiB
// already, dptrace reads kernel types from BTF, and it caches every
// binary's symbols.
std::optional<Options> withEnvironment(const Options& given) {
  Options o = given;
  auto lookup = [](const char* name) -> std::pair<const char*, std::string> {
    for (const char* prefix : {"DPTRACE_", "BPFTRACE_"})
      if (const char* v = std::getenv((std::string(prefix) + name).c_str())) return {v, std::string(prefix) + name};
    return {nullptr, ""};
  };
  auto number = [&](const char* name, uint64_t min, uint64_t max) -> std::optional<std::optional<uint64_t>> {
    auto [value, which] = lookup(name);
    if (!value) return std::optional<uint64_t>();
    char* end = nullptr;
    errno = 0;
    unsigned long long n = std::strtoull(value, &end, 10);
    if (errno || end == value || *end || n < min || n > max) {
      fail(which + "='" + value + "' is not a number from " + std::to_string(min) + " to " + std::to_string(max));
      return std::nullopt;
    }
    return std::optional<uint64_t>(n);
  };
  auto strlen = number("STRLEN", 1, 200);
  auto keys = number("MAP_KEYS_MAX", 1, 1u << 30);
  auto probes = number("MAX_PROBES", 1, 1u << 20);
  auto programs = number("MAX_BPF_PROGS", 1, 1u << 20);
  auto pages = number("PERF_RB_PAGES", 1, 1u << 16);
  auto logSize = number("LOG_SIZE", 128, 1u << 30);
  auto catBytes = number("CAT_BYTES_MAX", 1, 1u << 30);
  if (!strlen || !keys || !probes || !programs || !pages || !logSize || !catBytes) return std::nullopt;
  if (*catBytes) o.catBytes = static_cast<uint32_t>(**catBytes);
  if (*strlen) o.strLength = static_cast<uint32_t>(**strlen);
  if (*keys && !o.mapSize) o.mapSize = static_cast<uint32_t>(**keys);
  if (*probes) o.maxProbes = static_cast<uint32_t>(**probes);
  if (*programs) o.maxPrograms = static_cast<uint32_t>(**programs);
  if (*pages) {
    if ((**pages & (**pages - 1)) != 0) {
      fail(lookup("PERF_RB_PAGES").second + "='" + std::to_string(**pages) + "' is not a power of 2",
           "the event buffer is a ring of whole pages: 1, 2, 4, ... 65536 per CPU");
      return std::nullopt;
    }
    o.eventPages = static_cast<uint32_t>(**pages);
  }
  for (auto [name, flag] : {std::pair<const char*, bool*>{"NO_CPP_DEMANGLE", &o.demangle}, {"NO_USER_SYMBOLS", &o.userSymbols}})
    if (auto [value, which] = lookup(name); value) {
      if (std::string(value) != "0" && std::string(value) != "1") {
        fail(which + "='" + value + "' is not 0 or 1");
        return std::nullopt;
      }
      *flag = std::string(value) == "0";
    }
  if (auto [value, which] = lookup("BTF"); value && !o.btf) o.btf = value;
  return o;
}

int runDptrace(const Options& given) {
  std::optional<Options> withEnv = withEnvironment(given);
  if (!withEnv) return kExitScript;
  const Options& o = *withEnv;
  if (auto refusal = unavailableOption(o)) {
    fail(*refusal);
    return kExitScript;
  }
  if (o.exportUrl) {  // before the script: `--export script.dpt` took the script for the URL
    std::string error;
    if (!parseExportUrl(*o.exportUrl, error)) {
      fail(error, "--export http://HOST:PORT/PATH, a collector that takes POSTed JSON lines");
      return kExitScript;
    }
    for (const std::string& h : o.exportHeaders)
      if (auto problem = exportHeaderProblem(h)) {
        fail("--export-header: '" + h + "' " + *problem, "--export-header 'Authorization: Bearer TOKEN'");
        return kExitScript;
      }
  }
  if (o.maps) {
    std::ofstream file;
    std::unique_ptr<Output> output = openOutput(o, file);
    return output ? printPinnedMaps(*o.maps, o.interval, *output) : kExitScript;
  }
  if (o.list) {
    if (o.program) {
      fail("-l lists probes; it does not take -e", "dptrace -l 'tracepoint:syscalls:*'");
      return kExitScript;
    }
    std::shared_ptr<KernelBtf> kernel =
        o.btf || !o.btfModules.empty() ? readBtfOptions(o) : std::make_shared<KernelBtf>(BtfSources{});
    if (!kernel) return kExitScript;
    return listProbes(o.script, o.verbose, *kernel, std::cout, std::cerr);
  }
  std::optional<SourceFile> script = loadScript(o);
  if (!script) return kExitScript;

  Diagnostics diags(*script);
  diags.showWarnings(!o.noWarnings);
  StageTimer timer(o.verbose);
  auto stageFailed = [&](const char* stage) {
    timer.done(stage);
    diags.print(std::cerr, colorOn());
    return diags.hasErrors();
  };

  // Positional parameters: the words after the script (with -e, all of them).
  std::vector<std::string> args = o.args;
  if (o.program && !o.script.empty()) args.insert(args.begin(), o.script);
  ast::Program program = parse(*script, diags, args);
  if (stageFailed("parse")) return kExitScript;
  // --include FILE: included before the script's own C text (Clang's
  // -include: the current directory, then -I and dptrace's headers); the
  // script then has C text, as if it said #include "FILE" itself.
  std::vector<std::string> includes;
  for (const std::string& header : o.includes) {
    std::error_code ec;
    includes.push_back(std::filesystem::is_regular_file(header, ec) ? std::filesystem::absolute(header).string() : header);
    program.cDefinitions.insert(program.cDefinitions.begin() + static_cast<long>(includes.size() - 1),
                                ast::CDefinition{"#include \"" + header + "\"  (--include)", {0, 0}});
  }
  resolveAttachPoints(program, diags);
  if (!diags.hasErrors()) dropFunctionsLibrariesLack(program, diags);
  if (stageFailed("resolve attach points")) return kExitScript;
  if (o.afxdpFrames || o.afxdpBatch || o.zerocopy) {  // never ignored
    bool afxdp = false;
    for (const ast::Probe& probe : program.probes)
      for (const ast::AttachPoint& ap : probe.attachPoints) afxdp |= ap.kind == ProbeKind::Afxdp;
    if (!afxdp) {
      fail(std::string(o.zerocopy ? "--zerocopy" : o.afxdpFrames ? "--afxdp-frames" : "--afxdp-batch") +
               " sets up AF_XDP sockets, but the script has no afxdp block",
           "leave the option out, or add a block: afxdp:IFACE /predicate/ { ...; tx(); }");
      return kExitScript;
    }
  }
  ImportOptions imports;
  if (o.btf || !o.btfModules.empty()) {
    imports.kernel = readBtfOptions(o);
    if (!imports.kernel) return kExitScript;
  }
  // The kernel's enum constants a script names without C text that defines
  // them (SKB_DROP_REASON_NOT_SPECIFIED), from BTF as bpftrace reads them:
  // looked up only when some name is unknown; C constants win.
  auto kernelConstants = [&](const std::set<std::string>& names) {
    std::map<std::string, CConstant> out;
    std::error_code ec;
    if (names.empty() || (!imports.kernel && !std::filesystem::exists("/sys/kernel/btf/vmlinux", ec))) return out;
    std::shared_ptr<KernelBtf> kernel = imports.kernel ? imports.kernel : std::make_shared<KernelBtf>(BtfSources{});
    for (const auto& [name, value] : kernel->enumConstants({names.begin(), names.end()})) out[name] = {value.first, value.second};
    return out;
  };
  std::map<std::string, CConstant> btfConstants;
  if (program.cDefinitions.empty()) btfConstants = kernelConstants(unknownIdentifiers(program));
  std::set<std::string> btfNames;
  for (const auto& [name, value] : btfConstants) btfNames.insert(name);
  checkNames(program, diags, btfNames);
  if (stageFailed("check names")) return kExitScript;
  if (!o.noWarnings) warnUnusedBtfModules(o, program);
  if (o.emit == "ast") return emitTo(o, [&](std::ostream& out) { printAst(program, out); });
  // -d, -dd: each stage as bpftrace's dry run shows them, on standard output.
  auto debugStage = [&](const char* title, const std::function<void(std::ostream&)>& print) {
    std::cout << title << "\n" << std::string(std::strlen(title), '-') << "\n";
    print(std::cout);
    std::cout << "\n";
  };
  if (o.debug) debugStage("AST after: parse", [&](std::ostream& out) { printAst(program, out); });
  // Before any type is read: the object of an earlier identical run that
  // compiled without warnings (so that none goes unsaid).
  std::string earlyKey;
  if (!o.emit && !o.debug && typedByBtfOnly(program)) {
    ImportedTypes none;
    none.kernel = imports.kernel;
    CodegenOptions early;
    if (o.mapSize) early.mapSize = *o.mapSize;
    early.helperChecks = o.helperChecks;
    early.demangle = o.demangle;
    early.pcap = o.pcap.has_value();
    earlyKey = cacheKey(*script, program, early, none) + argsKey(args) + commandKey(o) + "\nno warnings\n";
    ObjectCache cache(earlyKey);
    if (std::optional<CompiledScript> compiled = cache.enabled() ? cache.load() : std::nullopt) {
      timer.done("code generation (cached, no types read)");
      return runCompiled(o, *compiled, {}, diags);
    }
  }

  ImportedTypes imported;
  imports.process = o.pid || o.command;
  imports.command = o.command.has_value();
  imports.unsafe = o.unsafe;
  imports.userSymbols = o.userSymbols;
  imports.strLength = o.strLength;
  imports.maxProbes = o.maxProbes;
  imports.includes = includes;
  for (const std::string& dir : o.includeDirs) imports.includeDirs.push_back(std::filesystem::absolute(dir).string());
  importTypes(program, imports, diags, imported);
  if (stageFailed("import types")) return diags.hasSystemErrors() ? kExitSystem : kExitScript;
  if (!program.cDefinitions.empty()) {
    std::set<std::string> names;
    for (const std::string& name : unknownIdentifiers(program))
      if (!imported.constants.count(name)) names.insert(name);
    btfConstants = kernelConstants(names);
  }
  imported.constants.insert(btfConstants.begin(), btfConstants.end());
  substituteCConstants(program, imported.constants);
  TypeTable types(imported);
  typeCheck(program, diags, types);
  if (stageFailed("type check")) return kExitScript;
  if (o.emit == "typed-ast") return emitTo(o, [&](std::ostream& out) { printTypedAst(program, types, out); });
  if (o.debug) debugStage("AST after: type check", [&](std::ostream& out) { printTypedAst(program, types, out); });

  CodegenOptions codegen;
  if (o.mapSize) codegen.mapSize = *o.mapSize;
  codegen.helperChecks = o.helperChecks;
  codegen.demangle = o.demangle;
  // DPTRACE_MAP_LAYOUT=hash: every map a hash, as before the compiler chose
  // arrays (for comparing the two: the printed maps must not differ).
  if (const char* layout = std::getenv("DPTRACE_MAP_LAYOUT")) codegen.hashMaps = std::string(layout) == "hash";
  codegen.pinned = o.pin.has_value();
  codegen.uprobes = resolveUprobeTargets(program, imported, o.pid, o.command.has_value(), diags, instructionStarts);
  if (stageFailed("resolve uprobe targets")) return kExitScript;
  codegen.pcap = o.pcap.has_value();
  if (codegen.pcap)
    if (auto v = types.maps.find("verdict"); v != types.maps.end())
      diags.error(v->second.firstUse, "@verdict is reserved with --pcap: it counts the verdicts of the replayed packets",
                  "give this map another name");
  codegen.interfaces = resolveInterfaces(program, codegen.pcap, !o.emit && !o.debug, diags);
  if (stageFailed("resolve interfaces")) return kExitScript;
  if (o.debug) {  // a dry run: nothing is loaded
    // One module for both (-dd): a second BPF module with struct reads in
    // one process is what LLVM's struct-access pass cannot take.
    std::ostringstream text;
    bool ok = compileInModule(program, types, codegen, diags,
                              o.debug < 2 ? CodegenOutput::LlvmIr : CodegenOutput::IrAndAssembly, &text)
                  .has_value();
    if (stageFailed("code generation") || !ok) return diags.hasSystemErrors() ? kExitSystem : kExitScript;
    std::string all = text.str();
    size_t split = all.find(kAssemblyFollows);
    debugStage("LLVM IR (optimized)", [&](std::ostream& out) { out << all.substr(0, split); });
    if (split != std::string::npos)
      debugStage("BPF assembly", [&](std::ostream& out) { out << all.substr(split + std::strlen(kAssemblyFollows)); });
    return std::cout.flush() ? kExitOk : kExitSystem;
  }
  if (o.emit == "llvm" || o.emit == "asm") {
    CodegenOutput kind = o.emit == "llvm" ? CodegenOutput::LlvmIr : CodegenOutput::Assembly;
    std::ostringstream text;
    bool ok = compileInModule(program, types, codegen, diags, kind, &text).has_value();
    if (stageFailed("code generation") || !ok) return diags.hasSystemErrors() ? kExitSystem : kExitScript;
    return emitTo(o, [&](std::ostream& out) { out << text.str(); });
  }
  // A run may reuse the object of an earlier identical one (object_cache.h).
  ObjectCache cache(o.emit || !program.cDefinitions.empty() ? std::string() : cacheKey(*script, program, codegen, imported) + argsKey(args) + commandKey(o));
  if (o.verbose && !cache.whyOff().empty()) std::cerr << "dptrace: " << cache.whyOff() << "\n";
  if (o.verbose && !cache.enabled() && cache.whyOff().empty())
    std::cerr << "dptrace: object cache not used: "
              << (!program.cDefinitions.empty() ? "the script has C definitions or #include (headers change unseen)"
                                                : "DPTRACE_CACHE=off, or no cache directory")
              << "\n";
  std::optional<CompiledScript> compiled = cache.enabled() ? cache.load() : std::nullopt;
  if (compiled) {
    timer.done("code generation (cached)");
  } else {
    preloadCodegenModule(program);
    timer.done("load the code generator");
    compiled = compileInModule(program, types, codegen, diags, CodegenOutput::Object, nullptr);
    if (stageFailed("code generation") || !compiled) return diags.hasSystemErrors() ? kExitSystem : kExitScript;
    if (cache.enabled()) cache.store(*compiled);
    bool warned = std::any_of(diags.all().begin(), diags.all().end(),
                              [](const Diagnostic& d) { return d.severity == Severity::Warning; });
    if (!earlyKey.empty() && !warned) ObjectCache(earlyKey).store(*compiled);
  }
  if (o.emit == "obj") {
    std::ofstream out(*o.outputFile, std::ios::binary);
    out.write(compiled->object.data(), static_cast<std::streamsize>(compiled->object.size()));
    if (!out.flush()) {
      fail("cannot write '" + *o.outputFile + "': " + std::strerror(errno));
      return kExitScript;
    }
    return kExitOk;
  }

  return runCompiled(o, *compiled, codegen.interfaces, diags);
}

}  // namespace dptrace
