// Everything the command line can say, as plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dptrace {

struct Options {
  std::string script;               // path of the script file ("-" is stdin), or the -l pattern
  std::vector<std::string> args;    // positional parameters $1, $2, ... (with -e, `script` is $1)
  std::optional<std::string> program;  // -e
  bool list = false;                // -l
  bool verbose = false;             // -v
  bool quiet = false;
  bool noWarnings = false;  // --no-warnings
  bool unsafe = false;      // --unsafe: system() and signal() may run
  int helperChecks = 0;     // -k (1), -kk (2): report failed helper calls
  std::optional<std::string> buffering;  // -B line|full|none  // -q: no "Attaching N probes..." (bpftrace\'s -q)
  std::optional<int> pid;           // -p
  std::optional<std::string> command;  // -c
  std::string format = "text";      // -f
  bool formatGiven = false;
  std::optional<std::string> outputFile;  // -o
  std::optional<std::string> emit;  // --emit
  std::optional<std::string> emitElf;  // --emit-elf FILE: as --emit obj -o FILE (bpftrace's)
  int debug = 0;                    // -d (1), -dd (2): print the stages and stop (bpftrace's dry run)
  std::vector<std::string> includes;   // --include FILE: #include it before the script's C text
  bool forceBtf = false;            // -b: accepted (kernel types come from BTF whenever the kernel has it)
  bool usdtFileActivation = false;  // --usdt-file-activation: accepted (the kernel activates every process's semaphores)
  uint32_t catBytes = 10240;        // cat()'s bytes at most: BPFTRACE_CAT_BYTES_MAX
  bool userSymbols = true;          // usym() and ustack by name: BPFTRACE_NO_USER_SYMBOLS=1 prints addresses
  std::vector<std::string> includeDirs;   // -I
  std::optional<std::string> btf;   // --btf
  std::vector<std::string> btfModules;    // --btf-module NAME=FILE
  std::optional<uint32_t> mapSize;  // --map-size (else BPFTRACE_MAP_KEYS_MAX)
  uint32_t strLength = 64;           // str()'s default size: BPFTRACE_STRLEN
  uint32_t maxProbes = 512;          // attach points at most: BPFTRACE_MAX_PROBES
  uint32_t maxPrograms = 512;        // BPF programs at most: BPFTRACE_MAX_BPF_PROGS
  bool demangle = true;              // C++ names in stacks and usym(): BPFTRACE_NO_CPP_DEMANGLE=1 turns it off
  std::optional<uint32_t> eventPages;  // pages per CPU of event buffer: BPFTRACE_PERF_RB_PAGES
  std::optional<std::string> pcap;  // --pcap
  std::optional<std::string> pcapOut;     // --pcap-out
  std::optional<std::string> capture;     // --capture: capture()'s pcap file
  std::optional<std::string> pin;         // --pin DIR: the maps pinned there, and reused
  std::optional<std::string> maps;        // --maps DIR: print the maps another run pinned, load nothing
  std::optional<uint32_t> interval;       // --interval S: with --maps, every S seconds until Ctrl-C
  std::optional<std::string> metrics;     // --metrics [ADDR:]PORT: the maps for Prometheus
  std::optional<std::string> exportUrl;   // --export URL: the JSON lines POSTed to a collector
  std::optional<uint32_t> exportBatch;    // --export-batch N: records per batch (1000)
  std::optional<uint32_t> exportInterval; // --export-interval MS: a record waits at most this (1000)
  std::optional<uint64_t> exportQueue;    // --export-queue N: records waiting at most (100,000)
  std::vector<std::string> exportHeaders; // --export-header 'NAME: VALUE', each batch
  std::optional<std::string> xdpMode;     // --xdp-mode
  std::optional<uint32_t> afxdpFrames;    // --afxdp-frames
  std::optional<uint32_t> afxdpBatch;     // --afxdp-batch
  bool zerocopy = false;            // --zerocopy
};

// The dptrace command: 0 ok, 1 the script or its targets cannot work, 2 the
// system failed.
int runDptrace(const Options& options);

// "dptrace 0.1.0" and the versions of the libraries it was built with.
std::string versionText();
// --info: the system, the build, and the kernel's BPF helpers, maps and program types.
std::string infoText();

}  // namespace dptrace
