// Stage 8: load the object, attach every probe through a bpf_link, run
// BEGIN, print what the ring buffer brings until exit() or a signal, then
// detach, run END, and print the maps.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "diagnostics.h"
#include "output/output.h"
#include "afxdp.h"
#include "export.h"
#include "metrics.h"
#include "program_info.h"

namespace dptrace {

struct RunOptions {
  bool verbose = false;
  bool quiet = false;                  // -q: no "Attaching N probes..."
  bool noWarnings = false;             // --no-warnings
  std::optional<int> pid;              // -p: uprobes of this process only; end when it exits
  std::optional<std::string> command;  // -c: start it, trace it, end when it exits
  std::string xdpMode = "auto";         // native, generic, auto (native, else generic, saying so)
  std::map<std::string, uint32_t> interfaces;  // xdp interfaces -> ifindex
  std::optional<std::string> pcap;     // replay this capture through the xdp blocks instead of attaching them
  std::optional<std::string> pcapOut;  // and write what they did not drop
  std::optional<std::string> capture;  // capture()'s frames go to this pcap file
  std::optional<std::string> pin;      // --pin DIR (pinned_maps.h)
  std::optional<MetricsAddress> metrics;  // --metrics (metrics.h)
  std::optional<ExportConfig> exportTo;   // --export (export.h)
  uint32_t mapSize = 4096;             // entries of the user-space maps of afxdp bodies
  AfxdpConfig afxdp;                   // --afxdp-frames, --afxdp-batch, --zerocopy
  bool demangle = true;                // C++ names in stacks and usym() (BPFTRACE_NO_CPP_DEMANGLE)
  bool userSymbols = true;             // usym() and ustack by name, else addresses (BPFTRACE_NO_USER_SYMBOLS)
  uint32_t catBytes = 10240;           // cat()'s bytes at most (BPFTRACE_CAT_BYTES_MAX)
  std::optional<uint32_t> eventBytes;  // the event ring buffer's size (BPFTRACE_PERF_RB_PAGES), a power of 2
};

// Exit statuses: 0, 1 (the script cannot work here: a refused program, a
// missing target), or 2 (the system failed: privileges, memory).
inline constexpr int kRunOk = 0, kRunScript = 1, kRunSystem = 2;

// --maps DIR: prints the maps a --pin run left in DIR, once, or every
// `seconds` until SIGINT/SIGTERM (and once more then). Returns the exit status.
int printPinnedMaps(const std::string& dir, std::optional<uint32_t> seconds, Output& out);

// Returns the exit status.
int runScript(const CompiledScript& script, const RunOptions& options, Output& out, Diagnostics& diags);

}  // namespace dptrace
