// dptrace's command line (CLI11). It only turns arguments into Options; the
// work is in runDptrace (pipeline.cpp).
#include <csignal>
#include <cstdio>
#include <iostream>

#include <CLI/App.hpp>
#include <CLI/Config.hpp>
#include <CLI/Formatter.hpp>

#include "options.h"

int main(int argc, char** argv) {
  // A shell starts a script's background job (`dptrace ... &`) with SIGINT
  // ignored; as bpftrace, dptrace ends on it all the same (a Ctrl-C or
  // `kill -INT` before the probes are attached would be lost, and the run
  // would go on until SIGKILL). From the attaching on, the run loop takes
  // SIGINT and SIGTERM from a signalfd (runtime/runner.cpp).
  // SIGCHLD ignored (inherited through exec) would reap dptrace's children
  // unseen: -c's command, and the child processes that run Clang and libdw,
  // whose end (a crash) dptrace reads with waitpid.
  for (int sig : {SIGINT, SIGTERM, SIGCHLD}) {
    struct sigaction now{};
    if (sigaction(sig, nullptr, &now) == 0 && now.sa_handler == SIG_IGN) signal(sig, SIG_DFL);
  }
  dptrace::Options o;
  CLI::App app{
      "dptrace: a bpftrace-like language for the packet data path\n\n"
      "  dptrace [options] script.dpt      run a script file\n"
      "  dptrace [options] -e 'PROGRAM'    run a one-liner\n"
      "  dptrace -l [-v] [PATTERN]         list probes",
      "dptrace"};
  app.footer("Exit status: 0 ok; 1 the script, its arguments or its targets cannot work; 2 a system failure.\n"
             "See dptrace(8) and dptrace-lang(7).");
  app.set_version_flag("-V,--version", [] { return dptrace::versionText(); }, "Print the version and exit");
  app.add_flag_callback(
      "--info", [] { throw CLI::CallForVersion(dptrace::infoText(), 0); },
      "Print what this system offers dptrace (kernel helpers, maps, probe types), as bpftrace --info, and exit");

  app.add_option("script", o.script, "Script file to run ('-' reads standard input), or the -l pattern");
  app.add_option("args", o.args, "Positional parameters $1, $2, ... of the script (with -e, the words after it)");
  app.add_option("-e", o.program, "Run this program text")->type_name("PROGRAM");
  app.add_flag("-l", o.list, "List probes: tracepoints and xdp interfaces; 'uprobe:BIN:*'; 'fentry:*'; 'rawtracepoint:*'; 'kprobe:*'; 'struct NAME'");
  app.add_flag("-k", o.helperChecks,
               "Report failed map updates and deletes (-kk: failed memory reads too), as bpftrace -k and -kk");
  app.add_flag("-q", o.quiet, "Quiet: no \"Attaching N probes...\" line (as bpftrace -q)");
  app.add_flag("--no-warnings", o.noWarnings, "Do not print warnings (as bpftrace --no-warnings)");
  app.add_flag("--unsafe", o.unsafe, "Allow system() and signal(), as bpftrace's --unsafe does");
  app.add_option("-B", o.buffering, "Output buffering: line (default for a terminal), full or none, as bpftrace -B")
      ->check(CLI::IsMember({"line", "full", "none"}))
      ->type_name("line|full|none");
  app.add_flag("-v", o.verbose, "Verbose: stage timings, verifier log on failure, attach details, AF_XDP counters");
  app.add_option("-p", o.pid, "Attach uprobes to this process only; end when it exits")->type_name("PID");
  app.add_option("-c", o.command, "Start CMD, trace it, stop when it exits")->type_name("CMD");
  app.add_option("-f", o.format, "Output format")->check(CLI::IsMember({"text", "json"}))->type_name("text|json");
  app.add_option("-o", o.outputFile, "Write output (or the --emit result) to FILE")->type_name("FILE");
  app.add_option("--emit", o.emit, "Print one stage and stop (obj writes the BPF object to -o FILE)")
      ->check(CLI::IsMember({"ast", "typed-ast", "llvm", "asm", "obj"}))
      ->type_name("ast|typed-ast|llvm|asm|obj");
  app.add_option("--emit-elf", o.emitElf, "Write the BPF object to FILE and stop (bpftrace's; --emit obj -o FILE)")
      ->type_name("FILE");
  app.add_flag("-d", o.debug, "Print the AST, the typed AST and the LLVM IR, and stop (-dd: the BPF assembly too), as bpftrace -d");
  app.add_option("--include", o.includes, "#include FILE before the script's C definitions, as bpftrace --include")
      ->type_name("FILE")->allow_extra_args(false);
  app.add_flag("-b", o.forceBtf, "Accepted for bpftrace's scripts: kernel types always come from BTF where the kernel has it");
  app.add_flag("--usdt-file-activation", o.usdtFileActivation,
               "Accepted for bpftrace's scripts: USDT semaphores are set in every process that maps the binary (-p: in that one)");
  // Repeatable options take one value each time: `--btf-module m=F script.dpt` keeps the script.
  app.add_option("-I", o.includeDirs, "Add DIR to the #include search path")->type_name("DIR")->allow_extra_args(false);
  app.add_option("--btf", o.btf, "Kernel types from this BTF file instead of the running kernel's")
      ->type_name("FILE");
  app.add_option("--btf-module", o.btfModules, "A module's split BTF over the base BTF, e.g. gtp5g=gtp5g.btf")
      ->type_name("NAME=FILE")->allow_extra_args(false);
  app.add_option("--map-size", o.mapSize, "Entries per map (default 4096)")->type_name("N")->check(CLI::Range(1u, 1u << 30));
  app.add_option("--pcap", o.pcap, "Run the xdp/afxdp blocks over the packets of this capture")->type_name("FILE");
  app.add_option("--metrics", o.metrics,
                 "Serve every map over HTTP (GET /metrics) in Prometheus's text format while the script runs "
                 "(ADDR defaults to 127.0.0.1)")
      ->type_name("[ADDR:]PORT");
  app.add_option("--export", o.exportUrl,
                 "POST the run's JSON lines (as -f json writes them) to this http(s) URL as newline-delimited JSON "
                 "in batches, retrying when the collector is down")
      ->type_name("URL");
  app.add_option("--export-batch", o.exportBatch, "With --export: records per batch at most (default 1000)")
      ->type_name("N")->check(CLI::Range(1u, 1000000u));
  app.add_option("--export-interval", o.exportInterval,
                 "With --export: a record waits at most MS milliseconds before its batch leaves (default 1000)")
      ->type_name("MS")->check(CLI::Range(1u, 3600000u));
  app.add_option("--export-queue", o.exportQueue,
                 "With --export: records waiting at most; a full queue drops its oldest, counted (default 100000)")
      ->type_name("N")->check(CLI::Range(uint64_t{1}, uint64_t{100000000}));
  app.add_option("--export-header", o.exportHeaders,
                 "With --export: a header every POST carries, e.g. 'Authorization: Bearer TOKEN' (repeatable)")
      ->type_name("'NAME: VALUE'")->allow_extra_args(false);
  app.add_option("--pin", o.pin,
                 "Pin the script's maps in the BPF file system under DIR (/sys/fs/bpf/DIR unless absolute), "
                 "reusing those already pinned there")
      ->type_name("DIR");
  app.add_option("--maps", o.maps, "Print the maps a dptrace --pin DIR left there, without loading a program")
      ->type_name("DIR");
  app.add_option("--interval", o.interval, "With --maps: print them every S seconds until Ctrl-C")
      ->type_name("S")->check(CLI::Range(1u, 86400u));
  app.add_option("--capture", o.capture, "Write the frames of the script's capture(N) statements to this pcap file")
      ->type_name("FILE");
  app.add_option("--pcap-out", o.pcapOut, "With --pcap: write the packets not dropped, as the program left them")
      ->type_name("FILE");
  app.add_option("--xdp-mode", o.xdpMode, "XDP attach mode (default auto: native, else generic)")
      ->check(CLI::IsMember({"native", "generic", "auto"}))
      ->type_name("native|generic|auto");
  app.add_option("--afxdp-frames", o.afxdpFrames, "UMEM frames per AF_XDP socket (64 to 262144)")->type_name("N")
      ->check(CLI::Range(64u, 1u << 18));
  app.add_option("--afxdp-batch", o.afxdpBatch, "Frames handled per AF_XDP loop iteration")->type_name("N")
      ->check(CLI::Range(1u, 1u << 16));
  app.add_flag("--zerocopy", o.zerocopy, "Ask for AF_XDP zero-copy mode (fails where the driver has none)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::cerr << "dptrace: error: " << e.what() << "\nhint: dptrace --help lists the options\n";
    return 1;
  }
  o.formatGiven = app.count("-f") > 0;
  if (o.emitElf) {
    if (o.emit && *o.emit != "obj") {
      std::cerr << "dptrace: error: --emit-elf writes the object: it does not go with --emit " << *o.emit << "\n";
      return 1;
    }
    o.emit = "obj";
    o.outputFile = o.emitElf;
  }
  if (o.buffering)  // before anything is written (std::cout writes through stdout's buffer)
    std::setvbuf(stdout, nullptr, *o.buffering == "none" ? _IONBF : *o.buffering == "full" ? _IOFBF : _IOLBF, 0);
  return dptrace::runDptrace(o);
}
